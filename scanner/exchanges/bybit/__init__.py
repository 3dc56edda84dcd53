"""Bybit v5 spot: ``orderbook.50`` chained by ``u``, plus ``orderbook.1``."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="bybit", title="Bybit spot", cls_name="Bybit",
                         futures_cls_name="BybitFutures")
