"""The adapters and the book on real recorded sessions.

Binance (frames and REST snapshots as Binance sent them in 2021, copied into tests/data): the
diffs join the snapshots by U/u without a gap, the book never crosses, whenever the diff stream
reaches the update id of a bookTicker the book's best bid and ask and their sizes are exactly
the ticker's, and after every frame every level equals a reference book rebuilt in the test.
Bybit (2026, AGPL-3.0 data read from ../shared/reference, skipped when absent): every level of
every book equals the reference after every frame.
"""
from __future__ import annotations

import urllib.parse

import orjson
import pytest

from markets import spot_book
from reference_book import ReferenceBook, assert_same
from samples import DATA, shared_recording
from scanner.book import MAX_LEVELS, BookError, BookState, OrderBook
from scanner.exchanges.binance.feed import Binance
from scanner.exchanges.bybit.feed import DEPTH as BYBIT_DEPTH
from scanner.exchanges.bybit.feed import Bybit

RECORDED = DATA / "recorded" / "v2_text"
SYMBOLS = {"NKNUSDT": "NKN/USDT", "BLZETH": "BLZ/ETH", "LRCBTC": "LRC/BTC", "RUNEEUR": "RUNE/EUR"}


def recorded_session() -> list[tuple[float, str, bytes]]:
    """(receive time, "ws" or the REST symbol, body) in time order."""
    events = []
    ws_lines = _lines("BINANCE.ws.1.0")[1:]  # the first line is the connect
    for line in ws_lines:
        stamp, _, frame = line.partition(": ")
        events.append((float(stamp), "ws", frame.encode()))
    for line in _lines("BINANCE.http.0.0"):
        url, _, rest = line.partition(" -> ")
        stamp, _, body = rest.partition(": ")
        symbol = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["symbol"][0]
        events.append((float(stamp), symbol, body.encode()))
    return sorted(events, key=lambda event: event[0])


def _lines(name: str) -> list[str]:
    return [line for line in (RECORDED / name).read_text().split("\n") if line]


def test_real_binance_session_syncs_and_agrees_with_the_book_ticker():
    full, full_books = venue()  # the live path: depth diffs and book tickers
    diffs, diff_books = venue()  # depth diffs only, to compare with the tickers
    tickers: dict[tuple[str, int], dict] = {}  # (symbol, update id) -> the ticker
    agreed = 0
    for stamp, source, body in recorded_session():
        if source != "ws":
            for adapter, books in ((full, full_books), (diffs, diff_books)):
                adapter.on_rest("/api/v3/depth", {"symbol": source, "limit": "1000"}, body)
                assert books[SYMBOLS[source]].state is BookState.LIVE, f"{source} did not join"
            continue
        try:
            full.handle(body, stamp)
        except BookError as exc:  # a gap or a crossed book on real data is a bug here
            pytest.fail(f"resync on the real session: {exc}")
        message = orjson.loads(body)
        market, _, channel = message["stream"].partition("@")
        symbol = SYMBOLS[market.upper()]
        if channel == "bookTicker":
            tickers[symbol, message["data"]["u"]] = message["data"]
        elif channel == "depth@100ms":
            diffs.handle(body, stamp)
            book = diff_books[symbol]
            ticker = tickers.get((symbol, book.seq))
            if book.state is BookState.LIVE and ticker is not None:
                assert (book.best_bid(), book.best_ask()) == (float(ticker["b"]), float(ticker["a"]))
                assert book.bids.size_at(book.best_bid()) == float(ticker["B"])
                assert book.asks.size_at(book.best_ask()) == float(ticker["A"])
                agreed += 1
    assert all(book.state is BookState.LIVE for book in full_books.values())
    assert full_books["NKN/USDT"].updates > 100 and agreed >= 10, agreed


def test_real_binance_session_books_equal_an_independent_reference_after_every_frame():
    adapter, books = venue()  # depth diffs only: book tickers move the top ahead of the diffs
    references: dict[str, ReferenceBook] = {}
    waiting: dict[str, list[dict]] = {symbol: [] for symbol in SYMBOLS.values()}
    compared = 0
    for stamp, source, body in recorded_session():
        if source != "ws":
            symbol = SYMBOLS[source]
            adapter.on_rest("/api/v3/depth", {"symbol": source, "limit": "1000"}, body)
            snapshot = orjson.loads(body)
            references[symbol] = reference = ReferenceBook(snapshot["bids"], snapshot["asks"], 1000)
            for event in waiting.pop(symbol):
                if event["u"] > snapshot["lastUpdateId"]:
                    reference.apply(event["b"], event["a"])
        else:
            message = orjson.loads(body)
            market, _, channel = message["stream"].partition("@")
            if channel != "depth@100ms":
                continue
            symbol, event = SYMBOLS[market.upper()], message["data"]
            adapter.handle(body, stamp)
            if symbol in waiting:
                waiting[symbol].append(event)
                continue
            references[symbol].apply(event["b"], event["a"])
        if symbol in references:
            assert books[symbol].state is BookState.LIVE
            assert_same(books[symbol], references[symbol], MAX_LEVELS, f"{symbol} at {stamp}")
            compared += 1
    assert compared > 150
    # three ask sides came cut at 1000 levels (known only to their worst price); the rest whole
    assert {symbol: book.asks.bound < float("inf") for symbol, book in books.items()} == {
        "NKN/USDT": True, "BLZ/ETH": True, "LRC/BTC": True, "RUNE/EUR": False}


def bybit_frames() -> list[dict]:
    """The recorded Bybit session (linear and spot orderbook.200), one dict per record."""
    return shared_recording("BYBIT.jsonl.zst")


def test_real_bybit_session_books_equal_an_independent_reference_after_every_frame():
    adapters: dict[str, tuple[Bybit, dict[str, OrderBook]]] = {}  # per connection: linear, spot
    references: dict[tuple[str, str], ReferenceBook] = {}
    compared = deeper = 0
    for record in bybit_frames():
        if record["t"] != "recv" or '"topic":"orderbook.200.' not in record["data"]:
            continue
        message = orjson.loads(record["data"])
        market_id = message["topic"].rsplit(".", 1)[1]
        symbol = market_id[:-4] + "/USDT"
        if record["conn"] not in adapters:
            books = {s: spot_book("bybit", s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT")}
            adapters[record["conn"]] = Bybit(books, lambda book: None), books
        adapter, books = adapters[record["conn"]]
        # the adapter subscribes orderbook.50; this session recorded the same frames at depth 200
        adapter.handle(record["data"].replace("orderbook.200.", f"orderbook.{BYBIT_DEPTH}.").encode(),
                       record["ts"])
        data, key = message["data"], (record["conn"], symbol)
        if message["type"] == "snapshot":
            references[key] = ReferenceBook(data["b"], data["a"])
        else:
            references[key].apply(data["b"], data["a"])
        assert_same(books[symbol], references[key], BYBIT_DEPTH, f"{key} at {record['ts']}")
        compared += 1
        deeper += len(books[symbol].bids) > BYBIT_DEPTH
    assert compared > 2000 and deeper > 2000  # every book held all 200 levels, read the best 50


def venue() -> tuple[Binance, dict[str, OrderBook]]:
    books = {symbol: spot_book("binance", symbol) for symbol in SYMBOLS.values()}
    return Binance(books, lambda book: None), books
