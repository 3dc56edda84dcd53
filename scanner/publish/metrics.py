"""Prometheus metrics, collected at scrape time from the live state (no per-frame label lookups).

The scanner's families are read on the event loop in one pass (a consistent read of books and
opportunities) into plain rows whose label sets are rendered once and cached, then written as
Prometheus text directly, the same text ``prometheus_client.generate_latest`` writes; only the
small families of other sources (alerts, paper, process, the lifetime and loop-lag histograms)
go through prometheus_client. A 5,000-series scrape costs a few milliseconds of loop time this
way. Beside /metrics the server answers /healthz (the process and its event loop are alive) and
/readyz (every enabled exchange has live books).
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

from .. import __version__
from ..engine.opportunity import EventType, OpportunityEvent, TransferStatus
from ..engine.pricing import net_spread_bps
from ..engine.spread import SpreadEngine
from ..feeds.base import FeedStats
from ..hedging.funding import FundingState

MetricSource = Callable[[], Iterable[Metric]]
PAIR = ("symbol", "buy_exchange", "sell_exchange")
BOOK = ("exchange", "symbol")
# Label values known in advance: their counters are exported at 0 from the first scrape.
RESYNC_REASONS = ("gap", "crossed", "malformed", "checksum")
FEED_ERROR_KINDS = ("malformed", "disconnect", "silent", "resync", "error")
COST_COMPONENTS = ("buy_fee", "sell_fee", "transfer_fee")
YIELD_EVERY = 1000  # rows written between two yields to the event loop
LAG_PROBE_SECONDS = 0.1  # the loop-lag probe's sleep; lag = how late it wakes
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

disable_created_metrics()  # no *_created series beside the counters and histograms


class LabelSets:
    """Label sets of one label schema rendered as exposition text (names sorted, values
    escaped, like prometheus_client), cached by their tuple of values: label sets are
    bounded, and passing the state's own key tuples allocates nothing per series."""

    def __init__(self, *names: str):
        self.order = sorted(range(len(names)), key=names.__getitem__)
        self.names = names
        self.cache: dict[tuple[str, ...], str] = {}

    def __call__(self, values: tuple[str, ...]) -> str:
        text = self.cache.get(values)
        if text is None:
            text = self.cache[values] = "{" + ",".join(
                f'{self.names[i]}="{_escape(values[i])}"' for i in self.order) + "}"
        return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


@dataclass(slots=True)
class Family:
    """One metric family: rendered label sets and their values (parallel lists, so reading
    thousands of series allocates no container the garbage collector would track)."""

    name: str  # without the _total (counter) or _info (info) suffix
    kind: str  # gauge, counter or info
    help: str
    labels: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, labels: str, value: float) -> None:
        self.labels.append(labels)
        self.values.append(value)

    def header(self) -> str:
        kind, sample = self.kind, self.name
        if kind == "counter":
            sample += "_total"
        elif kind == "info":
            sample, kind = sample + "_info", "gauge"
        help_text = self.help.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {sample} {help_text}\n# TYPE {sample} {kind}\n"

    def sample_name(self) -> str:
        return self.name + {"counter": "_total", "info": "_info"}.get(self.kind, "")


