# cython: language_level=3
"""Bitget's book checksum, kept up to date with each frame (compiled with Cython).

Bitget signs every ``books`` update with the CRC32 (as a signed 32-bit integer) of the best 25
bids and asks interleaved, ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` (a shorter side's
missing levels are skipped), written with the exchange's own texts ("0.5000", not "0.5").
The book holds doubles, so a ``TextBook`` keeps beside it the wire's ``price:size`` text of
every price, laid out as the book's sides are: worst first, best last, each text in a slot of
one array in that order (32 bytes; 64 once a side gets a longer text). A change near the top
moves only the few better slots, and the best 25 texts of a side lie side by side at its end,
so a check reads two short runs of memory, prefetched when the frame arrives. Each update's
levels are parsed once, here: the book takes them as ``ParsedLevels``. A check copies the best
25 texts of each side into one buffer and runs zlib-ng's SIMD CRC32 over it, called in C (no
bytes object, no Python call).
"""
import ctypes

from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from zlib_ng import zlib_ng

from scanner.book cimport BookSide, ParsedLevels, find_key, parse_chars, parse_number
from scanner.feeds.jsonscan cimport BooksUpdate, Level, LevelSpans
from scanner.book import MAX_LEVELS, BookError


cdef extern from *:
    void __builtin_prefetch(const void* address) nogil

cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)
    void* PyUnicode_DATA(object text)

CHECKSUM_LEVELS = 25  # levels per side the checksum covers
SLOT = 64  # bytes per level text at most: its length, then up to 63 characters of "price:size"
cdef Py_ssize_t LEVELS = CHECKSUM_LEVELS
cdef Py_ssize_t TEXT_SLOT = SLOT
cdef Py_ssize_t MAX_SIDE = MAX_LEVELS  # as the book: past it the worst levels are dropped
cdef Py_ssize_t MIN_CAPACITY = 64
cdef enum:
    SHORT_TEXT = 32  # bytes a check copies at once per level (most texts are shorter)
    NARROW_SLOT = 32  # a side's slots until one of its texts needs more (most never do)

ctypedef uint32_t (*Crc32)(uint32_t crc, const unsigned char* data, uint32_t length) noexcept nogil
# zlib-ng's own ``zng_crc32`` (exported by the zlib_ng module the project depends on), the
# function its ``crc32`` wraps: called directly, a check allocates nothing
cdef Crc32 crc32 = <Crc32><size_t>ctypes.cast(ctypes.CDLL(zlib_ng.__file__).zng_crc32,
                                              ctypes.c_void_p).value


