"""Instruments: one tradable market on one exchange, and the one reader of unified symbols.

Unified symbols follow ccxt: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (a perpetual settled in
USDT), ``BTC/USD:BTC`` (an inverse perpetual, settled in the base), ``BTC/USDT:USDT-261225`` (a
delivery future expiring on 25 December 2026, UTC). `parse_symbol` is the only code that takes
a symbol apart; everything else reads an `Instrument`'s fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum


class MarketType(str, Enum):
    """What is traded: the asset itself, a perpetual swap, or a future delivered at expiry."""

    SPOT = "spot"
    PERP = "perp"
    DELIVERY = "delivery"


_CODE = r"[A-Z0-9][A-Z0-9._]*"  # a currency code as ccxt writes it: "BTC", "1000PEPE", "USDC.E"
_SYMBOL = re.compile(rf"(?P<base>{_CODE})/(?P<quote>{_CODE})(?::(?P<settle>{_CODE})(?:-(?P<expiry>\d{{6}}))?)?")
_EXPIRY_FORMAT = "%y%m%d"


@dataclass(frozen=True, slots=True)
class Symbol:
    """A unified symbol taken apart: market type, assets and (delivery) expiry day."""

    type: MarketType
    base: str
    quote: str
    settle: str | None
    expiry: int | None  # unix seconds, midnight UTC of the expiry day


def parse_symbol(text: str) -> Symbol:
    """Read a ccxt unified symbol; ValueError (one line, with an example) for anything else.

    >>> parse_symbol("BTC/USDT:USDT-261225")
    Symbol(type=<MarketType.DELIVERY: 'delivery'>, base='BTC', quote='USDT', settle='USDT', expiry=1798156800)
    """
    match = _SYMBOL.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a unified symbol like 'BTC/USDT' (spot), 'BTC/USDT:USDT' (perpetual)"
                         " or 'BTC/USDT:USDT-261225' (delivery)")
    base, quote, settle, day = match.group("base", "quote", "settle", "expiry")
    if settle is None:
        return Symbol(MarketType.SPOT, base, quote, None, None)
    if day is None:
        return Symbol(MarketType.PERP, base, quote, settle, None)
    try:
        expiry = datetime.strptime(day, _EXPIRY_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"{text!r}: {day!r} is not an expiry date as YYMMDD") from None
    return Symbol(MarketType.DELIVERY, base, quote, settle, int(expiry.timestamp()))


def unified_symbol(type: MarketType, base: str, quote: str, settle: str | None = None,
                   expiry: float | None = None) -> str:
    """The ccxt unified symbol of a market (the inverse of `parse_symbol`)."""
    if type is MarketType.SPOT:
        return f"{base}/{quote}"
    if type is MarketType.PERP:
        return f"{base}/{quote}:{settle}"
    day = datetime.fromtimestamp(expiry or 0, timezone.utc).strftime(_EXPIRY_FORMAT)
    return f"{base}/{quote}:{settle}-{day}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One market on one exchange: what the books, the engine, costs and paper trade.

    ``id`` is the exchange's own market id ("BTCUSDT", "BTC-USDT-SWAP"). ``contract_size`` is
    base units per contract (1 for spot; a perpetual quoted in contracts, as OKX's swaps are,
    converts through it). ``tick`` and ``lot`` are price and amount increments (None: unknown),
    ``min_notional`` is in quote units, ``expiry`` unix seconds (delivery futures only).
    """

    exchange: str
    type: MarketType
    base: str
    quote: str
    settle: str | None
    id: str
    contract_size: float = 1.0
    tick: float | None = None
    lot: float | None = None
    min_notional: float | None = None
    expiry: int | None = None
    symbol: str = field(init=False, compare=False)  # the ccxt unified symbol, set from the fields

    def __post_init__(self) -> None:
        if (self.settle is None) != (self.type is MarketType.SPOT):
            raise ValueError(f"{self.exchange} {self.id}: a {self.type.value} market "
                             f"{'has no' if self.type is MarketType.SPOT else 'needs a'} settle currency")
        if (self.expiry is None) != (self.type is not MarketType.DELIVERY):
            raise ValueError(f"{self.exchange} {self.id}: a delivery future needs an expiry, other markets have none")
        if not self.contract_size > 0:
            raise ValueError(f"{self.exchange} {self.id}: contract size must be positive, got {self.contract_size}")
        object.__setattr__(self, "symbol", unified_symbol(self.type, self.base, self.quote, self.settle, self.expiry))

    def __hash__(self) -> int:  # equal instruments share exchange and symbol; cheap for fee caches
        return hash((self.exchange, self.symbol))

    @classmethod
    def of(cls, exchange: str, symbol: str, id: str, **details: float | None) -> Instrument:
        """The instrument of a unified ``symbol`` on ``exchange`` (``details``: contract_size,
        tick, lot, min_notional)."""
        parsed = parse_symbol(symbol)
        return cls(exchange, parsed.type, parsed.base, parsed.quote, parsed.settle, id,
                   expiry=parsed.expiry, **details)

    @property
    def is_spot(self) -> bool:
        return self.type is MarketType.SPOT

    @property
    def inverse(self) -> bool:
        """A derivative margined and settled in its base asset (``BTC/USD:BTC``)."""
        return self.settle is not None and self.settle == self.base

    def base_units(self, amount: float, price: float) -> float:
        """An amount as the exchange quotes it (contracts for a derivative) in base units at
        ``price``: a linear contract is ``contract_size`` base units, an inverse one is worth
        ``contract_size`` quote units (ccxt's convention)."""
        if self.inverse:
            return amount * self.contract_size / price
        return amount * self.contract_size
