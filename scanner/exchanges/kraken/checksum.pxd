# C declarations of checksum.pyx (Kraken's book checksum, depth cut, timestamps).
from scanner.book cimport BookSide, OrderBook


cdef class Printing:
    cdef public int price_decimals, qty_decimals  # -1 until learned from the exchange's texts
    cdef double price_scale, qty_scale

    cpdef learn(self, list bids, list asks)
    cpdef object checksum(self, OrderBook book)
    cdef Py_ssize_t _side(self, BookSide side, double sign, char* text, Py_ssize_t length) noexcept


cpdef list levels(list rows)
cpdef truncate(OrderBook book, Py_ssize_t depth)
cpdef double parse_timestamp(str text) except? -1.0
