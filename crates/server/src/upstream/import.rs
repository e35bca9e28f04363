//! Curation: plugins an admin allowed from an upstream (pinned to one version, or followed) are
//! imported after each sync. A followed plugin imports every version its upstream lists that
//! is not here yet (a feed may list a stable and an experimental one), oldest first; a version
//! already here (whatever its status, revoked included) is never imported again. An import
//! downloads the ZIP (size cap, timeout, retries with back-off), checks that it is what the
//! feed claims (top folder = plugin id from `file_name`, metadata.txt name and version = the
//! feed entry), then hands it to `upload::accept_with_origin` — the same validation, storage,
//! scan job and emails as an upload by the admin who allowed it, the origin recorded with it. A local plugin of the same name is a conflict, never merged.

use std::io::Read;

use anyhow::Context;
use serde::Serialize;

use super::fetch::{self, Limits};
use super::{CatalogueEntry, Upstream, catalogue};
use crate::AppState;
use crate::auth::Principal;
use crate::db::{Db, now};
use crate::upload::{self, UploadRequest};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Allowed {
    pub package_name: String,
    pub pinned_version: Option<String>,
    pub approve_validated: i64,
    pub allowed_by: i64,
}

/// What happened to one version an allowed plugin wanted.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImportOutcome {
    pub package: String,
    pub version: String,
    /// `queued` (stored, scan queued) or `refused`.
    pub result: String,
    pub detail: String,
}

/// Allows `package` from `upstream`: pinned to `pinned`, or followed when `None`.
pub async fn allow(
    db: &Db,
    upstream: &Upstream,
    package: &str,
    pinned: Option<&str>,
    approve_validated: bool,
    admin_id: i64,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM upstream_allowed WHERE upstream_id = $1 AND package_name = $2")
        .bind(upstream.id)
        .bind(package)
        .execute(&db.pool)
        .await
        .context("replacing the allowance")?;
    sqlx::query(
        "INSERT INTO upstream_allowed (upstream_id, package_name, pinned_version,
           approve_validated, allowed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(upstream.id)
    .bind(package)
    .bind(pinned)
    .bind(approve_validated as i64)
    .bind(admin_id)
    .bind(now())
    .execute(&db.pool)
    .await
    .context("allowing the plugin")?;
    Ok(())
}

/// Stops taking `package` from `upstream` (versions already imported stay as they are).
/// Returns false when it was not allowed.
pub async fn disallow(db: &Db, upstream: &Upstream, package: &str) -> anyhow::Result<bool> {
    let r =
        sqlx::query("DELETE FROM upstream_allowed WHERE upstream_id = $1 AND package_name = $2")
            .bind(upstream.id)
            .bind(package)
            .execute(&db.pool)
            .await
            .context("removing the allowance")?;
    Ok(r.rows_affected() > 0)
}

pub async fn allowed(db: &Db, upstream_id: i64) -> anyhow::Result<Vec<Allowed>> {
    sqlx::query_as(
        "SELECT package_name, pinned_version, approve_validated, allowed_by
         FROM upstream_allowed WHERE upstream_id = $1 ORDER BY package_name",
    )
    .bind(upstream_id)
    .fetch_all(&db.pool)
    .await
    .context("listing allowed plugins")
}

/// Imports what each allowed plugin of `upstream` wants and does not have yet.
pub async fn import_allowed(
    state: &AppState,
    upstream: &Upstream,
) -> anyhow::Result<Vec<ImportOutcome>> {
    let db = &state.db;
    let entries = catalogue(db, upstream.id, false).await?;
    let limits = Limits {
        max_bytes: state.config.max_upload_bytes,
        connect_timeout: state.config.upstream_connect_timeout,
        timeout: state.config.upstream_timeout,
    };
    let client = fetch::client(&limits)?;
    let mut outcomes = Vec::new();
    for a in allowed(db, upstream.id).await? {
        let mut offered: Vec<&CatalogueEntry> = entries
            .iter()
            .filter(|e| e.package_name == a.package_name)
            .collect();
        // The same ordering plugins.xml uses to pick a plugin's latest version.
        offered.sort_by_key(|e| crate::routes::plugins_xml::version_key(&e.version));
        let wanted: Vec<&CatalogueEntry> = match &a.pinned_version {
            Some(pin) => offered.into_iter().filter(|e| e.version == *pin).collect(),
            // Followed: every listed version, oldest first; those already here are skipped.
            None => offered,
        };
        for entry in wanted {
            let Some(outcome) = import_one(state, &client, &limits, upstream, &a, entry).await?
            else {
                continue;
            };
            tracing::info!(
                upstream = %upstream.name,
                "import of {} {}: {} {}",
                outcome.package,
                outcome.version,
                outcome.result,
                outcome.detail
            );
            let conflict = outcome.detail.starts_with("conflict");
            outcomes.push(outcome);
            if conflict {
                // The same conflict for every version: say it once.
                break;
            }
        }
    }
    Ok(outcomes)
}

/// None when there is nothing to do (already imported).
async fn import_one(
    state: &AppState,
    client: &reqwest::Client,
    limits: &Limits,
    upstream: &Upstream,
    allowed: &Allowed,
    entry: &CatalogueEntry,
) -> anyhow::Result<Option<ImportOutcome>> {
    let db = &state.db;
    let refuse = |detail: String| {
        Ok(Some(ImportOutcome {
            package: entry.package_name.clone(),
            version: entry.version.clone(),
            result: "refused".into(),
            detail,
        }))
    };
    if let Some(plugin) = db.plugin_by_name(&entry.package_name).await? {
        // Versions of this plugin that did not come from this upstream make it a conflict.
        let foreign: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM versions v LEFT JOIN version_origins o ON o.version_id = v.id
             WHERE v.plugin_id = $1 AND (o.upstream_id IS NULL OR o.upstream_id <> $2)",
        )
        .bind(plugin.id)
        .bind(upstream.id)
        .fetch_one(&db.pool)
        .await
        .context("checking for a conflict")?;
        if foreign > 0 {
            return refuse(format!(
                "conflict: a plugin named {:?} already exists here and did not come from upstream {:?}; it is not merged",
                entry.package_name, upstream.name
            ));
        }
        if let Some(v) = db.version(plugin.id, &entry.version).await?
            && v.status != crate::db::status::SCAN_ERROR
        {
            return Ok(None);
        }
    }
    let url = fetch::resolve(&upstream.url, &entry.download_url);
    // Only a feed on this machine's file system may point at files: a remote feed must not
    // make the server read local paths.
    if fetch::file_path(&upstream.url).is_none() && fetch::file_path(&url).is_some() {
        return refuse(format!(
            "the download URL {url:?} is a local path, which a remote upstream may not use"
        ));
    }
    let bytes = match fetch::fetch_with_retries(client, &url, limits, 3).await {
        Ok(b) => b,
        Err(e) => return refuse(format!("download failed: {e}")),
    };
    // An exported repository on a file share carries a manifest: the ZIP must match it.
    if let Some(feed_path) = fetch::file_path(&upstream.url)
        && let Some(manifest) = crate::export::read_manifest(&feed_path)
    {
        let file = url.rsplit('/').next().unwrap_or_default();
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        match manifest.get(file) {
            Some(expected) if *expected == sha => {}
            Some(expected) => {
                return refuse(format!(
                    "{file} does not match the upstream's manifest (sha256 {sha}, manifest says {expected}); refused as tampered"
                ));
            }
            None => return refuse(format!("{file} is not in the upstream's manifest")),
        }
    }
    if let Err(reason) = check_claims(&bytes, entry) {
        return refuse(reason);
    }
    let Some(admin) = db.user_by_id(allowed.allowed_by).await? else {
        return refuse("the admin who allowed this plugin no longer exists".into());
    };
    let request = UploadRequest {
        principal: Principal {
            user: admin,
            token_plugin: None,
        },
        expected_package: Some(entry.package_name.clone()),
        expected_version: Some(entry.version.clone()),
        bytes,
        skip: Vec::new(),
        skip_all_skippable: false,
        publish_immediately: allowed.approve_validated != 0,
        may_create_plugin: true,
    };
    // The origin is recorded in the upload's own transaction, so the scan (and its emails to
    // the admins) always sees where the version came from.
    let origin = upload::NewOrigin {
        upstream_id: upstream.id,
        url: url.clone(),
    };
    let accepted = match upload::accept_with_origin(state, request, Some(origin)).await {
        Ok(a) => a,
        Err(e) => return refuse(e.message()),
    };
    Ok(Some(ImportOutcome {
        package: entry.package_name.clone(),
        version: entry.version.clone(),
        result: "queued".into(),
        detail: format!("sha256 {}, scan queued", accepted.version.sha256),
    }))
}

