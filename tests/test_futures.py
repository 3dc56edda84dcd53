"""Perpetual and delivery futures feeds: contract sizes, the Binance pu chain, the silent legacy
path, funding intervals per instrument and set_funding on /metrics, and the exchanges' own
sample messages (tests/data/perpetual-samples.json, copied from reference/perpetuals.md)."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import orjson
import pytest

from scanner.book import LIVE, BookError, OrderBook
from scanner.exchanges.binance.futures import SNAPSHOT_PATH, BinanceFutures, BinanceMarkPrice
from scanner.exchanges.bybit.futures import BybitFutures
from scanner.exchanges.okx.futures import OkxFutures
from scanner.feeds import FeedStats
from scanner.feeds.runner import FeedRunner
from scanner.instruments import Instrument
from scanner_harness import running

SAMPLES = json.loads((Path(__file__).parent / "data" / "perpetual-samples.json").read_text())
PERPS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def venue(cls, exchange: str, symbol: str, market_id: str, contract_size: float = 1.0):
    instrument = Instrument.of(exchange, symbol, market_id, contract_size=contract_size)
    return cls({symbol: OrderBook(exchange, symbol, instrument=instrument)}, lambda book: None)


def test_okx_contracts_are_base_units_in_the_book():
    okx = venue(OkxFutures, "okx", "BTC/USDT:USDT", "BTC-USDT-SWAP", contract_size=0.01)
    snapshot = {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot",
                "data": [{"asks": [["60001.5", "250", "0", "3"]], "bids": [["60001.4", "1", "0", "1"]],
                          "ts": "1597026383085", "checksum": 0, "prevSeqId": -1, "seqId": 123456}]}
    okx.handle(orjson.dumps(snapshot), time.monotonic())
    book = okx.books["BTC/USDT:USDT"]
    assert book.bids.top(1) == [(60001.4, 0.01)]  # one contract of 0.01 BTC
    assert book.asks.top(1) == [(60001.5, 2.5)]


def test_okx_funding_rate_sample_gives_rate_interval_and_next_time():
    okx = venue(OkxFutures, "okx", "BTC/USD:BTC", "BTC-USD-SWAP", contract_size=100)
    okx.handle(orjson.dumps(SAMPLES["okx_funding_rate"]), time.monotonic())
    state = okx.funding["BTC/USD:BTC"]
    assert state.rate == pytest.approx(0.0001875391284828)
    assert state.interval_seconds == 8 * 3600  # nextFundingTime - fundingTime
    assert state.next_funding_time == 1700726400.0


def test_binance_mark_price_sample():
    mark = BinanceMarkPrice([Instrument.of("binance", "BTC/USDT:USDT", "BTCUSDT")])
    frame = {"stream": "btcusdt@markPrice@1s", "data": SAMPLES["binance_mark_price"]}
    mark.handle(orjson.dumps(frame), time.monotonic())
    state = mark.funding["BTC/USDT:USDT"]
    assert (state.mark_price, state.index_price, state.rate) == (11794.15, 11784.62659091, 0.00038167)
    assert state.next_funding_time == 1562306400.0


def test_binance_funding_interval_defaults_to_8h_unless_listed():
    mark = BinanceMarkPrice([Instrument.of("binance", s, i) for s, i in (("BTC/USDT:USDT", "BTCUSDT"),
                                                                         ("BLZ/USDT:USDT", "BLZUSDT"))])
    body = b'[{"symbol": "BLZUSDT","adjustedFundingRateCap": "0.02500000","adjustedFundingRateFloor": ' \
           b'"-0.02500000","fundingIntervalHours": 4,"disclaimer": false}]'
    mark.apply_rest("/fapi/v1/fundingInfo", {}, body)
    assert mark.funding["BTC/USDT:USDT"].interval_seconds == 8 * 3600
    assert mark.funding["BLZ/USDT:USDT"].interval_seconds == 4 * 3600


def test_binance_depth_sample_follows_pu_and_a_break_is_a_gap():
    binance = venue(BinanceFutures, "binance", "BTC/USDT:USDT", "BTCUSDT")
    book = binance.books["BTC/USDT:USDT"]
    book.load_snapshot([["0.0023", "5"]], [["0.0027", "5"]], 149, 149, time.monotonic())
    book.state = LIVE
    depth = SAMPLES["binance_depth"]  # U 157 > 150: only pu (149) chains it on
    binance.handle(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": depth}), time.monotonic())
    assert book.seq == 160 and book.bids.top(1) == [(0.0024, 10.0)]
    broken = dict(depth, pu=170, U=171, u=175)
    with pytest.raises(BookError) as error:
        binance.handle(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": broken}), time.monotonic())
    assert error.value.reason == "gap"


def test_binance_first_diff_after_a_snapshot_straddles_it_then_pu_chains():
    """Binance's rule: the first diff after a snapshot at lastUpdateId 155 has pu 149 < 155 <= u
    160 (its pu is not 155); from then on each pu is the previous u. Checking pu == 155 there
    resynced the book at every diff (seen in the demo: a resync per 100 ms)."""
    binance = venue(BinanceFutures, "binance", "BTC/USDT:USDT", "BTCUSDT")
    book = binance.books["BTC/USDT:USDT"]
    snapshot = {"lastUpdateId": 155, "bids": [["0.0023", "5"]], "asks": [["0.0027", "5"]]}
    binance.on_rest(SNAPSHOT_PATH, {"symbol": "BTCUSDT", "limit": 1000}, orjson.dumps(snapshot))
    assert book.state is LIVE and book.seq == 155
    depth = SAMPLES["binance_depth"]  # pu 149, U 157, u 160
    binance.handle(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": depth}), time.monotonic())
    assert book.seq == 160 and book.bids.top(1) == [(0.0024, 10.0)]
    follows = dict(depth, pu=160, U=161, u=163, b=[["0.0024", "0"]])
    binance.handle(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": follows}), time.monotonic())
    assert book.seq == 163 and book.bids.top(1) == [(0.0023, 5.0)]
    with pytest.raises(BookError) as error:
        binance.handle(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": dict(depth, pu=165, U=166, u=170)}),
                       time.monotonic())
    assert error.value.reason == "gap"


def test_bybit_ticker_sample_and_delta_keep_unchanged_fields():
    bybit = venue(BybitFutures, "bybit", "BTC/USDT:USDT", "BTCUSDT")
    bybit.handle(orjson.dumps(SAMPLES["bybit_ticker"]), time.monotonic())
    delta = {"topic": "tickers.BTCUSDT", "type": "delta", "data": {"symbol": "BTCUSDT", "markPrice": "66670.1"},
             "cs": 1, "ts": 1760325052730}
    bybit.handle(orjson.dumps(delta), time.monotonic())
    state = bybit.funding["BTC/USDT:USDT"]
    assert (state.mark_price, state.index_price, state.rate) == (66670.1, 115418.19, -0.005)
    assert state.interval_seconds == 8 * 3600 and state.next_funding_time == 1760342400.0


async def test_binance_gap_resyncs_by_the_pu_chain():
    async with running(PERPS[:2], ["binance", "okx"], updates_per_second=10.0) as h:
        h.sim.inject("binance", "gap", "ETH/USDT:USDT")
        await h.wait_for(lambda: h.metric("arbscan_book_resyncs_total", exchange="binance", reason="gap"), 5.0)
        await h.wait_for(lambda: h.in_step("binance", "ETH/USDT:USDT", levels=5), 5.0)


async def test_legacy_binance_path_connects_but_is_silent_and_dropped():
    async with running(PERPS[:1], ["binance", "okx"]) as h:
        url = h.scanner.config.exchanges["binance"].futures_ws_url

        class Legacy(BinanceFutures):
            def connect_url(self) -> str:
                return f"{self.ws_url}/stream"  # retired 2026-04-23: handshake, then nothing

        book = OrderBook("binance", "BTC/USDT:USDT", instrument=Instrument.of("binance", "BTC/USDT:USDT", "BTCUSDT"))
        stats = FeedStats()
        runner = FeedRunner(Legacy({"BTC/USDT:USDT": book}, lambda b: None, ws_url=url), stats, silence_seconds=1.0)
        task = asyncio.create_task(runner.run())
        try:
            await h.wait_for(lambda: stats.errors["silent"] >= 1, timeout=5.0)
        finally:
            task.cancel()
        assert stats.messages == 0


async def test_funding_intervals_and_set_funding_on_metrics():
    async with running(PERPS, ["binance", "okx", "bybit"]) as h:
        for exchange in ("binance", "okx", "bybit"):
            for symbol, hours in zip(PERPS, (8, 4, 1)):
                await h.wait_for(lambda: h.metric("arbscan_funding_interval_seconds", exchange=exchange,
                                                  symbol=symbol), 5.0)
                assert await h.metric("arbscan_funding_interval_seconds", exchange=exchange,
                                      symbol=symbol) == hours * 3600
        # OKX (funding-rate) and Bybit (tickers deltas) push a change as it happens: on /metrics within
        # 1 s. Binance pushes <sym>@markPrice@1s once a second whatever changed (its protocol): within
        # that cadence plus 0.5 s for the push, the parse and the scrape.
        for exchange, bound in (("okx", 1.0), ("bybit", 1.0), ("binance", 1.0 + 0.5)):
            h.sim.set_funding(exchange, "ETH/USDT:USDT", 0.00321)
            changed = time.monotonic()
            await h.wait_for(lambda: _near(h.metric("arbscan_funding_rate", exchange=exchange,
                                                    symbol="ETH/USDT:USDT"), 0.00321), bound)
            print(f"funding change on {exchange}: {(time.monotonic() - changed) * 1000:.0f} ms on /metrics")


async def _near(value, target: float) -> bool:
    found = await value
    return found is not None and abs(found - target) < 1e-9


def test_a_futures_symbol_listed_nowhere_is_one_config_problem():
    from scanner.checks import listings, startup_problems
    from scanner.config import Config
    from scanner.metadata import load_metadata

    config = Config()
    config.scanner.symbols = ["BTC/USDT", "BTC/USDT:USDT", "ZZZ/USDT:USDT"]
    metadata = load_metadata(None)
    listed = listings(config, metadata)
    assert [i.id for i in listed["okx"] if not i.is_spot] == ["BTC-USDT-SWAP"]
    assert not any(not i.is_spot for i in listed["kraken"])  # no futures feed: not listed there
    problems = [p for p in startup_problems(config, metadata) if "scanner.symbols" in p]
    assert problems == [p for p in problems if "ZZZ/USDT:USDT" in p] and len(problems) == 1
