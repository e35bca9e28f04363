//! Chaos: real `vetted serve --no-worker` and two `vetted worker` processes while a client
//! uploads a stream of plugins (clean ones published immediately by a trusted uploader, and
//! blocked ones) and another polls every download. At seeded random moments (the seed is
//! printed; `VETTED_CHAOS_SEED` replays it) the server or a worker is killed with SIGKILL and
//! restarted. Afterwards every upload the server acknowledged (201) exists and was scanned to
//! its right verdict, and at no moment was a version downloadable without a finished clean
//! scan. SQLite and PostgreSQL (`VETTED_TEST_POSTGRES`; that variant fails without it).

#[path = "../../server/tests/common/mod.rs"]
mod common;
mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, config_for, free_port};
use harness::Proc;
use vetted_server::Role;

/// xorshift64*: enough randomness for choosing moments, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Cluster {
    dir: PathBuf,
    store: Vec<String>,
    bind: String,
    server: Option<Proc>,
    workers: [Option<Proc>; 2],
    starts: usize,
}

impl Cluster {
    fn spawn(&mut self, args: &[&str]) -> Proc {
        self.starts += 1;
        let log = self.dir.join(format!("{}-{}.log", args[0], self.starts));
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.store.iter().map(String::as_str));
        harness::spawn(&all, &[], &log)
    }

    fn start_server(&mut self) {
        let bind = self.bind.clone();
        let p = self.spawn(&[
            "serve",
            "--bind",
            &bind,
            "--no-worker",
            "--uploads-per-hour-user",
            "0",
            "--uploads-per-hour-ip",
            "0",
            "--writes-per-minute-ip",
            "0",
        ]);
        self.server = Some(p);
    }

    fn start_worker(&mut self, i: usize) {
        let p = self.spawn(&[
            "worker",
            "--lease-secs",
            "3",
            "--max-attempts",
            "20",
            "--test-scan-delay-ms",
            "250",
        ]);
        self.workers[i] = Some(p);
    }
}

