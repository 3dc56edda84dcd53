"""The live terminal view: rendered at 80 and 160 columns from a real engine's state (tradeable,
unknown, blocked and suspect pairs, paper on), drawn in place on a pseudo-terminal, absent when
stdout is not a terminal; and an expired network status as the webhooks report it."""
from __future__ import annotations

import asyncio
import fcntl
import io
import logging
import os
import re
import struct
import termios
import threading

import pytest
from rich.console import Console

from scanner.app import Scanner
from scanner.clock import VirtualScheduler
from scanner.config import Config, WebhookConfig
from scanner.demo import run_demo
from scanner.engine.spread import OpenOpportunity
from scanner.instruments import parse_symbol
from scanner.metadata import Status, load_metadata
from tests.webhook_sink import WebhookSink

SYMBOLS = ["BTC/USDT", "SOL/USDT", "DOGE/USDT", "XRP/USDT"]
# bid, ask per exchange: BTC okx rich (routes open), SOL okx rich (okx SOL deposit closed: blocked),
# DOGE okx 20% over (suspect), XRP bybit rich (bybit XRP status unknown)
BOOKS = {
    "BTC/USDT": {"binance": (65000.0, 65000.1, 2), "okx": (65300.0, 65300.2, 2), "bybit": (65010.0, 65010.5, 2)},
    "SOL/USDT": {"binance": (150.0, 150.01, 100), "okx": (151.5, 151.52, 100), "bybit": (150.0, 150.02, 100)},
    "DOGE/USDT": {"binance": (0.1, 0.10001, 1e5), "okx": (0.12, 0.12001, 1e5), "bybit": (0.1, 0.10002, 1e5)},
    "XRP/USDT": {"binance": (0.5, 0.50001, 1e5), "okx": (0.5, 0.50001, 1e5), "bybit": (0.503, 0.50302, 1e5)},
}


@pytest.fixture
def scanner(tmp_path):
    """A replay-mode scanner (bundled metadata as written, paper on) holding the books above."""
    config = Config()
    config.scanner.symbols = list(SYMBOLS)
    for name, exchange in config.exchanges.items():
        exchange.enabled = name in ("binance", "okx", "bybit")  # the exchanges of the scene
    config.paper.enabled = True
    config.paper.ledger_path = str(tmp_path / "paper.sqlite")
    config.paper.balances = {ex: {"USDT": 1e6, "BTC": 10.0, "SOL": 1e4, "DOGE": 1e7, "XRP": 1e7}
                             for ex in ("binance", "okx", "bybit")}
    scheduler = VirtualScheduler(start_wall=1.78e9, start_monotonic=100.0)
    scanner = Scanner(config, load_metadata(tmp_path / "absent.json"), scheduler=scheduler, live=False)
    for symbol, books in BOOKS.items():
        for exchange, (bid, ask, qty) in books.items():
            scanner.store.books[exchange, symbol].load_snapshot([[str(bid), str(qty)]], [[str(ask), str(qty)]],
                                                                1, 1, 100.0)
        scanner.engine.update(symbol)
    scheduler.advance(101.0)
    yield scanner
    scanner.close()