/// The ZIP is what the feed says: one top folder named after the plugin id, and metadata.txt's
/// name and version equal to the feed entry's.
fn check_claims(bytes: &[u8], entry: &CatalogueEntry) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the download is not a readable ZIP: {e}"))?;
    let package = &entry.package_name;
    for name in zip.file_names() {
        let name = name.map_err(|e| format!("the ZIP's entry names cannot be read: {e}"))?;
        let top = name.split('/').next().unwrap_or_default();
        if top != package {
            return Err(format!(
                "the ZIP's top folder is {top:?}, but the feed's file_name says the plugin is {package:?}"
            ));
        }
    }
    let metadata_name = format!("{package}/metadata.txt");
    let mut text = String::new();
    {
        let file = zip
            .by_name(&metadata_name)
            .map_err(|_| format!("the ZIP has no {metadata_name}"))?;
        file.take(1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| format!("reading {metadata_name}: {e}"))?;
    }
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(['=', ':'])?;
            (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
        })
    };
    let version = field("version").unwrap_or_default();
    if version != entry.version {
        return Err(format!(
            "metadata.txt says version {version:?}, but the feed entry is version {:?}",
            entry.version
        ));
    }
    let feed_named = serde_json::from_str::<serde_json::Value>(&entry.fields)
        .is_ok_and(|f| f.get("name").is_some());
    let name = field("name").unwrap_or_default();
    if feed_named && name != entry.name {
        return Err(format!(
            "metadata.txt says name {name:?}, but the feed entry is named {:?}",
            entry.name
        ));
    }
    Ok(())
}
