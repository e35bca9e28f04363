//! B612 logging_config_insecure_listen.
use crate::bandit::helpers::{CallCtx, High, Issue, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    (c.qual == "logging.config.listen" && !c.has_kw("verify")).then(|| {
        Issue::new(
            "B612",
            "logging_config_insecure_listen",
            Medium,
            High,
            94,
            "Use of insecure logging.config.listen detected.",
        )
    })
}
