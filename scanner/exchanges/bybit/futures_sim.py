"""Bybit v5 linear on ``/v5/public/linear``: the spot simulation's ``orderbook.N`` topics (sizes
in base units) plus ``tickers.<SYM>``: a snapshot on subscription, then deltas every 100 ms
carrying what changed (``markPrice``, ``indexPrice``, ``fundingRate``, ``nextFundingTime``,
``fundingIntervalHour`` for perpetuals)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from ...instruments import MarketType, Symbol
from ...sim.futures import FuturesVenue
from ...sim.market import VenueBook
from .sim import Bybit

TICKER_INTERVAL = 0.1
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class BybitFutures(FuturesVenue, Bybit):
    ws_path = "/v5/public/linear"

    def __init__(self, model: Any, *args: Any, **kwargs: Any):
        super().__init__(model, *args, **kwargs)
        self.init_futures(model)
        self.tickers = {f"tickers.{book.instrument.id}": symbol for symbol, book in self.books.items()}
        self.sent: dict[str, dict[str, str]] = {}  # topic -> ticker fields last pushed
        self.next_ticker = 0.0

    @staticmethod
    def futures_id(symbol: Symbol) -> str:
        """``BTCUSDT`` (perpetual), ``BTCUSDT-25DEC26`` (delivery)."""
        if symbol.type is MarketType.PERP:
            return symbol.base + symbol.quote
        day = datetime.fromtimestamp(symbol.expiry or 0, timezone.utc)
        return f"{symbol.base}{symbol.quote}-{day.day:02d}{MONTHS[day.month - 1]}{day:%y}"

    @staticmethod
    def contract_size(symbol: Symbol) -> float:
        return 1.0  # linear sizes are base units

    def serves(self, topic: str) -> bool:
        return topic in self.tickers

    def tick(self, now: float, wall_ms: int) -> None:
        super().tick(now, wall_ms)
        if now < self.next_ticker:
            return
        self.next_ticker = max(self.next_ticker + TICKER_INTERVAL, now)
        self.wander_rates()
        for topic, symbol in self.tickers.items():
            if topic not in self.subs and topic not in self.waiting:
                continue
            fields = self.ticker(self.books[symbol], wall_ms)
            last = self.sent.get(topic, {})
            changed = {key: value for key, value in fields.items() if last.get(key) != value}
            self.sent[topic] = fields
            if changed and topic in self.subs:
                self.emit(topic, self._message(topic, "delta", {"symbol": fields["symbol"], **changed}, wall_ms))
            self.admit(topic, self._message(topic, "snapshot", fields, wall_ms))

    def ticker(self, book: VenueBook, wall_ms: int) -> dict[str, str]:
        fields = {"symbol": book.instrument.id, "markPrice": f"{self.mark(book):.8g}",
                  "indexPrice": f"{self.index(book):.8g}"}
        if book.symbol in self.rates:
            fields.update(fundingRate=f"{self.rates[book.symbol]:.8f}",
                          nextFundingTime=str(self.next_funding_ms(book, wall_ms)),
                          fundingIntervalHour=str(self.interval_hours(book)), fundingCap="0.005")
        return fields

    @staticmethod
    def _message(topic: str, kind: str, data: dict[str, str], wall_ms: int) -> bytes:
        return orjson.dumps({"topic": topic, "type": kind, "data": data, "cs": wall_ms, "ts": wall_ms})
