"""Paper mode never changes what the scanner reports. Two scanners watch the same simulated
exchanges at once, one paper-trading with balances a trade or two exhausts: they open the same
opportunities and see them live as long. Replayed with paper on and off, the recording of that
session gives the very same events, sizes and lifetimes."""
from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scanner import replay as replay_module
from scanner.app import Scanner
from scanner.config import Config
from scanner.demo import point_at
from scanner.engine.opportunity import EventType, OpportunityEvent
from scanner.metadata import load_metadata
from scanner.record import Recorder
from scanner.sim import SimulatedExchanges

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
EXCHANGES = ["binance", "okx", "bybit"]
TIGHT = {"USDT": 1500.0, "BTC": 0.02, "ETH": 0.4}  # about 1,200-1,500 USDT each: one trade empties a side
SECONDS = 12.0
QUICK = 0.05  # seconds; the issue: with paper on, 47 % of opportunities closed within 50 ms


@dataclass
class Lifetimes:
    """Every event a scanner emits, and the lifetime of each closed opportunity."""

    events: list[OpportunityEvent] = field(default_factory=list)

    def on_event(self, event: OpportunityEvent) -> None:
        self.events.append(event)

    def of(self, kind: EventType) -> list[OpportunityEvent]:
        return [e for e in self.events if e.type is kind]

    def quick(self) -> int:
        """How many opportunities closed within ``QUICK`` seconds of opening."""
        return sum(e.duration < QUICK for e in self.of(EventType.CLOSED))


def paper_config(config: Config, ledger: Path) -> None:
    config.paper.enabled = True
    config.paper.ledger_path = str(ledger)
    config.paper.balances = {name: dict(TIGHT) for name in EXCHANGES}
    config.paper.latency_jitter_ms = 0.0


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Lifetimes, Lifetimes, Path, Path]:
    """(paper off, paper on, the recording of the paper-off scanner, the paper ledger)."""
    folder = tmp_path_factory.mktemp("market")
    recording, ledger = folder / "session.jsonl.gz", folder / "paper.sqlite"

    async def run() -> tuple[Lifetimes, Lifetimes]:
        async with SimulatedExchanges(symbols=SYMBOLS, seed=11, updates_per_second=20.0,
                                      dislocation_every=(0.4, 1.2)) as sim:
            configs = [Config(), Config()]
            for config in configs:
                config.scanner.symbols = list(SYMBOLS)
                config.metrics.enabled = False
                point_at(config, sim)
            paper_config(configs[1], ledger)
            recorder = Recorder(recording, {"exchanges": EXCHANGES, "symbols": SYMBOLS})
            scanners = [Scanner(configs[0], load_metadata(None), recorder=recorder),
                        Scanner(configs[1], load_metadata(None))]
            seen = [Lifetimes(), Lifetimes()]
            for scanner, lifetimes in zip(scanners, seen):
                scanner.listeners.append(lifetimes.on_event)
            try:
                await asyncio.gather(*(scanner.run(SECONDS) for scanner in scanners))
            finally:
                recorder.close()
            return seen[0], seen[1]

    off, on = asyncio.run(run())
    return off, on, recording, ledger


def test_the_paper_trading_scanner_reports_the_opportunities_the_other_one_does(session):
    off, on, _, ledger = session
    db = sqlite3.connect(ledger)
    trades = db.execute("SELECT event_id, qty FROM trades").fetchall()
    db.close()
    sizes = {e.id: e.opportunity.size for e in on.events if e.type is not EventType.CLOSED}
    assert len(trades) >= 3
    assert any(float(qty) < 0.9 * sizes[event_id] for event_id, qty in trades)  # paper was short of funds
    # each scanner reads its own sockets, so a frame of one exchange may reach them on either side
    # of another's: allow two opportunities of difference (before the fix, the paper-trading
    # scanner closed the ones it traded at once: 11 of its 17 within 50 ms, none of the other's 18)
    opened_off, opened_on = Counter(opened_keys(off)), Counter(opened_keys(on))
    assert sum(opened_off.values()) >= 10
    assert sum(((opened_on - opened_off) + (opened_off - opened_on)).values()) <= 2
    assert abs(on.quick() - off.quick()) <= 2


def opened_keys(lifetimes: Lifetimes) -> list[tuple[str, str, str]]:
    return [e.opportunity.key for e in lifetimes.of(EventType.OPENED)]


def test_a_replay_with_paper_on_gives_the_same_events_as_with_paper_off(session, tmp_path, monkeypatch):
    _, _, recording, _ = session
    runs = []
    for paper in (False, True):
        seen = Lifetimes()
        original = replay_module.ReplayResult.on_event
        monkeypatch.setattr(replay_module.ReplayResult, "on_event",
                            lambda self, event, seen=seen, original=original: (seen.on_event(event), original(self, event)))
        config = Config()
        if paper:
            paper_config(config, tmp_path / "replay.sqlite")
        replay_module.replay(config, load_metadata(None), recording)
        monkeypatch.undo()
        runs.append([(e.type, e.id, e.opportunity, e.first_seen, e.last_seen, e.close_reason) for e in seen.events])
    off, on = runs
    db = sqlite3.connect(tmp_path / "replay.sqlite")
    assert db.execute("SELECT count(*) FROM trades").fetchone()[0] > 0
    db.close()
    assert len(off) > 20 and on == off
