-- v2: inputs that could not be processed, kept with their reason (bounded, newest kept).
CREATE TABLE dead_letters (
    id       INTEGER PRIMARY KEY,
    source   TEXT NOT NULL,
    eid      TEXT,
    reason   TEXT NOT NULL,
    payload  BLOB,
    received INTEGER NOT NULL
);
