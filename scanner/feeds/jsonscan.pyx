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
