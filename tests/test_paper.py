"""Paper execution: fills against hand-built books, latency, leg risk, transfers, the ledger's
conservation in Decimal, determinism, report and metrics."""
from __future__ import annotations

import csv
import random
import shutil
import subprocess
from decimal import Decimal as D
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from scanner.clock import VirtualScheduler
from scanner.config import ConfigError, ExchangeConfig, PaperConfig, ScannerConfig, parse_config
from scanner.engine import spread
from scanner.engine.costs import CostModel
from scanner.engine.opportunity import EventType
from scanner.engine.spread import BookStore, SpreadEngine
from scanner.metadata import ExchangeMetadata, MarketInfo, Metadata, NetworkInfo, Status
from scanner.paper import LedgerError, PaperTrader, report
from scanner.paper.fills import Liquidity, take
from scanner.paper.transfers import choose_route

SYMBOL = "BTC/USDT"
T0 = 1000.0  # monotonic start; the wall clock is 1.7e9 + (monotonic - T0)
O, C, U = Status.OPEN, Status.CLOSED, Status.UNKNOWN
NETWORKS = {
    # a -> b BTC: only "BTC" (BEP20 withdrawals closed at a); a -> b USDT: ERC20 (TRC20 deposits closed at b)
    "a": {"BTC": (NetworkInfo("BTC", 0.0002, O, O), NetworkInfo("BEP20", 0.00001, C, O)),
          "USDT": (NetworkInfo("TRC20", 1.0, O, O), NetworkInfo("ERC20", 3.0, O, O))},
    "b": {"BTC": (NetworkInfo("BTC", 0.0003, O, O), NetworkInfo("BEP20", 0.00001, O, O)),
          "USDT": (NetworkInfo("TRC20", 1.0, O, C), NetworkInfo("ERC20", 2.5, O, O))},
    "c": {},  # publishes no network data
}
BALANCES = {"a": {"USDT": 100_000.0, "BTC": 0.0}, "b": {"BTC": 1.0, "USDT": 0.0}}
A_BOOK = ([["59990", "1"]], [["60000", "1"], ["60010", "1"]])
B_BOOK = ([["60200", "1"], ["60190", "1"]], [["60210", "1"]])


def metadata(step: float | None = None, min_notional: float | None = None) -> Metadata:
    def exchange(name):
        market = MarketInfo(name, SYMBOL, "BTCUSDT", "BTC", "USDT", 0.001, None, step, min_notional, True)
        return ExchangeMetadata({SYMBOL: market}, dict(NETWORKS[name]), 0.0, "test")
    return Metadata({name: exchange(name) for name in NETWORKS}, fetched_at=0.0, source="test")


class Rig:
    """Books on exchanges a and b, the real engine and cost model, a paper trader on a virtual clock."""

    def __init__(self, path: Path, seed: int = 0, meta: Metadata | None = None, balances=None, **paper):
        self.sched = VirtualScheduler(start_wall=1.7e9, start_monotonic=T0)
        self.store = BookStore({"a": [SYMBOL], "b": [SYMBOL]}, {"a": 60.0, "b": 60.0})
        self.meta = meta or metadata()
        self.costs = CostModel(self.meta, {n: ExchangeConfig(taker_fee_bps=10) for n in ("a", "b")})
        settings = dict(enabled=True, ledger_path=str(path), latency_ms={"a": 100.0, "b": 200.0},
                        latency_jitter_ms=0.0, balances=balances or BALANCES, rebalance_threshold=0.0)
        self.config = PaperConfig(**{**settings, **paper})
        self.trader = PaperTrader(self.config, self.store, self.costs, self.meta, self.sched, seed=seed)
        self.trader.open()
        self.trader.start()
        self.engine = SpreadEngine(self.store, self.costs, ScannerConfig(symbols=[SYMBOL], notional_cap=1e9),
                                   clock=self.sched.monotonic, wall_clock=self.sched.wall)

    def book(self, exchange, bids, asks):
        self.store.books[exchange, SYMBOL].load_snapshot(bids, asks, 1, 1, self.sched.monotonic())

    def evaluate(self):
        events = self.engine.evaluate(SYMBOL)
        for event in events:
            self.trader.on_event(event)
        return events

    def at(self, seconds: float):
        """Run the clock to ``seconds`` after the start."""
        self.sched.advance(T0 + seconds)

    def rows(self, sql, *args):
        return self.trader.ledger.conn.execute(sql, args).fetchall()

    def order(self, suffix):
        (row,) = self.rows("SELECT status, filled, quote, fee, reason, exchange FROM orders WHERE id LIKE ?", f"%{suffix}")
        return {"status": row[0], "filled": D(row[1]), "quote": D(row[2]), "fee": D(row[3]), "reason": row[4],
                "exchange": row[5]}

    def balance(self, exchange, asset):
        return self.trader.ledger.balance(exchange, asset)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path / "ledger.sqlite")
    r.book("a", *A_BOOK)
    r.book("b", *B_BOOK)
    yield r
    r.trader.close()


