"""Deterministic benchmark streams in each exchange's real wire format.

The simulator's market model makes the book changes and its per-exchange encoders print them
(the wire formats live in each exchange's ``sim.py`` only); this module only chains them into streams:
one exchange, one kind of frame, symbols in turn, every sequence rule kept so the scanner's
adapters apply each frame.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

from ..exchanges import EXCHANGES
from ..sim.market import Levels, MarketModel, VenueBook
from ..sim.protocol import Venue
from ..sim.servers import HAND_EPOCH_MS

KINDS = ("top", "depth1", "depth5", "depth20")  # top of book; diffs of N levels per side
FRAME_SECONDS = 1 / 20_000  # model time between two frames of a stream


def diff_levels(kind: str) -> int:
    """Levels per side of a depth kind ("depth20" -> 20); 0 for top-of-book frames."""
    return int(kind[len("depth"):]) if kind.startswith("depth") else 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """How a scanner loads one book: a WebSocket frame, or (Binance) a REST answer."""

    body: bytes
    rest_path: str = ""
    rest_params: dict[str, str] = field(default_factory=dict)


class Wire(ABC):
    """One exchange's stream state (sequence numbers) over the simulator's encoder."""

    def __init__(self, venue: Venue):
        self.venue = venue

    @abstractmethod
    def snapshot(self, book: VenueBook, wall_ms: int) -> Snapshot:
        """The full book, as the exchange hands it to a client that (re)subscribes."""

    @abstractmethod
    def top(self, book: VenueBook, wall_ms: int) -> bytes:
        """A best bid/offer frame."""

    @abstractmethod
    def diff(self, book: VenueBook, bids: Levels, asks: Levels, wall_ms: int) -> bytes:
        """A depth diff with the given levels (best first; 0 lots removes a level)."""


@dataclass
class Workload:
    """A stream of one exchange and kind, and the snapshots of every book it starts from."""

    exchange: str
    kind: str
    symbols: list[str]
    snapshots: dict[str, list[Snapshot]]  # exchange -> one per symbol
    frames: list[bytes]
    top_moves: int  # frames that moved the best bid or ask price

    @property
    def frame_bytes(self) -> float:
        return sum(map(len, self.frames)) / len(self.frames)


def build(exchange: str, kind: str, exchanges: Sequence[str], symbols: Sequence[str],
          frames: int, seed: int) -> Workload:
    """``frames`` frames of ``kind`` from ``exchange``, symbols in turn; every exchange in
    ``exchanges`` gets starting snapshots so the engine has pairs to price."""
    model = MarketModel(symbols, exchanges, seed, dislocation_every=None)
    wires = {name: EXCHANGES[name].wire(EXCHANGES[name].sim(model, symbols, random.Random(f"{seed}:{name}")))
             for name in exchanges}
    snapshots = {name: [wire.snapshot(model.book(name, symbol), HAND_EPOCH_MS) for symbol in symbols]
                 for name, wire in wires.items()}
    wire, levels = wires[exchange], diff_levels(kind)
    stream, top_moves = [], 0
    for index in range(frames):
        symbol, wall_ms = symbols[index % len(symbols)], HAND_EPOCH_MS + 1 + index
        before = model.book(exchange, symbol).top()
        if levels:
            book = model.update_levels(exchange, symbol, FRAME_SECONDS, levels)
            bids, asks = book.drain()
            stream.append(wire.diff(book, sorted(bids.items(), reverse=True), sorted(asks.items()),
                                    wall_ms))
        else:
            book = model.update_top(exchange, symbol, FRAME_SECONDS)
            book.drain()
            stream.append(wire.top(book, wall_ms))
        after = book.top()
        top_moves += before[0][0] != after[0][0] or before[1][0] != after[1][0]
    return Workload(exchange, kind, list(symbols), snapshots, stream, top_moves)
