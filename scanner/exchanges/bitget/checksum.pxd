# The C layout of checksum.pyx, cimported by feed.py.
from libc.stdint cimport uint32_t

from scanner.book cimport OrderBook, ParsedLevels
from scanner.feeds.jsonscan cimport BooksUpdate, LevelSpans


cdef class TextSide:
    cdef double* keys  # prices worst first, best last, negated on the bid side (keys descend)
    cdef char* texts  # per key in the same order, a slot: one length byte, then "price:size"
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity
    cdef Py_ssize_t slot  # bytes per text slot: 32, or 64 once a text of the side needs more
    cdef readonly bint is_bid

    cpdef clear(self)
    cdef int load(self, list levels) except -1
    cdef int apply(self, list levels, ParsedLevels parsed) except -1
    cdef int apply_spans(self, LevelSpans levels, ParsedLevels parsed) except -1
    cdef int _apply_level(self, const char* price, Py_ssize_t price_length, const char* size,
                          Py_ssize_t size_length, ParsedLevels parsed) except -1
    cdef int _set(self, double key, const char* price, Py_ssize_t price_length, const char* size,
                  Py_ssize_t size_length) except -1
    cdef int _write(self, Py_ssize_t at, const char* price, Py_ssize_t price_length,
                    const char* size, Py_ssize_t size_length) except -1
    cdef char* text(self, Py_ssize_t at) noexcept
    cdef void _remove(self, Py_ssize_t at) noexcept
    cdef int _widen(self) except -1
    cdef int _grow(self) except -1


cdef class TextBook:
    cdef readonly OrderBook book  # the book these texts mirror
    cdef readonly TextSide bids
    cdef readonly TextSide asks
    cdef readonly ParsedLevels parsed_bids  # the last update's levels, parsed (for the book)
    cdef readonly ParsedLevels parsed_asks
    cdef char* buffer  # the checksummed string, rebuilt on each check

    cpdef load(self, list bids, list asks)
    cpdef apply(self, list bids, list asks)
    cdef int apply_update(self, BooksUpdate update) except -1
    cdef void prefetch(self) noexcept
    cpdef long long checksum(self) except? -1
    cdef Py_ssize_t _append(self, const char* slot, Py_ssize_t at) noexcept
