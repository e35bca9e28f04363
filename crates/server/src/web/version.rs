//! A version's page: its status, the actions open to the viewer (re-scan, approve, unapprove,
//! download) and two tabs. The Security tab renders the stored scan report — summary, stats,
//! one card per check with its findings and code, suppressed findings, the capabilities audit —
//! and the history of scans. Only the stored report is shown (its secrets are already masked);
//! the uploaded ZIP is never read here.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use vetted_scan::catalog::catalog;
use vetted_scan::report::{Check, Finding, Report, SuppressedBy};

use super::page::{
    Page, WebError, WebResult, approval_badge, csrf_field, ok, severity_badge, status_badge,
    verdict_badge, when,
};
use super::plugins::{meta, metadata};
use super::viewer::{Fields, Viewer};
use crate::auth::Principal;
use crate::db::{Plugin, ScanRow, Version, status};
use crate::routes::State;
use crate::routes::api;

/// The checks in the order the Security tab shows them.
const CHECK_ORDER: [Check; 6] = [
    Check::Bandit,
    Check::Secrets,
    Check::Flake8,
    Check::Files,
    Check::Package,
    Check::Qgis,
];

/// Seconds between reloads while a scan is pending.
const REFRESH_SECONDS: u32 = 2;

#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    tab: String,
}

fn version_url(plugin: &Plugin, v: &Version) -> String {
    format!("/plugins/{}/version/{}/", plugin.package_name, v.version)
}

pub async fn version_page(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    Query(q): Query<TabQuery>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let (plugin, v) = api::visible_version_for(&state, viewer.who.as_ref(), &package, &version)
        .await
        .map_err(|e| {
            WebError::from(e).hint_sign_in(
                viewer.who.is_some(),
                &format!("/plugins/{package}/version/{version}/"),
            )
        })?;
    let scans = state.db.scans_of(v.id).await?;
    let origin = crate::upstream::origin_of(&state.db, v.id).await?;
    let revocation = crate::revoke::revocation(&state.db, v.id).await?;
    let admin = viewer.who.as_ref().is_some_and(Principal::admin);
    let may_rescan = match &viewer.who {
        Some(p) => api::may_rescan(&state, p, &plugin).await?,
        None => false,
    };
    let here = version_url(&plugin, &v);
    let details = q.tab == "details";
    let m = metadata(&v);
    let content = html! {
        section.card {
            p.muted { a href={"/plugins/" (plugin.package_name) "/"} { (plugin.name) } }
            h1 { (plugin.name) " " (v.version) }
            p.status { (status_badge(&v.status)) " " (approval_badge(v.approved != 0))
                @if v.experimental != 0 { " " span.badge.other { "experimental" } }
                @if revocation.is_some() { " " span.badge.bad id="revoked" { "Revoked" } }
                @if let Some(o) = &origin {
                    " " span.badge.other id="origin" { "from upstream " (o.upstream) }
                    @if o.gone_upstream { " " span.badge.other id="gone-upstream" { "no longer upstream" } }
                } }
            @if let Some(r) = &revocation {
                p.alert.bad id="revocation" {
                    "Revoked by " (r.revoked_by.as_deref().unwrap_or("an administrator")) " on " (when(r.revoked_at)) ": " (r.reason)
                    ". It is not in plugins.xml and its download is refused; an admin must un-revoke it before it can be approved again."
                }
            }
            @if v.status == status::VALIDATING {
                p.alert.pending { "The security scan is running. This page reloads every " (REFRESH_SECONDS) " seconds until the verdict is in." }
            }
            div.actions {
                @if may_rescan {
                    form.inline method="post" action={(here) "rescan"} {
                        (csrf_field(&viewer))
                        button type="submit" { "Re-scan" }
                    }
                }
                @if viewer.staff() && revocation.is_none() {
                    @if v.approved != 0 {
                        form.inline method="post" action={(here) "unapprove"} {
                            (csrf_field(&viewer))
                            button.danger type="submit" { "Unapprove" }
                        }
                    } @else {
                        @let blocker = api::approval_blocker(&v.status);
                        form.inline method="post" action={(here) "approve"} {
                            (csrf_field(&viewer))
                            @if v.status == crate::db::status::NEEDS_REVIEW {
                                input type="text" name="reason" required
                                    placeholder="Why the review items are acceptable"
                                    aria-label="Reason for approving";
                                " "
                            }
                            button type="submit" disabled[blocker.is_some()] title=[blocker] { "Approve" }
                        }
                        @if let Some(why) = blocker { span.muted.reason { "Cannot approve: " (why) "." } }
                    }
                }
                @if admin {
                    @if revocation.is_some() {
                        form.inline method="post" action={(here) "unrevoke"} {
                            (csrf_field(&viewer))
                            button type="submit" { "Un-revoke" }
                        }
                    } @else {
                        form.inline method="post" action={(here) "revoke"} {
                            (csrf_field(&viewer))
                            input type="text" name="reason" required
                                placeholder="Why it must not be served"
                                aria-label="Reason for revoking";
                            " "
                            button.danger type="submit" { "Revoke" }
                        }
                    }
                }
                @if v.public() {
                    a.button id="download" href={(here) "download/"} { "Download" }
                }
            }
            nav.tabs {
                a href=(here) class=[(!details).then_some("active")] { "Security" }
                a href={(here) "?tab=details"} class=[details.then_some("active")] { "Details" }
            }
        }
        @if details {
            (details_tab(&v, &m, origin.as_ref()))
        } @else {
            (security_tab(&scans, v.status == status::VALIDATING))
        }
    };
    let title = format!("{} {}", plugin.name, v.version);
    let refresh = (v.status == status::VALIDATING).then_some(REFRESH_SECONDS);
    Ok(ok(Page::new(&title)
        .refresh(refresh)
        .render(Some(&viewer), content)))
}

