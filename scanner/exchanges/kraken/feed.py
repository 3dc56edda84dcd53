"""Kraken WS v2: ``book`` at depth ``BOOK_DEPTH`` (a snapshot, then updates; after each update
the book is cut to that depth, as Kraken's is) with a CRC32 checksum of the top 10 levels on
every message, checked against the scanner's own book; a mismatch resyncs that book. The server
sends ``{"channel":"heartbeat"}`` when idle; JSON ``{"method":"ping"}`` is answered by a pong."""
from __future__ import annotations

import json

import orjson
from orjson import loads

from ...book import SYNCING, BookError, OrderBook, ParsedLevels
from ...feeds.base import MALFORMED, FeedError
from ...feeds.sync import WsSnapshotVenue
from ...instruments import Instrument
from . import BOOK_DEPTH
from .checksum import Printing, Update, levels, parse_timestamp, truncate

SUBSCRIBE_BATCH = 50  # symbols per subscribe request


class Kraken(WsSnapshotVenue):
    name = "kraken"
    default_ws_url = "wss://ws.kraken.com/v2"
    default_rest_url = "https://api.kraken.com"
    default_ping_interval = 30.0  # the server's heartbeats keep the connection up; this proves it answers

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.printing = {symbol: Printing() for symbol in self.books}
        # market id -> (book, printing): an update finds both with one lookup
        self.pairs = {market_id: (book, self.printing[book.symbol])
                      for market_id, book in self.by_id.items()}
        for book in self.books.values():
            book.bids.depth = book.asks.depth = BOOK_DEPTH
        self.update = Update()  # the update being applied: its fields, then its levels parsed
        self.bids, self.asks = ParsedLevels(), ParsedLevels()

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote  # the REST id, where the metadata has none

    def stream_id(self, instrument: Instrument) -> str:
        return f"{instrument.base}/{instrument.quote}"  # WS v2 names pairs "BTC/USD"

    def subscribe_messages(self) -> list[str]:
        ids = list(self.by_id)
        return [self._request("subscribe", ids[i:i + SUBSCRIBE_BATCH])
                for i in range(0, len(ids), SUBSCRIBE_BATCH)]

    @staticmethod
    def _request(method: str, symbols: list[str]) -> str:
        params = {"channel": "book", "symbol": symbols, "depth": BOOK_DEPTH}
        if method == "subscribe":
            params["snapshot"] = True
        return orjson.dumps({"method": method, "params": params}).decode()

    def ping_message(self) -> str:
        return '{"method":"ping"}'

    def handle(self, frame: bytes, received_at: float) -> None:
        message = loads(frame)
        channel = message.get("channel")
        if channel == "book":
            if message["type"] == "update":
                for data in message["data"]:
                    self._on_update(data, frame, received_at)
            else:
                self._on_snapshot(frame, received_at)
        elif channel is None:
            if message.get("success") is False:
                raise FeedError(f"kraken {message.get('method')} failed: {message.get('error')}")
            # subscribe/unsubscribe acks and pongs need nothing
        elif channel == "status":
            self._on_status(message["data"])
        # heartbeats need nothing: the runner noted the frame

    @staticmethod
    def _on_status(data: list) -> None:
        for status in data:
            if status.get("system") == "maintenance":
                raise FeedError("kraken status: the exchange is down for maintenance")

    def _on_snapshot(self, frame: bytes, received_at: float) -> None:
        """Load snapshots from the exchange's own number texts (they teach the decimals)."""
        for data in json.loads(frame, parse_float=str, parse_int=str)["data"]:
            book = self.by_id.get(data["symbol"])
            if book is None:
                continue
            try:
                bids, asks = levels(data["bids"]), levels(data["asks"])
                self.printing[book.symbol].learn(bids, asks)
                checksum = int(data["checksum"])
            except MALFORMED as exc:
                raise BookError(book.symbol, "malformed", repr(exc)) from exc
            self.snapshot(book, bids, asks, 0, 0, received_at, 0.0, checksum)

    def _on_update(self, data: dict, frame: bytes, received_at: float) -> None:
        update = self.update
        update.read(data)
        pair = self.pairs.get(update.symbol)
        if pair is None:
            if update.symbol is None:
                raise KeyError(f"a book update without a symbol: {data!r}")
            return  # not ours
        book, printing = pair
        if book.state is SYNCING:
            return  # an update before the (re)subscription's snapshot
        try:
            read_levels(update.bids, self.bids)
            read_levels(update.asks, self.asks)
            if update.checksum is None:
                raise KeyError(f"a book update without a checksum: {data!r}")
            timestamp = update.timestamp
            exchange_time = parse_timestamp(timestamp) if timestamp is not None else 0.0
            if printing.price_decimals < 0 or printing.qty_decimals < 0:
                self._learn(printing, update.symbol, frame)
        except MALFORMED as exc:
            raise BookError(book.symbol, "malformed", repr(exc)) from exc
        seq = book.seq + 1  # Kraken numbers nothing: the checksum proves the chain
        self.delta(book, self.bids, self.asks, book.seq, seq, seq, received_at, exchange_time,
                   update.checksum)

    @staticmethod
    def _learn(printing: Printing, symbol: str, frame: bytes) -> None:
        """The decimals from an update's texts (a book whose snapshot had no level)."""
        for data in json.loads(frame, parse_float=str, parse_int=str)["data"]:
            if data["symbol"] == symbol:
                printing.learn(levels(data["bids"]), levels(data["asks"]))

    def checksum(self, book: OrderBook, bids: list, asks: list) -> int:
        """Kraken's checksum of the book cut to the subscribed depth, as Kraken's own is."""
        printing = self.printing[book.symbol]
        truncate(book, BOOK_DEPTH)
        return printing.checksum(book)

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the book: Kraken answers with a fresh snapshot."""
        market_id = self.stream_id(self.books[symbol].instrument)
        return [self._request("unsubscribe", [market_id]), self._request("subscribe", [market_id])]