def opened(rig, kind=EventType.OPENED):
    (event,) = rig.evaluate()
    assert event.type is kind
    return event


# --- fills -----------------------------------------------------------------------------------------

def test_take_walks_levels_up_to_the_limit_in_decimal():
    asks = [(100.5, 0.3), (100.7, 0.25), (101.0, 5.0)]
    fill = take(iter(asks), D("1"), 100.7, True, {})
    assert fill.qty == D("0.55") and fill.quote == D("0.3") * D("100.5") + D("0.25") * D("100.7")
    assert fill.levels == ((D("100.5"), D("0.3")), (D("100.7"), D("0.25")))
    bids = [(99.9, 0.1), (99.5, 2.0)]
    assert take(iter(bids), D("0.05"), 99.0, False, {}).quote == D("4.995")
    assert take(iter(bids), D("1"), 100.0, False, {}).qty == 0  # the best bid is below the limit


def test_market_buy_stays_within_its_budget():
    fill = take(iter([(100.0, 1.0), (200.0, 1.0)]), D("2"), None, True, {}, budget=D("150"))
    assert fill.qty == D("1.25") and fill.quote == D("150")


def test_own_fills_stay_taken_from_a_level_until_the_exchange_removes_it(rig):
    book = rig.store.books["a", SYMBOL]
    liquidity = Liquidity()
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("0.7"), 60000.0, True, used).qty == D("0.7")
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("0.7"), 60000.0, True, used).qty == D("0.3")  # what is left at 60000
    book.apply_diff([], [["60010", "2"]], 2, T0)  # another level changed: 60000 is still taken
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("1"), 60000.0, True, used).qty == 0
    book.apply_diff([], [["60000", "0.9"]], 3, T0)  # 0.1 cancelled: what we took is still gone
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("1"), 60000.0, True, used).qty == 0
    book.apply_diff([], [["60000", "1.5"]], 4, T0)  # 0.6 added behind us: only that is there
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("1"), 60000.0, True, used).qty == D("0.5")
    book.apply_diff([], [["60000", "0"]], 5, T0)  # the level is gone ...
    liquidity.used(book, True)
    book.apply_diff([], [["60000", "0.8"]], 6, T0)  # ... and back: new liquidity
    side, used = liquidity.used(book, True)
    assert take(side.levels(), D("1"), 60000.0, True, used).qty == D("0.8")



def test_an_asset_is_valued_only_at_prices_in_the_reporting_currency(tmp_path):
    sched = VirtualScheduler(start_wall=1.7e9, start_monotonic=T0)
    symbols = ["BTC/USDT", "ETH/USDT", "BTC/USDC"]  # BTC/USDC is written last
    store = BookStore({"a": symbols, "b": symbols}, {"a": 60.0, "b": 60.0})
    for (_, symbol), book in store.books.items():
        mid = 60000 if symbol.startswith("BTC") else 3000
        book.load_snapshot([[str(mid - 10), "1"]], [[str(mid + 10), "1"]], 1, 1, T0)
    meta = metadata()
    costs = CostModel(meta, {n: ExchangeConfig(taker_fee_bps=10) for n in ("a", "b")})
    config = PaperConfig(enabled=True, ledger_path=str(tmp_path / "l.sqlite"), rebalance_threshold=0.0,
                         balances={"a": {"USDT": 60000.0}, "b": {"BTC": 1.0}})
    trader = PaperTrader(config, store, costs, meta, sched)
    trader.open()
    assert trader.currency == "USDT" and trader.pnl() == 0
    trader.ledger.balances["b", "BTC"] = D("0.5")  # half the BTC gone: PnL sees it at the USDT mid
    assert trader.pnl() == D(-30000)


# --- trades ----------------------------------------------------------------------------------------

