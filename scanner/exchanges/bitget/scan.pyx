# cython: language_level=3
"""Bitget's ``books`` updates read straight from the frame's bytes (compiled with Cython).

An update is most of what a Bitget connection carries, and its shape is fixed: ``action``,
``arg.instId``, and one ``data`` object with ``bids``/``asks`` (``[["price", "size"], ...]``),
``seq``, ``ts`` and ``checksum``. ``BooksUpdate.scan`` reads those in one pass over the bytes,
keeping each level's texts as pointers into the frame, so no object is built for a level, a
text or the message. It reads strict JSON (keys in any order, whitespace, unknown keys skipped)
and accepts only the plain case: anything else (a snapshot, an ack, an escape or non-ASCII
byte in a text, a duplicate key, a malformed frame) is left to the general path, ``orjson``,
which is the reference for what a frame means."""
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp

cdef enum:
    MAX_DIGITS = 18  # an integer with more is left to the general path
    MAX_NESTING = 32  # of an unknown value that is skipped
    HAVE_ACTION = 1
    HAVE_INST_ID = 2
    HAVE_DATA = 4
    HAVE_BIDS = 8
    HAVE_ASKS = 16
    HAVE_SEQ = 32
    HAVE_TS = 64
    HAVE_CHECKSUM = 128


cdef class LevelSpans:
    """One side's levels of a frame as pointers into it (reused frame after frame)."""

    def __cinit__(self):
        self.levels = NULL
        self.count = self.capacity = 0

    def __dealloc__(self):
        free(self.levels)

    def __len__(self) -> int:
        return self.count

    def texts(self) -> list:
        """The ``[price, size]`` texts, in wire order."""
        return [[self.levels[i].price[:self.levels[i].price_length].decode(),
                 self.levels[i].size[:self.levels[i].size_length].decode()]
                for i in range(self.count)]

    cdef int append(self, const char* price, Py_ssize_t price_length, const char* size,
                    Py_ssize_t size_length) except -1:
        cdef void* grown
        if self.count == self.capacity:
            grown = realloc(self.levels, max(2 * self.capacity, 64) * sizeof(Level))
            if grown is NULL:
                raise MemoryError()
            self.levels = <Level*>grown
            self.capacity = max(2 * self.capacity, 64)
        self.levels[self.count] = Level(price, size, price_length, size_length)
        self.count += 1
        return 0


