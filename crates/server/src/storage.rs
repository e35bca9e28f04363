//! Where uploaded ZIPs live: a local folder by default, an S3-compatible bucket when configured
//! (`--storage s3://…`, cargo feature `s3`), both through Apache Arrow's `object_store`.
//!
//! Keys are content addressed (`sha256/ab/abcdef….zip`): the upload writes the file before the
//! database row that points at it, so a crash leaves at worst a file that no row names, never a
//! row without its file. [`sweep`] removes such orphans once they are older than a grace period
//! (longer than any upload takes between writing the file and committing the row).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::db::Db;

/// Where the files go, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// A folder on this machine (`<data>/files` by default, `file:///path` or a plain path).
    Local(PathBuf),
    /// An S3-compatible bucket: `s3://bucket[/prefix]?endpoint=…&region=…&path_style=true
    /// &allow_http=true`; credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and
    /// `AWS_SESSION_TOKEN`), like every S3 client.
    S3(S3Config),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub path_style: bool,
    pub allow_http: bool,
    /// Credentials given in code (tests); otherwise the `AWS_*` environment is used. Never
    /// part of the URL, so they cannot leak through a logged command line.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Longest one request to the store may take (`timeout=SECS`, default 30 s): a store that
    /// stops answering fails an upload with a clear error instead of holding it open.
    pub timeout: Duration,
}

/// The S3 request timeout unless the URL sets `timeout=SECS`.
pub const DEFAULT_S3_TIMEOUT: Duration = Duration::from_secs(30);

impl StorageConfig {
    /// Parses `--storage`: `s3://…`, `file:///path`, or a path.
    pub fn parse(spec: &str) -> anyhow::Result<StorageConfig> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
            if bucket.is_empty() {
                anyhow::bail!("--storage {spec:?}: the S3 URL names no bucket (s3://BUCKET/…)");
            }
            let mut c = S3Config {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
                endpoint: None,
                region: "us-east-1".into(),
                path_style: false,
                allow_http: false,
                access_key_id: None,
                secret_access_key: None,
                timeout: DEFAULT_S3_TIMEOUT,
            };
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
                let v = percent_decode(v);
                let flag = || matches!(v.as_str(), "true" | "1" | "yes" | "on");
                match k {
                    "endpoint" => c.endpoint = Some(v.clone()),
                    "region" => c.region = v.clone(),
                    "path_style" => c.path_style = flag(),
                    "allow_http" => c.allow_http = flag(),
                    "timeout" => match v.parse::<u64>() {
                        Ok(secs) if (1..=3600).contains(&secs) => {
                            c.timeout = Duration::from_secs(secs)
                        }
                        _ => anyhow::bail!(
                            "--storage: timeout={v:?} is not a number of seconds from 1 to 3600"
                        ),
                    },
                    other => anyhow::bail!(
                        "--storage: unknown S3 option {other:?} (endpoint, region, path_style, allow_http, timeout)"
                    ),
                }
            }
            return Ok(StorageConfig::S3(c));
        }
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        if path.is_empty() || spec.contains("://") && !spec.starts_with("file://") {
            anyhow::bail!("--storage {spec:?}: expected s3://BUCKET…, file:///PATH or a folder");
        }
        Ok(StorageConfig::Local(PathBuf::from(path)))
    }

    /// A description without credentials, for logs and `/readyz`.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Local(p) => format!("local folder {}", p.display()),
            StorageConfig::S3(c) => format!(
                "S3 bucket {}{}{}",
                c.bucket,
                if c.prefix.is_empty() { "" } else { "/" },
                c.prefix
            ),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The key a file is stored under: its SHA-256, fanned out by the first two hex digits.
pub fn content_key(sha256_hex: &str) -> String {
    let prefix = sha256_hex.get(..2).unwrap_or("00");
    format!("sha256/{prefix}/{sha256_hex}.zip")
}

/// One stored object, as the sweep sees it.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub modified: i64,
}

/// The uploaded files, behind `object_store`.
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    description: String,
}

/// What went wrong talking to the store, for callers that answer differently (503 vs 500).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("file {0:?} is not in storage")]
    NotFound(String),
    #[error("storage ({what}) is unavailable: {source}")]
    Unavailable {
        what: String,
        #[source]
        source: anyhow::Error,
    },
    #[error("invalid storage key {0:?}")]
    BadKey(String),
}

impl Storage {
    pub fn open(config: &StorageConfig) -> anyhow::Result<Storage> {
        let description = config.describe();
        let store: Arc<dyn ObjectStore> = match config {
            StorageConfig::Local(root) => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating {}", root.display()))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(root)
                        .with_context(|| format!("opening {}", root.display()))?,
                )
            }
            StorageConfig::S3(c) => open_s3(c)?,
        };
        Ok(Storage { store, description })
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    fn path(&self, key: &str) -> Result<StorePath, StorageError> {
        // Keys are built by the server, but refuse anything that could leave the root anyway.
        if key.is_empty()
            || key.starts_with('/')
            || key
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(StorageError::BadKey(key.to_string()));
        }
        StorePath::parse(key).map_err(|_| StorageError::BadKey(key.to_string()))
    }

    fn unavailable(&self, e: impl Into<anyhow::Error>) -> StorageError {
        StorageError::Unavailable {
            what: self.description.clone(),
            source: e.into(),
        }
    }

    /// Stores `bytes` under `key`; a reader never sees half a file (local: write then rename;
    /// S3: one PUT).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let path = self.path(key)?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key)?;
        let got = match self.store.get(&path).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StorageError::NotFound(key.to_string()));
            }
            Err(e) => return Err(self.unavailable(e)),
        };
        let bytes = got.bytes().await.map_err(|e| self.unavailable(e))?;
        Ok(bytes.to_vec())
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// Every stored object.
    pub async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(None)
            .try_collect()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(metas
            .into_iter()
            .map(|m| StoredObject {
                key: m.location.to_string(),
                size: m.size,
                modified: m.last_modified.timestamp(),
            })
            .collect())
    }

    /// Whether the store answers (`/readyz`): a lookup of a key that need not exist.
    pub async fn check(&self) -> Result<(), StorageError> {
        match self.store.head(&StorePath::from(".vetted-ready")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.unavailable(e)),
        }
    }
}

