//! Hostile users against a real server: brute-force limits on every way to send a password
//! or a token (counted in the database, so two servers on one database share them; 429 with
//! Retry-After), X-Forwarded-For believed only from a trusted proxy, upload and write rates
//! per user and per address with reads left alone, request bodies refused before they are read
//! or cut while they stream (raw TCP clients: a huge declared length, an endless fast chunked
//! body, an endless slow one; time and the process's memory bounded), and session fixation.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, TestServer, http_client};
use reqwest::StatusCode;
use serde_json::json;
use vetted_server::config::Limits;

/// Small limits; 127.0.0.1 is a trusted proxy so tests can play several client addresses.
fn brute_force_limits(c: &mut vetted_server::Config) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    c.limits = Limits {
        sign_in_failures_per_ip: 8,
        sign_in_failures_per_account_ip: 3,
        sign_in_failures_per_account: 6,
        token_failures_per_ip: 4,
        ..Limits::off()
    };
}

async fn json_sign_in(
    ts: &TestServer,
    from: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    ts.post("/api/session")
        .header("X-Forwarded-For", from)
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", r.headers()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn assert_limited(r: reqwest::Response, needle: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    let body = r.text().await.unwrap();
    assert!(body.contains(needle), "{body}");
    assert!(body.contains("Try again in"), "{body}");
}

