"""Engine maths against the exact Decimal oracle, plus lifecycle, blocked and suspect cases."""
from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from scanner.config import Config, ScannerConfig
from scanner.engine.opportunity import EventType, TransferStatus
from scanner.engine.pricing import price_trade
from scanner.engine.spread import BookStore, SpreadEngine, comparable, transfer_leg
from scanner.instruments import Instrument
from tests.markets import spot, spot_book
from tests.oracle import oracle

OPEN_ROUTE = (TransferStatus.OPEN, "ERC20", 0.0005)


def book(exchange, bids, asks, now=100.0):
    b = spot_book(exchange, "ETH/USDT", 50)
    b.load_snapshot(bids, asks, 1, 1, now)
    return b


def assert_matches(opportunity, exact):
    assert opportunity is not None and exact is not None
    for field, value in [("size", opportunity.size), ("buy_vwap", opportunity.buy_price),
                         ("sell_vwap", opportunity.sell_price), ("gross", opportunity.costs.gross),
                         ("buy_fee", opportunity.costs.buy_fee), ("sell_fee", opportunity.costs.sell_fee),
                         ("transfer_fee", opportunity.costs.transfer_fee), ("net", opportunity.net_profit)]:
        assert value == pytest.approx(float(exact[field]), rel=1e-9, abs=1e-9), field


def test_hand_computed_trade_walks_two_levels_and_stops_at_the_first_unprofitable_one():
    # buy asks: 1 @ 2000, 2 @ 2001, 5 @ 2010; sell bids: 1.5 @ 2012, 3 @ 2008, 9 @ 2000
    buy = book("a", [["1990", "1"]], [["2000", "1"], ["2001", "2"], ["2010", "5"]])
    sell = book("b", [["2012", "1.5"], ["2008", "3"], ["2000", "9"]], [["2020", "1"]])
    opp = price_trade(buy, sell, 0.001, 0.001, OPEN_ROUTE, 1e9, 0.0)
    # 2012*(0.999) - 2000*1.001 = 8.0 > 0: take 1 @2000/2012; 0.5 @2001/2012;
    # 2008*0.999 = 2005.992 vs 2001*1.001 = 2003.001 > 0: take 1.5 @2001/2008;
    # next ask 2010*1.001 = 2012.01 > 2005.992: stop. size 3.
    assert opp.size == pytest.approx(3.0)
    cost = 2000 + 0.5 * 2001 + 1.5 * 2001
    proceeds = 1.5 * 2012 + 1.5 * 2008
    assert opp.costs.gross == pytest.approx(proceeds - cost)
    assert opp.costs.buy_fee == pytest.approx(cost * 0.001)
    assert opp.costs.transfer_fee == pytest.approx(0.0005 * proceeds / 3)
    assert opp.net_profit == pytest.approx(proceeds - cost - 0.001 * (cost + proceeds) - 0.0005 * proceeds / 3)
    assert (opp.buy_limit, opp.sell_limit) == (2001.0, 2008.0)


def test_notional_cap_limits_the_size():
    buy = book("a", [["1990", "1"]], [["2000", "10"]])
    sell = book("b", [["2100", "10"]], [["2110", "1"]])
    opp = price_trade(buy, sell, 0.001, 0.001, OPEN_ROUTE, 5000.0, 0.0)
    assert opp.size == pytest.approx(2.5) and opp.notional == pytest.approx(5000.0)
    assert_matches(opp, oracle([("2000", "10")], [("2100", "10")], "0.001", "0.001", 5000, D("0.0005")))


def test_no_trade_when_fees_eat_the_spread():
    buy = book("a", [["1990", "1"]], [["2000", "10"]])
    sell = book("b", [["2003", "10"]], [["2110", "1"]])  # 15 bps gross < 20 bps of fees
    assert price_trade(buy, sell, 0.001, 0.001, OPEN_ROUTE, 1e9, 0.0) is None


