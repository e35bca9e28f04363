//! HTTP in, JSON/XML/files out: the router and the error type every handler returns. Each
//! submodule owns one interface: `rest` (token and web-form uploads), `xmlrpc` (`/plugins/RPC2/`),
//! `api` (JSON API), `download`, `plugins_xml`; the HTML pages live in `crate::web` and are
//! merged in here.

pub mod api;
pub mod download;
pub mod ops;
pub mod plugins_xml;
pub mod rest;
pub mod upstreams;
pub mod xmlrpc;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::AppState;
use crate::auth::{self, AuthError, Principal};
use crate::upload::UploadError;

pub type State = axum::extract::State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let max = state.config.max_upload_bytes;
    // Multipart framing adds a little; base64 in XML-RPC adds a third. The exact ZIP limit is
    // enforced by the upload code, these only stop unbounded bodies.
    let upload_limit = DefaultBodyLimit::max(max + 1024 * 1024);
    let xmlrpc_limit = DefaultBodyLimit::max(max / 3 * 4 + 1024 * 1024);
    Router::new()
        .route(
            "/plugins/{package}/version/add/",
            post(rest::add_version).layer(upload_limit),
        )
        .route(
            "/plugins/api/{package}/version/add/",
            post(rest::add_version).layer(upload_limit),
        )
        .route(
            "/plugins/api/{package}/version/{version}/update/",
            post(rest::update_version).layer(upload_limit),
        )
        .route("/plugins/add/", post(rest::add_plugin).layer(upload_limit))
        .route("/plugins/RPC2/", post(xmlrpc::handle).layer(xmlrpc_limit))
        .route(
            "/plugins/{package}/version/{version}/download/",
            get(download::download),
        )
        .route("/plugins/plugins.xml", get(plugins_xml::plugins_xml))
        .route(
            "/api/session",
            post(api::sign_in).delete(api::sign_out).get(api::whoami),
        )
        .route("/api/plugins", get(api::list_plugins))
        .route("/api/plugins/{name}", get(api::plugin_detail))
        .route(
            "/api/plugins/{name}/versions/{version}",
            get(api::version_detail),
        )
        .route(
            "/api/plugins/{name}/versions/{version}/scan",
            get(api::version_scan),
        )
        .route(
            "/api/plugins/{name}/versions/{version}/approve",
            post(api::approve),
        )
        .route(
            "/api/plugins/{name}/versions/{version}/rescan",
            post(api::rescan),
        )
        .route("/api/plugins/{name}/members", post(api::put_member))
        .route(
            "/api/plugins/{name}/members/{username}",
            axum::routing::delete(api::delete_member),
        )
        .route("/api/versions", get(api::list_versions))
        .route("/api/tokens", post(api::create_token).get(api::list_tokens))
        .route("/api/tokens/{id}", axum::routing::delete(api::revoke_token))
        .route("/api/rules", get(api::list_rules))
        .route("/api/rules/{code}", get(api::get_rule).put(api::put_rule))
        .route("/api/upload-form", get(api::upload_form))
        .route("/api/upstreams", get(upstreams::list).post(upstreams::add))
        .route("/api/upstreams/{name}", get(upstreams::detail))
        .route("/api/upstreams/{name}/sync", post(upstreams::sync))
        .route("/api/upstreams/{name}/allow", post(upstreams::allow))
        .route("/api/upstreams/{name}/disallow", post(upstreams::disallow))
        .route("/api/upstreams/{name}/search", get(upstreams::search))
        .route("/api/upstreams/{name}/schedule", post(upstreams::schedule))
        .route("/api/conflicts", get(upstreams::conflicts))
        .route(
            "/api/plugins/{name}/versions/{version}/revoke",
            post(upstreams::revoke),
        )
        .route(
            "/api/plugins/{name}/versions/{version}/unrevoke",
            post(upstreams::unrevoke),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::web::router(state.clone()))
        .fallback(crate::web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::limits::guard,
        ))
        .layer(axum::middleware::map_response(crate::web::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .with_state(state)
}

/// An error answer: status and a message meant for the caller, as JSON `{"detail": …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait (429): sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, m)
    }
    pub fn forbidden(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, m)
    }
    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, m)
    }
    pub fn conflict(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, m)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(m) => ApiError::unauthorized(m),
            AuthError::Limited(r) => ApiError {
                status: r.status,
                message: r.message,
                retry_after: r.retry_after,
            },
            AuthError::Internal(e) => e.into(),
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        let message = e.message();
        match e {
            UploadError::Invalid(_) => ApiError::bad_request(message),
            UploadError::Forbidden(_) => ApiError::forbidden(message),
            UploadError::NotFound(_) => ApiError::not_found(message),
            UploadError::Conflict(_) => ApiError::conflict(message),
            UploadError::Unavailable(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message),
            UploadError::Internal(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "detail": self.message }))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Vetted\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The caller, or None when no credentials were sent; wrong credentials are a 401.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Principal>> {
    Ok(auth::authenticate(state, headers).await?)
}

/// The caller, who must have sent credentials.
pub async fn require_principal(state: &AppState, headers: &HeaderMap) -> ApiResult<Principal> {
    principal(state, headers).await?.ok_or_else(|| {
        ApiError::unauthorized(
            "authentication required: send `Authorization: Token <token>`, Basic credentials, or sign in",
        )
    })
}
