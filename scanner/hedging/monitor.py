"""The hedge monitor: each ``[[hedges]]`` entry marked to the live books and funding.

Marks: spot legs at their book's mid; the perpetual at its exchange's mark price (the price
liquidation is triggered by) while its funding report is fresh, else at its book's mid.
Liquidation price, and the margin that restores ``min_liquidation_distance``, come from the
exchange's own isolated formula (`scanner.hedging.plan.liquidation_price`; a cross-margin leg
is treated as isolated with its configured collateral) and the perpetual's tiers
(`scanner.hedging.tiers.tiers_for`: config override, metadata, built-in defaults).

Funding accumulated since entry is an estimate: every funding time since the entry is paid at
the rate (and mark) the monitor last saw before it; funding times before the monitor first saw
the funding (arbscan not yet running) are counted back from the next funding time in steps of
the instrument's interval and priced at the first rate and mark it saw. Positive: paid.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from ..alerts.health import OpsAlert
from ..book import OrderBook
from ..config import HedgeConfig, HedgingConfig
from ..instruments import MarketType, parse_symbol, unified_symbol
from .basis import usable_funding
from .funding import FundingState
from .margin import LONG, SHORT, Tier, funding_payment
from .plan import liquidation_price
from .tiers import tiers_for

if TYPE_CHECKING:
    from ..engine.costs import CostModel
    from ..metadata import Metadata

Books = Mapping[tuple[str, str], OrderBook]
Funding = Mapping[tuple[str, str], FundingState]
LIQUIDATION_CLEAR = 1.1  # the liquidation alert clears at this multiple of the minimum distance
SOLVER_STEPS = 8


@dataclass(frozen=True, slots=True)
class HedgeStatus:
    """One hedge as it stands. None: not known now (a book or the funding is missing)."""

    name: str
    asset: str
    quote: str
    spot_quantity: float  # base units over every spot leg
    perp_size: float  # base units, negative for a short
    spot_price: float | None  # mid over the spot legs' books (quantity-weighted)
    mark: float | None  # the perpetual's mark (or its book's mid)
    ratio: float | None  # |perp size| / spot quantity
    net_exposure: float  # spot quantity + perp size, base units
    liquidation_price: float | None
    liquidation_distance: float | None  # ratio of the mark, toward liquidation; inf: cannot be liquidated
    margin_to_add: float | None  # quote that moves the liquidation back to min_liquidation_distance
    funding_paid: float  # since entry, quote (negative: received)
    funding_next: float | None  # expected at the next funding time, quote (negative: received)
    next_funding_time: float | None
    missing: tuple[str, ...] = ()  # the legs that are gone (book unusable, or quantity 0 against an open leg)

    @property
    def net_exposure_quote(self) -> float | None:
        price = self.spot_price or self.mark
        return None if price is None else self.net_exposure * price


@dataclass(slots=True)
class _Funding:
    """Funding accumulated by one hedge: the next funding time, rate and mark last seen."""

    paid: float = 0.0
    next_time: float | None = None
    rate: float = 0.0
    mark: float = 0.0


@dataclass(slots=True)
class _Episodes:
    """When each alert condition of one hedge started, and whether it alerted."""

    since: dict[str, float] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)


def margin_for_distance(exchange: str, side: int, size: float, entry: float, leverage: float, margin: float,
                        tiers: Sequence[Tier], fee: float, mark: float, distance: float) -> float:
    """The margin (quote) that puts the liquidation price ``distance`` (ratio of ``mark``) away from
    ``mark`` on the losing side, solved on the exchange's own formula: the liquidation price is
    affine in the margin within one tier, so a secant step lands on it; a tier change takes a
    few more."""
    target = mark * (1.0 - side * distance)

    def gap(m: float) -> float:
        return liquidation_price(exchange, side, size, entry, leverage, m, tiers, fee)[0] - target

    a, b = margin, margin + max(size * entry, 1.0)
    ga, gb = gap(a), gap(b)
    for _ in range(SOLVER_STEPS):
        if gb == ga:
            break
        a, ga, b = b, gb, b - gb * (b - a) / (gb - ga)
        gb = gap(b)
        if abs(gb) <= 1e-9 * target:
            break
    return b


class HedgeMonitor:
    """Marks every configured hedge and raises its alerts (edge-triggered, with hysteresis)."""

    def __init__(self, hedges: Sequence[HedgeConfig], books: Books, funding: Funding, costs: CostModel,
                 config: HedgingConfig, metadata: Metadata | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.hedges = list(hedges)
        self.books = books
        self.funding = funding
        self.costs = costs
        self.config = config
        self.tiers = {h.name: tiers_for(h.perp.exchange, h.perp.symbol, metadata, config).tiers for h in self.hedges}
        self.clock = clock
        self.accrued = {h.name: _Funding() for h in self.hedges}
        self.episodes = {h.name: _Episodes() for h in self.hedges}
        self.latest: dict[str, HedgeStatus] = {}

    def status(self, hedge: HedgeConfig, now: float) -> HedgeStatus:
        """``hedge`` marked now (updates its funding accumulated)."""
        perp = hedge.perp
        perp_book = self.books.get((perp.exchange, perp.symbol))
        perp_ok = perp_book is not None and perp_book.is_usable(now)
        state = usable_funding(self.funding.get((perp.exchange, perp.symbol)), now, self.config.funding_max_age_seconds)
        mark = state.mark_price if state is not None and state.mark_price else (
            (perp_book.best_bid() + perp_book.best_ask()) / 2.0 if perp_ok else None)
        spot_quantity = sum(hedge.spot.values())
        missing = [f"spot {exchange}" for exchange, quantity in hedge.spot.items() if quantity > 0
                   and not _usable(self.books.get((exchange, _spot_symbol(hedge))), now)]
        if perp.size and not perp_ok:
            missing.append(f"perp {perp.exchange}")
        if perp.size and not spot_quantity:
            missing.append("spot quantity 0")
        if spot_quantity and not perp.size:
            missing.append("perp size 0")
        spot_price = self._spot_mid(hedge, now)
        side = SHORT if perp.size < 0 else LONG
        size = abs(perp.size)
        liq = distance = add = None
        funding_next = None
        if mark is not None and size:
            tiers = self.tiers[hedge.name]
            fee = self.costs.taker_fee(perp_book.instrument) if perp_book is not None else 0.0
            liq = liquidation_price(perp.exchange, side, size, perp.entry_price, perp.leverage, perp.margin, tiers, fee)[0]
            distance = -side * (liq - mark) / mark if liq > 0 else math.inf
            needed = margin_for_distance(perp.exchange, side, size, perp.entry_price, perp.leverage, perp.margin,
                                         tiers, fee, mark, hedge.min_liquidation_distance)
            add = max(needed - perp.margin, 0.0)
        if state is not None and mark is not None and size:
            funding_next = funding_payment(size, mark, state.rate, side)
            self._accrue(hedge, state, mark, funding_next)
        return HedgeStatus(
            name=hedge.name, asset=hedge.asset, quote=_quote(hedge), spot_quantity=spot_quantity, perp_size=perp.size,
            spot_price=spot_price, mark=mark, ratio=size / spot_quantity if spot_quantity else None,
            net_exposure=spot_quantity + perp.size, liquidation_price=liq, liquidation_distance=distance,
            margin_to_add=add, funding_paid=self.accrued[hedge.name].paid, funding_next=funding_next,
            next_funding_time=state.next_funding_time if state is not None else None, missing=tuple(missing))

    def _accrue(self, hedge: HedgeConfig, state: FundingState, mark: float, payment: float) -> None:
        """Add the funding times passed since the last look (see the module's note)."""
        acc = self.accrued[hedge.name]
        nxt, interval = state.next_funding_time, state.interval_seconds
        if nxt is None:
            return
        entry = hedge.perp.entry_time.timestamp()
        if acc.next_time is None:  # first look: the funding times between the entry and now
            passed = max(math.ceil((nxt - entry) / interval) - 1, 0)
            acc.paid += passed * payment
        elif nxt > acc.next_time and acc.next_time > entry:
            times = max(round((nxt - acc.next_time) / interval), 1)
            acc.paid += times * funding_payment(abs(hedge.perp.size), acc.mark, acc.rate,
                                                SHORT if hedge.perp.size < 0 else LONG)
        acc.next_time, acc.rate, acc.mark = nxt, state.rate, mark

    def _spot_mid(self, hedge: HedgeConfig, now: float) -> float | None:
        held = [(self.books.get((exchange, _spot_symbol(hedge))), quantity)
                for exchange, quantity in hedge.spot.items()]
        mids = [((b.best_bid() + b.best_ask()) / 2.0, q) for b, q in held if _usable(b, now)]
        weight = sum(q for _, q in mids)
        if not mids:
            return None
        if not weight:
            return mids[0][0]
        return sum(m * q for m, q in mids) / weight

    def observe(self) -> list[OpsAlert]:
        """Mark every hedge; the alerts that start now."""
        now = self.clock()
        alerts = []
        for hedge in self.hedges:
            s = self.latest[hedge.name] = self.status(hedge, now)
            alerts += self._alerts(hedge, s, now)
        return alerts

    def _alerts(self, hedge: HedgeConfig, s: HedgeStatus, now: float) -> list[OpsAlert]:
        ep = self.episodes[hedge.name]
        q = s.quote
        conditions = {  # type -> (raised, cleared, detail)
            "hedge.leg_missing": (bool(s.missing), not s.missing,
                                  f"hedge {s.name}: {', '.join(s.missing)} gone while the other leg is open"),
        }
        if s.ratio is not None:
            drift = abs(s.ratio - 1.0)
            conditions["hedge.drift"] = (
                drift > hedge.max_ratio_drift, drift <= hedge.max_ratio_drift / 2,
                f"hedge {s.name}: ratio {s.ratio:.4f} ({drift:.2%} off 1, tolerance {hedge.max_ratio_drift:.2%}),"
                f" net exposure {s.net_exposure:+g} {s.asset}")
        if s.liquidation_distance is not None:
            conditions["hedge.liquidation_risk"] = (
                s.liquidation_distance < hedge.min_liquidation_distance,
                s.liquidation_distance >= hedge.min_liquidation_distance * LIQUIDATION_CLEAR,
                f"hedge {s.name}: liquidation at {s.liquidation_price:,.2f}, {s.liquidation_distance:.2%} from the"
                f" mark {s.mark:,.2f}; add {s.margin_to_add:,.2f} {q} margin to get back to"
                f" {hedge.min_liquidation_distance:.0%}")
        if hedge.funding_alert is not None and s.funding_next is not None:
            conditions["hedge.funding"] = (
                s.funding_next >= hedge.funding_alert, s.funding_next < hedge.funding_alert / 2,
                f"hedge {s.name}: pays {s.funding_next:,.2f} {q} at the next funding time (alert at"
                f" {hedge.funding_alert:,.2f}); {s.funding_paid:+,.2f} {q} since entry")
        alerts = []
        for type_, (raised, cleared, detail) in conditions.items():
            hold = self.config.leg_missing_seconds if type_ == "hedge.leg_missing" else 0.0
            if raised:
                start = ep.since.setdefault(type_, now)
                if type_ not in ep.alerted and now - start >= hold:
                    ep.alerted.add(type_)
                    alerts.append(OpsAlert(type_, detail, exchange=hedge.perp.exchange, key=hedge.name,
                                           data=self.payload(hedge, s)))
            elif cleared:
                ep.since.pop(type_, None)
                ep.alerted.discard(type_)
        return alerts

    def payload(self, hedge: HedgeConfig, s: HedgeStatus) -> dict:
        """The webhook fields of a hedge alert."""
        return {"hedge": s.name, "asset": s.asset, "quote": s.quote, "perp_exchange": hedge.perp.exchange,
                "perp_symbol": hedge.perp.symbol, "spot_quantity": s.spot_quantity, "perp_size": s.perp_size,
                "ratio": s.ratio, "max_ratio_drift": hedge.max_ratio_drift, "net_exposure": s.net_exposure,
                "net_exposure_quote": s.net_exposure_quote, "spot_price": s.spot_price, "mark_price": s.mark,
                "liquidation_price": s.liquidation_price,
                "liquidation_distance": s.liquidation_distance if s.liquidation_distance != math.inf else None,
                "min_liquidation_distance": hedge.min_liquidation_distance, "margin": hedge.perp.margin,
                "margin_to_add": s.margin_to_add, "funding_paid": s.funding_paid, "funding_next": s.funding_next,
                "next_funding_time": s.next_funding_time, "missing": list(s.missing)}

    def metric_families(self) -> list[Metric]:
        """arbscan_hedge_ratio, _net_exposure (base units), _liquidation_distance_ratio, _funding_paid
        (quote, since entry; negative when received), per hedge, as last observed."""
        ratio = GaugeMetricFamily("arbscan_hedge_ratio", "|perpetual size| / spot quantity of a configured hedge.",
                                  labels=["hedge"])
        exposure = GaugeMetricFamily("arbscan_hedge_net_exposure", "Spot quantity plus perpetual size of a hedge,"
                                     " base units.", labels=["hedge"])
        distance = GaugeMetricFamily("arbscan_hedge_liquidation_distance_ratio", "How far the perpetual leg's"
                                     " liquidation price is from its mark, ratio of the mark.", labels=["hedge"])
        paid = GaugeMetricFamily("arbscan_hedge_funding_paid", "Funding paid by a hedge's perpetual leg since entry"
                                 " (estimate), quote units; negative when received.", labels=["hedge"])
        for s in self.latest.values():
            if s.ratio is not None:
                ratio.add_metric([s.name], s.ratio)
            exposure.add_metric([s.name], s.net_exposure)
            if s.liquidation_distance is not None:
                distance.add_metric([s.name], s.liquidation_distance)
            paid.add_metric([s.name], s.funding_paid)
        return [ratio, exposure, distance, paid]


def _usable(book: OrderBook | None, now: float) -> bool:
    return book is not None and book.is_usable(now)


def _quote(hedge: HedgeConfig) -> str:
    return parse_symbol(hedge.perp.symbol).quote


def _spot_symbol(hedge: HedgeConfig) -> str:
    """The spot book of the hedged asset in the perpetual's quote."""
    return unified_symbol(MarketType.SPOT, hedge.asset, _quote(hedge))
