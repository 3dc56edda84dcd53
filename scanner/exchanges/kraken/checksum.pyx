# cython: language_level=3
"""Kraken's book checksum over the scanner's own book, the depth cut, Kraken's timestamps, and
the reading of an update's fields and levels (compiled with Cython: these run on every book
message, in C).

Kraken's checksum is a CRC32 of the top 10 asks (best first) then the top 10 bids, each level's
price and quantity as Kraken prints them with the ``.`` removed and leading zeros stripped.
Kraken prints every number of a pair with fixed decimals (``0.10000000``), so that text is the
decimal digits of ``round(value * 10**decimals)``: exact from the book's doubles for every
number whose digits, decimals included, stay below 2**51 (every number of 15 significant
digits, and most of 16). The decimals are learned from the
exchange's own texts (a snapshot's numbers), not assumed. Each side keeps the text of the
levels it last checked: a side whose top levels did not change is not printed again (nor, for
the asks, read again: the CRC register after them is kept), and in a side that changed, a level
an update did not touch (found at its rank or one away) is copied rather than printed. The CRC
folds 16-byte blocks by carry-less multiplication where the CPU has it (x86-64 PCLMULQDQ).
"""
cimport cython
from libc.stdint cimport uint32_t
from cpython.dict cimport PyDict_Next
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport (PyUnicode_1BYTE_KIND, PyUnicode_AsUTF8AndSize, PyUnicode_CheckExact,
                              PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND)
from libc.string cimport memcmp, memcpy
from scanner.book cimport parse_number

cdef int MAX_DECIMALS = 18  # 10**18 units still fit an unsigned 64-bit integer
cdef double[19] POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                         1e13, 1e14, 1e15, 1e16, 1e17, 1e18]


cdef extern from *:
    """
    /* CRC32 (zlib's polynomial) of whole 16-byte blocks, at least 64 bytes, by carry-less
       multiplication: Intel's folding ("Fast CRC Computation for Generic Polynomials Using
       PCLMULQDQ", 2009), as Chromium's zlib has it (crc32_simd.c). Takes and returns the CRC
       register (inverted before the first byte and after the last by the caller). */
    #include <stdint.h>
    #include <stddef.h>
    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <immintrin.h>
    __attribute__((target("pclmul,sse4.1")))
    static uint32_t kraken_crc32_fold(uint32_t crc, const unsigned char *buf, size_t len) {
        const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
        const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
        const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124LL);
        const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
        const __m128i mask = _mm_setr_epi32(~0, 0, ~0, 0);
        __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8;
        x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
        x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
        x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
        x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
        x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
        buf += 64;
        len -= 64;
        while (len >= 64) {  /* fold four blocks at once */
            x5 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
            x6 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
            x7 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
            x8 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
            x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
            x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
            x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
            x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
            x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)(buf + 0x00)));
            x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(buf + 0x10)));
            x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(buf + 0x20)));
            x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(buf + 0x30)));
            buf += 64;
            len -= 64;
        }
        x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);  /* four blocks into one */
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
        x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
        x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
        while (len >= 16) {  /* then one block at a time */
            x2 = _mm_loadu_si128((const __m128i *)buf);
            x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
            x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
            x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
            buf += 16;
            len -= 16;
        }
        x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);  /* 128 bits to 64 */
        x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
        x2 = _mm_srli_si128(x1, 4);
        x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask), k5k0, 0x00);
        x1 = _mm_xor_si128(x1, x2);
        x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask), poly, 0x10);  /* Barrett: 32 bits */
        x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, mask), poly, 0x00);
        x1 = _mm_xor_si128(x1, x2);
        return (uint32_t)_mm_extract_epi32(x1, 1);
    }
    static int kraken_clmul_supported(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    #else
    static uint32_t kraken_crc32_fold(uint32_t crc, const unsigned char *buf, size_t len) {
        return crc;  /* never called: kraken_clmul_supported() is 0 */
    }
    static int kraken_clmul_supported(void) { return 0; }
    #endif
    """
    uint32_t kraken_crc32_fold(uint32_t crc, const unsigned char* buf, size_t length) noexcept
    int kraken_clmul_supported() noexcept
    int __builtin_clzll(unsigned long long) noexcept


