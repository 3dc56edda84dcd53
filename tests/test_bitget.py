"""Bitget v2 spot: the checksum against Bitget's documented examples, the adapter on the verbatim
samples and its sync rules (seq +1, checksum on every update), the simulated exchange agreeing
with the adapter frame by frame, and its benchmark streams."""
from __future__ import annotations

import asyncio
import random
import zlib

import orjson
import pytest

from scanner.bench.frames import KINDS, build
from scanner.bench.rig import bench_symbols, load_books, offline_scanner
from scanner.book import BookError, BookState, OrderBook
from scanner.exchanges.bitget.checksum import TextBook
from scanner.exchanges.bitget.feed import Bitget
from scanner.feeds.jsonscan import BooksUpdate
from scanner.exchanges.bitget.sim import book_checksum
from scanner.feeds import FeedError, FeedStats
from scanner.feeds.runner import FeedRunner
from scanner.sim.servers import SimulatedExchanges
from tests.markets import spot_book
from tests.samples import sample

# Bitget's "Depth Channel" docs, "Calculate Checksum" (the examples are OKX's, with values):
# more than 25 levels would be cut to 25; fewer are skipped where a side runs out.
DOC_EVEN = ([["43231.1", "4"], ["43231", "6"]], [["43232.8", "9"], ["43232.9", "8"]])
DOC_EVEN_STRING = "43231.1:4:43232.8:9:43231:6:43232.9:8"
DOC_ODD = ([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]])
DOC_ODD_STRING = "3366.1:7:3366.8:9:3368:8:3372:8"
DOC_ODD_CHECKSUM = 831078360  # the published value of that example


def text_book(bids, asks) -> TextBook:
    texts = TextBook(spot_book("bitget", "BTC/USDT"))
    texts.load([list(level) for level in bids], [list(level) for level in asks])
    return texts


def signed(crc: int) -> int:
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@pytest.mark.parametrize("checksum", [book_checksum, lambda bids, asks: text_book(bids, asks).checksum()],
                         ids=["simulator", "adapter"])
def test_checksum_matches_the_documented_examples(checksum):
    assert checksum(*DOC_ODD) == DOC_ODD_CHECKSUM
    assert checksum(*DOC_EVEN) == signed(zlib.crc32(DOC_EVEN_STRING.encode())) == -1504501796
    assert signed(zlib.crc32(DOC_ODD_STRING.encode())) == DOC_ODD_CHECKSUM


def test_checksum_uses_the_exchange_texts_and_only_the_best_25_levels():
    assert text_book([["0.5000", "1"]], [["0.6", "1"]]).checksum() \
        != text_book([["0.5", "1"]], [["0.6", "1"]]).checksum()  # "0.5000", not "0.5"
    bids = [[f"{100 - i}.00", f"{i + 1}.000"] for i in range(40)]
    asks = [[f"{101 + i}.00", "2.000"] for i in range(30)]
    texts = text_book(bids, asks)
    assert texts.checksum() == book_checksum(bids, asks) == book_checksum(bids[:25], asks[:25])
    texts.apply([["99.00", "0"], ["60.00", "7.000"]], [["100.50", "1.500"]])  # delete, deep, new best
    bids = [level for level in bids if level[0] != "99.00"] + [["60.00", "7.000"]]
    asks = [["100.50", "1.500"], *asks]
    assert texts.checksum() == book_checksum(bids, asks)
    assert texts.bids.levels()[:2] == [["100.00", "1.000"], ["98.00", "3.000"]]


