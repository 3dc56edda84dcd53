"""Durable SQLite outbox: one row per (event, target), written before any delivery attempt.

Durability: WAL journal with ``synchronous=FULL``. WAL alone (``NORMAL``) already survives a
killed process, because a committed transaction is in the WAL file even if it was never
synced; but after a power loss or kernel crash everything since the last checkpoint could be
gone. ``FULL`` syncs the WAL on each commit, so an admitted alert survives that too. The price
is one fsync per admitted alert or delivery (~0.3 ms here), which the cooldown and rate limit
keep to a few per second: off the hot path in practice.

``locking_mode=EXCLUSIVE`` keeps a second arbscan process off the same outbox (it would send
every alert twice); the kernel drops the lock when the owner dies, even by ``kill -9``.

The write-ahead log is kept small (``wal_autocheckpoint`` of 32 pages, ``journal_size_limit``
128 KiB, and a ``wal_checkpoint(TRUNCATE)`` from ``maintain``): left alone it grows to 4 MiB
and more, and filled a 1 MiB volume in 40 s.

A write that fails (disk full...) raises ``sqlite3.Error``; ``cause`` says why in words. The
removal of a delivered row (or the dead mark of a refused one) never raises: if it cannot be
written, the row is remembered in memory as settled, never handed out again, and the change is
written with the next write that succeeds.

Opened opportunities are remembered per target, with the ``opportunity.closed`` to send if
arbscan stops before the engine closes them (``left_open``), until their close is written.

Only the event loop's thread touches the connection; the depth/oldest figures it keeps in
memory may be read from the metrics thread.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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
CREATE TABLE IF NOT EXISTS open_opportunity (   -- opened at a target, its close not yet written
    target TEXT NOT NULL,
    event_id TEXT NOT NULL,             -- id of the opportunity.opened
    close_id TEXT NOT NULL,             -- id and body of the opportunity.closed sent if arbscan
    close_body BLOB NOT NULL,           -- stops before the engine closes it
    created_at REAL NOT NULL,
    PRIMARY KEY (target, event_id)
);
"""
WAL_PAGES = 32  # checkpoint once the write-ahead log holds this many pages (128 KiB)...
WAL_LIMIT = 128 * 1024  # ...and truncate it back to this size after each checkpoint
MAX_OPEN = 10_000  # open opportunities remembered per target; the oldest are forgotten beyond


class OutboxError(RuntimeError):
    """The outbox file cannot be used (disk full, read-only, locked by another process...)."""


# (sqlite primary result codes, text of sqlite's message, reason label, what it means for the user)
_CAUSES = (
    ((13,), "database or disk is full", "disk_full",
     "the disk is full; free space or set alerts.outbox_path to a file on another disk"),
    ((8, 3), "readonly database", "read_only",
     "it cannot be written (read-only file system or no write permission); set alerts.outbox_path"
     " to a writable file"),
    ((5, 6), "is locked", "locked", "it is locked (is another arbscan using it?)"),
    ((26, 11), "not a database", "corrupt",
     "it is not an arbscan outbox (not an SQLite database, or damaged); move it aside or set"
     " alerts.outbox_path"),
    ((26, 11), "malformed", "corrupt",
     "it is damaged (database disk image is malformed); move it aside or set alerts.outbox_path"),
    ((10,), "disk I/O error", "io_error", "disk I/O error; check the disk holding it"),
)
LOST_REASONS = (*dict.fromkeys(reason for _, _, reason, _ in _CAUSES), "other")


