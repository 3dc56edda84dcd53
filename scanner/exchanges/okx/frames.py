"""OKX benchmark stream: the simulator's OKX encoder with the books channel's seqId/prevSeqId chain."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Okx


class OkxWire(Wire):
    venue: Okx

    def __init__(self, venue: Okx):
        super().__init__(venue)
        self.seq: dict[str, int] = {}

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        self.seq[book.symbol] = book.update_id
        bids, asks = book.levels()
        return Snapshot(self.venue.books_message("snapshot", book, bids, asks, -1, book.update_id,
                                                 wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        return self.venue.bbo(book, wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        prev, self.seq[book.symbol] = self.seq[book.symbol], book.update_id
        return self.venue.books_message("update", book, bids, asks, prev, book.update_id, wall_ms)
