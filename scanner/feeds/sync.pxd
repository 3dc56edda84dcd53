# C types for sync.py, which Cython compiles (see setup.py); exchanges' adapters cimport these.
from scanner.book cimport OrderBook
from scanner.feeds.base cimport Venue


cdef class RestSnapshotVenue(Venue):
    cdef public dict buffers  # symbol -> diffs waiting for a snapshot

    cdef object trim(self, object levels, long long seq)
    cdef diff(self, OrderBook book, object bids, object asks, long long first, long long last,
              double received_at, double exchange_time)
    cpdef bint join_snapshot(self, OrderBook book, object bids, object asks, long long seq,
                             Py_ssize_t limit) except -1


cdef class WsSnapshotVenue(Venue):
    cdef public long long connection_seq  # the connection's last message number, -1: none yet

    cdef object checksum(self, OrderBook book, object bids, object asks)
    cdef snapshot(self, OrderBook book, object bids, object asks, long long seq,
                  long long version, double received_at, double exchange_time,
                  object expected=*)
    cdef delta(self, OrderBook book, object bids, object asks, long long prev, long long seq,
               long long version, double received_at, double exchange_time, object expected=*)
    cdef _verify(self, OrderBook book, object bids, object asks, object expected)
    cdef chain_connection(self, long long seq)
    cpdef invalidate_all(self)