cdef uint32_t CRC_OUT = 0xFFFFFFFF  # the register is inverted after the last byte (in C)
cdef bint CLMUL = kraken_clmul_supported()  # the CPU multiplies carry-less (x86-64 since 2010)
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


cdef uint32_t _crc32(uint32_t crc, const unsigned char* data, Py_ssize_t length) noexcept:
    """The CRC32 register (zlib's polynomial) ``crc`` after ``data``, in C: whole 16-byte
    blocks folded by carry-less multiplication where the CPU has it, the rest by tables."""
    cdef uint32_t one, two
    cdef Py_ssize_t blocks
    if CLMUL and length >= 64:
        blocks = length & ~15
        crc = kraken_crc32_fold(crc, data, blocks)
        data += blocks
        length -= blocks
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
    return crc


def crc32(bytes data, uint32_t value=0) -> int:
    """``zlib.crc32(data, value)`` by this module's CRC (for the tests)."""
    return _crc32(value ^ 0xFFFFFFFF, data, len(data)) ^ 0xFFFFFFFF


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
        self._forget()

    @property
    def known(self) -> bool:
        """Whether both decimals have been seen."""
        return self.price_decimals >= 0 and self.qty_decimals >= 0

    cpdef learn(self, bids, asks):
        """Take the decimals from levels as Kraken printed them (``(price, qty)`` texts): the
        most seen, as every level of a pair is printed alike. ValueError past 18 decimals."""
        for side in (bids, asks):
            for level in side:
                self.price_decimals = max(self.price_decimals, decimals(level[0]))
                self.qty_decimals = max(self.qty_decimals, decimals(level[1]))
        if self.price_decimals > MAX_DECIMALS or self.qty_decimals > MAX_DECIMALS:
            raise ValueError(f"more than {MAX_DECIMALS} decimals in {[*bids, *asks]!r}")
        self.price_scale = POW10[max(self.price_decimals, 0)]
        self.qty_scale = POW10[max(self.qty_decimals, 0)]
        self._forget()  # digits printed at other decimals no longer hold

    cdef void _forget(self) noexcept:
        """Keep no text: the next check prints both sides."""
        self.sides[0].count = self.sides[1].count = -1

    cpdef object checksum(self, OrderBook book):
        """Kraken's checksum (unsigned CRC32) of ``book``'s top 10 asks then top 10 bids.
        ValueError if the book has levels and the decimals are not known yet."""
        cdef SideText* text
        if (book.asks.count or book.bids.count) and not (self.price_decimals >= 0
                                                          and self.qty_decimals >= 0):
            raise ValueError(f"{book.symbol}: how Kraken prints its numbers is not known yet")
        if self._side(book.asks, 0):
            text = &self.sides[0]
            self.asks_crc = _crc32(0xFFFFFFFF, <unsigned char*>text.text, text.starts[text.count])
        self._side(book.bids, 1)
        text = &self.sides[1]
        return _crc32(self.asks_crc, <unsigned char*>text.text, text.starts[text.count]) ^ CRC_OUT

    cdef bint _side(self, BookSide side, int which) noexcept:
        """Bring the kept text of the side's top levels (``which``: 0 asks, 1 bids) up to date;
        False if those levels are the ones kept (prices and sizes), so is their text. The
        levels from the first that changed are written to ``SCRATCH`` (hot in the cache: the
        kept texts of many pairs are not), then copied over the kept ones."""
        cdef SideText* kept = &self.sides[which]
        cdef Py_ssize_t count = min(side.count, CHECKSUM_LEVELS), same = 0, start
        cdef Py_ssize_t both = min(count, kept.count)
        cdef const double* keys = &side.keys[side.count - 1]  # the best level; rank i at [-i]
        cdef const double* sizes = &side.sizes[side.count - 1]
        while same < both and keys[-same] == kept.keys[same] and sizes[-same] == kept.sizes[same]:
            same += 1
        if same == count == kept.count:
            return False
        self._print(&SCRATCH, kept, same, side, which)
        start = kept.starts[same] if same else 0
        memcpy(&kept.keys[same], &SCRATCH.keys[same], (count - same) * sizeof(double))
        memcpy(&kept.sizes[same], &SCRATCH.sizes[same], (count - same) * sizeof(double))
        memcpy(&kept.starts[same], &SCRATCH.starts[same], (count - same + 1) * sizeof(unsigned short))
        memcpy(&kept.price_lengths[same], &SCRATCH.price_lengths[same], count - same)
        memcpy(&kept.text[start], &SCRATCH.text[start], SCRATCH.starts[count] - start)
        kept.count = count
        return True

    cdef void _print(self, SideText* new, SideText* old, Py_ssize_t same, BookSide side,
                     int which) noexcept:
        """Write the side's top levels from rank ``same`` on into ``new``, at the places they
        take after the first ``same`` of ``old``: copying the digits of each level whose price
        (and size) ``old`` has at its rank or one away (a level added or removed above it),
        printing the rest."""
        cdef double sign = -1.0 if which else 1.0, key, size
        cdef double price_scale = self.price_scale, qty_scale = self.qty_scale
        cdef Py_ssize_t i, j, count = min(side.count, CHECKSUM_LEVELS)
        cdef Py_ssize_t length = old.starts[same] if same else 0
        cdef const double* keys = &side.keys[side.count - 1]  # the best level; rank i at [-i]
        cdef const double* sizes = &side.sizes[side.count - 1]
        for i in range(same, count):
            key, size = keys[-i], sizes[-i]
            new.keys[i], new.sizes[i], new.starts[i] = key, size, <unsigned short>length
            j = _kept(old, i, key)
            if j < 0:
                length = _digits(new.text, length, _units(sign * key, price_scale))
                new.price_lengths[i] = <unsigned char>(length - new.starts[i])
            else:
                new.price_lengths[i] = old.price_lengths[j]
                if old.sizes[j] == size:  # a fixed size: a few vector moves
                    memcpy(&new.text[length], &old.text[old.starts[j]], LEVEL_DIGITS)
                    length += old.starts[j + 1] - old.starts[j]
                    continue
                memcpy(&new.text[length], &old.text[old.starts[j]], NUMBER_DIGITS)
                length += new.price_lengths[i]
            length = _digits(new.text, length, _units(size, qty_scale))
        new.starts[count] = <unsigned short>length
        new.count = count


