//! Worker processes as the database sees them: each registers, beats while it runs and marks
//! its stop, so `vetted admin workers` can list the live ones and the jobs they hold. On
//! PostgreSQL an enqueued job is announced with `NOTIFY vetted_jobs` and every worker process
//! `LISTEN`s, so a job queued through one server starts at once on a worker of another host;
//! elsewhere (and if the listening connection drops) workers poll.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use sqlx::{Any, FromRow};
use tokio::sync::watch;

use crate::AppState;
use crate::db::{Backend, Db, now};

/// The channel jobs are announced on.
pub const JOBS_CHANNEL: &str = "vetted_jobs";

/// How often a worker process says it is alive.
const BEAT: Duration = Duration::from_secs(10);

/// A worker process that stopped beating this long ago is not listed as live.
const LIVE_WITHIN_SECS: i64 = 60;

/// Registers a worker process and keeps its row fresh until `shutdown`; marks the stop.
pub async fn register_and_beat(
    db: Db,
    name: String,
    concurrency: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let t = now();
    let registered = sqlx::query(
        "INSERT INTO workers (name, host, pid, concurrency, started_at, last_seen, stopped_at)
         VALUES ($1, $2, $3, $4, $5, $5, NULL)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid,
           concurrency = excluded.concurrency, started_at = excluded.started_at,
           last_seen = excluded.last_seen, stopped_at = NULL",
    )
    .bind(&name)
    .bind(crate::hostname())
    .bind(std::process::id() as i64)
    .bind(concurrency as i64)
    .bind(t)
    .execute(&db.pool)
    .await;
    if let Err(e) = registered {
        tracing::warn!(worker = %name, "cannot register the worker: {e:#}");
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(BEAT) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = sqlx::query("UPDATE workers SET last_seen = $1 WHERE name = $2")
            .bind(now())
            .bind(&name)
            .execute(&db.pool)
            .await
        {
            tracing::warn!(worker = %name, "worker heartbeat failed: {e:#}");
        }
    }
    let _ = sqlx::query("UPDATE workers SET stopped_at = $1, last_seen = $1 WHERE name = $2")
        .bind(now())
        .bind(&name)
        .execute(&db.pool)
        .await;
}

/// Wakes this process's workers whenever a job is announced (PostgreSQL only); reconnects
/// after a dropped connection, while workers keep polling meanwhile.
pub async fn listen_for_jobs(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    if state.db.backend != Backend::Postgres {
        return;
    }
    let Some(url) = state.config.database_url.clone() else {
        return;
    };
    while !*shutdown.borrow() {
        let listened = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url)
                .await
                .context("connecting the job listener")?;
            listener
                .listen(JOBS_CHANNEL)
                .await
                .context("LISTEN vetted_jobs")?;
            loop {
                tokio::select! {
                    n = listener.recv() => {
                        n.context("receiving a job notice")?;
                        state.wake_workers();
                    }
                    _ = shutdown.changed() => return anyhow::Ok(()),
                }
            }
        }
        .await;
        if let Err(e) = listened {
            tracing::debug!("job listener: {e:#}; polling until it reconnects");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// A live worker process and the jobs it holds.
#[derive(Debug, Clone, Serialize)]
pub struct LiveWorker {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub concurrency: i64,
    pub started_at: i64,
    pub last_seen: i64,
    pub jobs: Vec<HeldJob>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct HeldJob {
    pub id: i64,
    pub kind: String,
    pub attempts: i64,
    pub locked_by: String,
    pub locked_until: i64,
}

#[derive(FromRow)]
struct WorkerRow {
    name: String,
    host: String,
    pid: i64,
    concurrency: i64,
    started_at: i64,
    last_seen: i64,
}

/// Worker processes that beat within the last minute and have not stopped, with the running
/// jobs whose lease each holds (a process's loops are named `<process>-<n>`).
pub async fn live(db: &Db) -> anyhow::Result<Vec<LiveWorker>> {
    let rows = sqlx::query_as::<Any, WorkerRow>(
        "SELECT name, host, pid, concurrency, started_at, last_seen FROM workers
         WHERE stopped_at IS NULL AND last_seen >= $1 ORDER BY name",
    )
    .bind(now() - LIVE_WITHIN_SECS)
    .fetch_all(&db.pool)
    .await
    .context("listing workers")?;
    let held = sqlx::query_as::<Any, HeldJob>(
        "SELECT id, kind, attempts, locked_by, locked_until FROM jobs
         WHERE state = 'running' AND locked_by IS NOT NULL ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .context("listing running jobs")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let prefix = format!("{}-", r.name);
            let jobs = held
                .iter()
                .filter(|j| j.locked_by == r.name || j.locked_by.starts_with(&prefix))
                .cloned()
                .collect();
            LiveWorker {
                name: r.name,
                host: r.host,
                pid: r.pid,
                concurrency: r.concurrency,
                started_at: r.started_at,
                last_seen: r.last_seen,
                jobs,
            }
        })
        .collect())
}

/// Jobs queued and not yet taken, for `/metrics` and `admin workers`.
pub async fn queue_depth(db: &Db) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'queued'")
        .fetch_one(&db.pool)
        .await
        .context("counting queued jobs")
}
