"""Live terminal view, drawn with rich: a status line, the open opportunities with their cost
breakdown (blocked and suspect pairs set apart) and feed health.

`render` builds the view for any width (tests print it on a recording ``Console``); `LiveView`
redraws it in place on a terminal. When stdout is not a terminal there is no view.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..engine.opportunity import Costs, TransferStatus
from ..engine.spread import OpenOpportunity, PairKey, SpreadEngine
from ..feeds.base import FeedStats
from ..instruments import parse_symbol
from ..metadata import Metadata, format_age

if TYPE_CHECKING:
    from ..config import Config
    from ..hedging.basis import Carry
    from ..hedging.monitor import HedgeStatus
    from ..paper import PaperTrader

TOP = 10  # tradeable rows shown
TOP_SET_APART = 5  # blocked rows, and suspect rows, shown
TOP_BASIS = 5  # (spot, perpetual) pairs shown, highest carry first
GAP = 2  # spaces between columns


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the opportunities table: an open opportunity, or a suspect pair (``state`` None)."""

    key: PairKey
    state: OpenOpportunity | None
    age: float = 0.0

    @property
    def kind(self) -> str:
        if self.state is None:
            return "suspect"
        return "blocked" if self.state.latest.blocked else self.state.latest.costs.transfer_status.value


@dataclass(frozen=True, slots=True)
class _Column:
    """A table column: ``value`` gives a number (formatted with ``digits`` significant digits, or
    ``decimals`` fixed) or text; ``drop`` > 0 columns go first on a narrow terminal, highest first."""

    name: str
    unit: str
    value: Callable[[_Row], float | str | None]
    drop: int = 0
    decimals: int | None = 2
    digits: int | None = None

    def cells(self, rows: list[_Row]) -> list[str]:
        """The column's cells, numbers right-aligned on their decimal point."""
        values = [self.value(row) for row in rows]
        texts = [v if isinstance(v, str) else "-" if v is None else self._number(v) for v in values]
        numeric = [t for v, t in zip(values, texts) if isinstance(v, float)]
        if not numeric:
            return texts
        fraction = max(len(t.partition(".")[2]) for t in numeric)
        return [_pad_fraction(t, fraction) if isinstance(v, float) else t for v, t in zip(values, texts)]

    def _number(self, value: float) -> str:
        if self.digits is None:
            return f"{value:.{self.decimals}f}"
        magnitude = math.floor(math.log10(abs(value))) if value else 0
        return f"{value:.{min(8, max(0, self.digits - 1 - magnitude))}f}"


def _pad_fraction(number: str, fraction: int) -> str:
    """``number`` padded on the right so that its decimal point sits ``fraction`` cells from the end."""
    if "." in number:
        return number + " " * (fraction - len(number.partition(".")[2]))
    return number + " " * (fraction + 1 if fraction else 0)


def _costs(row: _Row) -> Costs | None:
    return row.state.latest.costs if row.state is not None else None


def _money(attribute: str) -> Callable[[_Row], float | None]:
    def value(row: _Row) -> float | None:
        costs = _costs(row)
        return None if costs is None else float(getattr(costs, attribute))
    return value


def _net(row: _Row) -> float | None:
    return None if row.state is None else row.state.latest.net_profit


def _transfer(row: _Row) -> float | str | None:
    costs = _costs(row)
    if costs is None or costs.transfer_status is TransferStatus.BLOCKED:
        return None
    return costs.transfer_fee


def _conversion(row: _Row) -> float | None:
    """A cross-quote row's conversion cost (None: one quote, nothing converted)."""
    costs = _costs(row)
    return None if costs is None or costs.conversion is None else costs.conversion.cost


def _opportunity(attribute: str) -> Callable[[_Row], float | None]:
    def value(row: _Row) -> float | None:
        return None if row.state is None else float(getattr(row.state.latest, attribute))
    return value


