"""KuCoin spot (classic API): ``POST /api/v1/bullet-public`` hands out a token, the endpoint and
the ping interval; a WebSocket on ``/?token=…&connectId=…`` gets ``welcome`` (an unknown token
gets an error); ``{"type":"ping"}`` is answered with a pong, and a connection that sends
nothing for pingInterval + pingTimeout is closed. ``/market/level2:{symbol}`` pushes
``trade.l2update`` on each tick with a change (each change ``[price, size, sequence]``; now and
then a change at price "0" that only advances the sequence); ``GET
/api/v1/market/orderbook/level2_100`` is the snapshot with its ``sequence``. At most 100 topics
per subscribe message and 300 per connection, like KuCoin."""
from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ...sim.market import Levels, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, json_request, trimmed

LEVEL2 = "/market/level2:"
TOPICS_PER_SUBSCRIBE, TOPICS_PER_CONNECTION = 100, 300
SNAPSHOT_LEVELS = 100
SEQUENCE_ONLY_EVERY = 20  # one diff in this many also carries a price-"0" change
OK = "200000"


class Kucoin(Venue):
    name = "kucoin"
    ws_path = "/"
    snapshot_first = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sequence = {symbol: self.rng.randrange(10**9, 10**10) for symbol in self.books}
        self.market_ids = {symbol: book.instrument.id for symbol, book in self.books.items()}
        self.tokens: set[str] = set()
        self.ping_interval_ms, self.ping_timeout_ms = 18000, 10000  # what bullet-public announces
        self.pings = 0  # client pings answered
        self.pushes = 0
        self.next_ping_check = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    def topics(self, symbol: str) -> list[str]:
        return [LEVEL2 + self.market_ids[symbol]]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: trimmed(units, decimals)

    # --- connection: token, welcome, ping -------------------------------------------------

    def post(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """``POST /api/v1/bullet-public``: a token, this server's endpoint, the ping interval."""
        if path != "/api/v1/bullet-public":
            return 404, b'{"code":"404","msg":"Not Found"}'
        token = "%064x" % self.rng.getrandbits(256)
        self.tokens.add(token)
        return 200, orjson.dumps({"code": OK, "data": {"token": token, "instanceServers": [{
            "endpoint": self.ws_url, "encrypt": False, "protocol": "websocket",
            "pingInterval": self.ping_interval_ms, "pingTimeout": self.ping_timeout_ms}]}})

    def open(self, conn: Connection, path: str) -> None:
        """Welcome a connection with a token this server gave; refuse any other."""
        super().open(conn, path)
        query = dict(parse_qsl(path.partition("?")[2]))
        conn.conn_id = query.get("connectId") or conn.conn_id
        if query.get("token") in self.tokens:
            conn.push(orjson.dumps({"id": conn.conn_id, "type": "welcome"}))
        else:
            conn.push(orjson.dumps({"id": conn.conn_id, "type": "error", "code": 401,
                                    "data": "token is invalid"}))
            asyncio.get_running_loop().call_later(0.1, conn.abort)

    def _close_silent(self) -> None:
        """Close connections that sent nothing (no ping) for pingInterval + pingTimeout."""
        now = asyncio.get_running_loop().time()
        deadline = (self.ping_interval_ms + self.ping_timeout_ms) / 1000.0
        for conn in list(self.conns):
            if now - conn.last_received > deadline:
                conn.abort()

    def receive(self, conn: Connection, message: str) -> None:
        request = json_request(message)
        if not isinstance(request, dict):
            conn.push(self._error(None, 400, "request is not json"))
            return
        kind, request_id = request.get("type"), request.get("id")
        if kind == "ping":
            self.pings += 1
            conn.push(orjson.dumps({"id": str(request_id), "type": "pong"}))
        elif kind in ("subscribe", "unsubscribe"):
            error = self._subscription(conn, kind, request.get("topic"))
            if error is not None:
                conn.push(self._error(request_id, 509 if "exceed" in error else 404, error))
            elif request.get("response"):
                conn.push(orjson.dumps({"id": str(request_id), "type": "ack"}))
        else:
            conn.push(self._error(request_id, 400, f"unknown type {kind!r}"))

    def _subscription(self, conn: Connection, kind: str, topic: Any) -> str | None:
        """Apply a (un)subscribe of ``/market/level2:A,B,…``; the error text if refused."""
        if not isinstance(topic, str) or not topic.startswith(LEVEL2):
            return f"topic {topic} is not found"
        market_ids = topic[len(LEVEL2):].split(",")
        if len(market_ids) > TOPICS_PER_SUBSCRIBE:
            return f"exceed max subscription count limitation of {TOPICS_PER_SUBSCRIBE} per time"
        unknown = [market_id for market_id in market_ids if market_id not in self.by_id]
        if unknown:
            return f"topic {LEVEL2}{unknown[0]} is not found"
        topics = {LEVEL2 + market_id for market_id in market_ids}
        if kind == "subscribe" and len(conn.topics | topics) > TOPICS_PER_CONNECTION:
            return f"exceed max permits per channel: {TOPICS_PER_CONNECTION} topics"
        for name in topics:
            if kind == "subscribe":
                self.subscribe(conn, name)
            else:
                self.unsubscribe(conn, name)
        return None

    @staticmethod
    def _error(request_id: Any, code: int, data: str) -> bytes:
        return orjson.dumps({"id": str(request_id), "type": "error", "code": code, "data": data})

    # --- market data ----------------------------------------------------------------------

    def tick(self, now: float, wall_ms: int) -> None:
        for symbol, book in self.books.items():
            bids, asks = book.drain()
            if bids or asks:
                self._push(symbol, book, sorted(bids.items(), reverse=True), sorted(asks.items()),
                           wall_ms)
        if self.conns and now >= self.next_ping_check:
            self.next_ping_check = now + 0.1
            self._close_silent()

    def _push(self, symbol: str, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> None:
        frame = self.l2update(book, bids, asks, wall_ms)
        if symbol in self.gaps:  # the gap fault: this diff is lost
            self.gaps.discard(symbol)
            return
        self.emit(LEVEL2 + self.market_ids[symbol], frame)

    def l2update(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        """The next ``trade.l2update`` of ``book`` (levels best first), sequenced from the
        last one; every ``SEQUENCE_ONLY_EVERY``-th also has a change at price "0"."""
        symbol = book.symbol
        start = self.sequence[symbol] + 1
        bid_changes = self._changes(symbol, bids, start)
        ask_changes = self._changes(symbol, asks, start + len(bids))
        end = start + len(bids) + len(asks) - 1
        self.pushes += 1
        if self.pushes % SEQUENCE_ONLY_EVERY == 0:
            end += 1
            ask_changes.append(["0", "0", str(end)])
        self.sequence[symbol] = end
        market_id = self.market_ids[symbol]
        return orjson.dumps({
            "type": "message", "topic": LEVEL2 + market_id, "subject": "trade.l2update",
            "data": {"changes": {"asks": ask_changes, "bids": bid_changes}, "sequenceEnd": end,
                     "sequenceStart": start, "symbol": market_id, "time": wall_ms}})

    def _changes(self, symbol: str, levels: Levels, first: int) -> list[list[str]]:
        return [[price, size, str(first + n)]
                for n, (price, size) in enumerate(self.format_levels(symbol, levels))]

    def rest(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """``GET /api/v1/market/orderbook/level2_100?symbol=BTC-USDT``: 100 levels per side."""
        if path != "/api/v1/market/orderbook/level2_100":
            return 404, b'{"code":"404","msg":"Not Found"}'
        book = self.by_id.get(params.get("symbol", ""))
        if book is None:
            return 400, b'{"code":"400100","msg":"symbol not exists"}'
        bids, asks = book.levels(SNAPSHOT_LEVELS)
        return 200, orjson.dumps({"code": OK, "data": {
            "time": int(time.time() * 1000), "sequence": str(self.sequence[book.symbol]),
            "bids": self.format_levels(book.symbol, bids),
            "asks": self.format_levels(book.symbol, asks)}})

    def error_event(self, conn: Connection) -> bytes:
        return self._error(int(time.time() * 1000), 404, f"topic {LEVEL2}XXX-YYY is not found")

    def malformed(self) -> bytes:
        market_id = next(iter(self.market_ids.values()))
        return (b'{"type":"message","topic":"' + (LEVEL2 + market_id).encode()
                + b'","subject":"trade.l2update","data":{"changes":{"asks":[["')
