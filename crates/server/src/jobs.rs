//! The durable job queue in the database and the worker loop that drains it. A job is claimed
//! with a lease (`locked_until`); a worker that dies loses its lease and the job is claimed
//! again; after `max_attempts` claims the job fails closed (the version becomes `scan_error`).
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so workers on several machines share the
//! queue; SQLite serialises writers, so one `UPDATE … RETURNING` is enough there.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{Any, FromRow, Transaction};

use crate::AppState;
use crate::db::{Backend, Db, now};
use crate::scan_job;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobPayload {
    /// Scan a version. `manual` re-scans (an editor's button) store a report and change
    /// nothing else; `catalogue` re-scans (`vetted admin rescan`) store a report and change the
    /// status only when the current rules decide differently.
    Scan {
        version_id: i64,
        manual: bool,
        #[serde(default)]
        catalogue: bool,
    },
}

impl JobPayload {
    /// The `jobs.kind` column: catalogue re-scans are counted apart from upload scans.
    pub fn kind(&self) -> &'static str {
        match self {
            JobPayload::Scan {
                catalogue: true, ..
            } => RESCAN_KIND,
            JobPayload::Scan { .. } => "scan",
        }
    }
}

/// `jobs.kind` of a catalogue re-scan.
pub const RESCAN_KIND: &str = "rescan";

#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: i64,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    payload: &JobPayload,
    max_attempts: i64,
) -> anyhow::Result<i64> {
    let kind = payload.kind();
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, 'queued', 0, $3, $4, $4, $4) RETURNING id",
    )
    .bind(kind)
    .bind(serde_json::to_string(payload).context("encoding the job")?)
    .bind(max_attempts)
    .bind(t)
    .fetch_one(&mut **tx)
    .await
    .context("enqueuing a job")?;
    if tx.backend_name() == "PostgreSQL" {
        // Delivered at commit to every listening worker process, on any host.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::workers::JOBS_CHANNEL)
            .execute(&mut **tx)
            .await
            .context("announcing the job")?;
    }
    Ok(id)
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1,
       locked_until = $1, locked_by = $2, updated_at = $3
     WHERE id = (SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_at <= $3)
                    OR (state = 'running' AND locked_until < $3)
                 ORDER BY id LIMIT 1)
     RETURNING id, payload, attempts, max_attempts";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1,
       locked_until = $1, locked_by = $2, updated_at = $3
     WHERE id = (SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_at <= $3)
                    OR (state = 'running' AND locked_until < $3)
                 ORDER BY id LIMIT 1
                 FOR UPDATE SKIP LOCKED)
     RETURNING id, payload, attempts, max_attempts";

/// Takes the oldest runnable job (queued, or running with an expired lease) for `lease`.
pub async fn claim(db: &Db, worker: &str, lease: Duration) -> anyhow::Result<Option<Job>> {
    let t = now();
    let sql = match db.backend {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    sqlx::query_as::<Any, Job>(sql)
        .bind(t + lease.as_secs().max(1) as i64)
        .bind(worker)
        .bind(t)
        .fetch_optional(&db.pool)
        .await
        .context("claiming a job")
}

/// Extends the lease while the job runs; false when another worker took the job over.
pub async fn renew(db: &Db, job_id: i64, worker: &str, lease: Duration) -> anyhow::Result<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running'",
    )
    .bind(now() + lease.as_secs().max(1) as i64)
    .bind(job_id)
    .bind(worker)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks the job done inside the transaction that stores its result; false (and the caller
/// rolls back) when the lease was lost, so a result is applied at most once.
pub async fn finish(
    tx: &mut Transaction<'_, Any>,
    job_id: i64,
    worker: &str,
    state: &str,
    error: Option<&str>,
) -> anyhow::Result<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET state = $1, last_error = $2, locked_until = NULL, updated_at = $3
         WHERE id = $4 AND locked_by = $5 AND state = 'running'",
    )
    .bind(state)
    .bind(error)
    .bind(now())
    .bind(job_id)
    .bind(worker)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Puts a failed attempt back in the queue after a short back-off.
pub async fn retry_later(db: &Db, job: &Job, worker: &str, error: &str) -> anyhow::Result<()> {
    let delay = 2i64.pow(job.attempts.clamp(0, 6) as u32);
    sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, last_error = $2, locked_until = NULL,
           locked_by = NULL, updated_at = $3
         WHERE id = $4 AND locked_by = $5 AND state = 'running'",
    )
    .bind(now() + delay)
    .bind(error)
    .bind(now())
    .bind(job.id)
    .bind(worker)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Hands a job this worker holds back to the queue (shutdown): runnable at once, the claim not
