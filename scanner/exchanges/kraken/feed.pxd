# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook, ParsedLevels
from scanner.exchanges.kraken.checksum cimport (Printing, Update, levels, parse_timestamp,
                                                read_levels, truncate)
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Kraken(WsSnapshotVenue):
    cdef public dict printing  # symbol -> how Kraken prints that pair's numbers
    cdef dict pairs  # market id -> (book, printing)
    cdef Update update  # the update being applied: its fields
    cdef ParsedLevels bids, asks  # and its levels, parsed

    @cython.locals(message=dict)
    cpdef handle(self, frame, double received_at)
    @cython.locals(update=Update, pair=tuple, book=OrderBook, printing=Printing, seq="long long",
                   exchange_time=double)
    cdef _on_update(self, dict data, frame, double received_at)
    @cython.locals(printing=Printing)
    cdef object checksum(self, OrderBook book, object bids, object asks)
