"""Coinbase Advanced Trade market data: ``level2`` (data on channel ``l2_data``: a snapshot of
the whole book on subscribe, then updates ``{side, price_level, new_quantity}`` with absolute
quantities, "0" removes) and ``heartbeats`` (one a second, keeps the connection open); no ping.

Sync (``WsSnapshotVenue``): ``sequence_num`` counts every message of the connection, all
channels and products together, and goes to ``chain_connection``. While it runs on without a
gap, no message was missed, so each book's next update follows that book's last one exactly
(a delta with prev = ``book.seq``, seq = the message's ``sequence_num``). A gap means any book
may have missed an update: every book of the connection is marked INVALID and the runner
resyncs each (resync = unsubscribe + subscribe the product; Coinbase answers with a snapshot).
A message that cannot be read is lost likewise for every book.
Public ``-USDC`` products may arrive labelled ``-USD``: a USDC book also takes its USD twin's
messages when the twin is not configured itself.
"""
from __future__ import annotations

import orjson

from ...book import OrderBook
from ...feeds.base import MALFORMED, FeedError
from ...feeds.sync import WsSnapshotVenue
from ..kraken.checksum import parse_timestamp


class Coinbase(WsSnapshotVenue):
    name = "coinbase"
    default_ws_url = "wss://advanced-trade-ws.coinbase.com"
    default_rest_url = "https://api.coinbase.com"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets: dict[str, list[OrderBook]] = {}
        for market_id, book in self.by_id.items():
            self.targets.setdefault(market_id, []).append(book)
        for market_id, book in self.by_id.items():
            if market_id.endswith("-USDC") and market_id[:-1] not in self.by_id:
                self.targets.setdefault(market_id[:-1], []).append(book)

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    def subscribe_messages(self) -> list[str]:
        """Heartbeats first (an idle channel closes in 60-90 s without them), then the books;
        Coinbase takes one channel per subscribe message."""
        return [orjson.dumps({"type": "subscribe", "channel": "heartbeats"}).decode(),
                self._request("subscribe", list(self.by_id))]

    @staticmethod
    def _request(kind: str, product_ids: list[str]) -> str:
        return orjson.dumps({"type": kind, "product_ids": product_ids, "channel": "level2"}).decode()

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        channel = message.get("channel")
        if channel is None:
            if message.get("type") == "error":
                raise FeedError(f"coinbase error: {message.get('message')}")
            return
        try:
            self.chain_connection(message["sequence_num"])
            if channel != "l2_data":
                return  # heartbeats and subscription acks only carry the sequence on
            exchange_time = parse_timestamp(message["timestamp"])
            events = message["events"]
            for event in events:
                self._on_event(event, self.connection_seq, received_at, exchange_time)
        except MALFORMED:
            self.invalidate_all()  # its updates are lost, for any book
            raise

    def _on_event(self, event: dict, seq: int, received_at: float, exchange_time: float) -> None:
        books = self.targets.get(event["product_id"])
        if books is None:
            return
        bids, asks = [], []
        for update in event["updates"]:
            side = update["side"]
            if side == "bid":
                bids.append((update["price_level"], update["new_quantity"]))
            elif side == "offer":
                asks.append((update["price_level"], update["new_quantity"]))
            else:
                raise ValueError(f"unknown side {side!r}")
        kind = event["type"]
        if kind != "snapshot" and kind != "update":
            raise ValueError(f"unknown level2 event type {kind!r}")
        for book in books:
            if kind == "snapshot":
                self.snapshot(book, bids, asks, seq, seq, received_at, exchange_time)
            else:
                self.delta(book, bids, asks, book.seq, seq, seq, received_at, exchange_time)

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the product: Coinbase answers with a fresh snapshot."""
        product_id = self.books[symbol].instrument.id
        return [self._request("unsubscribe", [product_id]), self._request("subscribe", [product_id])]
