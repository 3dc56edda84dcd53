"""End to end against a real local webhook sink: the outbox, retries, pauses, dead letters,
restarts, operational alerts, metrics and secret hygiene."""
from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alerts_harness import make_event
from scanner.alerts import Alerter, Backoff, FeedHealth, HealthThresholds, OutboxError
from scanner.config import AlertsConfig, WebhookConfig
from scanner.engine.opportunity import EventType
from webhook_sink import Reply, WebhookSink

KEY = "whsec_" + base64.b64encode(b"sink signing key, 32 bytes long!").decode()
TOKEN = "987654:telegram-secret-token"
FAST = Backoff(base=0.02, cap=0.2)


@pytest.fixture
async def sink():
    sink = WebhookSink(secret=KEY)
    await sink.start()
    yield sink
    await sink.stop()


def json_hook(sink: WebhookSink, **kw) -> WebhookConfig:
    kw.setdefault("cooldown_seconds", 0.0)
    kw.setdefault("rate_limit_per_second", 1000.0)
    kw.setdefault("rate_limit_burst", 1000)
    return WebhookConfig(url=sink.url("/hook"), secret_env="KEY", timeout_seconds=0.5, **kw)


def make_alerter(tmp_path, hooks: dict[str, WebhookConfig], **kw) -> Alerter:
    env = {"KEY": KEY, "TG": TOKEN, **kw.pop("env", {})}
    return Alerter(AlertsConfig(outbox_path=str(tmp_path / "outbox.sqlite"), webhooks=hooks), env=env,
                   backoff=kw.pop("backoff", FAST), **kw)


def events(n: int, prefix: str = "opp"):
    return [make_event(id=f"{prefix}-{i}", symbol=f"S{i}/USDT") for i in range(n)]


def outbox_rows(tmp_path) -> list[tuple]:
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    try:
        return db.execute("SELECT target, event_id, attempts, last_error, dead_at FROM outbox ORDER BY seq").fetchall()
    finally:
        db.close()


def metric_text(alerter: Alerter) -> str:
    class Collector:
        def collect(self):
            return alerter.metric_families()
    registry = CollectorRegistry()
    registry.register(Collector())
    return generate_latest(registry).decode()


def sample(text: str, line_start: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(line_start)).rsplit(" ", 1)[1])


async def test_every_format_is_delivered(tmp_path, sink):
    hooks = {
        "desk": json_hook(sink),
        "slack": WebhookConfig(format="slack", url=sink.url("/slack")),
        "discord": WebhookConfig(format="discord", secret_env="DISCORD"),
        "tg": WebhookConfig(format="telegram", url=sink.url(""), secret_env="TG", chat_id="42"),
    }
    alerter = make_alerter(tmp_path, hooks, env={"DISCORD": sink.url("/discord")})
    await alerter.start()
    alerter.publish(make_event(id="opp-7"))
    alerter.publish(make_event(EventType.UPDATED, id="opp-7"))  # its open was sent already
    alerter.publish(make_event(EventType.CLOSED, id="opp-7.closed"))
    await sink.wait_until(lambda: len(sink.delivered()) == 8, timeout=5)
    await alerter.stop()
    by_path: dict[str, list] = {}
    for r in sink.received:
        by_path.setdefault(r.path, []).append(r)
    assert sorted(by_path) == ["/bot987654:telegram-secret-token/sendMessage", "/discord", "/hook", "/slack"]
    desk = by_path["/hook"]
    assert [r.webhook_id for r in desk] == ["opp-7", "opp-7.closed"]
    assert all(r.verified for r in desk)
    assert [r.json()["type"] for r in desk] == ["opportunity.opened", "opportunity.closed"]
    assert by_path["/slack"][0].json()["text"].startswith("🟢 BTC/USDT")
    assert by_path["/discord"][1].json()["embeds"][0]["title"].startswith("Opportunity closed")
    assert by_path["/bot987654:telegram-secret-token/sendMessage"][0].json()["chat_id"] == 42
    assert outbox_rows(tmp_path) == []


