//! `GET /plugins/plugins.xml?qgis=X.Y`: the feed QGIS and qgis-plugin-manager read, in
//! plugins.qgis.org's format. Per plugin, the latest approved stable and the latest approved
//! experimental version compatible with that QGIS version; never a non-downloadable version.
//! Rendered documents are cached per QGIS version and dropped whenever the database's catalog
//! generation changes (bumped by every version change and every counted download, in any
//! process), read on every request: the document is a function of the database alone, so every
//! server behind a load balancer serves the same bytes, and a change made through one shows
//! through all at once. [`MAX_AGE`] only bounds how long an entry is kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::State;
use crate::AppState;
use crate::db::{Plugin, Version};
use crate::upload::meta_flag;

/// Cached documents: the generation they were rendered at, when, and one per QGIS version;
/// and the lock one render at a time holds, so a thousand readers arriving at an empty cache
/// (a server just started, or the catalogue just changed) wait for one render instead of each
/// running their own and queueing for the database's connections.
#[derive(Default)]
pub struct Cache(Mutex<Option<CacheEntry>>, tokio::sync::Mutex<()>);

type CacheEntry = (i64, Instant, HashMap<String, String>);

pub const MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
pub struct Params {
    qgis: Option<String>,
}

pub async fn plugins_xml(state: State, Query(params): Query<Params>) -> Response {
    match cached(&state, params.qgis.as_deref()).await {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            tracing::error!("plugins.xml: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

fn lookup(state: &AppState, generation: i64, key: &str) -> Option<String> {
    let guard = state.plugins_xml_cache.0.lock().ok()?;
    let (g, at, docs) = guard.as_ref()?;
    if *g == generation && at.elapsed() < MAX_AGE {
        docs.get(key).cloned()
    } else {
        None
    }
}

async fn cached(state: &AppState, qgis: Option<&str>) -> anyhow::Result<String> {
    let key = qgis.unwrap_or("").trim().to_string();
    let generation = state.db.catalog_generation().await?;
    if let Some(doc) = lookup(state, generation, &key) {
        return Ok(doc);
    }
    let _rendering = state.plugins_xml_cache.1.lock().await;
    // Rendered by the request this one waited for?
    if let Some(doc) = lookup(state, generation, &key) {
        return Ok(doc);
    }
    let doc = render(state, qgis_version(&key)).await?;
    if let Ok(mut guard) = state.plugins_xml_cache.0.lock() {
        match guard.as_mut() {
            Some((g, at, docs)) if *g == generation && at.elapsed() < MAX_AGE => {
                docs.insert(key, doc.clone());
            }
            _ => {
                *guard = Some((
                    generation,
                    Instant::now(),
                    HashMap::from([(key, doc.clone())]),
                ))
            }
        }
    }
    Ok(doc)
}

/// `3.34` → (3, 34); anything unparsable means "no filter".
fn qgis_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next().unwrap_or("0").trim().parse().unwrap_or(0);
    Some((major, minor))
}

/// Orders versions the way people number them: numeric parts numerically, then text.
pub fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-', '+', '_'])
        .map(|part| {
            let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            (
                digits.parse().unwrap_or(0),
                part[digits.len()..].to_string(),
            )
        })
        .collect()
}

fn compatible(v: &Version, qgis: Option<(u32, u32)>) -> bool {
    let Some(q) = qgis else {
        return true;
    };
    let min = qgis_version(&v.qgis_min).unwrap_or((0, 0));
    let max = qgis_version(&v.qgis_max).unwrap_or((u32::MAX, u32::MAX));
    min <= q && q <= max
}

async fn render(state: &AppState, qgis: Option<(u32, u32)>) -> anyhow::Result<String> {
    render_for(state, qgis, &state.base_url).await
}

/// The feed for every QGIS version with download links under `base` (`vetted export`).
pub(crate) async fn render_with_base(state: &AppState, base: &str) -> anyhow::Result<String> {
    render_for(state, None, base).await
}

async fn render_for(
    state: &AppState,
    qgis: Option<(u32, u32)>,
    base: &str,
) -> anyhow::Result<String> {
    let db = &state.db;
    // (plugin, experimental) → latest version.
    let mut latest: BTreeMap<(i64, bool), Version> = BTreeMap::new();
    for v in db.public_versions().await? {
        if !v.public() || !compatible(&v, qgis) {
            continue;
        }
        let key = (v.plugin_id, v.experimental != 0);
        let newer = latest
            .get(&key)
            .is_none_or(|cur| version_key(&v.version) > version_key(&cur.version));
        if newer {
            latest.insert(key, v);
        }
    }
    let mut plugins: HashMap<i64, Plugin> = HashMap::new();
    let mut users: HashMap<i64, (String, bool)> = HashMap::new();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plugins>\n");
    for ((plugin_id, _), v) in &latest {
        if !plugins.contains_key(plugin_id)
            && let Some(p) = db.plugin_by_id(*plugin_id).await?
        {
            plugins.insert(*plugin_id, p);
        }
        let Some(plugin) = plugins.get(plugin_id) else {
            continue;
        };
        for uid in [v.uploaded_by, plugin.created_by] {
            if !users.contains_key(&uid)
                && let Some(u) = db.user_by_id(uid).await?
            {
                users.insert(uid, (u.username.clone(), u.trusted()));
            }
        }
        let uploader = users
            .get(&v.uploaded_by)
            .map(|u| u.0.clone())
            .unwrap_or_default();
        let trusted = users.get(&plugin.created_by).is_some_and(|u| u.1);
        entry(&mut out, base, plugin, v, &uploader, trusted);
    }
    out.push_str("</plugins>\n");
    Ok(out)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn cdata(s: &str) -> String {
    let clean = escape_controls(s);
    format!("<![CDATA[{}]]>", clean.replace("]]>", "]]]]><![CDATA[>"))
}

fn escape_controls(s: &str) -> String {
    s.chars()
        .filter(|&c| (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `2026-11-29T20:19:42+00:00` from Unix seconds.
pub fn iso_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn entry(
    out: &mut String,
    base: &str,
    plugin: &Plugin,
    v: &Version,
    uploader: &str,
    trusted: bool,
) {
    let meta: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&v.metadata).unwrap_or_default();
    let m = |key: &str| -> String {
        meta.get(key)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let name = match m("name") {
        n if n.is_empty() => plugin.name.clone(),
        n => n,
    };
    let p = &plugin.package_name;
    let tags: Vec<String> = m("tags")
        .split(',')
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let fields: [(&str, String); 23] = [
        ("description", cdata(&m("description"))),
        ("about", cdata(&m("about"))),
        ("trusted", py_bool(trusted).into()),
        ("qgis_minimum_version", escape(&v.qgis_min)),
        ("qgis_maximum_version", escape(&v.qgis_max)),
        ("homepage", escape(&m("homepage"))),
        ("file_name", escape(&format!("{p}.{}.zip", v.version))),
        ("icon", escape(&m("icon"))),
        ("author_name", escape(&m("author"))),
        (
            "download_url",
            escape(&format!(
                "{base}/plugins/{p}/version/{}/download/",
                v.version
            )),
        ),
        ("uploaded_by", escape(uploader)),
        ("create_date", iso_datetime(v.created_at)),
        ("update_date", iso_datetime(v.updated_at)),
        ("experimental", py_bool(v.experimental != 0).into()),
        ("deprecated", py_bool(meta_flag(&meta, "deprecated")).into()),
        ("tracker", escape(&m("tracker"))),
        ("repository", escape(&m("repository"))),
        ("tags", escape(&tags.join(","))),
        ("downloads", plugin.downloads.to_string()),
        ("average_vote", "0.0".into()),
        ("rating_votes", "0".into()),
        ("external_dependencies", escape(&m("plugin_dependencies"))),
        ("server", py_bool(meta_flag(&meta, "server")).into()),
    ];
    out.push_str(&format!(
        "<pyqgis_plugin name=\"{}\" version=\"{}\" plugin_id=\"{}\">\n",
        escape(&name),
        escape(&v.version),
        plugin.id
    ));
    for (tag, value) in fields {
        out.push_str(&format!("  <{tag}>{value}</{tag}>\n"));
    }
    out.push_str("</pyqgis_plugin>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_versions() {
        assert_eq!(iso_datetime(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_datetime(1_795_983_582), "2026-11-29T20:19:42+00:00");
        assert!(version_key("1.10.0") > version_key("1.9.2"));
        assert!(version_key("2.0") > version_key("1.99"));
        assert_eq!(qgis_version("3.34"), Some((3, 34)));
        assert_eq!(qgis_version("x"), None);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"'\u{1}"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(cdata("x]]>y"), "<![CDATA[x]]]]><![CDATA[>y]]>");
    }
}
