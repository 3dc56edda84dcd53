"""OKX books keep 400 levels current: on the simulated exchange (400-level books whose levels
move past the old 50-level cut and back without being re-sent), the adapter's book holds
every level of the exchange's book after every push, and reads the best 400."""
from __future__ import annotations

from markets import spot_book
from reference_book import ReferenceBook, assert_same
from scanner.book import BookState, OrderBook
from scanner.exchanges.okx.feed import BOOKS_DEPTH, Okx
from scanner.sim.servers import SimulatedExchanges

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
OLD_CUT = 50  # the levels a book used to keep


def test_okx_books_hold_every_level_of_a_400_level_book_as_levels_move_past_50_and_back():
    sim = SimulatedExchanges(SYMBOLS, exchanges=["okx"], seed=11, updates_per_second=40.0)
    books = {symbol: spot_book("okx", symbol) for symbol in SYMBOLS}
    adapter = Okx(books, lambda book: None)
    positions: dict[tuple[str, bool, str], list[bool]] = {}  # level -> inside the old cut, per push
    compared = 0
    for step in range(300):
        for _, frame in sim.step(0.1):  # one books push per step
            if b'"channel":"books"' in frame:  # bbo-tbt patches the top; this test is the depth
                adapter.handle(frame, step * 0.1)
        for symbol, book in books.items():
            assert book.state is BookState.LIVE
            bids, asks = sim.book("okx", symbol)
            assert_same(book, ReferenceBook(bids, asks), BOOKS_DEPTH, f"{symbol} at push {step}")
            compared += 1
            for is_bid, levels in ((True, bids), (False, asks)):
                for index, (price, _) in enumerate(levels):
                    positions.setdefault((symbol, is_bid, price), []).append(index < OLD_CUT)
    assert compared == 600
    assert min(len(book.bids) for book in books.values()) > 250
    assert max(len(book.asks) for book in books.values()) <= BOOKS_DEPTH
    came_back = sum(1 for inside in positions.values() if _out_and_back(inside))
    assert came_back > 20, came_back


def _out_and_back(inside: list[bool]) -> bool:
    """Whether a level was inside the cut, then past it, then inside again."""
    text = "".join("i" if flag else "o" for flag in inside)
    return "io" in text and "i" in text[text.index("io") + 2:]
