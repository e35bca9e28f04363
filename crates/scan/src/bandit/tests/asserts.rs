//! B101 assert_used.
use crate::bandit::helpers::{High, Issue, Low};

pub fn check() -> Option<Issue> {
    Some(Issue::new(
        "B101",
        "assert_used",
        Low,
        High,
        703,
        "Use of assert detected. The enclosed code will be removed when compiling to optimised byte code.",
    ))
}
