"""Kraken benchmark stream: the simulator's Kraken encoder over a depth-``BOOK_DEPTH`` view, each
frame an update with the checksum of the book's top 10 levels."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from . import BOOK_DEPTH
from .sim import Kraken, View


class KrakenWire(Wire):
    venue: Kraken

    def __init__(self, venue: Kraken):
        super().__init__(venue)
        self.views: dict[str, View] = {}

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        view = self.views[book.symbol] = View(BOOK_DEPTH)
        bids, asks = view.load(book)
        return Snapshot(self.venue.book_message("snapshot", book, bids, asks,
                                                self.venue.book_checksum(book), wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        """Kraken has no separate top-of-book channel here: a top change is a book update."""
        return self._update(book, wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        return self._update(book, wall_ms)  # the view's changes: these levels, as Kraken cuts them

    def _update(self, book: VenueBook, wall_ms: int) -> bytes:
        bids, asks = self.views[book.symbol].update(book)
        return self.venue.book_message("update", book, bids, asks, self.venue.book_checksum(book),
                                       wall_ms)