def test_both_legs_fill_in_full_at_their_limits(rig):
    event = opened(rig)  # the market: 2 BTC up to 60010 / 60190; b holds 1 BTC to sell
    assert (event.opportunity.size, event.opportunity.buy_limit, event.opportunity.sell_limit) == (2.0, 60010.0, 60190.0)
    orders = rig.rows("SELECT side, qty, limit_price, status FROM orders ORDER BY side")
    assert [(side, D(qty), D(limit), status) for side, qty, limit, status in orders] == [
        ("buy", 1, 60000, "sent"), ("sell", 1, 60200, "sent")]  # its own size: the books walked again
    rig.at(0.25)
    buy, sell = rig.order(".buy"), rig.order(".sell")
    assert (buy["status"], buy["filled"], buy["quote"], buy["fee"]) == ("filled", 1, D("60000"), D("60"))
    assert (sell["status"], sell["filled"], sell["quote"], sell["fee"]) == ("filled", 1, D("60200"), D("60.2"))
    assert rig.balance("a", "USDT") == D("100000") - D("60060") and rig.balance("a", "BTC") == 1
    assert rig.balance("b", "BTC") == 0 and rig.balance("b", "USDT") == D("60139.8")
    ((status, predicted, realised),) = rig.rows("SELECT status, predicted, realised FROM trades")
    assert status == "done" and D(realised) == D("79.8")
    assert D(predicted) == D("79.8")  # 200 - 120.2 fees at the size sent, as realised: transfers apart


def test_each_leg_fills_against_the_book_as_it_is_when_it_arrives(rig):
    opened(rig)
    rig.at(0.05)
    rig.book("a", [["59940", "1"]], [["59950", "0.5"], ["60000", "1"]])  # better ask appeared during latency
    rig.at(0.15)  # a's leg (100 ms) has arrived, b's (200 ms) not yet
    buy = rig.order(".buy")
    assert buy["filled"] == 1 and buy["quote"] == D("0.5") * 59950 + D("0.5") * 60000
    assert rig.order(".sell")["status"] == "sent"
    rig.at(0.25)
    assert rig.order(".sell")["status"] == "filled"


def test_a_leg_misses_when_the_book_moved_past_its_limit_and_the_residual_is_closed_at_a_loss(rig):
    opened(rig)
    rig.book("b", [["59950", "2"]], [["59960", "2"]])  # b's bids fell below the sell limit 60200
    rig.at(0.25)
    sell = rig.order(".sell")
    assert sell["status"] == "missed" and sell["filled"] == 0 and "limit" in sell["reason"]
    ((asset, qty, status),) = rig.rows("SELECT asset, qty, status FROM residuals")
    assert (asset, D(qty), status) == ("BTC", 1, "open")
    assert ("BTC/USDT", "a", "b") in rig.trader._busy
    rig.at(0.25 + 0.5 + 0.1)  # close delay, then a's latency: a's bid 59990 beats b's 59950
    close = rig.order(".close1")
    assert (close["exchange"], close["filled"], close["quote"], close["fee"]) == ("a", 1, D("59990"), D("59.99"))
    ((status, pnl),) = rig.rows("SELECT status, pnl FROM residuals")
    assert status == "closed" and D(pnl) == -D("60060") + D("59990") - D("59.99")
    ((realised,),) = rig.rows("SELECT realised FROM trades")
    assert D(realised) == D(pnl)  # nothing matched: the whole trade is the residual's round trip
    assert rig.balance("a", "BTC") == 0 and rig.trader.totals.leg_failures == 1
    assert not rig.trader._busy


def test_partial_fill_leaves_a_residual_closed_on_the_better_book_without_reusing_taken_size(rig):
    event = opened(rig)
    rig.book("b", [["60200", "0.4"], ["60100", "1"]], [["60210", "1"]])
    rig.at(0.25)
    assert rig.order(".sell")["status"] == "partial" and rig.order(".sell")["filled"] == D("0.4")
    rig.at(1.0)  # close goes to b (best bid 60200 shown), whose 60200 level this trader already took
    close = rig.order(".close1")
    assert (close["exchange"], close["filled"], close["quote"]) == ("b", D("0.6"), D("0.6") * 60100)
    basis = -D("60060") * D("0.6")
    ((pnl,),) = rig.rows("SELECT pnl FROM residuals")
    assert D(pnl) == basis + D("36060") - D("36.06")
    ((predicted, realised),) = rig.rows("SELECT predicted, realised FROM trades")
    assert D(realised) == -D("60060") + (D("24080") - D("24.08")) + (D("36060") - D("36.06"))
    assert event.opportunity.size == 2.0 and D(predicted) == (D("200") - D("60") - D("60.2")) * D("0.4")  # sized to 1 BTC


