"""Kraken WS v2 spot: ``book`` (snapshot then updates, kept to the subscribed depth, a CRC32
checksum of the top 10 levels on every message); server heartbeats, JSON ping."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="kraken", title="Kraken spot", cls_name="Kraken")
BOOK_DEPTH = 100  # the book depth arbscan subscribes to (Kraken offers 10, 25, 100, 500, 1000)
