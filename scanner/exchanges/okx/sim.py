"""OKX v5 public on ``/ws/v5/public``: channels ``books`` (snapshot, then updates every 100 ms
chained by seqId/prevSeqId, checksum always 0) and ``bbo-tbt`` (top of book on each change),
subscribe/unsubscribe with one ack per argument, text ``ping`` -> ``pong``."""
from __future__ import annotations

import random
from typing import Any, Sequence

import orjson

from ...sim.market import Levels, MarketModel, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, json_request, trimmed

BOOKS_INTERVAL = 0.1
IDLE_UPDATE_SECONDS = 60.0  # no change this long: an empty update with prevSeqId == seqId
CHANNELS = ("books", "bbo-tbt")
BOOKS_DEPTH = 400  # levels per side the books channel serves


class Okx(Venue):
    name = "okx"
    ws_path = "/ws/v5/public"
    idle_close = 30.0  # OKX drops a connection without subscription or traffic for 30 s
    channels = CHANNELS  # what a client may subscribe to

    def __init__(self, model: MarketModel, symbols: Sequence[str], rng: random.Random):
        super().__init__(model, symbols, rng)
        for book in self.books.values():
            model.deepen(book, BOOKS_DEPTH)
        self.seq = {symbol: book.update_id for symbol, book in self.books.items()}
        self.quiet_since = dict.fromkeys(self.books, 0.0)
        self.inst_ids = {symbol: book.instrument.id for symbol, book in self.books.items()}
        self.next_books = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    def topics(self, symbol: str) -> list[str]:
        return [f"{channel}:{self.inst_ids[symbol]}" for channel in CHANNELS]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: trimmed(units, decimals)

    def format_levels(self, symbol: str, levels: Levels) -> list[list[str]]:
        """``[px, sz, "0", orders]``; a removed level is ``[px, "0", "0", "0"]``."""
        price_text, size_text = self.price_text[symbol], self.size_text[symbol]
        return [[price_text[price], size_text(lots), "0", str(1 + lots % 9 if lots else 0)]
                for price, lots in levels]

    def tick(self, now: float, wall_ms: int) -> None:
        for symbol, book in self.books.items():
            changed = book.take_top_changed()
            topic = "bbo-tbt:" + self.inst_ids[symbol]
            if (changed and topic in self.subs) or topic in self.waiting:
                frame = self.bbo(book, wall_ms)
                if changed:
                    self.emit(topic, frame)
                self.admit(topic, frame)
        if now >= self.next_books:
            self.next_books = max(self.next_books + BOOKS_INTERVAL, now)
            for symbol in self.books:
                self._push_books(symbol, now, wall_ms)

    def bbo(self, book: VenueBook, wall_ms: int) -> bytes:
        """A ``bbo-tbt`` message of ``book``'s top."""
        bid, ask = book.top()
        return orjson.dumps({
            "arg": {"channel": "bbo-tbt", "instId": book.instrument.id},
            "data": [{"asks": self.format_levels(book.symbol, [ask]),
                      "bids": self.format_levels(book.symbol, [bid]),
                      "ts": str(wall_ms), "seqId": book.update_id}]})

    def _push_books(self, symbol: str, now: float, wall_ms: int) -> None:
        """The update since the last push (or an idle one), then snapshots for new subscribers."""
        book = self.books[symbol]
        topic = "books:" + self.inst_ids[symbol]
        bids, asks = book.drain()
        prev = self.seq[symbol]
        if bids or asks:
            self.seq[symbol] = book.update_id
            self.quiet_since[symbol] = now
            if symbol in self.gaps:  # the gap fault: this update is lost
                self.gaps.discard(symbol)
            elif topic in self.subs:
                self.emit(topic, self.books_message("update", book, sorted(bids.items(), reverse=True),
                                                    sorted(asks.items()), prev, self.seq[symbol],
                                                    wall_ms))
        elif now - self.quiet_since[symbol] >= IDLE_UPDATE_SECONDS:
            self.quiet_since[symbol] = now
            if topic in self.subs:
                self.emit(topic, self.books_message("update", book, [], [], prev, prev, wall_ms))
        if topic in self.waiting:
            bids_now, asks_now = book.levels()
            self.admit(topic, self.books_message("snapshot", book, bids_now, asks_now, -1,
                                                 self.seq[symbol], wall_ms))

    def books_message(self, action: str, book: VenueBook, bids: Levels, asks: Levels, prev: int,
                      seq: int, wall_ms: int) -> bytes:
        """A ``books`` snapshot or update (levels best first) chained ``prev`` -> ``seq``."""
        instrument = book.instrument
        return orjson.dumps({
            "arg": {"channel": "books", "instId": instrument.id},
            "action": action,
            "data": [{"asks": self.format_levels(instrument.symbol, asks),
                      "bids": self.format_levels(instrument.symbol, bids),
                      "ts": str(wall_ms), "checksum": 0, "prevSeqId": prev,
                      "seqId": seq}]})

    def receive(self, conn: Connection, message: str) -> None:
        if message == "ping":
            conn.push(b"pong")
            return
        request = json_request(message)
        if not isinstance(request, dict) or request.get("op") not in ("subscribe", "unsubscribe") \
                or not isinstance(request.get("args"), list) or not request["args"]:
            conn.push(self._error(conn, None, "60012", f"Invalid request: {message}"))
            return
        op, request_id = request["op"], request.get("id")
        for arg in request["args"]:
            channel = arg.get("channel") if isinstance(arg, dict) else None
            inst_id = arg.get("instId") if isinstance(arg, dict) else None
            if channel not in self.channels or not isinstance(inst_id, str) or inst_id not in self.by_id:
                conn.push(self._error(conn, request_id, "60018",
                                      f"Wrong URL or channel:{channel},instId:{inst_id} "
                                      "doesn't exist"))
                continue
            topic = f"{channel}:{inst_id}"
            self.unsubscribe(conn, topic)
            if op == "subscribe":
                self.subscribe(conn, topic)
            ack: dict[str, Any] = {} if request_id is None else {"id": request_id}
            ack.update(event=op, arg={"channel": channel, "instId": inst_id}, connId=conn.conn_id)
            conn.push(orjson.dumps(ack))

    @staticmethod
    def _error(conn: Connection, request_id: Any, code: str, msg: str) -> bytes:
        error: dict[str, Any] = {} if request_id is None else {"id": request_id}
        error.update(event="error", code=code, msg=msg, connId=conn.conn_id)
        return orjson.dumps(error)

    def error_event(self, conn: Connection) -> bytes:
        request = ('{"op": "subscribe", "argss":[{ "channel" : "books", '
                   '"instId" : "BTC-USD-191227"}]}')
        return self._error(conn, None, "60012", f"Invalid request: {request}")

    def malformed(self) -> bytes:
        inst_id = next(iter(self.inst_ids.values()))
        return b'{"arg":{"channel":"books","instId":"' + inst_id.encode() \
            + b'"},"action":"update","data":[{"asks":[["'

    def shutdown_notice(self, conn: Connection, wall_ms: int) -> bytes:
        return orjson.dumps({"event": "notice", "code": "64008",
                             "msg": "The connection will soon be closed for a service upgrade. "
                                    "Please reconnect.", "connId": conn.conn_id})
