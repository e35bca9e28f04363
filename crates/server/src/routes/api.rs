//! The JSON API: sign-in sessions, plugins and versions, scan reports, approval and re-scan,
//! plugin tokens, admin rule settings and the upload form's rules panel.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vetted_scan::catalog::catalog;

use super::{ApiError, ApiResult, State, principal, require_principal};
use crate::auth::{self, Principal};
use crate::db::{Plugin, User, Version, now, status};
use crate::jobs::{self, JobPayload};
use crate::{AppState, mail, rules, scan_job};

// ---- sessions

#[derive(Deserialize)]
pub struct SignIn {
    username: String,
    password: String,
}

const SESSION_DAYS: i64 = 14;

/// `POST /api/session`: signs in and sets the session cookie. The cookie is `SameSite=Strict`
/// so other sites cannot make a signed-in browser upload (the CSRF defence of the form API).
pub async fn sign_in(
    state: State,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!("expected JSON {{\"username\", \"password\"}}: {e}"))
    })?;
    let user = auth::check_password(&state, &body.username, &body.password).await?;
    // A session id the client had before is never carried over (session fixation).
    end_session(&state, &headers).await?;
    let cookie = start_session(&state, &user).await?;
    let mut r = Json(json!({ "username": user.username })).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// Stores a new session for `user` and returns the `Set-Cookie` value that hands it to the
/// browser (shared by the JSON sign-in and the web sign-in form).
pub(crate) async fn start_session(state: &AppState, user: &User) -> ApiResult<HeaderValue> {
    let secret = auth::random_secret();
    state
        .db
        .create_session(
            &auth::hash_secret(&secret),
            user.id,
            now() + SESSION_DAYS * 86_400,
        )
        .await?;
    let secure = if auth::cookies_secure(state) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        auth::SESSION_COOKIE,
        SESSION_DAYS * 86_400
    );
    HeaderValue::from_str(&cookie)
        .map_err(|e| anyhow::anyhow!("building the session cookie: {e}").into())
}

/// Ends the session named by the request's cookie, if any.
pub(crate) async fn end_session(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if let Some(secret) = auth::session_cookie(headers) {
        state.db.delete_session(&auth::hash_secret(&secret)).await?;
    }
    Ok(())
}

pub async fn sign_out(state: State, headers: HeaderMap) -> ApiResult<StatusCode> {
    end_session(&state, &headers).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn whoami(state: State, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let p = require_principal(&state, &headers).await?;
    Ok(Json(json!({
        "username": p.user.username,
        "admin": p.admin(),
        "staff": p.staff(),
        "trusted": p.user.trusted(),
        "token_plugin": p.token_plugin,
    })))
}

// ---- plugins and versions

fn version_json(state: &AppState, plugin: &Plugin, v: &Version) -> Value {
    let metadata: Value = serde_json::from_str(&v.metadata).unwrap_or(Value::Null);
    let skip: Value = serde_json::from_str(&v.skip_rules).unwrap_or(Value::Null);
    let base = &state.base_url;
    let p = &plugin.package_name;
    json!({
        "id": v.id,
        "version": v.version,
        "validation_status": v.status,
        "approved": v.approved != 0,
        "experimental": v.experimental != 0,
        "downloadable": v.public(),
        "sha256": v.sha256,
        "size": v.size,
        "downloads": v.downloads,
        "qgis_minimum_version": v.qgis_min,
        "qgis_maximum_version": v.qgis_max,
        "skipped_rules": skip,
        "metadata": metadata,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "download_url": format!("{base}/plugins/{p}/version/{}/download/", v.version),
        "scan_url": format!("{base}/api/plugins/{p}/versions/{}/scan", v.version),
        "needs_review": v.status == status::NEEDS_REVIEW,
        "revoked": v.revoked_at.is_some(),
    })
}

/// Whether the caller may see versions that are not public (members and staff).
pub(crate) async fn sees_everything(
    state: &AppState,
    who: Option<&Principal>,
    plugin: &Plugin,
) -> ApiResult<bool> {
    Ok(match who {
        Some(p) => p.staff() || p.can_edit(&state.db, plugin).await?,
        None => false,
    })
}

pub(crate) async fn find_plugin(state: &AppState, name: &str) -> ApiResult<Plugin> {
    state
        .db
        .plugin_by_name(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no plugin {name:?}")))
}

pub(crate) async fn find_version(
    state: &AppState,
    plugin: &Plugin,
    version: &str,
) -> ApiResult<Version> {
    state.db.version(plugin.id, version).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no version {version:?} of {:?}",
            plugin.package_name
        ))
    })
}

