"""The SQLite store: the append-only event log, snapshots, the transactional outbox.

One connection, used from one thread (the engine's writer). WAL with `synchronous=FULL`: every
commit that gates an ack is on disk before the ack leaves (NORMAL may roll back the last commits
on power loss). Any sqlite error is a `StoreError`, which is fatal: the daemon stops and systemd
restarts it on a state rebuilt from the log, rather than carrying on with a log it cannot trust.

The schema is the files in daemon/schema/ (NNNN_name.sql), applied in order with a version table;
stores made before that table are read by their `PRAGMA user_version`. Beside the log it keeps the
closed-checks projection (daemon/core/closed_checks.py), written in the same transaction as its
events.
Pruning (settled outbox rows, old snapshots, dead letters) runs from daemon/janitor.py, never on
the hot path; a `.clean` mark left by a clean close lets the next open skip the full-file check.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from floorlink.daemon.core.events import upcast
from floorlink.daemon.core.state import Effect, Event
from floorlink.daemon.core.text import safe_text

SNAPSHOTS_KEPT = 3

#: Store versions before the version table: their DDL is migrations 1 and 2, read from the
#: `PRAGMA user_version` they left. Every store also keeps `user_version` equal to its version.
SCHEMA_PACKAGE = "floorlink.daemon"
SCHEMA_DIR = "schema"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements, split where SQLite says a statement is complete."""
        out, buf = [], ""
        for line in self.sql.splitlines(keepends=True):
            if not buf and (not line.strip() or line.lstrip().startswith("--")):
                continue
            buf += line
            if sqlite3.complete_statement(buf):
                out.append(buf.strip())
                buf = ""
        if buf.strip():
            raise StoreError(f"schema/{self.version:04d}_{self.name}.sql ends mid-statement")
        return out


def migrations() -> list[Migration]:
    """daemon/schema/NNNN_name.sql in version order, numbered 1, 2, 3... without gaps."""
    found = []
    for entry in resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_DIR).iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    if [mig.version for mig in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"schema files are not numbered 1..n: {[m.version for m in found]}")
    return found


#: Dead letters kept; older ones are pruned (a flood of garbage must not fill the SD card).
DEAD_LETTERS_KEPT = 10_000


class StoreError(Exception):
    """The store cannot be trusted or written: fatal by design."""


@dataclass(frozen=True, slots=True)
class Written:
    """What one input left in the log: its events, effects, the tables it changed and the
    closed-checks rows it changed."""

    events: Sequence[Event]
    effects: Sequence[Effect]
    tables: dict[str, dict[str, Any]]
    checks: Sequence[Mapping[str, Any]] = ()


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


#: A clean shutdown skips the start-up integrity check for this long (the janitor checks in
#: the background meanwhile): `PRAGMA quick_check` reads the whole file, 0.65 s on 168 MB.
INTEGRITY_MAX_AGE_S = 24 * 3600


