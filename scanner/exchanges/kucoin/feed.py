"""KuCoin spot (classic API): before each connect, ``POST /api/v1/bullet-public`` gives a token,
the endpoint and the ping interval; the connection is used after its ``welcome``; the client
pings ``{"id":…,"type":"ping"}`` at the server's interval. ``/market/level2:{symbol}`` diffs
(each change ``[price, size, sequence]``) cover ``sequenceStart``..``sequenceEnd`` and are joined
to the REST snapshot ``level2_100`` by its ``sequence``; a change at price "0" only advances the
sequence. At most 100 topics per subscribe message and 300 per connection."""
from __future__ import annotations

import itertools
import time
from typing import Any

import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.sync import RestSnapshotVenue

TOKEN_PATH = "/api/v1/bullet-public"
SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100"
SNAPSHOT_LIMIT = 100  # levels per side of the public snapshot
TOPICS_PER_SUBSCRIBE = 100
LEVEL2 = "/market/level2:"


class Kucoin(RestSnapshotVenue):
    name = "kucoin"
    default_ws_url = ""  # the endpoint comes with the token
    default_rest_url = "https://api.kucoin.com"
    welcome_timeout = 10.0
    max_books_per_connection = 300  # one topic per book; KuCoin takes 300 per connection

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.topics: dict[str, OrderBook] = {LEVEL2 + market_id: book
                                             for market_id, book in self.by_id.items()}
        self.endpoint = ""  # endpoint?token=…&connectId=…, from the last token answer
        self._ids = itertools.count(int(time.time() * 1000))

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    async def prepare(self) -> None:
        """Ask for a public token: it sets the endpoint and the ping interval."""
        await self.fetch(TOKEN_PATH, {}, "POST")

    def connect_url(self) -> str:
        return self.endpoint

    def is_welcome(self, frame: bytes) -> bool:
        message = orjson.loads(frame)
        if message.get("type") == "error":
            raise FeedError(f"kucoin error {message.get('code')}: {message.get('data')}")
        return message.get("type") == "welcome"

    def subscribe_messages(self) -> list[str]:
        ids = list(self.by_id)
        return [self._request("subscribe", ids[i:i + TOPICS_PER_SUBSCRIBE])
                for i in range(0, len(ids), TOPICS_PER_SUBSCRIBE)]

    def _request(self, kind: str, market_ids: list[str]) -> str:
        return orjson.dumps({"id": next(self._ids), "type": kind, "topic": LEVEL2 + ",".join(market_ids),
                             "privateChannel": False, "response": True}).decode()

    def ping_message(self) -> str:
        return orjson.dumps({"id": str(next(self._ids)), "type": "ping"}).decode()

    def handle(self, frame: bytes, received_at: float) -> None:
        message = orjson.loads(frame)
        kind = message.get("type")
        if kind == "message":
            book = self.topics.get(message.get("topic"))
            if book is not None:
                self._on_level2(book, message["data"], received_at)
        elif kind == "error":
            raise FeedError(f"kucoin error {message.get('code')}: {message.get('data')}")
        # welcome, ack and pong need nothing

    def _on_level2(self, book: OrderBook, data: dict, received_at: float) -> None:
        changes = data["changes"]
        self.diff(book, _priced(changes["bids"]), _priced(changes["asks"]), data["sequenceStart"],
                  data["sequenceEnd"], received_at, data["time"] / 1000.0)

    def trim(self, levels: list, seq: int) -> list:
        """Only the changes after ``seq``: each carries its own sequence."""
        return [level for level in levels if int(level[2]) > seq]

    def snapshot_request(self, symbol: str) -> tuple[str, dict[str, Any]]:
        return SNAPSHOT_PATH, {"symbol": self.books[symbol].instrument.id}

    def on_rest(self, path: str, params: dict[str, Any], body: bytes) -> None:
        answer = orjson.loads(body)
        if answer["code"] != "200000":
            raise ValueError(f"code {answer['code']}: {answer.get('msg')}")
        data = answer["data"]
        if path == TOKEN_PATH:
            server = data["instanceServers"][0]
            self.endpoint = (f"{server['endpoint'].rstrip('/')}/?token={data['token']}"
                             f"&connectId={next(self._ids)}")
            self.ping_interval = server["pingInterval"] / 1000.0
            return
        book = self.by_id.get(params.get("symbol", ""))
        if path == SNAPSHOT_PATH and book is not None:
            self.join_snapshot(book, data["bids"], data["asks"], int(data["sequence"]), SNAPSHOT_LIMIT)


def _priced(levels: list) -> list:
    """The changes that touch a price level: a change at price "0" only advances the sequence."""
    for level in levels:
        if level[0] == "0":
            return [level for level in levels if level[0] != "0"]
    return levels
