//! Catalogue re-scans (`vetted admin rescan`): every stored version scanned again with the
//! current rules, after a rule or scanner change.
//!
//! [`plan`] scans in this process and changes nothing: it lists the versions whose status the
//! current rules would change (`--dry-run`). [`enqueue`] puts one catalogue job per version in
//! the durable queue, where any worker (a `vetted worker`, a server's in-process worker, or the
//! admin command's own) takes it; a catalogue scan stores its report and changes the status only
//! where the verdict changed (`scan_job::run`). [`progress`] counts a batch's jobs by state.

use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use sqlx::Any;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::db::{Plugin, Version, status};
use crate::jobs::{self, JobPayload, RESCAN_KIND};
use crate::scan_job;

/// Which stored versions a re-scan covers.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these plugins (package names); all plugins when empty.
    pub plugins: Vec<String>,
}

/// One version whose status the current rules would change.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub plugin: String,
    pub version: String,
    pub from: String,
    pub to: String,
    /// Whether the version is approved now (a change to `blocked` withdraws the approval).
    pub approved: bool,
    /// Rule codes of the critical findings under the current rules.
    pub critical: Vec<String>,
}

/// A version the dry run could not scan.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub plugin: String,
    pub version: String,
    pub error: String,
}

/// What a catalogue re-scan would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub scanned: usize,
    pub unchanged: usize,
    pub changes: Vec<Change>,
    pub failures: Vec<Failure>,
}

/// The versions a re-scan covers: every stored version of the selected plugins, except those
/// whose first scan is still pending (`validating`: their upload job will decide them).
pub async fn versions(
    state: &AppState,
    selection: &Selection,
) -> anyhow::Result<Vec<(Plugin, Version)>> {
    let db = &state.db;
    let mut plugins = Vec::new();
    if selection.plugins.is_empty() {
        plugins = db.plugins().await?;
    } else {
        for name in &selection.plugins {
            plugins.push(
                db.plugin_by_name(name)
                    .await?
                    .with_context(|| format!("no plugin named {name:?}"))?,
            );
        }
    }
    let mut out = Vec::new();
    for plugin in plugins {
        for version in db.versions_of(plugin.id).await? {
            if version.status != status::VALIDATING {
                out.push((plugin.clone(), version));
            }
        }
    }
    Ok(out)
}

/// Scans every selected version in this process, `parallel` at a time, and reports which
/// statuses would change. Nothing is written. `tick` is called once per finished version.
pub async fn plan(
    state: &Arc<AppState>,
    selection: &Selection,
    parallel: usize,
    tick: impl Fn() + Send + Sync + 'static,
) -> anyhow::Result<Plan> {
    let targets = versions(state, selection).await?;
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    let tick = Arc::new(tick);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (plugin, version)) in targets.into_iter().enumerate() {
        let state = state.clone();
        let permits = permits.clone();
        let tick = tick.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = async {
                let mut options = scan_job::options_for(&state.db, &plugin, &version).await?;
                // Versions run side by side; each scan keeps to one thread.
                options.threads = 1;
                scan_job::scan_stored(&state, &plugin, &version, options).await
            }
            .await;
            tick();
            (index, plugin, version, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.context("a re-scan task failed")?);
    }
    results.sort_by_key(|(index, ..)| *index);
    let mut plan = Plan::default();
    for (_, plugin, version, outcome) in results {
        plan.scanned += 1;
        match outcome {
            Err(e) => plan.failures.push(Failure {
                plugin: plugin.package_name,
                version: version.version,
                error: format!("{e:#}"),
            }),
            Ok(report) => {
                let to = scan_job::status_for(&report);
                if to == version.status {
                    plan.unchanged += 1;
                    continue;
                }
                let mut critical: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|f| f.severity == vetted_scan::Severity::Critical)
                    .map(|f| f.rule.clone())
                    .collect();
                critical.sort();
                critical.dedup();
                plan.changes.push(Change {
                    plugin: plugin.package_name,
                    version: version.version,
                    from: version.status,
                    to: to.to_string(),
                    approved: version.approved != 0,
                    critical,
                });
            }
        }
    }
    Ok(plan)
}

