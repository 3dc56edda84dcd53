"""Live prices for ``arbscan hedge``: a few seconds of one exchange's spot, perpetual and delivery
feeds (the scanner itself, with a small config), read into the plan's `Market`."""
from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from typing import Mapping

from ..book import OrderBook
from ..config import Config
from ..engine.costs import CostModel
from ..instruments import MarketType, parse_symbol, unified_symbol
from ..metadata import Metadata
from .basis import DAY
from .funding import FundingState
from .plan import Market

POLL_SECONDS = 0.05
FRESH_SECONDS = 60.0  # funding reported longer ago than this is not taken


class NoLivePrices(ValueError):
    """What did not arrive in time, as one line."""


def symbols(asset: str, quote: str, exchange: str, metadata: Metadata) -> tuple[str, str, list[str]]:
    """(spot, perpetual, delivery futures the metadata lists on ``exchange``) of ``asset`` in ``quote``."""
    deliveries = []
    for symbol in metadata.symbols(exchange):
        parsed = parse_symbol(symbol)
        if (parsed.type, parsed.base, parsed.quote, parsed.settle) == (MarketType.DELIVERY, asset, quote, quote):
            deliveries.append(symbol)
    return (unified_symbol(MarketType.SPOT, asset, quote), unified_symbol(MarketType.PERP, asset, quote, quote),
            sorted(deliveries))


def small_config(config: Config, exchange: str, wanted: list[str]) -> Config:
    """``config`` narrowed to the ``wanted`` books of one exchange: no metrics, alerts, paper or hedges."""
    small = copy.deepcopy(config)
    for name, settings in small.exchanges.items():
        settings.enabled = name == exchange
    small.scanner.symbols = wanted
    small.metrics.enabled = False
    small.alerts.webhooks = {}
    small.paper.enabled = False
    small.hedges = []
    return small


def read_market(books: Mapping[tuple[str, str], OrderBook], funding: Mapping[tuple[str, str], FundingState],
                costs: CostModel, exchange: str, spot: str, perp: str, deliveries: list[str], direction: str,
                now: float, wall: float, fee: float | None = None) -> Market | str:
    """The plan's market from usable books and fresh funding, or what is still missing (a phrase)."""
    spot_book, perp_book = books.get((exchange, spot)), books.get((exchange, perp))
    for symbol, book in ((spot, spot_book), (perp, perp_book)):
        if not _usable(book, now):
            return f"no live {symbol} book from {exchange}"
    state = funding.get((exchange, perp))
    if (state is None or not state.is_fresh(now, FRESH_SECONDS) or state.mark_price is None or state.rate is None
            or not state.interval_seconds):
        return f"no mark price, funding rate and interval for {perp} from {exchange}"
    spot_mid = (spot_book.best_bid() + spot_book.best_ask()) / 2.0
    alternative = cheapest_delivery([books.get((exchange, s)) for s in deliveries], spot_mid, direction, now, wall)
    symbol, price, days = alternative if alternative is not None else (None, None, None)
    to_funding = None if state.next_funding_time is None else max(state.next_funding_time - wall, 0.0)
    return Market(spot=spot_mid, mark=state.mark_price, funding_rate=state.rate,
                  funding_interval_hours=state.interval_hours, seconds_to_funding=to_funding,
                  taker_fee=costs.taker_fee(perp_book.instrument) if fee is None else fee,
                  delivery_symbol=symbol, delivery_price=price, delivery_days=days)


def cheapest_delivery(books: list[OrderBook | None], spot: float, direction: str, now: float,
                      wall: float) -> tuple[str, float, float] | None:
    """(symbol, price, days to expiry) of the usable delivery future whose annualised basis costs least
    for ``direction``: a short hedge sells at the bid and earns the basis (the highest bid over
    spot wins); a long hedge buys at the ask and pays it (the lowest ask wins)."""
    best = None
    for book in books:
        if not _usable(book, now):
            continue
        days = (book.instrument.expiry - wall) / DAY
        if days <= 0:
            continue
        price = book.best_bid() if direction == "short" else book.best_ask()
        cost = (price / spot - 1.0) * 365.0 / days * (-1.0 if direction == "short" else 1.0)
        if best is None or cost < best[0]:
            best = (cost, book.symbol, price, days)
    return None if best is None else best[1:]


async def fetch_market(config: Config, metadata: Metadata, exchange: str, asset: str, quote: str, direction: str,
                       wait: float, fee: float | None = None) -> Market:
    """Run the feeds of ``asset``'s books on ``exchange`` until the market is known and every
    delivery book is live, at most ``wait`` seconds (then without the deliveries not live yet);
    NoLivePrices (naming what is missing) when the spot, perpetual or funding did not come."""
    from ..app import Scanner

    spot, perp, deliveries = symbols(asset, quote, exchange, metadata)
    scanner = Scanner(small_config(config, exchange, [spot, perp, *deliveries]), metadata)
    task = asyncio.create_task(scanner.run())
    deadline = time.monotonic() + wait
    try:
        while True:
            now = scanner.scheduler.monotonic()
            result = read_market(scanner.store.books, scanner.funding, scanner.costs, exchange, spot, perp,
                                 deliveries, direction, now, scanner.scheduler.wall(), fee)
            late = time.monotonic() >= deadline
            syncing = [s for s in deliveries if not _usable(scanner.store.books.get((exchange, s)), now)]
            if isinstance(result, Market) and (not syncing or late):  # a delivery book late: left out
                return result
            if task.done() or late:
                raise NoLivePrices(f"{result} within {wait:g} s; pass --price for offline use")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _usable(book: OrderBook | None, now: float) -> bool:
    return book is not None and book.is_usable(now)
