# C types for feed.py, which Cython compiles (see setup.py).
cimport cython
from scanner.book cimport OrderBook, ParsedLevels
from scanner.feeds.jsonscan cimport BooksUpdate
from scanner.feeds.sync cimport WsSnapshotVenue


cdef class Okx(WsSnapshotVenue):
    cdef public BooksUpdate update  # the update being handled; None: orjson reads every frame
    cdef ParsedLevels parsed_bids
    cdef ParsedLevels parsed_asks

    @cython.locals(message=dict, arg=dict, data=list, update=BooksUpdate, book=OrderBook)
    cpdef handle(self, frame, double received_at)
    @cython.locals(ts="long long")
    cdef _on_update(self, OrderBook book, BooksUpdate update, double received_at)
    # cpdef: the futures feed converts contract sizes, then parses with these
    cpdef _on_books(self, OrderBook book, object action, dict data, double received_at)
    cpdef _on_bbo(self, OrderBook book, dict data, double received_at)
    cpdef _on_channel(self, OrderBook book, str channel, dict data, double received_at)
