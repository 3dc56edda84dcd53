"""Connection handling shared by every exchange: prepare (e.g. a token request), connect, wait
for the exchange's welcome, subscribe, heartbeat, read, resync, REST requests, reconnect with
jittered exponential backoff, and reconnect when a connected feed goes silent.

A connection that fails (an exchange error event, a silent feed, a dropped socket) is dropped
at once: its books are unusable from that moment, without waiting for a close handshake."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable

import aiohttp
import websockets
from websockets.exceptions import ConnectionClosed

from ..backoff import Backoff
from ..book import INVALID, LIVE, BookError
from ..record import Recorder
from .base import MALFORMED, FeedError, FeedStats, Venue

log = logging.getLogger(__name__)

RECONNECT_BACKOFF = Backoff(base=0.5, cap=30.0)
REST_BACKOFF = Backoff(base=0.5, cap=15.0)


class FeedRunner:
    """Keeps one connection of an exchange's feed up and its books in sync, forever (an
    exchange with more books than one connection takes has several runners, sharing
    ``stats``)."""

    def __init__(self, venue: Venue, stats: FeedStats, silence_seconds: float = 15.0,
                 backoff: Backoff = RECONNECT_BACKOFF, recorder: Recorder | None = None,
                 replaying: bool = False, staleness_seconds: float = 5.0):
        """``silence_seconds``: a connection with no frame this long is dropped and reconnected;
        ``staleness_seconds``: after a silence this long, the books may have missed diffs and
        wait for one that chains on (top-of-book frames do not revive them)."""
        self.venue = venue
        self.recorder = recorder
        self.replaying = replaying
        venue.fetch = self.fetch
        self._http: aiohttp.ClientSession | None = None
        self._next_request_at = 0.0
        self.stats = stats
        stats.connections += 1
        self._connected = False
        self._last_frame_at = 0.0  # this connection's, for its silence watchdog
        self.silence_seconds = silence_seconds
        self.staleness_seconds = staleness_seconds
        self.backoff = backoff
        self._attempts = 0  # reconnections since the feed last stayed up a minute
        self._resyncing: dict[str, asyncio.Task] = {}
        self._ws: websockets.ClientConnection | None = None

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            self._http = http
            while True:
                started = time.monotonic()
                self._failure_counted = False
                try:
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except FeedError as exc:
                    self._note_error("error", exc)
                except (OSError, ConnectionClosed, asyncio.TimeoutError,
                        websockets.InvalidHandshake, websockets.InvalidURI) as exc:
                    if not self._failure_counted:  # a silent feed or failed rebuild was counted already
                        self._note_error("disconnect", exc)
                finally:
                    self._down()
                if time.monotonic() - started > 60:
                    self._attempts = 0
                delay = self.backoff.delay(self._attempts)
                self._attempts += 1
                log.info("%s: reconnecting in %.1fs", self.venue.name, delay)
                await asyncio.sleep(delay)
                self.stats.reconnects += 1

    async def _session(self) -> None:
        venue = self.venue
        await venue.prepare()
        ws = await websockets.connect(venue.connect_url(), compression=None, max_size=2**24,
                                      ping_interval=20, ping_timeout=20, open_timeout=10)
        self._ws = ws
        helpers: list[asyncio.Task] = []
        try:
            if self.recorder is not None:
                self.recorder.connect(venue.name, time.monotonic())
            venue.link.reset()
            if venue.welcome_timeout:
                await self._welcome(ws)
            for message in venue.subscribe_messages():
                await ws.send(message)
            self._up()
            log.info("%s: connected to %s", venue.name, _redact(venue.connect_url()))
            helpers.append(asyncio.create_task(self._watch_silence(ws)))
            if venue.ping_interval:
                helpers.append(asyncio.create_task(self._heartbeat(ws)))
            helpers.append(asyncio.create_task(self._rebuild(venue.on_connected(self.send))))
            await self._read(ws)
        except asyncio.CancelledError:  # shutting down: say goodbye properly
            self._down()
            await ws.close()
            raise
        finally:
            for task in helpers:
                task.cancel()
            self._drop(ws)

    async def _welcome(self, ws: websockets.ClientConnection) -> None:
        """Wait for the frame the venue takes as its welcome; frames before it are handled
        (an error event raises FeedError). None within ``welcome_timeout``: FeedError."""
        venue = self.venue
        deadline = time.monotonic() + venue.welcome_timeout
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(decode=False), deadline - time.monotonic())
            except asyncio.TimeoutError:
                raise FeedError(f"{venue.name}: no welcome within {venue.welcome_timeout:g}s") from None
            if venue.is_welcome(frame):
                return
            self.on_frame(frame, time.monotonic())

    async def _read(self, ws: websockets.ClientConnection) -> None:
        on_frame, monotonic = self.on_frame, time.monotonic
        while True:
            frame = await ws.recv(decode=False)
            on_frame(frame, monotonic())

    def on_frame(self, frame: bytes, received_at: float) -> None:
        """Handle one received frame (live, or from a recording)."""
        stats = self.stats
        stats.messages += 1
        if received_at - self._last_frame_at > self.staleness_seconds and self._last_frame_at:
            self._suspect_books(received_at - self._last_frame_at)
        stats.last_message_at = self._last_frame_at = received_at
        self.venue.link.received_at = received_at
        if self.recorder is not None:
            self.recorder.frame(self.venue.name, received_at, frame)
        try:
            self.venue.handle(frame, received_at)
        except BookError as exc:
            if exc.reason == "malformed":
                self._note_error("malformed", exc, frame)
            self.request_resync(exc.symbol, exc.reason)
            for book in self.venue.books.values():  # a per-connection sequence gap (Coinbase)
                if book.state is INVALID:  # leaves every book of the connection INVALID
                    self.request_resync(book.symbol, exc.reason)
        except FeedError:
            raise
        except MALFORMED as exc:
            self._note_error("malformed", exc, frame)
            for book in self.venue.books.values():  # a book the frame left half-updated
                if book.state is INVALID:
                    self.request_resync(book.symbol, "malformed")

    def _suspect_books(self, silent_for: float) -> None:
        """The connection was silent longer than books may go unheard: diffs may have been
        missed, so no book is used again until a diff chains on to it."""
        log.warning("%s: silent for %.1fs; books wait for a diff that chains on",
                    self.venue.name, silent_for)
        for book in self.venue.books.values():
            if book.state is LIVE:
                book.mark_unproven()
                self.venue.on_book(book)

    async def fetch(self, path: str, params: dict[str, Any], method: str = "GET") -> None:
        """Request ``path`` with ``params`` as its query (GET, or a POST without a body) from
        the exchange's REST API for the venue and hand the answer to ``apply_rest``: requests
        are paced at the venue's ``rest_per_second`` (a reconnect of many books is no snapshot
        storm), recorded, and a failed or malformed answer is counted as errors{kind="resync"}
        and asked again after a backoff, until it succeeds."""
        venue, attempt = self.venue, 0
        while True:
            await self._pace()
            try:
                body = await self._request(method, path, params)
                venue.apply_rest(path, params, body)
                return
            except (OSError, FeedError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self._note_error("resync", exc)
                await asyncio.sleep(REST_BACKOFF.delay(attempt))
                attempt += 1

    async def _request(self, method: str, path: str, params: dict[str, Any]) -> bytes:
        if self._http is None:
            raise FeedError("the runner is not running: no HTTP session")
        url = self.venue.rest_url + path
        async with self._http.request(method, url, params=params) as response:
            body = await response.read()
            if response.status != 200:
                raise FeedError(f"{method} {path} returned HTTP {response.status}: {body[:200]!r}")
        if self.recorder is not None:
            self.recorder.rest(self.venue.name, time.monotonic(), path, params, body)
        return body

    async def _pace(self) -> None:
        """Wait for this connection's next REST request slot."""
        now = time.monotonic()
        at = max(now, self._next_request_at)
        self._next_request_at = at + 1.0 / self.venue.rest_per_second
        if at > now:
            await asyncio.sleep(at - now)

    async def send(self, message: str) -> None:
        if self._ws is not None:
            await self._ws.send(message)

    def request_resync(self, symbol: str, reason: str) -> None:
        """Reset a book to SYNCING and rebuild it, once at a time per symbol."""
        book = self.venue.books[symbol]
        book.reset()
        self.venue.on_book(book)
        self.stats.resyncs[reason] += 1
        log.warning("%s %s: resync (%s)", self.venue.name, symbol, reason)
        if self.replaying:
            return  # a recording carries the frames (or REST answers) that rebuilt the book
        running = self._resyncing.get(symbol)
        if running is None or running.done():
            self._resyncing[symbol] = asyncio.create_task(self._rebuild(self.venue.resync(symbol, self.send)))

    async def _rebuild(self, sync: Awaitable[None]) -> None:
        """Run a book (re)build; if it fails, note why and restart the connection."""
        try:
            await sync
        except (OSError, FeedError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionClosed) as exc:
            self._note_error("resync", exc)
            if self._ws is not None:
                self._failure_counted = True  # a failed rebuild, not a disconnect
                self._drop(self._ws)

    async def _heartbeat(self, ws: websockets.ClientConnection) -> None:
        venue = self.venue
        while True:
            await asyncio.sleep(venue.ping_interval)
            message = venue.ping_message()  # asked each time: some carry a fresh id
            if message is None:
                return
            await ws.send(message)

    async def _watch_silence(self, ws: websockets.ClientConnection) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.silence_seconds / 4))
            silent_for = time.monotonic() - self._last_frame_at
            if silent_for > self.silence_seconds:
                self.stats.errors["silent"] += 1
                log.warning("%s: no frame for %.1fs, reconnecting", self.venue.name, silent_for)
                self._failure_counted = True
                self._drop(ws)
                return

    def _drop(self, ws: websockets.ClientConnection) -> None:
        """Drop a failed connection at once: its books are unusable now, and the socket is
        aborted rather than closed with a handshake (which can wait seconds)."""
        self._down()
        ws.transport.abort()

    def _up(self) -> None:
        self._last_frame_at = time.monotonic()
        self.stats.last_message_at = self._last_frame_at
        if not self._connected:
            self._connected = True
            self.stats.connected += 1

    def _down(self) -> None:
        if self._connected:
            self._connected = False
            self.stats.connected -= 1
        self._ws = None
        for task in self._resyncing.values():
            task.cancel()
        self._resyncing.clear()
        self.venue.reset_all()

    def _note_error(self, kind: str, exc: BaseException, frame: bytes | None = None) -> None:
        self.stats.errors[kind] += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        if frame is not None:
            log.warning("%s: %s frame skipped (%s): %.120r", self.venue.name, kind, exc, frame)
        else:
            log.warning("%s: %s (%s)", self.venue.name, kind, self.stats.last_error)


def _redact(url: str) -> str:
    """Keep scheme, host and path; drop query strings (tokens live there on some exchanges)."""
    return url.split("?", 1)[0]
