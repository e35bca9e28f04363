//! Gets bytes from an upstream: `http(s)://` through reqwest, or a `file:` path (a file share
//! in a network without internet). Every fetch is bounded: a connect timeout, a deadline for
//! the whole body, and a size cap checked while the body streams in, so a huge or endless
//! answer is cut off without being held in memory.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use tokio::io::AsyncReadExt;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// Validators from the previous answer, sent back as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum Fetched {
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
    NotModified,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: the answer is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: no complete answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Other { url: String, message: String },
}

impl FetchError {
    /// Worth another try (network trouble, 5xx, timeout), as opposed to a definite answer.
    pub fn transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 429,
            FetchError::Other { .. } => true,
            FetchError::TooLarge { .. } => false,
        }
    }
}

/// A `file:` URL (`file:///srv/share/plugins.xml`, `file:/srv/…`, `file://host/share/…` is
/// read as the UNC-like path `//host/share/…`) or a plain absolute path, as a path.
pub fn file_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if rest.starts_with('/') {
            return Some(PathBuf::from(percent_decode(rest)));
        }
        return Some(PathBuf::from(format!("//{}", percent_decode(rest))));
    }
    if let Some(rest) = url.strip_prefix("file:") {
        return Some(PathBuf::from(percent_decode(rest)));
    }
    if url.starts_with('/') {
        return Some(PathBuf::from(url));
    }
    None
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
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

/// Resolves `reference` (a feed's `download_url`) against the feed's own URL: absolute URLs
/// stay, relative ones are joined to the feed's folder (static and exported repositories).
pub fn resolve(base: &str, reference: &str) -> String {
    if reference.contains("://") || reference.starts_with("file:") {
        return reference.to_string();
    }
    if let Some(path) = file_path(base) {
        if reference.starts_with('/') {
            return format!("file://{reference}");
        }
        let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        return format!("file://{}", dir.join(reference).display());
    }
    match reqwest::Url::parse(base).and_then(|b| b.join(reference)) {
        Ok(u) => u.to_string(),
        Err(_) => reference.to_string(),
    }
}

pub fn client(limits: &Limits) -> anyhow::Result<reqwest::Client> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("Vetted/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))
}

/// Fetches `url` once, within `limits`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    validators: &Validators,
    limits: &Limits,
) -> Result<Fetched, FetchError> {
    let secs = limits.timeout.as_secs().max(1);
    match tokio::time::timeout(limits.timeout, fetch_inner(client, url, validators, limits)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout {
            url: url.to_string(),
            secs,
        }),
    }
}

async fn fetch_inner(
    client: &reqwest::Client,
    url: &str,
    validators: &Validators,
    limits: &Limits,
) -> Result<Fetched, FetchError> {
    let other = |message: String| FetchError::Other {
        url: url.to_string(),
        message,
    };
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
        limit: limits.max_bytes,
    };
    if let Some(path) = file_path(url) {
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| other(format!("opening {}: {e}", path.display())))?;
        let mut bytes = Vec::new();
        file.take(limits.max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| other(format!("reading {}: {e}", path.display())))?;
        if bytes.len() > limits.max_bytes {
            return Err(too_large());
        }
        return Ok(Fetched::Body {
            bytes,
            validators: Validators::default(),
        });
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(other(
            "only http://, https:// and file: URLs are supported".into(),
        ));
    }
    let mut request = client.get(url);
    if let Some(etag) = &validators.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, lm);
    }
    let mut response = request.send().await.map_err(|e| describe(url, e, limits))?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|n| n > limits.max_bytes as u64)
    {
        return Err(too_large());
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(String::from)
    };
    let new_validators = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| describe(url, e, limits))?
    {
        if bytes.len() + chunk.len() > limits.max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body {
        bytes,
        validators: new_validators,
    })
}

fn describe(url: &str, e: reqwest::Error, limits: &Limits) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
            secs: limits.timeout.as_secs().max(1),
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Other {
        url: url.to_string(),
        message,
    }
}

/// Fetches with up to `attempts` tries, backing off (0.5 s, 1 s, 2 s, …) after transient
/// failures; a definite answer (4xx, too large) is not retried.
pub async fn fetch_with_retries(
    client: &reqwest::Client,
    url: &str,
    limits: &Limits,
    attempts: u32,
) -> Result<Vec<u8>, FetchError> {
    let mut delay = Duration::from_millis(500);
    let mut tries = 0;
    loop {
        tries += 1;
        match fetch(client, url, &Validators::default(), limits).await {
            Ok(Fetched::Body { bytes, .. }) => return Ok(bytes),
            Ok(Fetched::NotModified) => {
                return Err(FetchError::Other {
                    url: url.to_string(),
                    message: "unexpected 304 Not Modified".into(),
                });
            }
            Err(e) if e.transient() && tries < attempts => {
                tracing::warn!("{e}; retrying in {} ms", delay.as_millis());
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_and_relative_links() {
        assert_eq!(
            file_path("file:///srv/repo/plugins.xml"),
            Some(PathBuf::from("/srv/repo/plugins.xml"))
        );
        assert_eq!(
            file_path("file:/srv/a%20b/plugins.xml"),
            Some(PathBuf::from("/srv/a b/plugins.xml"))
        );
        assert_eq!(file_path("http://x/plugins.xml"), None);
        assert_eq!(
            resolve("file:///srv/repo/plugins.xml", "zips/a.1.zip"),
            "file:///srv/repo/zips/a.1.zip"
        );
        assert_eq!(
            resolve("http://h:1/repo/plugins.xml?qgis=3.40", "a.1.zip"),
            "http://h:1/repo/a.1.zip"
        );
        assert_eq!(
            resolve("http://h/p.xml", "https://o/x.zip"),
            "https://o/x.zip"
        );
    }
}
