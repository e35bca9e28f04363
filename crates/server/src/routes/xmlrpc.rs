//! XML-RPC at `/plugins/RPC2/`, as plugins.qgis.org serves it to `qgis-plugin-ci` and scripts:
//! `plugin.upload(base64 package[, auto_approve])` with HTTP Basic auth answers
//! `[plugin_id, version_id]` and skips every enabled skippable rule; `plugin.tags()`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use dxr::{Fault, FaultResponse, MethodCall, MethodResponse, Value};

use super::State;
use crate::AppState;
use crate::auth::{self, AuthError};
use crate::upload::{self, UploadError, UploadRequest};

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r
}

fn fault(code: i32, message: impl Into<String>) -> Response {
    let body = FaultResponse {
        fault: Fault::new(code, message.into()),
    }
    .to_xml()
    .unwrap_or_default();
    xml(StatusCode::OK, body)
}

fn unauthorized(message: &str) -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, message.to_string()).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Vetted\""),
    );
    r
}

pub async fn handle(state: State, headers: HeaderMap, body: String) -> Response {
    // dxr's parse error echoes the whole body; answer with a short message instead.
    let call = match MethodCall::from_xml(&body) {
        Ok(call) => call,
        Err(_) => return fault(-32700, "parse error: not a valid XML-RPC method call"),
    };
    match call.name.as_ref() {
        "plugin.upload" => plugin_upload(&state, &headers, &call.params).await,
        "plugin.tags" => match tags(&state).await {
            Ok(v) => success(v),
            Err(e) => {
                tracing::error!("plugin.tags: {e:#}");
                fault(-32500, "internal error")
            }
        },
        other => fault(-32601, format!("method {other:?} is not supported")),
    }
}

fn success(value: Value) -> Response {
    match (MethodResponse { value }).to_xml() {
        Ok(body) => xml(StatusCode::OK, body),
        Err(e) => fault(-32500, format!("cannot encode the answer: {e}")),
    }
}

async fn plugin_upload(state: &AppState, headers: &HeaderMap, params: &[Value]) -> Response {
    let principal = match auth::authenticate(state, headers).await {
        Ok(Some(p)) if p.token_plugin.is_none() => p,
        Ok(_) => return unauthorized("plugin.upload needs HTTP Basic authentication"),
        Err(AuthError::Invalid(m)) => return unauthorized(m),
        Err(AuthError::Limited(r)) => return r.response(headers),
        Err(AuthError::Internal(e)) => {
            tracing::error!("authenticating an XML-RPC call: {e:#}");
            return fault(-32500, "internal error");
        }
    };
    let bytes = match params.first() {
        Some(Value::Base64(b)) => b.clone(),
        // Some clients send the base64 text as a plain string.
        Some(Value::String(s)) => {
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact) {
                Ok(b) => b,
                Err(_) => {
                    return fault(
                        1,
                        format!(
                            "{}\nThe package parameter is not base64.",
                            upload::INVALID_PACKAGE
                        ),
                    );
                }
            }
        }
        _ => {
            return fault(
                1,
                format!(
                    "{}\nplugin.upload expects the plugin ZIP as its first (base64) parameter.",
                    upload::INVALID_PACKAGE
                ),
            );
        }
    };
    let auto_approve = match params.get(1) {
        Some(Value::Boolean(b)) => *b,
        Some(Value::Integer(i)) => *i != 0,
        Some(Value::String(s)) => upload::is_true(s),
        _ => false,
    };
    let request = UploadRequest {
        principal,
        expected_package: None,
        expected_version: None,
        bytes,
        skip: Vec::new(),
        skip_all_skippable: true,
        publish_immediately: auto_approve,
        may_create_plugin: true,
    };
    match upload::accept(state, request).await {
        Ok(a) => match (i32::try_from(a.plugin.id), i32::try_from(a.version.id)) {
            (Ok(p), Ok(v)) => success(Value::Array(vec![Value::Integer(p), Value::Integer(v)])),
            _ => fault(-32500, "identifier out of XML-RPC integer range"),
        },
        Err(e) => {
            let message = e.message();
            let code = match e {
                UploadError::Invalid(_) => 1,
                UploadError::Forbidden(_) => 403,
                UploadError::NotFound(_) => 404,
                UploadError::Conflict(_) => 409,
                UploadError::Unavailable(_) => 503,
                UploadError::Internal(e) => {
                    tracing::error!("XML-RPC upload: {e:#}");
                    -32500
                }
            };
            fault(code, message)
        }
    }
}

/// Tags of the published versions, sorted and without duplicates.
async fn tags(state: &AppState) -> anyhow::Result<Value> {
    let mut tags: Vec<String> = Vec::new();
    for v in state.db.public_versions().await? {
        let meta: serde_json::Value = serde_json::from_str(&v.metadata).unwrap_or_default();
        if let Some(t) = meta.get("tags").and_then(|t| t.as_str()) {
            tags.extend(
                t.split(',')
                    .map(|s| s.trim().to_lowercase())
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    tags.sort();
    tags.dedup();
    Ok(Value::Array(tags.into_iter().map(Value::String).collect()))
}