pub async fn list_plugins(state: State) -> ApiResult<Json<Value>> {
    let mut out = Vec::new();
    for p in state.db.plugins().await? {
        let versions = state.db.versions_of(p.id).await?;
        let public: Vec<&Version> = versions.iter().filter(|v| v.public()).collect();
        if public.is_empty() {
            continue;
        }
        let latest = public
            .iter()
            .max_by_key(|v| super::plugins_xml::version_key(&v.version))
            .map(|v| v.version.clone());
        out.push(json!({
            "package_name": p.package_name,
            "name": p.name,
            "id": p.id,
            "downloads": p.downloads,
            "latest_version": latest,
            "url": format!("{}/api/plugins/{}", state.base_url, p.package_name),
        }));
    }
    Ok(Json(json!({ "plugins": out })))
}

pub async fn plugin_detail(
    state: State,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = principal(&state, &headers).await?;
    let plugin = find_plugin(&state, &name).await?;
    let versions: Vec<Value> = visible_versions(&state, who.as_ref(), &plugin)
        .await?
        .iter()
        .map(|v| version_json(&state, &plugin, v))
        .collect();
    let members = member_list(&state, &plugin).await?;
    Ok(Json(json!({
        "id": plugin.id,
        "package_name": plugin.package_name,
        "name": plugin.name,
        "downloads": plugin.downloads,
        "members": members,
        "versions": versions,
    })))
}

/// The plugin's versions the caller may see, oldest first; a plugin with none is a 404 for
/// callers who are neither members nor staff, so unpublished plugins stay hidden.
pub(crate) async fn visible_versions(
    state: &AppState,
    who: Option<&Principal>,
    plugin: &Plugin,
) -> ApiResult<Vec<Version>> {
    let all = sees_everything(state, who, plugin).await?;
    let versions: Vec<Version> = state
        .db
        .versions_of(plugin.id)
        .await?
        .into_iter()
        .filter(|v| all || v.public())
        .collect();
    if !all && versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "no plugin {:?}",
            plugin.package_name
        )));
    }
    Ok(versions)
}

/// The version, if the caller may see it (404 otherwise, so unpublished versions stay hidden).
async fn visible_version(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    version: &str,
) -> ApiResult<(Plugin, Version, Option<Principal>)> {
    let who = principal(state, headers).await?;
    let (plugin, v) = visible_version_for(state, who.as_ref(), name, version).await?;
    Ok((plugin, v, who))
}

/// [`visible_version`] for a caller already known (the web pages).
pub(crate) async fn visible_version_for(
    state: &AppState,
    who: Option<&Principal>,
    name: &str,
    version: &str,
) -> ApiResult<(Plugin, Version)> {
    let plugin = find_plugin(state, name).await?;
    let v = find_version(state, &plugin, version).await?;
    if !v.public() && !sees_everything(state, who, &plugin).await? {
        return Err(ApiError::not_found(format!(
            "no published version {version:?} of {name:?}"
        )));
    }
    Ok((plugin, v))
}

pub async fn version_detail(
    state: State,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let (plugin, v, _) = visible_version(&state, &headers, &name, &version).await?;
    Ok(Json(version_json(&state, &plugin, &v)))
}

