"""Alert payloads, Standard Webhooks signing and the chat renderings."""
from __future__ import annotations

import base64

import orjson
import pytest

from alerts_harness import make_event
from scanner.alerts.formats import (
    build_renderer, display_url, duration, money, num, operational_payload, opportunity_payload, redact,
    sign, signing_key,
)
from scanner.config import ConfigError, WebhookConfig
from scanner.engine.opportunity import EventType
from webhook_sink import verify

KEY = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
TOKEN = "123456:AAH-secret-token"
ENV = {"KEY": KEY, "SLACK": SLACK_URL, "DISCORD": "https://discord.com/api/webhooks/1/tok", "TG": TOKEN}


def body_of(event) -> bytes:
    return orjson.dumps(opportunity_payload(event))


def render(fmt: str, body: bytes, **hook):
    renderer = build_renderer("t", WebhookConfig(format=fmt, **hook), ENV)
    return renderer.render(orjson.loads(body)["id"], body, 1_700_000_000)


def test_opened_payload_has_the_generic_fields():
    event = make_event(net=12.5, size=0.25)
    payload = opportunity_payload(event)
    assert payload == {
        "id": "opp-1", "type": "opportunity.opened", "symbol": "BTC/USDT", "buy_symbol": "BTC/USDT",
            "sell_symbol": "BTC/USDT", "buy_exchange": "binance",
        "sell_exchange": "okx", "buy_price": 43_000.0, "sell_price": event.opportunity.sell_price, "size": 0.25,
        "net_profit": pytest.approx(12.5), "net_profit_bps": pytest.approx(12.5 / (0.25 * 43_000) * 1e4),
        "costs": event.opportunity.costs.as_dict(), "detected_at": "2023-11-14T22:13:20.000Z",
    }


def test_closed_payload_adds_lifecycle_fields():
    event = make_event(EventType.CLOSED, id="opp-1.closed", at=1_700_000_042.5, first_seen=1_700_000_000.0)
    payload = opportunity_payload(event)
    assert payload["type"] == "opportunity.closed"
    assert payload["first_seen"] == "2023-11-14T22:13:20.000Z"
    assert payload["duration_seconds"] == 42.5
    assert payload["peak_net_profit"] == event.peak_net_profit
    assert payload["close_reason"] == "spread gone"


def test_operational_payload():
    payload = operational_payload("feed.down.1", "feed.down", "binance feed down for 30 s", 1_700_000_000.0,
                                  exchange="binance")
    assert payload == {"id": "feed.down.1", "type": "feed.down", "exchange": "binance",
                       "detail": "binance feed down for 30 s", "detected_at": "2023-11-14T22:13:20.000Z"}


def test_signature_matches_the_standard_webhooks_vector():
    # test vector of the Standard Webhooks reference libraries
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_json_request_verifies_with_the_reference_verifier():
    body = body_of(make_event(id="opp-42"))
    req = render("json", body, url="https://example.test/hook", secret_env="KEY")
    assert req.url == "https://example.test/hook" and req.body == body
    assert req.headers["webhook-id"] == "opp-42"
    assert req.headers["webhook-timestamp"] == "1700000000"
    assert req.headers["content-type"] == "application/json"
    assert verify(KEY, req.headers, req.body, now=1_700_000_100)
    assert not verify(KEY, req.headers, req.body + b" ", now=1_700_000_100)  # tampered body
    assert not verify(KEY, req.headers, req.body, now=1_700_000_301)  # outside the 5-minute window
    wrong = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()
    assert not verify(wrong, req.headers, req.body, now=1_700_000_000)


def test_raw_secret_is_used_as_bytes():
    body = body_of(make_event())
    req = build_renderer("t", WebhookConfig(url="https://e.test", secret_env="RAW"), {"RAW": "plain secret"}) \
        .render("opp-1", body, 1_700_000_000)
    assert verify("plain secret", req.headers, body, now=1_700_000_000)


def test_json_without_secret_env_is_unsigned():
    req = render("json", body_of(make_event()), url="https://e.test")
    assert "webhook-signature" not in req.headers and req.headers["webhook-id"] == "opp-1"


def test_slack_message_has_fallback_text_and_mrkdwn_blocks():
    req = render("slack", body_of(make_event(symbol="ETH/USDT")), secret_env="SLACK", url="https://ignored.test")
    assert req.url == SLACK_URL  # the variable wins over url
    msg = orjson.loads(req.body)
    assert msg["text"].startswith("🟢 ETH/USDT: buy binance → sell okx, net 12.50 USDT")
    text = orjson.dumps(msg["blocks"]).decode()
    for part in ("*Opportunity opened: ETH/USDT", "gross 35.52 − buy fee 10.75 − sell fee 10.77 − transfer 1.50"
                 " = net 12.50 USDT", "*Size*\\n0.25 ETH", "*Buy VWAP (binance)*\\n43,000",
                 "*Transfer*\\n1.50 USDT (0.00003 ETH via BTC, open)", "*Buy fee (binance, 10.0 bps)*"):
        assert part in text
    for block in msg["blocks"]:
        assert len(block.get("fields", [])) <= 10


