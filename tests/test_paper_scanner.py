"""Paper trading inside the whole scanner against the simulated exchanges: raising the latency
makes realised profit fall below what the opportunities predicted; the report is the ledger's."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from decimal import Decimal

from scanner.app import Scanner
from scanner.config import Config
from scanner.demo import enable_demo_paper, point_at
from scanner.metadata import load_metadata
from scanner.paper import report
from scanner.sim import SimulatedExchanges
from scanner_harness import free_port

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
EXCHANGES = ("binance", "okx", "bybit")  # the exchanges of the dislocations below
DISLOCATIONS = [("okx", "BTC/USDT", 70), ("bybit", "ETH/USDT", -70), ("binance", "BTC/USDT", 70),
                ("okx", "ETH/USDT", -70), ("bybit", "BTC/USDT", 70), ("binance", "ETH/USDT", -70)]


async def paper_run(tmp_path, latency_ms: float) -> tuple[Decimal, Decimal, int, str]:
    async with SimulatedExchanges(symbols=SYMBOLS, exchanges=EXCHANGES, seed=5, updates_per_second=20.0,
                                  dislocation_every=None) as sim:
        config = Config()
        config.scanner.symbols = list(SYMBOLS)
        config.metrics.port = free_port()
        point_at(config, sim)
        enable_demo_paper(config)
        config.paper.ledger_path = str(tmp_path / f"paper-{latency_ms:g}.sqlite")
        config.paper.latency_ms = {name: latency_ms for name in config.enabled_exchanges()}
        config.paper.latency_jitter_ms = 0.0
        scanner = Scanner(config, load_metadata(None))
        task = asyncio.create_task(scanner.run())
        await asyncio.sleep(1.0)
        for exchange, symbol, bps in DISLOCATIONS:
            sim.dislocate(exchange, symbol, bps, seconds=0.6)
            await asyncio.sleep(1.0)
        await asyncio.sleep(latency_ms / 1000 + 1.0)  # the last legs arrive and residuals close
        totals = scanner.paper.totals
        predicted, realised = totals.predicted, totals.realised
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    db = sqlite3.connect(config.paper.ledger_path)
    trades = db.execute("SELECT count(*) FROM trades").fetchone()[0]
    db.close()
    return predicted, realised, trades, report(config.paper.ledger_path)


async def test_raising_latency_makes_realised_profit_fall_below_predicted(tmp_path):
    fast_predicted, fast_realised, fast_trades, _ = await paper_run(tmp_path, 1.0)
    slow_predicted, slow_realised, slow_trades, text = await paper_run(tmp_path, 700.0)
    assert fast_trades > 0 and slow_trades > 0
    assert slow_realised < slow_predicted
    # the market moved away during the latency: the slow trader keeps less of what was predicted
    assert slow_realised - slow_predicted < fast_realised - fast_predicted
    assert f"trades                  {slow_trades}" in text
    assert f"{slow_realised:+,.2f}" in text
