"""The Coinbase Advanced Trade adapter on the verbatim samples and its sync rule (one
``sequence_num`` per connection), and on a real recorded session when it is present."""
from __future__ import annotations

import asyncio
import heapq
from datetime import datetime, timezone

import orjson
import pytest

from reference_book import ReferenceBook
from samples import sample, shared_recording
from scanner.book import BookError, BookState, OrderBook
from scanner.exchanges.coinbase.feed import Coinbase
from scanner.feeds import FeedError, FeedStats
from scanner.feeds.runner import FeedRunner
from tests.markets import spot_book

STAMP = "2026-08-09T21:05:48.483587501Z"


def venue(*symbols: str) -> tuple[Coinbase, dict[str, OrderBook], list[OrderBook]]:
    changed: list[OrderBook] = []
    books = {symbol: spot_book("coinbase", symbol) for symbol in symbols}
    return Coinbase(books, changed.append), books, changed


def l2(seq: int, kind: str, product_id: str, *levels: tuple[str, str, str]) -> bytes:
    """An ``l2_data`` message as Coinbase sends it; levels are (side, price, new quantity)."""
    updates = [{"side": side, "event_time": STAMP, "price_level": price, "new_quantity": qty}
               for side, price, qty in levels]
    return orjson.dumps({"channel": "l2_data", "client_id": "", "timestamp": STAMP,
                         "sequence_num": seq,
                         "events": [{"type": kind, "product_id": product_id, "updates": updates}]})


def heartbeat(seq: int) -> bytes:
    return sample("coinbase", "heartbeats_ccxt_comment").replace(
        b'"sequence_num":0', b'"sequence_num":%d' % seq)


BTC_SNAPSHOT = (("bid", "100.5", "1"), ("bid", "100", "2"), ("offer", "101", "3"), ("offer", "102", "4"))
ETH_SNAPSHOT = (("bid", "10", "1"), ("offer", "11", "1"))


def test_subscribes_heartbeats_then_level2_one_channel_per_message():
    coinbase, _, _ = venue("BTC/USD", "ETH/USDC")
    assert coinbase.connect_url() == "wss://advanced-trade-ws.coinbase.com"
    assert [orjson.loads(m) for m in coinbase.subscribe_messages()] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USDC"], "channel": "level2"}]
    assert coinbase.ping_message() is None  # the heartbeats channel keeps the connection open


def test_verbatim_snapshot_loads_with_its_sequence_and_exchange_time():
    coinbase, books, changed = venue("BTC/USD")
    coinbase.handle(sample("coinbase", "l2_data_snapshot_ccxt_comment"), 5.0)
    book = books["BTC/USD"]
    assert book.bids.top(5) == [(21921.74, 0.06317902), (21921.3, 0.02)] and len(book.asks) == 0
    assert book.seq == 0 and changed == [book]
    expected = datetime(2023, 2, 9, 20, 32, 50, 714965, tzinfo=timezone.utc).timestamp()
    assert book.exchange_time == pytest.approx(expected, abs=1e-6)
    coinbase.handle(heartbeat(1), 6.0)  # the heartbeat carries the connection's sequence on
    assert changed == [book]