cdef class BooksUpdate:
    """The fields of one ``books`` update, read by ``scan`` (valid while its frame is)."""

    def __cinit__(self):
        self.bids = LevelSpans()
        self.asks = LevelSpans()

    cpdef str inst_id_text(self):
        """The instrument id of the last frame scanned."""
        return self.inst_id[:self.inst_id_length].decode("ascii")

    @property
    def fields(self) -> tuple:
        """(seq, ts, checksum) of the last frame scanned."""
        return self.seq, self.ts, self.checksum

    cpdef bint scan(self, bytes frame) except -1:
        """Read ``frame`` if it is a plain ``books`` update: True, its fields set; False for
        any other frame (left to the general path)."""
        cdef const char* p = frame
        cdef const char* end = p + len(frame)
        cdef const char* key
        cdef const char* text
        cdef Py_ssize_t key_length, text_length
        cdef int have = 0, last = 0
        p = _open(p, end, c'{', &last)
        while p is not NULL and not last:
            p = _key(p, end, &key, &key_length)
            if p is NULL:
                return False
            if _is(key, key_length, b"action", 6, &have, HAVE_ACTION):
                p = _string(p, end, &text, &text_length)
                if p is NULL or not _is(text, text_length, b"update", 6, &have, 0):
                    return False
            elif _is(key, key_length, b"arg", 3, &have, 0):
                p = self._arg(p, end)
                have |= HAVE_INST_ID if p is not NULL else 0
            elif _is(key, key_length, b"data", 4, &have, HAVE_DATA):
                p = self._data(p, end)
            else:
                p = _skip(p, end, 0)
            p = _next(p, end, c'}', &last)
        return p is not NULL and _ws(p, end) == end and have == HAVE_ACTION | HAVE_INST_ID | HAVE_DATA

    cdef const char* _arg(self, const char* p, const char* end) noexcept:
        """``arg``: its ``instId``; NULL if it has none."""
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        p = _open(p, end, c'{', &last)
        while p is not NULL and not last:
            p = _key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if _is(key, key_length, b"instId", 6, &have, HAVE_INST_ID):
                p = _string(p, end, &self.inst_id, &self.inst_id_length)
            else:
                p = _skip(p, end, 0)
            p = _next(p, end, c'}', &last)
        return p if have == HAVE_INST_ID else NULL

    cdef const char* _data(self, const char* p, const char* end) except? NULL:
        """``data``: one object whose fields are read (its other keys skipped)."""
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        p = _open(p, end, c'[', &last)
        if p is NULL or last:
            return NULL
        p = _open(p, end, c'{', &last)
        while p is not NULL and not last:
            p = _key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if _is(key, key_length, b"bids", 4, &have, HAVE_BIDS):
                p = _levels(p, end, self.bids)
            elif _is(key, key_length, b"asks", 4, &have, HAVE_ASKS):
                p = _levels(p, end, self.asks)
            elif _is(key, key_length, b"seq", 3, &have, HAVE_SEQ):
                p = _integer(p, end, &self.seq)
            elif _is(key, key_length, b"checksum", 8, &have, HAVE_CHECKSUM):
                p = _integer(p, end, &self.checksum)
            elif _is(key, key_length, b"ts", 2, &have, HAVE_TS):
                p = _timestamp(p, end, &self.ts)
            else:
                p = _skip(p, end, 0)
            p = _next(p, end, c'}', &last)
        if p is NULL or have != HAVE_BIDS | HAVE_ASKS | HAVE_SEQ | HAVE_TS | HAVE_CHECKSUM:
            return NULL
        p = _ws(p, end)
        if p == end or p[0] != c']':
            return NULL  # more than one object: the general path
        return p + 1


cdef inline const char* _ws(const char* p, const char* end) noexcept:
    while p < end and (p[0] == c' ' or p[0] == c'\n' or p[0] == c'\r' or p[0] == c'\t'):
        p += 1
    return p


cdef inline bint _is(const char* key, Py_ssize_t length, const char* name, Py_ssize_t name_length,
                     int* have, int flag) noexcept:
    """Whether ``key`` is ``name``; a flag already in ``have`` (a duplicate key) is not a match
    and leaves ``have`` without its other flags, so the frame goes to the general path."""
    if length != name_length or memcmp(key, name, length) != 0:
        return False
    if have[0] & flag:
        have[0] = -1 << 16  # never complete again
        return False
    have[0] |= flag
    return True


cdef inline const char* _open(const char* p, const char* end, char bracket, int* last) noexcept:
    """At ``{`` or ``[`` (``bracket``): after it and its whitespace; ``last`` set if it closes
    at once."""
    p = _ws(p, end)
    if p == end or p[0] != bracket:
        return NULL
    p = _ws(p + 1, end)
    last[0] = p < end and p[0] == bracket + 2  # ``}`` and ``]`` follow their openers by 2
    return p + 1 if last[0] else p


cdef inline const char* _next(const char* p, const char* end, char close, int* last) noexcept:
    """After a member or element: past ``,`` and whitespace, or past ``close`` (``last`` set)."""
    if p is NULL:
        return NULL
    p = _ws(p, end)
    if p < end and p[0] == c',':
        return _ws(p + 1, end)
    if p < end and p[0] == close:
        last[0] = True
        return p + 1
    return NULL


cdef inline const char* _key(const char* p, const char* end, const char** key,
                             Py_ssize_t* length) noexcept:
    """A member's key and ``:``: at its value."""
    p = _string(p, end, key, length)
    if p is NULL:
        return NULL
    p = _ws(p, end)
    if p == end or p[0] != c':':
        return NULL
    return _ws(p + 1, end)


