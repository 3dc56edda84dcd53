"""Instruments for tests, built the way the scanner builds them without metadata."""
from __future__ import annotations

from scanner.book import OrderBook
from scanner.checks import unlisted
from scanner.exchanges import EXCHANGES
from scanner.instruments import Instrument


def spot(exchange: str, symbol: str) -> Instrument:
    """``symbol`` on ``exchange``: a registered exchange's id from its feed, a made-up exchange's
    id is the symbol itself."""
    return unlisted(exchange, symbol) if exchange in EXCHANGES else Instrument.of(exchange, symbol, symbol)


def spot_book(exchange: str, symbol: str, *args, **kwargs) -> OrderBook:
    """An empty book of ``symbol`` on ``exchange`` (the other arguments are `OrderBook`'s)."""
    return OrderBook(exchange, symbol, *args, instrument=spot(exchange, symbol), **kwargs)
