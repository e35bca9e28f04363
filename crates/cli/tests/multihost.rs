//! Vetted scaled out, tested against real parts: network namespaces stand in for hosts
//! (PostgreSQL and moto's S3 server on one, two `vetted serve --no-worker` on two more, two
//! `vetted worker` on two more, all joined by veth pairs on one bridge). Uploads through either
//! server are scanned by the workers and served by the other; plugins.xml is the same bytes
//! through both; an approval through one shows through the other at once; a sign-in through one
//! is valid through the other. Faults: a worker killed with SIGKILL mid-scan (the other worker
//! finishes the job, the version is never downloadable before), a worker stopped with SIGTERM
//! mid-scan (it hands its lease back at once), the S3 server stopped during an upload (a clear
//! 503, nothing half-written served, uploads work again once it is back), PostgreSQL restarted
//! (503 on /readyz meanwhile, every process recovers without a restart of its own).
//!
//! The same suite runs against the single-process default (`vetted serve`: SQLite, local files,
//! the worker in the server process); only the S3 and PostgreSQL faults do not apply there and
//! are left out with a printed reason. The multi-host test must run as root (as on CI) and fails
//! with a clear message otherwise.

#[path = "../../server/tests/common/mod.rs"]
mod common;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{PASSWORD, PluginZip};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::{Moto, Net, Postgres, Proc, VETTED, in_ns, tail};
use vetted_server::Role;

/// Flags every scanning process starts with: a short lease so a killed worker's job is taken
/// over within seconds, and a short grace at shutdown.
const NORMAL: &[&str] = &["--lease-secs", "3", "--shutdown-grace-secs", "2"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MultiHost,
    Single,
}

/// One `vetted` process of the deployment: how to start it, and the running process.
struct Node {
    name: String,
    ns: Option<String>,
    args: Vec<String>,
    /// Servers: their address.
    url: Option<String>,
    log: PathBuf,
    proc: Option<Proc>,
}

impl Node {
    fn start(&mut self, extra: &[&str]) {
        let mut cmd = in_ns(self.ns.as_deref(), VETTED);
        cmd.args(&self.args)
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("RUST_LOG", "info");
        self.proc = Some(Proc::spawn(&self.name, cmd, &self.log));
    }

    fn pid(&self) -> u32 {
        self.proc.as_ref().expect("running").pid()
    }

    /// The name its job loops hold leases under: `<host>-<pid>-{worker,server}-<n>`.
    fn lease_marker(&self) -> String {
        format!("-{}-", self.pid())
    }
}

/// The deployment under test.
struct Cluster {
    kind: Kind,
    client: reqwest::Client,
    servers: Vec<Node>,
    workers: Vec<Node>,
    /// The test's own connection, to look at jobs.
    db: vetted_server::db::Db,
    moto: Option<Moto>,
    pg: Option<Postgres>,
    _dir: tempfile::TempDir,
    // Dropped last: the processes above are gone by then.
    _net: Option<Net>,
}

