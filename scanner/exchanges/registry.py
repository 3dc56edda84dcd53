"""The one list of supported exchanges. Config, CLI, demo, bench and tests derive theirs from
``EXCHANGES``; adding an exchange is a package here and one line below."""
from __future__ import annotations

from . import binance, bybit, kucoin, okx
from .profile import ExchangeProfile

EXCHANGES: dict[str, ExchangeProfile] = {
    profile.name: profile for profile in (binance.PROFILE, okx.PROFILE, bybit.PROFILE,
                                          kucoin.PROFILE)}
NAMES: tuple[str, ...] = tuple(EXCHANGES)

