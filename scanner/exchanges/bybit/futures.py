"""Bybit v5 linear (USDT perpetuals and futures) on ``/v5/public/linear``: the same
``orderbook.50``/``orderbook.1`` topics as spot (parsed by the spot feed; sizes are base units),
plus ``tickers.<SYM>`` (snapshot then deltas, an absent field is unchanged): ``markPrice``,
``indexPrice``, ``fundingRate``, ``nextFundingTime``, ``fundingIntervalHour``."""
from __future__ import annotations

from typing import Any

from ...feeds.futures import FundingFeed, update
from .feed import Bybit

TICKERS = "tickers."


class BybitFutures(FundingFeed, Bybit):
    name = "bybit"
    default_ws_url = "wss://stream.bybit.com/v5/public/linear"
    default_rest_url = "https://api.bybit.com"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.init_funding(book.instrument for book in self.books.values())
        self.ticker_topics = {TICKERS + state.instrument.id: state for state in self.funding.values()}

    def subscribe_messages(self) -> list[str]:
        topics = list(self.ticker_topics)
        return Bybit.subscribe_messages(self) + [self._request("subscribe", topics[i:i + 10])
                                                 for i in range(0, len(topics), 10)]

    def _on_topic(self, topic: str, message: dict, received_at: float) -> None:
        state = self.ticker_topics.get(topic)
        if state is None:
            return
        data = message["data"]
        hours = data.get("fundingIntervalHour")
        update(state, data.get("markPrice"), data.get("indexPrice"), data.get("fundingRate"),
               float(hours) * 3600.0 if hours else None, data.get("nextFundingTime"))
