"""``arbscan paper report``: what paper trading earned, read from the ledger (read-only).

Values are in the quote currency most marks are quoted in, at the last mid prices the ledger
recorded (one per asset, from every symbol's usable books at each fill). PnL is the change of everything held
(balances plus transfers in transit) valued at those prices, so price moves of inventory that
was merely held do not count as profit.
"""
from __future__ import annotations

import csv
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Mapping

from .fills import ZERO
from .ledger import Key, LedgerError

RECENT_TRADES = 10
CSV_FIELDS = ["id", "event_id", "created_at", "symbol", "buy_exchange", "sell_exchange", "qty",
              "buy_filled", "buy_vwap", "buy_fee", "sell_filled", "sell_vwap", "sell_fee",
              "residual", "residual_status", "residual_pnl", "predicted", "realised", "status"]


def mark_to_market(start: Mapping[Key, Decimal], holdings: Mapping[Key, Decimal],
                   price: Callable[[str], Decimal]) -> Decimal:
    """Value of ``holdings`` minus value of ``start``, both at ``price(asset)``."""
    assets = {asset for _, asset in (*start, *holdings)}
    change = defaultdict(Decimal)
    for (_, asset), value in holdings.items():
        change[asset] += value
    for (_, asset), value in start.items():
        change[asset] -= value
    return sum((change[asset] * price(asset) for asset in assets), ZERO)


@dataclass
class _Pair:
    trades: int = 0
    ordered: Decimal = ZERO
    filled: Decimal = ZERO
    predicted: Decimal = ZERO
    realised: Decimal = ZERO
    leg_failures: int = 0
    leg_pnl: Decimal = ZERO  # what closing (or holding) the residuals gained (+) or lost (-)


@dataclass
class _Ledger:
    """Everything the report reads, as rows keyed by column name."""

    created_at: float
    start: dict[Key, Decimal]
    balances: dict[Key, Decimal]
    marks: dict[str, tuple[str, Decimal]]
    trades: list[sqlite3.Row]
    legs: dict[tuple[str, str], sqlite3.Row]  # (trade id, "buy"/"sell") -> order
    residuals: dict[str, sqlite3.Row]
    transfers: list[sqlite3.Row]
    currency: str = "USDT"
    in_transit: dict[Key, Decimal] = field(default_factory=dict)

    def price(self, asset: str) -> Decimal:
        if asset == self.currency:
            return Decimal(1)
        quote, price = self.marks.get(asset, ("", ZERO))
        return price if quote == self.currency else ZERO


def report(ledger_path: str | Path, csv_path: str | Path | None = None) -> str:
    """The paper trading report as text; with ``csv_path``, also write every trade there."""
    ledger = _read(Path(ledger_path))
    if csv_path is not None:
        write_csv(ledger, Path(csv_path))
    return "\n".join(_summary(ledger, Path(ledger_path)) + _pairs(ledger) + _exchanges(ledger) + _recent(ledger))


def _read(path: Path) -> _Ledger:
    if not path.is_file():
        raise LedgerError(f"paper ledger {path} does not exist; run the scanner with [paper] enabled = true first")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.row_factory = sqlite3.Row
            return _load(db)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise LedgerError(f"paper ledger {path} cannot be read ({exc})") from exc


def _amounts(db: sqlite3.Connection, table: str) -> dict[Key, Decimal]:
    return {(r[0], r[1]): Decimal(r[2]) for r in db.execute(f"SELECT exchange, asset, amount FROM {table}")}


def _load(db: sqlite3.Connection) -> _Ledger:
    created = db.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    ledger = _Ledger(
        created_at=float(created[0]) if created else 0.0,
        start=_amounts(db, "start_balances"),
        balances=_amounts(db, "balances"),
        marks={r["asset"]: (r["quote"], Decimal(r["price"])) for r in db.execute("SELECT * FROM marks")},
        trades=db.execute("SELECT * FROM trades ORDER BY created_at, id").fetchall(),
        legs={(r["trade_id"], r["role"]): r for r in db.execute("SELECT * FROM orders WHERE role != 'close'")},
        residuals={r["trade_id"]: r for r in db.execute("SELECT * FROM residuals")},
        transfers=db.execute("SELECT * FROM transfers ORDER BY id").fetchall(),
    )
    quotes = Counter(quote for quote, _ in ledger.marks.values())
    if quotes:
        ledger.currency = quotes.most_common(1)[0][0]
    for t in ledger.transfers:
        if t["status"] == "in_transit":
            key = (t["dst"], t["asset"])
            ledger.in_transit[key] = ledger.in_transit.get(key, ZERO) + Decimal(t["amount"]) - Decimal(t["fee"])
    return ledger


