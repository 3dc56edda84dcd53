"""Exchange metadata: bundled snapshot, transfer routes, cache file, and `refresh` driven by real
ccxt exchange classes whose network methods are replaced (no request ever leaves the process)."""
from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import logging
import time
from pathlib import Path

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from samples import DATA
from scanner.exchanges import NAMES
from scanner.cli import main
from scanner.exchanges import NAMES
from scanner.engine.costs import CostModel
from scanner.exchanges import NAMES
from scanner.engine.opportunity import TransferStatus
from scanner.instruments import Instrument, MarketType
from scanner.exchanges import NAMES
from scanner.metadata import (
    ExchangeMetadata, MarketInfo, Metadata, MetadataError, NetworkInfo, Status, TransferRoute, describe,
    load_metadata, refresh,
)

STATIC = DATA / "ccxt-static"
SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "scanner" / "data"
O, C, U = Status.OPEN, Status.CLOSED, Status.UNKNOWN
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT", "LTC/USDT", "LINK/USDT",
           "AVAX/USDT", "DOT/USDT", "USDC/USDT", "BTC/USDC", "ETH/USDC"]
ASSETS = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LTC", "LINK", "AVAX", "DOT", "USDT", "USDC"]


def static(name: str) -> dict:
    return json.loads((STATIC / name).read_text())


def meta(networks: dict[str, dict[str, list[tuple]]]) -> Metadata:
    """Metadata with only networks: {exchange: {asset: [(network, fee, withdraw, deposit)]}}."""
    data = {ex: ExchangeMetadata({}, {a: tuple(NetworkInfo(*n) for n in nets) for a, nets in assets.items()},
                                 0.0, "test")
            for ex, assets in networks.items()}
    return Metadata(data, fetched_at=0.0, source="test")


# --- bundled snapshot --------------------------------------------------------------------------

def test_bundled_snapshot_loads_when_there_is_no_cache(tmp_path):
    md = load_metadata(tmp_path / "absent.json")
    assert md.source == "bundled"
    assert {"binance", "okx", "bybit"} <= set(md.exchanges())
    for ex in ("binance", "okx", "bybit"):
        assert set(SYMBOLS) <= set(md.symbols(ex))
        assert md.taker_fee(ex, "BTC/USDT") == 0.001
        assert all(md.networks(ex, asset) for asset in ASSETS)
    btc = md.instrument("binance", "BTC/USDT")
    assert (btc.id, btc.base, btc.quote, btc.tick, btc.min_notional) == ("BTCUSDT", "BTC", "USDT", 0.01, 5.0)
    assert md.instrument("okx", "ETH/USDT").id == "ETH-USDT"
    assert md.market_by_id("okx", "ETH-USDT").instrument.symbol == "ETH/USDT"
    statuses = [(n.withdraw, n.deposit) for ex in md.exchanges() for a in ASSETS for n in md.networks(ex, a)]
    assert any(w is C for w, _ in statuses) and any(d is C for _, d in statuses)
    assert any(U in pair for pair in statuses)
    assert len((SNAPSHOT_DIR / "metadata.json").read_bytes()) < 100_000  # eight exchanges' universe, still small


def test_bundled_snapshot_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_snapshot", SNAPSHOT_DIR / "make_snapshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.snapshot().to_json() == (SNAPSHOT_DIR / "metadata.json").read_bytes()


def test_bundled_snapshot_exercises_open_blocked_and_unknown_routes(tmp_path):
    md = load_metadata(tmp_path / "absent.json")
    assert md.transfer_route("SOL", "binance", "okx") == TransferRoute("SOL", None, 0.0, C)  # okx SOL deposit closed
    assert md.transfer_route("ETH", "bybit", "binance") == TransferRoute("ETH", "ARBITRUM", 0.0001, O)  # BASE closed
    assert md.transfer_route("XRP", "binance", "bybit").status is U
    assert md.transfer_route("BTC", "okx", "binance") == TransferRoute("BTC", "BTC", 0.00017, O)


# --- transfer routes ---------------------------------------------------------------------------

