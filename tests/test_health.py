"""/healthz, /readyz, the loop-lag probe, a first scrape of `arbscan demo`, and the webhook
receiver the demo delivers its alerts to."""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from scanner.exchanges import NAMES
from scanner.alerts.formats import sign, signing_key
from scanner.app import Scanner
from scanner.config import Config
from scanner.metadata import load_metadata
from scanner.publish.metrics import FEED_ERROR_KINDS, RESYNC_REASONS, probe_loop_lag
from scanner.receiver import LocalReceiver
from scanner.sim import SimulatedExchanges
from tests.demo_process import start_demo
from tests.prom_stack import BINARIES
from scanner_harness import free_port

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["BTC/USDT", "ETH/USDT"]


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def wait_for(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            result = await probe()
            if result:
                return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def healthcheck_argv(port: int) -> list[str]:
    """deploy/Dockerfile's HEALTHCHECK command, run with this Python on ``port``."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    [command] = re.findall(r"^HEALTHCHECK .* CMD (\[.*\])$", text, re.M)
    argv = json.loads(command)
    assert argv[0] == "python"
    return [sys.executable, *argv[1:-1], argv[-1].replace(":9108/", f":{port}/")]


async def run_healthcheck(port: int) -> int:
    process = await asyncio.create_subprocess_exec(*healthcheck_argv(port), stderr=subprocess.DEVNULL)
    return await process.wait()


async def test_healthz_and_readyz_follow_the_books():
    """Before any exchange is reachable /readyz answers 503 naming each exchange, once every
    exchange's books are live 200, and 503 again when the exchanges go away; /healthz and the
    image's health check pass throughout."""
    ports = {name: free_port() for name in NAMES}
    sim = SimulatedExchanges(symbols=SYMBOLS, seed=3, dislocation_every=None, ports=ports)
    config = Config()
    config.scanner.symbols = list(SYMBOLS)
    config.metrics.port = port = free_port()
    for name, venue in sim.venues.items():
        config.exchanges[name].ws_url = f"ws://127.0.0.1:{ports[name]}{venue.ws_path}"
        config.exchanges[name].rest_url = f"http://127.0.0.1:{ports[name]}"
    scanner = Scanner(config, load_metadata(None))
    task = asyncio.create_task(scanner.run())
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = await wait_for(lambda: get(f"{base}/readyz"), 10, "the metrics server")
        assert status == 503
        assert body.splitlines() == ["not ready"] + [f"{name}: 0 of 2 books live" for name in NAMES]
        assert await get(f"{base}/healthz") == (200, "ok\n")
        assert await run_healthcheck(port) == 0
        await sim.start()
        status, body = await wait_for(lambda: _ready(base), 30, "/readyz to answer 200")
        assert body.splitlines()[0] == "ready"  # every exchange has a live book
        status, body = await wait_for(lambda: _ready(base, all_live=True), 30, "every book live")
        assert body.splitlines() == ["ready"] + [f"{name}: 2 of 2 books live" for name in NAMES]
        await sim.stop()
        await wait_for(lambda: _status(f"{base}/readyz", 503), 10, "/readyz to answer 503 again")
        assert await get(f"{base}/healthz") == (200, "ok\n")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sim.stop()
    assert await run_healthcheck(port) != 0  # nothing listens any more


async def _ready(base: str, all_live: bool = False) -> tuple[int, str] | None:
    status, body = await get(f"{base}/readyz")
    ready = status == 200 and (not all_live or body.count(" 2 of 2 ") == len(NAMES))
    return (status, body) if ready else None


async def _status(url: str, expected: int) -> bool:
    return (await get(url))[0] == expected


async def test_loop_lag_probe_sees_a_blocked_loop():
    lags: list[float] = []
    probe = asyncio.create_task(probe_loop_lag(lags.append, interval=0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # the loop is blocked while the probe should wake
    await asyncio.sleep(0.05)
    probe.cancel()
    assert max(lags) >= 0.15 and min(lags) < 0.05


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, value = line.rsplit(" ", 1)
            found[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', series)))] = float(value)
    return found


async def test_first_scrape_of_the_demo(tmp_path):
    """The first answer of /metrics: every feed error kind and resync reason of every exchange
    at 0, the loop-lag histogram, no *_created family, and promtool accepts it."""
    port = free_port()
    config = tmp_path / "arbscan.toml"
    config.write_text(f'[scanner]\nsymbols = ["BTC/USDT", "ETH/USDT"]\n\n[metrics]\nport = {port}\n')
    process = start_demo(config, "--duration", "30")
    try:
        _, text = await wait_for(lambda: get(f"http://127.0.0.1:{port}/metrics"), 20, "the demo's /metrics")
    finally:
        process.terminate()
        process.wait(10)
    exchanges = NAMES
    assert samples(text, "arbscan_feed_errors_total") == {
        (("exchange", e), ("kind", k)): 0.0 for e in exchanges for k in FEED_ERROR_KINDS}
    assert set(FEED_ERROR_KINDS) == {"malformed", "disconnect", "silent", "resync", "error"}
    assert samples(text, "arbscan_book_resyncs_total") == {
        (("exchange", e), ("reason", r)): 0.0 for e in exchanges for r in RESYNC_REASONS}
    assert set(RESYNC_REASONS) == {"gap", "crossed", "malformed", "checksum"}
    assert "# TYPE arbscan_event_loop_lag_seconds histogram" in text
    assert samples(text, "arbscan_event_loop_lag_seconds_count")
    assert "_created" not in text
    if BINARIES["promtool"]:
        result = subprocess.run([BINARIES["promtool"], "check", "metrics"], input=text, capture_output=True, text=True)
        assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


async def test_receiver_counts_signed_events_and_rejects_bad_signatures():
    secret = "whsec_c2VjcmV0LWZvci10aGUtcmVjZWl2ZXI="
    receiver = LocalReceiver(secret=secret)
    await receiver.start()
    body = json.dumps({"id": "e1", "type": "opportunity.opened", "symbol": "BTC/USDT"}).encode()
    now = int(time.time())
    good = {"webhook-id": "e1", "webhook-timestamp": str(now), "webhook-signature": sign(signing_key(secret), "e1", now, body)}
    bad = {**good, "webhook-signature": sign(b"another key", "e1", now, body)}
    old = {**good, "webhook-timestamp": str(now - 600),
           "webhook-signature": sign(signing_key(secret), "e1", now - 600, body)}
    try:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for headers in (good, bad, old, {}):
                async with http.post(receiver.url(), data=body, headers=headers) as response:
                    statuses.append(response.status)
        assert statuses == [204, 401, 401, 401]
        assert receiver.received == {"opportunity.opened": 1} and receiver.rejected == 3
    finally:
        await receiver.stop()


async def test_receiver_logs_alertmanager_notifications(caplog):
    receiver = LocalReceiver()
    await receiver.start()
    body = {"version": "4", "receiver": "ops-webhook", "status": "firing",
            "alerts": [{"status": "firing", "labels": {"alertname": "ArbscanDown"}}]}
    try:
        with caplog.at_level("INFO", logger="scanner.receiver"):
            async with aiohttp.ClientSession() as http, http.post(receiver.url("/alertmanager"), json=body) as response:
                assert response.status == 204
        assert receiver.received == {"alertmanager": 1}
        assert "webhook receiver: alertmanager ArbscanDown firing" in caplog.text
    finally:
        await receiver.stop()
