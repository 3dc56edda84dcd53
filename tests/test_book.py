import random

import pytest

from reference_book import ReferenceBook, assert_same
from scanner.book import MAX_LEVELS, BookError, BookSide, BookState, OrderBook


def make_book(depth: int = MAX_LEVELS) -> OrderBook:
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


def test_depth_limits_what_is_read_never_what_is_held():
    book = make_book(depth=3)  # a channel that keeps the best 3 levels current
    book.apply_diff([["97", "1"], ["99.5", "1"]], [["104", "1"]], 11, 2.0)
    assert len(book.bids) == 5 and book.bids.known == 3
    assert list(book.bids.levels()) == [(100.0, 1.0), (99.5, 1.0), (99.0, 2.0)]
    # the levels pushed past the depth come back when better ones go: the exchange never
    # re-sends them (they did not change), so the book must still hold them
    book.apply_diff([["100", "0"], ["99.5", "0"]], [], 12, 3.0)
    assert list(book.bids.levels()) == [(99.0, 2.0), (98.0, 3.0), (97.0, 1.0)]


def test_a_cut_snapshot_bounds_the_known_levels_and_the_top_past_it_resyncs():
    book = make_book()
    book.bids.cut_at(3)  # 3 levels asked for, 3 came: levels below 98 are unknown
    book.asks.cut_at(5)  # fewer than asked for: the snapshot was the whole side
    book.apply_diff([["97", "1"], ["98.5", "2"]], [["110", "1"]], 11, 2.0)
    assert list(book.bids.levels()) == [(100.0, 1.0), (99.0, 2.0), (98.5, 2.0), (98.0, 3.0)]
    assert len(book.bids) == 5 and book.bids.known == 4 and book.asks.known == 4
    assert book.state is BookState.LIVE
    book.apply_diff([["100", "0"], ["99", "0"], ["98.5", "0"], ["98", "0"]], [], 12, 3.0)
    assert book.best_bid() == 97.0 and list(book.bids.levels()) == []
    assert book.state is BookState.INVALID  # a better bid than 97 may exist unseen
    book.load_snapshot([["97", "1"]], [["101", "1"]], seq=20, version=20, received_at=4.0)
    assert book.state is BookState.LIVE and book.bids.known == 1


def test_a_full_side_drops_its_deepest_levels_and_stops_reading_there():
    side = BookSide(False)
    side.apply([[str(1000 + i), "1"] for i in range(MAX_LEVELS)])
    assert side.known == MAX_LEVELS
    side.apply([[str(1000 + MAX_LEVELS), "1"]])  # deeper than everything held: not kept
    assert len(side) == MAX_LEVELS and side.known == MAX_LEVELS
    side.apply([["999", "1"]])  # a better level pushes the deepest out
    assert len(side) == MAX_LEVELS and side.size_at(999.0 + MAX_LEVELS) == 0
    side.apply([["999", "0"], ["1000", "0"]])
    prices = [price for price, _ in side.levels()]
    assert prices[0] == 1001.0 and prices[-1] == 998.0 + MAX_LEVELS  # the dropped price is unknown
    side.apply([[str(998.5 + MAX_LEVELS), "1"]])  # still inside what is known
    assert [price for price, _ in side.levels()][-1] == 998.5 + MAX_LEVELS


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


@pytest.mark.parametrize("depth", [0, -1, MAX_LEVELS + 1, 2**62])
def test_depth_out_of_range_is_refused(depth):
    with pytest.raises(ValueError, match=f"book depth must be between 1 and {MAX_LEVELS}"):
        BookSide(False, depth)


def _texts(levels: list[tuple[float, float]]) -> list[list[str]]:
    return [[repr(price), repr(size)] for price, size in levels]


@pytest.mark.parametrize("seed", range(4))
def test_levels_added_and_removed_anywhere_on_a_growing_side_match_a_plain_dict(seed):
    """Sides are stored worst first: new bests, new worsts and levels in between, on sides
    growing past every capacity step (64 -> 128 -> 256 -> 512) and shrinking back, read
    exactly as a price -> size dict sorted best first."""
    rng = random.Random(seed)
    book = OrderBook("x", "BTC/USDT", depth=300)
    bids = [(1000.0 - i, 1.0 + i) for i in range(50)]
    asks = [(1001.0 + i, 2.0 + i) for i in range(50)]
    book.load_snapshot(_texts(bids), _texts(asks), seq=1, version=1, received_at=1.0)
    reference = ReferenceBook(_texts(bids), _texts(asks))
    longest = 0
    for step in range(600):
        diff = {True: [], False: []}
        for is_bid in (True, False):
            held = reference.levels(is_bid)
            best, worst = held[0][0], held[-1][0]
            for _ in range(rng.randrange(1, 6)):
                where = rng.random()
                if where < 0.5 and step < 400:  # past the worst level: the side grows
                    price = worst - rng.randrange(1, 4) if is_bid else worst + rng.randrange(1, 4)
                elif where < 0.7 and (best < 1000.45 if is_bid else best > 1000.55):
                    step_in = rng.randrange(1, 6) / 100  # a new best, short of the middle
                    price = round(min(best + step_in, 1000.49) if is_bid else max(best - step_in, 1000.51), 2)
                else:  # a held level, changed or removed (more removals late: it shrinks)
                    price = rng.choice(held)[0]
                removal = len(held) > 20 and rng.random() < (0.2 if step < 400 else 0.9)
                diff[is_bid].append([repr(price), "0" if removal else str(rng.randrange(1, 9))])
        book.apply_diff(diff[True], diff[False], step + 2, 2.0)
        reference.apply(diff[True], diff[False])
        assert book.state is BookState.LIVE
        assert_same(book, reference, 300, f"step {step}")
        longest = max(longest, len(book.bids), len(book.asks))
    assert longest > 300 and min(len(book.bids), len(book.asks)) < 100  # grew past 256, shrank


