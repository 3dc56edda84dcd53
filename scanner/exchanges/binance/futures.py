"""Binance USDⓈ-M futures: books on ``/public/stream`` (``<sym>@depth@100ms`` + ``<sym>@bookTicker``,
parsed by the spot feed) joined to REST ``/fapi/v1/depth`` by the futures rule (each diff's ``pu``
is the previous diff's ``u``); mark price and funding on a second, book-less connection to
``/market/stream`` (``<sym>@markPrice@1s``), funding intervals from REST ``/fapi/v1/fundingInfo``.
The legacy ``/stream`` path still accepts connections but sends nothing since 2026-04-23: a
silent connection is dropped by the runner's watchdog. Sizes are base units."""
from __future__ import annotations

from typing import Any

import orjson

from ...book import SYNCING, BookError, OrderBook
from ...feeds.base import FeedError, Venue
from ...feeds.futures import FundingFeed, update
from ...instruments import Instrument, MarketType
from .feed import Binance

SNAPSHOT_PATH = "/fapi/v1/depth"
SNAPSHOT_LIMIT = 1000  # the largest futures depth snapshot
FUNDING_INFO_PATH = "/fapi/v1/fundingInfo"
# Binance lists in /fapi/v1/fundingInfo only the symbols whose funding was adjusted; every other
# USDⓈ-M perpetual settles every 8 hours (Binance announcement "adjustment process to the funding
# rate settlement frequency", reference/perpetuals.md §1.4 [S11]).
DEFAULT_INTERVAL_HOURS = 8


class BinanceFutures(FundingFeed, Binance):
    """The books connection (``/public``); its companion `BinanceMarkPrice` keeps the funding."""

    name = "binance"
    default_ws_url = "wss://fstream.binance.com"
    default_rest_url = "https://fapi.binance.com"
    snapshot_path = SNAPSHOT_PATH
    snapshot_limit = SNAPSHOT_LIMIT

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.init_funding(())  # funding arrives on the /market connection
        self.snapshot_ids: dict[str, int] = {}  # symbol -> lastUpdateId of the snapshot it was built on

    @classmethod
    def companions(cls, instruments: list[Instrument], ws_url: str, rest_url: str) -> list[Venue]:
        return [BinanceMarkPrice(instruments, ws_url, rest_url)]

    def connect_url(self) -> str:
        return f"{self.ws_url}/public/stream"

    def _on_depth(self, book: OrderBook, event: dict, received_at: float) -> None:
        """A futures diff covers every update of its book after ``pu``: the range ``pu+1..u``
        for the shared U/u sync. Once a diff has been applied, the next one's ``pu`` must be its
        ``u`` exactly; the first diff after a snapshot only has to straddle the snapshot's
        ``lastUpdateId`` (``pu`` < it <= ``u``), which the shared range rule checks."""
        pu = event["pu"]
        if book.state is not SYNCING and pu != book.seq and book.seq != self.snapshot_ids.get(book.symbol):
            raise BookError(book.symbol, "gap", f"have {book.seq}, diff follows {pu}")
        event["U"] = pu + 1
        Binance._on_depth(self, book, event, received_at)

    def join_snapshot(self, book: OrderBook, bids: list, asks: list, seq: int, limit: int) -> bool:
        self.snapshot_ids[book.symbol] = seq  # until a diff chains on, the first one only straddles it
        return Binance.join_snapshot(self, book, bids, asks, seq, limit)


class BinanceMarkPrice(FundingFeed, Venue):
    """Book-less: ``<sym>@markPrice@1s`` on ``/market/stream`` for every futures instrument
    (``p`` mark, ``i`` index, ``r`` rate, ``T`` next funding; delivery futures send ``r`` ""
    and ``T`` 0) and, before each connect, the funding intervals from ``/fapi/v1/fundingInfo``."""

    name = "binance"
    default_ws_url = BinanceFutures.default_ws_url
    default_rest_url = BinanceFutures.default_rest_url

    def __init__(self, instruments: list[Instrument], ws_url: str = "", rest_url: str = ""):
        Venue.__init__(self, {}, lambda book: None, ws_url, rest_url)
        self.init_funding(instruments)
        self.streams = {f"{state.instrument.id.lower()}@markPrice@1s": state
                        for state in self.funding.values()}

    async def prepare(self) -> None:
        """Read the funding intervals again before each connect (Binance adjusts them)."""
        if any(s.instrument.type is MarketType.PERP for s in self.funding.values()):
            await self.fetch(FUNDING_INFO_PATH, {})

    def connect_url(self) -> str:
        return f"{self.ws_url}/market/stream"

    def subscribe_messages(self) -> list[str]:
        names = list(self.streams)
        return [orjson.dumps({"method": "SUBSCRIBE", "params": names[i:i + 200], "id": n + 1}).decode()
                for n, i in enumerate(range(0, len(names), 200))]

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        state = self.streams.get(message.get("stream"))
        if state is not None:
            event = message["data"]
            update(state, event["p"], event.get("i"), event.get("r"), None, event.get("T"))
        elif "code" in message:
            raise FeedError(f"binance error {message['code']}: {message.get('msg')}")
        elif message.get("stream") == "!serverShutdown":
            raise FeedError("binance announced a server shutdown")

    def on_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        if path != FUNDING_INFO_PATH:
            return
        adjusted = {row["symbol"]: float(row["fundingIntervalHours"]) for row in orjson.loads(body)}
        for market_id, state in self.funding_by_id.items():
            if state.instrument.type is MarketType.PERP:
                state.interval_seconds = adjusted.get(market_id, DEFAULT_INTERVAL_HOURS) * 3600.0

    async def resync(self, symbol: str, send: Any) -> None:
        """No books: nothing to rebuild."""