cdef SideText SCRATCH  # where a side's changed levels are written, before they are kept


cdef inline Py_ssize_t _kept(SideText* old, Py_ssize_t rank, double key) noexcept:
    """The rank in ``old`` of price ``key``, looked for at ``rank`` or one away, or -1."""
    if rank < old.count and old.keys[rank] == key:
        return rank
    if 0 < rank <= old.count and old.keys[rank - 1] == key:
        return rank - 1
    if rank + 1 < old.count and old.keys[rank + 1] == key:
        return rank + 1
    return -1


cdef inline unsigned long long _units(double value, double scale) noexcept:
    """``value * scale`` rounded to the nearest integer. The product is within ``m * 2**-52``
    of the printed digits ``m`` (the double's and the multiplication's rounding), so below
    2**51 rounding it gives ``m`` exactly."""
    return <unsigned long long>(value * scale + 0.5)


cdef char* PAIRS = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"


cdef unsigned long long[20] UPOW10 = [
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
    100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
    10000000000000000, 100000000000000000, 1000000000000000000, 10000000000000000000ULL]


@cython.cdivision(True)
cdef inline Py_ssize_t _digits(char* text, Py_ssize_t at, unsigned long long units) noexcept:
    """Write the decimal digits of ``units`` at ``at`` (none for 0: all its zeros are leading),
    two at a time from the right, straight into ``text``; return where they end."""
    cdef int count, pair
    if units == 0:
        return at
    count = ((64 - __builtin_clzll(units)) * 1233) >> 12  # digits of 2**bits - 1, or one less
    count += units >= UPOW10[count]
    cdef Py_ssize_t end = at + count, n = end
    while units >= 100:
        pair = <int>(units % 100) * 2
        units //= 100
        n -= 2
        text[n] = PAIRS[pair]
        text[n + 1] = PAIRS[pair + 1]
    if units >= 10:
        text[n - 2] = PAIRS[units * 2]
        text[n - 1] = PAIRS[units * 2 + 1]
    else:
        text[n - 1] = c'0' + <char>units
    return end


