"""Plumbing shared by the simulated exchange protocols.

A ``Venue`` turns its books' changes into wire frames, built once per topic and pushed to
every ``Subscriber`` of that topic; a live ``Connection`` is a subscriber that writes all its
queued frames at once when flushed (once per tick, and after answering a client message).
"""
from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Sequence

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from .market import Levels, MarketModel, VenueBook

MAX_WRITE_BUFFER = 16 * 2**20  # bytes; a client this far behind is cut off, like a slow consumer
PRICE_TEXT_LIMIT = 50_000  # cached price strings per instrument before the cache is cleared
NumberFormat = Callable[[int], str]  # integer units (ticks or lots) -> decimal text


@dataclass
class ExchangeStats:
    """Counters of one simulated exchange."""

    frames_sent: int = 0
    bytes_sent: int = 0
    connections_accepted: int = 0
    connections_open: int = 0
    faults_injected: Counter = field(default_factory=Counter)  # fault name -> count
    rest_requests: list[float] = field(default_factory=list)  # monotonic time of each REST GET or POST



def json_request(message: str) -> dict | None:
    """A client's JSON request as a dict, or None when it is not one (each simulated exchange
    answers that with its own error)."""
    try:
        request = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return request if isinstance(request, dict) else None

class Subscriber:
    """Something frames are pushed to: a live connection, or a tap when stepping by hand."""

    def __init__(self) -> None:
        self.outbox: list[bytes] = []
        self.topics: set[str] = set()
        self.raw = False  # Binance: payloads without the combined-stream wrapper

    def push(self, frame: bytes) -> None:
        self.outbox.append(frame)


class Connection(Subscriber):
    """One client WebSocket connection."""

    def __init__(self, ws: ServerConnection, conn_id: str, stats: ExchangeStats):
        super().__init__()
        self.ws = ws
        self.conn_id = conn_id
        self.stats = stats
        self.last_received = asyncio.get_running_loop().time()
        self.stalled = False

    def push(self, frame: bytes) -> None:
        if not self.stalled:
            self.outbox.append(frame)

    def flush(self) -> None:
        """Send the queued frames as text frames in one transport write (frames are encoded by
        the connection's sans-I/O protocol, so they interleave safely with its pings)."""
        if not self.outbox:
            return
        batch, self.outbox = self.outbox, []
        protocol, transport = self.ws.protocol, self.ws.transport
        if protocol.state is not State.OPEN or transport.is_closing():
            return
        for frame in batch:
            protocol.send_text(frame)
        transport.writelines(protocol.data_to_send())
        self.stats.frames_sent += len(batch)
        self.stats.bytes_sent += sum(map(len, batch))
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self.ws.transport.abort()

    def stall(self, seconds: float) -> None:
        """Go silent for ``seconds``: send nothing, read nothing (so no pongs either)."""
        self.stalled = True
        self.outbox.clear()
        self.ws.transport.pause_reading()
        asyncio.get_running_loop().call_later(seconds, self._unstall)

    def _unstall(self) -> None:
        self.stalled = False
        if not self.ws.transport.is_closing():
            self.ws.transport.resume_reading()

    async def close_after(self, delay: float, code: int, reason: str) -> None:
        await asyncio.sleep(delay)
        await self.ws.close(code, reason)


def fixed(units: int, decimals: int, places: int) -> str:
    """``units * 10**-decimals`` with exactly ``places`` decimals (``places >= decimals``)."""
    if places == 0:
        return str(units)
    whole, frac = divmod(units, 10 ** decimals)
    return f"{whole}.{frac * 10 ** (places - decimals):0{places}d}"


