# The C layout of scan.pyx, cimported by checksum.pyx and feed.py.

cdef struct Level:
    const char* price  # the wire's texts, inside the frame being handled
    const char* size
    Py_ssize_t price_length
    Py_ssize_t size_length


cdef class LevelSpans:
    cdef Level* levels  # one side's levels of the frame being handled, in wire order
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity

    cdef int append(self, const char* price, Py_ssize_t price_length, const char* size,
                    Py_ssize_t size_length) except -1


cdef class BooksUpdate:
    cdef const char* inst_id  # inside the frame being handled
    cdef Py_ssize_t inst_id_length
    cdef long long seq
    cdef long long ts
    cdef long long checksum
    cdef readonly LevelSpans bids
    cdef readonly LevelSpans asks

    cpdef bint scan(self, bytes frame) except -1
    cpdef str inst_id_text(self)
    cdef const char* _arg(self, const char* p, const char* end) noexcept
    cdef const char* _data(self, const char* p, const char* end) except? NULL