/// A batch of catalogue jobs: its jobs have ids from `first_job` on, kind `rescan`.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    pub first_job: i64,
    pub jobs: usize,
}

/// Queues one catalogue re-scan per selected version, in one transaction.
pub async fn enqueue(state: &AppState, selection: &Selection) -> anyhow::Result<Batch> {
    let targets = versions(state, selection).await?;
    let mut tx = state.db.begin_write().await?;
    let mut first_job = i64::MAX;
    for (_, version) in &targets {
        let id = jobs::enqueue(
            &mut tx,
            &JobPayload::Scan {
                version_id: version.id,
                manual: false,
                catalogue: true,
            },
            state.config.max_attempts,
        )
        .await?;
        first_job = first_job.min(id);
    }
    tx.commit().await.context("queuing the re-scans")?;
    state.wake_workers();
    Ok(Batch {
        first_job: if targets.is_empty() { 0 } else { first_job },
        jobs: targets.len(),
    })
}

/// How far a batch has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

impl Progress {
    pub fn finished(&self) -> i64 {
        self.done + self.failed
    }
}

/// Counts the catalogue jobs queued since `batch.first_job` by state (a batch queued at the
/// same time by another admin is counted with this one).
pub async fn progress(state: &AppState, batch: &Batch) -> anyhow::Result<Progress> {
    let rows: Vec<(String, i64)> = sqlx::query_as::<Any, (String, i64)>(
        "SELECT state, COUNT(*) FROM jobs WHERE kind = $1 AND id >= $2 GROUP BY state",
    )
    .bind(RESCAN_KIND)
    .bind(batch.first_job)
    .fetch_all(&state.db.pool)
    .await
    .context("counting the re-scan jobs")?;
    let mut p = Progress::default();
    for (state, n) in rows {
        match state.as_str() {
            "queued" => p.queued += n,
            "running" => p.running += n,
            "done" => p.done += n,
            _ => p.failed += n,
        }
    }
    Ok(p)
}

/// Status changes that catalogue jobs of a batch made, for the summary: versions whose latest
/// scan belongs to the batch's time and whose status now differs from `before`.
pub fn compare(before: &[(Plugin, Version)], after: &[(Plugin, Version)]) -> Vec<Change> {
    let mut changes = Vec::new();
    for (plugin, old) in before {
        if let Some((_, new)) = after.iter().find(|(_, v)| v.id == old.id)
            && new.status != old.status
        {
            changes.push(Change {
                plugin: plugin.package_name.clone(),
                version: old.version.clone(),
                from: old.status.clone(),
                to: new.status.clone(),
                approved: old.approved != 0,
                critical: Vec::new(),
            });
        }
    }
    changes
}

/// The catalogue jobs of a batch that failed for good, with their last error.
pub async fn failures(state: &AppState, batch: &Batch) -> anyhow::Result<Vec<Failure>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as::<Any, (String, Option<String>)>(
        "SELECT payload, last_error FROM jobs WHERE kind = $1 AND id >= $2 AND state = 'failed'
         ORDER BY id",
    )
    .bind(RESCAN_KIND)
    .bind(batch.first_job)
    .fetch_all(&state.db.pool)
    .await
    .context("listing failed re-scans")?;
    let mut out = Vec::new();
    for (payload, error) in rows {
        let (plugin, version) = match serde_json::from_str::<JobPayload>(&payload) {
            Ok(JobPayload::Scan { version_id, .. }) => {
                match state.db.version_by_id(version_id).await? {
                    Some(v) => {
                        let plugin = state.db.plugin_by_id(v.plugin_id).await?;
                        (
                            plugin.map(|p| p.package_name).unwrap_or_default(),
                            v.version,
                        )
                    }
                    None => (String::new(), format!("version id {version_id}")),
                }
            }
            Err(_) => (String::new(), String::new()),
        };
        out.push(Failure {
            plugin,
            version,
            error: error.unwrap_or_default(),
        });
    }
    Ok(out)
}
