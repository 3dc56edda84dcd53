# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.exchanges.kraken.checksum cimport Printing
from scanner.feeds.base cimport Venue


cdef class Kraken(Venue):
    cdef public dict printing  # market id -> how Kraken prints that pair's numbers

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    @cython.locals(printing=Printing, seq="long long")
    cdef _on_update(self, dict data, frame, double received_at)
