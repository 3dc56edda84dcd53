"""Record the simulated exchanges, then replay: the same adapters and engine on a virtual clock
give the same result every time, with or without paper trading."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.exchanges import NAMES
from scanner.config import Config
from scanner.metadata import load_metadata
from scanner.record import read_recording
from scanner.replay import replay


def arbscan(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "scanner", "-q", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rec")
    arbscan("record", "demo.jsonl.gz", "--demo", "--duration", "8", "--symbols", "BTC/USDT,ETH/USDT", cwd=folder)
    return folder / "demo.jsonl.gz"


def test_recording_keeps_frames_and_rest_answers(recording):
    meta, records = read_recording(recording)
    assert meta["exchanges"] == list(NAMES) and meta["symbols"] == ["BTC/USDT", "ETH/USDT"]
    kinds = {(r.kind, r.exchange) for r in records}
    assert {("connect", "binance"), ("ws", "okx"), ("ws", "bybit"), ("rest", "binance")} <= kinds


def test_replay_rebuilds_books_and_finds_opportunities_the_same_way_twice(recording):
    first = replay(Config(), load_metadata(None), recording)
    second = replay(Config(), load_metadata(None), recording)
    assert first.frames > 500 and first.opened > 0
    books = first.scanner.store.books.values()
    assert all(len(book.bids) and len(book.asks) for book in books)
    assert [(e.id, e.opportunity) for e in first.best] == [(e.id, e.opportunity) for e in second.best]


def test_thresholds_change_what_a_replay_finds(recording):
    loose = replay(Config(), load_metadata(None), recording)
    strict_config = Config()
    strict_config.scanner.min_net_profit = 1e9
    strict = replay(strict_config, load_metadata(None), recording)
    assert loose.opened > 0 and strict.opened == 0


def test_paper_backtest_on_a_recording_is_deterministic(recording, tmp_path):
    config = tmp_path / "paper.toml"
    config.write_text("""
[paper]
enabled = true
latency_ms = { binance = 30, okx = 60, bybit = 45 }
latency_jitter_ms = 10
[paper.balances.binance]
USDT = 20000
BTC = 0.25
ETH = 5
[paper.balances.okx]
USDT = 20000
BTC = 0.25
ETH = 5
[paper.balances.bybit]
USDT = 20000
BTC = 0.25
ETH = 5
""")
    once = arbscan("replay", str(recording), "--config", str(config), cwd=tmp_path)
    again = arbscan("replay", str(recording), "--config", str(config), cwd=tmp_path)
    assert "PnL, marked to market" in once
    assert int(re.search(r"^trades +(\d+)", once, re.M).group(1)) > 0
    assert once.split("paper ledger")[1].split("\n", 1)[1] == again.split("paper ledger")[1].split("\n", 1)[1]
