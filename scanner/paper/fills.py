"""Filling paper orders against live books, in Decimal, without touching the books.

Amounts are fixed point: base quantities on a 1e-10 grid, quote amounts and fees on 1e-12, so
the ledger's sums are exact. Prices come from the book's floats via ``repr`` (the exchange's own
decimal text for any price it prints with up to 15 significant digits).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Iterable

from ..book import BookSide, OrderBook

QTY = Decimal("1e-10")  # base quantity grid
AMOUNT = Decimal("1e-12")  # quote amount and fee grid
ZERO = Decimal(0)


def dec(value: float) -> Decimal:
    """The shortest decimal that reads back as ``value``."""
    return Decimal(repr(value))


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def amount(value: Decimal) -> Decimal:
    """A quote amount or fee on the ledger's grid (half-even)."""
    return value.quantize(AMOUNT, ROUND_HALF_EVEN)


def amount_up(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT, ROUND_CEILING)


@dataclass(frozen=True, slots=True)
class Fill:
    """What one order took: ``quote`` is cost (buy) or proceeds (sell) before fees."""

    qty: Decimal
    quote: Decimal
    levels: tuple[tuple[Decimal, Decimal], ...]  # (price, qty) per level touched, best first

    @property
    def vwap(self) -> Decimal | None:
        return self.quote / self.qty if self.qty else None


Used = dict[float, Decimal]  # price -> size this trader took there


def take(levels: Iterable[tuple[float, float]], qty: Decimal, limit: float | None, is_buy: bool,
         used: Used, budget: Decimal | None = None) -> Fill:
    """Take up to ``qty`` from best-first ``levels``, no worse than ``limit`` (None: market).

    A level's size is reduced by what this trader already took there (``used``, updated in
    place). ``budget`` caps the quote spent by a buy (before fees).
    """
    left, quote, touched = qty, ZERO, []
    for price, size in levels:
        if left <= 0 or (limit is not None and (price > limit if is_buy else price < limit)):
            break
        taken = used.get(price, ZERO)
        room = dec(size) - taken
        if room <= 0:
            continue
        p = dec(price)
        step = min(left, room)
        if budget is not None:
            step = min(step, floor_to((budget - quote) / p, QTY))
            if step <= 0:
                break
        left -= step
        quote += step * p
        touched.append((p, step))
        used[price] = taken + step
    return Fill(qty - left, amount(quote), tuple(touched))


class Liquidity:
    """What this trader took from each book side, per price level.

    The books are the exchange's, so a paper fill cannot remove size from them. A real order
    would have taken the front of the level's queue, and every later change the exchange
    publishes (orders added, cancelled or filled) applies to what was left: so the taken size
    stays subtracted from the level for as long as the level exists. Once the exchange removes
    the level, a level at that price later is new liquidity.
    """

    def __init__(self) -> None:
        self._sides: dict[BookSide, Used] = {}

    def used(self, book: OrderBook, is_buy: bool) -> tuple[BookSide, Used]:
        """The side a buy (asks) or sell (bids) walks, with the sizes taken at its levels."""
        side = book.asks if is_buy else book.bids
        used = self._sides.setdefault(side, {})
        for price in [p for p in used if not side.size_at(p)]:
            del used[price]  # the level is gone (keeps the map as small as the book)
        return side, used
