//! Admin pages: the rule table (filter by family and severity; enable, disable, make skippable
//! or not, change severity, for one rule or many at once) and the users with their roles.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use vetted_scan::report::Check;

use super::page::{Page, WebError, WebResult, csrf_field, ok, severity_badge};
use super::viewer::{Fields, Viewer};
use crate::auth::Principal;
use crate::routes::State;
use crate::routes::api::{self, RuleUpdate};
use crate::rules;

fn require_admin<'a>(viewer: &'a Viewer, here: &str) -> WebResult<&'a Principal> {
    let me = viewer.require(here)?;
    if !me.admin() {
        return Err(WebError::forbidden(
            "Only admins may manage rules and users.",
        ));
    }
    Ok(me)
}

#[derive(Deserialize, Default)]
pub struct RuleFilter {
    #[serde(default)]
    family: String,
    #[serde(default)]
    severity: String,
}

/// The bulk actions of the rule table: form value, label, the change it makes.
fn bulk_action(action: &str) -> Option<RuleUpdate> {
    let mut u = RuleUpdate::default();
    match action {
        "enable" => u.enabled = Some(true),
        "disable" => u.enabled = Some(false),
        "skippable" => u.skippable = Some(true),
        "unskippable" => u.skippable = Some(false),
        "critical" | "warning" | "info" => u.severity = Some(action.to_string()),
        _ => return None,
    }
    Some(u)
}

const ACTIONS: [(&str, &str); 7] = [
    ("enable", "Enable"),
    ("disable", "Disable"),
    ("skippable", "Let uploaders skip"),
    ("unskippable", "Do not let uploaders skip"),
    ("critical", "Severity: critical (blocks)"),
    ("warning", "Severity: warning"),
    ("info", "Severity: info"),
];

pub async fn rules_page(
    state: State,
    headers: HeaderMap,
    Query(f): Query<RuleFilter>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, "/admin/rules")?;
    let settings = rules::admin_settings(&state.db).await?;
    let views: Vec<_> = rules::views(&settings)
        .into_iter()
        .filter(|v| f.family.is_empty() || v.family == f.family)
        .filter(|v| f.severity.is_empty() || v.severity == f.severity)
        .collect();
    let content = html! {
        section.card {
            h1 { "Rules" }
            p.muted { "Changes apply to scans from now on; earlier reports keep the rules they ran with." }
            form.row method="get" action="/admin/rules" {
                label { "Family"
                    select name="family" {
                        option value="" { "all" }
                        @for c in Check::ALL { option value=(c.id()) selected[f.family == c.id()] { (c.name()) } }
                    }
                }
                label { "Severity"
                    select name="severity" {
                        option value="" { "all" }
                        @for s in ["critical", "warning", "info"] { option value=(s) selected[f.severity == s] { (s) } }
                    }
                }
                button type="submit" { "Filter" }
            }
        }
        section.card {
            form method="post" action="/admin/rules" {
                (csrf_field(&viewer))
                input type="hidden" name="family" value=(f.family);
                input type="hidden" name="severity_filter" value=(f.severity);
                div.row.bulk {
                    label { "With the selected rules"
                        select name="action" {
                            @for (value, label) in ACTIONS { option value=(value) { (label) } }
                        }
                    }
                    button type="submit" { "Apply" }
                    span.muted { (views.len()) " rules shown" }
                }
                div.scroll {
                    table id="rules" {
                        thead { tr { th { input type="checkbox" id="select-all" aria-label="Select all"; } th { "Code" } th { "Family" } th { "Name" } th { "Enabled" } th { "Skippable" } th { "Severity" } } }
                        tbody {
                            @for v in &views {
                                tr class=[(!v.enabled).then_some("disabled")] {
                                    td { input.rule-select type="checkbox" name="code" value=(v.code) id={"select-" (v.code)} aria-label={"Select " (v.code)}; }
                                    td { a.code href={"/docs/rules/" (v.code)} { (v.code) } @if v.customized { " " span.badge.other title="changed by an admin" { "custom" } } }
                                    td { (v.family) }
                                    td { (v.name) }
                                    td.enabled { @if v.enabled { "yes" } @else { "no" } }
                                    td.skippable { @if v.skippable { "yes" } @else { "no" } }
                                    td { (severity_badge(v.severity)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Rules").render(Some(&viewer), content)))
}

pub async fn update_rules(
    state: State,
    headers: HeaderMap,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = require_admin(&viewer, "/admin/rules")?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    let action = fields.get("action").unwrap_or_default();
    let Some(change) = bulk_action(action) else {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            format!("Unknown action {action:?}."),
        ));
    };
    let codes: Vec<&str> = fields.all("code").collect();
    if codes.is_empty() {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "Select at least one rule before applying an action.",
        ));
    }
    for code in codes {
        api::update_rule(&state, me, code, &change).await?;
    }
    let back = format!(
        "/admin/rules?family={}&severity={}",
        super::page::encode_query(fields.get("family").unwrap_or_default()),
        super::page::encode_query(fields.get("severity_filter").unwrap_or_default())
    );
    Ok(Redirect::to(&back).into_response())
}

pub async fn users_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = require_admin(&viewer, "/admin/users")?;
    let users = state.db.users().await?;
    let content = html! {
        section.card {
            h1 { "Users and roles" }
            p.muted { "Trusted users may publish immediately; approvers approve versions; admins manage rules and users (and approve)." }
            p.muted { "New users are created with " code { "vetted admin create-user" } "." }
            div.scroll {
                table id="users" {
                    thead { tr { th { "User" } th { "Email" } th { "Roles" } } }
                    tbody {
                        @for u in &users {
                            tr {
                                td { (u.username) }
                                td { (u.email) }
                                td {
                                    form.inline.roles method="post" action={"/admin/users/" (u.id)} {
                                        (csrf_field(&viewer))
                                        label.check { input type="checkbox" name="trusted" checked[u.is_trusted != 0]; " trusted" }
                                        label.check { input type="checkbox" name="approver" checked[u.is_staff != 0]; " approver" }
                                        label.check { input type="checkbox" name="admin" checked[u.admin()] disabled[u.id == me.user.id]; " admin" }
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Users").render(Some(&viewer), content)))
}

pub async fn update_user(
    state: State,
    headers: HeaderMap,
    Path(id): Path<i64>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = require_admin(&viewer, "/admin/users")?;
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(WebError::not_found("There is no such user."));
    };
    // An admin cannot take away their own admin role (the checkbox is disabled, so it is not
    // posted): the repository always keeps the admin who is acting.
    let admin = if user.id == me.user.id {
        true
    } else {
        fields.checked("admin")
    };
    state
        .db
        .set_user_roles(
            user.id,
            admin,
            fields.checked("approver"),
            fields.checked("trusted"),
        )
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}
