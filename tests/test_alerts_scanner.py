"""The whole scanner (`arbscan demo`) delivering signed webhooks: the receiver is down, the
scanner is killed with SIGKILL while events are queued, restarted, and nothing is missing."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.demo_process import kill_9_once, start_demo
from scanner_harness import free_port
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


async def test_kill_9_with_queued_events_then_restart_delivers_every_event(tmp_path):
    sink = WebhookSink(secret=SECRET)
    sink.default = Reply(503)  # the receiver is down
    await sink.start()
    port = free_port()
    outbox = tmp_path / "outbox.sqlite"
    config = tmp_path / "arbscan.toml"
    write_config(config, sink, port, outbox)
    env = {"ARBSCAN_TEST_SINK_SECRET": SECRET}
    await kill_9_once(start_demo(config, env=env), port, 'arbscan_alert_outbox_depth{target="sink"}',
                      at_least=3, timeout=40)
    db = sqlite3.connect(outbox)
    pending = {row[0] for row in db.execute("SELECT event_id FROM outbox WHERE target = 'sink'")}
    db.close()
    assert len(pending) >= 3
    assert not sink.delivered_ids() & pending
    sink.default = Reply(200)  # the receiver is back
    second = start_demo(config, env=env)
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
