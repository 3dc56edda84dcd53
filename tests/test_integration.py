"""The scanner end to end against the simulated exchanges on 127.0.0.1: real sockets, real
wire protocols, the real adapters, engine and /metrics endpoint. Each exchange's faults are in
the conformance suite (test_conformance.py)."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D

import pytest

from scanner.metadata import load_metadata
from scanner_harness import running
from tests.oracle import oracle

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture
async def harness():
    async with running(SYMBOLS) as h:
        yield h


async def test_dislocation_shows_up_within_a_second_with_expected_sign_and_size(harness):
    h = harness
    assert not h.scanner.engine.open
    injected = time.monotonic()
    h.sim.dislocate("okx", "BTC/USDT", 80, seconds=10)
    net = await h.wait_for(lambda: h.metric("arbscan_opportunity_net_profit", symbol="BTC/USDT",
                                            sell_exchange="okx"), timeout=3.0)
    assert time.monotonic() - injected < 1.0
    assert net > 0
    # freeze the market, let the scanner catch up, then check the size and every cost exactly
    h.sim.pause()
    key = next(k for k in h.scanner.engine.open if k[0] == "BTC/USDT" and k[2] == "okx")
    buy = key[1]
    await h.wait_for(lambda: h.in_step(buy, "BTC/USDT") and h.in_step("okx", "BTC/USDT"), timeout=3.0)
    await asyncio.sleep(0.05)  # the engine evaluates once the burst of frames is handled
    metadata = load_metadata(None)
    route = metadata.transfer_route("BTC", buy, "okx")
    exact = oracle(h.sim.book(buy, "BTC/USDT")[1], h.sim.book("okx", "BTC/USDT")[0],
                   str(metadata.taker_fee(buy, "BTC/USDT")), str(metadata.taker_fee("okx", "BTC/USDT")),
                   str(h.scanner.config.scanner.notional_cap), D(str(route.fee)))
    opportunity = h.scanner.engine.open[key].latest
    h.sim.resume()
    assert opportunity.size == pytest.approx(float(exact["size"]), rel=1e-9)
    assert opportunity.net_profit == pytest.approx(float(exact["net"]), rel=1e-9)
    assert opportunity.costs.transfer_fee == pytest.approx(float(exact["transfer_fee"]), rel=1e-9)
    assert opportunity.costs.transfer_network == route.network
    # the opposite direction (buy on okx) is not an opportunity
    assert not any(k[1] == "okx" for k in h.scanner.engine.open if k[0] == "BTC/USDT")


async def test_opportunity_series_disappear_when_it_closes(harness):
    h = harness
    h.sim.dislocate("bybit", "ETH/USDT", -80, seconds=1.0)  # bybit cheap: buy there
    await h.wait_for(lambda: h.metric("arbscan_opportunity_net_profit", symbol="ETH/USDT", buy_exchange="bybit"),
                     timeout=3.0)
    assert await h.metric("arbscan_opportunities_total", symbol="ETH/USDT", buy_exchange="bybit",
                          sell_exchange="okx") >= 1
    await h.wait_for(lambda: not any(k[0] == "ETH/USDT" for k in h.scanner.engine.open), timeout=5.0)
    text = await h.metrics()
    assert 'arbscan_opportunity_net_profit{' not in text and 'arbscan_opportunity_size{' not in text
    lifetimes = await h.metric("arbscan_opportunity_lifetime_seconds_count")
    assert lifetimes >= 1
