"""Binance spot: combined streams ``<sym>@depth@100ms`` + ``<sym>@bookTicker``, depth synced to
the REST snapshot by Binance's U/u rules; server pings are answered by the websockets library."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from ...book import LIVE, SYNCING, BookError, OrderBook
from ...feeds.base import FeedError, Send, Venue

SNAPSHOT_LIMIT = 1000  # levels per side (REST weight 50): the diffs keep every level current,
# but past the snapshot's worst price only the levels that changed since are known
MAX_BUFFERED = 2000  # diffs kept per symbol while waiting for a snapshot


class Binance(Venue):
    name = "binance"
    default_ws_url = "wss://stream.binance.com:9443"
    default_rest_url = "https://api.binance.com"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.buffers: dict[str, list[dict]] = {symbol: [] for symbol in self.books}
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
        if book.state is SYNCING:
            buffer = self.buffers[book.symbol]
            buffer.append(event)
            if len(buffer) > MAX_BUFFERED:
                del buffer[: MAX_BUFFERED // 2]
            return
        last = event["u"]
        if book.apply_range(event["b"], event["a"], event["U"], last, last, received_at,
                            event["E"] / 1000.0):
            self.on_book(book)

    def _on_book_ticker(self, book: OrderBook, ticker: dict, received_at: float) -> None:
        if book.patch_top(ticker["b"], ticker["B"], ticker["a"], ticker["A"], ticker["u"],
                          received_at):
            self.on_book(book)

    def reset_all(self) -> None:
        """Mark every book as syncing and drop the diffs waiting for a snapshot."""
        for buffer in self.buffers.values():
            buffer.clear()
        super().reset_all()

    async def on_connected(self, send: Send) -> None:
        await asyncio.gather(*(self.resync(symbol, send) for symbol in self.books))

    async def resync(self, symbol: str, send: Send) -> None:
        """Fetch REST snapshots until one joins the buffered diffs (Binance's procedure; the
        runner paces, retries and counts the requests)."""
        book = self.books[symbol]
        self.buffers[symbol].clear()
        while book.state is not LIVE:
            await self.fetch("/api/v3/depth", {"symbol": book.instrument.id, "limit": SNAPSHOT_LIMIT})
            if book.state is not LIVE:
                await asyncio.sleep(0.2)
        self.on_book(book)

    def on_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        book = self.by_id.get(params.get("symbol", ""))
        if path == "/api/v3/depth" and book is not None and not self.join_snapshot(
                book, orjson.loads(body), int(params.get("limit", SNAPSHOT_LIMIT))):
            book.reset()

    def join_snapshot(self, book: OrderBook, snapshot: dict, limit: int = SNAPSHOT_LIMIT) -> bool:
        """Load the snapshot (cut at ``limit`` levels per side) and apply the buffered diffs
        after it; False if they do not join."""
        last_id = snapshot["lastUpdateId"]
        buffer = self.buffers[book.symbol]
        now = time.monotonic()
        try:
            book.load_snapshot(snapshot["bids"], snapshot["asks"], last_id, last_id, now)
            book.bids.cut_at(limit)
            book.asks.cut_at(limit)
            for event in buffer:  # the book is LIVE now, so these are applied, not buffered
                self._on_depth(book, event, now)
        except BookError:  # the diffs start after the snapshot (or broke it): another one
            return False
        buffer.clear()
        return True
