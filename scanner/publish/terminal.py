"""Live terminal view: top opportunities with their cost breakdown, and feed health."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from ..engine.spread import SpreadEngine
from ..feeds.base import FeedStats

CLEAR = "\x1b[H\x1b[2J"


def render(engine: SpreadEngine, feeds: dict[str, FeedStats], now: float | None = None, top: int = 10) -> str:
    """The view as text (pure, for tests and for non-TTY output)."""
    now = time.monotonic() if now is None else now
    wall = time.time()
    lines = ["arbscan - open opportunities (net after taker fees and transfer cost)", ""]
    header = f"{'symbol':<11}{'buy':<9}{'sell':<9}{'size':>11}{'buy vwap':>13}{'sell vwap':>13}" \
             f"{'gross':>9}{'fees':>9}{'transfer':>10}{'net':>9}{'bps':>7}{'age s':>7}  network"
    lines.append(header)
    states = sorted(engine.open.values(), key=lambda s: -s.latest.net_profit)
    for state in states[:top]:
        o, c = state.latest, state.latest.costs
        network = f"{c.transfer_network or '-'} ({c.transfer_status.value})"
        lines.append(f"{o.symbol:<11}{o.buy_exchange:<9}{o.sell_exchange:<9}{o.size:>11.5g}{o.buy_price:>13.6g}"
                     f"{o.sell_price:>13.6g}{c.gross:>9.2f}{c.buy_fee + c.sell_fee:>9.2f}{c.transfer_fee:>10.2f}"
                     f"{c.net:>9.2f}{o.net_profit_bps:>7.1f}{wall - state.first_seen:>7.1f}  {network}")
    if not states:
        lines.append("  (none right now)")
    lines += ["", f"{'exchange':<10}{'up':<5}{'frames':>10}{'reconnects':>12}{'resyncs':>9}{'live books':>12}"]
    for exchange, stats in feeds.items():
        books = [b for (ex, _), b in engine.store.books.items() if ex == exchange]
        live = sum(b.is_usable(now) for b in books)
        lines.append(f"{exchange:<10}{'yes' if stats.up else 'NO':<5}{stats.messages:>10}{stats.reconnects:>12}"
                     f"{sum(stats.resyncs.values()):>9}{f'{live}/{len(books)}':>12}")
    return "\n".join(lines) + "\n"


def show(engine: SpreadEngine, feeds: dict[str, FeedStats], out: TextIO = sys.stdout) -> None:
    text = render(engine, feeds)
    out.write(CLEAR + text if out.isatty() else text + "\n")
    out.flush()