async def test_sink_down_then_back_receives_every_event_in_order(tmp_path, sink):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    await alerter.start()
    await sink.stop()
    for event in events(10):
        alerter.publish(event)
    await asyncio.sleep(1.0)  # retrying against a closed port
    text = metric_text(alerter)
    assert sample(text, 'arbscan_alert_outbox_depth{target="desk"}') == 10
    assert sample(text, 'arbscan_alert_outbox_oldest_age_seconds{target="desk"}') >= 0.9
    assert sample(text, 'arbscan_alert_deliveries_total{outcome="failed",target="desk"}') >= 3
    await sink.start()  # same port
    await sink.wait_until(lambda: len(sink.delivered_ids()) == 10, timeout=5)
    await alerter.stop()
    assert [r.webhook_id for r in sink.delivered()] == [f"opp-{i}" for i in range(10)]
    assert all(r.verified for r in sink.received)
    text = metric_text(alerter)
    assert sample(text, 'arbscan_alert_deliveries_total{outcome="delivered",target="desk"}') == 10
    assert sample(text, 'arbscan_alert_outbox_depth{target="desk"}') == 0
    assert sample(text, 'arbscan_alert_events_total{target="desk",type="opportunity.opened"}') == 10


async def test_5xx_and_timeouts_are_retried_with_the_same_webhook_id(tmp_path, sink):
    sink.script(Reply(500), Reply(502, body=b"bad gateway"), Reply(200, delay=1.0), Reply(503))
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    await alerter.start()
    alerter.publish(make_event(id="opp-x"))
    await sink.wait_until(lambda: len(sink.received) == 5, timeout=10)  # the hung request is recorded last
    await alerter.stop()
    assert [r.status for r in sorted(sink.received, key=lambda r: r.at)] == [500, 502, 0, 503, 200]
    assert {r.webhook_id for r in sink.received} == {"opp-x"}
    assert all(r.verified for r in sink.received)
    assert sample(metric_text(alerter), 'arbscan_alert_deliveries_total{outcome="failed",target="desk"}') == 4


@pytest.mark.parametrize("reply", [
    Reply(429, headers={"Retry-After": "1"}),
    Reply(429, body=b'{"ok":false,"error_code":429,"parameters":{"retry_after":1}}'),  # Telegram
    Reply(429, body=b'{"message":"rate limited","retry_after":1.0,"global":false}'),  # Discord
], ids=["header", "telegram", "discord"])
async def test_429_pauses_the_target_for_the_hinted_time(tmp_path, sink, reply):
    sink.script(reply)
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)}, backoff=Backoff(base=0.01, cap=0.01))
    await alerter.start()
    for event in events(3):
        alerter.publish(event)
    await sink.wait_until(lambda: len(sink.delivered()) == 3, timeout=5)
    await alerter.stop()
    first, retry = sink.received[0], sink.received[1]
    assert first.status == 429 and retry.webhook_id == first.webhook_id == "opp-0"
    assert retry.at - first.at >= 0.95  # nothing was sent during the pause
    assert [r.webhook_id for r in sink.delivered()] == ["opp-0", "opp-1", "opp-2"]


async def test_4xx_is_dead_recorded_and_not_retried(tmp_path, sink):
    sink.script(Reply(400, body=b"invalid_payload"))
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    await alerter.start()
    alerter.publish(make_event(id="bad"))
    alerter.publish(make_event(id="good", symbol="ETH/USDT"))
    await sink.wait_until(lambda: sink.delivered_ids() == {"good"}, timeout=5)
    await alerter.stop()
    assert [r.webhook_id for r in sink.received] == ["bad", "good"]
    (target, event_id, attempts, error, dead_at), = outbox_rows(tmp_path)
    assert (target, event_id, attempts, error) == ("desk", "bad", 1, "HTTP 400: invalid_payload")
    assert dead_at is not None
    text = metric_text(alerter)
    assert sample(text, 'arbscan_alert_deliveries_total{outcome="dead",target="desk"}') == 1
    assert sample(text, 'arbscan_alert_outbox_depth{target="desk"}') == 0


