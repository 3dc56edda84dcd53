"""Kraken WS v2: the book checksum against Kraken's documented examples, the adapter on the
verbatim samples, its depth cut and checksum checks, and the simulated Kraken level by level."""
from __future__ import annotations

import asyncio
import json
import random
import zlib
from datetime import datetime

import orjson
import pytest

from scanner.book import BookError, BookState, OrderBook
from scanner.exchanges.kraken import BOOK_DEPTH
from scanner.exchanges.kraken.checksum import Printing, crc32, parse_timestamp
from scanner.exchanges.kraken.feed import Kraken
from scanner.exchanges.kraken.sim import checksum
from scanner.feeds import FeedError
from scanner.sim import SimulatedExchanges
from tests.markets import spot_book
from tests.samples import sample

# Kraken's worked example (docs.kraken.com/api/docs/guides/spot-ws-book-v2): the BTC/USD
# snapshot's top 10 asks then top 10 bids, "." removed and leading zeros stripped.
GUIDE_ASKS = ("452852100000" "4528641545719534528661545711094528961545609114529021589066045291815455349"
              "1452947445474945296135380000452975994554245299518772827")
GUIDE_BIDS = ("452835100000004528341545820154528211000000045281010000000452803154592586452790799000"
              "045277633101034527753000000045277315460273745276615445238")


def kraken(*symbols: str) -> tuple[Kraken, dict[str, OrderBook], list[OrderBook]]:
    changed: list[OrderBook] = []
    books = {symbol: spot_book("kraken", symbol) for symbol in symbols}
    return Kraken(books, changed.append), books, changed


def texts(sample_name: str) -> dict:
    """A sample's data with every number kept as the exchange's text."""
    return json.loads(sample("kraken", sample_name), parse_float=str, parse_int=str)["data"][0]


def rows(levels: list[dict]) -> list[tuple[str, str]]:
    return [(level["price"], level["qty"]) for level in levels]


def book_frame(kind: str, symbol: str, bids, asks, crc: int, timestamp: str | None = None) -> bytes:
    """A ``book`` message with numbers written as the given texts."""
    def side(levels):
        return "[" + ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels) + "]"
    stamp = f',"timestamp":"{timestamp}"' if timestamp else ""
    return (f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}","bids":{side(bids)},'
            f'"asks":{side(asks)},"checksum":{crc}{stamp}}}]}}').encode()


def test_checksum_rule_gives_kraken_s_documented_values():
    assert zlib.crc32((GUIDE_ASKS + GUIDE_BIDS).encode()) == 3310070434
    btc = texts("book_snapshot_BTC_USD_checksum_guide_example")
    assert checksum(rows(btc["bids"]), rows(btc["asks"])) == 3310070434 == int(btc["checksum"])
    gst = texts("book_snapshot_GST_USD_captured")  # price_precision 3, qty_precision 8
    assert checksum(rows(gst["bids"]), rows(gst["asks"])) == 1931231958 == int(gst["checksum"])


@pytest.mark.parametrize("name, symbol, decimals, best_bid", [
    ("book_snapshot_BTC_USD_checksum_guide_example", "BTC/USD", (1, 8), (45283.5, 0.1)),
    ("book_snapshot_GST_USD_captured", "GST/USD", (3, 8), (0.016, 255965.95133811)),
])
def test_adapter_checks_the_verbatim_snapshots_from_its_own_book(name, symbol, decimals, best_bid):
    venue, books, changed = kraken(symbol)
    venue.handle(sample("kraken", name), 1.0)
    book = books[symbol]
    assert changed == [book] and book.state is BookState.LIVE
    printing = venue.printing[symbol]
    assert (printing.price_decimals, printing.qty_decimals) == decimals
    assert printing.checksum(book) == int(texts(name)["checksum"])
    assert book.bids.top(1) == [best_bid]


