"""Any other exchange ccxt supports, on a slower path: ccxt.pro's ``watch_order_book``.

A generic exchange (``[exchanges.<ccxt id>] generic = true``) has no adapter of ours: ccxt.pro
keeps its order books, and each update ccxt hands over is loaded into the exchange's
`OrderBook` as a snapshot of its top ``depth`` levels with the local receipt time. The books
then carry the same guards as native ones (a crossed snapshot leaves the book INVALID until
the next one; a silent watcher makes every book of the exchange stale through their shared
`Link`), so a stale or crossed generic book is never priced. What is lower fidelity: ccxt's
sequence and checksum handling is its own (arbscan verifies neither), each update is a copy of
ccxt's book rather than a diff, and reconnection and pacing are ccxt's. ccxt is imported only
here, and only when a generic exchange is configured: never on the native hot path.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
import urllib.parse
from typing import Any, Callable

from ..backoff import Backoff
from ..book import BookError, Link, OrderBook
from ..config import ExchangeConfig
from ..metadata import Metadata
from .base import BookListener, FeedStats

log = logging.getLogger(__name__)

GENERIC_DEPTH = 50  # levels per side taken from each ccxt update
BACKOFF = Backoff(base=1.0, cap=30.0)


def point_urls(urls: Any, ws_url: str, rest_url: str) -> Any:
    """ccxt's ``urls`` tree with the scheme and host of every WebSocket URL replaced by
    ``ws_url``'s and of every HTTP URL by ``rest_url``'s (paths kept): how a generic exchange
    is pointed at a proxy, a testnet or a simulated exchange. Empty overrides change nothing."""
    if isinstance(urls, dict):
        return {key: point_urls(value, ws_url, rest_url) for key, value in urls.items()}
    if isinstance(urls, list):
        return [point_urls(value, ws_url, rest_url) for value in urls]
    if not isinstance(urls, str) or "://" not in urls:
        return urls
    parts = urllib.parse.urlsplit(urls)
    target = ws_url if parts.scheme in ("ws", "wss") else rest_url if parts.scheme in ("http", "https") else ""
    if not target:
        return urls
    new = urllib.parse.urlsplit(target)
    return urllib.parse.urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))


def ccxt_markets(metadata: Metadata, exchange: str) -> list[dict[str, Any]]:
    """The exchange's spot markets from the metadata, as ccxt market structures (so ccxt needs
    no ``load_markets`` request; ``lowercaseId`` is what the Binance family's watchers read);
    empty when the metadata does not know the exchange."""
    result = []
    for symbol in metadata.symbols(exchange):
        market = metadata.market(exchange, symbol)
        i = market.instrument if market else None
        if i is None or not i.is_spot:
            continue
        result.append({
            "id": i.id, "lowercaseId": i.id.lower(), "symbol": i.symbol, "base": i.base, "quote": i.quote, "baseId": i.base,
            "quoteId": i.quote, "settle": None, "settleId": None, "type": "spot", "spot": True,
            "margin": False, "swap": False, "future": False, "option": False, "contract": False,
            "linear": None, "inverse": None, "contractSize": None, "active": market.active,
            "taker": market.taker_fee, "maker": market.taker_fee, "expiry": None,
            "precision": {"price": i.tick, "amount": i.lot},
            "limits": {"amount": {"min": None, "max": None}, "price": {"min": None, "max": None},
                       "cost": {"min": i.min_notional, "max": None}},
            "info": {},
        })
    return result


class GenericFeed:
    """One generic exchange: one ccxt.pro client, one watcher task per book. Its books share
    one `Link` (ccxt's connections are hidden: the exchange is as fresh as its last update)."""

    fidelity = "generic"

    def __init__(self, name: str, books: dict[str, OrderBook], on_book: BookListener, stats: FeedStats,
                 settings: ExchangeConfig, metadata: Metadata, depth: int = GENERIC_DEPTH,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.books = books
        self.on_book = on_book
        self.stats = stats
        self.settings = settings
        self.metadata = metadata
        self.depth = depth
        self.clock = clock
        self.link = Link()
        for book in books.values():
            book.link = self.link
        self.client: Any = None
        self._updates = 0

    def _create_client(self) -> Any:
        import ccxt.pro  # noqa: PLC0415 - only a configured generic exchange loads ccxt

        client = getattr(ccxt.pro, self.name)({"enableRateLimit": True})
        client.urls = point_urls(client.urls, self.settings.ws_url, self.settings.rest_url)
        markets = ccxt_markets(self.metadata, self.name)
        if markets:
            client.set_markets(markets)
        return client

    async def run(self) -> None:
        """Watch every book until cancelled; ccxt's client is closed on the way out."""
        self.client = self._create_client()
        self.stats.connections += 1
        try:
            if not self.client.markets:
                await self._load_markets()
            await asyncio.gather(*(self._watch(symbol, book) for symbol, book in self.books.items()))
        finally:
            self.stats.connected = 0
            self.stats.connections -= 1
            await self.client.close()

    async def _load_markets(self) -> None:
        """ccxt's own market list (the metadata had none), retried with backoff."""
        for attempt in itertools.count():
            try:
                await self.client.load_markets()
                return
            except Exception as exc:  # noqa: BLE001 - any ccxt failure: count it and retry
                self._failed("resync", exc)
                await asyncio.sleep(BACKOFF.delay(attempt))

    async def _watch(self, symbol: str, book: OrderBook) -> None:
        failures = 0
        while True:
            try:
                update = await self.client.watch_order_book(symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - ccxt raises its own hierarchy and more
                book.reset()
                self.stats.reconnects += 1
                self._failed("disconnect", exc)
                await asyncio.sleep(BACKOFF.delay(failures))
                failures += 1
                continue
            failures = 0
            self._apply(book, update)

    def _apply(self, book: OrderBook, update: dict[str, Any]) -> None:
        """Load ccxt's book as a snapshot of its top levels; a crossed one stays INVALID (not
        used) until the next update replaces it."""
        now = self.clock()
        self.stats.messages += 1
        self.stats.last_message_at = now
        self.stats.connected = 1
        self._updates += 1
        timestamp = update.get("timestamp") or 0
        try:
            book.load_snapshot(update["bids"][:self.depth], update["asks"][:self.depth], self._updates,
                               self._updates, now, timestamp / 1000.0)
        except BookError as exc:
            self.stats.resyncs[exc.reason] += 1
        self.on_book(book)

    def _failed(self, kind: str, exc: BaseException) -> None:
        self.stats.connected = 0
        self.stats.errors[kind] += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
        log.warning("%s (generic): %s", self.name, self.stats.last_error)
