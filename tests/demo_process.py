"""`arbscan demo` as a child process, for the tests that SIGKILL it and start it again."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp


def start_demo(config: Path, *args: str, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.Popen:
    """``arbscan -q demo --config CONFIG --no-view ARGS``; stderr is kept for failure messages."""
    return subprocess.Popen([sys.executable, "-m", "scanner", "-q", "demo", "--config", str(config), "--no-view",
                             *args], cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


async def metric_sum(port: int, line_start: str) -> float | None:
    """The sum of the /metrics samples whose line starts with ``line_start``; None while the
    endpoint does not answer."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    except aiohttp.ClientError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


async def kill_9_once(process: subprocess.Popen, port: int, line_start: str, at_least: float,
                      timeout: float) -> None:
    """SIGKILL ``process`` as soon as the metric reaches ``at_least`` (fail if it exits or
    ``timeout`` passes first)."""
    try:
        deadline = time.monotonic() + timeout
        while (await metric_sum(port, line_start) or 0.0) < at_least:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, f"{line_start} never reached {at_least}"
            await asyncio.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
