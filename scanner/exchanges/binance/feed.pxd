# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.base cimport Venue


cdef class Binance(Venue):
    cdef public dict buffers  # symbol -> diffs waiting for a snapshot
    cdef dict depth_streams, ticker_streams  # stream name -> book

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    cdef _on_depth(self, OrderBook book, dict event, double received_at)
    cdef _on_book_ticker(self, OrderBook book, dict ticker, double received_at)
    cpdef bint join_snapshot(self, OrderBook book, dict snapshot, Py_ssize_t limit=*) except -1
