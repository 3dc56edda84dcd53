"""Bybit v5 spot: ``orderbook.50`` (snapshot then deltas chained by ``u``; any snapshot resets
the book) and ``orderbook.1`` (best bid/offer, patched by matching-engine time ``cts``);
JSON ``{"op":"ping"}`` heartbeat."""
from __future__ import annotations

import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.sync import WsSnapshotVenue

DEPTH = 50  # orderbook.50: Bybit keeps the best 50 levels current (and deletes those that leave)


class Bybit(WsSnapshotVenue):
    name = "bybit"
    default_ws_url = "wss://stream.bybit.com/v5/public/spot"
    default_rest_url = "https://api.bybit.com"
    default_ping_interval = 20.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.depth_topics: dict[str, OrderBook] = {}
        self.top_topics: dict[str, OrderBook] = {}
        for market_id, book in self.by_id.items():
            book.bids.depth = book.asks.depth = DEPTH
            self.depth_topics[f"orderbook.{DEPTH}.{market_id}"] = book
            self.top_topics[f"orderbook.1.{market_id}"] = book

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def subscribe_messages(self) -> list[str]:
        topics = [topic for pair in zip(self.depth_topics, self.top_topics) for topic in pair]
        return [self._request("subscribe", topics[i:i + 10]) for i in range(0, len(topics), 10)]

    @staticmethod
    def _request(op: str, topics: list[str]) -> str:
        return orjson.dumps({"req_id": op, "op": op, "args": topics}).decode()

    def ping_message(self) -> str:
        return '{"req_id":"ping","op":"ping"}'

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        topic = message.get("topic")
        book = self.top_topics.get(topic)
        if book is not None:
            self._on_top(book, message, received_at)
            return
        book = self.depth_topics.get(topic)
        if book is not None:
            self._on_depth(book, message, received_at)
        elif message.get("success") is False:
            raise FeedError(f"bybit {message.get('op')} failed: {message.get('ret_msg')}")
        elif topic is not None:
            self._on_topic(topic, message, received_at)
        # subscribe acks and pongs need nothing

    def _on_topic(self, topic: str, message: dict, received_at: float) -> None:
        """A topic other than the books' (the futures feed's tickers)."""

    def _on_depth(self, book: OrderBook, message: dict, received_at: float) -> None:
        data = message["data"]
        cts = message.get("cts") or message["ts"]  # orders the two topics; ts dates the frame
        u = data["u"]
        if message["type"] == "snapshot":
            self.snapshot(book, data["b"], data["a"], u, cts, received_at, message["ts"] / 1000.0)
        else:
            self.delta(book, data["b"], data["a"], u - 1, u, cts, received_at, message["ts"] / 1000.0)

    def _on_top(self, book: OrderBook, message: dict, received_at: float) -> None:
        data = message["data"]
        bids, asks = data["b"], data["a"]
        if not bids or not asks:
            return
        cts = message.get("cts") or message["ts"]
        if book.patch_top(bids[0][0], bids[0][1], asks[0][0], asks[0][1], cts, received_at,
                          message["ts"] / 1000.0):
            self.on_book(book)

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the depth topic: Bybit answers with a fresh snapshot."""
        topic = f"orderbook.{DEPTH}.{self.books[symbol].instrument.id}"
        return [self._request("unsubscribe", [topic]), self._request("subscribe", [topic])]
