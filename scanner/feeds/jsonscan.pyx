# cython: language_level=3
"""Strict JSON read in place from a frame's bytes (compiled with Cython; the inline primitives
are in ``jsonscan.pxd``).

Most of what an exchange's connection carries is one kind of update with a fixed shape. Its
reader (``scan.pyx`` beside the feed) finds the few fields it needs in one pass over the bytes,
keeping each level's texts as pointers into the frame, so no object is built for a level, a
text or the message. It reads strict JSON (keys in any order, whitespace, unknown keys skipped)
and accepts only the plain case: anything else (another message, an escape or non-ASCII byte in
a text, a duplicate key, a malformed frame) is left to the general path, ``orjson``, which is
the reference for what a frame means."""
from libc.stdlib cimport free, realloc

from scanner.book cimport parse_chars


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

    cdef int parse(self, ParsedLevels parsed) except -1:
        """The levels' prices and sizes into ``parsed`` (emptied first); ValueError for a text
        that is not a price or size."""
        cdef Py_ssize_t i
        cdef Level* level
        parsed.reserve(self.count)
        for i in range(self.count):
            level = &self.levels[i]
            parsed.prices[i] = parse_chars(level.price, level.price_length)
            parsed.sizes[i] = parse_chars(level.size, level.size_length)
        parsed.count = self.count
        return 0


cdef const char* read_levels(const char* p, const char* end, LevelSpans spans,
                             int width) except? NULL:
    """``[["price", "size", ...], ...]`` of exactly ``width`` texts per level: each level's
    price and size appended to the emptied ``spans``."""
    cdef const char* price
    cdef const char* size
    cdef const char* text
    cdef Py_ssize_t price_length, size_length, length
    cdef int last = 0, level_last = 0, i
    spans.count = 0
    p = open_bracket(p, end, c'[', &last)
    while p is not NULL and not last:
        p = open_bracket(p, end, c'[', &level_last)
        if p is NULL or level_last:
            return NULL
        p = read_string(p, end, &price, &price_length)
        for i in range(1, width):
            p = next_item(p, end, c']', &level_last)
            if p is NULL or level_last:
                return NULL  # fewer texts
            p = read_string(p, end, &size if i == 1 else &text, &size_length if i == 1 else &length)
        p = next_item(p, end, c']', &level_last)
        if p is NULL or not level_last:
            return NULL  # more texts
        spans.append(price, price_length, size, size_length)
        p = next_item(p, end, c']', &last)
    return p


cdef const char* skip_value(const char* p, const char* end, int depth) noexcept:
    """Past one JSON value of any kind (a key the reader does not need); NULL if it is not one
    this reader can vouch for."""
    cdef int last = 0
    cdef char close
    cdef const char* text
    cdef Py_ssize_t length
    if p == end or depth > MAX_NESTING:
        return NULL
    if p[0] == c'"':
        return read_string(p, end, &text, &length)
    if p[0] == c'{' or p[0] == c'[':
        close = p[0] + 2
        p = open_bracket(p, end, p[0], &last)
        while p is not NULL and not last:
            if close == c'}':
                p = read_key(p, end, &text, &length)
                if p is NULL:
                    return NULL
            p = next_item(skip_value(p, end, depth + 1), end, close, &last)
        return p
    if end - p >= 4 and (memcmp(p, b"true", 4) == 0 or memcmp(p, b"null", 4) == 0):
        return p + 4
    if end - p >= 5 and memcmp(p, b"false", 5) == 0:
        return p + 5
    return skip_number(p, end)


cdef enum:
    HAVE_ACTION = 1
    HAVE_INST_ID = 2
    HAVE_CHANNEL = 4
    HAVE_DATA = 8
    HAVE_BIDS = 16
    HAVE_ASKS = 32
    HAVE_TS = 64
    HAVE_VALUE = 128  # << i for the i-th integer


