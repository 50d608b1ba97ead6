"""The DDL earlier Floorlink versions shipped, verbatim, to build old stores in tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: Version 1 (the MIGRATIONS tuple's first entry before schema files).
V1 = """
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
"""

#: Version 2 added the dead letters.
V2 = """
CREATE TABLE dead_letters (
    id       INTEGER PRIMARY KEY,
    source   TEXT NOT NULL,
    eid      TEXT,
    reason   TEXT NOT NULL,
    payload  BLOB,
    received INTEGER NOT NULL
);
"""

OLD = {1: (V1,), 2: (V1, V2)}


def make_old_store(path: Path, version: int, events: list[tuple[str, str, str, int, str]]) -> None:
    """A store as Floorlink at `version` left it: its DDL, `user_version`, and a log of
    (source, eid, type, at, data-json) events."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for script in OLD[version]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {version}")
    db.executemany(
        "INSERT INTO events (seq, source, eid, type, at, data, received) VALUES (?,?,?,?,?,?,?)",
        [(n, *e, e[3]) for n, e in enumerate(events, start=1)],
    )
    db.execute(
        "INSERT INTO outbox (consumer, key, seq, type, payload, created, state, done_at)"
        " VALUES ('cloud', 'k1', 1, 'table.status', '{}', 1, 'done', 2)"
    )
    db.close()
