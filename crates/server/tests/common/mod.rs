//! Shared test harness: a real server on a free port over SQLite (temp folder) or the real
//! PostgreSQL named by `VETTED_TEST_POSTGRES` (a fresh database per test), plugin ZIPs built in
//! code, users, and HTTP helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use vetted_server::{Config, Role, RunningServer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "password123";

/// The PostgreSQL server URL; the PG tests fail (not skip) without it.
pub fn postgres_url() -> String {
    std::env::var("VETTED_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "VETTED_TEST_POSTGRES is not set: the PostgreSQL tests need a server, e.g. \
             VETTED_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test (scripts/test-server sets it)"
        )
    })
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let url = postgres_url();
    let name = format!(
        "vetted_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to VETTED_TEST_POSTGRES ({url}): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("creating the test database");
    // Replace the database name (the path after the last '/', before any '?').
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (url.clone(), String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let prefix = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => &base[..],
    };
    format!("{prefix}/{name}{query}")
}

/// Drops a database made by [`fresh_postgres_database`].
pub async fn drop_postgres_database(url: &str) {
    use sqlx::Connection;
    let name = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default();
    if !name.starts_with("vetted_t_")
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return;
    }
    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .map_err(|e| eprintln!("dropping {name}: {e}"));
    }
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub client: reqwest::Client,
}

pub async fn config_for(db: Db, dir: &Path) -> Config {
    let mut config = Config::new(dir.join("data"));
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.poll_interval = Duration::from_millis(100);
    if db == Db::Postgres {
        config.database_url = Some(fresh_postgres_database().await);
    }
    config
}

impl TestServer {
    pub async fn start(db: Db) -> TestServer {
        Self::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_for(db, dir.path()).await;
        tweak(&mut config);
        let server = vetted_server::start(config.clone())
            .await
            .expect("server starts");
        let url = server.base_url.clone();
        let ts = TestServer {
            server: Some(server),
            url,
            dir,
            config,
            client: http_client(),
        };
        ts.user("admin", Role::Admin).await;
        ts.user("staff", Role::Staff).await;
        ts.user("alice", Role::Plain).await;
        ts.user("bob", Role::Plain).await;
        ts.user("trudy", Role::Trusted).await;
        ts
    }

    /// Stops the server and starts a new one on the same data and database (a restart); the
    /// address changes.
    pub async fn restart(mut self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        tweak(&mut self.config);
        let server = vetted_server::start(self.config.clone())
            .await
            .expect("server restarts");
        self.url = server.base_url.clone();
        self.server = Some(server);
        self
    }

    pub async fn user(&self, name: &str, role: Role) {
        vetted_server::create_user(
            self.config.clone(),
            name,
            &format!("{name}@example.org"),
            PASSWORD,
            role,
        )
        .await
        .expect("user created");
    }

