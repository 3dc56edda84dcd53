# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.exchanges.bitget.checksum cimport TextBook
from scanner.feeds.base cimport Venue


cdef class Bitget(Venue):
    cdef dict texts  # instId -> the wire texts of its book, for the checksum

    @cython.locals(message=dict, data=list)
    cpdef handle(self, frame, double received_at)
    @cython.locals(bids=list, asks=list, checksum="long long")
    cdef _on_books(self, TextBook texts, object action, dict data, double received_at)
