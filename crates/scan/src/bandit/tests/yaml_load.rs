//! B506 yaml_load.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium, has_part, last_part};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !c.imported_exact("yaml") {
        return None;
    }
    let func = last_part(&c.qual);
    let safe = |name: &str| {
        c.check_kw_str("Loader", name) == Some(true) || c.arg_at(1) == Some(Lit::Str(name.into()))
    };
    if func == "load" && has_part(&c.qual, "yaml") && !safe("SafeLoader") && !safe("CSafeLoader") {
        return Some(Issue::new(
            "B506",
            "yaml_load",
            Medium,
            High,
            20,
            "Use of unsafe yaml load. Allows instantiation of arbitrary objects. Consider yaml.safe_load().",
        ));
    }
    None
}
