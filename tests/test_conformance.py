"""The contract every exchange adapter keeps, proven against its simulated exchange on
127.0.0.1 through the real runner, books, engine and /metrics.

``ExchangeContract`` holds the checks; each registered exchange runs them by one small fixture
class at the bottom (its name and what its protocol has: REST snapshots, a checksum). Every
check asserts what a user sees on /metrics, and that no opportunity was priced from a book
that was not live while the fault lasted.
"""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import websockets

from scanner.book import BookState
from scanner.engine.opportunity import EventType
from scanner.exchanges import EXCHANGES, NAMES
from scanner.metadata import Metadata
from scanner_harness import Harness, running

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
SILENCE = 2.0  # seconds without a frame before a connection is dropped
STALENESS = 0.6  # seconds of silence after which books wait for a diff that chains on


class ExchangeContract:
    """The shared checks. A fixture class sets ``exchange`` and what its protocol has."""

    exchange: str
    rest_snapshots = False  # books join REST snapshots (Binance): REST faults and pacing apply
    checksum = False  # the protocol carries a book checksum
    sequence_per_connection = False  # one sequence for the connection (Coinbase): a gap resyncs every book
    dislocation_bps = 80  # a move that opens opportunities past both exchanges' taker fees
    gap_reason = "gap"  # the resync reason a lost diff shows as
    symbols = SYMBOLS  # a futures fixture scans perpetuals (the same checks, the futures feed)
    connections = 1  # connections the feed opens (Binance futures: books and mark price)

    @property
    def eth(self) -> str:
        return self.symbols[1]

    @property
    def btc(self) -> str:
        return self.symbols[0]

    @pytest.fixture
    async def h(self) -> Harness:
        futures = self.symbols is not SYMBOLS
        partner = next(name for name in NAMES if name != self.exchange  # pairs to price
                       and (not futures or EXCHANGES[name].has_futures))
        async with running(self.symbols, [self.exchange, partner], silence_seconds=SILENCE,
                           staleness_seconds=STALENESS, updates_per_second=10.0) as harness:
            yield harness

    def books(self, h: Harness):
        return [book for (exchange, _), book in h.scanner.store.books.items() if exchange == self.exchange]

    def priced_between(self, h: Harness, start: float, end: float) -> list:
        """Opportunity events on this exchange's books between two monotonic times."""
        return [e for e, t in zip(h.events, h.event_times) if e.type is not EventType.CLOSED
                and start < t < end and self.exchange in (e.opportunity.buy_exchange, e.opportunity.sell_exchange)]

    async def test_subscribes_loads_snapshots_and_follows_diffs(self, h: Harness):
        for symbol in self.symbols:
            await h.wait_for(lambda: h.in_step(self.exchange, symbol), timeout=5.0)
        assert h.sim.stats[self.exchange].connections_open == self.connections
        assert await h.metric("arbscan_feed_up", exchange=self.exchange) == 1.0
        for symbol in self.symbols:
            assert await h.metric("arbscan_book_usable", exchange=self.exchange, symbol=symbol) == 1.0

    async def test_gap_resyncs_that_symbol_and_the_others_stay_live(self, h: Harness):
        h.sim.dislocate(self.exchange, self.eth, self.dislocation_bps, seconds=10)  # opportunities on that book
        await h.wait_for(lambda: any(k[0] == self.eth for k in h.scanner.engine.open), timeout=5.0)
        h.sim.inject(self.exchange, "gap", self.eth)
        reason = self.gap_reason
        await h.wait_for(lambda: h.metric("arbscan_book_resyncs_total", exchange=self.exchange, reason=reason),
                         timeout=5.0)
        await h.wait_for(lambda: h.in_step(self.exchange, self.eth, levels=5), timeout=5.0)
        resynced = len(self.symbols) if self.sequence_per_connection else 1
        assert await h.metric("arbscan_book_resyncs_total", exchange=self.exchange, reason=reason) == resynced
        others = [state for _, ex, symbol, state, _ in h.notes if ex == self.exchange and symbol == self.btc]
        if self.sequence_per_connection:  # BTC/USDT may have missed the lost message too
            await h.wait_for(lambda: h.in_step(self.exchange, self.btc, levels=5), timeout=5.0)
            assert h.scanner.stats[self.exchange].reconnects == 0
        else:
            assert others and all(state is BookState.LIVE for state in others)
        closes = [e for e in h.events if e.type is EventType.CLOSED and e.close_reason == "book unusable"]
        assert closes, "the opportunities on the broken book were closed while it resynced"
        assert h.unsafe == []

    async def test_checksum_mismatch_resyncs_that_book(self, h: Harness):
        if not self.checksum:
            pytest.skip(f"{self.exchange}'s book channel carries no checksum")
        h.sim.inject(self.exchange, "bad_checksum", self.eth)
        await h.wait_for(lambda: h.metric("arbscan_book_resyncs_total", exchange=self.exchange, reason="checksum"),
                         timeout=5.0)
        await h.wait_for(lambda: h.in_step(self.exchange, self.eth, levels=5), timeout=5.0)
        assert h.unsafe == []

    async def test_heartbeat_is_answered_by_the_exchange(self, h: Harness):
        venue = next(r.venue for r in h.scanner.runners if r.venue.name == self.exchange and r.venue.books)
        ping = venue.ping_message()
        if ping is None:
            pytest.skip(f"{self.exchange}'s server pings; the WebSocket library answers")
        async with websockets.connect(venue.connect_url()) as ws:
            await ws.send(ping)
            reply = await asyncio.wait_for(ws.recv(decode=False), 2.0)
        errors = dict(h.scanner.stats[self.exchange].errors)
        venue.handle(reply, time.monotonic())  # the adapter takes the pong as a heartbeat, nothing else
        assert dict(h.scanner.stats[self.exchange].errors) == errors

    async def test_server_close_reconnects_and_rebuilds(self, h: Harness):
        h.sim.inject(self.exchange, "disconnect")
        await h.wait_for(lambda: h.scanner.stats[self.exchange].reconnects >= 1, timeout=5.0)
        await h.wait_for(h.all_live, timeout=5.0)
        # every connection back (a book-less one, Binance futures' mark price, may come up after the books)
        await h.wait_for(lambda: self._metric_is(h, "arbscan_feed_up", 1.0), timeout=5.0)
        assert await h.metric("arbscan_feed_reconnects_total", exchange=self.exchange) >= 1.0
        assert await h.metric("arbscan_feed_errors_total", exchange=self.exchange, kind="disconnect") >= 1.0
        assert h.unsafe == []

    async def _metric_is(self, h: Harness, name: str, value: float) -> bool:
        return await h.metric(name, exchange=self.exchange) == value

    async def test_silent_feed_is_dropped_at_silence_seconds(self, h: Harness):
        stats = h.scanner.stats[self.exchange]
        h.sim.inject(self.exchange, "stall", seconds=10)
        stalled = time.monotonic()
        await h.wait_for(lambda: not stats.up, timeout=SILENCE + 3.0, interval=0.01)
        dropped_after = time.monotonic() - stalled
        assert SILENCE - 0.3 < dropped_after < SILENCE + 1.3, dropped_after
        assert not any(book.is_usable(time.monotonic()) for book in self.books(h))
        await h.wait_for(lambda: stats.errors["silent"] == self.connections, timeout=2.0)  # each connection
        assert await h.metric("arbscan_feed_errors_total", exchange=self.exchange, kind="silent") == self.connections
        assert stats.errors["disconnect"] == 0, "a dropped silent feed is counted once, as silent"
        await h.wait_for(h.all_live, timeout=5.0)
        assert h.unsafe == []

    async def test_short_stall_leaves_books_unused_until_a_diff_chains_on(self, h: Harness):
        h.sim.dislocate(self.exchange, self.eth, self.dislocation_bps, seconds=10)
        await h.wait_for(lambda: any(k[0] == self.eth for k in h.scanner.engine.open), timeout=5.0)
        h.sim.inject(self.exchange, "stall", seconds=STALENESS * 2)  # longer than staleness, shorter than silence
        start = time.monotonic()
        await h.wait_for(lambda: any(state is BookState.UNPROVEN for t, ex, _, state, _ in h.notes
                                     if ex == self.exchange and t > start), timeout=5.0)
        await h.wait_for(h.all_live, timeout=5.0)
        assert h.scanner.stats[self.exchange].reconnects == 0
        for symbol in self.symbols:  # live again only from a diff that chained on (or a new snapshot)
            notes = [(state, seq) for t, ex, sym, state, seq in h.notes if ex == self.exchange and sym == symbol
                     and t > start]
            unproven = next(i for i, (state, _) in enumerate(notes) if state is BookState.UNPROVEN)
            back = next(seq for state, seq in notes[unproven:] if state is BookState.LIVE)
            assert back != notes[unproven][1], f"{symbol} was revived without a diff"
        assert h.unsafe == []

    async def test_quiet_book_on_a_live_feed_stays_usable(self, h: Harness):
        h.sim.pause(self.eth)
        await asyncio.sleep(STALENESS * 4)
        book = h.scanner.store.books[self.exchange, self.eth]
        assert time.monotonic() - book.received_at > STALENESS * 2, "the book itself stayed unchanged"
        assert await h.metric("arbscan_book_usable", exchange=self.exchange, symbol=self.eth) == 1.0
        h.sim.resume(self.eth)

    async def test_malformed_frame_is_counted_and_skipped(self, h: Harness):
        h.sim.inject(self.exchange, "malformed")
        await h.wait_for(lambda: h.metric("arbscan_feed_errors_total", exchange=self.exchange, kind="malformed"),
                         timeout=3.0)
        await h.wait_for(h.all_live, timeout=5.0)
        assert h.scanner.stats[self.exchange].reconnects == 0
        assert h.unsafe == []

    async def test_exchange_error_drops_the_connection_at_once(self, h: Harness):
        stats = h.scanner.stats[self.exchange]
        h.sim.dislocate(self.exchange, self.eth, self.dislocation_bps, seconds=10)  # opportunities on this feed
        await h.wait_for(lambda: any(k[0] == self.eth for k in h.scanner.engine.open), timeout=5.0)
        h.sim.inject(self.exchange, "error_event")
        sent = time.monotonic()
        await h.wait_for(lambda: not stats.up, timeout=2.0, interval=0.005)
        dropped = time.monotonic()
        assert dropped - sent < 0.5
        assert not any(book.is_usable(dropped) for book in self.books(h))
        assert stats.errors["error"] == self.connections and stats.errors["disconnect"] == 0
        await h.wait_for(h.all_live, timeout=5.0)
        relive = min(t for t, ex, _, state, _ in h.notes if ex == self.exchange and t > dropped
                     and state is BookState.LIVE)
        assert self.priced_between(h, dropped, relive) == [], "priced on the dropped feed"
        assert await h.metric("arbscan_feed_errors_total", exchange=self.exchange, kind="error") == self.connections
        assert h.unsafe == []

    async def test_crossed_book_is_invalid_and_resynced(self, h: Harness):
        h.sim.inject(self.exchange, "crossed", self.btc, seconds=1.0)
        await h.wait_for(lambda: h.metric("arbscan_book_resyncs_total", exchange=self.exchange, reason="crossed"),
                         timeout=5.0)
        await h.wait_for(h.all_live, timeout=5.0)
        assert h.unsafe == []

    async def test_failed_rest_snapshot_is_retried_with_backoff_and_counted(self, h: Harness):
        if not self.rest_snapshots:
            pytest.skip(f"{self.exchange} sends its snapshots on the WebSocket")
        h.sim.inject(self.exchange, "bad_rest")
        h.sim.inject(self.exchange, "gap", self.eth)  # the resync fetches the cut snapshot
        await h.wait_for(lambda: h.metric("arbscan_feed_errors_total", exchange=self.exchange, kind="resync"),
                         timeout=5.0)
        await h.wait_for(lambda: h.in_step(self.exchange, self.eth, levels=5), timeout=5.0)
        assert h.scanner.stats[self.exchange].reconnects == 0, "one bad answer does not cost the connection"
        assert h.unsafe == []

    async def test_reconnect_of_100_books_paces_its_snapshot_requests(self):
        if not self.rest_snapshots:
            pytest.skip(f"{self.exchange} sends its snapshots on the WebSocket")
        symbols = [f"X{i:04d}/USDT" for i in range(100)]
        unlisted = Metadata({}, fetched_at=0.0, source="test")  # made-up symbols: no listings to check
        async with running(symbols, [self.exchange], silence_seconds=30.0, updates_per_second=1.0,
                           metadata=unlisted) as h:
            venue = h.scanner.runners[0].venue
            h.sim.inject(self.exchange, "disconnect")
            await h.wait_for(lambda: h.scanner.stats[self.exchange].reconnects >= 1, timeout=5.0)
            await h.wait_for(h.all_live, timeout=30.0)
            times = sorted(h.sim.stats[self.exchange].rest_requests)
        assert len(times) >= 200  # every book's snapshot, twice
        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        # paced at the client, they arrive paced; a loaded machine may bunch a few (measured 12
        # against 11 on a busy 2-core box) but never the storm of all 100 at once
        assert busiest <= venue.rest_per_second * 1.5


