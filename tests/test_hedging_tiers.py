"""Maintenance tiers: where they come from (config override, metadata, built-in defaults), what a
config override does to ``arbscan hedge``'s liquidation price, the metadata round trip and the
refresh from ccxt (offline fakes), and one-line config errors."""
from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from scanner.cli import main
from scanner.config import HedgingConfig, TierConfig
from scanner.hedging.margin import Tier
from scanner.hedging.tiers import BUILTIN, DEFAULT_TIERS, tiers_for
from scanner.metadata import Metadata, bundled_metadata, load_metadata, refresh
from test_metadata import FakeExchanges, no_keys, okx_btc_derivative, okx_btc_usdt  # noqa: F401 (fixture)

PERP = "BTC/USDT:USDT"
INF = float("inf")


def hedging(**tables: list[TierConfig]) -> HedgingConfig:
    return HedgingConfig(tiers=dict(tables))


def test_config_override_beats_the_metadata_which_beats_the_defaults():
    md = bundled_metadata()
    specific = [TierConfig(symbol=PERP, floor=0, cap=None, mmr=0.02, max_leverage=20)]
    generic = [TierConfig(floor=0, cap=None, mmr=0.03, max_leverage=10)]
    chosen = tiers_for("binance", PERP, md, hedging(binance=generic + specific))
    assert chosen.origin == "config" and chosen.tiers == (Tier(0, INF, 0.02, 0.0, 20),)  # the symbol's own first
    assert tiers_for("binance", "ETH/USDT:USDT", md, hedging(binance=generic + specific)).tiers[0].mmr == 0.03
    from_metadata = tiers_for("binance", PERP, md, hedging(okx=generic))  # another exchange's override
    assert from_metadata.origin == "metadata (bundled 2025-06-01)"
    assert from_metadata.tiers == md.market("binance", PERP).tiers
    assert [(t.floor, t.cap, t.mmr, t.deduction) for t in from_metadata.tiers] == [
        (0, 50_000, 0.004, 0), (50_000, 250_000, 0.005, 50), (250_000, INF, 0.01, 1_300)]  # Binance FAQ's cum
    unknown = tiers_for("binance", "ZEC/USDT:USDT", md, HedgingConfig())  # no tiers in the metadata
    assert (unknown.origin, unknown.tiers) == (BUILTIN, DEFAULT_TIERS["binance"])
    assert tiers_for("okx", PERP, None, None).origin == BUILTIN


def test_a_missing_deduction_keeps_the_maintenance_margin_continuous():
    rows = [TierConfig(floor=0, cap=50_000, mmr=0.004), TierConfig(floor=50_000, cap=250_000, mmr=0.005),
            TierConfig(floor=250_000, mmr=0.01)]
    tiers = tiers_for("binance", PERP, None, hedging(binance=rows)).tiers
    assert [t.deduction for t in tiers] == [0, 50, 1_300]
    assert [t.deduction for t in tiers_for("okx", PERP, None, hedging(okx=rows)).tiers] == [0, 0, 0]  # OKX deducts none


def _liquidation(out: str) -> D:
    return D(out.split("liquidation")[1].split()[0].replace(",", ""))


def test_a_config_override_moves_the_liquidation_price_by_the_hand_calculated_amount(tmp_path, capsys):
    # Binance B2: short 1 BTC @ 60,000, 10x (WB 6,000); the notional at LP falls in tier 2
    argv = ["hedge", "--asset", "BTC", "--spot", "1", "--exchange", "binance", "--leverage", "10", "--price", "60000"]
    plain = tmp_path / "plain.toml"
    plain.write_text(f'[metadata]\ncache_path = "{tmp_path / "none.json"}"\n')  # the bundled snapshot
    assert main([*argv, "--config", str(plain)]) == 0
    before = capsys.readouterr().out
    assert f"{_liquidation(before):,}" == "65,721.39"  # (6000 + 50 + 60000) / (0.005 + 1)
    assert "tiers            metadata (bundled 2025-06-01)" in before

    override = tmp_path / "override.toml"
    override.write_text(plain.read_text() + (
        '[[hedging.tiers.binance]]\nsymbol = "BTC/USDT:USDT"\nfloor = 0\ncap = 50000\nmmr = 0.004\nmax_leverage = 125\n'
        '[[hedging.tiers.binance]]\nfloor = 50000\ncap = 250000\nmmr = 0.01\ndeduction = 300\nsymbol = "BTC/USDT:USDT"\n'
        '[[hedging.tiers.binance]]\nsymbol = "BTC/USDT:USDT"\nfloor = 250000\nmmr = 0.02\n'))
    assert main([*argv, "--config", str(override)]) == 0
    after = capsys.readouterr().out
    exact_before = (D(6000) + 50 + 60000) / (D("0.005") + 1)
    exact_after = (D(6000) + 300 + 60000) / (D("0.01") + 1)  # the overridden tier 2: MMR 1 %, cum 300
    assert _liquidation(after) == exact_after.quantize(D("0.01"))
    assert _liquidation(before) - _liquidation(after) == (exact_before - exact_after).quantize(D("0.01"))
    assert "tiers            config" in after and "maintenance 1.00%" in after

    assert main([*argv, "--json"]) == 0  # no config, no cache file there: where the tiers came from is said
    assert json.loads(capsys.readouterr().out)["tiers_origin"].startswith(("metadata", BUILTIN))


