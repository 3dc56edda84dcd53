"""Kraken WS v2 on ``/v2``: a ``status`` update on connect; channel ``book`` at depth 10, 25,
100, 500 or 1000: a snapshot, then an update on each change of the subscribed view (levels
that entered or changed; a level deleted from the book is sent with qty 0, one pushed out of
the depth is not: the client cuts its book to the depth), each carrying Kraken's CRC32 checksum
of the view's top 10 levels. Numbers are JSON numbers with the pair's fixed decimals
(``0.10000000``). ``{"channel":"heartbeat"}`` about once a second; ``{"method":"ping"}`` ->
pong."""
from __future__ import annotations

import random
import zlib
from datetime import datetime, timezone
from typing import Any, Sequence

import orjson

from ...sim.market import Levels, MarketModel, Side, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, fixed, json_request
from . import BOOK_DEPTH

DEPTHS = (10, 25, 100, 500, 1000)
CHECKSUM_LEVELS = 10
HEARTBEAT_SECONDS = 1.0
STATUS_VERSION = "2.0.10"


def checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """Kraken's book checksum of printed levels (best first): the top 10 asks then the top 10
    bids, each price then qty with the ``.`` removed and leading zeros stripped; CRC32."""
    text = "".join(price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
                   for price, qty in [*asks[:CHECKSUM_LEVELS], *bids[:CHECKSUM_LEVELS]])
    return zlib.crc32(text.encode())


