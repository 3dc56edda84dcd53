"""``arbscan hedge``: the perpetual order that hedges a spot holding (or a planned purchase),
what it costs and where it is liquidated, from one exchange's own formula and tiers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

from ..alerts.formats import duration
from .margin import (
    EXCHANGES, LONG, SHORT, Tier, binance_liquidation, bybit_liquidation, funding_per_day, funding_payment,
    okx_liquidation, tier_for,
)
from .tiers import BUILTIN, DEFAULT_TIERS, Tiers

SCENARIO_MOVES = (-0.20, -0.10, -0.05, 0.05, 0.10, 0.20)

SUPPORTED = EXCHANGES


@dataclass(frozen=True, slots=True)
class Market:
    """What the plan prices from: live (a few seconds of feeds) or given by the user."""

    spot: float  # spot price (mid) of the asset in the quote
    mark: float  # the perpetual's mark price
    funding_rate: float  # per interval, ratio
    funding_interval_hours: float
    seconds_to_funding: float | None = None
    taker_fee: float = 0.0005  # the perpetual's taker fee, ratio
    delivery_price: float | None = None  # the cheapest delivery future, if any
    delivery_days: float | None = None  # days to its expiry
    delivery_symbol: str | None = None  # which one (None: given by hand)


@dataclass(frozen=True, slots=True)
class Scenario:
    move: float  # price change, ratio
    price: float
    spot_pnl: float
    futures_pnl: float
    net: float
    liquidated: bool  # the futures leg was liquidated before the price got there


@dataclass(frozen=True)
class HedgePlan:
    asset: str
    quote: str
    exchange: str
    direction: str  # "short" hedges spot held; "long" hedges a planned purchase
    size: float  # base units, equal to the spot quantity
    entry: float
    notional: float
    leverage: float
    margin_mode: str
    margin: float  # quote set aside for the position
    liquidation_price: float
    liquidation_distance: float  # ratio of the entry, toward liquidation
    maintenance_rate: float
    tiers_origin: str  # where the maintenance tiers came from (`scanner.hedging.tiers.tiers_for`)
    funding_rate: float
    funding_interval_hours: float
    funding_per_day: float  # paid (negative: received)
    funding_to_next: float | None
    seconds_to_funding: float | None
    open_fee: float
    close_fee: float
    scenarios: list[Scenario] = field(default_factory=list)
    delivery_symbol: str | None = None
    delivery_price: float | None = None
    delivery_days: float | None = None
    delivery_basis_annualized: float | None = None
    delivery_cost: float | None = None  # what holding the delivery future to expiry costs or earns

    def as_dict(self) -> dict:
        return asdict(self)


def liquidation_price(exchange: str, side: int, size: float, entry: float, leverage: float, margin: float,
                      tiers: Sequence[Tier], fee: float) -> tuple[float, float]:
    """(liquidation price, maintenance rate) by the exchange's own isolated formula and tiers."""
    notional = size * entry
    if exchange == "binance":
        price = binance_liquidation(side, size, entry, margin, tiers)
        return price, tier_for(tiers, size * price).mmr
    if exchange == "okx":
        tier = tier_for(tiers, size)
        return okx_liquidation(side, size, entry, margin, tier.mmr, fee), tier.mmr
    if exchange == "bybit":
        tier = tier_for(tiers, notional)
        extra = margin - notional / leverage  # margin added over the initial margin
        return bybit_liquidation(side, size, entry, leverage, tier.mmr, tier.deduction, extra), tier.mmr
    raise ValueError(f"no liquidation formula for {exchange!r}; supported: {', '.join(SUPPORTED)}")


