"""kill -9 while alerts are undelivered: after a restart, the sink gets every event, signed, then
the close of every opportunity the killed process had opened (close reason "arbscan restarted")."""
from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from webhook_sink import Reply, WebhookSink

HARNESS = Path(__file__).with_name("alerts_harness.py")
KEY = "whsec_" + base64.b64encode(b"kill -9 test key, thirty-two b.").decode()
N = 25


async def run_harness(outbox: Path, url: str, count: int) -> asyncio.subprocess.Process:
    """Start the harness and wait until its ``count`` events are in the outbox."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HARNESS), str(outbox), url, str(count),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "HARNESS_SECRET": KEY})
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
    assert line.decode().strip() == f"published {count}"
    return proc


async def kill9(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


def pending_ids(outbox: Path) -> set[str]:
    db = sqlite3.connect(outbox)
    try:
        return {row[0] for row in db.execute("SELECT event_id FROM outbox WHERE dead_at IS NULL")}
    finally:
        db.close()


@pytest.mark.parametrize("outage", ["503", "down"])
async def test_kill_9_loses_nothing(tmp_path, outage):
    sink = WebhookSink(secret=KEY, default=Reply(503))
    await sink.start()
    outbox = tmp_path / "outbox.sqlite"
    proc = await run_harness(outbox, sink.url("/hook"), N)
    try:
        await sink.wait_until(lambda: len(sink.received) >= 2, timeout=10)  # the worker is retrying
        if outage == "down":
            await sink.stop()
            await asyncio.sleep(0.3)  # retrying against a closed port
    finally:
        await kill9(proc)
    assert sink.delivered_ids() == set()
    assert pending_ids(outbox) == {f"harness-{i}" for i in range(N)}  # readable after the kill

    sink.default = Reply(200)
    if outage == "down":
        await sink.start()  # same port
    proc = await run_harness(outbox, sink.url("/hook"), 0)
    try:
        await sink.wait_until(lambda: len(sink.delivered_ids()) == 2 * N, timeout=20)
    finally:
        await kill9(proc)
        await sink.stop()
    opened = [f"harness-{i}" for i in range(N)]
    assert all(r.verified for r in sink.received)
    assert [r.webhook_id for r in sink.delivered()] == opened + [f"{id}.closed" for id in opened]  # oldest first
    closes = [r.json() for r in sink.delivered()[N:]]
    assert {(c["type"], c["close_reason"]) for c in closes} == {("opportunity.closed", "arbscan restarted")}
    assert [c["symbol"] for c in closes] == [f"C{i}/USDT" for i in range(N)]
