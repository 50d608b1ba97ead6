-- v6: each ended check's course fire times (course -> first fired, ms), for the turn-phase report
-- (seated -> apps -> entrees fired -> check dropped -> paid). The projection is rebuilt from the
-- log on the next start so old rows get them too.
ALTER TABLE closed_checks ADD COLUMN courses TEXT NOT NULL DEFAULT '{}';
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'closed_checks.rebuild', '1' WHERE EXISTS (SELECT 1 FROM events);
