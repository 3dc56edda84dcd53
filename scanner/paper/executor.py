"""Paper execution against the live books, with latency, inventory, leg risk and transfers.

The engine reports the market; the trader sizes its own orders. An opened (or updated, when
nothing is in flight for the pair) opportunity is re-priced on the same books within the quote
free on the buy exchange and the base free on the sell exchange (the engine's walk, capped by
that inventory); when that still clears ``min_net_profit`` it sends two immediate-or-cancel limit
orders at the limit prices of that size.
Each reaches its exchange after that exchange's latency plus seeded jitter and fills against the
book as it is then, up to its limit, paying the taker fee. When the legs fill different sizes the
difference is a residual position, closed by a market order on the better of the two books after
``residual_close_delay_ms`` (policy "close") or kept and marked to market (policy "hold").
Exchanges that run low on an asset are topped up by transfers that pay the network's withdrawal
fee and keep the funds in transit for the network's transfer time. Everything is recorded in the
SQLite ledger (`Ledger`); time comes from the `Scheduler`, so a replay gives the same ledger.
"""
from __future__ import annotations

import logging
import random
from collections import Counter
from decimal import Decimal
from functools import partial
from typing import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ..clock import Scheduler
from ..config import PaperConfig
from ..engine.costs import CostModel
from ..engine.opportunity import EventType, Opportunity, OpportunityEvent
from ..engine.pricing import price_trade
from ..engine.spread import BookStore, transfer_leg
from ..instruments import Instrument, parse_symbol
from ..metadata import Metadata
from .fills import AMOUNT, QTY, ZERO, Fill, Liquidity, amount, amount_up, dec, floor_to, take
from .ledger import Key, Ledger, Order, PairKey, Residual, Totals, Trade, Transfer
from .report import mark_to_market
from .transfers import Route, choose_route, plan, transfer_seconds

log = logging.getLogger(__name__)

DEFAULT_LATENCY_MS = 50.0
CLOSE_ATTEMPTS = 20  # a residual still open after this many close attempts is held at its mark
PAIR = ["symbol", "buy_exchange", "sell_exchange"]


