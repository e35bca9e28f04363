//! B704 markupsafe_markup_xss.
use crate::bandit::helpers::{CallCtx, High, Issue, Medium, is_const};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if c.qual != "markupsafe.Markup" && c.qual != "flask.Markup" {
        return None;
    }
    let first = c.args().first()?;
    if is_const(first) {
        return None;
    }
    Some(Issue::new(
        "B704",
        "markupsafe_markup_xss",
        Medium,
        High,
        79,
        format!(
            "Potential XSS with ``{}`` detected. Do not use ``{}`` on untrusted data.",
            c.qual, c.name
        ),
    ))
}