def plan(asset: str, quote: str, size: float, exchange: str, leverage: float, market: Market,
         direction: str = "short", margin_mode: str = "isolated", collateral: float | None = None,
         tiers: Tiers | None = None) -> HedgePlan:
    """The hedge of ``size`` ``asset``: a perpetual position of the same size opened at the
    mark price. ``collateral`` (cross margin) is what backs the position instead of
    notional/leverage. ``tiers``: the perpetual's (`tiers_for`); the built-in defaults without."""
    side = SHORT if direction == "short" else LONG
    tiers = tiers or Tiers(DEFAULT_TIERS[exchange], BUILTIN)
    entry = market.mark
    notional = size * entry
    margin = notional / leverage if collateral is None else collateral
    liq, mmr = liquidation_price(exchange, side, size, entry, leverage, margin, tiers.tiers, market.taker_fee)
    distance = (liq - entry) / entry * side * -1.0 if liq > 0 else float("inf")
    per_interval = funding_payment(size, market.mark, market.funding_rate, side)
    scenarios = [scenario(move, size, market.spot, entry, side, liq) for move in SCENARIO_MOVES]
    delivery_basis = delivery_cost = None
    if market.delivery_price is not None and market.delivery_days:
        delivery_basis = (market.delivery_price / market.spot - 1.0) * 365.0 / market.delivery_days
        delivery_cost = side * size * (market.delivery_price - market.spot)  # the basis converges away
    return HedgePlan(
        asset=asset, quote=quote, exchange=exchange, direction=direction, size=size, entry=entry,
        notional=notional, leverage=leverage, margin_mode=margin_mode, margin=margin,
        liquidation_price=liq, liquidation_distance=distance, maintenance_rate=mmr, tiers_origin=tiers.origin,
        funding_rate=market.funding_rate, funding_interval_hours=market.funding_interval_hours,
        funding_per_day=funding_per_day(size, market.mark, market.funding_rate, side, market.funding_interval_hours),
        funding_to_next=per_interval if market.seconds_to_funding is not None else None,
        seconds_to_funding=market.seconds_to_funding,
        open_fee=notional * market.taker_fee, close_fee=notional * market.taker_fee,
        scenarios=scenarios, delivery_symbol=market.delivery_symbol, delivery_price=market.delivery_price,
        delivery_days=market.delivery_days, delivery_basis_annualized=delivery_basis, delivery_cost=delivery_cost)


def scenario(move: float, size: float, spot: float, entry: float, side: int, liquidation: float) -> Scenario:
    """Spot and futures PnL if the price moves by ``move``: the spot held (short hedge) or the
    purchase still to make (long hedge) against the perpetual; a move past the liquidation
    price loses the margin instead."""
    price = spot * (1.0 + move)
    spot_pnl = -side * size * (price - spot)  # held spot gains when a short hedge loses
    futures_pnl = side * size * (price - entry)
    liquidated = liquidation > 0 and (price - liquidation) * side <= 0
    if liquidated:
        futures_pnl = side * size * (liquidation - entry)
    return Scenario(move, price, spot_pnl, futures_pnl, spot_pnl + futures_pnl, liquidated)


def render(p: HedgePlan) -> str:
    """The plan as text a user can follow."""
    action = "SELL (open short)" if p.direction == "short" else "BUY (open long)"
    side_word = "above" if p.direction == "short" else "below"
    lines = [
        f"Hedge {p.size:g} {p.asset} on {p.exchange} ({p.asset}/{p.quote}:{p.quote} perpetual, "
        f"{p.margin_mode} margin, {p.leverage:g}x)",
        "",
        f"  order            {action} {p.size:g} {p.asset} at ~{p.entry:,.2f} (mark)",
        f"  notional         {p.notional:,.2f} {p.quote}",
        f"  margin           {p.margin:,.2f} {p.quote}",
        f"  liquidation      {p.liquidation_price:,.2f} ({abs(p.liquidation_distance):.2%} {side_word} the entry, "
        f"{abs(p.liquidation_price - p.entry):,.2f} {p.quote} away; maintenance {p.maintenance_rate:.2%})",
        f"  tiers            {p.tiers_origin}",
        f"  funding          {p.funding_rate:+.4%} per {p.funding_interval_hours:g} h: "
        f"{_paid(p.funding_per_day)} {abs(p.funding_per_day):,.2f} {p.quote} per day"
        + (f", {_paid(p.funding_to_next)} {abs(p.funding_to_next):,.2f} at the next funding time"
           f" (in {duration(p.seconds_to_funding)})" if p.funding_to_next is not None else ""),
        f"  fees             open {p.open_fee:,.2f} + close {p.close_fee:,.2f} {p.quote} (taker)",
    ]
    if p.delivery_basis_annualized is not None:
        verb = "sell" if p.direction == "short" else "buy"
        lines += [f"  delivery future  or {verb} {p.size:g} {p.asset} of {p.delivery_symbol or 'the future'} at "
                  f"~{p.delivery_price:,.2f}, {p.delivery_days:,.1f} days to expiry: no funding, basis "
                  f"{p.delivery_basis_annualized:+.2%} a year;",
                  f"                   held to expiry it {_paid(p.delivery_cost)} "
                  f"{abs(p.delivery_cost):,.2f} {p.quote}"]
    lines += ["", f"  {'move':>6} {'price':>12} {'spot PnL':>12} {'futures PnL':>12} {'net':>12}"]
    for s in p.scenarios:
        mark = "  liquidated" if s.liquidated else ""
        lines.append(f"  {s.move:>+6.0%} {s.price:>12,.2f} {s.spot_pnl:>12,.2f} {s.futures_pnl:>12,.2f} "
                     f"{s.net:>12,.2f}{mark}")
    return "\n".join(lines)


def _paid(amount: float | None) -> str:
    return "pays" if (amount or 0.0) > 0 else "receives"