@pytest.mark.parametrize("seed", range(40))
def test_random_books_match_the_decimal_oracle(seed):
    rng = random.Random(seed)
    mid = rng.choice([0.35, 2.5, 150.0, 3000.0, 60000.0])
    tick = mid / 10000
    asks = [(f"{mid + tick * (i + rng.randint(0, 3)) * 3:.6f}", f"{rng.uniform(0.01, 5):.4f}") for i in range(20)]
    asks = sorted(dict(asks).items(), key=lambda level: float(level[0]))
    shift = mid * rng.uniform(0.0005, 0.01)  # the sell venue trades higher
    bids = [(f"{mid + shift - tick * (i + rng.randint(0, 3)) * 3:.6f}", f"{rng.uniform(0.01, 5):.4f}") for i in range(20)]
    bids = sorted(dict(bids).items(), key=lambda level: -float(level[0]))
    fee_b, fee_s = rng.choice([0.0005, 0.001, 0.002]), rng.choice([0.0005, 0.001])
    cap = rng.choice([500.0, 10_000.0, 1e7])
    transfer = rng.choice([0.0, 0.001, 0.05])
    buy = book("a", [[f"{mid - 1000 * tick:.6f}", "1"]], asks)
    sell = book("b", bids, [[f"{mid + shift + 1000 * tick:.6f}", "1"]])
    opp = price_trade(buy, sell, fee_b, fee_s, (TransferStatus.OPEN, "X", transfer), cap, 0.0)
    exact = oracle(asks, bids, str(fee_b), str(fee_s), str(cap), D(str(transfer)))
    if exact is None:
        assert opp is None
    else:
        assert_matches(opp, exact)


class FakeCosts:
    def __init__(self, fee=0.001, route=OPEN_ROUTE):
        self.fee, self.route = fee, route

    def taker_fee(self, instrument):
        return self.fee

    def transfer(self, asset, src, dst):
        return self.route

    def asset_conflict(self, asset, a, b):
        return None


def make_engine(route=OPEN_ROUTE, staleness=None, **config):
    store = BookStore({ex: [spot(ex, "ETH/USDT")] for ex in ("a", "b")}, staleness or {"a": 5.0, "b": 5.0})
    clock = [100.0]
    engine = SpreadEngine(store, FakeCosts(route=route), ScannerConfig(**config),
                          clock=lambda: clock[0], wall_clock=lambda: 1_700_000_000.0 + clock[0])
    return engine, store, clock


def set_book(store, exchange, bid, ask, size="5", now=100.0):
    store.books[exchange, "ETH/USDT"].load_snapshot([[bid, size]], [[ask, size]], 1, 1, now)


def test_lifecycle_opened_updated_closed_with_peak_and_duration():
    engine, store, clock = make_engine()
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    (opened,) = engine.evaluate("ETH/USDT")
    assert opened.type is EventType.OPENED and opened.opportunity.buy_exchange == "a"
    assert engine.opened_total["ETH/USDT", "a", "b"] == 1
    clock[0] = 101.0
    set_book(store, "b", "2015", "2016", now=101.0)
    (updated,) = engine.evaluate("ETH/USDT")
    assert updated.type is EventType.UPDATED and updated.id == opened.id
    assert updated.peak_net_profit == updated.opportunity.net_profit > opened.opportunity.net_profit
    clock[0] = 102.5
    set_book(store, "b", "2000.5", "2001", now=102.5)
    (closed,) = engine.evaluate("ETH/USDT")
    assert closed.type is EventType.CLOSED and closed.id == f"{opened.id}.closed"
    assert closed.duration == pytest.approx(2.5) and closed.peak_net_profit == updated.peak_net_profit
    assert engine.evaluate("ETH/USDT") == []


def test_only_markets_of_one_type_and_base_are_compared_and_only_spot_legs_transfer():
    eth_a, eth_b, btc_b = spot("a", "ETH/USDT"), spot("b", "ETH/USDT"), spot("b", "BTC/USDT")
    perp_a, perp_b = (Instrument.of(ex, "ETH/USDT:USDT", "ETH-USDT-SWAP") for ex in ("a", "b"))
    assert comparable(eth_a, eth_b) and comparable(perp_a, perp_b)
    assert not comparable(eth_a, perp_b) and not comparable(eth_a, btc_b)
    assert transfer_leg(FakeCosts(), eth_a, eth_b) == OPEN_ROUTE
    assert transfer_leg(FakeCosts(), perp_a, perp_b) == (TransferStatus.NONE, None, 0.0)


