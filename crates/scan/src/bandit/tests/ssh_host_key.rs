//! B507 ssh_no_host_key_verification.
use ruff_python_ast::Expr;

use crate::bandit::helpers::{CallCtx, High, Issue, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !(c.imported_like("paramiko") && c.name == "set_missing_host_key_policy") {
        return None;
    }
    let arg = c.args().first()?;
    let value = match arg {
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Call(call) => match call.func.as_ref() {
            Expr::Attribute(a) => Some(a.attr.id.as_str()),
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        },
        _ => None,
    };
    matches!(value, Some("AutoAddPolicy" | "WarningPolicy")).then(|| {
        Issue::new(
            "B507",
            "ssh_no_host_key_verification",
            High,
            Medium,
            295,
            "Paramiko call with policy set to automatically trust the unknown host key.",
        )
        .at(c.kw_line("set_missing_host_key_policy"))
    })
}
