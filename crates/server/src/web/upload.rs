//! The upload pages (a new plugin, a new version of one): the file, the Security Rules panel —
//! every enabled rule an uploader may skip, each ticked to run; untick to skip — and "publish
//! immediately" for trusted users. The form goes through `upload::accept` like every other
//! upload, then on to the version's page, which shows the scan as it runs.

use axum::extract::Multipart;
use axum::extract::Path;
use axum::extract::multipart::MultipartRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::page::{Page, WebError, WebResult, csrf_field, html_response, severity_badge};
use super::viewer::{Fields, Viewer};
use crate::AppState;
use crate::routes::api;
use crate::routes::rest::read_form;
use crate::routes::{ApiError, State};
use crate::upload::{self, UploadRequest};
use crate::{db::Plugin, rules};

/// The rules panel's field names: one `panel_rule` per rule shown, one `run_rule` per box left
/// ticked. A rule shown and not ticked is skipped, so rules an admin adds between showing and
/// posting the form run.
const PANEL_FIELD: &str = "panel_rule";
const RUN_FIELD: &str = "run_rule";

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    plugin: Option<&Plugin>,
    error: Option<(StatusCode, String)>,
) -> WebResult<Response> {
    let me = viewer.require(&target(plugin))?;
    let settings = rules::admin_settings(&state.db).await?;
    let panel = rules::skippable_views(&settings);
    let title = match plugin {
        Some(p) => format!("Upload a new version of {}", p.name),
        None => "Upload a new plugin".to_string(),
    };
    let max_mb = state.config.max_upload_bytes / (1024 * 1024);
    let content = html! {
        section.card {
            h1 { (title) }
            @if let Some((_, message)) = &error {
                div.alert.bad id="upload-error" { @for line in message.lines() { p { (line) } } }
            }
            form method="post" action=(target(plugin)) enctype="multipart/form-data" {
                (csrf_field(viewer))
                label { "Plugin ZIP (at most " (max_mb) " MB)"
                    input type="file" name="package" accept=".zip,application/zip" required;
                }
                @if me.user.trusted() {
                    label.check { input type="checkbox" name="publish_immediately" value="on";
                        " Publish immediately (approve automatically if the scan passes)" }
                }
                details.card.rules-panel open {
                    summary {
                        span.title { "Security rules" } " "
                        span.count { output id="rules-running" { (panel.len()) } " of " (panel.len()) " skippable rules will run" }
                    }
                    p.muted { "Every rule below runs unless you untick it. Rules not listed always run. Skipped rules are recorded and shown on the version's Security tab." }
                    ul.rules-list {
                        @for r in &panel {
                            li {
                                input type="hidden" name=(PANEL_FIELD) value=(r.code);
                                label.rule {
                                    input.rule-toggle type="checkbox" name=(RUN_FIELD) value=(r.code) checked id={"run-" (r.code)};
                                    span {
                                        code.code { (r.code) } " " span.rule-name { (r.name) } " " (severity_badge(r.severity))
                                        span.desc { (first_sentence(r.description)) }
                                    }
                                }
                                a.docs href={"/docs/rules/" (r.code)} { "About " (r.code) }
                            }
                        }
                    }
                }
                button type="submit" { "Upload" }
            }
        }
    };
    let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
    Ok(html_response(
        status,
        Page::new(&title).render(Some(viewer), content),
    ))
}

fn target(plugin: Option<&Plugin>) -> String {
    match plugin {
        Some(p) => format!("/plugins/{}/upload", p.package_name),
        None => "/upload".to_string(),
    }
}

/// The first sentence of a rule description: enough for the panel, the docs have the rest.
fn first_sentence(description: &str) -> &str {
    let first = description.split("\n\n").next().unwrap_or_default();
    match first.find(". ") {
        Some(i) => &first[..=i],
        None => first,
    }
}

async fn editable_plugin(state: &AppState, viewer: &Viewer, package: &str) -> WebResult<Plugin> {
    let me = viewer.require(&format!("/plugins/{package}/upload"))?;
    let plugin = api::find_plugin(state, package).await?;
    if !me.can_edit(&state.db, &plugin).await? {
        return Err(WebError::forbidden(format!(
            "Only owners and editors of {package} may upload its versions."
        )));
    }
    Ok(plugin)
}

pub async fn new_plugin_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    form_page(&state, &viewer, None, None).await
}

pub async fn new_version_page(
    state: State,
    headers: HeaderMap,
    Path(package): Path<String>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let plugin = editable_plugin(&state, &viewer, &package).await?;
    form_page(&state, &viewer, Some(&plugin), None).await
}

pub async fn new_plugin(
    state: State,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    receive(&state, &viewer, None, multipart).await
}

pub async fn new_version(
    state: State,
    headers: HeaderMap,
    Path(package): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let plugin = editable_plugin(&state, &viewer, &package).await?;
    receive(&state, &viewer, Some(&plugin), multipart).await
}

fn too_large(state: &AppState) -> WebError {
    WebError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The file is larger than this repository accepts ({} MB at most).",
            state.config.max_upload_bytes / (1024 * 1024)
        ),
    )
}

async fn receive(
    state: &AppState,
    viewer: &Viewer,
    plugin: Option<&Plugin>,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let me = viewer.require(&target(plugin))?.clone();
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(state)),
        Err(e) => return Err(e.into()),
    };
    let fields = Fields::from_pairs(form.extra.clone());
    viewer.check_csrf(fields.csrf())?;
    let Some(bytes) = form.package.filter(|b| !b.is_empty()) else {
        let message = "Choose the plugin's ZIP file to upload.".to_string();
        return form_page(
            state,
            viewer,
            plugin,
            Some((StatusCode::BAD_REQUEST, message)),
        )
        .await;
    };
    if bytes.len() > state.config.max_upload_bytes {
        return Err(too_large(state));
    }
    let run: Vec<&str> = fields.all(RUN_FIELD).collect();
    let skip: Vec<String> = fields
        .all(PANEL_FIELD)
        .filter(|code| !run.contains(code))
        .map(str::to_string)
        .collect();
    let accepted = upload::accept(
        state,
        UploadRequest {
            principal: me,
            expected_package: plugin.map(|p| p.package_name.clone()),
            expected_version: None,
            bytes,
            skip,
            skip_all_skippable: false,
            publish_immediately: form.publish_immediately,
            may_create_plugin: plugin.is_none(),
        },
    )
    .await;
    match accepted {
        Ok(a) => Ok(Redirect::to(&format!(
            "/plugins/{}/version/{}/",
            a.plugin.package_name, a.version.version
        ))
        .into_response()),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_server_error() {
                return Err(e.into());
            }
            form_page(state, viewer, plugin, Some((e.status, e.message))).await
        }
    }
}
