"""Basis and carry: spot against perpetual (both ways), funding annualised from each perpetual's
own interval, the net carry of holding the hedge for a horizon after both legs' round-trip taker
fees, delivery futures' basis to expiry, and perpetual-vs-perpetual funding spreads.

Event-driven like the spread engine: `BasisEngine.on_book` re-prices the (spot, perp) pairs of
the book that changed and raises ``basis.opened`` / ``basis.closed`` when the net annualised carry
crosses ``[hedging] basis_open_annualized`` (closing below ``basis_close_annualized``: hysteresis),
one alert per perpetual naming its best spot leg (not one per spot exchange).
Metrics are read at scrape time from the books as they are. Only usable books and fresh funding
count: a figure whose inputs are stale is absent, never 0.

Net carry (the ``carry`` direction: buy spot at its ask, short the perpetual at its bid), as a
ratio of the spot notional over ``horizon_days``:
``entry basis (perp bid / spot ask - 1) + funding rate x fundings in the horizon
- 2 x spot taker fee - 2 x perp taker fee``; annualised x 365 / horizon_days. It assumes the basis
has closed by the exit and the funding rate stays as it is now.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from ..alerts.health import OpsAlert
from ..book import OrderBook
from ..config import HedgingConfig
from ..instruments import MarketType
from .funding import FundingState
from .margin import annualized_basis, annualized_funding, basis_bps

if TYPE_CHECKING:
    from ..engine.costs import CostModel

FundingBook = Mapping[tuple[str, str], FundingState]  # (exchange, symbol) -> its funding
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Carry:
    """One (spot, perp) pair priced now: basis both ways; funding and net carry when the
    perpetual's funding is fresh and its interval known (else None)."""

    asset: str
    quote: str
    spot_exchange: str
    perp_exchange: str
    spot_symbol: str
    perp_symbol: str
    spot_bid: float
    spot_ask: float
    perp_bid: float
    perp_ask: float
    carry_bps: float  # perp bid over spot ask: buy spot, short perp
    reverse_bps: float  # spot bid over perp ask: sell spot, long perp
    spot_fee_rate: float
    perp_fee_rate: float
    horizon_days: float
    funding_rate: float | None = None  # per interval
    funding_interval_hours: float | None = None
    funding_annualized: float | None = None
    net_ratio: float | None = None  # over the horizon, after fees
    net_annualized: float | None = None

    @property
    def round_trip_fees(self) -> float:
        """Both legs opened and closed at the taker fee, ratio of the notional."""
        return 2.0 * (self.spot_fee_rate + self.perp_fee_rate)

    def as_dict(self) -> dict:
        return {**asdict(self), "round_trip_fees": self.round_trip_fees}


def usable_funding(state: FundingState | None, now: float, max_age: float) -> FundingState | None:
    """``state`` if it is fresh and reports a rate and its interval; None otherwise."""
    if state is None or not state.is_fresh(now, max_age) or state.rate is None or not state.interval_seconds:
        return None
    return state


def carry(spot: OrderBook, perp: OrderBook, funding: FundingState | None, spot_fee: float, perp_fee: float,
          horizon_days: float) -> Carry:
    """The pair priced from the tops of two usable books and (already checked) usable ``funding``."""
    spot_bid, spot_ask = spot.best_bid(), spot.best_ask()
    perp_bid, perp_ask = perp.best_bid(), perp.best_ask()
    i = spot.instrument
    result = dict(asset=i.base, quote=i.quote, spot_exchange=spot.exchange, perp_exchange=perp.exchange,
                  spot_symbol=spot.symbol, perp_symbol=perp.symbol, spot_bid=spot_bid, spot_ask=spot_ask,
                  perp_bid=perp_bid, perp_ask=perp_ask, carry_bps=basis_bps(perp_bid, spot_ask),
                  reverse_bps=-basis_bps(perp_ask, spot_bid), spot_fee_rate=spot_fee, perp_fee_rate=perp_fee,
                  horizon_days=horizon_days)
    if funding is not None:
        hours = funding.interval_hours
        fundings = horizon_days * 24.0 / hours
        net = perp_bid / spot_ask - 1.0 + funding.rate * fundings - 2.0 * (spot_fee + perp_fee)
        result.update(funding_rate=funding.rate, funding_interval_hours=hours,
                      funding_annualized=annualized_funding(funding.rate, hours),
                      net_ratio=net, net_annualized=net * 365.0 / horizon_days)
    return Carry(**result)


