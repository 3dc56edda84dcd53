"""Bitget v2 spot public on ``/v2/ws/public``: channel ``books`` (every level in a snapshot on
subscribe, then an update every 150 ms while the book changes, ``seq`` +1 per update, each
carrying the CRC32 checksum Bitget computes over the 25 best levels per side in its texts),
subscribe/unsubscribe acks, errors as ``{"event":"error","code":...}``, text ``ping`` ->
``pong``. Prices and sizes are printed with the instrument's decimals ("0.0500")."""
from __future__ import annotations

import random
import zlib
from typing import Sequence

import orjson

from ...sim.market import Levels, MarketModel, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, fixed, json_request

BOOKS_INTERVAL = 0.15
CHECKSUM_LEVELS = 25  # levels per side the checksum covers
INST_TYPE = "SPOT"


def book_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """Bitget's checksum of a book (levels best first, as texts): CRC32 of the 25 best bids and
    asks interleaved ``bid1px:bid1sz:ask1px:ask1sz:...``, a shorter side's missing levels
    skipped, as a signed 32-bit integer."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class Bitget(Venue):
    name = "bitget"
    checksummed = True
    ws_path = "/v2/ws/public"

    def __init__(self, model: MarketModel, symbols: Sequence[str], rng: random.Random):
        super().__init__(model, symbols, rng)
        self.seq = {symbol: book.update_id for symbol, book in self.books.items()}
        self.inst_ids = {symbol: book.instrument.id for symbol, book in self.books.items()}
        self.next_books = 0.0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def topics(self, symbol: str) -> list[str]:
        return ["books:" + self.inst_ids[symbol]]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: fixed(units, decimals, decimals)

    def tick(self, now: float, wall_ms: int) -> None:
        if now < self.next_books:
            return
        self.next_books = max(self.next_books + BOOKS_INTERVAL, now)
        for symbol in self.books:
            self._push_books(symbol, wall_ms)

    def _push_books(self, symbol: str, wall_ms: int) -> None:
        """The update since the last push, then snapshots for new subscribers."""
        book = self.books[symbol]
        topic = "books:" + self.inst_ids[symbol]
        bids, asks = book.drain()
        if bids or asks:
            self.seq[symbol] += 1
            if symbol in self.gaps:  # the gap fault: this update is lost
                self.gaps.discard(symbol)
            elif topic in self.subs:
                corrupt = symbol in self.bad_checksums
                self.bad_checksums.discard(symbol)
                self.emit(topic, self.books_message("update", book, sorted(bids.items(), reverse=True),
                                                    sorted(asks.items()), self.seq[symbol], wall_ms,
                                                    corrupt))
        if topic in self.waiting:
            self.admit(topic, self.books_message("snapshot", book, *book.levels(), self.seq[symbol],
                                                 wall_ms))

    def books_message(self, action: str, book: VenueBook, bids: Levels, asks: Levels, seq: int,
                      wall_ms: int, corrupt: bool = False) -> bytes:
        """A ``books`` snapshot or update (levels best first) with the checksum of the book as
        it is now (``corrupt``: a wrong one)."""
        symbol = book.symbol
        top_bids, top_asks = book.levels(CHECKSUM_LEVELS)
        checksum = book_checksum(self.format_levels(symbol, top_bids),
                                 self.format_levels(symbol, top_asks))
        return orjson.dumps({
            "action": action,
            "arg": {"instType": INST_TYPE, "channel": "books", "instId": self.inst_ids[symbol]},
            "data": [{"asks": self.format_levels(symbol, asks),
                      "bids": self.format_levels(symbol, bids),
                      "checksum": checksum ^ 1 if corrupt else checksum, "seq": seq,
                      "ts": str(wall_ms)}],
            "ts": wall_ms})

    def receive(self, conn: Connection, message: str) -> None:
        if message == "ping":
            conn.push(b"pong")
            return
        request = json_request(message)
        if not isinstance(request, dict) or request.get("op") not in ("subscribe", "unsubscribe") \
                or not isinstance(request.get("args"), list) or not request["args"]:
            conn.push(self._error(30002, f"illegal request: {message}"))
            return
        op = request["op"]
        for arg in request["args"]:
            arg = arg if isinstance(arg, dict) else {}
            inst_type, channel, inst_id = arg.get("instType"), arg.get("channel"), arg.get("instId")
            if inst_type != INST_TYPE or channel != "books" or inst_id not in self.by_id:
                conn.push(self._error(30001, f"instType:{inst_type},channel:{channel},"
                                             f"instId:{inst_id} doesn't exist"))
                continue
            topic = f"{channel}:{inst_id}"
            self.unsubscribe(conn, topic)
            if op == "subscribe":
                self.subscribe(conn, topic)
            conn.push(orjson.dumps({"event": op, "arg": {"instType": inst_type, "channel": channel,
                                                         "instId": inst_id}}))

    @staticmethod
    def _error(code: int, msg: str) -> bytes:
        return orjson.dumps({"event": "error", "code": code, "msg": msg})

    def error_event(self, conn: Connection) -> bytes:
        return self._error(30001, "instType:sp,channel:candleundefined,instId:BTCUSDT doesn't exist")

    def malformed(self) -> bytes:
        inst_id = next(iter(self.inst_ids.values()))
        return b'{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"' \
            + inst_id.encode() + b'"},"data":[{"asks":[["'