class ScannerCollector:
    """Reads every arbscan_* family from the engine, the books and the feed stats."""

    def __init__(self, engine: SpreadEngine, feeds: dict[str, FeedStats],
                 extra: list[MetricSource] | None = None, clock: Callable[[], float] = time.monotonic,
                 fidelity: dict[str, str] | None = None):
        """``fidelity``: exchange -> ``native`` or ``generic`` (default: native)."""
        self.engine = engine
        self.feeds = feeds
        self.fidelity = fidelity or {}
        self.fidelity_labels = LabelSets("exchange", "fidelity")
        self.extra = extra or []
        self.clock = clock
        self.book_labels = LabelSets(*BOOK)
        self.pair_labels = LabelSets(*PAIR)
        self.exchange_labels = LabelSets("exchange")
        self.reason_labels = LabelSets("exchange", "reason")
        self.kind_labels = LabelSets("exchange", "kind")
        self.cost_labels = LabelSets(*PAIR, "component")
        self.skip_labels = LabelSets(*PAIR, "reason")

    def families(self) -> list[Family]:
        """Every scanner family, read from the live state in one pass (call on the loop)."""
        return [*self._build_info(), *self._feed_families(), *self._book_families(),
                *self._pair_families(), *self._opportunity_families()]

    def extra_families(self) -> list[Metric]:
        return [family for source in self.extra for family in source()]

    def _build_info(self) -> list[Family]:
        info = Family("arbscan_build", "info", "arbscan version.")
        info.add(LabelSets("version")((__version__,)), 1.0)
        return [info]

    def _feed_families(self) -> list[Family]:
        up = Family("arbscan_feed_up", "gauge", "Whether the exchange feed is connected (1) or not (0).")
        messages = Family("arbscan_feed_messages", "counter", "Frames received from the exchange.")
        reconnects = Family("arbscan_feed_reconnects", "counter", "Reconnections of the exchange feed.")
        resyncs = Family("arbscan_book_resyncs", "counter", "Book resynchronisations, by reason.")
        errors = Family("arbscan_feed_errors", "counter", "Feed errors (malformed frames, exchange errors, silences, disconnects).")
        info = Family("arbscan_feed", "info", "How the exchange is read: fidelity native (arbscan's own"
                      " feed) or generic (ccxt.pro's order-book watcher, lower fidelity).")
        for exchange, stats in self.feeds.items():
            labels = self.exchange_labels((exchange,))
            info.add(self.fidelity_labels((exchange, self.fidelity.get(exchange, "native"))), 1.0)
            up.add(labels, 1.0 if stats.up else 0.0)
            messages.add(labels, stats.messages)
            reconnects.add(labels, stats.reconnects)
            for reason in _known_first(RESYNC_REASONS, stats.resyncs):
                resyncs.add(self.reason_labels((exchange, reason)), stats.resyncs[reason])
            for kind in _known_first(FEED_ERROR_KINDS, stats.errors):
                errors.add(self.kind_labels((exchange, kind)), stats.errors[kind])
        return [up, info, messages, reconnects, resyncs, errors]

    def readiness(self) -> dict[str, tuple[int, int]]:
        """Per enabled exchange: (usable books, books)."""
        now = self.clock()
        counts = {exchange: [0, 0] for exchange in self.feeds}
        for (exchange, _), book in self.engine.store.books.items():
            if exchange in counts:
                counts[exchange][0] += book.is_usable(now)
                counts[exchange][1] += 1
        return {exchange: (live, total) for exchange, (live, total) in counts.items()}

    def _book_families(self) -> list[Family]:
        now = self.clock()
        bid = Family("arbscan_best_bid_price", "gauge", "Best bid of a live book, in quote units.")
        ask = Family("arbscan_best_ask_price", "gauge", "Best ask of a live book, in quote units.")
        age = Family("arbscan_book_age_seconds", "gauge", "Seconds since the book last changed.")
        usable = Family("arbscan_book_usable", "gauge", "Whether the book is live, two-sided and fresh enough for the engine.")
        for key, book in self.engine.store.books.items():
            labels = self.book_labels(key)
            live = book.is_usable(now)
            usable.add(labels, 1.0 if live else 0.0)
            if book.received_at:
                age.add(labels, now - book.received_at)
            if live:
                bid.add(labels, book.bids.best())
                ask.add(labels, book.asks.best())
        return [bid, ask, age, usable]

    def _pair_families(self) -> list[Family]:
        engine, now = self.engine, self.clock()
        spread = Family("arbscan_net_spread_bps", "gauge", "Top-of-book spread after taker fees on both legs, in bps of the buy price.")
        opened = Family("arbscan_opportunities", "counter", "Opportunities opened (not blocked).")
        suspects = Family("arbscan_suspect_spreads", "counter", "Spreads above the plausibility ceiling, reported as suspect.")
        for symbol, pairs in engine.pairs.items():
            for key, buy, sell in pairs:
                labels = self.pair_labels(key)
                opened.add(labels, engine.opened_total[key])
                suspects.add(labels, engine.suspects_total[key])
                if buy.is_usable(now) and sell.is_usable(now):
                    spread.add(labels, net_spread_bps(
                        buy.asks.best(), sell.bids.best(),
                        engine.costs.taker_fee(buy.instrument), engine.costs.taker_fee(sell.instrument)))
        for key in dict.fromkeys(pair[0] for pairs in engine.cross.values() for pair in pairs):
            labels = self.pair_labels(key)  # cross-quote: no top-of-book spread (two currencies)
            opened.add(labels, engine.opened_total[key])
            suspects.add(labels, engine.suspects_total[key])
        waiting = Family("arbscan_pairs_waiting_for_rate", "gauge", "Cross-quote pairs with live books not compared: no usable conversion book between their quotes.")
        waiting.add("", len(engine.waiting))
        skipped = Family("arbscan_skipped_pairs", "gauge", "Pairs never compared: the metadata says their base currencies are different assets (ticker collision).")
        for key in engine.skipped:
            skipped.add(self.skip_labels((*key, "different_asset")), 1.0)
        evaluations = Family("arbscan_engine_evaluations", "counter", "Symbol evaluations run by the spread engine.")
        evaluations.add("", engine.evaluations)
        last = Family("arbscan_engine_last_evaluation_timestamp_seconds", "gauge", "Unix time of the last engine evaluation.")
        last.add("", engine.last_evaluation())
        return [spread, opened, suspects, waiting, skipped, evaluations, last]

    def _opportunity_families(self) -> list[Family]:
        net = Family("arbscan_opportunity_net_profit", "gauge", "Net profit of an open opportunity after fees and transfer cost, in quote units (depth-aware).")
        net_bps = Family("arbscan_opportunity_net_profit_bps", "gauge", "Net profit of an open opportunity, in bps of its notional.")
        gross = Family("arbscan_opportunity_gross_profit", "gauge", "Gross profit of an open opportunity before costs, in quote units.")
        cost = Family("arbscan_opportunity_cost", "gauge", "Cost of an open opportunity by component, in quote units.")
        size = Family("arbscan_opportunity_size", "gauge", "Size of an open opportunity, in base units.")
        age = Family("arbscan_opportunity_age_seconds", "gauge", "Seconds since the open opportunity was first seen.")
        blocked = Family("arbscan_opportunity_blocked", "gauge", "Open spreads that cannot be rebalanced: no network open for withdrawal and deposit.")
        rate = Family("arbscan_opportunity_conversion_rate", "gauge", "Cross-quote opportunities: buy-quote units received per sell-quote unit by the conversion walk, before its fee.")
        wall = time.time()
        for key, state in self.engine.open.items():
            labels = self.pair_labels(key)
            opportunity = state.latest
            costs = opportunity.costs
            if costs.transfer_status is TransferStatus.BLOCKED:
                blocked.add(labels, 1.0)
                continue
            net.add(labels, costs.net)
            net_bps.add(labels, opportunity.net_profit_bps)
            gross.add(labels, costs.gross)
            size.add(labels, opportunity.size)
            age.add(labels, wall - state.first_seen)
            for component in COST_COMPONENTS:
                cost.add(self.cost_labels((*key, component)), getattr(costs, component))
            if costs.conversion is not None:
                cost.add(self.cost_labels((*key, "conversion")), costs.conversion.cost)
                rate.add(labels, costs.conversion.rate)
        return [net, net_bps, gross, cost, size, age, blocked, rate]


