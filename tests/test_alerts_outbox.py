"""The outbox under a failing disk (simulated everywhere, and on a real 1 MiB file system where
mounting is permitted), its write-ahead log's size, start errors by true cause, and the close
of opportunities a previous run left open."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

import scanner.alerts.outbox as outbox_module
from alerts_harness import make_event
from scanner.alerts import Alerter, OutboxError
from scanner.alerts.outbox import WAL_LIMIT, Entry, Outbox
from scanner.cli import main
from scanner.config import AlertsConfig
from scanner.engine.opportunity import EventType
from test_alerts_delivery import events, json_hook, make_alerter, metric_text, outbox_rows, sample
from test_alerts_delivery import sink  # noqa: F401  (the webhook receiver fixture)

DISK_FULL = "the disk is full; free space or set alerts.outbox_path to a file on another disk"
LOST = 'arbscan_alert_lost_total{{reason="{}",target="desk"}}'
WAL_MAX = WAL_LIMIT + 32 * 1024  # the limit plus the transaction that crosses it
OPENS_ONLY = ["opportunity.opened"]  # no closes: nothing is left open


class FailingDisk:
    """A connection whose statements starting with one of ``failing`` raise sqlite's disk-full
    error while ``full`` is set (as sqlite3 raises it on a full disk)."""

    def __init__(self, db: sqlite3.Connection, failing=("INSERT", "UPDATE", "DELETE"), full: bool = False):
        self.db, self.failing, self.full = db, failing, full

    def execute(self, sql: str, *args):
        if self.full and sql.lstrip().upper().startswith(self.failing):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __enter__(self):
        return self.db.__enter__()

    def __exit__(self, *exc_info):
        return self.db.__exit__(*exc_info)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def fill_disk(alerter: Alerter) -> FailingDisk:
    disk = FailingDisk(alerter.outbox._db)
    alerter.outbox._db = disk
    return disk


def stored(alerter: Alerter) -> list[str]:
    """Ids in the outbox file, read through the alerter's own connection (the file is locked)."""
    return [row[0] for row in alerter.outbox._db.execute("SELECT event_id FROM outbox ORDER BY seq")]


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- a full disk, simulated ---------------------------------------------------------------------

async def test_an_alert_that_cannot_be_stored_is_counted_as_lost_with_its_cause(tmp_path, sink, caplog):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    text = metric_text(alerter)
    for reason in ("disk_full", "read_only", "locked", "corrupt", "io_error", "other"):
        assert sample(text, LOST.format(reason)) == 0  # present from the start: a rule can fire on it
    await alerter.start()
    disk = fill_disk(alerter)
    disk.full = True
    alerter.publish(make_event(id="x"))
    assert sample(metric_text(alerter), LOST.format("disk_full")) == 1
    assert errors(caplog) == [f"alert x (opportunity.opened) for desk is lost: alert outbox {alerter.outbox.path}"
                              f" cannot store it: {DISK_FULL}"]
    disk.full = False
    alerter.publish(make_event(id="y", symbol="ETH/USDT"))
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    await alerter.stop()
    assert [r.webhook_id for r in sink.received] == ["y"]
    assert sample(metric_text(alerter), LOST.format("disk_full")) == 1


async def test_a_delivered_alert_whose_row_cannot_be_removed_is_never_sent_again(tmp_path, sink, caplog):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink, events=OPENS_ONLY)})
    await alerter.start()
    disk = fill_disk(alerter)
    alerter.publish(make_event(id="a"))
    disk.full = True  # the row is written; its removal after the 2xx will fail
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    await asyncio.sleep(1.0)  # five times the retry cap of these tests
    assert [r.webhook_id for r in sink.received] == ["a"]
    assert sample(metric_text(alerter), 'arbscan_alert_outbox_depth{target="desk"}') == 0
    assert any("alert a for target desk is delivered but that cannot be written: the disk is full" in r.getMessage()
               for r in caplog.records)
    assert stored(alerter) == ["a"]  # not removed yet...
    disk.full = False
    alerter.publish(make_event(id="b", symbol="ETH/USDT"))  # ...until the next write succeeds
    await sink.wait_until(lambda: len(sink.delivered()) == 2, timeout=5)
    await alerter.stop()
    assert outbox_rows(tmp_path) == []
    again = make_alerter(tmp_path, {"desk": json_hook(sink, events=OPENS_ONLY)})
    await again.start()
    await asyncio.sleep(0.3)
    await again.stop()
    assert [r.webhook_id for r in sink.received] == ["a", "b"]


