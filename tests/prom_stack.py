"""Real Prometheus, Alertmanager and a webhook sink on 127.0.0.1 for tests.

Servers run as plain processes with a temp data dir and an ephemeral port, and are queried
over their HTTP APIs. Debian installs the Alertmanager binary as ``prometheus-alertmanager``;
``ALERTMANAGER_BIN`` overrides the lookup.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml
from aiohttp import web

T = TypeVar("T")

BINARIES = {
    "prometheus": shutil.which("prometheus"),
    "promtool": shutil.which("promtool"),
    "alertmanager": os.environ.get("ALERTMANAGER_BIN")
    or shutil.which("alertmanager") or shutil.which("prometheus-alertmanager"),
    "amtool": shutil.which("amtool"),
}


def missing_binaries() -> list[str]:
    return [name for name, path in BINARIES.items() if not path]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(probe: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except OSError:  # not listening yet, connection reset, HTTP error
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


class Server:
    """A Prometheus-style server process on loopback with its own directory; a context manager."""

    def __init__(self, name: str, argv: list[str], port: int, workdir: Path):
        self.name, self.argv, self.port, self.workdir = name, argv, port, workdir
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, 15, f"{self.name} /-/ready")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
        return http_get(f"{self.url}/-/ready", timeout=1) is not None

    def __exit__(self, *exc_info: Any) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def api(self, path: str, **params: Any) -> Any:
        """GET ``/api/v1/<path>`` and return ``data``; raise on an error status."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            body = json.loads(http_get(f"{self.url}/api/v1/{path}?{query}"))
        except urllib.error.HTTPError as exc:  # 400/422 carry the PromQL error in the body
            body = json.loads(exc.read())
        if body.get("status") != "success":
            raise ValueError(f"{self.name} {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]


class Prometheus(Server):
    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict]:
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def rules(self) -> list[dict]:
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def targets_up(self) -> bool:
        active = self.api("targets", state="active")["activeTargets"]
        return bool(active) and all(target["health"] == "up" for target in active)


def start_prometheus(config: dict, workdir: Path) -> Prometheus:
    """Prometheus for ``config`` (a prometheus.yml as a dict); use as a context manager."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    return Prometheus("prometheus", [
        BINARIES["prometheus"], f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/",
        "--storage.tsdb.retention.time=1d", "--log.level=warn",
    ], port, workdir)


def start_alertmanager(config: dict, workdir: Path) -> Server:
    """Alertmanager for ``config``, clustering off; use as a context manager."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config))
    return Server("alertmanager", [
        BINARIES["alertmanager"], f"--config.file={config_path}", f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/",
        "--cluster.listen-address=", "--log.level=warn",
    ], port, workdir)


class WebhookSink:
    """An aiohttp server on 127.0.0.1 (own thread and loop) recording every POST as
    ``(path, headers, body)``; answers 200. A context manager."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-sink", daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> "WebhookSink":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _record(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.headers), await request.read()))
        return web.Response(text="ok")

    def bodies(self, path: str) -> list[Any]:
        """JSON bodies received on ``path``."""
        return [json.loads(body) for got, _, body in list(self.requests) if got == path]