def test_updates_apply_absolute_quantities_and_wait_for_the_snapshot():
    coinbase, books, _ = venue("BTC/USD")
    book = books["BTC/USD"]
    coinbase.handle(l2(0, "update", "BTC-USD", ("bid", "99", "5")), 1.0)  # before the snapshot
    assert book.state is BookState.SYNCING and len(book.bids) == 0
    coinbase.handle(l2(1, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    coinbase.handle(heartbeat(2), 1.5)
    coinbase.handle(l2(3, "update", "BTC-USD", ("bid", "100", "0"), ("offer", "101", "0.5"),
                       ("offer", "100.9", "7")), 2.0)
    assert book.state is BookState.LIVE and book.seq == 3
    assert book.bids.top(5) == [(100.5, 1.0)]
    assert book.asks.top(5) == [(100.9, 7.0), (101.0, 0.5), (102.0, 4.0)]


def test_a_gap_in_the_connection_sequence_resyncs_every_book_and_is_no_disconnect():
    coinbase, books, _ = venue("BTC/USD", "ETH/USD")
    stats = FeedStats()
    runner = FeedRunner(coinbase, stats, replaying=True)
    runner.on_frame(l2(0, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    runner.on_frame(l2(1, "snapshot", "ETH-USD", *ETH_SNAPSHOT), 1.0)
    assert all(book.state is BookState.LIVE for book in books.values())
    runner.on_frame(l2(3, "update", "BTC-USD", ("bid", "100.6", "1")), 2.0)  # message 2 was lost
    assert stats.resyncs == {"gap": 2} and sum(stats.errors.values()) == 0
    assert all(book.state is BookState.SYNCING and len(book.bids) == 0 for book in books.values())
    runner.on_frame(l2(4, "snapshot", "ETH-USD", *ETH_SNAPSHOT), 3.0)  # the sequence runs on
    assert books["ETH/USD"].state is BookState.LIVE and stats.resyncs == {"gap": 2}


def test_a_gap_raises_for_the_books_and_a_new_connection_starts_a_new_sequence():
    coinbase, books, _ = venue("BTC/USD")
    coinbase.handle(l2(7, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    with pytest.raises(BookError) as error:
        coinbase.handle(heartbeat(9), 2.0)
    assert error.value.reason == "gap" and books["BTC/USD"].state is BookState.INVALID
    coinbase.reset_all()  # disconnected: the next connection counts from 0
    coinbase.handle(heartbeat(0), 3.0)
    coinbase.handle(l2(1, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 3.0)
    assert books["BTC/USD"].state is BookState.LIVE


def test_an_unreadable_level2_message_is_lost_for_every_book():
    coinbase, books, _ = venue("BTC/USD", "ETH/USD")
    stats = FeedStats()
    runner = FeedRunner(coinbase, stats, replaying=True)
    runner.on_frame(l2(0, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    runner.on_frame(l2(1, "snapshot", "ETH-USD", *ETH_SNAPSHOT), 1.0)
    runner.on_frame(l2(2, "update", "ETH-USD", ("ask", "11", "2")), 2.0)  # "ask" is no side
    assert stats.errors == {"malformed": 1} and stats.resyncs == {"malformed": 2}
    runner.on_frame(l2(3, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 3.0)  # resubscribed
    runner.on_frame(l2(4, "snapshot", "ETH-USD", *ETH_SNAPSHOT), 3.0)
    runner.on_frame(l2(5, "update", "BTC-USD", ("bid", "100,5", "2")), 4.0)  # not a price
    assert stats.resyncs == {"malformed": 3} and books["BTC/USD"].state is BookState.SYNCING
    assert books["ETH/USD"].state is BookState.LIVE  # the book knows which one broke


def test_usdc_book_takes_its_usd_twin_messages_unless_the_twin_is_configured():
    alone, books, _ = venue("BTC/USDC")
    alone.handle(l2(0, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    assert books["BTC/USDC"].state is BookState.LIVE
    both, books, _ = venue("BTC/USD", "BTC/USDC")
    both.handle(l2(0, "snapshot", "BTC-USD", *BTC_SNAPSHOT), 1.0)
    assert books["BTC/USD"].state is BookState.LIVE and books["BTC/USDC"].state is BookState.SYNCING


def test_error_message_drops_the_connection_and_resync_resubscribes_the_product():
    coinbase, _, _ = venue("ETH/USD")
    coinbase.handle(b'{"channel":"subscriptions","client_id":"","timestamp":"' + STAMP.encode()
                    + b'","sequence_num":0,"events":[{"subscriptions":{"level2":["ETH-USD"]}}]}', 1.0)
    with pytest.raises(FeedError, match="failure to subscribe"):
        coinbase.handle(b'{"type":"error","message":"failure to subscribe"}', 1.0)
    sent: list[str] = []

    async def send(message: str) -> None:
        sent.append(message)
    asyncio.run(coinbase.resync("ETH/USD", send))
    assert [orjson.loads(m) for m in sent] == [
        {"type": "unsubscribe", "product_ids": ["ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "level2"}]


def test_real_coinbase_session_books_equal_an_independent_reference():
    """The recorded 2026 session (AGPL-3.0 data beside the checkout; skipped when absent):
    every message on one connection in sequence, the best 50 levels of each side a message
    changed equal a reference's after it, and every level the book reads at the end."""
    records = shared_recording("COINBASE.jsonl.zst")
    coinbase, books, _ = venue("BTC/USD", "ETH/USD")
    references: dict[str, ReferenceBook] = {}
    compared = 0
    for record in records:
        if record["t"] != "recv":
            continue
        coinbase.handle(record["data"].encode(), record["ts"])  # a BookError here fails the test
        message = orjson.loads(record["data"])
        if message["channel"] != "l2_data":
            continue
        for event in message["events"]:
            symbol = event["product_id"].replace("-", "/")
            bids = [(u["price_level"], u["new_quantity"]) for u in event["updates"] if u["side"] == "bid"]
            asks = [(u["price_level"], u["new_quantity"]) for u in event["updates"] if u["side"] == "offer"]
            if event["type"] == "snapshot":
                references[symbol] = ReferenceBook(bids, asks)
            else:
                references[symbol].apply(bids, asks)
            book, reference = books[symbol], references[symbol]
            assert book.state is BookState.LIVE
            if bids:  # the sides this message changed
                assert book.bids.top(50) == heapq.nlargest(50, reference.bids.items()), symbol
            if asks:
                assert book.asks.top(50) == heapq.nsmallest(50, reference.asks.items()), symbol
            compared += 1
    assert compared == 775
    for symbol, book in books.items():  # the side keeps its best levels; past them, unknown
        for bids, side in ((True, book.bids), (False, book.asks)):
            known = list(side.levels())
            assert len(known) > 4000 and known == references[symbol].levels(bids)[:len(known)]
