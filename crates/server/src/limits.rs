//! Limits on what one client may make the server do, counted in the database so that every
//! server process behind a load balancer shares them (`limit_counters`, migration 0007):
//!
//! - brute force: failed sign-ins (web form, JSON session, Basic auth on REST and XML-RPC) per
//!   client address, per account from one address, and per account from everywhere; failed
//!   token attempts per client address. A client over a limit gets 429 with `Retry-After`
//!   until the window ends, before any password is checked.
//! - rate: uploads and other writes per signed-in user and per client address (0 = off);
//!   reads per address only when an admin turns it on (many QGIS clients share one NAT).
//! - request bodies: a declared `Content-Length` over the route's limit is refused with 413
//!   before a byte of the body is read; a chunked body is cut at the limit while it streams,
//!   and a body still arriving after `body_timeout` is cut with 408.
//!
//! The client address is the socket peer, or the `X-Forwarded-For` hop left of the configured
//! trusted proxies when the peer is one of them. IPv6 clients are counted per /64.
//!
//! [`guard`] is the router layer that does the body and per-address parts and records the
//! request's address and kind in a task-local for `auth.rs`, which does the rest.

use std::cell::Cell;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::AppState;
use crate::config::Config;
use crate::db::{Db, now};

/// What a request does, for the rate it counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Upload,
}

/// The request being served, as `guard` saw it.
pub struct RequestContext {
    pub ip: Option<IpAddr>,
    pub kind: Kind,
    /// Whether this request already counted against its user's write rate.
    user_counted: Cell<bool>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// The client address of the request this task serves (None outside a request).
pub fn current_ip() -> Option<IpAddr> {
    REQUEST.try_with(|r| r.ip).ok().flatten()
}

fn current_kind() -> Option<Kind> {
    REQUEST.try_with(|r| r.kind).ok()
}

/// A refusal: the message for the caller and the seconds until the window ends.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn too_many(message: String, retry_after: i64) -> Refusal {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            message,
            retry_after: Some(retry_after.max(1) as u64),
        }
    }

    /// The answer, as a page for browsers (and the web pages' paths) and as `{"detail": …}`
    /// for the APIs.
    pub fn response(&self, headers: &HeaderMap) -> Response {
        self.response_for(headers, "")
    }

    fn response_for(&self, headers: &HeaderMap, path: &str) -> Response {
        let api = path.starts_with("/api/")
            || path.starts_with("/plugins/api/")
            || path == "/plugins/RPC2/"
            || path == "/plugins/add/"
            || path == "/plugins/plugins.xml"
            || path.ends_with("/version/add/")
            || path.ends_with("/download/")
            || path == "/healthz"
            || path == "/readyz"
            || path == "/metrics";
        let browser = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
            || (!path.is_empty() && !api);
        let mut r = if browser {
            crate::web::WebError::new(self.status, self.message.clone()).into_response()
        } else {
            crate::routes::ApiError::new(self.status, self.message.clone()).into_response()
        };
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

// ---- the client address

/// The address a request comes from: the socket peer, unless the peer is a trusted proxy; then
/// the right-most `X-Forwarded-For` hop that is not a trusted proxy (hops further left were
/// written by the client and prove nothing).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // A garbled hop: nothing left of it can be believed; the last proxy is the client.
            Err(_) => break,
        }
    }
    Some(client)
}

/// The address as counted: IPv6 per /64 (one host usually holds a whole /64).
fn ip_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
        Some(ip) => ip.to_string(),
        None => "unknown".to_string(),
    }
}

/// Account names in keys: trimmed, lower-cased, bounded.
fn account_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(150).collect()
}

// ---- counters

/// Fixed windows: the start of the window `now` falls in.
fn window_start(now: i64, len: i64) -> i64 {
    now - now.rem_euclid(len.max(1))
}

/// Adds one to `key` in the current window of `len` seconds; returns the new count and the
/// seconds until the window ends.
async fn hit(db: &Db, key: &str, len: i64) -> anyhow::Result<(i64, i64)> {
    let t = now();
    let start = window_start(t, len);
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO limit_counters (key, window_start, expires_at, hits) VALUES ($1, $2, $3, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = limit_counters.hits + 1
         RETURNING hits",
    )
    .bind(key)
    .bind(start)
    .bind(start + len)
    .fetch_one(&db.pool)
    .await?;
    purge_now_and_then(db, t).await;
    Ok((hits, start + len - t))
}

/// The count of `key` in the current window, and the seconds until it ends.
async fn count(db: &Db, key: &str, len: i64) -> anyhow::Result<(i64, i64)> {
    let t = now();
    let start = window_start(t, len);
    let hits: Option<i64> =
        sqlx::query_scalar("SELECT hits FROM limit_counters WHERE key = $1 AND window_start = $2")
            .bind(key)
            .bind(start)
            .fetch_optional(&db.pool)
            .await?;
    Ok((hits.unwrap_or(0), start + len - t))
}

