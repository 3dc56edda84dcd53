"""Throughput of the full hot path, against bare ``orjson.loads`` of the same bytes.

Per frame the timed loop does what a live feed does: ``FeedRunner.on_frame`` (counters,
adapter parse, book update) calls the live book listener, ``SpreadEngine.on_book`` (the engine
evaluates the symbol, events go to the scanner's listeners). Each round reloads every book from
its snapshot and goes through the stream in chunks of ``CHUNK`` frames: ``orjson.loads`` over
the chunk (untimed: its bytes are in the cache, as a frame just received is), timed, the hot
path over it, ``orjson.loads`` timed again, so both are timed within a millisecond and a shared machine's speed changing from one moment to the next (its other
work, frequency) cancels out of each chunk's ratio; a second pass times the adapter alone
(parse and book, no engine) the same way. Figures are medians over every chunk of every round.
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
CHUNK = 100  # frames timed at once, between two timings of orjson.loads over the same frames


@dataclass
class HotPathResult:
    """Figures for one exchange and frame kind (times are medians over the chunks)."""

    exchange: str
    kind: str
    frames: int
    frame_bytes: float
    top_moved: float  # share of frames that moved the best bid or ask price
    loads_ns: float  # orjson.loads alone, per frame
    hot_ns: float  # full hot path, per frame
    adapter_ns: float  # on_frame without the engine reaction, per frame
    ratio: float  # hot / loads, median of the per-chunk ratios
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
    hot, adapter = _Timings(), _Timings()
    for _ in range(rounds):
        load_books(scanner, workload.snapshots)
        updates, evaluations = sum(b.updates for b in books), scanner.engine.evaluations
        hot.time(frames, lambda chunk: _time_hot(runner, scanner.engine.on_book, chunk))
        applied = sum(b.updates for b in books) - updates
        evaluations = scanner.engine.evaluations - evaluations
        live = sum(book.state is BookState.LIVE for book in books)
        load_books(scanner, workload.snapshots)
        adapter.time(frames, lambda chunk: _time_adapter(runner, chunk))
    stats = runner.stats
    hot_ns = statistics.median(hot.times)
    return HotPathResult(
        workload.exchange, workload.kind, len(frames), workload.frame_bytes,
        workload.top_moves / len(frames), statistics.median(hot.loads + adapter.loads), hot_ns,
        statistics.median(adapter.times), statistics.median(hot.ratios),
        statistics.median(adapter.ratios), 1e9 / hot_ns, live, applied, evaluations,
        sum(stats.resyncs.values()) + sum(stats.errors.values()))


class _Timings:
    """ns per frame of one timed pass and of ``orjson.loads`` around it, chunk by chunk."""

    def __init__(self) -> None:
        self.loads: list[float] = []
        self.times: list[float] = []
        self.ratios: list[float] = []

    def time(self, frames: Sequence[bytes], timed: Callable[[Sequence[bytes]], float]) -> None:
        """Time ``timed`` over ``frames`` in order, ``CHUNK`` frames at a time."""
        for start in range(0, len(frames), CHUNK):
            chunk = frames[start:start + CHUNK]
            _time_loads(chunk)  # the chunk's bytes in the cache, as a frame just received is
            before = _time_loads(chunk)
            elapsed = timed(chunk)
            loads = (before + _time_loads(chunk)) / 2
            self.loads.append(loads)
            self.times.append(elapsed)
            self.ratios.append(elapsed / loads)


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
