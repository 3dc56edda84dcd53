# cython: language_level=3
"""Bitget's book checksum, kept up to date with each frame (compiled with Cython).

Bitget signs every ``books`` update with the CRC32 (as a signed 32-bit integer) of the best 25
bids and asks interleaved, ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` (a shorter side's
missing levels are skipped), written with the exchange's own texts ("0.5000", not "0.5").
The book holds doubles, so a ``TextBook`` keeps beside it the wire's ``price:size`` text of
every price, in sorted C arrays like the book's: each text sits in a fixed-size slot of its
side's pool (an insert moves only keys and slot numbers), so a check copies the 25 best of each
side into one buffer with no Python object touched per level, and runs zlib-ng's SIMD CRC32
over it.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from zlib_ng.zlib_ng import crc32

from scanner.book cimport parse_number
from scanner.book import MAX_LEVELS, BookError


cdef extern from *:
    void __builtin_prefetch(const void* address) noexcept nogil

cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)
    void* PyUnicode_DATA(object text)

CHECKSUM_LEVELS = 25  # levels per side the checksum covers
SLOT = 64  # bytes per level text: its length, then up to 63 characters of "price:size"
cdef Py_ssize_t LEVELS = CHECKSUM_LEVELS
cdef Py_ssize_t TEXT_SLOT = SLOT
cdef Py_ssize_t MAX_SIDE = MAX_LEVELS  # as the book: past it the deepest levels are dropped
cdef Py_ssize_t MIN_CAPACITY = 64


cdef class TextSide:
    """One side's wire texts, best first, keyed by price like ``BookSide``; a level's text stays
    in its slot while the level lives (an insert moves keys and slot numbers only)."""

    def __cinit__(self, bint is_bid):
        self.is_bid = is_bid
        self.count = self.capacity = 0
        self.keys = NULL
        self.slots = self.spare = NULL
        self.texts = NULL
        self._grow()

    def __dealloc__(self):
        free(self.keys)
        free(self.slots)
        free(self.texts)
        free(self.spare)

    def __len__(self) -> int:
        return self.count

    cpdef clear(self):
        cdef Py_ssize_t i
        for i in range(self.count):
            self.spare[self.capacity - self.count + i] = self.slots[i]
        self.count = 0

    def levels(self) -> list:
        """The ``[price, size]`` texts held, best first."""
        return [self.text(i)[1:1 + <unsigned char>self.text(i)[0]].decode().split(":")
                for i in range(self.count)]

    cdef inline char* text(self, Py_ssize_t at) noexcept:
        return &self.texts[self.slots[at] * TEXT_SLOT]

    cdef int apply(self, list levels) except -1:
        """Apply wire levels ``[[price, size], ...]`` (size 0 deletes); ValueError for a level
        whose price or size is not an ASCII text, or longer together than a slot holds."""
        cdef double sign = -1.0 if self.is_bid else 1.0
        for level in levels:
            price, size = level[0], level[1]
            if type(price) is not str or type(size) is not str or not PyUnicode_IS_COMPACT_ASCII(price) \
                    or not PyUnicode_IS_COMPACT_ASCII(size) \
                    or PyUnicode_GET_LENGTH(price) + PyUnicode_GET_LENGTH(size) >= TEXT_SLOT - 1:
                raise ValueError(f"not a [price, size] of short texts: {level!r}")
            if parse_number(size) == 0.0:
                self._set(sign * parse_number(price), None, None)
            else:
                self._set(sign * parse_number(price), price, size)
        return 0

    cdef int _set(self, double key, object price, object size) except -1:
        """Set, add or (``price`` None) remove the level at ``key``."""
        cdef Py_ssize_t lo = 0, hi = self.count, mid, price_length, size_length
        cdef char* slot
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        if not (lo < self.count and self.keys[lo] == key):
            if price is None:
                return 0
            if self.count == MAX_SIDE:
                if lo == self.count:
                    return 0
                self._remove(self.count - 1)
            elif self.count == self.capacity:
                self._grow()
            if lo < self.count:
                memmove(&self.keys[lo + 1], &self.keys[lo], (self.count - lo) * sizeof(double))
                memmove(&self.slots[lo + 1], &self.slots[lo], (self.count - lo) * sizeof(int))
            self.keys[lo] = key
            self.slots[lo] = self.spare[self.capacity - self.count - 1]
            self.count += 1
        elif price is None:
            self._remove(lo)
            return 0
        price_length, size_length = PyUnicode_GET_LENGTH(price), PyUnicode_GET_LENGTH(size)
        slot = self.text(lo)
        slot[0] = <char>(price_length + 1 + size_length)
        memcpy(&slot[1], PyUnicode_DATA(price), price_length)
        slot[1 + price_length] = c':'
        memcpy(&slot[2 + price_length], PyUnicode_DATA(size), size_length)
        return 0

    cdef void _remove(self, Py_ssize_t at) noexcept:
        cdef Py_ssize_t tail = self.count - at - 1
        self.spare[self.capacity - self.count] = self.slots[at]
        if tail > 0:
            memmove(&self.keys[at], &self.keys[at + 1], tail * sizeof(double))
            memmove(&self.slots[at], &self.slots[at + 1], tail * sizeof(int))
        self.count -= 1

    cdef int _grow(self) except -1:
        """Room for twice as many levels; called only when every slot is in use, so the spare
        stack (its top at ``spare[capacity - count - 1]``) becomes just the new slots."""
        cdef Py_ssize_t capacity = min(max(self.capacity * 2, MIN_CAPACITY), MAX_SIDE), i
        cdef void* keys = realloc(self.keys, capacity * sizeof(double))
        cdef void* slots
        cdef void* texts
        cdef void* spare
        if keys is not NULL:
            self.keys = <double*>keys
        slots = realloc(self.slots, capacity * sizeof(int))
        if slots is not NULL:
            self.slots = <int*>slots
        texts = realloc(self.texts, capacity * TEXT_SLOT)
        if texts is not NULL:
            self.texts = <char*>texts
        spare = realloc(self.spare, capacity * sizeof(int))
        if spare is not NULL:
            self.spare = <int*>spare
        if keys is NULL or slots is NULL or texts is NULL or spare is NULL:
            raise MemoryError()
        for i in range(capacity - self.capacity):
            self.spare[i] = <int>(self.capacity + i)
        self.capacity = capacity
        return 0


cdef class TextBook:
    """The wire texts of one book's levels and the checksum Bitget computes over them."""

    def __cinit__(self, OrderBook book):
        self.book = book
        self.bids = TextSide(True)
        self.asks = TextSide(False)
        self.buffer = <char*>malloc(2 * LEVELS * TEXT_SLOT)
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
        cdef Py_ssize_t i, at = 0, length
        cdef char* slot
        cdef unsigned long crc
        cdef Py_ssize_t levels = min(LEVELS, max(bids.count, asks.count))
        for i in range(levels):  # the slots lie scattered in their pools: fetch them all at once
            if i < bids.count:
                __builtin_prefetch(bids.text(i))
            if i < asks.count:
                __builtin_prefetch(asks.text(i))
        for i in range(levels):
            if i < bids.count:
                slot = bids.text(i)
                length = <unsigned char>slot[0]
                memcpy(&self.buffer[at], &slot[1], length)
                self.buffer[at + length] = c':'
                at += length + 1
            if i < asks.count:
                slot = asks.text(i)
                length = <unsigned char>slot[0]
                memcpy(&self.buffer[at], &slot[1], length)
                self.buffer[at + length] = c':'
                at += length + 1
        crc = crc32(PyBytes_FromStringAndSize(self.buffer, at - 1 if at else 0))
        return <long long>crc - (1LL << 32) if crc >= (1UL << 31) else <long long>crc