async def test_the_upkeep_writes_a_removal_that_failed(tmp_path, sink):
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink, events=OPENS_ONLY)})
    await alerter.start()
    disk = fill_disk(alerter)
    alerter.publish(make_event(id="a"))
    disk.full = True
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    disk.full = False
    await asyncio.sleep(1.5)  # the health poll (every second) writes what is owed
    assert stored(alerter) == []
    await alerter.stop()


# --- start errors: one line with the true cause, no file left behind ---------------------------

def start_error(path: Path) -> str:
    with pytest.raises(OutboxError) as caught:
        Outbox(path)
    return str(caught.value)


def test_a_full_disk_at_start_says_so_and_leaves_no_file(tmp_path, monkeypatch):
    connect = sqlite3.connect
    monkeypatch.setattr(outbox_module.sqlite3, "connect",
                        lambda *a, **kw: FailingDisk(connect(*a, **kw), ("PRAGMA JOURNAL_MODE",), full=True))
    path = tmp_path / "outbox.sqlite"
    assert start_error(path) == f"alert outbox {path}: {DISK_FULL}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("message, meaning", [
    ("attempt to write a readonly database", "it cannot be written (read-only file system or no write permission)"),
    ("database is locked", "it is locked (is another arbscan using it?)"),
    ("disk I/O error", "disk I/O error; check the disk holding it"),
])
def test_each_sqlite_error_gives_its_own_cause(tmp_path, monkeypatch, message, meaning):
    def connect(*a, **kw):
        raise sqlite3.OperationalError(message)
    monkeypatch.setattr(outbox_module.sqlite3, "connect", connect)
    text = start_error(tmp_path / "o.sqlite")
    assert text.startswith(f"alert outbox {tmp_path / 'o.sqlite'}: {meaning}")
    assert ("another arbscan" in text) == (message == "database is locked")


