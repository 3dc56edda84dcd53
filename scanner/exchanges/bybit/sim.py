"""Bybit v5 spot on ``/v5/public/spot``: topics ``orderbook.{1,50,200,1000}.SYM``. Depth > 1:
a snapshot, then deltas of the depth-limited view (``u`` +1 per message, ``seq`` the book's
update id); depth 1: snapshot-type frames on each top change, re-sent every 3 s. JSON
``{"op":"ping"}`` is answered with a pong; at most 10 topics per subscribe request."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...sim.market import Levels, Side, VenueBook
from ...sim.protocol import Connection, NumberFormat, Venue, json_request, trimmed

PUSH_INTERVALS = {1: 0.0, 50: 0.02, 200: 0.1, 1000: 0.2}  # seconds between pushes per depth
TOP_RESEND_SECONDS = 3.0
MAX_ARGS = 10


@dataclass(slots=True)
class DepthView:
    """The ``depth`` best levels subscribers of one ``orderbook.N.SYM`` topic hold."""

    symbol: str
    depth: int
    u: int
    bid_keys: set[int] = field(default_factory=set)  # Side keys (sign * price) in the view
    ask_keys: set[int] = field(default_factory=set)
    bid_changes: dict[int, int] = field(default_factory=dict)  # book changes since the last push
    ask_changes: dict[int, int] = field(default_factory=dict)
    next_push: float = 0.0
    sent_at: float = 0.0


class Bybit(Venue):
    name = "bybit"
    ws_path = "/v5/public/spot"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.views: dict[str, DepthView] = {}
        for symbol, book in self.books.items():
            for depth in PUSH_INTERVALS:
                topic = f"orderbook.{depth}.{book.instrument.id}"
                self.views[topic] = DepthView(symbol, depth, self.rng.randrange(10**6, 10**8))

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def new_conn_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def topics(self, symbol: str) -> list[str]:
        market_id = self.books[symbol].instrument.id
        return [f"orderbook.50.{market_id}", f"orderbook.1.{market_id}"]

    @staticmethod
    def number_format(decimals: int) -> NumberFormat:
        return lambda units: trimmed(units, decimals)

    def tick(self, now: float, wall_ms: int) -> None:
        for topic, view in self.views.items():
            if topic not in self.subs and topic not in self.waiting:
                continue
            book = self.books[view.symbol]  # its journal feeds every active view of the symbol
            if book.bids.changes:
                view.bid_changes.update(book.bids.changes)
            if book.asks.changes:
                view.ask_changes.update(book.asks.changes)
            if now >= view.next_push:
                view.next_push = max(view.next_push + PUSH_INTERVALS[view.depth], now)
                self._push(topic, view, now, wall_ms)
        for book in self.books.values():
            if book.bids.changes or book.asks.changes:
                book.drain()

    def _push(self, topic: str, view: DepthView, now: float, wall_ms: int) -> None:
        """Send what changed in the view (a delta, or a snapshot for depth 1), then snapshots."""
        book = self.books[view.symbol]
        if view.bid_changes or view.ask_changes:
            bids = _view_changes(book.bids, view.depth, view.bid_keys, view.bid_changes)
            asks = _view_changes(book.asks, view.depth, view.ask_keys, view.ask_changes)
            view.bid_changes, view.ask_changes = {}, {}
            if (bids or asks) and topic in self.subs:
                view.u += 1
                if view.depth == 1:
                    self._emit_snapshot(topic, view, book, now, wall_ms)
                elif view.symbol in self.gaps:  # the gap fault: this delta is lost
                    self.gaps.discard(view.symbol)
                else:
                    self.emit(topic, self.book_message(topic, "delta", book, view.u,
                                                 sorted(bids, reverse=True), sorted(asks), wall_ms))
        if view.depth == 1 and now - view.sent_at >= TOP_RESEND_SECONDS and topic in self.subs:
            self._emit_snapshot(topic, view, book, now, wall_ms)
        if topic in self.waiting:
            view.bid_keys = set(book.bids.keys[:view.depth])
            view.ask_keys = set(book.asks.keys[:view.depth])
            view.sent_at = now
            bids, asks = book.levels(view.depth)
            self.admit(topic, self.book_message(topic, "snapshot", book, view.u, bids, asks, wall_ms))

    def _emit_snapshot(self, topic: str, view: DepthView, book: VenueBook, now: float,
                       wall_ms: int) -> None:
        view.sent_at = now
        bids, asks = book.levels(view.depth)
        self.emit(topic, self.book_message(topic, "snapshot", book, view.u, bids, asks, wall_ms))

    def book_message(self, topic: str, kind: str, book: VenueBook, u: int, bids: Levels,
                     asks: Levels, wall_ms: int) -> bytes:
        """An ``orderbook.N`` snapshot or delta (levels best first)."""
        return orjson.dumps({
            "topic": topic, "ts": wall_ms, "type": kind,
            "data": {"s": book.instrument.id, "b": self.format_levels(book.symbol, bids),
                     "a": self.format_levels(book.symbol, asks), "u": u, "seq": book.update_id},
            "cts": wall_ms - 1})

    def receive(self, conn: Connection, message: str) -> None:
        request = json_request(message)
        if not isinstance(request, dict):
            conn.push(self._reply(conn, {}, False, "error:request not json"))
            return
        op = request.get("op")
        if op == "ping":
            conn.push(self._reply(conn, request, True, "pong"))
        elif op in ("subscribe", "unsubscribe"):
            success, ret_msg = self._subscription(conn, op, request.get("args"))
            conn.push(self._reply(conn, request, success, ret_msg))
        else:
            conn.push(self._reply(conn, request, False, f"error:handler not found,op:{op}"))

    def _subscription(self, conn: Connection, op: str, args: Any) -> tuple[bool, str]:
        """Apply a subscribe/unsubscribe request: all topics or none, like Bybit."""
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            return False, "error:args must be a non-empty list of topics"
        if len(args) > MAX_ARGS:
            return False, f"args size >{MAX_ARGS}"
        for topic in args:
            if topic not in self.views and not self.serves(topic):
                return False, f"Invalid topic :[{topic}]"
            if op == "subscribe" and topic in conn.topics:
                return False, f"error:already subscribed,topic:{topic}"
        for topic in args:
            if op == "subscribe":
                self.subscribe(conn, topic)
            else:
                self.unsubscribe(conn, topic)
        return True, op

    def serves(self, topic: str) -> bool:
        """A topic beside the order books (the futures simulation's tickers)."""
        return False

    @staticmethod
    def _reply(conn: Connection, request: dict, success: bool, ret_msg: str) -> bytes:
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "conn_id": conn.conn_id}
        if "req_id" in request:
            reply["req_id"] = request["req_id"]
        if "op" in request:
            reply["op"] = request["op"]
        return orjson.dumps(reply)

    def error_event(self, conn: Connection) -> bytes:
        return self._reply(conn, {"op": "subscribe"}, False, "error:handler not found")

    def malformed(self) -> bytes:
        topic = next(iter(self.views))
        return b'{"topic":"' + topic.encode() + b'","ts":17'


def _view_changes(side: Side, depth: int, view: set[int], changes: dict[int, int]) -> Levels:
    """Update ``view`` (the keys of the ``depth`` best levels a client holds) to the side now;
    return the levels to send: resized in the view, entered it, or left it (size 0)."""
    sign, qty = side.sign, side.qty
    now = set(side.keys[:depth])
    levels = [(price, lots) for price, lots in changes.items()
              if sign * price in now and sign * price in view]
    levels += [(sign * key, qty[sign * key]) for key in now - view]
    levels += [(sign * key, 0) for key in view - now]
    view.clear()
    view.update(now)
    return levels