async fn clear(db: &Db, key: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM limit_counters WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

static LAST_PURGE: AtomicI64 = AtomicI64::new(0);

/// Removes windows that have ended, at most once a minute per process.
async fn purge_now_and_then(db: &Db, t: i64) {
    let last = LAST_PURGE.load(Ordering::Relaxed);
    if t - last < 60
        || LAST_PURGE
            .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    if let Err(e) = purge(db).await {
        tracing::warn!("purging old limit counters: {e:#}");
    }
}

/// Deletes every counter whose window has ended; returns how many.
pub async fn purge(db: &Db) -> anyhow::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM limit_counters WHERE expires_at <= $1")
            .bind(now())
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

// ---- brute force

fn failure_window(config: &Config) -> i64 {
    config.limits.failure_window.as_secs().max(1) as i64
}

fn wait_text(secs: i64) -> String {
    if secs >= 120 {
        format!("{} minutes", (secs + 59) / 60)
    } else {
        format!("{} seconds", secs.max(1))
    }
}

/// Before a password is checked: refuses when this address, or this account from this
/// address, or this account from everywhere has failed too often in the current window.
pub async fn sign_in_allowed(state: &AppState, username: &str) -> Result<(), Refusal> {
    let l = &state.config.limits;
    let len = failure_window(&state.config);
    let ip = ip_key(current_ip());
    let account = account_key(username);
    let checks = [
        (
            format!("signin:ip:{ip}"),
            l.sign_in_failures_per_ip,
            "Too many failed sign-ins from your address.",
        ),
        (
            format!("signin:account-ip:{account}|{ip}"),
            l.sign_in_failures_per_account_ip,
            "Too many failed sign-ins for this account from your address.",
        ),
        (
            format!("signin:account:{account}"),
            l.sign_in_failures_per_account,
            "Too many failed sign-ins for this account; it is locked for a while.",
        ),
    ];
    for (key, max, why) in checks {
        if max == 0 {
            continue;
        }
        let (n, left) = count(&state.db, &key, len).await.map_err(internal)?;
        if n >= i64::from(max) {
            return Err(Refusal::too_many(
                format!("{why} Try again in {}.", wait_text(left)),
                left,
            ));
        }
    }
    Ok(())
}

/// A wrong password (or unknown name): counts against the address and the account.
pub async fn sign_in_failed(state: &AppState, username: &str) {
    let len = failure_window(&state.config);
    let ip = ip_key(current_ip());
    let account = account_key(username);
    tracing::warn!(client = %ip, "failed sign-in");
    for key in [
        format!("signin:ip:{ip}"),
        format!("signin:account-ip:{account}|{ip}"),
        format!("signin:account:{account}"),
    ] {
        if let Err(e) = hit(&state.db, &key, len).await {
            tracing::warn!("counting a failed sign-in: {e:#}");
        }
    }
}

/// The right password: this address starts afresh for this account (other addresses and the
/// account-wide count keep theirs).
pub async fn sign_in_succeeded(state: &AppState, username: &str) {
    let ip = ip_key(current_ip());
    let key = format!("signin:account-ip:{}|{ip}", account_key(username));
    if let Err(e) = clear(&state.db, &key).await {
        tracing::warn!("clearing failed sign-ins: {e:#}");
    }
}

/// Before a token is looked up: refuses an address that sent too many bad tokens.
pub async fn token_allowed(state: &AppState) -> Result<(), Refusal> {
    let max = state.config.limits.token_failures_per_ip;
    if max == 0 {
        return Ok(());
    }
    let key = format!("token:ip:{}", ip_key(current_ip()));
    let (n, left) = count(&state.db, &key, failure_window(&state.config))
        .await
        .map_err(internal)?;
    if n >= i64::from(max) {
        return Err(Refusal::too_many(
            format!(
                "Too many unknown, expired or revoked tokens from your address. Try again in {}.",
                wait_text(left)
            ),
            left,
        ));
    }
    Ok(())
}

pub async fn token_failed(state: &AppState) {
    let ip = ip_key(current_ip());
    tracing::warn!(client = %ip, "failed token attempt");
    let key = format!("token:ip:{ip}");
    if let Err(e) = hit(&state.db, &key, failure_window(&state.config)).await {
        tracing::warn!("counting a failed token: {e:#}");
    }
}

fn internal(e: anyhow::Error) -> Refusal {
    tracing::error!("checking limits: {e:#}");
    Refusal {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: "internal error".into(),
        retry_after: None,
    }
}

// ---- rates

const HOUR: i64 = 3600;
const MINUTE: i64 = 60;

/// Counts this request against `key`'s rate; refuses past `max` (0 = no limit).
async fn rate(db: &Db, key: String, max: u32, len: i64, what: &str) -> Result<(), Refusal> {
    if max == 0 {
        return Ok(());
    }
    let (n, left) = match hit(db, &key, len).await {
        Ok(v) => v,
        // A database that does not answer fails the request anyway; do not add a second error.
        Err(e) => {
            tracing::warn!("counting a request rate: {e:#}");
            return Ok(());
        }
    };
    if n > i64::from(max) {
        let per = if len == HOUR { "hour" } else { "minute" };
        return Err(Refusal::too_many(
            format!(
                "Too many {what} ({max} per {per} allowed). Try again in {}.",
                wait_text(left)
            ),
            left,
        ));
    }
    Ok(())
}

/// Called once a request's user is known (`auth::authenticate`): uploads and other writes
/// count against the user's rate, once per request.
pub async fn count_user_request(state: &AppState, user_id: i64) -> Result<(), Refusal> {
    let Some(kind) = current_kind() else {
        return Ok(());
    };
    if kind == Kind::Read || REQUEST.with(|r| r.user_counted.replace(true)) {
        return Ok(());
    }
    let l = &state.config.limits;
    match kind {
        Kind::Upload => {
            rate(
                &state.db,
                format!("upload:user:{user_id}"),
                l.uploads_per_hour_user,
                HOUR,
                "uploads from your account",
            )
            .await
        }
        _ => {
            rate(
                &state.db,
                format!("write:user:{user_id}"),
                l.writes_per_minute_user,
                MINUTE,
                "changes from your account",
            )
            .await
        }
    }
}

async fn count_ip_request(state: &AppState, ip: Option<IpAddr>, kind: Kind) -> Result<(), Refusal> {
    let l = &state.config.limits;
    let ip = ip_key(ip);
    match kind {
        Kind::Upload => {
            rate(
                &state.db,
                format!("upload:ip:{ip}"),
                l.uploads_per_hour_ip,
                HOUR,
                "uploads from your address",
            )
            .await
        }
        Kind::Write => {
            rate(
                &state.db,
                format!("write:ip:{ip}"),
                l.writes_per_minute_ip,
                MINUTE,
                "requests that change something from your address",
            )
            .await
        }
        Kind::Read => {
            rate(
                &state.db,
                format!("read:ip:{ip}"),
                l.reads_per_minute_ip,
                MINUTE,
                "requests from your address",
            )
            .await
        }
    }
}

// ---- the router layer

/// Whether a path takes a plugin upload (the routes with the large body limit).
pub fn is_upload_path(path: &str) -> bool {
    path == "/plugins/add/"
        || path == "/plugins/RPC2/"
        || path == "/upload"
        || (path.starts_with("/plugins/")
            && (path.ends_with("/version/add/")
                || path.ends_with("/update/")
                || path.ends_with("/upload")))
}

fn kind_of(method: &Method, path: &str) -> Kind {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Kind::Read
    } else if is_upload_path(path) {
        Kind::Upload
    } else {
        Kind::Write
    }
}

