"""The paper ledger: trades, orders, fills, residual positions, transfers and balances in SQLite.

Every state change is one transaction that also writes the balances it moves, and the balances
in memory change only after it commits, so a process killed at any point restarts from a ledger
whose balances are exactly the sum of what it recorded. Amounts are Decimal text.

Trade ids are unique: recording a trade twice is refused (`Ledger.insert_trade` returns False).
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .fills import ZERO, Fill

Key = tuple[str, str]  # (exchange, asset)
PairKey = tuple[str, str, str]  # (symbol, buy_exchange, sell_exchange)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS start_balances (
    exchange TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (exchange, asset));
CREATE TABLE IF NOT EXISTS balances (
    exchange TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (exchange, asset));
CREATE TABLE IF NOT EXISTS trades (
    id TEXT PRIMARY KEY, event_id TEXT NOT NULL, symbol TEXT NOT NULL,
    buy_exchange TEXT NOT NULL, sell_exchange TEXT NOT NULL, qty TEXT NOT NULL,
    opportunity_size TEXT NOT NULL, opportunity_net TEXT NOT NULL, created_at REAL NOT NULL,
    status TEXT NOT NULL, predicted TEXT NOT NULL, realised TEXT NOT NULL, settled_at REAL);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, trade_id TEXT NOT NULL REFERENCES trades (id), role TEXT NOT NULL,
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, kind TEXT NOT NULL,
    qty TEXT NOT NULL, limit_price TEXT, fee_rate TEXT NOT NULL, sent_at REAL NOT NULL,
    status TEXT NOT NULL, filled TEXT NOT NULL, quote TEXT NOT NULL, fee TEXT NOT NULL,
    arrived_at REAL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_trade ON orders (trade_id);
CREATE TABLE IF NOT EXISTS fills (
    order_id TEXT NOT NULL REFERENCES orders (id), seq INTEGER NOT NULL,
    price TEXT NOT NULL, qty TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (order_id, seq));
CREATE TABLE IF NOT EXISTS residuals (
    trade_id TEXT PRIMARY KEY REFERENCES trades (id), asset TEXT NOT NULL, qty TEXT NOT NULL,
    remaining TEXT NOT NULL, basis TEXT NOT NULL, flows TEXT NOT NULL, attempts INTEGER NOT NULL,
    status TEXT NOT NULL, opened_at REAL NOT NULL, closed_at REAL, pnl TEXT);
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY, asset TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL,
    network TEXT NOT NULL, amount TEXT NOT NULL, fee TEXT NOT NULL, fee_quote TEXT NOT NULL,
    sent_at REAL NOT NULL, arrive_at REAL NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
    asset TEXT PRIMARY KEY, quote TEXT NOT NULL, price TEXT NOT NULL, at REAL NOT NULL);
"""


class LedgerError(ValueError):
    """A ledger that cannot be opened or read; the message is one line."""


@dataclass(slots=True)
class Order:
    """One paper order. ``quote`` is cost (buy) or proceeds (sell) before the fee."""

    id: str
    trade_id: str
    role: str  # "buy" / "sell" (the trade's legs) or "close" (a residual close)
    exchange: str
    symbol: str
    side: str  # "buy" / "sell"
    kind: str  # "ioc" (limit, immediate-or-cancel) / "market"
    qty: Decimal
    limit: Decimal | None
    fee_rate: Decimal
    sent_at: float
    status: str = "sent"  # -> filled / partial / missed / lost
    filled: Decimal = ZERO
    quote: Decimal = ZERO
    fee: Decimal = ZERO
    arrived_at: float | None = None
    reason: str = ""
    reserved: Decimal = ZERO  # held back from the balance while the order travels (not stored)

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def done(self) -> bool:
        return self.status != "sent"

    @property
    def flow(self) -> Decimal:
        """Quote gained (+) or spent (-), fee included."""
        return self.quote - self.fee if not self.is_buy else -(self.quote + self.fee)


@dataclass(slots=True)
class Trade:
    """Both legs of one traded opportunity event and its outcome."""

    id: str
    event_id: str
    symbol: str
    buy_exchange: str
    sell_exchange: str
    qty: Decimal
    opportunity_size: Decimal
    opportunity_net: Decimal
    created_at: float
    buy: Order
    sell: Order
    status: str = "open"  # open (legs out) -> closing (residual being closed) -> done
    predicted: Decimal = ZERO  # the opportunity's net profit scaled to the matched size
    realised: Decimal = ZERO  # when done: quote flows of all its orders (+ a held residual's value)
    settled_at: float | None = None

    @property
    def key(self) -> PairKey:
        return (self.symbol, self.buy_exchange, self.sell_exchange)


@dataclass(slots=True)
class Residual:
    """The unmatched part of a trade: + base bought and not sold, - base sold and not bought."""

    trade_id: str
    asset: str
    qty: Decimal
    remaining: Decimal
    basis: Decimal  # quote flow of the unmatched part of the legs
    opened_at: float
    flows: Decimal = ZERO  # quote flows of the close orders so far
    attempts: int = 0
    status: str = "open"  # -> closed / held
    closed_at: float | None = None
    pnl: Decimal | None = None


