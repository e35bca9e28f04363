//! Signing in and out, and the account page: who you are, your plugins' API tokens (create,
//! list, revoke; a new token is shown once).

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{Page, WebResult, csrf_field, html_response, ok, when};
use super::viewer::{Fields, Viewer};
use crate::AppState;
use crate::auth::{self, AuthError};
use crate::db::now;
use crate::routes::State;
use crate::routes::api::{self, DEFAULT_TOKEN_DAYS};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/plugins/".to_string(),
    }
}

fn sign_in_form(viewer: &Viewer, next: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Sign in" }
            @if let Some(e) = error { p.alert.bad { (e) } }
            form method="post" action="/sign-in" {
                (csrf_field(viewer))
                input type="hidden" name="next" value=(next);
                label { "User name" input type="text" name="username" autocomplete="username" required; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        }
    }
}

pub async fn sign_in_page(
    state: State,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> WebResult<Response> {
    let mut viewer = Viewer::load(&state, &headers).await?;
    let next = safe_next(q.next.as_deref());
    if viewer.who.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let cookie = if viewer.needs_form_cookie() {
        viewer.issue_form_cookie(&state)
    } else {
        None
    };
    let mut r = ok(Page::new("Sign in").render(Some(&viewer), sign_in_form(&viewer, &next, None)));
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

pub async fn sign_in(
    state: State,
    headers: HeaderMap,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    let next = safe_next(fields.get("next"));
    let username = fields.get("username").unwrap_or_default();
    let password = fields.get("password").unwrap_or_default();
    match auth::check_password(&state, username, password).await {
        Ok(user) => {
            // Never keep a session id the browser had before (session fixation): whatever
            // session cookie it sent ends here, and a new random one is issued.
            api::end_session(&state, &headers).await?;
            let cookie = api::start_session(&state, &user).await?;
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(r)
        }
        Err(AuthError::Invalid(why)) => Ok(html_response(
            StatusCode::UNAUTHORIZED,
            Page::new("Sign in").render(Some(&viewer), sign_in_form(&viewer, &next, Some(why))),
        )),
        Err(AuthError::Limited(refusal)) => {
            let mut r = html_response(
                refusal.status,
                Page::new("Sign in").render(
                    Some(&viewer),
                    sign_in_form(&viewer, &next, Some(refusal.message.as_str())),
                ),
            );
            if let Some(secs) = refusal.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Ok(r)
        }
        Err(AuthError::Internal(e)) => Err(e.into()),
    }
}

pub async fn sign_out(
    state: State,
    headers: HeaderMap,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    api::end_session(&state, &headers).await?;
    let mut r = Redirect::to("/plugins/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            auth::SESSION_COOKIE
        ))
        .map_err(anyhow::Error::from)?,
    );
    Ok(r)
}

/// A token shown once, right after it was made.
struct Fresh {
    plugin: String,
    secret: String,
    expires_at: i64,
}

async fn account(state: &AppState, viewer: &Viewer, fresh: Option<Fresh>) -> WebResult<Response> {
    let me = viewer.require("/account")?;
    let owned = state.db.owned_plugins(me.user.id).await?;
    let t = now();
    let mut rows = Vec::new();
    for p in &owned {
        for tok in state.db.tokens_of(p.id).await? {
            rows.push((p.package_name.clone(), tok));
        }
    }
    let roles: Vec<&str> = [
        (me.user.admin(), "admin"),
        (me.user.is_staff != 0, "approver"),
        (me.user.is_trusted != 0, "trusted"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let content = html! {
        section.card {
            h1 { "Account" }
            p { "Signed in as " strong { (me.user.username) } " (" (me.user.email) ")." }
            p { "Roles: " @if roles.is_empty() { "author" } @else { (roles.join(", ")) } }
        }
        @if let Some(f) = &fresh {
            section.card.alert.ok id="new-token" {
                h2 { "New token for " (f.plugin) }
                p { "Copy it now: it is shown only once and cannot be recovered. It expires " (when(f.expires_at)) "." }
                pre.token { code { (f.secret) } }
            }
        }
        section.card {
            h2 { "API tokens" }
            p.muted { "A token uploads new versions of one plugin (" code { "Authorization: Token …" } "); only owners create them." }
            @if owned.is_empty() {
                p { "You own no plugin yet: " a href="/upload" { "upload one" } " first." }
            } @else {
                form.row method="post" action="/account/tokens" {
                    (csrf_field(viewer))
                    label { "Plugin"
                        select name="plugin" {
                            @for p in &owned { option value=(p.package_name) { (p.package_name) } }
                        }
                    }
                    label { "Description" input type="text" name="description" maxlength="200"; }
                    label { "Valid for (days)" input type="number" name="days" min="1" max="366" value=(DEFAULT_TOKEN_DAYS); }
                    button type="submit" { "Create token" }
                }
            }
            @if !rows.is_empty() {
                div.scroll {
                    table {
                        thead { tr { th { "Plugin" } th { "Description" } th { "Created" } th { "Expires" } th { "State" } th {} } }
                        tbody {
                            @for (plugin, tok) in &rows {
                                tr {
                                    td { (plugin) }
                                    td { (tok.description) }
                                    td { (when(tok.created_at)) }
                                    td { (when(tok.expires_at)) }
                                    td {
                                        @if tok.revoked != 0 { span.badge.other { "revoked" } }
                                        @else if tok.expires_at <= t { span.badge.other { "expired" } }
                                        @else { span.badge.ok { "active" } }
                                    }
                                    td {
                                        @if tok.revoked == 0 && tok.expires_at > t {
                                            form.inline method="post" action={"/account/tokens/" (tok.id) "/revoke"} {
                                                (csrf_field(viewer))
                                                button.danger type="submit" { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Account").render(Some(viewer), content)))
}

pub async fn account_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    account(&state, &viewer, None).await
}

pub async fn create_token(
    state: State,
    headers: HeaderMap,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = viewer.require("/account")?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    let days: i64 = match fields.get("days").map(str::trim) {
        None | Some("") => DEFAULT_TOKEN_DAYS,
        Some(d) => d.parse().map_err(|_| {
            super::WebError::new(
                StatusCode::BAD_REQUEST,
                "The lifetime must be a number of days.",
            )
        })?,
    };
    let token = api::create_plugin_token(
        &state,
        me,
        fields.get("plugin").unwrap_or_default(),
        fields.get("description").unwrap_or_default(),
        days.saturating_mul(86_400),
    )
    .await?;
    account(
        &state,
        &viewer,
        Some(Fresh {
            plugin: token.plugin,
            secret: token.secret,
            expires_at: token.expires_at,
        }),
    )
    .await
}

pub async fn revoke_token(
    state: State,
    headers: HeaderMap,
    Path(id): Path<i64>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = viewer.require("/account")?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    api::revoke_plugin_token(&state, me, id).await?;
    Ok(Redirect::to("/account").into_response())
}
