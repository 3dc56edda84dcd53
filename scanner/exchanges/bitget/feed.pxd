# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.exchanges.bitget.checksum cimport TextBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Bitget(WsSnapshotVenue):
    cdef dict texts  # symbol -> the wire texts of its book, for the checksum

    @cython.locals(message=dict, data=list)
    cpdef handle(self, frame, double received_at)
    @cython.locals(bids=list, asks=list, seq="long long", ts="long long")
    cdef _on_books(self, OrderBook book, object action, dict data, double received_at)
    @cython.locals(texts=TextBook)
    cdef object checksum(self, OrderBook book, object bids, object asks)
