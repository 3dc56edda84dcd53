"""Bounded L2 order books with a validity state and two clocks.

Prices and sizes are floats on the hot path (the engine's maths is checked against a Decimal
oracle in the tests). Each side keeps a dict price -> size plus a sorted list of keys, so a
level update is one dict write and at most one bisect insert/delete, and best-first iteration
is a plain list walk. Bid keys are negated prices so both sides sort ascending best-first.
"""
from __future__ import annotations

from bisect import bisect_left
from enum import IntEnum
from typing import Iterator, Sequence

Level = Sequence  # [price, size, ...] as strings (wire) or numbers


class BookState(IntEnum):
    SYNCING = 0  # waiting for a snapshot, or resyncing after a gap
    LIVE = 1  # in sync and valid
    INVALID = 2  # failed validation (crossed); waits for a resync


class BookSide:
    """One side of a book, best level first.

    Levels are keyed by the exchange's own price text, so updating an existing level costs one
    dict write and no number parsing; only a new or removed level parses its price, to keep
    ``keys`` (floats, -price for bids, ascending) and ``names`` (the texts) in best-first order.
    Sizes stay text until read. An exchange prints one price one way, so the text is a key.
    """

    __slots__ = ("sizes", "keys", "names", "is_bid", "depth")

    def __init__(self, is_bid: bool, depth: int):
        self.sizes: dict[str, str] = {}
        self.keys: list[float] = []
        self.names: list[str] = []
        self.is_bid = is_bid
        self.depth = depth

    def clear(self) -> None:
        self.sizes.clear()
        self.keys.clear()
        self.names.clear()

    def __len__(self) -> int:
        return len(self.keys)

    def best(self) -> float | None:
        keys = self.keys
        if not keys:
            return None
        return -keys[0] if self.is_bid else keys[0]

    def size_at(self, price: float) -> float:
        """Size at ``price`` (0 if there is no level)."""
        key = -price if self.is_bid else price
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return float(self.sizes[self.names[i]])
        return 0.0

    def apply(self, levels: Sequence[Level]) -> None:
        """Apply wire levels ``[[price, size, ...], ...]`` (size 0 deletes), then trim to depth.

        An update at an existing price is one dict write; only a level that appears or goes
        parses its price, to place it by bisection in ``keys`` and ``names``.
        """
        sizes, keys, names, is_bid = self.sizes, self.keys, self.names, self.is_bid
        for level in levels:
            price, size = level[0], level[1]
            if price in sizes:
                if float(size) != 0.0:
                    sizes[price] = size
                    continue
                del sizes[price]
                key = -float(price) if is_bid else float(price)
                at = names.index(price, bisect_left(keys, key))
                del keys[at]
                del names[at]
            elif float(size) != 0.0:
                key = -float(price) if is_bid else float(price)
                if not keys or key > keys[-1]:
                    keys.append(key)
                    names.append(price)
                else:
                    at = bisect_left(keys, key)
                    keys.insert(at, key)
                    names.insert(at, price)
                sizes[price] = size
        if len(keys) > self.depth:
            self.trim()

    def apply_behind(self, levels: Sequence[Level], best: float) -> None:
        """Apply only levels strictly worse than ``best`` (the rest is known to be older)."""
        worse = [level for level in levels
                 if ((float(level[0]) < best) if self.is_bid else (float(level[0]) > best))]
        if worse:
            self.apply(worse)

    def set_best(self, price: str, size: str) -> None:
        """Make ``price`` the best level with ``size`` (positive): drop every better level.
        Fast paths: the best price is unchanged (one dict write), or it improved (nothing to
        drop, no bisection)."""
        names, sizes = self.names, self.sizes
        if names and names[0] == price:
            sizes[price] = size
            return
        keys = self.keys
        key = -float(price) if self.is_bid else float(price)
        if keys and key > keys[0]:
            cut = bisect_left(keys, key, 1)
            for name in names[:cut]:
                del sizes[name]
            del keys[:cut]
            del names[:cut]
        if price not in sizes:
            keys.insert(0, key)
            names.insert(0, price)
        sizes[price] = size

    def trim(self) -> None:
        sizes = self.sizes
        for name in self.names[self.depth:]:
            del sizes[name]
        del self.keys[self.depth:]
        del self.names[self.depth:]

    def levels(self) -> Iterator[tuple[float, float]]:
        """(price, size) pairs as numbers, best first."""
        sizes = self.sizes
        for name in self.names:
            yield float(name), float(sizes[name])

    def top(self, n: int) -> list[tuple[float, float]]:
        sizes = self.sizes
        return [(float(name), float(sizes[name])) for name in self.names[:n]]