def test_checksum_reuses_no_stale_digits_as_levels_move_change_and_reprint():
    """Each check equals the checksum of the printed book while levels are added above and
    below, resized, removed, and the pair's decimals change (the kept digits follow)."""
    book, printing = OrderBook("kraken", "X/USD"), Printing()
    bids = {f"{100 - i:.2f}": f"{1 + i:.4f}" for i in range(12)}
    asks = {f"{101 + i:.2f}": f"{2 + i:.4f}" for i in range(12)}
    edits = [("bids", "100.50", "7.0000"), ("asks", "101.00", "0"), ("bids", "99.00", "3.2500"),
             ("asks", "100.75", "0.0100"), ("bids", "98.00", "0"), ("asks", "111.00", "9.0000")]

    def check() -> None:
        best_bids = sorted(bids.items(), key=lambda row: float(row[0]), reverse=True)
        best_asks = sorted(asks.items(), key=lambda row: float(row[0]))
        assert printing.checksum(book) == checksum(best_bids, best_asks)

    book.load_snapshot(list(bids.items()), list(asks.items()), 1, 1, 1.0)
    printing.learn(list(bids.items()), list(asks.items()))
    check()
    for seq, (side, price, qty) in enumerate(edits, 2):
        levels = {"bids": bids, "asks": asks}[side]
        if qty == "0":
            del levels[price]
        else:
            levels[price] = qty
        book.apply_next(*(([(price, qty)], []) if side == "bids" else ([], [(price, qty)])),
                        seq - 1, seq, seq, 1.0)
        check()
    bids, asks = ({price + "0": qty for price, qty in side.items()} for side in (bids, asks))
    printing.learn(list(bids.items()), list(asks.items()))  # now printed with 3 decimals
    check()


def test_crc_folds_any_length_and_split_as_zlib_does():
    """The carry-less-multiplication CRC (16-byte blocks from 64 bytes) and the table CRC for
    the rest give zlib's value at every length, and continue from a register as zlib does."""
    rng = random.Random(5)
    for length in [*range(200), 255, 256, 257, 1000, 4099]:
        data = rng.randbytes(length)
        cut = rng.randrange(length + 1)
        assert crc32(data) == zlib.crc32(data)
        assert crc32(data[cut:], crc32(data[:cut])) == zlib.crc32(data)


def test_checksum_follows_random_edits_on_one_side_or_both():
    """Thousands of random edits (new levels at any rank, resizes, deletes, one side or both,
    prices and sizes of many digit counts): every check equals the printed book's checksum."""
    rng = random.Random(11)
    book, printing = OrderBook("kraken", "X/USD"), Printing()
    sides = {"bids": {}, "asks": {}}
    for i in range(15):
        sides["bids"][f"{1000 - i:.3f}"] = f"{rng.uniform(0.001, 5000):.6f}"
        sides["asks"][f"{1001 + i:.3f}"] = f"{rng.uniform(0.001, 5000):.6f}"
    book.load_snapshot(list(sides["bids"].items()), list(sides["asks"].items()), 1, 1, 1.0)
    printing.learn(list(sides["bids"].items()), list(sides["asks"].items()))
    for seq in range(2, 3000):
        edits: dict[str, list] = {"bids": [], "asks": []}
        for name in rng.sample(["bids", "asks"], rng.choice([1, 2])):
            levels = sides[name]
            best = max(map(float, levels)) if name == "bids" else min(map(float, levels))
            price = best + (-1 if name == "bids" else 1) * rng.choice([-0.5, 0, 0.001, 1, 3, 9.5])
            price = f"{price:.3f}" if rng.random() < 0.5 or not levels else rng.choice(list(levels))
            qty = "0" if price in levels and rng.random() < 0.4 else f"{rng.uniform(0, 10 ** rng.randrange(7)):.6f}"
            if float(qty) == 0 and price not in levels or len(levels) < 3 and float(qty) == 0:
                continue
            crossing = (float(price) >= min(map(float, sides["asks"])) if name == "bids"
                        else float(price) <= max(map(float, sides["bids"])))
            if crossing:
                continue
            if float(qty) == 0:
                del levels[price]
            else:
                levels[price] = qty
            edits[name].append((price, qty))
        book.apply_next(edits["bids"], edits["asks"], seq - 1, seq, seq, 1.0)
        best_bids = sorted(sides["bids"].items(), key=lambda row: float(row[0]), reverse=True)
        best_asks = sorted(sides["asks"].items(), key=lambda row: float(row[0]))
        assert printing.checksum(book) == checksum(best_bids, best_asks), seq