def _known_first(known: tuple[str, ...], counts: dict[str, int]) -> list[str]:
    """The known label values, then any other value counted."""
    return [*known, *(value for value in counts if value not in known)]


async def probe_loop_lag(observe: Callable[[float], None], interval: float = LAG_PROBE_SECONDS) -> None:
    """Sleep ``interval`` forever and ``observe`` how late each wake-up is: the time the loop
    spent on other work when the sleep should have ended."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        observe(max(0.0, time.perf_counter() - before - interval))


async def write_text(families: list[Family]) -> str:
    """The families as Prometheus text, yielding to the loop before each ``YIELD_EVERY`` rows
    (first of all right away: the caller has just spent a few milliseconds reading them)."""
    parts: list[str] = []
    due = 0
    for family in families:
        parts.append(family.header())
        sample, labels, values = family.sample_name(), family.labels, family.values
        for start in range(0, len(values), YIELD_EVERY):
            if due <= 0:
                due = YIELD_EVERY
                await asyncio.sleep(0)
            end = start + YIELD_EVERY
            parts.extend([f"{sample}{label} {floatToGoString(value)}\n"
                          for label, value in zip(labels[start:end], values[start:end])])
            due -= len(values[start:end])
    return "".join(parts)


FUNDING_FAMILIES = (  # (name, help, FundingState field)
    ("arbscan_mark_price", "Mark price of a perpetual or delivery future, as its exchange reports it "
     "(quote units).", "mark_price"),
    ("arbscan_funding_rate", "Funding rate per funding interval (ratio; positive: longs pay shorts).", "rate"),
    ("arbscan_funding_interval_seconds", "The perpetual's own funding interval, as its exchange reports it.",
     "interval_seconds"),
    ("arbscan_next_funding_timestamp_seconds", "Unix time of the perpetual's next funding settlement.",
     "next_funding_time"),
)


def funding_families(funding: dict[tuple[str, str], FundingState]) -> list[Metric]:
    """The mark price and funding of every futures instrument {exchange, symbol}; a value the
    exchange has not reported is absent, never 0."""
    families = []
    for name, help_text, attribute in FUNDING_FAMILIES:
        family = GaugeMetricFamily(name, help_text, labels=list(BOOK))
        for (exchange, symbol), state in funding.items():
            value = getattr(state, attribute)
            if value is not None:
                family.add_metric([exchange, symbol], value)
        families.append(family)
    return families


class MetricsServer:
    """Serves /metrics, /healthz and /readyz from the event loop, and probes its lag."""

    def __init__(self, collector: ScannerCollector, host: str, port: int):
        self.collector = collector
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        self.lifetime = Histogram(
            "arbscan_opportunity_lifetime_seconds", "How long opportunities stayed open.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=self.registry)
        self.loop_lag = Histogram(
            "arbscan_event_loop_lag_seconds",
            f"How late the event loop woke a probe sleeping {LAG_PROBE_SECONDS} s (time spent on other work).",
            buckets=LAG_BUCKETS, registry=self.registry)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._probe: asyncio.Task | None = None

    def on_event(self, event: OpportunityEvent) -> None:
        if event.type is EventType.CLOSED:
            self.lifetime.observe(event.duration)

    async def render(self) -> bytes:
        """Read the scanner's families at once (a consistent view of books and opportunities),
        write their rows in chunks letting the loop run in between, then add the other
        sources' families (alerts, paper, process, lifetime), which read their own state."""
        text = await write_text(self.collector.families())
        others = _Frozen([*self.collector.extra_families(), *self.registry.collect()])
        return text.encode() + generate_latest(others)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/", self._index)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self._probe = asyncio.create_task(probe_loop_lag(self.loop_lag.observe), name="loop-lag-probe")

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        """Alive: the event loop runs (it answered)."""
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        """Ready (200) when every enabled exchange has a live book, else 503; one line each."""
        counts = self.collector.readiness()
        ready = all(live for live, _ in counts.values())
        lines = [f"{exchange}: {live} of {total} books live" for exchange, (live, total) in counts.items()]
        return web.Response(status=200 if ready else 503,
                            text="\n".join(["ready" if ready else "not ready", *lines]) + "\n")

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="arbscan: /metrics, /healthz (alive), /readyz (every exchange has live books)\n")


class _Frozen:
    """A registry stand-in that yields already collected families."""

    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self.families)
