# cython: language_level=3
"""Kraken's book checksum over the scanner's own book, the depth cut, and Kraken's timestamps
(compiled with Cython: these run on every book message, in C).

Kraken's checksum is a CRC32 of the top 10 asks (best first) then the top 10 bids, each level's
price and quantity as Kraken prints them with the ``.`` removed and leading zeros stripped.
Kraken prints every number of a pair with fixed decimals (``0.10000000``), so that text is the
decimal digits of ``round(value * 10**decimals)``: exact from the book's doubles for every
number whose digits, decimals included, stay below 2**51 (every number of 15 significant
digits, and most of 16). The decimals are learned from the
exchange's own texts (a snapshot's numbers), not assumed. Each side keeps the digits of the
levels it last checked, so a level an update did not touch (found at its rank or one away)
is copied rather than printed again.
"""
from libc.stdint cimport uint32_t
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy

cdef int MAX_DECIMALS = 18  # 10**18 units still fit an unsigned 64-bit integer
cdef double[19] POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                         1e13, 1e14, 1e15, 1e16, 1e17, 1e18]


cdef uint32_t[8][256] CRC_TABLE  # CRC32 (zlib's polynomial), slicing by 8 bytes


cdef void _crc_tables() noexcept:
    cdef uint32_t crc
    cdef int i, k
    for i in range(256):
        crc = i
        for k in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
        CRC_TABLE[0][i] = crc
    for i in range(256):
        for k in range(1, 8):
            CRC_TABLE[k][i] = (CRC_TABLE[k - 1][i] >> 8) ^ CRC_TABLE[0][CRC_TABLE[k - 1][i] & 0xFF]


_crc_tables()


cdef uint32_t _crc32(const unsigned char* data, Py_ssize_t length) noexcept:
    """``zlib.crc32`` of ``data``, in C (no bytes object, no call through Python)."""
    cdef uint32_t crc = 0xFFFFFFFF, one, two
    while length >= 8:
        one = crc ^ (data[0] | (<uint32_t>data[1] << 8) | (<uint32_t>data[2] << 16)
                     | (<uint32_t>data[3] << 24))
        two = data[4] | (<uint32_t>data[5] << 8) | (<uint32_t>data[6] << 16) | (<uint32_t>data[7] << 24)
        crc = (CRC_TABLE[7][one & 0xFF] ^ CRC_TABLE[6][(one >> 8) & 0xFF]
               ^ CRC_TABLE[5][(one >> 16) & 0xFF] ^ CRC_TABLE[4][one >> 24]
               ^ CRC_TABLE[3][two & 0xFF] ^ CRC_TABLE[2][(two >> 8) & 0xFF]
               ^ CRC_TABLE[1][(two >> 16) & 0xFF] ^ CRC_TABLE[0][two >> 24])
        data += 8
        length -= 8
    while length:
        crc = (crc >> 8) ^ CRC_TABLE[0][(crc ^ data[0]) & 0xFF]
        data += 1
        length -= 1
    return crc ^ 0xFFFFFFFF


def decimals(str text) -> int:
    """Decimal places of a number as printed: ``"0.10000000"`` -> 8, ``"45281"`` -> 0."""
    mantissa, _, exponent = text.lower().partition("e")
    point = mantissa.find(".")
    places = (len(mantissa) - point - 1 if point >= 0 else 0) - (int(exponent) if exponent else 0)
    return max(places, 0)


