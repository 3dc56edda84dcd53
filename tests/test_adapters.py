"""Each adapter parses the verbatim exchange samples and enforces its exchange's sync rules."""
from __future__ import annotations

import orjson
import pytest

from scanner.book import BookState, OrderBook
from scanner.book import BookError
from scanner.feeds import FeedError, FeedStats
from scanner.exchanges.binance.feed import Binance
from scanner.exchanges.bybit.feed import Bybit
from scanner.exchanges.kucoin.feed import Kucoin
from scanner.exchanges.okx.feed import Okx
from scanner.feeds.runner import FeedRunner
from scanner.instruments import Instrument
from tests.markets import spot_book
from tests.samples import sample


def venue(cls, *symbols):
    changed: list[OrderBook] = []
    books = {s: spot_book(cls.name, s, 50) for s in symbols}
    return cls(books, changed.append), books, changed


def combined(stream: str, payload: bytes) -> bytes:
    return b'{"stream":"%s","data":%s}' % (stream.encode(), payload)


def join(binance: Binance, book: OrderBook, snapshot: dict) -> bool:
    """Hand ``snapshot`` to the adapter as the REST answer for ``book``; whether it joined."""
    binance.on_rest("/api/v3/depth", {"symbol": book.instrument.id, "limit": 1000},
                    orjson.dumps(snapshot))
    return book.state is BookState.LIVE


def depth_event(first: int, last: int, bids=(), asks=()) -> bytes:
    return combined("btcusdt@depth@100ms", orjson.dumps(
        {"e": "depthUpdate", "E": 1672515782136, "s": "BTCUSDT", "U": first, "u": last,
         "b": list(bids), "a": list(asks)}))


# --- Binance -------------------------------------------------------------------------------

def test_binance_subscribes_to_depth_and_book_ticker_on_combined_stream():
    binance, _, _ = venue(Binance, "BTC/USDT")
    assert binance.connect_url() == "wss://stream.binance.com:9443/stream"
    (message,) = binance.subscribe_messages()
    assert orjson.loads(message) == {"method": "SUBSCRIBE", "id": 1,
                                     "params": ["btcusdt@depth@100ms", "btcusdt@bookTicker"]}


def test_binance_parses_verbatim_rest_snapshot_and_depth_update():
    binance, books, changed = venue(Binance, "BNB/BTC")
    snapshot = orjson.loads(sample("binance", "rest_depth_snapshot_GET_api_v3_depth"))
    assert join(binance, books["BNB/BTC"], snapshot)
    assert books["BNB/BTC"].best_ask() == 4.000002 and books["BNB/BTC"].seq == 1027024
    # the sample diff (U=157, u=160) joins a snapshot at 156 from the same era of prices
    join(binance, books["BNB/BTC"], {"lastUpdateId": 156, "bids": [["0.0023", "1"]], "asks": [["0.0027", "1"]]})
    binance.handle(combined("bnbbtc@depth@100ms", sample("binance", "depthUpdate")), 5.0)
    book = books["BNB/BTC"]
    assert book.state is BookState.LIVE and book.seq == 160
    assert book.bids.size_at(0.0024) == 10.0 and book.asks.size_at(0.0026) == 100.0
    assert book.exchange_time == pytest.approx(1672515782.136)
    assert changed[-1] is book


def test_binance_book_ticker_sample_patches_the_top():
    binance, books, changed = venue(Binance, "BNB/USDT")
    book = books["BNB/USDT"]
    book.load_snapshot([["25.3", "1"]], [["25.4", "1"]], 400900200, 400900200, 1.0)
    binance.handle(sample("binance", "derived__combined_stream_bookTicker"), 2.0)
    assert book.best_bid() == 25.3519 and book.bids.size_at(25.3519) == 31.21
    assert book.best_ask() == 25.3652 and book.asks.size_at(25.4) > 0
    assert changed == [book]