impl Cluster {
    /// PostgreSQL and moto on one namespace, two servers and two workers on four more.
    async fn multi_host() -> Cluster {
        support::require_root_and_ip();
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new();
        let db_ns = net.host("db", 2);
        let pg = Postgres::init(&db_ns, net.addr(2), dir.path());
        {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&pg.url("postgres"))
                .await
                .expect("connecting to the test's PostgreSQL");
            sqlx::query("CREATE DATABASE vetted")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let moto = Moto::start(&db_ns, net.addr(2), dir.path(), "vetted").await;
        let database_url = pg.url("vetted");
        let storage = format!(
            "s3://vetted/repo?endpoint=http://{}:{}&path_style=true&allow_http=true&timeout=5",
            moto.addr, moto.port
        );
        // Migrate once before the processes start, and make the users.
        let mut config = vetted_server::Config::new(dir.path().join("admin"));
        config.database_url = Some(database_url.clone());
        let db = vetted_server::db::Db::connect(&config).await.unwrap();
        make_users(&config).await;

        let mut servers = Vec::new();
        for (name, host) in [("server-a", 3), ("server-b", 4)] {
            let ns = net.host(name, host);
            let bind = format!("{}:8080", net.addr(host));
            servers.push(Node {
                name: name.into(),
                ns: Some(ns),
                args: strings(&[
                    "serve",
                    "--no-worker",
                    "--bind",
                    &bind,
                    "--data",
                    dir.path().join(name).to_str().unwrap(),
                    "--database-url",
                    &database_url,
                    "--storage",
                    &storage,
                    // Behind one load balancer every server has the same public URL.
                    "--base-url",
                    "http://plugins.vetted.test",
                ]),
                url: Some(format!("http://{bind}")),
                log: dir.path().join(format!("{name}.log")),
                proc: None,
            });
        }
        let mut workers = Vec::new();
        for (name, host) in [("worker-a", 5), ("worker-b", 6)] {
            let ns = net.host(name, host);
            workers.push(Node {
                name: name.into(),
                ns: Some(ns),
                args: strings(&[
                    "worker",
                    "--data",
                    dir.path().join(name).to_str().unwrap(),
                    "--database-url",
                    &database_url,
                    "--storage",
                    &storage,
                    "--base-url",
                    "http://plugins.vetted.test",
                ]),
                url: None,
                log: dir.path().join(format!("{name}.log")),
                proc: None,
            });
        }
        let mut c = Cluster {
            kind: Kind::MultiHost,
            client: support::vetted_server_client(),
            servers,
            workers,
            db,
            moto: Some(moto),
            pg: Some(pg),
            _dir: dir,
            _net: Some(net),
        };
        for i in 0..c.servers.len() {
            c.servers[i].start(&[]);
        }
        for i in 0..c.workers.len() {
            c.workers[i].start(NORMAL);
        }
        for i in 0..c.servers.len() {
            c.wait_server(i).await;
        }
        for i in 0..c.workers.len() {
            c.wait_worker(i).await;
        }
        c
    }

