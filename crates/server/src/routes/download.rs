//! `GET /plugins/<package>/version/<version>/download/`: serves the stored ZIP and counts it.
//! Only approved versions with a clean scan are public; owners, editors and staff may fetch any
//! version (to review it); everyone else gets a plain-text refusal saying why. A revoked version
//! answers 410 Gone to everyone, with who revoked it, when and why.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{State, principal};
use crate::db::status;

fn refuse(code: StatusCode, message: String) -> Response {
    let mut r = (code, message).into_response();
    if code == StatusCode::UNAUTHORIZED {
        // qgis-plugin-manager sends its credentials only after a 401 with this header.
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Vetted\""),
        );
    }
    r
}

pub async fn download(
    state: State,
    axum::extract::Path((package, version)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match serve(&state, &package, &version, &headers).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("download of {package} {version}: {e:#}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

async fn serve(
    state: &crate::AppState,
    package: &str,
    version: &str,
    headers: &HeaderMap,
) -> anyhow::Result<Response> {
    let db = &state.db;
    let not_found = || {
        refuse(
            StatusCode::NOT_FOUND,
            format!("There is no version {version} of the plugin {package}.\n"),
        )
    };
    let Some(plugin) = db.plugin_by_name(package).await? else {
        return Ok(not_found());
    };
    let Some(v) = db.version(plugin.id, version).await? else {
        return Ok(not_found());
    };
    if v.revoked_at.is_some() {
        // Revoked: gone for everyone, reviewers included, with the admin's reason.
        let r = crate::revoke::revocation(db, v.id).await?;
        let message = match r {
            Some(r) => format!(
                "Version {version} of {package} was revoked by an administrator{} on {}: {}\nIt cannot be downloaded.\n",
                r.revoked_by.map(|u| format!(" ({u})")).unwrap_or_default(),
                crate::web::when(r.revoked_at),
                r.reason
            ),
            None => {
                format!("Version {version} of {package} was revoked and cannot be downloaded.\n")
            }
        };
        return Ok(refuse(StatusCode::GONE, message));
    }
    if !v.public() {
        let why = match v.status.as_str() {
            status::VALIDATING => "is still being scanned and cannot be downloaded yet",
            status::BLOCKED => "was blocked by the security scan and cannot be downloaded",
            status::SCAN_ERROR => "could not be scanned and cannot be downloaded",
            _ => "has not been approved yet and cannot be downloaded",
        };
        let message = format!("Version {version} of {package} {why}.\n");
        let who = match principal(state, headers).await {
            Ok(p) => p,
            Err(e) => return Ok(refuse(e.status, format!("{}\n", e.message))),
        };
        let Some(who) = who else {
            return Ok(refuse(StatusCode::UNAUTHORIZED, message));
        };
        let allowed = who.staff() || who.can_edit(db, &plugin).await.unwrap_or(false);
        if !allowed {
            return Ok(refuse(StatusCode::FORBIDDEN, message));
        }
    }
    let bytes = match state.storage.get(&v.file_key).await {
        Ok(b) => b,
        Err(e @ crate::storage::StorageError::Unavailable { .. }) => {
            tracing::warn!("download of {}: {e:#}", v.file_key);
            return Ok(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The file store is unavailable; try again shortly.\n".into(),
            ));
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    db.count_download(&v).await?;
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.{}.zip\"",
        plugin.package_name, v.version
    )) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(r)
}
