"""What every exchange adapter shares: the ``Venue`` protocol base, its errors and counters,
and the connection runner. Each exchange's own protocol is in ``scanner.exchanges.<name>.feed``."""
from .base import FeedError, FeedStats, Venue

__all__ = ["FeedError", "FeedStats", "Venue"]
