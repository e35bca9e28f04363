//! The admins' JSON API for upstream repositories: list and add upstreams, read and search one's
//! catalogue, allow and disallow plugins, sync now, the conflicts; and revoking a version
//! (`upstream/` and `revoke.rs` do the work).

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, State, require_principal};
use crate::upstream;

async fn require_admin(
    state: &crate::AppState,
    headers: &HeaderMap,
) -> ApiResult<crate::auth::Principal> {
    let who = require_principal(state, headers).await?;
    if !who.admin() {
        return Err(ApiError::forbidden(
            "only admins manage upstream repositories",
        ));
    }
    Ok(who)
}

/// `GET /api/upstreams`: each upstream with its catalogue size and last sync report.
pub async fn list(state: State, headers: HeaderMap) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let upstreams = upstream::summaries(&state.db).await?;
    Ok(Json(json!({ "upstreams": upstreams })))
}

#[derive(Deserialize)]
pub struct NewUpstream {
    name: String,
    url: String,
    /// Seconds between scheduled syncs (0: never); absent: the server's default.
    #[serde(default)]
    sync_interval: Option<i64>,
}

/// `POST /api/upstreams` `{"name", "url"}`.
pub async fn add(
    state: State,
    headers: HeaderMap,
    body: Result<Json<NewUpstream>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_admin(&state, &headers).await?;
    let Json(body) = body
        .map_err(|e| ApiError::bad_request(format!("expected JSON {{\"name\", \"url\"}}: {e}")))?;
    if upstream::by_name(&state.db, &body.name).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "an upstream named {:?} already exists",
            body.name
        )));
    }
    if body.sync_interval.is_some_and(|s| s < 0) {
        return Err(ApiError::bad_request(
            "sync_interval is a number of seconds, 0 for never",
        ));
    }
    upstream::add(&state.db, &body.name, &body.url)
        .await
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    if body.sync_interval.is_some() {
        upstream::set_interval(&state.db, &body.name, body.sync_interval).await?;
    }
    let u = find(&state, &body.name).await?;
    Ok((StatusCode::CREATED, Json(json!(u))))
}

#[derive(Deserialize)]
pub struct CatalogueQuery {
    #[serde(default)]
    gone: bool,
}

/// `GET /api/upstreams/<name>[?gone=true]`: the upstream and its catalogue.
pub async fn detail(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<CatalogueQuery>,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let u = upstream::by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no upstream {name:?}")))?;
    let entries = upstream::catalogue(&state.db, u.id, q.gone).await?;
    Ok(Json(json!({ "upstream": u, "catalogue": entries })))
}

/// `POST /api/upstreams/<name>/sync`: syncs now and answers with the sync report.
pub async fn sync(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    if upstream::by_name(&state.db, &name).await?.is_none() {
        return Err(ApiError::not_found(format!("no upstream {name:?}")));
    }
    let reports = upstream::sync_and_import(&state, Some(&name)).await?;
    Ok(Json(json!(reports.first())))
}

#[derive(Deserialize)]
pub struct AllowBody {
    package: String,
    /// Pin to this version; absent: follow (import each new upstream version).
    version: Option<String>,
    #[serde(default)]
    approve_validated: bool,
}

/// `POST /api/upstreams/<name>/allow` `{"package", "version"?, "approve_validated"?}`.
pub async fn allow(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<AllowBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = require_admin(&state, &headers).await?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "expected JSON {{\"package\", \"version\", \"approve_validated\"}}: {e}"
        ))
    })?;
    check_package(&body.package)?;
    let u = upstream::by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no upstream {name:?}")))?;
    upstream::import::allow(
        &state.db,
        &u,
        &body.package,
        body.version.as_deref(),
        body.approve_validated,
        who.user.id,
    )
    .await?;
    let allowed = upstream::import::allowed(&state.db, u.id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "allowed": allowed }))))
}

async fn find(state: &crate::AppState, name: &str) -> ApiResult<upstream::Upstream> {
    upstream::by_name(&state.db, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no upstream {name:?}")))
}

/// Package names as QGIS uses them (folder names): bounded and without separators.
pub(crate) fn check_package(package: &str) -> ApiResult<()> {
    let ok = !package.is_empty()
        && package.len() <= 200
        && package
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.".contains(c))
        && !package.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{package:?} is not a plugin package name (letters, digits, '-', '_', '.')"
        )))
    }
}

#[derive(Deserialize)]
pub struct DisallowBody {
    package: String,
}

/// `POST /api/upstreams/<name>/disallow` `{"package"}`: stop importing it (versions already
/// here stay).
pub async fn disallow(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<DisallowBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let Json(body) =
        body.map_err(|e| ApiError::bad_request(format!("expected JSON {{\"package\"}}: {e}")))?;
    let u = find(&state, &name).await?;
    if !upstream::import::disallow(&state.db, &u, &body.package).await? {
        return Err(ApiError::not_found(format!(
            "{:?} is not allowed from upstream {name:?}",
            body.package
        )));
    }
    let allowed = upstream::import::allowed(&state.db, u.id).await?;
    Ok(Json(json!({ "allowed": allowed })))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default = "first_page")]
    page: usize,
    #[serde(default = "default_per_page")]
    per_page: usize,
}

