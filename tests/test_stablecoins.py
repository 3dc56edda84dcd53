"""Stablecoins priced against each other, and depeg alerts: unit tests on books, and the
simulated exchanges' injected depeg reaching a webhook."""
from __future__ import annotations

import asyncio

import pytest

from scanner.config import Config, WebhookConfig
from scanner.metadata import Metadata
from scanner.stablecoins import StablecoinMonitor
from scanner_harness import running
from tests.markets import spot_book
from webhook_sink import WebhookSink

UNLISTED = Metadata({}, fetched_at=0.0, source="test")  # every symbol on every simulated exchange


def book(exchange: str, symbol: str, bid: str, ask: str):
    b = spot_book(exchange, symbol, staleness=1e9)
    b.load_snapshot([[bid, "1000"]], [[ask, "1000"]], 1, 1, 100.0)
    return b


def test_each_coin_is_priced_in_its_peers_and_a_depegged_quote_does_not_move_the_others():
    books = [book("a", "USDC/USDT", "0.8799", "0.8801"),  # USDC at 0.88
             book("b", "USDC/USD", "0.8799", "0.8801"),
             book("b", "USDT/USD", "0.9997", "0.9999"),
             book("c", "DAI/USDT", "0.9999", "1.0001")]
    monitor = StablecoinMonitor(books + [book("a", "BTC/USDT", "60000", "60001")])
    assert len(monitor.books) == 4  # BTC/USDT is not a stablecoin book
    deviations = monitor.deviations(100.0)
    assert deviations["USDC"] == pytest.approx(-1200, abs=1)  # 0.88 in USDT and in USD
    assert abs(deviations["USDT"]) < 10  # USDT in USD (0.9998) and in DAI (1.0000); in USDC is the outlier
    assert abs(deviations["DAI"]) < 1
    assert ("a", "USDC", "USDT", pytest.approx(0.88)) in monitor.prices(100.0)


def test_a_depeg_alerts_once_after_the_hold_and_recovers_with_hysteresis():
    usdc = book("a", "USDC/USDT", "0.9899", "0.9901")  # -100 bps
    peers = [book("b", "USDT/USD", "0.9999", "1.0001"), book("c", "DAI/USDT", "0.9999", "1.0001")]
    monitor = StablecoinMonitor([usdc, *peers], threshold_bps=50, hold_seconds=10)
    assert monitor.observe(100.0) == []
    assert monitor.observe(105.0) == []
    alerts = monitor.observe(110.0)
    assert [a.type for a in alerts] == ["stablecoin.depeg"] and "USDC is -100 bps" in alerts[0].detail
    assert monitor.observe(111.0) == []  # once per episode
    usdc.load_snapshot([["0.9969", "1000"]], [["0.9971", "1000"]], 2, 2, 111.0)  # -30 bps: not yet back
    assert monitor.observe(125.0) == []
    usdc.load_snapshot([["0.9999", "1000"]], [["1.0001", "1000"]], 3, 3, 125.0)
    assert monitor.observe(126.0) == []
    assert [a.type for a in monitor.observe(136.0)] == ["stablecoin.recovered"]


async def test_a_depeg_injected_in_the_simulator_fires_a_webhook_and_shows_on_metrics(tmp_path):
    sink = WebhookSink()
    await sink.start()
    try:
        config = Config()
        config.stablecoins.depeg_bps, config.stablecoins.depeg_seconds = 50.0, 1.0
        config.alerts.webhooks = {"desk": WebhookConfig(url=sink.url(), events=["stablecoin.depeg", "stablecoin.recovered"])}
        config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
        async with running(["USDC/USDT", "USDT/USD", "BTC/USDT"], ["binance", "okx"], config=config,
                           metadata=UNLISTED) as h:
            h.sim.depeg("USDC", -150, seconds=30)
            await h.wait_for(lambda: any(e["type"] == "stablecoin.depeg" for e in sink.bodies("/hook")), timeout=10)
            assert await h.metric("arbscan_stablecoin_deviation_bps", coin="USDC") < -100
            assert abs(await h.metric("arbscan_stablecoin_deviation_bps", coin="USDT")) < 20  # its other peer agrees
            assert [e["type"] for e in sink.bodies("/hook")] == ["stablecoin.depeg"]  # USDC only
            assert await h.metric("arbscan_stablecoin_price", exchange="okx", coin="USDC", quote="USDT") < 0.99
    finally:
        await sink.stop()