/// `GET …/scan`: the latest scan's full report (secrets in snippets are masked by the scanner)
/// and the history of scans.
pub async fn version_scan(
    state: State,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let (plugin, v, _) = visible_version(&state, &headers, &name, &version).await?;
    let scans = state.db.scans_of(v.id).await?;
    let history: Vec<Value> = scans
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "verdict": s.verdict,
                "manual": s.manual != 0,
                "scanner_version": s.scanner_version,
                "ruleset_version": s.ruleset_version,
                "skipped_rules": serde_json::from_str::<Value>(&s.skipped_rules).unwrap_or(Value::Null),
                "config_files": serde_json::from_str::<Value>(&s.config_files).unwrap_or(Value::Null),
                "created_at": s.created_at,
            })
        })
        .collect();
    let latest = scans
        .last()
        .map(|s| serde_json::from_str::<Value>(&s.report).unwrap_or(Value::Null));
    let approval_reason = state.db.approval_reason(v.id).await?;
    Ok(Json(json!({
        "plugin": plugin.package_name,
        "version": v.version,
        "validation_status": v.status,
        "approval_reason": approval_reason,
        "report": latest,
        "scans": history,
        "server": scan_job::scanner_info(),
    })))
}

#[derive(Deserialize, Default)]
pub struct Approval {
    /// Why the approver accepts what the verdict policy sent to review.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST …/approve`: staff only; only validated versions. A version that needs review takes a
/// JSON body `{"reason": "…"}`, stored with the approval.
pub async fn approve(
    state: State,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    let approval: Approval = if body.iter().all(u8::is_ascii_whitespace) {
        Approval::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "expected JSON {{\"reason\": TEXT}} or no body: {e}"
            ))
        })?
    };
    let reason = approval
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let plugin = find_plugin(&state, &name).await?;
    let v = find_version(&state, &plugin, &version).await?;
    approve_version(&state, &who, &plugin, &v, reason).await?;
    let v = find_version(&state, &plugin, &version).await?;
    Ok(Json(version_json(&state, &plugin, &v)))
}

/// Why a version with this status cannot be approved, or None when it can.
pub(crate) fn approval_blocker(validation_status: &str) -> Option<&'static str> {
    if status::is_clean(validation_status) {
        return None;
    }
    Some(match validation_status {
        status::BLOCKED => "it was blocked by the security scan; only a new upload can replace it",
        status::VALIDATING => "its security scan has not finished",
        status::SCAN_ERROR => "its security scan failed",
        _ => "it is not validated",
    })
}

/// Approves a validated version (staff only) and tells the uploader; approving twice is a
/// no-op. A version the verdict policy sent to review needs the approver's reason.
pub(crate) async fn approve_version(
    state: &AppState,
    who: &Principal,
    plugin: &Plugin,
    v: &Version,
    reason: Option<&str>,
) -> ApiResult<()> {
    let (name, version) = (&plugin.package_name, &v.version);
    if !who.staff() {
        return Err(ApiError::forbidden(
            "only staff approvers may approve versions",
        ));
    }
    if let Some(why) = approval_blocker(&v.status) {
        return Err(ApiError::conflict(format!(
            "version {} of {} cannot be approved: {why}",
            v.version, plugin.package_name
        )));
    }
    if v.revoked_at.is_some() {
        return Err(ApiError::conflict(format!(
            "version {version} of {name} cannot be approved: it was revoked; an admin must un-revoke it first"
        )));
    }
    if v.status == status::NEEDS_REVIEW && v.approved == 0 && reason.is_none() {
        return Err(ApiError::bad_request(format!(
            "version {version} of {name} needs review: approve it with {{\"reason\": \"…\"}} saying why its review items are acceptable"
        )));
    }
    if v.approved == 0 {
        state.db.set_approved(v.id, true).await?;
        state.db.record_approval(v.id, who.user.id, reason).await?;
        if let Some(uploader) = state.db.user_by_id(v.uploaded_by).await? {
            let v = find_version(state, plugin, &v.version).await?;
            state
                .mailer
                .send_logged(mail::approval(&uploader, plugin, &v, &state.base_url))
                .await;
        }
    }
    Ok(())
}

/// Withdraws a version's approval (staff only): it leaves downloads and plugins.xml.
pub(crate) async fn unapprove_version(
    state: &AppState,
    who: &Principal,
    v: &Version,
) -> ApiResult<()> {
    if !who.staff() {
        return Err(ApiError::forbidden(
            "only staff approvers may withdraw an approval",
        ));
    }
    if v.approved != 0 {
        state.db.set_approved(v.id, false).await?;
    }
    Ok(())
}

