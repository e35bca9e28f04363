//! The web UI: server-rendered HTML pages (maud templates, escaped by construction) for people
//! using a browser. Each page group has its own file; they call the same queries, permission
//! checks and actions as the JSON API (`routes::api`) and the one upload path (`upload.rs`).
//! Every POST form carries a per-session CSRF token (`viewer.rs`); every response carries the
//! security headers set here.

mod account;
mod admin;
mod docs;
mod page;
mod plugins;
mod queue;
mod upload;
mod upstreams;
mod version;
mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;

pub use page::{WebError, status_badge, when};

/// The page routes; merged into the main router by `routes::router`.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let upload_limit = DefaultBodyLimit::max(state.config.max_upload_bytes + 1024 * 1024);
    Router::new()
        .route("/", get(|| async { Redirect::to("/plugins/") }))
        .route("/static/app.css", get(app_css))
        .route("/static/app.js", get(app_js))
        .route(
            "/sign-in",
            get(account::sign_in_page).post(account::sign_in),
        )
        .route("/sign-out", post(account::sign_out))
        .route("/account", get(account::account_page))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/plugins/", get(plugins::plugin_list))
        .route("/plugins/{package}/", get(plugins::plugin_page))
        .route(
            "/plugins/{package}/version/{version}/",
            get(version::version_page),
        )
        .route(
            "/plugins/{package}/version/{version}/rescan",
            post(version::rescan),
        )
        .route(
            "/plugins/{package}/version/{version}/approve",
            post(version::approve),
        )
        .route(
            "/plugins/{package}/version/{version}/unapprove",
            post(version::unapprove),
        )
        .route(
            "/plugins/{package}/version/{version}/revoke",
            post(version::revoke),
        )
        .route(
            "/plugins/{package}/version/{version}/unrevoke",
            post(version::unrevoke),
        )
        .route(
            "/upload",
            get(upload::new_plugin_page)
                .post(upload::new_plugin)
                .layer(upload_limit),
        )
        .route(
            "/plugins/{package}/upload",
            get(upload::new_version_page)
                .post(upload::new_version)
                .layer(upload_limit),
        )
        .route("/queue", get(queue::queue_page))
        .route(
            "/admin/rules",
            get(admin::rules_page).post(admin::update_rules),
        )
        .route("/admin/users", get(admin::users_page))
        .route("/admin/users/{id}", post(admin::update_user))
        .route(
            "/admin/upstreams",
            get(upstreams::upstreams_page).post(upstreams::add),
        )
        .route("/admin/upstreams/{name}", get(upstreams::upstream_page))
        .route("/admin/upstreams/{name}/sync", post(upstreams::sync_now))
        .route("/admin/upstreams/{name}/allow", post(upstreams::allow))
        .route(
            "/admin/upstreams/{name}/disallow",
            post(upstreams::disallow),
        )
        .route("/admin/conflicts", get(upstreams::conflicts_page))
        .route("/admin/qgis-config", get(upstreams::qgis_config_page))
        .route(
            "/admin/qgis-config/{file}",
            get(upstreams::qgis_config_file),
        )
        .route("/docs/", get(docs::index))
        .route("/docs/config", get(docs::config_page))
        .route("/docs/policy", get(docs::policy_page))
        .route("/docs/rules/{code}", get(docs::rule_page))
}

/// Unknown paths: an HTML page for browsers, the JSON error shape under `/api/`.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::routes::ApiError::not_found(format!("no route {}", uri.path()))
            .into_response();
    }
    WebError::not_found(format!("There is no page at {}.", uri.path())).into_response()
}

/// The Content-Security-Policy of every response: scripts and styles only from this server's
/// /static/ files (no inline code), no framing, forms post only here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response that does not set its own.
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn app_css() -> Response {
    static_file("text/css; charset=utf-8", include_str!("static/app.css"))
}

async fn app_js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    )
}
