# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Gate(WsSnapshotVenue):
    cdef dict streams  # spot.obu stream name ("ob.BTC_USDT.400") -> book

    @cython.locals(message=dict, result=dict)
    cpdef handle(self, frame, double received_at)
    cdef _on_obu(self, dict result, double received_at)
    cdef _on_ticker(self, dict result, double received_at)
