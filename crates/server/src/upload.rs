//! The one way a plugin version gets in, shared by the token REST API, XML-RPC and the web
//! form: structural validation at once (a bad package is refused with the validator's messages
//! and nothing is stored), permission checks, then the file, the version (`validating`) and its
//! scan job are stored together, and the receipt email goes out. The security scan itself runs
//! later, in a worker (`jobs.rs`).

use std::path::Path;

use anyhow::Context;
use serde_json::json;
use vetted_scan::report::Check;
use vetted_scan::{Report, ScanOptions, Severity, Verdict};

use crate::auth::Principal;
use crate::db::{Plugin, Version, bump_generation, now, status};
use crate::jobs::{self, JobPayload};
use crate::mail::{self};
use crate::{AppState, rules};

/// Prefix of every validation error, as plugins.qgis.org words it.
pub const INVALID_PACKAGE: &str =
    "File upload must be a valid QGIS Python plugin compressed archive.";

pub struct UploadRequest {
    pub principal: Principal,
    /// The package name in the URL, when the route has one; the ZIP must match it.
    pub expected_package: Option<String>,
    /// The version in the URL (`…/version/<version>/update/`); the ZIP must carry it.
    pub expected_version: Option<String>,
    pub bytes: Vec<u8>,
    /// Rule codes the uploader asked to skip (filtered to enabled, skippable ones).
    pub skip: Vec<String>,
    /// Skip every enabled skippable rule (XML-RPC).
    pub skip_all_skippable: bool,
    /// "Publish immediately" / `auto_approve`; honoured for trusted users only.
    pub publish_immediately: bool,
    /// Whether an unknown package creates a new plugin owned by the uploader.
    pub may_create_plugin: bool,
}

/// The origin of an imported version (`version_origins`).
#[derive(Debug, Clone)]
pub struct NewOrigin {
    pub upstream_id: i64,
    pub url: String,
}

#[derive(Debug)]
pub struct Accepted {
    pub plugin: Plugin,
    pub version: Version,
    pub skipped_rules: Vec<String>,
}

#[derive(Debug)]
pub enum UploadError {
    /// Structural validation failed: the validator's messages.
    Invalid(Vec<String>),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// A service the upload needs (the file store) does not answer: try again later.
    Unavailable(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for UploadError {
    fn from(e: anyhow::Error) -> Self {
        UploadError::Internal(e)
    }
}

impl UploadError {
    /// The text shown to the caller.
    pub fn message(&self) -> String {
        match self {
            UploadError::Invalid(messages) => {
                let mut s = INVALID_PACKAGE.to_string();
                for m in messages {
                    s.push('\n');
                    s.push_str(m);
                }
                s
            }
            UploadError::Forbidden(m)
            | UploadError::NotFound(m)
            | UploadError::Conflict(m)
            | UploadError::Unavailable(m) => m.clone(),
            UploadError::Internal(_) => "internal error; the upload was not stored".to_string(),
        }
    }
}

/// What structural validation learnt about a valid package.
struct ValidPackage {
    package_name: String,
    version: String,
    metadata: serde_json::Map<String, serde_json::Value>,
    sha256: String,
}

/// Runs the scanner's package and archive rules only, on a temporary copy of the upload.
async fn validate(bytes: &[u8], new_plugin: bool) -> Result<ValidPackage, UploadError> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let path = dir.path().join("upload.zip");
    tokio::fs::write(&path, bytes)
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    let options = ScanOptions {
        // Package rules always run; selecting only them skips the (slow) security families.
        select: vec![Check::Package.id().into()],
        new_plugin,
        ..Default::default()
    };
    let report = scan_blocking(&path, options).await?;
    drop(dir);
    let messages: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Package && f.severity == Severity::Critical)
        .map(|f| f.message.clone())
        .collect();
    if report.verdict == Verdict::Invalid || !messages.is_empty() {
        return Err(UploadError::Invalid(if messages.is_empty() {
            vec!["The archive is not a QGIS plugin.".into()]
        } else {
            messages
        }));
    }
    let Some(package) = report.package else {
        return Err(UploadError::Invalid(vec![
            "The archive has no plugin package folder.".into(),
        ]));
    };
    let version = package
        .metadata
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .trim()
        .to_string();
    // Names and versions end up in URLs and file names.
    let safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
            && !s.starts_with('.')
    };
    if !safe(&version) {
        return Err(UploadError::Invalid(vec![format!(
            "The version {version:?} in metadata.txt may only contain letters, digits, '.', '_', '-' and '+'."
        )]));
    }
    if !safe(&package.name) {
        return Err(UploadError::Invalid(vec![format!(
            "The package folder name {:?} may only contain letters, digits, '.', '_', '-' and '+'.",
            package.name
        )]));
    }
    Ok(ValidPackage {
        package_name: package.name,
        version,
        metadata: package.metadata,
        sha256: report.target.sha256,
    })
}

