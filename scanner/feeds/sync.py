"""The two ways a book gets in sync, each written once; an exchange's adapter picks one and
supplies only its wire specifics (parsing frames into the calls below, its snapshot request,
its resubscribe messages).

``RestSnapshotVenue``: diffs carry the range of update ids they cover; while a book syncs they
are buffered, a REST snapshot is requested (through the runner's ``fetch``), loaded, and the
buffered diffs that join it applied (Binance U/u, KuCoin sequenceStart/End). A resync clears the
buffer and asks again.

``WsSnapshotVenue``: the exchange sends a snapshot on the WebSocket when subscribed, then deltas
that each follow the previous one exactly (OKX prevSeqId/seqId, Bybit u, Gate U/u, Bitget seq;
Kraken numbers nothing, so each delta follows the book's last); deltas that arrive before the
snapshot are ignored. A resync sends the exchange's resubscribe messages. Two optional checks:
a message that carries the exchange's checksum of its book (Kraken, Bitget) is verified against
the book after it is applied (mismatch: BookError ``checksum``), and an exchange that numbers
every message of the connection (Coinbase ``sequence_num``) passes each number to
``chain_connection``: a gap means any book may have missed an update, so every book resyncs.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from ..book import INVALID, LIVE, SYNCING, BookError, OrderBook
from .base import Send, Venue

MAX_BUFFERED = 2000  # diffs kept per book while waiting for a snapshot
SNAPSHOT_RETRY_SECONDS = 0.2  # between a snapshot that did not join the buffer and the next


class RestSnapshotVenue(Venue):
    """Books joined to REST snapshots by the update-id ranges of their diffs."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.buffers: dict[str, list[tuple]] = {symbol: [] for symbol in self.books}

    def snapshot_request(self, symbol: str) -> tuple[str, dict[str, Any]]:
        """The REST path and query of ``symbol``'s snapshot; its answer comes to ``on_rest``,
        which parses it and calls ``join_snapshot``."""
        raise NotImplementedError

    def trim(self, levels: list, seq: int) -> list:
        """The levels of a diff that overlaps a book at ``seq`` which the book does not have
        yet (default: all; a diff's sizes are final as of its last update id)."""
        return levels

    def diff(self, book: OrderBook, bids: list, asks: list, first: int, last: int,
             received_at: float, exchange_time: float) -> None:
        """A diff covering updates ``first``..``last``: buffered while the book syncs, else
        applied (skipped if the book has it; BookError ``gap`` if updates are missing)."""
        if book.state is SYNCING:
            buffer = self.buffers[book.symbol]
            buffer.append((bids, asks, first, last, exchange_time))
            if len(buffer) > MAX_BUFFERED:
                del buffer[: MAX_BUFFERED // 2]
            return
        if first <= book.seq < last:
            bids, asks = self.trim(bids, book.seq), self.trim(asks, book.seq)
        if book.apply_range(bids, asks, first, last, last, received_at, exchange_time):
            self.on_book(book)

    def join_snapshot(self, book: OrderBook, bids: list, asks: list, seq: int, limit: int) -> bool:
        """Load a snapshot at update ``seq`` (``limit`` levels per side at most: past its worst
        price only what changes later is known) and apply the buffered diffs that follow it;
        if they do not join, reset the book (another snapshot is needed) and return False."""
        buffer = self.buffers[book.symbol]
        now = time.monotonic()
        try:
            book.load_snapshot(bids, asks, seq, seq, now)
            book.bids.cut_at(limit)
            book.asks.cut_at(limit)
            for bids, asks, first, last, exchange_time in buffer:  # the book is LIVE: applied
                self.diff(book, bids, asks, first, last, now, exchange_time)
        except BookError:  # the diffs start after the snapshot (or broke it): another one
            book.reset()
            return False
        buffer.clear()
        return True

    def reset_all(self) -> None:
        """Mark every book as syncing and drop the diffs waiting for a snapshot."""
        for buffer in self.buffers.values():
            buffer.clear()
        Venue.reset_all(self)

    async def on_connected(self, send: Send) -> None:
        await asyncio.gather(*(self.resync(symbol, send) for symbol in self.books))

    async def resync(self, symbol: str, send: Send) -> None:
        """Request snapshots until one joins the buffered diffs (the runner paces, retries and
        counts the requests)."""
        book = self.books[symbol]
        self.buffers[symbol].clear()
        path, params = self.snapshot_request(symbol)
        while book.state is not LIVE:
            await self.fetch(path, params)
            if book.state is not LIVE:
                await asyncio.sleep(SNAPSHOT_RETRY_SECONDS)
        self.on_book(book)


class WsSnapshotVenue(Venue):
    """Books loaded from WebSocket snapshots and kept by exactly chained deltas."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.connection_seq = -1  # the connection's last message number; -1 before its first

    def resubscribe_messages(self, symbol: str) -> list[str]:
        """What makes the exchange send ``symbol``'s snapshot again."""
        raise NotImplementedError

    def checksum(self, book: OrderBook, bids: list, asks: list) -> object:
        """The exchange's checksum of ``book`` once a message's ``bids`` and ``asks`` are
        applied to it (only asked of exchanges that send one); what the exchange's book does
        beyond the levels (Kraken's depth cut, Bitget's texts) is done here."""
        raise NotImplementedError

    def snapshot(self, book: OrderBook, bids: list, asks: list, seq: int, version: int,
                 received_at: float, exchange_time: float, expected: object = None) -> None:
        """A snapshot replaces the book, whatever its state; ``expected``: the exchange's
        checksum of it (None: not checked)."""
        book.load_snapshot(bids, asks, seq, version, received_at, exchange_time)
        if expected is not None:
            self._verify(book, bids, asks, expected)
        self.on_book(book)

    def delta(self, book: OrderBook, bids: list, asks: list, prev: int, seq: int, version: int,
              received_at: float, exchange_time: float, expected: object = None) -> None:
        """A delta following update ``prev``; ignored before the (re)subscription's snapshot.
        ``expected``: the exchange's checksum of the book after it (None: not checked). A
        delta that crosses the book is checked first: a mismatch says an update was missed."""
        if book.state is SYNCING:
            return
        try:
            book.apply_next(bids, asks, prev, seq, version, received_at, exchange_time)
        except BookError as error:
            if error.reason == "crossed" and expected is not None:
                self._verify(book, bids, asks, expected)
            raise
        if expected is not None:
            self._verify(book, bids, asks, expected)
        self.on_book(book)

    def _verify(self, book: OrderBook, bids: list, asks: list, expected: object) -> None:
        ours = self.checksum(book, bids, asks)
        if ours != expected:
            raise BookError(book.symbol, "checksum",
                            f"the exchange's {expected}, the book's {ours}")

    def chain_connection(self, seq: int) -> None:
        """Message ``seq`` of the connection (exchanges that number them all): after a gap
        every book may have missed an update, so each is marked INVALID (the runner resyncs
        them all) and BookError ``gap`` is raised."""
        last, self.connection_seq = self.connection_seq, seq
        if last >= 0 and seq != last + 1:
            self.invalidate_all()
            raise BookError(next(iter(self.books)), "gap", f"message {seq} after {last}")

    def invalidate_all(self) -> None:
        """A message of the connection was lost (a gap, or one that could not be read): every
        book is marked INVALID, for the runner to resync."""
        for book in self.books.values():
            book.reset(INVALID)

    def reset_all(self) -> None:
        """The connection is gone: its books start over, and so does its numbering."""
        self.connection_seq = -1
        Venue.reset_all(self)

    async def resync(self, symbol: str, send: Send) -> None:
        for message in self.resubscribe_messages(symbol):
            await send(message)
