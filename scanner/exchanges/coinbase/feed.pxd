# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Coinbase(WsSnapshotVenue):
    cdef dict targets  # product id -> the books it feeds (a -USD id may also feed its -USDC twin)
    cdef str day_text  # the date part of the last timestamp, and its start in unix seconds
    cdef double day_start

    @cython.locals(message=dict, events=list, event=dict)
    cpdef handle(self, frame, double received_at)
    @cython.locals(bids=list, asks=list, update=dict)
    cdef _on_event(self, dict event, long long seq, double received_at, double exchange_time)
    @cython.locals(text=str)
    cdef double _unix_time(self, object stamp) except? -1.0
