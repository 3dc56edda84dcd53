"""``arbscan demo``: the simulated exchanges and the scanner in one process."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
from datetime import datetime, timezone
from typing import AsyncIterator, TextIO

from .app import Scanner
from .book import LIVE
from .checks import book_symbols
from .config import Config, HedgeConfig, PerpLegConfig, WebhookConfig
from .instruments import parse_symbol
from .metadata import load_metadata
from .receiver import LocalReceiver
from .record import Recorder
from .sim import SimulatedExchanges

DEMO_DISLOCATIONS = (2.0, 6.0)  # seconds between injected dislocations
FIRST_DISLOCATION = (60.0, 4.0)  # bps, seconds: the second exchange's first symbol, once live
DEMO_BALANCES = {"USDT": 20_000.0, "BTC": 0.25, "ETH": 5.0, "SOL": 100.0, "XRP": 3_000.0,
                 "DOGE": 300.0}  # about 15,000 USDT of each base at the simulator's prices
DEMO_HEDGE = ("BTC", "USDT", 0.25, "okx", "binance", 2.0)  # asset, quote, quantity, spot and perp exchange, leverage
RECEIVER_TARGET = "demo-local-receiver"  # the alert target of the demo's own webhook receiver
RECEIVER_SECRET_ENV = "ARBSCAN_DEMO_RECEIVER_SECRET"  # its signing key, made for each run


def enable_demo_paper(config: Config) -> None:
    """Paper-trade in the demo; every exchange starts with the demo balances unless configured."""
    config.paper.enabled = True
    if not config.paper.balances:
        bases = {parse_symbol(symbol).base for symbol in config.scanner.symbols} | {"USDT"}
        balances = {asset: amount for asset, amount in DEMO_BALANCES.items() if asset in bases}
        config.paper.balances = {exchange: dict(balances) for exchange in config.enabled_exchanges()}


def demo_hedge(config: Config, price: float) -> HedgeConfig | None:
    """With no ``[[hedges]]`` configured, the demo's own: 0.25 BTC held on OKX, shorted on the
    Binance perpetual at 2x isolated, opened at ``price`` now (so the view's hedge row and the
    Hedging dashboard have one); None when those books are not scanned."""
    asset, quote, quantity, spot, perp, leverage = DEMO_HEDGE
    symbol = f"{asset}/{quote}:{quote}"
    if config.hedges or not {f"{asset}/{quote}", symbol} <= set(config.scanner.symbols) \
            or not {spot, perp} <= set(config.enabled_exchanges()):
        return None
    leg = PerpLegConfig(exchange=perp, symbol=symbol, size=-quantity, entry_price=price, leverage=leverage,
                        margin=quantity * price / leverage, entry_time=datetime.now(timezone.utc))
    return HedgeConfig(name=f"demo-{asset.lower()}", asset=asset, spot={spot: quantity}, perp=leg)


def point_at(config: Config, sim: SimulatedExchanges) -> None:
    """Enable exactly the simulated exchanges and point each at its simulated endpoints."""
    for name, settings in config.exchanges.items():
        settings.enabled = name in sim.endpoints
    for name, endpoint in sim.endpoints.items():
        config.exchanges[name].ws_url = endpoint.ws_url
        config.exchanges[name].rest_url = endpoint.rest_url
    for name, endpoint in sim.futures_endpoints.items():
        config.exchanges[name].futures_ws_url = endpoint.ws_url
        config.exchanges[name].futures_rest_url = endpoint.rest_url


async def run_demo(config: Config, duration: float | None = None, seed: int = 7,
                   view: TextIO | None = None, recorder: Recorder | None = None) -> None:
    """Start the simulator and the local webhook receiver, point every enabled exchange at
    the simulator, and scan."""
    exchanges = tuple(e for e in config.enabled_exchanges() if not config.exchanges[e].generic)  # simulated
    metadata = load_metadata(None, config.metadata.max_status_age_hours)
    async with SimulatedExchanges(symbols=book_symbols(config, metadata), exchanges=exchanges, seed=seed,
                                  dislocation_every=DEMO_DISLOCATIONS) as sim, local_receiver(config):
        point_at(config, sim)
        hedge = demo_hedge(config, sim.model.fair(DEMO_HEDGE[0], DEMO_HEDGE[1]))
        if hedge is not None:
            config.hedges = [hedge]
        scanner = Scanner(config, metadata, recorder=recorder)
        first = asyncio.create_task(_first_dislocation(sim, scanner, exchanges))
        try:
            await scanner.run(duration, view=view)
        finally:
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first


@contextlib.asynccontextmanager
async def local_receiver(config: Config) -> AsyncIterator[LocalReceiver]:
    """Run the demo's webhook receiver on 127.0.0.1 and add it to ``config`` as the signed
    alert target ``demo-local-receiver``, so alerts are delivered (and the Alerts dashboard has
    data) without any setup. With no other target the outbox is kept in memory: a receiver
    that stops with the demo leaves nothing worth keeping."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ[RECEIVER_SECRET_ENV] = secret  # the alerter reads target secrets from the environment
    receiver = LocalReceiver(secret=secret, log_level=logging.DEBUG,
                             label=f"demo local receiver (alert target {RECEIVER_TARGET})")
    await receiver.start()
    if not config.alerts.webhooks:
        config.alerts.outbox_path = ":memory:"
    config.alerts.webhooks[RECEIVER_TARGET] = WebhookConfig(url=receiver.url(), secret_env=RECEIVER_SECRET_ENV)
    try:
        yield receiver
    finally:
        await receiver.stop()


async def _first_dislocation(sim: SimulatedExchanges, scanner: Scanner, exchanges: tuple[str, ...]) -> None:
    """Once every book is live, dislocate one so the first opportunity shows within seconds
    of starting, every time (the random ones follow on the simulator's own clock); then, where
    a second quote is scanned, one of its books too, so an opportunity across quotes (with its
    conversion) shows as well."""
    if len(exchanges) < 2:
        return
    while not all(book.state is LIVE for book in scanner.store.books.values()):
        await asyncio.sleep(0.1)
    scanned = [symbol for symbol in scanner.store.by_symbol if symbol not in scanner.store.conversion_only]
    sim.dislocate(exchanges[1], scanned[0], *FIRST_DISLOCATION)
    other = cross_quote_book(scanner, scanned[0])
    if other is not None:
        sim.dislocate(*other, -FIRST_DISLOCATION[0], FIRST_DISLOCATION[1])


def cross_quote_book(scanner: Scanner, symbol: str) -> tuple[str, str] | None:
    """(exchange, symbol) of a scanned book of ``symbol``'s base in another stablecoin quote."""
    base = parse_symbol(symbol).base
    for exchange, other in scanner.store.books:
        parsed = parse_symbol(other)
        if parsed.base == base and other != symbol and other not in scanner.store.conversion_only:
            return exchange, other
    return None
