"""Alert payloads and how each target type renders them into an HTTP request.

The generic JSON body is the canonical form of an alert: it is what the outbox stores and what
json targets receive verbatim. Chat formats (Slack, Discord, Telegram) render a readable
message from it at send time, so no secret and no chat markup is ever stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Protocol
from urllib.parse import urlsplit

import orjson

from ..config import ConfigError, WebhookConfig
from ..engine.opportunity import OpportunityEvent
from ..instruments import parse_symbol

TELEGRAM_API = "https://api.telegram.org"
JSON_HEADERS = {"content-type": "application/json"}


# --- canonical payloads ---------------------------------------------------------------------

def rfc3339(ts: float) -> str:
    """Unix seconds as RFC 3339 UTC with milliseconds, e.g. ``2024-05-01T12:00:00.123Z``."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def opportunity_payload(event: OpportunityEvent, generic: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The generic JSON body of an opened or closed opportunity event. ``generic``: the
    exchanges read through ccxt (lower fidelity); a trade involving one says so in
    ``fidelity``: ``{"buy": "generic", "sell": "native"}``."""
    opp = event.opportunity
    payload: dict[str, Any] = {
        "id": event.id,
        "type": event.type.value,
        "symbol": opp.symbol,
        "buy_symbol": opp.buy_instrument.symbol,
        "sell_symbol": opp.sell_instrument.symbol,
        "buy_exchange": opp.buy_exchange,
        "sell_exchange": opp.sell_exchange,
        "buy_price": opp.buy_price,
        "sell_price": opp.sell_price,
        "size": opp.size,
        "net_profit": opp.net_profit,
        "net_profit_bps": opp.net_profit_bps,
        "costs": opp.costs.as_dict(),
        "detected_at": rfc3339(opp.detected_at),
    }
    if opp.buy_exchange in generic or opp.sell_exchange in generic:
        payload["fidelity"] = {side: "generic" if exchange in generic else "native"
                               for side, exchange in (("buy", opp.buy_exchange), ("sell", opp.sell_exchange))}
    if event.type.value == "opportunity.closed":
        payload["first_seen"] = rfc3339(event.first_seen)
        payload["duration_seconds"] = event.duration
        payload["peak_net_profit"] = event.peak_net_profit
        if event.close_reason:
            payload["close_reason"] = event.close_reason
    return payload


def operational_payload(event_id: str, type_: str, detail: str, detected_at: float, *,
                        exchange: str | None = None, target: str | None = None,
                        data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The generic JSON body of an operational alert (feed down, stale books, backlog...), or of a
    hedging alert (basis, hedge: its figures in ``data``)."""
    payload: dict[str, Any] = {"id": event_id, "type": type_}
    if exchange:
        payload["exchange"] = exchange
    if target:
        payload["target"] = target
    payload.update(data or {})
    payload["detail"] = detail
    payload["detected_at"] = rfc3339(detected_at)
    return payload


# --- human-readable message, shared by the chat formats --------------------------------------

GREEN, GREY, RED, ORANGE, BLUE = 0x2ECC71, 0x95A5A6, 0xE74C3C, 0xE67E22, 0x3498DB
_OPS_STYLE = {  # type -> (emoji, title, embed colour)
    "feed.down": ("🔴", "Feed down", RED),
    "feed.recovered": ("✅", "Feed recovered", GREEN),
    "books.stale": ("🟠", "Books stale", ORANGE),
    "resync.storm": ("🟠", "Resync storm", ORANGE),
    "outbox.backlog": ("🟠", "Alert backlog", ORANGE),
    "stablecoin.depeg": ("🔴", "Stablecoin depeg", RED),
    "stablecoin.recovered": ("✅", "Stablecoin back on peg", GREEN),
    "basis.opened": ("🟢", "Carry opened", GREEN),
    "basis.closed": ("⚪", "Carry closed", GREY),
    "hedge.drift": ("🟠", "Hedge ratio drift", ORANGE),
    "hedge.liquidation_risk": ("🔴", "Hedge near liquidation", RED),
    "hedge.funding": ("🟠", "Hedge funding", ORANGE),
    "hedge.leg_missing": ("🔴", "Hedge leg missing", RED),
}


@dataclass(frozen=True, slots=True)
class Message:
    """A chat message independent of markup: plain text parts, escaped by each format."""

    headline: str  # one line: notification text / fallback
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]
    footer: str
    color: int


def num(x: float, sig: int = 6) -> str:
    """``x`` with about ``sig`` significant digits, thousands separators and no exponent."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(x: float) -> str:
    """A quote amount: cents from 1 up, a few significant digits below."""
    return f"{x:,.2f}" if abs(x) >= 1 else num(x, 3)


def bps(rate: float) -> str:
    """A fraction (0.001) as basis points (``10.0 bps``)."""
    return f"{rate * 1e4:.1f} bps"


def duration(seconds: float) -> str:
    """``42 s``, ``3 m 05 s``, ``2 h 04 m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} m {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} m"