/// `POST …/rescan`: owners, editors and admins; queues a manual scan that stores a new report
/// and never changes the status or approval.
pub async fn rescan(
    state: State,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = require_principal(&state, &headers).await?;
    let plugin = find_plugin(&state, &name).await?;
    let v = find_version(&state, &plugin, &version).await?;
    let job_id = queue_rescan(&state, &who, &plugin, &v).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job_id, "status": "queued" })),
    ))
}

/// Whether the caller may re-scan the plugin's versions.
pub(crate) async fn may_rescan(
    state: &AppState,
    who: &Principal,
    plugin: &Plugin,
) -> ApiResult<bool> {
    Ok(who.admin() || who.can_edit(&state.db, plugin).await?)
}

/// Queues a manual scan of `v` and returns the job id.
pub(crate) async fn queue_rescan(
    state: &AppState,
    who: &Principal,
    plugin: &Plugin,
    v: &Version,
) -> ApiResult<i64> {
    if !may_rescan(state, who, plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners, editors and admins may re-scan {}",
            plugin.package_name
        )));
    }
    let mut tx = state.db.begin_write().await?;
    let job_id = jobs::enqueue(
        &mut tx,
        &JobPayload::Scan {
            version_id: v.id,
            manual: true,
            catalogue: false,
        },
        state.config.max_attempts,
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.wake_workers();
    Ok(job_id)
}

#[derive(Deserialize)]
pub struct VersionQuery {
    status: Option<String>,
    approved: Option<bool>,
}

/// `GET /api/versions?status=validated&approved=false`: staff's view across plugins — the
/// approval queue, or the versions whose scan failed (`status=scan_error`).
pub async fn list_versions(
    state: State,
    headers: HeaderMap,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    if !who.staff() {
        return Err(ApiError::forbidden(
            "only staff may list versions across plugins",
        ));
    }
    let mut plugins: std::collections::HashMap<i64, Plugin> = Default::default();
    let mut out = Vec::new();
    for v in state.db.versions_with_status(q.status.as_deref()).await? {
        if q.approved.is_some_and(|a| a != (v.approved != 0)) {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = plugins.entry(v.plugin_id) {
            match state.db.plugin_by_id(v.plugin_id).await? {
                Some(p) => {
                    slot.insert(p);
                }
                None => continue,
            }
        }
        if let Some(p) = plugins.get(&v.plugin_id) {
            let mut j = version_json(&state, p, &v);
            j["plugin"] = json!(p.package_name);
            out.push(j);
        }
    }
    Ok(Json(json!({ "versions": out })))
}

// ---- members

#[derive(Deserialize)]
pub struct Member {
    username: String,
    /// `owner` or `editor`.
    role: String,
}

/// `POST /api/plugins/<name>/members`: owners add an owner or an editor (editors upload and
/// re-scan; only owners manage members and tokens).
pub async fn put_member(
    state: State,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Member>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let who = require_person(&state, &headers).await?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!("expected JSON {{\"username\", \"role\"}}: {e}"))
    })?;
    let plugin = find_plugin(&state, &name).await?;
    if !who.is_owner(&state.db, &plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners of {name} may change its members"
        )));
    }
    if body.role != "owner" && body.role != "editor" {
        return Err(ApiError::bad_request("role must be owner or editor"));
    }
    let user = state
        .db
        .user_by_name(&body.username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {:?}", body.username)))?;
    state.db.add_member(plugin.id, user.id, &body.role).await?;
    members_json(&state, &plugin).await
}

/// `DELETE /api/plugins/<name>/members/<username>`; the last owner stays.
pub async fn delete_member(
    state: State,
    Path((name, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = require_person(&state, &headers).await?;
    let plugin = find_plugin(&state, &name).await?;
    if !who.is_owner(&state.db, &plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners of {name} may change its members"
        )));
    }
    let members = state.db.plugin_members(plugin.id).await?;
    let owners = members.iter().filter(|(_, r)| r == "owner").count();
    if owners <= 1 && members.iter().any(|(u, r)| *u == username && r == "owner") {
        return Err(ApiError::conflict("a plugin keeps at least one owner"));
    }
    let user = state
        .db
        .user_by_name(&username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {username:?}")))?;
    if !state.db.remove_member(plugin.id, user.id).await? {
        return Err(ApiError::not_found(format!(
            "{username} is not a member of {name}"
        )));
    }
    members_json(&state, &plugin).await
}

