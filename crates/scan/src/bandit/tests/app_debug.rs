//! B201 flask_debug_true.
use crate::bandit::helpers::{CallCtx, High, Issue, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if c.imported_like("flask")
        && c.qual.ends_with(".run")
        && c.check_kw_str("debug", "True") == Some(true)
    {
        return Some(
            Issue::new(
                "B201",
                "flask_debug_true",
                High,
                Medium,
                94,
                "A Flask app appears to be run with debug=True, which exposes the Werkzeug debugger and allows the execution of arbitrary code.",
            )
            .at(c.kw_line("debug")),
        );
    }
    None
}