@dataclass(slots=True)
class Transfer:
    asset: str
    src: str
    dst: str
    network: str
    amount: Decimal  # debited at src
    fee: Decimal  # asset units; dst receives amount - fee
    fee_quote: Decimal  # the fee valued at the time of sending
    sent_at: float
    arrive_at: float  # wall clock
    status: str = "in_transit"  # -> done
    id: int | None = None


@dataclass
class Totals:
    """Running figures for the metrics, rebuilt from the ledger on open."""

    trades: Counter[PairKey] = field(default_factory=Counter)
    predicted: Decimal = ZERO  # over finished trades
    realised: Decimal = ZERO  # over finished trades
    leg_failures: int = 0
    transfer_fees: Decimal = ZERO  # quote


class Ledger:
    """The SQLite ledger and the balances it holds (``balances``, ``start``: (exchange, asset) -> amount)."""

    def __init__(self, path: str | Path):
        try:
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise LedgerError(f"paper ledger {path}: {exc}") from exc
        self.balances: dict[Key, Decimal] = {}
        self.start: dict[Key, Decimal] = {}

    def load(self, starting: Mapping[str, Mapping[str, float]], now: float) -> bool:
        """Load the balances; on the very first run (True) record ``starting`` as both start and current."""
        with self._tx() as db:
            first = db.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone() is None
            if first:
                db.execute("INSERT INTO meta VALUES ('created_at', ?)", (repr(now),))
                rows = [(ex, asset, str(Decimal(repr(amount)))) for ex, assets in starting.items()
                        for asset, amount in assets.items()]
                db.executemany("INSERT INTO start_balances VALUES (?, ?, ?)", rows)
                db.executemany("INSERT INTO balances VALUES (?, ?, ?)", rows)
        self.start = {(ex, asset): Decimal(a) for ex, asset, a in self.conn.execute("SELECT * FROM start_balances")}
        self.balances = {(ex, asset): Decimal(a) for ex, asset, a in self.conn.execute("SELECT * FROM balances")}
        return first

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def balance(self, exchange: str, asset: str) -> Decimal:
        return self.balances.get((exchange, asset), ZERO)

    # --- writes (one transaction each) -----------------------------------------------------------

    def insert_trade(self, trade: Trade) -> bool:
        """Record a new trade and its two orders; False (nothing written) if its id exists."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (trade.id, trade.event_id, trade.symbol, trade.buy_exchange, trade.sell_exchange,
                 str(trade.qty), str(trade.opportunity_size), str(trade.opportunity_net), trade.created_at,
                 trade.status, str(trade.predicted), str(trade.realised), trade.settled_at))
            if cursor.rowcount == 0:
                return False
            for order in (trade.buy, trade.sell):
                _insert_order(db, order)
        return True

    def insert_close(self, order: Order, residual: Residual) -> None:
        """Record a residual's close order together with the residual (its attempt count)."""
        with self._tx() as db:
            _insert_order(db, order)
            _save_residual(db, residual)

    def book_order(self, order: Order, fill: Fill, deltas: Mapping[Key, Decimal],
                   marks: Iterable[tuple[str, str, Decimal]], residual: Residual | None = None) -> None:
        """Record an order's outcome, its fills, the balance changes, the (asset, quote, mid) marks
        and, for a close order, the residual it reduced."""
        with self._tx() as db:
            if residual is not None:
                _save_residual(db, residual)
            db.execute("UPDATE orders SET status = ?, filled = ?, quote = ?, fee = ?, arrived_at = ?, reason = ? "
                       "WHERE id = ?", (order.status, str(order.filled), str(order.quote), str(order.fee),
                                        order.arrived_at, order.reason, order.id))
            db.executemany("INSERT INTO fills VALUES (?, ?, ?, ?, ?)",
                           [(order.id, i, str(p), str(q), order.arrived_at) for i, (p, q) in enumerate(fill.levels)])
            _write_marks(db, marks, order.arrived_at)
            new = self._write_balances(db, deltas)
        self.balances.update(new)

    def save_marks(self, marks: Iterable[tuple[str, str, Decimal]], at: float) -> None:
        """Record (asset, quote, mid) marks as the last known prices."""
        with self._tx() as db:
            _write_marks(db, marks, at)

    def save_trade(self, trade: Trade, residual: Residual | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE trades SET status = ?, predicted = ?, realised = ?, settled_at = ? WHERE id = ?",
                       (trade.status, str(trade.predicted), str(trade.realised), trade.settled_at, trade.id))
            if residual is not None:
                _save_residual(db, residual)

    def send_transfer(self, transfer: Transfer) -> None:
        """Record a transfer and debit its source; sets ``transfer.id``."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO transfers (asset, src, dst, network, amount, fee, fee_quote, sent_at, arrive_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (transfer.asset, transfer.src, transfer.dst, transfer.network, str(transfer.amount),
                 str(transfer.fee), str(transfer.fee_quote), transfer.sent_at, transfer.arrive_at, transfer.status))
            new = self._write_balances(db, {(transfer.src, transfer.asset): -transfer.amount})
        transfer.id = cursor.lastrowid
        self.balances.update(new)

    def land_transfer(self, transfer: Transfer) -> None:
        """Credit the destination with the amount net of the fee."""
        with self._tx() as db:
            db.execute("UPDATE transfers SET status = 'done' WHERE id = ?", (transfer.id,))
            new = self._write_balances(db, {(transfer.dst, transfer.asset): transfer.amount - transfer.fee})
        transfer.status = "done"
        self.balances.update(new)

    def _write_balances(self, db: sqlite3.Connection, deltas: Mapping[Key, Decimal]) -> dict[Key, Decimal]:
        new = {key: self.balance(*key) + delta for key, delta in deltas.items() if delta}
        db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?)",
                       [(ex, asset, str(amount)) for (ex, asset), amount in new.items()])
        return new

    # --- reads for a restart ---------------------------------------------------------------------

    def abandon_unarrived(self) -> int:
        """Mark orders still travelling when the process stopped as lost; their count."""
        with self._tx() as db:
            return db.execute("UPDATE orders SET status = 'lost', reason = 'process stopped before arrival' "
                              "WHERE status = 'sent'").rowcount

    def unfinished(self) -> list[tuple[Trade, Residual | None]]:
        """Trades not done, with their residual if one is being closed."""
        rows = self.conn.execute("SELECT * FROM trades WHERE status != 'done' ORDER BY created_at, id").fetchall()
        return [(self._trade(row), self._residual(row[0])) for row in rows]

    def _trade(self, row: tuple) -> Trade:
        legs = {o.role: o for o in map(_order, self.conn.execute(
            "SELECT * FROM orders WHERE trade_id = ? AND role != 'close'", (row[0],)))}
        return Trade(*row[:5], Decimal(row[5]), Decimal(row[6]), Decimal(row[7]), row[8], legs["buy"], legs["sell"],
                     row[9], Decimal(row[10]), Decimal(row[11]), row[12])

    def _residual(self, trade_id: str) -> Residual | None:
        row = self.conn.execute("SELECT * FROM residuals WHERE trade_id = ?", (trade_id,)).fetchone()
        if row is None:
            return None
        return Residual(row[0], row[1], Decimal(row[2]), Decimal(row[3]), Decimal(row[4]), row[8],
                        Decimal(row[5]), row[6], row[7], row[9], None if row[10] is None else Decimal(row[10]))

    def in_transit(self) -> list[Transfer]:
        rows = self.conn.execute("SELECT * FROM transfers WHERE status = 'in_transit' ORDER BY id")
        return [Transfer(r[1], r[2], r[3], r[4], Decimal(r[5]), Decimal(r[6]), Decimal(r[7]), r[8], r[9], r[10], r[0])
                for r in rows]

    def marks(self) -> dict[str, tuple[str, Decimal]]:
        """asset -> (quote, last known mid price)."""
        return {asset: (quote, Decimal(price)) for asset, quote, price, _ in self.conn.execute("SELECT * FROM marks")}

    def totals(self) -> Totals:
        totals = Totals()
        for symbol, buy, sell, count in self.conn.execute(
                "SELECT symbol, buy_exchange, sell_exchange, count(*) FROM trades GROUP BY 1, 2, 3"):
            totals.trades[symbol, buy, sell] = count
        for predicted, realised in self.conn.execute("SELECT predicted, realised FROM trades WHERE status = 'done'"):
            totals.predicted += Decimal(predicted)
            totals.realised += Decimal(realised)
        totals.leg_failures = self.conn.execute("SELECT count(*) FROM residuals").fetchone()[0]
        for (fee,) in self.conn.execute("SELECT fee_quote FROM transfers"):
            totals.transfer_fees += Decimal(fee)
        return totals


def _insert_order(db: sqlite3.Connection, order: Order) -> None:
    db.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (order.id, order.trade_id, order.role, order.exchange, order.symbol, order.side, order.kind,
                str(order.qty), None if order.limit is None else str(order.limit), str(order.fee_rate),
                order.sent_at, order.status, str(order.filled), str(order.quote), str(order.fee),
                order.arrived_at, order.reason))


def _write_marks(db: sqlite3.Connection, marks: Iterable[tuple[str, str, Decimal]], at: float) -> None:
    db.executemany("INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?)",
                   [(asset, quote, str(price), at) for asset, quote, price in marks])


def _save_residual(db: sqlite3.Connection, residual: Residual) -> None:
    db.execute("INSERT OR REPLACE INTO residuals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (residual.trade_id, residual.asset, str(residual.qty), str(residual.remaining),
                str(residual.basis), str(residual.flows), residual.attempts, residual.status,
                residual.opened_at, residual.closed_at, None if residual.pnl is None else str(residual.pnl)))


def _order(row: tuple) -> Order:
    return Order(*row[:7], Decimal(row[7]), None if row[8] is None else Decimal(row[8]), Decimal(row[9]), row[10],
                 row[11], Decimal(row[12]), Decimal(row[13]), Decimal(row[14]), row[15], row[16])