async def test_undelivered_alerts_survive_a_restart(tmp_path, sink):
    sink.default = Reply(503)
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    await alerter.start()
    for event in events(5):
        alerter.publish(event)
    await sink.wait_until(lambda: len(sink.received) >= 2, timeout=5)
    await alerter.stop()
    assert len(outbox_rows(tmp_path)) == 5
    sink.default = Reply(200)
    again = make_alerter(tmp_path, {"desk": json_hook(sink)})
    assert sample(metric_text(again), 'arbscan_alert_outbox_depth{target="desk"}') == 5
    await again.start()  # the five are still open: their closes follow them
    await sink.wait_until(lambda: len(sink.delivered_ids()) == 10, timeout=5)
    await again.stop()
    assert [r.webhook_id for r in sink.delivered()] == [f"opp-{i}" for i in range(5)] + [
        f"opp-{i}.closed" for i in range(5)]
    assert {r.json()["close_reason"] for r in sink.delivered()[5:]} == {"arbscan restarted"}
    assert all(r.verified for r in sink.received)


async def test_cooldown_and_rate_limit_are_counted(tmp_path, sink):
    hook = json_hook(sink, cooldown_seconds=60, rate_limit_per_second=0.001, rate_limit_burst=2, min_net_profit=5)
    alerter = make_alerter(tmp_path, {"desk": hook})
    await alerter.start()
    alerter.publish(make_event(id="a"))
    alerter.publish(make_event(EventType.CLOSED, id="a.closed"))
    alerter.publish(make_event(id="b"))  # same pair again: cooldown
    alerter.publish(make_event(id="c", symbol="ETH/USDT", net=1.0))  # below min_net_profit
    alerter.publish(make_event(id="d", symbol="SOL/USDT"))  # bucket empty after a and a.closed
    await sink.wait_until(lambda: len(sink.delivered()) == 2, timeout=5)
    await alerter.stop()
    assert [r.webhook_id for r in sink.delivered()] == ["a", "a.closed"]
    text = metric_text(alerter)
    for reason, n in [("cooldown", 1), ("filter", 1), ("rate_limited", 1)]:
        assert sample(text, f'arbscan_alert_suppressed_total{{reason="{reason}",target="desk"}}') == n


async def test_an_opportunity_that_grows_past_min_net_profit_is_delivered_as_its_open(tmp_path, sink):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink, min_net_profit=10)})
    await alerter.start()
    alerter.publish(make_event(id="g", net=4.0))
    alerter.publish(make_event(EventType.UPDATED, id="g", net=15.0))
    alerter.publish(make_event(EventType.UPDATED, id="g", net=20.0))
    alerter.publish(make_event(EventType.CLOSED, id="g.closed"))
    await sink.wait_until(lambda: len(sink.delivered()) == 2, timeout=5)
    await alerter.stop()
    assert [(r.webhook_id, r.json()["type"], round(r.json()["net_profit"], 6)) for r in sink.delivered()] == [
        ("g", "opportunity.opened", 15.0), ("g.closed", "opportunity.closed", 12.5)]
    assert sample(metric_text(alerter), 'arbscan_alert_suppressed_total{reason="filter",target="desk"}') == 1


