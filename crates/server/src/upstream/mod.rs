//! Upstream repositories: other plugins.xml feeds (plugins.qgis.org, another Vetted, a static
//! or exported repository, a `file:` path) whose catalogue is synced into `upstream_entries`.
//! A sync fetches the feed (conditionally, bounded), parses it (`feed.rs`, never trusted) and
//! records what is new, changed and gone; a failed sync changes nothing but `last_error`.
//! Every sync (scheduled, `vetted upstream sync`, the API or the admin page) holds the
//! upstream's lease in the database (`sync_locked_until`/`sync_locked_by`), so several servers
//! and workers on one database never sync the same upstream at once; `schedule_loop` runs in
//! `serve` and `worker` processes and syncs each upstream when it is due.

pub mod feed;
pub mod fetch;
pub mod import;

use std::collections::BTreeMap;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

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
    /// Seconds between scheduled syncs; None: the server's default; 0: never scheduled.
    pub sync_interval: Option<i64>,
    pub sync_locked_until: Option<i64>,
    pub sync_locked_by: Option<String>,
    /// The last sync's report as JSON (`SyncReport`).
    #[serde(skip)]
    pub last_report: Option<String>,
}

impl Upstream {
    /// The last sync's report, when one was stored.
    pub fn last_report(&self) -> Option<SyncReport> {
        self.last_report
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
    }
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// When the sync ran (Unix seconds).
    #[serde(default)]
    pub at: i64,
    /// Started by the schedule rather than by an admin.
    #[serde(default)]
    pub scheduled: bool,
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

/// The upstream called `name`, or an error that says there is none.
pub async fn named(db: &Db, name: &str) -> anyhow::Result<Upstream> {
    by_name(db, name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no upstream named {name:?}"))
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

/// Syncs every upstream (or the one named), then imports what their allowed plugins want.
/// Each upstream is synced under its lease; one that another process is syncing right now
/// gets a report saying so (its `error`), and is left to that process.
pub async fn sync_and_import(
    state: &crate::AppState,
    only: Option<&str>,
) -> anyhow::Result<Vec<SyncReport>> {
    let upstreams = list(&state.db).await?;
    if let Some(name) = only
        && !upstreams.iter().any(|u| u.name == name)
    {
        anyhow::bail!("there is no upstream named {name:?}");
    }
    let holder = holder_name("sync");
    let mut reports = Vec::new();
    for u in upstreams
        .iter()
        .filter(|u| only.is_none_or(|n| n == u.name))
    {
        match sync_leased(state, u, &holder, false).await? {
            Some(r) => reports.push(r),
            None => {
                let by = by_name(&state.db, &u.name)
                    .await?
                    .and_then(|u| u.sync_locked_by)
                    .unwrap_or_else(|| "another process".into());
                reports.push(SyncReport {
                    upstream: u.name.clone(),
                    error: Some(format!(
                        "{by} is syncing this upstream right now; its report will appear when it finishes"
                    )),
                    at: now(),
                    ..Default::default()
                });
            }
        }
    }
    Ok(reports)
}

/// A name for the lease holder: host, process and a counter (several servers may share one
/// process in tests).
fn holder_name(what: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}-{what}-{}",
        crate::hostname(),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// How long a sync lease lasts before another process may take the upstream over (the
/// holder renews it while it works).
fn sync_lease(config: &Config) -> Duration {
    (config.upstream_timeout * 3).max(Duration::from_secs(60))
}

/// The time between scheduled syncs of `u`, or None when it is not synced on a schedule.
pub fn interval_of(u: &Upstream, config: &Config) -> Option<Duration> {
    if config.upstream_sync_interval.is_zero() {
        return None;
    }
    match u.sync_interval {
        Some(s) if s <= 0 => None,
        Some(s) => Some(Duration::from_secs(s as u64)),
        None => Some(config.upstream_sync_interval),
    }
}

/// When `u` is next due on the schedule (Unix seconds): an interval after its last sync
/// (whoever ran it), or after it was added; None when it is not scheduled.
pub fn next_due(u: &Upstream, config: &Config) -> Option<i64> {
    let every = interval_of(u, config)?;
    Some(u.last_sync_at.unwrap_or(u.created_at) + every.as_secs() as i64)
}

/// Takes the lease whatever the schedule says (an admin's sync).
const LEASE_NOW: &str = "UPDATE upstreams SET sync_locked_until = $1, sync_locked_by = $2
     WHERE id = $3 AND (sync_locked_until IS NULL OR sync_locked_until < $4)";
/// Takes the lease only while the upstream is still due (a scheduled sync; $5 is now minus
/// its interval): once a sync finished, `last_sync_at` is recent and a second scheduler that
/// read an older row gets nothing.
const LEASE_DUE: &str = "UPDATE upstreams SET sync_locked_until = $1, sync_locked_by = $2
     WHERE id = $3 AND (sync_locked_until IS NULL OR sync_locked_until < $4)
       AND COALESCE(last_sync_at, created_at) <= $5";

/// Syncs `u` and imports what its allowed plugins want, holding its lease; None when the lease
/// is held elsewhere (or, for a scheduled sync, when it is no longer due). The report is
/// stored as the upstream's last report and the next scheduled sync set.
pub async fn sync_leased(
    state: &crate::AppState,
    u: &Upstream,
    holder: &str,
    scheduled: bool,
) -> anyhow::Result<Option<SyncReport>> {
    let db = &state.db;
    let lease = sync_lease(&state.config);
    let t = now();
    let every = interval_of(u, &state.config).map_or(0, |d| d.as_secs() as i64);
    let mut take = sqlx::query(if scheduled { LEASE_DUE } else { LEASE_NOW })
        .bind(t + lease.as_secs() as i64)
        .bind(holder)
        .bind(u.id)
        .bind(t);
    if scheduled {
        take = take.bind(t - every);
    }
    let taken = take
        .execute(&db.pool)
        .await
        .context("taking the upstream's sync lease")?
        .rows_affected()
        == 1;
    if !taken {
        return Ok(None);
    }
    let heartbeat = {
        let db = db.clone();
        let holder = holder.to_string();
        let id = u.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let renewed = sqlx::query(
                    "UPDATE upstreams SET sync_locked_until = $1
                     WHERE id = $2 AND sync_locked_by = $3",
                )
                .bind(now() + lease.as_secs() as i64)
                .bind(id)
                .bind(&holder)
                .execute(&db.pool)
                .await;
                match renewed {
                    Ok(r) if r.rows_affected() == 1 => {}
                    Ok(_) => break,
                    Err(e) => tracing::warn!("cannot renew an upstream sync lease: {e:#}"),
                }
            }
        })
    };
    let result = async {
        let client = fetch::client(&feed_limits(&state.config))?;
        let mut report = sync_one(db, &state.config, &client, u).await?;
        report.scheduled = scheduled;
        if report.error.is_none() {
            report.imports = import::import_allowed(state, u).await?;
        }
        anyhow::Ok(report)
    }
    .await;
    heartbeat.abort();
    let report_json = result
        .as_ref()
        .ok()
        .and_then(|r| serde_json::to_string(r).ok());
    sqlx::query(
        "UPDATE upstreams SET sync_locked_until = NULL, sync_locked_by = NULL,
           last_report = COALESCE($1, last_report)
         WHERE id = $2 AND sync_locked_by = $3",
    )
    .bind(report_json)
    .bind(u.id)
    .bind(holder)
    .execute(&db.pool)
    .await
    .context("releasing the upstream's sync lease")?;
    result.map(Some)
}

