-- v8: guest profiles kept current in the same transaction as the events that change them
-- (daemon/profiles.py LiveProfiles). One row per reservation the log holds (its latest version,
-- its match keys and its linked check), the merges of duplicate profiles (undone ones kept as
-- history). A store that already has events rebuilds them from its log on the next start.
CREATE TABLE profile_members (
    reservation TEXT PRIMARY KEY,
    profile     TEXT,
    phone       TEXT,
    email       TEXT,
    name        TEXT,
    "check"     TEXT,
    time        TEXT,
    source      TEXT,
    data        TEXT NOT NULL
);
CREATE INDEX profile_members_profile ON profile_members (profile);
CREATE INDEX profile_members_phone ON profile_members (phone);
CREATE INDEX profile_members_email ON profile_members (email);
CREATE INDEX profile_members_name ON profile_members (name);
CREATE INDEX profile_members_check ON profile_members ("check");
CREATE TABLE profile_merges (
    merge  TEXT PRIMARY KEY,
    a      TEXT NOT NULL,
    b      TEXT NOT NULL,
    by     TEXT NOT NULL,
    at     INTEGER NOT NULL,
    undone INTEGER
);
INSERT INTO meta (key, value)
    SELECT 'profiles.rebuild', '1' WHERE EXISTS (SELECT 1 FROM events);
