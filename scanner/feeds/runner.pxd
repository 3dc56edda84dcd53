# C types for runner.py, which Cython compiles (see setup.py).
from scanner.feeds.base cimport FeedStats, Venue


cdef class FeedRunner:
    cdef public Venue venue
    cdef public FeedStats stats
    cdef public object recorder, backoff, _ws, _http
    cdef double _next_request_at
    cdef public bint replaying, _failure_counted, _connected
    cdef public double silence_seconds, staleness_seconds, _last_frame_at
    cdef int _attempts
    cdef dict _resyncing

    cpdef on_frame(self, frame, double received_at)