    /// `vetted serve` as it comes: SQLite and files in its data folder, scans in-process.
    async fn single() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = vetted_server::Config::new(data.clone());
        let db = vetted_server::db::Db::connect(&config).await.unwrap();
        make_users(&config).await;
        let bind = format!("127.0.0.1:{}", common::free_port());
        let server = Node {
            name: "server".into(),
            ns: None,
            args: strings(&["serve", "--bind", &bind, "--data", data.to_str().unwrap()]),
            url: Some(format!("http://{bind}")),
            log: dir.path().join("server.log"),
            proc: None,
        };
        let mut c = Cluster {
            kind: Kind::Single,
            client: support::vetted_server_client(),
            servers: vec![server],
            workers: Vec::new(),
            db,
            moto: None,
            pg: None,
            _dir: dir,
            _net: None,
        };
        c.servers[0].start(NORMAL);
        c.wait_server(0).await;
        c
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for n in self.servers.iter().chain(&self.workers) {
            out.push_str(&tail(&n.log));
        }
        out
    }

    fn url(&self, server: usize) -> &str {
        self.servers[server].url.as_deref().unwrap()
    }

    /// The processes that scan: the workers, or the one server of the default.
    fn scanners(&mut self) -> &mut Vec<Node> {
        match self.kind {
            Kind::MultiHost => &mut self.workers,
            Kind::Single => &mut self.servers,
        }
    }

    /// (Re)starts scanner `i` with `extra` flags and waits until it is up.
    async fn start_scanner(&mut self, i: usize, extra: &[&str]) {
        if let Some(mut p) = self.scanners()[i].proc.take() {
            p.kill();
        }
        self.scanners()[i].start(extra);
        match self.kind {
            Kind::MultiHost => self.wait_worker(i).await,
            Kind::Single => self.wait_server(i).await,
        }
    }

    /// Stops scanner `i` with SIGTERM and waits for it to exit.
    async fn stop_scanner(&mut self, i: usize) -> std::process::ExitStatus {
        let mut p = self.scanners()[i].proc.take().expect("running");
        p.signal("TERM");
        let name = p.name.clone();
        let status = tokio::task::spawn_blocking(move || {
            let s = p.wait_exit(Duration::from_secs(30));
            (s, p)
        })
        .await
        .unwrap();
        status
            .0
            .unwrap_or_else(|| panic!("{name} did not stop within 30 s of SIGTERM{}", self.logs()))
    }

    async fn wait_server(&self, i: usize) {
        let start = Instant::now();
        loop {
            if let Ok(r) = self
                .client
                .get(format!("{}/readyz", self.url(i)))
                .send()
                .await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not become ready{}",
                self.servers[i].name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until worker `i` has registered in the database.
    async fn wait_worker(&self, i: usize) {
        let pid = self.workers[i].pid() as i64;
        let start = Instant::now();
        loop {
            if let Ok(live) = vetted_server::workers::live(&self.db).await
                && live.iter().any(|w| w.pid == pid)
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not register{}",
                self.workers[i].name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn upload(
        &self,
        server: usize,
        user: &str,
        zip: Vec<u8>,
        publish: bool,
    ) -> (u16, String) {
        let mut form = Form::new().part("package", Part::bytes(zip).file_name("plugin.zip"));
        if publish {
            form = form.text("publish_immediately", "on");
        }
        let r = self
            .client
            .post(format!("{}/plugins/add/", self.url(server)))
            .basic_auth(user, Some(PASSWORD))
            .multipart(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The version's JSON as the admin sees it through `server`; None when there is none.
    async fn version(&self, server: usize, plugin: &str, version: &str) -> Option<Value> {
        let r = self
            .client
            .get(format!(
                "{}/api/plugins/{plugin}/versions/{version}",
                self.url(server)
            ))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::NOT_FOUND => None,
            StatusCode::OK => Some(r.json().await.unwrap()),
            s => panic!(
                "version {plugin} {version}: {s} {}",
                r.text().await.unwrap()
            ),
        }
    }

    async fn status(&self, server: usize, plugin: &str, version: &str) -> String {
        let v = self
            .version(server, plugin, version)
            .await
            .unwrap_or_else(|| panic!("{plugin} {version} does not exist"));
        v["validation_status"].as_str().unwrap().to_string()
    }

    /// An anonymous download (what QGIS does): status and body.
    async fn download(&self, server: usize, plugin: &str, version: &str) -> (u16, Vec<u8>) {
        let r = self
            .client
            .get(format!(
                "{}/plugins/{plugin}/version/{version}/download/",
                self.url(server)
            ))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn plugins_xml(&self, server: usize) -> Vec<u8> {
        let r = self
            .client
            .get(format!(
                "{}/plugins/plugins.xml?qgis=3.34",
                self.url(server)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }

    /// Polls every server until the version has left `validating`; meanwhile it must never be
    /// downloadable nor listed in plugins.xml (the download is asked first, so a scan that
    /// completes between the two questions cannot be mistaken for a leak).
    async fn wait_scanned_never_served(
        &self,
        plugin: &str,
        version: &str,
        limit: Duration,
    ) -> String {
        let start = Instant::now();
        let listed = format!("{plugin}.{version}.zip");
        loop {
            let mut statuses = Vec::new();
            for s in 0..self.servers.len() {
                let (code, _) = self.download(s, plugin, version).await;
                let xml = String::from_utf8(self.plugins_xml(s).await).unwrap();
                let status = self.status(s, plugin, version).await;
                if status == "validating" {
                    assert_ne!(
                        code, 200,
                        "{plugin} {version} downloadable while validating"
                    );
                    assert!(
                        !xml.contains(&listed),
                        "{plugin} {version} in plugins.xml while validating"
                    );
                }
                statuses.push(status);
            }
            if statuses.iter().all(|s| s != "validating") {
                return statuses.swap_remove(0);
            }
            assert!(
                start.elapsed() < limit,
                "{plugin} {version} still validating after {limit:?}: jobs {:?}{}",
                self.jobs().await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every job: id, state, attempts, holder.
    async fn jobs(&self) -> Vec<(i64, String, i64, Option<String>)> {
        sqlx::query_as("SELECT id, state, attempts, locked_by FROM jobs ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    async fn newest_job(&self) -> (i64, String, i64, Option<String>) {
        self.jobs().await.pop().expect("a job")
    }

    /// Waits until the newest job is running under a lease of scanner `i`.
    async fn wait_running_on(&mut self, i: usize) {
        let marker = self.scanners()[i].lease_marker();
        let start = Instant::now();
        loop {
            let job = self.newest_job().await;
            if job.1 == "running" && job.3.as_deref().is_some_and(|h| h.contains(&marker)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the job was never claimed by scanner {i}: {job:?}{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn approve(&self, server: usize, plugin: &str, version: &str) {
        let r = self
            .client
            .post(format!(
                "{}/api/plugins/{plugin}/versions/{version}/approve",
                self.url(server)
            ))
            .basic_auth("staff", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    async fn readyz(&self, server: usize) -> (u16, String, Duration) {
        let start = Instant::now();
        let r = self
            .client
            .get(format!("{}/readyz", self.url(server)))
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.text().await.unwrap(),
            start.elapsed(),
        )
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

async fn make_users(config: &vetted_server::Config) {
    for (name, role) in [
        ("admin", Role::Admin),
        ("staff", Role::Staff),
        ("alice", Role::Plain),
        ("trudy", Role::Trusted),
    ] {
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
}

// ---- the suite: the same scenarios on both deployments

async fn suite(c: &mut Cluster) {
    let started = Instant::now();
    uploads_scanned_and_served_across_servers(c).await;
    sessions_are_shared(c).await;
    worker_killed_mid_scan(c).await;
    shutdown_hands_the_lease_back(c).await;
    storage_outage_during_upload(c).await;
    database_restart(c).await;
    eprintln!("{:?} suite took {:?}", c.kind, started.elapsed());
}

/// Uploads through each server, scanned by the workers, approved through another server and
/// then at once listed and downloadable through the first; plugins.xml is the same bytes
/// through every server.
async fn uploads_scanned_and_served_across_servers(c: &mut Cluster) {
    let n = c.servers.len();
    for i in 0..n {
        let other = (i + 1) % n;
        let name = format!("across{i}");
        let zip = PluginZip::valid(&name, "1.0.0").bytes();
        let (code, body) = c.upload(i, "alice", zip.clone(), false).await;
        assert_eq!(code, 201, "{body}");
        let status = c
            .wait_scanned_never_served(&name, "1.0.0", Duration::from_secs(60))
            .await;
        assert_eq!(status, "validated");
        // Validated but not approved: not public anywhere.
        for s in 0..n {
            assert_eq!(c.download(s, &name, "1.0.0").await.0, 401);
            assert_eq!(
                c.version(s, &name, "1.0.0").await.unwrap()["approved"],
                false
            );
        }
        c.approve(other, &name, "1.0.0").await;
        // At once (no waiting, no cache lag) through the first server.
        let xml = String::from_utf8(c.plugins_xml(i).await).unwrap();
        assert!(
            xml.contains(&format!("{name}.1.0.0.zip")),
            "approved through {other}, not listed through {i}: {xml}"
        );
        let (code, body) = c.download(i, &name, "1.0.0").await;
        assert_eq!(code, 200);
        assert_eq!(
            body, zip,
            "the stored bytes come back through the other server"
        );
    }
    if c.kind == Kind::MultiHost {
        // Scanned by the worker processes (the servers run none).
        let workers: Vec<String> = c.workers.iter().map(Node::lease_marker).collect();
        for job in c.jobs().await {
            let holder = job.3.clone().unwrap_or_default();
            assert!(
                workers.iter().any(|w| holder.contains(w)),
                "job {job:?} not run by a worker process"
            );
        }
    }
    // The feed is one document, whichever server answers (also after downloads were counted).
    let first = c.plugins_xml(0).await;
    for s in 1..n {
        assert_eq!(
            c.plugins_xml(s).await,
            first,
            "plugins.xml differs between servers"
        );
    }
    let xml = String::from_utf8(first).unwrap();
    for i in 0..n {
        assert!(xml.contains(&format!("across{i}.1.0.0.zip")), "{xml}");
    }
}

/// A session started through one server is valid through every other (sessions are rows).
async fn sessions_are_shared(c: &mut Cluster) {
    let r = c
        .client
        .post(format!("{}/api/session", c.url(0)))
        .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for s in 0..c.servers.len() {
        let r = c
            .client
            .get(format!("{}/api/session", c.url(s)))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["username"], "alice", "{v}");
    }
}

/// SIGKILL to the worker holding a job mid-scan: the version stays `validating` and is never
/// served; the other worker takes the job once the lease lapses and finishes it.
async fn worker_killed_mid_scan(c: &mut Cluster) {
    let n = c.scanners().len();
    // Only scanner 0 runs, and it stalls inside every scan.
    for i in 1..n {
        c.stop_scanner(i).await;
    }
    c.start_scanner(0, &["--lease-secs", "3", "--test-scan-delay-ms", "600000"])
        .await;
    let zip = PluginZip::valid("killed", "1.0.0").bytes();
    let (code, body) = c.upload(0, "trudy", zip.clone(), true).await;
    assert_eq!(code, 201, "{body}");
    c.wait_running_on(0).await;
    // Let it renew its lease at least once: the kill happens in steady state.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if n > 1 {
        c.start_scanner(1, NORMAL).await;
    }
    let doomed = c.scanners()[0].proc.take().unwrap();
    drop(doomed); // SIGKILL
    let finisher = if n > 1 {
        1
    } else {
        eprintln!(
            "single process: the server is its own worker, so SIGKILL took the server down with \
             the scan; starting it again to finish the job"
        );
        c.start_scanner(0, NORMAL).await;
        0
    };
    let status = c
        .wait_scanned_never_served("killed", "1.0.0", Duration::from_secs(60))
        .await;
    assert_eq!(status, "validated");
    let job = c.newest_job().await;
    assert_eq!((job.1.as_str(), job.2), ("done", 2), "{job:?}");
    let marker = c.scanners()[finisher].lease_marker();
    assert!(
        job.3.as_deref().is_some_and(|h| h.contains(&marker)),
        "{job:?} not finished by scanner {finisher}"
    );
    for s in 0..c.servers.len() {
        let (code, body) = c.download(s, "killed", "1.0.0").await;
        assert_eq!(code, 200);
        assert_eq!(body, zip);
    }
    if n > 1 {
        c.start_scanner(0, NORMAL).await;
    }
}

/// SIGTERM to a worker stalled in a scan under a long lease: within its short grace it hands the
/// job back, so the job runs again at once (long before the five-minute lease would lapse) and
/// the claim is not counted against the job.
async fn shutdown_hands_the_lease_back(c: &mut Cluster) {
    let n = c.scanners().len();
    for i in 1..n {
        c.stop_scanner(i).await;
    }
    c.start_scanner(
        0,
        &[
            "--lease-secs",
            "300",
            "--shutdown-grace-secs",
            "2",
            "--test-scan-delay-ms",
            "600000",
        ],
    )
    .await;
    let zip = PluginZip::valid("termed", "1.0.0").bytes();
    let (code, body) = c.upload(0, "trudy", zip.clone(), true).await;
    assert_eq!(code, 201, "{body}");
    c.wait_running_on(0).await;
    let asked = Instant::now();
    let exit = c.stop_scanner(0).await;
    assert!(exit.success(), "{exit:?}{}", c.logs());
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "stopping took {:?}",
        asked.elapsed()
    );
    let job = c.newest_job().await;
    assert_eq!(
        (job.1.as_str(), job.2, job.3.as_deref()),
        ("queued", 0, None),
        "the lease was not handed back: {job:?}{}",
        c.logs()
    );
    let next = if n > 1 { 1 } else { 0 };
    let restarted = Instant::now();
    c.start_scanner(next, NORMAL).await;
    let status = c
        .wait_scanned_never_served("termed", "1.0.0", Duration::from_secs(30))
        .await;
    assert_eq!(status, "validated");
    assert!(restarted.elapsed() < Duration::from_secs(30));
    let job = c.newest_job().await;
    assert_eq!((job.1.as_str(), job.2), ("done", 1), "{job:?}");
    for i in 0..n {
        if c.scanners()[i].proc.is_none() {
            c.start_scanner(i, NORMAL).await;
        }
    }
}

/// The S3 server stops answering (SIGSTOP) during an upload: the upload fails with a clear 503,
/// nothing is stored or served, `/readyz` says so; once it answers again (SIGCONT) the same
/// upload succeeds, without restarting anything.
async fn storage_outage_during_upload(c: &mut Cluster) {
    let Some(moto) = &c.moto else {
        eprintln!(
            "single process: files are on the local disk, there is no S3 server to stop; \
             storage_outage_during_upload does not apply"
        );
        return;
    };
    let moto_pid = moto.proc.pid();
    support::signal(moto_pid, "STOP");
    let zip = PluginZip::valid("outage", "1.0.0").bytes();
    let asked = Instant::now();
    let (code, body) = c.upload(1, "trudy", zip.clone(), true).await;
    let took = asked.elapsed();
    let (ready, why, _) = c.readyz(0).await;
    support::signal(moto_pid, "CONT");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("file store is unavailable"), "{body}");
    assert!(
        took < Duration::from_secs(60),
        "the upload took {took:?} to fail"
    );
    assert_eq!(ready, 503);
    assert!(why.contains("file store unavailable"), "{why}");
    // Nothing half-written: no version, no download, not in the feed, through any server.
    for s in 0..c.servers.len() {
        assert!(c.version(s, "outage", "1.0.0").await.is_none());
        assert_eq!(c.download(s, "outage", "1.0.0").await.0, 404);
        let xml = String::from_utf8(c.plugins_xml(s).await).unwrap();
        assert!(!xml.contains("outage.1.0.0.zip"));
    }
    for s in 0..c.servers.len() {
        c.wait_server(s).await;
    }
    let (code, body) = c.upload(1, "trudy", zip.clone(), true).await;
    assert_eq!(code, 201, "{body}");
    let status = c
        .wait_scanned_never_served("outage", "1.0.0", Duration::from_secs(60))
        .await;
    assert_eq!(status, "validated");
    let (code, got) = c.download(0, "outage", "1.0.0").await;
    assert_eq!(code, 200);
    assert_eq!(got, zip);
}

/// PostgreSQL restarts: meanwhile every server answers 503 on `/readyz` (quickly, and 200 on
/// `/healthz`: the process is fine); afterwards every server and worker works again without a
/// restart of its own.
async fn database_restart(c: &mut Cluster) {
    if c.pg.is_none() {
        eprintln!(
            "single process: SQLite is a file inside the server, there is no database server to \
             restart; database_restart does not apply"
        );
        return;
    }
    tokio::task::block_in_place(|| c.pg.as_mut().unwrap().stop());
    for s in 0..c.servers.len() {
        for _ in 0..2 {
            let (code, why, took) = c.readyz(s).await;
            assert_eq!(code, 503, "{why}");
            assert!(why.contains("database unavailable"), "{why}");
            assert!(took < Duration::from_secs(15), "/readyz took {took:?}");
            let r = c
                .client
                .get(format!("{}/healthz", c.url(s)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    tokio::task::block_in_place(|| c.pg.as_mut().unwrap().start());
    for s in 0..c.servers.len() {
        c.wait_server(s).await;
    }
    // The workers reconnect too: an upload is scanned and served as before.
    let zip = PluginZip::valid("restarted", "1.0.0").bytes();
    let (code, body) = c.upload(0, "trudy", zip.clone(), true).await;
    assert_eq!(code, 201, "{body}");
    let status = c
        .wait_scanned_never_served("restarted", "1.0.0", Duration::from_secs(60))
        .await;
    assert_eq!(status, "validated");
    let (code, got) = c.download(1, "restarted", "1.0.0").await;
    assert_eq!(code, 200);
    assert_eq!(got, zip);
    // Both workers are still registered and beating (they were never restarted).
    for w in 0..c.workers.len() {
        c.wait_worker(w).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multihost_postgres_s3_two_servers_two_workers() {
    let mut c = Cluster::multi_host().await;
    suite(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_process_default() {
    let mut c = Cluster::single().await;
    suite(&mut c).await;
}
