"""The runner's hooks around an exchange's protocol, against the simulated KuCoin on 127.0.0.1:
the token step before each connect, the wait for the welcome, pings at the interval the server
announced, and one connection per chunk of books when an exchange limits topics per connection."""
from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import orjson
import pytest
import websockets

from scanner.app import Scanner
from scanner.config import Config
from scanner.demo import point_at
from scanner.exchanges.kucoin.feed import Kucoin
from scanner.feeds import FeedStats
from scanner.feeds.runner import FeedRunner
from scanner.metadata import Metadata
from scanner.sim import SimulatedExchanges
from scanner_harness import Harness, free_port
from tests.markets import spot_book


@contextlib.asynccontextmanager
async def kucoin_runner(venue: Kucoin, stats: FeedStats):
    runner = FeedRunner(venue, stats, silence_seconds=5.0)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_token_step_welcome_and_pings_at_the_server_interval():
    async with SimulatedExchanges(["BTC/USDT"], exchanges=["kucoin"], dislocation_every=None) as sim:
        server = sim.venues["kucoin"]
        server.ping_interval_ms, server.ping_timeout_ms = 300, 300  # silent 0.6 s: closed
        books = {"BTC/USDT": spot_book("kucoin", "BTC/USDT")}
        venue = Kucoin(books, lambda book: None, rest_url=sim.endpoints["kucoin"].rest_url)
        stats = FeedStats()
        async with kucoin_runner(venue, stats):
            await wait_for(lambda: stats.up and books["BTC/USDT"].seq > 0)
            await asyncio.sleep(2.0)
            assert stats.up and venue.ping_interval == 0.3
            assert sim.stats["kucoin"].connections_accepted == 1, "pings kept the connection"
            assert server.pings >= 4
            assert "token=" in venue.connect_url() and stats.errors == {}
            requests = sim.stats["kucoin"].rest_requests  # one token, one snapshot at least
            assert len(requests) >= 2


async def test_no_welcome_in_time_is_an_error_and_nothing_is_subscribed():
    received: list[str] = []

    async def mute(ws) -> None:  # accepts, never welcomes, notes what the client sends
        async for message in ws:
            received.append(message)

    class MuteKucoin(Kucoin):
        welcome_timeout = 0.3

        async def prepare(self) -> None:
            self.endpoint = f"ws://127.0.0.1:{port}/"

    async with websockets.serve(mute, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        venue = MuteKucoin({"BTC/USDT": spot_book("kucoin", "BTC/USDT")}, lambda book: None)
        stats = FeedStats()
        async with kucoin_runner(venue, stats):
            await wait_for(lambda: stats.errors["error"] >= 1)
        assert "no welcome within 0.3s" in stats.last_error
        assert not stats.up and received == []


async def test_unknown_token_is_refused_and_a_new_one_is_asked_for():
    async with SimulatedExchanges(["BTC/USDT"], exchanges=["kucoin"], dislocation_every=None) as sim:
        books = {"BTC/USDT": spot_book("kucoin", "BTC/USDT")}
        venue = Kucoin(books, lambda book: None, rest_url=sim.endpoints["kucoin"].rest_url)
        stats = FeedStats()
        async with kucoin_runner(venue, stats):
            await wait_for(lambda: stats.up)
            sim.venues["kucoin"].tokens.clear()  # the server forgets every token it gave
            sim.inject("kucoin", "disconnect")
            await wait_for(lambda: stats.reconnects >= 1 and stats.up, timeout=10.0)
        assert stats.errors["error"] == 0, "the reconnect asked for a new token first"


@pytest.mark.parametrize("topics, per_message, error", [(101, 101, "100 per time"), (301, 100, "300 topics")])
async def test_simulated_kucoin_enforces_its_topic_limits(topics: int, per_message: int, error: str):
    symbols = [f"S{i:03d}/USDT" for i in range(topics)]
    ids = [f"S{i:03d}-USDT" for i in range(topics)]  # KuCoin's ids of those symbols
    async with SimulatedExchanges(symbols, exchanges=["kucoin"], dislocation_every=None) as sim:
        async with aiohttp.ClientSession() as http:
            async with http.post(sim.endpoints["kucoin"].rest_url + "/api/v1/bullet-public") as answer:
                token = (await answer.json(content_type=None))["data"]["token"]
        chunks = [ids[i:i + per_message] for i in range(0, topics, per_message)]
        async with websockets.connect(f"{sim.endpoints['kucoin'].ws_url}?token={token}") as ws:
            assert orjson.loads(await ws.recv())["type"] == "welcome"
            for n, chunk in enumerate(chunks):
                await ws.send(orjson.dumps({"id": n, "type": "subscribe", "response": True,
                                            "topic": "/market/level2:" + ",".join(chunk)}).decode())
            replies = [orjson.loads(await asyncio.wait_for(ws.recv(), 2.0)) for _ in chunks]
        assert [r["type"] for r in replies] == ["ack"] * (len(chunks) - 1) + ["error"]
        assert error in replies[-1]["data"]


async def test_400_books_open_two_connections_sharing_the_exchange_counters():
    symbols = [f"K{i:03d}/USDT" for i in range(400)]
    async with SimulatedExchanges(symbols, exchanges=["kucoin", "okx"], updates_per_second=0.5,
                                  dislocation_every=None) as sim:
        config = Config()
        config.scanner.symbols = symbols
        config.metrics.port = free_port()
        point_at(config, sim)
        scanner = Scanner(config, Metadata({}, fetched_at=0.0, source="test"))
        h = Harness(sim, scanner, config.metrics.port)
        task = asyncio.create_task(scanner.run())
        try:
            kucoin = [runner for runner in scanner.runners if runner.venue.name == "kucoin"]
            assert [len(runner.venue.books) for runner in kucoin] == [300, 100]
            server = sim.venues["kucoin"]
            await wait_for(lambda: sum(len(conn.topics) for conn in server.conns) == 400, timeout=15.0)
            assert sorted(len(conn.topics) for conn in server.conns) == [100, 300]
            await h.wait_for(lambda: h.metric("arbscan_feed_up", exchange="kucoin"), timeout=5.0)
            stats = scanner.stats["kucoin"]
            assert stats.connections == 2 and stats.errors == {}
            messages = stats.messages
            await wait_for(lambda: stats.messages > messages + 10)
            kucoin[0]._drop(kucoin[0]._ws)  # one connection down: the exchange is not up
            assert not stats.up and kucoin[1]._connected
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
