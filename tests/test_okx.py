"""OKX's books updates read from the frame's bytes (``scanner.feeds.jsonscan``): the same
fields as ``orjson`` reads, anything else left to ``orjson``, the book changed the same way."""
from __future__ import annotations

import random

import orjson
import pytest

from scanner.book import BookError, OrderBook
from scanner.exchanges.okx.feed import Okx
from scanner.feeds.jsonscan import BooksUpdate
from tests.markets import spot_book
from tests.samples import sample

UPDATE = sample("okx", "books_update_docs_example")
SNAPSHOT = sample("okx", "books_snapshot_docs_example")


def okx_update() -> BooksUpdate:
    return BooksUpdate(b"books", (b"prevSeqId", b"seqId"), 4)  # as the feed reads its updates


def venue(reads_bytes: bool = True) -> tuple[Okx, OrderBook]:
    book = spot_book("okx", "BTC/USDT")
    okx = Okx({"BTC/USDT": book}, lambda changed: None)
    if not reads_bytes:
        okx.update = None
    return okx, book


@pytest.mark.parametrize("frame", [
    UPDATE,
    b' {\n "data" : [ { "checksum" : -855196043, "x" : {"a": [1.5, -0, true, null, {}, []]},'
    + UPDATE[UPDATE.index(b'"asks"'):UPDATE.index(b',"checksum"')].replace(b",", b" , ")
    + b', "seqId" : 123457, "prevSeqId" : 123456 } ] , "action" : "update",\t"arg" : '
    b'{ "instId" : "BTC-USDT" , "channel" : "books" } }\r\n',
], ids=["docs", "spaced-reordered-unknown-keys"])
def test_the_reader_reads_an_update_as_orjson_does(frame):
    data = orjson.loads(frame)["data"][0]
    update = okx_update()
    assert update.scan(frame)
    assert update.inst_id_text() == "BTC-USDT" and update.fields == (1597026383085, 123456, 123457)
    assert update.bids.texts() == [level[:2] for level in data["bids"]]
    assert update.asks.texts() == [level[:2] for level in data["asks"]]


@pytest.mark.parametrize("frame", [
    SNAPSHOT,
    sample("okx", "bbo_tbt_docs_example"),
    sample("okx", "subscribe_response_books"),
    UPDATE.replace(b'"channel":"books"', b'"channel":"books5"'),
    UPDATE.replace(b'"8476.98"', b'"8476.9\\u0038"'),  # an escape: orjson decodes it
    UPDATE.replace(b'["8477","7","0","2"]', b'["8477","7","0"]'),  # three texts
    UPDATE.replace(b'"seqId":123457', b'"seqId":123457,"seqId":123458'),  # orjson keeps the last
    UPDATE.replace(b'}]}', b'},{}]}'),  # two data objects
    UPDATE[:-2],
], ids=["snapshot", "bbo-tbt", "ack", "other-channel", "escape", "three-texts", "duplicate-key",
        "two-data", "truncated"])
def test_the_reader_leaves_anything_but_a_plain_update_to_orjson(frame):
    assert not okx_update().scan(frame)


def test_an_update_changes_the_book_as_the_orjson_path_does():
    books = []
    for reads_bytes in (True, False):
        okx, book = venue(reads_bytes)
        okx.handle(SNAPSHOT.replace(b'"seqId":123456', b'"seqId":123455'), 1.0)
        okx.handle(UPDATE.replace(b'"prevSeqId":123456', b'"prevSeqId":123455')
                   .replace(b'["8477","7","0","2"]', b'["8477","0","0","0"]')
                   .replace(b'["8476.97","256"', b'["8476.97","300"'), 2.0)
        books.append((book.seq, book.bids.top(50), book.asks.top(50), book.exchange_time))
    assert books[0] == books[1] and books[0][0] == 123457
    assert books[0][1][0] == (8476.97, 300.0) and 8477.0 not in dict(books[0][2])


def test_an_update_with_a_level_that_is_not_a_number_resyncs_the_book():
    okx, book = venue()
    okx.handle(SNAPSHOT.replace(b'"seqId":123456', b'"seqId":123455'), 1.0)
    with pytest.raises(BookError) as error:
        okx.handle(UPDATE.replace(b'"prevSeqId":123456', b'"prevSeqId":123455')
                   .replace(b'"8477.34"', b'"8477.3x"'), 2.0)
    assert error.value.reason == "malformed" and error.value.symbol == "BTC/USDT"


def test_a_damaged_update_the_reader_accepts_is_one_orjson_reads_the_same():
    """Bytes changed, inserted, removed or cut at random: whatever the reader accepts, orjson
    reads as the same update (the reader never accepts what orjson would refuse or read
    otherwise), and nothing it is given crashes it."""
    rng = random.Random(11)
    update = okx_update()
    accepted = 0
    for _ in range(5000):  # about 2,000 accepted
        frame = bytearray(UPDATE)
        for _ in range(rng.randrange(1, 3)):
            if not frame:
                break
            at = rng.randrange(len(frame))
            action = rng.random()
            if action < 0.4:
                frame[at] = rng.choice(b' ",:[]{}0123456789.-eE\\tnux\x80')
            elif action < 0.7:
                frame.insert(at, rng.choice(b' ",:[]{}0.-e'))
            elif action < 0.9:
                del frame[at]
            else:
                del frame[at:]
        if not update.scan(bytes(frame)):
            continue
        accepted += 1
        message = orjson.loads(bytes(frame))
        data = message["data"][0]
        assert message["action"] == "update" and message["arg"]["channel"] == "books"
        assert update.inst_id_text() == message["arg"]["instId"]
        assert update.fields == (int(data["ts"]), data["prevSeqId"], data["seqId"])
        assert update.bids.texts() == [level[:2] for level in data["bids"]]
        assert update.asks.texts() == [level[:2] for level in data["asks"]]
    assert accepted > 100  # digits changed inside texts and numbers, spaces added
