# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport RestSnapshotVenue


cdef class Kucoin(RestSnapshotVenue):
    cdef public dict topics  # "/market/level2:BTC-USDT" -> book
    cdef public str endpoint
    cdef object _ids

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    cdef _on_level2(self, OrderBook book, dict data, double received_at)
    cdef object trim(self, object levels, long long seq)


cpdef list _priced(list levels)