def columns(quote: str) -> list[_Column]:
    """Every column, in display order; amounts in ``quote``."""
    return [
        _Column("symbol", "", lambda r: r.key[0]),
        _Column("buy → sell", "", lambda r: f"{r.key[1]} → {r.key[2]}"),
        _Column("size", "base", _opportunity("size"), drop=3, digits=5),
        _Column("buy vwap", quote, _opportunity("buy_price"), drop=6, digits=6),
        _Column("sell vwap", quote, _opportunity("sell_price"), drop=6, digits=6),
        _Column("gross", quote, _money("gross"), drop=2),
        _Column("buy fee", quote, _money("buy_fee")),
        _Column("sell fee", quote, _money("sell_fee")),
        _Column("transfer", quote, _transfer),
        _Column("convert", quote, _conversion, drop=5),
        _Column("net", quote, _net),
        _Column("net", "bps", _opportunity("net_profit_bps"), drop=1, decimals=1),
        _Column("age", "s", lambda r: None if r.state is None else r.age, drop=4, decimals=0),
        _Column("network", "", lambda r: (_costs(r).transfer_network or "-") if _costs(r) else "", drop=5),
        _Column("status", "", lambda r: r.kind),
    ]


class OpportunityTable:
    """The opportunities table, with as many columns as the width allows (never a wrapped cell)."""

    def __init__(self, rows: list[_Row], quote: str, hidden: Counter[str]):
        self.rows = rows
        self.quote = quote
        self.hidden = hidden  # kind -> rows left out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        cols = columns(self.quote)
        if not any(_conversion(row) is not None for row in self.rows):
            cols = [c for c in cols if c.value is not _conversion]  # one quote everywhere
        cells = {c: c.cells(self.rows) for c in cols}
        widths = {c: max([len(c.name), len(c.unit), *(len(t) for t in cells[c])]) for c in cols}
        for level in sorted({c.drop for c in cols}, reverse=True):
            if sum(widths.values()) + GAP * (len(widths) - 1) <= options.max_width:
                break
            cols = [c for c in cols if c.drop < level]
            widths = {c: widths[c] for c in cols}
        table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False, header_style="bold")
        for c in cols:  # every cell is padded to the column's width here: rich strips what it right-justifies
            table.add_column(f"{_fit(c.name, c, widths[c])}\n{_fit(c.unit, c, widths[c])}", justify="left",
                             no_wrap=True, min_width=widths[c], overflow="ellipsis")
        previous = None
        for i, row in enumerate(self.rows):
            group = "tradeable" if row.kind in ("open", "unknown") else row.kind
            if previous is not None and group != previous:
                table.add_row()  # blocked and suspect rows are set apart
            previous = group
            table.add_row(*(Text(_fit(cells[c][i], c, widths[c]), style=_cell_style(c, row)) for c in cols),
                          style={"blocked": "dim", "suspect": "dim italic"}.get(group, ""))
        yield table
        if not self.rows:
            yield Text("  no open opportunity right now", style="dim")
        more = ", ".join(f"{n} more {kind}" for kind, n in self.hidden.items() if n)
        if more:
            yield Text(f"  … {more}", style="dim")


def _fit(text: str, column: _Column, width: int) -> str:
    """``text`` padded to ``width``: on the left in a column of numbers (those have a unit)."""
    return f"{text:>{width}}" if column.unit else f"{text:<{width}}"


def _cell_style(column: _Column, row: _Row) -> str:
    if column.name == "status":
        return {"open": "green", "unknown": "yellow", "blocked": "red", "suspect": "magenta"}[row.kind]
    if column.name == "net" and column.unit != "bps" and row.kind == "blocked":
        return "strike"  # its net leaves out a transfer that cannot happen
    if column.name == "net" and row.kind in ("open", "unknown"):
        return "bold green"
    return ""


class StatusLine:
    """Status items packed into as few lines as the width allows; an item is never split."""

    def __init__(self, items: list[str], separator: str = "  ·  "):
        self.items = items
        self.separator = separator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = ""
        for item in self.items:
            candidate = f"{line}{self.separator}{item}" if line else item
            if line and len(candidate) > options.max_width:
                yield Text(line, style="cyan", no_wrap=True, overflow="ellipsis")
                candidate = item
            line = candidate
        if line:
            yield Text(line, style="cyan", no_wrap=True, overflow="ellipsis")


