# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Okx(WsSnapshotVenue):
    @cython.locals(message=dict, arg=dict, data=list)
    cpdef handle(self, frame, double received_at)
    # cpdef: the futures feed converts contract sizes, then parses with these
    cpdef _on_books(self, OrderBook book, object action, dict data, double received_at)
    cpdef _on_bbo(self, OrderBook book, dict data, double received_at)
    cpdef _on_channel(self, OrderBook book, str channel, dict data, double received_at)
