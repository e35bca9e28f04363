//! B102 exec_used.
use crate::bandit::helpers::{CallCtx, High, Issue, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    (c.qual == "exec").then(|| {
        Issue::new(
            "B102",
            "exec_used",
            Medium,
            High,
            78,
            "Use of exec detected.",
        )
    })
}