/// counted against its attempts (the job did nothing wrong), and announced to other workers.
/// False when the job was no longer ours (finished, or taken over).
pub async fn release(db: &Db, job_id: i64, worker: &str) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let t = now();
    let r = sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, locked_until = NULL, locked_by = NULL,
           attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $1
         WHERE id = $2 AND locked_by = $3 AND state = 'running'",
    )
    .bind(t)
    .bind(job_id)
    .bind(worker)
    .execute(&mut *tx)
    .await
    .context("releasing a job")?;
    let released = r.rows_affected() == 1;
    if released && db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::workers::JOBS_CHANNEL)
            .execute(&mut *tx)
            .await
            .context("announcing the released job")?;
    }
    tx.commit().await?;
    Ok(released)
}

/// Aborts the lease heartbeat when the job ends, however it ends (also when a shutdown drops
/// the job half-way).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A job's row as tests and admins see it.
pub async fn job_state(db: &Db, job_id: i64) -> anyhow::Result<Option<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Claims and runs jobs until `shutdown` fires. One job at a time per worker: scans are
/// CPU-bound and the machine's cores are shared with the web server.
pub async fn run_worker(
    state: Arc<AppState>,
    worker: String,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(worker = %worker, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        match claim(&state.db, &worker, state.config.lease).await {
            Ok(Some(job)) => {
                let id = job.id;
                let work = run_one(&state, &worker, job);
                tokio::pin!(work);
                // A shutdown lets the job finish within the grace period; past it the job is
                // abandoned here and handed back, so another worker starts it at once.
                let done = tokio::select! {
                    r = &mut work => Some(r),
                    true = async { shutdown.wait_for(|stop| *stop).await.is_ok() } => {
                        tokio::time::timeout(state.config.shutdown_grace, &mut work).await.ok()
                    }
                };
                match done {
                    Some(Ok(())) => {}
                    Some(Err(e)) => tracing::error!(worker = %worker, "job failed: {e:#}"),
                    None => {
                        drop(work);
                        match release(&state.db, id, &worker).await {
                            Ok(true) => tracing::info!(
                                worker = %worker,
                                job = id,
                                "shutting down: job handed back to the queue"
                            ),
                            Ok(false) => {}
                            Err(e) => tracing::warn!(
                                worker = %worker,
                                job = id,
                                "shutting down: cannot hand the job back ({e:#}); it is retried when its lease lapses"
                            ),
                        }
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(worker = %worker, "cannot claim jobs: {e:#}"),
        }
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(state.config.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker = %worker, "worker stopped");
}

async fn run_one(state: &Arc<AppState>, worker: &str, job: Job) -> anyhow::Result<()> {
    let payload: JobPayload = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => {
            let mut tx = state.db.begin_write().await?;
            finish(
                &mut tx,
                job.id,
                worker,
                "failed",
                Some(&format!("bad payload: {e}")),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    // Each claim counts, so a job whose worker keeps dying (a poison upload) stops being retried.
    if job.attempts > job.max_attempts {
        let reason = format!(
            "gave up after {} attempts (the worker died or the scan kept failing)",
            job.max_attempts
        );
        return scan_job::fail_closed(state, &job, worker, &payload, &reason).await;
    }
    // Keep the lease alive while the scan runs; it lapses only if this process dies.
    let heartbeat = AbortOnDrop({
        let db = state.db.clone();
        let worker = worker.to_string();
        let lease = state.config.lease;
        let id = job.id;
        tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(500));
            loop {
                tokio::time::sleep(every).await;
                match renew(&db, id, &worker, lease).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!("cannot renew the lease of job {id}: {e:#}"),
                }
            }
        })
    });
    let result = scan_job::run(state, &job, worker, &payload).await;
    drop(heartbeat);
    if let Err(e) = result {
        state.metrics.job_failure();
        let message = format!("{e:#}");
        tracing::warn!(
            job = job.id,
            attempt = job.attempts,
            "scan attempt failed: {message}"
        );
        if job.attempts >= job.max_attempts {
            return scan_job::fail_closed(state, &job, worker, &payload, &message).await;
        }
        retry_later(&state.db, &job, worker, &message).await?;
    }
    Ok(())
}