fn details_tab(
    v: &Version,
    m: &serde_json::Map<String, serde_json::Value>,
    origin: Option<&crate::upstream::Origin>,
) -> Markup {
    let skipped: Vec<String> = serde_json::from_str(&v.skip_rules).unwrap_or_default();
    html! {
        section.card {
            h2 { "Details" }
            p { (meta(m, "description")) }
            dl.grid {
                dt { "SHA-256" } dd { code { (v.sha256) } }
                dt { "Size" } dd { (v.size) " bytes" }
                dt { "QGIS" } dd { (v.qgis_min) " – " (v.qgis_max) }
                dt { "Uploaded" } dd { (when(v.created_at)) }
                dt { "Downloads" } dd { (v.downloads) }
                @if let Some(o) = origin {
                    dt { "Imported from" } dd { "upstream " (o.upstream) ", " (when(o.imported_at))
                        @if o.gone_upstream { " (no longer upstream)" } }
                    dt { "Fetched from" } dd { code { (o.url) } }
                    dt { "SHA-256 when fetched" } dd { code { (o.sha256) } }
                }
                dt { "Rules skipped at upload" } dd { @if skipped.is_empty() { "none" } @else { (skipped.join(", ")) } }
            }
            h3 { "metadata.txt" }
            div.scroll {
                table {
                    tbody {
                        @for (k, value) in m {
                            tr { th { (k) } td.pre { (value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())) } }
                        }
                    }
                }
            }
        }
    }
}

fn security_tab(scans: &[ScanRow], rescanning: bool) -> Markup {
    let Some(latest) = scans.last() else {
        return html! {
            section.card id="security" {
                h2 { "Security" }
                p { "No scan has finished yet." }
            }
        };
    };
    let report: Report = match serde_json::from_str(&latest.report) {
        Ok(r) => r,
        Err(e) => {
            return html! {
                section.card id="security" {
                    h2 { "Security" }
                    p.alert.bad { "The stored report could not be read (" (e.to_string()) ")." }
                }
            };
        }
    };
    html! {
        div id="security" {
            @if rescanning {
                p.alert.pending { "The report below is from an earlier upload of this version; the new upload's scan is still running." }
            }
            (summary_card(latest, &report))
            (stats_grid(&report))
            @if !report.errors.is_empty() {
                section.card.alert.bad {
                    h2 { "Scan errors" }
                    ul { @for e in &report.errors { li { (e.check.name()) ": " @if !e.path.is_empty() { code { (e.path) } " " } (e.message) } } }
                }
            }
            (review_card(&report))
            @for check in CHECK_ORDER { (check_card(check, &report)) }
            (suppressed_card(&report))
            (libraries_card(&report))
            (audit_card(&report))
            (history_card(scans))
        }
    }
}

