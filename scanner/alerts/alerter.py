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
from .outbox import Entry, Outbox
from .policy import TargetPolicy

log = logging.getLogger(__name__)

HEALTH_POLL_SECONDS = 1.0
HealthSource = Callable[[], Mapping[str, FeedHealth]]


class Alerter:
    """Sends opportunity and operational alerts to the configured webhook targets.

    Every admitted alert is written to the SQLite outbox before any delivery attempt and
    removed only once its target answered 2xx, so alerts survive target outages and restarts.
    Construction validates secrets and opens the outbox (raising ConfigError / OutboxError);
    with no target configured the alerter does nothing and creates no file.
    """

    def __init__(self, config: AlertsConfig, *, health: HealthSource | None = None,
                 env: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time,
                 backoff: Backoff = Backoff(), thresholds: HealthThresholds = HealthThresholds()):
        self.config = config
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

    async def start(self) -> None:
        """Start one delivery worker per target (sending what a previous run left) and the health watcher."""
        if self.outbox is None:
            return
        for target in self.outbox.depth.keys() - self.config.webhooks.keys():
            log.warning("alert outbox %s holds %d undelivered alerts for target %r, which is no longer"
                        " configured; they are kept", self.outbox.path, self.outbox.depth[target], target)
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
        self._enqueue(event.id, event.type.value, orjson.dumps(opportunity_payload(event)), targets, now)

    def metric_families(self) -> Iterable[Metric]:
        """Alerting metrics, built from in-memory counters (safe to call from the scrape thread)."""
        depth, oldest = (self.outbox.depth, self.outbox.oldest) if self.outbox else ({}, {})
        return metric_families(self.stats, depth, oldest, self.clock())

    def _raise(self, alert: OpsAlert, now: float) -> None:
        """Log an operational alert and queue it for the targets that want it (not the one it is about)."""
        log.log(logging.INFO if alert.type == "feed.recovered" else logging.WARNING,
                "operational alert %s: %s", alert.type, alert.detail)
        targets = []
        for name, policy in self.policies.items():
            if name == alert.target:
                continue
            if policy.admits_operational(alert.type, alert.exchange):
                targets.append(name)
            else:
                self.stats[name].suppressed["filter"] += 1
        if targets:
            event_id = f"{alert.type}.{uuid.uuid4().hex}"
            body = orjson.dumps(operational_payload(event_id, alert.type, alert.detail, now,
                                                    exchange=alert.exchange, target=alert.target))
            self._enqueue(event_id, alert.type, body, targets, now)

    def _enqueue(self, event_id: str, type_: str, body: bytes, targets: list[str], now: float) -> None:
        """Write one alert for ``targets`` to the outbox, count it and wake their workers."""
        assert self.outbox is not None
        try:
            added = self.outbox.add([Entry(t, event_id, type_, body) for t in targets], now)
        except sqlite3.Error as exc:  # alerting must not take the scanner down with it
            log.error("alert %s could not be written to the outbox %s and is lost: %s", event_id, self.outbox.path, exc)
            return
        for entry in added:
            self.stats[entry.target].events[type_] += 1
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
                self._raise(alert, now)
