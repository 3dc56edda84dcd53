"""Prometheus metrics, collected at scrape time from the live state (no per-frame label lookups).

The families are built on the event loop (a consistent read of books and opportunities) and
rendered to text in a worker thread, so a large scrape does not stall the feeds.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector

from .. import __version__
from ..engine.opportunity import EventType, OpportunityEvent, TransferStatus
from ..engine.pricing import net_spread_bps
from ..engine.spread import SpreadEngine
from ..feeds.base import FeedStats

MetricSource = Callable[[], Iterable[Metric]]
PAIR = ["symbol", "buy_exchange", "sell_exchange"]
BOOK = ["exchange", "symbol"]
RESYNC_REASONS = ("gap", "crossed")


class ScannerCollector:
    """Builds every arbscan_* family from the engine, the books and the feed stats."""

    def __init__(self, engine: SpreadEngine, feeds: dict[str, FeedStats],
                 extra: list[MetricSource] | None = None, clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.feeds = feeds
        self.extra = extra or []
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        yield from self._build_info()
        yield from self._feed_families()
        yield from self._book_families()
        yield from self._pair_families()
        yield from self._opportunity_families()
        for source in self.extra:
            yield from source()

    def _build_info(self) -> Iterable[Metric]:
        info = InfoMetricFamily("arbscan_build", "arbscan version.")
        info.add_metric([], {"version": __version__})
        yield info

    def _feed_families(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("arbscan_feed_up", "Whether the exchange feed is connected (1) or not (0).", labels=["exchange"])
        messages = CounterMetricFamily("arbscan_feed_messages", "Frames received from the exchange.", labels=["exchange"])
        reconnects = CounterMetricFamily("arbscan_feed_reconnects", "Reconnections of the exchange feed.", labels=["exchange"])
        resyncs = CounterMetricFamily("arbscan_book_resyncs", "Book resynchronisations, by reason.", labels=["exchange", "reason"])
        errors = CounterMetricFamily("arbscan_feed_errors", "Feed errors (malformed frames, exchange errors, silences, disconnects).", labels=["exchange", "kind"])
        for exchange, stats in self.feeds.items():
            up.add_metric([exchange], 1.0 if stats.up else 0.0)
            messages.add_metric([exchange], stats.messages)
            reconnects.add_metric([exchange], stats.reconnects)
            for reason in {*RESYNC_REASONS, *stats.resyncs}:
                resyncs.add_metric([exchange, reason], stats.resyncs[reason])
            for kind, count in stats.errors.items():
                errors.add_metric([exchange, kind], count)
        yield from (up, messages, reconnects, resyncs, errors)

    def _book_families(self) -> Iterable[Metric]:
        now = self.clock()
        staleness = self.engine.config.staleness_seconds
        bid = GaugeMetricFamily("arbscan_best_bid_price", "Best bid of a live book, in quote units.", labels=BOOK)
        ask = GaugeMetricFamily("arbscan_best_ask_price", "Best ask of a live book, in quote units.", labels=BOOK)
        age = GaugeMetricFamily("arbscan_book_age_seconds", "Seconds since the book last changed.", labels=BOOK)
        usable = GaugeMetricFamily("arbscan_book_usable", "Whether the book is live, two-sided and fresh enough for the engine.", labels=BOOK)
        for (exchange, symbol), book in self.engine.store.books.items():
            labels = [exchange, symbol]
            live = book.is_usable(now, staleness)
            usable.add_metric(labels, 1.0 if live else 0.0)
            if book.received_at:
                age.add_metric(labels, now - book.received_at)
            if live:
                bid.add_metric(labels, book.bids.best())
                ask.add_metric(labels, book.asks.best())
        yield from (bid, ask, age, usable)

    def _pair_families(self) -> Iterable[Metric]:
        engine, now = self.engine, self.clock()
        staleness = engine.config.staleness_seconds
        spread = GaugeMetricFamily("arbscan_net_spread_bps", "Top-of-book spread after taker fees on both legs, in bps of the buy price.", labels=PAIR)
        opened = CounterMetricFamily("arbscan_opportunities", "Opportunities opened (not blocked).", labels=PAIR)
        suspects = CounterMetricFamily("arbscan_suspect_spreads", "Spreads above the plausibility ceiling, reported as suspect.", labels=PAIR)
        for symbol, pairs in engine.pairs.items():
            for buy, sell in pairs:
                labels = [symbol, buy.exchange, sell.exchange]
                key = (symbol, buy.exchange, sell.exchange)
                opened.add_metric(labels, engine.opened_total[key])
                suspects.add_metric(labels, engine.suspects_total[key])
                if buy.is_usable(now, staleness) and sell.is_usable(now, staleness):
                    spread.add_metric(labels, net_spread_bps(
                        buy.asks.best(), sell.bids.best(),
                        engine.costs.taker_fee(buy.exchange, symbol), engine.costs.taker_fee(sell.exchange, symbol)))
        evaluations = CounterMetricFamily("arbscan_engine_evaluations", "Symbol evaluations run by the spread engine.")
        evaluations.add_metric([], engine.evaluations)
        last = GaugeMetricFamily("arbscan_engine_last_evaluation_timestamp_seconds", "Unix time of the last engine evaluation.")
        last.add_metric([], engine.last_evaluation)
        yield from (spread, opened, suspects, evaluations, last)

    def _opportunity_families(self) -> Iterable[Metric]:
        net = GaugeMetricFamily("arbscan_opportunity_net_profit", "Net profit of an open opportunity after fees and transfer cost, in quote units (depth-aware).", labels=PAIR)
        net_bps = GaugeMetricFamily("arbscan_opportunity_net_profit_bps", "Net profit of an open opportunity, in bps of its notional.", labels=PAIR)
        gross = GaugeMetricFamily("arbscan_opportunity_gross_profit", "Gross profit of an open opportunity before costs, in quote units.", labels=PAIR)
        cost = GaugeMetricFamily("arbscan_opportunity_cost", "Cost of an open opportunity by component, in quote units.", labels=[*PAIR, "component"])
        size = GaugeMetricFamily("arbscan_opportunity_size", "Size of an open opportunity, in base units.", labels=PAIR)
        age = GaugeMetricFamily("arbscan_opportunity_age_seconds", "Seconds since the open opportunity was first seen.", labels=PAIR)
        blocked = GaugeMetricFamily("arbscan_opportunity_blocked", "Open spreads that cannot be rebalanced: no network open for withdrawal and deposit.", labels=PAIR)
        wall = time.time()
        for key, state in self.engine.open.items():
            labels = list(key)
            opportunity = state.latest
            costs = opportunity.costs
            if costs.transfer_status is TransferStatus.BLOCKED:
                blocked.add_metric(labels, 1.0)
                continue
            net.add_metric(labels, costs.net)
            net_bps.add_metric(labels, opportunity.net_profit_bps)
            gross.add_metric(labels, costs.gross)
            size.add_metric(labels, opportunity.size)
            age.add_metric(labels, wall - state.first_seen)
            for component in ("buy_fee", "sell_fee", "transfer_fee"):
                cost.add_metric([*labels, component], getattr(costs, component))
        yield from (net, net_bps, gross, cost, size, age, blocked)


class MetricsServer:
    """Serves /metrics from the event loop; rendering runs in a worker thread."""

    def __init__(self, collector: ScannerCollector, host: str, port: int):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)
        self.lifetime = Histogram(
            "arbscan_opportunity_lifetime_seconds", "How long opportunities stayed open.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=self.registry)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    def on_event(self, event: OpportunityEvent) -> None:
        if event.type is EventType.CLOSED:
            self.lifetime.observe(event.duration)

    async def render(self) -> bytes:
        families = list(self.registry.collect())  # read live state on the loop, consistently
        snapshot = _Frozen(families)
        return await asyncio.get_running_loop().run_in_executor(None, generate_latest, snapshot)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        app.router.add_get("/", self._index)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="arbscan: metrics at /metrics\n")


class _Frozen:
    """A registry stand-in that yields already collected families."""

    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self.families)
