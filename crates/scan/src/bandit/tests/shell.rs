//! B602–B607: the shell injection tests.
use ruff_python_ast::{Expr, Number};

use crate::bandit::helpers::{CallCtx, High, Issue, Low, Medium};

pub const SUBPROCESS: &[&str] = &[
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.run",
];
pub const SHELL: &[&str] = &[
    "os.system",
    "os.popen",
    "os.popen2",
    "os.popen3",
    "os.popen4",
    "popen2.popen2",
    "popen2.popen3",
    "popen2.popen4",
    "popen2.Popen3",
    "popen2.Popen4",
    "commands.getoutput",
    "commands.getstatusoutput",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
];
pub const NO_SHELL: &[&str] = &[
    "os.execl",
    "os.execle",
    "os.execlp",
    "os.execlpe",
    "os.execv",
    "os.execve",
    "os.execvp",
    "os.execvpe",
    "os.spawnl",
    "os.spawnle",
    "os.spawnlp",
    "os.spawnlpe",
    "os.spawnv",
    "os.spawnve",
    "os.spawnvp",
    "os.spawnvpe",
    "os.startfile",
];

/// Bandit's `has_shell`: the truth of the `shell=` keyword as Bandit judges it.
pub fn has_shell(c: &CallCtx) -> bool {
    let mut result = false;
    for k in c.keywords() {
        if k.arg.as_ref().is_none_or(|a| a.id.as_str() != "shell") {
            continue;
        }
        result = match &k.value {
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => i.as_i64() != Some(0),
                Number::Float(f) => *f != 0.0,
                Number::Complex { real, imag } => *real != 0.0 || *imag != 0.0,
            },
            Expr::BooleanLiteral(b) => b.value,
            Expr::List(l) => !l.elts.is_empty(),
            Expr::Dict(d) => !d.items.is_empty(),
            Expr::Name(n) if n.id.as_str() == "False" || n.id.as_str() == "None" => false,
            Expr::StringLiteral(s) => !s.value.is_empty(),
            Expr::BytesLiteral(b) => !b.value.is_empty(),
            Expr::NoneLiteral(_) => false,
            Expr::EllipsisLiteral(_) => true,
            _ => true,
        };
    }
    result
}

fn literal_command(c: &CallCtx) -> bool {
    matches!(c.args().first(), Some(Expr::StringLiteral(_)))
}

pub fn check_popen_shell(c: &CallCtx) -> Option<Issue> {
    if !SUBPROCESS.contains(&c.qual.as_str()) || !has_shell(c) || c.args().is_empty() {
        return None;
    }
    let issue = if literal_command(c) {
        Issue::new(
            "B602",
            "subprocess_popen_with_shell_equals_true",
            Low,
            High,
            78,
            "subprocess call with shell=True seems safe, but may be changed in the future, consider rewriting without shell",
        )
    } else {
        Issue::new(
            "B602",
            "subprocess_popen_with_shell_equals_true",
            High,
            High,
            78,
            "subprocess call with shell=True identified, security issue.",
        )
    };
    Some(issue.at(c.kw_line("shell")))
}

pub fn check_without_shell(c: &CallCtx) -> Option<Issue> {
    if !SUBPROCESS.contains(&c.qual.as_str()) || has_shell(c) {
        return None;
    }
    Some(
        Issue::new(
            "B603",
            "subprocess_without_shell_equals_true",
            Low,
            High,
            78,
            "subprocess call - check for execution of untrusted input.",
        )
        .at(c.kw_line("shell")),
    )
}

pub fn check_other_shell(c: &CallCtx) -> Option<Issue> {
    if SUBPROCESS.contains(&c.qual.as_str()) || !has_shell(c) {
        return None;
    }
    Some(
        Issue::new(
            "B604",
            "any_other_function_with_shell_equals_true",
            Medium,
            Low,
            78,
            "Function call with shell=True parameter identified, possible security issue.",
        )
        .at(c.kw_line("shell")),
    )
}

pub fn check_start_shell(c: &CallCtx) -> Option<Issue> {
    if !SHELL.contains(&c.qual.as_str()) || c.args().is_empty() {
        return None;
    }
    Some(if literal_command(c) {
        Issue::new(
            "B605",
            "start_process_with_a_shell",
            Low,
            High,
            78,
            "Starting a process with a shell: Seems safe, but may be changed in the future, consider rewriting without shell",
        )
    } else {
        Issue::new(
            "B605",
            "start_process_with_a_shell",
            High,
            High,
            78,
            "Starting a process with a shell, possible injection detected, security issue.",
        )
    })
}

pub fn check_no_shell(c: &CallCtx) -> Option<Issue> {
    NO_SHELL.contains(&c.qual.as_str()).then(|| {
        Issue::new(
            "B606",
            "start_process_with_no_shell",
            Low,
            Medium,
            78,
            "Starting a process without a shell.",
        )
    })
}

/// Bandit's `full_path_match`: a drive letter before `:`, or a leading `\`, `/` or `.`.
fn is_full_path(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some('\\' | '/' | '.') => true,
        Some(c) if c.is_ascii_alphabetic() => chars.next() == Some(':'),
        _ => false,
    }
}

pub fn check_partial_path(c: &CallCtx) -> Option<Issue> {
    if c.args().is_empty() {
        return None;
    }
    let q = c.qual.as_str();
    if !(SUBPROCESS.contains(&q) || SHELL.contains(&q) || NO_SHELL.contains(&q)) {
        return None;
    }
    let mut node = &c.args()[0];
    if let Expr::List(l) = node
        && let Some(first) = l.elts.first()
    {
        node = first;
    }
    match node {
        Expr::StringLiteral(s) if !is_full_path(s.value.to_str()) => Some(Issue::new(
            "B607",
            "start_process_with_partial_path",
            Low,
            High,
            78,
            "Starting a process with a partial executable path",
        )),
        _ => None,
    }
}
