"""Operational alerts from arbscan's own health: feeds down, stale books, resync storms, backlog.

``HealthMonitor.observe`` is pure (fed ``now`` and snapshots) and edge-triggered with
hysteresis, so a condition alerts once per episode and a flapping input does not flood.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .formats import duration


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """Health of one exchange feed, as reported by the scanner app's health callback."""

    up: bool  # connected and receiving
    stale_books: int  # books currently older than their staleness limit (or resyncing)
    books: int  # books subscribed
    resyncs_total: int  # resyncs since start (monotonic)


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """When health conditions become alerts."""

    feed_down_after: float = 30.0  # seconds a feed must stay down
    recovered_after: float = 10.0  # seconds a feed must stay healthy before "recovered"
    stale_fraction: float = 0.5  # share of an exchange's books that are stale...
    stale_after: float = 30.0  # ...for this many seconds; clears below half that share
    resync_storm: int = 10  # more resyncs than this within resync_window; clears at half
    resync_window: float = 60.0
    backlog_age: float = 300.0  # oldest undelivered alert of a target older than this...
    backlog_depth: int = 1000  # ...or more undelivered alerts than this; clears below half of both


@dataclass(frozen=True, slots=True)
class OpsAlert:
    """An operational condition to alert on."""

    type: str
    detail: str
    exchange: str | None = None
    target: str | None = None
    key: str | None = None  # what the alert is about (a hedge, a basis pair): cooldown at each target is per key
    data: Mapping[str, Any] | None = None  # structured fields of the webhook payload (figures, breakdown)


def _since(start: float | None, now: float) -> float:
    """``start`` of a running condition, or ``now`` if it starts now."""
    return now if start is None else start


@dataclass(slots=True)
class _FeedState:
    down_since: float | None = None
    stale_since: float | None = None
    healthy_since: float | None = None
    down_alerted: bool = False
    stale_alerted: bool = False
    trouble_since: float | None = None  # start of the episode that alerted
    storm_alerted: bool = False
    resyncs: deque[tuple[float, int]] = field(default_factory=deque)  # (time, resyncs_total) in window


class HealthMonitor:
    """Turns periodic health snapshots into operational alerts."""

    def __init__(self, thresholds: HealthThresholds = HealthThresholds()):
        self.t = thresholds
        self.feeds: dict[str, _FeedState] = {}
        self.backlogged: set[str] = set()

    def observe(self, now: float, feeds: Mapping[str, FeedHealth],
                backlog: Mapping[str, tuple[int, float]]) -> list[OpsAlert]:
        """Alerts raised by this snapshot. ``backlog``: target -> (depth, oldest age in seconds)."""
        alerts: list[OpsAlert] = []
        for exchange, health in feeds.items():
            alerts += self._feed(exchange, health, self.feeds.setdefault(exchange, _FeedState()), now)
        for target, (depth, age) in backlog.items():
            alerts += self._backlog(target, depth, age)
        return alerts

    def _feed(self, exchange: str, h: FeedHealth, s: _FeedState, now: float) -> list[OpsAlert]:
        t = self.t
        out: list[OpsAlert] = []
        share = h.stale_books / h.books if h.books else 0.0
        s.down_since = None if h.up else _since(s.down_since, now)
        if h.up and share >= t.stale_fraction:
            s.stale_since = _since(s.stale_since, now)
        elif not h.up or share < t.stale_fraction / 2:
            s.stale_since = None
        if s.down_since is not None and not s.down_alerted and now - s.down_since >= t.feed_down_after:
            s.down_alerted = True
            s.trouble_since = _since(s.trouble_since, s.down_since)
            out.append(OpsAlert("feed.down", f"{exchange} feed down for {duration(now - s.down_since)}", exchange))
        if s.stale_since is not None and not s.stale_alerted and now - s.stale_since >= t.stale_after:
            s.stale_alerted = True
            s.trouble_since = _since(s.trouble_since, s.stale_since)
            out.append(OpsAlert("books.stale", f"{h.stale_books} of {h.books} {exchange} books stale for"
                                f" {duration(now - s.stale_since)}", exchange))
        healthy = h.up and share < t.stale_fraction / 2
        s.healthy_since = _since(s.healthy_since, now) if healthy else None
        if ((s.down_alerted or s.stale_alerted) and s.healthy_since is not None
                and now - s.healthy_since >= t.recovered_after):
            out.append(OpsAlert("feed.recovered", f"{exchange} feed healthy again after"
                                f" {duration(s.healthy_since - _since(s.trouble_since, s.healthy_since))}", exchange))
            s.down_alerted = s.stale_alerted = False
            s.trouble_since = None
        out += self._resyncs(exchange, h.resyncs_total, s, now)
        return out

    def _resyncs(self, exchange: str, total: int, s: _FeedState, now: float) -> list[OpsAlert]:
        if s.resyncs and total < s.resyncs[-1][1]:
            s.resyncs.clear()  # the counter restarted
        s.resyncs.append((now, total))
        while s.resyncs[0][0] < now - self.t.resync_window:
            s.resyncs.popleft()
        recent = total - s.resyncs[0][1]
        if recent > self.t.resync_storm and not s.storm_alerted:
            s.storm_alerted = True
            return [OpsAlert("resync.storm", f"{recent} {exchange} book resyncs in the last"
                             f" {duration(now - s.resyncs[0][0])}", exchange)]
        if recent <= self.t.resync_storm / 2:
            s.storm_alerted = False
        return []

    def _backlog(self, target: str, depth: int, age: float) -> list[OpsAlert]:
        t = self.t
        if target not in self.backlogged and (depth > t.backlog_depth or age > t.backlog_age):
            self.backlogged.add(target)
            return [OpsAlert("outbox.backlog", f"{depth} alerts waiting for target {target}, oldest"
                             f" {duration(age)}", target=target)]
        if depth <= t.backlog_depth / 2 and age <= t.backlog_age / 2:
            self.backlogged.discard(target)
        return []
