"""Bitget v2 spot public: ``books`` (a snapshot, then updates whose ``seq`` goes up by one and
whose ``checksum`` is verified against the local book on every update); text ``ping``/``pong``."""
from __future__ import annotations

import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.sync import WsSnapshotVenue
from .checksum import TextBook

SUBSCRIBE_BATCH = 50  # channels per subscribe request


class Bitget(WsSnapshotVenue):
    name = "bitget"
    default_ws_url = "wss://ws.bitget.com/v2/ws/public"
    default_rest_url = "https://api.bitget.com"
    default_ping_interval = 30.0  # Bitget expects a text ping every 30 s

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = {symbol: TextBook(book) for symbol, book in self.books.items()}

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return base + quote

    def subscribe_messages(self) -> list[str]:
        ids = list(self.by_id)
        return [self._request("subscribe", ids[i:i + SUBSCRIBE_BATCH])
                for i in range(0, len(ids), SUBSCRIBE_BATCH)]

    @staticmethod
    def _request(op: str, inst_ids: list[str]) -> str:
        args = [{"instType": "SPOT", "channel": "books", "instId": inst_id} for inst_id in inst_ids]
        return orjson.dumps({"op": op, "args": args}).decode()

    def ping_message(self) -> str:
        return "ping"

    def handle(self, frame: bytes, received_at: float) -> None:
        if frame == b"pong":
            return
        message = orjson.loads(frame)
        data = message.get("data")
        if data is None:
            if message.get("event") == "error":
                raise FeedError(f"bitget error {message.get('code')}: {message.get('msg')}")
            return  # subscribe/unsubscribe acks need nothing
        book = self.by_id.get(message["arg"]["instId"])
        if book is not None:
            self._on_books(book, message.get("action"), data[0], received_at)

    def _on_books(self, book: OrderBook, action: str | None, data: dict, received_at: float) -> None:
        bids, asks = data["bids"], data["asks"]
        ts = int(data["ts"])
        if action == "snapshot":  # its checksum is not checked: Bitget's documented ones do not recompute
            self.texts[book.symbol].load(bids, asks)
            self.snapshot(book, bids, asks, data["seq"], ts, received_at, ts / 1000.0)
        else:
            seq = data["seq"]
            self.delta(book, bids, asks, seq - 1, seq, ts, received_at, ts / 1000.0,
                       data["checksum"])

    def checksum(self, book: OrderBook, bids: list, asks: list) -> int:
        """Bitget's checksum over the wire texts, once the update's texts are kept too."""
        texts = self.texts[book.symbol]
        texts.apply(bids, asks)
        return texts.checksum()

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the instrument: Bitget answers with a fresh snapshot."""
        inst_id = self.books[symbol].instrument.id
        return [self._request("unsubscribe", [inst_id]), self._request("subscribe", [inst_id])]
