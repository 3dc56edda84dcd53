"""Bitget v2 spot public: ``books`` (a snapshot, then updates whose ``seq`` goes up by one and
whose ``checksum`` is verified against the local book on every update); text ``ping``/``pong``."""
from __future__ import annotations

import cython
import orjson

from ...book import OrderBook
from ...feeds.base import FeedError
from ...feeds.jsonscan import BooksUpdate
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
        self.texts = {inst_id: TextBook(book) for inst_id, book in self.by_id.items()}
        self.applied = None  # the texts the update being handled was applied to
        # the update being handled, read from the frame's bytes: values (seq, checksum)
        self.update = BooksUpdate(b"", (b"seq", b"checksum"), 2)

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
        update = self.update
        if type(frame) is bytes and update.scan(frame):  # a books update: no objects built
            texts = self.texts.get(update.inst_id_text())
            if texts is not None:
                texts.prefetch()
                texts.apply_update(update)
                self._on_update(texts, update.values[0], update.ts, update.values[1], received_at)
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
        """A snapshot or update of one book, from its parsed message: its texts take the levels
        first (an update's are parsed there, once, and the book takes them parsed)."""
        texts.prefetch()
        bids, asks = data["bids"], data["asks"]
        ts = cython.cast(cython.longlong, parse_number(data["ts"]))  # ms: 13 digits, exact
        if action == "snapshot":  # its checksum is not checked: Bitget's documented ones do not recompute
            texts.load(bids, asks)
            self.snapshot(texts.book, bids, asks, data["seq"], ts, received_at, ts / 1000.0)
        else:
            texts.apply(bids, asks)
            self._on_update(texts, data["seq"], ts, data["checksum"], received_at)

    def _on_update(self, texts: TextBook, seq: int, ts: int, checksum: int,
                   received_at: float) -> None:
        """The book takes the update its texts were just given, then its checksum is verified."""
        self.applied = texts
        self.delta(texts.book, texts.parsed_bids, texts.parsed_asks, seq - 1, seq, ts, received_at,
                   ts / 1000.0, checksum)

    def checksum(self, book: OrderBook, bids: object, asks: object) -> int:
        """Bitget's checksum over the wire texts the update was applied to."""
        return self.applied.checksum()

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the instrument: Bitget answers with a fresh snapshot."""
        inst_id = self.books[symbol].instrument.id
        return [self._request("unsubscribe", [inst_id]), self._request("subscribe", [inst_id])]
