//! Vetted's plugin repository: storage, background scans, email, the REST, XML-RPC and JSON
//! APIs, downloads, plugins.xml and the server-rendered web pages. Built on `vetted-scan`, which
//! it calls only from the scan job. The `vetted` binary wires [`serve`], [`run_worker_process`]
//! and [`create_user`].

pub mod auth;
pub mod config;
pub mod db;
pub mod export;
pub mod jobs;
pub mod limits;
pub mod mail;
pub mod qgis_config;
pub mod rescan;
pub mod revoke;
pub mod routes;
pub mod rules;
pub mod scan_job;
pub mod storage;
pub mod upload;
pub mod upstream;
pub mod web;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Notify, watch};

pub use config::Config;
use db::Db;
use mail::Mailer;
use storage::Storage;

/// Everything a request handler or a worker needs, built once at start-up.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub storage: Arc<Storage>,
    pub mailer: Mailer,
    /// Public base URL without a trailing slash.
    pub base_url: String,
    /// Wakes in-process workers when a job is enqueued (other processes poll).
    pub wake: Notify,
    pub plugins_xml_cache: routes::plugins_xml::Cache,
    pub metrics: routes::ops::Metrics,
}

impl AppState {
    pub async fn new(config: Config, base_url: String) -> anyhow::Result<Arc<AppState>> {
        install_crypto_provider();
        let db = Db::connect(&config).await?;
        let storage = Arc::new(Storage::open(&config.storage_config())?);
        let mailer = Mailer::from_config(&config)?;
        Ok(Arc::new(AppState {
            db,
            storage,
            mailer,
            base_url: base_url.trim_end_matches('/').to_string(),
            wake: Notify::new(),
            plugins_xml_cache: Default::default(),
            metrics: Default::default(),
            config,
        }))
    }

    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
    }
}

/// A running server: its address, and a handle to stop it (tests, `serve`).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting requests and lets the in-process worker finish its current job.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Waits until the server stops (Ctrl-C for `vetted serve`).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Binds, migrates and starts serving (plus one in-process worker unless `run_worker` is off).
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let state = AppState::new(config, base_url.clone()).await?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if state.config.run_worker {
        let name = format!("{}-{}-server", hostname(), std::process::id());
        tasks.extend(spawn_workers(&state, name, &rx));
    }
    if !state.config.sweep_interval.is_zero() {
        tasks.push(tokio::spawn(sweep_loop(state.clone(), rx.clone())));
    }
    if !state.config.upstream_sync_interval.is_zero() {
        tasks.push(tokio::spawn(upstream::schedule_loop(
            state.clone(),
            rx.clone(),
        )));
    }
    let app = routes::router(state.clone());
    let mut rx_http = rx;
    tasks.push(tokio::spawn(async move {
        // The socket peer is the client address of `limits.rs` (unless a trusted proxy).
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx_http.wait_for(|stop| *stop).await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!("server error: {e}");
        }
    }));
    Ok(RunningServer {
        addr,
        base_url,
        state,
        shutdown,
        tasks,
    })
}

/// `vetted serve`: runs until Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let server = start(config).await?;
    let users = server.state.db.count_users().await?;
    println!("Vetted is listening on {}", server.base_url);
    println!(
        "Data: {}; database: {}; scans: {}",
        server.state.config.data_dir.display(),
        match server.state.db.backend {
            db::Backend::Sqlite => "SQLite".to_string(),
            db::Backend::Postgres => "PostgreSQL".to_string(),
        },
        if server.state.config.run_worker {
            "in this process"
        } else {
            "in `vetted worker` processes"
        }
    );
    if users == 0 {
        println!(
            "No users yet. Create the first admin with:\n  vetted admin create-user NAME --email EMAIL --password PASSWORD --admin{}",
            data_flags(&server.state.config)
        );
    }
    let stop = server.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    server.wait().await;
    Ok(())
}

fn data_flags(config: &Config) -> String {
    match &config.database_url {
        Some(url) => format!(" --database-url {}", db::redact_url(url)),
        None => format!(" --data {}", config.data_dir.display()),
    }
}

/// `vetted worker`: claims and runs scan jobs until Ctrl-C.
pub async fn run_worker_process(config: Config) -> anyhow::Result<()> {
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let state = AppState::new(config, base_url).await?;
    let (stop, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let name = format!("{}-{}-worker", hostname(), std::process::id());
    println!(
        "Vetted worker {name} ({} at once, files in {}) is waiting for jobs",
        state.config.worker_concurrency,
        state.storage.describe()
    );
    let mut tasks = spawn_workers(&state, name, &rx);
    if !state.config.upstream_sync_interval.is_zero() {
        tasks.push(tokio::spawn(upstream::schedule_loop(
            state.clone(),
            rx.clone(),
        )));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

/// A worker process's tasks: `worker_concurrency` job loops (`<name>-<n>`), its heartbeat row,
/// and on PostgreSQL the listener that wakes the loops when a job is queued anywhere.
fn spawn_workers(
    state: &Arc<AppState>,
    name: String,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let n = state.config.worker_concurrency.max(1);
    let mut tasks = vec![
        tokio::spawn(workers::register_and_beat(
            state.db.clone(),
            name.clone(),
            n,
            shutdown.clone(),
        )),
        tokio::spawn(workers::listen_for_jobs(state.clone(), shutdown.clone())),
    ];
    for i in 0..n {
        tasks.push(tokio::spawn(jobs::run_worker(
            state.clone(),
            format!("{name}-{i}"),
            shutdown.clone(),
        )));
    }
    tasks
}

/// Removes orphaned files now and then (see `storage::sweep`).
async fn sweep_loop(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(state.config.sweep_interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        match storage::sweep(&state.db, &state.storage, state.config.orphan_grace, false).await {
            Ok(s) if !s.removed.is_empty() => {
                tracing::info!(removed = s.removed.len(), "orphaned files removed")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("orphan sweep failed: {e:#}"),
        }
    }
}

/// `vetted admin create-user`.
pub async fn create_user(
    config: Config,
    username: &str,
    email: &str,
    password: &str,
    role: Role,
) -> anyhow::Result<i64> {
    if username.trim().is_empty() || username.contains(':') {
        anyhow::bail!("user names must be non-empty and contain no ':'");
    }
    if password.len() < 8 {
        anyhow::bail!("passwords must have at least 8 characters");
    }
    email
        .parse::<lettre::message::Mailbox>()
        .with_context(|| format!("{email:?} is not an email address"))?;
    let db = Db::connect(&config).await?;
    if db.user_by_name(username).await?.is_some() {
        anyhow::bail!("a user named {username:?} already exists");
    }
    let hash = auth::hash_password(password)?;
    db.create_user(
        username,
        email,
        &hash,
        role == Role::Admin,
        role == Role::Staff,
        role == Role::Trusted,
    )
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// Staff approver.
    Staff,
    /// May publish immediately.
    Trusted,
    Plain,
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Installs ring as rustls's process-wide crypto provider (S3 over HTTPS, and any HTTP client
/// built in the same process, since reqwest is built without a provider of its own); harmless
/// when one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Ctrl-C or SIGTERM (what systemd and container runtimes send): servers stop accepting and
/// finish the requests in flight; workers finish their current scan and stop claiming.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