fn summary_card(scan: &ScanRow, r: &Report) -> Markup {
    let configured = !r.config_files.is_empty();
    html! {
        section.card.summary id="summary" {
            h2 { "Security summary" }
            dl.grid {
                dt { "Verdict" } dd { (verdict_badge(r.verdict.as_str()))
                    @if configured { " " span.badge.warn { "configured" } } }
                dt { "Pass rate" } dd { (format!("{:.0} %", r.stats.pass_rate * 100.0)) }
                dt { "Scanned" } dd { (when(scan.created_at)) " (" (r.duration_ms) " ms)"
                    @if scan.manual != 0 { " · manual re-scan" } }
                dt { "Scanner" } dd { (r.scanner.name) " " (r.scanner.version) }
                dt { "Ruleset" } dd { code { (r.scanner.ruleset) } }
                dt { "Policy" }
                dd {
                    @if let Some(p) = &r.policy {
                        (p.name) " " (p.version) " " (outcome_badge(p.outcome))
                    } @else { "plugins.qgis.org's (any critical finding blocks; report made before policies)" }
                }
                @if configured {
                    dt { "Bundled configuration" }
                    dd { @for f in &r.config_files { code { (f) } " " } }
                }
                dt { "Skipped rules" }
                dd {
                    @if r.skipped_rules.is_empty() { "none" }
                    @for code in &r.skipped_rules { a.code href={"/docs/rules/" (code)} { (code) } " " }
                }
            }
        }
    }
}

fn stats_grid(r: &Report) -> Markup {
    let s = &r.stats;
    html! {
        section.stats id="stats" {
            div.stat { span.n { (s.checks_total) } span.l { "checks" } }
            div.stat.ok { span.n { (s.checks_passed) } span.l { "passed" } }
            div.stat.warn { span.n { (s.warnings) } span.l { "warnings" } }
            div.stat.bad { span.n { (s.critical) } span.l { "critical" } }
            div.stat { span.n { (s.files_scanned) } span.l { "files scanned" } }
        }
    }
}

fn check_card(check: Check, r: &Report) -> Markup {
    let summary = r.checks.iter().find(|c| c.id == check);
    let findings: Vec<&Finding> = r.findings.iter().filter(|f| f.check == check).collect();
    let ran = summary.is_none_or(|s| s.ran);
    let passed = summary.is_none_or(|s| s.passed);
    let state = if !ran {
        html! { span.badge.other { "not run" } }
    } else if passed {
        html! { span.badge.ok { "passed" } }
    } else {
        html! { span.badge.bad { "failed" } }
    };
    html! {
        details.card.check id={"check-" (check.id())} open[!findings.is_empty()] {
            summary {
                span.title { (check.name()) }
                " " (state) " "
                span.count { (findings.len()) " finding" @if findings.len() != 1 { "s" } }
            }
            @if findings.is_empty() {
                p.muted { @if ran { "Nothing to report." } @else { "This check did not run on this package." } }
            }
            @for f in &findings { (finding(f)) }
        }
    }
}

fn rule_name(code: &str) -> &'static str {
    catalog().get(code).map(|r| r.name).unwrap_or("")
}

fn finding(f: &Finding) -> Markup {
    html! {
        article.finding {
            header {
                (severity_badge(f.severity.as_str())) " "
                a.code href={"/docs/rules/" (f.rule)} { (f.rule) } " "
                span.rule-name { (rule_name(&f.rule)) }
                " " span.where { code { @if f.path.is_empty() { "(package)" } @else { (f.path) } @if f.line > 0 { ":" (f.line) } } }
                @if let Some(by) = f.suppressed_by { " " span.badge.other { "suppressed: " (suppressed_label(by)) } }
                @if let Some(o) = f.outcome { " " (outcome_badge(o)) }
            }
            p.message { (f.message) }
            @if let Some(because) = &f.because { p.because.muted { "Decided by policy rule " a.code href="/docs/policy" { (because) } } }
            @if !f.snippet.trim().is_empty() { (snippet(&f.snippet, f.line)) }
        }
    }
}

/// The snippet's lines, numbered from the finding's line, that line highlighted.
fn snippet(text: &str, first_line: u32) -> Markup {
    let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    html! {
        pre.snippet {
            @for (i, line) in lines.iter().enumerate() {
                @let number = first_line as usize + i;
                @let hl = i == 0 && first_line > 0;
                span class=(if hl { "line hl" } else { "line" }) {
                    @if first_line > 0 { span.ln { (number) } }
                    (line.trim_end_matches('\r'))
                }
                "\n"
            }
        }
    }
}

