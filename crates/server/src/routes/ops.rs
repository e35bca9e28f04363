//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database and the file
//! store answer: a load balancer sends no traffic otherwise), and `/metrics` in Prometheus's
//! text format. Also the request layer that gives every request an id (`x-request-id`, kept
//! when the proxy sent one), logs it with method, path, status and time, and counts it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::State;

/// Upper bounds (seconds) of the scan duration histogram.
const SCAN_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Counters of this process (each server and worker is scraped on its own).
#[derive(Default)]
pub struct Metrics {
    /// Responses by status class: 1xx … 5xx.
    responses: [AtomicU64; 5],
    scans: AtomicU64,
    scan_micros: AtomicU64,
    scan_buckets: [AtomicU64; SCAN_BUCKETS.len()],
    job_failures: AtomicU64,
}

impl Metrics {
    pub fn response(&self, status: StatusCode) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    pub fn scan(&self, took: Duration) {
        self.scans.fetch_add(1, Ordering::Relaxed);
        self.scan_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (bound, count) in SCAN_BUCKETS.iter().zip(&self.scan_buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn job_failure(&self) {
        self.job_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of these counters plus the queue depth.
    pub fn render(&self, queue_depth: Option<i64>) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP vetted_http_responses_total HTTP responses by status class.\n# TYPE vetted_http_responses_total counter"
        );
        for (i, c) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "vetted_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vetted_scan_duration_seconds Time of scans run by this process.\n# TYPE vetted_scan_duration_seconds histogram"
        );
        for (bound, c) in SCAN_BUCKETS.iter().zip(&self.scan_buckets) {
            let _ = writeln!(
                out,
                "vetted_scan_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let scans = self.scans.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "vetted_scan_duration_seconds_bucket{{le=\"+Inf\"}} {scans}\nvetted_scan_duration_seconds_sum {}\nvetted_scan_duration_seconds_count {scans}",
            self.scan_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP vetted_job_failures_total Scan job attempts that failed in this process.\n# TYPE vetted_job_failures_total counter\nvetted_job_failures_total {}",
            self.job_failures.load(Ordering::Relaxed)
        );
        if let Some(depth) = queue_depth {
            let _ = writeln!(
                out,
                "# HELP vetted_queue_depth Jobs queued and not yet taken (whole repository).\n# TYPE vetted_queue_depth gauge\nvetted_queue_depth {depth}"
            );
        }
        out
    }
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// How long `/readyz` waits for each of the database and the store: a load balancer's probe
/// must get its answer, and a part that does not answer in time is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn readyz(state: State) -> Response {
    let db = async {
        tokio::time::timeout(
            READY_TIMEOUT,
            sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&state.db.pool),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {READY_TIMEOUT:?}"))?
        .map_err(anyhow::Error::from)
    };
    let storage = async {
        tokio::time::timeout(READY_TIMEOUT, state.storage.check())
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {READY_TIMEOUT:?}"))?
            .map_err(anyhow::Error::from)
    };
    let (db, storage) = tokio::join!(db, storage);
    match (db, storage) {
        (Ok(_), Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        (db, storage) => {
            let mut why = String::new();
            if let Err(e) = db {
                tracing::warn!("not ready: database: {e:#}");
                why.push_str("database unavailable\n");
            }
            if let Err(e) = storage {
                tracing::warn!("not ready: {e:#}");
                why.push_str("file store unavailable\n");
            }
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
        }
    }
}

pub async fn metrics(state: State) -> Response {
    let depth = crate::workers::queue_depth(&state.db).await.ok();
    let mut r = state.metrics.render(depth).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// Gives the request an id, logs and counts it.
pub async fn track(state: State, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            use rand::RngCore;
            let mut b = [0u8; 8];
            rand::rng().fill_bytes(&mut b);
            hex::encode(b)
        });
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let mut response = next.run(req).await;
    let status = response.status();
    state.metrics.response(status);
    tracing::info!(
        request_id = %id,
        %method,
        path = %path,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}