/// Syncs every upstream that is due; what the schedule loop runs each tick.
pub async fn run_due(state: &crate::AppState, holder: &str) -> anyhow::Result<Vec<SyncReport>> {
    let t = now();
    let mut reports = Vec::new();
    for u in list(&state.db).await? {
        if next_due(&u, &state.config).is_none_or(|due| due > t) {
            continue;
        }
        if let Some(r) = sync_leased(state, &u, holder, true).await? {
            reports.push(r);
        }
    }
    Ok(reports)
}

/// The scheduled syncs of a `serve` or `worker` process: every few seconds (at most 30, at
/// most the interval) it syncs the upstreams that are due. Off when the interval is zero.
pub async fn schedule_loop(
    state: Arc<crate::AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let every = state.config.upstream_sync_interval;
    if every.is_zero() {
        return;
    }
    let tick = every.clamp(Duration::from_secs(1), Duration::from_secs(30));
    let holder = holder_name("scheduler");
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            r = run_due(&state, &holder) => match r {
                Ok(reports) => {
                    for r in reports {
                        tracing::info!("scheduled sync: {}", r.summary());
                    }
                }
                Err(e) => tracing::warn!("scheduled upstream sync failed: {e:#}"),
            },
            // A stop does not wait for a long sync; its lease lapses and another process
            // takes the upstream over.
            _ = shutdown.changed() => return,
        }
    }
}