def printed(scanner: Scanner, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(scanner.view())
    return console.export_text().splitlines()


def row(lines: list[str], symbol: str, buy: str, sell: str) -> tuple[int, list[str]]:
    """The one line showing this pair, split into cells."""
    found = [(i, line) for i, line in enumerate(lines) if line.startswith(f"{symbol} ") and f" {buy} → {sell} " in line]
    assert len(found) == 1, (symbol, buy, sell, lines)
    index, line = found[0]
    return index, line.split()


def cells(state: OpenOpportunity, width: int) -> list[str]:
    """What the pair's line must hold, each number whole."""
    o, c = state.latest, state.latest.costs
    expected = [f"{c.buy_fee:.2f}", f"{c.sell_fee:.2f}", f"{o.net_profit:.2f}", f"{o.net_profit_bps:.1f}"]
    if width >= 160:
        expected.append(f"{c.gross:.2f}")
    if not o.blocked:
        expected.append(f"{c.transfer_fee:.2f}")
    return expected


NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.mark.parametrize("width", [80, 160])
def test_view_fits_the_width_with_whole_numbers_a_status_line_and_set_apart_rows(scanner, width):
    engine = scanner.engine
    kinds = {key: s.latest.costs.transfer_status.value if not s.latest.blocked else "blocked"
             for key, s in engine.open.items()}
    assert set(kinds.values()) == {"open", "unknown", "blocked"} and len(engine.suspect) == 2  # the scene is set
    lines = printed(scanner, width)
    assert all(len(line) <= width for line in lines)
    status = "\n".join(lines[:6])
    trades = sum(scanner.paper.totals.trades.values())
    assert trades > 0  # the paper trader took the opened opportunities
    paper = f"paper PnL {float(scanner.paper.pnl()):+,.2f} USDT ({trades} trades)"
    for item in ("metadata bundled, ", "min net 0.00 USDT / 0.0 bps", "cap 10,000 USDT", "max gross 500 bps",
                 "4 symbols on 3 exchanges", paper, "Ctrl-C to stop"):
        assert item in status, (item, status)
    header = next(i for i, line in enumerate(lines) if line.startswith("symbol "))
    units = lines[header + 1].split()  # under the amounts, each in its column's width
    assert units == (["base"] + ["USDT"] * 7 + ["bps", "s"] if width >= 160 else ["USDT"] * 4 + ["bps"]), units
    assert ("buy vwap" in lines[header]) is (width >= 160)
    assert "buy fee" in lines[header] and "sell fee" in lines[header] and "transfer" in lines[header]
    positions = {}
    for key, state in engine.open.items():
        index, found = row(lines, *key)
        for text in cells(state, width):
            assert text in found, (text, found)
        if width >= 160:  # size (5 significant digits) and VWAPs (6), each whole
            numbers = [float(cell) for cell in found if NUMBER.fullmatch(cell)]
            o = state.latest
            for value, digits in ((o.size, 5), (o.buy_price, 6), (o.sell_price, 6)):
                assert any(n == pytest.approx(value, rel=10.0 ** (1 - digits)) for n in numbers), (value, found)
        assert found[-1] == kinds[key]
        if kinds[key] == "blocked":
            assert found[found.index(f"{state.latest.costs.sell_fee:.2f}") + 1] == "-"  # no transfer to price
        positions[key] = index
    for key in engine.suspect:
        index, found = row(lines, *key)
        assert found[-1] == "suspect" and not any(NUMBER.fullmatch(cell) for cell in found)
        positions[key] = index
    order = sorted(positions, key=positions.get)
    groups = [("suspect" if key in engine.suspect else "blocked" if kinds[key] == "blocked" else "tradeable")
              for key in order]
    assert groups == sorted(groups, key=["tradeable", "blocked", "suspect"].index)  # tradeable first, set apart
    tradeable = [key for key in order if groups[order.index(key)] == "tradeable"]
    nets = [engine.open[key].latest.net_profit for key in tradeable]
    assert nets == sorted(nets, reverse=True)


def unreachable_config() -> Config:
    config = Config()
    config.scanner.symbols = ["BTC/USDT"]
    config.metrics.enabled = False
    for exchange in config.exchanges.values():
        exchange.ws_url = "ws://127.0.0.1:9/ws"
        exchange.rest_url = "http://127.0.0.1:9"
    return config


async def test_stdout_that_is_not_a_terminal_gets_no_view(caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="scanner.app"):
        await Scanner(unreachable_config(), load_metadata(None, 24.0)).run(1.5, view=out)
    assert out.getvalue() == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "scanner.app"]
    assert "stdout is not a terminal: no live view (metrics and logs only)" in messages
    assert any(m.startswith("metadata from ") and "network statuses older than 24 h" in m for m in messages)


async def test_a_terminal_gets_the_view_redrawn_in_place():
    master, slave = os.openpty()
    os.set_blocking(master, True)
    received = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))  # 40 rows, 80 columns
    with os.fdopen(slave, "w", encoding="utf-8") as out:
        await Scanner(unreachable_config(), load_metadata(None, 24.0)).run(2.5, view=out)
    await asyncio.sleep(0.2)
    os.close(master)
    reader.join(2)
    text = received.decode("utf-8", "replace")
    assert "\x1b[2J" not in text  # never a clear screen: redraws go over the view in place
    assert text.count("Ctrl-C to stop") >= 3  # every frame keeps its status line
    assert text.count("\x1b[1A") > 10  # cursor-up: the previous frame is overwritten
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert max(len(line) for line in re.split(r"[\r\n]", plain)) <= 80  # the pty's width


async def test_an_expired_status_is_unknown_in_the_webhook_payload(tmp_path, monkeypatch):
    """The demo on the bundled snapshot (older than the 24 h default): every opportunity.opened
    payload's costs say unknown, though the snapshot itself lists some of those routes open."""
    monkeypatch.setattr("scanner.metadata.DEFAULT_CACHE_PATH", tmp_path / "no-cache.json")
    sink = WebhookSink()
    await sink.start()
    config = Config()
    config.scanner.symbols = ["BTC/USDT", "ETH/USDT"]
    for name, exchange in config.exchanges.items():  # the exchanges whose snapshot lists networks
        exchange.enabled = name in ("binance", "okx", "bybit")
    config.metrics.enabled = False
    config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
    config.alerts.webhooks["sink"] = WebhookConfig(url=sink.url("/hook"), cooldown_seconds=0.0)
    demo = asyncio.create_task(run_demo(config))
    try:
        await sink.wait_until(lambda: len(sink.bodies("/hook")) >= 2, timeout=30)
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
        await sink.stop()
    opened = [b for b in sink.bodies("/hook") if b["type"] == "opportunity.opened"]
    assert opened and {b["costs"]["transfer_status"] for b in opened} == {"unknown"}
    snapshot = load_metadata(tmp_path / "no-cache.json")
    assert any(snapshot.transfer_route(parse_symbol(b["symbol"]).base, b["buy_exchange"], b["sell_exchange"]).status
               is Status.OPEN for b in opened)
