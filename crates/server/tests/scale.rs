//! The parts that let Vetted run on several machines: uploads in an S3-compatible store (moto's
//! server, reached through a proxy the test can cut), content-addressed keys, the orphan sweep,
//! `/healthz`, `/readyz` and `/metrics`, and, on PostgreSQL, a job queued through one server
//! started at once by a worker of another process through `LISTEN/NOTIFY`.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, TestServer, free_port, http_client, test_python};
use sha2::Digest;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use vetted_server::storage::{S3Config, StorageConfig};

/// moto's S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    async fn start() -> Moto {
        let port = free_port();
        let moto = test_python().with_file_name("moto_server");
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (scripts/setup-server-test installs it)",
                    moto.display()
                )
            });
        let client = http_client();
        let start = Instant::now();
        // Create the bucket (path style; moto does not check signatures) once it answers.
        loop {
            if let Ok(r) = client
                .put(format!("http://127.0.0.1:{port}/vetted-test"))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Moto { child, port }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of moto: `cut` makes the store unreachable (listener closed, open
/// connections dropped) while moto keeps its objects; `restore` listens again on the same port.
struct Proxy {
    port: u16,
    upstream: u16,
    tasks: Option<JoinSet<()>>,
}

impl Proxy {
    async fn start(upstream: u16) -> Proxy {
        let mut p = Proxy {
            port: free_port(),
            upstream,
            tasks: None,
        };
        p.restore().await;
        p
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let upstream = self.upstream;
        let mut tasks = JoinSet::new();
        let conns = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
        tasks.spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                conns.lock().await.spawn(async move {
                    if let Ok(mut out) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    async fn cut(&mut self) {
        if let Some(mut t) = self.tasks.take() {
            t.shutdown().await;
        }
    }
}

fn s3_config(port: u16) -> StorageConfig {
    StorageConfig::S3(S3Config {
        bucket: "vetted-test".into(),
        prefix: "repo".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".into(),
        path_style: true,
        allow_http: true,
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".into()),
        timeout: vetted_server::storage::DEFAULT_S3_TIMEOUT,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_live_in_s3_and_an_outage_fails_cleanly() {
    let moto = Moto::start().await;
    let mut proxy = Proxy::start(moto.port).await;
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.storage = Some(s3_config(proxy.port));
    })
    .await;
    assert_eq!(ts.get("/healthz").send().await.unwrap().status(), 200);
    assert_eq!(ts.get("/readyz").send().await.unwrap().status(), 200);

    let zip = PluginZip::valid("cloudy", "1.0.0").bytes();
    let r = ts.add_plugin("alice", zip.clone(), false).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        ts.wait_scanned("cloudy", "1.0.0").await["validation_status"],
        "validated"
    );
    let r = ts
        .post("/api/plugins/cloudy/versions/1.0.0/approve")
        .basic_auth("staff", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = ts
        .get("/plugins/cloudy/version/1.0.0/download/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        zip,
        "the stored bytes come back"
    );

    // The object sits in the bucket under its SHA-256, below the configured prefix.
    let sha = hex::encode(sha2::Sha256::digest(&zip));
    let key = vetted_server::storage::content_key(&sha);
    let listing = http_client()
        .get(format!(
            "http://127.0.0.1:{}/vetted-test?list-type=2",
            moto.port
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("<Key>repo/{key}</Key>")),
        "{listing}"
    );

    // The store goes away: readiness says so, an upload fails with a clear 503 and stores
    // nothing, a download answers 503; the process itself is still healthy.
    proxy.cut().await;
    assert_eq!(ts.get("/healthz").send().await.unwrap().status(), 200);
    let r = ts.get("/readyz").send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("file store unavailable"));
    let zip2 = PluginZip::valid("cloudy", "1.1.0").bytes();
    let started = Instant::now();
    let r = ts.add_plugin("alice", zip2.clone(), false).await;
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(body.contains("file store is unavailable"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the outage took {:?} to report",
        started.elapsed()
    );
    let r = ts
        .get("/api/plugins/cloudy/versions/1.1.0")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no row without its file");
    let r = ts
        .get("/plugins/cloudy/version/1.0.0/download/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);

    // Back again: everything works without a restart.
    proxy.restore().await;
    assert_eq!(ts.get("/readyz").send().await.unwrap().status(), 200);
    let r = ts.add_plugin("alice", zip2, false).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        ts.wait_scanned("cloudy", "1.1.0").await["validation_status"],
        "validated"
    );

    // Orphans: a file no row names is kept while young and removed after the grace period;
    // the files versions name are never touched.
    let storage = &ts.state().storage;
    storage
        .put("sha256/zz/left-by-a-crash.zip", b"orphan".to_vec())
        .await
        .unwrap();
    let db = &ts.state().db;
    let young = vetted_server::storage::sweep(db, storage, Duration::from_secs(3600), false)
        .await
        .unwrap();
    assert_eq!(
        (young.objects, young.referenced, young.young_orphans),
        (3, 2, 1)
    );
    assert!(young.removed.is_empty());
    let dry = vetted_server::storage::sweep(db, storage, Duration::ZERO, true)
        .await
        .unwrap();
    assert_eq!(
        dry.removed,
        vec!["sha256/zz/left-by-a-crash.zip".to_string()]
    );
    assert_eq!(
        storage.list().await.unwrap().len(),
        3,
        "a dry run removes nothing"
    );
    let swept = vetted_server::storage::sweep(db, storage, Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(swept.removed, dry.removed);
    assert_eq!(storage.list().await.unwrap().len(), 2);
    let r = ts
        .get("/plugins/cloudy/version/1.0.0/download/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Metrics in Prometheus's text format.
    let m = ts.get("/metrics").send().await.unwrap();
    assert_eq!(m.status(), 200);
    let m = m.text().await.unwrap();
    let scans: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("vetted_scan_duration_seconds_count "))
        .expect("scan count")
        .parse()
        .unwrap();
    assert!(scans >= 2, "{m}");
    assert!(
        m.contains("vetted_http_responses_total{class=\"5xx\"}"),
        "{m}"
    );
    assert!(m.contains("vetted_queue_depth 0"), "{m}");
    // Every answer carries a request id, and one the proxy sent is kept.
    let r = ts
        .get("/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    ts.stop().await;
}

/// A job queued through a server without workers is started by another process's worker at
/// once: that worker polls only every minute, so only the PostgreSQL notice can wake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_workers_of_other_processes() {
    let ts = TestServer::start_with(Db::Postgres, |c| {
        c.run_worker = false;
    })
    .await;
    let mut worker_config = ts.config.clone();
    worker_config.run_worker = true;
    worker_config.poll_interval = Duration::from_secs(60);
    worker_config.worker_concurrency = 2;
    worker_config.sweep_interval = Duration::ZERO;
    let worker = vetted_server::start(worker_config).await.unwrap();
    // The worker has registered and found the queue empty; from now on only a notice wakes it.
    let start = Instant::now();
    loop {
        let live = vetted_server::workers::live(&ts.state().db).await.unwrap();
        if live.iter().any(|w| w.concurrency == 2) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the worker never registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let r = ts
        .add_plugin("alice", PluginZip::valid("noticed", "1.0.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);
    let queued = Instant::now();
    let v = ts.wait_scanned("noticed", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated");
    assert!(
        queued.elapsed() < Duration::from_secs(20),
        "the job waited {:?}: the notice did not wake the worker",
        queued.elapsed()
    );
    worker.stop().await;
    // A stopped worker process is no longer listed.
    let live = vetted_server::workers::live(&ts.state().db).await.unwrap();
    assert!(live.iter().all(|w| w.concurrency != 2), "{live:?}");
    ts.stop().await;
}
