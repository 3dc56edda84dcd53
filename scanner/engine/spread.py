"""The spread engine: on a book change, price every ordered exchange pair of that symbol and
turn the result into opportunity lifecycle events (opened / updated / closed). No I/O.

Books are paired only with books of the same market type and base asset whose base the
metadata does not call two different assets (a ticker collision: the pair is skipped, logged
once and counted in ``skipped``); the transfer leg (moving the base from the buy exchange to
the sell exchange) exists only where both legs are spot: derivative positions are not moved.

Pairs of one unified symbol are evaluated per symbol. Pairs whose quotes differ (two
stablecoins, `scanner.stablecoins.STABLECOINS`: BTC/USDC against BTC/USDT) are cross-quote:
evaluated when either leg or a conversion book (the two quotes' spot book, either way round,
on any exchange) changes, and priced through the best usable conversion book
(`scanner.engine.pricing.price_cross`). Without one they are not compared (``waiting``).

The common case is a symbol with nothing open, where no pair crosses after fees; one pass over
its books proves that (``_quiet``) and the pairs are not walked.
"""
from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..book import OrderBook
from ..config import ScannerConfig
from ..instruments import Instrument, MarketType
from ..stablecoins import STABLECOINS
from .opportunity import EventType, Opportunity, OpportunityEvent, TransferStatus, pair_symbol
from .pricing import ConversionBook, gross_spread_bps, price_cross, price_trade, top_rate

if TYPE_CHECKING:
    from .costs import CostModel

log = logging.getLogger(__name__)

PairKey = tuple[str, str, str]  # (symbol, buy_exchange, sell_exchange); symbol: `pair_symbol`
Pair = tuple[PairKey, OrderBook, OrderBook]  # (key, buy, sell)
CrossPair = tuple[PairKey, OrderBook, OrderBook, list[OrderBook]]  # (key, buy, sell, conversion books)
Emit = Callable[[list[OpportunityEvent]], None]
_INF = float("inf")
NO_TRANSFER = (TransferStatus.NONE, None, 0.0)  # derivative legs: nothing to move


@dataclass(slots=True)
class OpenOpportunity:
    """Lifecycle state of an opportunity while it is open."""

    id: str
    first_seen: float
    last_seen: float
    peak_net_profit: float
    latest: Opportunity

    def event(self, kind: EventType, reason: str | None = None) -> OpportunityEvent:
        event_id = self.id if kind is not EventType.CLOSED else f"{self.id}.closed"
        return OpportunityEvent(kind, self.latest, event_id, self.first_seen, self.last_seen,
                                self.peak_net_profit, reason)


class TakerLeg:
    """A book with its taker fee as the quiet pass applies it: a buy pays ``buy_mult`` times
    the ask, a sale receives ``sell_mult`` times the bid (one compact object per book)."""

    def __init__(self, book: OrderBook, fee: float):
        self.book = book
        self.buy_mult = 1.0 + fee
        self.sell_mult = 1.0 - fee


class BookStore:
    """All books, by (exchange, symbol) and by symbol."""

    def __init__(self, listings: dict[str, list[Instrument]], staleness: dict[str, float],
                 conversions: dict[str, list[Instrument]] | None = None):
        """``listings``: exchange -> the instruments scanned there (`scanner.checks.listings`);
        ``staleness``: exchange -> seconds without a change after which its books are not used;
        ``conversions``: exchange -> stablecoin books kept only to convert between quotes
        (`scanner.checks.conversion_listings`), never paired with each other.
        Each exchange's adapter sets how deep its channel keeps the books."""
        extra = conversions or {}
        self.books = {(ex, i.symbol): OrderBook(ex, i.symbol, staleness=staleness[ex], instrument=i)
                      for ex in dict.fromkeys([*listings, *extra])
                      for i in [*listings.get(ex, ()), *extra.get(ex, ())]}
        scanned = {i.symbol for instruments in listings.values() for i in instruments}
        self.conversion_only = {i.symbol for instruments in extra.values() for i in instruments} - scanned
        self.by_symbol: dict[str, list[OrderBook]] = {}
        for book in self.books.values():
            self.by_symbol.setdefault(book.symbol, []).append(book)

    def for_exchange(self, exchange: str) -> dict[str, OrderBook]:
        return {sym: book for (ex, sym), book in self.books.items() if ex == exchange}