async fn sign_in_brute_force(db: Db) {
    let ts = TestServer::start_with(db, brute_force_limits).await;
    // Another server on the same database: the counts are shared (several stateless servers).
    let mut second_config = ts.config.clone();
    second_config.bind = "127.0.0.1:0".parse().unwrap();
    let second = vetted_server::start(second_config).await.unwrap();
    let client = http_client();

    // Address A guesses alice's password three times (the per account and address limit).
    for _ in 0..3 {
        let r = json_sign_in(&ts, "198.51.100.1", "alice", "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password from A is refused, before it is checked, on both servers.
    assert_limited(
        json_sign_in(&ts, "198.51.100.1", "alice", PASSWORD).await,
        "for this account from your address",
    )
    .await;
    let r = client
        .post(format!("{}/api/session", second.base_url))
        .header("X-Forwarded-For", "198.51.100.1")
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_limited(r, "for this account from your address").await;

    // Alice at home (address B) signs in: A's failures do not lock her out.
    let r = json_sign_in(&ts, "203.0.113.5", "alice", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);

    // Basic auth (REST) and XML-RPC count and are refused the same way.
    for _ in 0..2 {
        let r = ts
            .get("/api/session")
            .header("X-Forwarded-For", "198.51.100.2")
            .basic_auth("alice", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let call = "<?xml version=\"1.0\"?><methodCall><methodName>plugin.upload</methodName>\
                <params><param><value><base64>UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==</base64></value></param></params></methodCall>";
    let r = ts
        .post("/plugins/RPC2/")
        .header("X-Forwarded-For", "198.51.100.2")
        .basic_auth("alice", Some("guess"))
        .body(call)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = ts
        .post("/plugins/RPC2/")
        .header("X-Forwarded-For", "198.51.100.2")
        .basic_auth("alice", Some(PASSWORD))
        .body(call)
        .send()
        .await
        .unwrap();
    assert_limited(r, "for this account from your address").await;

    // Failures for alice so far: 3 + 3 = 6 = the account-wide cap. A third address with the
    // right password is refused too: the cap on a guessing attack spread over many addresses.
    assert_limited(
        json_sign_in(&ts, "192.0.2.77", "alice", PASSWORD).await,
        "this account; it is locked",
    )
    .await;
    // Other accounts are not affected.
    assert_eq!(
        json_sign_in(&ts, "192.0.2.77", "bob", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    // One address trying many accounts hits the per-address limit.
    for (i, user) in ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]
        .iter()
        .enumerate()
    {
        let r = json_sign_in(&ts, "192.0.2.200", user, "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_limited(
        json_sign_in(&ts, "192.0.2.200", "bob", PASSWORD).await,
        "from your address",
    )
    .await;

    // The counts live in the database; finished windows are purged.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM limit_counters")
        .fetch_one(&ts.state().db.pool)
        .await
        .unwrap();
    assert!(rows >= 5, "{rows}");
    sqlx::query(
        "INSERT INTO limit_counters (key, window_start, expires_at, hits) VALUES ('old', 1, 2, 9)",
    )
    .execute(&ts.state().db.pool)
    .await
    .unwrap();
    assert!(vetted_server::limits::purge(&ts.state().db).await.unwrap() >= 1);
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM limit_counters WHERE key = 'old'")
        .fetch_one(&ts.state().db.pool)
        .await
        .unwrap();
    assert_eq!(old, 0);

    second.stop().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_brute_force_sqlite() {
    sign_in_brute_force(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_brute_force_postgres() {
    sign_in_brute_force(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_form_sign_in_is_limited_with_a_page() {
    let ts = TestServer::start_with(Db::Sqlite, brute_force_limits).await;
    let mut web = common::web::WebClient::new(&ts);
    let page = web.get("/sign-in").await.text().await.unwrap();
    let csrf = common::web::csrf_in(&page).unwrap();
    for _ in 0..3 {
        let r = web
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &csrf),
                    ("username", "bob"),
                    ("password", "guess"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = web
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", &csrf),
                ("username", "bob"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
    let html = r.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins"), "{html}");
    assert!(html.contains("<form"), "the form is shown again: {html}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_limited_per_address() {
    let ts = TestServer::start_with(Db::Sqlite, brute_force_limits).await;
    let r = ts
        .add_plugin("alice", PluginZip::valid("tok", "1.0.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);
    let token = ts.create_token("alice", "tok").await;
    let whoami = |from: &'static str, t: String| {
        ts.get("/api/session")
            .header("X-Forwarded-For", from)
            .header("Authorization", format!("Token {t}"))
            .send()
    };
    for i in 0..4 {
        let r = whoami("198.51.100.9", format!("guess{i}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The address is refused before any lookup, even with a real token.
    let r = whoami("198.51.100.9", token.clone()).await.unwrap();
    assert_limited(r, "tokens from your address").await;
    // Uploads with a token from there too.
    let form = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(PluginZip::valid("tok", "1.0.1").bytes())
            .file_name("p.zip"),
    );
    let r = ts
        .post("/plugins/api/tok/version/add/")
        .header("X-Forwarded-For", "198.51.100.9")
        .header("Authorization", format!("Bearer {token}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address uses the token normally.
    let r = whoami("203.0.113.9", token.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxy: every request comes from 127.0.0.1 whatever the header says.
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.limits = Limits {
            sign_in_failures_per_account_ip: 2,
            ..Limits::off()
        };
    })
    .await;
    for from in ["198.51.100.1", "198.51.100.2"] {
        let r = json_sign_in(&ts, from, "alice", "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(
        json_sign_in(&ts, "198.51.100.3", "alice", PASSWORD).await,
        "from your address",
    )
    .await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_writes_are_rate_limited_reads_are_not() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.limits = Limits {
            uploads_per_hour_user: 2,
            // Refused uploads count against the address too: alice's three, then bob's one.
            uploads_per_hour_ip: 4,
            writes_per_minute_user: 3,
            ..Limits::off()
        };
    })
    .await;
    let upload = |user: &'static str, from: &'static str, name: &str| {
        let zip = PluginZip::valid(name, "1.0.0").bytes();
        let form = reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(zip).file_name("p.zip"),
        );
        ts.post("/plugins/add/")
            .header("X-Forwarded-For", from)
            .basic_auth(user, Some(PASSWORD))
            .multipart(form)
            .send()
    };
    assert_eq!(
        upload("alice", "198.51.100.1", "ra")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        upload("alice", "198.51.100.1", "rb")
            .await
            .unwrap()
            .status(),
        201
    );
    let r = upload("alice", "198.51.100.1", "rc").await.unwrap();
    assert_limited(r, "uploads from your account").await;
    assert!(ts.state().db.plugin_by_name("rc").await.unwrap().is_none());
    // Bob from the same address still may (per user), until the address's limit.
    assert_eq!(
        upload("bob", "198.51.100.1", "rd").await.unwrap().status(),
        201
    );
    let r = upload("bob", "198.51.100.1", "re").await.unwrap();
    assert_limited(r, "uploads from your address").await;
    // Bob from elsewhere is fine.
    assert_eq!(
        upload("bob", "203.0.113.1", "rf").await.unwrap().status(),
        201
    );

    // Other writes per user: three token creations, then 429.
    for i in 0..3 {
        let r = ts
            .post("/api/tokens")
            .basic_auth("alice", Some(PASSWORD))
            .json(&json!({ "plugin": "ra", "description": format!("t{i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = ts
        .post("/api/tokens")
        .basic_auth("alice", Some(PASSWORD))
        .json(&json!({ "plugin": "ra" }))
        .send()
        .await
        .unwrap();
    assert_limited(r, "changes from your account").await;

    // Reads are not limited by default: 300 plugins.xml reads from one address.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let rq = ts.get("/plugins/plugins.xml?qgis=3.34").send();
        set.spawn(async move { rq.await.unwrap().status() });
    }
    while let Some(s) = set.join_next().await {
        assert_eq!(s.unwrap(), StatusCode::OK);
    }
    ts.stop().await;

    // An admin may turn read limits on.
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.limits = Limits {
            reads_per_minute_ip: 5,
            ..Limits::off()
        };
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            ts.get("/plugins/plugins.xml")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let r = ts.get("/plugins/plugins.xml").send().await.unwrap();
    assert_limited(r, "requests from your address").await;
    ts.stop().await;
}

// ---- request bodies

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn connect(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads until the status line is complete (or the connection ends) and returns it.
fn read_status(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "reading the answer: {e}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Sends the head of a chunked POST, then chunks of `chunk` bytes every `every` on a thread
/// until the server answers or closes; returns the status line, the time it took and the
/// bytes sent.
fn endless_chunked(
    url: &str,
    cookie: &str,
    path: &str,
    chunk: usize,
    every: Duration,
) -> (String, Duration, u64) {
    let mut s = connect(url);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nCookie: vetted_session={cookie}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut writer = s.try_clone().unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sent_w = sent.clone();
    let feeder = std::thread::spawn(move || {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.zip\"\r\n\r\n".to_vec();
        body.resize(chunk.max(body.len()), b'A');
        loop {
            let framed = [format!("{:x}\r\n", body.len()).as_bytes(), &body, b"\r\n"].concat();
            if writer.write_all(&framed).is_err() {
                return;
            }
            sent_w.fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
            body = vec![b'A'; chunk];
            if started.elapsed() > Duration::from_secs(60) {
                return;
            }
            std::thread::sleep(every);
        }
    });
    let status = read_status(&mut s);
    let took = started.elapsed();
    let _ = s.shutdown(std::net::Shutdown::Both);
    feeder.join().unwrap();
    (
        status,
        took,
        sent.load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// The memory figures need a process of their own: this test runs itself again alone.
#[test]
fn bodies_are_bounded_before_and_while_they_are_read() {
    if std::env::var_os("VETTED_BODY_TEST_CHILD").is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(bodies_bounded());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "bodies_are_bounded_before_and_while_they_are_read",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VETTED_BODY_TEST_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the body test failed in its own process"
    );
    assert!(text.contains("1 passed"), "{text}");
}

async fn bodies_bounded() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.max_upload_bytes = 1024 * 1024;
        c.body_timeout = Duration::from_secs(3);
    })
    .await;
    let url = ts.url.clone();
    let r = ts
        .post("/api/session")
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r);
    let before = rss_kib();

    // A huge declared length is refused at once, before authentication and before the body.
    for (path, auth) in [
        ("/plugins/api/x/version/add/", true),
        ("/plugins/add/", false),
        ("/plugins/RPC2/", false),
        ("/upload", false),
        ("/api/session", false),
    ] {
        let url = url.clone();
        let (status, took) = tokio::task::spawn_blocking(move || {
            let mut s = connect(&url);
            let auth = if auth {
                "Authorization: Token nonsense\r\n".to_string()
            } else {
                String::new()
            };
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: multipart/form-data; boundary=XyZ\r\n\
                 Content-Length: 1000000000000\r\n\r\n"
            );
            let started = Instant::now();
            s.write_all(head.as_bytes()).unwrap();
            // A few bytes of body, then nothing: the answer must not wait for the rest.
            s.write_all(b"--XyZ\r\n").unwrap();
            (read_status(&mut s), started.elapsed())
        })
        .await
        .unwrap();
        assert!(status.contains(" 413 "), "{path}: {status}");
        assert!(took < Duration::from_secs(5), "{path}: {took:?}");
    }

    // An endless chunked upload as fast as it goes: cut near the limit, 413.
    for path in ["/plugins/add/", "/plugins/RPC2/"] {
        let (url, cookie) = (url.clone(), cookie.clone());
        let (status, took, sent) = tokio::task::spawn_blocking(move || {
            endless_chunked(&url, &cookie, path, 64 * 1024, Duration::from_millis(1))
        })
        .await
        .unwrap();
        assert!(
            status.contains(" 413 "),
            "{path}: {status} after {sent} bytes"
        );
        assert!(took < Duration::from_secs(20), "{path}: {took:?}");
        eprintln!("{path}: endless fast chunked body cut after {sent} bytes sent, {took:?}");
    }

    // An endless slow body (1 KiB every 100 ms, under the size limit for minutes): cut at the
    // body deadline with 408.
    let (status, took, sent) = tokio::task::spawn_blocking({
        let (url, cookie) = (url.clone(), cookie.clone());
        move || {
            endless_chunked(
                &url,
                &cookie,
                "/plugins/add/",
                1024,
                Duration::from_millis(100),
            )
        }
    })
    .await
    .unwrap();
    assert!(status.contains(" 408 "), "{status} after {sent} bytes");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "{took:?}"
    );

    // Twenty endless uploads at once: memory stays bounded (each is cut at ~2 MiB).
    let mut threads = Vec::new();
    for _ in 0..20 {
        let (url, cookie) = (url.clone(), cookie.clone());
        threads.push(std::thread::spawn(move || {
            endless_chunked(
                &url,
                &cookie,
                "/plugins/add/",
                64 * 1024,
                Duration::from_millis(1),
            )
        }));
    }
    let mut total = 0;
    for t in threads {
        let (status, _, sent) = t.join().unwrap();
        assert!(status.contains(" 413 "), "{status}");
        total += sent;
    }
    let after_bodies = rss_kib();
    let grown_mib = after_bodies.saturating_sub(before) / 1024;
    eprintln!(
        "memory: {before} KiB before, {after_bodies} KiB after the endless bodies; {} MiB sent",
        total / (1024 * 1024)
    );
    assert!(grown_mib < 96, "resident memory grew by {grown_mib} MiB");

    // Two hundred Basic-auth requests at once: argon2 holds ~19 MiB per check, so checks run
    // on a small fixed pool of threads (the allocator keeps at most a heap per pool thread)
    // instead of all at once (200 × 19 MiB).
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let rq = ts
            .get("/api/session")
            .basic_auth("alice", Some(PASSWORD))
            .send();
        set.spawn(async move { rq.await.unwrap().status() });
    }
    while let Some(s) = set.join_next().await {
        assert_eq!(s.unwrap(), StatusCode::OK);
    }
    let after_auth = rss_kib();
    let grown_mib = after_auth.saturating_sub(after_bodies) / 1024;
    eprintln!("memory: {after_auth} KiB after 200 concurrent password checks (+{grown_mib} MiB)");
    assert!(
        grown_mib < 200,
        "password checks grew memory by {grown_mib} MiB"
    );

    // The server is still serving, and nothing was stored.
    assert_eq!(ts.get("/healthz").send().await.unwrap().status(), 200);
    assert!(ts.state().db.plugins().await.unwrap().is_empty());
    ts.stop().await;
}

// ---- sessions

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("vetted_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no session cookie in {:?}", r.headers()))
}

async fn whoami_with(ts: &TestServer, cookie: &str) -> StatusCode {
    ts.get("/api/session")
        .header("Cookie", format!("vetted_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_never_fixed_and_end_on_the_server() {
    let ts = TestServer::start(Db::Sqlite).await;

    // An id planted before sign-in (made up, or the attacker's own live session) is never
    // the one after it; the planted live session ends.
    let made_up = "attacker-chosen-session-id";
    let r = ts
        .post("/api/session")
        .header("Cookie", format!("vetted_session={made_up}"))
        .json(&json!({ "username": "bob", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let attacker = set_cookie(&r);
    assert_ne!(attacker, made_up);
    assert_eq!(whoami_with(&ts, made_up).await, StatusCode::UNAUTHORIZED);
    assert_eq!(whoami_with(&ts, &attacker).await, StatusCode::OK);
    let r = ts
        .post("/api/session")
        .header("Cookie", format!("vetted_session={attacker}"))
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let victim = set_cookie(&r);
    assert_ne!(victim, attacker);
    assert_eq!(whoami_with(&ts, &attacker).await, StatusCode::UNAUTHORIZED);
    let me: serde_json::Value = ts
        .get("/api/session")
        .header("Cookie", format!("vetted_session={victim}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");

    // The web form does the same.
    let mut web = common::web::WebClient::new(&ts);
    web.cookies
        .push(("vetted_session".into(), "planted-web-id".into()));
    let page = web.get("/sign-in").await.text().await.unwrap();
    let csrf = common::web::csrf_in(&page).unwrap();
    let r = web
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", &csrf),
                ("username", "bob"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let web_session = set_cookie(&r);
    assert_ne!(web_session, "planted-web-id");
    assert_eq!(whoami_with(&ts, &web_session).await, StatusCode::OK);

    // Sign-out ends the session on the server: a copy of the cookie taken before is refused.
    let stolen = victim.clone();
    let r = ts
        .client
        .delete(format!("{}/api/session", ts.url))
        .header("Cookie", format!("vetted_session={victim}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(whoami_with(&ts, &stolen).await, StatusCode::UNAUTHORIZED);
    let r = ts
        .get("/account")
        .header("Cookie", format!("vetted_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert!(
        !r.text().await.unwrap().contains("Signed in as"),
        "a stolen cookie still shows the account page"
    );

    // The web sign-out form too.
    let stolen_web = web_session.clone();
    let page = web.get("/account").await.text().await.unwrap();
    let csrf = common::web::csrf_in(&page).unwrap();
    let r = web.post_form("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        whoami_with(&ts, &stolen_web).await,
        StatusCode::UNAUTHORIZED
    );

    // Sessions and tokens are stored hashed: no cookie or token value is in the database.
    let r = ts
        .add_plugin("alice", PluginZip::valid("hashed", "1.0.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);
    let token = ts.create_token("alice", "hashed").await;
    let r = json_sign_in(&ts, "127.0.0.1", "alice", PASSWORD).await;
    let live = set_cookie(&r);
    let sessions: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&ts.state().db.pool)
        .await
        .unwrap();
    let tokens: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM tokens")
        .fetch_all(&ts.state().db.pool)
        .await
        .unwrap();
    assert!(!sessions.iter().any(|h| h.contains(&live)));
    assert!(sessions.contains(&vetted_server::auth::hash_secret(&live)));
    assert!(!tokens.iter().any(|h| h.contains(&token)));
    assert!(tokens.contains(&vetted_server::auth::hash_secret(&token)));
    let mut file = std::fs::read(ts.config.data_dir.join("vetted.sqlite3")).unwrap();
    file.extend(std::fs::read(ts.config.data_dir.join("vetted.sqlite3-wal")).unwrap_or_default());
    for secret in [&live, &token] {
        assert!(
            !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is in the database file"
        );
    }
    ts.stop().await;
}
