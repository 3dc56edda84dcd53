"""A scanner running against the simulated exchanges on 127.0.0.1, with probes a test reads:
every opportunity event (and those priced from a book that was not live), every book
notification, and the /metrics endpoint."""
from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from typing import AsyncIterator, Sequence

import aiohttp

from scanner.app import Scanner
from scanner.book import BookState
from scanner.config import Config
from scanner.demo import point_at
from scanner.engine.opportunity import EventType
from scanner.metadata import Metadata, load_metadata
from scanner.sim import SimulatedExchanges


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Harness:
    def __init__(self, sim: SimulatedExchanges, scanner: Scanner, port: int):
        self.sim, self.scanner, self.port = sim, scanner, port
        self.events = []
        self.event_times: list[float] = []  # monotonic time each event arrived
        self.unsafe = []  # events priced from a book that was not live
        self.notes: list[tuple[float, str, str, BookState, int]] = []  # every book notification:
        scanner.listeners.append(self._check_event)  # (time, exchange, symbol, state, seq)
        for runner in scanner.runners:
            runner.venue.on_book = self._spy(runner.venue.on_book)

    def _spy(self, listener):
        def note(book) -> None:
            self.notes.append((time.monotonic(), book.exchange, book.symbol, book.state, book.seq))
            listener(book)
        return note

    def _check_event(self, event) -> None:
        self.events.append(event)
        self.event_times.append(time.monotonic())
        if event.type is EventType.CLOSED:
            return
        o = event.opportunity
        for exchange, instrument in ((o.buy_exchange, o.buy_instrument), (o.sell_exchange, o.sell_instrument)):
            if self.scanner.store.books[exchange, instrument.symbol].state is not BookState.LIVE:
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


@contextlib.asynccontextmanager
async def running(symbols: Sequence[str], exchanges: Sequence[str] | None = None, seed: int = 11,
                  silence_seconds: float = 2.0, staleness_seconds: float = 5.0,
                  updates_per_second: float = 5.0, metadata: Metadata | None = None,
                  config: Config | None = None) -> AsyncIterator[Harness]:
    """Simulated ``exchanges`` (default: all registered) and a scanner on them, every book live
    (``metadata``: the bundled snapshot by default; ``config``: settings to start from)."""
    options = {} if exchanges is None else {"exchanges": list(exchanges)}
    async with SimulatedExchanges(symbols=list(symbols), seed=seed, updates_per_second=updates_per_second,
                                  dislocation_every=None, **options) as sim:
        config = config or Config()
        config.scanner.symbols = list(symbols)
        config.scanner.silence_seconds = silence_seconds
        config.scanner.staleness_seconds = staleness_seconds
        config.metrics.port = free_port()
        point_at(config, sim)
        scanner = Scanner(config, metadata or load_metadata(None))
        task = asyncio.create_task(scanner.run())
        h = Harness(sim, scanner, config.metrics.port)
        await h.wait_for(h.all_live, timeout=20.0)
        try:
            yield h
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
