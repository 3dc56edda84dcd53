"""Alerts that never get lost: durable outbox, signed webhooks, cooldowns, rate limits.

    alerter = Alerter(config.alerts, health=lambda: {"binance": FeedHealth(...)})
    await alerter.start(); alerter.publish(event); await alerter.stop()
"""
from .alerter import Alerter
from .delivery import Backoff
from .health import FeedHealth, HealthThresholds
from .outbox import OutboxError

__all__ = ["Alerter", "Backoff", "FeedHealth", "HealthThresholds", "OutboxError"]
