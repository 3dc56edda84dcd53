"""The hedging side end to end on the simulated futures exchanges: a basis move on /metrics,
``basis.opened`` and the hedge monitor's alerts reaching a webhook, and ``arbscan hedge`` run as a
real process against a running simulator."""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from scanner.config import Config, HedgeConfig, PerpLegConfig, WebhookConfig
from scanner.sim import SimulatedExchanges
from scanner.sim.market import ANCHOR_PRICES
from scanner_harness import Harness, running
from tests.webhook_sink import WebhookSink

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
ROOT = Path(__file__).resolve().parent.parent


async def _until(h: Harness, check, bound: float) -> float:
    """Seconds until ``check()`` (awaited) holds, failing beyond ``bound``."""
    start = time.monotonic()
    await h.wait_for(check, timeout=bound)
    return time.monotonic() - start


async def test_a_basis_move_shows_within_1s_and_basis_opened_reaches_the_webhook(tmp_path, caplog):
    sink = WebhookSink()
    await sink.start()
    config = Config()
    config.hedging.horizon_days, config.hedging.basis_open_annualized = 30.0, 0.5
    config.alerts.webhooks = {"desk": WebhookConfig(url=sink.url(), events=["basis.opened", "basis.closed"])}
    config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
    labels = dict(asset="BTC", spot_exchange="okx", perp_exchange="binance", direction="carry")
    try:
        async with running([SPOT, PERP], ["binance", "okx"], config=config) as h:
            for exchange in ("binance", "okx"):
                h.sim.set_funding(exchange, PERP, 0.0)  # the carry is the basis alone
            before = await h.wait_for(lambda: h.metric("arbscan_basis_bps", **labels), 5.0)
            assert -50 < before < 50
            await asyncio.sleep(2.0)  # a second sweep with the funding at 0: nothing opened
            assert sink.bodies("/hook") == []
            h.sim.dislocate("binance", PERP, 600, seconds=20)

            async def moved() -> bool:
                return (await h.metric("arbscan_basis_bps", **labels) or 0) > 500
            took = await _until(h, moved, 1.0)
            print(f"basis move: {took * 1000:.0f} ms on /metrics")
            opened = await h.wait_for(lambda: [b for b in sink.bodies("/hook") if b["type"] == "basis.opened"
                                               and b["perp_exchange"] == "binance"], 5.0)
            await asyncio.sleep(1.5)  # one alert for the perpetual, naming its best spot leg (not one per spot book)
            opened = [b for b in sink.bodies("/hook") if b["type"] == "basis.opened" and b["perp_exchange"] == "binance"]
            [body] = opened
            assert body["spot_exchange"] in ("okx", "binance") and body["asset"] == "BTC" and body["carry_bps"] > 500
            assert body["funding_rate"] == 0.0 and body["net_annualized"] >= 0.5 == body["threshold_annualized"]
            assert f"buy BTC/USDT on {body['spot_exchange']}, short BTC/USDT:USDT on binance" in body["detail"]
            stopping_from = len(caplog.records)
        stopped = [r.getMessage() for r in caplog.records[stopping_from:]]
        assert not [m for m in stopped if "basis.closed" in m], "the books going down with the scanner closed no carry"
    finally:
        await sink.stop()


def _hedge(min_distance: float) -> HedgeConfig:
    """1 BTC held on OKX, 1 BTC short on Binance at 2x isolated, opened at the simulator's start."""
    entry = ANCHOR_PRICES["BTC"]
    perp = PerpLegConfig(exchange="binance", symbol=PERP, size=-1.0, entry_price=entry, leverage=2.0,
                         margin=entry / 2, entry_time=datetime.now(timezone.utc) - timedelta(hours=1))
    return HedgeConfig(name="btc", asset="BTC", spot={"okx": 1.0}, perp=perp, min_liquidation_distance=min_distance)