def test_binance_sync_buffers_until_snapshot_then_drops_old_and_applies_joining_diffs():
    binance, books, _ = venue(Binance, "BTC/USDT")
    book = books["BTC/USDT"]
    binance.handle(depth_event(90, 95, bids=[["99", "5"]]), 1.0)  # older than the snapshot
    binance.handle(depth_event(96, 102, asks=[["101", "7"]]), 1.0)  # contains lastUpdateId+1
    assert book.state is BookState.SYNCING
    assert join(binance, book, {"lastUpdateId": 100, "bids": [["100", "1"]], "asks": [["101", "1"]]})
    assert book.seq == 102 and book.asks.size_at(101.0) == 7.0 and book.bids.size_at(99.0) == 0
    binance.handle(depth_event(103, 104, bids=[["100", "2"]]), 2.0)
    assert book.bids.size_at(100.0) == 2.0 and book.seq == 104


def test_binance_snapshot_that_does_not_join_the_buffer_is_refetched():
    binance, books, _ = venue(Binance, "BTC/USDT")
    binance.handle(depth_event(110, 120), 1.0)
    assert not join(binance, books["BTC/USDT"], {"lastUpdateId": 100, "bids": [], "asks": []})


def test_binance_gap_triggers_resync():
    binance, books, _ = venue(Binance, "BTC/USDT")
    join(binance, books["BTC/USDT"], {"lastUpdateId": 100, "bids": [["100", "1"]], "asks": [["101", "1"]]})
    binance.handle(depth_event(101, 105), 1.0)
    with pytest.raises(BookError) as gap:
        binance.handle(depth_event(107, 110), 1.0)
    assert gap.value.reason == "gap" and gap.value.symbol == "BTC/USDT"


def test_binance_errors_and_shutdown_restart_the_connection():
    binance, _, _ = venue(Binance, "BTC/USDT")
    binance.handle(sample("binance", "subscribe_response"), 1.0)  # ack: nothing happens
    for name in ("error_4", "server_shutdown_combined", "server_shutdown_raw"):
        with pytest.raises(FeedError):
            binance.handle(sample("binance", name), 1.0)


# --- OKX -----------------------------------------------------------------------------------

def test_okx_parses_verbatim_snapshot_update_and_bbo():
    okx, books, changed = venue(Okx, "BTC/USDT")
    book = books["BTC/USDT"]
    okx.handle(sample("okx", "subscribe_response_books"), 1.0)
    okx.handle(sample("okx", "books_snapshot_docs_example"), 1.0)
    assert book.state is BookState.LIVE and book.seq == 123456
    assert book.best_ask() == 8476.98 and book.asks.size_at(8476.98) == 415.0
    assert len(book.bids) == 8
    okx.handle(sample("okx", "books_update_docs_example"), 2.0)
    assert book.seq == 123457 and changed[-1] is book
    okx.handle(b"pong", 3.0)


def test_okx_sequence_gap_triggers_resync_and_resync_resubscribes():
    okx, books, _ = venue(Okx, "BTC/USDT")
    okx.handle(sample("okx", "books_snapshot_docs_example"), 1.0)
    update = orjson.loads(sample("okx", "books_update_docs_example"))
    update["data"][0]["prevSeqId"] = 123455
    with pytest.raises(BookError):
        okx.handle(orjson.dumps(update), 2.0)
    sent: list[str] = []

    async def send(message: str) -> None:
        sent.append(message)

    import asyncio
    asyncio.run(okx.resync("BTC/USDT", send))
    assert [orjson.loads(m)["op"] for m in sent] == ["unsubscribe", "subscribe"]
    assert orjson.loads(sent[1])["args"][0] == {"channel": "books", "instId": "BTC-USDT"}


def test_okx_idle_message_keeps_sync():
    okx, books, _ = venue(Okx, "BTC/USDT")
    okx.handle(sample("okx", "books_snapshot_docs_example"), 1.0)
    idle = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
            "data": [{"asks": [], "bids": [], "ts": "1597026384000", "checksum": 0,
                      "prevSeqId": 123456, "seqId": 123456}]}
    okx.handle(orjson.dumps(idle), 2.0)
    assert books["BTC/USDT"].state is BookState.LIVE


