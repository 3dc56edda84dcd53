# The C layout of scan.pyx, cimported by checksum.pyx and feed.py.
from scanner.feeds.jsonscan cimport LevelSpans


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
