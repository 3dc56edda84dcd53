"""OKX v5 SWAP and FUTURES: the same ``books`` and ``bbo-tbt`` channels as spot (parsed by the
spot feed), sizes in contracts converted to base units (× ctVal) before the book sees them, plus
``mark-price`` (``markPx``) and, for swaps, ``funding-rate`` (``fundingRate``; the interval is
``nextFundingTime`` − ``fundingTime``, as OKX documents)."""
from __future__ import annotations

from typing import Any

import orjson

from ...book import OrderBook
from ...feeds.futures import FundingFeed, update
from ...instruments import MarketType
from .feed import Okx


class OkxFutures(FundingFeed, Okx):
    name = "okx"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.update = None  # sizes in contracts: every update goes through _on_books
        self.init_funding(book.instrument for book in self.books.values())

    def subscribe_messages(self) -> list[str]:
        args = [{"channel": "mark-price", "instId": state.instrument.id} for state in self.funding.values()]
        args += [{"channel": "funding-rate", "instId": state.instrument.id} for state in self.funding.values()
                 if state.instrument.type is MarketType.PERP]
        extra = [orjson.dumps({"id": "fund", "op": "subscribe", "args": args[i:i + 50]}).decode()
                 for i in range(0, len(args), 50)]
        return Okx.subscribe_messages(self) + extra

    @staticmethod
    def _base(book: OrderBook, levels: list) -> list:
        """Levels with contract counts as base units (exact to 12 decimals: both are decimals)."""
        instrument = book.instrument
        return [[level[0], round(instrument.base_units(float(level[1]), float(level[0])), 12)] for level in levels]

    def _on_books(self, book: OrderBook, action: str | None, data: dict, received_at: float) -> None:
        data["bids"], data["asks"] = self._base(book, data["bids"]), self._base(book, data["asks"])
        Okx._on_books(self, book, action, data, received_at)

    def _on_bbo(self, book: OrderBook, data: dict, received_at: float) -> None:
        data["bids"], data["asks"] = self._base(book, data["bids"]), self._base(book, data["asks"])
        Okx._on_bbo(self, book, data, received_at)

    def _on_channel(self, book: OrderBook, channel: str, data: dict, received_at: float) -> None:
        state = self.funding.get(book.symbol)
        if state is None:
            return
        if channel == "mark-price":
            update(state, mark=data["markPx"])
        elif channel == "funding-rate":
            funding_time, next_time = int(data["fundingTime"]), data.get("nextFundingTime")
            interval = (int(next_time) - funding_time) / 1000.0 if next_time else None
            update(state, rate=data["fundingRate"], interval_seconds=interval, next_time_ms=funding_time)