async def test_operational_alerts_from_the_health_callback(tmp_path, sink):
    state = {"okx": FeedHealth(up=False, stale_books=0, books=5, resyncs_total=0)}
    thresholds = HealthThresholds(feed_down_after=0, recovered_after=0)
    hooks = {"desk": json_hook(sink), "binance-only": json_hook(sink, exchanges=["binance"])}
    alerter = make_alerter(tmp_path, hooks, health=lambda: state, thresholds=thresholds)
    await alerter.start()
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    state["okx"] = FeedHealth(up=True, stale_books=0, books=5, resyncs_total=0)
    await sink.wait_until(lambda: len(sink.delivered()) == 2, timeout=5)
    await alerter.stop()
    down, up = (r.json() for r in sink.delivered())
    assert down["type"] == "feed.down" and down["exchange"] == "okx" and down["detail"].startswith("okx feed down")
    assert set(down) == {"id", "type", "exchange", "detail", "detected_at"}
    assert up["type"] == "feed.recovered" and up["id"] != down["id"]
    assert all(r.verified for r in sink.received)
    text = metric_text(alerter)
    assert sample(text, 'arbscan_alert_events_total{target="desk",type="feed.down"}') == 1
    assert sample(text, 'arbscan_alert_suppressed_total{reason="filter",target="binance-only"}') == 2


async def test_backlog_alert_goes_to_the_other_targets(tmp_path, sink):
    dead_end = WebhookConfig(url="http://127.0.0.1:9/never", timeout_seconds=0.2)  # discard port: refused
    thresholds = HealthThresholds(backlog_depth=2)
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink, events=["outbox.backlog"]), "down": dead_end},
                           thresholds=thresholds)
    await alerter.start()
    for event in events(3):
        alerter.publish(event)
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    await alerter.stop()
    alert = sink.delivered()[0].json()
    assert alert["type"] == "outbox.backlog" and alert["target"] == "down"
    assert alert["detail"].startswith("3 alerts waiting for target down")


async def test_secrets_never_reach_logs_metrics_or_the_outbox(tmp_path, sink, caplog):
    caplog.set_level(logging.DEBUG, logger="scanner.alerts")
    slack_url = sink.url("/services/T0/B0/slack-secret-path")
    # the sink echoes the secret URL back in its error bodies
    sink.script(Reply(500, body=slack_url.encode()), Reply(403, body=f"bad token {TOKEN}".encode()),
                Reply(500, body=slack_url.encode()), Reply(404, body=f"no {TOKEN}".encode()))
    hooks = {"slack": WebhookConfig(format="slack", secret_env="SLACK"),
             "tg": WebhookConfig(format="telegram", url=sink.url(""), secret_env="TG", chat_id="1")}
    alerter = make_alerter(tmp_path, hooks, env={"SLACK": slack_url})
    await alerter.start()
    alerter.publish(make_event(id="s"))
    await sink.wait_until(lambda: len(sink.received) == 4, timeout=5)
    await alerter.stop()
    everything = caplog.text + metric_text(alerter) + repr(outbox_rows(tmp_path))
    assert "slack-secret-path" not in everything and TOKEN not in everything and "telegram-secret" not in everything
    assert "alert target slack (http://127.0.0.1:" in caplog.text and "HTTP 403: bad token ***" in caplog.text


async def test_metrics_pass_promtool(tmp_path, sink):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink), "chat": WebhookConfig(format="slack", url=sink.url())})
    await alerter.start()
    alerter.publish(make_event())
    await sink.wait_until(lambda: len(sink.delivered()) == 2, timeout=5)
    await alerter.stop()
    text = metric_text(alerter)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("arbscan_alert_deliveries_total", "arbscan_alert_events_total", "arbscan_alert_suppressed_total",
                 "arbscan_alert_lost_total", "arbscan_alert_outbox_depth", "arbscan_alert_outbox_oldest_age_seconds"):
        assert f"# HELP {name} " in text


async def test_a_second_process_cannot_share_the_outbox(tmp_path, sink):
    first = make_alerter(tmp_path, {"desk": json_hook(sink)})
    with pytest.raises(OutboxError, match="is another arbscan using it"):
        make_alerter(tmp_path, {"desk": json_hook(sink)})
    await first.stop()


async def test_no_targets_means_no_outbox_file(tmp_path):
    alerter = Alerter(AlertsConfig(outbox_path=str(tmp_path / "o.sqlite")), env={})
    await alerter.start()
    alerter.publish(make_event())
    await alerter.stop()
    assert not (tmp_path / "o.sqlite").exists()
    assert list(alerter.metric_families())[0].samples == []
