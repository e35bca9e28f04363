//! `vetted serve --no-worker` and `vetted worker` as real processes: a worker killed with
//! SIGKILL in the middle of a scan (holding the job's lease) leaves the version `validating`
//! and not downloadable; once the lease lapses a new worker finishes the job. On SQLite and on
//! the real PostgreSQL (`VETTED_TEST_POSTGRES`; the PG variant fails without it).

#[path = "../../server/tests/common/mod.rs"]
mod common;
mod harness;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, config_for, free_port};
use harness::{Proc, VETTED};
use vetted_server::Role;

fn spawn(args: &[&str], log: &Path) -> Proc {
    harness::spawn(args, &[], log)
}

async fn job_rows(db: &vetted_server::db::Db) -> Vec<(String, i64, Option<String>)> {
    sqlx::query_as("SELECT state, attempts, locked_by FROM jobs ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn version_status(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(format!("{url}/api/plugins/killed/versions/1.0.0"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn anonymous_download(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(format!("{url}/plugins/killed/version/1.0.0/download/"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn worker_killed_mid_scan(db_kind: Db) {
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
    let data = config.data_dir.to_str().unwrap().to_string();
    let mut store = vec!["--data".to_string(), data];
    if let Some(url) = &config.database_url {
        store.extend(["--database-url".to_string(), url.clone()]);
    }
    let store: Vec<&str> = store.iter().map(String::as_str).collect();

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--bind", &bind, "--no-worker"];
    args.extend(&store);
    let _server = spawn(&args, &dir.path().join("serve.log"));
    vetted_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let start = Instant::now();
    while client.get(format!("{url}/api/rules")).send().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("killed", "1.0.0").bytes()),
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

    // A worker takes the job and stalls inside the scan; it is killed there.
    let mut args = vec![
        "worker",
        "--lease-secs",
        "2",
        "--test-scan-delay-ms",
        "600000",
    ];
    args.extend(&store);
    let mut doomed = spawn(&args, &dir.path().join("worker1.log"));
    let start = Instant::now();
    loop {
        let rows = job_rows(&db).await;
        if rows.first().is_some_and(|(state, _, _)| state == "running") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "worker never claimed: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let it renew its lease at least once, so the kill happens in steady state.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    doomed.0.kill().unwrap(); // SIGKILL
    doomed.0.wait().unwrap();

    // In between: still validating, never downloadable, the job still held by the dead worker.
    for _ in 0..3 {
        assert_eq!(
            version_status(&client, &url).await["validation_status"],
            "validating"
        );
        assert_eq!(anonymous_download(&client, &url).await, 401);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rows = job_rows(&db).await;
    assert_eq!(rows[0].0, "running");
    assert_eq!(rows[0].1, 1);

    // A new worker takes the job over once the lease has lapsed and finishes it.
    let mut args = vec!["worker", "--lease-secs", "2"];
    args.extend(&store);
    let _worker = spawn(&args, &dir.path().join("worker2.log"));
    let start = Instant::now();
    let v = loop {
        // Download first, then status: the worker may finish in between, and
        // a version that was downloadable earlier can no longer be validating.
        let download = anonymous_download(&client, &url).await;
        let v = version_status(&client, &url).await;
        if v["validation_status"] != "validating" {
            break v;
        }
        assert_eq!(download, 401, "downloadable while still validating");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job never finished: {:?}\n{}",
            job_rows(&db).await,
            std::fs::read_to_string(dir.path().join("worker2.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(v["validation_status"], "validated");
    assert_eq!(v["approved"], true);
    let rows = job_rows(&db).await;
    assert_eq!((rows[0].0.as_str(), rows[0].1), ("done", 2), "{rows:?}");
    assert_eq!(anonymous_download(&client, &url).await, 200);
    drop(_worker);
    drop(_server);
    db.pool.close().await;
    if let Some(url) = &config.database_url {
        common::drop_postgres_database(url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_scan_sqlite() {
    worker_killed_mid_scan(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_scan_postgres() {
    worker_killed_mid_scan(Db::Postgres).await
}

#[test]
fn serve_prints_the_url_and_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let port = free_port();
    let mut child = Proc(
        Command::new(VETTED)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    use std::io::BufRead;
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = String::new();
    while !seen.contains("--admin") {
        match lines.next() {
            Some(Ok(line)) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            _ => panic!("serve stopped early: {seen}"),
        }
    }
    assert!(seen.contains(&format!("http://127.0.0.1:{port}")), "{seen}");
    assert!(seen.contains("vetted admin create-user"), "{seen}");
    assert!(
        data.join("vetted.sqlite3").exists(),
        "SQLite database created on first start"
    );
    let out = Command::new(VETTED)
        .args([
            "admin",
            "create-user",
            "root",
            "--email",
            "root@example.org",
            "--password",
            "longenough",
            "--admin",
            "--data",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