cdef class TextSide:
    """One side's wire texts, keyed by price and ordered like ``BookSide`` (worst first, best
    last); a level's text moves with its key."""

    def __cinit__(self, bint is_bid):
        self.is_bid = is_bid
        self.count = self.capacity = 0
        self.slot = NARROW_SLOT
        self.keys = NULL
        self.texts = NULL
        self._grow()

    def __dealloc__(self):
        free(self.keys)
        free(self.texts)

    def __len__(self) -> int:
        return self.count

    cpdef clear(self):
        self.count = 0

    def levels(self) -> list:
        """The ``[price, size]`` texts held, best first."""
        return [self.text(i)[1:1 + <unsigned char>self.text(i)[0]].decode().split(":")
                for i in range(self.count - 1, -1, -1)]

    cdef inline char* text(self, Py_ssize_t at) noexcept:
        return &self.texts[at * self.slot]

    cdef int load(self, list levels) except -1:
        """Replace the side with a snapshot's levels: in one pass when they come best first,
        distinct and sized, as every exchange sends them (the slots fill from the end)."""
        cdef Py_ssize_t n = len(levels), i
        cdef double sign = -1.0 if self.is_bid else 1.0, key
        self.count = 0
        if n <= MAX_SIDE:
            while self.capacity < n:
                self._grow()
            for i in range(n):
                level = levels[i]
                price, size = level[0], level[1]
                _check_texts(price, size, level)
                key = sign * parse_number(price)
                if parse_number(size) == 0.0 or (i and key <= self.keys[n - i]):
                    break
                self.keys[n - 1 - i] = key
                self._write(n - 1 - i, <const char*>PyUnicode_DATA(price), PyUnicode_GET_LENGTH(price),
                            <const char*>PyUnicode_DATA(size), PyUnicode_GET_LENGTH(size))
            else:
                self.count = n
                return 0
        return self.apply(levels, ParsedLevels())

    cdef int apply(self, list levels, ParsedLevels parsed) except -1:
        """Apply wire levels ``[[price, size], ...]`` (size 0 deletes), each parsed once into
        ``parsed`` (emptied first); ValueError for a level whose price or size is not an
        ASCII text, or longer together than a slot holds."""
        parsed.reserve(len(levels))
        for level in levels:
            price, size = level[0], level[1]
            _check_texts(price, size, level)
            self._apply_level(<const char*>PyUnicode_DATA(price), PyUnicode_GET_LENGTH(price),
                              <const char*>PyUnicode_DATA(size), PyUnicode_GET_LENGTH(size), parsed)
        return 0

    cdef int apply_spans(self, LevelSpans levels, ParsedLevels parsed) except -1:
        """``apply`` for levels read from the frame's bytes (ASCII texts, as ``scan`` reads)."""
        cdef Py_ssize_t i
        cdef Level* level
        parsed.reserve(levels.count)
        for i in range(levels.count):
            level = &levels.levels[i]
            if level.price_length + level.size_length >= TEXT_SLOT - 1:
                raise ValueError(f"not a [price, size] of short texts: {levels.texts()[i]!r}")
            self._apply_level(level.price, level.price_length, level.size, level.size_length,
                              parsed)
        return 0

    cdef inline int _apply_level(self, const char* price, Py_ssize_t price_length,
                                 const char* size, Py_ssize_t size_length,
                                 ParsedLevels parsed) except -1:
        """Parse one level into ``parsed`` and set its text (size 0: remove it)."""
        cdef double price_value = parse_chars(price, price_length)
        cdef double size_value = parse_chars(size, size_length)
        cdef double key = -price_value if self.is_bid else price_value
        parsed.prices[parsed.count] = price_value
        parsed.sizes[parsed.count] = size_value
        parsed.count += 1
        if size_value == 0.0:
            return self._set(key, NULL, 0, NULL, 0)
        return self._set(key, price, price_length, size, size_length)

    cdef int _set(self, double key, const char* price, Py_ssize_t price_length, const char* size,
                  Py_ssize_t size_length) except -1:
        """Set, add or (``price`` NULL) remove the level at ``key``."""
        cdef Py_ssize_t at = find_key(self.keys, self.count, key)
        if not (at < self.count and self.keys[at] == key):
            if price is NULL:
                return 0
            if self.count == MAX_SIDE:
                if at == 0:
                    return 0  # worse than every level of a full side: dropped, as the book does
                at -= 1  # the worse levels move down one, over the dropped worst
                memmove(self.keys, &self.keys[1], at * sizeof(double))
                memmove(self.texts, &self.texts[self.slot], at * self.slot)
            else:
                if self.count == self.capacity:
                    self._grow()
                if at < self.count:
                    memmove(&self.keys[at + 1], &self.keys[at], (self.count - at) * sizeof(double))
                    memmove(self.text(at + 1), self.text(at), (self.count - at) * self.slot)
                self.count += 1
            self.keys[at] = key
        elif price is NULL:
            self._remove(at)
            return 0
        return self._write(at, price, price_length, size, size_length)

    cdef inline int _write(self, Py_ssize_t at, const char* price, Py_ssize_t price_length,
                           const char* size, Py_ssize_t size_length) except -1:
        """Write ``price:size`` into the slot of level ``at`` (together shorter than ``SLOT``)."""
        cdef char* slot
        if price_length + 1 + size_length >= self.slot:
            self._widen()
        slot = self.text(at)
        slot[0] = <char>(price_length + 1 + size_length)
        memcpy(&slot[1], price, price_length)
        slot[1 + price_length] = c':'
        memcpy(&slot[2 + price_length], size, size_length)
        return 0

    cdef void _remove(self, Py_ssize_t at) noexcept:
        """Remove the level at ``at`` (the better levels move down one)."""
        cdef Py_ssize_t better = self.count - at - 1
        if better > 0:
            memmove(&self.keys[at], &self.keys[at + 1], better * sizeof(double))
            memmove(self.text(at), self.text(at + 1), better * self.slot)
        self.count -= 1

    cdef int _widen(self) except -1:
        """Make every slot ``SLOT`` bytes wide, texts kept (all ``capacity`` slots: a snapshot
        being loaded fills them before ``count`` is set)."""
        cdef char* texts = <char*>malloc(self.capacity * TEXT_SLOT + SHORT_TEXT)
        cdef Py_ssize_t i
        if texts is NULL:
            raise MemoryError()
        for i in range(self.capacity):
            memcpy(&texts[i * TEXT_SLOT], &self.texts[i * self.slot], self.slot)
        free(self.texts)
        self.texts = texts
        self.slot = TEXT_SLOT
        return 0

    cdef int _grow(self) except -1:
        """Room for twice as many levels (at most ``MAX_LEVELS``)."""
        cdef Py_ssize_t capacity = min(max(self.capacity * 2, MIN_CAPACITY), MAX_SIDE)
        cdef void* keys = realloc(self.keys, capacity * sizeof(double))
        cdef void* texts
        if keys is NULL:
            raise MemoryError()
        self.keys = <double*>keys
        texts = realloc(self.texts, capacity * self.slot + SHORT_TEXT)  # + what a check may read past
        if texts is NULL:
            raise MemoryError()
        self.texts = <char*>texts
        self.capacity = capacity
        return 0


