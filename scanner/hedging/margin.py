"""Funding, basis and isolated-margin liquidation, each exchange by its own formula (pure
functions on floats; the tests check them against the exchanges' worked examples in Decimal).

Sign conventions: ``side`` is +1 for a long position and -1 for a short; a positive funding
rate means longs pay shorts. Quantities are base units; OKX contracts convert to them through
the instrument's contract size before they get here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

HOURS_PER_YEAR = 24 * 365
EXCHANGES = ("binance", "okx", "bybit")  # the exchanges whose isolated liquidation formula is here
LONG, SHORT = 1, -1


@dataclass(frozen=True, slots=True)
class Tier:
    """One maintenance-margin tier: positions whose size (Binance, Bybit: notional in quote;
    OKX: base units) is in [floor, cap) keep ``mmr`` of their notional as maintenance margin,
    less ``deduction`` (Binance ``cum``, Bybit ``mmDeduction``; 0 at OKX)."""

    floor: float
    cap: float
    mmr: float
    deduction: float = 0.0
    max_leverage: float = 0.0


def funding_payment(size: float, mark: float, rate: float, side: int) -> float:
    """What the position pays at one funding time (negative: it receives), quote units:
    position value times the rate, paid by longs when the rate is positive."""
    return side * size * mark * rate


def annualized_funding(rate: float, interval_hours: float) -> float:
    """The rate per interval as a simple yearly ratio, from the instrument's own interval."""
    return rate * HOURS_PER_YEAR / interval_hours


def funding_per_day(size: float, mark: float, rate: float, side: int, interval_hours: float) -> float:
    """Funding paid in 24 hours at the current rate (negative: received)."""
    return funding_payment(size, mark, rate, side) * 24.0 / interval_hours


def basis_bps(perp_price: float, spot_price: float) -> float:
    """How far the derivative trades over spot, in bps of spot (carry: perp bid over spot ask)."""
    return (perp_price - spot_price) / spot_price * 1e4


def annualized_basis(future: float, spot: float, days: float) -> tuple[float, float]:
    """Basis to expiry as a yearly ratio: (simple, compounded)."""
    basis = future / spot - 1.0
    return basis * 365.0 / days, (future / spot) ** (365.0 / days) - 1.0


def tier_for(tiers: Sequence[Tier], size: float) -> Tier:
    """The tier holding ``size``; the last one beyond the table."""
    for tier in tiers:
        if tier.floor <= size < tier.cap:
            return tier
    return tiers[-1]


def binance_liquidation(side: int, size: float, entry: float, wallet: float, tiers: Sequence[Tier]) -> float:
    """USDⓈ-M isolated (one-way): LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q), with the tier
    the notional at LP falls in (Binance's FAQ); 0 when the position cannot be liquidated."""
    def price(tier: Tier) -> float:
        return (wallet + tier.deduction - side * size * entry) / (size * tier.mmr - side * size)

    for tier in tiers:
        if tier.floor <= size * price(tier) < tier.cap:
            return max(price(tier), 0.0)
    return max(price(tier_for(tiers, size * entry)), 0.0)


def okx_liquidation(side: int, size: float, entry: float, margin: float, mmr: float, fee: float) -> float:
    """Linear SWAP isolated: the margin ratio (margin + UPL) / value reaches mmr + fee.
    Long: (q*E - M) / (q*(1 - mmr - fee)); short: (q*E + M) / (q*(1 + mmr + fee))."""
    return max((size * entry - side * margin) / (size * (1.0 - side * (mmr + fee))), 0.0)


def bybit_liquidation(side: int, size: float, entry: float, leverage: float, mmr: float,
                      deduction: float = 0.0, extra_margin: float = 0.0) -> float:
    """USDT contract isolated: LP = entry -/+ (IM - MM)/size -/+ extra/size, IM = value/leverage,
    MM = value*MMR - mmDeduction (Bybit's help centre)."""
    value = size * entry
    initial, maintenance = value / leverage, value * mmr - deduction
    return max(entry - side * ((initial - maintenance) / size + extra_margin / size), 0.0)
