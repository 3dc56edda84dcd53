"""OKX v5 SWAP and FUTURES on the same ``/ws/v5/public`` protocol as spot: ``books`` and
``bbo-tbt`` with sizes in contracts (``ctVal`` base units each), ``mark-price`` every 200 ms and
``funding-rate`` (swaps) every second, with ``fundingTime`` the coming settlement and
``nextFundingTime`` the one after (their difference is the instrument's interval)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson

from ...data.make_snapshot import FUTURES
from ...instruments import MarketType, Symbol
from ...sim.futures import FuturesVenue
from ...sim.market import Levels, VenueBook
from ...sim.protocol import trimmed
from .sim import CHANNELS, Okx

MARK_INTERVAL, FUNDING_INTERVAL = 0.2, 1.0
CONTRACT_VALUES = {symbol: size for symbol, (_, size, *_rest) in FUTURES["okx"].items()}


class OkxFutures(FuturesVenue, Okx):
    channels = (*CHANNELS, "mark-price", "funding-rate")

    def __init__(self, model: Any, *args: Any, **kwargs: Any):
        super().__init__(model, *args, **kwargs)
        self.init_futures(model)
        self.next_mark = self.next_funding = 0.0

    @staticmethod
    def futures_id(symbol: Symbol) -> str:
        """``BTC-USDT-SWAP`` (perpetual), ``BTC-USDT-261225`` (delivery)."""
        if symbol.type is MarketType.PERP:
            return f"{symbol.base}-{symbol.quote}-SWAP"
        day = datetime.fromtimestamp(symbol.expiry or 0, timezone.utc).strftime("%y%m%d")
        return f"{symbol.base}-{symbol.quote}-{day}"

    @staticmethod
    def contract_size(symbol: Symbol) -> float:
        """``ctVal``: the bundled metadata's (OKX's own), 1 for an instrument it does not list."""
        unified = f"{symbol.base}/{symbol.quote}:{symbol.settle}"
        return float(CONTRACT_VALUES.get(unified, CONTRACT_VALUES.get(unified.split("-")[0], 1)))

    def format_levels(self, symbol: str, levels: Levels) -> list[list[str]]:
        """``[px, contracts, "0", orders]``."""
        book = self.books[symbol]
        decimals, ct_val = book.grid.qty_decimals, Decimal(repr(book.instrument.contract_size))
        rows = super().format_levels(symbol, levels)
        for row, (_, lots) in zip(rows, levels):
            row[1] = _plain(Decimal(lots).scaleb(-decimals) / ct_val)
        return rows

    def wire_book(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The true book in base units (what the scanner's book must show)."""
        book, price_text = self.books[symbol], self.price_text[symbol]
        decimals = book.grid.qty_decimals
        bids, asks = book.levels()
        return ([(price_text[p], trimmed(q, decimals)) for p, q in bids],
                [(price_text[p], trimmed(q, decimals)) for p, q in asks])

    def tick(self, now: float, wall_ms: int) -> None:
        super().tick(now, wall_ms)
        if now >= self.next_mark:
            self.next_mark = max(self.next_mark + MARK_INTERVAL, now)
            for symbol, book in self.books.items():
                self._push("mark-price", book, {"markPx": f"{self.mark(book):.8g}"}, wall_ms)
        if now >= self.next_funding:
            self.next_funding = max(self.next_funding + FUNDING_INTERVAL, now)
            self.wander_rates()
            for symbol in self.rates:
                self.push_funding(symbol, wall_ms)

    def set_funding(self, symbol: str, rate: float) -> None:
        """Pin the rate and push it at the next tick (the funding-rate channel reports a change)."""
        super().set_funding(symbol, rate)
        self.next_funding = 0.0

    def push_funding(self, symbol: str, wall_ms: int) -> None:
        book = self.books[symbol]
        funding_time = self.next_funding_ms(book, wall_ms)
        self._push("funding-rate", book, {
            "formulaType": "noRate", "fundingRate": f"{self.rates[symbol]:.16f}",
            "fundingTime": str(funding_time), "impactValue": "", "interestRate": "", "method": "current_period",
            "maxFundingRate": "0.00375", "minFundingRate": "-0.00375", "nextFundingRate": "",
            "nextFundingTime": str(funding_time + self.interval_hours(book) * 3_600_000), "premium": "0",
            "settFundingRate": "0", "settState": "settled"}, wall_ms)

    def _push(self, channel: str, book: VenueBook, fields: dict[str, str], wall_ms: int) -> None:
        topic = f"{channel}:{book.instrument.id}"
        if topic not in self.subs and topic not in self.waiting:
            return
        inst_type = "SWAP" if book.instrument.type is MarketType.PERP else "FUTURES"
        frame = orjson.dumps({"arg": {"channel": channel, "instId": book.instrument.id},
                              "data": [{"instType": inst_type, "instId": book.instrument.id, **fields,
                                        "ts": str(wall_ms)}]})
        self.emit(topic, frame)
        self.admit(topic, frame)


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 1.2300 -> "1.23"."""
    text = f"{value.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
