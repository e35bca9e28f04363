//! The server's settings, read once at start-up (from `vetted serve`/`worker`/`admin` flags)
//! into one typed struct that every part receives.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Data folder: SQLite database, uploaded files, email outbox.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    pub bind: SocketAddr,
    /// Public URL used in plugins.xml and emails; `http://<bind>` when absent.
    pub base_url: Option<String>,
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or `smtps://…`; emails go to
    /// `<data>/outbox/` when absent.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Run scan jobs inside the server process (`serve` without `--no-worker`).
    pub run_worker: bool,
    /// How long a worker holds a job before another may take it over.
    pub lease: Duration,
    /// Claims of one job before it fails closed (`scan_error`).
    pub max_attempts: i64,
    /// How often an idle worker looks for jobs.
    pub poll_interval: Duration,
    /// Largest accepted upload in bytes (the ZIP itself).
    pub max_upload_bytes: usize,
    /// Mark cookies `Secure` even when `base_url` is not https (a TLS proxy in front with an
    /// http base URL); https base URLs always get it.
    pub secure_cookies: bool,
    /// Test hook: a pause before each scan, so tests can kill a worker holding a lease.
    pub test_scan_delay: Option<Duration>,
    /// Where uploaded files go; `<data>/files` when absent.
    pub storage: Option<crate::storage::StorageConfig>,
    /// Stored files that no version names are removed once this old.
    pub orphan_grace: Duration,
    /// How often a server sweeps orphans (never when zero).
    pub sweep_interval: Duration,
    /// Scan jobs a worker process (or a server's in-process worker) runs at once.
    pub worker_concurrency: usize,
    /// Wall-clock time one scan job may take; past it the scan fails closed (blocked with an
    /// error). Keep it below `lease`, or another worker takes the job over mid-scan.
    pub scan_time_budget: Duration,
    /// On SIGTERM, how long a worker lets its current scan finish; past it the job's lease is
    /// released so another worker takes the job at once (not when the lease would lapse).
    pub shutdown_grace: Duration,
    /// Upstream feeds (`upstream/`): largest feed accepted, in bytes.
    pub upstream_max_feed_bytes: usize,
    /// Upstream requests: time to connect, and time for the whole request and body.
    pub upstream_connect_timeout: Duration,
    pub upstream_timeout: Duration,
    /// How often each upstream is synced on a schedule by `serve` and `worker` processes (an
    /// upstream's own `sync_interval` overrides it); zero turns scheduled syncs off.
    pub upstream_sync_interval: Duration,
    /// Brute-force and rate limits (`limits.rs`).
    pub limits: Limits,
    /// Reverse proxies whose `X-Forwarded-For` names the client; from anyone else the header
    /// is ignored and the socket peer is the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// Time a request body may take to arrive; a slower one is cut (408).
    pub body_timeout: Duration,
}

/// Limits on one client (`limits.rs`); every count is shared through the database. A zero
/// turns that limit off.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The window failed sign-ins and tokens are counted in; a client over a limit waits until
    /// it ends.
    pub failure_window: Duration,
    /// Failed sign-ins (any account) from one client address.
    pub sign_in_failures_per_ip: u32,
    /// Failed sign-ins for one account from one client address.
    pub sign_in_failures_per_account_ip: u32,
    /// Failed sign-ins for one account from all addresses together: the cap on a guessing
    /// attack spread over many addresses (and what such an attack can lock the owner out by).
    pub sign_in_failures_per_account: u32,
    /// Unknown, expired or revoked tokens from one client address.
    pub token_failures_per_ip: u32,
    /// Uploads per hour by one user, and from one address.
    pub uploads_per_hour_user: u32,
    pub uploads_per_hour_ip: u32,
    /// Other writes (POST, PUT, DELETE) per minute by one user, and from one address.
    pub writes_per_minute_user: u32,
    pub writes_per_minute_ip: u32,
    /// Reads per minute from one address: off by default (QGIS clients behind one NAT all
    /// read plugins.xml at start-up).
    pub reads_per_minute_ip: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            failure_window: Duration::from_secs(15 * 60),
            sign_in_failures_per_ip: 30,
            sign_in_failures_per_account_ip: 5,
            sign_in_failures_per_account: 50,
            token_failures_per_ip: 30,
            uploads_per_hour_user: 60,
            uploads_per_hour_ip: 300,
            writes_per_minute_user: 120,
            writes_per_minute_ip: 600,
            reads_per_minute_ip: 0,
        }
    }
}

impl Limits {
    /// Every limit off (tests and benchmarks that hammer one address).
    pub fn off() -> Limits {
        Limits {
            sign_in_failures_per_ip: 0,
            sign_in_failures_per_account_ip: 0,
            sign_in_failures_per_account: 0,
            token_failures_per_ip: 0,
            uploads_per_hour_user: 0,
            uploads_per_hour_ip: 0,
            writes_per_minute_user: 0,
            writes_per_minute_ip: 0,
            reads_per_minute_ip: 0,
            ..Limits::default()
        }
    }
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            data_dir,
            database_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: None,
            smtp_url: None,
            mail_from: "Vetted <vetted@localhost>".into(),
            run_worker: true,
            lease: Duration::from_secs(300),
            max_attempts: 3,
            poll_interval: Duration::from_millis(500),
            max_upload_bytes: 25 * 1024 * 1024,
            secure_cookies: false,
            test_scan_delay: None,
            storage: None,
            orphan_grace: Duration::from_secs(24 * 3600),
            sweep_interval: Duration::from_secs(3600),
            worker_concurrency: 1,
            scan_time_budget: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(30),
            upstream_max_feed_bytes: 64 * 1024 * 1024,
            upstream_connect_timeout: Duration::from_secs(10),
            upstream_timeout: Duration::from_secs(120),
            upstream_sync_interval: Duration::from_secs(6 * 3600),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            body_timeout: crate::limits::DEFAULT_BODY_TIMEOUT,
        }
    }

    pub fn storage_config(&self) -> crate::storage::StorageConfig {
        self.storage
            .clone()
            .unwrap_or_else(|| crate::storage::StorageConfig::Local(self.files_dir()))
    }

    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}