def test_a_leg_misses_on_a_book_that_is_resyncing_at_arrival(rig):
    opened(rig)
    rig.store.books["b", SYMBOL].reset()
    rig.at(0.25)
    assert rig.order(".sell")["status"] == "missed" and rig.order(".sell")["reason"] == "book unusable"
    rig.at(1.0)
    assert rig.order(".close1")["exchange"] == "a"  # b is unusable


def test_hold_policy_keeps_the_residual_at_its_mark(tmp_path):
    rig = Rig(tmp_path / "l.sqlite", leg_risk="hold")
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    rig.book("b", [["60100", "2"]], [["60110", "2"]])
    rig.at(0.25)
    ((status, pnl),) = rig.rows("SELECT status, pnl FROM residuals")
    mark = (D("59990") + D("60000") + D("60100") + D("60110")) / 4  # mean mid of a and b at the sell's arrival
    assert status == "held" and D(pnl) == -D("60060") + mark
    assert rig.balance("a", "BTC") == 1 and not rig.rows("SELECT * FROM orders WHERE role = 'close'")
    rig.trader.close()


def test_thresholds_duplicates_and_pairs_in_flight(rig):
    rig.trader.config.min_net_profit = 1000.0
    assert rig.evaluate()[0].type is EventType.OPENED and not rig.rows("SELECT * FROM trades")
    rig.trader.config.min_net_profit = 0.0
    rig.book("b", [["60205", "1"], ["60190", "1"]], [["60215", "1"]])
    updated = opened(rig, EventType.UPDATED)
    assert len(rig.rows("SELECT * FROM trades")) == 1
    rig.trader.on_event(updated)  # the same event again, and the pair is in flight
    rig.at(0.5)
    rig.trader.on_event(updated)  # settled now, but this event was traded
    assert len(rig.rows("SELECT * FROM trades")) == 1


def test_paper_sizes_from_the_quote_free_over_the_fee_and_the_base_free_with_in_flight_orders_reserved(tmp_path):
    rig = Rig(tmp_path / "l.sqlite", balances={"a": {"USDT": 30030.0}, "b": {"BTC": 3.0}})
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    (event,) = rig.engine.evaluate(SYMBOL)
    market = event.opportunity  # 2 BTC, whatever paper holds
    sized = rig.trader.sized(market)  # 30030 USDT buys 1/2 BTC at 60000 with the 10 bps fee
    assert (sized.size, sized.buy_limit, sized.sell_limit) == (pytest.approx(0.5), 60000.0, 60200.0)
    assert sized.net_profit == pytest.approx(0.5 * (60200 - 60000) - 30 - 30.1 - sized.costs.transfer_fee)
    rig.trader.on_event(event)
    assert rig.trader.sized(market) is None  # all of a's USDT is reserved by the buy in flight
    rig.at(0.25)
    rig.trader.ledger.balances["a", "USDT"] = D("1e9")
    assert rig.trader.sized(market) is market  # the market fits: its size as reported
    rig.trader.close()


def test_order_size_is_rounded_down_to_the_lot_step_and_checked_against_the_minimum_notional(tmp_path):
    balances = {"a": {"USDT": 100_000.0}, "b": {"BTC": 0.51234}}
    rig = Rig(tmp_path / "l.sqlite", meta=metadata(step=0.001), balances=balances)
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    ((qty,),) = rig.rows("SELECT qty FROM trades")
    assert D(qty) == D("0.512")
    rig.trader.close()
    rig = Rig(tmp_path / "m.sqlite", meta=metadata(min_notional=40_000.0), balances=balances)
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    assert not rig.rows("SELECT * FROM trades")  # 0.51234 BTC is about 30700 USDT
    rig.trader.close()


# --- transfers -------------------------------------------------------------------------------------

def test_route_is_the_cheapest_open_network_and_closed_ones_are_refused():
    meta = metadata()
    assert choose_route(meta, "BTC", "a", "b", False).network == "BTC"  # BEP20 is cheaper but closed at a
    assert choose_route(meta, "BTC", "b", "a", False).network == "BEP20"
    assert choose_route(meta, "USDT", "a", "b", False).network == "ERC20"  # TRC20 deposits closed at b
    assert choose_route(meta, "BTC", "a", "c", False) is None  # c publishes nothing: unknown
    assert choose_route(meta, "BTC", "a", "c", True).network == "BTC"
    assert choose_route(meta, "BTC", "c", "a", True) is None  # no network known at the source


