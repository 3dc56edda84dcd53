"""What the simulated futures exchanges share: mark price, index and funding per instrument.

A perpetual's mark is its book's mid, its index the spot fair price; its funding rate wanders
around 1 bp per interval unless pinned by ``set_funding``; its interval is its own
(``FUNDING_HOURS`` by base: 1 h, 4 h and 8 h instruments), and the next settlement is the next
multiple of it in wall time. Delivery futures have a mark and no funding."""
from __future__ import annotations

from ..instruments import MarketType
from .market import MarketModel, VenueBook

FUNDING_HOURS = {"BTC": 8, "ETH": 4, "SOL": 1}  # other bases: 8 h
RATE_MEAN, RATE_STEP = 1e-4, 2e-6  # funding rate per interval: mean, random-walk step per push


class FuturesVenue:
    """Mixin for a simulated futures exchange (a `scanner.sim.protocol.Venue`)."""

    books: dict[str, VenueBook]

    def init_futures(self, model: MarketModel) -> None:
        self.model = model
        self.rates = {symbol: RATE_MEAN for symbol, book in self.books.items()
                      if book.instrument.type is MarketType.PERP}
        self.pinned: set[str] = set()  # rates set by hand: they stay put

    @staticmethod
    def interval_hours(book: VenueBook) -> int:
        return FUNDING_HOURS.get(book.instrument.base, 8)

    def set_funding(self, symbol: str, rate: float) -> None:
        """Pin ``symbol``'s funding rate (per interval) at ``rate``."""
        if symbol not in self.rates:
            raise ValueError(f"{symbol!r} is not a perpetual simulated here")
        self.rates[symbol] = rate
        self.pinned.add(symbol)

    def wander_rates(self) -> None:
        """Move every unpinned funding rate one random step (mean-reverting)."""
        rng = self.model.rng
        for symbol, rate in self.rates.items():
            if symbol not in self.pinned:
                self.rates[symbol] = rate + 0.1 * (RATE_MEAN - rate) + RATE_STEP * rng.gauss(0.0, 1.0)

    def mark(self, book: VenueBook) -> float:
        (bid, _), (ask, _) = book.top()
        return (bid + ask) / 2 * 10.0 ** -book.grid.price_decimals

    def index(self, book: VenueBook) -> float:
        return self.model.fair(book.instrument.base, book.instrument.quote)

    def next_funding_ms(self, book: VenueBook, wall_ms: int) -> int:
        step = self.interval_hours(book) * 3_600_000
        return (wall_ms // step + 1) * step
