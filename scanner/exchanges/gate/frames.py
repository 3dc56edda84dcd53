"""Gate benchmark stream: the simulator's Gate encoder with the spot.obu U/u chain."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Gate


class GateWire(Wire):
    venue: Gate

    def __init__(self, venue: Gate):
        super().__init__(venue)
        self.u: dict[str, int] = {}

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        self.u[book.symbol] = book.update_id
        bids, asks = book.levels()
        return Snapshot(self.venue.obu_message(book, bids, asks, None, book.update_id, wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        return self.venue.book_ticker(book, wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        first, self.u[book.symbol] = self.u[book.symbol] + 1, book.update_id
        return self.venue.obu_message(book, bids, asks, first, book.update_id, wall_ms)