def describe(event: Mapping[str, Any]) -> Message:
    """Build the readable message of a canonical payload."""
    if event["type"].startswith("opportunity."):
        return _describe_opportunity(event)
    emoji, title, color = _OPS_STYLE.get(event["type"], ("ℹ️", event["type"], BLUE))
    subject = event.get("hedge") or event.get("asset") or event.get("exchange") or event.get("target") or "arbscan"
    return Message(
        headline=f"{emoji} {event['detail']}",
        title=f"{title}: {subject}",
        description=event["detail"],
        fields=(),
        footer=f"{event['type']} · {event['detected_at']}",
        color=color,
    )


def _describe_opportunity(event: Mapping[str, Any]) -> Message:
    symbol = parse_symbol(event.get("buy_symbol", event["symbol"]))  # figures are in the buy quote
    base, quote = symbol.base, symbol.quote
    c = event["costs"]
    route = f"buy {event['buy_exchange']} → sell {event['sell_exchange']}"
    net = f"{money(event['net_profit'])} {quote} ({event['net_profit_bps']:.1f} bps)"
    network = c["transfer_network"] or "no common network"
    closed = event["type"] == "opportunity.closed"
    fields = [
        ("Last net profit" if closed else "Net profit", net),
        ("Size", f"{num(event['size'])} {base}"),
        (f"Buy VWAP ({event['buy_exchange']})", num(event["buy_price"], 8)),
        (f"Sell VWAP ({event['sell_exchange']})", num(event["sell_price"], 8)),
        ("Gross", f"{money(c['gross'])} {quote}"),
        (f"Buy fee ({event['buy_exchange']}, {bps(c['buy_fee_rate'])})", f"{money(c['buy_fee'])} {quote}"),
        (f"Sell fee ({event['sell_exchange']}, {bps(c['sell_fee_rate'])})", f"{money(c['sell_fee'])} {quote}"),
        ("Transfer", f"{money(c['transfer_fee'])} {quote} ({num(c['transfer_fee_base'])} {base} via {network},"
                     f" {c['transfer_status']})"),
    ]
    breakdown = (f"gross {money(c['gross'])} − buy fee {money(c['buy_fee'])} − sell fee {money(c['sell_fee'])}"
                 f" − transfer {money(c['transfer_fee'])}")
    conversion = c.get("conversion")
    if conversion:
        fields.append((f"Conversion ({conversion['exchange']} {conversion['symbol']}, {bps(conversion['fee_rate'])})",
                       f"{money(conversion['cost'])} {quote} ({num(conversion['amount'])} {conversion['from']} → "
                       f"{num(conversion['received'])} {conversion['to']} at {num(conversion['rate'], 6)})"))
        breakdown += f" − conversion {money(conversion['cost'])}"
    breakdown += f" = net {money(c['net'])} {quote}"
    if closed:
        fields[:0] = [("Open for", duration(event["duration_seconds"])),
                      ("Peak net profit", f"{money(event['peak_net_profit'])} {quote}")]
        if event.get("close_reason"):
            fields.append(("Close reason", event["close_reason"]))
        return Message(
            headline=f"⚪ Closed {event['symbol']} ({route}) after {duration(event['duration_seconds'])},"
                     f" peak net {money(event['peak_net_profit'])} {quote}",
            title=f"Opportunity closed: {event['symbol']}, {route}",
            description=f"Last state: {breakdown}",
            fields=tuple(fields),
            footer=f"{event['id']} · first seen {event['first_seen']}",
            color=GREY,
        )
    return Message(
        headline=f"🟢 {event['symbol']}: {route}, net {net}",
        title=f"Opportunity opened: {event['symbol']}, {route}",
        description=breakdown,
        fields=tuple(fields),
        footer=f"{event['id']} · detected {event['detected_at']}",
        color=GREEN,
    )


# --- rendering per target type ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP POST, ready to send."""

    url: str
    headers: dict[str, str]
    body: bytes


class Renderer(Protocol):
    """Turns a stored alert (id + canonical body) into the request a target expects."""

    url: str  # secret for chat targets: never log it, use ``display_url``
    secrets: tuple[str, ...]  # strings that must never appear in logs, errors or metrics

    def render(self, event_id: str, body: bytes, timestamp: int) -> Request: ...


def display_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: the only part of a target URL that may be logged."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def signing_key(secret: str) -> bytes:
    """A Standard Webhooks key: ``whsec_<base64>`` is decoded (ValueError if it is not valid
    base64), anything else is used as bytes."""
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        if not key:
            raise ValueError("empty key")
        return key
    return secret.encode()


