"""The Binance adapter and the book on a real recorded session (frames and REST snapshots as
Binance sent them in 2021, copied into tests/data): the diffs join the snapshots by
U/u without a gap, the book never crosses, and whenever the diff stream reaches the update id
of a bookTicker, the book's best bid and ask and their sizes are exactly the ticker's."""
from __future__ import annotations

import urllib.parse

import orjson
import pytest

from samples import DATA
from scanner.book import BookState, OrderBook
from scanner.book import BookError
from scanner.exchanges.binance.feed import Binance

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


def venue() -> tuple[Binance, dict[str, OrderBook]]:
    books = {symbol: OrderBook("binance", symbol, 50) for symbol in SYMBOLS.values()}
    return Binance(books, lambda book: None), books
