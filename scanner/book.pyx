# cython: language_level=3
"""L2 order books with a validity state, two clocks and known depth (compiled with Cython).

Each side keeps its levels in two C arrays, worst first and best last: ``keys`` (the price,
negated on the bid side so that on both sides a better level has a lower key; the keys descend)
and ``sizes``. A level update is a binary search over contiguous bytes and at most one
``memmove`` of the levels better than it, so the frequent changes near the top of a deep side
move a few bytes; nothing is allocated per level. ``best_key()`` (inline, for the compiled
readers) is the best level's key.

A side holds every level its channel sends (a level dropped locally is never re-sent, so a
diff-fed side is never truncated), up to ``MAX_LEVELS``. What it knows completely is marked
twice: ``depth``, the levels from the best a depth-limited channel keeps current (Bybit
``orderbook.50``, OKX ``books``), and ``bound``, the worst price a cut snapshot covered (Binance's
REST snapshot: deeper levels arrive only when they change). ``levels()`` stops at both, so the
engine never reads a level that may be missing or stale. Wire
texts go through ``parse_number``, an exact fast path that gives the same double as
``float(text)``. Prices and sizes are floats from here on; the engine's maths is checked
against a Decimal oracle in the tests.
"""
from enum import IntEnum

from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.math cimport INFINITY, isfinite, nextafter
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

cdef double[23] POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                         1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
cdef unsigned long long EXACT_MANTISSA = 1ULL << 53  # every integer up to this is a double
cdef Py_ssize_t MIN_CAPACITY = 64
cdef Py_ssize_t MAX_SIDE = 5000
MAX_LEVELS = MAX_SIDE  # levels per side a book holds; past it the deepest become unknown


cdef double parse_number(object text) except? -1.0:
    """``float(text)`` for a wire price or size, without allocating (``parse_chars`` of a
    text's characters; anything but a text goes through ``float``). Raises ValueError for text
    that is not a finite, non-negative number."""
    cdef Py_ssize_t length
    cdef const char* chars
    if type(text) is str:
        chars = PyUnicode_AsUTF8AndSize(text, &length)
        return parse_chars(chars, length)
    return _parse_float(text)


cdef double parse_chars(const char* chars, Py_ssize_t length) except? -1.0:
    """``parse_number`` of the UTF-8 text ``chars[:length]`` (a feed that reads the wire's bytes
    itself): plain decimal text with at most 2**53 as its digits and at most 22 decimals is one
    integer divided by an exact power of ten, and that one IEEE division is correctly rounded,
    as ``float`` is. Anything else (exponents, long texts) goes through ``float``."""
    cdef Py_ssize_t i
    cdef unsigned long long mantissa = 0
    cdef int decimals = -1  # digits after the point; -1 while no point was seen
    cdef bint digits = False
    cdef char c
    for i in range(length):
        c = chars[i]
        if c'0' <= c <= c'9':
            mantissa = mantissa * 10 + <unsigned long long>(c - c'0')
            digits = True
            if decimals >= 0:
                decimals += 1
            if mantissa > EXACT_MANTISSA or decimals > 22:
                break
        elif c == c'.' and decimals < 0:
            decimals = 0
        else:
            break
    else:
        if digits:
            return <double>mantissa / POW10[decimals if decimals > 0 else 0]
    return _parse_float(chars[:length].decode())


cdef double _parse_float(object text) except? -1.0:
    cdef double value = float(text)
    if not (isfinite(value) and value >= 0.0):
        raise ValueError(f"not a price or size: {text!r}")
    return value


