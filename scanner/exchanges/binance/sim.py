"""Binance spot: combined streams ``<sym>@depth@100ms`` and ``<sym>@bookTicker`` on ``/stream``
(raw payloads on ``/ws``), live SUBSCRIBE/UNSUBSCRIBE, and the REST snapshot
``GET /api/v3/depth`` on the same port. Prices and sizes carry 8 decimals, like Binance."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from ...sim.market import Levels, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, fixed

DEPTH_INTERVAL = 0.1
PLACES = 8
REST_DEFAULT_LIMIT, REST_MAX_LIMIT = 100, 5000
METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"


class Binance(Venue):
    name = "binance"
    ws_path = ""
    ping_interval = 20.0  # Binance pings every 20 s and expects a pong within a minute
    ping_timeout = 60.0
    snapshot_first = False
    depth_path = "/api/v3/depth"  # the REST snapshot

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.last_u = {symbol: book.update_id for symbol, book in self.books.items()}
        self.streams = {symbol: book.instrument.id.lower()
                        for symbol, book in self.books.items()}
        self.next_depth = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def topics(self, symbol: str) -> list[str]:
        stream = self.streams[symbol]
        return [f"{stream}@depth@100ms", f"{stream}@bookTicker"]

    def accepts(self, path: str) -> bool:
        path = path.partition("?")[0]
        return path in ("/stream", "/ws") or path.startswith("/ws/")

    def open(self, conn: Connection, path: str) -> None:
        """``/stream?streams=a/b`` (combined) or ``/ws/a/b`` (raw) subscribe from the URL."""
        super().open(conn, path)
        path, _, query = path.partition("?")
        conn.raw = path.startswith("/ws")
        names = path[len("/ws/"):] if conn.raw else dict(parse_qsl(query)).get("streams", "")
        for name in filter(None, names.split("/")):
            self.subscribe(conn, name)

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: fixed(units, decimals, PLACES)

    def tick(self, now: float, wall_ms: int) -> None:
        for symbol, book in self.books.items():
            if book.take_top_changed():
                stream = self.streams[symbol] + "@bookTicker"
                if stream in self.subs:
                    self._emit(stream, self.book_ticker(book))
        if now >= self.next_depth:
            self.next_depth = max(self.next_depth + DEPTH_INTERVAL, now)
            for symbol in self.books:
                self._push_depth(symbol, wall_ms)

    def book_ticker(self, book: VenueBook) -> bytes:
        """The ``bookTicker`` payload of ``book``'s top."""
        (bid, bid_lots), (ask, ask_lots) = book.top()
        price_text, size_text = self.price_text[book.symbol], self.size_text[book.symbol]
        return orjson.dumps({"u": book.update_id, "s": book.instrument.id,
                             "b": price_text[bid], "B": size_text(bid_lots),
                             "a": price_text[ask], "A": size_text(ask_lots)})

    def _push_depth(self, symbol: str, wall_ms: int) -> None:
        """One depthUpdate with the final size of every level changed since the last one."""
        book = self.books[symbol]
        bids, asks = book.drain()
        if not bids and not asks:
            return
        first, last = self.last_u[symbol] + 1, book.update_id
        self.last_u[symbol] = last
        if symbol in self.gaps:  # the gap fault: this event is lost
            self.gaps.discard(symbol)
            return
        stream = self.streams[symbol] + "@depth@100ms"
        if stream not in self.subs:
            return
        self._emit(stream, self.depth_update(book, first, last, sorted(bids.items(), reverse=True),
                                             sorted(asks.items()), wall_ms))

    def depth_update(self, book: VenueBook, first: int, last: int, bids: Levels, asks: Levels,
                     wall_ms: int) -> bytes:
        """The ``depthUpdate`` payload for update ids ``first..last`` (levels best first)."""
        return orjson.dumps({
            "e": "depthUpdate", "E": wall_ms, "s": book.instrument.id,
            "U": first, "u": last,
            "b": self.format_levels(book.symbol, bids), "a": self.format_levels(book.symbol, asks),
        })

    @staticmethod
    def combined(stream: str, payload: bytes) -> bytes:
        """``payload`` wrapped as a combined-stream message."""
        return b'{"stream":"' + stream.encode() + b'","data":' + payload + b"}"

    def _emit(self, stream: str, payload: bytes) -> None:
        """Push ``payload`` raw to /ws clients and wrapped to combined-stream clients."""
        combined = self.combined(stream, payload)
        for sub in self.subs.get(stream, ()):
            sub.push(payload if sub.raw else combined)

    def receive(self, conn: Connection, message: str) -> None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            conn.push(b'{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}')
            return
        if not isinstance(request, dict) or "method" not in request:
            conn.push(orjson.dumps({"code": 2, "msg": "Invalid request: missing field `method` "
                                    f"at line 1 column {len(message)}"}))
            return
        conn.push(orjson.dumps(self._answer(conn, request)))

    def _answer(self, conn: Connection, request: dict) -> dict:
        method, request_id = request["method"], request.get("id")
        params = request.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(name, str) for name in params):
                return {"code": 2, "msg": "Invalid request: params must be a list of stream names"}
            for name in params:
                if method == "SUBSCRIBE":
                    self.subscribe(conn, name)
                else:
                    self.unsubscribe(conn, name)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(conn.topics), "id": request_id}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not params or params[0] != "combined":
                return {"code": 0, "msg": "Unknown property", "id": request_id}
            if method == "GET_PROPERTY":
                return {"result": not conn.raw, "id": request_id}
            if len(params) < 2 or not isinstance(params[1], bool):
                return {"code": 1, "msg": "Invalid value type: expected Boolean"}
            conn.raw = not params[1]
            return {"result": None, "id": request_id}
        return {"code": 2, "msg": f"Invalid request: unknown variant `{method}`, expected one of "
                                  f"{METHODS} at line 1 column 28"}

    def rest(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """``GET /api/v3/depth?symbol=BTCUSDT&limit=N`` with Binance's error codes."""
        if path != self.depth_path:
            return 404, b'{"code":-1,"msg":"Not Found"}'
        if not params.get("symbol"):
            return 400, (b'{"code":-1102,"msg":"Mandatory parameter \'symbol\' was not sent, '
                         b'was empty/null, or malformed."}')
        book = self.by_id.get(params["symbol"])
        if book is None:
            return 400, b'{"code":-1121,"msg":"Invalid symbol."}'
        limit = params.get("limit", str(REST_DEFAULT_LIMIT))
        if not limit.isdigit() or int(limit) < 1:
            return 400, (b'{"code":-1100,"msg":"Illegal characters found in parameter \'limit\'; '
                         b'legal range is \'1 - 5000\'."}')
        bids, asks = book.levels(min(int(limit), REST_MAX_LIMIT))
        return 200, orjson.dumps({"lastUpdateId": book.update_id,
                                  "bids": self.format_levels(book.symbol, bids),
                                  "asks": self.format_levels(book.symbol, asks)})

    def error_event(self, conn: Connection) -> bytes:
        return b'{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}'

    def malformed(self) -> bytes:
        stream = next(iter(self.streams.values()))
        return b'{"stream":"' + stream.encode() + b'@depth@100ms","data":{"e":"depthUpdate","E":17'

    def shutdown_notice(self, conn: Connection, wall_ms: int) -> bytes:
        event = b'{"e":"serverShutdown","E":%d}' % wall_ms
        return event if conn.raw else b'{"stream":"!serverShutdown","data":' + event + b"}"
