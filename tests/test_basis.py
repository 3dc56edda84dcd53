"""Basis and carry, the hedge monitor, their alerts and config, on fabricated books and funding.
Every expected figure is worked out here in Decimal from the formulas (perpetuals reference
§4 funding, §5 basis, §1.6 Binance liquidation)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal as D
from pathlib import Path

import orjson
import pytest

from scanner.alerts.formats import JsonRenderer, operational_payload
from scanner.book import OrderBook
from scanner.config import Config, ConfigError, ExchangeConfig, HedgeConfig, HedgingConfig, PerpLegConfig, parse_config
from scanner.engine.costs import CostModel
from scanner.hedging.basis import BasisEngine
from scanner.hedging.funding import FundingState
from scanner.hedging.live import cheapest_delivery, read_market
from scanner.hedging.margin import SHORT
from scanner.hedging.monitor import HedgeMonitor, margin_for_distance
from scanner.hedging.plan import DEFAULT_TIERS, liquidation_price
from scanner.instruments import Instrument
from scanner.metadata import Metadata

NOW = 100.0  # monotonic
WALL = 1_780_000_000.0  # 2026-05-28T20:26:40Z
FEES = {"a": ExchangeConfig(taker_fee_bps=10), "b": ExchangeConfig(taker_fee_bps=5),
        "binance": ExchangeConfig(taker_fee_bps=5), "okx": ExchangeConfig(taker_fee_bps=5)}
COSTS = CostModel(Metadata({}, fetched_at=0.0, source="test"), FEES)


def close(value: float, exact: D) -> None:
    assert value == pytest.approx(float(exact), rel=1e-12)


def book(exchange: str, symbol: str, bid: str, ask: str) -> OrderBook:
    b = OrderBook(exchange, symbol, staleness=5.0, instrument=Instrument.of(exchange, symbol, symbol))
    b.load_snapshot([[bid, "10"]], [[ask, "10"]], 1, 1, NOW)
    return b


def funding(b: OrderBook, rate: float | None, hours: float | None, mark: float = 60_000.0,
            next_time: float = WALL + 1800, at: float = NOW) -> FundingState:
    return FundingState(b.instrument, mark_price=mark, index_price=mark, rate=rate,
                        interval_seconds=None if hours is None else hours * 3600, next_funding_time=next_time,
                        updated_at=at)


def engine(books: list[OrderBook], states: dict, **config) -> BasisEngine:
    return BasisEngine(books, states, COSTS, HedgingConfig(**config), clock=lambda: NOW, wall_clock=lambda: WALL)


def samples(families, name: str) -> dict[tuple, float]:
    [family] = [f for f in families if f.name == name]
    return {tuple(s.labels.values()): s.value for s in family.samples}


# --- basis and carry ---------------------------------------------------------------------------

def test_basis_both_ways_and_net_carry_after_round_trip_fees():
    spot = book("a", "BTC/USDT", "59990", "60000")
    perp = book("b", "BTC/USDT:USDT", "60060", "60070")
    e = engine([spot, perp], {("b", "BTC/USDT:USDT"): funding(perp, 0.0001, 8)}, horizon_days=30)
    [c] = e.carries(NOW)
    close(c.carry_bps, (D(60060) - 60000) / 60000 * 10000)  # perp bid over spot ask: +10 bps
    close(c.reverse_bps, (D(59990) - 60070) / 59990 * 10000)  # spot bid over perp ask, bps of spot: -13.3
    close(c.funding_annualized, D("0.0001") * 3 * 365)  # 10.95 % a year
    # 30 days: entry basis 0.001 + 90 fundings x 0.0001 - 2 x (10 bps + 5 bps) = 0.001 + 0.009 - 0.003 = 0.007
    net = D(60060) / 60000 - 1 + D("0.0001") * 90 - 2 * (D("0.001") + D("0.0005"))
    close(c.net_ratio, net)
    close(c.net_annualized, net * 365 / 30)  # 8.5167 % a year
    families = e.metric_families()
    assert samples(families, "arbscan_basis_bps") == {("BTC", "a", "b", "carry"): pytest.approx(10.0),
                                                      ("BTC", "a", "b", "reverse"): pytest.approx(float(c.reverse_bps))}
    assert samples(families, "arbscan_carry_net_annualized_ratio") == {("BTC", "a", "b"): pytest.approx(float(net * 365 / 30))}


@pytest.mark.parametrize("hours, annual", [(1, D("0.876")), (4, D("0.219")), (8, D("0.1095"))])
def test_funding_annualised_from_each_perpetuals_own_interval(hours, annual):
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60000", "60010")
    [c] = engine([spot, perp], {("b", "BTC/USDT:USDT"): funding(perp, 0.0001, hours)}).carries(NOW)
    close(c.funding_annualized, annual)  # 0.0001 x 24/hours x 365
    close(c.net_ratio, D(0) + D("0.0001") * 30 * 24 / hours - D("0.003"))


@pytest.mark.parametrize("state", ["unknown interval", "stale", "no report"])
def test_without_fresh_funding_and_its_interval_there_is_no_carry_figure(state):
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60060", "60070")
    states = {"unknown interval": {("b", perp.symbol): funding(perp, 0.0001, None)},
              "stale": {("b", perp.symbol): funding(perp, 0.0001, 8, at=NOW - 121)}, "no report": {}}[state]
    e = engine([spot, perp], states)
    [c] = e.carries(NOW)
    assert c.net_annualized is None and c.funding_annualized is None  # never an assumed 8 h, never 0
    assert samples(e.metric_families(), "arbscan_carry_net_annualized_ratio") == {}
    assert ("BTC", "a", "b", "carry") in samples(e.metric_families(), "arbscan_basis_bps")


def test_an_unusable_book_removes_the_pair():
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60060", "60070")
    e = engine([spot, perp], {})
    assert e.carries(NOW + 6) == []  # link silent past the 5 s staleness


def test_delivery_basis_annualised_to_expiry_and_funding_spreads():
    spot = book("a", "BTC/USDT", "59990", "60000")
    future = book("b", "BTC/USDT:USDT-260827", "62000", "62010")  # expires 2026-08-27T00:00:00Z
    p1, p2 = book("a", "BTC/USDT:USDT", "60000", "60010"), book("b", "BTC/USDT:USDT", "60000", "60010")
    states = {("a", p1.symbol): funding(p1, 0.0001, 8), ("b", p2.symbol): funding(p2, 0.0001, 1)}
    e = engine([spot, future, p1, p2], states)
    days = (D(future.instrument.expiry) - D(WALL)) / 86400  # 90.15 days
    families = e.metric_families()
    close(samples(families, "arbscan_delivery_basis_annualized_ratio")[("BTC", "a", "b", future.symbol)],
          (D(62000) / 60000 - 1) * 365 / days)  # 13.50 % a year
    spreads = samples(families, "arbscan_funding_spread_annualized_ratio")
    close(spreads[("BTC", "a", "b")], D("0.0001") * 24 * 365 - D("0.0001") * 3 * 365)  # long a (8 h), short b (1 h)
    close(spreads[("BTC", "b", "a")], -(D("0.0001") * 24 * 365 - D("0.0001") * 3 * 365))


def test_basis_alerts_open_over_the_threshold_and_close_with_hysteresis():
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60060", "60070")
    state = funding(perp, 0.0001, 8)
    e = engine([spot, perp], {("b", perp.symbol): state}, basis_open_annualized=0.05, basis_close_annualized=0.02)
    [opened] = e.on_book(perp)
    assert opened.type == "basis.opened" and opened.key == "b BTC/USDT:USDT"
    assert e.on_book(spot) == []  # once per episode
    state.rate = 0.00005  # 30 days: 0.001 + 0.0045 - 0.003 = 0.0025 -> 3.04 % a year: between the thresholds
    assert e.sweep() == []
    state.rate = 0.0  # -2.43 % a year
    [closed] = e.sweep()
    assert closed.type == "basis.closed" and not closed.data["stale"]
    payload = orjson.loads(orjson.dumps(operational_payload("basis.opened.1", opened.type, opened.detail, WALL,
                                                            exchange=opened.exchange, data=opened.data)))
    assert payload["type"] == "basis.opened" and payload["asset"] == "BTC"
    assert (payload["spot_exchange"], payload["perp_exchange"]) == ("a", "b")
    assert payload["funding_rate"] == 0.0001 and payload["funding_interval_hours"] == 8 and payload["horizon_days"] == 30
    assert (payload["spot_fee_rate"], payload["perp_fee_rate"]) == (0.001, 0.0005)
    assert payload["round_trip_fees"] == pytest.approx(0.003) and payload["carry_bps"] == pytest.approx(10.0)
    assert payload["net_annualized"] == pytest.approx(0.007 * 365 / 30) and payload["detected_at"].endswith("Z")


def test_one_basis_alert_per_perpetual_naming_its_best_spot_leg():
    """Five spot exchanges against one perpetual: a funding rise is one basis.opened (the
    cheapest spot ask), not five; the metrics still price every pair."""
    perp = book("p", "BTC/USDT:USDT", "60060", "60070")
    spots = [book(name, "BTC/USDT", "59980", ask) for name, ask in
             (("a", "60000"), ("b", "59990"), ("c", "60010"), ("d", "60005"), ("e", "59995"))]
    state = funding(perp, 0.0, 8)
    e = engine([*spots, perp], {("p", perp.symbol): state}, basis_open_annualized=0.05)
    assert e.sweep() == []
    state.rate = 0.0001
    [opened] = e.sweep()
    assert opened.data["spot_exchange"] == "b" and "buy BTC/USDT on b" in opened.detail
    assert len(e.carries(NOW)) == 5


def test_a_stale_funding_closes_an_open_basis():
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60060", "60070")
    state = funding(perp, 0.0001, 8)
    e = engine([spot, perp], {("b", perp.symbol): state}, basis_open_annualized=0.05)
    assert [a.type for a in e.sweep()] == ["basis.opened"]
    state.updated_at = NOW - 1000
    [closed] = e.sweep()
    assert closed.type == "basis.closed" and closed.data["stale"] and "no longer priced" in closed.detail


def test_the_engine_watches_only_books_of_a_spot_perp_pair():
    spot, perp, other = book("a", "BTC/USDT", "1", "2"), book("b", "BTC/USDT:USDT", "1", "2"), book("a", "ETH/USDT", "1", "2")
    assert engine([spot, perp, other], {}).watches == {"BTC/USDT", "BTC/USDT:USDT"}
    assert engine([spot, other], {}).watches == frozenset()  # spot only: the spread engine alone


# --- the hedge monitor ---------------------------------------------------------------------------

ENTRY = datetime(2026, 5, 28, 0, 0, tzinfo=timezone.utc)  # WALL is 20:26:40 the same day


def hedge(**changes) -> HedgeConfig:
    perp = dict(exchange="binance", symbol="BTC/USDT:USDT", size=-1.0, entry_price=60_000, leverage=10,
                margin="6000", margin_mode="isolated", entry_time=ENTRY)
    perp.update(changes.pop("perp", {}))
    perp["margin"] = float(perp["margin"])
    return HedgeConfig(**{"name": "btc", "asset": "BTC", "spot": {"okx": 1.0}, "funding_alert": 5.0, **changes},
                       perp=PerpLegConfig(**perp))


def monitor(h: HedgeConfig, spot_mid: float = 64_000, mark: float = 64_000, rate: float = 0.0001,
            hours: float = 8, next_time: float = WALL + 1800, leg_hold: float | None = None) -> tuple[HedgeMonitor, dict, dict]:
    books = {("okx", "BTC/USDT"): book("okx", "BTC/USDT", str(spot_mid - 5), str(spot_mid + 5)),
             ("binance", "BTC/USDT:USDT"): book("binance", "BTC/USDT:USDT", str(mark - 5), str(mark + 5))}
    states = {("binance", "BTC/USDT:USDT"): funding(books[("binance", "BTC/USDT:USDT")], rate, hours, mark, next_time)}
    clock = {"now": NOW}
    m = HedgeMonitor([h], books, states, COSTS, HedgingConfig(leg_missing_seconds=10 if leg_hold is None else leg_hold),
                     clock=lambda: clock["now"])
    return m, books, clock


def test_margin_to_restore_the_distance_against_a_hand_calculation():
    # Binance short 1 BTC @ 60,000, tier 2 (MMR 0.5 %, cum 50); mark 64,000, distance 25 %:
    # target LP 80,000 = (M + 50 + 60,000) / (0.005 + 1) => M = 80,000 x 1.005 - 60,050 = 20,350
    tiers = DEFAULT_TIERS["binance"]
    needed = margin_for_distance("binance", SHORT, 1.0, 60_000, 10, 6_000, tiers, 0.0005, 64_000, 0.25)
    close(needed, D(80000) * D("1.005") - 60050)
    assert liquidation_price("binance", SHORT, 1.0, 60_000, 10, needed, tiers, 0.0005)[0] == pytest.approx(80_000)


def test_the_monitor_marks_ratio_exposure_liquidation_and_funding():
    m, _, _ = monitor(hedge())
    [alert] = [a for a in m.observe() if a.type == "hedge.liquidation_risk"]
    s = m.latest["btc"]
    assert s.ratio == 1.0 and s.net_exposure == 0.0
    lp = (D(6000) + 50 + 60000) / (D("0.005") + 1)  # 65,721.39: short liquidated above the entry
    close(s.liquidation_price, lp)
    close(s.liquidation_distance, (lp - 64000) / 64000)  # 2.69 % of the mark
    close(s.margin_to_add, D(80000) * D("1.005") - 60050 - 6000)  # 14,350
    assert "add 14,350.00 USDT margin to get back to 25%" in alert.detail
    assert alert.data["margin_to_add"] == pytest.approx(14_350)
    # funding: entry 00:00, next 20:56:40 every 8 h: the times 04:56:40 and 12:56:40 have passed,
    # each paid at the rate seen: the short receives 1 x 64,000 x 0.0001 = 6.4 each
    close(s.funding_paid, -2 * D(64000) * D("0.0001"))
    close(s.funding_next, -D(64000) * D("0.0001"))
    metrics = {f.name: samples([f], f.name) for f in m.metric_families()}
    assert metrics["arbscan_hedge_ratio"] == {("btc",): 1.0}
    assert metrics["arbscan_hedge_funding_paid"] == {("btc",): pytest.approx(-12.8)}
    assert metrics["arbscan_hedge_liquidation_distance_ratio"] == {("btc",): pytest.approx(float((lp - 64000) / 64000))}


def test_funding_accumulates_at_the_rate_seen_before_each_funding_time():
    m, books, clock = monitor(hedge(), rate=-0.0002)
    m.observe()
    close(m.latest["btc"].funding_paid, 2 * D(64000) * D("0.0002"))  # the short pays when the rate is negative
    state = m.funding[("binance", "BTC/USDT:USDT")]
    state.next_funding_time += 8 * 3600  # the 20:56:40 funding passed at -0.0002 and 64,000
    state.rate = 0.0003
    m.observe()
    close(m.latest["btc"].funding_paid, 3 * D(64000) * D("0.0002"))
    close(m.latest["btc"].funding_next, -D(64000) * D("0.0003"))


def test_drift_funding_and_leg_missing_alerts():
    h = hedge(spot={"okx": 1.05}, perp={"margin": 30_000}, funding_alert=5.0)
    m, books, clock = monitor(h, rate=-0.0001)  # short pays 6.40 at the next funding
    types = {a.type: a for a in m.observe()}
    assert set(types) == {"hedge.drift", "hedge.funding"}
    assert "ratio 0.9524" in types["hedge.drift"].detail  # 1 / 1.05: 4.76 % off, tolerance 2 %
    assert types["hedge.funding"].data["funding_next"] == pytest.approx(6.4)
    assert m.observe() == []  # once per episode
    books[("okx", "BTC/USDT")].reset()  # the spot book is gone; the perpetual stays live
    perp = books[("binance", "BTC/USDT:USDT")]
    for seconds, expected in ((0, 0), (9, 0), (10, 1)):
        perp.load_snapshot([["63995", "10"]], [["64005", "10"]], 1, 1, NOW + seconds)
        clock["now"] = NOW + seconds
        alerts = m.observe()
        assert len(alerts) == expected, seconds  # alerted once gone for leg_missing_seconds (10 s)
    [gone] = alerts
    assert gone.type == "hedge.leg_missing" and "spot okx" in gone.detail and gone.key == "btc"
    body = operational_payload("hedge.leg_missing.1", gone.type, gone.detail, WALL, exchange=gone.exchange, data=gone.data)
    request = JsonRenderer("http://127.0.0.1:1/hook", b"key", ()).render("hedge.leg_missing.1", orjson.dumps(body), 1)
    sent = json.loads(request.body)
    assert sent["hedge"] == "btc" and sent["missing"] == ["spot okx"] and request.headers["webhook-signature"]


def test_a_zero_quantity_against_an_open_leg_is_a_missing_leg():
    m, _, clock = monitor(hedge(spot={"okx": 0.0}, perp={"margin": 30_000}), leg_hold=5)
    m.observe()
    clock["now"] += 5
    assert "spot quantity 0" in [a for a in m.observe() if a.type == "hedge.leg_missing"][0].detail
    assert m.latest["btc"].ratio is None


# --- config -----------------------------------------------------------------------------------

HEDGE_TOML = {"name": "btc", "asset": "BTC", "spot": {"binance": 1.0},
              "perp": {"exchange": "binance", "symbol": "BTC/USDT:USDT", "size": -1.0, "entry_price": 60000,
                       "leverage": 2, "margin": 30000, "entry_time": datetime(2026, 5, 1, 8, tzinfo=timezone.utc)}}


def test_a_hedge_in_the_config_is_read():
    config = parse_config({"hedges": [HEDGE_TOML], "hedging": {"horizon_days": 7}})
    assert config.hedges[0].perp.size == -1.0 and config.hedging.horizon_days == 7
    assert parse_config({"hedges": [{**HEDGE_TOML, "perp": {**HEDGE_TOML["perp"], "entry_time": "2026-05-01T08:00:00Z"}}]})


@pytest.mark.parametrize("change, message", [
    ({"perp": {"exchange": "kraken"}}, "'hedges[0] (btc).perp.exchange': 'kraken' is not one of binance, okx, bybit"),
    ({"perp": {"symbol": "BTC/USDT"}}, "'hedges[0] (btc).perp.symbol': 'BTC/USDT' is not a perpetual of BTC"),
    ({"perp": {"leverage": 0}}, "'hedges[0] (btc).perp.leverage' must be greater than 0"),
    ({"perp": {"margin_mode": "portfolio"}}, "'portfolio' is not one of isolated, cross"),
    ({"perp": {"entry_time": "yesterday"}}, "expected a date-time with its UTC offset"),
    ({"spot": {"binance": -1}}, "'hedges[0] (btc).spot.binance' must be 0 or more"),
    ({"min_liquidation_distance": 1.5}, "must be between 0 and 1"),
    ({"max_ratio_drift": 0}, "'hedges[0] (btc).max_ratio_drift' must be greater than 0"),
    ({"name": ""}, "'hedges[0].name' is missing"),
    ({"ratio": 1}, "unknown key 'hedges[0].ratio'"),
])
def test_hedge_config_errors_are_one_line_each(change, message):
    raw = {**HEDGE_TOML, **{k: v for k, v in change.items() if k != "perp"},
           "perp": {**HEDGE_TOML["perp"], **change.get("perp", {})}}
    with pytest.raises(ConfigError) as caught:
        parse_config({"hedges": [raw]})
    assert any(message in problem for problem in caught.value.problems), caught.value.problems
    assert all("\n" not in problem for problem in caught.value.problems)


def test_check_config_exits_2_with_one_line_per_hedge_problem(tmp_path, capsys):
    from scanner.cli import main

    path = tmp_path / "c.toml"
    path.write_text('[[hedges]]\nname = "a"\nasset = "BTC"\nspot = { binance = 1 }\n[hedges.perp]\n'
                    'exchange = "binance"\nsymbol = "BTC/USDT:USDT"\nsize = -1\nentry_price = 60000\n'
                    'leverage = 2\nmargin = 30000\nentry_time = 2026-05-01T08:00:00\n'
                    '[[hedges]]\nname = "a"\n')
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    err = (captured.out + captured.err).splitlines()
    assert any("'hedges[0].perp.entry_time': expected a date-time with its UTC offset like 2026-05-01T08:00:00Z,"
               " got 2026-05-01T08:00:00 without one" in line for line in err)
    assert any("'a' names more than one hedge" in line for line in err)


# --- live arbscan hedge -------------------------------------------------------------------------

def test_live_market_reads_books_funding_and_the_cheapest_delivery():
    books = {("okx", b.symbol): b for b in (book("okx", "BTC/USDT", "59990", "60010"),
                                            book("okx", "BTC/USDT:USDT", "60020", "60030"),
                                            book("okx", "BTC/USDT:USDT-260827", "61000", "61010"),
                                            book("okx", "BTC/USDT:USDT-261225", "63000", "63010"))}
    deliveries = ["BTC/USDT:USDT-260827", "BTC/USDT:USDT-261225"]
    assert read_market(books, {}, COSTS, "okx", "BTC/USDT", "BTC/USDT:USDT", deliveries, "short", NOW, WALL) == \
        "no mark price, funding rate and interval for BTC/USDT:USDT from okx"
    state = funding(books[("okx", "BTC/USDT:USDT")], 0.0001, 4, mark=60_025, next_time=WALL + 600)
    market = read_market(books, {("okx", "BTC/USDT:USDT"): state}, COSTS, "okx", "BTC/USDT", "BTC/USDT:USDT",
                         deliveries, "short", NOW, WALL)
    assert (market.spot, market.mark, market.funding_interval_hours, market.seconds_to_funding) == (60_000, 60_025, 4, 600)
    assert market.taker_fee == 0.0005
    # short: sell the future at its bid; 260827 earns (61000/60000 - 1) x 365/90.15 = 6.75 % a year,
    # 261225 earns (63000/60000 - 1) x 365/210.15 = 8.68 %: the December one costs least
    assert (market.delivery_symbol, market.delivery_price) == ("BTC/USDT:USDT-261225", 63_000)
    expiry = datetime(2026, 12, 25, tzinfo=timezone.utc).timestamp()
    assert market.delivery_days == pytest.approx((expiry - WALL) / 86400)
    long = cheapest_delivery([books[("okx", s)] for s in deliveries], 60_000, "long", NOW, WALL)
    assert long[:2] == ("BTC/USDT:USDT-260827", 61_010)  # long: buy at the ask, pays (61010/60000-1) x 365/90.15 = 6.83 % < 8.70 %


def test_live_hedge_without_prices_in_time_is_a_one_line_error(tmp_path, capsys):
    from scanner.cli import main

    path = tmp_path / "c.toml"
    path.write_text('[exchanges.binance]\nws_url = "ws://127.0.0.1:9/ws"\nrest_url = "http://127.0.0.1:9"\n'
                    '[metadata]\ncache_path = "%s"\n' % (tmp_path / "meta.json"))
    assert main(["hedge", "--asset", "BTC", "--spot", "1", "--exchange", "binance", "--config", str(path),
                 "--wait", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no live BTC/USDT" in err and "from binance within 0.5 s; pass --price for offline use" in err


def test_the_offline_plan_prints_funding_to_the_next_funding_time():
    from scanner.hedging.plan import Market, plan, render

    p = plan("BTC", "USDT", 1, "binance", 2, Market(60_000, 60_000, 0.0001, 4, seconds_to_funding=7380))
    assert "receives 6.00 at the next funding time (in 2 h 03 m)" in render(p)


# --- the dashboard ----------------------------------------------------------------------------

HEDGING_DASHBOARD = Path(__file__).parents[1] / "grafana" / "dashboards" / "hedging.json"
FUNDING_FAMILIES = {"arbscan_mark_price", "arbscan_funding_rate", "arbscan_funding_interval_seconds",
                    "arbscan_next_funding_timestamp_seconds"}  # the perpetual feeds' (DESIGN.md)


def test_the_hedging_dashboard_reads_only_metrics_arbscan_exports():
    from scanner.stablecoins import StablecoinMonitor

    exported = {f.name for f in engine([], {}).metric_families()}
    exported |= {f.name for f in HedgeMonitor([], {}, {}, COSTS, HedgingConfig()).metric_families()}
    exported |= {f.name for f in StablecoinMonitor([]).metric_families(NOW)}
    dashboard = json.loads(HEDGING_DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\barbscan_[a-z_]+", expr)}
    assert used - exported - FUNDING_FAMILIES == set()
    assert {"arbscan_basis_bps", "arbscan_carry_net_annualized_ratio", "arbscan_hedge_ratio",
            "arbscan_hedge_funding_paid", "arbscan_stablecoin_deviation_bps", "arbscan_funding_rate"} <= used


# --- the live view ------------------------------------------------------------------------------

def test_the_live_view_shows_a_row_per_hedge_within_80_columns(tmp_path):
    import io

    from rich.console import Console

    from scanner.app import Scanner
    from scanner.clock import VirtualScheduler
    from scanner.metadata import load_metadata

    config = Config()
    config.scanner.symbols = ["BTC/USDT"]
    for name, exchange in config.exchanges.items():
        exchange.enabled = name in ("binance", "okx")
    config.hedges = [hedge(name="btc-carry", spot={"binance": 1.0})]
    scheduler = VirtualScheduler(start_wall=WALL, start_monotonic=NOW)
    scanner = Scanner(config, load_metadata(tmp_path / "absent.json"), scheduler=scheduler, live=False)
    scanner.store.books["binance", "BTC/USDT"].load_snapshot([["64000", "1"]], [["64001", "1"]], 1, 1, NOW)
    scanner.hedges.observe()
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(scanner.view())
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    [line] = [line for line in lines if line.startswith("btc-carry ")]
    assert "1.0000" in line and "+0 BTC" in line and "+0.00 USDT" in line and "gone: perp bin" in line


def test_spot_only_books_keep_the_spread_engines_listener_alone(tmp_path):
    from types import SimpleNamespace

    from scanner.app import Scanner
    from scanner.metadata import load_metadata

    config = Config()
    config.scanner.symbols = ["BTC/USDT"]
    config.metrics.enabled = False
    scanner = Scanner(config, load_metadata(tmp_path / "absent.json"))
    assert scanner.book_listener() == scanner.engine.on_book  # no basis pair: nothing added to the hot path
    spot, perp = book("a", "BTC/USDT", "59990", "60000"), book("b", "BTC/USDT:USDT", "60060", "60070")
    scanner.basis = engine([spot, perp], {("b", perp.symbol): funding(perp, 0.0001, 8)}, basis_open_annualized=0.05)
    seen = []
    scanner.engine = SimpleNamespace(on_book=seen.append)  # the compiled engine's method cannot be replaced
    scanner._raise = seen.extend
    listener = scanner.book_listener()
    listener(perp)  # both engines see a perpetual's update; its basis.opened goes to the alert path
    assert seen[0] is perp and [a.type for a in seen[1:]] == ["basis.opened"]
