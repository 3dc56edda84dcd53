"""`arbscan run --config` with paper mode restarts on its own ledger while a paper transfer is in
transit (as rebalancing leaves one after a clean stop or a kill -9): the transfer lands at its
arrival time once the scanner runs, and the run exits 0 without a traceback."""
from __future__ import annotations

import asyncio
import sys
import time
from decimal import Decimal as D
from pathlib import Path

from scanner.paper.ledger import Ledger, Transfer
from scanner.sim import SimulatedExchanges

SYMBOLS = ["BTC/USDT"]
BALANCES = {name: {"USDT": 20000.0, "BTC": 0.25} for name in ("binance", "okx", "bybit")}


def seed_ledger(path: Path) -> None:
    """A ledger as a run leaves it: BTC on its way from binance to okx (landing a second after
    the restart) and USDT from okx to bybit (landing in an hour)."""
    ledger = Ledger(path)
    now = time.time()
    ledger.load(BALANCES, now - 60.0)
    ledger.send_transfer(Transfer("BTC", "binance", "okx", "BTC", D("0.1"), D("0.0002"), D("12"), now - 10.0, now + 1.0))
    ledger.send_transfer(Transfer("USDT", "okx", "bybit", "TRC20", D("5000"), D("1"), D("1"), now, now + 3600.0))
    ledger.close()


def write_config(path: Path, ledger: Path, sim: SimulatedExchanges) -> None:
    lines = [f"[scanner]\nsymbols = {SYMBOLS!r}".replace("'", '"'), "[metrics]\nenabled = false",
             f'[paper]\nenabled = true\nledger_path = "{ledger}"']
    for name, endpoint in sim.endpoints.items():
        lines.append(f'[exchanges.{name}]\nws_url = "{endpoint.ws_url}"\nrest_url = "{endpoint.rest_url}"')
    for name, assets in BALANCES.items():
        lines.append(f"[paper.balances.{name}]\n" + "\n".join(f"{asset} = {amount}" for asset, amount in assets.items()))
    path.write_text("\n".join(lines) + "\n")


async def arbscan_run(config: Path, seconds: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scanner", "run", "--config", str(config), "--duration", str(seconds), "--no-view",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, stderr.decode()


def transfers(path: Path) -> list[tuple[str, str]]:
    ledger = Ledger(path)
    try:
        return ledger.conn.execute("SELECT asset, status FROM transfers ORDER BY id").fetchall()
    finally:
        ledger.close()


async def test_run_restarts_on_a_ledger_with_a_transfer_in_transit_and_lands_it(tmp_path):
    ledger, config = tmp_path / "paper.sqlite", tmp_path / "arbscan.toml"
    seed_ledger(ledger)
    async with SimulatedExchanges(symbols=SYMBOLS, seed=3, dislocation_every=None) as sim:
        write_config(config, ledger, sim)
        code, stderr = await arbscan_run(config, 3.0)
        assert code == 0 and "Traceback" not in stderr, stderr
        assert transfers(ledger) == [("BTC", "done"), ("USDT", "in_transit")]
        landed = Ledger(ledger)
        landed.load({}, 0.0)
        assert landed.balances["okx", "BTC"] == D("0.25") + D("0.1") - D("0.0002")
        assert landed.balances["binance", "BTC"] == D("0.15")
        landed.close()

        code, stderr = await arbscan_run(config, 1.0)  # again after that clean stop, USDT still in transit
        assert code == 0 and "Traceback" not in stderr, stderr
        assert transfers(ledger) == [("BTC", "done"), ("USDT", "in_transit")]
