-- Abuse limits shared by every server process (limits.rs): one row per key and fixed window,
-- counting failed sign-ins and token attempts, and write requests per user and per client
-- address. Rows past `expires_at` are purged by the servers.
CREATE TABLE limit_counters (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX limit_counters_expires ON limit_counters (expires_at);
