"""Wires feeds, books, the spread engine and the publishers into one asyncio service."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import TYPE_CHECKING, Callable, TextIO

from rich.console import RenderableType

from .alerts import Alerter, FeedHealth
from .alerts.health import OpsAlert
from .book import OrderBook
from .checks import conversion_listings, listings
from .clock import LiveScheduler, Scheduler
from .config import Config
from .engine.costs import CostModel
from .engine.opportunity import OpportunityEvent
from .engine.spread import BookStore, SpreadEngine
from .exchanges import EXCHANGES
from .feeds import FeedStats
from .feeds.base import Venue
from .feeds.runner import FeedRunner
from .hedging.basis import BasisEngine
from .hedging.funding import FundingState
from .hedging.monitor import HedgeMonitor
from .metadata import Metadata
from .paper import PaperTrader
from .publish import terminal
from .publish.metrics import MetricsServer, ScannerCollector, funding_families
from .record import Recorder
from .stablecoins import StablecoinMonitor

if TYPE_CHECKING:
    from .feeds.generic import GenericFeed

log = logging.getLogger(__name__)

Listener = Callable[[OpportunityEvent], None]


class Scanner:
    """One scanner process: feeds -> books -> engine -> metrics, alerts, paper, terminal."""

    def __init__(self, config: Config, metadata: Metadata, scheduler: Scheduler | None = None,
                 recorder: Recorder | None = None, live: bool = True):
        """``live=False`` builds the pipeline for replay: no sockets, the caller feeds frames,
        calls ``flush`` after each one and moves the (virtual) ``scheduler``."""
        self.config = config
        self.metadata = metadata
        self.live = live
        self.scheduler = scheduler or LiveScheduler()
        self.recorder = recorder
        scanned = listings(config, metadata)
        self.store = BookStore(scanned, {name: config.staleness_seconds(name) for name in config.exchanges},
                               conversion_listings(config, metadata, scanned))
        self.costs = CostModel(metadata, config.exchanges)
        self.engine = SpreadEngine(self.store, self.costs, config.scanner,
                                   clock=self.scheduler.monotonic, wall_clock=self.scheduler.wall)
        self.engine.emit = self.dispatch
        # (exchange, symbol) -> mark price and funding of each perpetual and delivery future, as
        # the futures feeds keep them (filled once the runners exist; read-only for the rest)
        self.funding: dict[tuple[str, str], FundingState] = {}
        self.basis = BasisEngine(self.store.books.values(), self.funding, self.costs, config.hedging,
                                 clock=self.scheduler.monotonic, wall_clock=self.scheduler.wall)
        self.hedges = HedgeMonitor(config.hedges, self.store.books, self.funding, self.costs, config.hedging,
                                   metadata, clock=self.scheduler.monotonic)
        if not live:  # replay: the same recording gives the same ids (and paper trade ids)
            ids = itertools.count(1)
            self.engine.new_id = lambda: f"replay-{next(ids):08d}"
        self.stats = {exchange: FeedStats() for exchange in config.enabled_exchanges()}
        self.listeners: list[Listener] = []
        native = [exchange for exchange in config.enabled_exchanges() if not config.exchanges[exchange].generic]
        self.runners = [runner for exchange in native for runner in self._runners(exchange)]
        self.funding.update({(runner.venue.name, symbol): state for runner in self.runners
                             for symbol, state in getattr(runner.venue, "funding", {}).items()})
        self.generic = [self._generic(exchange) for exchange in config.enabled_exchanges()
                        if config.exchanges[exchange].generic and live]
        self.metrics: MetricsServer | None = None
        self.collector = ScannerCollector(self.engine, self.stats, clock=self.scheduler.monotonic,
                                          fidelity={ex: config.fidelity(ex) for ex in self.stats})
        self.collector.extra.append(lambda: funding_families(self.funding))
        if config.metrics.enabled and live:
            self.metrics = MetricsServer(self.collector, config.metrics.host, config.metrics.port)
            self.listeners.append(self.metrics.on_event)
        self.paper: PaperTrader | None = None
        if config.paper.enabled:
            self.paper = PaperTrader(config.paper, self.store, self.costs, metadata, self.scheduler)
            self.paper.open()
            if not live:  # the virtual clock schedules without a loop; live, ``run`` starts it
                self.paper.start()
            self.listeners.append(self.paper.on_event)
            self.collector.extra.append(self.paper.metric_families)
        self.alerter: Alerter | None = None
        if config.alerts.webhooks and live:
            self.alerter = Alerter(config.alerts, health=self.health,
                                   generic=frozenset(ex for ex in config.exchanges if config.exchanges[ex].generic))
            self.listeners.append(self.alerter.publish)
            self.collector.extra.append(self.alerter.metric_families)
        self.stablecoins = StablecoinMonitor(self.store.books.values(), config.stablecoins.depeg_bps,
                                             config.stablecoins.depeg_seconds)
        self.collector.extra.append(lambda: self.stablecoins.metric_families(self.scheduler.monotonic()))
        self.collector.extra += [self.basis.metric_families, self.hedges.metric_families]
        self._dirty: set[str] = set()
        self.stopping = False

    def _runners(self, exchange: str) -> list[FeedRunner]:
        """The exchange's connections: its spot feed's and, when futures are scanned there, its
        futures feed's (with any book-less companions, e.g. Binance's mark price stream), all
        sharing the exchange's counters."""
        settings = self.config.exchanges[exchange]
        profile = EXCHANGES[exchange]
        books = self.store.for_exchange(exchange)
        spot = {symbol: book for symbol, book in books.items() if book.instrument is None or book.instrument.is_spot}
        futures = {symbol: book for symbol, book in books.items() if symbol not in spot}
        runners = []
        if spot or not futures:
            runners += self._connections(exchange, profile.feed, spot, settings.ws_url, settings.rest_url)
        if futures and profile.has_futures:
            feed = profile.futures_feed
            ws_url, rest_url = settings.futures_ws_url, settings.futures_rest_url
            runners += self._connections(exchange, feed, futures, ws_url, rest_url)
            instruments = [book.instrument for book in futures.values()]
            runners += [self._runner(exchange, venue) for venue in feed.companions(instruments, ws_url, rest_url)]
        return runners

    def _connections(self, exchange: str, feed: type, books: dict[str, OrderBook], ws_url: str,
                     rest_url: str) -> list[FeedRunner]:
        """One runner (a connection) per chunk of ``books`` that one connection of ``feed``
        takes; replay has no connections: one runner."""
        items = list(books.items())
        size = feed.max_books_per_connection if self.live and feed.max_books_per_connection else len(items)
        return [self._runner(exchange, feed(dict(items[start:start + size]), self.book_listener(),
                                            ws_url=ws_url, rest_url=rest_url))
                for start in range(0, max(len(items), 1), max(size, 1))]

    def _runner(self, exchange: str, venue: Venue) -> FeedRunner:
        return FeedRunner(venue, self.stats[exchange], self.config.scanner.silence_seconds,
                          recorder=self.recorder, replaying=not self.live,
                          staleness_seconds=self.config.staleness_seconds(exchange))

    def _generic(self, exchange: str) -> GenericFeed:
        """A generic exchange's ccxt.pro watcher (imported only when one is configured)."""
        from .feeds.generic import GenericFeed  # noqa: PLC0415 - keeps ccxt off the native path

        return GenericFeed(exchange, self.store.for_exchange(exchange), self.book_listener(),
                           self.stats[exchange], self.config.exchanges[exchange], self.metadata)

    def health(self) -> dict[str, FeedHealth]:
        """Per-exchange health for operational alerts."""
        now = self.scheduler.monotonic()
        result = {}
        for exchange, stats in self.stats.items():
            books = [book for (ex, _), book in self.store.books.items() if ex == exchange]
            stale = sum(not book.is_usable(now) for book in books)
            result[exchange] = FeedHealth(up=stats.up, stale_books=stale, books=len(books),
                                          resyncs_total=sum(stats.resyncs.values()))
        return result

    def book_listener(self) -> Callable[[OrderBook], None]:
        """What the feeds call when a book changed. Live: the engine evaluates the symbol at
        once, inside the frame's handling (deferring it with ``call_soon``, to coalesce a
        burst, made it wait behind the parsing of every other socket's pending data: p99
        2.3-2.5 ms from receipt to event at 20,000 frames/s against 0.5 ms, for the same CPU).
        Replay: the symbol is marked, and evaluated at the next ``flush``. The basis engine sees
        the books of its (spot, perp) pairs too; with none (spot only) the listener is the spread
        engine's alone, and a spot book without a perpetual costs one set lookup."""
        if not self.live:
            return self._mark_dirty
        watched = self.basis.watches
        if not watched:
            return self.engine.on_book
        spread, basis = self.engine.on_book, self.basis.on_book

        def both(book: OrderBook) -> None:
            spread(book)
            if book.symbol in watched:
                alerts = basis(book)
                if alerts:
                    self._raise(alerts)
        return both

    def _mark_dirty(self, book: OrderBook) -> None:
        self._dirty.add(book.symbol)

    def flush(self) -> None:
        """Evaluate every symbol whose books changed since the last flush (replay)."""
        dirty, self._dirty = self._dirty, set()
        for symbol in dirty:
            self.engine.update(symbol)
            self._raise(self.basis.update(symbol))

    def dispatch(self, events: list[OpportunityEvent]) -> None:
        for event in events:
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # one broken listener must not stop the others
                    log.exception("listener %r failed on %s", listener, event.type.value)

    @property
    def metrics_url(self) -> str | None:
        if self.metrics is None:
            return None
        return f"http://{self.config.metrics.host}:{self.config.metrics.port}/metrics"

    async def run(self, duration: float | None = None, view: TextIO | None = None,
                  view_interval: float = 1.0) -> None:
        """Run until cancelled, or for ``duration`` seconds; redraw the live view on ``view``
        when it is a terminal (anything else gets no view)."""
        log.info("%s", self.metadata.origin())
        log.info("scanning %d books on %d exchanges", len(self.store.books),
                 len({exchange for exchange, _ in self.store.books}))
        if self.paper is not None:
            self.paper.start()
        if self.alerter is not None:
            await self.alerter.start()
        if self.metrics is not None:
            await self.metrics.start()
            log.info("metrics on %s", self.metrics_url)
        live = None
        if terminal.LiveView.wanted(view):
            live = terminal.LiveView(view)
        elif view is not None:
            log.info("stdout is not a terminal: no live view (metrics and logs only)")
        tasks = [asyncio.create_task(runner.run(), name=f"feed-{runner.venue.name}-{n}")
                 for n, runner in enumerate(self.runners)]
        tasks += [asyncio.create_task(feed.run(), name=f"generic-{feed.name}") for feed in self.generic]
        tasks.append(asyncio.create_task(self._housekeeping(live, view_interval)))
        try:
            if duration is None:  # (not gather: cancelling it would stop the feeds before ``stopping`` is set)
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()  # a task that failed stops the scanner with its error
            else:
                await asyncio.sleep(duration)
        finally:
            self.stopping = True  # books going down with the scanner are not carries that closed
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.metrics is not None:
                await self.metrics.stop()
            if self.alerter is not None:
                await self.alerter.stop()
            self.close()

    def close(self) -> None:
        """Release what outlives the loop (the paper ledger)."""
        if self.paper is not None:
            self.paper.close()
            self.paper = None

    def _raise(self, alerts: list[OpsAlert]) -> None:
        """Send alerts to the targets that take them (logged when there is none); none while
        the scanner stops."""
        if self.stopping:
            return
        for alert in alerts:
            if self.alerter is not None:
                self.alerter.raise_alert(alert, self.alerter.clock())
            else:
                log.warning("%s: %s", alert.type, alert.detail)

    def _watch(self) -> None:
        """Stablecoin depegs, the basis pairs (funding moves and books go stale without a book
        update) and the configured hedges, once a second."""
        self._raise(self.stablecoins.observe(self.scheduler.monotonic()))
        self._raise(self.basis.sweep())
        self._raise(self.hedges.observe())

    async def _housekeeping(self, live: terminal.LiveView | None, interval: float) -> None:
        """Close opportunities on books that went stale, and redraw the terminal view."""
        if live is not None:
            live.start()
        try:
            while True:
                if live is not None:
                    live.update(self.view())
                await asyncio.sleep(interval)
                events = self.engine.sweep()
                if events:
                    self.dispatch(events)
                self._watch()
        finally:
            if live is not None:
                live.stop()

    def view(self) -> RenderableType:
        """The live view as it stands (see `scanner.publish.terminal.render`)."""
        status = terminal.status_items(self.config, self.metadata, self.metrics_url, self.paper,
                                       self.scheduler.wall())
        return terminal.render(self.engine, self.stats, status, self.scheduler.monotonic(), self.scheduler.wall(),
                               generic=frozenset(feed.name for feed in self.generic),
                               hedges=list(self.hedges.latest.values()),
                               carries=self.basis.carries(self.scheduler.monotonic()))
