"""A /metrics scrape of a large scanner while its loop keeps handling frames.

The real ``MetricsServer`` serves the real collector over loaded books; a feeder task applies
frames on the loop at a steady rate (so the books stay fresh and the loop is busy, as in a
live scanner) and a probe task measures the loop's lag. Scrapes come from a client process
(``python -m scanner.bench.scrape URL``: one scrape per line on stdin, answering
``seconds bytes series``), as Prometheus would, so the client takes no time from the loop.
"""
from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Sequence

from ..publish.metrics import MetricsServer
from .frames import Workload, build
from .latency import run_loop
from .rig import load_books, offline_scanner

SCRAPES = 10
PAUSE_SECONDS = 0.1  # between scrapes
IDLE_SECONDS = 1.0  # lag measured with the feeder alone, for comparison
FEED_RATE = 10_000  # frames/s applied by the feeder
FEED_BATCH_SECONDS = 0.001
LAG_TICK = 0.0005  # the probe's sleep; lag = how late it wakes


@dataclass
class ScrapeResult:
    books: int
    series: int  # samples in one scrape
    bytes: int
    scrapes: int
    median_ms: float
    max_ms: float
    lag_max_ms: float  # worst loop lag while a scrape was in progress
    lag_median_ms: float  # median over scrapes of each one's worst loop lag
    idle_lag_max_ms: float  # worst loop lag over the same feed without scrapes


def run(symbols: Sequence[str], exchanges: Sequence[str], seed: int) -> ScrapeResult:
    seconds = IDLE_SECONDS + SCRAPES * (PAUSE_SECONDS + 0.2) + 1.0
    workload = build(exchanges[0], "top", exchanges, symbols, int(FEED_RATE * seconds), seed)
    return run_loop(_measure(workload))


class LagProbe:
    """Wakes every ``LAG_TICK`` and keeps the worst lateness since the last ``take``."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            self.worst = max(self.worst, time.perf_counter() - before - LAG_TICK)

    def take(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


async def _measure(workload: Workload) -> ScrapeResult:
    scanner = offline_scanner(list(workload.snapshots), workload.symbols)
    port = _free_port()
    server = MetricsServer(scanner.collector, "127.0.0.1", port)
    await server.start()
    load_books(scanner, workload.snapshots)
    probe = LagProbe()
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scanner.bench.scrape", f"http://127.0.0.1:{port}/metrics",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    tasks = [asyncio.create_task(_feed(scanner, workload)), asyncio.create_task(probe.run())]
    try:
        await asyncio.sleep(IDLE_SECONDS)
        idle_lag = probe.take()
        durations, lags = [], []
        for _ in range(SCRAPES):
            client.stdin.write(b"scrape\n")
            seconds, size, series = (await client.stdout.readline()).split()
            durations.append(float(seconds))
            lags.append(probe.take())
            await asyncio.sleep(PAUSE_SECONDS)
            probe.take()
    finally:
        client.stdin.close()
        await client.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop()
    return ScrapeResult(len(scanner.store.books), int(series), int(size), SCRAPES,
                        statistics.median(durations) * 1e3, max(durations) * 1e3,
                        max(lags) * 1e3, statistics.median(lags) * 1e3, idle_lag * 1e3)


async def _feed(scanner, workload: Workload) -> None:
    """Apply the workload's frames on the loop at ``FEED_RATE``, in small bursts."""
    runner = next(r for r in scanner.runners if r.venue.name == workload.exchange)
    batch = int(FEED_RATE * FEED_BATCH_SECONDS)
    frames = workload.frames
    for start in range(0, len(frames), batch):
        for frame in frames[start:start + batch]:
            runner.on_frame(frame, time.monotonic())
        scanner.flush()
        await asyncio.sleep(FEED_BATCH_SECONDS)


def scrape(url: str) -> tuple[float, bytes]:
    """One GET of ``url``: (seconds, body)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
    return time.perf_counter() - started, body


def main(argv: list[str]) -> int:
    """The client process: scrape ``argv[0]`` once per line read from stdin."""
    for _ in sys.stdin:
        seconds, body = scrape(argv[0])
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(seconds, len(body), series, flush=True)
    return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
