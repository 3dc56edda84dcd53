"""The scanner end to end against the simulated exchanges on 127.0.0.1: real sockets, real
wire protocols, the real adapters, engine and /metrics endpoint."""
from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from decimal import Decimal as D

import aiohttp
import pytest

from scanner.app import Scanner
from scanner.book import BookState
from scanner.config import Config
from scanner.engine.opportunity import EventType
from scanner.metadata import load_metadata
from scanner.sim import SimulatedExchanges
from tests.oracle import oracle

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Harness:
    def __init__(self, sim: SimulatedExchanges, scanner: Scanner, port: int):
        self.sim, self.scanner, self.port = sim, scanner, port
        self.events = []
        self.unsafe = []  # events priced from a book that was not live
        scanner.listeners.append(self._check_event)

    def _check_event(self, event) -> None:
        self.events.append(event)
        if event.type is EventType.CLOSED:
            return
        o = event.opportunity
        for exchange in (o.buy_exchange, o.sell_exchange):
            if self.scanner.store.books[exchange, o.symbol].state is not BookState.LIVE:
                self.unsafe.append(event)

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{self.port}/metrics") as response:
                return await response.text()

    async def metric(self, name: str, **labels: str) -> float | None:
        text = await self.metrics()
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None

    async def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(interval)
        raise AssertionError(f"condition not met within {timeout}s")

    def all_live(self) -> bool:
        return all(book.state is BookState.LIVE and len(book.bids) for book in self.scanner.store.books.values())

    def in_step(self, exchange: str, symbol: str, levels: int = 20) -> bool:
        """The scanner's book shows the same top levels as the simulator's true book."""
        bids, asks = self.sim.book(exchange, symbol)
        book = self.scanner.store.books[exchange, symbol]
        ours = (book.bids.top(levels), book.asks.top(levels))
        theirs = ([(float(p), float(q)) for p, q in bids[:levels]], [(float(p), float(q)) for p, q in asks[:levels]])
        return ours == theirs


@pytest.fixture
async def harness():
    async with SimulatedExchanges(symbols=SYMBOLS, seed=11, updates_per_second=5.0,
                                  dislocation_every=None) as sim:
        config = Config()
        config.scanner.symbols = list(SYMBOLS)
        config.scanner.silence_seconds = 2.0
        config.metrics.port = free_port()
        for name, endpoint in sim.endpoints.items():
            config.exchanges[name].ws_url = endpoint.ws_url
            config.exchanges[name].rest_url = endpoint.rest_url
        scanner = Scanner(config, load_metadata(None))
        task = asyncio.create_task(scanner.run())
        h = Harness(sim, scanner, config.metrics.port)
        await h.wait_for(h.all_live)
        yield h
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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


@pytest.mark.parametrize("exchange", ["binance", "okx", "bybit"])
async def test_sequence_gap_resyncs_and_no_opportunity_uses_the_broken_book(harness, exchange):
    h = harness
    h.sim.dislocate(exchange, "ETH/USDT", 80, seconds=10)  # keep opportunities flowing on that book
    await h.wait_for(lambda: any(k[0] == "ETH/USDT" for k in h.scanner.engine.open), timeout=3.0)
    h.sim.inject(exchange, "gap", "ETH/USDT")
    await h.wait_for(lambda: h.metric("arbscan_book_resyncs_total", exchange=exchange, reason="gap"), timeout=5.0)
    await h.wait_for(h.all_live, timeout=5.0)
    await h.wait_for(lambda: h.in_step(exchange, "ETH/USDT", levels=5), timeout=5.0)
    assert h.scanner.stats[exchange].resyncs["gap"] == 1
    assert h.unsafe == []
    closes = [e for e in h.events if e.type is EventType.CLOSED and e.close_reason == "book unusable"]
    assert closes, "the opportunities on the broken book were closed while it resynced"


@pytest.mark.parametrize("exchange", ["binance", "okx", "bybit"])
async def test_dropped_connection_reconnects(harness, exchange):
    h = harness
    h.sim.inject(exchange, "disconnect")
    await h.wait_for(lambda: h.scanner.stats[exchange].reconnects >= 1, timeout=5.0)
    await h.wait_for(h.all_live, timeout=5.0)
    assert await h.metric("arbscan_feed_up", exchange=exchange) == 1.0
    assert await h.metric("arbscan_feed_reconnects_total", exchange=exchange) >= 1.0


async def test_silent_feed_is_reconnected(harness):
    h = harness
    h.sim.inject("okx", "stall", seconds=4)
    await h.wait_for(lambda: h.scanner.stats["okx"].errors["silent"] >= 1, timeout=5.0)
    await h.wait_for(lambda: h.scanner.stats["okx"].reconnects >= 1, timeout=5.0)


async def test_malformed_frame_is_counted_and_skipped(harness):
    h = harness
    h.sim.inject("bybit", "malformed")
    await h.wait_for(lambda: h.metric("arbscan_feed_errors_total", exchange="bybit", kind="malformed"), timeout=3.0)
    assert h.scanner.stats["bybit"].reconnects == 0 and h.all_live()


async def test_malformed_rest_snapshot_is_counted_and_the_feed_rebuilt(harness):
    h = harness
    h.sim.inject("binance", "bad_rest")
    h.sim.inject("binance", "gap", "ETH/USDT")  # the resync fetches the cut snapshot
    await h.wait_for(lambda: h.metric("arbscan_feed_errors_total", exchange="binance", kind="resync"), timeout=5.0)
    await h.wait_for(lambda: h.scanner.stats["binance"].reconnects >= 1, timeout=5.0)
    await h.wait_for(h.all_live, timeout=5.0)
    await h.wait_for(lambda: h.in_step("binance", "ETH/USDT", levels=5), timeout=5.0)
    assert h.unsafe == []


@pytest.mark.parametrize("exchange", ["binance", "okx", "bybit"])
async def test_exchange_error_event_restarts_the_feed(harness, exchange):
    h = harness
    h.sim.inject(exchange, "error_event")
    await h.wait_for(lambda: h.scanner.stats[exchange].reconnects >= 1, timeout=5.0)
    await h.wait_for(h.all_live, timeout=5.0)


async def test_crossed_book_is_invalid_and_resynced(harness):
    h = harness
    h.sim.inject("okx", "crossed", "BTC/USDT", seconds=1.0)
    await h.wait_for(lambda: h.scanner.stats["okx"].resyncs["crossed"] >= 1, timeout=3.0)
    await h.wait_for(h.all_live, timeout=5.0)
    assert h.unsafe == []
    assert not any(k[0] == "BTC/USDT" and "okx" in k[1:] for k in h.scanner.engine.open)


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