def test_rebalancing_pays_the_fee_and_keeps_funds_in_transit_for_the_network_time(tmp_path):
    rig = Rig(tmp_path / "l.sqlite", rebalance_threshold=0.5, transfer_seconds={"BTC": 600.0})
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    market = opened(rig).opportunity
    rig.at(0.25)  # b sold its only BTC: a (1 BTC, target 0) sends it back (and b sends a USDT)
    ((asset, src, dst, network, amount, fee, fee_quote, sent, arrive, status),) = rig.rows(
        "SELECT asset, src, dst, network, amount, fee, fee_quote, sent_at, arrive_at, status FROM transfers "
        "WHERE asset = 'BTC'")
    assert (asset, src, dst, network, D(amount), D(fee), status) == ("BTC", "a", "b", "BTC", 1, D("0.0002"), "in_transit")
    assert arrive - sent == 600.0 and D(fee_quote) == D("0.0002") * (D("60000") + D("60200")) / 2
    assert rig.balance("a", "BTC") == 0 and rig.balance("b", "BTC") == 0
    assert rig.trader.sized(market) is None  # nothing to sell until it lands
    rig.at(599.0)
    assert rig.balance("b", "BTC") == 0
    rig.at(601.0)
    assert rig.balance("b", "BTC") == D("0.9998")
    assert rig.rows("SELECT status FROM transfers WHERE asset = 'BTC'") == [("done",)]
    rig.trader.close()


def test_no_transfer_without_an_open_route(tmp_path):
    balances = {"a": {"USDT": 100_000.0, "BTC": 0.0}, "b": {"BTC": 1.0}}
    meta = metadata()
    meta.data["a"].networks["BTC"] = (NetworkInfo("BTC", 0.0002, C, O),)
    rig = Rig(tmp_path / "l.sqlite", meta=meta, balances=balances, rebalance_threshold=0.5)
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    rig.at(10.0)
    assert rig.rows("SELECT * FROM transfers") == []
    rig.trader.close()


# --- ledger ----------------------------------------------------------------------------------------

def scenario(rig: Rig, rounds: int, seed: int) -> None:
    """Random books on both exchanges, some moving during latency; the engine trades them."""
    rng = random.Random(seed)
    t = 0.0
    for _ in range(rounds):
        mid = 60000 + rng.randint(-50, 50) * 10
        for exchange, shift in (("a", 0), ("b", rng.choice([0, 100, 250]))):
            bids = [[str(mid + shift - 5 - 10 * i), f"{rng.uniform(0.05, 0.6):.3f}"] for i in range(4)]
            asks = [[str(mid + shift + 5 + 10 * i), f"{rng.uniform(0.05, 0.6):.3f}"] for i in range(4)]
            rig.book(exchange, bids, asks)
        rig.evaluate()
        t += 0.15
        rig.at(t)
        if rng.random() < 0.4:  # the rich side falls back during latency
            rig.book("b", [[str(mid - 15), "3"]], [[str(mid - 5), "3"]])
        t += rng.choice([0.1, 0.7, 2.0])
        rig.at(t)
    rig.sched.drain()


def recomputed_balances(rig: Rig, start) -> dict:
    """Per exchange and asset: initial + fills - trading fees - transfers out + transfers landed (net of fee)."""
    expected = {(ex, asset): D(repr(v)) for ex, assets in start.items() for asset, v in assets.items()}
    for exchange, side, filled, quote, fee in rig.rows("SELECT exchange, side, filled, quote, fee FROM orders"):
        sign = 1 if side == "buy" else -1
        expected[exchange, "BTC"] += sign * D(filled)
        expected[exchange, "USDT"] -= sign * D(quote) + D(fee)
    for asset, src, dst, amount, fee, status in rig.rows("SELECT asset, src, dst, amount, fee, status FROM transfers"):
        expected[src, asset] -= D(amount)
        if status == "done":
            expected[dst, asset] += D(amount) - D(fee)
    return expected


