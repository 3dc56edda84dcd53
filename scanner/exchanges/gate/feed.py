"""Gate v4 spot: ``spot.obu`` (order book v2) for depth, ``spot.book_ticker`` for the best
bid/offer, JSON ``spot.ping`` heartbeat.

Why ``spot.obu`` and not ``spot.order_book_update``: the v2 channel sends its first message as
a full snapshot (``full: true``) on the WebSocket, so a book (re)syncs with one resubscription
and no REST request, like OKX and Bybit; ccxt uses it by default. Its rule (Gate's "Maintain
local depth"): a ``full`` message replaces the book and sets the depth id to ``u`` (the server
may send one at any time); an update applies only if ``U`` is the depth id + 1 (``apply_next``
with prev ``U - 1``), anything else is a gap: unsubscribe and subscribe that stream again.
``ob.<PAIR>.400`` keeps the best 400 levels current (100 ms); ``spot.book_ticker`` patches the
top in between, ordered against the diffs by their ``t`` (order book time, ms).
"""
from __future__ import annotations

import time

import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.sync import WsSnapshotVenue

DEPTH = 400  # ob.<PAIR>.400: the best 400 levels per side, pushed every 100 ms
BATCH = 50  # stream names per subscribe request


class Gate(WsSnapshotVenue):
    name = "gate"
    default_ws_url = "wss://api.gateio.ws/ws/v4/"
    default_rest_url = "https://api.gateio.ws"
    default_ping_interval = 5.0  # the official SDK's spot.ping interval

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.streams: dict[str, OrderBook] = {}
        for market_id, book in self.by_id.items():
            book.bids.depth = book.asks.depth = DEPTH
            self.streams[self.stream(market_id)] = book

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}_{quote}"

    @staticmethod
    def stream(market_id: str) -> str:
        """The ``spot.obu`` stream of a market: ``ob.BTC_USDT.400``."""
        return f"ob.{market_id}.{DEPTH}"

    def connect_url(self) -> str:
        return self.ws_url + "/"  # Gate's path is /ws/v4/ (the base strips the slash)

    def subscribe_messages(self) -> list[str]:
        ids = list(self.by_id)
        messages = []
        for i in range(0, len(ids), BATCH):
            chunk = ids[i:i + BATCH]
            messages.append(self._request("spot.obu", "subscribe", [self.stream(m) for m in chunk]))
            messages.append(self._request("spot.book_ticker", "subscribe", chunk))
        return messages

    @staticmethod
    def _request(channel: str, event: str, payload: list[str]) -> str:
        """A request; Gate rejects one whose ``time`` is 60 s off its clock."""
        return orjson.dumps({"time": int(time.time()), "channel": channel, "event": event,
                             "payload": payload}).decode()

    def ping_message(self) -> str:
        return orjson.dumps({"time": int(time.time()), "channel": "spot.ping"}).decode()

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        result = message.get("result")
        if result is None or "status" in result:  # a pong, or the answer to a request
            self._on_reply(message)
            return
        channel = message["channel"]
        if channel == "spot.obu":
            self._on_obu(result, received_at)
        elif channel == "spot.book_ticker":
            self._on_ticker(result, received_at)

    @staticmethod
    def _on_reply(message: dict) -> None:
        """A refused request is a FeedError; pongs and subscription acks need nothing."""
        error = message.get("error")
        if error is not None:
            raise FeedError(f"gate {message.get('channel')} {message.get('event')} error "
                            f"{error.get('code')}: {error.get('message')}")

    def _on_obu(self, result: dict, received_at: float) -> None:
        book = self.streams.get(result["s"])
        if book is None:
            return
        t = result["t"]
        if result.get("full"):
            self.snapshot(book, result["b"], result["a"], result["u"], t, received_at, t / 1000.0)
        else:
            self.delta(book, result["b"], result["a"], result["U"] - 1, result["u"], t,
                       received_at, t / 1000.0)

    def _on_ticker(self, result: dict, received_at: float) -> None:
        book = self.by_id.get(result["s"])
        if book is None or not result["b"] or not result["a"]:
            return  # an empty side: nothing to patch
        t = result["t"]
        if book.patch_top(result["b"], result["B"], result["a"], result["A"], t, received_at,
                          t / 1000.0):
            self.on_book(book)

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the symbol's ``spot.obu`` stream: Gate answers with a full snapshot."""
        stream = self.stream(self.books[symbol].instrument.id)
        return [self._request("spot.obu", "unsubscribe", [stream]),
                self._request("spot.obu", "subscribe", [stream])]
