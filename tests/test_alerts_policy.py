"""Flood control and retry decisions with a fake clock: cooldown, flap backoff, rate limit,
retry hints, backoff, and the operational health monitor."""
from __future__ import annotations

import random

import pytest

from alerts_harness import make_event
from scanner.exchanges import NAMES
from scanner.alerts.delivery import Backoff, body_retry_after, classify, parse_retry_after
from scanner.alerts.health import FeedHealth, HealthMonitor, HealthThresholds
from scanner.alerts.policy import MAX_BACKOFF_FACTOR, TargetPolicy, TokenBucket
from scanner.config import WebhookConfig
from scanner.exchanges import NAMES
from scanner.engine.opportunity import EventType
from scanner.exchanges import NAMES

T0 = 1_000_000.0


def policy(**hook) -> TargetPolicy:
    hook.setdefault("rate_limit_per_second", 100.0)
    hook.setdefault("rate_limit_burst", 100)
    return TargetPolicy.create(WebhookConfig(url="http://x", **hook), T0)


def opened(n: int = 0, **kw):
    return make_event(id=f"opp-{n}", **kw)


def closed(n: int = 0, **kw):
    return make_event(EventType.CLOSED, id=f"opp-{n}.closed", **kw)


def test_reopen_within_cooldown_is_suppressed_and_so_is_its_close():
    p = policy(cooldown_seconds=60)
    assert p.admit(opened(1), T0) is None
    assert p.admit(closed(1), T0 + 5) is None  # its open was sent
    assert p.admit(opened(2), T0 + 10) == "cooldown"
    assert p.admit(closed(2), T0 + 20) == "cooldown"  # its open was not sent
    assert p.admit(opened(3), T0 + 200) is None  # quiet for longer than the cooldown


def test_cooldown_is_per_pair():
    p = policy(cooldown_seconds=60)
    assert p.admit(opened(1), T0) is None
    assert p.admit(opened(2, sell="bybit"), T0 + 1) is None
    assert p.admit(opened(3, symbol="ETH/USDT"), T0 + 1) is None


def test_flapping_pair_backs_off_doubling_up_to_a_cap_then_resets_when_quiet():
    p = policy(cooldown_seconds=10)
    t = T0
    sent = []
    for n in range(200):  # open 2 s, closed 3 s: flapping every 5 s for 1000 s
        if p.admit(opened(n), t) is None:
            sent.append(t - T0)
        p.admit(closed(n), t + 2)
        t += 5
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    assert gaps[:5] == [10, 20, 40, 80, 160]  # cooldown doubles with each alert while flapping
    assert set(gaps[5:]) == {160}  # capped at 16 x cooldown_seconds
    assert MAX_BACKOFF_FACTOR == 16
    assert p.pairs[opened().opportunity.key].level > 4
    # quiet for a whole (capped) cooldown window: back to the base cooldown
    t += 160
    assert p.admit(opened(500), t) is None
    p.admit(closed(500), t + 2)
    assert p.admit(opened(501), t + 12) is None  # a flap again, but only 10 s after the last alert


def test_zero_cooldown_sends_every_open():
    p = policy(cooldown_seconds=0)
    for n in range(5):
        assert p.admit(opened(n), T0 + n) is None
        assert p.admit(closed(n), T0 + n + 0.5) is None


def test_filters():
    p = policy(min_net_profit=10, min_net_bps=5, symbols=["BTC/USDT"], exchanges=["binance", "okx"], cooldown_seconds=0)
    assert p.admit(opened(1, net=9.99), T0) == "filter"
    assert p.admit(closed(1), T0 + 1) == "filter"
    assert p.admit(opened(2, net=10, size=10), T0 + 2) == "filter"  # 10 quote on 430k notional: < 5 bps
    assert p.admit(opened(3, symbol="ETH/USDT"), T0 + 3) == "filter"
    assert p.admit(opened(4, sell="bybit"), T0 + 4) == "filter"
    assert p.admit(opened(5), T0 + 5) is None
    only_opens = policy(events=["opportunity.opened"], cooldown_seconds=0)
    assert only_opens.admit(opened(1), T0) is None
    assert only_opens.admit(closed(1), T0 + 1) == "filter"


def updated(n: int = 0, **kw):
    return make_event(EventType.UPDATED, id=f"opp-{n}", **kw)


def test_an_opportunity_that_grows_past_the_threshold_is_sent_once_then_its_close():
    p = policy(min_net_profit=10, cooldown_seconds=0)
    assert p.admit(opened(1, net=4), T0) == "filter"
    assert p.admit(updated(1, net=8), T0 + 1) == "filter"
    assert p.admit(updated(1, net=12), T0 + 2) is None  # sent now, as the open
    assert p.admit(updated(1, net=30), T0 + 3) == "sent"  # never twice
    assert p.admit(closed(1), T0 + 4) is None


