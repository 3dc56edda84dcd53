"""Hedging maths against the worked examples of the project's perpetuals reference, each written
out here in Decimal (the exchanges' own formulas and examples, checked by hand)."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from scanner.hedging.margin import (
    LONG, SHORT, Tier, annualized_basis, annualized_funding, basis_bps, binance_liquidation, bybit_liquidation,
    funding_payment, okx_liquidation,
)
from scanner.hedging.plan import Market, plan, render, scenario

# Binance's FAQ tiers (tier 3's cum 1,300 = 250,000 x (1 % - 0.5 %) + 50)
BINANCE = (Tier(0, 50_000, 0.004, 0), Tier(50_000, 250_000, 0.005, 50), Tier(250_000, float("inf"), 0.01, 1_300))


def close(value: float, exact: D) -> None:
    assert value == pytest.approx(float(exact), rel=1e-12)


def test_binance_isolated_liquidation_worked_examples():
    # LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q)
    close(binance_liquidation(LONG, 1, 60_000, 6_000, BINANCE), (D(6000) + 50 - 60000) / (D("0.005") - 1))  # B1 54,221.1055
    close(binance_liquidation(SHORT, 1, 60_000, 6_000, BINANCE), (D(6000) + 50 + 60000) / (D("0.005") + 1))  # B2 65,721.3930
    close(binance_liquidation(LONG, 0.5, 60_000, 1_500, BINANCE),
          (D(1500) - 30000) / (D("0.5") * D("0.004") - D("0.5")))  # B3 57,228.9157
    close(binance_liquidation(SHORT, 0.5, 60_000, 1_500, BINANCE),
          (D(1500) + 30000) / (D("0.5") * D("0.004") + D("0.5")))  # B4 62,749.0040
    lp = binance_liquidation(LONG, 1, 60_000, 6_000, BINANCE)
    assert 6000 + (lp - 60_000) == pytest.approx(lp * 0.005 - 50)  # equity = maintenance margin at LP


def test_okx_isolated_liquidation_worked_examples():
    # O1: 100 contracts BTC-USDT-SWAP (ctVal 0.01: 1 BTC) @ 60,000, margin 6,000, mmr 0.4 %, fee 0.05 %
    close(okx_liquidation(LONG, 1, 60_000, 6_000, 0.004, 0.0005), D(54000) / (1 - D("0.004") - D("0.0005")))
    close(okx_liquidation(SHORT, 1, 60_000, 6_000, 0.004, 0.0005), D(66000) / (1 + D("0.004") + D("0.0005")))
    # O2: 20 contracts ETH-USDT-SWAP (ctVal 0.1: 2 ETH) @ 3,000, margin 300, mmr 0.5 %
    close(okx_liquidation(LONG, 2, 3_000, 300, 0.005, 0.0005), D(5700) / (2 * (1 - D("0.005") - D("0.0005"))))
    close(okx_liquidation(SHORT, 2, 3_000, 300, 0.005, 0.0005), D(6300) / (2 * (1 + D("0.005") + D("0.0005"))))


def test_bybit_isolated_liquidation_worked_examples():
    assert bybit_liquidation(LONG, 1, 20_000, 50, 0.005) == pytest.approx(19_700)  # Bybit's own example
    assert bybit_liquidation(SHORT, 1, 20_000, 50, 0.005) == pytest.approx(20_300)  # Y1
    assert bybit_liquidation(LONG, 2, 3_000, 10, 0.01) == pytest.approx(2_730)  # Y2: 3000 - (600 - 60)/2
    assert bybit_liquidation(SHORT, 2, 3_000, 10, 0.01) == pytest.approx(3_270)
    assert bybit_liquidation(SHORT, 0.1, 50_000, 20, 0.005, extra_margin=100) == pytest.approx(53_250)  # Y3


def test_funding_payment_and_its_sign():
    assert funding_payment(2, 60_000, 0.0001, LONG) == pytest.approx(12)  # F1: the long pays 12
    assert funding_payment(0.5, 60_000, -0.00025, LONG) == pytest.approx(-7.5)  # F2: the long receives
    assert funding_payment(0.5, 60_000, -0.00025, SHORT) == pytest.approx(7.5)  # ... and the short pays


@pytest.mark.parametrize("hours, expected", [(8, D("0.1095")), (4, D("0.2190")), (1, D("0.8760"))])
def test_funding_annualized_from_the_instruments_own_interval(hours, expected):
    close(annualized_funding(0.0001, hours), D("0.0001") * 24 / hours * 365)
    assert annualized_funding(0.0001, hours) == pytest.approx(float(expected))


def test_basis_both_ways_and_to_expiry():
    assert basis_bps(60_060, 60_000) == pytest.approx(10.0)  # carry: perp bid over spot ask
    assert basis_bps(59_940, 60_000) == pytest.approx(-10.0)
    simple, compounded = annualized_basis(62_000, 60_000, 91)  # 3.3333 % over 91 days
    close(simple, (D(62000) / 60000 - 1) * 365 / 91)  # 13.3700 %
    assert compounded == pytest.approx(0.140560, abs=5e-7)  # (62000/60000)^(365/91) - 1 = 14.0560 %


def market(price: float, rate: float = 0.0001, hours: float = 8) -> Market:
    return Market(spot=price, mark=price, funding_rate=rate, funding_interval_hours=hours, seconds_to_funding=3600)


@pytest.mark.parametrize("asset, size, price, moves", [("BTC", 1, 100_000, (95_000, 105_000)),
                                                        ("BNB", 3, 600, (590, 610))])
def test_a_hedge_of_equal_size_nets_zero(asset, size, price, moves):
    """The guides' examples: 1 BTC at 100,000 with a 100,000 short; 3 BNB at 600 with a 1,800 short."""
    p = plan(asset, "USDT", size, "binance", 2, market(price))
    assert p.notional == pytest.approx(size * price)
    for moved in moves:
        move = moved / price - 1
        spot_pnl, futures_pnl = size * (moved - price), -size * (moved - price)
        assert spot_pnl + futures_pnl == 0
        s = scenario(move, size, price, price, SHORT, p.liquidation_price)
        assert s.spot_pnl == pytest.approx(spot_pnl) and s.futures_pnl == pytest.approx(futures_pnl)
        assert s.net == pytest.approx(0, abs=1e-9)


