"""What a perpetual's feed reports beside its book: mark price and funding, per instrument.

Perpetual feeds write one `FundingState` per perpetual book they keep (``venue.funding``, keyed
like ``venue.books`` by symbol); the basis engine, the hedge monitor, ``arbscan hedge`` and the
metrics read them and change nothing. A field the exchange has not reported yet is None:
unknown, never assumed (in particular the interval is never assumed to be 8 h).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..instruments import Instrument


@dataclass(slots=True)
class FundingState:
    """Mark price and funding of one perpetual, as its exchange last reported them."""

    instrument: Instrument
    mark_price: float | None = None
    index_price: float | None = None
    rate: float | None = None  # per funding interval, ratio; positive: longs pay shorts
    interval_seconds: float | None = None  # this instrument's own interval (1 h, 2 h, 4 h, 8 h ...)
    next_funding_time: float | None = None  # unix seconds
    updated_at: float = float("-inf")  # monotonic time of the last report

    def is_fresh(self, now: float, max_age: float) -> bool:
        """Reported within ``max_age`` seconds of ``now`` (monotonic)."""
        return now - self.updated_at <= max_age

    @property
    def interval_hours(self) -> float | None:
        return None if self.interval_seconds is None else self.interval_seconds / 3600.0