def test_blocked_opportunities_are_not_sent_until_a_network_opens():
    p = policy(cooldown_seconds=0)
    assert p.admit(opened(1, blocked=True), T0) == "blocked"
    assert p.admit(closed(1), T0 + 1) == "blocked"
    assert p.admit(opened(2, blocked=True), T0 + 2) == "blocked"
    assert p.admit(updated(2), T0 + 3) is None


def test_close_without_a_seen_open_is_not_sent():
    assert policy().admit(closed(1), T0) == "filter"


def test_rate_limit_is_a_token_bucket_and_closes_of_sent_opens_always_pass():
    p = policy(cooldown_seconds=0, rate_limit_per_second=0.5, rate_limit_burst=2)
    pairs = [dict(symbol=f"S{i}/USDT") for i in range(6)]
    assert p.admit(opened(0, **pairs[0]), T0) is None
    assert p.admit(opened(1, **pairs[1]), T0) is None
    assert p.admit(opened(2, **pairs[2]), T0) == "rate_limited"
    assert p.admit(closed(2, **pairs[2]), T0) == "rate_limited"
    assert p.admit(closed(0, **pairs[0]), T0 + 1) is None  # must pass: its open was sent (bucket in debt)
    assert p.admit(opened(3, **pairs[3]), T0 + 2.9) == "rate_limited"  # debt repaid at 0.5 token/s
    assert p.admit(opened(4, **pairs[4]), T0 + 4.1) is None


def test_token_bucket():
    b = TokenBucket(rate=2.0, capacity=3.0, now=0.0)
    assert [b.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.try_take(0.5) and not b.try_take(0.5)
    assert b.try_take(100.0) and b.tokens == 2.0  # refill is capped


def test_operational_filters():
    p = policy(events=["feed.down"], exchanges=["okx", "binance"])
    assert p.admits_operational("feed.down", "okx")
    assert not p.admits_operational("feed.down", "bybit")
    assert not p.admits_operational("feed.recovered", "okx")
    assert policy().admits_operational("outbox.backlog", None)


def test_keyed_alerts_cool_down_per_type_and_key():
    p = policy(cooldown_seconds=60)
    assert p.cooled("hedge.drift", "btc", 0.0)
    assert not p.cooled("hedge.drift", "btc", 59.0)  # the same hedge's drift again within the cooldown
    assert p.cooled("hedge.drift", "eth", 59.0) and p.cooled("hedge.funding", "btc", 59.0)
    assert p.cooled("hedge.drift", "btc", 60.0)


# --- retry decisions --------------------------------------------------------------------------

def test_parse_retry_after():
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now) == 30.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None


def test_retry_hints_in_bodies():
    assert body_retry_after(b'{"ok":false,"error_code":429,"parameters":{"retry_after":12}}') == 12.0  # Telegram
    assert body_retry_after(b'{"message":"You are being rate limited.","retry_after":0.75,"global":false}') == 0.75
    assert body_retry_after(b"rate_limited") is None
    assert body_retry_after(b'[1]') is None


