# Strict JSON read in place from a frame's bytes (jsonscan.pyx): the primitives an exchange's
# update reader (``scan.pyx`` beside its feed) is written with. Each takes the position ``p``
# and the frame's ``end`` and returns the position after what it read, or NULL when the bytes
# are not what it reads (the frame is then left to ``orjson``, the reference).
from libc.string cimport memcmp

from scanner.book cimport ParsedLevels

cdef enum:
    MAX_DIGITS = 18  # an integer with more is left to the general path
    MAX_NESTING = 32  # of an unknown value that is skipped


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
    cdef int parse(self, ParsedLevels parsed) except -1


cdef const char* read_levels(const char* p, const char* end, LevelSpans spans,
                             int width) except? NULL
cdef const char* skip_value(const char* p, const char* end, int depth) noexcept


cdef inline const char* skip_ws(const char* p, const char* end) noexcept:
    while p < end and (p[0] == c' ' or p[0] == c'\n' or p[0] == c'\r' or p[0] == c'\t'):
        p += 1
    return p


cdef inline bint is_key(const char* key, Py_ssize_t length, const char* name,
                        Py_ssize_t name_length, int* have, int flag) noexcept:
    """Whether ``key`` is ``name``, noting ``flag`` in ``have``; a flag already there (a
    duplicate key) is not a match and leaves ``have`` negative, so the frame is never
    complete and goes to the general path."""
    if length != name_length or memcmp(key, name, length) != 0:
        return False
    if have[0] & flag:
        have[0] = -1 << 16
        return False
    have[0] |= flag
    return True


cdef inline const char* open_bracket(const char* p, const char* end, char bracket,
                                     int* last) noexcept:
    """At ``{`` or ``[`` (``bracket``): after it and its whitespace; ``last`` set if it closes
    at once."""
    p = skip_ws(p, end)
    if p == end or p[0] != bracket:
        return NULL
    p = skip_ws(p + 1, end)
    last[0] = p < end and p[0] == bracket + 2  # ``}`` and ``]`` follow their openers by 2
    return p + 1 if last[0] else p


cdef inline const char* next_item(const char* p, const char* end, char close,
                                  int* last) noexcept:
    """After a member or element: past ``,`` and whitespace, or past ``close`` (``last`` set)."""
    if p is NULL:
        return NULL
    p = skip_ws(p, end)
    if p < end and p[0] == c',':
        return skip_ws(p + 1, end)
    if p < end and p[0] == close:
        last[0] = True
        return p + 1
    return NULL


cdef inline const char* read_string(const char* p, const char* end, const char** text,
                                    Py_ssize_t* length) noexcept:
    """A string of printable ASCII without escapes: its characters; NULL for any other."""
    cdef unsigned char c
    if p == end or p[0] != c'"':
        return NULL
    p += 1
    text[0] = p
    while p < end:
        c = <unsigned char>p[0]
        if c == c'"':
            length[0] = p - text[0]
            return p + 1
        if c == c'\\' or c < 0x20 or c >= 0x80:
            return NULL
        p += 1
    return NULL


cdef inline const char* read_string_of(const char* p, const char* end, const char* value,
                                       Py_ssize_t value_length) noexcept:
    """The string ``value`` (NULL for any other value)."""
    cdef const char* text
    cdef Py_ssize_t length
    p = read_string(p, end, &text, &length)
    if p is NULL or length != value_length or memcmp(text, value, length) != 0:
        return NULL
    return p


cdef inline const char* read_key(const char* p, const char* end, const char** key,
                                 Py_ssize_t* length) noexcept:
    """A member's key and ``:``: at its value."""
    p = read_string(p, end, key, length)
    if p is NULL:
        return NULL
    p = skip_ws(p, end)
    if p == end or p[0] != c':':
        return NULL
    return skip_ws(p + 1, end)


cdef inline bint read_digits(const char* p, Py_ssize_t length, long long* value) noexcept:
    """Whether ``p[:length]`` is a JSON integer's digits (1 to 18, no leading zero): its value."""
    cdef Py_ssize_t i
    cdef long long result = 0
    if not 0 < length <= MAX_DIGITS or (p[0] == c'0' and length > 1):
        return False
    for i in range(length):
        if not c'0' <= p[i] <= c'9':
            return False
        result = result * 10 + (p[i] - c'0')
    value[0] = result
    return True


cdef inline const char* read_integer(const char* p, const char* end, long long* value) noexcept:
    """A JSON integer (no fraction or exponent)."""
    cdef const char* start
    cdef bint negative = p < end and p[0] == c'-'
    p += negative
    start = p
    while p < end and c'0' <= p[0] <= c'9':
        p += 1
    if not read_digits(start, p - start, value) or (p < end and (p[0] == c'.' or p[0] | 0x20 == c'e')):
        return NULL
    if negative:
        value[0] = -value[0]
    return p


cdef inline const char* read_timestamp(const char* p, const char* end, long long* value) noexcept:
    """Milliseconds as a string of digits (as most exchanges send them) or an integer."""
    cdef const char* text
    cdef Py_ssize_t length
    if p < end and p[0] == c'"':
        p = read_string(p, end, &text, &length)
        return p if p is not NULL and read_digits(text, length, value) else NULL
    p = read_integer(p, end, value)
    return p if p is not NULL and value[0] >= 0 else NULL


cdef inline const char* skip_number(const char* p, const char* end) noexcept:
    """Past a JSON number of at most ``MAX_DIGITS`` integer digits (no leading zero) and an
    optional fraction; NULL for any other (an exponent or a long integer, which ``orjson``
    may refuse as out of range, is left to it)."""
    cdef const char* start
    p += p < end and p[0] == c'-'
    start = p
    while p < end and c'0' <= p[0] <= c'9':
        p += 1
    if p == start or p - start > MAX_DIGITS or (start[0] == c'0' and p - start > 1):
        return NULL
    if p < end and p[0] == c'.':
        p += 1
        start = p
        while p < end and c'0' <= p[0] <= c'9':
            p += 1
        if p == start:
            return NULL
    if p < end and p[0] | 0x20 == c'e':
        return NULL
    return p


cdef class BooksUpdate:
    cdef bytes channel  # the arg.channel required (b"": any)
    cdef tuple integers  # the names of the data's integer fields read into ``values``
    cdef int width  # texts per level
    cdef int complete  # the flags of a data object with every field
    cdef const char* inst_id  # inside the frame being handled
    cdef Py_ssize_t inst_id_length
    cdef long long ts
    cdef long long values[4]
    cdef readonly LevelSpans bids
    cdef readonly LevelSpans asks

    cpdef bint scan(self, bytes frame) except -1
    cpdef str inst_id_text(self)
    cdef const char* _arg(self, const char* p, const char* end) noexcept
    cdef const char* _data(self, const char* p, const char* end) except? NULL