#[cfg(feature = "s3")]
fn open_s3(c: &S3Config) -> anyhow::Result<Arc<dyn ObjectStore>> {
    use object_store::aws::AmazonS3Builder;
    use object_store::{ClientOptions, RetryConfig};
    crate::install_crypto_provider();
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&c.bucket)
        .with_region(&c.region)
        .with_virtual_hosted_style_request(!c.path_style)
        .with_allow_http(c.allow_http)
        // Fail in seconds, not minutes: an upload waits on this, and a worker retries its job.
        .with_retry(RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(c.allow_http)
                .with_connect_timeout(Duration::from_secs(5).min(c.timeout))
                .with_timeout(c.timeout),
        );
    if let Some(endpoint) = &c.endpoint {
        b = b.with_endpoint(endpoint);
    }
    if let (Some(id), Some(secret)) = (&c.access_key_id, &c.secret_access_key) {
        b = b.with_access_key_id(id).with_secret_access_key(secret);
    }
    let s3 = b.build().context("configuring the S3 store")?;
    Ok(if c.prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(
            s3,
            c.prefix.as_str(),
        ))
    })
}

#[cfg(not(feature = "s3"))]
fn open_s3(_: &S3Config) -> anyhow::Result<Arc<dyn ObjectStore>> {
    anyhow::bail!("this build of vetted has no S3 support (cargo feature `s3`)")
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sweep {
    pub objects: usize,
    pub referenced: usize,
    /// Orphans younger than the grace period, left for now.
    pub young_orphans: usize,
    /// Orphans removed (or, in a dry run, that would be).
    pub removed: Vec<String>,
}

/// Removes stored files that no version row names, once older than `grace`.
pub async fn sweep(
    db: &Db,
    storage: &Storage,
    grace: Duration,
    dry_run: bool,
) -> anyhow::Result<Sweep> {
    // List the store first, then read the keys: a file written after the listing is not seen,
    // and one whose row commits after the key query is young (the grace period covers it).
    let objects = storage.list().await?;
    let keys: Vec<String> = sqlx::query_scalar("SELECT DISTINCT file_key FROM versions")
        .fetch_all(&db.pool)
        .await
        .context("reading the stored file keys")?;
    let referenced: HashSet<String> = keys.into_iter().collect();
    let cutoff = crate::db::now() - grace.as_secs() as i64;
    let mut out = Sweep {
        objects: objects.len(),
        ..Default::default()
    };
    for o in objects {
        if referenced.contains(&o.key) {
            out.referenced += 1;
        } else if o.modified > cutoff {
            out.young_orphans += 1;
        } else {
            if !dry_run {
                storage.delete(&o.key).await?;
            }
            out.removed.push(o.key);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_refuses_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(&StorageConfig::Local(dir.path().join("files"))).unwrap();
        s.put("p/p.1.0.zip", b"zip".to_vec()).await.unwrap();
        assert_eq!(s.get("p/p.1.0.zip").await.unwrap(), b"zip");
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a"] {
            assert!(s.put(bad, Vec::new()).await.is_err(), "{bad:?}");
            assert!(s.get(bad).await.is_err(), "{bad:?}");
        }
        assert!(matches!(
            s.get("p/missing.zip").await,
            Err(StorageError::NotFound(_))
        ));
        let listed: Vec<String> = s.list().await.unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(listed, vec!["p/p.1.0.zip".to_string()]);
        s.check().await.unwrap();
        s.delete("p/p.1.0.zip").await.unwrap();
        assert!(s.list().await.unwrap().is_empty());
    }

    #[test]
    fn storage_urls() {
        assert_eq!(
            StorageConfig::parse("/srv/vetted/files").unwrap(),
            StorageConfig::Local("/srv/vetted/files".into())
        );
        assert_eq!(
            StorageConfig::parse("file:///srv/files").unwrap(),
            StorageConfig::Local("/srv/files".into())
        );
        let StorageConfig::S3(c) = StorageConfig::parse(
            "s3://plugins/vetted/?endpoint=http%3A%2F%2F10.0.0.2%3A9000&region=eu-west-1&path_style=true&allow_http=1",
        )
        .unwrap() else {
            panic!("not S3")
        };
        assert_eq!(c.bucket, "plugins");
        assert_eq!(c.prefix, "vetted");
        assert_eq!(c.endpoint.as_deref(), Some("http://10.0.0.2:9000"));
        assert_eq!(c.region, "eu-west-1");
        assert!(c.path_style && c.allow_http);
        assert!(StorageConfig::parse("s3://").is_err());
        assert_eq!(c.timeout, DEFAULT_S3_TIMEOUT);
        let StorageConfig::S3(c) = StorageConfig::parse("s3://b?timeout=5").unwrap() else {
            panic!("not S3")
        };
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(StorageConfig::parse("s3://b?timeout=0").is_err());
        assert!(StorageConfig::parse("s3://b?timeout=soon").is_err());
        assert!(StorageConfig::parse("s3://b?colour=blue").is_err());
        assert!(StorageConfig::parse("ftp://host/x").is_err());
        assert_eq!(content_key("ab12ef"), "sha256/ab/ab12ef.zip");
    }
}
