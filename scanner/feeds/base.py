"""What every exchange adapter provides; connection handling lives in ``runner``."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson

from ..book import SYNCING, Link, OrderBook

if TYPE_CHECKING:
    from ..instruments import Instrument

Send = Callable[[str], Awaitable[None]]
Fetch = Callable[..., Awaitable[None]]  # (path, params, method="GET"): the answer goes to apply_rest
BookListener = Callable[[OrderBook], None]
# What parsing an exchange message that is not what its protocol says can raise (OverflowError:
# an integer too large for a book's 64-bit sequence fields).
MALFORMED = (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError, AttributeError,
             OverflowError)


class FeedError(Exception):
    """The exchange reported an error or announced a shutdown; the connection is restarted."""


class FeedStats:
    """Counters of one exchange feed, read by the metrics collector at scrape time (an
    extension type: the runner counts each frame in C fields). An exchange whose books need
    several connections shares one FeedStats between their runners: it is up when every one
    of its connections is."""

    def __init__(self) -> None:
        self.connections = 0  # runners sharing these counters
        self.connected = 0  # of them, connected now
        self.messages = 0
        self.reconnects = 0
        self.last_message_at = 0.0  # monotonic
        self.resyncs: Counter[str] = Counter()  # reason -> count
        self.errors: Counter[str] = Counter()  # kind -> count
        self.last_error = ""

    @property
    def up(self) -> bool:
        return self.connections > 0 and self.connected == self.connections


class Venue:
    """One exchange's public market-data protocol: URLs, subscriptions, parsing and sync rules.

    ``handle`` parses one frame and updates the books, calling ``on_book`` for each book it
    changed; the books raise ``BookError`` when one loses its integrity (gap, crossed,
    malformed), and ``handle`` raises ``FeedError`` on an exchange error. Its books share
    ``link``, the liveness of this venue's connection.
    Each exchange's subclass implements the methods that raise NotImplementedError here; it is
    compiled (a Cython extension type, see ``base.pxd``), so the frame path is C calls. Book
    sync is one of the two strategies in ``scanner.feeds.sync``.

    What the runner does around the protocol: ``await prepare()`` before each connect (it may
    ask REST through ``fetch`` and set the URL and ping interval), wait up to
    ``welcome_timeout`` seconds for a frame ``is_welcome`` accepts (0: no welcome), send
    ``subscribe_messages()``, send ``ping_message()`` every ``ping_interval`` seconds (None:
    no application pings). A venue holds at most ``max_books_per_connection`` books (0: no
    limit); the app opens one venue and connection per chunk.
    """

    name = ""  # each exchange's class sets its own
    default_ws_url = ""
    default_rest_url = ""
    default_ping_interval = None  # seconds between application-level pings
    welcome_timeout = 0.0  # seconds to wait for the exchange's welcome before subscribing
    max_books_per_connection = 0  # 0: every book on one connection
    rest_per_second = 10.0  # REST requests the runner sends at most, per connection

    def __init__(self, books: dict[str, OrderBook], on_book: BookListener,
                 ws_url: str = "", rest_url: str = ""):
        self.books = books  # unified symbol -> book
        self.on_book = on_book
        self.ws_url = (ws_url or self.default_ws_url).rstrip("/")
        self.rest_url = (rest_url or self.default_rest_url).rstrip("/")
        self.fetch: Fetch | None = None  # set by the runner, which owns REST requests
        self.ping_interval = self.default_ping_interval
        self.by_id = {self.stream_id(book.instrument): book for book in books.values()}
        self.link = Link()
        for book in books.values():
            book.link = self.link

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        """The exchange's id of a spot market ("BTC", "USDT" -> "BTCUSDT"): used only for a
        market the metadata does not list (`scanner.checks.listings`); books carry their
        instrument's id."""
        raise NotImplementedError

    def stream_id(self, instrument: Instrument) -> str:
        """The market's name on this exchange's WebSocket: its id, unless the exchange names
        it otherwise there (Kraken's v2 feed says "BTC/USD" for the REST id "XBTUSD")."""
        return instrument.id

    async def prepare(self) -> None:
        """Get ready to connect (default: nothing); e.g. request a token and the endpoint."""

    def connect_url(self) -> str:
        return self.ws_url

    def is_welcome(self, frame: bytes) -> bool:
        """Whether ``frame`` is the exchange's welcome (only asked with a ``welcome_timeout``)."""
        return True

    def subscribe_messages(self) -> list[str]:
        """Messages sent right after connecting."""
        raise NotImplementedError

    def ping_message(self) -> str | None:
        return None

    def handle(self, frame: bytes, received_at: float) -> None:
        """Parse one frame and apply it to the books."""
        raise NotImplementedError

    async def on_connected(self, send: Send) -> None:
        """Start whatever sync the protocol needs once subscribed (default: nothing)."""

    async def resync(self, symbol: str, send: Send) -> None:
        """Rebuild the book of ``symbol`` (it has been reset to SYNCING)."""
        raise NotImplementedError

    def apply_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        """Hand a REST answer (live, or from a recording) to ``on_rest``; an answer that is not
        what the protocol says is a FeedError (the runner counts it and asks again)."""
        try:
            self.on_rest(path, params, body)
        except MALFORMED as exc:
            raise FeedError(f"{self.name}: malformed answer to {path}: {exc!r}") from exc

    def on_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        """Apply a REST answer (live, or from a recording); only some protocols need REST."""

    def reset_all(self) -> None:
        """Mark every book as syncing (on disconnect) and tell the listener."""
        for book in self.books.values():
            if book.state is not SYNCING or len(book.bids):
                book.reset()
                self.on_book(book)