def one_line(text: str, limit: int = 300) -> str:
    """A reason fit for one log line or one line on stderr."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def quick_check(db: sqlite3.Connection) -> str | None:
    """None when SQLite finds the file sound; else its first findings on one line."""
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check(3)").fetchall()]
    return None if rows == ["ok"] else one_line("; ".join(rows))


@dataclass(slots=True)
class Pruned:
    """Rows one pruning pass removed, by what they were."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Store:
    def __init__(self, path: Path | str, dead_letters_kept: int | None = None) -> None:
        self.path = str(path)
        self.dead_letters_kept = dead_letters_kept or DEAD_LETTERS_KEPT
        self._db: sqlite3.Connection | None = None
        self._readonly = False
        #: Epoch s of the last full integrity check of this file (carried in the clean mark).
        self.checked_at: float | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    @property
    def _mark(self) -> Path | None:
        return None if self.path == ":memory:" else Path(self.path + ".clean")

    # ---- lifecycle -----------------------------------------------------------------------

    def open(self, now_s: float | None = None) -> None:
        """Open, check integrity, migrate. Raises StoreError with a reason a person can act on.

        The integrity check is skipped only when the file is exactly as a clean shutdown left it
        (size and mtime in the `.clean` mark, no WAL) and was fully checked within a day."""
        now_s = time.time() if now_s is None else now_s
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            trusted = self._take_clean_mark(now_s)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 5000")
            if not trusted:
                problem = quick_check(db)
                if problem is not None:
                    db.close()
                    raise StoreError(f"{self.path} failed its integrity check: {problem}")
                self.checked_at = now_s
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            # A bounded page cache (4 MiB, not the default ~8): the hot set is small, and a
            # 1 GB box should not keep a burst's pages.
            db.execute("PRAGMA cache_size = -4096")
            db.execute("PRAGMA foreign_keys = ON")
            self._db = db
            self._migrate(int(now_s * 1000))
        except sqlite3.Error as exc:
            raise StoreError(one_line(f"cannot open the store {self.path}: {exc}")) from exc

    def open_readonly(self) -> None:
        """Open for reading only, as it is (no check, no migration): for one-shot readers."""
        try:
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._readonly = True
        except sqlite3.Error as exc:
            raise StoreError(one_line(f"cannot open the store {self.path}: {exc}")) from exc

    def _take_clean_mark(self, now_s: float) -> bool:
        """Read and remove the clean-shutdown mark: True when it still describes the file."""
        mark = self._mark
        if mark is None or not mark.exists():
            return False
        try:
            raw = json.loads(mark.read_text())
            mark.unlink()
            st = os.stat(self.path)
        except (OSError, ValueError):
            return False
        wal = Path(self.path + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return False
        checked = raw.get("checked")
        same = raw.get("size") == st.st_size and raw.get("mtime_ns") == st.st_mtime_ns
        if same and isinstance(checked, int | float) and now_s - checked < INTEGRITY_MAX_AGE_S:
            self.checked_at = float(checked)
            return True
        return False

    def version(self) -> int:
        """The schema version: the version table's, or `user_version` for a store made before it."""
        db = self.db
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        has_table = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"
        ).fetchone()
        if has_table:
            row = db.execute("SELECT max(version) FROM schema_versions").fetchone()
            version = max(version, int(row[0] or 0))
        return version

    def _migrate(self, now: int) -> None:
        """Apply the schema files this store has not seen, all in one transaction."""
        known = migrations()
        have = self.version()
        if have > len(known):
            raise StoreError(
                f"{self.path} has schema version {have}, newer than this Floorlink knows "
                f"({len(known)}): install the newer Floorlink or restore a backup"
            )
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER)"
            )
            db.executemany(  # applied before the version table existed: when is unknown
                "INSERT OR IGNORE INTO schema_versions (version, name, applied) VALUES (?,?,NULL)",
                [(m.version, m.name) for m in known[:have]],
            )
            for mig in known[have:]:
                for stmt in mig.statements():
                    db.execute(stmt)
                db.execute(
                    "INSERT INTO schema_versions (version, name, applied) VALUES (?,?,?)",
                    (mig.version, mig.name, now),
                )
                db.execute(f"PRAGMA user_version = {mig.version}")
            db.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    def release_memory(self) -> None:
        """Free this connection's page cache (bounded, but full after a burst; it fills again
        as it is used)."""
        try:
            self.db.execute("PRAGMA shrink_memory")
        except sqlite3.Error as exc:
            raise StoreError(one_line(f"cannot release memory: {exc}")) from exc

    def close(self, clean: bool = True) -> None:
        """Checkpoint, close, and (when `clean`) leave the mark that lets the next start skip the
        integrity check. After a store failure the caller passes clean=False."""
        if self._db is None:
            return
        if self._readonly:
            self._db.close()
            self._db = None
            return
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()
            self._db = None
        mark = self._mark
        if clean and mark is not None and self.checked_at is not None:
            try:
                st = os.stat(self.path)
                body = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "checked": self.checked_at}
                mark.write_text(json.dumps(body))
            except OSError:
                pass  # no mark: the next start checks the file, which is only slower

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
            # An older stored body is read at its type's current version (core/events.py).
            yield Event(source, eid, etype, at, upcast(etype, json.loads(data)), seq=seq)

    def known(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Which of these (source, eid) were seen: None for stored, the error for rejected.
        One query per 200 keys (both tables, by their (source, eid) indexes), not two per key."""
        found: dict[tuple[str, str], str | None] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 200):
            chunk = unique[i : i + 200]
            values = ",".join("(?,?)" for _ in chunk)
            params = [part for key in chunk for part in key]
            cur = self.db.execute(
                f"WITH k(source, eid) AS (VALUES {values})"
                " SELECT r.source, r.eid, r.error FROM k CROSS JOIN rejected r"
                " ON r.source = k.source AND r.eid = k.eid"
                " UNION ALL SELECT e.source, e.eid, NULL FROM k CROSS JOIN events e"
                " ON e.source = k.source AND e.eid = k.eid",
                params,
            )
            for source, eid, error in cur:
                key = (source, eid)
                if error is None or key not in found:
                    found[key] = None if error is None else str(error)
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
        if written.checks:
            self.write_closed_checks(written.checks)

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
                "DELETE FROM dead_letters WHERE id <= ?", (cur.lastrowid - self.dead_letters_kept,)
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
        """Write a snapshot and drop all but the newest `SNAPSHOTS_KEPT` in the same commit: a
        flood writes one every `snapshot_every` events, and the janitor's hourly round would
        let them pile up to gigabytes (and a start that spends minutes deleting them)."""
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

    # ---- the closed-checks projection ----------------------------------------------------

    def write_closed_checks(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Upsert projection rows (inside the caller's transaction)."""
        self.db.executemany(
            f"INSERT OR REPLACE INTO closed_checks ({_CHECK_SQL}) VALUES"
            f" ({','.join('?' * len(CHECK_COLUMNS))})",
            [_check_params(r) for r in rows],
        )

    def closed_checks(
        self, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        """Projection rows that closed or were voided in [start, end) (every row without bounds),
        in check order."""
        sql = f"SELECT {_CHECK_SQL} FROM closed_checks"
        params: tuple[int, ...] = ()
        if start is not None and end is not None:
            sql += " WHERE (closed >= ? AND closed < ?) OR (voided >= ? AND voided < ?)"
            params = (start, end, start, end)
        cur = self.db.execute(sql + ' ORDER BY "check"', params)
        return [_check_row(r) for r in cur]

    def replace_closed_checks(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """The whole projection rebuilt from the log (inside the caller's transaction)."""
        self.db.execute("DELETE FROM closed_checks")
        self.write_closed_checks(rows)
        self.db.execute("DELETE FROM meta WHERE key = 'closed_checks.rebuild'")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ---- pruning (the janitor's, in short transactions off the hot path) -----------------

    def prune_outbox(self, before: int, limit: int = 5000) -> int:
        """Delete up to `limit` outbox rows settled (done, dead, expired) before `before` ms."""
        return self._delete(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
            " WHERE state != 'pending' AND done_at < ? ORDER BY done_at LIMIT ?)",
            (before, limit),
        )

    def prune_rejected(self, before: int, limit: int = 5000) -> int:
        """Delete up to `limit` refusals received before `before` ms (a resend after that long is
        decided again, and refused again for the same reason)."""
        return self._delete(
            "DELETE FROM rejected WHERE rowid IN (SELECT rowid FROM rejected"
            " WHERE received < ? ORDER BY received LIMIT ?)",
            (before, limit),
        )

    def prune_snapshots(self, kept: int = SNAPSHOTS_KEPT) -> int:
        """Keep the newest `kept` snapshots (older ones are the fallback for a corrupt newest)."""
        return self._delete(
            "DELETE FROM snapshots WHERE seq NOT IN"
            " (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
            (kept,),
        )

    def prune_dead_letters(self) -> int:
        """Keep the newest `dead_letters_kept` dead letters."""
        return self._delete(
            "DELETE FROM dead_letters WHERE id NOT IN"
            " (SELECT id FROM dead_letters ORDER BY id DESC LIMIT ?)",
            (self.dead_letters_kept,),
        )

    def _delete(self, sql: str, params: tuple[Any, ...]) -> int:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            n = self.db.execute(sql, params).rowcount
            self.db.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        return int(n)

    def counts(self) -> dict[str, int]:
        """Rows per pruned table (for tests and `floorlink doctor`)."""
        return {
            t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("outbox", "rejected", "snapshots", "dead_letters", "closed_checks")
        }


#: The projection's columns: check, table, covers, server, opened, first course, printed, closed,
#: voided, total, tip, items (a JSON list), and the seq of the event that last changed the row.
CHECK_COLUMNS = (
    "check", "table", "covers", "server", "opened", "first_course", "printed", "closed",
    "voided", "total", "tip", "items", "seq", "courses",
)  # fmt: skip
_JSON_COLUMNS = ("items", "courses")
_CHECK_SQL = ", ".join(f'"{c}"' for c in CHECK_COLUMNS)


def _check_params(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in CHECK_COLUMNS)


def _check_row(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(CHECK_COLUMNS, values, strict=True))
    for c in _JSON_COLUMNS:
        row[c] = json.loads(row[c])
    return row
