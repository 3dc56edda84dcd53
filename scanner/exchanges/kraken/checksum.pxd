# C declarations of checksum.pyx (Kraken's book checksum, depth cut, timestamps).
from libc.stdint cimport uint32_t
from scanner.book cimport BookSide, OrderBook, ParsedLevels

cdef enum:
    CHECKSUM_LEVELS = 10  # levels per side the checksum covers
    NUMBER_DIGITS = 20  # digits of a price or a quantity: at most 20 (2**64 units)
    LEVEL_DIGITS = 2 * NUMBER_DIGITS  # a level's price then quantity digits
    SIDE_DIGITS = CHECKSUM_LEVELS * LEVEL_DIGITS + LEVEL_DIGITS  # slack: fixed-size copies


ctypedef struct SideText:  # one side's top levels and their checksum text, as last checked
    Py_ssize_t count  # levels; -1: nothing kept (digits printed at other decimals)
    double[CHECKSUM_LEVELS] keys
    double[CHECKSUM_LEVELS] sizes
    unsigned short[CHECKSUM_LEVELS + 1] starts  # where each level's digits start; [count]: end
    unsigned char[CHECKSUM_LEVELS] price_lengths  # digits of each level's price, first in text
    char[SIDE_DIGITS] text


cdef class Printing:
    cdef public int price_decimals, qty_decimals  # -1 until learned from the exchange's texts
    cdef double price_scale, qty_scale
    cdef SideText[2] sides  # [asks, bids]
    cdef uint32_t asks_crc  # the CRC register after the current asks' text

    cpdef learn(self, bids, asks)
    cdef void _forget(self) noexcept
    cpdef object checksum(self, OrderBook book)
    cdef bint _side(self, BookSide side, int which) noexcept
    cdef void _print(self, SideText* new, SideText* old, Py_ssize_t start, BookSide side,
                     int which) noexcept


cdef class Update:
    cdef readonly object symbol, bids, asks, checksum, timestamp

    cdef void read(self, dict data) noexcept


cpdef tuple levels(list rows)
cdef int read_levels(list rows, ParsedLevels parsed) except -1
cpdef truncate(OrderBook book, Py_ssize_t depth)
cpdef double parse_timestamp(str text) except? -1.0
