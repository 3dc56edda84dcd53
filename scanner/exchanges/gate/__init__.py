"""Gate v4 spot: ``spot.obu`` (order book v2: WebSocket snapshot, then updates chained by
``U``/``u``), plus ``spot.book_ticker``."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="gate", title="Gate spot", cls_name="Gate")
