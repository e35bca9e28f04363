//! Multipart uploads: the token API (`/plugins/api/<package>/version/add/`, and
//! `/plugins/<package>/version/add/` with `Authorization: Token|Bearer`) and the web form's
//! handler for a signed-in session (the same path, plus `/plugins/add/` for a new plugin).

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::{ApiError, ApiResult, State, require_principal};
use crate::auth::Principal;
use crate::upload::{self, UploadRequest, is_true};

/// The fields of an upload form.
pub(crate) struct Form {
    pub package: Option<Vec<u8>>,
    pub skip: Vec<String>,
    pub publish_immediately: bool,
    /// Other text fields, in order (the web form's CSRF token and rules panel).
    pub extra: Vec<(String, String)>,
}

pub(crate) async fn read_form(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<Form> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!(
            "expected a multipart/form-data body with a `package` file field: {e}"
        ))
    })?;
    let mut form = Form {
        package: None,
        skip: Vec::new(),
        publish_immediately: false,
        extra: Vec::new(),
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::new(
                    e.status(),
                    format!("could not read the upload: {}", e.body_text()),
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let data = field.bytes().await.map_err(|e| {
            ApiError::new(
                e.status(),
                format!("could not read field {name:?}: {}", e.body_text()),
            )
        })?;
        match name.as_str() {
            "package" => form.package = Some(data.to_vec()),
            "skip_security_rules" => {
                // Repeated fields, each one code; tolerate comma-separated lists as well.
                let text = String::from_utf8_lossy(&data);
                form.skip.extend(
                    text.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                );
            }
            "publish_immediately" | "auto_approve" => {
                form.publish_immediately = is_true(&String::from_utf8_lossy(&data))
                    || String::from_utf8_lossy(&data).trim() == "on";
            }
            _ => form
                .extra
                .push((name, String::from_utf8_lossy(&data).into_owned())),
        }
    }
    Ok(form)
}

async fn upload(
    state: &crate::AppState,
    principal: Principal,
    expected: (Option<String>, Option<String>),
    form: Form,
    may_create_plugin: bool,
) -> ApiResult<impl IntoResponse + use<>> {
    let Some(bytes) = form.package else {
        return Err(ApiError::bad_request(
            "missing the `package` file field (the plugin ZIP)",
        ));
    };
    let accepted = upload::accept(
        state,
        UploadRequest {
            principal,
            expected_package: expected.0,
            expected_version: expected.1,
            bytes,
            skip: form.skip,
            skip_all_skippable: false,
            publish_immediately: form.publish_immediately,
            may_create_plugin,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(upload::accepted_json(state, &accepted)),
    ))
}

/// `POST /plugins/<package>/version/add/` and `/plugins/api/<package>/version/add/`.
pub async fn add_version(
    state: State,
    Path(package): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    let principal = require_principal(&state, &headers).await?;
    let form = read_form(multipart).await?;
    upload(&state, principal, (Some(package), None), form, false).await
}

/// `POST /plugins/api/<package>/version/<version>/update/`: the ZIP must carry that version.
pub async fn update_version(
    state: State,
    Path((package, version)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    let principal = require_principal(&state, &headers).await?;
    let plugin = state
        .db
        .plugin_by_name(&package)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no plugin {package:?}")))?;
    if state.db.version(plugin.id, &version).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "no version {version:?} of {package:?}"
        )));
    }
    let form = read_form(multipart).await?;
    upload(
        &state,
        principal,
        (Some(package), Some(version)),
        form,
        false,
    )
    .await
}

/// `POST /plugins/add/`: a new plugin's first version, from a signed-in user (not a token).
pub async fn add_plugin(
    state: State,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    let principal = require_principal(&state, &headers).await?;
    if principal.token_plugin.is_some() {
        return Err(ApiError::forbidden(
            "plugin tokens upload versions of their plugin; sign in to create a plugin",
        ));
    }
    let form = read_form(multipart).await?;
    upload(&state, principal, (None, None), form, true).await
}
