-- Upstream repositories (other plugins.xml feeds) and the catalogue each last sync saw.
-- Keep in step with migrations/postgres/0005_upstream.sql.
CREATE TABLE upstreams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_sync_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);

-- One row per (plugin, version) an upstream's feed listed; `gone_at` is set when a later sync
-- no longer lists it (and cleared if it comes back). `fields` holds every feed child as JSON.
CREATE TABLE upstream_entries (
    upstream_id INTEGER NOT NULL REFERENCES upstreams(id),
    package_name TEXT NOT NULL,
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    download_url TEXT NOT NULL,
    file_name TEXT NOT NULL,
    experimental INTEGER NOT NULL DEFAULT 0,
    create_date TEXT NOT NULL,
    update_date TEXT NOT NULL,
    fields TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    gone_at INTEGER,
    PRIMARY KEY (upstream_id, package_name, version)
);