def _holdings(ledger: _Ledger) -> dict[Key, Decimal]:
    holdings = dict(ledger.balances)
    for key, value in ledger.in_transit.items():
        holdings[key] = holdings.get(key, ZERO) + value
    return holdings


def _pair_stats(ledger: _Ledger) -> dict[tuple[str, str, str], _Pair]:
    pairs: dict[tuple[str, str, str], _Pair] = defaultdict(_Pair)
    for t in ledger.trades:
        pair = pairs[t["symbol"], t["buy_exchange"], t["sell_exchange"]]
        pair.trades += 1
        for role in ("buy", "sell"):
            leg = ledger.legs[t["id"], role]
            if leg["status"] != "sent":
                pair.ordered += Decimal(leg["qty"])
                pair.filled += Decimal(leg["filled"])
        if t["status"] == "done":
            pair.predicted += Decimal(t["predicted"])
            pair.realised += Decimal(t["realised"])
        residual = ledger.residuals.get(t["id"])
        if residual is not None:
            pair.leg_failures += 1
            if residual["pnl"] is not None:
                pair.leg_pnl += Decimal(residual["pnl"])
    return pairs


def _summary(ledger: _Ledger, path: Path) -> list[str]:
    cur = ledger.currency
    holdings = _holdings(ledger)
    start_value = sum((v * ledger.price(a) for (_, a), v in ledger.start.items()), ZERO)
    value = sum((v * ledger.price(a) for (_, a), v in holdings.items()), ZERO)
    pnl = mark_to_market(ledger.start, holdings, ledger.price)
    total = _Pair()
    for pair in _pair_stats(ledger).values():
        for name in ("trades", "ordered", "filled", "predicted", "realised", "leg_failures", "leg_pnl"):
            setattr(total, name, getattr(total, name) + getattr(pair, name))
    fees = sum((Decimal(t["fee_quote"]) for t in ledger.transfers), ZERO)
    moving = sum(1 for t in ledger.transfers if t["status"] == "in_transit")
    closing = sum(1 for r in ledger.residuals.values() if r["status"] == "open")
    prices = ", ".join(f"{a} {p:.8g}" for a, (q, p) in sorted(ledger.marks.items()) if q == cur) or "none yet"
    unvalued = sorted({a for (_, a), v in (*ledger.start.items(), *holdings.items()) if v and not ledger.price(a)})
    lines = [f"paper ledger {path} (since {_utc(ledger.created_at)})",
             f"valued in {cur} at last known mid prices: {prices}"]
    if unvalued:
        lines.append(f"not valued (no {cur} price recorded): {', '.join(unvalued)}")
    lines += [
        "",
        f"PnL, marked to market   {pnl:+,.2f} {cur}   (start {start_value:,.2f} -> now {value:,.2f})",
        f"trades                  {total.trades}   fill ratio {_ratio(total.filled, total.ordered)} of ordered size",
        f"predicted profit        {total.predicted:+,.2f} {cur}   (the opportunity's profit after trading fees, "
        "at the matched size)",
        f"realised profit         {total.realised:+,.2f} {cur}   (fills, trading fees and residual closes; "
        "withdrawal fees are under transfers)",
        f"leg failures            {total.leg_failures} ({_ratio(Decimal(total.leg_failures), Decimal(total.trades))} "
        f"of trades), residual PnL {total.leg_pnl:+,.2f} {cur}" + (f", {closing} being closed" if closing else ""),
        f"transfers               {len(ledger.transfers)}, fees {fees:,.2f} {cur}" + (f", {moving} in transit" if moving else ""),
    ]
    return lines


