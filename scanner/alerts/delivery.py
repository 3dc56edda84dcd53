"""Delivery of outbox rows to one target: oldest first, retried until the target accepts.

Written once for every format: a renderer only builds the request. A 2xx deletes the row;
timeouts, connection errors, 408, 429 and 5xx are retried (exponential backoff with full
jitter, or the server's retry hint, which pauses the whole target); any other status is a
permanent failure and the row is marked dead with the reason.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable, Literal, Mapping

import aiohttp
import orjson

from ..backoff import Backoff
from .formats import Renderer, display_url, redact
from .metrics import TargetStats
from .outbox import Outbox, Row, cause

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600.0  # a server's retry hint is honoured up to an hour
MAX_ERROR_BODY = 2048  # bytes of a response body kept for the reason of a failure


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt means for its row."""

    kind: Literal["delivered", "retry", "dead"]
    reason: str = ""
    retry_after: float | None = None  # server's hint, seconds


def parse_retry_after(value: str, now: float) -> float | None:
    """A ``Retry-After`` header (delay in seconds or an HTTP date) as seconds from ``now``."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def body_retry_after(body: bytes) -> float | None:
    """The retry hint in a JSON error body: Telegram's ``parameters.retry_after``, Discord's ``retry_after``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    params = data.get("parameters")
    hint = params.get("retry_after") if isinstance(params, dict) else data.get("retry_after")
    return float(hint) if isinstance(hint, (int, float)) and not isinstance(hint, bool) and hint >= 0 else None


def classify(status: int, headers: Mapping[str, str], body: bytes, now: float) -> Outcome:
    """Map an HTTP response to an outcome."""
    if 200 <= status < 300:
        return Outcome("delivered")
    text = body[:200].decode("utf-8", "replace").strip()
    reason = f"HTTP {status}" + (f": {text}" if text else "")
    if status in (408, 429) or status >= 500:
        header = headers.get("Retry-After")
        hint = parse_retry_after(header, now) if header else None
        if hint is None:
            hint = body_retry_after(body)
        return Outcome("retry", reason, None if hint is None else min(hint, MAX_RETRY_AFTER))
    return Outcome("dead", reason)


class Worker:
    """Sends one target's pending rows in order, one request at a time."""

    def __init__(self, name: str, renderer: Renderer, timeout: float, outbox: Outbox,
                 session: aiohttp.ClientSession, stats: TargetStats, clock: Callable[[], float], backoff: Backoff,
                 secrets: tuple[str, ...]):
        self.name = name
        self.renderer = renderer
        self.secrets = secrets  # of every target: a server may echo anything back
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.outbox = outbox
        self.session = session
        self.stats = stats
        self.clock = clock
        self.backoff = backoff
        self.wake = asyncio.Event()  # set when a row is added
        self.not_before = 0.0  # clock time before which nothing is sent (backoff or server pause)
        self.failures = 0  # consecutive failed attempts

    async def run(self) -> None:
        """Deliver forever; cancel to stop (an interrupted attempt is simply retried later)."""
        while True:
            try:
                row = self.outbox.head(self.name)
                if row is None:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                delay = self.not_before - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._settle(row, await self._attempt(row))
            except asyncio.CancelledError:
                raise
            except sqlite3.Error as exc:
                log.error("alert target %s: alert outbox %s cannot be used: %s; retrying in %.0f s", self.name,
                          self.outbox.path, cause(exc)[1], self.backoff.cap)
                await asyncio.sleep(self.backoff.cap)
            except Exception:  # a bug or a broken outbox must not end delivery for good
                log.exception("alert target %s: delivery error; retrying in %.0f s", self.name, self.backoff.cap)
                await asyncio.sleep(self.backoff.cap)

    async def _attempt(self, row: Row) -> Outcome:
        try:
            request = self.renderer.render(row.event_id, row.body, int(self.clock()))
        except Exception as exc:  # a payload this version cannot render will never succeed
            return Outcome("dead", f"cannot render: {type(exc).__name__}: {exc}")
        try:
            async with self.session.post(request.url, data=request.body, headers=request.headers,
                                         timeout=self.timeout, allow_redirects=False) as resp:
                body = await resp.content.read(MAX_ERROR_BODY)
                return classify(resp.status, resp.headers, body, self.clock())
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Outcome("retry", f"{type(exc).__name__}: {exc}".rstrip(": "))

    def _settle(self, row: Row, outcome: Outcome) -> None:
        """Record the outcome in the outbox, the counters and (on state changes) the log."""
        self.stats.deliveries[outcome.kind if outcome.kind != "retry" else "failed"] += 1
        reason = redact(outcome.reason, self.secrets)
        where = f"alert target {self.name} ({display_url(self.renderer.url)})"
        if outcome.kind == "delivered":
            self.outbox.delivered(row)
            if self.failures:
                log.info("%s: delivering again after %d failed attempts", where, self.failures)
            self.failures = 0
            self.not_before = 0.0
        elif outcome.kind == "dead":
            self.outbox.dead(row, reason, self.clock())
            log.warning("%s: alert %s is undeliverable, kept as dead in the outbox: %s", where, row.event_id, reason)
        else:
            self.outbox.failed(row, reason)
            delay = outcome.retry_after if outcome.retry_after is not None else self.backoff.delay(row.attempts)
            self.not_before = self.clock() + delay
            self.failures += 1
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(level, "%s: delivery failed (%s); retrying in %.1f s", where, reason, delay)