fn outcome_badge(o: vetted_scan::report::Outcome) -> Markup {
    let class = match o {
        vetted_scan::report::Outcome::Block => "bad",
        vetted_scan::report::Outcome::Review => "warn",
        vetted_scan::report::Outcome::Pass => "other",
    };
    html! { span class={"badge " (class)} { (o.as_str()) } }
}

/// What the approver looks at first: the policy's decisions about the version as a whole, the
/// findings it blocks on or sends to review, and the author's suppressions of such findings
/// (their claims, to be checked).
fn review_card(r: &Report) -> Markup {
    use vetted_scan::report::Outcome;
    let Some(policy) = &r.policy else {
        return html! {};
    };
    let acted: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.outcome.is_some_and(|o| o != Outcome::Pass))
        .collect();
    let claims: Vec<&Finding> = r
        .suppressed
        .iter()
        .filter(|f| f.outcome.is_some_and(|o| o != Outcome::Pass))
        .collect();
    if policy.notes.is_empty() && acted.is_empty() && claims.is_empty() {
        return html! {};
    }
    html! {
        section.card id="review" {
            h2 { "Review first" }
            p.muted { "The " (policy.name) " policy (" (policy.version) ") acts on these; everything else passes." }
            @if !policy.notes.is_empty() {
                ul {
                    @for n in &policy.notes {
                        li { (outcome_badge(n.outcome)) " " @if !n.path.is_empty() { code { (n.path) } " " } (n.message) " " span.muted { "(" (n.because) ")" } }
                    }
                }
            }
            @for f in &acted { (finding(f)) }
            @if !claims.is_empty() {
                h3 { "Author's claims (suppressed findings the policy would act on)" }
                @for f in &claims { (finding(f)) }
            }
        }
    }
}

/// Bundled third-party libraries, broken Python files and QGIS projects' credential handling.
fn libraries_card(r: &Report) -> Markup {
    if r.libraries.is_empty() && r.broken_files.is_empty() && r.qgis_projects.is_empty() {
        return html! {};
    }
    html! {
        section.card id="libraries" {
            h2 { "Libraries, broken files and projects" }
            @if !r.libraries.is_empty() {
                table {
                    thead { tr { th { "Library" } th { "Folder" } th { "Recognised by" } th { "Changed files" } } }
                    tbody {
                        @for l in &r.libraries {
                            tr {
                                td { (l.name) " " (l.version) }
                                td { code { (l.path) } }
                                td { (l.source) @if !l.verified { " (not verifiable)" } }
                                td {
                                    @if l.changed_files.is_empty() { "none (" (l.unchanged) " unchanged)" }
                                    @for c in &l.changed_files { code { (c) } " " }
                                }
                            }
                        }
                    }
                }
            }
            @if !r.broken_files.is_empty() {
                h3 { "Python files that do not compile" }
                ul { @for b in &r.broken_files { li { code { (b.path) } @if b.loaded_at_start { " — imported when the plugin starts" } } } }
            }
            @if !r.qgis_projects.is_empty() {
                h3 { "QGIS projects" }
                ul {
                    @for p in &r.qgis_projects {
                        li { code { (p.path) } ": " (p.authcfg) " authentication configuration reference(s) (authcfg), "
                            @if p.stored_passwords > 0 { span.badge.bad { (p.stored_passwords) " stored password(s)" } } @else { "no stored password" } }
                    }
                }
            }
        }
    }
}

fn suppressed_label(by: SuppressedBy) -> &'static str {
    match by {
        SuppressedBy::Nosec => "# nosec",
        SuppressedBy::Noqa => "# noqa",
        SuppressedBy::Pragma => "pragma: allowlist secret",
        SuppressedBy::Baseline => ".secrets.baseline",
        SuppressedBy::Config => "bundled config",
        SuppressedBy::Skipped => "skipped at upload",
    }
}

fn suppressed_card(r: &Report) -> Markup {
    html! {
        details.card id="suppressed" {
            summary { span.title { "Suppressed findings" } " " span.count { (r.suppressed.len()) } }
            @if r.suppressed.is_empty() { p.muted { "No finding was suppressed." } }
            @for f in &r.suppressed { (finding(f)) }
        }
    }
}