/// Largest request body a route accepts: uploads get the ZIP limit plus room for the
/// multipart framing (XML-RPC: plus a third for base64); everything else 1 MiB.
pub fn body_limit(config: &Config, kind: Kind, path: &str) -> u64 {
    let max = config.max_upload_bytes as u64;
    match kind {
        Kind::Upload if path == "/plugins/RPC2/" => max / 3 * 4 + 1024 * 1024,
        Kind::Upload => max + 1024 * 1024,
        _ => 1024 * 1024,
    }
}

const BODY_OK: u8 = 0;
const BODY_TOO_LARGE: u8 = 1;
const BODY_TIMED_OUT: u8 = 2;

fn too_large(limit: u64) -> Refusal {
    Refusal {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!(
            "The request is larger than this repository accepts here ({limit} bytes at most)."
        ),
        retry_after: None,
    }
}

fn closing(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The layer in front of every route: client address, body size before reading, per-address
/// rates, the body cut at its limit or deadline while it streams, and the task-local context
/// `auth.rs` reads.
pub async fn guard(state: crate::routes::State, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.config.trusted_proxies);
    let path = req.uri().path().to_string();
    let kind = kind_of(req.method(), &path);
    let limit = body_limit(&state.config, kind, &path);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        tracing::warn!(client = %ip_key(ip), path = %path, declared, "body over the limit refused unread");
        return closing(too_large(limit).response_for(req.headers(), &path));
    }
    if let Err(refusal) = count_ip_request(&state, ip, kind).await {
        return closing(refusal.response_for(req.headers(), &path));
    }
    let headers = req.headers().clone();
    let outcome = Arc::new(AtomicU8::new(BODY_OK));
    let req = if kind == Kind::Read {
        req
    } else {
        let deadline = tokio::time::Instant::now() + state.config.body_timeout;
        cut_body(req, limit, deadline, outcome.clone())
    };
    let context = RequestContext {
        ip,
        kind,
        user_counted: Cell::new(false),
    };
    let response = REQUEST.scope(context, next.run(req)).await;
    match outcome.load(Ordering::Relaxed) {
        BODY_TOO_LARGE => {
            tracing::warn!(client = %ip_key(ip), path = %path, "streamed body cut at the limit");
            closing(too_large(limit).response_for(&headers, &path))
        }
        BODY_TIMED_OUT => {
            tracing::warn!(client = %ip_key(ip), path = %path, "body too slow, cut");
            closing(
                Refusal {
                    status: StatusCode::REQUEST_TIMEOUT,
                    message: format!(
                        "The request body did not arrive within {} seconds.",
                        state.config.body_timeout.as_secs()
                    ),
                    retry_after: None,
                }
                .response_for(&headers, &path),
            )
        }
        _ => response,
    }
}

