"""Durable SQLite outbox: one row per (event, target), written before any delivery attempt.

Durability: WAL journal with ``synchronous=FULL``. WAL alone (``NORMAL``) already survives a
killed process, because a committed transaction is in the WAL file even if it was never
synced; but after a power loss or kernel crash everything since the last checkpoint could be
gone. ``FULL`` syncs the WAL on each commit, so an admitted alert survives that too. The price
is one fsync per admitted alert or delivery (~0.3 ms here), which the cooldown and rate limit
keep to a few per second: off the hot path in practice.

``locking_mode=EXCLUSIVE`` keeps a second arbscan process off the same outbox (it would send
every alert twice); the kernel drops the lock when the owner dies, even by ``kill -9``.

Only the event loop's thread touches the connection; the depth/oldest figures it keeps in
memory may be read from the metrics thread.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,            -- insertion order: delivery order per target
    target TEXT NOT NULL,               -- config name of the target, never its URL
    event_id TEXT NOT NULL,             -- the webhook-id, stable across retries and restarts
    type TEXT NOT NULL,
    body BLOB NOT NULL,                 -- canonical JSON payload
    created_at REAL NOT NULL,           -- unix seconds
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,                    -- redacted
    dead_at REAL,                       -- set on permanent failure; NULL while pending
    UNIQUE (target, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (target, seq) WHERE dead_at IS NULL;
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be used (locked by another process, newer schema...)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One pending delivery."""

    seq: int
    target: str
    event_id: str
    type: str
    body: bytes
    created_at: float
    attempts: int


@dataclass(frozen=True, slots=True)
class Entry:
    """An alert to write for one target."""

    target: str
    event_id: str
    type: str
    body: bytes


class Outbox:
    """The outbox file, plus per-target depth and oldest-row time kept in memory."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=2.0)
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # locked, or not a database
            raise OutboxError(f"alert outbox {self.path}: {exc} (is another arbscan using it?)") from None
        self.depth: dict[str, int] = {}
        self.oldest: dict[str, float] = {}  # target -> created_at of its first pending row
        for target, count, oldest in self._db.execute(
                "SELECT target, COUNT(*), MIN(created_at) FROM outbox WHERE dead_at IS NULL GROUP BY target"):
            self.depth[target], self.oldest[target] = count, oldest

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise OutboxError(f"alert outbox {self.path} has schema {version}; this arbscan knows {SCHEMA_VERSION}")
        self._db.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    def add(self, entries: Iterable[Entry], now: float) -> list[Entry]:
        """Write ``entries`` in one durable transaction; returns those that were new
        (an event already queued for a target is not queued twice)."""
        added = []
        with self._db:
            for e in entries:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (target, event_id, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
                    (e.target, e.event_id, e.type, e.body, now))
                if cur.rowcount:
                    added.append(e)
        for e in added:
            self.depth[e.target] = self.depth.get(e.target, 0) + 1
            self.oldest.setdefault(e.target, now)
        return added

    def head(self, target: str) -> Row | None:
        """The oldest pending row of ``target``."""
        found = self._db.execute(
            "SELECT seq, target, event_id, type, body, created_at, attempts FROM outbox"
            " WHERE target = ? AND dead_at IS NULL ORDER BY seq LIMIT 1", (target,)).fetchone()
        return Row(*found) if found else None

    def delivered(self, row: Row) -> None:
        """Forget a row that the target accepted."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (row.seq,))
        self._removed(row.target)

    def failed(self, row: Row, error: str) -> None:
        """Record a failed attempt (the row stays pending)."""
        with self._db:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                             (error, row.seq))

    def dead(self, row: Row, error: str, now: float) -> None:
        """Mark a row as permanently failed; it stays in the file for inspection."""
        with self._db:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead_at = ? WHERE seq = ?",
                             (error, now, row.seq))
        self._removed(row.target)

    def _removed(self, target: str) -> None:
        self.depth[target] -= 1
        found = self._db.execute("SELECT created_at FROM outbox WHERE target = ? AND dead_at IS NULL"
                                 " ORDER BY seq LIMIT 1", (target,)).fetchone()
        if found is None:
            self.oldest.pop(target, None)
        else:
            self.oldest[target] = found[0]

    def close(self) -> None:
        self._db.close()
