"""Frames in each exchange's wire format, one of them damaged (cut short, a value replaced by
junk, a key or level removed): the scanner counts it or resyncs, never crashes, and never
keeps a live book that is out of order, crossed or holding a size that is not a size."""
from __future__ import annotations

import math
import random
from typing import Any, Iterator

import orjson
import pytest

from scanner.bench.frames import build
from scanner.bench.rig import load_books, offline_scanner
from scanner.book import BookState, OrderBook
from scanner.exchanges import NAMES
from scanner.feeds import FeedError

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
FRAMES = 60
TRIALS = 150
JUNK = (None, [], {}, "", "x", "-1", "nan", "1e400", "0", 2**63, -1, 1.5, [[]], [["1"]],
        [["1", "-2"]], [["100", "1", "x"]])


def slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value inside a parsed frame."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield node, key
        yield from slots(value)


def damage(frame: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.2:
        return frame[: rng.randrange(len(frame))]
    message = orjson.loads(frame)
    container, key = rng.choice(list(slots(message)))
    if rng.random() < 0.3:
        del container[key]
    else:
        container[key] = rng.choice(JUNK)
    return orjson.dumps(message)


def assert_sound(book: OrderBook) -> None:
    if book.state is not BookState.LIVE:
        return
    bids, asks = book.bids.top(1000), book.asks.top(1000)
    assert all(size > 0 and math.isfinite(size) for _, size in bids + asks), book
    bid_prices, ask_prices = [p for p, _ in bids], [p for p, _ in asks]
    assert bid_prices == sorted(set(bid_prices), reverse=True) and ask_prices == sorted(set(ask_prices))
    assert not bids or not asks or bid_prices[0] < ask_prices[0]


@pytest.mark.parametrize("exchange", list(NAMES))
@pytest.mark.parametrize("kind", ["top", "depth5"])
def test_a_damaged_frame_is_counted_never_crashes_never_leaves_a_bad_live_book(exchange, kind):
    rng = random.Random(f"{exchange}:{kind}")
    workload = build(exchange, kind, [exchange], SYMBOLS, FRAMES, seed=3)
    scanner = offline_scanner([exchange], SYMBOLS)
    runner = scanner.runners[0]
    books = list(runner.venue.books.values())
    for _ in range(TRIALS):
        broken = rng.randrange(FRAMES)
        for index, frame in enumerate([None, *workload.frames]):
            try:
                if frame is None:
                    load_books(scanner, workload.snapshots)
                else:
                    runner.on_frame(damage(frame, rng) if index - 1 == broken else frame, 1.0)
            except FeedError:  # live, the connection would restart (and count it)
                runner.venue.reset_all()
            scanner.flush()
            for book in books:
                assert_sound(book)
    stats = runner.stats
    assert stats.errors["malformed"] + sum(stats.resyncs.values()) > TRIALS / 2  # most damage shows
    load_books(scanner, workload.snapshots)  # and the feed recovers from its next snapshot
    for frame in workload.frames:
        runner.on_frame(frame, 1.0)
    assert all(book.state is BookState.LIVE for book in books)
