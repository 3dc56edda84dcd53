# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.exchanges.kraken.checksum cimport parse_timestamp  # RFC 3339 UTC, in C
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Coinbase(WsSnapshotVenue):
    cdef dict targets  # product id -> the books it feeds (a -USD id may also feed its -USDC twin)

    @cython.locals(message=dict, events=list, event=dict, exchange_time=double)
    cpdef handle(self, frame, double received_at)
    @cython.locals(bids=list, asks=list, update=dict)
    cdef _on_event(self, dict event, long long seq, double received_at, double exchange_time)