def test_a_file_that_is_not_an_outbox_is_named_and_kept(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    assert start_error(path) == (f"alert outbox {path}: it is not an arbscan outbox (not an SQLite database, or"
                                 " damaged); move it aside or set alerts.outbox_path")
    assert path.read_text() == "not a database\n" * 100


def test_arbscan_run_prints_one_line_for_a_missing_directory(tmp_path, capsys):
    outbox = tmp_path / "missing" / "outbox.sqlite"
    config = tmp_path / "arbscan.toml"
    config.write_text(f'[alerts]\noutbox_path = "{outbox}"\n[alerts.webhooks.desk]\nurl = "http://127.0.0.1:9/"\n')
    assert main(["run", "--config", str(config), "--no-view", "--duration", "1"]) == 2
    assert capsys.readouterr().err.splitlines() == [  # the startup checks find it first
        f"arbscan: alerts.outbox_path: directory {outbox.parent} of {outbox} does not exist;"
        " create it or choose another path"]


# --- the write-ahead log stays small -----------------------------------------------------------

def test_the_write_ahead_log_stays_bounded(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    wal = tmp_path / "o.sqlite-wal"
    largest = 0
    for i in range(1500):  # ~4,500 commits: unbounded, the log grew past 4 MiB
        outbox.add([Entry("desk", f"e{i}", "opportunity.opened", b"x" * 600)], float(i))
        outbox.failed(outbox.head("desk"), "HTTP 503")
        outbox.delivered(outbox.head("desk"))
        largest = max(largest, wal.stat().st_size)
    assert 0 < largest <= WAL_MAX
    outbox.maintain()
    assert wal.stat().st_size == 0
    outbox.close()


# --- a real 1 MiB file system -------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs (CI runs as root); skipped where mounting is not permitted."""
    vol = tmp_path / "vol"
    vol.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a 1 MiB file system")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(vol)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here: {done.stderr.strip() or done.returncode}")
    yield vol
    subprocess.run(["umount", "-l", str(vol)], check=True)


def fill(directory: Path) -> Path:
    """Fill the file system holding ``directory`` to the last byte."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


async def test_an_outbox_on_a_1_MiB_file_system(small_fs, sink, caplog):
    hooks = {"desk": json_hook(sink, events=OPENS_ONLY)}
    alerter = make_alerter(small_fs, hooks)
    await alerter.start()
    wal = small_fs / "outbox.sqlite-wal"
    largest = 0
    for batch in range(30):  # 600 alerts, ~1,800 commits: the unbounded log filled 1 MiB after ~120
        for event in events(20, prefix=f"b{batch}"):
            alerter.publish(event)
        await sink.wait_until(lambda: len(sink.delivered()) == 20 * (batch + 1), timeout=10)
        largest = max(largest, wal.stat().st_size)
    assert largest <= WAL_MAX
    assert sample(metric_text(alerter), LOST.format("disk_full")) == 0

    alerter.outbox.maintain()  # as the upkeep does: an empty log has no room left to reuse
    filler = fill(small_fs)
    alerter.publish(make_event(id="lost"))
    assert sample(metric_text(alerter), LOST.format("disk_full")) == 1
    assert f"alert lost (opportunity.opened) for desk is lost: alert outbox {alerter.outbox.path} cannot store it:" \
           f" {DISK_FULL}" in errors(caplog)
    with pytest.raises(OutboxError) as caught:  # a second outbox on the full disk
        Outbox(small_fs / "other.sqlite")
    assert str(caught.value) == f"alert outbox {small_fs / 'other.sqlite'}: {DISK_FULL}"
    assert not (small_fs / "other.sqlite").exists()

    filler.unlink()
    alerter.publish(make_event(id="after"))
    await sink.wait_until(lambda: "after" in sink.delivered_ids(), timeout=5)
    await alerter.stop()
    assert "lost" not in {r.webhook_id for r in sink.received}
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    assert start_error(small_fs / "new.sqlite") == (
        f"alert outbox {small_fs / 'new.sqlite'}: the file system holding {small_fs} is read-only; set"
        " alerts.outbox_path to a writable place")


# --- opportunities left open by a previous run --------------------------------------------------

async def restart(tmp_path, sink, hooks, seconds: float = 0.3) -> Alerter:
    alerter = make_alerter(tmp_path, hooks)
    await alerter.start()
    await asyncio.sleep(seconds)
    await alerter.stop()
    return alerter


async def test_what_a_previous_run_left_open_is_closed_once_on_restart(tmp_path, sink):
    hooks = {"desk": json_hook(sink), "opens": json_hook(sink, events=OPENS_ONLY)}
    alerter = make_alerter(tmp_path, hooks)
    await alerter.start()
    alerter.publish(make_event(id="a"))
    alerter.publish(make_event(id="b", symbol="ETH/USDT"))
    alerter.publish(make_event(EventType.CLOSED, id="a.closed"))  # a closes, b is still open
    await sink.wait_until(lambda: len(sink.delivered()) == 5, timeout=5)
    await alerter.stop()
    again = await restart(tmp_path, sink, hooks)
    assert [r.webhook_id for r in sink.received[5:]] == ["b.closed"]  # to desk only
    closed = sink.received[5].json()
    assert closed["close_reason"] == "arbscan restarted" and closed["symbol"] == "ETH/USDT"
    assert sample(metric_text(again), 'arbscan_alert_events_total{target="desk",type="opportunity.closed"}') == 1
    await restart(tmp_path, sink, hooks)
    assert len(sink.received) == 6  # closed once


async def test_a_close_that_could_not_be_stored_is_sent_on_restart(tmp_path, sink):
    hooks = {"desk": json_hook(sink)}
    alerter = make_alerter(tmp_path, hooks)
    await alerter.start()
    alerter.publish(make_event(id="a"))
    await sink.wait_until(lambda: len(sink.delivered()) == 1, timeout=5)
    fill_disk(alerter).full = True
    alerter.publish(make_event(EventType.CLOSED, id="a.closed"))
    await alerter.stop()
    assert sample(metric_text(alerter), LOST.format("disk_full")) == 1
    await restart(tmp_path, sink, hooks)
    assert [(r.webhook_id, r.json().get("close_reason")) for r in sink.received] == [
        ("a", None), ("a.closed", "arbscan restarted")]


async def test_open_opportunities_remembered_are_bounded(tmp_path, sink, monkeypatch):
    monkeypatch.setattr(outbox_module, "MAX_OPEN", 3)
    alerter = make_alerter(tmp_path, {"desk": json_hook(sink)})
    for event in events(5):
        alerter.publish(event)
    assert [o.event_id for o in alerter.outbox.left_open()] == ["opp-2", "opp-3", "opp-4"]
    await alerter.stop()