def test_route_is_the_cheapest_network_open_on_both_sides():
    md = meta({"a": {"USDT": [("ERC20", 3.0, O, O), ("TRC20", 1.0, O, O), ("SOL", 0.5, O, O)]},
               "b": {"USDT": [("ERC20", 9.0, O, O), ("TRC20", 8.0, O, O)]}})
    # SOL is cheapest at a but b has no SOL network; the fee is the source's
    assert md.transfer_route("USDT", "a", "b") == TransferRoute("USDT", "TRC20", 1.0, O)
    assert md.transfer_route("USDT", "b", "a") == TransferRoute("USDT", "TRC20", 8.0, O)


def test_route_skips_withdrawal_closed_at_source_and_deposit_closed_at_destination():
    md = meta({"a": {"ETH": [("BASE", 0.00001, C, O), ("OP", 0.00002, O, O), ("ERC20", 0.001, O, O)]},
               "b": {"ETH": [("BASE", 0.0, O, O), ("OP", 0.0, O, C), ("ERC20", 0.0, O, O)]}})
    assert md.transfer_route("ETH", "a", "b") == TransferRoute("ETH", "ERC20", 0.001, O)


def test_open_route_beats_a_cheaper_unknown_one_and_unknown_beats_closed():
    md = meta({"a": {"X": [("N1", 0.1, U, O), ("N2", 0.5, O, O), ("N3", 0.05, C, O)]},
               "b": {"X": [("N1", 0, O, O), ("N2", 0, O, O), ("N3", 0, O, O)]},
               "c": {"X": [("N1", 0, O, O), ("N2", 0, O, U), ("N3", 0, O, O)]}})
    assert md.transfer_route("X", "a", "b") == TransferRoute("X", "N2", 0.5, O)
    # nothing open into c: the cheapest of the networks unknown on either side
    assert md.transfer_route("X", "a", "c") == TransferRoute("X", "N1", 0.1, U)


def test_route_is_closed_when_no_common_network_is_usable():
    md = meta({"a": {"X": [("N1", 0.1, C, O), ("N2", 0.2, O, O)]},
               "b": {"X": [("N1", 0.0, O, O), ("N3", 0.0, O, O)]}})
    assert md.transfer_route("X", "a", "b") == TransferRoute("X", None, 0.0, C)


def test_unknown_fee_ranks_after_known_and_is_never_priced_as_open():
    md = meta({"a": {"X": [("N1", None, O, O), ("N2", 0.3, O, O)], "Y": [("N1", None, O, O)]},
               "b": {"X": [("N1", 0, O, O), ("N2", 0, O, O)], "Y": [("N1", 0, O, O)]}})
    assert md.transfer_route("X", "a", "b") == TransferRoute("X", "N2", 0.3, O)
    assert md.transfer_route("Y", "a", "b") == TransferRoute("Y", "N1", 0.0, U)


def test_missing_network_data_on_either_side_is_unknown_not_closed():
    md = meta({"a": {"BTC": [("BTC", 0.0002, O, O), ("BEP20", 0.00001, C, O)]}, "b": {}})
    assert md.transfer_route("BTC", "a", "b") == TransferRoute("BTC", "BTC", 0.0002, U)
    assert md.transfer_route("BTC", "b", "a") == TransferRoute("BTC", None, 0.0, U)
    assert md.transfer_route("BTC", "a", "nowhere").status is U


def test_networks_are_matched_by_unified_code_across_exchanges():
    doc = json.loads(meta({"a": {"ETH": [("ARBONE", 0.0001, O, O), ("ERC20", 0.001, O, O)]},
                           "b": {"ETH": [("ARBITRUM", 0.0, O, O), ("OPTIMISM", 0.0, O, O)]}}).to_json())
    md = Metadata.from_json(json.dumps(doc).encode(), source="test")
    assert [n.network for n in md.networks("b", "ETH")] == ["ARBITRUM", "OP"]
    assert md.transfer_route("ETH", "a", "b") == TransferRoute("ETH", "ARBITRUM", 0.0001, O)


# --- cache file --------------------------------------------------------------------------------