cdef inline int _check_texts(object price, object size, object level) except -1:
    """ValueError unless a wire level's price and size are ASCII texts that fit a slot together."""
    if type(price) is not str or type(size) is not str or not PyUnicode_IS_COMPACT_ASCII(price) \
            or not PyUnicode_IS_COMPACT_ASCII(size) \
            or PyUnicode_GET_LENGTH(price) + PyUnicode_GET_LENGTH(size) >= TEXT_SLOT - 1:
        raise ValueError(f"not a [price, size] of short texts: {level!r}")
    return 0


cdef inline void _prefetch(const char* start, const char* end) noexcept:
    while start < end:
        __builtin_prefetch(start)
        start += 64  # a cache line


cdef inline void _prefetch_top(const double* values, Py_ssize_t count) noexcept:
    """Prefetch the best 16 of a book side's ``count`` values (its end: the best is last)."""
    _prefetch(<const char*>&values[max(count - 16, 0)], <const char*>&values[count])


cdef class TextBook:
    """The wire texts of one book's levels and the checksum Bitget computes over them."""

    def __cinit__(self, OrderBook book):
        self.book = book
        self.bids = TextSide(True)
        self.asks = TextSide(False)
        self.parsed_bids = ParsedLevels()
        self.parsed_asks = ParsedLevels()
        self.buffer = <char*>malloc(2 * LEVELS * TEXT_SLOT + SHORT_TEXT)
        if self.buffer is NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buffer)

    cpdef load(self, list bids, list asks):
        """Replace the texts with a snapshot's."""
        try:
            self.bids.load(bids)
            self.asks.load(asks)
        except (ValueError, TypeError, IndexError) as exc:
            raise BookError(self.book.symbol, "malformed", repr(exc)) from exc

    cpdef apply(self, list bids, list asks):
        """Apply an update's levels (parsed once, into ``parsed_bids`` and ``parsed_asks``);
        BookError ``malformed`` for a level that is not texts."""
        try:
            self.bids.apply(bids, self.parsed_bids)
            self.asks.apply(asks, self.parsed_asks)
        except (ValueError, TypeError, IndexError) as exc:
            raise BookError(self.book.symbol, "malformed", repr(exc)) from exc

    cdef int apply_update(self, BooksUpdate update) except -1:
        """``apply`` for an update read from the frame's bytes (``BooksUpdate.scan``)."""
        try:
            self.bids.apply_spans(update.bids, self.parsed_bids)
            self.asks.apply_spans(update.asks, self.parsed_asks)
        except ValueError as exc:
            raise BookError(self.book.symbol, "malformed", repr(exc)) from exc
        return 0

    cdef void prefetch(self) noexcept:
        """Ask the memory for what the frame of this book reads (rarely in the cache when it
        comes): the texts a check reads, and the top of the book's arrays, fetched while the
        frame is parsed and its texts applied, not waited for."""
        cdef TextSide bids = self.bids, asks = self.asks
        cdef BookSide book_bids = self.book.bids, book_asks = self.book.asks
        _prefetch(bids.text(max(bids.count - LEVELS, 0)), bids.text(bids.count))
        _prefetch(asks.text(max(asks.count - LEVELS, 0)), asks.text(asks.count))
        _prefetch_top(bids.keys, bids.count)
        _prefetch_top(asks.keys, asks.count)
        _prefetch_top(book_bids.keys, book_bids.count)
        _prefetch_top(book_bids.sizes, book_bids.count)
        _prefetch_top(book_asks.keys, book_asks.count)
        _prefetch_top(book_asks.sizes, book_asks.count)

    cpdef long long checksum(self) except? -1:
        """CRC32 (signed) of the best 25 levels per side, interleaved, in the wire's texts."""
        cdef TextSide bids = self.bids, asks = self.asks
        cdef Py_ssize_t i, at = 0
        cdef uint32_t crc
        for i in range(min(LEVELS, max(bids.count, asks.count))):
            if i < bids.count:
                at = self._append(bids.text(bids.count - 1 - i), at)
            if i < asks.count:
                at = self._append(asks.text(asks.count - 1 - i), at)
        crc = crc32(0, <unsigned char*>self.buffer, <uint32_t>(at - 1 if at else 0))
        return <long long>crc - (1LL << 32) if crc >= (1U << 31) else <long long>crc

    cdef inline Py_ssize_t _append(self, const char* slot, Py_ssize_t at) noexcept:
        """Append a slot's text and a ``:`` to the buffer at ``at``; the new end."""
        cdef Py_ssize_t length = <unsigned char>slot[0]
        memcpy(&self.buffer[at], &slot[1], SHORT_TEXT)  # a fixed size: two vector moves, where a
        if length > SHORT_TEXT:  # variable one is a ``rep movs`` that costs more than the copy
            memcpy(&self.buffer[at + SHORT_TEXT], &slot[1 + SHORT_TEXT], length - SHORT_TEXT)
        self.buffer[at + length] = c':'
        return at + length + 1
