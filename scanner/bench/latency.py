"""Detection latency over loopback WebSockets.

The simulated exchanges run in a child process (their own core); the scanner runs here, live,
exactly as ``arbscan run`` does (metrics server included). Once every book is live the
simulator is paced to a fixed aggregate frame rate. For each engine evaluation that emits an
opportunity event, the latency is the time from the receive timestamp of the earliest frame
that changed that symbol since its previous evaluation (taken right after ``ws.recv`` in the
feed runner) to the event reaching a listener.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Coroutine, Sequence, TypeVar

import orjson

from ..app import Scanner
from ..book import BookState, OrderBook
from ..engine.opportunity import OpportunityEvent
from .rig import bench_config, empty_metadata

T = TypeVar("T")
SYNC_TIMEOUT = 30.0  # seconds to wait for every book to be live
SETTLE_SECONDS = 3.0  # after sync, the simulator speeds up to the rate before measuring


@dataclass
class LatencyResult:
    target_rate: float  # frames/s asked of the simulator, all exchanges together
    seconds: float
    frames: int  # frames received by the scanner while measuring
    rate: float  # frames/s received by the scanner while measuring
    sent_rate: float  # frames/s the simulator sent over the same window
    cpu: float  # share of one core the scanner process used while measuring
    samples: int  # evaluations that emitted events
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    books_live: int
    books: int
    errors: int  # resyncs, malformed frames, reconnects


class Probe:
    """Timestamps the path from a frame's receipt to the opportunity event it causes (live, a
    changed book is evaluated inside the feeds' book listener, so its events arrive during it)."""

    def __init__(self, scanner: Scanner):
        self.current: dict[str, float] = {}  # symbol -> receipt of the frame being handled
        self.samples: list[float] = []
        self.recording = False
        self._on_book = scanner.book_listener()
        for runner in scanner.runners:
            runner.venue.on_book = self.on_book
        scanner.listeners.append(self.on_event)

    def on_book(self, book: OrderBook) -> None:
        self.current[book.symbol] = book.received_at
        try:
            self._on_book(book)
        finally:
            self.current.pop(book.symbol, None)

    def on_event(self, event: OpportunityEvent) -> None:
        received_at = self.current.pop(event.opportunity.symbol, None)
        if received_at is not None and self.recording:
            self.samples.append(time.monotonic() - received_at)


def run(symbols: Sequence[str], exchanges: Sequence[str], rate: float, seconds: float,
        seed: int) -> LatencyResult:
    """Serve the simulator in a child process and measure the scanner in this one."""
    return run_loop(_measure(symbols, exchanges, rate, seconds, seed))


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def _measure(symbols: Sequence[str], exchanges: Sequence[str], rate: float, seconds: float,
                   seed: int) -> LatencyResult:
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scanner.bench.simserver", "--symbols", ",".join(symbols),
        "--exchanges", ",".join(exchanges), "--seed", str(seed), "--rate", str(rate),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        return await _measure_with(sim, symbols, exchanges, rate, seconds)
    finally:
        if sim.returncode is None:
            sim.stdin.close()
            try:
                await asyncio.wait_for(sim.wait(), 10)
            except asyncio.TimeoutError:
                sim.kill()
                await sim.wait()


async def _measure_with(sim: asyncio.subprocess.Process, symbols: Sequence[str],
                        exchanges: Sequence[str], rate: float, seconds: float) -> LatencyResult:
    line = await asyncio.wait_for(sim.stdout.readline(), SYNC_TIMEOUT)
    if not line:
        raise RuntimeError("the simulator process did not start")
    config = bench_config(exchanges, symbols)
    for name, endpoint in orjson.loads(line).items():
        config.exchanges[name].ws_url, config.exchanges[name].rest_url = endpoint
    scanner = Scanner(config, empty_metadata())
    probe = Probe(scanner)
    task = asyncio.create_task(scanner.run())
    books = scanner.store.books.values()
    try:
        deadline = time.monotonic() + SYNC_TIMEOUT
        while not all(book.state is BookState.LIVE for book in books):
            if time.monotonic() > deadline or task.done():
                waiting = [f"{b.exchange} {b.symbol} {b.state.name}" for b in books
                           if b.state is not BookState.LIVE]
                raise RuntimeError(f"{len(waiting)} books not live after {SYNC_TIMEOUT:.0f} s: "
                                   + ", ".join(waiting[:5]))
            await asyncio.sleep(0.1)
        sim.stdin.write(b"pace\n")
        await asyncio.sleep(SETTLE_SECONDS)
        frames, sent = _received(scanner), await _sent(sim)
        started, cpu = time.monotonic(), time.process_time()
        probe.recording = True
        await asyncio.sleep(seconds)
        probe.recording = False
        window = Window(time.monotonic() - started, time.process_time() - cpu,
                        _received(scanner) - frames, await _sent(sim) - sent)
        live = sum(book.state is BookState.LIVE for book in books)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    errors = sum(sum(s.resyncs.values()) + sum(s.errors.values()) + s.reconnects
                 for s in scanner.stats.values())
    return _result(probe.samples, rate, window, live, len(books), errors)


@dataclass
class Window:
    """What happened while measuring."""

    seconds: float
    cpu_seconds: float  # this process (the scanner)
    frames: int  # received
    sent: int  # by the simulator


def _result(samples: list[float], rate: float, window: Window, live: int, books: int,
            errors: int) -> LatencyResult:
    ordered = sorted(samples) or [0.0]
    cuts = (statistics.quantiles(ordered, n=1000, method="inclusive") if len(ordered) > 1
            else ordered * 999)
    return LatencyResult(rate, window.seconds, window.frames, window.frames / window.seconds,
                         window.sent / window.seconds, window.cpu_seconds / window.seconds,
                         len(samples), cuts[499] * 1e6, cuts[989] * 1e6, cuts[998] * 1e6,
                         ordered[-1] * 1e6, live, books, errors)


def _received(scanner: Scanner) -> int:
    return sum(stats.messages for stats in scanner.stats.values())


async def _sent(sim: asyncio.subprocess.Process) -> int:
    """Frames the simulator has sent so far (asked over its stdin)."""
    sim.stdin.write(b"sent\n")
    await sim.stdin.drain()
    return int(await sim.stdout.readline())
