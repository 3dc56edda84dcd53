"""KuCoin benchmark stream: the simulator's KuCoin encoder (level2 diffs sequenced from the REST
snapshot's ``sequence``). KuCoin has no faster top-of-book channel: a top frame is the level2
diff of what the top change did (the wire keeps the levels it has shown, to know)."""
from __future__ import annotations

from ...bench.frames import Snapshot, Wire
from ...sim.market import Levels, VenueBook
from .sim import Kucoin

SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100"


class KucoinWire(Wire):
    venue: Kucoin

    def __init__(self, venue: Kucoin):
        super().__init__(venue)
        self.shown: dict[str, tuple[dict[int, int], dict[int, int]]] = {}  # price -> lots

    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        params = {"symbol": book.instrument.id}
        _, body = self.venue.rest(SNAPSHOT_PATH, params)
        bids, asks = book.levels()
        self.shown[book.symbol] = dict(bids), dict(asks)
        return Snapshot(body, SNAPSHOT_PATH, params)

    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        bids, asks = book.levels()
        shown_bids, shown_asks = self.shown[book.symbol]
        return self.venue.l2update(book, _changes(shown_bids, bids), _changes(shown_asks, asks),
                                   wall_ms)

    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        for shown, levels in zip(self.shown[book.symbol], (bids, asks)):
            for price, lots in levels:
                if lots:
                    shown[price] = lots
                else:
                    shown.pop(price, None)
        return self.venue.l2update(book, bids, asks, wall_ms)


def _changes(shown: dict[int, int], levels: Levels) -> Levels:
    """What turns the ``shown`` levels into ``levels`` (0 lots: removed); ``shown`` follows."""
    now = dict(levels)
    changes = [(price, lots) for price, lots in levels if shown.get(price) != lots]
    changes += [(price, 0) for price in shown if price not in now]
    shown.clear()
    shown.update(now)
    return changes
