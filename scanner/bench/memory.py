"""Memory of a scanner holding many full books.

A fresh child process builds a scanner over the given exchanges and symbols and loads every
book from the stream this process generates (a snapshot per book, then depth diffs), so the
generator's market model never counts against the scanner's RSS:

    python -m scanner.bench.memory --symbols 800 --exchanges binance,okx,bybit < records

Records are lines ``exchange<TAB>rest_path<TAB>symbol id<TAB>body`` (a REST answer, Binance's
snapshot) or ``exchange<TAB><TAB><TAB>frame``; the child prints one JSON line of results.
"""
from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Sequence

import orjson

from ..book import BookState
from .frames import build
from .rig import bench_symbols, offline_scanner

DIFFS_PER_BOOK = 10  # 20-level diffs applied to each book after its snapshot


@dataclass
class MemoryResult:
    books: int
    books_live: int
    levels_per_side: float  # mean over every side of every book
    frames: int  # snapshots and diffs applied
    rss_mb: float  # resident set of the scanner process with its books loaded
    baseline_mb: float  # the same process before it built the scanner
    peak_mb: float
    kb_per_book: float  # (rss - baseline) / books


def run(symbols: int, exchanges: Sequence[str], seed: int) -> MemoryResult:
    """Generate the books here, load them in a child process, return its figures."""
    child = subprocess.Popen(
        [sys.executable, "-m", "scanner.bench.memory", "--symbols", str(symbols),
         "--exchanges", ",".join(exchanges)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        for exchange in exchanges:  # each exchange's last records flushed before the next
            for record in _records(bench_symbols(symbols), [exchange], seed):  # is built: no
                child.stdin.write(record)  # seconds-long gap within one exchange's stream
            child.stdin.flush()
        child.stdin.close()
        output = child.stdout.read()
    finally:
        if child.wait(60) != 0:
            raise RuntimeError(f"the memory benchmark process failed (exit {child.returncode})")
    return MemoryResult(**orjson.loads(output))


def _records(symbols: list[str], exchanges: Sequence[str], seed: int) -> Iterator[bytes]:
    for exchange in exchanges:
        workload = build(exchange, "depth20", [exchange], symbols, DIFFS_PER_BOOK * len(symbols),
                         seed)
        name = exchange.encode()
        for snapshot in workload.snapshots[exchange]:
            market_id = snapshot.rest_params.get("symbol", "").encode()
            yield b"\t".join((name, snapshot.rest_path.encode(), market_id, snapshot.body)) + b"\n"
        for frame in workload.frames:
            yield name + b"\t\t\t" + frame + b"\n"


def load(source: BinaryIO, symbols: int, exchanges: Sequence[str]) -> MemoryResult:
    """Child side: build the scanner, load the records, measure."""
    gc.collect()
    baseline = _rss_mb()
    scanner = offline_scanner(exchanges, bench_symbols(symbols))
    runners = {runner.venue.name: runner for runner in scanner.runners}
    frames = 0
    for line in source:
        exchange, rest_path, market_id, body = line.rstrip(b"\n").split(b"\t", 3)
        runner = runners[exchange.decode()]
        if rest_path:
            runner.venue.on_rest(rest_path.decode(), {"symbol": market_id.decode()}, body)
        else:
            runner.on_frame(body, time.monotonic())
        scanner.flush()
        frames += 1
    gc.collect()
    books = scanner.store.books.values()
    sides = [len(side) for book in books for side in (book.bids, book.asks)]
    rss = _rss_mb()
    return MemoryResult(len(books), sum(book.state is BookState.LIVE for book in books),
                        sum(sides) / len(sides),
                        frames, rss, baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        (rss - baseline) * 1024 / len(books))


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.bench.memory")
    parser.add_argument("--symbols", type=int, required=True)
    parser.add_argument("--exchanges", required=True)
    args = parser.parse_args(argv)
    result = load(sys.stdin.buffer, args.symbols, args.exchanges.split(","))
    sys.stdout.buffer.write(orjson.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