def test_json_round_trip_and_merge(tmp_path):
    bundled = load_metadata(tmp_path / "absent.json")
    again = Metadata.from_json(bundled.to_json(), source="cache:x")
    assert again.data == bundled.data and again.source == "cache:x"
    other = meta({"okx": {"BTC": [("BTC", 1.0, C, C)]}, "new": {}})
    merged = bundled.merged(other)
    assert merged.networks("okx", "BTC") == [NetworkInfo("BTC", 1.0, C, C)]
    assert merged.symbols("okx") == [] and merged.symbols("binance") == bundled.symbols("binance")
    assert set(merged.exchanges()) == set(bundled.exchanges()) | {"new"}


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"version": 1, "fetched_at": 0, "exchanges": {"x": {}}}',
                                     b'{"version": 99}', b""])
def test_corrupt_cache_is_one_clear_line(tmp_path, content):
    path = tmp_path / "metadata.json"
    path.write_bytes(content)
    with pytest.raises(MetadataError) as info:
        load_metadata(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message and str(path) in message
    assert "arbscan markets refresh" in message and "delete" in message


def test_describe_shows_fees_in_bps_and_unknown_status(tmp_path):
    md = load_metadata(tmp_path / "absent.json")
    text = describe(md, exchange="bybit", asset="XRP")
    assert "XRP/USDT" in text and "10.0 bps" in text and "ETH/USDT" not in text
    assert "unknown  unknown" in text
    assert "no withdrawal network data" in describe(md, exchange="kraken")
    with pytest.raises(MetadataError, match="no metadata for exchange 'nope'"):
        describe(md, exchange="nope")


# --- refresh with real ccxt classes and fake network methods -----------------------------------

def binance_btc_usdt() -> dict:
    """The binance static market, converted from its old DECIMAL_PLACES precision to ticks."""
    market = static("markets/binance.BTC_USDT-excerpt.json")["BTC/USDT"]
    market["precision"] = {k: 10.0 ** -v for k, v in market["precision"].items()}
    return market


def okx_btc_usdt() -> dict:
    return {"id": "BTC-USDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "baseId": "BTC",
            "quoteId": "USDT", "type": "spot", "spot": True, "active": True,
            "precision": {"amount": 1e-8, "price": 0.1}, "limits": {"amount": {"min": 0.00001}, "cost": {}}}


def okx_currencies() -> dict:
    btc = static("currencies/okx.BTC-excerpt.json")["BTC"]
    usdt = {"id": "USDT", "code": "USDT", "networks": {  # flags the exchange did not report
        "TRC20": {"id": "USDT-TRC20", "network": "TRC20", "fee": 1.0, "deposit": None, "withdraw": None,
                  "active": None},
        "ERC20": {"id": "USDT-ERC20", "network": "ERC20", "fee": 3.0, "deposit": None, "withdraw": None,
                  "active": False}}}
    return {"BTC": btc, "USDT": usdt}


class FakeExchanges:
    """factory(name) -> a real ``ccxt.async_support`` exchange with fetch_markets / fetch_currencies /
    fetch_market_leverage_tiers replaced by offline data; fetch_currencies answers only with
    credentials, like the real ones; tiers not given (or given as an exception) fail."""

    def __init__(self, markets: dict[str, list[dict]], currencies: dict[str, dict] | None = None,
                 failing: dict[str, Exception] | None = None, tiers: dict[str, dict[str, object]] | None = None):
        self.markets, self.currencies, self.failing = markets, currencies or {}, failing or {}
        self.tiers = tiers or {}
        self.tier_calls: list[tuple[str, str]] = []
        self.closed: list[str] = []
        self.created: dict[str, ccxt_async.Exchange] = {}

    def __call__(self, name: str):
        ex = getattr(ccxt_async, name)()

        async def fetch_markets(params={}):
            if name in self.failing:
                raise self.failing[name]
            return copy.deepcopy(self.markets[name])

        async def fetch_currencies(params={}):
            return copy.deepcopy(self.currencies.get(name, {})) if ex.check_required_credentials(False) else {}

        async def fetch_market_leverage_tiers(symbol, params={}):
            self.tier_calls.append((name, symbol))
            answer = self.tiers.get(name, {}).get(symbol, ccxt.NetworkError("no tiers in this fake"))
            if isinstance(answer, Exception):
                raise answer
            return copy.deepcopy(answer)

        async def no_network(*args, **kwargs):
            raise AssertionError(f"{name} tried to reach the network")

        async def close():
            self.closed.append(name)

        ex.fetch_markets, ex.fetch_currencies, ex.fetch, ex.close = fetch_markets, fetch_currencies, no_network, close
        ex.fetch_market_leverage_tiers = fetch_market_leverage_tiers
        self.created[name] = ex
        return ex


@pytest.fixture
def no_keys(monkeypatch):
    for ex in ("BINANCE", "OKX", "BYBIT"):
        for suffix in ("API_KEY", "SECRET", "PASSWORD"):
            monkeypatch.delenv(f"ARBSCAN_{ex}_{suffix}", raising=False)


def okx_btc_derivative(kind: str, symbol: str, id_: str, **more) -> dict:
    return {"id": id_, "symbol": symbol, "base": "BTC", "quote": "USDT", "settle": "USDT", "baseId": "BTC",
            "quoteId": "USDT", "settleId": "USDT", "type": kind, "spot": False, "swap": kind == "swap",
            "future": kind == "future", "contract": True, "linear": True, "inverse": False, "contractSize": 0.01,
            "taker": 0.0005, "active": True, "precision": {"amount": 1.0, "price": 0.1},
            "limits": {"amount": {"min": 1.0}, "cost": {}}, **more}


async def test_refresh_builds_perpetual_and_delivery_instruments_from_ccxt(tmp_path, no_keys):
    expiry_ms = 1_798_185_600_000  # 2026-12-25T08:00:00Z
    fakes = FakeExchanges({"okx": [okx_btc_usdt(), okx_btc_derivative("swap", "BTC/USDT:USDT", "BTC-USDT-SWAP"),
                                   okx_btc_derivative("future", "BTC/USDT:USDT-261225", "BTC-USDT-261225",
                                                      expiry=expiry_ms)]})
    symbols = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USDT:USDT-261225"]
    md = await refresh(["okx"], symbols, tmp_path / "metadata.json", factory=fakes)
    assert md.errors == {} and md.symbols("okx") == symbols
    assert md.instrument("okx", "BTC/USDT:USDT") == Instrument(
        "okx", MarketType.PERP, "BTC", "USDT", "USDT", "BTC-USDT-SWAP", 0.01, 0.1, 1.0)
    future = load_metadata(tmp_path / "metadata.json").market("okx", "BTC/USDT:USDT-261225")
    assert (future.instrument.type, future.instrument.expiry, future.taker_fee) == (
        MarketType.DELIVERY, expiry_ms // 1000, 0.0005)  # a derivative's own fee, not the retail spot rate
    assert md.instrument("okx", "BTC/USDT").is_spot


async def test_refresh_maps_ccxt_structures_and_writes_the_cache(tmp_path, monkeypatch, caplog, no_keys):
    secrets = {"ARBSCAN_OKX_API_KEY": "key-123", "ARBSCAN_OKX_SECRET": "secret-456",
               "ARBSCAN_OKX_PASSWORD": "pass-789"}
    for var, value in secrets.items():
        monkeypatch.setenv(var, value)
    fakes = FakeExchanges({"binance": [binance_btc_usdt()], "okx": [okx_btc_usdt()]}, {"okx": okx_currencies()})
    path = tmp_path / "cache" / "metadata.json"
    caplog.set_level(logging.DEBUG)

    md = await refresh(["binance", "okx"], ["BTC/USDT", "ETH/USDT"], path, factory=fakes)

    assert md.errors == {} and md.source == "ccxt"
    assert sorted(fakes.closed) == ["binance", "okx"]
    assert fakes.created["binance"].options["fetchMarkets"]["types"] == ["spot"]
    assert md.market("binance", "BTC/USDT") == MarketInfo(
        Instrument.of("binance", "BTC/USDT", "BTCUSDT", tick=0.01, lot=0.00001, min_notional=5.0), 0.001, True)
    okx = md.market("okx", "BTC/USDT")
    assert fakes.created["okx"].markets["BTC/USDT"]["taker"] == 0.0015  # ccxt's static default ...
    assert (okx.instrument.id, okx.taker_fee, okx.instrument.tick, okx.instrument.min_notional) == (
        "BTC-USDT", 0.001, 0.1, None)  # ... not used
    assert md.symbols("okx") == ["BTC/USDT"] and "ETH/USDT" in " ".join(md.warnings["okx"])
    assert {n.network: (n.fee, n.withdraw, n.deposit) for n in md.networks("okx", "BTC")} == {
        "BTC": (0.00017, O, O), "BTCLIGHTNING": (0.000001, O, O), "OKTC": (0.0, C, O)}
    # flags reported as None are unknown; an inactive network without flags is closed
    assert {n.network: (n.withdraw, n.deposit) for n in md.networks("okx", "USDT")} == {
        "TRC20": (U, U), "ERC20": (C, C)}
    # binance without keys: no network data, so the previous (bundled) networks with unknown status
    assert md.networks("binance", "BTC") and all(
        n.withdraw is U and n.deposit is U for a in ("BTC", "USDT") for n in md.networks("binance", a))
    assert "no per-network data" in " ".join(md.warnings["binance"])

    cached = load_metadata(path)
    assert cached.source == f"cache:{path}" and cached.data == md.data
    assert "bybit" in cached.exchanges()  # merged into the bundled snapshot: nothing is lost
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    written = path.read_text() + caplog.text + repr(md.warnings)
    assert not any(secret in written for secret in secrets.values())


async def test_refresh_never_reports_open_without_an_open_flag(tmp_path, no_keys, monkeypatch):
    monkeypatch.setenv("ARBSCAN_BINANCE_API_KEY", "k")
    monkeypatch.setenv("ARBSCAN_BINANCE_SECRET", "s")
    btc = {"id": "BTC", "code": "BTC", "deposit": None, "withdraw": None, "networks": {
        "BTC": {"network": "BTC", "fee": 0.0002, "deposit": None, "withdraw": None, "active": True},
        "BSC": {"network": "BSC", "fee": None, "deposit": True, "withdraw": None, "active": None}}}
    usdt = {"id": "USDT", "code": "USDT", "withdraw": False, "deposit": None, "networks": {
        "TRX": {"network": "TRX", "fee": 1.0, "deposit": None, "withdraw": None}}}
    fakes = FakeExchanges({"binance": [binance_btc_usdt()]}, {"binance": {"BTC": btc, "USDT": usdt}})

    md = await refresh(["binance"], None, tmp_path / "m.json", factory=fakes)

    assert {n.network: (n.fee, n.withdraw, n.deposit) for n in md.networks("binance", "BTC")} == {
        "BTC": (0.0002, U, U), "BEP20": (None, U, O)}
    assert md.networks("binance", "USDT") == [NetworkInfo("TRC20", 1.0, C, U)]
    assert md.transfer_route("BTC", "binance", "okx").status is U


async def test_failing_exchange_keeps_its_previous_data_and_others_are_saved(tmp_path, no_keys):
    path = tmp_path / "metadata.json"
    first = await refresh(["binance", "okx"], ["BTC/USDT"], path,
                          factory=FakeExchanges({"binance": [binance_btc_usdt()], "okx": [okx_btc_usdt()]}))
    bybit_market = {**okx_btc_usdt(), "id": "BTCUSDT", "taker": 0.001, "limits": {"cost": {"min": 5}}}
    fakes = FakeExchanges({"bybit": [bybit_market]},
                          failing={"okx": ccxt.NetworkError("okx GET https://www.okx.com/api/v5/public/instruments"
                                                            " 503 Service Unavailable\n<html>")})

    second = await refresh(["okx", "bybit"], ["BTC/USDT"], path, factory=fakes)

    assert set(second.errors) == {"okx"} and "NetworkError" in second.errors["okx"]
    assert "\n" not in second.errors["okx"]
    assert sorted(fakes.closed) == ["bybit", "okx"]
    cached = load_metadata(path)
    assert cached.data["okx"] == first.data["okx"] and cached.data["binance"] == first.data["binance"]
    assert cached.instrument("bybit", "BTC/USDT").id == "BTCUSDT" and cached.symbols("bybit") == ["BTC/USDT"]


async def test_refresh_with_nothing_fetched_writes_nothing(tmp_path, no_keys):
    path = tmp_path / "metadata.json"
    md = await refresh(["no_such_exchange"], None, path)  # the default ccxt factory rejects it offline
    assert "unknown exchange" in md.errors["no_such_exchange"]
    assert not path.exists()


async def test_refresh_replaces_a_corrupt_cache(tmp_path, no_keys):
    path = tmp_path / "metadata.json"
    path.write_bytes(b"garbage")
    await refresh(["binance"], ["BTC/USDT"], path, factory=FakeExchanges({"binance": [binance_btc_usdt()]}))
    assert load_metadata(path).instrument("binance", "BTC/USDT").id == "BTCUSDT"


# --- status age --------------------------------------------------------------------------------

def cache_aged(path: Path, hours: float) -> Path:
    """The bundled snapshot written as a cache fetched ``hours`` ago (statuses as bundled)."""
    bundled = load_metadata(path.parent / "absent.json")
    fetched = time.time() - hours * 3600
    data = {name: dataclasses.replace(ex, fetched_at=fetched, source="ccxt") for name, ex in bundled.data.items()}
    path.write_bytes(Metadata(data, fetched_at=fetched, source="ccxt").to_json())
    return path


def test_a_status_older_than_the_limit_is_unknown_in_the_cost(tmp_path):
    cache = cache_aged(tmp_path / "metadata.json", hours=25)
    fresh = CostModel(load_metadata(cache, max_status_age_hours=48), {})
    stale_metadata = load_metadata(cache, max_status_age_hours=24)
    stale = CostModel(stale_metadata, {})
    assert fresh.transfer("BTC", "okx", "binance") == (TransferStatus.OPEN, "BTC", 0.00017)
    assert stale.transfer("BTC", "okx", "binance") == (TransferStatus.UNKNOWN, "BTC", 0.00017)  # fee kept
    assert stale.transfer("SOL", "binance", "okx")[0] is TransferStatus.UNKNOWN  # closed is no surer
    assert stale.taker_fee(stale_metadata.instrument("binance", "BTC/USDT")) == 0.001


def test_markets_show_gives_the_age_and_shows_an_old_status_as_unknown(tmp_path, capsys):
    cache = cache_aged(tmp_path / "metadata.json", hours=30)
    config = tmp_path / "arbscan.toml"
    config.write_text(f'[metadata]\ncache_path = "{cache}"\n')
    assert main(["markets", "show", "--config", str(config), "--exchange", "okx", "--asset", "BTC"]) == 0
    text = capsys.readouterr().out
    assert "okx (ccxt, fetched " in text and "30 h old)" in text
    assert "network status is 30 h old, over the 24 h limit: shown and used as unknown" in text
    btc = [line.split() for line in text.splitlines() if line.split()[:2] == ["BTC", "BTC"]]
    assert btc == [["BTC", "BTC", "0.00017", "unknown", "unknown"]]
    config.write_text(f'[metadata]\ncache_path = "{cache}"\nmax_status_age_hours = 36\n')
    assert main(["markets", "show", "--config", str(config), "--exchange", "okx", "--asset", "BTC"]) == 0
    text = capsys.readouterr().out
    assert "over the" not in text and ["BTC", "BTC", "0.00017", "open", "open"] in [l.split() for l in text.splitlines()]


def test_origin_says_where_the_metadata_is_from_how_old_and_what_counts_as_unknown(tmp_path):
    cache = cache_aged(tmp_path / "metadata.json", hours=30)
    assert load_metadata(cache, 24).origin().endswith(
        "(30 h old); network statuses older than 24 h count as unknown: binance, bitget, bybit, coinbase, gate, kraken, kucoin, okx "
        "(`arbscan markets refresh` updates them)")
    assert f"metadata from cache {cache}, fetched " in load_metadata(cache, 24).origin()
    assert load_metadata(cache, 48).origin().endswith("(30 h old); network statuses older than 48 h will count as unknown")
    assert load_metadata(tmp_path / "absent.json", 24).origin().startswith(
        "metadata from the bundled snapshot, fetched 2025-06-01 00:00 UTC")


@pytest.mark.parametrize("value", [0, -1.5])
def test_max_status_age_must_be_positive(tmp_path, value, capsys):
    config = tmp_path / "arbscan.toml"
    config.write_text(f"[metadata]\nmax_status_age_hours = {value}\n")
    assert main(["check-config", str(config)]) == 2
    assert "'metadata.max_status_age_hours' must be greater than 0" in capsys.readouterr().err
# --- `arbscan markets refresh`: what the user sees ---------------------------------------------

@pytest.fixture
def cli_cache(tmp_path, monkeypatch, no_keys):
    """The command's cache file, with ccxt replaced by offline fakes that refuse to be created
    unless the test installs them."""
    import scanner.metadata

    path = tmp_path / "cache" / "metadata.json"
    monkeypatch.setattr(scanner.metadata, "DEFAULT_CACHE_PATH", path)

    def no_ccxt(name):
        raise AssertionError(f"{name}: a network client was created")
    monkeypatch.setattr(scanner.metadata, "_ccxt_exchange", no_ccxt)
    return path


def test_refresh_says_cached_only_for_what_it_wrote(cli_cache, monkeypatch, capsys):
    import scanner.metadata
    from scanner.cli import main

    fakes = FakeExchanges({"binance": [binance_btc_usdt()]},
                          failing={"okx": ccxt.NetworkError("okx GET https://www.okx.com 503\n<html>")})
    monkeypatch.setattr(scanner.metadata, "_ccxt_exchange", fakes)

    assert main(["markets", "refresh", "--exchanges", "Binance,okx"]) == 0

    out, err = capsys.readouterr()
    assert out == f"metadata for binance cached in {cli_cache}\n"
    assert err == ("arbscan: okx: refresh failed, kept the previous data: NetworkError: okx GET"
                   " https://www.okx.com 503 <html>\n")
    assert load_metadata(cli_cache).instrument("binance", "BTC/USDT").id == "BTCUSDT"


def test_refresh_that_wrote_nothing_exits_1(cli_cache, monkeypatch, capsys):
    import scanner.metadata
    from scanner.cli import main
    from scanner.exchanges import NAMES

    fakes = FakeExchanges({}, failing={name: ccxt.ExchangeNotAvailable(f"{name} is down")
                                       for name in NAMES})
    monkeypatch.setattr(scanner.metadata, "_ccxt_exchange", fakes)

    assert main(["markets", "refresh"]) == 1  # the enabled exchanges

    out, err = capsys.readouterr()
    assert out == "" and "cached" not in err and not cli_cache.exists()
    assert err.splitlines() == [f"arbscan: {name}: refresh failed, kept the previous data: ExchangeNotAvailable:"
                                f" {name} is down" for name in NAMES]


def test_refresh_refuses_an_unsupported_exchange_before_any_network_call(cli_cache, capsys):
    from scanner.cli import main

    from scanner.exchanges import NAMES

    assert main(["markets", "refresh", "--exchanges", "okx,mtgox"]) == 2  # no_ccxt would raise
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'mtgox' is not supported (supported: {', '.join(NAMES)})" in err
    assert not cli_cache.exists()


def test_describe_filters_ignore_case_and_refuse_an_unknown_asset(tmp_path):
    md = load_metadata(tmp_path / "absent.json")
    assert describe(md, exchange="OKX", asset="sol") == describe(md, exchange="okx", asset="SOL")
    with pytest.raises(MetadataError, match="no market or network for asset 'NOPE' in the metadata of okx"):
        describe(md, exchange="okx", asset="nope")
