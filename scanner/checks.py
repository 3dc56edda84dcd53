"""The static checks made before the scanner starts.

`startup_problems` is the one list of them: ``arbscan check-config`` prints it, ``run``,
``demo`` and ``record`` refuse to start on any of it (after their command-line overrides).
What the config file alone decides is checked when it is loaded (`scanner.config`); these
need the metadata, the environment or the file system.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

from .alerts.formats import build_renderer
from .config import Config, ConfigError
from .exchanges import EXCHANGES
from .instruments import Instrument, MarketType, parse_symbol
from .metadata import Metadata, _cache_path
from .stablecoins import STABLECOINS

log = logging.getLogger(__name__)


GENERIC_QUOTE = "USDT"  # the quote of a generic exchange's assets when no metadata lists its markets


def universe(config: Config, metadata: Metadata) -> dict[str, list[str]]:
    """The symbols to scan on each enabled exchange: ``scanner.symbols`` when set; otherwise
    every spot market the metadata lists of each of ``scanner.assets`` against a stablecoin
    (USDT, USDC, USD, FDUSD, DAI ...), asset by asset in the configured order. A generic
    exchange the metadata does not know scans each asset against USDT."""
    if config.scanner.symbols:
        return {exchange: list(config.scanner.symbols) for exchange in config.enabled_exchanges()}
    order = {asset: n for n, asset in enumerate(config.scanner.assets)}
    result = {}
    for exchange in config.enabled_exchanges():
        markets = [metadata.instrument(exchange, symbol) for symbol in metadata.symbols(exchange)]
        if not markets and config.exchanges[exchange].generic:
            result[exchange] = [f"{asset}/{GENERIC_QUOTE}" for asset in config.scanner.assets]
            continue
        wanted = [i for i in markets if i is not None and i.is_spot and i.base in order and i.quote in STABLECOINS]
        wanted.sort(key=lambda i: (order[i.base], i.quote != "USDT", i.quote))
        result[exchange] = [i.symbol for i in wanted]
    return result


def listings(config: Config, metadata: Metadata) -> dict[str, list[Instrument]]:
    """The instruments of the `universe` each enabled exchange lists: the metadata's
    (perpetuals and delivery futures only where the exchange has a futures feed); for an
    exchange it has no market of (made-up benchmark symbols, an empty metadata), every
    configured spot symbol, with the id the exchange's feed derives (`unlisted`)."""
    result = {}
    for exchange, symbols in universe(config, metadata).items():
        futures = exchange in EXCHANGES and EXCHANGES[exchange].has_futures
        symbols = [s for s in symbols if futures or parse_symbol(s).type is MarketType.SPOT]
        if metadata.symbols(exchange):
            found = (metadata.instrument(exchange, s) for s in symbols)
            result[exchange] = [i for i in found if i is not None]
        else:
            result[exchange] = [Instrument.of(exchange, s, s) if config.exchanges[exchange].generic
                                else unlisted(exchange, s) for s in symbols if parse_symbol(s).type is MarketType.SPOT]
    return result


def book_count(config: Config, metadata: Metadata) -> tuple[int, int]:
    """(books, exchanges with at least one): the scanned books and their stablecoin
    conversion books, as the scanner will subscribe them."""
    scanned = listings(config, metadata)
    books = {(i.exchange, i.symbol) for found in (scanned, conversion_listings(config, metadata, scanned))
             for instruments in found.values() for i in instruments}
    return len(books), len({exchange for exchange, _ in books})


def book_symbols(config: Config, metadata: Metadata) -> list[str]:
    """Every symbol any enabled exchange will have a book of (scanned and conversion books)."""
    scanned = listings(config, metadata)
    return sorted({i.symbol for found in (scanned, conversion_listings(config, metadata, scanned))
                   for instruments in found.values() for i in instruments})


def conversion_listings(config: Config, metadata: Metadata,
                        listed: dict[str, list[Instrument]]) -> dict[str, list[Instrument]]:
    """The stablecoin books the engine needs to compare quotes: where the ``listed``
    instruments of one market type and base span two stablecoin quotes (BTC/USDT here,
    BTC/USDC there), every enabled exchange's spot book between those two quotes (USDC/USDT or
    USDT/USDC) that the metadata lists."""
    quotes: dict[tuple[MarketType, str], set[str]] = {}
    for instruments in listed.values():
        for i in instruments:
            if i.quote in STABLECOINS:
                quotes.setdefault((i.type, i.base), set()).add(i.quote)
    needed = {(a, b) for spanned in quotes.values() for a in spanned for b in spanned if a != b}
    result = {}
    for exchange in config.enabled_exchanges():
        found = (metadata.instrument(exchange, f"{a}/{b}") for a, b in sorted(needed))
        books = [i for i in found if i is not None and i.is_spot]
        if books:
            result[exchange] = books
    return result


