"""The Gate adapter on the verbatim samples (tests/data/exchange-samples/gate.json) and on the
examples of Gate's "Spot WebSocket v4" docs (quoted below), and its sync rules."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from scanner.book import BookError, BookState, OrderBook
from scanner.exchanges.gate.feed import Gate
from scanner.feeds import FeedError
from tests.markets import spot_book
from tests.samples import sample

# Gate's docs, "Order Book V2 API" and "Application ping pong" (whitespace removed)
DOC_OBU_FULL = (b'{"channel":"spot.obu","result":{"t":1747054612673,"full":true,"s":"ob.BTC_USDT.50",'
                b'"u":73777715168,"b":[["104027.1","509392"],["104027","477932"]],'
                b'"a":[["104027.2","44617"],["104027.4","39322"]]},"time_ms":1747054612848}')
DOC_OBU_UPDATE = (b'{"channel":"spot.obu","result":{"t":1747054612695,"s":"ob.BTC_USDT.50",'
                  b'"U":73777715169,"u":73777715212,"b":[["104024.5","10343"],["104014.5","509392"]],'
                  b'"a":[["104027.2","0"],["104027.4","0"]]},"time_ms":1747054612925}')
DOC_SUBSCRIBED = (b'{"time":1747054611,"time_ms":1747054611614,"conn_id":"d7de96c024f2a5b2",'
                  b'"trace_id":"e6fd9bdd617fcdb80d0762ffa33e71f6","channel":"spot.obu","event":"subscribe",'
                  b'"payload":["ob.BTC_USDT.50"],"result":{"status":"success"}}')
DOC_ALREADY_SUBSCRIBED = (b'{"time":1747391482,"time_ms":1747391482960,"id":1,"conn_id":"d9db9373dc5e081e",'
                          b'"trace_id":"ee001938590e183db957bd5ba71651c0","channel":"spot.obu",'
                          b'"event":"subscribe","payload":["ob.BTC_USDT.400"],'
                          b'"error":{"code":2,"message":"Alert sub ob.BTC_USDT.400"},"result":{"status":"fail"}}')
DOC_PONG = b'{"time":1545404023,"channel":"spot.pong","event":"","error":null,"result":null}'


def at_400(frame: bytes) -> bytes:
    """A sample of a 50-level stream as the 400-level stream the adapter subscribes to."""
    return frame.replace(b'.50"', b'.400"')


def venue(*symbols: str) -> tuple[Gate, dict[str, OrderBook], list[OrderBook]]:
    changed: list[OrderBook] = []
    books = {s: spot_book("gate", s) for s in symbols}
    return Gate(books, changed.append), books, changed


def update(first: int, last: int, bids=(), asks=(), t: int = 1747054613000) -> bytes:
    return orjson.dumps({"channel": "spot.obu", "result": {
        "t": t, "s": "ob.BTC_USDT.400", "U": first, "u": last, "b": list(bids), "a": list(asks)},
        "time_ms": t, "event": "update"})


def sent_by(coroutine_of_send) -> list[dict]:
    sent: list[str] = []

    async def send(message: str) -> None:
        sent.append(message)

    asyncio.run(coroutine_of_send(send))
    return [orjson.loads(message) for message in sent]


def test_subscribes_to_the_400_level_obu_stream_and_book_ticker_like_the_samples():
    gate, books, _ = venue("BTC/USDT", "ETH/USDT")
    assert gate.connect_url() == "wss://api.gateio.ws/ws/v4/"
    assert books["BTC/USDT"].bids.depth == 400
    obu, ticker = map(orjson.loads, gate.subscribe_messages())
    shape = orjson.loads(sample("gate", "derived__subscribe_spot_obu"))
    assert obu.keys() == shape.keys() and abs(obu["time"] - time.time()) < 5
    assert obu["channel"] == "spot.obu" and obu["event"] == "subscribe"
    assert obu["payload"] == ["ob.BTC_USDT.400", "ob.ETH_USDT.400"]
    assert ticker["channel"] == "spot.book_ticker" and ticker["payload"] == ["BTC_USDT", "ETH_USDT"]


def test_ping_is_spot_ping_with_the_time_and_the_pong_is_taken_quietly():
    gate, _, changed = venue("BTC/USDT")
    ping = orjson.loads(gate.ping_message())
    assert ping.keys() == orjson.loads(sample("gate", "derived__ping")).keys()
    assert ping["channel"] == "spot.ping" and abs(ping["time"] - time.time()) < 5
    assert gate.ping_interval == 5.0
    gate.handle(DOC_PONG, 1.0)
    gate.handle(DOC_SUBSCRIBED, 1.0)
    assert changed == []


def test_parses_verbatim_obu_snapshot_then_the_docs_update():
    gate, books, changed = venue("XRP/USDT", "BTC/USDT")
    gate.handle(at_400(sample("gate", "spot_obu_snapshot_ccxt_comment")), 1.0)
    xrp = books["XRP/USDT"]
    assert xrp.state is BookState.LIVE and xrp.seq == 9649549324
    assert xrp.best_bid() == 1.414 and xrp.asks.size_at(1.415) == 17344.926
    assert xrp.exchange_time == pytest.approx(1777275365.213)
    btc = books["BTC/USDT"]
    gate.handle(at_400(DOC_OBU_FULL), 2.0)
    gate.handle(at_400(DOC_OBU_UPDATE), 3.0)  # U = u + 1 of the snapshot: applies
    assert btc.state is BookState.LIVE and btc.seq == 73777715212
    assert btc.best_bid() == 104027.1 and btc.bids.size_at(104024.5) == 10343.0
    assert btc.asks.size_at(104027.2) == 0 and len(btc.asks) == 0
    assert changed == [xrp, btc, btc]


def test_verbatim_book_ticker_patches_the_top_of_a_live_book():
    gate, books, changed = venue("BTC/USDT")
    book = books["BTC/USDT"]
    gate.handle(orjson.dumps({"channel": "spot.obu", "result": {
        "t": 1671363004000, "full": True, "s": "ob.BTC_USDT.400", "u": 9793320400,
        "b": [["16716.5", "1"], ["16716", "2"]], "a": [["16717", "1"]]}}), 1.0)
    gate.handle(sample("gate", "spot_book_ticker_ccxt_comment"), 2.0)
    assert book.best_bid() == 16716.8 and book.bids.size_at(16716.8) == 0.0134
    assert book.best_ask() == 16716.9 and book.asks.size_at(16717.0) == 1.0
    assert changed == [book, book]


def test_classic_order_book_update_channel_is_not_read():
    gate, books, changed = venue("GMT/USDT")
    gate.handle(sample("gate", "spot_order_book_update_ccxt_comment"), 1.0)
    assert changed == [] and books["GMT/USDT"].state is BookState.SYNCING


def test_updates_before_the_snapshot_are_skipped():
    gate, books, changed = venue("BTC/USDT")
    gate.handle(update(5, 6, bids=[["100", "1"]]), 1.0)
    assert changed == [] and len(books["BTC/USDT"].bids) == 0


def test_a_gap_in_u_raises_and_resync_resubscribes_that_stream_only():
    gate, books, _ = venue("BTC/USDT", "ETH/USDT")
    gate.handle(at_400(DOC_OBU_FULL), 1.0)
    gate.handle(update(73777715169, 73777715170, bids=[["104000", "1"]]), 2.0)
    with pytest.raises(BookError) as error:
        gate.handle(update(73777715172, 73777715180), 3.0)  # 73777715171 is missing
    assert error.value.reason == "gap"
    sent = sent_by(lambda send: gate.resync("BTC/USDT", send))
    assert [(m["channel"], m["event"], m["payload"]) for m in sent] == [
        ("spot.obu", "unsubscribe", ["ob.BTC_USDT.400"]), ("spot.obu", "subscribe", ["ob.BTC_USDT.400"])]


def test_a_full_push_replaces_the_book_at_any_time():
    gate, books, _ = venue("BTC/USDT")
    book = books["BTC/USDT"]
    gate.handle(at_400(DOC_OBU_FULL), 1.0)
    gate.handle(orjson.dumps({"channel": "spot.obu", "result": {
        "t": 1747054619000, "full": True, "s": "ob.BTC_USDT.400", "u": 5,
        "b": [["99", "1"]], "a": [["101", "2"]]}}), 2.0)
    assert book.seq == 5 and book.best_bid() == 99.0 and len(book.bids) == 1
    gate.handle(update(6, 6, asks=[["100.5", "1"]]), 3.0)
    assert book.best_ask() == 100.5


def test_a_crossing_update_raises_crossed():
    gate, books, _ = venue("BTC/USDT")
    gate.handle(at_400(DOC_OBU_FULL), 1.0)
    with pytest.raises(BookError) as error:
        gate.handle(update(73777715169, 73777715169, bids=[["104030", "1"]]), 2.0)
    assert error.value.reason == "crossed"


def test_an_error_reply_restarts_the_connection():
    gate, _, _ = venue("BTC/USDT")
    with pytest.raises(FeedError, match="Alert sub ob.BTC_USDT.400"):
        gate.handle(DOC_ALREADY_SUBSCRIBED, 1.0)
