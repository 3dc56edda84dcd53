"""Alerting counters, kept as plain ints and exported as metric families at scrape time."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..config import ALERT_EVENT_TYPES
from .outbox import LOST_REASONS

OUTCOMES = ("delivered", "failed", "dead")
SUPPRESSION_REASONS = ("blocked", "cooldown", "filter", "rate_limited")


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


@dataclass
class TargetStats:
    """Counters of one target; every label value exists from the start (no missing series)."""

    deliveries: dict[str, int] = field(default_factory=lambda: _zeros(OUTCOMES))
    events: dict[str, int] = field(default_factory=lambda: _zeros(ALERT_EVENT_TYPES))
    suppressed: dict[str, int] = field(default_factory=lambda: _zeros(SUPPRESSION_REASONS))
    lost: dict[str, int] = field(default_factory=lambda: _zeros(LOST_REASONS))


def metric_families(stats: Mapping[str, TargetStats], depth: Mapping[str, int],
                    oldest: Mapping[str, float], now: float) -> list[Metric]:
    """The alerting metric families for targets ``stats`` (depth/oldest: outbox figures)."""
    deliveries = CounterMetricFamily(
        "arbscan_alert_deliveries", "Alert delivery attempts by target and outcome"
        " (delivered: accepted with 2xx; failed: will be retried; dead: permanent failure, not retried).",
        labels=["target", "outcome"])
    events = CounterMetricFamily(
        "arbscan_alert_events", "Alerts written to the outbox for delivery, by target and event type.",
        labels=["target", "type"])
    suppressed = CounterMetricFamily(
        "arbscan_alert_suppressed", "Alerts not sent to a target, by reason (cooldown, filter, rate_limited).",
        labels=["target", "reason"])
    lost = CounterMetricFamily(
        "arbscan_alert_lost", "Alerts that could not be written to the outbox and are never sent, by target"
        " and cause (disk_full, read_only, locked, corrupt, io_error, other).", labels=["target", "reason"])
    depth_g = GaugeMetricFamily(
        "arbscan_alert_outbox_depth", "Alerts waiting in the outbox for delivery to a target.", labels=["target"])
    age_g = GaugeMetricFamily(
        "arbscan_alert_outbox_oldest_age_seconds",
        "Age of the oldest alert waiting in the outbox for a target (0 when none is waiting).", labels=["target"])
    for target, s in stats.items():
        for outcome, n in s.deliveries.items():
            deliveries.add_metric([target, outcome], n)
        for type_, n in s.events.items():
            events.add_metric([target, type_], n)
        for reason, n in s.suppressed.items():
            suppressed.add_metric([target, reason], n)
        for reason, n in s.lost.items():
            lost.add_metric([target, reason], n)
        depth_g.add_metric([target], depth.get(target, 0))
        first = oldest.get(target)
        age_g.add_metric([target], max(0.0, now - first) if first is not None else 0.0)
    return [deliveries, events, suppressed, lost, depth_g, age_g]
