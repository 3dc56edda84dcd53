"""Bitget v2 spot public: ``books`` (a snapshot, then updates whose ``seq`` goes up by one and
whose ``checksum`` is verified against the local book on every update); text ``ping``/``pong``."""
from __future__ import annotations

import orjson

from ...book import SYNCING, BookError
from ...feeds.base import FeedError, Send, Venue
from .checksum import TextBook

SUBSCRIBE_BATCH = 50  # channels per subscribe request


class Bitget(Venue):
    name = "bitget"
    default_ws_url = "wss://ws.bitget.com/v2/ws/public"
    default_rest_url = "https://api.bitget.com"
    default_ping_interval = 30.0  # Bitget expects a text ping every 30 s

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = {inst_id: TextBook(book) for inst_id, book in self.by_id.items()}

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
        texts = self.texts.get(message["arg"]["instId"])
        if texts is not None:
            self._on_books(texts, message.get("action"), data[0], received_at)

    def _on_books(self, texts: TextBook, action: str | None, data: dict, received_at: float) -> None:
        book = texts.book
        bids, asks = data["bids"], data["asks"]
        ts = int(data["ts"])
        if action == "snapshot":
            texts.load(bids, asks)
            book.load_snapshot(bids, asks, data["seq"], ts, received_at, ts / 1000.0)
        else:
            if book.state is SYNCING:
                return  # updates before the (re)subscription's snapshot
            seq, expected = data["seq"], data["checksum"]
            book.apply_next(bids, asks, seq - 1, seq, ts, received_at, ts / 1000.0)
            texts.apply(bids, asks)
            checksum = texts.checksum()
            if checksum != expected:
                raise BookError(book.symbol, "checksum",
                                f"have {checksum}, update {seq} says {expected}")
        self.on_book(book)

    async def resync(self, symbol: str, send: Send) -> None:
        """Resubscribe the instrument: Bitget answers with a fresh snapshot."""
        inst_id = self.books[symbol].instrument.id
        await send(self._request("unsubscribe", [inst_id]))
        await send(self._request("subscribe", [inst_id]))