def test_okx_bbo_tbt_sample_patches_the_top():
    perp = Instrument.of("okx", "BCH/USDT:USDT", "BCH-USDT-SWAP", contract_size=0.1)
    book = OrderBook("okx", perp.symbol, 50, instrument=perp)
    okx = Okx({perp.symbol: book}, lambda book: None)  # the sample is of OKX's BCH swap
    assert list(okx.by_id) == ["BCH-USDT-SWAP"]
    book.load_snapshot([["111", "1"]], [["111.1", "1"]], 1, 1670324386000, 1.0)
    okx.handle(sample("okx", "bbo_tbt_docs_example"), 2.0)
    assert book.best_bid() == 111.05 and book.best_ask() == 111.06


def test_okx_error_event_restarts_the_connection():
    okx, _, _ = venue(Okx, "BTC/USDT")
    with pytest.raises(FeedError, match="60012"):
        okx.handle(sample("okx", "subscribe_failure_60012"), 1.0)


# --- Bybit ---------------------------------------------------------------------------------

def bybit_delta(u: int, bids=(), asks=()) -> bytes:
    return orjson.dumps({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1687940967466 + u,
                         "data": {"s": "BTCUSDT", "b": list(bids), "a": list(asks), "u": u, "seq": u},
                         "cts": 1687940967464 + u})


def test_bybit_parses_verbatim_snapshot_and_delta():
    bybit, books, _ = venue(Bybit, "BTC/USDT")
    book = books["BTC/USDT"]
    bybit.handle(sample("bybit", "subscribe_response_public_spot"), 1.0)
    bybit.handle(sample("bybit", "orderbook_50_snapshot_linear_BTCUSDT__ellipsis_removed"), 1.0)
    assert book.state is BookState.LIVE and book.seq == 18521288
    assert book.best_bid() == 16493.5 and book.best_ask() == 16611.0
    # the sample delta (u=177400507) follows a snapshot of its own era
    book.load_snapshot([["30240.00", "1"], ["30239", "1"]], [["30248.70", "1"], ["30249.60", "1"]],
                       177400506, 0, 1.0)
    bybit.handle(sample("bybit", "orderbook_50_delta_linear_BTCUSDT"), 2.0)
    assert book.seq == 177400507 and book.best_ask() == 30249.3
    assert book.bids.size_at(30247.2) == 30.028 and book.bids.size_at(30240.0) == 0


def test_bybit_update_id_gap_triggers_resync_and_new_snapshot_resets():
    bybit, books, _ = venue(Bybit, "BTC/USDT")
    book = books["BTC/USDT"]
    bybit.handle(sample("bybit", "orderbook_50_snapshot_linear_BTCUSDT__ellipsis_removed"), 1.0)
    bybit.handle(bybit_delta(18521289, bids=[["16494", "1"]]), 2.0)
    with pytest.raises(BookError):
        bybit.handle(bybit_delta(18521291), 2.0)
    # a snapshot (e.g. u=1 after a Bybit restart) replaces the book whatever its state
    book.reset()
    restart = orjson.loads(sample("bybit", "orderbook_50_snapshot_linear_BTCUSDT__ellipsis_removed"))
    restart["data"].update(u=1, b=[["17000", "1"]], a=[["17001", "1"]])
    bybit.handle(orjson.dumps(restart), 3.0)
    assert book.state is BookState.LIVE and book.seq == 1 and book.best_bid() == 17000.0


def test_bybit_pong_and_failures():
    bybit, _, _ = venue(Bybit, "BTC/USDT")
    bybit.handle(sample("bybit", "pong_public_spot"), 1.0)
    with pytest.raises(FeedError):
        bybit.handle(b'{"success":false,"ret_msg":"Invalid topic","op":"subscribe"}', 1.0)
    assert orjson.loads(bybit.ping_message())["op"] == "ping"


# --- Malformed frames, through the runner ---------------------------------------------------