cdef class ParsedLevels:
    """Wire levels already parsed (a feed that reads each level's texts itself, as Bitget's
    checksum mirror does, parses them once): ``BookSide.apply`` takes them as it takes the
    wire's ``[[price, size], ...]``. Reused frame after frame."""

    def __cinit__(self):
        self.count = self.capacity = 0
        self.prices = self.sizes = NULL

    def __dealloc__(self):
        free(self.prices)
        free(self.sizes)

    def __len__(self) -> int:
        return self.count

    cdef int reserve(self, Py_ssize_t n) except -1:
        """Empty it, with room for ``n`` levels (the reader fills ``prices``, ``sizes``, ``count``)."""
        cdef Py_ssize_t capacity = max(n, MIN_CAPACITY)
        cdef void* grown
        self.count = 0
        if n > self.capacity:
            grown = realloc(self.prices, capacity * sizeof(double))
            if grown is NULL:
                raise MemoryError()
            self.prices = <double*>grown
            grown = realloc(self.sizes, capacity * sizeof(double))
            if grown is NULL:
                raise MemoryError()
            self.sizes = <double*>grown
            self.capacity = capacity
        return 0


class BookState(IntEnum):
    SYNCING = 0  # waiting for a snapshot, or resyncing after a gap
    LIVE = 1  # in sync and valid
    INVALID = 2  # failed validation (crossed, malformed); waits for a resync
    UNPROVEN = 3  # its connection went silent: levels kept, not used until a diff chains on


SYNCING, LIVE, INVALID, UNPROVEN = (BookState.SYNCING, BookState.LIVE, BookState.INVALID,
                                    BookState.UNPROVEN)


class BookError(Exception):
    """The book of ``symbol`` lost its integrity and must be rebuilt; ``reason`` is ``gap``
    (a diff does not chain on), ``crossed`` or ``malformed`` (a level that is not a number)."""

    def __init__(self, str symbol, str reason, str detail=""):
        super().__init__(f"{symbol}: {reason}" + (f" ({detail})" if detail else ""))
        self.symbol = symbol
        self.reason = reason


cdef class Link:
    """The liveness of the connection a book's frames arrive on, shared by its books: when the
    last frame of any kind arrived, and how far the exchange's clock lags the local one (the
    one-way delay over the lowest seen on this connection, so a constant clock offset
    cancels). A quiet book on a live link is fresh; every book on a silent or lagging link is
    stale."""

    def __init__(self):
        self.reset()

    cpdef reset(self):
        """A new connection: nothing heard yet."""
        self.received_at = 0.0
        self.min_delay = INFINITY
        self.lag = 0.0

    cdef inline void observe(self, double received_at, double exchange_time) noexcept:
        cdef double delay
        self.received_at = received_at
        if exchange_time:
            delay = received_at - exchange_time
            if delay < self.min_delay:
                self.min_delay = delay
            self.lag = delay - self.min_delay


