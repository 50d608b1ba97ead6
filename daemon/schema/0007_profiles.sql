-- v7: guest profiles (daemon/profiles.py), rebuilt deterministically from the log, and the keys
-- (normalised phone, email) the lookup on seating goes through.
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    last_visit  TEXT,
    spend_cents INTEGER NOT NULL,
    data        TEXT NOT NULL
);
CREATE TABLE profile_keys (
    key     TEXT PRIMARY KEY,
    profile TEXT NOT NULL REFERENCES profiles (id)
);
CREATE INDEX profile_keys_profile ON profile_keys (profile);
