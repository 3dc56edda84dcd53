"""Paper ledger across a kill -9: a child process trades, is killed with one leg in flight and a
transfer in transit; a new trader on the same ledger resumes with the same balances and trades."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

from scanner.paper import report
from tests.test_paper import A_BOOK, B_BOOK, Rig, opened, recomputed_balances

ROOT = Path(__file__).resolve().parent.parent
BALANCES = {"a": {"USDT": 200_000.0, "BTC": 0.0}, "b": {"BTC": 3.0, "USDT": 0.0}}
SETTINGS = dict(balances=BALANCES, rebalance_threshold=0.6, transfer_seconds={"BTC": 5.0})
SECOND_BOOKS = {"a": ([["59990", "1"]], [["60000", "3"]]), "b": ([["60300", "1"]], [["60310", "1"]])}

CHILD = """
import json, os, signal, sys
from pathlib import Path
from scanner.engine.opportunity import EventType
from tests.test_paper import A_BOOK, B_BOOK, Rig, opened
from tests.test_paper_restart import SECOND_BOOKS, SETTINGS

rig = Rig(Path(sys.argv[1]), **SETTINGS)
rig.book("a", *A_BOOK)
rig.book("b", *B_BOOK)
events = [opened(rig)]
rig.at(1.0)  # trade 1 (2 BTC) done; 2 BTC on their way from a to b
for exchange, book in SECOND_BOOKS.items():
    rig.book(exchange, *book)
events.append(opened(rig, EventType.UPDATED))
rig.at(1.15)  # trade 2: the buy (100 ms) has filled, the sell (200 ms) is still travelling
print(json.dumps({
    "balances": {f"{ex} {asset}": str(v) for (ex, asset), v in rig.trader.ledger.balances.items()},
    "trades": [row[0] for row in rig.rows("SELECT id FROM trades ORDER BY created_at")],
    "events": [[e.id, e.last_seen] for e in events],
}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_and_restart_resume_with_the_same_ledger(tmp_path):
    path = tmp_path / "ledger.sqlite"
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    before = json.loads(child.stdout)
    assert len(before["trades"]) == 2

    assert "trades                  2" in report(path)  # readable as the kill left it (WAL and all)
    rig = Rig(path, **SETTINGS)
    after = {f"{ex} {asset}": str(v) for (ex, asset), v in rig.trader.ledger.balances.items()}
    assert after == before["balances"]
    assert [row[0] for row in rig.rows("SELECT id FROM trades ORDER BY created_at")] == before["trades"]
    assert rig.rows("SELECT role, status FROM orders WHERE trade_id = ? ORDER BY role", before["trades"][1]) \
        == [("buy", "filled"), ("sell", "lost")]
    ((asset, qty, status),) = rig.rows("SELECT asset, qty, status FROM residuals")
    assert (asset, D(qty), status) == ("BTC", 1, "open")

    for exchange, book in SECOND_BOOKS.items():  # the same events delivered again are refused
        rig.book(exchange, *book)
    event = opened(rig)
    for event_id, last_seen in before["events"]:
        event.id, event.last_seen = event_id, last_seen
        rig.trader.on_event(event)
    assert len(rig.rows("SELECT * FROM trades")) == 2

    rig.sched.drain()  # the residual is closed, the transfer lands
    assert rig.rows("SELECT status FROM residuals") == [("closed",)]
    assert rig.rows("SELECT DISTINCT status FROM transfers") == [("done",)]
    assert rig.rows("SELECT count(*) FROM trades WHERE status != 'done'") == [(0,)]
    assert rig.trader.ledger.balances == recomputed_balances(rig, BALANCES)
    rig.trader.close()


def test_a_stop_right_after_the_last_close_fill_finishes_the_trade_without_another_order(tmp_path, monkeypatch):
    path = tmp_path / "ledger.sqlite"
    rig = Rig(path)
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    rig.book("b", [["59950", "2"]], [["59960", "2"]])  # the sell misses
    monkeypatch.setattr(rig.trader, "_closed", lambda trade, residual: None)  # dies once the close fill is booked
    rig.at(1.0)
    balances = dict(rig.trader.ledger.balances)
    rig.trader.ledger.conn.close()
    monkeypatch.undo()
    again = Rig(path)
    assert again.trader.ledger.balances == balances
    ((status, remaining),) = again.rows("SELECT status, remaining FROM residuals")
    assert status == "closed" and D(remaining) == 0
    assert again.rows("SELECT status FROM trades") == [("done",)]
    assert again.rows("SELECT count(*) FROM orders WHERE role = 'close'") == [(1,)]
    again.trader.close()
