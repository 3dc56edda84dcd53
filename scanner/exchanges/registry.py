"""The one list of supported exchanges. Config, CLI, demo, bench and tests derive theirs from
``EXCHANGES``; adding an exchange is a package here and one line below."""
from __future__ import annotations

from . import binance, bitget, bybit, coinbase, gate, kraken, kucoin, okx
from .profile import ExchangeProfile

PROFILES = (
    binance.PROFILE,
    okx.PROFILE,
    bybit.PROFILE,
    coinbase.PROFILE,
    kraken.PROFILE,
    kucoin.PROFILE,
    gate.PROFILE,
    bitget.PROFILE,
)
EXCHANGES: dict[str, ExchangeProfile] = {profile.name: profile for profile in PROFILES}
NAMES: tuple[str, ...] = tuple(EXCHANGES)