cdef class BookSide:
    """One side of a book: every level its channel sent (at most ``MAX_LEVELS``), stored worst
    first so the best is the last element, of which ``levels()`` reads the known ones."""

    def __cinit__(self, bint is_bid, Py_ssize_t depth=MAX_SIDE):
        if not 0 < depth <= MAX_SIDE:
            raise ValueError(f"book depth must be between 1 and {MAX_SIDE}, got {depth}")
        self.is_bid = is_bid
        self.depth = depth
        self.bound = INFINITY
        self.count = 0
        self.capacity = MIN_CAPACITY
        self.key_base = <double*>malloc(self.capacity * sizeof(double))
        self.size_base = <double*>malloc(self.capacity * sizeof(double))
        if self.key_base is NULL or self.size_base is NULL:
            raise MemoryError()
        self._place(0)

    def __dealloc__(self):
        free(self.key_base)
        free(self.size_base)

    def __len__(self) -> int:
        return self.count

    cpdef clear(self):
        """Empty the side; what it knows is unbounded again (a full snapshot follows)."""
        self.count = 0
        self.bound = INFINITY
        self._place(0)

    cpdef load(self, levels):
        """Empty the side and apply a snapshot's wire levels: ``apply`` after ``clear``, in one
        pass when the levels come best first, as every exchange sends them."""
        self.clear()
        if not self._load_sorted(levels):
            self.apply(levels)

    cdef bint _load_sorted(self, levels) except -1:
        """Fill the empty side from ``levels`` if they are distinct, sized and best first
        (then the arrays are the levels reversed); False, side empty, otherwise."""
        cdef Py_ssize_t n = len(levels), i
        cdef double sign = -1.0 if self.is_bid else 1.0, key, size
        if n > MAX_SIDE:
            return False
        if self.capacity < n:
            self._reserve(n)
        self._place(n)
        for i in range(n):
            level = levels[i]
            key = sign * parse_number(level[0])
            size = parse_number(level[1])
            if size == 0.0 or (i and key <= self.keys[n - i]):
                return False
            self.keys[n - 1 - i] = key
            self.sizes[n - 1 - i] = size
        self.count = n
        return True

    cpdef cut_at(self, Py_ssize_t limit):
        """The side was just loaded from a snapshot of at most ``limit`` levels: if it holds
        that many, the levels past its worst one are not known (only those that change later
        arrive), so ``levels()`` stops at that price from now on."""
        if self.count >= limit and self.keys[0] < self.bound:
            self.bound = self.keys[0]

    @property
    def known(self) -> int:
        """How many levels from the best ``levels()`` reads (complete as far as they go)."""
        return min(self.count - self._find(self.bound), self.depth)

    @property
    def top_known(self) -> bool:
        """Whether the best level is known (False: a better unknown level may exist)."""
        return self._top_known()

    cdef bint _top_known(self) noexcept:
        return self.count == 0 or self.keys[self.count - 1] <= self.bound

    cpdef object best(self):
        """The best price, or None on an empty side."""
        if self.count == 0:
            return None
        return -self.best_key() if self.is_bid else self.best_key()

    cpdef double size_at(self, double price):
        """Size at ``price`` (0 if there is no level)."""
        cdef double key = -price if self.is_bid else price
        cdef Py_ssize_t at = self._find(key)
        return self.sizes[at] if at < self.count and self.keys[at] == key else 0.0

    cpdef apply(self, levels):
        """Apply wire levels ``[[price, size, ...], ...]`` or ``ParsedLevels`` (size 0 deletes)."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        cdef ParsedLevels parsed
        cdef Py_ssize_t i
        if type(levels) is ParsedLevels:
            parsed = levels
            for i in range(parsed.count):
                self._update(sign * parsed.prices[i], parsed.sizes[i])
            return
        for level in levels:
            self._update(sign * parse_number(level[0]), parse_number(level[1]))

    cpdef apply_behind(self, levels, double best):
        """Apply only levels strictly worse than ``best`` (the rest is known to be older)."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        cdef double edge = sign * best, key
        cdef ParsedLevels parsed
        cdef Py_ssize_t i
        if type(levels) is ParsedLevels:
            parsed = levels
            for i in range(parsed.count):
                key = sign * parsed.prices[i]
                if key > edge:
                    self._update(key, parsed.sizes[i])
            return
        for level in levels:
            key = sign * parse_number(level[0])
            if key > edge:
                self._update(key, parse_number(level[1]))

    cpdef set_best(self, double price, double size):
        """Make ``price`` the best level with ``size`` (positive): drop every better level."""
        cdef double key = -price if self.is_bid else price
        cdef Py_ssize_t at = self._find(key)  # the better levels are the ones from ``at`` on
        if at < self.count and self.keys[at] == key:
            self.sizes[at] = size
            self.count = at + 1
        else:
            self.count = at
            self._insert(at, key, size)

    cpdef list top(self, Py_ssize_t n):
        """The best ``n`` levels as (price, size) pairs (all held levels, known or not)."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        cdef Py_ssize_t last = self.count - 1
        return [(sign * self.keys[last - i], self.sizes[last - i])
                for i in range(min(n, self.count))]

    def levels(self):
        """The known (price, size) pairs, best first (re-reads the side at each step: the
        ``i``-th is the ``i``-th best when it is read)."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        cdef Py_ssize_t i = 0, at
        while i < self.depth:
            at = self.count - 1 - i
            if at < 0 or self.keys[at] > self.bound:
                return
            yield sign * self.keys[at], self.sizes[at]
            i += 1

    cdef Py_ssize_t _find(self, double key) noexcept:
        """Index of the first (worst) level whose key is not above ``key`` (``find_key``)."""
        return find_key(self.keys, self.count, key)

    cdef int _update(self, double key, double size) except -1:
        """Set, add or (size 0) remove one level."""
        cdef Py_ssize_t at = self._find(key)
        if at < self.count and self.keys[at] == key:
            if size != 0.0:
                self.sizes[at] = size
            else:
                self._remove(at)
        elif size != 0.0:
            self._insert(at, key, size)
        return 0

    cdef int _insert(self, Py_ssize_t at, double key, double size) except -1:
        """Insert a level before index ``at``: the worse levels move down one or the better
        ones up one, whichever are fewer. On a full side the worst level is dropped (this one,
        when it is the worst) and prices from there on become unknown."""
        if self.count == MAX_SIDE:
            if at == 0:
                self.bound = min(self.bound, nextafter(key, -INFINITY))
                return 0
            self.bound = min(self.bound, nextafter(self.keys[0], -INFINITY))
            self._drop_worst(1)
            at -= 1
        if at < self.count - at:
            if self.keys == self.key_base:
                self._reserve(self.count + 1)
            memmove(self.keys - 1, self.keys, at * sizeof(double))
            memmove(self.sizes - 1, self.sizes, at * sizeof(double))
            self.keys -= 1
            self.sizes -= 1
        else:
            if self.keys + self.count == self.key_base + self.capacity:
                self._reserve(self.count + 1)
            memmove(&self.keys[at + 1], &self.keys[at], (self.count - at) * sizeof(double))
            memmove(&self.sizes[at + 1], &self.sizes[at], (self.count - at) * sizeof(double))
        self.count += 1
        self.keys[at] = key
        self.sizes[at] = size
        return 0

    cdef void _remove(self, Py_ssize_t at) noexcept:
        """Remove the level at ``at``: the worse levels move up one or the better ones down
        one, whichever are fewer."""
        cdef Py_ssize_t better = self.count - at - 1
        if at < better:
            memmove(self.keys + 1, self.keys, at * sizeof(double))
            memmove(self.sizes + 1, self.sizes, at * sizeof(double))
            self.keys += 1
            self.sizes += 1
        elif better > 0:
            memmove(&self.keys[at], &self.keys[at + 1], better * sizeof(double))
            memmove(&self.sizes[at], &self.sizes[at + 1], better * sizeof(double))
        self.count -= 1

    cdef void _drop_worst(self, Py_ssize_t n) noexcept:
        """Drop the ``n`` worst levels (the arrays start further on: nothing moves)."""
        self.keys += n
        self.sizes += n
        self.count -= n

    cdef void _place(self, Py_ssize_t n) noexcept:
        """Start the arrays so that ``n`` levels sit in the middle of their allocation, with
        room to grow at both ends (the levels are not moved: call on an empty side)."""
        cdef Py_ssize_t start = (self.capacity - n) // 2
        self.keys = self.key_base + start
        self.sizes = self.size_base + start

    cdef int _reserve(self, Py_ssize_t n) except -1:
        """Room for ``n`` levels and an eighth more at each end: the levels moved to the middle
        of their allocation, first doubled until it is large enough."""
        cdef Py_ssize_t capacity = self.capacity
        cdef Py_ssize_t start
        cdef double* key_base
        cdef double* size_base
        while capacity < n + n // 4 + 2:
            capacity *= 2
        start = (capacity - self.count) // 2
        if capacity == self.capacity:
            memmove(self.key_base + start, self.keys, self.count * sizeof(double))
            memmove(self.size_base + start, self.sizes, self.count * sizeof(double))
        else:
            key_base = <double*>malloc(capacity * sizeof(double))
            size_base = <double*>malloc(capacity * sizeof(double))
            if key_base is NULL or size_base is NULL:
                free(key_base)
                free(size_base)
                raise MemoryError()
            memcpy(key_base + start, self.keys, self.count * sizeof(double))
            memcpy(size_base + start, self.sizes, self.count * sizeof(double))
            free(self.key_base)
            free(self.size_base)
            self.key_base, self.size_base, self.capacity = key_base, size_base, capacity
        self.keys = self.key_base + start
        self.sizes = self.size_base + start
        return 0

    cpdef keep_best(self, Py_ssize_t n):
        """Drop every level but the best ``n`` (a channel that truncates its book, as Kraken's
        does, sends no delete for a level pushed past its depth)."""
        if self.count > n:
            self._drop_worst(self.count - n)