def test_every_amount_is_conserved_in_decimal(tmp_path):
    balances = {"a": {"USDT": 50_000.0, "BTC": 0.5}, "b": {"BTC": 0.5, "USDT": 50_000.0}}
    rig = Rig(tmp_path / "l.sqlite", balances=balances, rebalance_threshold=0.6, latency_jitter_ms=30.0,
              transfer_seconds={"BTC": 5.0, "ERC20": 5.0, "TRC20": 5.0, "BEP20": 5.0})
    scenario(rig, 40, seed=3)
    trades = rig.rows("SELECT id, status, realised FROM trades")
    transfers = rig.rows("SELECT asset, src, dst, amount, fee, status FROM transfers")
    assert len(trades) > 5 and rig.rows("SELECT count(*) FROM residuals")[0][0] > 0 and transfers
    assert all(status == "done" for _, status, _ in trades) and all(t[5] == "done" for t in transfers)
    assert rig.trader.ledger.balances == recomputed_balances(rig, balances)
    # valued at one set of prices, the change of all holdings is the realised profit minus transfer fees
    pnl = rig.trader.pnl()  # values at the current mids
    price = {"USDT": D(1), "BTC": rig.trader.marks["BTC"][1]}
    change = sum((amount - D(repr(balances[ex][asset]))) * price[asset]
                 for (ex, asset), amount in rig.trader.ledger.balances.items())
    realised = sum(D(r) for _, _, r in trades)
    fees = sum(D(fee) * price[asset] for asset, _, _, _, fee, _ in transfers)
    assert change == realised - fees == pnl


def test_the_same_books_and_events_give_the_same_ledger(tmp_path, monkeypatch):
    def run(name, seed):
        ids = iter(range(10**6))
        monkeypatch.setattr(spread.uuid, "uuid4", lambda: type("U", (), {"hex": f"e{next(ids)}"})())
        rig = Rig(tmp_path / name, seed=seed, latency_jitter_ms=80.0, rebalance_threshold=0.6)
        scenario(rig, 25, seed=11)
        dump = {table: rig.rows(f"SELECT * FROM {table} ORDER BY 1")
                for table in ("balances", "trades", "orders", "fills", "residuals", "transfers", "marks")}
        rig.trader.close()
        return dump

    first = run("one.sqlite", 5)
    assert first["trades"] and first == run("two.sqlite", 5)
    assert first["orders"] != run("three.sqlite", 6)["orders"]  # other jitter, other arrival times


def test_restart_keeps_balances_and_counters_and_refuses_events_already_traded(tmp_path, caplog):
    path = tmp_path / "l.sqlite"
    rig = Rig(path)
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    event = opened(rig)
    rig.at(1.0)
    balances, totals = dict(rig.trader.ledger.balances), rig.trader.totals
    rig.trader.close()
    again = Rig(path, balances={"a": {"USDT": 1.0}})  # starting balances apply on the first run only
    assert again.trader.ledger.balances == balances and again.trader.totals == totals
    assert "[paper] balances apply to a new ledger only" in caplog.text
    again.trader.on_event(event)
    assert len(again.rows("SELECT * FROM trades")) == 1
    again.trader.close()


# --- report and metrics ----------------------------------------------------------------------------

