"""`arbscan demo --paper` killed with SIGKILL mid-trading, then restarted: the ledger is intact,
the report matches it, nothing is counted twice and the restarted scanner carries on from it."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.test_integration import free_port


def start(config: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scanner", "-q", "demo", "--paper", "--config", str(config),
                             "--no-view"], cwd=cwd, env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


async def paper_trades(port: int) -> float:
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
    except aiohttp.ClientError:
        return -1.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("arbscan_paper_trades_total{"))


def ledger_rows(path: Path) -> tuple[list[tuple], dict[str, int]]:
    db = sqlite3.connect(path)
    done = db.execute("SELECT id, status, predicted, realised FROM trades WHERE status = 'done' ORDER BY id").fetchall()
    counts = dict(db.execute("SELECT id, count(*) FROM trades GROUP BY id").fetchall())
    db.close()
    return done, counts


async def test_kill_9_during_paper_trading_then_restart(tmp_path):
    port = free_port()
    ledger = tmp_path / "paper.sqlite"
    config = tmp_path / "arbscan.toml"
    config.write_text(f'[scanner]\nsymbols = ["BTC/USDT", "ETH/USDT"]\n[metrics]\nport = {port}\n'
                      f'[paper]\nledger_path = "{ledger}"\n')
    first = start(config, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while await paper_trades(port) < 3:
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "no paper trades"
            await asyncio.sleep(0.2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    done_before, counts = ledger_rows(ledger)
    assert len(counts) >= 3 and set(counts.values()) == {1}
    report = subprocess.run([sys.executable, "-m", "scanner", "paper", "report", "--ledger", str(ledger)],
                            capture_output=True, text=True, check=True).stdout
    assert f"trades                  {len(counts)}" in report

    second = start(config, tmp_path)
    try:
        first_scrape = -1.0
        deadline = time.monotonic() + 20
        while first_scrape < 0:
            assert second.poll() is None, second.stderr.read().decode()
            assert time.monotonic() < deadline
            first_scrape = await paper_trades(port)
            await asyncio.sleep(0.1)
        assert first_scrape >= len(counts)  # counters resume from the ledger, not from zero
        await asyncio.sleep(3)
    finally:
        second.terminate()
        second.wait(timeout=10)
    done_after, counts_after = ledger_rows(ledger)
    assert set(counts_after.values()) == {1}  # no trade recorded twice
    assert set(counts) <= set(counts_after)
    assert set(done_before) <= set(done_after)  # finished trades are never rewritten