def cause(exc: sqlite3.Error) -> tuple[str, str]:
    """Why a sqlite error happened: (reason label from LOST_REASONS, what it means in words)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    message = str(exc)
    for codes, text, reason, meaning in _CAUSES:
        if text in message and (primary is None or primary in codes):
            return reason, meaning
    for codes, _, reason, meaning in _CAUSES:
        if primary in codes:
            return reason, f"{meaning} ({message})"
    return "other", message


def _open_cause(path: str, exc: sqlite3.Error) -> str:
    """The cause of a failure to open ``path``, naming a missing or unwritable directory."""
    if "unable to open" not in str(exc):
        return cause(exc)[1]
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"directory {directory} does not exist; create it or set alerts.outbox_path"
    if os.statvfs(directory).f_flag & os.ST_RDONLY:
        return f"the file system holding {directory} is read-only; set alerts.outbox_path to a writable place"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"permission denied in {directory}; set alerts.outbox_path to a writable place"
    return f"it cannot be opened ({exc}); set alerts.outbox_path to a writable file"


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
    close: tuple[str, bytes] | None = None  # an open: (id, body) of its close if arbscan stops first
    closes: str | None = None  # a close: the id of the open it ends


@dataclass(frozen=True, slots=True)
class LeftOpen:
    """An opportunity whose open was written for ``target`` and whose close was not."""

    target: str
    event_id: str
    close_id: str
    close_body: bytes


class Outbox:
    """The outbox file, plus per-target depth and oldest-row time kept in memory."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        created = not os.path.exists(self.path)
        self._db: sqlite3.Connection | None = None
        self._settled: dict[int, tuple[str, float] | None] = {}  # seq -> None (delivered) or (error, dead_at)
        try:
            self._db = sqlite3.connect(self.path, timeout=2.0)
            for pragma in ("locking_mode=EXCLUSIVE", "journal_mode=WAL", "synchronous=FULL",
                           f"wal_autocheckpoint={WAL_PAGES}", f"journal_size_limit={WAL_LIMIT}"):
                self._db.execute(f"PRAGMA {pragma}")
            self._migrate()
            self.depth: dict[str, int] = {}
            self.oldest: dict[str, float] = {}  # target -> created_at of its first pending row
            for target, count, oldest in self._db.execute(
                    "SELECT target, COUNT(*), MIN(created_at) FROM outbox WHERE dead_at IS NULL GROUP BY target"):
                self.depth[target], self.oldest[target] = count, oldest
            self.open_count: dict[str, int] = dict(self._db.execute(
                "SELECT target, COUNT(*) FROM open_opportunity GROUP BY target").fetchall())
        except (sqlite3.Error, OutboxError) as exc:
            self._abandon(created)
            if isinstance(exc, OutboxError):
                raise
            raise OutboxError(f"alert outbox {self.path}: {_open_cause(self.path, exc)}") from None

    def _abandon(self, created: bool) -> None:
        """Close after a failed start, removing the files if this start created them."""
        if self._db is not None:
            self._db.close()
        if created:
            for suffix in ("", "-wal", "-journal", "-shm"):
                with suppress(OSError):  # not created, or on a read-only file system
                    os.remove(self.path + suffix)

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise OutboxError(f"alert outbox {self.path} has schema {version}; this arbscan knows {SCHEMA_VERSION}")
        self._db.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One durable transaction, which first writes what earlier failed writes left settled in memory."""
        with self._db:
            for seq, dead in self._settled.items():
                if dead is None:
                    self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
                else:
                    self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead_at = ?"
                                     " WHERE seq = ?", (*dead, seq))
            yield
        self._settled.clear()

    def add(self, entries: Iterable[Entry], now: float) -> list[Entry]:
        """Write ``entries`` in one durable transaction; returns those that were new
        (an event already queued for a target is not queued twice). Raises sqlite3.Error."""
        added = []
        opened: dict[str, int] = {}
        with self._transaction():
            for e in entries:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (target, event_id, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
                    (e.target, e.event_id, e.type, e.body, now))
                if cur.rowcount:
                    added.append(e)
                if e.close is not None:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO open_opportunity (target, event_id, close_id, close_body, created_at)"
                        " VALUES (?, ?, ?, ?, ?)", (e.target, e.event_id, *e.close, now))
                    opened[e.target] = opened.get(e.target, 0) + cur.rowcount
                if e.closes is not None:
                    cur = self._db.execute("DELETE FROM open_opportunity WHERE target = ? AND event_id = ?",
                                           (e.target, e.closes))
                    opened[e.target] = opened.get(e.target, 0) - cur.rowcount
            for target, change in opened.items():
                opened[target] = self.open_count.get(target, 0) + change
                if opened[target] > MAX_OPEN:
                    self._db.execute("DELETE FROM open_opportunity WHERE rowid IN (SELECT rowid FROM"
                                     " open_opportunity WHERE target = ? ORDER BY rowid LIMIT ?)",
                                     (target, opened[target] - MAX_OPEN))
                    opened[target] = MAX_OPEN
        self.open_count.update(opened)
        for e in added:
            self.depth[e.target] = self.depth.get(e.target, 0) + 1
            self.oldest.setdefault(e.target, now)
        return added

    def left_open(self) -> list[LeftOpen]:
        """Opportunities opened at a target whose close was never written, oldest first."""
        return [LeftOpen(*found) for found in self._db.execute(
            "SELECT target, event_id, close_id, close_body FROM open_opportunity ORDER BY rowid")]

    def forget_open(self, target: str) -> None:
        """Forget the open opportunities of ``target`` (it no longer takes their closes)."""
        with self._transaction():
            self._db.execute("DELETE FROM open_opportunity WHERE target = ?", (target,))
        self.open_count.pop(target, None)

    def _pending(self, target: str, limit: int = 1) -> list[Row]:
        """The oldest ``limit`` pending rows of ``target`` not settled in memory."""
        found = self._db.execute(
            "SELECT seq, target, event_id, type, body, created_at, attempts FROM outbox"
            " WHERE target = ? AND dead_at IS NULL ORDER BY seq LIMIT ?", (target, limit + len(self._settled)))
        return [row for row in (Row(*f) for f in found) if row.seq not in self._settled][:limit]

    def head(self, target: str) -> Row | None:
        """The oldest pending row of ``target``."""
        rows = self._pending(target)
        return rows[0] if rows else None

    def delivered(self, row: Row) -> None:
        """Forget a row that the target accepted (never handed out again, even if that cannot be written)."""
        self._settle(row, None, "delivered")

    def failed(self, row: Row, error: str) -> None:
        """Record a failed attempt (the row stays pending). Raises sqlite3.Error."""
        with self._transaction():
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                             (error, row.seq))

    def dead(self, row: Row, error: str, now: float) -> None:
        """Mark a row as permanently failed; it stays in the file for inspection."""
        self._settle(row, (error, now), "undeliverable")

    def _settle(self, row: Row, dead: tuple[str, float] | None, what: str) -> None:
        self._settled[row.seq] = dead
        try:
            with self._transaction():
                pass
        except sqlite3.Error as exc:
            log.warning("alert outbox %s: alert %s for target %s is %s but that cannot be written: %s;"
                        " it is not sent again, and is written with the next write that succeeds",
                        self.path, row.event_id, row.target, what, cause(exc)[1])
        self._removed(row.target)

    def _removed(self, target: str) -> None:
        self.depth[target] -= 1
        first = self._pending(target)
        if first:
            self.oldest[target] = first[0].created_at
        else:
            self.oldest.pop(target, None)

    def maintain(self) -> None:
        """Write what is settled only in memory and truncate the write-ahead log. Raises sqlite3.Error."""
        with self._transaction():
            pass
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    @property
    def unsaved(self) -> int:
        """Rows settled in memory whose change is not written yet."""
        return len(self._settled)

    def close(self) -> None:
        self._db.close()
