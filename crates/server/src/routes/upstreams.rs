//! The admins' JSON API for upstream repositories: list and add upstreams, read one's
//! catalogue, and sync now (`upstream/` does the work).

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

/// `GET /api/upstreams`.
pub async fn list(state: State, headers: HeaderMap) -> ApiResult<Json<Value>> {
    require_admin(&state, &headers).await?;
    let upstreams = upstream::list(&state.db).await?;
    Ok(Json(json!({ "upstreams": upstreams })))
}

#[derive(Deserialize)]
pub struct NewUpstream {
    name: String,
    url: String,
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
    let u = upstream::add(&state.db, &body.name, &body.url)
        .await
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
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