def test_perpetuals_on_two_exchanges_open_without_a_transfer_cost():
    perps = {ex: Instrument.of(ex, "ETH/USDT:USDT", "ETH-USDT-SWAP") for ex in ("a", "b")}
    store = BookStore({ex: [perp] for ex, perp in perps.items()}, {"a": 5.0, "b": 5.0})
    engine = SpreadEngine(store, FakeCosts(), ScannerConfig(), clock=lambda: 100.0, wall_clock=lambda: 1.7e9)
    store.books["a", "ETH/USDT:USDT"].load_snapshot([["1999", "5"]], [["2000", "5"]], 1, 1, 100.0)
    store.books["b", "ETH/USDT:USDT"].load_snapshot([["2010", "5"]], [["2011", "5"]], 1, 1, 100.0)
    (opened,) = engine.evaluate("ETH/USDT:USDT")
    opp = opened.opportunity
    assert (opp.buy_instrument, opp.sell_instrument) == (perps["a"], perps["b"])
    assert opp.costs.transfer_status is TransferStatus.NONE and opp.costs.transfer_fee == 0.0
    assert opp.net_profit == pytest.approx(5 * 10 - 0.001 * 5 * (2000 + 2010))


def test_stale_syncing_and_invalid_books_are_never_used():
    engine, store, clock = make_engine(staleness={"a": 2.0, "b": 2.0})
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    assert engine.evaluate("ETH/USDT")[0].type is EventType.OPENED
    clock[0] = 103.0  # both books now older than 2 s
    (closed,) = engine.sweep()
    assert closed.type is EventType.CLOSED and closed.close_reason == "book unusable"
    set_book(store, "a", "1999", "2000", now=103.0)
    store.books["b", "ETH/USDT"].reset()  # resyncing
    assert engine.evaluate("ETH/USDT") == []
    set_book(store, "b", "2010", "2011", now=103.0)
    store.books["b", "ETH/USDT"].apply_diff([["2012", "1"]], [], 2, 103.0)  # crossed -> invalid
    assert engine.evaluate("ETH/USDT") == []


def test_each_exchange_has_its_own_staleness_limit():
    config = Config()
    config.exchanges["binance"].staleness_seconds = 1.0
    assert config.staleness_seconds("binance") == 1.0 and config.staleness_seconds("okx") == 5.0
    engine, store, clock = make_engine(staleness={"a": 1.0, "b": 5.0})
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    clock[0] = 103.0  # a's book is 3 s old: within the default 5 s, beyond a's own 1 s
    assert engine.evaluate("ETH/USDT") == []
    set_book(store, "a", "1999", "2000", now=103.0)
    assert engine.evaluate("ETH/USDT")[0].type is EventType.OPENED  # b is 3 s old: fine for b
    clock[0] = 106.0
    set_book(store, "a", "1999", "2000", now=106.0)
    (closed,) = engine.evaluate("ETH/USDT")  # b is 6 s old
    assert closed.type is EventType.CLOSED and closed.close_reason == "book unusable"


def test_suspect_spread_is_counted_not_opened():
    engine, store, _ = make_engine(max_gross_bps=300.0)
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2100", "2101")  # 500 bps: implausible
    assert engine.evaluate("ETH/USDT") == []
    assert engine.evaluate("ETH/USDT") == []
    assert engine.suspects_total["ETH/USDT", "a", "b"] == 1 and not engine.open
    # the spread closes, then turns implausible again: a second episode
    set_book(store, "b", "1999", "2000")
    assert engine.evaluate("ETH/USDT") == [] and not engine.suspect
    set_book(store, "b", "2100", "2101")
    engine.evaluate("ETH/USDT")
    assert engine.suspects_total["ETH/USDT", "a", "b"] == 2


def test_blocked_transfer_is_marked_and_not_counted_as_actionable():
    engine, store, _ = make_engine(route=(TransferStatus.BLOCKED, None, 0.0))
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    (opened,) = engine.evaluate("ETH/USDT")
    assert opened.opportunity.blocked and opened.opportunity.costs.transfer_status is TransferStatus.BLOCKED
    assert engine.opened_total["ETH/USDT", "a", "b"] == 0 and engine.actionable() == []


def test_thresholds_in_quote_and_bps():
    engine, store, _ = make_engine(min_net_profit=1000.0)
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    assert engine.evaluate("ETH/USDT") == []  # net about 30 USDT on 5 ETH
    engine, store, _ = make_engine(min_net_bps=40.0)
    set_book(store, "a", "1999", "2000")
    set_book(store, "b", "2010", "2011")
    assert engine.evaluate("ETH/USDT") == []  # ~30 bps after fees


def test_transfer_cost_can_turn_a_spread_unprofitable():
    engine, store, _ = make_engine(route=(TransferStatus.OPEN, "ERC20", 0.02))
    set_book(store, "a", "1999", "2000", size="1")
    set_book(store, "b", "2010", "2011", size="1")
    # gross 10 - fees 4.01 = 5.99 < transfer 0.02 ETH * 2010 = 40.2
    assert engine.evaluate("ETH/USDT") == []
