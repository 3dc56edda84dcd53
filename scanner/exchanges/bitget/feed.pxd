# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook, parse_number
from scanner.exchanges.bitget.checksum cimport TextBook
from scanner.feeds.jsonscan cimport BooksUpdate
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Bitget(WsSnapshotVenue):
    cdef dict texts  # instrument id -> the wire texts of its book (and the book), for the checksum
    cdef TextBook applied  # the texts the update being handled was applied to
    cdef BooksUpdate update  # the update being handled, read from the frame's bytes

    @cython.locals(message=dict, data=list, texts=TextBook, update=BooksUpdate)
    cpdef handle(self, frame, double received_at)
    @cython.locals(bids=list, asks=list, ts="long long")
    cdef _on_books(self, TextBook texts, object action, dict data, double received_at)
    cdef _on_update(self, TextBook texts, long long seq, long long ts, object checksum,
                    double received_at)
    cdef object checksum(self, OrderBook book, object bids, object asks)