def trimmed(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` without trailing zeros: 601234 (1 decimal) -> "60123.4"."""
    whole, frac = divmod(units, 10 ** decimals)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0")


class PriceText(dict[int, str]):
    """Price ticks -> text for one instrument, each price formatted once (bounded)."""

    def __init__(self, number_format: NumberFormat):
        super().__init__()
        self.number_format = number_format

    def __missing__(self, price: int) -> str:
        if len(self) >= PRICE_TEXT_LIMIT:
            self.clear()
        text = self[price] = self.number_format(price)
        return text


class Venue(ABC):
    """One exchange's wire protocol over the model's books of that exchange."""

    name: ClassVar[str]
    ws_path: ClassVar[str]  # the path advertised in Endpoint.ws_url
    ping_interval: ClassVar[float | None] = None  # server WebSocket pings
    ping_timeout: ClassVar[float | None] = None
    idle_close: ClassVar[float | None] = None  # close a silent, unsubscribed connection after
    checksummed: ClassVar[bool] = False  # its book messages carry a checksum (bad_checksum applies)
    snapshot_first: ClassVar[bool] = True  # new subscribers wait for a snapshot at the next push

    def __init__(self, model: MarketModel, symbols: Sequence[str], rng: random.Random):
        self.books: dict[str, VenueBook] = {symbol: model.book(self.name, symbol)
                                            for symbol in symbols}
        self.by_id = {book.instrument.id: book for book in self.books.values()}
        self.price_text = {symbol: PriceText(self.number_format(book.grid.price_decimals))
                           for symbol, book in self.books.items()}
        self.size_text = {symbol: self.number_format(book.grid.qty_decimals)
                          for symbol, book in self.books.items()}
        self.subs: dict[str, set[Subscriber]] = {}
        self.waiting: dict[str, list[Subscriber]] = {}  # subscribed, snapshot not sent yet
        self.conns: set[Connection] = set()
        self.gaps: set[str] = set()  # symbols whose next diff is dropped
        self.bad_checksums: set[str] = set()  # symbols whose next checksum is wrong (checksummed protocols)
        self.cut_answers = 0  # REST answers still to cut in half
        self.rng = rng
        self.ws_url = ""  # where its WebSocket is served, once listening

    @staticmethod
    @abstractmethod
    def market_id(base: str, quote: str) -> str:
        """The exchange's id of a spot market ("BTCUSDT", "BTC-USDT"), which the market model
        gives this exchange's instruments."""

    @abstractmethod
    def topics(self, symbol: str) -> list[str]:
        """The book topics a client would subscribe to for ``symbol``."""

    @abstractmethod
    def tick(self, now: float, wall_ms: int) -> None:
        """Push the frames due at simulator time ``now`` (seconds); ``wall_ms`` stamps them."""

    @abstractmethod
    def receive(self, conn: Connection, message: str) -> None:
        """Handle one client message."""

    @staticmethod
    @abstractmethod
    def number_format(decimals: int) -> NumberFormat:
        """How this exchange prints a number of units of ``10**-decimals``."""

    def format_levels(self, symbol: str, levels: Levels) -> list[list[str]]:
        """Levels as this exchange prints them: ``[price, size]``."""
        price_text, size_text = self.price_text[symbol], self.size_text[symbol]
        return [[price_text[price], size_text(lots)] for price, lots in levels]

    @abstractmethod
    def error_event(self, conn: Connection) -> bytes:
        """An error message as the exchange sends it."""

    @abstractmethod
    def malformed(self) -> bytes:
        """A truncated frame."""

    def new_conn_id(self) -> str:
        return "%08x" % self.rng.getrandbits(32)

    def accepts(self, path: str) -> bool:
        """Whether a WebSocket handshake on ``path`` (query string included) is served."""
        return path.partition("?")[0] == self.ws_path

    def open(self, conn: Connection, path: str) -> None:
        """A client connected on ``path``."""
        self.conns.add(conn)

    def close(self, conn: Connection) -> None:
        """A client went away."""
        self.conns.discard(conn)
        for topic in list(conn.topics):
            self.unsubscribe(conn, topic)

    def shutdown_notice(self, conn: Connection, wall_ms: int) -> bytes | None:
        """The message announcing a server shutdown, if the exchange sends one."""
        return None

    def corrupt_checksum(self, symbol: str) -> None:
        """Make the next book checksum of ``symbol`` wrong (the bad_checksum fault)."""
        if not self.checksummed:
            raise ValueError(f"{self.name}'s book channel carries no checksum to corrupt")
        self.bad_checksums.add(symbol)

    def rest(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """Answer a plain HTTP GET on the WebSocket port."""
        return 404, b'{"msg":"Not Found"}'

    def post(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """Answer a plain HTTP POST (without a body) on the WebSocket port."""
        return 404, b'{"msg":"Not Found"}'

    def wire_book(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The true book of ``symbol``, all levels, as (price, size) strings, best first."""
        bids, asks = self.books[symbol].levels()
        return ([(row[0], row[1]) for row in self.format_levels(symbol, bids)],
                [(row[0], row[1]) for row in self.format_levels(symbol, asks)])

    def subscribe(self, sub: Subscriber, topic: str) -> None:
        sub.topics.add(topic)
        if self.snapshot_first:
            self.waiting.setdefault(topic, []).append(sub)
        else:
            self.subs.setdefault(topic, set()).add(sub)

    def unsubscribe(self, sub: Subscriber, topic: str) -> None:
        sub.topics.discard(topic)
        subs = self.subs.get(topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subs[topic]
        waiting = self.waiting.get(topic)
        if waiting is not None and sub in waiting:
            waiting.remove(sub)
            if not waiting:
                del self.waiting[topic]

    def admit(self, topic: str, frame: bytes) -> None:
        """Send the first frame (snapshot) to the subscribers waiting on ``topic``."""
        for sub in self.waiting.pop(topic, ()):
            sub.push(frame)
            self.subs.setdefault(topic, set()).add(sub)

    def emit(self, topic: str, frame: bytes) -> None:
        for sub in self.subs.get(topic, ()):
            sub.push(frame)