def test_a_side_growing_at_one_end_then_the_other_and_thinning_in_the_middle():
    """Levels move toward whichever end of a side has fewer of them to move, and the side's
    storage grows and re-centres as one end fills: 1,500 new bests in a row, then 1,500 new
    worsts, then removals and inserts in the middle, each read exactly as the reference."""
    book = OrderBook("x", "BTC/USDT")
    book.load_snapshot([["5000", "1"]], [["100000", "1"]], seq=1, version=1, received_at=1.0)
    reference = ReferenceBook([["5000", "1"]], [["100000", "1"]])
    diffs = [[[str(5000 + i), "2"]] for i in range(1, 1501)]  # new best bids
    diffs += [[[str(5000 - i), "3"]] for i in range(1, 1501)]  # new worst bids
    diffs += [[[str(price), "0"]] for price in range(4000, 6000, 3)]  # thin out the middle
    diffs += [[[f"{price}.5", "4"]] for price in range(4500, 5500, 7)]  # and insert into it
    for version, bids in enumerate(diffs, start=2):
        book.apply_diff(bids, [], version, 2.0)
        reference.apply(bids, [])
        if version % 97 == 0 or version == len(diffs) + 1:
            assert_same(book, reference, MAX_LEVELS, f"diff {version}")
    assert len(book.bids) == len(reference.levels(True)) > 2000


def test_a_snapshot_in_any_order_loads_as_its_levels_applied_in_turn():
    """Exchanges send snapshots best first (loaded in one pass); any other order, a repeated
    price or a zero size loads as the levels applied one after the other."""
    levels = [["99", "1"], ["101", "2"], ["100", "3"], ["99", "4"], ["98", "0"], ["97", "5"]]
    book = OrderBook("x", "BTC/USDT")
    book.load_snapshot(levels, [["102", "1"], ["103", "0"]], seq=1, version=1, received_at=1.0)
    assert book.bids.top(10) == [(101.0, 2.0), (100.0, 3.0), (99.0, 4.0), (97.0, 5.0)]
    assert book.asks.top(10) == [(102.0, 1.0)]
    book.load_snapshot([["100", "1"], ["99", "2"]], [["101", "1"]], seq=2, version=2, received_at=2.0)
    assert book.bids.top(10) == [(100.0, 1.0), (99.0, 2.0)] and book.state is BookState.LIVE


def test_a_malformed_snapshot_leaves_the_book_invalid():
    book = make_book()
    with pytest.raises(BookError, match="malformed"):
        book.load_snapshot([["100", "1"], ["x", "1"]], [["101", "1"]], seq=20, version=20,
                           received_at=2.0)
    assert book.state is BookState.INVALID and not book.is_usable(now=2.0)


@pytest.mark.parametrize("price, size, expected", [
    (100.5, 7.0, [(100.5, 7.0), (100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]),  # a new best
    (100.0, 7.0, [(100.0, 7.0), (99.0, 2.0), (98.0, 3.0)]),  # the best, resized
    (99.0, 7.0, [(99.0, 7.0), (98.0, 3.0)]),  # a held level: the better one goes
    (98.5, 7.0, [(98.5, 7.0), (98.0, 3.0)]),  # between two levels
    (97.0, 7.0, [(97.0, 7.0)]),  # worse than every level: only it is left
])
def test_set_best_keeps_the_worse_levels_and_drops_the_better(price, size, expected):
    side = make_book().bids
    side.set_best(price, size)
    assert side.top(10) == expected and side.best() == price and side.known == len(expected)


def test_set_best_on_an_empty_side_and_on_a_full_one():
    side = BookSide(False)
    side.set_best(10.0, 1.0)
    assert side.top(5) == [(10.0, 1.0)]
    side.apply([[str(1000 + i), "1"] for i in range(MAX_LEVELS - 1)])
    assert len(side) == MAX_LEVELS
    side.set_best(5.0, 2.0)  # a new best on a full side: the worst level goes, and is unknown
    assert len(side) == MAX_LEVELS and side.top(2) == [(5.0, 2.0), (10.0, 1.0)]
    assert side.known == MAX_LEVELS and side.size_at(998.0 + MAX_LEVELS) == 0
    side.apply([[str(1500.5), "1"]])  # between held levels on a full side: the worst goes again
    assert len(side) == MAX_LEVELS and side.size_at(1500.5) == 1.0
    assert side.size_at(997.0 + MAX_LEVELS) == 0 and side.known == MAX_LEVELS
    assert [price for price, _ in side.levels()][-1] == 996.0 + MAX_LEVELS
