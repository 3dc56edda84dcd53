# cython: language_level=3
# distutils: libraries = z
"""Bitget's book checksum, kept up to date with each frame (compiled with Cython).

Bitget signs every ``books`` update with the CRC32 (as a signed 32-bit integer) of the best 25
bids and asks interleaved, ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` (a shorter side's
missing levels are skipped), written with the exchange's own texts ("0.5000", not "0.5").
The book holds doubles, so a ``TextBook`` keeps, beside it, the wire level ``[price, size]``
of every price in sorted C arrays like the book's: a check copies the 25 best of each side
into one buffer and runs zlib's ``crc32`` over it, with no Python object made per level.
"""
from cpython.list cimport PyList_GET_ITEM
from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from scanner.book cimport parse_number
from scanner.book import MAX_LEVELS, BookError


cdef extern from "zlib.h":
    unsigned long crc32(unsigned long crc, const unsigned char* buf, unsigned int length) nogil

CHECKSUM_LEVELS = 25  # levels per side the checksum covers
cdef Py_ssize_t LEVELS = CHECKSUM_LEVELS
cdef Py_ssize_t MAX_SIDE = MAX_LEVELS  # as the book: past it the deepest levels are dropped
cdef Py_ssize_t MIN_CAPACITY = 64


cdef class TextSide:
    """One side's wire levels, best first, keyed by price like ``BookSide``."""

    def __cinit__(self, bint is_bid):
        self.is_bid = is_bid
        self.count = 0
        self.capacity = MIN_CAPACITY
        self.keys = <double*>malloc(self.capacity * sizeof(double))
        self.levels = <PyObject**>malloc(self.capacity * sizeof(PyObject*))
        if self.keys is NULL or self.levels is NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.levels is not NULL:
            self.clear()
        free(self.keys)
        free(self.levels)

    def __len__(self) -> int:
        return self.count

    cpdef clear(self):
        cdef Py_ssize_t i
        for i in range(self.count):
            Py_DECREF(<object>self.levels[i])
        self.count = 0

    def texts(self) -> list:
        """The (price, size) texts held, best first."""
        return [(<list>self.levels[i])[0:2] for i in range(self.count)]

    cdef int apply(self, list levels) except -1:
        """Apply wire levels ``[[price, size], ...]`` (size 0 deletes); a level whose price or
        size is not a text is a ValueError."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        for level in levels:
            if type(level) is not list or len(<list>level) < 2 or type(level[0]) is not str \
                    or type(level[1]) is not str:
                raise ValueError(f"not a [price, size] of texts: {level!r}")
            if parse_number(level[1]) == 0.0:
                self._set(sign * parse_number(level[0]), None)
            else:
                self._set(sign * parse_number(level[0]), level)
        return 0

    cdef int _set(self, double key, object level) except -1:
        """Set, add or (``level`` None) remove the level at ``key``."""
        cdef Py_ssize_t lo = 0, hi = self.count, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.count and self.keys[lo] == key:
            if level is None:
                self._remove(lo)
            else:
                Py_INCREF(level)
                Py_DECREF(<object>self.levels[lo])
                self.levels[lo] = <PyObject*>level
            return 0
        if level is None:
            return 0
        if self.count == MAX_SIDE:
            if lo == self.count:
                return 0
            self._remove(self.count - 1)
        elif self.count == self.capacity:
            self._grow()
        if lo < self.count:
            memmove(&self.keys[lo + 1], &self.keys[lo], (self.count - lo) * sizeof(double))
            memmove(&self.levels[lo + 1], &self.levels[lo], (self.count - lo) * sizeof(PyObject*))
        Py_INCREF(level)
        self.keys[lo] = key
        self.levels[lo] = <PyObject*>level
        self.count += 1
        return 0

    cdef void _remove(self, Py_ssize_t at) noexcept:
        cdef PyObject* gone = self.levels[at]
        cdef Py_ssize_t tail = self.count - at - 1
        if tail > 0:
            memmove(&self.keys[at], &self.keys[at + 1], tail * sizeof(double))
            memmove(&self.levels[at], &self.levels[at + 1], tail * sizeof(PyObject*))
        self.count -= 1
        Py_DECREF(<object>gone)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t capacity = min(self.capacity * 2, MAX_SIDE)
        cdef double* keys = <double*>realloc(self.keys, capacity * sizeof(double))
        cdef PyObject** levels
        if keys is NULL:
            raise MemoryError()
        self.keys = keys
        levels = <PyObject**>realloc(self.levels, capacity * sizeof(PyObject*))
        if levels is NULL:
            raise MemoryError()
        self.levels = levels
        self.capacity = capacity
        return 0


cdef class TextBook:
    """The wire texts of one book's levels and the checksum Bitget computes over them."""

    def __cinit__(self, OrderBook book):
        self.book = book
        self.bids = TextSide(True)
        self.asks = TextSide(False)
        self.buffer_size = 2048
        self.buffer = <char*>malloc(self.buffer_size)
        if self.buffer is NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buffer)

    cpdef load(self, list bids, list asks):
        """Replace the texts with a snapshot's."""
        self.bids.clear()
        self.asks.clear()
        self.apply(bids, asks)

    cpdef apply(self, list bids, list asks):
        """Apply an update's levels; BookError ``malformed`` for a level that is not texts."""
        try:
            self.bids.apply(bids)
            self.asks.apply(asks)
        except (ValueError, TypeError, IndexError) as exc:
            raise BookError(self.book.symbol, "malformed", repr(exc)) from exc

    cpdef long long checksum(self) except? -1:
        """CRC32 (signed) of the best 25 levels per side, interleaved, in the wire's texts."""
        cdef TextSide bids = self.bids, asks = self.asks
        cdef Py_ssize_t i, at = 0
        cdef unsigned long crc
        for i in range(min(LEVELS, max(bids.count, asks.count))):
            if i < bids.count:
                at = self._append(at, bids.levels[i])
            if i < asks.count:
                at = self._append(at, asks.levels[i])
        crc = crc32(0, <const unsigned char*>self.buffer, <unsigned int>at)
        return <long long>crc - (1LL << 32) if crc >= (1UL << 31) else <long long>crc

    cdef Py_ssize_t _append(self, Py_ssize_t at, PyObject* level) except -1:
        """Write ``price:size`` of ``level`` at ``at`` (after a ``:`` unless first); the end."""
        cdef Py_ssize_t j, length
        cdef const char* text
        for j in range(2):
            text = PyUnicode_AsUTF8AndSize(<object>PyList_GET_ITEM(<object>level, j), &length)
            if at + length + 1 > self.buffer_size:
                self._reserve(at + length + 1)
            if at:
                self.buffer[at] = c':'
                at += 1
            memcpy(&self.buffer[at], text, length)
            at += length
        return at

    cdef int _reserve(self, Py_ssize_t size) except -1:
        cdef char* buffer = <char*>realloc(self.buffer, size * 2)
        if buffer is NULL:
            raise MemoryError()
        self.buffer = buffer
        self.buffer_size = size * 2
        return 0
