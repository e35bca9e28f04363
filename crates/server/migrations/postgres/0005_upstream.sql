-- Upstream repositories (other plugins.xml feeds) and the catalogue each last sync saw.
-- Keep in step with migrations/sqlite/0005_upstream.sql.
CREATE TABLE upstreams (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_sync_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);

-- One row per (plugin, version) an upstream's feed listed; `gone_at` is set when a later sync
-- no longer lists it (and cleared if it comes back). `fields` holds every feed child as JSON.
CREATE TABLE upstream_entries (
    upstream_id BIGINT NOT NULL REFERENCES upstreams(id),
    package_name TEXT NOT NULL,
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    download_url TEXT NOT NULL,
    file_name TEXT NOT NULL,
    experimental BIGINT NOT NULL DEFAULT 0,
    create_date TEXT NOT NULL,
    update_date TEXT NOT NULL,
    fields TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    gone_at BIGINT,
    PRIMARY KEY (upstream_id, package_name, version)
);

-- Plugins an admin allowed from an upstream: pinned to one version, or followed (NULL
-- pinned_version: each new upstream version is imported at sync). `approve_validated`: a
-- validated import is approved at once instead of waiting for an approver.
CREATE TABLE upstream_allowed (
    upstream_id BIGINT NOT NULL REFERENCES upstreams(id),
    package_name TEXT NOT NULL,
    pinned_version TEXT,
    approve_validated BIGINT NOT NULL DEFAULT 0,
    allowed_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, package_name)
);

-- Where an imported version came from: the upstream, the URL fetched, the file's sha256, when.
CREATE TABLE version_origins (
    version_id BIGINT PRIMARY KEY REFERENCES versions(id),
    upstream_id BIGINT NOT NULL REFERENCES upstreams(id),
    url TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