class BasisEngine:
    """Basis, carry and funding spreads over the store's spot, perpetual and delivery books."""

    def __init__(self, books: Iterable[OrderBook], funding: FundingBook, costs: CostModel, config: HedgingConfig,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self.funding = funding
        self.costs = costs
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock
        books = [b for b in books if b.instrument is not None]
        spots = [b for b in books if b.instrument.type is MarketType.SPOT]
        perps = [b for b in books if b.instrument.type is MarketType.PERP and b.instrument.settle == b.instrument.quote]
        self.deliveries = [b for b in books if b.instrument.type is MarketType.DELIVERY
                           and b.instrument.settle == b.instrument.quote]
        self.pairs = [(s, p) for s in spots for p in perps
                      if (s.instrument.base, s.instrument.quote) == (p.instrument.base, p.instrument.quote)]
        self.delivery_pairs = [(s, d) for s in spots for d in self.deliveries
                               if (s.instrument.base, s.instrument.quote) == (d.instrument.base, d.instrument.quote)]
        self.perp_pairs = [(a, b) for a, b in itertools.permutations(perps, 2)
                           if a.exchange != b.exchange and a.instrument.base == b.instrument.base
                           and a.instrument.quote == b.instrument.quote]
        # alerts go by perpetual: (asset, perp exchange, perp symbol) -> its pairs, one per spot
        # book; the best of them speaks for the group (one funding move is one alert per
        # perpetual, not one per spot exchange)
        self.groups: dict[tuple[str, str, str], list[tuple[OrderBook, OrderBook]]] = {}
        for spot, perp in self.pairs:
            self.groups.setdefault((perp.instrument.base, perp.exchange, perp.symbol), []).append((spot, perp))
        self.by_symbol: dict[str, set[tuple[str, str, str]]] = {}  # symbol of a leg -> the groups it is in
        for key, pairs in self.groups.items():
            for pair in pairs:
                for book in pair:
                    self.by_symbol.setdefault(book.symbol, set()).add(key)
        self.open: dict[tuple[str, str, str], Carry] = {}  # group -> carry at open

    @property
    def watches(self) -> frozenset[str]:
        """Symbols whose book updates the engine needs (empty: no perpetual beside a spot book)."""
        return frozenset(self.by_symbol)

    def on_book(self, book: OrderBook) -> list[OpsAlert]:
        """A leg changed: re-price its pairs; the basis alerts they raise."""
        return self.update(book.symbol)

    def update(self, symbol: str) -> list[OpsAlert]:
        """Re-price the pairs with a leg of ``symbol``."""
        groups = self.by_symbol.get(symbol)
        return self._observe(groups, self.clock()) if groups else []

    def sweep(self) -> list[OpsAlert]:
        """Re-price every pair (funding moves without a book update; books go stale)."""
        return self._observe(self.groups, self.clock())

    def carries(self, now: float) -> list[Carry]:
        """Every pair whose two books are usable, priced now."""
        return [c for c in (self.price(s, p, now) for s, p in self.pairs) if c is not None]

    def price(self, spot: OrderBook, perp: OrderBook, now: float) -> Carry | None:
        if not (spot.is_usable(now) and perp.is_usable(now)):
            return None
        state = usable_funding(self.funding.get((perp.exchange, perp.symbol)), now, self.config.funding_max_age_seconds)
        return carry(spot, perp, state, self.costs.taker_fee(spot.instrument), self.costs.taker_fee(perp.instrument),
                     self.config.horizon_days)

    def best(self, key: tuple[str, str, str], now: float) -> Carry | None:
        """The group's best net carry priced now (None: no pair has a net figure)."""
        priced = [c for c in (self.price(s, p, now) for s, p in self.groups[key]) if c is not None
                  and c.net_annualized is not None]
        return max(priced, key=lambda c: c.net_annualized, default=None)

    def _observe(self, groups: Iterable[tuple[str, str, str]], now: float) -> list[OpsAlert]:
        alerts = []
        for key in groups:
            c = self.best(key, now)
            net = None if c is None else c.net_annualized
            was = self.open.get(key)
            if was is None and net is not None and net >= self.config.basis_open_annualized:
                self.open[key] = c
                alerts.append(self._alert("basis.opened", c, key))
            elif was is not None and (net is None or net < self.config.close_threshold):
                del self.open[key]
                alerts.append(self._alert("basis.closed", c or was, key, stale=net is None))
        return alerts

    def _alert(self, type_: str, c: Carry, key: tuple[str, str, str], stale: bool = False) -> OpsAlert:
        route = f"buy {c.spot_symbol} on {c.spot_exchange}, short {c.perp_symbol} on {c.perp_exchange}"
        if type_ == "basis.opened":
            detail = (f"{c.asset} carry {c.net_annualized:+.2%} a year net ({route}): basis {c.carry_bps:+.1f} bps,"
                      f" funding {c.funding_rate:+.4%} per {c.funding_interval_hours:g} h, round-trip fees"
                      f" {c.round_trip_fees * 1e4:.1f} bps over {c.horizon_days:g} days")
        elif stale:
            detail = f"{c.asset} carry ({route}) no longer priced: a book or the funding went stale"
        else:
            detail = f"{c.asset} carry ({route}) fell to {c.net_annualized:+.2%} a year net"
        data = {**c.as_dict(), "threshold_annualized": self.config.basis_open_annualized,
                "close_threshold_annualized": self.config.close_threshold, "stale": stale}
        return OpsAlert(type_, detail, exchange=c.perp_exchange, key=f"{key[1]} {key[2]}", data=data)

    def delivery_bases(self, now: float, wall: float) -> list[tuple[OrderBook, OrderBook, float]]:
        """(spot, delivery, simple annualised basis to expiry) of usable pairs: the future's bid
        over the spot ask (buy spot, sell the future), until the expiry."""
        result = []
        for spot, future in self.delivery_pairs:
            days = (future.instrument.expiry - wall) / DAY
            if days > 0 and spot.is_usable(now) and future.is_usable(now):
                result.append((spot, future, annualized_basis(future.best_bid(), spot.best_ask(), days)[0]))
        return result

    def funding_spreads(self, now: float) -> list[tuple[str, str, str, float]]:
        """(asset, long exchange, short exchange, annualised funding the short receives less what
        the long pays) for perpetuals of one asset on two exchanges, both fresh."""
        result = []
        max_age = self.config.funding_max_age_seconds
        for long, short in self.perp_pairs:
            a = usable_funding(self.funding.get((long.exchange, long.symbol)), now, max_age)
            b = usable_funding(self.funding.get((short.exchange, short.symbol)), now, max_age)
            if a is not None and b is not None:
                spread = annualized_funding(b.rate, b.interval_hours) - annualized_funding(a.rate, a.interval_hours)
                result.append((long.instrument.base, long.exchange, short.exchange, spread))
        return result

    def metric_families(self) -> list[Metric]:
        """arbscan_basis_bps, arbscan_carry_net_annualized_ratio, arbscan_delivery_basis_annualized_ratio,
        arbscan_funding_spread_annualized_ratio (every family declared, with or without series)."""
        now, wall = self.clock(), self.wall_clock()
        basis = GaugeMetricFamily("arbscan_basis_bps", "Perpetual over spot in bps of spot: carry = perp bid over"
                                  " spot ask, reverse = spot bid over perp ask (usable books only).",
                                  labels=["asset", "spot_exchange", "perp_exchange", "direction"])
        net = GaugeMetricFamily("arbscan_carry_net_annualized_ratio", "Net carry of buying spot and shorting the"
                                " perpetual for the configured horizon (entry basis + funding - round-trip taker"
                                " fees), annualised; absent without fresh funding.",
                                labels=["asset", "spot_exchange", "perp_exchange"])
        for c in self.carries(now):
            labels = [c.asset, c.spot_exchange, c.perp_exchange]
            basis.add_metric([*labels, "carry"], c.carry_bps)
            basis.add_metric([*labels, "reverse"], c.reverse_bps)
            if c.net_annualized is not None:
                net.add_metric(labels, c.net_annualized)
        delivery = GaugeMetricFamily("arbscan_delivery_basis_annualized_ratio", "A delivery future's bid over the"
                                     " spot ask, annualised (simple) to its expiry.",
                                     labels=["asset", "spot_exchange", "exchange", "symbol"])
        for spot, future, value in self.delivery_bases(now, wall):
            delivery.add_metric([spot.instrument.base, spot.exchange, future.exchange, future.symbol], value)
        spread = GaugeMetricFamily("arbscan_funding_spread_annualized_ratio", "Annualised funding of a short"
                                   " perpetual on one exchange less that of a long on another (each from its own"
                                   " interval): what the pair earns a year.",
                                   labels=["asset", "long_exchange", "short_exchange"])
        for asset, long, short, value in self.funding_spreads(now):
            spread.add_metric([asset, long, short], value)
        return [basis, net, delivery, spread]
