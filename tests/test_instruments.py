"""Unified symbols and instruments: worked examples, round trips, rejects, and what builds them."""
from __future__ import annotations

import pytest

from scanner.checks import unlisted
from scanner.config import symbol_problems
from scanner.instruments import Instrument, MarketType, Symbol, parse_symbol
from scanner.metadata import MarketInfo, Metadata, bundled_metadata

DEC_25_2026 = 1_798_156_800  # 2026-12-25T00:00:00Z


@pytest.mark.parametrize("text, parsed", [
    ("BTC/USDT", Symbol(MarketType.SPOT, "BTC", "USDT", None, None)),
    ("1000PEPE/USDC", Symbol(MarketType.SPOT, "1000PEPE", "USDC", None, None)),
    ("BTC/USDT:USDT", Symbol(MarketType.PERP, "BTC", "USDT", "USDT", None)),  # linear perpetual
    ("BTC/USD:BTC", Symbol(MarketType.PERP, "BTC", "USD", "BTC", None)),  # inverse perpetual
    ("BTC/USDT:USDT-261225", Symbol(MarketType.DELIVERY, "BTC", "USDT", "USDT", DEC_25_2026)),
])
def test_worked_examples_parse_and_round_trip(text, parsed):
    assert parse_symbol(text) == parsed
    instrument = Instrument.of("okx", text, "ID")
    assert instrument.symbol == text
    assert (instrument.type, instrument.base, instrument.quote, instrument.settle, instrument.expiry) == (
        parsed.type, parsed.base, parsed.quote, parsed.settle, parsed.expiry)


def test_a_delivery_symbol_names_the_expiry_day_whatever_the_hour():
    eight_am = DEC_25_2026 + 8 * 3600  # OKX and Binance quarterlies expire at 08:00 UTC
    future = Instrument("okx", MarketType.DELIVERY, "BTC", "USDT", "USDT", "BTC-USDT-261225", expiry=eight_am)
    assert future.symbol == "BTC/USDT:USDT-261225"


@pytest.mark.parametrize("text", [
    "BTCUSDT", "btc/usdt", "BTC-USDT", "BTC/USDT/ETH", "BTC/", "/USDT", "BTC/USDT:", "BTC/USDT:USDT-2612",
    "BTC/USDT:USDT-261225-60000-C", " BTC/USDT", "BCH/USDT-SWAP",
])
def test_anything_else_is_rejected_with_an_example_of_each_form(text):
    with pytest.raises(ValueError) as exc:
        parse_symbol(text)
    assert str(exc.value) == (f"{text!r} is not a unified symbol like 'BTC/USDT' (spot), 'BTC/USDT:USDT'"
                              " (perpetual) or 'BTC/USDT:USDT-261225' (delivery)")


def test_an_impossible_expiry_date_is_rejected():
    with pytest.raises(ValueError, match=r"'BTC/USDT:USDT-261345': '261345' is not an expiry date as YYMMDD"):
        parse_symbol("BTC/USDT:USDT-261345")


@pytest.mark.parametrize("fields, message", [
    (dict(type=MarketType.SPOT, settle="USDT"), "a spot market has no settle currency"),
    (dict(type=MarketType.PERP, settle=None), "a perp market needs a settle currency"),
    (dict(type=MarketType.PERP, settle="USDT", expiry=DEC_25_2026), "a delivery future needs an expiry"),
    (dict(type=MarketType.DELIVERY, settle="USDT"), "a delivery future needs an expiry"),
    (dict(type=MarketType.SPOT, settle=None, contract_size=0.0), "contract size must be positive"),
])
def test_inconsistent_instruments_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Instrument(exchange="x", base="BTC", quote="USDT", id="X", **fields)


def test_contracts_convert_to_base_units_linear_and_inverse():
    okx_swap = Instrument.of("okx", "BTC/USDT:USDT", "BTC-USDT-SWAP", contract_size=0.01)  # 0.01 BTC a contract
    inverse = Instrument.of("okx", "BTC/USD:BTC", "BTC-USD-SWAP", contract_size=100.0)  # 100 USD a contract
    spot = Instrument.of("okx", "BTC/USDT", "BTC-USDT")
    assert okx_swap.base_units(250, price=60_000.0) == pytest.approx(2.5)
    assert inverse.inverse and inverse.base_units(30, price=60_000.0) == pytest.approx(0.05)
    assert not spot.inverse and spot.base_units(0.3, price=60_000.0) == 0.3


def test_equal_instruments_hash_alike_and_differ_by_exchange():
    a, b = Instrument.of("okx", "BTC/USDT", "BTC-USDT"), Instrument.of("okx", "BTC/USDT", "BTC-USDT")
    assert a == b and hash(a) == hash(b) and len({a, b, Instrument.of("bybit", "BTC/USDT", "BTCUSDT")}) == 2


def test_config_accepts_unified_symbols_and_names_the_problem():
    assert symbol_problems(["BTC/USDT", "ETH/USDC", "BTC/USDT:USDT", "BTC/USDT:USDT-261225"]) == []
    assert symbol_problems(["btc-usdt"]) == [
        "'btc-usdt' is not a unified symbol like 'BTC/USDT' (spot), 'BTC/USDT:USDT' (perpetual)"
        " or 'BTC/USDT:USDT-261225' (delivery)"]


def test_the_bundled_metadata_builds_each_exchange_its_own_instrument():
    md = bundled_metadata()
    ids = {ex: md.instrument(ex, "ETH/USDT").id for ex in ("binance", "okx", "bybit")}
    assert ids == {"binance": "ETHUSDT", "okx": "ETH-USDT", "bybit": "ETHUSDT"}
    eth = md.instrument("binance", "ETH/USDT")
    assert (eth.type, eth.base, eth.quote, eth.settle, eth.contract_size) == (MarketType.SPOT, "ETH", "USDT", None, 1.0)
    assert md.instrument("binance", "NOPE/USDT") is None


def test_without_a_listing_the_exchange_feed_derives_the_id():
    assert [unlisted(ex, "X0011/USDT").id for ex in ("binance", "okx", "bybit")] == [
        "X0011USDT", "X0011-USDT", "X0011USDT"]
    assert unlisted("okx", "X0011/USDT").tick is None


def test_derivatives_round_trip_through_the_metadata_file():
    md = Metadata.from_json(bundled_metadata().to_json(), source="test")
    perp = Instrument.of("okx", "BTC/USDT:USDT", "BTC-USDT-SWAP", contract_size=0.01, tick=0.1, lot=1.0)
    future = Instrument("okx", MarketType.DELIVERY, "BTC", "USDT", "USDT", "BTC-USDT-261225", 0.01, 0.1, 1.0,
                        expiry=DEC_25_2026 + 8 * 3600)
    markets = md.data["okx"].markets
    markets.update({i.symbol: MarketInfo(i, 0.0005, True) for i in (perp, future)})
    again = Metadata.from_json(md.to_json(), source="test")
    assert again.instrument("okx", "BTC/USDT:USDT") == perp
    assert again.instrument("okx", "BTC/USDT:USDT-261225") == future
    assert again.market_by_id("okx", "BTC-USDT-261225").taker_fee == 0.0005

