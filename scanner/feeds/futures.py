"""What perpetual and delivery futures feeds add to a spot feed: one `FundingState` per book
(mark price, index, funding rate and interval, next funding time) in ``venue.funding``, and
optionally book-less companion connections that carry only those (Binance's ``/market``)."""
from __future__ import annotations

import time
from typing import Any, Iterable

from ..hedging.funding import FundingState
from ..instruments import Instrument, MarketType


class FundingFeed:
    """Mixin for a futures ``Venue``: ``funding`` keyed by unified symbol, like ``books``."""

    funding: dict[str, FundingState]
    funding_by_id: dict[str, FundingState]

    def init_funding(self, instruments: Iterable[Instrument]) -> None:
        """A FundingState for each perpetual and delivery future (delivery: mark price only)."""
        self.funding = {i.symbol: FundingState(i) for i in instruments if i.type is not MarketType.SPOT}
        self.funding_by_id = {state.instrument.id: state for state in self.funding.values()}

    @classmethod
    def companions(cls, instruments: list[Instrument], ws_url: str, rest_url: str) -> list[Any]:
        """Book-less venues to run beside this one for the same instruments (default: none)."""
        return []


def update(state: FundingState, mark: Any = None, index: Any = None, rate: Any = None,
           interval_seconds: float | None = None, next_time_ms: Any = None) -> None:
    """Set the fields an exchange message reported (None or "" : not in this message; a next
    funding time of 0 means none, as Binance sends for delivery futures)."""
    if mark not in (None, ""):
        state.mark_price = float(mark)
    if index not in (None, ""):
        state.index_price = float(index)
    if rate not in (None, ""):
        state.rate = float(rate)
    if interval_seconds:
        state.interval_seconds = interval_seconds
    if next_time_ms not in (None, "", 0, "0"):
        state.next_funding_time = int(next_time_ms) / 1000.0
    state.updated_at = time.monotonic()
