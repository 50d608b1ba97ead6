"""The SQLite store: the append-only event log, snapshots, the transactional outbox.

One connection, used from one thread (the engine's writer). WAL with `synchronous=FULL`: every
commit that gates an ack is on disk before the ack leaves (NORMAL may roll back the last commits
on power loss). Any sqlite error is a `StoreError`, which is fatal: the daemon stops and systemd
restarts it on a state rebuilt from the log, rather than carrying on with a log it cannot trust.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floorlink.daemon.core.state import Effect, Event
from floorlink.daemon.core.text import safe_text

SNAPSHOTS_KEPT = 3

MIGRATIONS: tuple[str, ...] = (
    # v1
    """
    CREATE TABLE events (
        seq      INTEGER PRIMARY KEY,
        source   TEXT NOT NULL,
        eid      TEXT NOT NULL,
        type     TEXT NOT NULL,
        at       INTEGER NOT NULL,
        data     TEXT NOT NULL,
        received INTEGER NOT NULL,
        UNIQUE (source, eid)
    );
    CREATE TABLE rejected (
        source   TEXT NOT NULL,
        eid      TEXT NOT NULL,
        type     TEXT,
        error    TEXT NOT NULL,
        received INTEGER NOT NULL,
        PRIMARY KEY (source, eid)
    );
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY,
        consumer   TEXT NOT NULL,
        key        TEXT NOT NULL UNIQUE,
        seq        INTEGER NOT NULL,
        type       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created    INTEGER NOT NULL,
        state      TEXT NOT NULL DEFAULT 'pending',
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        done_at    INTEGER
    );
    CREATE INDEX outbox_pending ON outbox (consumer, id) WHERE state = 'pending';
    CREATE TABLE snapshots (
        seq     INTEGER PRIMARY KEY,
        state   TEXT NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE tables (
        id     TEXT PRIMARY KEY,
        seq    INTEGER NOT NULL,
        object TEXT NOT NULL
    );
    """,
    # v2: inputs that could not be processed, kept with their reason (bounded, newest kept)
    """
    CREATE TABLE dead_letters (
        id       INTEGER PRIMARY KEY,
        source   TEXT NOT NULL,
        eid      TEXT,
        reason   TEXT NOT NULL,
        payload  BLOB,
        received INTEGER NOT NULL
    );
    """,
)

#: Dead letters kept; older ones are pruned (a flood of garbage must not fill the SD card).
DEAD_LETTERS_KEPT = 10_000


class StoreError(Exception):
    """The store cannot be trusted or written: fatal by design."""


@dataclass(frozen=True, slots=True)
class Written:
    """What one input left in the log: its events, effects and the tables it changed."""

    events: Sequence[Event]
    effects: Sequence[Effect]
    tables: dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    consumer: str
    key: str
    seq: int
    type: str
    payload: dict[str, Any]
    created: int
    attempts: int


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    # ---- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Open, check integrity, migrate. Raises StoreError with a reason a person can act on."""
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 5000")
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise StoreError(f"{self.path} failed its integrity check: {ok}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            self._db = db
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in script.split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {n}")
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
                self._db = None

    # ---- reading -------------------------------------------------------------------------

    def latest_snapshot(self) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def events(self, after: int = 0) -> Iterator[Event]:
        cur = self.db.execute(
            "SELECT seq, source, eid, type, at, data FROM events WHERE seq > ? ORDER BY seq",
            (after,),
        )
        for seq, source, eid, etype, at, data in cur:
            yield Event(source, eid, etype, at, json.loads(data), seq=seq)

    def known(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Which of these (source, eid) were seen: None for stored, the error for rejected."""
        found: dict[tuple[str, str], str | None] = {}
        for source, eid in keys:
            row = self.db.execute(
                "SELECT 1 FROM events WHERE source = ? AND eid = ?", (source, eid)
            ).fetchone()
            if row:
                found[(source, eid)] = None
                continue
            row = self.db.execute(
                "SELECT error FROM rejected WHERE source = ? AND eid = ?", (source, eid)
            ).fetchone()
            if row:
                found[(source, eid)] = str(row[0])
        return found

    def stored_tables(self) -> dict[str, str]:
        return {tid: obj for tid, obj in self.db.execute("SELECT id, object FROM tables")}

    # ---- writing -------------------------------------------------------------------------

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def write(self, written: Written, now: int) -> None:
        """One input's events, effects and table views (inside the caller's transaction)."""
        db = self.db
        db.executemany(
            "INSERT INTO events (seq, source, eid, type, at, data, received)"
            " VALUES (?,?,?,?,?,?,?)",
            [(e.seq, e.source, e.eid, e.type, e.at, dumps(e.data), now) for e in written.events],
        )
        if written.effects:
            db.executemany(
                "INSERT OR IGNORE INTO outbox (consumer, key, seq, type, payload, created)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (f.consumer, f.key, f.seq, f.type, dumps(f.payload), now)
                    for f in written.effects
                ],
            )
        if written.tables:
            db.executemany(
                "INSERT INTO tables (id, seq, object) VALUES (?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, object = excluded.object",
                [(tid, obj["seq"], dumps(obj)) for tid, obj in written.tables.items()],
            )

    def write_rejected(self, source: str, eid: str, etype: str, error: str, now: int) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO rejected (source, eid, type, error, received)"
            " VALUES (?,?,?,?,?)",
            (source, eid, etype, error, now),
        )

    def write_dead_letter(
        self, source: str, eid: str | None, reason: str, payload: bytes | None, now: int
    ) -> None:
        """Keep an input we could not process, with why (texts made storable first)."""
        cur = self.db.execute(
            "INSERT INTO dead_letters (source, eid, reason, payload, received) VALUES (?,?,?,?,?)",
            (safe_text(source), None if eid is None else safe_text(eid), safe_text(reason),
             payload, now),
        )  # fmt: skip
        if cur.lastrowid is not None and cur.lastrowid % 1000 == 0:
            self.db.execute(
                "DELETE FROM dead_letters WHERE id <= ?", (cur.lastrowid - DEAD_LETTERS_KEPT,)
            )

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT id, source, eid, reason, received FROM dead_letters ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        keys = ("id", "source", "eid", "reason", "received")
        return [dict(zip(keys, row, strict=True)) for row in cur]

    def last_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def snapshots(self) -> list[tuple[int, str]]:
        """Every kept snapshot, newest first."""
        cur = self.db.execute("SELECT seq, state FROM snapshots ORDER BY seq DESC")
        return [(int(seq), str(state)) for seq, state in cur]

    def write_snapshot(self, seq: int, state: str, now: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO snapshots (seq, state, created) VALUES (?,?,?)",
            (seq, state, now),
        )
        self.db.execute(
            "DELETE FROM snapshots WHERE seq NOT IN"
            " (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
            (SNAPSHOTS_KEPT,),
        )

    def write_tables(self, tables: dict[str, dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO tables (id, seq, object) VALUES (?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, object = excluded.object",
            [(tid, obj["seq"], dumps(obj)) for tid, obj in tables.items()],
        )

    # ---- the outbox ----------------------------------------------------------------------

    def outbox_pending(self, consumer: str, limit: int) -> list[OutboxRow]:
        cur = self.db.execute(
            "SELECT id, consumer, key, seq, type, payload, created, attempts FROM outbox"
            " WHERE consumer = ? AND state = 'pending' ORDER BY id LIMIT ?",
            (consumer, limit),
        )
        return [OutboxRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in cur]

    def outbox_settle(
        self, ids: Sequence[int], state: str, now: int, error: str | None = None
    ) -> None:
        """Mark rows done / dead / expired in one transaction of their own."""
        if not ids:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "UPDATE outbox SET state = ?, done_at = ?, last_error = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(state, now, error, i) for i in ids],
            )
            self.db.execute("COMMIT")
        except sqlite3.Error:
            self.rollback()
            raise

    def outbox_stats(self) -> dict[str, tuple[int, int | None]]:
        """consumer -> (pending rows, created ms of the oldest pending)."""
        cur = self.db.execute(
            "SELECT consumer, count(*), min(created) FROM outbox WHERE state = 'pending'"
            " GROUP BY consumer"
        )
        return {c: (int(n), oldest) for c, n, oldest in cur}

    def outbox_dead(self) -> dict[str, int]:
        cur = self.db.execute(
            "SELECT consumer, count(*) FROM outbox WHERE state = 'dead' GROUP BY consumer"
        )
        return {c: int(n) for c, n in cur}
