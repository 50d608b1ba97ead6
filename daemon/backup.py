"""`floorlink backup` and `floorlink restore`: copies of the store that are safe to take while the
daemon runs and writes, and a restore that refuses anything that is not a sound Floorlink store.

The copy uses SQLite's online backup API in one step: under WAL a reader never blocks the writer,
so the daemon keeps committing while the copy reads one consistent snapshot of the database
(the log, the outbox and the snapshots, all as of one commit). A plain `cp` of a WAL store can
tear between the main file and its `-wal`; this cannot. Each copy is written beside its final
name, checked with `PRAGMA integrity_check`, made a single self-contained file (journal mode
DELETE), synced and renamed into place, so a backup folder never holds half a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: The tables every Floorlink store has had since its first schema version.
REQUIRED_TABLES = frozenset({"events", "outbox", "snapshots", "tables"})
BACKUP_NAME = "floorlink-{stamp}.db"
BACKUP_RE = re.compile(r"^floorlink-\d{8}T\d{6}Z\.db$")


class BackupError(Exception):
    """A backup or restore that did not happen, with the reason a person can act on."""


@dataclass(frozen=True, slots=True)
class StoreFacts:
    path: Path
    schema: int
    events: int
    size: int


def known_schema() -> int:
    """The newest schema version this Floorlink knows: what a fresh store migrates to."""
    from floorlink.daemon.store import Store

    store = Store(":memory:")
    store.open()
    try:
        version: int = store.db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        store.close()
    return version


def inspect(path: Path) -> StoreFacts:
    """Read-only checks that `path` is a sound Floorlink store this version can run on."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not an SQLite database, so not a Floorlink store")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from None
    try:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"{path} failed PRAGMA integrity_check: {'; '.join(result[:5])}")
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = REQUIRED_TABLES - names
        if missing:
            raise BackupError(
                f"{path} is not a Floorlink store (no {', '.join(sorted(missing))} table)"
            )
        schema = int(db.execute("PRAGMA user_version").fetchone()[0])
        events = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable Floorlink store: {exc}") from None
    finally:
        db.close()
    newest = known_schema()
    if schema < 1:
        raise BackupError(f"{path} is not a Floorlink store (schema version {schema})")
    if schema > newest:
        raise BackupError(
            f"{path} was written by a newer Floorlink (schema {schema}, this one knows up to "
            f"{newest}): upgrade first, or restore a backup taken before the upgrade"
        )
    return StoreFacts(path, schema, events, path.stat().st_size)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """One consistent copy of `source` into the new file `target`, as a single file on disk."""
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)  # pages=-1: every page in one step, one read snapshot
        dest.execute("PRAGMA journal_mode = DELETE")
        result = dest.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"the copy failed its integrity check: {result}")
    finally:
        dest.close()
    with target.open("rb") as f:
        os.fsync(f.fileno())


def backup(store_path: Path, dest: Path, now: datetime | None = None) -> StoreFacts:
    """Copy the store to `dest` (a file, or a folder that gets a dated file); safe while the
    daemon runs. Returns what the copy holds."""
    if not store_path.is_file():
        raise BackupError(f"{store_path}: no store here yet (has the daemon ever started?)")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = dest / BACKUP_NAME.format(stamp=stamp) if dest.is_dir() else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {store_path}: {exc}") from None
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        _copy(source, partial)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {store_path} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    os.replace(partial, target)
    _fsync_dir(target.parent)
    return inspect(target)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dated backups in `folder`; returns what was deleted."""
    dated = sorted(p for p in folder.iterdir() if BACKUP_RE.match(p.name))
    gone = dated[: max(0, len(dated) - keep)]
    for path in gone:
        path.unlink()
    return gone


def holders(store_path: Path) -> list[int]:
    """Process ids that hold the store (or its WAL) open: a running daemon. Reads /proc, so it
    sees other users' processes only as root, which is how restore is run on a box."""
    names = {str(store_path.resolve()), f"{store_path.resolve()}-wal"}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in names:
                        pids.append(int(entry.name))
                        break
    return pids


def restore(backup_file: Path, store_path: Path, now: datetime | None = None) -> Path | None:
    """Put `backup_file` in place of the store. The daemon must be stopped. The store being
    replaced is kept as a backup beside it first; returns that file (None if there was none)."""
    facts = inspect(backup_file)
    running = holders(store_path)
    if running:
        raise BackupError(
            f"the store {store_path} is open in process {', '.join(map(str, running))} "
            "(the daemon is running): stop it first with `sudo systemctl stop floorlink`"
        )
    kept: Path | None = None
    if store_path.exists():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        kept = store_path.with_name(f"{store_path.name}.before-restore-{stamp}")
        try:
            backup(store_path, kept, now)
        except BackupError as exc:
            # A store too damaged to copy is what a restore is for: keep its bytes as they are.
            kept.unlink(missing_ok=True)
            os.replace(store_path, kept)
            for suffix in ("-wal", "-shm"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
            print(f"the current store could not be copied ({exc}); moved it to {kept}")
    store_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{facts.path}?mode=ro", uri=True)
    # Into the existing file when there is one: the live path keeps its owner and mode, and
    # SQLite itself clears the old WAL.
    dest = sqlite3.connect(store_path, isolation_level=None)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = WAL")
        dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result = dest.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"the restored store failed its integrity check: {result}")
    except sqlite3.Error as exc:
        raise BackupError(f"restore into {store_path} failed: {exc}") from None
    finally:
        dest.close()
        source.close()
    _match_owner(store_path)
    return kept


def _match_owner(store_path: Path) -> None:
    """Run as root, a new store file would belong to root: give it the folder's owner."""
    if os.geteuid() != 0:
        return
    folder = store_path.parent.stat()
    for path in (store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, folder.st_uid, folder.st_gid)
