# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport RestSnapshotVenue


cdef class Binance(RestSnapshotVenue):
    cdef dict depth_streams, ticker_streams  # stream name -> book

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    cpdef _on_depth(self, OrderBook book, dict event, double received_at)  # cpdef: futures override
    cdef _on_book_ticker(self, OrderBook book, dict ticker, double received_at)
