"""OKX v5 public: ``books`` (snapshot then updates chained by seqId/prevSeqId) and ``bbo-tbt``
(best bid/offer every 10 ms, patched onto the book by timestamp); text ``ping``/``pong``.
Updates are read from the frame's bytes (``scanner.feeds.jsonscan``); every other frame, and
any update that reader leaves, goes through ``orjson``."""
from __future__ import annotations

import orjson

from ...book import SYNCING, BookError, OrderBook, ParsedLevels
from ...feeds.base import FeedError
from ...feeds.jsonscan import BooksUpdate
from ...feeds.sync import WsSnapshotVenue

BOOKS_DEPTH = 400  # the books channel keeps the best 400 levels per side current


class Okx(WsSnapshotVenue):
    name = "okx"
    default_ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    default_rest_url = "https://www.okx.com"
    default_ping_interval = 20.0  # OKX closes a connection idle for 30 s

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for book in self.books.values():
            book.bids.depth = book.asks.depth = BOOKS_DEPTH
        # the books update being handled, read from the frame's bytes: values (prevSeqId,
        # seqId); None: every frame goes through orjson
        self.update = BooksUpdate(b"books", (b"prevSeqId", b"seqId"), 4)
        self.parsed_bids = ParsedLevels()  # its levels, parsed once for the book
        self.parsed_asks = ParsedLevels()

    @staticmethod
    def market_id(base: str, quote: str) -> str:
        return f"{base}-{quote}"

    def subscribe_messages(self) -> list[str]:
        ids = list(self.by_id)
        return [self._request("subscribe", ids[i:i + 50]) for i in range(0, len(ids), 50)]

    @staticmethod
    def _request(op: str, inst_ids: list[str]) -> str:
        args = [{"channel": channel, "instId": inst_id}
                for inst_id in inst_ids for channel in ("books", "bbo-tbt")]
        return orjson.dumps({"id": op[:5], "op": op, "args": args}).decode()

    def ping_message(self) -> str:
        return "ping"

    def handle(self, frame: bytes, received_at: float) -> None:
        if frame == b"pong":
            return
        update = self.update
        if update is not None and type(frame) is bytes and update.scan(frame):
            book = self.by_id.get(update.inst_id_text())
            if book is not None:
                self._on_update(book, update, received_at)
            return
        message = orjson.loads(frame)
        arg = message.get("arg")
        data = message.get("data")
        if data is None:
            self._on_event(message)
            return
        book = self.by_id.get(arg["instId"])
        if book is None:
            return
        channel = arg["channel"]
        if channel == "books":
            self._on_books(book, message.get("action"), data[0], received_at)
        elif channel == "bbo-tbt":
            self._on_bbo(book, data[0], received_at)
        else:
            self._on_channel(book, channel, data[0], received_at)

    def _on_event(self, message: dict) -> None:
        event = message.get("event")
        if event == "error":
            raise FeedError(f"okx error {message.get('code')}: {message.get('msg')}")
        if event == "notice":  # e.g. 64008: connection will close for a service upgrade
            raise FeedError(f"okx notice {message.get('code')}: {message.get('msg')}")
        # subscribe/unsubscribe acks need nothing

    def _on_books(self, book: OrderBook, action: str | None, data: dict, received_at: float) -> None:
        ts = int(data["ts"])
        if action == "snapshot":
            self.snapshot(book, data["bids"], data["asks"], data["seqId"], ts, received_at,
                          ts / 1000.0)
        else:
            self.delta(book, data["bids"], data["asks"], data["prevSeqId"], data["seqId"], ts,
                       received_at, ts / 1000.0)

    def _on_update(self, book: OrderBook, update: BooksUpdate, received_at: float) -> None:
        """A books update read from the frame's bytes: its levels parsed once (not for a book
        waiting for its snapshot, which ignores it), then chained on as any update."""
        if book.state is not SYNCING:
            try:
                update.bids.parse(self.parsed_bids)
                update.asks.parse(self.parsed_asks)
            except ValueError as exc:
                raise BookError(book.symbol, "malformed", repr(exc)) from exc
        ts = update.ts
        self.delta(book, self.parsed_bids, self.parsed_asks, update.values[0], update.values[1], ts,
                   received_at, ts / 1000.0)

    def _on_bbo(self, book: OrderBook, data: dict, received_at: float) -> None:
        bid, ask = data["bids"][0], data["asks"][0]
        ts = int(data["ts"])
        if book.patch_top(bid[0], bid[1], ask[0], ask[1], ts, received_at, ts / 1000.0):
            self.on_book(book)

    def _on_channel(self, book: OrderBook, channel: str, data: dict, received_at: float) -> None:
        """A channel other than the books' (the futures feed's mark price and funding)."""

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """Resubscribe the instrument: OKX answers with a fresh snapshot."""
        inst_id = self.books[symbol].instrument.id
        return [self._request("unsubscribe", [inst_id]), self._request("subscribe", [inst_id])]
