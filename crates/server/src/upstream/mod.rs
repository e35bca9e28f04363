//! Upstream repositories: other plugins.xml feeds (plugins.qgis.org, another Vetted, a static
//! or exported repository, a `file:` path) whose catalogue is synced into `upstream_entries`.
//! A sync fetches the feed (conditionally, bounded), parses it (`feed.rs`, never trusted) and
//! records what is new, changed and gone; a failed sync changes nothing but `last_error`.

pub mod feed;
pub mod fetch;
pub mod import;

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use crate::config::Config;
use crate::db::{Db, now};
use feed::FeedEntry;
use fetch::{Fetched, Limits, Validators};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Upstream {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// One (plugin, version) of an upstream's catalogue as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CatalogueEntry {
    pub package_name: String,
    pub version: String,
    pub name: String,
    pub download_url: String,
    pub file_name: String,
    pub experimental: i64,
    pub create_date: String,
    pub update_date: String,
    pub fields: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub gone_at: Option<i64>,
}

/// What one sync of one upstream did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub upstream: String,
    /// The feed answered 304 Not Modified: nothing to do.
    pub not_modified: bool,
    /// `package version` pairs.
    pub new: Vec<String>,
    pub changed: Vec<String>,
    pub gone: Vec<String>,
    /// Entries in the feed after parsing.
    pub entries: usize,
    /// Imports of allowed plugins after the sync (`import.rs`).
    pub imports: Vec<import::ImportOutcome>,
    /// Set when the sync failed; the stored catalogue is then unchanged.
    pub error: Option<String>,
    pub millis: u128,
}

impl SyncReport {
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("{}: sync failed: {e}", self.upstream);
        }
        if self.not_modified {
            return format!("{}: not modified since the last sync", self.upstream);
        }
        format!(
            "{}: {} entries; {} new, {} changed, {} gone; {} import(s) ({} ms)",
            self.upstream,
            self.entries,
            self.new.len(),
            self.changed.len(),
            self.gone.len(),
            self.imports.len(),
            self.millis
        )
    }
}

pub fn feed_limits(config: &Config) -> Limits {
    Limits {
        max_bytes: config.upstream_max_feed_bytes,
        connect_timeout: config.upstream_connect_timeout,
        timeout: config.upstream_timeout,
    }
}

/// Upstream names appear in URLs and command lines.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        anyhow::bail!("upstream names are 1 to 64 letters, digits, '-', '_' or '.' (got {name:?})");
    }
    Ok(())
}

fn check_url(url: &str) -> anyhow::Result<()> {
    let ok = url.starts_with("http://")
        || url.starts_with("https://")
        || url.starts_with("file:")
        || url.starts_with('/');
    if !ok || url.len() > 2000 {
        anyhow::bail!("an upstream URL is http://, https:// or file: (got {url:?})");
    }
    Ok(())
}

