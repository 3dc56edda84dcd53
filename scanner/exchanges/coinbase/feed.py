"""Coinbase Advanced Trade market data: ``level2`` (data on channel ``l2_data``: a snapshot of
the whole book on subscribe, then updates ``{side, price_level, new_quantity}`` with absolute
quantities, "0" removes) and ``heartbeats`` (one a second, keeps the connection open); no ping.

Sync rule: ``sequence_num`` counts every message of the connection, all channels and products
together. While it runs on without a gap, no message was missed, so each book's next update
follows that book's last one exactly: the adapter checks the connection's chain and hands the
book ``apply_next(prev=book.seq)`` (``seq`` = the message's ``sequence_num``). A gap means any
book may have missed an update: every book of the connection is marked INVALID and the runner
resyncs each (resync = unsubscribe + subscribe the product; Coinbase answers with a snapshot).
A message that cannot be read past its ``sequence_num`` is lost likewise for every book.
Public ``-USDC`` products may arrive labelled ``-USD``: a USDC book also takes its USD twin's
messages when the twin is not configured itself.
"""
from __future__ import annotations

import calendar
import time

import orjson

from ...book import INVALID, SYNCING, BookError, OrderBook
from ...feeds.base import MALFORMED, FeedError, Send, Venue


class Coinbase(Venue):
    name = "coinbase"
    default_ws_url = "wss://advanced-trade-ws.coinbase.com"
    default_rest_url = "https://api.coinbase.com"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_seq = -1
        self.day_text = ""
        self.day_start = 0.0
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

    def reset_all(self) -> None:
        """The connection is gone: its books start over, and so does its sequence."""
        self.last_seq = -1
        super().reset_all()

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        channel = message.get("channel")
        if channel is None:
            if message.get("type") == "error":
                raise FeedError(f"coinbase error: {message.get('message')}")
            return
        seq = message["sequence_num"]
        if self.last_seq >= 0 and seq != self.last_seq + 1:
            self._lost_messages(seq)
        self.last_seq = seq
        if channel != "l2_data":
            return  # heartbeats and subscription acks only carry the sequence on
        try:
            exchange_time = self._unix_time(message["timestamp"])
            events = message["events"]
            for event in events:
                self._on_event(event, seq, received_at, exchange_time)
        except MALFORMED:
            for book in self.books.values():  # its updates are lost, for any book
                book.reset(INVALID)
            raise

    def _lost_messages(self, seq: int) -> None:
        """A gap in the connection's sequence: every book may have missed an update."""
        detail = f"sequence_num {seq} after {self.last_seq}"
        self.last_seq = seq
        for book in self.books.values():
            book.reset(INVALID)
        raise BookError(next(iter(self.books)), "gap", detail)

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
                book.load_snapshot(bids, asks, seq, seq, received_at, exchange_time)
            elif book.state is SYNCING:
                continue  # updates before the (re)subscription's snapshot
            else:
                book.apply_next(bids, asks, book.seq, seq, seq, received_at, exchange_time)
            self.on_book(book)

    def _unix_time(self, stamp: str) -> float:
        """``2026-08-09T21:05:48.483587501Z`` -> unix seconds (the date's start is cached)."""
        text = stamp
        if len(text) < 20 or text[10] != "T" or text[len(text) - 1] != "Z":
            raise ValueError(f"not a UTC timestamp: {text!r}")
        if text[:10] != self.day_text:
            self.day_start = calendar.timegm(time.strptime(text[:10], "%Y-%m-%d"))
            self.day_text = text[:10]
        return (self.day_start + int(text[11:13]) * 3600 + int(text[14:16]) * 60
                + float(text[17:len(text) - 1]))

    async def resync(self, symbol: str, send: Send) -> None:
        """Resubscribe the product: Coinbase answers with a fresh snapshot."""
        product_id = self.books[symbol].instrument.id
        await send(self._request("unsubscribe", [product_id]))
        await send(self._request("subscribe", [product_id]))
