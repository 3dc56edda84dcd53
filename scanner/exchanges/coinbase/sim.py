"""Coinbase Advanced Trade market data on ``/``: channels ``level2`` (a snapshot of the whole
book on subscribe, then updates every 50 ms; messages on channel ``l2_data``) and
``heartbeats`` (one a second). Every message carries ``sequence_num``, counted per connection
across all channels, so each frame is stamped for its connection (a lost frame still uses its
number: the gap fault, a stall). One channel per subscribe message; each subscribe or
unsubscribe is answered on channel ``subscriptions``; errors are ``{"type":"error"}`` without
a sequence number. A connection that subscribes to nothing within 5 s is closed."""
from __future__ import annotations

import time
from typing import Any, Sequence

import orjson

from ...sim.market import Levels, VenueBook
from ...sim.protocol import Connection, NumberFormat, Subscriber, Venue, json_request, trimmed

L2_INTERVAL = 0.05
HEARTBEAT_INTERVAL = 1.0
HEARTBEATS = "heartbeats"  # the heartbeats topic (not per product)
Frame = tuple[bytes, bytes]  # a message split where its connection's sequence_num goes


class Coinbase(Venue):
    name = "coinbase"
    ws_path = "/"
    idle_close = 5.0  # "must send a subscribe within 5 s of connecting"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.product_ids = {symbol: book.instrument.id
                            for symbol, book in self.books.items()}
        self.sequence: dict[Subscriber, int] = {}  # the next sequence_num of each connection
        self.next_l2 = self.next_heartbeat = 0.0
        self.heartbeat_counter = 0

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    def topics(self, symbol: str) -> list[str]:
        return ["level2:" + self.product_ids[symbol]]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: trimmed(units, decimals)

    def close(self, conn: Connection) -> None:
        super().close(conn)
        self.sequence.pop(conn, None)

    def tick(self, now: float, wall_ms: int) -> None:
        if now >= self.next_l2:
            self.next_l2 = max(self.next_l2 + L2_INTERVAL, now)
            for symbol in self.books:
                self._push_l2(symbol, wall_ms)
        if now >= self.next_heartbeat:
            self.next_heartbeat = max(self.next_heartbeat + HEARTBEAT_INTERVAL, now)
            self.heartbeat_counter += 1
            frame = self.heartbeat(wall_ms)
            self._emit(HEARTBEATS, frame)
            self._admit(HEARTBEATS, frame)

    def _push_l2(self, symbol: str, wall_ms: int) -> None:
        """The update since the last push, then snapshots for new subscribers."""
        book = self.books[symbol]
        topic = "level2:" + self.product_ids[symbol]
        bids, asks = book.drain()
        if (bids or asks) and (topic in self.subs):
            frame = self.l2_frame("update", book, sorted(bids.items(), reverse=True),
                                  sorted(asks.items()), wall_ms)
            if symbol in self.gaps:  # the gap fault: this message is lost on its way
                self.gaps.discard(symbol)
                for sub in self.subs[topic]:
                    self._stamp(sub)
            else:
                self._emit(topic, frame)
        if topic in self.waiting:
            bids_now, asks_now = book.levels()
            self._admit(topic, self.l2_frame("snapshot", book, bids_now, asks_now, wall_ms))

    def l2_frame(self, kind: str, book: VenueBook, bids: Levels, asks: Levels,
                 wall_ms: int) -> Frame:
        """An ``l2_data`` snapshot or update (levels best first, bids then offers)."""
        stamp = _timestamp(wall_ms)
        event_time = stamp[:-4] + "Z"  # the engine's clock, to the microsecond
        price_text, size_text = self.price_text[book.symbol], self.size_text[book.symbol]
        updates = [{"side": side, "event_time": event_time, "price_level": price_text[price],
                    "new_quantity": size_text(lots)}
                   for side, levels in (("bid", bids), ("offer", asks)) for price, lots in levels]
        events = [{"type": kind, "product_id": book.instrument.id, "updates": updates}]
        return _split("l2_data", stamp, events)

    def heartbeat(self, wall_ms: int) -> Frame:
        stamp = _timestamp(wall_ms)
        current = f"{stamp[:10]} {stamp[11:-1]} +0000 UTC m=+{self.heartbeat_counter}.000000001"
        return _split(HEARTBEATS, stamp, [{"current_time": current,
                                           "heartbeat_counter": self.heartbeat_counter}])

    def message(self, frame: Frame, seq: int) -> bytes:
        """``frame`` with its connection's ``sequence_num``."""
        return frame[0] + b"%d" % seq + frame[1]

    def _stamp(self, sub: Subscriber) -> int:
        seq = self.sequence.get(sub, 0)
        self.sequence[sub] = seq + 1
        return seq

    def _send(self, sub: Subscriber, frame: Frame) -> None:
        sub.push(self.message(frame, self._stamp(sub)))

    def _emit(self, topic: str, frame: Frame) -> None:
        for sub in self.subs.get(topic, ()):
            self._send(sub, frame)

    def _admit(self, topic: str, frame: Frame) -> None:
        for sub in self.waiting.pop(topic, ()):
            self._send(sub, frame)
            self.subs.setdefault(topic, set()).add(sub)

    def receive(self, conn: Connection, message: str) -> None:
        request = json_request(message)
        if not isinstance(request, dict) or request.get("type") not in ("subscribe", "unsubscribe"):
            conn.push(_error("failure to parse request: type must be subscribe or unsubscribe"))
            return
        channel, product_ids = request.get("channel"), request.get("product_ids", [])
        if channel == HEARTBEATS:
            topics = [HEARTBEATS]
        elif channel == "level2" and isinstance(product_ids, list) and product_ids \
                and all(isinstance(p, str) and p in self.by_id for p in product_ids):
            topics = ["level2:" + product_id for product_id in product_ids]
        else:
            conn.push(_error(f"failure to subscribe: channel {channel!r}, "
                             f"product_ids {product_ids!r}"))
            return
        for topic in topics:
            self.unsubscribe(conn, topic)
            if request["type"] == "subscribe":
                self.subscribe(conn, topic)
        self._send(conn, self._subscriptions(conn))

    def _subscriptions(self, conn: Connection) -> Frame:
        """What ``conn`` is subscribed to now, as the ``subscriptions`` channel says it."""
        channels: dict[str, list[str]] = {}
        for topic in sorted(conn.topics):
            channel, _, product_id = topic.partition(":")
            channels.setdefault(channel, []).append(product_id or channel)
        return _split("subscriptions", _timestamp(int(time.time() * 1000)),
                      [{"subscriptions": channels}])

    def error_event(self, conn: Connection) -> bytes:
        return _error("failure to subscribe: rate limit exceeded")

    def malformed(self) -> bytes:
        return b'{"channel":"l2_data","client_id":"","timestamp":"2026-01-01T00:00:00.0000'


def _timestamp(wall_ms: int) -> str:
    """Coinbase's message time, RFC 3339 with nanoseconds: ``2026-08-09T21:05:48.483000000Z``."""
    seconds, millis = divmod(wall_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}000000Z"


def _split(channel: str, stamp: str, events: Sequence[dict]) -> Frame:
    head = b'{"channel":"%s","client_id":"","timestamp":"%s","sequence_num":' % (
        channel.encode(), stamp.encode())
    return head, b',"events":' + orjson.dumps(events) + b"}"


def _error(text: str) -> bytes:
    return orjson.dumps({"type": "error", "message": text})