def test_a_frame_that_fails_half_way_is_counted_and_its_book_rebuilt_never_used_half_applied():
    bybit, books, changed = venue(Bybit, "BTC/USDT")
    stats = FeedStats()
    runner = FeedRunner(bybit, stats, replaying=True)
    book = books["BTC/USDT"]
    runner.on_frame(sample("bybit", "orderbook_50_snapshot_linear_BTCUSDT__ellipsis_removed"), 1.0)
    assert book.state is BookState.LIVE
    # the first bid applies, the second is not a price: the book must not stay live half-updated
    runner.on_frame(bybit_delta(18521289, bids=[["16494", "1"], ["16493,5", "2"]]), 2.0)
    assert stats.errors["malformed"] == 1 and stats.resyncs["malformed"] == 1
    assert book.state is BookState.SYNCING and changed[-1] is book
    # an update id that does not fit the book's 64-bit sequence is a malformed frame, not a crash
    snapshot = sample("bybit", "orderbook_50_snapshot_linear_BTCUSDT__ellipsis_removed")
    runner.on_frame(snapshot.replace(b'"u":18521288', b'"u":%d' % 2**63), 3.0)
    assert stats.errors["malformed"] == 2 and book.state is BookState.SYNCING
    runner.on_frame(snapshot, 4.0)
    assert book.state is BookState.LIVE


# --- KuCoin --------------------------------------------------------------------------------

def kucoin_rest(kucoin: Kucoin, path: str, data: bytes, **params: str) -> None:
    """Hand ``data`` (a sample's ``data`` object) to the adapter as KuCoin's REST answer."""
    kucoin.on_rest(path, params, b'{"code":"200000","data":%s}' % data)


def l2update(start: int, end: int, bids=(), asks=()) -> bytes:
    return orjson.dumps({"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update",
                         "data": {"changes": {"asks": list(asks), "bids": list(bids)}, "sequenceEnd": end,
                                  "sequenceStart": start, "symbol": "BTC-USDT", "time": 1663747970273}})


def kucoin_snapshot(kucoin: Kucoin, sequence: int, bids, asks) -> None:
    kucoin_rest(kucoin, "/api/v1/market/orderbook/level2_100", orjson.dumps(
        {"sequence": str(sequence), "time": 1, "bids": bids, "asks": asks}), symbol="BTC-USDT")


def test_kucoin_token_answer_sets_the_endpoint_and_the_server_ping_interval():
    kucoin, _, _ = venue(Kucoin, "BTC/USDT")
    assert kucoin.ping_interval is None and kucoin.connect_url() == ""
    kucoin.on_rest("/api/v1/bullet-public", {}, sample("kucoin", "rest_bullet_public_response"))
    token = orjson.loads(sample("kucoin", "rest_bullet_public_response"))["data"]["token"]
    url = kucoin.connect_url()
    assert url.startswith("wss://ws-api-spot.kucoin.com/?token=" + token + "&connectId=")
    assert kucoin.ping_interval == 18.0
    ping = orjson.loads(kucoin.ping_message())
    assert ping["type"] == "ping" and ping["id"] != orjson.loads(kucoin.ping_message())["id"]
    assert kucoin.is_welcome(sample("kucoin", "welcome"))
    assert not kucoin.is_welcome(sample("kucoin", "pong"))
    with pytest.raises(FeedError):
        kucoin.apply_rest("/api/v1/bullet-public", {}, b'{"code":"429000","msg":"Too Many Requests"}')


def test_kucoin_subscribes_level2_at_most_100_topics_per_message():
    symbols = [f"C{i:03d}/USDT" for i in range(250)]
    kucoin, _, _ = venue(Kucoin, *symbols)
    messages = [orjson.loads(m) for m in kucoin.subscribe_messages()]
    template = orjson.loads(sample("kucoin", "subscribe_request_ticker"))
    assert [set(m) for m in messages] == [set(template)] * 3
    topics = [m["topic"].removeprefix("/market/level2:").split(",") for m in messages]
    assert [len(t) for t in topics] == [100, 100, 50] and topics[0][0] == "C000-USDT"
    assert {m["type"] for m in messages} == {"subscribe"} and all(m["response"] for m in messages)
    assert Kucoin.max_books_per_connection == 300


