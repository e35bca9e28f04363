//! B108 hardcoded_tmp_directory.
use crate::bandit::helpers::{Issue, Medium};
use crate::bandit::visitor::StrCtx;

pub const TMP_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

pub fn check(s: &StrCtx) -> Option<Issue> {
    TMP_DIRS.iter().any(|d| s.value.starts_with(d)).then(|| {
        Issue::new(
            "B108",
            "hardcoded_tmp_directory",
            Medium,
            Medium,
            377,
            "Probable insecure usage of temp file/directory.",
        )
    })
}