def gst_venue() -> tuple[Kraken, OrderBook, list, list]:
    venue, books, _ = kraken("GST/USD")
    venue.handle(sample("kraken", "book_snapshot_GST_USD_captured"), 1.0)
    gst = texts("book_snapshot_GST_USD_captured")
    return venue, books["GST/USD"], rows(gst["bids"]), rows(gst["asks"])


def test_update_is_applied_then_checked_and_a_wrong_checksum_resyncs_that_book():
    venue, book, bids, asks = gst_venue()
    bids[0] = ("0.016", "1000.00000000")
    del asks[0]  # the 0.017 ask is deleted; the checksum covers the new top 10
    update = [("0.016", "1000.00000000")], [("0.017", "0.00000000")]
    good = checksum(bids, asks)
    venue.handle(book_frame("update", "GST/USD", *update, good, "2023-10-06T17:35:55.440295Z"), 2.0)
    assert book.state is BookState.LIVE and book.best_ask() == 0.018 and book.bids.top(1) == [(0.016, 1000.0)]
    assert book.exchange_time == datetime.fromisoformat("2023-10-06T17:35:55.440295+00:00").timestamp()
    with pytest.raises(BookError) as error:
        venue.handle(book_frame("update", "GST/USD", [("0.015", "1.00000000")], [], good,
                                "2023-10-06T17:35:56.000000Z"), 3.0)
    assert (error.value.symbol, error.value.reason) == ("GST/USD", "checksum")


def test_a_book_crossed_by_a_lost_update_resyncs_for_the_checksum_a_crossed_exchange_for_crossed():
    venue, book, bids, asks = gst_venue()
    lost_asks = asks[1:]  # a lost update deleted the 0.017 ask; the next one bids there
    bid = [("0.017", "5.00000000")]
    with pytest.raises(BookError) as error:
        venue.handle(book_frame("update", "GST/USD", bid, [], checksum(bid + bids, lost_asks),
                                "2023-10-06T17:35:55.440295Z"), 2.0)
    assert error.value.reason == "checksum"
    venue, book, bids, asks = gst_venue()
    bid = [("0.018", "5.00000000")]  # Kraken's own book crossed: its checksum agrees
    with pytest.raises(BookError) as error:
        venue.handle(book_frame("update", "GST/USD", bid, [], checksum(bid + bids, asks),
                                "2023-10-06T17:35:55.440295Z"), 2.0)
    assert error.value.reason == "crossed"


def test_levels_pushed_past_the_subscribed_depth_are_cut():
    venue, books, _ = kraken("BTC/USD")
    bids = [(f"{50000 - i}.0", "1.00000000") for i in range(BOOK_DEPTH)]
    asks = [(f"{50001 + i}.0", "2.00000000") for i in range(BOOK_DEPTH)]
    venue.handle(book_frame("snapshot", "BTC/USD", bids, asks, checksum(bids, asks)), 1.0)
    better = [("50000.5", "0.50000000")]  # a new best bid: Kraken sends no delete for the 100th
    bids = better + bids[:-1]
    venue.handle(book_frame("update", "BTC/USD", better, [], checksum(bids, asks),
                            "2024-01-01T00:00:00.000000Z"), 2.0)
    book = books["BTC/USD"]
    assert len(book.bids) == BOOK_DEPTH == book.bids.depth and len(book.asks) == BOOK_DEPTH
    assert book.bids.top(BOOK_DEPTH + 1)[-1] == (50000.0 - (BOOK_DEPTH - 2), 1.0)