def _pairs(ledger: _Ledger) -> list[str]:
    lines = ["", "by pair",
             f"  {'symbol':<11} {'buy':<9} {'sell':<9} {'trades':>6} {'fill':>7} {'predicted':>11} {'realised':>11} "
             f"{'leg fails':>9} {'leg PnL':>10}"]
    for (symbol, buy, sell), p in sorted(_pair_stats(ledger).items()):
        lines.append(f"  {symbol:<11} {buy:<9} {sell:<9} {p.trades:>6} {_ratio(p.filled, p.ordered):>7} "
                     f"{p.predicted:>+11,.2f} {p.realised:>+11,.2f} {p.leg_failures:>9} {p.leg_pnl:>+10,.2f}")
    return lines


def _exchanges(ledger: _Ledger) -> list[str]:
    lines = ["", "by exchange",
             f"  {'exchange':<9} {'asset':<6} {'start':>16} {'now':>16} {'in transit':>14} {'change':>16} "
             f"{'value change':>13}"]
    for key in sorted({*ledger.start, *ledger.balances, *ledger.in_transit}):
        start, now = ledger.start.get(key, ZERO), ledger.balances.get(key, ZERO)
        moving = ledger.in_transit.get(key, ZERO)
        change = now + moving - start
        lines.append(f"  {key[0]:<9} {key[1]:<6} {_num(start):>16} {_num(now):>16} {_num(moving):>14} "
                     f"{_num(change, '+'):>16} {change * ledger.price(key[1]):>+13,.2f}")
    return lines


def _recent(ledger: _Ledger) -> list[str]:
    if not ledger.trades:
        return ["", "no trades yet"]
    recent = ledger.trades[-RECENT_TRADES:]
    lines = ["", f"recent trades ({len(recent)} of {len(ledger.trades)}; all of them with --csv)",
             f"  {'time (UTC)':<19} {'symbol':<11} {'buy':<9} {'sell':<9} {'size':>12} {'filled b/s':>9} "
             f"{'predicted':>10} {'realised':>10}  status"]
    for t in recent:
        buy, sell = ledger.legs[t["id"], "buy"], ledger.legs[t["id"], "sell"]
        qty = Decimal(t["qty"])
        filled = f"{_pct(Decimal(buy['filled']), qty)}/{_pct(Decimal(sell['filled']), qty)}"
        residual = ledger.residuals.get(t["id"])
        status = t["status"] + (f", residual {residual['status']}" if residual is not None else "")
        lines.append(f"  {_utc(t['created_at']):<19} {t['symbol']:<11} {t['buy_exchange']:<9} {t['sell_exchange']:<9} "
                     f"{_num(qty):>12} {filled:>9} {Decimal(t['predicted']):>+10,.2f} "
                     f"{Decimal(t['realised']):>+10,.2f}  {status}")
    return lines


def write_csv(ledger: _Ledger, path: Path) -> None:
    """One row per trade: legs, fees, residual and predicted versus realised profit."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for t in ledger.trades:
            buy, sell = ledger.legs[t["id"], "buy"], ledger.legs[t["id"], "sell"]
            residual = ledger.residuals.get(t["id"])
            writer.writerow([
                t["id"], t["event_id"], _iso(t["created_at"]), t["symbol"], t["buy_exchange"], t["sell_exchange"],
                t["qty"], buy["filled"], _vwap(buy), buy["fee"], sell["filled"], _vwap(sell), sell["fee"],
                residual["qty"] if residual else "0", residual["status"] if residual else "",
                (residual["pnl"] or "") if residual else "", t["predicted"], t["realised"], t["status"]])


def _vwap(order: sqlite3.Row) -> str:
    filled = Decimal(order["filled"])
    return f"{(Decimal(order['quote']) / filled).normalize():f}" if filled else ""


def _ratio(part: Decimal, whole: Decimal) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _pct(part: Decimal, whole: Decimal) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _num(value: Decimal, sign: str = "") -> str:
    return f"{value:{sign}.8f}".rstrip("0").rstrip(".") if value else "0"


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
