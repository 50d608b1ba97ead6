-- v1: the event log, rejected inputs, the outbox, snapshots and the stored table objects.
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