/// Hands the body on chunk by chunk, ending it with an error once more than `limit` bytes
/// came or `deadline` passed; `outcome` says which, so [`guard`] can answer for it.
fn cut_body(
    req: Request,
    limit: u64,
    deadline: tokio::time::Instant,
    outcome: Arc<AtomicU8>,
) -> Request {
    let (parts, body) = req.into_parts();
    let start = Some((body.into_data_stream(), 0u64));
    let stream = futures_util::stream::unfold(start, move |st| {
        let outcome = outcome.clone();
        async move {
            let (mut stream, seen) = st?;
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => {
                    outcome.store(BODY_TIMED_OUT, Ordering::Relaxed);
                    Some((Err(std::io::Error::other("request body too slow")), None))
                }
                Ok(None) => None,
                Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
                Ok(Some(Ok(chunk))) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > limit {
                        outcome.store(BODY_TOO_LARGE, Ordering::Relaxed);
                        Some((Err(std::io::Error::other("request body too large")), None))
                    } else {
                        Some((Ok(chunk), Some((stream, seen))))
                    }
                }
            }
        }
    });
    Request::from_parts(parts, Body::from_stream(stream))
}

/// Default request-body deadline (a 25 MB upload over a slow 1 Mbit/s link takes ~200 s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        let h = xff("203.0.113.9, 198.51.100.2");
        // Untrusted peer: its header is ignored.
        assert_eq!(client_ip(Some(other), &h, &[proxy]), Some(other));
        // Trusted proxy: the right-most hop it saw.
        assert_eq!(
            client_ip(Some(proxy), &h, &[proxy]),
            Some("198.51.100.2".parse().unwrap())
        );
        // Chained trusted proxies are skipped.
        let second: IpAddr = "10.0.0.2".parse().unwrap();
        let h2 = xff("203.0.113.9, 10.0.0.2");
        assert_eq!(
            client_ip(Some(proxy), &h2, &[proxy, second]),
            Some("203.0.113.9".parse().unwrap())
        );
        // No header or a garbled hop: the proxy itself.
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
        assert_eq!(
            client_ip(Some(proxy), &xff("1.2.3.4, junk"), &[proxy]),
            Some(proxy)
        );
        // IPv4-mapped IPv6 peers are their IPv4 address.
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_ip(Some(mapped), &h, &[]), Some(other));
    }

    #[test]
    fn ipv6_counts_per_64_and_windows_are_aligned() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ip_key(Some(a)), ip_key(Some(b)));
        assert_eq!(ip_key(Some(a)), "2001:db8:1:2::/64");
        assert_eq!(ip_key(None), "unknown");
        assert_eq!(window_start(1000, 60), 960);
        assert_eq!(window_start(960, 60), 960);
        assert_eq!(account_key("  Alice "), "alice");
    }

    #[test]
    fn upload_paths_get_the_large_limit() {
        let c = Config::new("/tmp/x".into());
        for p in [
            "/plugins/add/",
            "/plugins/RPC2/",
            "/upload",
            "/plugins/x/upload",
            "/plugins/x/version/add/",
            "/plugins/api/x/version/add/",
            "/plugins/api/x/version/1.0/update/",
        ] {
            assert_eq!(kind_of(&Method::POST, p), Kind::Upload, "{p}");
            assert!(body_limit(&c, Kind::Upload, p) > c.max_upload_bytes as u64);
        }
        assert_eq!(kind_of(&Method::POST, "/api/session"), Kind::Write);
        assert_eq!(kind_of(&Method::GET, "/plugins/add/"), Kind::Read);
        assert_eq!(body_limit(&c, Kind::Write, "/api/session"), 1024 * 1024);
    }
}