/// Sets an upstream's own schedule: seconds between syncs, 0 for never, None for the
/// server's default.
pub async fn set_interval(db: &Db, name: &str, interval: Option<i64>) -> anyhow::Result<()> {
    if interval.is_some_and(|s| s < 0) {
        anyhow::bail!("a sync interval is a number of seconds, 0 for never");
    }
    let r = sqlx::query("UPDATE upstreams SET sync_interval = $1 WHERE name = $2")
        .bind(interval)
        .bind(name)
        .execute(&db.pool)
        .await
        .context("setting the sync interval")?;
    if r.rows_affected() == 0 {
        anyhow::bail!("there is no upstream named {name:?}");
    }
    Ok(())
}

/// An upstream as `upstream list` and the admin page show it.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamSummary {
    #[serde(flatten)]
    pub upstream: Upstream,
    /// Entries its last successful sync listed.
    pub catalogue_size: i64,
    /// Plugins allowed from it.
    pub allowed: i64,
    pub last_report: Option<SyncReport>,
}

pub async fn summaries(db: &Db) -> anyhow::Result<Vec<UpstreamSummary>> {
    let mut out = Vec::new();
    for u in list(db).await? {
        let catalogue_size: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM upstream_entries WHERE upstream_id = $1 AND gone_at IS NULL",
        )
        .bind(u.id)
        .fetch_one(&db.pool)
        .await
        .context("counting the catalogue")?;
        let allowed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM upstream_allowed WHERE upstream_id = $1")
                .bind(u.id)
                .fetch_one(&db.pool)
                .await
                .context("counting allowed plugins")?;
        let last_report = u.last_report();
        out.push(UpstreamSummary {
            upstream: u,
            catalogue_size,
            allowed,
            last_report,
        });
    }
    Ok(out)
}

/// One page of catalogue search results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub query: String,
    pub page: usize,
    pub per_page: usize,
    pub total: usize,
    pub entries: Vec<CatalogueEntry>,
}

/// The text a catalogue entry is searched by: package, name, description, tags, author.
fn search_text(e: &FeedEntry) -> String {
    let mut text = format!("{} {}", e.package_name, e.name);
    for key in ["description", "tags", "author_name", "author"] {
        if let Some(v) = e.fields.get(key) {
            text.push(' ');
            text.push_str(v);
        }
    }
    text.to_lowercase()
}

