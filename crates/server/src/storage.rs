//! Where uploaded ZIPs live. The database holds each file's key, size and SHA-256; the bytes sit
//! behind the small [`Storage`] trait so that an S3-compatible store can replace the local
//! folder without touching the upload or scan code.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use anyhow::Context;

pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

pub trait Storage: Send + Sync {
    /// Stores `bytes` under `key` (a `/`-separated relative name chosen by the server).
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> StorageFuture<'a, ()>;
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Vec<u8>>;
}

/// Files under a local folder (`<data>/files` by default).
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub fn new(root: PathBuf) -> LocalStorage {
        LocalStorage { root }
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        // Keys are built by the server, but refuse anything that could leave the root anyway.
        if key.is_empty()
            || key.starts_with('/')
            || key
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            anyhow::bail!("invalid storage key {key:?}");
        }
        Ok(self.root.join(key))
    }
}

impl Storage for LocalStorage {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            // Write then rename, so a reader never sees half a file.
            let tmp = path.with_extension("part");
            tokio::fs::write(&tmp, &bytes)
                .await
                .with_context(|| format!("writing {}", tmp.display()))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .with_context(|| format!("renaming {}", tmp.display()))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let path = self.path(key)?;
            tokio::fs::read(&path)
                .await
                .with_context(|| format!("reading {}", path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_refuses_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path().join("files"));
        s.put("p/p.1.0.zip", b"zip".to_vec()).await.unwrap();
        assert_eq!(s.get("p/p.1.0.zip").await.unwrap(), b"zip");
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a"] {
            assert!(s.put(bad, Vec::new()).await.is_err(), "{bad:?}");
            assert!(s.get(bad).await.is_err(), "{bad:?}");
        }
        assert!(s.get("p/missing.zip").await.is_err());
    }
}
