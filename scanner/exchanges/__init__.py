"""Everything about one exchange, in one package each (``binance/``, ``okx/``, ``bybit/``):
``feed.py`` (wire protocol), ``sim.py`` (simulated exchange), ``frames.py`` (benchmark stream),
and its ``PROFILE``; ``registry.EXCHANGES`` lists them."""
from .profile import ExchangeProfile
from .registry import EXCHANGES, NAMES

__all__ = ["EXCHANGES", "NAMES", "ExchangeProfile"]
