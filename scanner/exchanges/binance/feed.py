"""Binance spot: combined streams ``<sym>@depth@100ms`` + ``<sym>@bookTicker``, depth synced to
the REST snapshot by Binance's U/u rules; server pings are answered by the websockets library."""
from __future__ import annotations

from typing import Any

import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.sync import RestSnapshotVenue

SNAPSHOT_PATH = "/api/v3/depth"
SNAPSHOT_LIMIT = 1000  # levels per side (REST weight 50): the diffs keep every level current,
# but past the snapshot's worst price only the levels that changed since are known


class Binance(RestSnapshotVenue):
    name = "binance"
    default_ws_url = "wss://stream.binance.com:9443"
    default_rest_url = "https://api.binance.com"
    snapshot_path = SNAPSHOT_PATH  # the futures feed reads its own
    snapshot_limit = SNAPSHOT_LIMIT

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.depth_streams: dict[str, OrderBook] = {}
        self.ticker_streams: dict[str, OrderBook] = {}
        for book in self.books.values():
            stream = book.instrument.id.lower()
            self.depth_streams[f"{stream}@depth@100ms"] = book
            self.ticker_streams[f"{stream}@bookTicker"] = book

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def connect_url(self) -> str:
        return f"{self.ws_url}/stream"

    def subscribe_messages(self) -> list[str]:
        names = [name for pair in zip(self.depth_streams, self.ticker_streams) for name in pair]
        chunks = [names[i:i + 200] for i in range(0, len(names), 200)]
        return [orjson.dumps({"method": "SUBSCRIBE", "params": chunk, "id": n + 1}).decode()
                for n, chunk in enumerate(chunks)]

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        stream = message.get("stream")
        book = self.ticker_streams.get(stream)
        if book is not None:
            self._on_book_ticker(book, message["data"], received_at)
            return
        book = self.depth_streams.get(stream)
        if book is not None:
            self._on_depth(book, message["data"], received_at)
        elif "code" in message:
            raise FeedError(f"binance error {message['code']}: {message.get('msg')}")
        elif stream == "!serverShutdown" or message.get("e") == "serverShutdown":
            raise FeedError("binance announced a server shutdown")
        # subscription acks ({"result": null, "id": n}) need nothing

    def _on_depth(self, book: OrderBook, event: dict, received_at: float) -> None:
        self.diff(book, event["b"], event["a"], event["U"], event["u"], received_at,
                  event["E"] / 1000.0)

    def _on_book_ticker(self, book: OrderBook, ticker: dict, received_at: float) -> None:
        if book.patch_top(ticker["b"], ticker["B"], ticker["a"], ticker["A"], ticker["u"],
                          received_at):
            self.on_book(book)

    def snapshot_request(self, symbol: str) -> tuple[str, dict[str, Any]]:
        return self.snapshot_path, {"symbol": self.books[symbol].instrument.id, "limit": self.snapshot_limit}

    def on_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        book = self.by_id.get(params.get("symbol", ""))
        if path == self.snapshot_path and book is not None:
            snapshot = orjson.loads(body)
            self.join_snapshot(book, snapshot["bids"], snapshot["asks"], snapshot["lastUpdateId"],
                               int(params.get("limit", self.snapshot_limit)))
