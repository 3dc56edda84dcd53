"""The default universe (scanner.assets against every stablecoin quote each exchange lists),
cross-quote opportunities on the simulated exchanges, and the demo's eight exchanges."""
import asyncio
import dataclasses

from scanner.checks import book_count, universe
from scanner.config import Config
from scanner.exchanges import NAMES
from scanner.metadata import Metadata, load_metadata

from scanner_harness import free_port, running
from tests.demo_process import metric_sum, start_demo


def test_the_default_universe_maps_each_asset_to_every_exchange_listing_in_every_stablecoin_quote():
    scanned = universe(Config(), load_metadata(None))
    assert list(scanned) == list(NAMES)
    assert all("BTC/USDT" in symbols for symbols in scanned.values())
    assert {"BTC/USD", "BTC/USDC", "ETH/USD"} <= set(scanned["coinbase"])
    assert {"BTC/USD", "BTC/USDC"} <= set(scanned["kraken"])
    assert "BTC/FDUSD" in scanned["binance"]
    assert [ex for ex, symbols in scanned.items() if any(s.startswith("BNB/") for s in symbols)] == [
        "binance", "okx", "bybit", "kucoin", "gate", "bitget"]  # no BNB on Coinbase or Kraken
    assert [ex for ex, symbols in scanned.items() if "HYPE/USDT" in symbols] == ["bybit", "kucoin", "gate", "bitget"]
    assert not any(s.startswith(("USDC/", "USDT/")) for symbols in scanned.values() for s in symbols)
    books, exchanges = book_count(Config(), load_metadata(None))
    assert exchanges == 8 and books > 150  # the universe plus its conversion books


def test_explicit_symbols_still_win_over_the_assets():
    config = Config()
    config.scanner.symbols = ["BTC/USDT"]
    assert set(map(tuple, universe(config, load_metadata(None)).values())) == {("BTC/USDT",)}
    config.scanner.symbols, config.scanner.assets = [], ["ZEC"]
    assert universe(config, load_metadata(None))["coinbase"] == ["ZEC/USD"]


def test_check_config_says_how_many_books_on_how_many_exchanges(tmp_path, capsys):
    from scanner.cli import main

    path = tmp_path / "c.toml"
    path.write_text('[scanner]\nassets = ["BTC"]\n')
    assert main(["check-config", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("# scans ") and first.endswith(" books on 8 exchanges (with the stablecoin conversion books)")


def conversion_only_on(exchange: str) -> Metadata:
    """The bundled metadata with USDC/USDT listed only on ``exchange``."""
    bundled = load_metadata(None)
    data = {name: dataclasses.replace(md, markets={s: m for s, m in md.markets.items()
                                                   if s != "USDC/USDT" or name == exchange})
            for name, md in bundled.data.items()}
    return Metadata(data, fetched_at=bundled.fetched_at, source=bundled.source)


async def test_a_cross_quote_dislocation_opens_with_the_live_rate_and_waits_while_the_rate_is_stalled():
    symbols = ["BTC/USDT", "BTC/USDC", "USDC/USDT"]
    async with running(symbols, ["binance", "okx", "bybit"], metadata=conversion_only_on("bybit"),
                       silence_seconds=30.0, staleness_seconds=1.5) as h:  # a stall: stale, not reconnected
        h.sim.dislocate("okx", "BTC/USDC", -80.0, 5.0)
        opened = await h.wait_for(lambda: [e for e in h.events if e.opportunity.key[0] == "BTC/USDC>BTC/USDT"
                                           and e.opportunity.buy_exchange == "okx"], timeout=10.0)
        conversion = opened[0].opportunity.costs.conversion
        assert (conversion.exchange, conversion.symbol, conversion.source, conversion.target) == (
            "bybit", "USDC/USDT", "USDT", "USDC")
        rate_book = h.scanner.store.books["bybit", "USDC/USDT"]
        bid, ask = rate_book.best_bid(), rate_book.best_ask()
        assert 1 / ask * 0.999 <= conversion.mid <= 1 / bid * 1.001  # USDT -> USDC from the live book
        assert conversion.mid != 1.0 and h.unsafe == []

        h.sim.inject("bybit", "stall")  # the only conversion book goes silent
        await h.wait_for(lambda: not rate_book.is_usable(h.scanner.scheduler.monotonic()), timeout=10.0)
        waiting = await h.wait_for(lambda: h.metric("arbscan_pairs_waiting_for_rate"), timeout=5.0)
        assert waiting >= 2  # okx BTC/USDC against binance BTC/USDT, both ways (and the reverse quotes)
        before = len(h.events)
        h.sim.dislocate("okx", "BTC/USDC", -80.0, 3.0)
        await asyncio.sleep(1.0)
        assert not [e for e in h.events[before:] if e.type.value == "opportunity.opened"
                    and ">" in e.opportunity.key[0]]  # no cross-quote pair priced without a rate


async def test_the_demo_has_all_eight_exchanges_live_within_30_seconds(tmp_path):
    port = free_port()
    config = tmp_path / "demo.toml"
    config.write_text(f"[metrics]\nport = {port}\n")
    process = start_demo(config, "--symbols", "BTC/USDT,BTC/USDC,BTC/USD", "--duration", "60")
    try:
        async def all_up():
            return await metric_sum(port, "arbscan_feed_up{") == len(NAMES)
        for _ in range(300):
            if await all_up():
                break
            assert process.poll() is None, process.stderr.read().decode()
            await asyncio.sleep(0.1)
        assert await all_up()
        for name in NAMES:
            assert await metric_sum(port, f'arbscan_feed_up{{exchange="{name}"}}') == 1.0
            assert await metric_sum(port, f'arbscan_feed_info{{exchange="{name}",fidelity="native"}}') == 1.0
    finally:
        process.terminate()
        process.wait(timeout=10)
