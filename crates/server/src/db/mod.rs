//! The database: one `sqlx::Any` pool over SQLite (default, a file in the data folder) or
//! PostgreSQL, the migrations for each, and the row types and queries every other module uses.
//! Queries are written once with `$N` placeholders, which both drivers accept; only the job
//! claim differs (`FOR UPDATE SKIP LOCKED` exists on PostgreSQL only, see `jobs.rs`).

mod queries;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

pub use queries::*;

use crate::config::Config;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Longest wait for a pooled connection (SQLite's writers queue on `busy_timeout` instead).
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Seconds since the Unix epoch: every timestamp in the database.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Db {
    /// Opens (and creates when missing) the database the config names, and migrates it.
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match &config.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                (url.clone(), Backend::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => (url.clone(), Backend::Sqlite),
            Some(url) => anyhow::bail!(
                "unsupported database URL {url:?}: use postgres://… or leave it out for SQLite"
            ),
            None => {
                std::fs::create_dir_all(&config.data_dir).with_context(|| {
                    format!("creating data folder {}", config.data_dir.display())
                })?;
                let path = config.data_dir.join("vetted.sqlite3");
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            // While the database is down or restarting, a request gets its error (503 on
            // /readyz) in seconds instead of queueing for the default 30 s; pooled connections
            // are checked before use, so the ones a restart broke are replaced, not handed out.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Several processes (server, workers, admin) share the file: WAL lets
                        // readers run beside the one writer, the timeout makes writers queue.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("connecting to {}", redact_url(&url)))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .context("migrating the database")?;
        Ok(Db { pool, backend })
    }
}

impl Db {
    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads, then writes after another
    /// process committed, fails at once with SQLITE_BUSY instead of waiting its turn.
    pub async fn begin_write(&self) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.context("starting a transaction")
    }
}

/// The URL without its password, for error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