def test_kucoin_parses_verbatim_snapshot_and_l2update():
    kucoin, books, changed = venue(Kucoin, "BTC/USDT")
    book = books["BTC/USDT"]
    rest = orjson.loads(sample("kucoin", "rest_orderbook_level2_20_response"))
    kucoin_rest(kucoin, "/api/v1/market/orderbook/level2_100", sample("kucoin", "rest_orderbook_level2_20_response"),
                symbol="BTC-USDT")
    assert book.state is BookState.LIVE and book.seq == int(rest["sequence"])
    assert book.best_bid() == 6500.12 and book.best_ask() == 6500.15
    # the sample update (sequence 14103844..14103847) overlaps a snapshot at 14103845 of its era:
    # the changes the snapshot has (their own sequence <= 14103845) are not applied again
    kucoin_snapshot(kucoin, 14103845, [["18891.9", "1"]], [["18906", "5"], ["18907.3", "5"]])
    kucoin.handle(sample("kucoin", "level2_l2update"), 2.0)
    assert book.seq == 14103847 and changed[-1] is book
    assert book.bids.size_at(18891.9) == 0.15688
    assert book.asks.size_at(18906.0) == 5.0 and book.asks.size_at(18907.3) == 5.0
    assert book.exchange_time == pytest.approx(1663747970.273)


def test_kucoin_change_at_price_zero_only_advances_the_sequence():
    kucoin, books, _ = venue(Kucoin, "BTC/USDT")
    book = books["BTC/USDT"]
    kucoin_snapshot(kucoin, 100, [["100", "1"]], [["101", "1"]])
    kucoin.handle(l2update(101, 102, asks=[["0", "3", "101"], ["101", "2", "102"]]), 1.0)
    assert book.state is BookState.LIVE and book.seq == 102
    assert book.best_ask() == 101.0 and book.asks.size_at(101.0) == 2.0 and len(book.asks) == 1


def test_kucoin_buffers_until_the_snapshot_and_a_gap_resyncs():
    kucoin, books, _ = venue(Kucoin, "BTC/USDT")
    book = books["BTC/USDT"]
    kucoin.handle(l2update(90, 95, bids=[["99", "5", "95"]]), 1.0)  # older than the snapshot
    kucoin.handle(l2update(96, 102, asks=[["101", "7", "102"]]), 1.0)  # joins it
    assert book.state is BookState.SYNCING
    kucoin_snapshot(kucoin, 100, [["100", "1"]], [["101", "1"]])
    assert book.seq == 102 and book.asks.size_at(101.0) == 7.0 and book.bids.size_at(99.0) == 0
    with pytest.raises(BookError) as gap:
        kucoin.handle(l2update(104, 105), 2.0)
    assert gap.value.reason == "gap" and gap.value.symbol == "BTC/USDT"
    book.reset()  # what the runner does before it asks for a new snapshot
    kucoin.handle(l2update(106, 110), 2.0)  # buffered
    kucoin_snapshot(kucoin, 90, [["100", "1"]], [["101", "1"]])  # does not join the buffer
    assert book.state is BookState.SYNCING


def test_kucoin_acks_pongs_and_errors():
    kucoin, _, _ = venue(Kucoin, "BTC/USDT")
    for name in ("welcome", "pong", "subscribe_ack", "unsubscribe_ack"):
        kucoin.handle(sample("kucoin", name), 1.0)
    with pytest.raises(FeedError, match="401"):
        kucoin.handle(b'{"id":"1","type":"error","code":401,"data":"token is invalid"}', 1.0)
    with pytest.raises(FeedError, match="401"):
        kucoin.is_welcome(b'{"id":"1","type":"error","code":401,"data":"token is invalid"}')