    pub fn state(&self) -> &std::sync::Arc<vetted_server::AppState> {
        &self.server.as_ref().unwrap().state
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    /// Web-form style upload of a new plugin (Basic auth stands in for the session).
    pub async fn add_plugin(&self, user: &str, zip: Vec<u8>, publish: bool) -> reqwest::Response {
        let mut form = Form::new().part("package", Part::bytes(zip).file_name("plugin.zip"));
        if publish {
            form = form.text("publish_immediately", "on");
        }
        self.post("/plugins/add/")
            .basic_auth(user, Some(PASSWORD))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Token API upload.
    pub async fn token_upload(
        &self,
        path: &str,
        auth_header: &str,
        zip: Vec<u8>,
        skip: &[&str],
    ) -> reqwest::Response {
        let mut form = Form::new().part("package", Part::bytes(zip).file_name("plugin.zip"));
        for s in skip {
            form = form.text("skip_security_rules", s.to_string());
        }
        self.post(path)
            .header("Authorization", auth_header)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn create_token(&self, user: &str, plugin: &str) -> String {
        let r = self
            .post("/api/tokens")
            .basic_auth(user, Some(PASSWORD))
            .json(&serde_json::json!({ "plugin": plugin, "description": "ci" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    /// Version JSON as the admin sees it.
    pub async fn version(&self, plugin: &str, version: &str) -> Value {
        let r = self
            .get(&format!("/api/plugins/{plugin}/versions/{version}"))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Waits until the version leaves `validating` and returns its JSON.
    pub async fn wait_scanned(&self, plugin: &str, version: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.version(plugin, version).await;
            if v["validation_status"] != "validating" {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{plugin} {version} still validating after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn outbox(&self) -> Vec<String> {
        let dir = self.config.outbox_dir();
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
        out
    }

    /// Emails to `to` whose subject contains `needle`.
    pub fn mails(&self, to: &str, needle: &str) -> Vec<String> {
        self.outbox()
            .into_iter()
            .filter(|m| m.contains(&format!("To: {to}")) && subject(m).contains(needle))
            .collect()
    }

    /// Like [`mails`](Self::mails), waiting up to 10 s for at least one: emails go out just
    /// after the status they report is committed.
    pub async fn wait_mails(&self, to: &str, needle: &str) -> Vec<String> {
        let start = Instant::now();
        loop {
            let found = self.mails(to, needle);
            if !found.is_empty() || start.elapsed() > Duration::from_secs(10) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server; a test that got this far passed, so its PostgreSQL database is
    /// dropped (a failing test leaves its database behind for inspection).
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            let pool = s.state.db.pool.clone();
            s.stop().await;
            pool.close().await;
        }
        if let Some(url) = &self.config.database_url {
            drop_postgres_database(url).await;
        }
    }
}

pub fn subject(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}

// ---- plugin ZIPs

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/plugins/hello_vetted")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub struct PluginZip {
    pub package: String,
    pub files: Vec<(String, Vec<u8>)>,
}

impl PluginZip {
    /// A valid plugin (the hello_vetted fixture) under `package`, version `version`.
    pub fn valid(package: &str, version: &str) -> PluginZip {
        let metadata = String::from_utf8(fixture("metadata.txt"))
            .unwrap()
            .replace("version=1.0.0", &format!("version={version}"))
            .replace("name=Hello Vetted", &format!("name={package} plugin"));
        let files = vec![
            ("metadata.txt".to_string(), metadata.into_bytes()),
            ("__init__.py".to_string(), fixture("__init__.py")),
            ("plugin.py".to_string(), fixture("plugin.py")),
            ("LICENSE".to_string(), fixture("LICENSE")),
            ("icon.svg".to_string(), fixture("icon.svg")),
        ];
        PluginZip {
            package: package.to_string(),
            files,
        }
    }

    /// A plugin with critical findings: a shell injection and a hard-coded AWS key.
    pub fn blocked(package: &str, version: &str) -> PluginZip {
        PluginZip::valid(package, version).with(
            "evil.py",
            "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n\n\nAWS_KEY = \"AKIAZ3MSJV4WWHCQCNOP\"\n",
        )
    }

    pub fn with(mut self, name: &str, content: &str) -> PluginZip {
        self.files
            .push((name.to_string(), content.as_bytes().to_vec()));
        self
    }

    pub fn set_metadata(mut self, key: &str, value: &str) -> PluginZip {
        for (name, content) in &mut self.files {
            if name == "metadata.txt" {
                let text = String::from_utf8(content.clone()).unwrap();
                let mut lines: Vec<String> = text
                    .lines()
                    .filter(|l| !l.starts_with(&format!("{key}=")))
                    .map(String::from)
                    .collect();
                lines.insert(1, format!("{key}={value}"));
                *content = (lines.join("\n") + "\n").into_bytes();
            }
        }
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in &self.files {
            w.start_file(format!("{}/{name}", self.package), opts)
                .unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap().into_inner()
    }
}

/// An HTTP client for tests (reqwest is built without its own TLS provider; see
/// `vetted_server::install_crypto_provider`).
pub fn http_client() -> reqwest::Client {
    vetted_server::install_crypto_provider();
    reqwest::Client::new()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Python with aiosmtpd and qgis-plugin-manager; these tests fail (not skip) without it.
pub fn test_python() -> PathBuf {
    let p = std::env::var("VETTED_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "VETTED_TEST_PYTHON is not set: point it at a Python with aiosmtpd and \
             qgis-plugin-manager installed (scripts/test-server sets it up)"
        )
    });
    PathBuf::from(p)
}
pub mod web;
