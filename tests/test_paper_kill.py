"""`arbscan demo --paper` killed with SIGKILL mid-trading, then restarted: the ledger is intact,
the report matches it, nothing is counted twice and the restarted scanner carries on from it."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.demo_process import kill_9_once, metric_sum, start_demo
from scanner_harness import free_port

TRADES = "arbscan_paper_trades_total{"


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
    await kill_9_once(start_demo(config, "--paper", cwd=tmp_path), port, TRADES, at_least=3, timeout=60)
    done_before, counts = ledger_rows(ledger)
    assert len(counts) >= 3 and set(counts.values()) == {1}
    report = subprocess.run([sys.executable, "-m", "scanner", "paper", "report", "--ledger", str(ledger)],
                            capture_output=True, text=True, check=True).stdout
    assert f"trades                  {len(counts)}" in report

    second = start_demo(config, "--paper", cwd=tmp_path)
    try:
        first_scrape = None
        deadline = time.monotonic() + 20
        while first_scrape is None:
            assert second.poll() is None, second.stderr.read().decode()
            assert time.monotonic() < deadline
            first_scrape = await metric_sum(port, TRADES)
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
