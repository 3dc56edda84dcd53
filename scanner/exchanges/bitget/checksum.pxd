# The C layout of checksum.pyx, cimported by feed.py.
from scanner.book cimport OrderBook


cdef class TextSide:
    cdef double* keys  # prices best first, negated on the bid side so the keys ascend
    cdef int* slots  # per key, its slot in ``texts``
    cdef char* texts  # slots: one length byte, then "price:size" as the wire wrote it
    cdef int* spare  # slots not in use (a stack)
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity
    cdef readonly bint is_bid

    cpdef clear(self)
    cdef int apply(self, list levels) except -1
    cdef int _set(self, double key, object price, object size) except -1
    cdef char* text(self, Py_ssize_t at) noexcept
    cdef void _remove(self, Py_ssize_t at) noexcept
    cdef int _grow(self) except -1


cdef class TextBook:
    cdef readonly OrderBook book  # the book these texts mirror
    cdef readonly TextSide bids
    cdef readonly TextSide asks
    cdef char* buffer  # the checksummed string, rebuilt on each check

    cpdef load(self, list bids, list asks)
    cpdef apply(self, list bids, list asks)
    cpdef long long checksum(self) except? -1
