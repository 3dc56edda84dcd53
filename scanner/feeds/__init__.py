"""Exchange adapters, one module per exchange protocol."""
from .base import FeedError, FeedStats, Resync, Venue
from .binance import Binance
from .bybit import Bybit
from .okx import Okx

VENUES: dict[str, type[Venue]] = {venue.name: venue for venue in (Binance, Okx, Bybit)}

__all__ = ["VENUES", "FeedError", "FeedStats", "Resync", "Venue"]
