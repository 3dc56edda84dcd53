"""Real Prometheus and Alertmanager servers on 127.0.0.1 for tests (the webhook receiver they
post to is ``webhook_sink.BackgroundSink``).

Servers run as plain processes with a temp data dir and an ephemeral port, and are queried
over their HTTP APIs. Debian installs the Alertmanager binary as ``prometheus-alertmanager``;
``ALERTMANAGER_BIN`` overrides the lookup.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

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