def test_texts_follow_any_sequence_of_inserts_changes_and_deletes():
    rng = random.Random(11)
    texts = TextBook(spot_book("bitget", "BTC/USDT"))
    truth: tuple[dict[int, str], dict[int, str]] = ({}, {})
    for step in range(3000):
        side = step % 2
        ticks = rng.randrange(1, 400) * (1 if side else -1) + (1000 if side else 999)
        size = "0" if rng.random() < 0.35 else f"{rng.randrange(1, 10**6) / 10**4:.4f}"
        level = [[f"{ticks / 100:.2f}", size]]
        texts.apply([] if side else level, level if side else [])
        if size == "0":
            truth[side].pop(ticks, None)
        else:
            truth[side][ticks] = size
        if step % 500 == 499:
            texts.load(*([[f"{t / 100:.2f}", z] for t, z in sorted(truth[s].items(), reverse=not s)]
                         for s in (0, 1)))
    bids, asks = ([[f"{t / 100:.2f}", z] for t, z in sorted(truth[s].items(), reverse=not s)] for s in (0, 1))
    assert texts.bids.levels() == bids and texts.asks.levels() == asks and len(bids) > 100
    assert texts.checksum() == book_checksum(bids, asks)


def test_a_long_text_widens_the_side_and_every_text_is_kept():
    bids = [[f"{100 - i}.00", f"{i + 1}.000"] for i in range(70)]  # past the first 64 slots
    asks = [[f"{101 + i}.00", "2.000"] for i in range(30)]
    texts = text_book(bids, asks)
    long_bid = ["99.5000000000000001", "123456789012.1234567"]  # 40 characters with its ":"
    long_ask = ["101.50000000000000", "0.000000000000000000000000001"]  # 48
    texts.apply([long_bid], [long_ask])
    bids, asks = [bids[0], long_bid, *bids[1:]], [asks[0], long_ask, *asks[1:]]
    assert texts.bids.levels() == bids and texts.asks.levels() == asks
    assert texts.checksum() == book_checksum(bids, asks)
    texts.load(bids, asks)  # a snapshot that holds them
    assert texts.bids.levels() == bids and texts.checksum() == book_checksum(bids, asks)
    assert text_book(bids, asks).checksum() == book_checksum(bids, asks)
    with pytest.raises(BookError, match="malformed"):
        texts.apply([["1." + "0" * 40, "1." + "0" * 30]], [])  # more than a slot holds


def venue(*symbols: str) -> tuple[Bitget, dict[str, OrderBook], list[OrderBook]]:
    changed: list[OrderBook] = []
    books = {symbol: spot_book("bitget", symbol) for symbol in symbols}
    return Bitget(books, changed.append), books, changed


def update(seq: int, bids, asks, checksum: int, inst_id: str = "BTCUSDT") -> bytes:
    return orjson.dumps({"action": "update", "arg": {"instType": "SPOT", "channel": "books", "instId": inst_id},
                         "data": [{"asks": asks, "bids": bids, "checksum": checksum, "seq": seq,
                                   "ts": "1695710946394"}], "ts": 1695710946394})


def snapshot_sample() -> tuple[bytes, list, list]:
    """The docs' spot push (channel renamed ``books``), levels best first."""
    frame = sample("bitget", "books5_snapshot_spot_ccxt_comment").replace(b'"books5"', b'"books"')
    data = orjson.loads(frame)["data"][0]
    return frame.replace(b'"ts":"1656413855484"', b'"seq":500,"ts":"1656413855484"'), data["bids"], data["asks"]


def test_subscribes_to_books_pings_with_text_and_resubscribes_to_resync():
    bitget, _, _ = venue("BTC/USDT", "ETH/USDT")
    assert [orjson.loads(m) for m in bitget.subscribe_messages()] == [{"op": "subscribe", "args": [
        {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "books", "instId": "ETHUSDT"}]}]
    assert bitget.ping_message() == sample("bitget", "ping_text").decode()
    sent: list[dict] = []

    async def send(message: str) -> None:
        sent.append(orjson.loads(message))
    asyncio.run(bitget.resync("ETH/USDT", send))
    assert [(m["op"], m["args"][0]["instId"]) for m in sent] == [("unsubscribe", "ETHUSDT"), ("subscribe", "ETHUSDT")]