@pytest.mark.parametrize("status, kind", [
    (200, "delivered"), (204, "delivered"), (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry"),
    (301, "dead"), (400, "dead"), (401, "dead"), (404, "dead"), (410, "dead"),
])
def test_classify(status, kind):
    assert classify(status, {}, b"", 0.0).kind == kind


def test_classify_keeps_the_reason_and_the_hint():
    out = classify(429, {"Retry-After": "3"}, b"slow down", 0.0)
    assert (out.kind, out.reason, out.retry_after) == ("retry", "HTTP 429: slow down", 3.0)
    assert classify(429, {}, b'{"parameters":{"retry_after":5}}', 0.0).retry_after == 5.0
    assert classify(503, {}, b"", 0.0).retry_after is None
    assert classify(429, {"Retry-After": "999999"}, b"", 0.0).retry_after == 3600.0
    assert classify(400, {}, b"invalid_payload", 0.0).reason == "HTTP 400: invalid_payload"


def test_backoff_is_exponential_with_full_jitter():
    backoff = Backoff(base=1.0, cap=30.0)
    rng = random.Random(7)
    for attempts, ceiling in [(0, 1.0), (1, 2.0), (3, 8.0), (5, 30.0), (10_000, 30.0)]:
        delays = [backoff.delay(attempts, rng) for _ in range(500)]
        assert 0.0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > 0.9 * ceiling and min(delays) < 0.1 * ceiling  # spread over the whole range


# --- operational health -----------------------------------------------------------------------

def feeds(up=True, stale=0, books=10, resyncs=0):
    return {"binance": FeedHealth(up=up, stale_books=stale, books=books, resyncs_total=resyncs)}


def types(alerts):
    return [a.type for a in alerts]


def test_feed_down_after_threshold_then_recovered_with_hysteresis():
    m = HealthMonitor(HealthThresholds(feed_down_after=30, recovered_after=10))
    assert m.observe(T0, feeds(up=False), {}) == []
    assert m.observe(T0 + 29, feeds(up=False), {}) == []
    down = m.observe(T0 + 30, feeds(up=False), {})
    assert types(down) == ["feed.down"] and down[0].exchange == "binance"
    assert down[0].detail == "binance feed down for 30 s"
    assert m.observe(T0 + 60, feeds(up=False), {}) == []  # once per episode
    assert m.observe(T0 + 61, feeds(up=True), {}) == []
    assert m.observe(T0 + 62, feeds(up=False), {}) == []  # a blip does not recover it
    assert m.observe(T0 + 63, feeds(up=True), {}) == []
    recovered = m.observe(T0 + 73, feeds(up=True), {})
    assert types(recovered) == ["feed.recovered"]
    assert recovered[0].detail == "binance feed healthy again after 1 m 03 s"
    assert m.observe(T0 + 100, feeds(up=True), {}) == []


def test_short_outage_raises_nothing():
    m = HealthMonitor()
    for t in range(20):
        assert m.observe(T0 + t, feeds(up=t % 3 != 0), {}) == []


def test_stale_books_alert_and_clear_below_half_the_share():
    m = HealthMonitor(HealthThresholds(stale_after=30, recovered_after=5))
    assert m.observe(T0, feeds(stale=6), {}) == []
    stale = m.observe(T0 + 30, feeds(stale=6), {})
    assert types(stale) == ["books.stale"] and stale[0].detail == "6 of 10 binance books stale for 30 s"
    assert m.observe(T0 + 31, feeds(stale=3), {}) == []  # between the thresholds: still stale
    assert m.observe(T0 + 40, feeds(stale=3), {}) == []
    assert m.observe(T0 + 41, feeds(stale=2), {}) == []
    assert types(m.observe(T0 + 46, feeds(stale=2), {})) == ["feed.recovered"]


def test_resync_storm_once_per_storm():
    m = HealthMonitor(HealthThresholds(resync_storm=10, resync_window=60))
    total = 100
    assert m.observe(T0, feeds(resyncs=total), {}) == []  # a running total is not a storm
    out = []
    for t in range(1, 40):
        total += 1
        out += m.observe(T0 + t, feeds(resyncs=total), {})
    assert types(out) == ["resync.storm"] and out[0].detail.startswith("11 binance book resyncs in the last")
    for t in range(40, 200):  # quiet: the window empties and re-arms
        assert m.observe(T0 + t, feeds(resyncs=total), {}) == []
    for t in range(200, 212):
        total += 1
        out += m.observe(T0 + t, feeds(resyncs=total), {})
    assert types(out) == ["resync.storm", "resync.storm"]


def test_outbox_backlog_by_depth_or_age_with_hysteresis():
    m = HealthMonitor(HealthThresholds(backlog_age=300, backlog_depth=1000))
    assert m.observe(T0, {}, {"slack": (10, 299.0)}) == []
    alert = m.observe(T0 + 1, {}, {"slack": (10, 301.0)})
    assert types(alert) == ["outbox.backlog"] and alert[0].target == "slack"
    assert alert[0].detail == "10 alerts waiting for target slack, oldest 5 m 01 s"
    assert m.observe(T0 + 2, {}, {"slack": (10, 200.0)}) == []  # not yet cleared (age > 150)
    assert m.observe(T0 + 3, {}, {"slack": (0, 0.0)}) == []
    assert types(m.observe(T0 + 4, {}, {"slack": (1001, 1.0)})) == ["outbox.backlog"]


def test_webhook_config_validation():
    from scanner.config import ConfigError, parse_config
    hooks = {
        "a": {"url": "https://h", "events": ["opportunity.closed", "feed.dwon"]},
        "b": {"url": "https://h", "exchanges": ["binanse"], "rate_limit_per_second": 0, "cooldown_seconds": -1},
    }
    with pytest.raises(ConfigError) as err:
        parse_config({"alerts": {"webhooks": hooks}}, source="c.toml")
    assert err.value.problems == [
        "c.toml: 'alerts.webhooks.a.events': unknown event type 'feed.dwon'; did you mean 'feed.down'?",
        "c.toml: 'alerts.webhooks.a.events': 'opportunity.closed' needs 'opportunity.opened' (a close is sent"
        " only after its open)",
        f"c.toml: 'alerts.webhooks.b.exchanges': unknown exchange 'binanse' (supported: {', '.join(NAMES)})",
        "c.toml: 'alerts.webhooks.b.rate_limit_per_second' must be greater than 0",
        "c.toml: 'alerts.webhooks.b.cooldown_seconds' must be 0 or more",
    ]
    default = parse_config({"alerts": {"webhooks": {"d": {"url": "https://h"}}}}).alerts.webhooks["d"]
    assert default.events == ["opportunity.opened", "opportunity.closed", "feed.down", "feed.recovered",
                              "books.stale", "resync.storm", "outbox.backlog",
                              "stablecoin.depeg", "stablecoin.recovered", "basis.opened", "basis.closed",
                              "hedge.drift", "hedge.liquidation_risk", "hedge.funding", "hedge.leg_missing"]
