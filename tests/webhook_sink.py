"""A real webhook receiver on loopback for tests (alerter tests and whole-scanner tests).

It records every request (path, headers, body, the status it answered), checks Standard
Webhooks signatures with an independent reference verifier, answers as scripted (any status,
``Retry-After``, a hang longer than the client's timeout) and can be stopped and started again
on the same port, so a sender sees a target that goes down and comes back:

    sink = WebhookSink(secret="whsec_...")
    await sink.start()                     # http://127.0.0.1:<port>; sink.url("/hook")
    sink.default = Reply(503)              # answer everything 503 from now on
    sink.script(Reply(429, {"Retry-After": "1"}))  # the next request only
    await sink.stop(); await sink.start()  # same port
    await sink.wait_until(lambda: len(sink.delivered_ids()) == 10, timeout=10)

    with BackgroundSink() as sink:         # the same, on its own thread, for synchronous tests
        ...
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

TOLERANCE_SECONDS = 300  # Standard Webhooks: reject timestamps more than 5 minutes off


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           tolerance: float = TOLERANCE_SECONDS) -> bool:
    """Standard Webhooks v1 verification: HMAC-SHA256 over ``{id}.{timestamp}.{body}``,
    constant-time compare against each ``v1,`` signature, timestamp within ``tolerance``."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode()):
            return True
    return False


@dataclass(frozen=True)
class Reply:
    """How the sink answers one request; ``delay`` > the sender's timeout simulates a hang."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as the sink saw it."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.time() on arrival
    status: int  # what the sink answered; 0 if the sender hung up first (timed out)
    verified: bool | None  # signature check; None when the sink has no secret

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookSink:
    """An aiohttp server on 127.0.0.1 that records and verifies webhook requests."""

    def __init__(self, secret: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 default: Reply = Reply()):
        self.secret = secret
        self.host = host
        self.port = port  # 0: an ephemeral port, chosen at the first start and kept
        self.default = default
        self.received: list[Received] = []
        self._script: deque[Reply] = deque()
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` (in order), then with ``default`` again."""
        self._script.extend(replies)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the listener and every connection: senders get connection errors."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.read()
        reply = self._script.popleft() if self._script else self.default
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = verify(self.secret, headers, body) if self.secret is not None else None
        if reply.delay:
            await asyncio.sleep(reply.delay)
        gone = request.transport is None or request.transport.is_closing()  # the sender gave up
        self.received.append(Received(request.path, headers, body, arrived, 0 if gone else reply.status, verified))
        return web.Response(status=reply.status, headers=reply.headers, body=reply.body)

    def delivered(self) -> list[Received]:
        """Requests answered 2xx."""
        return [r for r in self.received if r.ok]

    def bodies(self, path: str) -> list[Any]:
        """JSON bodies received on ``path``."""
        return [r.json() for r in list(self.received) if r.path == path]

    def delivered_ids(self) -> set[str]:
        return {r.webhook_id for r in self.delivered() if r.webhook_id is not None}

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` holds; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"sink: condition not met within {timeout} s"
                                     f" ({len(self.received)} requests, {len(self.delivered())} delivered)")
            await asyncio.sleep(0.02)


class BackgroundSink:
    """A ``WebhookSink`` served from its own thread and event loop, for tests that are not
    async (the real Alertmanager posts to it). A context manager that returns the sink."""

    def __init__(self, **kwargs: Any):
        self.sink = WebhookSink(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-sink", daemon=True)

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sink.start(), self._loop).result(10)
        return self.sink

    def __exit__(self, *exc_info: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.sink.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
