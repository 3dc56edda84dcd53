"""Generic (ccxt.pro) exchanges: config validation, and ccxt's own Binance client pointed at the
simulated Binance on loopback, run under the name of a generic exchange entry (``binanceus``,
whose ccxt class speaks Binance's protocol)."""
import asyncio
import contextlib
import json

import pytest

from scanner.app import Scanner
from scanner.book import BookState
from scanner.config import Config, ExchangeConfig, parse_config, ConfigError
from scanner.demo import point_at
from scanner.feeds.generic import point_urls
from scanner.metadata import Metadata, load_metadata
from scanner.alerts.formats import opportunity_payload
from scanner.publish.terminal import render
from scanner.sim import SimulatedExchanges
from rich.console import Console

from scanner_harness import Harness, free_port

GENERIC = "binanceus"


def test_a_generic_entry_must_name_a_ccxt_pro_exchange():
    config = parse_config({"exchanges": {GENERIC: {"generic": True}}})
    assert config.fidelity(GENERIC) == "generic" and config.fidelity("okx") == "native"
    with pytest.raises(ConfigError) as error:
        parse_config({"exchanges": {"binanse_us": {"generic": True}}}, source="c.toml")
    assert error.value.problems == ["c.toml: 'exchanges.binanse_us': ccxt.pro has no exchange 'binanse_us';"
                                    " did you mean 'binanceus'?"]
    with pytest.raises(ConfigError) as error:
        parse_config({"exchanges": {"htx": {}}}, source="c.toml")
    assert "any ccxt exchange: set 'generic = true'" in error.value.problems[0]


def test_check_config_rejects_an_unknown_generic_id_in_one_line(tmp_path, capsys):
    from scanner.cli import main

    path = tmp_path / "c.toml"
    path.write_text("[exchanges.nosuchexchange]\ngeneric = true\n")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ccxt.pro has no exchange 'nosuchexchange'" in err


def test_ccxt_urls_are_pointed_at_other_hosts_keeping_their_paths():
    urls = {"api": {"ws": {"spot": "wss://stream.binance.us:9443/ws"}, "public": "https://api.binance.us/api/v3"},
            "www": "https://www.binance.us", "doc": ["https://docs.binance.us"]}
    pointed = point_urls(urls, "ws://127.0.0.1:9001/stream", "http://127.0.0.1:9002")
    assert pointed["api"] == {"ws": {"spot": "ws://127.0.0.1:9001/ws"}, "public": "http://127.0.0.1:9002/api/v3"}
    assert pointed["doc"] == ["http://127.0.0.1:9002"]
    assert point_urls(urls, "", "") == urls


def with_generic_binance(metadata: Metadata) -> Metadata:
    """The bundled metadata with Binance's markets also under the generic entry's name (what
    `arbscan markets refresh` would cache for it)."""
    data = dict(metadata.data)
    data[GENERIC] = metadata.data["binance"]
    return Metadata(data, fetched_at=metadata.fetched_at, source=metadata.source)


@contextlib.asynccontextmanager
async def generic_scanner(symbols):
    async with SimulatedExchanges(symbols=symbols, exchanges=["binance", "okx"], seed=5,
                                  updates_per_second=5.0, dislocation_every=None) as sim:
        config = Config()
        config.scanner.symbols = list(symbols)
        config.scanner.staleness_seconds = 2.0
        config.metrics.port = free_port()
        point_at(config, sim)
        binance = sim.endpoints["binance"]
        config.exchanges["binance"].enabled = False
        config.exchanges[GENERIC] = ExchangeConfig(generic=True, ws_url=binance.ws_url, rest_url=binance.rest_url)
        scanner = Scanner(config, with_generic_binance(load_metadata(None)))
        task = asyncio.create_task(scanner.run())
        h = Harness(sim, scanner, config.metrics.port)
        try:
            await h.wait_for(h.all_live, timeout=30.0)
            yield h
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_generic_books_go_live_and_a_dislocation_opens_an_opportunity_labelled_generic():
    async with generic_scanner(["BTC/USDT"]) as h:
        book = h.scanner.store.books[GENERIC, "BTC/USDT"]
        assert book.state is BookState.LIVE and book.best_bid() < book.best_ask()
        assert await h.metric("arbscan_feed_up", exchange=GENERIC) == 1.0
        assert await h.metric("arbscan_feed_info", exchange=GENERIC, fidelity="generic") == 1.0
        assert await h.metric("arbscan_feed_info", exchange="okx", fidelity="native") == 1.0
        h.sim.dislocate("binance", "BTC/USDT", -80.0, 5.0)  # the simulated Binance ccxt reads
        opened = await h.wait_for(lambda: [e for e in h.events if e.opportunity.buy_exchange == GENERIC],
                                  timeout=10.0)
        payload = opportunity_payload(opened[0], frozenset({GENERIC}))
        assert (payload["buy_exchange"], payload["sell_exchange"]) == (GENERIC, "okx")
        assert payload["fidelity"] == {"buy": "generic", "sell": "native"}
        assert "fidelity" not in opportunity_payload(opened[0])  # native-only trades carry none
        assert h.unsafe == []
        console = Console(record=True, width=160)
        console.print(h.scanner.view())
        assert f"{GENERIC} (ccxt)" in console.export_text()


async def test_a_stalled_generic_feed_goes_stale_and_is_never_priced():
    async with generic_scanner(["BTC/USDT"]) as h:
        h.sim.inject("binance", "stall")
        book = h.scanner.store.books[GENERIC, "BTC/USDT"]
        await h.wait_for(lambda: not book.is_usable(h.scanner.scheduler.monotonic()), timeout=10.0)
        before = len(h.events)
        h.sim.dislocate("okx", "BTC/USDT", 80.0, 4.0)
        await asyncio.sleep(1.5)
        opened = [e for e in h.events[before:] if e.type.value == "opportunity.opened"]
        assert not [e for e in opened if GENERIC in (e.opportunity.buy_exchange, e.opportunity.sell_exchange)]
        assert await h.metric("arbscan_book_usable", exchange=GENERIC, symbol="BTC/USDT") == 0.0
