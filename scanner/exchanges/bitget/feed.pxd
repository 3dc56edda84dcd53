# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook, parse_number
from scanner.exchanges.bitget.checksum cimport TextBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Bitget(WsSnapshotVenue):
    cdef dict texts  # instrument id -> the wire texts of its book (and the book), for the checksum
    cdef TextBook applied  # the texts the update being handled was applied to

    @cython.locals(message=dict, data=list, texts=TextBook)
    cpdef handle(self, frame, double received_at)
    @cython.locals(book=OrderBook, bids=list, asks=list, seq="long long", ts="long long")
    cdef _on_books(self, TextBook texts, object action, dict data, double received_at)
    cdef object checksum(self, OrderBook book, object bids, object asks)