/// A plugin's owners and editors, as the API shows them.
async fn member_list(state: &AppState, plugin: &Plugin) -> ApiResult<Vec<Value>> {
    Ok(state
        .db
        .plugin_members(plugin.id)
        .await?
        .into_iter()
        .map(|(u, r)| json!({ "username": u, "role": r }))
        .collect())
}

async fn members_json(state: &AppState, plugin: &Plugin) -> ApiResult<Json<Value>> {
    let members = member_list(state, plugin).await?;
    Ok(Json(
        json!({ "plugin": plugin.package_name, "members": members }),
    ))
}

// ---- tokens

#[derive(Deserialize)]
pub struct NewToken {
    plugin: String,
    #[serde(default)]
    description: String,
    /// Lifetime; plugins.qgis.org's tokens last 15 days.
    #[serde(default)]
    expires_in_days: Option<i64>,
    /// Lifetime in seconds, for short-lived tokens (overrides days).
    #[serde(default)]
    expires_in_seconds: Option<i64>,
}

/// Token management needs a person (Basic auth or session), not another token.
async fn require_person(state: &AppState, headers: &HeaderMap) -> ApiResult<Principal> {
    let who = require_principal(state, headers).await?;
    if who.token_plugin.is_some() {
        return Err(ApiError::forbidden(
            "tokens cannot manage tokens; use your password or a session",
        ));
    }
    Ok(who)
}

pub async fn create_token(
    state: State,
    headers: HeaderMap,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = require_person(&state, &headers).await?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "expected JSON {{\"plugin\": NAME, \"description\", \"expires_in_days\"}}: {e}"
        ))
    })?;
    let lifetime = match (body.expires_in_seconds, body.expires_in_days) {
        (Some(s), _) => s,
        (None, Some(d)) => d.saturating_mul(86_400),
        (None, None) => DEFAULT_TOKEN_DAYS * 86_400,
    };
    let token =
        create_plugin_token(&state, &who, &body.plugin, &body.description, lifetime).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": token.id,
            "plugin": token.plugin,
            "token": token.secret,
            "description": body.description,
            "expires_at": token.expires_at,
        })),
    ))
}

/// Plugin tokens last 15 days unless asked otherwise, as on plugins.qgis.org.
pub(crate) const DEFAULT_TOKEN_DAYS: i64 = 15;

/// A token just created: the secret is shown once and never stored.
pub(crate) struct NewPluginToken {
    pub id: i64,
    pub plugin: String,
    pub secret: String,
    pub expires_at: i64,
}

/// Creates a token for `plugin_name` (owners only), valid for `lifetime` seconds.
pub(crate) async fn create_plugin_token(
    state: &AppState,
    who: &Principal,
    plugin_name: &str,
    description: &str,
    lifetime: i64,
) -> ApiResult<NewPluginToken> {
    let plugin = find_plugin(state, plugin_name).await?;
    if !who.is_owner(&state.db, &plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners of {} may create its tokens",
            plugin.package_name
        )));
    }
    if !(1..=366 * 86_400).contains(&lifetime) {
        return Err(ApiError::bad_request(
            "token lifetime must be between 1 second and 366 days",
        ));
    }
    let secret = auth::random_secret();
    let expires_at = now() + lifetime;
    let id = state
        .db
        .create_token(
            plugin.id,
            who.user.id,
            &auth::hash_secret(&secret),
            description,
            expires_at,
        )
        .await?;
    Ok(NewPluginToken {
        id,
        plugin: plugin.package_name,
        secret,
        expires_at,
    })
}

#[derive(Deserialize)]
pub struct TokenQuery {
    plugin: String,
}