def sign(key: bytes, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``."""
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class JsonRenderer:
    """Generic JSON: the canonical body, signed as Standard Webhooks when a key is set."""

    url: str
    key: bytes | None
    secrets: tuple[str, ...]

    def render(self, event_id: str, body: bytes, timestamp: int) -> Request:
        headers = {**JSON_HEADERS, "webhook-id": event_id, "webhook-timestamp": str(timestamp)}
        if self.key is not None:
            headers["webhook-signature"] = sign(self.key, event_id, timestamp, body)
        return Request(self.url, headers, body)


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class SlackRenderer:
    """Slack incoming webhook: ``text`` fallback plus mrkdwn ``blocks``."""

    url: str
    secrets: tuple[str, ...]

    def render(self, event_id: str, body: bytes, timestamp: int) -> Request:
        msg = describe(orjson.loads(body))
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(msg.title)}*\n{_mrkdwn(msg.description)}"}},
        ]
        fields = [{"type": "mrkdwn", "text": f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}"} for name, value in msg.fields]
        blocks += [{"type": "section", "fields": fields[i:i + 10]} for i in range(0, len(fields), 10)]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(msg.footer)}]})
        return Request(self.url, dict(JSON_HEADERS), orjson.dumps({"text": _mrkdwn(msg.headline), "blocks": blocks}))


_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>])")


def _discord(text: str, limit: int) -> str:
    text = _DISCORD_MARKDOWN.sub(r"\\\1", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class DiscordRenderer:
    """Discord webhook: ``content`` line plus one embed, within Discord's size limits."""

    url: str
    secrets: tuple[str, ...]

    def render(self, event_id: str, body: bytes, timestamp: int) -> Request:
        msg = describe(orjson.loads(body))
        embed = {
            "title": _discord(msg.title, 256),
            "description": _discord(msg.description, 1024),
            "color": msg.color,
            "fields": [{"name": _discord(n, 256), "value": _discord(v, 1024), "inline": True}
                       for n, v in msg.fields[:25]],
            "footer": {"text": _discord(msg.footer, 512)},
        }
        payload = {"content": _discord(msg.headline, 2000), "embeds": [embed], "allowed_mentions": {"parse": []}}
        return Request(self.url, dict(JSON_HEADERS), orjson.dumps(payload))


@dataclass(frozen=True, slots=True)
class TelegramRenderer:
    """Telegram Bot API ``sendMessage`` with HTML parse mode."""

    url: str  # .../bot<token>/sendMessage
    chat_id: int | str
    secrets: tuple[str, ...]

    def render(self, event_id: str, body: bytes, timestamp: int) -> Request:
        msg = describe(orjson.loads(body))
        esc = lambda text: html.escape(text, quote=False)  # noqa: E731
        lines = [f"<b>{esc(msg.title)}</b>", esc(msg.description[:1000])]
        lines += [f"<b>{esc(name)}:</b> {esc(value)}" for name, value in msg.fields]
        lines.append(f"<i>{esc(msg.footer)}</i>")
        payload = {"chat_id": self.chat_id, "text": "\n".join(lines), "parse_mode": "HTML",
                   "link_preview_options": {"is_disabled": True}}
        return Request(self.url, dict(JSON_HEADERS), orjson.dumps(payload))


def build_renderer(name: str, hook: WebhookConfig, env: Mapping[str, str]) -> Renderer:
    """The renderer of target ``name``, with its secret read from ``env``.

    Raises ConfigError (naming the variable, never its value) when ``secret_env`` is set but
    the variable is missing or unusable.
    """
    secret = ""
    if hook.secret_env:
        secret = env.get(hook.secret_env, "")
        if not secret:
            raise ConfigError([f"alerts.webhooks.{name}: environment variable {hook.secret_env} is not set"])
    if hook.format == "json":
        _check_url(name, hook.url, "url")
        try:
            key = signing_key(secret) if secret else None
        except ValueError:
            raise ConfigError([f"alerts.webhooks.{name}: {hook.secret_env} starts with whsec_ but is not"
                               " valid base64"]) from None
        return JsonRenderer(hook.url, key, _secrets(secret, hook.url))
    if hook.format in ("slack", "discord"):
        _check_url(name, secret or hook.url, hook.secret_env if secret else "url")
        cls = SlackRenderer if hook.format == "slack" else DiscordRenderer
        return cls(secret or hook.url, _secrets(secret or hook.url))
    base = (hook.url or TELEGRAM_API).rstrip("/")
    _check_url(name, base, "url")
    chat_id: int | str = int(hook.chat_id) if re.fullmatch(r"-?\d+", hook.chat_id) else hook.chat_id
    return TelegramRenderer(f"{base}/bot{secret}/sendMessage", chat_id, _secrets(secret))


def _check_url(name: str, url: str, source: str) -> None:
    """ConfigError unless ``url`` is an absolute http(s) URL (the message never shows the URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError([f"alerts.webhooks.{name}: {source} is not an http(s) URL"])


def _secrets(*values: str) -> tuple[str, ...]:
    """Secrets to redact: each value and, for URLs, their path and query (where tokens live)."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        found.append(value)
        parts = urlsplit(value)
        if parts.scheme and parts.netloc:
            found += [p for p in (parts.path, parts.query) if len(p) > 1]
    return tuple(found)
