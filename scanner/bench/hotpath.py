"""Throughput of the full hot path, against bare ``orjson.loads`` of the same bytes.

Per frame the timed loop does what a live feed does: ``FeedRunner.on_frame`` (counters, adapter
parse, book update) calls the live book listener, ``SpreadEngine.on_book`` (the engine
evaluates the symbol, events go to the scanner's listeners). Each round reloads every book from
its snapshot, then times ``orjson.loads`` over the frames, the hot path, the adapter alone
(parse and book, no engine), and ``orjson.loads`` again; ratios are taken within a round and
reported as medians.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import orjson

from ..book import BookState, OrderBook
from ..feeds.runner import FeedRunner
from .frames import Workload
from .rig import load_books, offline_scanner

ROUNDS = 5


@dataclass
class HotPathResult:
    """Figures for one exchange and frame kind (times are medians over the rounds)."""

    exchange: str
    kind: str
    frames: int
    frame_bytes: float
    top_moved: float  # share of frames that moved the best bid or ask price
    loads_ns: float  # orjson.loads alone, per frame
    hot_ns: float  # full hot path, per frame
    adapter_ns: float  # on_frame without the engine reaction, per frame
    ratio: float  # hot / loads, median of the per-round ratios
    adapter_ratio: float
    frames_per_second: float
    books_live: int  # proof that the hot path ran (last round): books live after it,
    applied: int  # frames that changed a book,
    evaluations: int  # engine evaluations,
    errors: int  # resyncs and malformed frames over all rounds (must be 0)


def run(workload: Workload, rounds: int = ROUNDS) -> HotPathResult:
    """Time ``workload`` through a fresh scanner over the exchanges it has snapshots for."""
    scanner = offline_scanner(list(workload.snapshots), workload.symbols)
    runner = next(r for r in scanner.runners if r.venue.name == workload.exchange)
    books, frames = runner.venue.books.values(), workload.frames
    loads, hot, adapter, ratios, adapter_ratios = [], [], [], [], []
    for _ in range(rounds):
        before = _time_loads(frames)
        load_books(scanner, workload.snapshots)
        updates, evaluations = sum(b.updates for b in books), scanner.engine.evaluations
        hot.append(_time_hot(runner, scanner.engine.on_book, frames))
        applied = sum(b.updates for b in books) - updates
        evaluations = scanner.engine.evaluations - evaluations
        live = sum(book.state is BookState.LIVE for book in books)
        load_books(scanner, workload.snapshots)
        adapter.append(_time_adapter(runner, frames))
        after = _time_loads(frames)
        loads.append((before + after) / 2)
        ratios.append(hot[-1] / loads[-1])
        adapter_ratios.append(adapter[-1] / loads[-1])
    stats = runner.stats
    hot_ns = statistics.median(hot)
    return HotPathResult(
        workload.exchange, workload.kind, len(frames), workload.frame_bytes,
        workload.top_moves / len(frames), statistics.median(loads), hot_ns,
        statistics.median(adapter), statistics.median(ratios), statistics.median(adapter_ratios),
        1e9 / hot_ns, live, applied, evaluations,
        sum(stats.resyncs.values()) + sum(stats.errors.values()))


def _time_loads(frames: Sequence[bytes]) -> float:
    loads = orjson.loads
    start = time.perf_counter_ns()
    for frame in frames:
        loads(frame)
    return (time.perf_counter_ns() - start) / len(frames)


def _time_hot(runner: FeedRunner, listener: Callable[[OrderBook], None],
              frames: Sequence[bytes]) -> float:
    """ns per frame through ``runner.on_frame`` with ``listener`` told of each changed book."""
    venue = runner.venue
    replay_listener, venue.on_book = venue.on_book, listener
    try:
        on_frame, monotonic = runner.on_frame, time.monotonic
        start = time.perf_counter_ns()
        for frame in frames:
            on_frame(frame, monotonic())
        return (time.perf_counter_ns() - start) / len(frames)
    finally:
        venue.on_book = replay_listener


def _time_adapter(runner: FeedRunner, frames: Sequence[bytes]) -> float:
    return _time_hot(runner, _ignore, frames)


def _ignore(book: object) -> None:
    """A book listener that does nothing (the adapter-only timing)."""
