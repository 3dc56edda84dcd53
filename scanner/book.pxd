# The order book's C layout, shared with the compiled modules that read it (``cimport``).

from libc.math cimport INFINITY

cdef double parse_number(object text) except? -1.0
cdef double parse_chars(const char* chars, Py_ssize_t length) except? -1.0


cdef inline Py_ssize_t find_key(const double* keys, Py_ssize_t count, double key) noexcept:
    """Index of the first (worst) of ``count`` descending ``keys`` that is not above ``key``:
    the keys before it are worse, those from it on are ``key`` or better. Searched from the
    best end (most changes are near the top): steps of 1, 2, 4... levels, then halving within
    the last step, so a level ``d`` from the best costs about 2 log2(d) reads, all near the
    top. Inline: shared by the book's sides and the compiled modules that mirror them."""
    cdef Py_ssize_t lo = 0, hi = count, step = 1, mid
    while step <= hi and keys[hi - step] <= key:
        hi -= step  # the keys from ``hi`` on are ``key`` or better
        step <<= 1
    if step <= hi:
        lo = hi - step + 1  # the key at ``hi - step`` is worse
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] > key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class ParsedLevels:
    cdef double* prices  # wire levels read once by a feed: price and size per level, in order
    cdef double* sizes
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity

    cdef int reserve(self, Py_ssize_t n) except -1


cdef class BookSide:
    cdef double* keys  # prices worst first, best last, negated on the bid side (keys descend)
    cdef double* sizes
    cdef Py_ssize_t count
    cdef double* key_base  # the allocations ``keys`` and ``sizes`` lie in, with room at both ends
    cdef double* size_base
    cdef Py_ssize_t capacity  # levels each allocation holds
    cdef readonly bint is_bid
    cdef public Py_ssize_t depth  # levels from the best the channel keeps current
    cdef readonly double bound  # the worst known key (the price, negated on bids); past it, unknown

    cpdef clear(self)
    cpdef load(self, levels)
    cdef bint _load_sorted(self, levels) except -1
    cpdef cut_at(self, Py_ssize_t limit)
    cpdef object best(self)
    cpdef double size_at(self, double price)
    cpdef apply(self, levels)
    cpdef apply_behind(self, levels, double best)
    cpdef set_best(self, double price, double size)
    cpdef list top(self, Py_ssize_t n)
    cdef bint _top_known(self) noexcept
    cdef Py_ssize_t _find(self, double key) noexcept
    cdef int _update(self, double key, double size) except -1
    cdef int _insert(self, Py_ssize_t at, double key, double size) except -1
    cdef void _remove(self, Py_ssize_t at) noexcept
    cdef void _drop_worst(self, Py_ssize_t n) noexcept
    cdef void _place(self, Py_ssize_t n) noexcept
    cdef int _reserve(self, Py_ssize_t n) except -1

    cpdef keep_best(self, Py_ssize_t n)

    cdef inline double best_key(self) noexcept:
        """The best level's key (the price, negated on bids); the side must not be empty."""
        return self.keys[self.count - 1]

    cdef inline double key_at(self, Py_ssize_t rank) noexcept:
        """The key of the level ``rank`` places from the best (0: the best); rank < count."""
        return self.keys[self.count - 1 - rank]

    cdef inline double size_at_rank(self, Py_ssize_t rank) noexcept:
        """The size of the level ``rank`` places from the best; rank < count."""
        return self.sizes[self.count - 1 - rank]


cdef class Link:
    cdef public double received_at  # monotonic time of the last frame on the connection
    cdef public double min_delay  # lowest (receipt - exchange time) seen on the connection
    cdef public double lag  # latest delay over that lowest: how far the exchange clock lags

    cpdef reset(self)
    cdef void observe(self, double received_at, double exchange_time) noexcept


cdef class OrderBook:
    # first what the engine's pass over many books reads (``is_usable``, the two best keys),
    # so that pass touches one object per book and not its sides' arrays
    cdef public object state
    cdef public Link link
    cdef public double staleness
    cdef readonly double bid_key  # the best bid's key (minus its price); INFINITY: no bids
    cdef readonly double ask_key  # the best ask's price; INFINITY: no asks
    cdef readonly str exchange
    cdef readonly str symbol
    cdef public object instrument  # scanner.instruments.Instrument
    cdef readonly BookSide bids
    cdef readonly BookSide asks
    cdef public long long seq
    cdef public long long version
    cdef public long long top_version
    cdef public double received_at
    cdef public double exchange_time
    cdef public long long updates

    cpdef reset(self, object state=*)
    cpdef load_snapshot(self, bids, asks, long long seq, long long version, double received_at,
                        double exchange_time=*)
    cpdef apply_diff(self, bids, asks, long long version, double received_at,
                     double exchange_time=*)
    cpdef bint apply_range(self, bids, asks, long long first, long long last, long long version,
                           double received_at, double exchange_time=*) except -1
    cpdef apply_next(self, bids, asks, long long prev, long long seq, long long version,
                     double received_at, double exchange_time=*)
    cdef int _apply_chained(self, bids, asks, long long seq, long long version,
                            double received_at, double exchange_time) except -1
    cdef int _check_crossed(self) except -1
    cpdef mark_unproven(self)
    cpdef bint patch_top(self, bid, bid_size, ask, ask_size, long long version,
                         double received_at, double exchange_time=*) except -1
    cdef void _touched(self, double received_at, double exchange_time) noexcept
    cdef inline void _keep_best_keys(self) noexcept:
        self.bid_key = self.bids.best_key() if self.bids.count else INFINITY
        self.ask_key = self.asks.best_key() if self.asks.count else INFINITY
    cpdef object best_bid(self)
    cpdef object best_ask(self)
    cpdef bint is_usable(self, double now) noexcept