pub async fn list_tokens(
    state: State,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Json<Value>> {
    let who = require_person(&state, &headers).await?;
    let plugin = find_plugin(&state, &q.plugin).await?;
    if !who.is_owner(&state.db, &plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners of {} may list its tokens",
            plugin.package_name
        )));
    }
    let t = now();
    let tokens: Vec<Value> = state
        .db
        .tokens_of(plugin.id)
        .await?
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "description": row.description,
                "created_at": row.created_at,
                "expires_at": row.expires_at,
                "revoked": row.revoked != 0,
                "expired": row.expires_at <= t,
            })
        })
        .collect();
    Ok(Json(
        json!({ "plugin": plugin.package_name, "tokens": tokens }),
    ))
}

pub async fn revoke_token(
    state: State,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let who = require_person(&state, &headers).await?;
    revoke_plugin_token(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes token `id` (owners of its plugin only).
pub(crate) async fn revoke_plugin_token(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> ApiResult<()> {
    let Some(row) = state.db.token_by_id(id).await? else {
        return Err(ApiError::not_found("no such token"));
    };
    let plugin = state
        .db
        .plugin_by_id(row.plugin_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such token"))?;
    if !who.is_owner(&state.db, &plugin).await? {
        return Err(ApiError::forbidden(format!(
            "only owners of {} may revoke its tokens",
            plugin.package_name
        )));
    }
    state.db.revoke_token(id).await?;
    Ok(())
}

// ---- rules

pub async fn list_rules(state: State) -> ApiResult<Json<Value>> {
    let settings = rules::admin_settings(&state.db).await?;
    Ok(Json(json!({
        "ruleset_version": catalog().version(),
        "rules": rules::views(&settings),
    })))
}

pub async fn get_rule(state: State, Path(code): Path<String>) -> ApiResult<Json<Value>> {
    let settings = rules::admin_settings(&state.db).await?;
    let view = rules::views(&settings)
        .into_iter()
        .find(|v| v.code == code)
        .ok_or_else(|| ApiError::not_found(format!("no rule {code:?}")))?;
    Ok(Json(
        serde_json::to_value(view).map_err(anyhow::Error::from)?,
    ))
}

#[derive(Deserialize, Default)]
pub struct RuleUpdate {
    pub enabled: Option<bool>,
    pub skippable: Option<bool>,
    pub severity: Option<String>,
}

/// `PUT /api/rules/<code>`: admins change a rule for future scans.
pub async fn put_rule(
    state: State,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Result<Json<RuleUpdate>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "expected JSON {{\"enabled\", \"skippable\", \"severity\"}}: {e}"
        ))
    })?;
    update_rule(&state, &who, &code, &body).await?;
    get_rule(state, Path(code)).await
}

/// Applies an admin's change to one rule; fields left out keep their current value.
pub(crate) async fn update_rule(
    state: &AppState,
    who: &Principal,
    code: &str,
    change: &RuleUpdate,
) -> ApiResult<()> {
    if !who.admin() {
        return Err(ApiError::forbidden("only admins may change rules"));
    }
    let settings = rules::admin_settings(&state.db).await?;
    let current = rules::views(&settings)
        .into_iter()
        .find(|v| v.code == code)
        .ok_or_else(|| ApiError::not_found(format!("no rule {code:?}")))?;
    let severity = change
        .severity
        .clone()
        .unwrap_or_else(|| current.severity.to_string());
    if rules::parse_severity(&severity).is_none() {
        return Err(ApiError::bad_request(
            "severity must be critical, warning or info",
        ));
    }
    state
        .db
        .put_rule(
            code,
            change.enabled.unwrap_or(current.enabled),
            change.skippable.unwrap_or(current.skippable),
            &severity,
            who.user.id,
        )
        .await?;
    Ok(())
}

/// `GET /api/upload-form`: what the upload form needs — the rules an uploader may skip (the
/// "rules panel") and whether the caller may publish immediately.
pub async fn upload_form(state: State, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let who = require_principal(&state, &headers).await?;
    let settings = rules::admin_settings(&state.db).await?;
    let skippable: Vec<Value> = rules::skippable_views(&settings)
        .into_iter()
        .map(|v| json!({ "code": v.code, "family": v.family, "name": v.name, "severity": v.severity }))
        .collect();
    Ok(Json(json!({
        "skippable_rules": skippable,
        "can_publish_immediately": who.user.trusted(),
        "max_upload_bytes": state.config.max_upload_bytes,
    })))
}
