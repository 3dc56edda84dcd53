"""Stablecoins: which assets are stablecoins (and USD), and their prices against each other."""
from __future__ import annotations

STABLECOINS: tuple[str, ...] = ("USDT", "USDC", "FDUSD", "DAI", "USD")  # USD: fiat books (Coinbase, Kraken)