def test_slack_escapes_control_characters():
    body = orjson.dumps(operational_payload("x", "feed.down", "a <b> & c", 0.0, exchange="okx"))
    msg = orjson.loads(render("slack", body, url="https://hooks.test/x").body)
    assert "a &lt;b&gt; &amp; c" in msg["text"]


def test_discord_embed_within_limits_and_without_mentions():
    detail = "@everyone " + "*x_" * 3000
    body = orjson.dumps(operational_payload("x", "books.stale", detail, 0.0, exchange="okx"))
    req = render("discord", body, secret_env="DISCORD")
    assert req.url == ENV["DISCORD"]
    msg = orjson.loads(req.body)
    embed = msg["embeds"][0]
    assert len(msg["content"]) <= 2000 and len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert msg["allowed_mentions"] == {"parse": []}
    assert "\\*x\\_" in embed["description"]  # markdown escaped
    opened = orjson.loads(render("discord", body_of(make_event()), url="https://d.test/w").body)["embeds"][0]
    assert opened["title"] == "Opportunity opened: BTC/USDT, buy binance → sell okx"
    assert opened["color"] == 0x2ECC71 and len(opened["fields"]) <= 25
    assert {"name": "Net profit", "value": "12.50 USDT (11.6 bps)", "inline": True} in opened["fields"]
    assert sum(len(f["name"]) + len(f["value"]) for f in opened["fields"]) + len(opened["title"]) < 6000


def test_telegram_send_message_with_escaped_html():
    closed = make_event(EventType.CLOSED, id="opp-1.closed", at=1_700_000_100.0, first_seen=1_700_000_000.0)
    req = render("telegram", body_of(closed), secret_env="TG", chat_id="-1001234")
    assert req.url == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    msg = orjson.loads(req.body)
    assert msg["chat_id"] == -1001234 and msg["parse_mode"] == "HTML"
    assert msg["link_preview_options"] == {"is_disabled": True}
    assert msg["text"].startswith("<b>Opportunity closed: BTC/USDT, buy binance → sell okx</b>")
    assert "<b>Open for:</b> 1 m 40 s" in msg["text"] and "<b>Peak net profit:</b> 14.50 USDT" in msg["text"]
    ops = orjson.dumps(operational_payload("x", "feed.down", "<script> & co", 0.0, exchange="okx"))
    msg = orjson.loads(render("telegram", ops, secret_env="TG", chat_id="@desk", url="http://127.0.0.1:1/").body)
    assert msg["chat_id"] == "@desk" and "&lt;script&gt; &amp; co" in msg["text"] and "<script>" not in msg["text"]


def test_telegram_url_override():
    req = render("telegram", body_of(make_event()), secret_env="TG", chat_id="1", url="http://127.0.0.1:8080/")
    assert req.url == f"http://127.0.0.1:8080/bot{TOKEN}/sendMessage"


def test_missing_secret_variable_is_a_config_error_without_the_value():
    with pytest.raises(ConfigError, match="environment variable NOPE is not set"):
        build_renderer("desk", WebhookConfig(url="https://e.test", secret_env="NOPE"), {})
    with pytest.raises(ConfigError, match="BAD starts with whsec_"):
        build_renderer("desk", WebhookConfig(url="https://e.test", secret_env="BAD"), {"BAD": "whsec_%%%"})


@pytest.mark.parametrize("fmt, hook, env", [
    ("json", dict(url="hooks.example.test/x"), {}),
    ("slack", dict(secret_env="S"), {"S": "T000/B000/xyz"}),
    ("telegram", dict(secret_env="S", chat_id="1", url="ftp://h"), {"S": "tok"}),
])
def test_unusable_urls_are_config_errors_that_do_not_echo_them(fmt, hook, env):
    with pytest.raises(ConfigError, match="is not an http\\(s\\) URL") as err:
        build_renderer("t", WebhookConfig(format=fmt, **hook), env)
    assert "xyz" not in str(err.value) and "example" not in str(err.value)


def test_redaction_and_display_url():
    renderer = build_renderer("s", WebhookConfig(format="slack", secret_env="SLACK"), ENV)
    assert display_url(renderer.url) == "https://hooks.slack.com"
    assert display_url("https://user:pw@h.test:8443/p?q=1") == "https://h.test:8443"
    text = f"Cannot connect to {SLACK_URL}: path /services/T000/B000/XXXXSECRETXXXX refused"
    assert "SECRET" not in redact(text, renderer.secrets)
    tg = build_renderer("t", WebhookConfig(format="telegram", secret_env="TG", chat_id="1"), ENV)
    assert redact(f"POST {tg.url}", tg.secrets) == "POST https://api.telegram.org/bot***/sendMessage"


@pytest.mark.parametrize("value, text", [
    (43012.123456, "43,012.1"), (0.000123456, "0.000123456"), (0.25, "0.25"), (1e-9, "0.000000001"),
    (0.0, "0"), (-5.5, "-5.5"), (1234567.0, "1,234,567"),
])
def test_num(value, text):
    assert num(value) == text


def test_money_and_duration():
    assert [money(x) for x in (12.345, 1234.5, 0.00345, -0.5)] == ["12.35", "1,234.50", "0.00345", "-0.5"]
    assert [duration(x) for x in (42, 185, 7440)] == ["42 s", "3 m 05 s", "2 h 04 m"]
