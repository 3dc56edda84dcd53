# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Bybit(WsSnapshotVenue):
    cdef dict depth_topics, top_topics  # topic -> book

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    cdef _on_depth(self, OrderBook book, dict message, double received_at)
    cdef _on_top(self, OrderBook book, dict message, double received_at)
    cpdef _on_topic(self, object topic, dict message, double received_at)