def rfc3339(wall_ms: int) -> str:
    """Kraken's time format: ``2023-10-06T17:35:55.440000Z``."""
    moment = datetime.fromtimestamp(wall_ms / 1000, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class View:
    """The ``depth`` best levels of one book a subscriber holds (side key -> lots)."""

    def __init__(self, depth: int):
        self.depth = depth
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.checksum = 0  # of the last message sent

    def load(self, book: VenueBook) -> tuple[Levels, Levels]:
        """Take the book's top levels as the view (a snapshot); return them, best first."""
        self.bids, self.asks = _top(book.bids, self.depth), _top(book.asks, self.depth)
        return book.levels(self.depth)

    def update(self, book: VenueBook) -> tuple[Levels, Levels]:
        """Move the view to the book now; return the levels to send per side."""
        bids, self.bids = _changes(book.bids, self.bids, self.depth)
        asks, self.asks = _changes(book.asks, self.asks, self.depth)
        return bids, asks


def _top(side: Side, depth: int) -> dict[int, int]:
    qty, sign = side.qty, side.sign
    return {key: qty[sign * key] for key in side.keys[:depth]}


def _changes(side: Side, view: dict[int, int], depth: int) -> tuple[Levels, dict[int, int]]:
    """Levels of the new view that are new or resized, then those of the old view deleted from
    the book (size 0); those merely pushed past the depth are not sent."""
    now, sign = _top(side, depth), side.sign
    levels = [(sign * key, lots) for key, lots in now.items() if view.get(key) != lots]
    levels += [(sign * key, 0) for key in view if key not in now and sign * key not in side.qty]
    return levels, now


class Kraken(Venue):
    name = "kraken"
    checksummed = True
    ws_path = "/v2"

    def __init__(self, model: MarketModel, symbols: Sequence[str], rng: random.Random):
        super().__init__(model, symbols, rng)
        for book in self.books.values():  # deeper than the subscribed depth: updates push levels out
            model.deepen(book, BOOK_DEPTH * 5 // 4)
        self.views: dict[str, View] = {}  # topic "book.<depth>.<symbol>" -> its view
        self.next_heartbeat = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}/{quote}"  # the simulator speaks WS v2 only, which names pairs "BTC/USD"

    def topics(self, symbol: str) -> list[str]:
        return [f"book.{BOOK_DEPTH}.{symbol}"]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: fixed(units, decimals, decimals)

    def tick(self, now: float, wall_ms: int) -> None:
        for symbol, book in self.books.items():
            changed = bool(book.bids.changes or book.asks.changes)
            book.drain()
            for depth in DEPTHS:
                topic = f"book.{depth}.{symbol}"
                if changed and topic in self.subs:
                    self._push_update(topic, book, wall_ms)
                if topic in self.waiting:
                    view = self.views.setdefault(topic, View(depth))
                    bids, asks = view.load(book)
                    view.checksum = self.book_checksum(book)
                    self.admit(topic, self.book_message("snapshot", book, bids, asks, view.checksum,
                                                        wall_ms))
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + HEARTBEAT_SECONDS
            for conn in self.conns:
                if conn.topics and not conn.outbox:
                    conn.push(b'{"channel":"heartbeat"}')

    def _push_update(self, topic: str, book: VenueBook, wall_ms: int) -> None:
        view = self.views[topic]
        bids, asks = view.update(book)
        if not bids and not asks:
            return
        crc, view.checksum = view.checksum, self.book_checksum(book)
        if book.symbol in self.gaps and crc != view.checksum:
            self.gaps.discard(book.symbol)  # the gap fault: an update the checksum covers is lost
            return
        self.emit(topic, self.book_message("update", book, bids, asks, view.checksum, wall_ms))

    def book_checksum(self, book: VenueBook) -> int:
        """The checksum of ``book``'s top 10 levels, as printed."""
        bids, asks = book.levels(CHECKSUM_LEVELS)
        return checksum(self.format_levels(book.symbol, bids), self.format_levels(book.symbol, asks))

    def book_message(self, kind: str, book: VenueBook, bids: Levels, asks: Levels, crc: int,
                     wall_ms: int) -> bytes:
        """A ``book`` snapshot or update (levels best first) carrying checksum ``crc`` (the bad
        checksum fault: wrong once)."""
        symbol = book.symbol
        if symbol in self.bad_checksums:
            self.bad_checksums.discard(symbol)
            crc ^= 0x5A5A5A5A
        data: dict[str, Any] = {"symbol": book.instrument.id,
                                "bids": self._json_levels(symbol, bids),
                                "asks": self._json_levels(symbol, asks), "checksum": crc}
        if kind == "update":
            data["timestamp"] = rfc3339(wall_ms)
        return orjson.dumps({"channel": "book", "type": kind, "data": [data]})

    def _json_levels(self, symbol: str, levels: Levels) -> list[dict[str, orjson.Fragment]]:
        """Levels as Kraken writes them: JSON numbers with the pair's fixed decimals."""
        return [{"price": orjson.Fragment(price), "qty": orjson.Fragment(qty)}
                for price, qty in self.format_levels(symbol, levels)]

    def open(self, conn: Connection, path: str) -> None:
        super().open(conn, path)
        conn.push(orjson.dumps({"channel": "status", "type": "update", "data": [{
            "api_version": "v2", "connection_id": self.rng.getrandbits(64), "system": "online",
            "version": STATUS_VERSION}]}))
        conn.flush()

    def receive(self, conn: Connection, message: str) -> None:
        request = json_request(message)
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            conn.push(self._reply(request if isinstance(request, dict) else {}, "",
                                  error="Malformed request"))
            return
        method = request["method"]
        if method == "ping":
            conn.push(self._reply(request, "pong"))
        elif method in ("subscribe", "unsubscribe"):
            self._subscription(conn, method, request)
        else:
            conn.push(self._reply(request, method, error=f"Method {method!r} not found"))

    def _subscription(self, conn: Connection, method: str, request: dict) -> None:
        """One acknowledgement (or error) per symbol, as Kraken answers."""
        params = request.get("params")
        params = params if isinstance(params, dict) else {}
        depth = params.get("depth", 10)
        symbols = params.get("symbol")
        if params.get("channel") != "book" or depth not in DEPTHS or not isinstance(symbols, list) \
                or not symbols:
            conn.push(self._reply(request, method, error="Invalid channel, depth or symbol list"))
            return
        for symbol in symbols:
            topic = f"book.{depth}.{symbol}"
            if symbol not in self.by_id:
                conn.push(self._reply(request, method, symbol=symbol,
                                      error="Currency pair not supported"))
            elif method == "subscribe" and topic in conn.topics:
                conn.push(self._reply(request, method, symbol=symbol, error="Already subscribed"))
            elif method == "unsubscribe" and topic not in conn.topics:
                conn.push(self._reply(request, method, symbol=symbol,
                                      error="Subscription Not Found"))
            else:
                if method == "subscribe":
                    self.subscribe(conn, topic)
                else:
                    self.unsubscribe(conn, topic)
                result = {"channel": "book", "depth": depth, "symbol": symbol}
                if method == "subscribe":
                    result["snapshot"] = True
                conn.push(self._reply(request, method, result=result))

    @staticmethod
    def _reply(request: dict, method: str, result: dict | None = None, symbol: str | None = None,
               error: str | None = None) -> bytes:
        now = rfc3339(int(datetime.now(timezone.utc).timestamp() * 1000))
        reply: dict[str, Any] = {"method": method}
        if error is not None:
            reply["error"] = error
        elif result is not None:
            reply["result"] = result
        if "req_id" in request:
            reply["req_id"] = request["req_id"]
        if symbol is not None:
            reply["symbol"] = symbol
        reply.update(success=error is None, time_in=now, time_out=now)
        return orjson.dumps(reply)

    def error_event(self, conn: Connection) -> bytes:
        return self._reply({"method": "subscribe"}, "subscribe", symbol="BTC/XYZ",
                           error="Currency pair not supported")

    def malformed(self) -> bytes:
        symbol = next(iter(self.books))
        return b'{"channel":"book","type":"update","data":[{"symbol":"' + symbol.encode() \
            + b'","bids":[{"price":'

    def shutdown_notice(self, conn: Connection, wall_ms: int) -> bytes:
        return orjson.dumps({"channel": "status", "type": "update", "data": [{
            "api_version": "v2", "connection_id": self.rng.getrandbits(64),
            "system": "maintenance", "version": STATUS_VERSION}]})
