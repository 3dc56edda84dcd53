"""A small webhook receiver that counts and logs what it is sent.

``arbscan demo`` runs one on 127.0.0.1 as its alert target ``demo-local-receiver``, so the
alert pipeline (outbox, signing, delivery, the Alerts dashboard) has somewhere to deliver
without any setup. The compose stack runs one as the service ``alert-receiver`` for
Alertmanager's notifications (``python -m scanner.receiver --host 0.0.0.0 --port 5001``);
replace it with your own endpoint. Requests signed as Standard Webhooks are verified when the
receiver knows the key; a bad signature is answered 401.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import hmac
import signal
import sys
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from .alerts.formats import sign, signing_key

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300  # a signed request older or newer than this is refused


class LocalReceiver:
    """An aiohttp server that accepts POSTed JSON on any path and counts it by type."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str | None = None,
                 log_level: int = logging.INFO, label: str = "webhook receiver"):
        self.label = label  # how the logs name it
        self.host, self.port = host, port  # port 0: an ephemeral port, known after start
        self.key = signing_key(secret) if secret else None
        self.log_level = log_level
        self.received: Counter[str] = Counter()  # event type (Alertmanager: "alertmanager") -> count
        self.rejected = 0  # bad or missing signature
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/alerts") -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("%s on %s", self.label, self.url(""))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("%s got %d requests (%s), rejected %d", self.label, sum(self.received.values()),
                     ", ".join(f"{kind} {n}" for kind, n in sorted(self.received.items())) or "none",
                     self.rejected)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.key is not None and not self._signed(request, body):
            self.rejected += 1
            log.warning("%s: rejected a request to %s with a bad signature", self.label, request.path)
            return web.Response(status=401, text="bad signature\n")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.Response(status=400, text="not JSON\n")
        kind = _kind(event)
        self.received[kind] += 1
        log.log(self.log_level, "%s: %s %s", self.label, kind, _summary(event))
        return web.Response(status=204)

    def _signed(self, request: web.Request, body: bytes) -> bool:
        """Standard Webhooks: a v1 signature of ``{id}.{timestamp}.{body}`` made within 5 minutes."""
        headers = request.headers
        try:
            timestamp = int(headers["webhook-timestamp"])
            expected = sign(self.key, headers["webhook-id"], timestamp, body)
        except (KeyError, ValueError):
            return False
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            return False
        return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


def _kind(event: Any) -> str:
    if isinstance(event, dict):
        if "alerts" in event and "receiver" in event:
            return "alertmanager"
        return str(event.get("type", "unknown"))
    return "unknown"


def _summary(event: Any) -> str:
    """One line about an event: arbscan's pair and net, or Alertmanager's alert names."""
    if not isinstance(event, dict):
        return ""
    if "alerts" in event:
        return ", ".join(f"{a.get('labels', {}).get('alertname', '?')} {a.get('status', '?')}"
                         for a in event["alerts"] if isinstance(a, dict))
    if "buy_exchange" in event:
        return (f"{event.get('symbol')} buy {event.get('buy_exchange')} sell {event.get('sell_exchange')}"
                f" net {event.get('net_profit')}")
    return str(event.get("detail", event.get("exchange", "")))


async def serve(host: str, port: int) -> None:
    """Run a receiver until SIGTERM (or cancelled)."""
    receiver = LocalReceiver(host, port)
    await receiver.start()
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    try:
        await stopping.wait()
    finally:
        await receiver.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.receiver",
                                     description="a webhook receiver that logs what it is sent")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port (default 5001)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"receiver: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
