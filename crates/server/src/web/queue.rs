//! The approvers' queue: validated versions waiting for approval, oldest first.

use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

use super::page::{Page, WebError, WebResult, csrf_field, ok, status_badge, when};
use super::viewer::Viewer;
use crate::db::status;
use crate::routes::State;

pub async fn queue_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let me = viewer.require("/queue")?;
    if !me.staff() {
        return Err(WebError::forbidden(
            "Only staff approvers and admins see the approval queue.",
        ));
    }
    let mut waiting = Vec::new();
    for st in [status::VALIDATED, status::VALIDATED_WITH_CONFIG] {
        waiting.extend(
            state
                .db
                .versions_with_status(Some(st))
                .await?
                .into_iter()
                .filter(|v| v.approved == 0),
        );
    }
    waiting.sort_by_key(|v| (v.updated_at, v.id));
    let mut rows = Vec::new();
    for v in waiting {
        let Some(p) = state.db.plugin_by_id(v.plugin_id).await? else {
            continue;
        };
        let uploader = state
            .db
            .user_by_id(v.uploaded_by)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
        rows.push((p, v, uploader));
    }
    let content = html! {
        section.card {
            h1 { "Approval queue" }
            p.muted { "Versions whose security scan passed, waiting for a staff approver; oldest first." }
            @if rows.is_empty() {
                p { "Nothing is waiting." }
            } @else {
                div.scroll {
                    table id="queue" {
                        thead { tr { th { "Plugin" } th { "Version" } th { "Status" } th { "Uploaded by" } th { "Validated" } th {} } }
                        tbody {
                            @for (p, v, uploader) in &rows {
                                @let url = format!("/plugins/{}/version/{}/", p.package_name, v.version);
                                tr {
                                    td { a href={"/plugins/" (p.package_name) "/"} { (p.name) } }
                                    td { a href=(url) { (v.version) } }
                                    td { (status_badge(&v.status)) }
                                    td { (uploader) }
                                    td { (when(v.updated_at)) }
                                    td {
                                        form.inline method="post" action={(url) "approve"} {
                                            (csrf_field(&viewer))
                                            button type="submit" { "Approve" }
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
    Ok(ok(
        Page::new("Approval queue").render(Some(&viewer), content)
    ))
}
