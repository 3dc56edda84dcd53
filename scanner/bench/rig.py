"""The scanner the benchmarks drive: the real ``Scanner`` over chosen exchanges and symbols,
offline metadata and fixed fees, so no run depends on a cache or on the network."""
from __future__ import annotations

import time
from typing import Sequence

from ..app import Scanner
from ..config import DEFAULT_SYMBOLS, Config
from ..metadata import Metadata
from ..publish.metrics import MetricsServer
from .frames import Snapshot

TAKER_FEE_BPS = 10.0


def bench_symbols(count: int) -> list[str]:
    """``count`` symbols: the default ones, then made-up ``X0011/USDT``, ``X0012/USDT``..."""
    names = list(DEFAULT_SYMBOLS[:count])
    names += [f"X{n:04d}/USDT" for n in range(len(names) + 1, count + 1)]
    return names


def bench_config(exchanges: Sequence[str], symbols: Sequence[str], metrics_port: int = 0) -> Config:
    """Defaults, with only ``exchanges`` enabled and a fixed taker fee on each."""
    config = Config()
    config.scanner.symbols = list(symbols)
    for name, exchange in config.exchanges.items():
        exchange.enabled = name in exchanges
        exchange.taker_fee_bps = TAKER_FEE_BPS
    config.metrics.port = metrics_port
    return config


def offline_scanner(exchanges: Sequence[str], symbols: Sequence[str]) -> Scanner:
    """A scanner that is fed frames by hand (``on_frame`` then ``flush``), with the metrics
    listener of a live one attached (its server is not started)."""
    config = bench_config(exchanges, symbols)
    config.metrics.enabled = False
    scanner = Scanner(config, empty_metadata(), live=False)
    scanner.listeners.append(MetricsServer(scanner.collector, config.metrics.host, 0).on_event)
    return scanner


def empty_metadata() -> Metadata:
    """No listings (every configured symbol is scanned) and no fees (the config sets them)."""
    return Metadata({}, fetched_at=0.0, source="bench")


def load_books(scanner: Scanner, snapshots: dict[str, list[Snapshot]]) -> None:
    """Reset every book of each exchange and load it from its snapshot, as after a connect."""
    now = time.monotonic()
    for runner in scanner.runners:
        venue = runner.venue
        venue.reset_all()
        for snapshot in snapshots[venue.name]:
            if snapshot.rest_path:
                venue.apply_rest(snapshot.rest_path, snapshot.rest_params, snapshot.body)
            else:
                runner.on_frame(snapshot.body, now)
    scanner.flush()