class OrderBook:
    """The L2 book of one symbol on one exchange.

    ``seq`` chains the exchange's diff stream. ``version`` (sequence or timestamp, per exchange)
    orders the diff stream against a faster best-bid/offer stream: ``top_version`` is the
    version of the last top-of-book patch, so an older diff never overwrites a newer top and
    an older patch is never applied over a newer diff.
    """

    __slots__ = ("exchange", "symbol", "bids", "asks", "state", "seq", "version", "top_version",
                 "received_at", "exchange_time", "updates", "top")

    def __init__(self, exchange: str, symbol: str, depth: int = 50):
        self.exchange = exchange
        self.symbol = symbol
        self.bids = BookSide(True, depth)
        self.asks = BookSide(False, depth)
        self.state = BookState.SYNCING
        self.seq = 0
        self.version = 0
        self.top_version = 0
        self.received_at = 0.0  # local monotonic time of the last applied frame
        self.exchange_time = 0.0  # exchange event time of the last applied frame, unix seconds
        self.updates = 0
        self.top: tuple[float, float] | None = None  # (best bid, best ask) when two-sided

    def reset(self, state: BookState = BookState.SYNCING) -> None:
        self.bids.clear()
        self.asks.clear()
        self.top = None
        self.state = state
        self.seq = self.version = self.top_version = 0

    def load_snapshot(self, bids: Sequence[Level], asks: Sequence[Level], seq: int, version: int,
                      received_at: float, exchange_time: float = 0.0) -> None:
        self.bids.clear()
        self.asks.clear()
        self.bids.apply(bids)
        self.asks.apply(asks)
        self.seq = seq
        self.version = version
        self.top_version = 0
        self.state = BookState.SYNCING
        self._touched(received_at, exchange_time)

    def apply_diff(self, bids: Sequence[Level], asks: Sequence[Level], version: int,
                   received_at: float, exchange_time: float = 0.0) -> None:
        """Apply a diff; if a newer top-of-book patch exists, keep the top from it."""
        if version > self.version:
            self.version = version
        if version > self.top_version:
            self.bids.apply(bids)
            self.asks.apply(asks)
        else:
            best_bid, best_ask = self.bids.best(), self.asks.best()
            if bids:
                self.bids.apply(bids) if best_bid is None else self.bids.apply_behind(bids, best_bid)
            if asks:
                self.asks.apply(asks) if best_ask is None else self.asks.apply_behind(asks, best_ask)
        self._touched(received_at, exchange_time)

    def patch_top(self, bid: str, bid_size: str, ask: str, ask_size: str, version: int,
                  received_at: float, exchange_time: float = 0.0) -> bool:
        """Apply a best bid/offer update (exchange texts) newer than anything applied;
        False if it is stale."""
        if version <= self.top_version or version <= self.version:
            return False
        self.top_version = version
        if float(bid_size) > 0.0:
            self.bids.set_best(bid, bid_size)
        if float(ask_size) > 0.0:
            self.asks.set_best(ask, ask_size)
        self._touched(received_at, exchange_time)
        return True

    def _touched(self, received_at: float, exchange_time: float) -> None:
        self.received_at = received_at
        if exchange_time:
            self.exchange_time = exchange_time
        self.updates += 1
        bids, asks = self.bids.keys, self.asks.keys
        top = self.top = (-bids[0], asks[0]) if bids and asks else None
        if top is not None and top[0] >= top[1]:
            self.state = BookState.INVALID
        elif self.state is BookState.SYNCING:
            self.state = BookState.LIVE

    def best_bid(self) -> float | None:
        return self.bids.best()

    def best_ask(self) -> float | None:
        return self.asks.best()

    def is_usable(self, now: float, staleness: float) -> bool:
        """Live, two-sided and fresher than ``staleness`` seconds (monotonic clock)."""
        return (self.state is BookState.LIVE and bool(self.bids.keys) and bool(self.asks.keys)
                and now - self.received_at <= staleness)

    def __repr__(self) -> str:
        return (f"OrderBook({self.exchange} {self.symbol} {self.state.name} "
                f"bid={self.best_bid()} ask={self.best_ask()} seq={self.seq})")
