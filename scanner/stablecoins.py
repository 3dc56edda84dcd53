"""Stablecoins: which assets are stablecoins (and USD), and their prices against each other."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from .alerts.health import OpsAlert
from .book import OrderBook
from .instruments import MarketType

# USD: the fiat quote of Coinbase's and Kraken's books
STABLECOINS: frozenset[str] = frozenset({"USD", "USDT", "USDC", "FDUSD", "DAI", "TUSD", "USDE", "PYUSD"})


@dataclass(slots=True)
class _Episode:
    off_since: float | None = None  # when the deviation went past the threshold
    back_since: float | None = None  # when it came back within half of it
    alerted: bool = False


class StablecoinMonitor:
    """Stablecoins priced against each other from every usable spot book of two of them, and
    depeg episodes: a coin whose price in its peers (the median over every book that prices it
    in another stablecoin) is more than ``threshold_bps`` off 1 for ``hold_seconds`` alerts
    ``stablecoin.depeg`` once; back within half the threshold for ``hold_seconds``,
    ``stablecoin.recovered``. Reads the books, changes nothing."""

    def __init__(self, books: Iterable[OrderBook], threshold_bps: float = 50.0, hold_seconds: float = 60.0):
        self.books = [book for book in books if book.instrument is not None
                      and book.instrument.type is MarketType.SPOT
                      and book.instrument.base in STABLECOINS and book.instrument.quote in STABLECOINS]
        self.threshold_bps = threshold_bps
        self.hold_seconds = hold_seconds
        self.episodes: dict[str, _Episode] = {}

    def prices(self, now: float) -> list[tuple[str, str, str, float]]:
        """(exchange, coin, quote, mid) of every usable stablecoin book."""
        return [(book.exchange, book.instrument.base, book.instrument.quote,
                 (book.best_bid() + book.best_ask()) / 2.0) for book in self.books if book.is_usable(now)]

    def deviations(self, now: float) -> dict[str, float]:
        """Each coin's price in its peers, in bps off 1: its price in each other stablecoin (the
        median over the exchanges that list the pair; a book BASE/QUOTE prices BASE at its mid
        and QUOTE at 1/mid), then the median over the peers. With an even number of peers the
        middle price closer to 1 counts: with one peer on each side nothing says which is off."""
        seen: dict[str, dict[str, list[float]]] = {}
        for _, coin, quote, mid in self.prices(now):
            seen.setdefault(coin, {}).setdefault(quote, []).append(mid)
            seen.setdefault(quote, {}).setdefault(coin, []).append(1.0 / mid)
        return {coin: (_middle([statistics.median(p) for p in peers.values()]) - 1.0) * 1e4
                for coin, peers in seen.items()}

    def observe(self, now: float) -> list[OpsAlert]:
        """The depeg and recovery alerts this moment raises (edge-triggered, with hysteresis)."""
        alerts = []
        for coin, deviation in self.deviations(now).items():
            episode = self.episodes.setdefault(coin, _Episode())
            if abs(deviation) > self.threshold_bps:
                episode.back_since = None
                episode.off_since = episode.off_since if episode.off_since is not None else now
                if not episode.alerted and now - episode.off_since >= self.hold_seconds:
                    episode.alerted = True
                    alerts.append(OpsAlert("stablecoin.depeg", f"{coin} is {deviation:+.0f} bps off its peers"
                                           f" (over {self.threshold_bps:g} bps for {now - episode.off_since:.0f} s)"))
            elif abs(deviation) <= self.threshold_bps / 2:
                episode.off_since = None
                episode.back_since = episode.back_since if episode.back_since is not None else now
                if episode.alerted and now - episode.back_since >= self.hold_seconds:
                    episode.alerted = False
                    alerts.append(OpsAlert("stablecoin.recovered", f"{coin} is back to {deviation:+.0f} bps of its peers"))
        return alerts

    def metric_families(self, now: float) -> list[Metric]:
        """arbscan_stablecoin_price{exchange,coin,quote} and arbscan_stablecoin_deviation_bps{coin}."""
        price = GaugeMetricFamily("arbscan_stablecoin_price", "Mid price of a stablecoin in another, from a usable "
                                  "book (quote units per coin).", labels=["exchange", "coin", "quote"])
        for exchange, coin, quote, mid in self.prices(now):
            price.add_metric([exchange, coin, quote], mid)
        deviation = GaugeMetricFamily("arbscan_stablecoin_deviation_bps", "How far a stablecoin trades from its "
                                      "peers: the median of its price in every other stablecoin, in bps off 1.",
                                      labels=["coin"])
        for coin, bps in self.deviations(now).items():
            deviation.add_metric([coin], bps)
        return [price, deviation]


def _middle(prices: list[float]) -> float:
    """The median; of an even count, the middle price closer to 1."""
    prices = sorted(prices)
    half = len(prices) // 2
    if len(prices) % 2:
        return prices[half]
    return min(prices[half - 1], prices[half], key=lambda price: abs(price - 1.0))
