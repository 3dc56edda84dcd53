# cython: language_level=3
"""Bitget's ``books`` updates read straight from the frame's bytes (``scanner.feeds.jsonscan``).

An update is most of what a Bitget connection carries: ``action``, ``arg.instId``, and one
``data`` object with ``bids``/``asks`` (``[["price", "size"], ...]``), ``seq``, ``ts`` and
``checksum``. Anything else goes to ``orjson``."""
from scanner.feeds.jsonscan cimport (
    LevelSpans, next_item, open_bracket, read_integer, read_key, read_levels, read_string,
    read_timestamp, is_key, skip_value, skip_ws)

cdef enum:
    HAVE_ACTION = 1
    HAVE_INST_ID = 2
    HAVE_DATA = 4
    HAVE_BIDS = 8
    HAVE_ASKS = 16
    HAVE_SEQ = 32
    HAVE_TS = 64
    HAVE_CHECKSUM = 128


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
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return False
            if is_key(key, key_length, b"action", 6, &have, HAVE_ACTION):
                p = read_string(p, end, &text, &text_length)
                if p is NULL or not is_key(text, text_length, b"update", 6, &have, 0):
                    return False
            elif is_key(key, key_length, b"arg", 3, &have, 0):
                p = self._arg(p, end)
                have |= HAVE_INST_ID if p is not NULL else 0
            elif is_key(key, key_length, b"data", 4, &have, HAVE_DATA):
                p = self._data(p, end)
            else:
                p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        return p is not NULL and skip_ws(p, end) == end and have == HAVE_ACTION | HAVE_INST_ID | HAVE_DATA

    cdef const char* _arg(self, const char* p, const char* end) noexcept:
        """``arg``: its ``instId``; NULL if it has none."""
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if is_key(key, key_length, b"instId", 6, &have, HAVE_INST_ID):
                p = read_string(p, end, &self.inst_id, &self.inst_id_length)
            else:
                p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        return p if have == HAVE_INST_ID else NULL

    cdef const char* _data(self, const char* p, const char* end) except? NULL:
        """``data``: one object whose fields are read (its other keys skipped)."""
        cdef const char* key
        cdef Py_ssize_t key_length
        cdef int have = 0, last = 0
        p = open_bracket(p, end, c'[', &last)
        if p is NULL or last:
            return NULL
        p = open_bracket(p, end, c'{', &last)
        while p is not NULL and not last:
            p = read_key(p, end, &key, &key_length)
            if p is NULL:
                return NULL
            if is_key(key, key_length, b"bids", 4, &have, HAVE_BIDS):
                p = read_levels(p, end, self.bids, 2)
            elif is_key(key, key_length, b"asks", 4, &have, HAVE_ASKS):
                p = read_levels(p, end, self.asks, 2)
            elif is_key(key, key_length, b"seq", 3, &have, HAVE_SEQ):
                p = read_integer(p, end, &self.seq)
            elif is_key(key, key_length, b"checksum", 8, &have, HAVE_CHECKSUM):
                p = read_integer(p, end, &self.checksum)
            elif is_key(key, key_length, b"ts", 2, &have, HAVE_TS):
                p = read_timestamp(p, end, &self.ts)
            else:
                p = skip_value(p, end, 0)
            p = next_item(p, end, c'}', &last)
        if p is NULL or have != HAVE_BIDS | HAVE_ASKS | HAVE_SEQ | HAVE_TS | HAVE_CHECKSUM:
            return NULL
        p = skip_ws(p, end)
        if p == end or p[0] != c']':
            return NULL  # more than one object: the general path
        return p + 1
