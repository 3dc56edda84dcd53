"""Binance spot: combined streams (depth diffs + bookTicker) joined to REST snapshots by U/u."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="binance", title="Binance spot", cls_name="Binance",
                         futures_cls_name="BinanceFutures")