cdef class OrderBook:
    """The L2 book of one symbol on one exchange.

    ``seq`` chains the exchange's diff stream. ``version`` (sequence or timestamp, per exchange)
    orders the diff stream against a faster best-bid/offer stream: ``top_version`` is the
    version of the last top-of-book patch, so an older diff never overwrites a newer top and
    an older patch is never applied over a newer diff. ``depth``: the levels per side its
    channel keeps current (the whole book by default; the adapter sets its channel's).
    """

    def __init__(self, str exchange, str symbol, Py_ssize_t depth=MAX_SIDE, double staleness=5.0,
                 Link link=None, object instrument=None):
        self.exchange = exchange
        self.symbol = symbol
        self.instrument = instrument  # the scanner.instruments.Instrument the book is of
        self.staleness = staleness  # seconds of silence (or exchange clock lag) on its link after which the book is not used
        self.link = Link() if link is None else link
        self.bids = BookSide(True, depth)
        self.asks = BookSide(False, depth)
        self._keep_best_keys()
        self.state = SYNCING
        self.seq = self.version = self.top_version = 0
        self.received_at = 0.0  # local monotonic time of the last applied frame
        self.exchange_time = 0.0  # exchange event time of the last applied frame, unix seconds
        self.updates = 0

    cpdef reset(self, object state=SYNCING):
        self.bids.clear()
        self.asks.clear()
        self._keep_best_keys()
        self.state = state
        self.seq = self.version = self.top_version = 0

    cpdef load_snapshot(self, bids, asks, long long seq, long long version, double received_at,
                        double exchange_time=0.0):
        self.bids.clear()
        self.asks.clear()
        try:
            self.bids.load(bids)
            self.asks.load(asks)
        except Exception as exc:
            self.state = INVALID  # a level that is not a price left the book half-loaded
            raise BookError(self.symbol, "malformed", repr(exc)) from exc
        self.seq = seq
        self.version = version
        self.top_version = 0
        self.state = SYNCING
        self._touched(received_at, exchange_time)
        self._check_crossed()

    cpdef bint apply_range(self, bids, asks, long long first, long long last, long long version,
                           double received_at, double exchange_time=0.0) except -1:
        """Apply a diff covering the exchange's updates ``first``..``last`` (REST-snapshot
        protocols, whose diffs may overlap the snapshot: Binance U/u): False, nothing done, if
        the book already has ``last``; BookError ``gap`` if updates after ``seq`` are missing."""
        if last <= self.seq:
            return False
        if first > self.seq + 1:
            raise BookError(self.symbol, "gap", f"have {self.seq}, next diff starts at {first}")
        self._apply_chained(bids, asks, last, version, received_at, exchange_time)
        return True

    cpdef apply_next(self, bids, asks, long long prev, long long seq, long long version,
                     double received_at, double exchange_time=0.0):
        """Apply a diff that follows update ``prev`` exactly (WebSocket-snapshot protocols: OKX
        prevSeqId/seqId, Bybit u-1/u); BookError ``gap`` if the book is not at ``prev``. The
        new ``seq`` may be lower (OKX after maintenance) or equal (an idle message)."""
        if prev != self.seq:
            raise BookError(self.symbol, "gap", f"have {self.seq}, diff follows {prev}")
        self._apply_chained(bids, asks, seq, version, received_at, exchange_time)

    cdef int _apply_chained(self, bids, asks, long long seq, long long version,
                            double received_at, double exchange_time) except -1:
        """Advance ``seq`` first (a diff that fails half way leaves the book INVALID), apply,
        and check: malformed or crossed is a BookError; chaining on proves an UNPROVEN book."""
        self.seq = seq
        try:
            self.apply_diff(bids, asks, version, received_at, exchange_time)
        except Exception as exc:
            raise BookError(self.symbol, "malformed", repr(exc)) from exc
        if self.state is UNPROVEN:
            self.state = LIVE
        return self._check_crossed()

    cdef int _check_crossed(self) except -1:
        if self.state is INVALID:
            raise BookError(self.symbol, "crossed",
                            f"bid {self.best_bid()} >= ask {self.best_ask()}")
        return 0

    cpdef mark_unproven(self):
        """Its connection was silent: keep the levels, stop using them until a diff chains on
        (a top-of-book frame does not prove that no diff was missed)."""
        if self.state is LIVE:
            self.state = UNPROVEN

    cpdef apply_diff(self, bids, asks, long long version, double received_at,
                     double exchange_time=0.0):
        """Apply a diff; if a newer top-of-book patch exists, keep the top from it."""
        if version > self.version:
            self.version = version
        try:
            if version > self.top_version or not self.bids.count:
                self.bids.apply(bids)
            else:
                self.bids.apply_behind(bids, -self.bids.best_key())
            if version > self.top_version or not self.asks.count:
                self.asks.apply(asks)
            else:
                self.asks.apply_behind(asks, self.asks.best_key())
        except Exception:
            self.state = INVALID  # a level that is not a price left the diff half-applied
            raise
        self._touched(received_at, exchange_time)

    cpdef bint patch_top(self, bid, bid_size, ask, ask_size, long long version,
                         double received_at, double exchange_time=0.0) except -1:
        """Apply a best bid/offer update (exchange texts) newer than anything applied to a LIVE
        book; False if it is stale or the book is not LIVE. BookError ``crossed`` if the patch
        crosses the book; a malformed text raises ValueError before anything changes."""
        cdef double bid_qty = parse_number(bid_size), ask_qty = parse_number(ask_size)
        cdef double bid_price = parse_number(bid), ask_price = parse_number(ask)
        if self.state is not LIVE or version <= self.top_version or version <= self.version:
            return False
        self.top_version = version
        if bid_qty > 0.0:
            self.bids.set_best(bid_price, bid_qty)
        if ask_qty > 0.0:
            self.asks.set_best(ask_price, ask_qty)
        self._touched(received_at, exchange_time)
        self._check_crossed()
        return True

    cdef void _touched(self, double received_at, double exchange_time) noexcept:
        self.received_at = received_at
        if exchange_time:
            self.exchange_time = exchange_time
        self.link.observe(received_at, exchange_time)
        self.updates += 1
        self._keep_best_keys()
        if -self.bid_key >= self.ask_key:
            self.state = INVALID
        elif not (self.bids._top_known() and self.asks._top_known()):
            self.state = INVALID  # the market moved past what the snapshot covered
        elif self.state is SYNCING:
            self.state = LIVE

    cpdef object best_bid(self):
        return self.bids.best()

    cpdef object best_ask(self):
        return self.asks.best()

    cpdef bint is_usable(self, double now) noexcept:
        """Live, two-sided, and its link heard within ``staleness`` seconds (monotonic clock)
        with the exchange's clock lagging by no more than that: however long the book itself
        has not changed (a quiet book on a live, continuous feed is current)."""
        return (self.state is LIVE and self.bid_key < INFINITY and self.ask_key < INFINITY
                and now - self.link.received_at <= self.staleness
                and self.link.lag <= self.staleness)

    def __repr__(self) -> str:
        return (f"OrderBook({self.exchange} {self.symbol} {self.state.name} "
                f"bid={self.best_bid()} ask={self.best_ask()} seq={self.seq})")
