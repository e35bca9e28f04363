//! Load on 127.0.0.1 against a real `vetted serve` (SQLite, its in-process worker plus one
//! `vetted worker`): 200 uploads and 1,000 plugins.xml readers, all started at once. Prints
//! throughput and p50/p99 latency of each; asserts no 5xx, every upload acknowledged, stored
//! and scanned, every reader served, within generous bounds (hang detection, not a benchmark
//! gate). The open-file limit of this process and the server is raised for the sockets.

#[path = "../../server/tests/common/mod.rs"]
mod common;
mod harness;

use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, config_for, free_port};
use vetted_server::Role;

const UPLOADS: usize = 200;
const READERS: usize = 1000;

unsafe extern "C" {
    fn getrlimit(resource: i32, rlim: *mut [u64; 2]) -> i32;
    fn setrlimit(resource: i32, rlim: *const [u64; 2]) -> i32;
}

/// Raises this process's soft open-file limit to its hard limit (children inherit it).
fn raise_open_files() -> u64 {
    const RLIMIT_NOFILE: i32 = 7; // Linux
    let mut lim = [0u64; 2];
    // SAFETY: plain libc calls on a local, correctly sized struct (rlim_cur, rlim_max).
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut lim) == 0 && lim[0] < lim[1] {
            let want = [lim[1].min(65_536), lim[1]];
            if setrlimit(RLIMIT_NOFILE, &want) == 0 {
                lim = want;
            }
        }
    }
    lim[0]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut times: Vec<Duration>, wall: Duration) {
    times.sort();
    eprintln!(
        "{what}: {} requests in {:.2}s = {:.1}/s; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        times.len(),
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64(),
        percentile(&times, 0.50).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_readers_at_once() {
    let limit = raise_open_files();
    assert!(
        limit >= 2 * READERS as u64 + 200,
        "open-file limit {limit} is too low for {READERS} readers"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(Db::Sqlite, dir.path()).await;
    vetted_server::create_user(
        config.clone(),
        "trudy",
        "t@example.org",
        PASSWORD,
        Role::Trusted,
    )
    .await
    .unwrap();
    let db = vetted_server::db::Db::connect(&config).await.unwrap();
    let data = config.data_dir.to_str().unwrap().to_string();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _server = harness::spawn(
        &[
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data",
            &data,
            "--concurrency",
            "2",
            "--uploads-per-hour-user",
            "0",
            "--uploads-per-hour-ip",
            "0",
            "--writes-per-minute-user",
            "0",
            "--writes-per-minute-ip",
            "0",
        ],
        &[("RUST_LOG", "warn")],
        &dir.path().join("serve.log"),
    );
    let _worker = harness::spawn(
        &["worker", "--data", &data, "--concurrency", "2"],
        &[("RUST_LOG", "warn")],
        &dir.path().join("worker.log"),
    );
    vetted_server::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let t = Instant::now();
    while client.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One published plugin so plugins.xml has an entry.
    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("seed", "1.0.0").bytes())
                .file_name("p.zip"),
        )
        .text("publish_immediately", "on");
    let r = client
        .post(format!("{url}/plugins/add/"))
        .basic_auth("trudy", Some(PASSWORD))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let zips: Vec<Vec<u8>> = (0..UPLOADS)
        .map(|i| PluginZip::valid(&format!("load{i}"), "1.0.0").bytes())
        .collect();
    let go = std::sync::Arc::new(tokio::sync::Barrier::new(UPLOADS + READERS + 1));
    let mut uploads = tokio::task::JoinSet::new();
    for (i, zip) in zips.into_iter().enumerate() {
        let (client, url, go) = (client.clone(), url.clone(), go.clone());
        uploads.spawn(async move {
            let form = reqwest::multipart::Form::new()
                .part(
                    "package",
                    reqwest::multipart::Part::bytes(zip).file_name("p.zip"),
                )
                .text("publish_immediately", "on");
            let rq = client
                .post(format!("{url}/plugins/add/"))
                .basic_auth("trudy", Some(PASSWORD))
                .multipart(form);
            go.wait().await;
            let t = Instant::now();
            let r = rq.send().await;
            let took = t.elapsed();
            let status = match r {
                Ok(r) => r.status().as_u16(),
                Err(e) => panic!("upload {i}: {e}"),
            };
            (status, took)
        });
    }
    let mut readers = tokio::task::JoinSet::new();
    for i in 0..READERS {
        let (client, url, go) = (client.clone(), url.clone(), go.clone());
        readers.spawn(async move {
            let rq = client.get(format!("{url}/plugins/plugins.xml?qgis=3.{}", 28 + i % 12));
            go.wait().await;
            let t = Instant::now();
            let r = rq.send().await;
            let took = t.elapsed();
            match r {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    assert!(
                        status != 200 || body.contains("<plugins"),
                        "reader {i}: {body}"
                    );
                    (status, took)
                }
                Err(e) => panic!("reader {i}: {e}"),
            }
        });
    }
    go.wait().await;
    let start = Instant::now();
    let mut up_times = Vec::new();
    let mut up_wall = Duration::ZERO;
    let mut read_times = Vec::new();
    let mut read_wall = Duration::ZERO;
    let mut bad = Vec::new();
    while let Some(r) = readers.join_next().await {
        let (status, took) = r.unwrap();
        if status != 200 {
            bad.push(format!("plugins.xml {status}"));
        }
        read_times.push(took);
        read_wall = start.elapsed();
    }
    while let Some(r) = uploads.join_next().await {
        let (status, took) = r.unwrap();
        if status != 201 {
            bad.push(format!("upload {status}"));
        }
        up_times.push(took);
        up_wall = start.elapsed();
    }
    report("plugins.xml readers", read_times, read_wall);
    report("uploads", up_times, up_wall);
    assert!(
        bad.is_empty(),
        "{} failed requests: {:?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
    assert!(
        start.elapsed() < Duration::from_secs(180),
        "took {:?}",
        start.elapsed()
    );

    // Nothing lost: every upload stored and scanned (validated, published).
    let t = Instant::now();
    loop {
        let (done, validated): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'validated' AND approved = 1 THEN 1 ELSE 0 END), 0)
             FROM versions v JOIN plugins p ON p.id = v.plugin_id
             WHERE p.package_name LIKE 'load%' AND v.status <> 'validating'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if done == UPLOADS as i64 {
            assert_eq!(
                validated, UPLOADS as i64,
                "every upload validated and published"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "only {done} of {UPLOADS} uploads scanned"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "all {UPLOADS} uploads scanned {:.1}s after the first request",
        start.elapsed().as_secs_f64()
    );
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM versions")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(versions, UPLOADS as i64 + 1);
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vetted_http_responses_total{class=\"5xx\"} 0"),
        "{metrics}"
    );
    db.pool.close().await;
}
