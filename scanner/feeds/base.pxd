# C types for base.py, which Cython compiles (see setup.py).
from scanner.book cimport Link, OrderBook


cdef class FeedStats:
    cdef public int connections, connected
    cdef public long long messages, reconnects
    cdef public double last_message_at
    cdef public object resyncs, errors
    cdef public str last_error


cdef class Venue:
    cdef public dict books  # unified symbol -> book
    cdef public dict by_id  # exchange market id -> book
    cdef public object on_book, fetch, ping_interval
    cdef public str ws_url, rest_url
    cdef public Link link  # the connection's liveness, shared by its books

    cpdef handle(self, frame, double received_at)