/// Searches the entries an upstream still lists: every word of `query` must appear in the
/// package or plugin name, description, tags or author (case-insensitive); an empty query
/// lists everything. Pages count from 1.
pub async fn search(
    db: &Db,
    upstream_id: i64,
    query: &str,
    page: usize,
    per_page: usize,
) -> anyhow::Result<SearchPage> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(str::to_lowercase)
        .take(16)
        .collect();
    let per_page = per_page.clamp(1, 500);
    let page = page.max(1);
    // The database narrows by the longest word (LIKE with its wildcards escaped); the other
    // words are checked here.
    let longest = words
        .iter()
        .max_by_key(|w| w.len())
        .cloned()
        .unwrap_or_default();
    let pattern = format!(
        "%{}%",
        longest
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<(CatalogueEntry, String)> = sqlx::query_as::<_, SearchRow>(
        "SELECT package_name, version, name, download_url, file_name, experimental, create_date,
                update_date, fields, first_seen, last_seen, gone_at, search_text
         FROM upstream_entries
         WHERE upstream_id = $1 AND gone_at IS NULL AND search_text LIKE $2 ESCAPE '\\'
         ORDER BY package_name, version",
    )
    .bind(upstream_id)
    .bind(&pattern)
    .fetch_all(&db.pool)
    .await
    .context("searching the upstream catalogue")?
    .into_iter()
    .map(|r| (r.entry, r.search_text))
    .collect();
    let matching: Vec<CatalogueEntry> = rows
        .into_iter()
        .filter(|(_, text)| words.iter().all(|w| text.contains(w.as_str())))
        .map(|(e, _)| e)
        .collect();
    let total = matching.len();
    let entries = matching
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(SearchPage {
        query: query.to_string(),
        page,
        per_page,
        total,
        entries,
    })
}

#[derive(sqlx::FromRow)]
struct SearchRow {
    #[sqlx(flatten)]
    entry: CatalogueEntry,
    search_text: String,
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
        at: now(),
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
                       first_seen, last_seen, search_text)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
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
                .bind(search_text(e))
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
                       last_seen = $8, gone_at = NULL, search_text = $12
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
                .bind(search_text(e))
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

/// A plugin here and a plugin in an upstream's catalogue with the same package name, where the
/// plugin here has versions that did not come from that upstream: QGIS would merge the two,
/// Vetted never does. Shown to admins; an allowed import of it is refused.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub package_name: String,
    pub upstream: String,
    /// Versions of the plugin here that came from elsewhere (uploads or another upstream).
    pub other_versions: i64,
    /// The versions the upstream lists, oldest first.
    pub upstream_versions: String,
    /// 1 when an admin allowed the upstream's plugin (its imports are refused as conflicts).
    pub allowed: i64,
}

pub async fn conflicts(db: &Db) -> anyhow::Result<Vec<Conflict>> {
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT p.package_name, u.name, u.id,
                (SELECT COUNT(*) FROM versions v LEFT JOIN version_origins o ON o.version_id = v.id
                 WHERE v.plugin_id = p.id AND (o.upstream_id IS NULL OR o.upstream_id <> u.id)),
                (SELECT COUNT(*) FROM upstream_allowed a
                 WHERE a.upstream_id = u.id AND a.package_name = p.package_name)
         FROM plugins p
         JOIN upstreams u ON EXISTS (SELECT 1 FROM upstream_entries e
              WHERE e.upstream_id = u.id AND e.package_name = p.package_name
                AND e.gone_at IS NULL)
         ORDER BY p.package_name, u.name",
    )
    .fetch_all(&db.pool)
    .await
    .context("looking for conflicts")?;
    let mut out = Vec::new();
    for (package_name, upstream, upstream_id, other_versions, allowed) in rows {
        if other_versions == 0 {
            continue;
        }
        let mut versions: Vec<String> = sqlx::query_scalar(
            "SELECT version FROM upstream_entries
             WHERE upstream_id = $1 AND package_name = $2 AND gone_at IS NULL",
        )
        .bind(upstream_id)
        .bind(&package_name)
        .fetch_all(&db.pool)
        .await
        .context("reading the upstream's versions")?;
        versions.sort_by_key(|v| crate::routes::plugins_xml::version_key(v));
        out.push(Conflict {
            package_name,
            upstream,
            other_versions,
            upstream_versions: versions.join(", "),
            allowed,
        });
    }
    Ok(out)
}