cpdef tuple levels(list rows):
    """Kraken levels ``[{"price": p, "qty": q}, ...]`` as the book's ``((p, q), ...)``
    (TypeError/KeyError for anything else): one tuple of the exact size, none when empty."""
    cdef Py_ssize_t count = len(rows), i
    if not count:
        return ()
    cdef tuple result = PyTuple_New(count)
    for i in range(count):
        level = ((<dict?>rows[i])["price"], (<dict>rows[i])["qty"])
        Py_INCREF(level)
        PyTuple_SET_ITEM(result, i, level)
    return result


cdef class Update:
    """The fields of one ``book`` update (None where missing), read in one pass over its
    object rather than looked up by name one by one; reused update after update."""

    cdef void read(self, dict data) noexcept:
        """Take ``data``'s fields, which it keeps alive."""
        cdef Py_ssize_t pos = 0
        cdef PyObject* key
        cdef PyObject* value
        self.symbol = self.bids = self.asks = self.checksum = self.timestamp = None
        while PyDict_Next(data, &pos, &key, &value):
            if _named(key, b"symbol", 6):
                self.symbol = <object>value
            elif _named(key, b"bids", 4):
                self.bids = <object>value
            elif _named(key, b"asks", 4):
                self.asks = <object>value
            elif _named(key, b"checksum", 8):
                self.checksum = <object>value
            elif _named(key, b"timestamp", 9):
                self.timestamp = <object>value


cdef int read_levels(list rows, ParsedLevels parsed) except -1:
    """Kraken levels ``[{"price": p, "qty": q}, ...]`` (JSON numbers) into ``parsed`` (emptied
    first), the book's input: each row's fields read in one pass over it, no key looked up and
    no tuple built. TypeError for a row that is not an object, KeyError for one without a
    price or qty, ValueError for a number that is not a price or size."""
    cdef Py_ssize_t pos
    cdef PyObject* key
    cdef PyObject* value
    cdef PyObject* price
    cdef PyObject* qty
    if rows is None:
        raise TypeError("levels missing")
    parsed.reserve(len(rows))
    for row in rows:
        if type(row) is not dict:
            raise TypeError(f"not a level: {row!r}")
        pos, price, qty = 0, NULL, NULL
        while PyDict_Next(row, &pos, &key, &value):
            if _named(key, b"price", 5):
                price = value
            elif _named(key, b"qty", 3):
                qty = value
        if price is NULL or qty is NULL:
            raise KeyError(f"a level without a price or qty: {row!r}")
        parsed.prices[parsed.count] = parse_number(<object>price)
        parsed.sizes[parsed.count] = parse_number(<object>qty)
        parsed.count += 1
    return 0


cdef inline bint _named(PyObject* key, const char* name, Py_ssize_t length) noexcept:
    """Whether a parsed object's key is the ASCII text ``name`` of ``length`` characters."""
    return (PyUnicode_CheckExact(<object>key) and PyUnicode_KIND(<object>key) == PyUnicode_1BYTE_KIND
            and PyUnicode_GET_LENGTH(<object>key) == length
            and memcmp(PyUnicode_DATA(<object>key), name, length) == 0)


cpdef truncate(OrderBook book, Py_ssize_t depth):
    """Drop the levels past ``depth`` on both sides: Kraken sends no delete for a level that an
    update pushed out of the subscribed depth (its book, and checksum, are cut the same way)."""
    book.bids.keep_best(depth)
    book.asks.keep_best(depth)


cpdef double parse_timestamp(str text) except? -1.0:
    """Unix seconds of an RFC 3339 UTC time as Kraken and Coinbase send it,
    ``2023-10-06T17:35:55.440295Z`` (any number of fraction digits, those past nanoseconds
    ignored): the whole seconds and fraction as one integer, divided once by a power of ten,
    so microseconds give exactly ``datetime.timestamp()``. ValueError for anything else."""
    cdef Py_ssize_t length, i
    cdef const char* s = PyUnicode_AsUTF8AndSize(text, &length)
    cdef long year, month, day, hour, minute, second
    cdef long long ticks = 0  # the fraction, in units of 10**-places seconds
    cdef int places = 0
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
            if places < 9:
                ticks = ticks * 10 + (s[i] - c'0')
                places += 1
    if min(year, month, day, hour, minute, second) < 0 or not 1 <= month <= 12 \
            or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"not a UTC time: {text!r}")
    ticks += (_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60
              + second) * <long long>POW10[places]
    return <double>ticks / POW10[places]


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