def unlisted(exchange: str, symbol: str) -> Instrument:
    """The spot instrument of ``symbol`` on ``exchange`` when the metadata knows none: only its
    id (from the exchange feed's ``market_id``), no tick, lot or minimum. (A generic exchange's
    id is the unified symbol: ccxt maps it.)"""
    parsed = parse_symbol(symbol)
    if parsed.type is not MarketType.SPOT:
        raise ValueError(f"{exchange} lists no {symbol} in the metadata; only spot ids can be derived")
    market_id = EXCHANGES[exchange].feed.market_id(parsed.base, parsed.quote)
    return Instrument(exchange, MarketType.SPOT, parsed.base, parsed.quote, None, market_id)


def startup_problems(config: Config, metadata: Metadata, env: Mapping[str, str] = os.environ) -> list[str]:
    """One line per reason the scanner cannot start with ``config`` (empty: it can)."""
    problems = _exchange_problems(config, metadata)
    scanned = {symbol for symbols in universe(config, metadata).values() for symbol in symbols}
    for name, hook in config.alerts.webhooks.items():
        try:
            build_renderer(name, hook, env)  # what the alerter does at start: URL, secret
        except ConfigError as exc:
            problems += exc.problems
        problems += [f"alerts.webhooks.{name}.symbols: {symbol} is not in scanner.symbols, so this"
                     " filter never matches" for symbol in hook.symbols if symbol not in scanned]
    files = {"metadata.cache_path": unwritable(cache_path(config), creates_directories=True)}
    if config.alerts.webhooks:
        files["alerts.outbox_path"] = unwritable(Path(config.alerts.outbox_path))
    if config.paper.enabled:
        files["paper.ledger_path"] = unwritable(Path(config.paper.ledger_path))
    return problems + [f"{setting}: {reason}" for setting, reason in files.items() if reason]


def cache_path(config: Config) -> Path:
    """Where ``arbscan markets refresh`` writes the metadata and the scanner reads it."""
    return _cache_path(config.metadata.cache_path or None)


def check_startup(config: Config, metadata: Metadata) -> None:
    """Raise ConfigError with every `startup_problems` line, if there is any."""
    problems = startup_problems(config, metadata)
    if problems:
        raise ConfigError(problems)


def _exchange_problems(config: Config, metadata: Metadata) -> list[str]:
    enabled = config.enabled_exchanges()
    if len(enabled) < 2:
        return [f"exchanges: {len(enabled)} enabled ({', '.join(enabled) or 'none'}); arbscan compares"
                " exchanges, set enabled = true for at least two"]
    venues = listings(config, metadata)
    if not config.scanner.symbols and not any(venues.values()):
        return [f"scanner.assets: none of {', '.join(config.scanner.assets)} is listed against a stablecoin"
                " on any enabled exchange; check the codes or run `arbscan markets refresh`"]
    problems = []
    for symbol in config.scanner.symbols:
        listed = [exchange for exchange in enabled if any(i.symbol == symbol for i in venues[exchange])]
        if not listed:
            problems.append(f"scanner.symbols: {symbol} is not listed on any enabled exchange"
                            f" ({', '.join(enabled)}); check the spelling or run `arbscan markets refresh`")
        elif len(listed) == 1:
            log.warning("%s is listed only on %s: nothing to compare it with", symbol, listed[0])
    return problems


def unwritable(path: Path, creates_directories: bool = False) -> str | None:
    """Why a file cannot be written at ``path`` (None: it can): its directory is missing or
    read-only, or it is a directory. ``creates_directories``: the writer makes the missing
    directories, so the nearest existing one must be writable."""
    if path.is_dir():
        return f"{path} is a directory; name a file"
    directory = path.parent
    if creates_directories:
        while not directory.exists() and directory != directory.parent:
            directory = directory.parent
    if not directory.is_dir():
        return f"directory {directory} of {path} does not exist; create it or choose another path"
    if not os.access(directory, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{path if path.exists() else directory} is not writable; fix its permissions or choose another path"
    return None
