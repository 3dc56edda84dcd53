"""``SimulatedExchanges``: each exchange protocol served on its own loopback port (WebSocket
and REST on the same port), all driven by one market model from one asyncio ticker, with
fault injection; ``step`` drives the same code by hand, without the network."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Awaitable, Mapping, Sequence
from urllib.parse import parse_qsl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..exchanges import EXCHANGES, NAMES
from ..instruments import MarketType, parse_symbol
from .futures import FuturesVenue
from .market import MarketModel
from .protocol import Connection, ExchangeStats, Subscriber, Venue

log = logging.getLogger(__name__)

FAULTS = ("disconnect", "stall", "gap", "malformed", "error_event", "shutdown", "crossed", "bad_rest",
          "bad_checksum")
TICK_SECONDS = 0.01  # model step and push cadence; top-of-book frames coalesce per tick
MAX_STEP_SECONDS = 1.0  # after a long event-loop block the model jumps at most this far
STALL_SECONDS = 10.0
CROSSED_SECONDS = 3.0
SHUTDOWN_GRACE_SECONDS = 0.5  # between a shutdown notice and the close
HAND_EPOCH_MS = 1_767_225_600_000  # frame timestamps when stepping by hand start here


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to point an adapter: its WebSocket URL and its REST base URL."""

    ws_url: str
    rest_url: str


