//! B113 request_without_timeout.
use crate::bandit::helpers::{CallCtx, Issue, Low, Medium};

pub const HTTP_VERBS: &[&str] = &["get", "options", "head", "post", "put", "patch", "delete"];
pub const HTTPX_EXTRA: &[&str] = &["request", "stream", "Client", "AsyncClient"];

pub fn is_http_call(c: &CallCtx, root: &str) -> bool {
    (root == "requests" && HTTP_VERBS.contains(&c.name.as_str()))
        || (root == "httpx"
            && (HTTP_VERBS.contains(&c.name.as_str()) || HTTPX_EXTRA.contains(&c.name.as_str())))
}

pub fn check(c: &CallCtx) -> Option<Issue> {
    let root = c.qual.split('.').next().unwrap_or("");
    if root == "requests"
        && HTTP_VERBS.contains(&c.name.as_str())
        && c.check_kw_str("timeout", "None").is_none()
    {
        return Some(Issue::new(
            "B113",
            "request_without_timeout",
            Medium,
            Low,
            400,
            format!("Call to {root} without timeout"),
        ));
    }
    if is_http_call(c, root) && c.check_kw_str("timeout", "None") == Some(true) {
        return Some(Issue::new(
            "B113",
            "request_without_timeout",
            Medium,
            Low,
            400,
            format!("Call to {root} with timeout set to None"),
        ));
    }
    None
}
