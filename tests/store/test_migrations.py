"""Schema migrations: every earlier store version opens and ends on the current schema, with its
data, a version table that says what was applied, and the closed-checks projection rebuilt."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from old_schema import make_old_store
from store_helpers import T0, config_for

from floorlink.daemon.app import build_state
from floorlink.daemon.core.closed_checks import rows_of
from floorlink.daemon.engine import Engine
from floorlink.daemon.replay import replay_and_compare
from floorlink.daemon.store import Store, StoreError, migrations

LOG = [
    ("pos:T1", "e1", "check.opened", T0, json.dumps({"check": "A", "table": "1", "guests": 2})),
    ("pos:T1", "e2", "check.transferred", T0 + 60_000, json.dumps({"check": "A", "table": "2"})),
    ("pos:T1", "e3", "check.closed", T0 + 3_600_000, json.dumps({"check": "A", "total": "50.00"})),
]


def schema(path: Path) -> set[tuple[str, str]]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    out = {(n, " ".join((s or "").split())) for n, s in rows}
    db.close()
    return out


def test_the_schema_files_are_numbered_without_gaps() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "initial" and found[1].name == "dead_letters"
    assert all(m.statements() for m in found)


def test_a_new_store_gets_every_migration_and_records_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")
    store.open()
    assert store.version() == len(migrations())
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(migrations())
    applied = store.db.execute("SELECT version, name, applied FROM schema_versions").fetchall()
    assert [(v, n) for v, n, _ in applied] == [(m.version, m.name) for m in migrations()]
    assert all(a is not None for _, _, a in applied)
    assert store.meta("closed_checks.rebuild") is None  # nothing to rebuild in an empty log
    store.close()


@pytest.mark.parametrize("version", [1, 2])
async def test_a_store_from_an_earlier_version_migrates_cleanly(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.db"
    make_old_store(path, version, LOG)
    config = config_for(path)
    engine = Engine(Store(path), lambda: build_state(config))
    await engine.open()
    store = engine.store
    assert store.version() == len(migrations())
    versions = store.db.execute("SELECT version, applied FROM schema_versions ORDER BY version")
    rows = versions.fetchall()
    assert [v for v, _ in rows] == [m.version for m in migrations()]
    assert all(applied is None for v, applied in rows if v <= version)  # before the table
    assert all(applied is not None for v, applied in rows if v > version)
    # the data is all there, and the new projection was filled from the old log
    assert engine.state.seq == 3 and engine.state.floor.states["2"].status == "bussing"
    assert store.counts()["outbox"] == 1
    [row] = store.closed_checks()
    assert (row["check"], row["table"], row["covers"], row["total"]) == ("A", "2", 2, "50.00")
    assert store.meta("closed_checks.rebuild") is None
    assert {r["check"]: r for r in store.closed_checks()} == rows_of(
        build_state(config), store.events()
    )
    await engine.close()
    # the migrated store has exactly the schema a new one has
    fresh = tmp_path / "fresh.db"
    Store(fresh).open()
    assert schema(path) == schema(fresh)
    assert replay_and_compare(config)["equal"]


def test_a_store_from_a_newer_floorlink_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this Floorlink knows"):
        Store(path).open()


def test_a_migration_that_fails_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_old_store(path, 1, LOG)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE dead_letters (x)")  # in the way of migration 2
    db.close()
    with pytest.raises(StoreError, match="already exists"):
        Store(path).open()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
    assert "closed_checks" not in names and "schema_versions" not in names
    db.close()