def test_report_text_and_csv_match_the_ledger(tmp_path):
    rig = Rig(tmp_path / "l.sqlite", rebalance_threshold=0.5, transfer_seconds={"BTC": 5.0})
    rig.book("a", *A_BOOK)
    rig.book("b", *B_BOOK)
    opened(rig)
    rig.at(0.25)  # full fill, then BTC goes back to b
    rig.at(10.0)
    rig.book("a", [["59990", "1"]], [["60000", "2"]])  # a level this trader took from must change to count again
    rig.book("b", [["60300", "0.5"]], [["60310", "1"]])
    opened(rig, EventType.UPDATED)
    rig.book("b", [["59900", "1"]], [["59910", "1"]])  # second trade: the sell misses
    rig.at(20.0)
    pnl = rig.trader.pnl()
    rig.trader.close()
    text = report(rig.config.ledger_path, tmp_path / "trades.csv")
    assert f"PnL, marked to market   {pnl:+,.2f} USDT" in text
    assert "trades                  2   fill ratio 83.3% of ordered size" in text  # (1 + 1 + 0.5 + 0) / 3
    assert "leg failures            1 (50.0% of trades), residual PnL -65.00 USDT" in text
    assert "  BTC/USDT    a         b              2   83.3%      +79.80      +14.80         1     -65.00" in text
    assert "transfers               2, fees 13.02 USDT, 1 in transit" in text  # BTC back to b, USDT to a
    with (tmp_path / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    ledger = Rig(tmp_path / "l.sqlite")
    for row, (trade_id, qty, predicted, realised) in zip(rows, ledger.rows(
            "SELECT id, qty, predicted, realised FROM trades ORDER BY created_at, id"), strict=True):
        assert (row["id"], row["qty"], row["predicted"], row["realised"]) == (trade_id, qty, predicted, realised)
    assert rows[0]["buy_vwap"] == "60000" and rows[1]["residual"] == "0.5" and rows[1]["residual_status"] == "closed"
    ledger.trader.close()


def test_report_shows_a_residual_closed_at_a_gain_as_a_positive_pnl(rig):
    opened(rig)
    rig.book("b", [["59950", "2"]], [["59960", "2"]])  # the sell misses ...
    rig.at(0.25)
    rig.book("a", [["60500", "1"]], [["60510", "1"]])  # ... and BTC rises before the close
    rig.at(1.0)
    text = report(rig.config.ledger_path)
    gain = -D("60060") + D("60500") - D("60.5")
    assert f"leg failures            1 (100.0% of trades), residual PnL +{gain:,.2f} USDT" in text
    assert f"{'1':>9} {gain:>+10,.2f}" in text.split("by pair")[1].split("by exchange")[0]
    assert "cost" not in text


def test_report_values_every_asset_with_a_book_in_the_reporting_currency(tmp_path):
    sched = VirtualScheduler(start_wall=1.7e9, start_monotonic=T0)
    symbols = ["BTC/USDT", "ETH/USDT"]
    store = BookStore({"a": symbols, "b": symbols}, {"a": 60.0, "b": 60.0})
    for (exchange, symbol), book in store.books.items():
        mid = (60000 if symbol == "BTC/USDT" else 3000) + (10 if exchange == "b" else 0)
        book.load_snapshot([[str(mid - 5), "1"]], [[str(mid + 5), "1"]], 1, 1, T0)
    meta = metadata()
    config = PaperConfig(enabled=True, ledger_path=str(tmp_path / "l.sqlite"), rebalance_threshold=0.0,
                         balances={"a": {"USDT": 1000.0, "ETH": 1.0}, "b": {"BTC": 0.5}})
    trader = PaperTrader(config, store, CostModel(meta, {}), meta, sched)
    trader.open()
    sched.advance(T0 + 3600.0)  # no trade, and every book long stale (a replay ends like this)
    trader.close()
    text = report(config.ledger_path)
    assert "valued in USDT at last known mid prices: BTC 60005.0, ETH 3005.0" in text
    assert "not valued" not in text
    assert "PnL, marked to market   +0.00 USDT   (start 34,007.50 -> now 34,007.50)" in text


def test_report_on_a_missing_ledger_is_one_line(tmp_path):
    with pytest.raises(LedgerError, match="does not exist"):
        report(tmp_path / "nothing.sqlite")


def test_metric_families_pass_promtool(rig):
    opened(rig)
    rig.at(1.0)
    registry = CollectorRegistry()
    registry.register(type("Collector", (), {"collect": lambda self: rig.trader.metric_families()})())
    text = generate_latest(registry).decode()
    for line in ['arbscan_paper_trades_total{buy_exchange="a",sell_exchange="b",symbol="BTC/USDT"} 1.0',
                 'arbscan_paper_balance{asset="USDT",exchange="b"} 60139.8', "arbscan_paper_pnl 79.8",
                 "arbscan_paper_realised_profit 79.8", "arbscan_paper_leg_failures_total 0.0",
                 "arbscan_paper_transfer_fees_total 0.0", "# HELP arbscan_paper_predicted_profit_total"]:
        assert line in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- config ----------------------------------------------------------------------------------------

def test_paper_config_is_validated():
    config = parse_config({"paper": {"leg_risk": "hold", "transfer_seconds": {"BTC": 900},
                                     "balances": {"binance": {"USDT": 1000}}}})
    assert config.paper.leg_risk == "hold" and config.paper.transfer_seconds == {"BTC": 900.0}
    with pytest.raises(ConfigError) as error:
        parse_config({"paper": {"leg_risk": "pray", "rebalance_threshold": 1.5, "latency_ms": {"okx": -1},
                                "balances": {"bybit": {"BTC": -1}}, "residual_close_delay_ms": -5}})
    assert len(error.value.problems) == 5