def status_items(config: Config, metadata: Metadata, metrics_url: str | None, paper: PaperTrader | None,
                 wall: float | None = None) -> list[str]:
    """What the status line says: metadata age, thresholds, symbols, metrics URL, paper PnL."""
    wall = time.time() if wall is None else wall
    quote = main_quote(config.scanner.symbols)
    scan = config.scanner
    fetched = min((ex.fetched_at for ex in metadata.data.values()), default=metadata.fetched_at)
    source = "bundled" if metadata.source == "bundled" else "cache"
    meta = f"metadata {source}, {format_age(wall - fetched)} old"
    if any(ex.statuses_expired for ex in metadata.data.values()):
        meta += f" (status over {format_age(metadata.max_status_age or 0.0)}: unknown)"
    items = [meta, f"min net {scan.min_net_profit:.2f} {quote} / {scan.min_net_bps:.1f} bps",
             f"cap {scan.notional_cap:,.0f} {quote}", f"max gross {scan.max_gross_bps:.0f} bps",
             f"{len(scan.symbols)} symbols on {len(config.enabled_exchanges())} exchanges"]
    if metrics_url:
        items.append(f"metrics {metrics_url}")
    if paper is not None:
        trades = sum(paper.totals.trades.values())
        items.append(f"paper PnL {float(paper.pnl()):+,.2f} {paper.currency} ({trades} trades)")
    items.append("Ctrl-C to stop")
    return items


def main_quote(symbols: Iterable[str]) -> str:
    """The quote most unified symbols share: the unit of the view's amounts."""
    quotes = Counter(parse_symbol(symbol).quote for symbol in symbols)
    return quotes.most_common(1)[0][0] if quotes else "quote"


def render(engine: SpreadEngine, feeds: dict[str, FeedStats], status: list[str], now: float | None = None,
           wall: float | None = None, top: int = TOP, generic: frozenset[str] = frozenset(),
           hedges: list[HedgeStatus] | None = None, carries: list[Carry] | None = None) -> RenderableType:
    """The whole view: status line, opportunities (tradeable, then blocked, then suspect), basis
    and carry (the top ``TOP_BASIS`` spot/perpetual pairs by carry), the configured hedges (a row
    each), feeds (``generic``: the exchanges read through ccxt, marked as
    lower fidelity)."""
    now = time.monotonic() if now is None else now
    wall = time.time() if wall is None else wall
    states = sorted(engine.open.values(), key=lambda s: -s.latest.net_profit)
    tradeable = [_Row(s.latest.key, s, wall - s.first_seen) for s in states if not s.latest.blocked]
    blocked = [_Row(s.latest.key, s, wall - s.first_seen) for s in states if s.latest.blocked]
    suspect = [_Row(key, None) for key in sorted(engine.suspect)]
    rows = tradeable[:top] + blocked[:TOP_SET_APART] + suspect[:TOP_SET_APART]
    hidden = Counter({"tradeable": max(0, len(tradeable) - top), "blocked": max(0, len(blocked) - TOP_SET_APART),
                      "suspect": max(0, len(suspect) - TOP_SET_APART)})
    quote = main_quote(engine.store.by_symbol)
    title = Text.assemble(("arbscan", "bold"), f"  {len(tradeable)} tradeable · {len(blocked)} blocked · "
                          f"{len(suspect)} suspect", style="")
    legend = Text("net: after both taker fees, the transfer and (two quotes, SYM>SYM) the conversion of the"
                  " proceeds into the buy quote (convert). blocked: no network open for withdrawal and "
                  "deposit, not tradeable (its net leaves out the transfer). suspect: gross spread over "
                  f"{engine.config.max_gross_bps:.0f} bps, not an opportunity.", style="dim")
    parts = [title, StatusLine(status), Text(""), OpportunityTable(rows, quote, hidden), legend, Text("")]
    if carries:
        parts += [_basis(carries), Text("")]
    if hedges:
        parts += [_hedges(hedges), Text("")]
    return Group(*parts, _feeds(engine, feeds, now, generic))


