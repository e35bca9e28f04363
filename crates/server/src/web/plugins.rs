//! The plugin list (search by name, tag and author, filter by status) and a plugin's page (its
//! description from the latest metadata and its versions with their status).

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::page::{Page, WebResult, approval_badge, external_link, ok, status_badge, when};
use super::viewer::Viewer;
use crate::AppState;
use crate::db::{Plugin, Version, status};
use crate::routes::State;
use crate::routes::api;
use crate::routes::plugins_xml::version_key;

/// The statuses the list can filter on; `needs_review` is the status another part adds.
const FILTER_STATUSES: [&str; 6] = [
    status::VALIDATING,
    status::VALIDATED,
    status::VALIDATED_WITH_CONFIG,
    status::BLOCKED,
    status::SCAN_ERROR,
    "needs_review",
];

/// A version's `metadata.txt` fields as stored at upload.
pub fn metadata(v: &Version) -> Map<String, Value> {
    match serde_json::from_str(&v.metadata) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

pub fn meta<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
}

/// Tags as written in metadata.txt (comma-separated).
pub fn tags(m: &Map<String, Value>) -> Vec<String> {
    meta(m, "tags")
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The highest version number among `versions`.
pub fn latest(versions: &[Version]) -> Option<&Version> {
    versions.iter().max_by_key(|v| version_key(&v.version))
}

/// The plugin's versions this viewer may see; None when it may see none.
async fn visible(state: &AppState, viewer: &Viewer, p: &Plugin) -> WebResult<Option<Vec<Version>>> {
    match api::visible_versions(state, viewer.who.as_ref(), p).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    status: String,
}

fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty() || haystack.to_lowercase().contains(&needle.to_lowercase())
}

pub async fn plugin_list(
    state: State,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let q = ListQuery {
        q: q.q.trim().to_string(),
        tag: q.tag.trim().to_string(),
        author: q.author.trim().to_string(),
        status: q.status.trim().to_string(),
    };
    let mut rows = Vec::new();
    for p in state.db.plugins().await? {
        let Some(versions) = visible(&state, &viewer, &p).await? else {
            continue;
        };
        let Some(v) = latest(&versions) else {
            continue;
        };
        let m = metadata(v);
        let plugin_tags = tags(&m);
        let matches = (contains(&p.name, &q.q) || contains(&p.package_name, &q.q))
            && (q.tag.is_empty() || plugin_tags.iter().any(|t| t.eq_ignore_ascii_case(&q.tag)))
            && contains(meta(&m, "author"), &q.author)
            && (q.status.is_empty() || v.status == q.status);
        if matches {
            rows.push((p, v.clone(), m, plugin_tags));
        }
    }
    let content = html! {
        section.card {
            h1 { "Plugins" }
            form.row.search method="get" action="/plugins/" {
                label { "Name" input type="search" name="q" value=(q.q); }
                label { "Tag" input type="text" name="tag" value=(q.tag); }
                label { "Author" input type="text" name="author" value=(q.author); }
                label { "Status"
                    select name="status" {
                        option value="" { "any" }
                        @for s in FILTER_STATUSES {
                            option value=(s) selected[q.status == s] { (s) }
                        }
                    }
                }
                button type="submit" { "Search" }
            }
        }
        @if rows.is_empty() {
            section.card { p { "No plugin matches." } }
        }
        ul.plugins {
            @for (p, v, m, plugin_tags) in &rows {
                li.card.plugin {
                    h2 { a href={"/plugins/" (p.package_name) "/"} { (p.name) } }
                    p.muted { (p.package_name) " " (v.version) " · by " (meta(m, "author")) }
                    p { (meta(m, "description")) }
                    p {
                        (status_badge(&v.status)) " "
                        @for t in plugin_tags { a.tag href={"/plugins/?tag=" (super::page::encode_query(t))} { (t) } " " }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Plugins").render(Some(&viewer), content)))
}

pub async fn plugin_page(
    state: State,
    headers: HeaderMap,
    Path(package): Path<String>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let here = format!("/plugins/{package}/");
    let hint = |e: crate::routes::ApiError| {
        super::WebError::from(e).hint_sign_in(viewer.who.is_some(), &here)
    };
    let plugin = api::find_plugin(&state, &package).await.map_err(hint)?;
    let versions = api::visible_versions(&state, viewer.who.as_ref(), &plugin)
        .await
        .map_err(hint)?;
    let Some(newest) = latest(&versions) else {
        return Err(super::WebError::not_found(format!(
            "There is no plugin {package}."
        )));
    };
    let m = metadata(newest);
    let can_upload = match &viewer.who {
        Some(p) => p.can_edit(&state.db, &plugin).await?,
        None => false,
    };
    let members = state.db.plugin_members(plugin.id).await?;
    let mut ordered: Vec<&Version> = versions.iter().collect();
    ordered.sort_by_key(|v| std::cmp::Reverse(version_key(&v.version)));
    let content = html! {
        section.card {
            h1 { (plugin.name) }
            p.muted { (plugin.package_name) " · by " (meta(&m, "author")) " · " (plugin.downloads) " downloads" }
            p.lead { (meta(&m, "description")) }
            @if !meta(&m, "about").is_empty() {
                div.about { @for para in meta(&m, "about").split("\n\n") { p { (para) } } }
            }
            p { @for t in tags(&m) { a.tag href={"/plugins/?tag=" (super::page::encode_query(&t))} { (t) } " " } }
            (links(&m))
            @if can_upload {
                p { a.button href={"/plugins/" (plugin.package_name) "/upload"} { "Upload a new version" } }
            }
        }
        section.card {
            h2 { "Versions" }
            div.scroll {
                table {
                    thead { tr { th { "Version" } th { "Status" } th { "Approval" } th { "QGIS" } th { "Uploaded" } } }
                    tbody {
                        @for v in &ordered {
                            tr {
                                td { a href={"/plugins/" (plugin.package_name) "/version/" (v.version) "/"} { (v.version) }
                                     @if v.experimental != 0 { " " span.badge.other { "experimental" } } }
                                td { (status_badge(&v.status)) }
                                td { (approval_badge(v.approved != 0)) }
                                td { (v.qgis_min) "–" (v.qgis_max) }
                                td { (when(v.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Maintainers" }
            ul { @for (name, role) in &members { li { (name) " (" (role) ")" } } }
        }
    };
    Ok(ok(Page::new(&plugin.name).render(Some(&viewer), content)))
}

fn links(m: &Map<String, Value>) -> Markup {
    let items: Vec<(&str, &str)> = [
        ("Homepage", "homepage"),
        ("Repository", "repository"),
        ("Issue tracker", "tracker"),
    ]
    .into_iter()
    .map(|(label, key)| (label, meta(m, key)))
    .filter(|(_, url)| !url.is_empty())
    .collect();
    html! {
        @if !items.is_empty() {
            ul.links { @for (label, url) in items { li { (label) ": " (external_link(url)) } } }
        }
    }
}