fn logs(dir: &Path) -> String {
    let mut out = String::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        out.push_str(&format!("--- {}\n", p.display()));
        for l in tail.iter().rev() {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// 201: the server promised to keep it.
    Acknowledged,
    /// No answer (the server died mid-request) or an error: the client does not know.
    Unknown,
}

async fn chaos(db_kind: Db) {
    let seed = std::env::var("VETTED_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("chaos seed {seed} (replay with VETTED_CHAOS_SEED={seed})");
    let mut rng = Rng(seed);
    let started = Instant::now();

    let dir = tempfile::tempdir().unwrap();
    let config = config_for(db_kind, dir.path()).await;
    for (name, role) in [("admin", Role::Admin), ("trudy", Role::Trusted)] {
        vetted_server::create_user(
            config.clone(),
            name,
            &format!("{name}@example.org"),
            PASSWORD,
            role,
        )
        .await
        .unwrap();
    }
    let db = vetted_server::db::Db::connect(&config).await.unwrap();
    let mut store = vec![
        "--data".to_string(),
        config.data_dir.to_str().unwrap().to_string(),
    ];
    if let Some(url) = &config.database_url {
        store.extend(["--database-url".to_string(), url.clone()]);
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut cluster = Cluster {
        dir: dir.path().to_path_buf(),
        store,
        bind: format!("127.0.0.1:{port}"),
        server: None,
        workers: [None, None],
        starts: 0,
    };
    cluster.start_server();
    cluster.start_worker(0);
    cluster.start_worker(1);
    vetted_server::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
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

    // Which uploads were sent, and which are meant to be blocked.
    let sent: Arc<Mutex<BTreeMap<String, (Sent, bool)>>> = Default::default();
    let violations: Arc<Mutex<Vec<String>>> = Default::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    const UPLOADS: usize = 90;

    // The uploader: one plugin after the other, every fourth one blocked.
    let uploader = {
        let (client, url, sent, stop) = (client.clone(), url.clone(), sent.clone(), stop.clone());
        tokio::spawn(async move {
            for i in 0..UPLOADS {
                let name = format!("chaos{i}");
                let blocked = i % 4 == 3;
                let zip = if blocked {
                    PluginZip::blocked(&name, "1.0.0").bytes()
                } else {
                    PluginZip::valid(&name, "1.0.0").bytes()
                };
                let form = reqwest::multipart::Form::new()
                    .part(
                        "package",
                        reqwest::multipart::Part::bytes(zip).file_name("p.zip"),
                    )
                    .text("publish_immediately", "on");
                let r = client
                    .post(format!("{url}/plugins/add/"))
                    .basic_auth("trudy", Some(PASSWORD))
                    .multipart(form)
                    .send()
                    .await;
                let outcome = match r {
                    Ok(r) if r.status() == 201 => Sent::Acknowledged,
                    _ => Sent::Unknown,
                };
                sent.lock().unwrap().insert(name, (outcome, blocked));
                tokio::time::sleep(Duration::from_millis(150)).await;
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
        })
    };

    // The poller: every download, over and over; a 200 must be a clean, scanned version.
    let poller = {
        let (client, url, sent, violations, stop, db) = (
            client.clone(),
            url.clone(),
            sent.clone(),
            violations.clone(),
            stop.clone(),
            db.clone(),
        );
        tokio::spawn(async move {
            let mut polls = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let names: Vec<(String, bool)> = sent
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(n, (_, b))| (n.clone(), *b))
                    .collect();
                for (name, blocked) in names {
                    let Ok(r) = client
                        .get(format!("{url}/plugins/{name}/version/1.0.0/download/"))
                        .send()
                        .await
                    else {
                        continue;
                    };
                    polls += 1;
                    if r.status() != 200 {
                        continue;
                    }
                    let row: Option<(String, i64, i64)> = sqlx::query_as(
                        "SELECT v.status, v.approved, (SELECT COUNT(*) FROM scans s WHERE s.version_id = v.id)
                         FROM versions v JOIN plugins p ON p.id = v.plugin_id
                         WHERE p.package_name = $1 AND v.version = '1.0.0'",
                    )
                    .bind(&name)
                    .fetch_optional(&db.pool)
                    .await
                    .unwrap();
                    let clean = matches!(&row, Some((s, 1, n)) if s == "validated" && *n > 0);
                    if blocked || !clean {
                        violations.lock().unwrap().push(format!(
                            "{name} downloadable while {row:?} (blocked: {blocked})"
                        ));
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            polls
        })
    };

    // The chaos: ~25 s of kills at seeded moments.
    let mut kills = Vec::new();
    let chaos_until = Instant::now() + Duration::from_secs(25);
    while Instant::now() < chaos_until && !uploader.is_finished() {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1500))).await;
        let target = rng.below(3) as usize;
        let pause = Duration::from_millis(rng.below(800));
        if target == 2 {
            drop(cluster.server.take()); // SIGKILL
            kills.push(format!("server@{:.1}s", started.elapsed().as_secs_f64()));
            tokio::time::sleep(pause).await;
            cluster.start_server();
        } else {
            drop(cluster.workers[target].take());
            kills.push(format!(
                "worker{target}@{:.1}s",
                started.elapsed().as_secs_f64()
            ));
            tokio::time::sleep(pause).await;
            cluster.start_worker(target);
        }
    }
    eprintln!("kills: {}", kills.join(", "));
    assert!(!kills.is_empty());

    // Calm: let the uploader finish, then every acknowledged upload must be scanned.
    let t = Instant::now();
    while !uploader.is_finished() {
        assert!(t.elapsed() < Duration::from_secs(60), "uploader stuck");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    uploader.await.unwrap();
    let sent_now = sent.lock().unwrap().clone();
    let acknowledged: Vec<(&String, bool)> = sent_now
        .iter()
        .filter(|(_, (s, _))| *s == Sent::Acknowledged)
        .map(|(n, (_, b))| (n, *b))
        .collect();
    let t = Instant::now();
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM versions WHERE status = 'validating'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{pending} versions still validating after the chaos\n{}",
            logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let polls = poller.await.unwrap();

    let mut lost = Vec::new();
    for (name, blocked) in &acknowledged {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT v.status, v.approved FROM versions v JOIN plugins p ON p.id = v.plugin_id
             WHERE p.package_name = $1 AND v.version = '1.0.0'",
        )
        .bind(name.as_str())
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        let expected = if *blocked {
            Some(("blocked".to_string(), 0))
        } else {
            Some(("validated".to_string(), 1))
        };
        if row != expected {
            lost.push(format!("{name}: {row:?}, expected {expected:?}"));
        }
        let status = client
            .get(format!("{url}/plugins/{name}/version/1.0.0/download/"))
            .send()
            .await
            .unwrap()
            .status();
        if (status == 200) == *blocked {
            lost.push(format!("{name}: download answered {status}"));
        }
    }
    let unknown = sent_now.len() - acknowledged.len();
    eprintln!(
        "chaos: {} uploads sent, {} acknowledged, {unknown} unanswered, {} kills, {polls} download polls, {:.1}s",
        sent_now.len(),
        acknowledged.len(),
        kills.len(),
        started.elapsed().as_secs_f64()
    );
    let violations = violations.lock().unwrap().clone();
    assert!(
        violations.is_empty(),
        "downloadable without a clean scan:\n{}",
        violations.join("\n")
    );
    assert!(
        lost.is_empty(),
        "acknowledged uploads lost or wrong:\n{}\n{}",
        lost.join("\n"),
        logs(dir.path())
    );
    assert!(
        acknowledged.len() >= UPLOADS / 3,
        "too few uploads got through: {}",
        acknowledged.len()
    );

    drop(cluster);
    db.pool.close().await;
    if let Some(url) = &config.database_url {
        common::drop_postgres_database(url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_sqlite() {
    chaos(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_postgres() {
    chaos(Db::Postgres).await
}
