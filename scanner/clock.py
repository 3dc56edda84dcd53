"""Time for the parts that must also run on recorded data: live (the asyncio loop) or virtual
(replay advances it frame by frame, so a backtest gives the same result every time)."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Callable, Protocol


class Scheduler(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> float: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> None: ...


class LiveScheduler:
    """Real clocks; callbacks run on the running asyncio loop."""

    monotonic = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_later(delay, callback)


class VirtualScheduler:
    """A clock that only moves when told to; due callbacks run in time order."""

    def __init__(self, start_wall: float = 0.0, start_monotonic: float = 0.0):
        self._wall_offset = start_wall - start_monotonic
        self._now = start_monotonic
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (self._now + max(0.0, delay), next(self._order), callback))

    def advance(self, to: float) -> None:
        """Run every callback due up to ``to`` (monotonic seconds), then set the clock there."""
        queue = self._queue
        while queue and queue[0][0] <= to:
            due, _, callback = heapq.heappop(queue)
            self._now = max(self._now, due)
            callback()
        self._now = max(self._now, to)

    def drain(self) -> None:
        """Run everything still scheduled (end of a replay)."""
        while self._queue:
            self.advance(self._queue[0][0])
