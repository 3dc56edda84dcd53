"""Bybit benchmark stream: the simulator's Bybit encoder with orderbook.50 and orderbook.1 update ids."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Bybit

SNAPSHOT_DEPTH = 50  # levels per side in a Bybit orderbook.50 snapshot


class BybitWire(Wire):
    venue: Bybit

    def __init__(self, venue: Bybit):
        super().__init__(venue)
        self.u: dict[str, int] = {}
        self.top_u: dict[str, int] = {}

    def _topic(self, depth: int, book: VenueBook) -> str:
        return f"orderbook.{depth}.{book.instrument.id}"

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        self.u[book.symbol] = self.top_u[book.symbol] = 1
        bids, asks = book.levels(SNAPSHOT_DEPTH)
        return Snapshot(self.venue.book_message(self._topic(SNAPSHOT_DEPTH, book), "snapshot", book,
                                                1, bids, asks, wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        self.top_u[book.symbol] += 1
        bids, asks = book.levels(1)
        return self.venue.book_message(self._topic(1, book), "snapshot", book,
                                       self.top_u[book.symbol], bids, asks, wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        self.u[book.symbol] += 1
        return self.venue.book_message(self._topic(SNAPSHOT_DEPTH, book), "delta", book,
                                       self.u[book.symbol], bids, asks, wall_ms)