fn first_page() -> usize {
    1
}

fn default_per_page() -> usize {
    50
}

/// `GET /api/upstreams/<name>/search?q=WORDS&page=N&per_page=M`: the catalogue entries whose
/// name, package, description, tags or author contain every word, a page at a time.
pub async fn search(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let Query(q) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "expected ?q=TEXT&page=N&per_page=M (numbers from 1): {e}"
        ))
    })?;
    if q.q.len() > 500 {
        return Err(ApiError::bad_request(
            "the search text is limited to 500 bytes",
        ));
    }
    let u = find(&state, &name).await?;
    let page = upstream::search(&state.db, u.id, &q.q, q.page, q.per_page).await?;
    let allowed = upstream::import::allowed(&state.db, u.id).await?;
    Ok(Json(json!({
        "upstream": u.name,
        "query": page.query,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.total.div_ceil(page.per_page),
        "entries": page.entries,
        "allowed": allowed,
    })))
}

#[derive(Deserialize)]
pub struct ScheduleBody {
    /// Seconds between scheduled syncs, 0 for never, null for the server's default.
    sync_interval: Option<i64>,
}

/// `POST /api/upstreams/<name>/schedule` `{"sync_interval": SECS|0|null}`.
pub async fn schedule(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<ScheduleBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!("expected JSON {{\"sync_interval\": SECS}}: {e}"))
    })?;
    find(&state, &name).await?;
    upstream::set_interval(&state.db, &name, body.sync_interval)
        .await
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    Ok(Json(json!(find(&state, &name).await?)))
}

/// `GET /api/conflicts`: plugins here whose package name an upstream also offers.
pub async fn conflicts(state: State, headers: HeaderMap) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    Ok(Json(
        json!({ "conflicts": upstream::conflicts(&state.db).await? }),
    ))
}

#[derive(Deserialize)]
pub struct RevokeBody {
    reason: String,
}

/// `POST /api/plugins/<name>/versions/<version>/revoke` `{"reason"}`: admins only.
pub async fn revoke(
    state: State,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
    body: Result<Json<RevokeBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    let Json(body) = body
        .map_err(|e| ApiError::bad_request(format!("expected JSON {{\"reason\": TEXT}}: {e}")))?;
    let plugin = super::api::find_plugin(&state, &name).await?;
    let v = super::api::find_version(&state, &plugin, &version).await?;
    revoke_version(&state, &who, &v, &body.reason).await?;
    revocation_json(&state, &plugin, &version).await
}

/// `POST /api/plugins/<name>/versions/<version>/unrevoke`: admins only; the version then
/// waits for an approver.
pub async fn unrevoke(
    state: State,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    let plugin = super::api::find_plugin(&state, &name).await?;
    let v = super::api::find_version(&state, &plugin, &version).await?;
    unrevoke_version(&state, &who, &v).await?;
    revocation_json(&state, &plugin, &version).await
}

/// Revokes a version: admins only, a reason required (shared with the version page's form).
pub(crate) async fn revoke_version(
    state: &crate::AppState,
    who: &crate::auth::Principal,
    v: &crate::db::Version,
    reason: &str,
) -> ApiResult<()> {
    if !who.admin() {
        return Err(ApiError::forbidden("only admins may revoke versions"));
    }
    if reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "a revocation needs a reason: it is shown on the version page and to anyone whose download is refused",
        ));
    }
    crate::revoke::revoke(&state.db, v, who.user.id, reason).await?;
    Ok(())
}

/// Lifts a revocation: admins only (shared with the version page's form).
pub(crate) async fn unrevoke_version(
    state: &crate::AppState,
    who: &crate::auth::Principal,
    v: &crate::db::Version,
) -> ApiResult<()> {
    if !who.admin() {
        return Err(ApiError::forbidden("only admins may lift a revocation"));
    }
    if !crate::revoke::unrevoke(&state.db, v).await? {
        return Err(ApiError::conflict(format!(
            "version {} is not revoked",
            v.version
        )));
    }
    Ok(())
}

async fn revocation_json(
    state: &crate::AppState,
    plugin: &crate::db::Plugin,
    version: &str,
) -> ApiResult<Json<Value>> {
    let v = super::api::find_version(state, plugin, version).await?;
    let r = crate::revoke::revocation(&state.db, v.id).await?;
    Ok(Json(json!({
        "plugin": plugin.package_name,
        "version": v.version,
        "approved": v.approved != 0,
        "downloadable": v.public(),
        "revoked": r.is_some(),
        "revocation": r,
    })))
}