def test_parses_the_spot_sample_and_verifies_each_update_checksum():
    bitget, books, changed = venue("BTC/USDT")
    book = books["BTC/USDT"]
    frame, bids, asks = snapshot_sample()
    bitget.handle(sample("bitget", "subscribe_response_books5_futures_docs"), 0.5)
    bitget.handle(frame, 1.0)  # a snapshot's checksum is not checked (the sample's does not recompute)
    assert book.state is BookState.LIVE and changed == [book] and book.seq == 500
    assert book.best_bid() == 21040.76 and book.best_ask() == 21041.11
    bids = [["21040.90", "0.5000"], *bids[1:]]  # best bid replaced: its size text keeps its zeros
    asks = [asks[0], ["21041.16", "0.0400"], *asks[2:]]
    bitget.handle(update(501, [["21040.76", "0"], ["21040.90", "0.5000"]], [["21041.16", "0.0400"]],
                         book_checksum(bids, asks)), 2.0)
    assert book.seq == 501 and book.best_bid() == 21040.9 and book.asks.size_at(21041.16) == 0.04
    bitget.handle(sample("bitget", "pong_text"), 3.0)
    with pytest.raises(BookError) as error:
        bitget.handle(update(502, [["21040.90", "0.5001"]], [], book_checksum(bids, asks)), 4.0)
    assert error.value.reason == "checksum" and error.value.symbol == "BTC/USDT"


def bitget_update() -> BooksUpdate:
    return BooksUpdate(b"", (b"seq", b"checksum"), 2)  # as the feed reads its updates


PLAIN_UPDATE = update(501, [["21040.90", "0.5000"]], [["21041.16", "0.0400"], ["21041.20", "0"]], -7)


@pytest.mark.parametrize("frame", [
    PLAIN_UPDATE,
    b' { "ts" : 1 , "data" : [ { "ts" : "1695710946394", "seq" : 501, "checksum" : -7, "x" : '
    b'{"a": [1.5, -0, true, false, null, "z", {}, []]}, "bids" : [ [ "21040.90" , "0.5000" ] ] ,'
    b' "asks" : [["21041.16", "0.0400"], ["21041.20", "0"]] } ] ,\n "arg" : { "instId" : "BTCUSDT" },'
    b' "action" : "update" }\r\n',
], ids=["compact", "spaced-reordered-unknown-keys"])
def test_the_frame_reader_reads_an_update_as_orjson_does(frame):
    data = orjson.loads(frame)["data"][0]
    update_ = bitget_update()
    assert update_.scan(frame)
    assert update_.inst_id_text() == "BTCUSDT" and update_.fields == (1695710946394, 501, -7)
    assert update_.bids.texts() == data["bids"] and update_.asks.texts() == data["asks"]


@pytest.mark.parametrize("frame", [
    snapshot_sample()[0],
    sample("bitget", "subscribe_response_books5_futures_docs"),
    PLAIN_UPDATE.replace(b'"21040.90"', b'"2104\\u00300.90"'),  # an escape: orjson decodes it
    PLAIN_UPDATE.replace(b'"0.5000"', "\"0.5000\u00e9\"".encode()),  # not ASCII
    PLAIN_UPDATE.replace(b'"seq":501', b'"seq":501,"seq":502'),  # orjson keeps the last
    PLAIN_UPDATE.replace(b'"seq":501', b'"seq":501.0'),
    PLAIN_UPDATE.replace(b'}],"ts"', b'},{}],"ts"'),  # two data objects
    PLAIN_UPDATE.replace(b'["21040.90","0.5000"]', b'["21040.90","0.5000","1"]'),
    PLAIN_UPDATE.replace(b'"instId":"BTCUSDT"', b'"instId":"BTCUSDT","x":01'),  # not JSON
    PLAIN_UPDATE[:-1],
    PLAIN_UPDATE + b"x",
], ids=["snapshot", "ack", "escape", "non-ascii", "duplicate-key", "float-seq", "two-data",
        "three-texts", "bad-number", "truncated", "trailing"])
def test_the_frame_reader_leaves_anything_but_a_plain_update_to_orjson(frame):
    assert not bitget_update().scan(frame)