/// Runs the scanner off the async threads (it parses untrusted input on its own big stack).
pub async fn scan_blocking(path: &Path, options: ScanOptions) -> anyhow::Result<Report> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || vetted_scan::scan_path(&path, &options))
        .await
        .context("the scan thread failed")?
        .map_err(|e| anyhow::anyhow!("scanning: {e}"))
}

fn meta_str<'a>(metadata: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> &'a str {
    metadata
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .trim()
}

/// A metadata flag; the scanner gives booleans as JSON booleans, older rows may hold text.
pub fn meta_flag(metadata: &serde_json::Map<String, serde_json::Value>, key: &str) -> bool {
    match metadata.get(key) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => is_true(s),
        _ => false,
    }
}

pub fn is_true(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "1")
}

pub async fn accept(state: &AppState, req: UploadRequest) -> Result<Accepted, UploadError> {
    accept_with_origin(state, req, None).await
}

/// [`accept`] for an upstream import: `origin` is recorded in the same transaction as the
/// version.
pub async fn accept_with_origin(
    state: &AppState,
    req: UploadRequest,
    origin: Option<NewOrigin>,
) -> Result<Accepted, UploadError> {
    let db = &state.db;
    if req.bytes.is_empty() {
        return Err(UploadError::Invalid(vec![
            "The uploaded file is empty.".into(),
        ]));
    }
    if req.bytes.len() > state.config.max_upload_bytes {
        return Err(UploadError::Invalid(vec![format!(
            "The package is larger than {} MB.",
            state.config.max_upload_bytes / (1024 * 1024)
        )]));
    }
    let mut pkg = validate(&req.bytes, false).await?;
    if let Some(expected) = &req.expected_package
        && *expected != pkg.package_name
    {
        return Err(UploadError::Invalid(vec![format!(
            "The archive contains the package {:?}, but this upload is for {expected:?}.",
            pkg.package_name
        )]));
    }
    if let Some(expected) = &req.expected_version
        && *expected != pkg.version
    {
        return Err(UploadError::Invalid(vec![format!(
            "The archive contains version {:?}, but this upload is for version {expected:?}.",
            pkg.version
        )]));
    }
    let existing = db.plugin_by_name(&pkg.package_name).await?;
    match &existing {
        Some(plugin) => {
            if !req.principal.can_edit(db, plugin).await? {
                return Err(UploadError::Forbidden(format!(
                    "You are not an owner or editor of the plugin {:?} (or your token is for another plugin).",
                    plugin.package_name
                )));
            }
        }
        None => {
            if !req.may_create_plugin || req.principal.token_plugin.is_some() {
                return Err(UploadError::NotFound(format!(
                    "There is no plugin {:?}; create it by uploading its first version through the web form or XML-RPC.",
                    pkg.package_name
                )));
            }
            // The first version of a plugin meets the stricter package-name rule.
            pkg = validate(&req.bytes, true).await?;
        }
    }

    if let Some(plugin) = &existing {
        // Checked again inside the transaction; this early check avoids storing a file for
        // nothing.
        if let Some(v) = db.version(plugin.id, &pkg.version).await?
            && v.status != status::BLOCKED
            && v.status != status::SCAN_ERROR
        {
            return Err(UploadError::Conflict(format!(
                "Version {} of {:?} already exists (status {}); upload a new version number.",
                v.version, plugin.package_name, v.status
            )));
        }
    }

    let settings = rules::admin_settings(db).await?;
    let skipped = if req.skip_all_skippable {
        rules::skippable_codes(&settings)
    } else {
        rules::honoured_skips(&req.skip, &settings)
    };
    let auto_approve = req.publish_immediately && req.principal.user.trusted();
    let experimental = meta_flag(&pkg.metadata, "experimental");
    let qgis_min = match meta_str(&pkg.metadata, "qgisMinimumVersion") {
        "" => "0.0".to_string(),
        v => v.to_string(),
    };
    let qgis_max = match meta_str(&pkg.metadata, "qgisMaximumVersion") {
        "" => format!("{}.99", qgis_min.split('.').next().unwrap_or("3")),
        v => v.to_string(),
    };
    // Content addressed, and written before the row that names it: a crash between the two
    // leaves an orphan file for the sweep, never a row without its file.
    let file_key = crate::storage::content_key(&pkg.sha256);
    state
        .storage
        .put(&file_key, req.bytes.clone())
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::Unavailable { .. } => UploadError::Unavailable(format!(
                "the file store is unavailable, so the upload was not stored; try again shortly ({e})"
            )),
            other => UploadError::Internal(other.into()),
        })?;

    let metadata_json = serde_json::Value::Object(pkg.metadata.clone()).to_string();
    let skip_json = serde_json::to_string(&skipped).context("encoding skipped rules")?;
    let t = now();
    let mut tx = db.begin_write().await.context("starting a transaction")?;
    let plugin_id = match &existing {
        Some(p) => p.id,
        None => {
            let name = match meta_str(&pkg.metadata, "name") {
                "" => pkg.package_name.clone(),
                n => n.to_string(),
            };
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO plugins (package_name, name, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (package_name) DO NOTHING RETURNING id",
            )
            .bind(&pkg.package_name)
            .bind(&name)
            .bind(req.principal.user.id)
            .bind(t)
            .fetch_optional(&mut *tx)
            .await
            .context("creating the plugin")?;
            let Some(id) = id else {
                return Err(UploadError::Conflict(format!(
                    "The plugin {:?} was just created by someone else; upload again.",
                    pkg.package_name
                )));
            };
            sqlx::query(
                "INSERT INTO plugin_members (plugin_id, user_id, role) VALUES ($1, $2, 'owner')",
            )
            .bind(id)
            .bind(req.principal.user.id)
            .execute(&mut *tx)
            .await
            .context("adding the plugin owner")?;
            id
        }
    };
    let previous: Option<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM versions WHERE plugin_id = $1 AND version = $2")
            .bind(plugin_id)
            .bind(&pkg.version)
            .fetch_optional(&mut *tx)
            .await
            .context("looking up the version")?;
    let version_id: i64 = match previous {
        // A blocked version (or one whose scan failed) is replaced only by a new upload of it.
        Some((id, st)) if st == status::BLOCKED || st == status::SCAN_ERROR => {
            sqlx::query(
                "UPDATE versions SET status = $1, approved = 0, experimental = $2, auto_approve = $3,
                   skip_rules = $4, uploaded_by = $5, file_key = $6, sha256 = $7, size = $8,
                   metadata = $9, qgis_min = $10, qgis_max = $11, updated_at = $12
                 WHERE id = $13",
            )
            .bind(status::VALIDATING)
            .bind(experimental as i64)
            .bind(auto_approve as i64)
            .bind(&skip_json)
            .bind(req.principal.user.id)
            .bind(&file_key)
            .bind(&pkg.sha256)
            .bind(req.bytes.len() as i64)
            .bind(&metadata_json)
            .bind(&qgis_min)
            .bind(&qgis_max)
            .bind(t)
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("replacing the version")?;
            id
        }
        Some((_, st)) => {
            return Err(UploadError::Conflict(format!(
                "Version {} of {:?} already exists (status {st}); upload a new version number.",
                pkg.version, pkg.package_name
            )));
        }
        None => sqlx::query_scalar(
            "INSERT INTO versions (plugin_id, version, status, approved, experimental, auto_approve,
               skip_rules, uploaded_by, file_key, sha256, size, metadata, qgis_min, qgis_max,
               created_at, updated_at)
             VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
             RETURNING id",
        )
        .bind(plugin_id)
        .bind(&pkg.version)
        .bind(status::VALIDATING)
        .bind(experimental as i64)
        .bind(auto_approve as i64)
        .bind(&skip_json)
        .bind(req.principal.user.id)
        .bind(&file_key)
        .bind(&pkg.sha256)
        .bind(req.bytes.len() as i64)
        .bind(&metadata_json)
        .bind(&qgis_min)
        .bind(&qgis_max)
        .bind(t)
        .fetch_one(&mut *tx)
        .await
        .context("storing the version")?,
    };
    sqlx::query("UPDATE plugins SET updated_at = $1 WHERE id = $2")
        .bind(t)
        .bind(plugin_id)
        .execute(&mut *tx)
        .await
        .context("touching the plugin")?;
    if let Some(origin) = &origin {
        sqlx::query(
            "INSERT INTO version_origins (version_id, upstream_id, url, sha256, imported_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (version_id) DO UPDATE SET upstream_id = $2, url = $3, sha256 = $4,
               imported_at = $5",
        )
        .bind(version_id)
        .bind(origin.upstream_id)
        .bind(&origin.url)
        .bind(&pkg.sha256)
        .bind(t)
        .execute(&mut *tx)
        .await
        .context("recording the origin")?;
    }
    jobs::enqueue(
        &mut tx,
        &JobPayload::Scan {
            version_id,
            manual: false,
            catalogue: false,
        },
        state.config.max_attempts,
    )
    .await?;
    bump_generation(&mut tx).await?;
    tx.commit().await.context("committing the upload")?;
    state.wake_workers();

    let plugin = db
        .plugin_by_id(plugin_id)
        .await?
        .context("the plugin vanished")?;
    let version = db
        .version_by_id(version_id)
        .await?
        .context("the version vanished")?;
    state
        .mailer
        .send_logged(mail::receipt(
            &req.principal.user,
            &plugin,
            &version,
            &skipped,
            &state.base_url,
        ))
        .await;
    tracing::info!(
        plugin = %plugin.package_name,
        version = %version.version,
        user = %req.principal.user.username,
        "upload accepted, scan queued"
    );
    Ok(Accepted {
        plugin,
        version,
        skipped_rules: skipped,
    })
}

/// The JSON answer of the upload APIs.
pub fn accepted_json(state: &AppState, a: &Accepted) -> serde_json::Value {
    let base = &state.base_url;
    let p = &a.plugin.package_name;
    let v = &a.version.version;
    json!({
        "status": a.version.status,
        "plugin": p,
        "plugin_id": a.plugin.id,
        "version": v,
        "version_id": a.version.id,
        "skipped_rules": a.skipped_rules,
        "urls": {
            "version": format!("{base}/api/plugins/{p}/versions/{v}"),
            "scan": format!("{base}/api/plugins/{p}/versions/{v}/scan"),
            "download": format!("{base}/plugins/{p}/version/{v}/download/"),
        }
    })
}
