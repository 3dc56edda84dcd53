"""Quotes priced through live stablecoin books (BTC/USDC against BTC/USDT), and pairs whose
base currencies the metadata calls different assets (ticker collisions)."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from scanner.checks import conversion_listings, listings
from scanner.config import Config, ScannerConfig
from scanner.engine.costs import CostModel
from scanner.engine.opportunity import EventType, TransferStatus
from scanner.engine.pricing import price_cross, top_rate
from scanner.engine.spread import BookStore, SpreadEngine
from scanner.metadata import AssetIdentity, ExchangeMetadata, Metadata, bundled_metadata
from scanner.publish.metrics import ScannerCollector
from tests.markets import spot, spot_book
from tests.oracle import oracle

ROUTE = (TransferStatus.OPEN, "BTC", D("0.0002"))
FEE, CONVERSION_FEE = "0.001", "0.001"
ASKS = [("60000", "0.5"), ("60010", "1"), ("60100", "1")]  # BTC/USDC, buy exchange
BIDS = [("60400", "0.3"), ("60300", "2")]  # BTC/USDT, sell exchange


def usdc_usdt(price: str) -> tuple[list, list]:
    """A USDC/USDT book around ``price``: two ask levels (the walk needs the second) and a bid."""
    ask = D(price)
    return [[str(ask - D("0.0002")), "50000"]], [[str(ask), "20000"], [str(ask + D("0.0005")), "500000"]]


def exact_cross(price: str) -> dict:
    """Decimal reference: size by the marginal rule at the conversion book's best rate after its
    fee, then buy USDC with the USDT proceeds (after the sell fee) on the asks, level by level."""
    bids, asks = usdc_usdt(price)
    fee = D(CONVERSION_FEE)
    rate = (1 - fee) / D(asks[0][0])
    trade = oracle(ASKS, [(str(D(p) * rate), q) for p, q in BIDS], FEE, FEE, "1e12")
    proceeds = trade["sell_vwap"] * trade["size"] / rate  # USDT
    amount = left = proceeds * (1 - D(FEE))
    got = D(0)
    for level_price, level_size in asks:
        spend = min(D(level_size) * D(level_price), left)
        got += spend / D(level_price)
        left -= spend
    mid = 2 / (D(bids[0][0]) + D(asks[0][0]))  # USDC per USDT
    received = got * (1 - fee)
    cost = trade["buy_vwap"] * trade["size"]
    transfer = ROUTE[2] * proceeds / trade["size"] * mid
    return {"size": trade["size"], "received": received, "conversion_cost": amount * mid - received,
            "rate": got / amount, "gross": proceeds * mid - cost,
            "net": received - cost * (1 + D(FEE)) - transfer}


def books(price: str, now: float = 100.0):
    buy = spot_book("okx", "BTC/USDC", 50)
    buy.load_snapshot([["59900", "1"]], [list(level) for level in ASKS], 1, 1, now)
    sell = spot_book("binance", "BTC/USDT", 50)
    sell.load_snapshot([list(level) for level in BIDS], [["60500", "1"]], 1, 1, now)
    conversion = spot_book("binance", "USDC/USDT", 50)
    conversion.load_snapshot(*usdc_usdt(price), 1, 1, now)
    return buy, sell, conversion


@pytest.mark.parametrize("price", ["0.9990", "1.0010"])
def test_btc_usdc_to_btc_usdt_matches_the_decimal_oracle_with_the_conversion_books_depth_and_fee(price):
    buy, sell, conversion = books(price)
    fee = float(CONVERSION_FEE)
    opp = price_cross(buy, sell, 0.001, 0.001, (ROUTE[0], ROUTE[1], float(ROUTE[2])), 1e12, 0.0,
                      [(conversion, fee)], top_rate(conversion, "USDT", fee))
    exact = exact_cross(price)
    c = opp.costs.conversion
    assert (c.exchange, c.symbol, c.source, c.target) == ("binance", "USDC/USDT", "USDT", "USDC")
    assert c.amount > 20000 * float(price)  # past the first ask level: the walk's depth counts
    for value, expected in [(opp.size, exact["size"]), (c.received, exact["received"]),
                            (c.cost, exact["conversion_cost"]), (c.rate, exact["rate"]),
                            (opp.costs.gross, exact["gross"]), (opp.net_profit, exact["net"])]:
        assert value == pytest.approx(float(expected), rel=1e-9)
    assert opp.symbol == "BTC/USDC>BTC/USDT"


def test_a_dearer_usdc_shrinks_the_trade_and_its_net():
    cheap, dear = exact_cross("0.9990"), exact_cross("1.0010")
    assert dear["size"] < cheap["size"] and dear["net"] < cheap["net"]


class Costs:
    def __init__(self, conflicts=None):
        self.conflicts = conflicts or {}

    def taker_fee(self, instrument):
        return 0.001

    def transfer(self, asset, src, dst):
        return (TransferStatus.OPEN, "BTC", 0.0002)

    def asset_conflict(self, asset, a, b):
        return self.conflicts.get(asset)


def cross_engine():
    store = BookStore({"okx": [spot("okx", "BTC/USDC")], "binance": [spot("binance", "BTC/USDT")]},
                      {"okx": 5.0, "binance": 5.0}, {"binance": [spot("binance", "USDC/USDT")]})
    engine = SpreadEngine(store, Costs(), ScannerConfig(symbols=["BTC/USDC", "BTC/USDT"]),
                          clock=lambda: 100.0, wall_clock=lambda: 1.7e9)
    return engine, store


def metric(engine, name: str) -> float:
    families = {f.name: f for f in ScannerCollector(engine, {}, clock=lambda: 100.0).families()}
    return sum(families[name].values)


def test_without_a_live_rate_the_pair_waits_and_is_never_priced_one_to_one():
    engine, store = cross_engine()
    store.books["okx", "BTC/USDC"].load_snapshot([["59900", "1"]], [list(a) for a in ASKS], 1, 1, 100.0)
    store.books["binance", "BTC/USDT"].load_snapshot([list(b) for b in BIDS], [["60500", "1"]], 1, 1, 100.0)
    assert engine.evaluate("BTC/USDT") == []
    assert engine.waiting == {("BTC/USDC>BTC/USDT", "okx", "binance"), ("BTC/USDT>BTC/USDC", "binance", "okx")}
    assert metric(engine, "arbscan_pairs_waiting_for_rate") == 2  # both directions of the pair
    store.books["binance", "USDC/USDT"].load_snapshot(*usdc_usdt("0.9990"), 1, 1, 100.0)
    events = engine.evaluate("USDC/USDT")  # the conversion book's change re-prices the pair
    assert [(e.type, e.opportunity.key) for e in events] == [
        (EventType.OPENED, ("BTC/USDC>BTC/USDT", "okx", "binance"))]
    assert events[0].opportunity.costs.as_dict()["conversion"]["symbol"] == "USDC/USDT"
    assert metric(engine, "arbscan_pairs_waiting_for_rate") == 0
    assert metric(engine, "arbscan_opportunity_conversion_rate") > 1.0


def test_the_stablecoin_books_are_kept_only_when_the_symbols_span_quotes():
    config = Config()
    config.scanner.symbols = ["BTC/USDT", "BTC/USDC"]
    for name in ("binance", "okx"):
        config.exchanges[name].enabled = True
    metadata = bundled_metadata()
    scanned = listings(config, metadata)
    added = conversion_listings(config, metadata, scanned)
    assert {ex: [i.symbol for i in found] for ex, found in added.items() if ex in ("binance", "okx")} == {
        "binance": ["USDC/USDT"], "okx": ["USDC/USDT"]}
    config.scanner.symbols = ["BTC/USDT"]
    assert conversion_listings(config, metadata, listings(config, metadata)) == {}


def collision_metadata() -> Metadata:
    def exchange(contract: str) -> ExchangeMetadata:
        return ExchangeMetadata({}, {}, 0.0, "test", assets={"XYZ": AssetIdentity("XYZ", {"ERC20": contract})})
    return Metadata({"a": exchange("0x1111"), "b": exchange("0x2222"), "c": exchange("0x1111")},
                    fetched_at=0.0, source="test")


def test_a_ticker_collision_is_skipped_never_an_opportunity():
    metadata = collision_metadata()
    store = BookStore({ex: [spot(ex, "XYZ/USDT")] for ex in "abc"}, dict.fromkeys("abc", 5.0))
    engine = SpreadEngine(store, CostModel(metadata, {}), ScannerConfig(symbols=["XYZ/USDT"]),
                          clock=lambda: 100.0, wall_clock=lambda: 1.7e9)
    store.books["a", "XYZ/USDT"].load_snapshot([["0.99", "1000"]], [["1.00", "1000"]], 1, 1, 100.0)
    store.books["b", "XYZ/USDT"].load_snapshot([["1.01", "1000"]], [["1.02", "1000"]], 1, 1, 100.0)
    assert engine.evaluate("XYZ/USDT") == []  # 1% apart, but b's XYZ is another token
    assert set(engine.skipped) == {("XYZ/USDT", x, y) for x, y in ("ab", "ba", "bc", "cb")}
    assert "0x1111" in engine.skipped["XYZ/USDT", "a", "b"]
    assert metric(engine, "arbscan_skipped_pairs") == 4
    store.books["c", "XYZ/USDT"].load_snapshot([["1.01", "1000"]], [["1.02", "1000"]], 1, 1, 100.0)
    assert [e.opportunity.key for e in engine.evaluate("XYZ/USDT")] == [("XYZ/USDT", "a", "c")]  # same contract


def test_asset_identity_survives_the_metadata_file():
    metadata = collision_metadata()
    again = Metadata.from_json(metadata.to_json(), "test")
    assert again.asset_conflict("XYZ", "a", "b") is not None and again.asset_conflict("XYZ", "a", "c") is None
