//! B104 hardcoded_bind_all_interfaces.
use crate::bandit::helpers::{Issue, Medium};
use crate::bandit::visitor::StrCtx;

pub fn check(s: &StrCtx) -> Option<Issue> {
    (s.value == "0.0.0.0").then(|| {
        Issue::new(
            "B104",
            "hardcoded_bind_all_interfaces",
            Medium,
            Medium,
            605,
            "Possible binding to all interfaces.",
        )
    })
}