class TestBinance(ExchangeContract):
    exchange = "binance"
    rest_snapshots = True


class TestOkx(ExchangeContract):
    exchange = "okx"


class TestBybit(ExchangeContract):
    exchange = "bybit"


class TestCoinbase(ExchangeContract):
    exchange = "coinbase"
    sequence_per_connection = True
    dislocation_bps = 250  # Coinbase's retail taker fee is 1.2%


class TestGate(ExchangeContract):
    exchange = "gate"


class TestBitget(ExchangeContract):
    exchange = "bitget"
    checksum = True


class TestKraken(ExchangeContract):
    exchange = "kraken"
    checksum = True
    gap_reason = "checksum"  # Kraken numbers nothing: a lost update shows in the next checksum


class TestKucoin(ExchangeContract):
    exchange = "kucoin"
    rest_snapshots = True


FUTURES_SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


class TestBinanceFutures(ExchangeContract):
    exchange = "binance"
    symbols = FUTURES_SYMBOLS
    rest_snapshots = True
    connections = 2
    dislocation_bps = 40


class TestOkxFutures(ExchangeContract):
    exchange = "okx"
    symbols = FUTURES_SYMBOLS
    dislocation_bps = 40


class TestBybitFutures(ExchangeContract):
    exchange = "bybit"
    symbols = FUTURES_SYMBOLS
    dislocation_bps = 40


def test_every_registered_exchange_runs_the_contract():
    spot = {cls.exchange for cls in ExchangeContract.__subclasses__() if cls.symbols is SYMBOLS}
    futures = {cls.exchange for cls in ExchangeContract.__subclasses__() if cls.symbols is not SYMBOLS}
    assert spot == set(EXCHANGES)
    assert futures == {name for name, profile in EXCHANGES.items() if profile.has_futures}
