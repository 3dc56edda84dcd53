# C declarations of checksum.pyx (Kraken's book checksum, depth cut, timestamps).
from scanner.book cimport BookSide, OrderBook

cdef enum:
    CHECKSUM_LEVELS = 10  # levels per side the checksum covers
    LEVEL_DIGITS = 40  # a level's price then quantity digits: at most 20 each


ctypedef struct Digits:  # one level's checksum text, kept for the next check
    double key
    double size
    unsigned char price_length  # digits of the price, first in text
    unsigned char length  # digits of the price and the quantity
    char text[LEVEL_DIGITS]


cdef class Printing:
    cdef public int price_decimals, qty_decimals  # -1 until learned from the exchange's texts
    cdef double price_scale, qty_scale
    cdef Digits[2][2][CHECKSUM_LEVELS] digits  # [asks, bids][two generations][rank]
    cdef Py_ssize_t[2] kept  # levels of each side's current generation
    cdef int[2] current  # each side's current generation


    cpdef learn(self, list bids, list asks)
    cpdef object checksum(self, OrderBook book)
    cdef Py_ssize_t _side(self, BookSide side, int which, char* text, Py_ssize_t length) noexcept


cpdef list levels(list rows)
cpdef truncate(OrderBook book, Py_ssize_t depth)
cpdef double parse_timestamp(str text) except? -1.0