class SimulatedExchanges:
    """Every registered exchange's public feed simulated on loopback; see the package docstring."""

    def __init__(self, symbols: Sequence[str],
                 exchanges: Sequence[str] = NAMES, seed: int = 7,
                 host: str = "127.0.0.1", ports: Mapping[str, int] | None = None,
                 updates_per_second: float = 10.0,
                 dislocation_every: tuple[float, float] | None = (20.0, 40.0)):
        unknown = [name for name in exchanges if name not in EXCHANGES]
        if unknown:
            raise ValueError(f"unsupported exchanges {unknown}; choose from {list(NAMES)}")
        stray = [name for name in ports or {} if name not in exchanges]
        if stray:
            raise ValueError(f"ports given for exchanges not simulated: {stray}")
        if not symbols:
            raise ValueError("at least one symbol is needed")
        self.symbols = list(dict.fromkeys(symbols))
        self.host = host
        self._ports = dict(ports or {})
        self.model = MarketModel(self.symbols, list(exchanges), seed, updates_per_second,
                                 dislocation_every)
        spot = [symbol for symbol in self.symbols if parse_symbol(symbol).type is MarketType.SPOT]
        futures = [symbol for symbol in self.symbols if symbol not in spot]
        self.venues: dict[str, Venue] = {
            name: EXCHANGES[name].sim(self.model, spot, random.Random(f"{seed}:{name}"))
            for name in exchanges}
        self.futures: dict[str, Venue] = {  # the futures exchanges, when futures are simulated
            name: EXCHANGES[name].futures_sim(self.model, futures, random.Random(f"{seed}:{name}:futures"))
            for name in exchanges if futures and EXCHANGES[name].has_futures}
        self._futures_endpoints: dict[str, Endpoint] = {}
        self._stats = {name: ExchangeStats() for name in exchanges}
        self._servers: dict[str, Server] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._taps: dict[str, Subscriber] | None = None
        self._clock = 0.0
        self._paused = False

    async def __aenter__(self) -> SimulatedExchanges:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on every exchange's port and start the market ticker."""
        if self._servers:
            raise RuntimeError("already started")
        if self._taps is not None:
            raise RuntimeError("this simulator was stepped by hand; create a new one to serve")
        try:
            for name, venue in self.venues.items():
                self._endpoints[name] = await self._listen(name, venue)
            for name, venue in self.futures.items():
                self._futures_endpoints[name] = await self._listen(name, venue)
        except BaseException:
            await self.stop()
            raise
        self._ticker = asyncio.create_task(self._run())
        self._ticker.add_done_callback(_report_crash)

    async def _listen(self, name: str, venue: Venue) -> Endpoint:
        """Serve ``venue`` (WebSocket and REST) on its port (a futures exchange: any free port)."""
        server = await serve(
            lambda ws: self._serve(venue, ws), self.host,
            self._ports.get(name, 0) if venue is self.venues.get(name) else 0,
            process_request=lambda conn, request: self._http(venue, conn, request),
            ping_interval=venue.ping_interval, ping_timeout=venue.ping_timeout,
            close_timeout=1.0, compression=None, logger=logging.getLogger(f"{__name__}.{name}"))
        self._servers[f"{name}:{id(venue)}"] = server
        port = server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        venue.ws_url = f"ws://{host}:{port}{venue.ws_path}"
        return Endpoint(venue.ws_url, f"http://{host}:{port}")

    async def stop(self) -> None:
        """Stop the ticker and close every server and connection."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        for server in self._servers.values():
            server.close()
        await asyncio.gather(*(server.wait_closed() for server in self._servers.values()))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._servers.clear()
        self._endpoints.clear()
        self._futures_endpoints.clear()

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        if not self._endpoints:
            raise RuntimeError("the simulator is not started")
        return dict(self._endpoints)

    @property
    def futures_endpoints(self) -> dict[str, Endpoint]:
        """Where each simulated futures exchange listens (exchanges with futures, when futures
        symbols are simulated). Binance's: point ``futures_ws_url`` at the host, without path."""
        if not self._endpoints:
            raise RuntimeError("the simulator is not started")
        return dict(self._futures_endpoints)

    @property
    def stats(self) -> dict[str, ExchangeStats]:
        """A copy of each exchange's counters."""
        return {name: replace(stats, connections_open=sum(len(v.conns) for v in self._all(name)),
                              faults_injected=stats.faults_injected.copy(),
                              rest_requests=list(stats.rest_requests))
                for name, stats in self._stats.items()}

    def book(self, exchange: str, symbol: str) -> tuple[list[tuple[str, str]],
                                                         list[tuple[str, str]]]:
        """The current true book: (bids, asks), all levels, (price, size) strings as the
        exchange prints them, best first."""
        return self._venue(exchange, symbol).wire_book(self._symbol(symbol))

    def dislocate(self, exchange: str, symbol: str, bps: float, seconds: float = 3.0) -> None:
        """Shift that venue's whole book by ``bps`` (negative = down) for ``seconds``."""
        self._venue(exchange, symbol)
        self.model.dislocate(exchange, self._symbol(symbol), bps, seconds)

    def rally(self, asset: str, pct: float, seconds: float = 10.0) -> None:
        """Move ``asset`` up ``pct`` percent over ``seconds`` on every book of it, spot and futures."""
        self.model.move(asset, abs(pct), seconds)

    def crash(self, asset: str, pct: float, seconds: float = 10.0) -> None:
        """Move ``asset`` down ``pct`` percent over ``seconds`` on every book of it."""
        self.model.move(asset, -abs(pct), seconds)

    def set_funding(self, exchange: str, symbol: str, rate: float) -> None:
        """Pin the funding rate (per interval, ratio) of perpetual ``symbol`` on ``exchange``."""
        venue = self._venue(exchange, symbol)
        if not isinstance(venue, FuturesVenue):
            raise ValueError(f"{symbol!r} is not a perpetual")
        venue.set_funding(self._symbol(symbol), rate)

    def depeg(self, coin: str, bps: float, seconds: float = 60.0) -> None:
        """Move stablecoin ``coin`` ``bps`` off its peg on every exchange for ``seconds``."""
        self.model.depeg(coin, bps, seconds)

    def inject(self, exchange: str, fault: str, symbol: str | None = None,
               seconds: float | None = None) -> None:
        """Inject one of ``FAULTS`` on ``exchange`` (``symbol`` None = every symbol)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {list(FAULTS)}")
        venues = self._all(exchange) if symbol is None else [self._venue(exchange, symbol)]
        for venue in venues:
            symbols = list(venue.books) if symbol is None else [self._symbol(symbol)]
            self._inject(venue, exchange, fault, symbols, seconds)
        self._stats[exchange].faults_injected[fault] += 1

    def _inject(self, venue: Venue, exchange: str, fault: str, symbols: list[str],
                seconds: float | None) -> None:
        conns = list(venue.conns)
        if fault in ("malformed", "bad_rest") and not venue.books:
            return  # an exchange's side that serves nothing here
        if fault == "disconnect":
            for conn in conns:
                conn.abort()
        elif fault == "stall":
            for conn in conns:
                conn.stall(STALL_SECONDS if seconds is None else seconds)
        elif fault == "gap":
            venue.gaps.update(symbols)
        elif fault == "malformed":
            for conn in conns:
                conn.push(venue.malformed())
        elif fault == "error_event":
            for conn in conns:
                conn.push(venue.error_event(conn))
        elif fault == "shutdown":
            self._shutdown(venue, conns)
        elif fault == "bad_rest":
            venue.cut_answers += 1
        elif fault == "bad_checksum":
            for name in symbols:
                venue.corrupt_checksum(name)
        else:
            for name in symbols:
                self.model.cross(exchange, name, CROSSED_SECONDS if seconds is None else seconds)

    def pause(self, symbol: str | None = None) -> None:
        """Freeze the market (or one symbol's books): they stop changing; pending changes and
        heartbeats still go out."""
        if symbol is None:
            self._paused = True
        else:
            self.model.held.add(self._symbol(symbol))

    def resume(self, symbol: str | None = None) -> None:
        if symbol is None:
            self._paused = False
        else:
            self.model.held.discard(symbol)

    def step(self, dt: float = TICK_SECONDS) -> list[tuple[str, bytes]]:
        """Advance by ``dt`` seconds without the network and return (exchange, frame) for
        every frame the protocols would push, as if every book topic were subscribed (first
        call: OKX and Bybit snapshots). Frames are timestamped from ``HAND_EPOCH_MS``, so a
        seed and a sequence of ``dt`` always give the same frames."""
        if self._servers:
            raise RuntimeError("step() is for a simulator that is not started")
        if self._taps is None:
            self._taps = {}
            for name, venue in self.venues.items():
                tap = self._taps[name] = Subscriber()
                for symbol in self.symbols:
                    for topic in venue.topics(symbol):
                        venue.subscribe(tap, topic)
        self._advance(dt, HAND_EPOCH_MS + round((self._clock + dt) * 1000))
        frames = [(name, frame) for name, tap in self._taps.items() for frame in tap.outbox]
        for tap in self._taps.values():
            tap.outbox.clear()
        return frames

    def _advance(self, dt: float, wall_ms: int) -> None:
        if not self._paused:
            self.model.step(dt)
        self._clock += dt
        for venue in [*self.venues.values(), *self.futures.values()]:
            venue.tick(self._clock, wall_ms)

    async def _run(self) -> None:
        """The ticker: step the model and push frames every ``TICK_SECONDS``."""
        loop = asyncio.get_running_loop()
        last = deadline = next_idle_check = loop.time()
        while True:
            deadline += TICK_SECONDS
            await asyncio.sleep(deadline - loop.time())
            now = loop.time()
            deadline = max(deadline, now - TICK_SECONDS)  # no burst of catch-up ticks
            self._advance(min(now - last, MAX_STEP_SECONDS), int(time.time() * 1000))
            last = now
            for venue in [*self.venues.values(), *self.futures.values()]:
                for conn in venue.conns:
                    conn.flush()
            if now >= next_idle_check:
                next_idle_check = now + 1.0
                self._close_idle(now)

    def _close_idle(self, now: float) -> None:
        """Close connections without subscription or client traffic (OKX: 30 s)."""
        for venue in [*self.venues.values(), *self.futures.values()]:
            if venue.idle_close is None:
                continue
            for conn in list(venue.conns):
                if not conn.topics and now - conn.last_received > venue.idle_close:
                    venue.conns.discard(conn)
                    self._spawn(conn.close_after(0.0, 4004, "No data received in 30s."))

    def _shutdown(self, venue: Venue, conns: list[Connection]) -> None:
        """Announce a shutdown where the exchange does, then close the connections."""
        wall_ms = int(time.time() * 1000)
        for conn in conns:
            notice = venue.shutdown_notice(conn, wall_ms)
            if notice is not None:
                conn.push(notice)
            delay = SHUTDOWN_GRACE_SECONDS if notice is not None else 0.0
            self._spawn(conn.close_after(delay, 1001, "service restart"))

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, venue: Venue, ws: ServerConnection) -> None:
        """One client connection: register it, read its messages, clean up."""
        stats = self._stats[venue.name]
        stats.connections_accepted += 1
        conn = Connection(ws, venue.new_conn_id(), stats)
        venue.open(conn, ws.request.path if ws.request else "")
        loop = asyncio.get_running_loop()
        try:
            async for message in ws:
                conn.last_received = loop.time()
                venue.receive(conn, message if isinstance(message, str)
                              else message.decode("utf-8", "replace"))
                conn.flush()
        except ConnectionClosed:
            pass
        finally:
            venue.close(conn)

    def _http(self, venue: Venue, conn: ServerConnection, request: Request) -> Response | None:
        """WebSocket handshakes go on (404 on a wrong path); plain GETs and POSTs are REST
        calls."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None if venue.accepts(request.path) else conn.respond(HTTPStatus.NOT_FOUND,
                                                                         "Not Found\n")
        path, _, query = request.path.partition("?")
        self._stats[venue.name].rest_requests.append(time.monotonic())
        answer = venue.post if request.method == "POST" else venue.rest
        status, body = answer(path, dict(parse_qsl(query)))
        if venue.cut_answers and status == HTTPStatus.OK:  # the bad_rest fault
            venue.cut_answers -= 1
            body = body[: len(body) // 2]
        response = conn.respond(status, body.decode())
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        return response

    def _venue(self, exchange: str, symbol: str | None = None) -> Venue:
        """The exchange's spot venue, or its futures venue for a futures ``symbol``."""
        venues = self.futures if symbol and parse_symbol(symbol).type is not MarketType.SPOT else self.venues
        try:
            return venues[exchange]
        except KeyError:
            raise ValueError(f"exchange {exchange!r} is not simulated here for {symbol}") from None

    def _all(self, exchange: str) -> list[Venue]:
        """The exchange's spot venue and, if simulated, its futures venue."""
        return [self._venue(exchange), *([self.futures[exchange]] if exchange in self.futures else [])]

    def _symbol(self, symbol: str) -> str:
        if symbol not in self.symbols:
            raise ValueError(f"symbol {symbol!r} is not simulated here")
        return symbol


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("simulated exchanges ticker crashed", exc_info=task.exception())