def test_the_plan_for_5_btc_at_2x_on_binance():
    p = plan("BTC", "USDT", 5, "binance", 2, market(90_000))
    assert p.margin == pytest.approx(225_000)
    # 5 BTC at the liquidation price (~134k) is a notional in tier 3 (MMR 1 %, cum 1,300)
    exact = (D(225000) + 1300 + 5 * D(90000)) / (5 * D("0.01") + 5)
    close(p.liquidation_price, exact)
    assert p.liquidation_price > p.entry  # a short is liquidated above its entry
    assert p.funding_per_day == pytest.approx(-5 * 90_000 * 0.0001 * 3)  # the short receives 3 fundings a day
    assert [s.net for s in p.scenarios] == pytest.approx([0] * 6, abs=1e-6)
    text = render(p)
    assert "SELL (open short) 5 BTC" in text and "liquidation" in text and "+20%" in text


def test_a_long_hedges_a_planned_purchase_and_high_leverage_shows_liquidation():
    p = plan("BTC", "USDT", 1, "bybit", 10, market(60_000), direction="long")
    assert p.liquidation_price < p.entry
    assert all(s.liquidated for s in p.scenarios if s.move <= -0.10)
    assert not any(s.liquidated for s in p.scenarios if s.move > 0)


def test_arbscan_hedge_prints_a_plan_a_user_can_follow(capsys):
    from scanner.cli import main

    assert main(["hedge", "--asset", "btc", "--spot", "5", "--exchange", "Binance", "--leverage", "2",
                 "--price", "90000"]) == 0
    out = capsys.readouterr().out
    assert "SELL (open short) 5 BTC at ~90,000.00" in out
    liquidation = float(out.split("liquidation")[1].split()[0].replace(",", ""))
    assert liquidation > 90_000
    assert "receives 135.00 USDT per day" in out  # 450,000 x 0.01 % x 3 fundings a day


@pytest.mark.parametrize("argv, message", [
    (["--exchange", "kraken"], "argument --exchange: 'kraken' is not supported"),
    (["--margin-mode", "cross"], "--margin-mode cross needs --collateral"),
    (["--delivery-price", "91000"], "--delivery-price and --delivery-days go together"),
    (["--spot", "-1"], "argument --spot: must be a positive number"),
])
def test_arbscan_hedge_rejects_bad_input_in_one_line(argv, message, capsys):
    from scanner.cli import main

    base = {"--asset": "BTC", "--spot": "1", "--exchange": "okx", "--price": "60000"}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    assert main(["hedge", *[part for item in base.items() for part in item]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