pub async fn add(db: &Db, name: &str, url: &str) -> anyhow::Result<Upstream> {
    check_name(name)?;
    check_url(url)?;
    if by_name(db, name).await?.is_some() {
        anyhow::bail!("an upstream named {name:?} already exists");
    }
    // A bare path is stored as a file: URL so that relative links resolve the same way.
    let url = if url.starts_with('/') {
        format!("file://{url}")
    } else {
        url.to_string()
    };
    sqlx::query("INSERT INTO upstreams (name, url, created_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(&url)
        .bind(now())
        .execute(&db.pool)
        .await
        .context("storing the upstream")?;
    by_name(db, name)
        .await?
        .context("the upstream vanished after it was added")
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Upstream>> {
    sqlx::query_as("SELECT * FROM upstreams ORDER BY name")
        .fetch_all(&db.pool)
        .await
        .context("listing upstreams")
}

pub async fn by_name(db: &Db, name: &str) -> anyhow::Result<Option<Upstream>> {
    sqlx::query_as("SELECT * FROM upstreams WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await
        .context("looking up the upstream")
}

/// The catalogue of one upstream: entries still listed, or every entry with `include_gone`.
pub async fn catalogue(
    db: &Db,
    upstream_id: i64,
    include_gone: bool,
) -> anyhow::Result<Vec<CatalogueEntry>> {
    let sql = if include_gone {
        "SELECT package_name, version, name, download_url, file_name, experimental, create_date,
                update_date, fields, first_seen, last_seen, gone_at
         FROM upstream_entries WHERE upstream_id = $1 ORDER BY package_name, version"
    } else {
        "SELECT package_name, version, name, download_url, file_name, experimental, create_date,
                update_date, fields, first_seen, last_seen, gone_at
         FROM upstream_entries WHERE upstream_id = $1 AND gone_at IS NULL
         ORDER BY package_name, version"
    };
    sqlx::query_as(sql)
        .bind(upstream_id)
        .fetch_all(&db.pool)
        .await
        .context("reading the upstream catalogue")
}

/// Syncs every upstream, or the one named.
pub async fn sync_all(
    db: &Db,
    config: &Config,
    only: Option<&str>,
) -> anyhow::Result<Vec<SyncReport>> {
    let upstreams = list(db).await?;
    if let Some(name) = only
        && !upstreams.iter().any(|u| u.name == name)
    {
        anyhow::bail!("there is no upstream named {name:?}");
    }
    let client = fetch::client(&feed_limits(config))?;
    let mut reports = Vec::new();
    for u in upstreams
        .iter()
        .filter(|u| only.is_none_or(|n| n == u.name))
    {
        reports.push(sync_one(db, config, &client, u).await?);
    }
    Ok(reports)
}

/// Syncs every upstream (or the one named), then imports what their allowed plugins want.
pub async fn sync_and_import(
    state: &crate::AppState,
    only: Option<&str>,
) -> anyhow::Result<Vec<SyncReport>> {
    let mut reports = sync_all(&state.db, &state.config, only).await?;
    for report in &mut reports {
        if report.error.is_some() {
            continue;
        }
        if let Some(u) = by_name(&state.db, &report.upstream).await? {
            report.imports = import::import_allowed(state, &u).await?;
        }
    }
    Ok(reports)
}

/// Syncs one upstream. Fetch and parse failures end up in the report (and `last_error`), not
/// as an `Err`; only a database failure is an `Err`.
pub async fn sync_one(
    db: &Db,
    config: &Config,
    client: &reqwest::Client,
    upstream: &Upstream,
) -> anyhow::Result<SyncReport> {
    let started = std::time::Instant::now();
    let mut report = SyncReport {
        upstream: upstream.name.clone(),
        ..Default::default()
    };
    let validators = Validators {
        etag: upstream.etag.clone(),
        last_modified: upstream.last_modified.clone(),
    };
    let fetched = fetch::fetch(client, &upstream.url, &validators, &feed_limits(config)).await;
    let outcome = match fetched {
        Ok(Fetched::NotModified) => {
            report.not_modified = true;
            Ok(None)
        }
        Ok(Fetched::Body { bytes, validators }) => {
            // Parsing a large feed is CPU work: off the async threads.
            let parsed = tokio::task::spawn_blocking(move || feed::parse(&bytes))
                .await
                .context("the feed parser thread failed")?;
            match parsed {
                Ok(entries) => Ok(Some((entries, validators))),
                Err(e) => Err(e.to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let t = now();
    match outcome {
        Err(message) => {
            sqlx::query("UPDATE upstreams SET last_error = $1, last_sync_at = $2 WHERE id = $3")
                .bind(&message)
                .bind(t)
                .bind(upstream.id)
                .execute(&db.pool)
                .await
                .context("recording the sync error")?;
            report.error = Some(message);
        }
        Ok(None) => {
            sqlx::query("UPDATE upstreams SET last_error = NULL, last_sync_at = $1 WHERE id = $2")
                .bind(t)
                .bind(upstream.id)
                .execute(&db.pool)
                .await
                .context("recording the sync")?;
        }
        Ok(Some((entries, validators))) => {
            report.entries = entries.len();
            store_catalogue(db, upstream.id, &entries, &mut report).await?;
            sqlx::query(
                "UPDATE upstreams SET last_error = NULL, last_sync_at = $1, etag = $2,
                   last_modified = $3 WHERE id = $4",
            )
            .bind(t)
            .bind(&validators.etag)
            .bind(&validators.last_modified)
            .bind(upstream.id)
            .execute(&db.pool)
            .await
            .context("recording the sync")?;
        }
    }
    report.millis = started.elapsed().as_millis();
    tracing::info!("{}", report.summary());
    Ok(report)
}

fn fields_json(entry: &FeedEntry) -> String {
    serde_json::to_string(&entry.fields).unwrap_or_else(|_| "{}".into())
}

/// Compares the feed with the stored catalogue and writes the difference in one transaction.
async fn store_catalogue(
    db: &Db,
    upstream_id: i64,
    entries: &[FeedEntry],
    report: &mut SyncReport,
) -> anyhow::Result<()> {
    let stored: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT package_name, version, fields, gone_at FROM upstream_entries
         WHERE upstream_id = $1",
    )
    .bind(upstream_id)
    .fetch_all(&db.pool)
    .await
    .context("reading the stored catalogue")?;
    let stored: BTreeMap<(String, String), (String, Option<i64>)> = stored
        .into_iter()
        .map(|(p, v, f, g)| ((p, v), (f, g)))
        .collect();
    let t = now();
    let mut tx = db.begin_write().await.context("starting a transaction")?;
    let mut listed = std::collections::HashSet::new();
    for e in entries {
        let key = (e.package_name.clone(), e.version.clone());
        let label = format!("{} {}", e.package_name, e.version);
        let fields = fields_json(e);
        listed.insert(key.clone());
        match stored.get(&key) {
            None => {
                sqlx::query(
                    "INSERT INTO upstream_entries (upstream_id, package_name, version, name,
                       download_url, file_name, experimental, create_date, update_date, fields,
                       first_seen, last_seen)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                )
                .bind(upstream_id)
                .bind(&e.package_name)
                .bind(&e.version)
                .bind(&e.name)
                .bind(&e.download_url)
                .bind(&e.file_name)
                .bind(e.experimental as i64)
                .bind(&e.create_date)
                .bind(&e.update_date)
                .bind(&fields)
                .bind(t)
                .execute(&mut *tx)
                .await
                .context("storing a catalogue entry")?;
                report.new.push(label);
            }
            Some((old_fields, gone)) => {
                if gone.is_some() {
                    report.new.push(label);
                } else if *old_fields != fields {
                    report.changed.push(label);
                }
                sqlx::query(
                    "UPDATE upstream_entries SET name = $1, download_url = $2, file_name = $3,
                       experimental = $4, create_date = $5, update_date = $6, fields = $7,
                       last_seen = $8, gone_at = NULL
                     WHERE upstream_id = $9 AND package_name = $10 AND version = $11",
                )
                .bind(&e.name)
                .bind(&e.download_url)
                .bind(&e.file_name)
                .bind(e.experimental as i64)
                .bind(&e.create_date)
                .bind(&e.update_date)
                .bind(&fields)
                .bind(t)
                .bind(upstream_id)
                .bind(&e.package_name)
                .bind(&e.version)
                .execute(&mut *tx)
                .await
                .context("updating a catalogue entry")?;
            }
        }
    }
    for ((package, version), (_, gone)) in &stored {
        if gone.is_none() && !listed.contains(&(package.clone(), version.clone())) {
            sqlx::query(
                "UPDATE upstream_entries SET gone_at = $1
                 WHERE upstream_id = $2 AND package_name = $3 AND version = $4",
            )
            .bind(t)
            .bind(upstream_id)
            .bind(package)
            .bind(version)
            .execute(&mut *tx)
            .await
            .context("marking a catalogue entry gone")?;
            report.gone.push(format!("{package} {version}"));
        }
    }
    tx.commit().await.context("committing the sync")?;
    Ok(())
}

/// Where an imported version came from (`version_origins`), and whether its upstream still
/// lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    pub upstream: String,
    pub url: String,
    pub sha256: String,
    pub imported_at: i64,
    /// The upstream's last sync no longer listed this version (it stays served if approved).
    pub gone_upstream: bool,
}

pub async fn origin_of(db: &Db, version_id: i64) -> anyhow::Result<Option<Origin>> {
    let row: Option<(String, String, String, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT u.name, o.url, o.sha256, o.imported_at, e.gone_at,
                CASE WHEN e.upstream_id IS NULL THEN 1 ELSE 0 END
         FROM version_origins o
         JOIN upstreams u ON u.id = o.upstream_id
         JOIN versions v ON v.id = o.version_id
         JOIN plugins p ON p.id = v.plugin_id
         LEFT JOIN upstream_entries e ON e.upstream_id = o.upstream_id
              AND e.package_name = p.package_name AND e.version = v.version
         WHERE o.version_id = $1",
    )
    .bind(version_id)
    .fetch_optional(&db.pool)
    .await
    .context("reading the version's origin")?;
    Ok(row.map(
        |(upstream, url, sha256, imported_at, gone_at, missing)| Origin {
            upstream,
            url,
            sha256,
            imported_at,
            gone_upstream: gone_at.is_some() || missing != 0,
        },
    ))
}