cdef class Printing:
    """How Kraken prints one pair's prices and quantities (fixed decimals), learned from the
    exchange's texts, and the book checksum that follows from it."""

    def __init__(self):
        self.price_decimals = self.qty_decimals = -1
        self.kept[0] = self.kept[1] = 0

    @property
    def known(self) -> bool:
        """Whether both decimals have been seen."""
        return self.price_decimals >= 0 and self.qty_decimals >= 0

    cpdef learn(self, list bids, list asks):
        """Take the decimals from levels as Kraken printed them (``(price, qty)`` texts): the
        most seen, as every level of a pair is printed alike. ValueError past 18 decimals."""
        for level in bids + asks:
            self.price_decimals = max(self.price_decimals, decimals(level[0]))
            self.qty_decimals = max(self.qty_decimals, decimals(level[1]))
        if self.price_decimals > MAX_DECIMALS or self.qty_decimals > MAX_DECIMALS:
            raise ValueError(f"more than {MAX_DECIMALS} decimals in {bids + asks!r}")
        self.price_scale = POW10[max(self.price_decimals, 0)]
        self.qty_scale = POW10[max(self.qty_decimals, 0)]
        self.kept[0] = self.kept[1] = 0  # digits printed at other decimals no longer hold

    cpdef object checksum(self, OrderBook book):
        """Kraken's checksum (unsigned CRC32) of ``book``'s top 10 asks then top 10 bids.
        ValueError if the book has levels and the decimals are not known yet."""
        cdef char[CHECKSUM_LEVELS * 2 * LEVEL_DIGITS + LEVEL_DIGITS] text  # slack: fixed copies
        cdef Py_ssize_t length = 0
        if (book.asks.count or book.bids.count) and not (self.price_decimals >= 0
                                                          and self.qty_decimals >= 0):
            raise ValueError(f"{book.symbol}: how Kraken prints its numbers is not known yet")
        length = self._side(book.asks, 0, text, length)
        length = self._side(book.bids, 1, text, length)
        return _crc32(<unsigned char*>text, length)

    cdef Py_ssize_t _side(self, BookSide side, int which, char* text, Py_ssize_t length) noexcept:
        """Append the digits of the side's top levels (``which``: 0 asks, 1 bids) to ``text``,
        reusing the last check's digits of each level whose price (and size) are unchanged."""
        cdef Digits* old = self.digits[which][self.current[which]]
        cdef Digits* new = self.digits[which][1 - self.current[which]]
        cdef Digits* level
        cdef Digits* seen
        cdef double sign = -1.0 if which else 1.0, key, size
        cdef Py_ssize_t i, count = min(side.count, CHECKSUM_LEVELS)
        for i in range(count):
            key, size, level = side.key_at(i), side.size_at_rank(i), &new[i]
            seen = _kept(old, self.kept[which], i, key)
            if seen is not NULL and seen.size == size:
                level[0] = seen[0]
                level = seen  # read the text where it was written: no stalled store forward
            else:
                level.key, level.size = key, size
                if seen is NULL:
                    level.price_length = <unsigned char>_digits(
                        level.text, 0, _units(sign * key, self.price_scale))
                else:
                    level.price_length = seen.price_length
                    memcpy(level.text, seen.text, LEVEL_DIGITS // 2)  # a price: at most 20 digits
                level.length = <unsigned char>_digits(
                    level.text, level.price_length, _units(size, self.qty_scale))
            memcpy(&text[length], level.text, LEVEL_DIGITS)  # a fixed size: a few vector moves
            length += level.length
        self.current[which] = 1 - self.current[which]
        self.kept[which] = count
        return length


cdef inline Digits* _kept(Digits* levels, Py_ssize_t count, Py_ssize_t rank, double key) noexcept:
    """The kept level of price ``key`` at ``rank`` or one rank away (a level added or removed
    above it), or NULL."""
    if rank < count and levels[rank].key == key:
        return &levels[rank]
    if 0 < rank <= count and levels[rank - 1].key == key:
        return &levels[rank - 1]
    if rank + 1 < count and levels[rank + 1].key == key:
        return &levels[rank + 1]
    return NULL


cdef inline unsigned long long _units(double value, double scale) noexcept:
    """``value * scale`` rounded to the nearest integer. The product is within ``m * 2**-52``
    of the printed digits ``m`` (the double's and the multiplication's rounding), so below
    2**51 rounding it gives ``m`` exactly."""
    return <unsigned long long>(value * scale + 0.5)


cdef char* PAIRS = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"


cdef inline Py_ssize_t _digits(char* text, Py_ssize_t at, unsigned long long units) noexcept:
    """Append the decimal digits of ``units`` (none for 0: all its zeros are leading), two at a
    time from the right."""
    cdef char[20] tail
    cdef int n = 20, pair
    while units >= 100:
        pair = <int>(units % 100) * 2
        units //= 100
        n -= 2
        tail[n] = PAIRS[pair]
        tail[n + 1] = PAIRS[pair + 1]
    if units >= 10:
        n -= 2
        tail[n] = PAIRS[units * 2]
        tail[n + 1] = PAIRS[units * 2 + 1]
    elif units:
        n -= 1
        tail[n] = c'0' + <char>units
    memcpy(&text[at], &tail[n], 20 - n)
    return at + 20 - n


cpdef list levels(list rows):
    """Kraken levels ``[{"price": p, "qty": q}, ...]`` as the book's ``[(p, q), ...]``
    (TypeError/KeyError for anything else)."""
    return [((<dict?>row)["price"], (<dict>row)["qty"]) for row in rows]


cpdef truncate(OrderBook book, Py_ssize_t depth):
    """Drop the levels past ``depth`` on both sides: Kraken sends no delete for a level that an
    update pushed out of the subscribed depth (its book, and checksum, are cut the same way)."""
    book.bids.keep_best(depth)
    book.asks.keep_best(depth)


cpdef double parse_timestamp(str text) except? -1.0:
    """Unix seconds of an RFC 3339 UTC time as Kraken and Coinbase send it,
    ``2023-10-06T17:35:55.440295Z`` (any number of fraction digits);
    ValueError for anything else."""
    cdef Py_ssize_t length, i
    cdef const char* s = PyUnicode_AsUTF8AndSize(text, &length)
    cdef long year, month, day, hour, minute, second
    cdef double fraction = 0.0, scale = 0.1
    if length < 20 or s[4] != c'-' or s[7] != c'-' or s[10] != c'T' or s[13] != c':' \
            or s[16] != c':' or s[length - 1] != c'Z':
        raise ValueError(f"not a UTC time: {text!r}")
    year, month, day = _number(s, 0, 4), _number(s, 5, 2), _number(s, 8, 2)
    hour, minute, second = _number(s, 11, 2), _number(s, 14, 2), _number(s, 17, 2)
    if length > 20:
        if s[19] != c'.':
            raise ValueError(f"not a UTC time: {text!r}")
        for i in range(20, length - 1):
            if not c'0' <= s[i] <= c'9':
                raise ValueError(f"not a UTC time: {text!r}")
            fraction += (s[i] - c'0') * scale
            scale /= 10.0
    if min(year, month, day, hour, minute, second) < 0 or not 1 <= month <= 12 \
            or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"not a UTC time: {text!r}")
    return _days_from_civil(year, month, day) * 86400.0 + hour * 3600 + minute * 60 + second \
        + fraction


cdef inline long _number(const char* s, int at, int width) noexcept:
    """The decimal number in ``s[at:at + width]``, or -1 if a character is not a digit."""
    cdef long value = 0
    cdef int i
    for i in range(at, at + width):
        if not c'0' <= s[i] <= c'9':
            return -1
        value = value * 10 + (s[i] - c'0')
    return value


cdef inline long _days_from_civil(long year, long month, long day) noexcept:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    cdef long era = year // 400
    cdef long year_of_era = year - era * 400
    cdef long day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    cdef long day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
