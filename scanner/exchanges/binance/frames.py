"""Binance benchmark stream: the simulator's Binance encoder with the depth stream's U/u chain."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Binance


class BinanceWire(Wire):
    venue: Binance

    def __init__(self, venue: Binance):
        super().__init__(venue)
        self.last_u: dict[str, int] = {}

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        params = {"symbol": book.instrument.id, "limit": "100"}
        _, body = self.venue.rest("/api/v3/depth", params)
        self.last_u[book.symbol] = book.update_id
        return Snapshot(body, "/api/v3/depth", params)

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        stream = self.venue.streams[book.symbol] + "@bookTicker"
        return self.venue.combined(stream, self.venue.book_ticker(book))

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        first, self.last_u[book.symbol] = self.last_u[book.symbol] + 1, book.update_id
        stream = self.venue.streams[book.symbol] + "@depth@100ms"
        return self.venue.combined(stream, self.venue.depth_update(
            book, first, book.update_id, bids, asks, wall_ms))
