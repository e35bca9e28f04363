//! B609 linux_commands_wildcard_injection.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium};
use crate::bandit::tests::shell::{SHELL, SUBPROCESS};

pub fn check(c: &CallCtx) -> Option<Issue> {
    let q = c.qual.as_str();
    if !(SHELL.contains(&q)
        || (SUBPROCESS.contains(&q) && c.check_kw_str("shell", "True") == Some(true)))
    {
        return None;
    }
    if c.args().is_empty() {
        return None;
    }
    let argument = match c.arg_at(0) {
        Some(Lit::List(items)) => items
            .iter()
            .map(|i| format!(" {}", i.py_str()))
            .collect::<String>(),
        Some(Lit::Str(s)) => s,
        _ => String::new(),
    };
    if argument.is_empty() {
        return None;
    }
    for f in ["chown", "chmod", "tar", "rsync"] {
        if argument.contains(f) && argument.contains('*') {
            return Some(
                Issue::new(
                    "B609",
                    "linux_commands_wildcard_injection",
                    High,
                    Medium,
                    155,
                    format!("Possible wildcard injection in call: {q}"),
                )
                .at(c.kw_line("shell")),
            );
        }
    }
    None
}