def margin_to_restore(mark: Decimal, distance: Decimal, entry: Decimal, margin: Decimal) -> Decimal:
    """By hand, Binance's isolated formula for a 1 BTC short, LP = (WB + cum + Q*EP) / (Q*MMR + Q)
    (Binance FAQ), solved for WB with LP the mark ``distance`` above: WB = LP*(1 + MMR) - cum - EP.
    The tier is the one the notional at LP falls in (Binance's table: 50k-250k USDT: 0.5 %, cum 50)."""
    target = mark * (1 + distance)
    assert Decimal(50_000) <= target < Decimal(250_000)
    mmr, cum = Decimal("0.005"), Decimal(50)
    return target * (1 + mmr) - cum - entry - margin


async def test_a_2x_short_reaches_liquidation_risk_on_a_rally_with_the_margin_that_restores_it(tmp_path):
    sink = WebhookSink()
    await sink.start()
    config = Config()
    config.hedges = [_hedge(0.40)]
    config.alerts.webhooks = {"desk": WebhookConfig(url=sink.url(), events=["hedge.liquidation_risk"])}
    config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
    try:
        async with running([SPOT, PERP], ["binance", "okx"], config=config) as h:
            before = await h.wait_for(lambda: h.metric("arbscan_hedge_liquidation_distance_ratio", hedge="btc"), 5.0)
            assert 0.45 < before < 0.52  # LP ~ 1.49 x the entry at 2x
            assert await h.metric("arbscan_hedge_ratio", hedge="btc") == 1.0
            h.sim.rally("BTC", 12, seconds=2)
            [alert] = await h.wait_for(lambda: sink.bodies("/hook"), 10.0)
            after = await h.metric("arbscan_hedge_liquidation_distance_ratio", hedge="btc")
    finally:
        await sink.stop()
    assert alert["type"] == "hedge.liquidation_risk" and alert["hedge"] == "btc"
    mark = Decimal(repr(alert["mark_price"]))
    assert mark > Decimal(ANCHOR_PRICES["BTC"]) * Decimal("1.05")
    assert alert["liquidation_price"] > mark and alert["liquidation_distance"] < 0.40 and after < 0.40 < before
    expected = margin_to_restore(mark, Decimal("0.40"), Decimal(ANCHOR_PRICES["BTC"]), Decimal(alert["margin"]))
    assert abs(Decimal(repr(alert["margin_to_add"])) - expected) < Decimal("0.01")
    assert f"add {float(expected):,.2f} USDT margin to get back to 40%" in alert["detail"]


async def test_a_perp_feed_gone_while_the_spot_is_held_raises_leg_missing(tmp_path):
    sink = WebhookSink()
    await sink.start()
    config = Config()
    config.hedges = [_hedge(0.25)]
    config.hedging.leg_missing_seconds = 1.0
    config.alerts.webhooks = {"desk": WebhookConfig(url=sink.url(), events=["hedge.leg_missing"])}
    config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
    try:  # silence 10 s: the stalled connection is kept, its books go stale after 2 s
        async with running([SPOT, PERP], ["binance", "okx"], config=config, silence_seconds=10.0,
                           staleness_seconds=2.0) as h:
            await h.wait_for(lambda: h.metric("arbscan_hedge_ratio", hedge="btc"), 5.0)
            await asyncio.sleep(1.5)
            assert sink.bodies("/hook") == []
            h.sim.inject("binance", "stall", PERP, seconds=8.0)
            [alert] = await h.wait_for(lambda: sink.bodies("/hook"), 8.0)
            view = h.scanner.hedges.latest["btc"]
    finally:
        await sink.stop()
    assert alert["type"] == "hedge.leg_missing" and alert["missing"] == ["perp binance"]
    assert "perp binance gone while the other leg is open" in alert["detail"] and view.missing == ("perp binance",)


