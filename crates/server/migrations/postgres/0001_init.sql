-- Vetted's schema for PostgreSQL. Keep in step with migrations/sqlite: same tables, columns and
-- column types as seen by the queries (integers are 64-bit, flags are 0/1 integers, times are
-- Unix seconds, JSON is TEXT), so one set of queries serves both databases.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    is_staff BIGINT NOT NULL DEFAULT 0,
    is_trusted BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE plugins (
    id BIGSERIAL PRIMARY KEY,
    package_name TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    downloads BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- role: 'owner' or 'editor'.
CREATE TABLE plugin_members (
    plugin_id BIGINT NOT NULL REFERENCES plugins(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (plugin_id, user_id)
);

CREATE TABLE versions (
    id BIGSERIAL PRIMARY KEY,
    plugin_id BIGINT NOT NULL REFERENCES plugins(id),
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    approved BIGINT NOT NULL DEFAULT 0,
    experimental BIGINT NOT NULL DEFAULT 0,
    auto_approve BIGINT NOT NULL DEFAULT 0,
    skip_rules TEXT NOT NULL DEFAULT '[]',
    uploaded_by BIGINT NOT NULL REFERENCES users(id),
    file_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    qgis_min TEXT NOT NULL,
    qgis_max TEXT NOT NULL,
    downloads BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (plugin_id, version)
);

CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    version_id BIGINT NOT NULL REFERENCES versions(id),
    verdict TEXT NOT NULL,
    report TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    manual BIGINT NOT NULL,
    skipped_rules TEXT NOT NULL,
    config_files TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX scans_version ON scans(version_id);

CREATE TABLE rules (
    code TEXT PRIMARY KEY,
    enabled BIGINT NOT NULL,
    skippable BIGINT NOT NULL,
    severity TEXT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    plugin_id BIGINT NOT NULL REFERENCES plugins(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL
);

-- state: queued, running, done, failed.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    locked_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs(state, run_at);

-- Counters shared by every process, e.g. the plugins.xml generation.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('catalog_generation', 0);
