"""The spread engine: on a book change, price every ordered exchange pair of that symbol and
turn the result into opportunity lifecycle events (opened / updated / closed). No I/O.

Books are paired only with books of the same market type and base asset (one unified symbol);
the transfer leg (moving the base from the buy exchange to the sell exchange) exists only where
both legs are spot: derivative positions are not moved.

The common case is a symbol with nothing open, where no pair crosses after fees; one pass over
its books proves that (``_quiet``) and the pairs are not walked.
"""
from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..book import OrderBook
from ..config import ScannerConfig
from ..instruments import Instrument, MarketType
from .opportunity import EventType, Opportunity, OpportunityEvent, TransferStatus
from .pricing import gross_spread_bps, price_trade

if TYPE_CHECKING:
    from .costs import CostModel

PairKey = tuple[str, str, str]  # (symbol, buy_exchange, sell_exchange)
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


class BookStore:
    """All books, by (exchange, symbol) and by symbol."""

    def __init__(self, listings: dict[str, list[Instrument]], staleness: dict[str, float]):
        """``listings``: exchange -> the instruments scanned there (`scanner.checks.listings`);
        ``staleness``: exchange -> seconds without a change after which its books are not used.
        Each exchange's adapter sets how deep its channel keeps the books."""
        self.books = {(ex, i.symbol): OrderBook(ex, i.symbol, staleness=staleness[ex], instrument=i)
                      for ex, instruments in listings.items() for i in instruments}
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
        self.pairs = {sym: [((sym, buy.exchange, sell.exchange), buy, sell)  # (key, buy, sell)
                            for buy, sell in itertools.permutations(books, 2)
                            if comparable(buy.instrument, sell.instrument)]
                      for sym, books in store.by_symbol.items()}
        self._held = dict.fromkeys(store.by_symbol, 0)  # symbol -> its pairs open or suspect
        self._fees: dict[str, list[tuple[OrderBook, float, float]]] = {}  # (book, 1+fee, 1-fee)

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
        if not self._held[symbol] and self._quiet(symbol, now):
            return events
        wall = self.wall_clock()
        usable = {book.exchange: book.is_usable(now) for book in self.store.by_symbol[symbol]}
        for key, buy, sell in self.pairs[symbol]:
            if not (usable[buy.exchange] and usable[sell.exchange]):
                self._clear_suspect(key)  # a wide spread seen again later is a new episode
                self._close(key, wall, "book unusable", events)
                continue
            self._evaluate_pair(key, buy, sell, wall, events)
        return events

    def _quiet(self, symbol: str, now: float) -> bool:
        """Whether no pair of ``symbol``'s usable books can open or be suspect: the highest bid
        after its taker fee is at most the lowest ask after its fee (so every walk would stop
        at once), and the highest and lowest raw prices are within the plausibility ceiling.
        With nothing open or suspect, evaluating such a symbol changes nothing."""
        fees = self._fees.get(symbol)
        if fees is None:
            fees = self._fees[symbol] = [
                (book, 1.0 + fee, 1.0 - fee) for book in self.store.by_symbol[symbol]
                for fee in (self.costs.taker_fee(book.instrument),)]
        top_bid = net_bid = -_INF
        top_ask = net_ask = _INF
        for book, buy_mult, sell_mult in fees:
            if book.is_usable(now):
                bid, ask = -book.bids.best_key(), book.asks.best_key()  # inline C reads
                if bid > top_bid:
                    top_bid = bid
                if ask < top_ask:
                    top_ask = ask
                if bid * sell_mult > net_bid:
                    net_bid = bid * sell_mult
                if ask * buy_mult < net_ask:
                    net_ask = ask * buy_mult
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
        for symbol in {key[0] for key in self.open}:
            events += self.evaluate(symbol)
        return events

    def _evaluate_pair(self, key: PairKey, buy: OrderBook, sell: OrderBook, wall: float,
                       events: list[OpportunityEvent]) -> None:
        best_ask, best_bid = buy.asks.best_key(), -sell.bids.best_key()
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
        opportunity = self._price(key, buy, sell, wall)
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

    def _price(self, key: PairKey, buy: OrderBook, sell: OrderBook, wall: float) -> Opportunity | None:
        costs = self.costs
        return price_trade(buy, sell, costs.taker_fee(buy.instrument), costs.taker_fee(sell.instrument),
                           transfer_leg(costs, buy.instrument, sell.instrument), self.config.notional_cap, wall)

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
    """Whether two instruments can be traded against each other: the same market type and base."""
    return buy.type is sell.type and buy.base == sell.base


def transfer_leg(costs: CostModel, buy: Instrument, sell: Instrument) -> tuple[TransferStatus, str | None, float]:
    """How the base moves from the buy exchange to the sell exchange: a withdrawal route where both
    legs are spot, nothing (``NO_TRANSFER``) otherwise."""
    if buy.type is MarketType.SPOT and sell.type is MarketType.SPOT:
        return costs.transfer(buy.base, buy.exchange, sell.exchange)
    return NO_TRANSFER
