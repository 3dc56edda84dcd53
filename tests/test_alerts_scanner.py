"""The whole scanner (`arbscan demo`) delivering signed webhooks: the receiver is down, the
scanner is killed with SIGKILL while events are queued, restarted, and nothing is missing."""
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
from tests.webhook_sink import Reply, WebhookSink

SECRET = "whsec_c2VjcmV0LWZvci10aGUtdGVzdC1zaW5r"


def write_config(path: Path, sink: WebhookSink, port: int, outbox: Path) -> None:
    path.write_text(f"""
[scanner]
symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

[metrics]
port = {port}

[alerts]
outbox_path = "{outbox}"

[alerts.webhooks.sink]
url = "{sink.url('/hook')}"
secret_env = "ARBSCAN_TEST_SINK_SECRET"
cooldown_seconds = 0
""")


def start_demo(config: Path) -> subprocess.Popen:
    env = {**os.environ, "ARBSCAN_TEST_SINK_SECRET": SECRET}
    return subprocess.Popen([sys.executable, "-m", "scanner", "-q", "demo", "--config", str(config), "--no-view"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def queued(port: int) -> float:
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
    except aiohttp.ClientError:
        return 0.0
    for line in text.splitlines():
        if line.startswith('arbscan_alert_outbox_depth{target="sink"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_kill_9_with_queued_events_then_restart_delivers_every_event(tmp_path):
    sink = WebhookSink(secret=SECRET)
    sink.default = Reply(503)  # the receiver is down
    await sink.start()
    port = free_port()
    outbox = tmp_path / "outbox.sqlite"
    config = tmp_path / "arbscan.toml"
    write_config(config, sink, port, outbox)
    first = start_demo(config)
    try:
        deadline = time.monotonic() + 40
        while await queued(port) < 3:
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "no events queued"
            await asyncio.sleep(0.2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    db = sqlite3.connect(outbox)
    pending = {row[0] for row in db.execute("SELECT event_id FROM outbox WHERE target = 'sink'")}
    db.close()
    assert len(pending) >= 3
    assert not sink.delivered_ids() & pending
    sink.default = Reply(200)  # the receiver is back
    second = start_demo(config)
    try:
        await sink.wait_until(lambda: pending <= sink.delivered_ids() or second.poll() is not None, timeout=30)
        assert second.poll() is None, second.stderr.read().decode()
    finally:
        second.terminate()
        second.wait(timeout=10)
        await sink.stop()
    received = [r for r in sink.received if r.webhook_id in pending]
    assert received and all(r.verified for r in received)
    bodies = {r.webhook_id: r.json() for r in received if r.ok}
    assert {b["type"] for b in bodies.values()} <= {"opportunity.opened", "opportunity.closed"}
    assert all(b["id"] == webhook_id for webhook_id, b in bodies.items())
