-- v3: the closed-checks projection (ended checks as the floor sees them), written in the same
-- transaction as the events that change it. A store that already has events rebuilds it from
-- its log on the next start (the `meta` flag below).
CREATE TABLE closed_checks (
    "check"      TEXT PRIMARY KEY,
    "table"      TEXT NOT NULL,
    covers       INTEGER,
    server       TEXT,
    opened       INTEGER NOT NULL,
    first_course INTEGER,
    printed      INTEGER,
    closed       INTEGER,
    voided       INTEGER,
    total        TEXT,
    tip          TEXT,
    items        TEXT NOT NULL,
    seq          INTEGER NOT NULL
);
CREATE INDEX closed_checks_closed ON closed_checks (closed);
CREATE INDEX closed_checks_voided ON closed_checks (voided);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value)
    SELECT 'closed_checks.rebuild', '1' WHERE EXISTS (SELECT 1 FROM events);