class SpreadEngine:
    """Prices cross-exchange trades for a symbol and tracks their lifecycle."""

    def __init__(self, store: BookStore, costs: CostModel, config: ScannerConfig,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex):
        """``new_id`` names each opportunity lifecycle: unique across runs by default (webhook
        receivers deduplicate on it); replay passes a deterministic one."""
        self.store = store
        self.costs = costs
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock
        self.new_id = new_id
        self.emit: Emit | None = None  # receives the events of ``update`` (when there are any)
        self.open: dict[PairKey, OpenOpportunity] = {}
        self.suspect: set[PairKey] = set()
        self.opened_total: Counter[PairKey] = Counter()
        self.suspects_total: Counter[PairKey] = Counter()
        self.evaluations = 0
        self.last_evaluated_at = 0.0  # monotonic
        self.skipped: dict[PairKey, str] = {}  # pairs whose bases are different assets -> why
        self.waiting: set[PairKey] = set()  # cross-quote pairs with live legs and no usable rate
        self.pairs: dict[str, list[Pair]] = {}  # symbol -> its same-symbol pairs
        self.cross: dict[str, list[CrossPair]] = {}  # symbol of a leg or conversion book -> cross pairs
        conversions = self._conversion_books()
        groups: dict[tuple[MarketType, str], list[OrderBook]] = {}
        for book in store.books.values():
            groups.setdefault((book.instrument.type, book.instrument.base), []).append(book)
        for buy, sell in (pair for books in groups.values() for pair in itertools.permutations(books, 2)):
            if comparable(buy.instrument, sell.instrument) and not (
                    buy.symbol in store.conversion_only and sell.symbol in store.conversion_only):
                self._add_pair(buy, sell, conversions)
        for symbol in store.by_symbol:
            self.pairs.setdefault(symbol, [])
        self._home = {pair[0][0]: pair[1].symbol for pairs in self.cross.values() for pair in pairs}
        self._held = dict.fromkeys([*store.by_symbol, *self._home], 0)  # pair symbol -> its pairs open or suspect
        self._legs: dict[str, list[TakerLeg]] = {}  # symbol -> its books with their taker fees

    def _add_pair(self, buy: OrderBook, sell: OrderBook, conversions: dict[frozenset[str], list[OrderBook]]) -> None:
        key = (pair_symbol(buy.instrument, sell.instrument), buy.exchange, sell.exchange)
        conflict = self.costs.asset_conflict(buy.instrument.base, buy.exchange, sell.exchange)
        if conflict is not None:
            self.skipped[key] = conflict
            log.warning("not comparing %s on %s with %s: %s", key[0], buy.exchange, sell.exchange, conflict)
        elif buy.symbol == sell.symbol:
            self.pairs.setdefault(buy.symbol, []).append((key, buy, sell))
        else:
            books = conversions.get(frozenset((buy.instrument.quote, sell.instrument.quote)), [])
            pair = (key, buy, sell, books)
            for symbol in {buy.symbol, sell.symbol, *(book.symbol for book in books)}:
                self.cross.setdefault(symbol, []).append(pair)

    def _conversion_books(self) -> dict[frozenset[str], list[OrderBook]]:
        """Spot books between two stablecoins, by their pair of currencies."""
        result: dict[frozenset[str], list[OrderBook]] = {}
        for book in self.store.books.values():
            i = book.instrument
            if i.type is MarketType.SPOT and i.base in STABLECOINS and i.quote in STABLECOINS:
                result.setdefault(frozenset((i.base, i.quote)), []).append(book)
        return result

    def on_book(self, book: OrderBook) -> None:
        """A book changed: ``update`` its symbol (the live feeds' listener)."""
        self.update(book.symbol)

    def update(self, symbol: str) -> None:
        """Evaluate ``symbol`` and hand its events, if any, to ``emit``."""
        events = self.evaluate(symbol)
        if events and self.emit is not None:
            self.emit(events)

    def evaluate(self, symbol: str) -> list[OpportunityEvent]:
        """Re-price every ordered pair of ``symbol``; return the lifecycle events."""
        now = self.clock()
        self.evaluations += 1
        self.last_evaluated_at = now
        events: list[OpportunityEvent] = []
        cross = self.cross.get(symbol)
        if cross is not None:
            self._evaluate_cross(cross, now, events)
        if not self._held[symbol] and self._quiet(symbol, now):
            return events
        wall = self.wall_clock()
        usable = {book.exchange: book.is_usable(now) for book in self.store.by_symbol[symbol]}
        for key, buy, sell in self.pairs[symbol]:
            if not (usable[buy.exchange] and usable[sell.exchange]):
                self._clear_suspect(key)  # a wide spread seen again later is a new episode
                self._close(key, wall, "book unusable", events)
                continue
            self._evaluate_pair(key, buy, sell, wall, events, 1.0, None)
        return events

    def _evaluate_cross(self, pairs: list[CrossPair], now: float, events: list[OpportunityEvent]) -> None:
        """Evaluate cross-quote pairs: each through the conversion book with the best top rate."""
        wall = self.wall_clock()
        for key, buy, sell, books in pairs:
            if not (buy.is_usable(now) and sell.is_usable(now)):
                self.waiting.discard(key)
                self._clear_suspect(key)
                self._close(key, wall, "book unusable", events)
                continue
            source = sell.instrument.quote
            usable = [(book, self.costs.taker_fee(book.instrument)) for book in books if book.is_usable(now)]
            if not usable:
                self.waiting.add(key)
                self._clear_suspect(key)
                self._close(key, wall, "no conversion rate", events)
                continue
            self.waiting.discard(key)
            rate = max(top_rate(book, source, fee) for book, fee in usable)
            self._evaluate_pair(key, buy, sell, wall, events, rate, usable)

    def _quiet(self, symbol: str, now: float) -> bool:
        """Whether no pair of ``symbol``'s usable books can open or be suspect: the highest bid
        after its taker fee is at most the lowest ask after its fee (so every walk would stop
        at once), and the highest and lowest raw prices are within the plausibility ceiling.
        With nothing open or suspect, evaluating such a symbol changes nothing."""
        legs = self._legs.get(symbol)
        if legs is None:
            legs = self._legs[symbol] = [TakerLeg(book, self.costs.taker_fee(book.instrument))
                                         for book in self.store.by_symbol[symbol]]
        top_bid = net_bid = -_INF
        top_ask = net_ask = _INF
        for leg in legs:
            book = leg.book
            if book.is_usable(now):
                bid, ask = -book.bid_key, book.ask_key
                if bid > top_bid:
                    top_bid = bid
                if ask < top_ask:
                    top_ask = ask
                if bid * leg.sell_mult > net_bid:
                    net_bid = bid * leg.sell_mult
                if ask * leg.buy_mult < net_ask:
                    net_ask = ask * leg.buy_mult
        return net_bid <= net_ask and (
            top_bid <= top_ask or gross_spread_bps(top_ask, top_bid) <= self.config.max_gross_bps)

    def last_evaluation(self) -> float:
        """Unix time of the last evaluation (0 before the first)."""
        if not self.evaluations:
            return 0.0
        return self.wall_clock() - (self.clock() - self.last_evaluated_at)

    def sweep(self) -> list[OpportunityEvent]:
        """Close opportunities whose books went stale without a new frame (called ~1/s)."""
        events: list[OpportunityEvent] = []
        for symbol in {self._home.get(key[0], key[0]) for key in self.open}:
            events += self.evaluate(symbol)
        return events

    def _evaluate_pair(self, key: PairKey, buy: OrderBook, sell: OrderBook, wall: float,
                       events: list[OpportunityEvent], rate: float,
                       conversions: list[ConversionBook] | None) -> None:
        """``rate``: buy-quote units per sell-quote unit (1.0 for one quote, ``conversions``
        None); cross-quote, the best conversion book's top rate after its fee."""
        best_ask, best_bid = buy.asks.best_key(), -sell.bids.best_key() * rate
        if best_bid > best_ask and gross_spread_bps(best_ask, best_bid) > self.config.max_gross_bps:
            if key not in self.suspect:
                self.suspect.add(key)
                self.suspects_total[key] += 1
                self._held[key[0]] += 1
            self._close(key, wall, "suspect", events)
            return
        self._clear_suspect(key)
        if best_bid <= best_ask:
            self._close(key, wall, "spread closed", events)
            return
        opportunity = self._price(buy, sell, wall, rate, conversions)
        if opportunity is None or not self._qualifies(opportunity):
            self._close(key, wall, "below threshold", events)
            return
        state = self.open.get(key)
        if state is None:
            state = OpenOpportunity(self.new_id(), wall, wall, opportunity.net_profit, opportunity)
            self.open[key] = state
            self._held[key[0]] += 1
            if not opportunity.blocked:
                self.opened_total[key] += 1
            events.append(state.event(EventType.OPENED))
            return
        changed = (opportunity.size != state.latest.size or opportunity.net_profit != state.latest.net_profit)
        state.last_seen = wall
        state.latest = opportunity
        if opportunity.net_profit > state.peak_net_profit:
            state.peak_net_profit = opportunity.net_profit
        if changed:
            events.append(state.event(EventType.UPDATED))

    def _price(self, buy: OrderBook, sell: OrderBook, wall: float, rate: float,
               conversions: list[ConversionBook] | None) -> Opportunity | None:
        costs = self.costs
        args = (buy, sell, costs.taker_fee(buy.instrument), costs.taker_fee(sell.instrument),
                transfer_leg(costs, buy.instrument, sell.instrument), self.config.notional_cap, wall)
        return price_trade(*args) if conversions is None else price_cross(*args, conversions, rate)

    def _qualifies(self, opportunity: Opportunity) -> bool:
        return (opportunity.net_profit > 0.0
                and opportunity.net_profit >= self.config.min_net_profit
                and opportunity.net_profit_bps >= self.config.min_net_bps)

    def _clear_suspect(self, key: PairKey) -> None:
        if key in self.suspect:
            self.suspect.remove(key)
            self._held[key[0]] -= 1

    def _close(self, key: PairKey, wall: float, reason: str, events: list[OpportunityEvent]) -> None:
        state = self.open.pop(key, None)
        if state is not None:
            self._held[key[0]] -= 1
            state.last_seen = wall
            events.append(state.event(EventType.CLOSED, reason))

    def actionable(self) -> list[OpenOpportunity]:
        """Open opportunities that are not blocked, best net profit first."""
        states = [s for s in self.open.values() if s.latest.costs.transfer_status is not TransferStatus.BLOCKED]
        return sorted(states, key=lambda s: -s.latest.net_profit)


def comparable(buy: Instrument, sell: Instrument) -> bool:
    """Whether two instruments can be traded against each other: the same market type and base,
    on two exchanges, and one quote or two stablecoin quotes (`STABLECOINS`) a book converts."""
    return (buy.type is sell.type and buy.base == sell.base and buy.exchange != sell.exchange
            and (buy.quote == sell.quote or (buy.quote in STABLECOINS and sell.quote in STABLECOINS)))


def transfer_leg(costs: CostModel, buy: Instrument, sell: Instrument) -> tuple[TransferStatus, str | None, float]:
    """How the base moves from the buy exchange to the sell exchange: a withdrawal route where both
    legs are spot, nothing (``NO_TRANSFER``) otherwise."""
    if buy.type is MarketType.SPOT and sell.type is MarketType.SPOT:
        return costs.transfer(buy.base, buy.exchange, sell.exchange)
    return NO_TRANSFER