def test_hand_stepped_simulator_and_adapter_agree_level_by_level():
    """Hundreds of simulated updates, books deeper than the subscribed depth: the adapter's
    book is the simulator's top 100 after every frame, and every checksum agrees."""
    symbols = ["BTC/USDT", "ETH/USDT"]
    sim = SimulatedExchanges(symbols, exchanges=["kraken"], seed=3, updates_per_second=200.0)
    venue, books, _ = kraken(*symbols)
    deeper = 0
    for _ in range(300):
        for _, frame in sim.step(0.01):
            venue.handle(frame, 1.0)
        for symbol in symbols:
            true_bids, true_asks = sim.book("kraken", symbol)
            deeper += len(true_bids) > BOOK_DEPTH or len(true_asks) > BOOK_DEPTH
            assert books[symbol].bids.top(BOOK_DEPTH + 50) == [(float(p), float(q)) for p, q in true_bids[:BOOK_DEPTH]]
            assert books[symbol].asks.top(BOOK_DEPTH + 50) == [(float(p), float(q)) for p, q in true_asks[:BOOK_DEPTH]]
            assert books[symbol].state is BookState.LIVE
    assert deeper > 100, "the simulated books are deeper than the subscription, so levels get pushed out"


def test_bad_checksum_fault_corrupts_the_next_message_of_that_symbol_only():
    sim = SimulatedExchanges(["BTC/USDT", "ETH/USDT"], exchanges=["kraken"], seed=3, updates_per_second=200.0)
    venue, books, _ = kraken("BTC/USDT", "ETH/USDT")
    for _, frame in sim.step(0.01):
        venue.handle(frame, 1.0)
    sim.inject("kraken", "bad_checksum", "ETH/USDT")
    failed = []
    for _ in range(20):
        for _, frame in sim.step(0.01):
            try:
                venue.handle(frame, 1.0)
            except BookError as error:
                failed.append((error.symbol, error.reason))
    assert failed == [("ETH/USDT", "checksum")]
    assert books["BTC/USDT"].state is BookState.LIVE


def test_heartbeat_pong_and_acks_need_nothing_errors_and_maintenance_restart():
    venue, books, changed = kraken("BTC/USD")
    venue.handle(sample("kraken", "heartbeat"), 1.0)
    venue.handle(b'{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z",'
                 b'"time_out":"2023-09-24T14:10:23.799703Z"}', 1.0)
    venue.handle(b'{"method":"subscribe","result":{"channel":"book","depth":100,"snapshot":true,'
                 b'"symbol":"BTC/USD"},"success":true,"time_in":"2023-09-24T14:10:23.799685Z",'
                 b'"time_out":"2023-09-24T14:10:23.799703Z"}', 1.0)
    venue.handle(b'{"channel":"status","data":[{"api_version":"v2","connection_id":12393906104898154338,'
                 b'"system":"online","version":"2.0.0"}],"type":"update"}', 1.0)
    assert changed == [] and books["BTC/USD"].state is BookState.SYNCING
    with pytest.raises(FeedError, match="Currency pair not supported"):
        venue.handle(b'{"error":"Currency pair not supported","method":"subscribe","success":false,'
                     b'"symbol":"BTC/XYZ","time_in":"x","time_out":"y"}', 1.0)
    with pytest.raises(FeedError, match="maintenance"):
        venue.handle(b'{"channel":"status","data":[{"system":"maintenance"}],"type":"update"}', 1.0)


@pytest.mark.parametrize("level", ['{"price":0.016}', '{"qty":1.0}', '[0.016,1.0]', '{"price":"x","qty":1.0}',
                                   '{"price":0.016,"qty":-1.0}', '{"Price":0.016,"qty":1.0}'])
