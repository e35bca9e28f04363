//! B601 paramiko_calls.
use crate::bandit::helpers::{CallCtx, Issue, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    (c.imported_like("paramiko") && c.name == "exec_command").then(|| {
        Issue::new(
            "B601",
            "paramiko_calls",
            Medium,
            Medium,
            78,
            "Possible shell injection via Paramiko call, check inputs are properly sanitized.",
        )
    })
}