def test_metadata_round_trip_keeps_the_tiers_and_old_files_still_load(tmp_path):
    md = bundled_metadata()
    again = Metadata.from_json(md.to_json(), source="test")
    assert again.market("okx", PERP).tiers == md.market("okx", PERP).tiers
    assert again.market("okx", PERP).tiers[-1].cap == INF and again.market("okx", PERP).tiers[0].cap == 20  # base units
    assert again.market("binance", "BTC/USDT").tiers == ()  # spot: none
    doc = json.loads(md.to_json())
    for market in doc["exchanges"]["binance"]["markets"].values():
        market.pop("tiers", None)  # a file written before tiers existed
    old = Metadata.from_json(json.dumps(doc).encode(), source="old")
    assert old.market("binance", PERP).tiers == ()
    assert tiers_for("binance", PERP, old, HedgingConfig()).origin == BUILTIN


OKX_TIERS = [  # ccxt's unified OKX tiers: bounds in contracts (0.01 BTC each)
    {"tier": 1, "minNotional": 0, "maxNotional": 2000, "maintenanceMarginRate": 0.004, "maxLeverage": 100,
     "info": {"mmr": "0.004"}},
    {"tier": 2, "minNotional": 2001, "maxNotional": 5000, "maintenanceMarginRate": 0.006, "maxLeverage": 75,
     "info": {"mmr": "0.006"}},
]


async def test_refresh_takes_okx_tiers_in_base_units_and_keeps_the_previous_on_failure(tmp_path, no_keys):
    path = tmp_path / "metadata.json"
    markets = {"okx": [okx_btc_usdt(), okx_btc_derivative("swap", PERP, "BTC-USDT-SWAP")]}
    md = await refresh(["okx"], ["BTC/USDT", PERP], path, factory=FakeExchanges(markets, tiers={"okx": {PERP: OKX_TIERS}}))
    expected = (Tier(0, 20, 0.004, 0, 100), Tier(20, 50, 0.006, 0, 75))  # contiguous, contracts x 0.01 BTC
    assert md.errors == {} and md.market("okx", PERP).tiers == expected
    assert tiers_for("okx", PERP, load_metadata(path), None).origin.startswith("metadata (ccxt ")

    failing = FakeExchanges(markets, tiers={"okx": {PERP: [dict(OKX_TIERS[0], maintenanceMarginRate=None)]}})
    again = await refresh(["okx"], ["BTC/USDT", PERP], path, factory=failing)
    assert again.market("okx", PERP).tiers == expected  # kept
    assert "no maintenance tiers for BTC/USDT:USDT" in " ".join(again.warnings["okx"])


async def test_binance_tiers_need_keys_the_bundled_ones_are_kept_without(tmp_path, no_keys):
    market = dict(okx_btc_derivative("swap", PERP, "BTCUSDT"), contractSize=1.0)
    fakes = FakeExchanges({"binance": [market]}, tiers={"binance": {PERP: OKX_TIERS}})
    md = await refresh(["binance"], [PERP], tmp_path / "metadata.json", factory=fakes)
    assert fakes.tier_calls == []  # the signed endpoint is not tried without keys
    assert md.market("binance", PERP).tiers == bundled_metadata().market("binance", PERP).tiers
    assert "maintenance tiers need ARBSCAN_BINANCE_API_KEY" in " ".join(md.warnings["binance"])


@pytest.mark.parametrize("table, message", [
    ('[[hedging.tiers.kraken]]\nmmr = 0.01\n', "'hedging.tiers.kraken': unknown exchange"),
    ('[[hedging.tiers.binance]]\nmmr = 1.5\n', "'hedging.tiers.binance[0].mmr' must be between 0 and 1"),
    ('[[hedging.tiers.binance]]\ncap = 100\nmmr = 0.01\n[[hedging.tiers.binance]]\nfloor = 200\nmmr = 0.02\n',
     "'hedging.tiers.binance[1].floor' is 200, expected 100"),
    ('[[hedging.tiers.okx]]\ncap = 0\nmmr = 0.01\n', "'hedging.tiers.okx[0].cap' (0) must be over its floor (0)"),
    ('[[hedging.tiers.bybit]]\nsymbol = "BTC/USDT"\nmmr = 0.01\n', "is not a perpetual like 'BTC/USDT:USDT'"),
    ('[[hedging.tiers.bybit]]\nmmr = 0.01\n[[hedging.tiers.bybit]]\nfloor = 5\nmmr = 0.02\n',
     "only the last tier of a table may leave 'cap' out"),
])
def test_bad_tiers_are_one_line_each_and_exit_2(tmp_path, capsys, table, message):
    path = tmp_path / "bad.toml"
    path.write_text(table)
    argv = ["hedge", "--asset", "BTC", "--spot", "1", "--exchange", "binance", "--price", "60000", "--config", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