def test_an_update_the_reader_leaves_to_orjson_is_applied_the_same():
    frame, bids, asks = snapshot_sample()
    bids = [["21040.90", "0.5000"], *bids[1:]]
    escaped = update(501, [["21040.76", "0"], ["21040.90", "0.5000"]], [], book_checksum(bids, asks))
    escaped = escaped.replace(b'"0.5000"', b'"0.50\\u00300"')
    for diff in (escaped.replace(b'\\u0030', b'0'), escaped):
        bitget, books, _ = venue("BTC/USDT")
        bitget.handle(frame, 1.0)
        bitget.handle(diff, 2.0)  # the checksum verified: the texts are the wire's, decoded
        assert books["BTC/USDT"].seq == 501 and books["BTC/USDT"].best_bid() == 21040.9


def test_a_skipped_seq_is_a_gap_and_updates_before_the_snapshot_are_ignored():
    bitget, books, changed = venue("BTC/USDT")
    bitget.handle(update(7, [["1.00", "1.0"]], [], 0), 1.0)
    assert books["BTC/USDT"].state is BookState.SYNCING and not changed
    bitget.handle(snapshot_sample()[0], 2.0)
    with pytest.raises(BookError) as error:
        bitget.handle(update(502, [], [], 0), 3.0)
    assert error.value.reason == "gap"


def test_an_error_event_restarts_the_connection():
    bitget, _, _ = venue("BTC/USDT")
    with pytest.raises(FeedError, match="30001"):
        bitget.handle(sample("bitget", "error_30001_ccxt_comment"), 1.0)


def test_the_runner_counts_a_checksum_mismatch_and_resyncs_only_that_book():
    bitget, books, _ = venue("BTC/USDT", "ETH/USDT")
    stats = FeedStats()
    runner = FeedRunner(bitget, stats, replaying=True)
    frame = snapshot_sample()[0]
    runner.on_frame(frame, 1.0)
    runner.on_frame(frame.replace(b'"BTCUSDT"', b'"ETHUSDT"'), 1.0)
    runner.on_frame(update(501, [], [["21041.11", "0.0446"]], 12345, "ETHUSDT"), 2.0)
    assert stats.resyncs == {"checksum": 1}
    assert books["ETH/USDT"].state is BookState.SYNCING and books["BTC/USDT"].state is BookState.LIVE


def test_the_simulated_exchange_checksums_agree_with_the_adapter_and_its_faults_show():
    sim = SimulatedExchanges(["BTC/USDT", "ETH/USDT"], ["bitget"], seed=5, dislocation_every=None)
    bitget, books, _ = venue("BTC/USDT", "ETH/USDT")
    stats = FeedStats()
    runner = FeedRunner(bitget, stats, replaying=True)
    updates = 0
    for step in range(300):
        if step == 100:
            assert all(book.state is BookState.LIVE for book in books.values())
            sim.inject("bitget", "gap", "ETH/USDT")
        if step == 200:
            sim.inject("bitget", "bad_checksum", "BTC/USDT")
        for _, frame in sim.step(0.05):
            updates += orjson.loads(frame)["action"] == "update"
            runner.on_frame(frame, step * 0.05)
    assert updates > 100  # each verified by the adapter against its own copy of the texts
    assert stats.resyncs == {"gap": 1, "checksum": 1}  # each fault once, and nothing else
    assert not stats.errors


def test_benchmark_streams_follow_the_protocol_for_every_kind():
    symbols = bench_symbols(2)
    exchanges = ("bitget", "okx")
    for kind in KINDS:
        workload = build("bitget", kind, exchanges, symbols, 40, seed=3)
        scanner = offline_scanner(exchanges, symbols)
        load_books(scanner, workload.snapshots)
        runner = next(r for r in scanner.runners if r.venue.name == "bitget")
        for frame in workload.frames:
            runner.on_frame(frame, 1.0)
        assert all(book.state is BookState.LIVE for book in runner.venue.books.values())
        assert sum(book.updates for book in runner.venue.books.values()) == 2 + 40
        assert not runner.stats.resyncs and not runner.stats.errors
