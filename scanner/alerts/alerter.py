"""The alerting front door: policy -> durable outbox -> one delivery worker per target."""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Iterable

import aiohttp
import orjson
from prometheus_client.core import Metric

from ..config import AlertsConfig
from ..engine.opportunity import EventType, OpportunityEvent
from .delivery import Backoff, Worker
from .formats import build_renderer, display_url, operational_payload, opportunity_payload
from .health import FeedHealth, HealthMonitor, HealthThresholds, OpsAlert
from .metrics import TargetStats, metric_families
from .outbox import Entry, Outbox, cause
from .policy import TargetPolicy

log = logging.getLogger(__name__)

HEALTH_POLL_SECONDS = 1.0
MAINTAIN_SECONDS = 30.0  # outbox upkeep (WAL truncation) interval; every poll while a write is owed
RESTART_REASON = "arbscan restarted"  # close reason of what a previous run left open
HealthSource = Callable[[], Mapping[str, FeedHealth]]


class Alerter:
    """Sends opportunity and operational alerts to the configured webhook targets.

    Every admitted alert is written to the SQLite outbox before any delivery attempt and
    removed only once its target answered 2xx, so alerts survive target outages and restarts;
    an alert that cannot be written is counted as lost, by cause.
    Construction validates secrets and opens the outbox (raising ConfigError / OutboxError);
    with no target configured the alerter does nothing and creates no file.
    """

    def __init__(self, config: AlertsConfig, *, health: HealthSource | None = None,
                 env: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time,
                 backoff: Backoff = Backoff(), thresholds: HealthThresholds = HealthThresholds(),
                 generic: frozenset[str] = frozenset()):
        """``generic``: the exchanges read through ccxt; their opportunities carry ``fidelity``."""
        self.config = config
        self.generic = generic
        self.health = health
        self.clock = clock
        self.backoff = backoff
        now = clock()
        self.renderers = {name: build_renderer(name, hook, env) for name, hook in config.webhooks.items()}
        self.policies = {name: TargetPolicy.create(hook, now) for name, hook in config.webhooks.items()}
        self.stats = {name: TargetStats() for name in config.webhooks}
        self.monitor = HealthMonitor(thresholds)
        self.outbox = Outbox(config.outbox_path) if config.webhooks else None
        self.workers: dict[str, Worker] = {}
        self._tasks: list[asyncio.Task] = []
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._health_failing = False
        self._next_maintain = now + MAINTAIN_SECONDS

    async def start(self) -> None:
        """Start one delivery worker per target (sending what a previous run left, after queueing the
        close of what it left open) and the health watcher."""
        if self.outbox is None:
            return
        for target in self.outbox.depth.keys() - self.config.webhooks.keys():
            log.warning("alert outbox %s holds %d undelivered alerts for target %r, which is no longer"
                        " configured; they are kept", self.outbox.path, self.outbox.depth[target], target)
        self._close_left_open()
        self._session = aiohttp.ClientSession(headers={"user-agent": "arbscan-alerts"})
        secrets = tuple(s for renderer in self.renderers.values() for s in renderer.secrets)
        for name, hook in self.config.webhooks.items():
            worker = Worker(name, self.renderers[name], hook.timeout_seconds, self.outbox, self._session,
                            self.stats[name], self.clock, self.backoff, secrets)
            self.workers[name] = worker
            self._tasks.append(asyncio.create_task(worker.run(), name=f"alerts-{name}"))
            log.info("alert target %s: %s to %s, %d waiting in the outbox", name, hook.format,
                     display_url(self.renderers[name].url), self.outbox.depth.get(name, 0))
            if hook.format == "json" and not hook.secret_env:
                log.warning("alert target %s: no secret_env, so its webhooks are not signed", name)
        self._tasks.append(asyncio.create_task(self._watch(), name="alerts-health"))

    async def stop(self) -> None:
        """Stop the workers and close the outbox; undelivered alerts stay in it for the next run."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
        if self.outbox is not None and not self._closed:
            self.outbox.close()
        self._closed = True

    def publish(self, event: OpportunityEvent) -> None:
        """Queue an event for every target whose policy admits it; an admitted update goes out
        as the lifecycle's ``opportunity.opened`` (same id), and only its refusals go uncounted."""
        if self.outbox is None:
            return
        if self._closed:
            raise RuntimeError("alerter is stopped")
        now = self.clock()
        update = event.type is EventType.UPDATED
        targets = []
        for name, policy in self.policies.items():
            reason = policy.admit(event, now)
            if reason is None:
                targets.append(name)
            elif not update:
                self.stats[name].suppressed[reason] += 1
        if not targets:
            return
        if update:
            event = replace(event, type=EventType.OPENED)
        body = orjson.dumps(opportunity_payload(event, self.generic))
        if event.type is EventType.CLOSED:
            opened = event.id.removesuffix(".closed")
            self._enqueue([Entry(t, event.id, event.type.value, body, closes=opened) for t in targets], now)
            return
        close = self._restart_close(event) if any(map(self._takes_closes, targets)) else None
        self._enqueue([Entry(t, event.id, event.type.value, body, close=close if self._takes_closes(t) else None)
                       for t in targets], now)

    def _takes_closes(self, target: str) -> bool:
        hook = self.config.webhooks.get(target)
        return hook is not None and EventType.CLOSED.value in hook.events

    def _restart_close(self, event: OpportunityEvent) -> tuple[str, bytes]:
        """(id, body) of the ``opportunity.closed`` to send for ``event`` if arbscan stops before it closes."""
        closed = replace(event, type=EventType.CLOSED, id=f"{event.id}.closed", close_reason=RESTART_REASON)
        return closed.id, orjson.dumps(opportunity_payload(closed, self.generic))

    def _close_left_open(self) -> None:
        """Queue the close of every opportunity a previous run opened at a target and never closed."""
        assert self.outbox is not None
        left = self.outbox.left_open()
        closes = [Entry(o.target, o.close_id, EventType.CLOSED.value, o.close_body, closes=o.event_id)
                  for o in left if self._takes_closes(o.target)]
        try:
            for target in {o.target for o in left if o.target in self.config.webhooks} - {e.target for e in closes}:
                self.outbox.forget_open(target)
            if closes:
                self._store(closes, self.clock())
                log.info("alert outbox %s: %d opportunities the previous run left open are closed (%s)",
                         self.outbox.path, len(closes), RESTART_REASON)
        except sqlite3.Error as exc:
            log.error("alert outbox %s: the close of %d opportunities the previous run left open cannot be"
                      " written (%s); it is tried again at the next start", self.outbox.path, len(closes),
                      cause(exc)[1])

    def metric_families(self) -> Iterable[Metric]:
        """Alerting metrics, built from in-memory counters (safe to call from the scrape thread)."""
        depth, oldest = (self.outbox.depth, self.outbox.oldest) if self.outbox else ({}, {})
        return metric_families(self.stats, depth, oldest, self.clock())

    def raise_alert(self, alert: OpsAlert, now: float) -> None:
        """Log an operational alert and queue it for the targets that want it (not the one it is about)."""
        log.log(logging.INFO if alert.type == "feed.recovered" else logging.WARNING,
                "operational alert %s: %s", alert.type, alert.detail)
        targets = []
        for name, policy in self.policies.items():
            if name == alert.target:
                continue
            if not policy.admits_operational(alert.type, alert.exchange):
                self.stats[name].suppressed["filter"] += 1
            elif alert.key is not None and not policy.cooled(alert.type, alert.key, now):
                self.stats[name].suppressed["cooldown"] += 1
            else:
                targets.append(name)
        if targets:
            event_id = f"{alert.type}.{uuid.uuid4().hex}"
            body = orjson.dumps(operational_payload(event_id, alert.type, alert.detail, now,
                                                    exchange=alert.exchange, target=alert.target, data=alert.data))
            self._enqueue([Entry(t, event_id, alert.type, body) for t in targets], now)

    def _enqueue(self, entries: list[Entry], now: float) -> None:
        """Write one alert (an entry per target) to the outbox; if it cannot be, count it as lost."""
        try:
            self._store(entries, now)
        except sqlite3.Error as exc:  # alerting must not take the scanner down with it
            reason, meaning = cause(exc)
            for entry in entries:
                self.stats[entry.target].lost[reason] += 1
            first = entries[0]
            log.error("alert %s (%s) for %s is lost: alert outbox %s cannot store it: %s", first.event_id,
                      first.type, ", ".join(e.target for e in entries), self.outbox.path, meaning)

    def _store(self, entries: list[Entry], now: float) -> None:
        """Write ``entries`` to the outbox (raising sqlite3.Error), count them and wake their workers."""
        assert self.outbox is not None
        for entry in self.outbox.add(entries, now):
            self.stats[entry.target].events[entry.type] += 1
            if entry.target in self.workers:
                self.workers[entry.target].wake.set()

    async def _watch(self) -> None:
        """Poll feed health and the outbox every second and raise operational alerts."""
        assert self.outbox is not None
        while True:
            await asyncio.sleep(HEALTH_POLL_SECONDS)
            now = self.clock()
            try:
                feeds = self.health() if self.health else {}
            except Exception:
                if not self._health_failing:
                    log.exception("alert health callback failed; feed alerts are paused until it works")
                self._health_failing = True
                feeds = {}
            else:
                self._health_failing = False
            backlog = {name: (self.outbox.depth.get(name, 0), now - self.outbox.oldest.get(name, now))
                       for name in self.config.webhooks}
            for alert in self.monitor.observe(now, feeds, backlog):
                self.raise_alert(alert, now)
            if self.outbox.unsaved or now >= self._next_maintain:
                self._maintain(now)

    def _maintain(self, now: float) -> None:
        """Write what failed writes left settled in memory, and truncate the outbox's write-ahead log."""
        assert self.outbox is not None
        self._next_maintain = now + MAINTAIN_SECONDS
        try:
            self.outbox.maintain()
        except sqlite3.Error as exc:  # already reported by the write that failed
            log.debug("alert outbox %s upkeep failed: %s", self.outbox.path, cause(exc)[1])
