//! Admin pages for curation: the upstreams (add, sync now, schedule, the last sync's report),
//! one upstream's catalogue (search, paging, allow pinned or followed with "approve validated
//! updates", disallow), the conflicts between local and upstream plugins, and the QGIS
//! configuration to deploy (`vetted qgis-config`'s INI and PyQGIS snippet, downloadable).
//! Admins only; every form carries the CSRF token; everything an upstream sent is escaped by
//! maud, and its links are shown as text unless they are http(s).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{Page, WebError, WebResult, csrf_field, encode_query, external_link, ok, when};
use super::viewer::{Fields, Viewer};
use crate::auth::Principal;
use crate::routes::State;
use crate::upstream::{self, CatalogueEntry, SyncReport, Upstream};

fn require_admin<'a>(viewer: &'a Viewer, here: &str) -> WebResult<&'a Principal> {
    let me = viewer.require(here)?;
    if !me.admin() {
        return Err(WebError::forbidden(
            "Only admins may manage upstream repositories.",
        ));
    }
    Ok(me)
}

/// Reads a posted form as an admin and checks its token.
async fn admin_form(
    state: &crate::AppState,
    headers: &HeaderMap,
    here: &str,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<(Principal, Fields)> {
    let viewer = Viewer::load(state, headers).await?;
    let me = require_admin(&viewer, here)?.clone();
    let fields = Fields::from_form(form)?;
    viewer.check_csrf(fields.csrf())?;
    Ok((me, fields))
}

async fn find(state: &crate::AppState, name: &str) -> WebResult<Upstream> {
    upstream::by_name(&state.db, name)
        .await?
        .ok_or_else(|| WebError::not_found(format!("There is no upstream named {name:?}.")))
}

fn bad_request(message: impl Into<String>) -> WebError {
    WebError::new(StatusCode::BAD_REQUEST, message)
}

fn report_line(r: &SyncReport) -> Markup {
    html! {
        @if let Some(e) = &r.error {
            span.badge.bad { "failed" } " " (e)
        } @else if r.not_modified {
            span.badge.ok { "not modified" }
        } @else {
            span.badge.ok { "ok" } " "
            (r.entries) " entries; " (r.new.len()) " new, " (r.changed.len()) " changed, "
            (r.gone.len()) " gone; " (r.imports.len()) " import(s)"
        }
        " (" (when(r.at)) @if r.scheduled { ", scheduled" } ")"
    }
}

fn interval_text(u: &Upstream, config: &crate::Config) -> String {
    match upstream::interval_of(u, config) {
        None => "not scheduled".into(),
        Some(d) => {
            let s = d.as_secs();
            let every = if s % 3600 == 0 {
                format!("{} h", s / 3600)
            } else if s % 60 == 0 {
                format!("{} min", s / 60)
            } else {
                format!("{s} s")
            };
            format!("every {every}")
        }
    }
}

/// `GET /admin/upstreams`.
pub async fn upstreams_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, "/admin/upstreams")?;
    let all = upstream::summaries(&state.db).await?;
    let content = html! {
        section.card {
            h1 { "Upstream repositories" }
            p.muted { "Other plugins.xml feeds this repository takes plugins from. Nothing is served from an upstream until an admin allows it here and its scan validates it." }
            p { a href="/admin/conflicts" { "Conflicts" } " · " a href="/admin/qgis-config" { "QGIS configuration" } }
            @if all.is_empty() {
                p { "No upstreams yet." }
            } @else {
                div.scroll {
                    table id="upstreams" {
                        thead { tr { th { "Name" } th { "Feed" } th { "Catalogue" } th { "Allowed" } th { "Schedule" } th { "Last sync" } th {} } }
                        tbody {
                            @for s in &all {
                                @let u = &s.upstream;
                                tr {
                                    td { a href={"/admin/upstreams/" (u.name)} { (u.name) } }
                                    td { code { (u.url) } }
                                    td { (s.catalogue_size) }
                                    td { (s.allowed) }
                                    td {
                                        (interval_text(u, &state.config))
                                        @if let (Some(due), Some(_)) = (upstream::next_due(u, &state.config), upstream::interval_of(u, &state.config)) { br; span.muted { "next " (when(due)) } }
                                        @if let Some(by) = &u.sync_locked_by { br; span.badge.pending { "syncing: " (by) } }
                                    }
                                    td {
                                        @match &s.last_report {
                                            Some(r) => { (report_line(r)) }
                                            None => {
                                                @match (&u.last_error, u.last_sync_at) {
                                                    (Some(e), _) => { span.badge.bad { "failed" } " " (e) }
                                                    (None, Some(t)) => { (when(t)) }
                                                    (None, None) => { span.muted { "never" } }
                                                }
                                            }
                                        }
                                    }
                                    td {
                                        form.inline method="post" action={"/admin/upstreams/" (u.name) "/sync"} {
                                            (csrf_field(&viewer))
                                            button type="submit" { "Sync now" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Add an upstream" }
            form method="post" action="/admin/upstreams" id="add-upstream" {
                (csrf_field(&viewer))
                div.row {
                    label { "Name " input type="text" name="name" required pattern="[A-Za-z0-9._-]{1,64}" placeholder="qgis-org"; }
                    label { "plugins.xml URL " input type="text" name="url" required size="60" placeholder="https://plugins.qgis.org/plugins/plugins.xml?qgis=3.40"; }
                    label { "Sync every (seconds, empty: default, 0: never) " input type="number" name="sync_interval" min="0"; }
                    button type="submit" { "Add" }
                }
            }
            p.muted { "Also: " code { "vetted upstream add NAME URL" } ". A file share export works too: " code { "file:///mnt/share/vetted/plugins.xml" } "." }
        }
    };
    Ok(ok(Page::new("Upstreams").render(Some(&viewer), content)))
}

fn parse_interval(text: &str) -> WebResult<Option<i64>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .map(Some)
        .ok_or_else(|| bad_request(format!("{t:?} is not a number of seconds (0 for never).")))
}

/// `POST /admin/upstreams`: add one.
pub async fn add(
    state: State,
    headers: HeaderMap,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let (_, fields) = admin_form(&state, &headers, "/admin/upstreams", form).await?;
    let name = fields.get("name").unwrap_or_default().trim().to_string();
    let url = fields.get("url").unwrap_or_default().trim().to_string();
    let interval = parse_interval(fields.get("sync_interval").unwrap_or_default())?;
    if upstream::by_name(&state.db, &name).await?.is_some() {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            format!("An upstream named {name:?} already exists."),
        ));
    }
    upstream::add(&state.db, &name, &url)
        .await
        .map_err(|e| bad_request(format!("{e:#}")))?;
    if interval.is_some() {
        upstream::set_interval(&state.db, &name, interval).await?;
    }
    Ok(Redirect::to(&format!("/admin/upstreams/{name}")).into_response())
}

/// `POST /admin/upstreams/<name>/sync`: sync now, then show the upstream with the report.
pub async fn sync_now(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    admin_form(&state, &headers, "/admin/upstreams", form).await?;
    let u = find(&state, &name).await?;
    upstream::sync_and_import(&state, Some(&u.name)).await?;
    Ok(Redirect::to(&format!("/admin/upstreams/{}", u.name)).into_response())
}

#[derive(Deserialize)]
pub struct CatalogueQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

const PER_PAGE: usize = 50;

fn field(e: &CatalogueEntry, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&e.fields)
        .ok()
        .and_then(|f| f.get(key).and_then(|v| v.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// `GET /admin/upstreams/<name>?q=&page=`: the catalogue with search and paging, the allowed
/// plugins, and the last sync's report.
pub async fn upstream_page(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    query: Result<Query<CatalogueQuery>, QueryRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, &format!("/admin/upstreams/{name}"))?;
    let Query(q) = query.map_err(|e| bad_request(format!("The query is not valid: {e}")))?;
    if q.q.len() > 500 {
        return Err(bad_request("The search text is limited to 500 bytes."));
    }
    let u = find(&state, &name).await?;
    let page = upstream::search(&state.db, u.id, &q.q, q.page.unwrap_or(1), PER_PAGE).await?;
    let pages = page.total.div_ceil(PER_PAGE).max(1);
    let allowed = upstream::import::allowed(&state.db, u.id).await?;
    let report = u.last_report();
    let here = format!("/admin/upstreams/{}", u.name);
    let page_link = |n: usize| format!("{here}?q={}&page={n}", encode_query(&q.q));
    let content = html! {
        section.card {
            p.muted { a href="/admin/upstreams" { "Upstreams" } }
            h1 { "Upstream " (u.name) }
            p { code { (u.url) } " · " (interval_text(&u, &state.config)) }
            form.inline method="post" action={(here) "/sync"} {
                (csrf_field(&viewer))
                button type="submit" { "Sync now" }
            }
            @if let Some(r) = &report {
                h2 { "Last sync" }
                p id="last-sync" { (report_line(r)) }
                @for (label, list) in [("New", &r.new), ("Changed", &r.changed), ("Gone", &r.gone)] {
                    @if !list.is_empty() {
                        details { summary { (label) " (" (list.len()) ")" } ul { @for i in list.iter() { li { (i) } } } }
                    }
                }
                @if !r.imports.is_empty() {
                    h3 { "Imports" }
                    ul id="imports" {
                        @for i in &r.imports {
                            li {
                                @if i.result == "queued" { span.badge.ok { (i.result) } } @else { span.badge.bad { (i.result) } }
                                " " (i.package) " " (i.version) ": " (i.detail)
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Allowed plugins" }
            @if allowed.is_empty() {
                p.muted { "None yet: allow plugins from the catalogue below." }
            } @else {
                table id="allowed" {
                    thead { tr { th { "Plugin" } th { "Mode" } th { "Approve validated updates" } th {} } }
                    tbody {
                        @for a in &allowed {
                            tr {
                                td { (a.package_name) }
                                td { @match &a.pinned_version { Some(v) => { "pinned to " (v) } None => { "followed" } } }
                                td { @if a.approve_validated != 0 { "yes" } @else { "no" } }
                                td {
                                    form.inline method="post" action={(here) "/disallow"} {
                                        (csrf_field(&viewer))
                                        input type="hidden" name="package" value=(a.package_name);
                                        button.danger type="submit" { "Disallow" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Catalogue" }
            form.row method="get" action=(here) {
                label { "Search " input type="search" name="q" value=(q.q) placeholder="name, description, tags, author"; }
                button type="submit" { "Search" }
            }
            p.muted id="result-count" { (page.total) " entries · page " (page.page) " of " (pages) }
            div.scroll {
                table id="catalogue" {
                    thead { tr { th { "Plugin" } th { "Version" } th { "Author" } th { "Description" } th { "Allow" } } }
                    tbody {
                        @for e in &page.entries {
                            @let a = allowed.iter().find(|a| a.package_name == e.package_name);
                            tr {
                                td { strong { (e.name) } br; code { (e.package_name) }
                                    @let home = field(e, "homepage");
                                    @if !home.is_empty() { br; (external_link(&home)) } }
                                td { (e.version) @if e.experimental != 0 { " " span.badge.other { "experimental" } } }
                                td { (field(e, "author_name")) }
                                td { (field(e, "description")) }
                                td {
                                    @if let Some(a) = a {
                                        span.badge.ok { @match &a.pinned_version { Some(v) => { "pinned " (v) } None => { "followed" } } }
                                        " "
                                    }
                                    form.inline method="post" action={(here) "/allow"} {
                                        (csrf_field(&viewer))
                                        input type="hidden" name="package" value=(e.package_name);
                                        input type="hidden" name="version" value=(e.version);
                                        select name="mode" aria-label="How to allow" {
                                            option value="pin" { "Pin to " (e.version) }
                                            option value="follow" { "Follow new versions" }
                                        }
                                        " "
                                        label.check { input type="checkbox" name="approve_validated"; " approve validated updates" }
                                        " "
                                        button type="submit" { "Allow" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pager {
                    @if page.page > 1 { a href=(page_link(page.page - 1)) rel="prev" { "← Previous" } " " }
                    @if page.page < pages { a href=(page_link(page.page + 1)) rel="next" { "Next →" } }
                }
            }
        }
    };
    let title = format!("Upstream {}", u.name);
    Ok(ok(Page::new(&title).render(Some(&viewer), content)))
}

/// `POST /admin/upstreams/<name>/allow`: package, version, mode (pin|follow),
/// approve_validated.
pub async fn allow(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let here = format!("/admin/upstreams/{name}");
    let (me, fields) = admin_form(&state, &headers, &here, form).await?;
    let u = find(&state, &name).await?;
    let package = fields.get("package").unwrap_or_default().trim().to_string();
    crate::routes::upstreams::check_package(&package)?;
    let pinned = match fields.get("mode").unwrap_or("pin") {
        "pin" => {
            let v = fields.get("version").unwrap_or_default().trim();
            if v.is_empty() {
                return Err(bad_request("Pinning needs a version."));
            }
            Some(v.to_string())
        }
        "follow" => None,
        other => {
            return Err(bad_request(format!(
                "Unknown mode {other:?}: pin or follow."
            )));
        }
    };
    upstream::import::allow(
        &state.db,
        &u,
        &package,
        pinned.as_deref(),
        fields.checked("approve_validated"),
        me.user.id,
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}

/// `POST /admin/upstreams/<name>/disallow`: package.
pub async fn disallow(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> WebResult<Response> {
    let here = format!("/admin/upstreams/{name}");
    let (_, fields) = admin_form(&state, &headers, &here, form).await?;
    let u = find(&state, &name).await?;
    let package = fields.get("package").unwrap_or_default();
    if !upstream::import::disallow(&state.db, &u, package).await? {
        return Err(WebError::not_found(format!(
            "{package:?} is not allowed from upstream {name:?}."
        )));
    }
    Ok(Redirect::to(&here).into_response())
}

/// `GET /admin/conflicts`.
pub async fn conflicts_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, "/admin/conflicts")?;
    let conflicts = upstream::conflicts(&state.db).await?;
    let content = html! {
        section.card {
            p.muted { a href="/admin/upstreams" { "Upstreams" } }
            h1 { "Conflicts" }
            p.muted { "A plugin here and a plugin in an upstream's catalogue share a package name. QGIS would merge them by name; Vetted never does: an allowed import of it is refused. Rename one, or stop allowing the upstream's." }
            @if conflicts.is_empty() {
                p id="no-conflicts" { "No conflicts." }
            } @else {
                table id="conflicts" {
                    thead { tr { th { "Package" } th { "Versions here from elsewhere" } th { "Upstream" } th { "Upstream versions" } th { "Allowed from it" } } }
                    tbody {
                        @for c in &conflicts {
                            tr {
                                td { a href={"/plugins/" (encode_query(&c.package_name)) "/"} { (c.package_name) } }
                                td { (c.other_versions) }
                                td { a href={"/admin/upstreams/" (c.upstream) "?q=" (encode_query(&c.package_name))} { (c.upstream) } }
                                td { (c.upstream_versions) }
                                td { @if c.allowed != 0 { span.badge.bad { "yes: imports refused" } } @else { "no" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Conflicts").render(Some(&viewer), content)))
}

#[derive(Deserialize)]
pub struct QgisQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    authcfg: Option<String>,
}

fn qgis_config(
    state: &crate::AppState,
    q: &QgisQuery,
) -> WebResult<crate::qgis_config::QgisConfig> {
    let name = q
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Vetted");
    let authcfg = q.authcfg.as_deref().unwrap_or_default().trim();
    if name.len() > 100
        || authcfg.len() > 100
        || name.chars().chain(authcfg.chars()).any(char::is_control)
    {
        return Err(bad_request(
            "The name and authcfg are single lines of at most 100 bytes.",
        ));
    }
    Ok(crate::qgis_config::QgisConfig {
        name: name.to_string(),
        base_url: state.base_url.clone(),
        authcfg: authcfg.to_string(),
    })
}

/// `GET /admin/qgis-config?name=&authcfg=`: what to deploy to users' QGIS.
pub async fn qgis_config_page(
    state: State,
    headers: HeaderMap,
    query: Result<Query<QgisQuery>, QueryRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, "/admin/qgis-config")?;
    let Query(q) = query.map_err(|e| bad_request(format!("The query is not valid: {e}")))?;
    let c = qgis_config(&state, &q)?;
    let params = format!(
        "name={}&authcfg={}",
        encode_query(&c.name),
        encode_query(&c.authcfg)
    );
    let content = html! {
        section.card {
            p.muted { a href="/admin/upstreams" { "Upstreams" } }
            h1 { "Point QGIS at this repository" }
            p { "These settings add this repository (" code { (c.feed_url()) } ") to QGIS's plugin manager and disable the official repository, so that a same-named plugin there cannot override the vetted copy." }
            form.row method="get" action="/admin/qgis-config" {
                label { "Repository name in QGIS " input type="text" name="name" value=(c.name); }
                label { "Authentication config id (optional) " input type="text" name="authcfg" value=(c.authcfg); }
                button type="submit" { "Update" }
            }
        }
        section.card {
            h2 { "For every machine: QGIS global settings" }
            p { "Deploy this file and point QGIS at it with the " code { "QGIS_GLOBAL_SETTINGS_FILE" } " environment variable (or merge it into the " code { "qgis_global_settings.ini" } " of the QGIS installation). Global settings are defaults: they apply to every profile that has not changed them. To enforce them on existing profiles, also write them into each profile's " code { "QGIS/QGIS3.ini" } "." }
            p { a.button id="download-ini" href={"/admin/qgis-config/qgis_global_settings.ini?" (params)} { "Download qgis_global_settings.ini" } }
            pre id="ini" { (c.ini()) }
        }
        section.card {
            h2 { "For one machine: PyQGIS snippet" }
            p { "Paste into QGIS's Python console (Plugins › Python Console), then restart QGIS." }
            p { a.button id="download-py" href={"/admin/qgis-config/vetted_repository.py?" (params)} { "Download vetted_repository.py" } }
            pre id="pyqgis" { (c.pyqgis()) }
        }
        section.card {
            p.muted { "The same from the command line: " code { "vetted qgis-config --base-url " (state.base_url) " [--format pyqgis]" } }
        }
    };
    Ok(ok(
        Page::new("QGIS configuration").render(Some(&viewer), content)
    ))
}

/// `GET /admin/qgis-config/<file>?name=&authcfg=`: the INI or the snippet as a download.
pub async fn qgis_config_file(
    state: State,
    headers: HeaderMap,
    Path(file): Path<String>,
    query: Result<Query<QgisQuery>, QueryRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    require_admin(&viewer, "/admin/qgis-config")?;
    let Query(q) = query.map_err(|e| bad_request(format!("The query is not valid: {e}")))?;
    let c = qgis_config(&state, &q)?;
    let (body, content_type) = match file.as_str() {
        "qgis_global_settings.ini" => (c.ini(), "text/plain; charset=utf-8"),
        "vetted_repository.py" => (c.pyqgis(), "text/x-python; charset=utf-8"),
        _ => return Err(WebError::not_found("There is no such file.")),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