def test_updates_before_the_snapshot_are_ignored_and_malformed_levels_resync(level):
    venue, books, changed = kraken("MATIC/USD")
    venue.handle(sample("kraken", "book_update_MATIC_USD_docs_example"), 1.0)  # no snapshot yet
    assert changed == [] and len(books["MATIC/USD"].bids) == 0
    venue, book, bids, asks = gst_venue()
    with pytest.raises(BookError) as error:
        venue.handle(b'{"channel":"book","type":"update","data":[{"symbol":"GST/USD","bids":'
                     b'[{"price":0.015,"qty":1.0},' + level.encode() + b'],"asks":[],"checksum":1,'
                     b'"timestamp":"2023-10-06T17:35:55Z"}]}', 2.0)
    assert (error.value.symbol, error.value.reason) == ("GST/USD", "malformed")


@pytest.mark.parametrize("missing", ['"bids":[],', '"checksum":1,'])
def test_an_update_without_its_levels_or_checksum_resyncs_an_update_without_a_symbol_is_an_error(missing):
    venue, book, bids, asks = gst_venue()
    update = b'{"symbol":"GST/USD","bids":[],"asks":[],"checksum":1,"timestamp":"2023-10-06T17:35:55Z"}'
    with pytest.raises(BookError) as error:
        venue.handle(b'{"channel":"book","type":"update","data":[' + update.replace(missing.encode(), b"")
                     + b']}', 2.0)
    assert (error.value.symbol, error.value.reason) == ("GST/USD", "malformed")
    with pytest.raises(KeyError):
        venue.handle(b'{"channel":"book","type":"update","data":[' + update.replace(b'"symbol":"GST/USD",', b"")
                     + b']}', 2.0)


def test_update_levels_are_read_by_field_name_in_any_order():
    venue, book, bids, asks = gst_venue()
    bids[0] = ("0.016", "1000.00000000")
    del asks[0]
    frame = book_frame("update", "GST/USD", [], [], checksum(bids, asks)).replace(
        b'"bids":[]', b'"bids":[{"qty":1000.00000000,"note":"x","price":0.016}]').replace(
        b'"asks":[]', b'"asks":[{"price":0.017,"qty":0}]')
    venue.handle(frame, 2.0)
    assert book.state is BookState.LIVE and book.bids.top(1) == [(0.016, 1000.0)]
    assert book.best_ask() == 0.018


def test_timestamps_are_read_exactly_and_nonsense_is_refused():
    assert parse_timestamp("2023-10-06T17:35:55.440295Z") == \
        datetime.fromisoformat("2023-10-06T17:35:55.440295+00:00").timestamp()
    assert parse_timestamp("2024-02-29T00:00:00Z") == datetime.fromisoformat("2024-02-29T00:00:00+00:00").timestamp()
    for text in ("2023-10-06 17:35:55Z", "2023-13-06T17:35:55.1Z", "2023-10-06T17:35:55.4x0Z", "yesterday"):
        with pytest.raises(ValueError):
            parse_timestamp(text)


def test_subscribes_to_the_book_at_its_depth_and_resync_resubscribes():
    venue, _, _ = kraken("BTC/USD", "ETH/USD")
    (message,) = [orjson.loads(m) for m in venue.subscribe_messages()]
    assert message == {"method": "subscribe", "params": {
        "channel": "book", "symbol": ["BTC/USD", "ETH/USD"], "depth": BOOK_DEPTH, "snapshot": True}}
    assert orjson.loads(venue.ping_message()) == {"method": "ping"}
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    asyncio.run(venue.resync("ETH/USD", send))
    assert [orjson.loads(m) for m in sent] == [
        {"method": "unsubscribe", "params": {"channel": "book", "symbol": ["ETH/USD"], "depth": BOOK_DEPTH}},
        {"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD"], "depth": BOOK_DEPTH,
                                           "snapshot": True}}]