async def test_arbscan_hedge_against_the_simulator_prints_a_plan_a_user_can_follow(tmp_path):
    symbols = [SPOT, PERP, "BTC/USDT:USDT-261225"]
    async with SimulatedExchanges(symbols, ["binance"], seed=5, dislocation_every=None) as sim:
        binance, futures = sim.endpoints["binance"], sim.futures_endpoints["binance"]
        config = tmp_path / "arbscan.toml"
        config.write_text(f'[exchanges.binance]\nws_url = "{binance.ws_url}"\nrest_url = "{binance.rest_url}"\n'
                          f'futures_ws_url = "{futures.ws_url}"\nfutures_rest_url = "{futures.rest_url}"\n')
        argv = ["hedge", "--asset", "BTC", "--spot", "5", "--exchange", "binance", "--leverage", "2",
                "--config", str(config), "--wait", "15"]
        text, data = await asyncio.gather(_arbscan(argv), _arbscan([*argv, "--json"]))
        sim_mark = sim.futures["binance"].mark(sim.model.book("binance", PERP))
    assert text.returncode == 0, text.stderr
    out = text.stdout
    entry = float(out.split(" at ~")[1].split()[0].replace(",", ""))
    assert abs(entry / sim_mark - 1) < 0.01
    assert f"SELL (open short) 5 BTC at ~{entry:,.2f} (mark)" in out
    assert f"notional         {5 * entry:,.2f} USDT" in out and f"margin           {5 * entry / 2:,.2f} USDT" in out
    liquidation = float(out.split("liquidation      ")[1].split()[0].replace(",", ""))
    assert liquidation > entry * 1.4 and "above the entry" in out
    assert "per 8 h: pays" in out or "per 8 h: receives" in out  # BTC: the simulator's 8 h interval
    assert "at the next funding time (in " in out
    assert "fees             open" in out and "(taker)" in out
    assert "delivery future  or sell 5 BTC of BTC/USDT:USDT-261225 at ~" in out and "held to expiry it" in out
    for move in ("-20%", "-10%", "-5%", "+5%", "+10%", "+20%"):
        assert f"  {move} " in out
    assert data.returncode == 0, data.stderr
    plan = json.loads(data.stdout)
    assert plan["direction"] == "short" and plan["size"] == 5 and plan["leverage"] == 2
    assert plan["liquidation_price"] > plan["entry"] and plan["funding_interval_hours"] == 8
    assert 0 < plan["seconds_to_funding"] <= 8 * 3600 and plan["funding_to_next"] is not None
    assert plan["delivery_symbol"] == "BTC/USDT:USDT-261225" and plan["delivery_basis_annualized"] is not None
    assert [s["move"] for s in plan["scenarios"]] == [-0.2, -0.1, -0.05, 0.05, 0.1, 0.2]


async def _arbscan(argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m scanner <argv>`` as a real process (the event loop keeps serving the simulator)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "scanner", *argv, cwd=ROOT,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode, out.decode(), err.decode())


async def test_the_view_shows_basis_and_funding_within_80_columns():
    async with running([SPOT, PERP, "ETH/USDT", "ETH/USDT:USDT"], ["binance", "okx", "bybit"]) as h:
        h.sim.set_funding("bybit", "ETH/USDT:USDT", 0.0005)
        def priced() -> bool:  # every pair, with its perpetual's funding (Binance's: within a second)
            carries = h.scanner.basis.carries(time.monotonic())
            return len(carries) == 18 and all(c.funding_rate is not None for c in carries) and \
                sum(c.funding_rate == 0.0005 for c in carries) == 3
        await h.wait_for(priced, 5.0)
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(h.scanner.view())
        carries = sorted(h.scanner.basis.carries(time.monotonic()), key=lambda c: -c.carry_bps)
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("basis "))
    assert lines[header].split() == ["basis", "spot", "perp", "carry", "bps", "reverse", "bps", "funding", "net", "/yr"]
    rows = [line.split() for line in lines[header + 1:header + 6]]
    assert all(len(r) == 7 for r in rows)  # 2 assets x 3 spot x 3 perp: the top 5 shown
    assert [r[:3] for r in rows][0][0] in ("BTC", "ETH") and lines[header + 6].strip() == ""
    shown = {tuple(r[:3]): r[3:] for r in rows}
    for c in carries[:5]:  # the same figures, give or take a tick between the render and the read
        carry, _, funding, net = shown[(c.asset, c.spot_exchange, c.perp_exchange)]
        assert abs(float(carry) - c.carry_bps) < 5 and funding.endswith(f"/{c.funding_interval_hours:g}h")
    bybit_eth = [r for r in rows if r[:3] == ["ETH", "okx", "bybit"] or r[:3] == ["ETH", "binance", "bybit"]]
    assert all(r[5] == "+0.0500%/4h" for r in bybit_eth)  # ETH: the simulator's 4 h interval
