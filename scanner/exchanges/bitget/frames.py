"""Bitget benchmark stream: the simulator's Bitget encoder, ``seq`` +1 per update and each
update's checksum. Bitget has no top-of-book channel beside ``books``, so a top-of-book frame
is a ``books`` update carrying what changed since the last frame."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, Side, VenueBook
from .sim import Bitget


class BitgetWire(Wire):
    venue: Bitget

    def __init__(self, venue: Bitget):
        super().__init__(venue)
        self.seq: dict[str, int] = {}
        self.sent: dict[str, tuple[dict[int, int], dict[int, int]]] = {}  # the book as last sent

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        self.seq[book.symbol] = book.update_id
        self.sent[book.symbol] = dict(book.bids.qty), dict(book.asks.qty)
        bids, asks = book.levels()
        return Snapshot(self.venue.books_message("snapshot", book, bids, asks, book.update_id,
                                                 wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        sent_bids, sent_asks = self.sent[book.symbol]
        return self._update(book, _changes(book.bids, sent_bids), _changes(book.asks, sent_asks),
                            wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        self.sent[book.symbol] = dict(book.bids.qty), dict(book.asks.qty)
        return self._update(book, bids, asks, wall_ms)

    def _update(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        self.seq[book.symbol] += 1
        return self.venue.books_message("update", book, bids, asks, self.seq[book.symbol], wall_ms)


def _changes(side: Side, sent: dict[int, int]) -> Levels:
    """What changed on ``side`` since ``sent`` (best first; 0 lots = removed); ``sent`` becomes
    the side as it is now."""
    changed = {price: lots for price, lots in side.qty.items() if sent.get(price) != lots}
    changed.update((price, 0) for price in sent if price not in side.qty)
    sent.clear()
    sent.update(side.qty)
    return sorted(changed.items(), key=lambda level: side.sign * level[0])
