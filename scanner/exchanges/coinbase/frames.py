"""Coinbase benchmark stream: the simulator's ``l2_data`` encoder on one connection's
``sequence_num``. Coinbase has no best bid/offer stream the scanner uses: a ``top`` frame is
the ``level2`` update that moves the top (every level changed since the last frame)."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Coinbase


class CoinbaseWire(Wire):
    venue: Coinbase

    def __init__(self, venue: Coinbase):
        super().__init__(venue)
        self.seq = 0  # the connection's next sequence_num, shared by every product
        self.sent: dict[str, tuple[dict[int, int], dict[int, int]]] = {}  # levels a client holds

    def _message(self, kind: str, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        self.sent[book.symbol] = dict(book.bids.qty), dict(book.asks.qty)
        self.seq += 1
        return self.venue.message(self.venue.l2_frame(kind, book, bids, asks, wall_ms), self.seq - 1)

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        bids, asks = book.levels()
        return Snapshot(self._message("snapshot", book, bids, asks, wall_ms))

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        held_bids, held_asks = self.sent[book.symbol]
        return self._message("update", book, _changes(held_bids, book.bids.qty, True),
                             _changes(held_asks, book.asks.qty, False), wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        return self._message("update", book, bids, asks, wall_ms)


def _changes(held: dict[int, int], now: dict[int, int], bids: bool) -> Levels:
    """The levels that turn ``held`` into ``now`` (0 lots removes), best first."""
    levels = [(price, lots) for price, lots in now.items() if held.get(price) != lots]
    levels += [(price, 0) for price in held if price not in now]
    return sorted(levels, reverse=bids)