cdef inline const char* _string(const char* p, const char* end, const char** text,
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


cdef inline bint _digits(const char* p, Py_ssize_t length, long long* value) noexcept:
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


cdef inline const char* _integer(const char* p, const char* end, long long* value) noexcept:
    """A JSON integer (no fraction or exponent)."""
    cdef const char* start
    cdef bint negative = p < end and p[0] == c'-'
    p += negative
    start = p
    while p < end and c'0' <= p[0] <= c'9':
        p += 1
    if not _digits(start, p - start, value) or (p < end and (p[0] == c'.' or p[0] | 0x20 == c'e')):
        return NULL
    if negative:
        value[0] = -value[0]
    return p


cdef inline const char* _timestamp(const char* p, const char* end, long long* value) noexcept:
    """``ts``: milliseconds as a string of digits (Bitget's) or an integer."""
    cdef const char* text
    cdef Py_ssize_t length
    if p < end and p[0] == c'"':
        p = _string(p, end, &text, &length)
        return p if p is not NULL and _digits(text, length, value) else NULL
    p = _integer(p, end, value)
    return p if p is not NULL and value[0] >= 0 else NULL


cdef const char* _levels(const char* p, const char* end, LevelSpans spans) except? NULL:
    """``[["price", "size"], ...]``: each level's texts appended to the emptied ``spans``."""
    cdef const char* price
    cdef const char* size
    cdef Py_ssize_t price_length, size_length
    cdef int last = 0, pair_last = 0
    spans.count = 0
    p = _open(p, end, c'[', &last)
    while p is not NULL and not last:
        p = _open(p, end, c'[', &pair_last)
        if p is NULL or pair_last:
            return NULL
        p = _string(p, end, &price, &price_length)
        p = _next(p, end, c']', &pair_last)
        if p is NULL or pair_last:
            return NULL
        p = _string(p, end, &size, &size_length)
        p = _next(p, end, c']', &pair_last)
        if p is NULL or not pair_last:
            return NULL  # not exactly two texts
        spans.append(price, price_length, size, size_length)
        p = _next(p, end, c']', &last)
    return p


cdef const char* _skip(const char* p, const char* end, int depth) noexcept:
    """Past one JSON value of any kind (a key the update does not need); NULL if it is not
    one this reader can vouch for."""
    cdef int last = 0
    cdef char close
    cdef const char* text
    cdef Py_ssize_t length
    if p == end or depth > MAX_NESTING:
        return NULL
    if p[0] == c'"':
        return _string(p, end, &text, &length)
    if p[0] == c'{' or p[0] == c'[':
        close = p[0] + 2
        p = _open(p, end, p[0], &last)
        while p is not NULL and not last:
            if close == c'}':
                p = _key(p, end, &text, &length)
                if p is NULL:
                    return NULL
            p = _next(_skip(p, end, depth + 1), end, close, &last)
        return p
    if end - p >= 4 and (memcmp(p, b"true", 4) == 0 or memcmp(p, b"null", 4) == 0):
        return p + 4
    if end - p >= 5 and memcmp(p, b"false", 5) == 0:
        return p + 5
    return _number(p, end)


cdef inline const char* _number(const char* p, const char* end) noexcept:
    """Past a JSON number (``-``, integer part without leading zero, fraction, exponent)."""
    cdef const char* start
    p += p < end and p[0] == c'-'
    start = p
    while p < end and c'0' <= p[0] <= c'9':
        p += 1
    if p == start or (start[0] == c'0' and p - start > 1):
        return NULL
    if p < end and p[0] == c'.':
        p += 1
        start = p
        while p < end and c'0' <= p[0] <= c'9':
            p += 1
        if p == start:
            return NULL
    if p < end and p[0] | 0x20 == c'e':
        p += 1
        p += p < end and (p[0] == c'+' or p[0] == c'-')
        start = p
        while p < end and c'0' <= p[0] <= c'9':
            p += 1
        if p == start:
            return NULL
    return p