cdef class BooksUpdate:
    """One book update of the OKX-style shape (OKX, Bitget): ``{"arg": {"channel": ...,
    "instId": ...}, "action": "update", "data": [{"bids": [...], "asks": [...], "ts": ...,
    <integers>}]}``, read by ``scan`` (valid while its frame is)."""

    def __cinit__(self, bytes channel, tuple integers, int width):
        """``channel``: the ``arg.channel`` required (b"": any); ``integers``: the names of the
        data's integer fields read into ``values`` (at most 4); ``width``: texts per level."""
        cdef Py_ssize_t i
        if len(integers) > 4:
            raise ValueError("at most 4 integer fields")
        self.channel, self.integers, self.width = channel, integers, width
        self.bids = LevelSpans()
        self.asks = LevelSpans()
        self.complete = HAVE_BIDS | HAVE_ASKS | HAVE_TS
        for i in range(len(integers)):
            self.complete |= HAVE_VALUE << i

    cpdef str inst_id_text(self):
        """The instrument id of the last frame scanned."""
        return self.inst_id[:self.inst_id_length].decode("ascii")

    @property
    def fields(self) -> tuple:
        """(ts, *integers) of the last frame scanned."""
        return (self.ts, *[self.values[i] for i in range(len(self.integers))])

    cpdef bint scan(self, bytes frame) except -1:
        """Read ``frame`` if it is a plain update: True, its fields set; False for any other
        frame (left to the general path)."""
        cdef const char* p = frame
        cdef const char* end = p + len(frame)
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return False
            if is_key(key, key_length, b"action", 6, &have, HAVE_ACTION):
                p = read_string_of(p, end, b"update", 6)
            elif is_key(key, key_length, b"arg", 3, &have, HAVE_INST_ID):
                p = self._arg(p, end)
            elif is_key(key, key_length, b"data", 4, &have, HAVE_DATA):
                p = self._data(p, end)
            else:
                p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        return (p is not NULL and skip_ws(p, end) == end
                and have == HAVE_ACTION | HAVE_INST_ID | HAVE_DATA)

    cdef const char* _arg(self, const char* p, const char* end) noexcept:
        """``arg``: its ``instId`` (and the ``channel`` required); NULL if not so."""
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        cdef int complete = HAVE_INST_ID | (HAVE_CHANNEL if self.channel else 0)
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if is_key(key, key_length, b"instId", 6, &have, HAVE_INST_ID):
                p = read_string(p, end, &self.inst_id, &self.inst_id_length)
            elif self.channel and is_key(key, key_length, b"channel", 7, &have, HAVE_CHANNEL):
                p = read_string_of(p, end, self.channel, len(self.channel))
            else:
                p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        return p if have == complete else NULL

    cdef const char* _data(self, const char* p, const char* end) except? NULL:
        """``data``: one object whose fields are read (its other keys skipped)."""
        cdef const char* key
        cdef Py_ssize_t key_length, i
        cdef int have = 0, last = 0
        cdef bytes name
        p = open_bracket(p, end, c'[', &last)
        if p is NULL or last:
            return NULL
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if is_key(key, key_length, b"bids", 4, &have, HAVE_BIDS):
                p = read_levels(p, end, self.bids, self.width)
            elif is_key(key, key_length, b"asks", 4, &have, HAVE_ASKS):
                p = read_levels(p, end, self.asks, self.width)
            elif is_key(key, key_length, b"ts", 2, &have, HAVE_TS):
                p = read_timestamp(p, end, &self.ts)
            else:
                for i in range(len(self.integers)):
                    name = self.integers[i]
                    if is_key(key, key_length, name, len(name), &have, HAVE_VALUE << i):
                        p = read_integer(p, end, &self.values[i])
                        break
                else:
                    p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        if p is NULL or have != self.complete:
            return NULL
        p = skip_ws(p, end)
        if p == end or p[0] != c']':
            return NULL  # more than one object: the general path
        return p + 1
