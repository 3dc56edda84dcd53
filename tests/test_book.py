import random

import pytest

from scanner.book import BookSide, BookState, OrderBook


def make_book(depth: int = 5) -> OrderBook:
    book = OrderBook("x", "BTC/USDT", depth)
    book.load_snapshot([["100", "1"], ["99", "2"], ["98", "3"]],
                       [["101", "1"], ["102", "2"], ["103", "3"]], seq=10, version=10, received_at=1.0)
    return book


def test_snapshot_makes_book_live_and_sorted_best_first():
    book = make_book()
    assert book.state is BookState.LIVE
    assert list(book.bids.levels()) == [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]
    assert list(book.asks.levels()) == [(101.0, 1.0), (102.0, 2.0), (103.0, 3.0)]


def test_diff_updates_inserts_and_deletes_levels():
    book = make_book()
    book.apply_diff([["100", "0"], ["99.5", "4"]], [["101", "0.5"], ["103", "0"]], 11, 2.0)
    assert book.bids.top(3) == [(99.5, 4.0), (99.0, 2.0), (98.0, 3.0)]
    assert book.asks.top(3) == [(101.0, 0.5), (102.0, 2.0)]
    assert book.received_at == 2.0


def test_depth_is_bounded():
    book = make_book(depth=3)
    book.apply_diff([["97", "1"], ["96", "1"]], [["104", "1"]], 11, 2.0)
    assert len(book.bids) == 3 and len(book.asks) == 3
    assert book.bids.top(5)[-1] == (98.0, 3.0)
    assert book.bids.size_at(96.0) == 0


def test_crossed_book_is_invalid_until_resynced():
    book = make_book()
    book.apply_diff([["101.5", "1"]], [], 11, 2.0)
    assert book.state is BookState.INVALID
    assert not book.is_usable(now=2.0)
    book.apply_diff([["101.5", "0"]], [], 12, 2.0)
    assert book.state is BookState.INVALID  # stays invalid: only a fresh snapshot heals it
    book.reset()
    assert book.state is BookState.SYNCING and not len(book.bids)


def test_top_patch_wins_over_older_diff_but_not_newer():
    book = make_book()
    assert book.patch_top("100.5", "7", "101", "1", version=15, received_at=2.0)
    assert book.bids.top(2) == [(100.5, 7.0), (100.0, 1.0)]
    # an older diff cannot touch the top, only levels behind it
    book.apply_diff([["100.5", "0"], ["99", "9"]], [], 12, 3.0)
    assert book.bids.top(3) == [(100.5, 7.0), (100.0, 1.0), (99.0, 9.0)]
    # a newer diff applies in full
    book.apply_diff([["100.5", "0"]], [], 16, 3.0)
    assert book.best_bid() == 100.0
    # a patch older than the applied diff is stale
    assert not book.patch_top("100.7", "1", "101", "1", version=16, received_at=4.0)


def test_top_patch_removes_better_levels_that_are_gone():
    book = make_book()
    book.patch_top("99", "5", "102", "2", version=11, received_at=2.0)
    assert book.best_bid() == 99.0 and book.best_ask() == 102.0
    assert book.bids.size_at(100.0) == 0 and book.asks.size_at(101.0) == 0


def test_staleness_makes_book_unusable():
    book = make_book()
    assert book.is_usable(now=5.9)
    assert not book.is_usable(now=6.1)


def test_wire_texts_parse_to_the_same_double_as_float():
    rng = random.Random(5)
    texts = ["0", "0.00000000", "25.35190000", "0.0024", "30247.2", "1.", ".5", "007.10",
             "9007199254740993", "0.1234567890123456789012", "1e-8", "1E+3", "123456789.123456789"]
    for _ in range(20_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 12)))
        texts.append(whole + "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 14))))
    for text in texts:
        side = BookSide(False, 5)
        side.apply([[text, "1"]])
        assert side.best() == float(text), text
        side.apply([["1", text]])
        assert side.size_at(1.0) == float(text), text


@pytest.mark.parametrize("text", ["", ".", "abc", "1.2.3", "-1", "nan", "inf", "1e400", "1,5"])
def test_text_that_is_not_a_price_is_rejected(text):
    side = BookSide(True, 5)
    with pytest.raises(ValueError):
        side.apply([[text, "1"]])
    with pytest.raises(ValueError):
        side.apply([["1", text]])
    assert len(side) == 0


def test_a_level_that_is_not_a_price_leaves_the_book_invalid_not_half_live():
    book = make_book()
    with pytest.raises(ValueError):
        book.apply_diff([["99.5", "4"], ["x", "1"]], [], 11, 2.0)
    assert book.state is BookState.INVALID and not book.is_usable(now=2.0)
    book = make_book()
    with pytest.raises(ValueError):
        book.patch_top("100.5", "1", "oops", "1", version=12, received_at=2.0)
    assert book.best_bid() == 100.0 and book.state is BookState.LIVE  # nothing applied


@pytest.mark.parametrize("level", [[], ["100"]])
def test_a_level_without_price_and_size_is_an_error_not_a_crash(level):
    with pytest.raises(IndexError):
        BookSide(False, 5).apply([level])


@pytest.mark.parametrize("depth", [0, -1, 1001, 2**62])
def test_depth_out_of_range_is_refused(depth):
    with pytest.raises(ValueError, match="book depth must be between 1 and 1000"):
        BookSide(False, depth)
