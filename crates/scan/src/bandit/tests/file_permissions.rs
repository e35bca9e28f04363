//! B103 set_bad_file_permissions.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !c.name.contains("chmod") || c.args().len() != 2 {
        return None;
    }
    let Some(Lit::Int(mode)) = c.arg_at(1) else {
        return None;
    };
    let dangerous = mode & 0o2 != 0 || mode & 0o20 != 0 || mode & 0o10 != 0 || mode & 0o1 != 0;
    if !dangerous {
        return None;
    }
    let sev = if mode & 0o2 != 0 { High } else { Medium };
    let filename = c
        .arg_at(0)
        .map_or_else(|| "NOT PARSED".to_string(), |v| v.py_str());
    let octal = if mode < 0 {
        format!("-0o{:o}", -mode)
    } else {
        format!("0o{mode:o}")
    };
    Some(Issue::new(
        "B103",
        "set_bad_file_permissions",
        sev,
        High,
        732,
        format!("Chmod setting a permissive mask {octal} on file ({filename})."),
    ))
}
