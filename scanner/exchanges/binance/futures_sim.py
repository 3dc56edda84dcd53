"""Binance USDⓈ-M futures: ``/public/stream`` (``<sym>@depth@100ms`` with ``pu``, the previous
event's ``u``, and ``<sym>@bookTicker``), ``/market/stream`` (``<sym>@markPrice@1s``), REST
``/fapi/v1/depth`` and ``/fapi/v1/fundingInfo`` (only the symbols whose interval is not 8 h, as
Binance lists them). The legacy ``/stream`` and ``/ws`` paths accept the handshake and then send
nothing, as Binance's do since 2026-04-23."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from ...instruments import MarketType, Symbol
from ...sim.futures import FuturesVenue
from ...sim.market import Levels, VenueBook
from ...sim.protocol import Connection
from .sim import Binance

MARK_INTERVAL = 1.0  # @markPrice@1s
FUNDING_INFO_PATH = "/fapi/v1/fundingInfo"


class BinanceFutures(FuturesVenue, Binance):
    ws_path = ""  # the feed adds /public/stream or /market/stream, like spot adds /stream
    depth_path = "/fapi/v1/depth"

    def __init__(self, model: Any, *args: Any, **kwargs: Any):
        super().__init__(model, *args, **kwargs)
        self.init_futures(model)
        self.next_mark = 0.0

    @staticmethod
    def futures_id(symbol: Symbol) -> str:
        """``BTCUSDT`` (perpetual), ``BTCUSDT_261225`` (delivery)."""
        if symbol.type is MarketType.PERP:
            return symbol.base + symbol.quote
        day = datetime.fromtimestamp(symbol.expiry or 0, timezone.utc).strftime("%y%m%d")
        return f"{symbol.base}{symbol.quote}_{day}"

    @staticmethod
    def contract_size(symbol: Symbol) -> float:
        return 1.0  # sizes are base units

    def accepts(self, path: str) -> bool:
        path = path.partition("?")[0]
        return path in ("/public/stream", "/market/stream", "/stream") or path.startswith(("/ws", "/public/ws"))

    def open(self, conn: Connection, path: str) -> None:
        if not path.startswith(("/public/", "/market/")):  # retired: connected, silent forever
            conn.stalled = True
        super().open(conn, path.removeprefix("/public").removeprefix("/market"))

    def tick(self, now: float, wall_ms: int) -> None:
        super().tick(now, wall_ms)
        if now >= self.next_mark:
            self.next_mark = max(self.next_mark + MARK_INTERVAL, now)
            self.wander_rates()
            for symbol, book in self.books.items():
                stream = self.streams[symbol] + "@markPrice@1s"
                if stream in self.subs:
                    self._emit(stream, self.mark_price(book, wall_ms))

    def mark_price(self, book: VenueBook, wall_ms: int) -> bytes:
        """A ``markPriceUpdate``; delivery futures carry ``"r":""`` and ``"T":0``."""
        perp = book.symbol in self.rates
        return orjson.dumps({
            "e": "markPriceUpdate", "E": wall_ms, "s": book.instrument.id,
            "p": f"{self.mark(book):.8f}", "i": f"{self.index(book):.8f}", "P": f"{self.index(book):.8f}",
            "r": f"{self.rates[book.symbol]:.8f}" if perp else "",
            "T": self.next_funding_ms(book, wall_ms) if perp else 0})

    def depth_update(self, book: VenueBook, first: int, last: int, bids: Levels, asks: Levels,
                     wall_ms: int) -> bytes:
        """Futures ids are not contiguous per symbol: ``U`` is past ``pu`` + 1, ``pu`` chains."""
        return orjson.dumps({
            "e": "depthUpdate", "E": wall_ms, "T": wall_ms - 1, "s": book.instrument.id,
            "U": min(first + 1, last), "u": last, "pu": first - 1,
            "b": self.format_levels(book.symbol, bids), "a": self.format_levels(book.symbol, asks),
        })

    def rest(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        if path == FUNDING_INFO_PATH:
            return 200, orjson.dumps([
                {"symbol": book.instrument.id, "adjustedFundingRateCap": "0.02000000",
                 "adjustedFundingRateFloor": "-0.02000000", "fundingIntervalHours": self.interval_hours(book),
                 "disclaimer": False}
                for symbol, book in self.books.items() if symbol in self.rates and self.interval_hours(book) != 8])
        return super().rest(path, params)
