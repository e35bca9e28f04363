//! B501 request_with_no_cert_validation.
use crate::bandit::helpers::{CallCtx, High, Issue};
use crate::bandit::tests::request_timeout::is_http_call;

pub fn check(c: &CallCtx) -> Option<Issue> {
    let root = c.qual.split('.').next().unwrap_or("");
    if is_http_call(c, root) && c.check_kw_str("verify", "False") == Some(true) {
        return Some(
            Issue::new(
                "B501",
                "request_with_no_cert_validation",
                High,
                High,
                295,
                format!("Call to {root} with verify=False disabling SSL certificate checks, security issue."),
            )
            .at(c.kw_line("verify")),
        );
    }
    None
}