def _basis(carries: list[Carry]) -> Table:
    """The pairs with the highest carry: basis both ways, the perpetual's funding per its own
    interval, and the net carry annualised (after round-trip fees; "-" without fresh funding)."""
    table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False, header_style="bold")
    for name, justify in (("basis", "left"), ("spot", "left"), ("perp", "left"), ("carry bps", "right"),
                          ("reverse bps", "right"), ("funding", "right"), ("net /yr", "right")):
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")
    for c in sorted(carries, key=lambda c: -c.carry_bps)[:TOP_BASIS]:
        funding = "-" if c.funding_rate is None else f"{c.funding_rate:+.4%}/{c.funding_interval_hours:g}h"
        net = "-" if c.net_annualized is None else f"{c.net_annualized:+.1%}"
        table.add_row(c.asset, c.spot_exchange, c.perp_exchange, f"{c.carry_bps:+.1f}", f"{c.reverse_bps:+.1f}",
                      funding, Text(net, "bold green" if (c.net_annualized or 0) > 0 else ""))
    return table


def _hedges(hedges: list[HedgeStatus]) -> Table:
    """A row per configured hedge: ratio, net exposure, liquidation distance (and the margin that
    restores the configured one), funding since entry, and the legs gone."""
    table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False, header_style="bold")
    rows = [(h.name, "-" if h.ratio is None else f"{h.ratio:.4f}", f"{h.net_exposure:+.4g} {h.asset}",
             "-" if h.liquidation_distance is None else "none" if math.isinf(h.liquidation_distance)
             else f"{h.liquidation_distance:.1%}", f"{h.margin_to_add:,.2f}" if h.margin_to_add else "-",
             f"{h.funding_paid:+,.2f} {h.quote}") for h in hedges]
    for i, (name, justify) in enumerate((("hedge", "left"), ("ratio", "right"), ("net", "right"),
                                         ("liq dist", "right"), ("+margin", "right"), ("funding", "right"))):
        table.add_column(name, justify=justify, no_wrap=True, min_width=max(len(name), *(len(r[i]) for r in rows)))
    table.add_column("state", no_wrap=True, overflow="ellipsis")
    for h, cells in zip(hedges, rows):
        state = Text("gone: " + ", ".join(h.missing), "bold red") if h.missing else Text("ok", "green")
        table.add_row(*cells, state)
    return table


def _feeds(engine: SpreadEngine, feeds: dict[str, FeedStats], now: float,
           generic: frozenset[str] = frozenset()) -> Table:
    """One row per exchange; a generic (ccxt) exchange is marked ``(ccxt)``: lower fidelity."""
    table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False, header_style="bold")
    for name, justify in (("exchange", "left"), ("up", "left"), ("frames", "right"), ("reconnects", "right"),
                          ("resyncs", "right"), ("live books", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for exchange, stats in feeds.items():
        books = [b for (ex, _), b in engine.store.books.items() if ex == exchange]
        live = sum(b.is_usable(now) for b in books)
        name = Text(exchange) + Text(" (ccxt)", "yellow") if exchange in generic else Text(exchange)
        table.add_row(name, Text("yes", "green") if stats.up else Text("NO", "bold red"), f"{stats.messages:,}",
                      str(stats.reconnects), str(sum(stats.resyncs.values())), f"{live}/{len(books)}")
    return table


class LiveView:
    """The view redrawn in place on the terminal ``out`` (rich `Live`: one write per frame, no
    clearing into the scrollback). Log lines written meanwhile appear above it."""

    def __init__(self, out: TextIO):
        self.console = Console(file=out)
        self.live = Live(console=self.console, auto_refresh=False, redirect_stdout=True, redirect_stderr=True,
                         vertical_overflow="crop")
        self._streams: list[tuple[logging.StreamHandler, object]] = []

    @staticmethod
    def wanted(out: TextIO | None) -> bool:
        """Whether ``out`` gets a view: only a terminal does (a redirected stdout gets none)."""
        return out is not None and out.isatty()

    def start(self) -> None:
        originals = (sys.stdout, sys.stderr)
        self.live.start()
        for handler in logging.getLogger().handlers:  # logging writes through the live display
            if isinstance(handler, logging.StreamHandler) and handler.stream in originals:
                self._streams.append((handler, handler.setStream(sys.stderr)))

    def update(self, renderable: RenderableType) -> None:
        self.live.update(renderable, refresh=True)

    def stop(self) -> None:
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams.clear()
        self.live.stop()
