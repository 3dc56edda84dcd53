"""An order book rebuilt independently of scanner.book, to check it level by level: two plain
dicts (price -> size) fed the exchange's texts, and what a client may know of them."""
from __future__ import annotations

import math

from scanner.book import OrderBook

Levels = list[tuple[float, float]]


class ReferenceBook:
    """Both sides as dicts; ``cut`` holds, per side, the worst price of a snapshot that was cut
    at its limit (levels past it are known only once they change), or None."""

    def __init__(self, bids: list, asks: list, limit: int | None = None):
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.apply(bids, asks)
        self.cut = {side: prices[-1][0] if limit is not None and len(prices) >= limit else None
                    for side, prices in ((True, self.levels(True)), (False, self.levels(False)))}

    def apply(self, bids: list, asks: list) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for level in levels:
                price, size = float(level[0]), float(level[1])
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)

    def levels(self, bids: bool) -> Levels:
        """Every level of one side, best first."""
        return sorted((self.bids if bids else self.asks).items(), reverse=bids)

    def known(self, bids: bool, depth: int) -> Levels:
        """The levels a client can vouch for: the best ``depth``, none past a cut snapshot's
        worst price."""
        cut = self.cut[bids]
        levels = self.levels(bids)[:depth]
        if cut is None:
            return levels
        return [(price, size) for price, size in levels if (price >= cut if bids else price <= cut)]


def assert_same(book: OrderBook, reference: ReferenceBook, depth: int, where: str) -> None:
    """Every level ``book`` holds is the reference's, and it reads exactly the known ones."""
    for bids, side in ((True, book.bids), (False, book.asks)):
        name = f"{where} {'bids' if bids else 'asks'}"
        assert side.top(len(side)) == reference.levels(bids), name
        assert list(side.levels()) == reference.known(bids, depth), name
    bid, ask = book.best_bid(), book.best_ask()  # and the best keys the engine's quiet pass reads
    assert (book.bid_key, book.ask_key) == (math.inf if bid is None else -bid,
                                            math.inf if ask is None else ask), f"{where} best keys"
