-- Curation, second part: revocation, scheduled syncs with a lease, the last sync's report and
-- catalogue search. Keep in step with migrations/sqlite/0006_curation.sql.

-- An admin revoked this version (local or imported): it leaves plugins.xml and its download
-- refuses until an admin un-revokes it (which does not approve it again).
ALTER TABLE versions ADD COLUMN revoked_at BIGINT;
ALTER TABLE versions ADD COLUMN revoked_by BIGINT REFERENCES users(id);
ALTER TABLE versions ADD COLUMN revoke_reason TEXT;

-- Scheduled syncs: `sync_interval` in seconds (NULL: the server's default, 0: never on a
-- schedule; due `sync_interval` after `last_sync_at`), and the lease a process holds while it
-- syncs (so that several servers on one database never sync one upstream at once).
ALTER TABLE upstreams ADD COLUMN sync_interval BIGINT;
ALTER TABLE upstreams ADD COLUMN sync_locked_until BIGINT;
ALTER TABLE upstreams ADD COLUMN sync_locked_by TEXT;
-- The last sync's report (JSON): new, changed, gone, imports, error.
ALTER TABLE upstreams ADD COLUMN last_report TEXT;

-- Lower-cased name, package, description, tags and author, for `upstream search`.
ALTER TABLE upstream_entries ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE upstream_entries SET search_text = LOWER(package_name || ' ' || name);