fn audit_card(r: &Report) -> Markup {
    html! {
        section.card id="audit" {
            h2 { "Audit: what this plugin can do" }
            p.muted { "Found in the code; informs review and does not change the verdict." }
            @if let Some(d) = &r.declared_capabilities {
                dl.grid {
                    dt { "Declared" } dd { @if d.declared.is_empty() { "nothing" } @for k in &d.declared { span.badge.other { (k.as_str()) } " " } }
                    dt { "Found but not declared" } dd { @if d.undeclared.is_empty() { "none" } @for k in &d.undeclared { span.badge.warn { (k.as_str()) } " " } }
                    @if !d.unknown.is_empty() {
                        dt { "Unknown declared words" } dd { (d.unknown.join(", ")) }
                    }
                }
            } @else {
                p { "The plugin declares no capabilities (" code { "capabilities=" } " in metadata.txt)." }
            }
            @if r.capabilities.is_empty() {
                p { "No capability found." }
            } @else {
                div.scroll {
                    table.capabilities {
                        thead { tr { th { "Kind" } th { "API" } th { "Evidence" } th { "Target" } } }
                        tbody {
                            @for c in &r.capabilities {
                                tr {
                                    td { span.badge.other { (c.kind.as_str()) } }
                                    td { code { (c.api) } }
                                    td { code { (c.path) ":" (c.line) } br; span.muted { code { (c.snippet) } } }
                                    td { @if let Some(t) = &c.target { code { (t) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history_card(scans: &[ScanRow]) -> Markup {
    html! {
        section.card id="history" {
            h2 { "Scan history" }
            div.scroll {
                table {
                    thead { tr { th { "When" } th { "Verdict" } th { "Kind" } th { "Scanner" } th { "Ruleset" } th { "Skipped" } th { "Config" } } }
                    tbody {
                        @for s in scans.iter().rev() {
                            @let skipped: Vec<String> = serde_json::from_str(&s.skipped_rules).unwrap_or_default();
                            @let config: Vec<String> = serde_json::from_str(&s.config_files).unwrap_or_default();
                            tr {
                                td { (when(s.created_at)) }
                                td { (verdict_badge(&s.verdict)) }
                                td { @if s.manual != 0 { "re-scan" } @else { "upload" } }
                                td { (s.scanner_version) }
                                td { code { (s.ruleset_version.chars().take(12).collect::<String>()) } }
                                td { (skipped.join(", ")) }
                                td { (config.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reads the posted form, checks its token, and finds the version.
async fn action_target(
    state: &crate::AppState,
    headers: &HeaderMap,
    package: &str,
    version: &str,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<(Principal, Plugin, Version, Fields)> {
    let viewer = Viewer::load(state, headers).await?;
    let who = viewer
        .require(&format!("/plugins/{package}/version/{version}/"))?
        .clone();
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    let plugin = api::find_plugin(state, package).await?;
    let v = api::find_version(state, &plugin, version).await?;
    Ok((who, plugin, v, fields))
}

pub async fn rescan(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (who, plugin, v, _) = action_target(&state, &headers, &package, &version, form).await?;
    api::queue_rescan(&state, &who, &plugin, &v).await?;
    Ok(Redirect::to(&version_url(&plugin, &v)).into_response())
}

pub async fn approve(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (who, plugin, v, fields) =
        action_target(&state, &headers, &package, &version, form).await?;
    let reason = fields
        .get("reason")
        .map(str::trim)
        .filter(|r| !r.is_empty());
    api::approve_version(&state, &who, &plugin, &v, reason).await?;
    Ok(Redirect::to(&version_url(&plugin, &v)).into_response())
}

pub async fn unapprove(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (who, plugin, v, _) = action_target(&state, &headers, &package, &version, form).await?;
    api::unapprove_version(&state, &who, &v).await?;
    Ok(Redirect::to(&version_url(&plugin, &v)).into_response())
}

pub async fn revoke(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (who, plugin, v, fields) =
        action_target(&state, &headers, &package, &version, form).await?;
    let reason = fields.get("reason").unwrap_or_default();
    crate::routes::upstreams::revoke_version(&state, &who, &v, reason).await?;
    Ok(Redirect::to(&version_url(&plugin, &v)).into_response())
}

pub async fn unrevoke(
    state: State,
    headers: HeaderMap,
    Path((package, version)): Path<(String, String)>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (who, plugin, v, _) = action_target(&state, &headers, &package, &version, form).await?;
    crate::routes::upstreams::unrevoke_version(&state, &who, &v).await?;
    Ok(Redirect::to(&version_url(&plugin, &v)).into_response())
}
