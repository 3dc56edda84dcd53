"""Gate v4 spot on ``/ws/v4/``: channels ``spot.obu`` (order book v2, streams
``ob.<PAIR>.400``: a ``full`` snapshot, then updates every 100 ms chained by ``U``/``u``) and
``spot.book_ticker`` (top of book on each change); JSON ``spot.ping`` -> ``spot.pong``; a
subscription repeated on one connection is refused, like Gate ("Alert sub ...")."""
from __future__ import annotations

import random
import time
from typing import Any, Sequence

import orjson

from ...sim.market import Levels, MarketModel, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, json_request, trimmed

OBU_INTERVAL = 0.1  # ob.<PAIR>.400 pushes every 100 ms
OBU_DEPTH = 400  # levels per side the 400-level stream serves
TICKER = "spot.book_ticker"


class Gate(Venue):
    name = "gate"
    ws_path = "/ws/v4/"

    def __init__(self, model: MarketModel, symbols: Sequence[str], rng: random.Random):
        super().__init__(model, symbols, rng)
        for book in self.books.values():
            model.deepen(book, OBU_DEPTH)
        self.u = {symbol: book.update_id for symbol, book in self.books.items()}
        self.pairs = {symbol: book.instrument.id for symbol, book in self.books.items()}
        self.known = {topic for symbol in self.books for topic in self.topics(symbol)}
        self.next_obu = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}_{quote}"

    @staticmethod
    def stream(pair: str) -> str:
        return f"ob.{pair}.{OBU_DEPTH}"

    def topics(self, symbol: str) -> list[str]:
        pair = self.pairs[symbol]
        return [self.stream(pair), f"{TICKER}:{pair}"]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: trimmed(units, decimals)

    def new_conn_id(self) -> str:
        return "%016x" % self.rng.getrandbits(64)

    def tick(self, now: float, wall_ms: int) -> None:
        for symbol, book in self.books.items():
            changed = book.take_top_changed()
            topic = f"{TICKER}:{self.pairs[symbol]}"
            if (changed and topic in self.subs) or topic in self.waiting:
                frame = self.book_ticker(book, wall_ms)
                if changed:
                    self.emit(topic, frame)
                self.admit(topic, frame)
        if now >= self.next_obu:
            self.next_obu = max(self.next_obu + OBU_INTERVAL, now)
            for symbol in self.books:
                self._push_obu(symbol, wall_ms)

    def book_ticker(self, book: VenueBook, wall_ms: int) -> bytes:
        """A ``spot.book_ticker`` update of ``book``'s top."""
        (bid, bid_lots), (ask, ask_lots) = book.top()
        price_text, size_text = self.price_text[book.symbol], self.size_text[book.symbol]
        return orjson.dumps({
            "time": wall_ms // 1000, "time_ms": wall_ms, "channel": TICKER, "event": "update",
            "result": {"t": wall_ms, "u": book.update_id, "s": book.instrument.id,
                       "b": price_text[bid], "B": size_text(bid_lots),
                       "a": price_text[ask], "A": size_text(ask_lots)}})

    def _push_obu(self, symbol: str, wall_ms: int) -> None:
        """The update since the last push, then full snapshots for new subscribers."""
        book = self.books[symbol]
        topic = self.stream(self.pairs[symbol])
        bids, asks = book.drain()
        if bids or asks:
            first, self.u[symbol] = self.u[symbol] + 1, book.update_id
            if symbol in self.gaps:  # the gap fault: this update is lost
                self.gaps.discard(symbol)
            elif topic in self.subs:
                self.emit(topic, self.obu_message(book, sorted(bids.items(), reverse=True),
                                                  sorted(asks.items()), first, self.u[symbol],
                                                  wall_ms))
        if topic in self.waiting:
            bids_now, asks_now = book.levels()
            self.admit(topic, self.obu_message(book, bids_now, asks_now, None, self.u[symbol],
                                               wall_ms))

    def obu_message(self, book: VenueBook, bids: Levels, asks: Levels, first: int | None,
                    last: int, wall_ms: int) -> bytes:
        """A ``spot.obu`` update of ids ``first``..``last``, or (``first`` None) a full snapshot
        at ``last``; levels best first."""
        symbol = book.symbol
        result: dict[str, Any] = {"t": wall_ms}
        if first is None:
            result["full"] = True
        result["s"] = self.stream(book.instrument.id)
        if first is not None:
            result["U"] = first
        result.update(u=last, b=self.format_levels(symbol, bids), a=self.format_levels(symbol, asks))
        return orjson.dumps({"channel": "spot.obu", "result": result, "time_ms": wall_ms,
                             "event": "update"})

    def receive(self, conn: Connection, message: str) -> None:
        request = json_request(message)
        if not isinstance(request, dict) or not isinstance(request.get("channel"), str):
            conn.push(self._reply(conn, {}, 1, "Invalid request body format"))
            return
        channel, event = request["channel"], request.get("event")
        if channel == "spot.ping":
            conn.push(orjson.dumps({"time": int(time.time()), "time_ms": int(time.time() * 1000),
                                    "conn_id": conn.conn_id, "channel": "spot.pong", "event": "",
                                    "error": None, "result": None}))
        elif channel in ("spot.obu", TICKER) and event in ("subscribe", "unsubscribe"):
            code, error = self._subscription(conn, channel, event, request.get("payload"))
            conn.push(self._reply(conn, request, code, error))
        else:
            conn.push(self._reply(conn, request, 2, f"unknown channel {channel} or event {event}"))

    def _subscription(self, conn: Connection, channel: str, event: str,
                      payload: Any) -> tuple[int, str]:
        """Apply a subscribe/unsubscribe request, all names or none; (error code, message) or
        (0, "") when it succeeded."""
        if not isinstance(payload, list) or not payload \
                or not all(isinstance(name, str) for name in payload):
            return 2, "Invalid argument provided"
        topics = [name if channel == "spot.obu" else f"{TICKER}:{name}" for name in payload]
        for name, topic in zip(payload, topics):
            if topic not in self.known:
                return 2, f"Invalid argument provided: {name}"
            if event == "subscribe" and topic in conn.topics:
                return 2, f"Alert sub {name}"
        for topic in topics:
            self.unsubscribe(conn, topic)
            if event == "subscribe":
                self.subscribe(conn, topic)
        return 0, ""

    @staticmethod
    def _reply(conn: Connection, request: dict, code: int, message: str) -> bytes:
        """A subscription answer: success, or ``error`` with ``code`` (Gate's format)."""
        now = time.time()
        reply: dict[str, Any] = {"time": int(now), "time_ms": int(now * 1000)}
        if "id" in request:
            reply["id"] = request["id"]
        reply.update(conn_id=conn.conn_id, channel=request.get("channel", ""),
                     event=request.get("event", ""), payload=request.get("payload"))
        if code:
            reply.update(error={"code": code, "message": message}, result={"status": "fail"})
        else:
            reply["result"] = {"status": "success"}
        return orjson.dumps(reply)

    def error_event(self, conn: Connection) -> bytes:
        stream = self.stream(next(iter(self.pairs.values())))
        request = {"id": 1, "channel": "spot.obu", "event": "subscribe", "payload": [stream]}
        return self._reply(conn, request, 2, f"Alert sub {stream}")

    def malformed(self) -> bytes:
        stream = self.stream(next(iter(self.pairs.values())))
        return b'{"channel":"spot.obu","result":{"t":17,"s":"' + stream.encode() + b'","U":'