class PaperTrader:
    """Trades opportunity events on paper; see the module docstring."""

    def __init__(self, config: PaperConfig, store: BookStore, costs: CostModel, metadata: Metadata,
                 scheduler: Scheduler, seed: int = 0):
        self.config = config
        self.store = store
        self.costs = costs
        self.metadata = metadata
        self.scheduler = scheduler
        self.rng = random.Random(seed)
        self.liquidity = Liquidity()
        self.ledger: Ledger
        self.totals = Totals()
        self.exchanges: list[str] = []  # those with starting balances in the ledger
        self.currency = _main_quote(store)  # PnL and fee values are in this asset
        self.marks: dict[str, tuple[str, Decimal]] = {}  # asset -> (quote, mid)
        self._reserved: dict[Key, Decimal] = {}
        self._busy: set[PairKey] = set()  # pairs with a trade in flight or a residual being closed
        self._transit: dict[tuple[str, str], Transfer] = {}  # (asset, dst) -> transfer
        self._open = False
        self._resume: list[Callable[[], None]] = []  # work found by ``open``, run by ``start``

    # --- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the ledger (first run: record the starting balances) and find the unfinished work
        ``start`` resumes: orders lost in a stop are marked lost (their trades settled), open
        residuals are closed again, transfers in transit land at their arrival time."""
        now = self.scheduler.wall()
        self.ledger = Ledger(self.config.ledger_path)
        self._open = True
        configured = {(ex, asset): dec(v) for ex, assets in self.config.balances.items() for asset, v in assets.items()}
        if not self.ledger.load(self.config.balances, now) and configured != self.ledger.start:
            log.warning("paper ledger %s continues from its own starting balances; [paper] balances apply to "
                        "a new ledger only (set another ledger_path to start over)", self.config.ledger_path)
        self.exchanges = sorted({exchange for exchange, _ in self.ledger.start})
        self.marks = self.ledger.marks()
        self.totals = self.ledger.totals()
        for transfer in self.ledger.in_transit():
            self._transit[transfer.asset, transfer.dst] = transfer
            self._resume.append(partial(self._land_at, transfer))
        self.ledger.abandon_unarrived()
        for trade, residual in self.ledger.unfinished():
            self._busy.add(trade.key)
            if residual is None:
                self._resume.append(partial(self._settle, trade))
            elif residual.remaining:
                self._resume.append(partial(self._schedule_close, trade, residual))
            else:  # stopped after the last close fill was booked
                self._resume.append(partial(self._closed, trade, residual))

    def start(self) -> None:
        """Resume the work ``open`` found. Live, this schedules on the running event loop, so
        it is called once the loop runs (the scanner's ``run``); a virtual clock needs none."""
        resume, self._resume = self._resume, []
        for work in resume:
            work()

    def _land_at(self, transfer: Transfer) -> None:
        self._later(max(0.0, transfer.arrive_at - self.scheduler.wall()), partial(self._land, transfer))

    def close(self) -> None:
        """Record the last known prices of every book and close the ledger; work still scheduled
        is dropped, as in a crash (``open`` resumes it)."""
        self._open = False
        self.ledger.save_marks(self._marks_now(any_age=True), self.scheduler.wall())
        self.ledger.close()

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self.scheduler.call_later(delay, lambda: self._open and callback())

    # --- opportunities ---------------------------------------------------------------------------

    def on_event(self, event: OpportunityEvent) -> None:
        """Send both legs of an opportunity that clears the paper threshold at the size the free
        inventory allows (one trade per event)."""
        opp = event.opportunity
        if event.type is EventType.CLOSED or opp.blocked or opp.key in self._busy or not self._clears(opp):
            return
        if opp.costs.conversion is not None:  # cross-quote: paper does not convert quotes (yet)
            return
        opp = self.sized(opp)  # a smaller size nets less: what does not clear in full never does
        if opp is None or not self._clears(opp):
            return
        qty = self._order_qty(opp)
        if qty <= 0:
            return
        trade = self._new_trade(event, opp, qty)
        if not self.ledger.insert_trade(trade):
            return  # this event was traded already
        self._busy.add(trade.key)
        self.totals.trades[trade.key] += 1
        quote, base = opp.buy_instrument.quote, opp.sell_instrument.base
        worst_cost = amount_up(qty * trade.buy.limit * (1 + trade.buy.fee_rate)) + 2 * AMOUNT  # + rounding
        self._reserve(trade.buy, (trade.buy_exchange, quote), worst_cost)
        self._reserve(trade.sell, (trade.sell_exchange, base), qty)
        for order in (trade.buy, trade.sell):
            self._send(order, partial(self._leg_arrived, trade, order))

    def _clears(self, opp: Opportunity) -> bool:
        return opp.net_profit > 0.0 and opp.net_profit >= self.config.min_net_profit

    def sized(self, opp: Opportunity) -> Opportunity | None:
        """``opp`` within the quote free on its buy exchange (fee included) and the base free on
        its sell exchange: itself when they cover it, else the same books walked again up to
        them (None when nothing profitable fits). Called as the engine emits ``opp``, so the
        books are the ones it was priced on."""
        buy, sell = opp.buy_instrument, opp.sell_instrument
        buy_fee = self.costs.taker_fee(buy)
        quote_room = float(self._available((opp.buy_exchange, buy.quote))) / (1.0 + buy_fee)
        base_room = float(self._available((opp.sell_exchange, sell.base)))
        if opp.notional <= quote_room and opp.size <= base_room:
            return opp
        if quote_room <= 0.0 or base_room <= 0.0:
            return None
        return price_trade(
            self.store.books[opp.buy_exchange, opp.symbol], self.store.books[opp.sell_exchange, opp.symbol],
            buy_fee, self.costs.taker_fee(sell), transfer_leg(self.costs, buy, sell),
            min(quote_room, opp.notional), opp.detected_at, min(base_room, opp.size))

    def _order_qty(self, opp: Opportunity) -> Decimal:
        """The opportunity's size within the funds free now, on the coarser lot step of both
        instruments; zero below either one's minimum notional."""
        buy, sell = opp.buy_instrument, opp.sell_instrument
        limit = dec(opp.buy_limit)
        fee = dec(self.costs.taker_fee(buy))
        free_quote = self._available((opp.buy_exchange, buy.quote))
        qty = min(dec(opp.size), free_quote / (limit * (1 + fee)), self._available((opp.sell_exchange, sell.base)))
        step = max([QTY] + [dec(i.lot) for i in (buy, sell) if i.lot])
        qty = floor_to(max(qty, ZERO), step)
        min_notional = max([ZERO] + [dec(i.min_notional) for i in (buy, sell) if i.min_notional])
        return qty if qty * dec(opp.buy_price) >= min_notional else ZERO

    def _new_trade(self, event: OpportunityEvent, opp: Opportunity, qty: Decimal) -> Trade:
        trade_id = f"{event.id}@{round(event.last_seen * 1e6)}"  # one trade per event and evaluation
        now = self.scheduler.wall()

        def leg(side: str, instrument: Instrument, limit: float) -> Order:
            fee = dec(self.costs.taker_fee(instrument))
            return Order(f"{trade_id}.{side}", trade_id, side, instrument.exchange, opp.symbol, side, "ioc", qty,
                         dec(limit), fee, now)

        before_transfer = dec(opp.net_profit + opp.costs.transfer_fee)  # the basis realised is measured on
        return Trade(trade_id, event.id, opp.symbol, opp.buy_exchange, opp.sell_exchange, qty, dec(opp.size),
                     before_transfer, now, leg("buy", opp.buy_instrument, opp.buy_limit),
                     leg("sell", opp.sell_instrument, opp.sell_limit))

    # --- orders ----------------------------------------------------------------------------------

    def _send(self, order: Order, arrived: Callable[[], None]) -> None:
        latency = self.config.latency_ms.get(order.exchange, DEFAULT_LATENCY_MS)
        jitter = self.rng.uniform(0.0, self.config.latency_jitter_ms)
        self._later((latency + jitter) / 1000.0, arrived)

    def _leg_arrived(self, trade: Trade, order: Order) -> None:
        self._execute(order)
        if trade.buy.done and trade.sell.done:
            self._settle(trade)

    def _execute(self, order: Order, residual: Residual | None = None) -> None:
        """Fill ``order`` against its book as it is now (within the funds free) and book it, with
        the ``residual`` it closes (part of) in the same transaction."""
        base, quote = _assets(order.symbol)
        self._release(order)
        book = self.store.books.get((order.exchange, order.symbol))
        fill, reason = Fill(ZERO, ZERO, ()), "book unusable"
        if book is not None and book.is_usable(self.scheduler.monotonic()):
            side, used = self.liquidity.used(book, order.is_buy)
            if order.is_buy:  # a limit buy spends at most its reservation; a market buy what is free
                budget = None if order.limit is not None else max(ZERO, floor_to(
                    self._available((order.exchange, quote)) / (1 + order.fee_rate), AMOUNT) - 2 * AMOUNT)
                fill = take(side.levels(), order.qty, _float(order.limit), True, used, budget)
            else:
                qty = min(order.qty, self._available((order.exchange, base)))
                fill = take(side.levels(), max(qty, ZERO), _float(order.limit), False, used)
            reason = "" if fill.qty == order.qty else "not enough size within the limit or funds"
        order.filled, order.quote, order.fee = fill.qty, fill.quote, amount(fill.quote * order.fee_rate)
        order.status = "filled" if fill.qty == order.qty else "partial" if fill.qty else "missed"
        order.arrived_at, order.reason = self.scheduler.wall(), reason
        sign = 1 if order.is_buy else -1
        if residual is not None:
            residual.remaining += sign * fill.qty
            residual.flows += order.flow
        deltas = {(order.exchange, base): sign * fill.qty, (order.exchange, quote): order.flow}
        self.ledger.book_order(order, fill, deltas, self._marks_now(), residual)

    # --- settlement and leg risk -----------------------------------------------------------------

    def _settle(self, trade: Trade) -> None:
        """Both legs are back: book the predicted and realised figures and handle a residual."""
        buy, sell = trade.buy, trade.sell
        matched = min(buy.filled, sell.filled)
        trade.predicted = amount(trade.opportunity_net * matched / trade.opportunity_size)
        trade.settled_at = self.scheduler.wall()
        excess = buy.filled - sell.filled
        if not excess:
            self._finish(trade, None)
            return
        basis = amount(buy.flow * excess / buy.filled if excess > 0 else sell.flow * -excess / sell.filled)
        residual = Residual(trade.id, _assets(trade.symbol)[0], excess, excess, basis, trade.settled_at)
        self.totals.leg_failures += 1
        if self.config.leg_risk == "hold":
            self._hold(trade, residual)
        else:
            trade.status = "closing"
            self.ledger.save_trade(trade, residual)
            self._schedule_close(trade, residual)

    def _schedule_close(self, trade: Trade, residual: Residual) -> None:
        self._later(self.config.residual_close_delay_ms / 1000.0, partial(self._try_close, trade, residual))

    def _try_close(self, trade: Trade, residual: Residual) -> None:
        """Send a market order for the residual to the better of the trade's two books."""
        residual.attempts += 1
        venue = self._close_venue(trade, residual)
        if venue is None:
            self._close_later(trade, residual)
            return
        side = "sell" if residual.remaining > 0 else "buy"
        fee = self.costs.taker_fee(self.store.books[venue, trade.symbol].instrument)
        order = Order(f"{trade.id}.close{residual.attempts}", trade.id, "close", venue, trade.symbol, side, "market",
                      abs(residual.remaining), None, dec(fee), self.scheduler.wall())
        self.ledger.insert_close(order, residual)
        self._send(order, partial(self._close_arrived, trade, residual, order))

    def _close_venue(self, trade: Trade, residual: Residual) -> str | None:
        """Selling: the usable book with the higher bid where base is free; buying back: the lower
        ask where quote is free."""
        base, quote = _assets(trade.symbol)
        selling = residual.remaining > 0
        best = []
        for exchange in (trade.buy_exchange, trade.sell_exchange):
            book = self.store.books.get((exchange, trade.symbol))
            if book is None or not book.is_usable(self.scheduler.monotonic()):
                continue
            if self._available((exchange, base if selling else quote)) > 0:
                best.append((-book.best_bid() if selling else book.best_ask(), exchange))
        return min(best)[1] if best else None

    def _close_arrived(self, trade: Trade, residual: Residual, order: Order) -> None:
        self._execute(order, residual)
        if residual.remaining:
            self._close_later(trade, residual)
        else:
            self._closed(trade, residual)

    def _closed(self, trade: Trade, residual: Residual) -> None:
        residual.status, residual.closed_at = "closed", self.scheduler.wall()
        residual.pnl = residual.basis + residual.flows
        self._finish(trade, residual)

    def _close_later(self, trade: Trade, residual: Residual) -> None:
        if residual.attempts >= CLOSE_ATTEMPTS:
            self._hold(trade, residual)
        else:
            self.ledger.save_trade(trade, residual)
            self._schedule_close(trade, residual)

    def _hold(self, trade: Trade, residual: Residual) -> None:
        """Keep what is left of the residual, valued at the current mark."""
        value = amount(residual.remaining * self._price(residual.asset))
        residual.status, residual.closed_at = "held", self.scheduler.wall()
        residual.pnl = residual.basis + residual.flows + value
        self._finish(trade, residual, value)

    def _finish(self, trade: Trade, residual: Residual | None, held_value: Decimal = ZERO) -> None:
        trade.realised = trade.buy.flow + trade.sell.flow + held_value + (residual.flows if residual else ZERO)
        trade.status = "done"
        self.ledger.save_trade(trade, residual)
        self.totals.predicted += trade.predicted
        self.totals.realised += trade.realised
        self._busy.discard(trade.key)
        self._rebalance(_assets(trade.symbol))

    # --- inventory -------------------------------------------------------------------------------

    def _available(self, key: Key) -> Decimal:
        return self.ledger.balance(*key) - self._reserved.get(key, ZERO)

    def _reserve(self, order: Order, key: Key, size: Decimal) -> None:
        order.reserved = size
        self._reserved[key] = self._reserved.get(key, ZERO) + size

    def _release(self, order: Order) -> None:
        if order.reserved:
            base, quote = _assets(order.symbol)
            key = (order.exchange, quote if order.is_buy else base)
            self._reserved[key] -= order.reserved
            order.reserved = ZERO

    # --- transfers -------------------------------------------------------------------------------

    def _rebalance(self, assets: Iterable[str]) -> None:
        threshold = dec(self.config.rebalance_threshold)
        if not threshold:
            return
        for asset in assets:
            start = {ex: self.ledger.start.get((ex, asset), ZERO) for ex in self.exchanges}
            held = {ex: self.ledger.balance(ex, asset) for ex in self.exchanges}
            available = {ex: self._available((ex, asset)) for ex in self.exchanges}
            in_transit = sum((t.amount - t.fee for t in self._transit.values() if t.asset == asset), ZERO)
            receiving = {dst for a, dst in self._transit if a == asset}
            route = partial(choose_route, self.metadata, asset, allow_unknown=self.config.allow_unknown_networks)
            for move in plan(asset, start, held, available, in_transit, threshold, receiving, route):
                self._send_transfer(move.asset, move.src, move.dst, move.amount, move.route)

    def _send_transfer(self, asset: str, src: str, dst: str, size: Decimal, route: Route) -> None:
        now = self.scheduler.wall()
        seconds = transfer_seconds(route.network, self.config.transfer_seconds)
        transfer = Transfer(asset, src, dst, route.network, size, route.fee, amount(route.fee * self._price(asset)),
                            now, now + seconds)
        self.ledger.send_transfer(transfer)
        self._transit[asset, dst] = transfer
        self.totals.transfer_fees += transfer.fee_quote
        self._later(seconds, partial(self._land, transfer))

    def _land(self, transfer: Transfer) -> None:
        self.ledger.land_transfer(transfer)
        del self._transit[transfer.asset, transfer.dst]
        self._rebalance([transfer.asset])

    # --- valuation and metrics -------------------------------------------------------------------

    def _marks_now(self, any_age: bool = False) -> list[tuple[str, str, Decimal]]:
        """Update the marks from the usable books: (base, currency, mean mid) per symbol quoted
        in the reporting currency (BTC/USDC does not price BTC in a USDT ledger). With
        ``any_age``, a symbol without a usable book is marked from its books in sync however
        long ago they last changed (their last known prices: the end of a replay runs the clock
        on to the last transfer's arrival)."""
        now = self.scheduler.monotonic()
        marks = []
        for books in self.store.by_symbol.values():
            base, quote = books[0].instrument.base, books[0].instrument.quote
            if quote != self.currency:
                continue
            usable = [book for book in books if book.is_usable(now)]
            if not usable and any_age:
                usable = [book for book in books if book.is_usable(book.received_at)]  # in sync, two-sided
            mids = [(book.best_bid() + book.best_ask()) / 2.0 for book in usable]
            if mids:
                marks.append((base, quote, dec(sum(mids) / len(mids))))
                self.marks[base] = (quote, marks[-1][2])
        return marks

    def _price(self, asset: str) -> Decimal:
        """The asset's value in the reporting currency (0 when unknown)."""
        if asset == self.currency:
            return Decimal(1)
        quote, price = self.marks.get(asset, (None, ZERO))
        return price if quote == self.currency else ZERO

    def pnl(self) -> Decimal:
        """Balances plus transfers in transit, minus the starting balances, at the current marks."""
        self._marks_now()
        holdings = dict(self.ledger.balances)
        for transfer in self._transit.values():
            key = (transfer.dst, transfer.asset)
            holdings[key] = holdings.get(key, ZERO) + transfer.amount - transfer.fee
        return mark_to_market(self.ledger.start, holdings, self._price)

    def metric_families(self) -> Iterable[Metric]:
        """The arbscan_paper_* families, built from running totals at scrape time."""
        pnl = GaugeMetricFamily("arbscan_paper_pnl", "Paper profit and loss marked to market: balances and "
                                "transfers in transit minus starting balances, at current mid prices, in quote units.")
        pnl.add_metric([], float(self.pnl()))
        balance = GaugeMetricFamily("arbscan_paper_balance", "Paper balance per exchange and asset, in asset units "
                                    "(transfers in transit excluded).", labels=["exchange", "asset"])
        for (exchange, asset), value in sorted(self.ledger.balances.items()):
            balance.add_metric([exchange, asset], float(value))
        trades = CounterMetricFamily("arbscan_paper_trades", "Paper trades sent (both legs), by pair.", labels=PAIR)
        for key, count in sorted(self.totals.trades.items()):
            trades.add_metric(list(key), count)
        predicted = CounterMetricFamily("arbscan_paper_predicted_profit", "Net profit the opportunities predicted "
                                        "for the size the finished paper trades matched, in quote units.")
        predicted.add_metric([], float(self.totals.predicted))
        realised = GaugeMetricFamily("arbscan_paper_realised_profit", "Profit the finished paper trades realised "
                                     "(fills, fees, residual closes), in quote units; negative for a loss.")
        realised.add_metric([], float(self.totals.realised))
        failures = CounterMetricFamily("arbscan_paper_leg_failures", "Paper trades whose legs filled different "
                                       "sizes, leaving a residual position.")
        failures.add_metric([], self.totals.leg_failures)
        fees = CounterMetricFamily("arbscan_paper_transfer_fees", "Withdrawal fees paid by paper rebalancing "
                                   "transfers, valued when sent, in quote units.")
        fees.add_metric([], float(self.totals.transfer_fees))
        yield from (pnl, balance, trades, predicted, realised, failures, fees)


def _main_quote(store: BookStore) -> str:
    """The quote asset most symbols share ("USDT" without symbols)."""
    quotes = Counter(books[0].instrument.quote for books in store.by_symbol.values())
    return quotes.most_common(1)[0][0] if quotes else "USDT"


def _assets(symbol: str) -> tuple[str, str]:
    """(base, quote) of the unified symbol a ledger order or trade names (it may be one no
    longer scanned)."""
    parsed = parse_symbol(symbol)
    return parsed.base, parsed.quote


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
