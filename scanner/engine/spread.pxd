# C types for spread.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook


cdef class TakerLeg:
    cdef readonly OrderBook book
    cdef readonly double buy_mult, sell_mult


cdef class SpreadEngine:
    cdef public object store, costs, config, clock, wall_clock, new_id, emit
    cdef public dict open
    cdef public set suspect
    cdef public object opened_total, suspects_total
    cdef public long long evaluations
    cdef public double last_evaluated_at
    cdef public dict pairs, cross, skipped
    cdef public set waiting
    cdef dict _held, _home
    cdef dict _legs

    cpdef on_book(self, OrderBook book)
    cpdef update(self, str symbol)
    @cython.locals(now=double)
    cpdef list evaluate(self, str symbol)
    @cython.locals(leg=TakerLeg, book=OrderBook, bid=double, ask=double,
                   top_bid=double, top_ask=double, net_bid=double, net_ask=double)
    cdef bint _quiet(self, str symbol, double now) except -1
    @cython.locals(wall=double, buy=OrderBook, sell=OrderBook)
    cdef _evaluate_cross(self, list pairs, double now, list events)
    @cython.locals(best_ask=double, best_bid=double)
    cdef _evaluate_pair(self, tuple key, OrderBook buy, OrderBook sell, double wall, list events,
                        double rate, object conversions)
    cdef _clear_suspect(self, tuple key)
    cdef _close(self, tuple key, double wall, str reason, list events)
