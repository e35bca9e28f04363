//! B105 hardcoded_password_string, B106 hardcoded_password_funcarg,
//! B107 hardcoded_password_default.
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::bandit::helpers::{CallCtx, Issue, Low, Medium, literal};
use crate::bandit::visitor::{Node, StrCtx};

/// Bandit's `RE_CANDIDATES`, `(^W$|_W_|^W_|_W$)` over `RE_WORDS`
/// `W = (pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)`, searched with `re.IGNORECASE`.
///
/// No word holds `_`, so the four forms say together: some `_`-separated piece of the name is a
/// whole word. Python's `$` also matches before a final newline, so the last piece may end in
/// one. Matched by hand: compiling the pattern cost more than a small plugin's whole Bandit scan.
/// `candidates_as_bandits_pattern_finds_them` checks it against the pattern.
pub fn is_candidate(name: &str) -> bool {
    // Every word holds one of these; most names hold none and need no folding.
    if !crate::literal::may_contain_ci(name, &["pas", "pwd", "token", "secret"]) {
        return false;
    }
    let mut pieces = name.split('_').peekable();
    let mut folded = Vec::new();
    while let Some(piece) = pieces.next() {
        let piece = match pieces.peek() {
            None => piece.strip_suffix('\n').unwrap_or(piece),
            Some(_) => piece,
        };
        folded.clear();
        folded.extend(piece.chars().map(fold));
        if is_word(&folded) {
            return true;
        }
    }
    false
}

/// A character as `re.IGNORECASE` compares it with the words' letters: ASCII in lower case,
/// LONG S as `s` and KELVIN SIGN as `k` (the only other characters that fold to an ASCII
/// letter, `literal::FOLD_EXCEPTIONS`); anything else as a byte no word holds.
fn fold(c: char) -> u8 {
    match c {
        '\u{17F}' => b's',
        '\u{212A}' => b'k',
        c if c.is_ascii() => c.to_ascii_lowercase() as u8,
        _ => 0,
    }
}

/// One of `RE_WORDS`, whole.
fn is_word(w: &[u8]) -> bool {
    if matches!(
        w,
        b"pass" | b"passphrase" | b"pwd" | b"token" | b"secret" | b"secrete"
    ) {
        return true;
    }
    // pa s+ w o? r? d
    let Some(rest) = w.strip_prefix(b"pa") else {
        return false;
    };
    let s = rest.iter().take_while(|&&b| b == b's').count();
    s > 0 && matches!(&rest[s..], b"wd" | b"wod" | b"wrd" | b"word")
}

fn report(id: &'static str, name: &'static str, value: &str) -> Issue {
    Issue::new(
        id,
        name,
        Low,
        Medium,
        259,
        format!("Possible hardcoded password: '{value}'"),
    )
}

fn report_string(value: &str) -> Issue {
    report("B105", "hardcoded_password_string", value)
}

pub fn check_string(s: &StrCtx) -> Option<Issue> {
    // Pieces of f-strings are never direct children of these nodes.
    let node = s.node?;
    match s.parent(0)? {
        Node::Stmt(Stmt::Assign(a)) => {
            for t in &a.targets {
                match t {
                    Expr::Name(n) if is_candidate(n.id.as_str()) => {
                        return Some(report_string(s.value));
                    }
                    Expr::Attribute(at) if is_candidate(at.attr.id.as_str()) => {
                        return Some(report_string(s.value));
                    }
                    _ => {}
                }
            }
            None
        }
        Node::Expr(Expr::Dict(d)) => {
            let pos = d
                .items
                .iter()
                .position(|i| i.key.as_ref().is_some_and(|k| std::ptr::eq(k, node)))?;
            if !is_candidate(s.value) {
                return None;
            }
            let v = &d.items[pos].value;
            if crate::bandit::helpers::is_const(v) {
                return Some(report_string(&literal(v).py_str()));
            }
            None
        }
        Node::Expr(Expr::Subscript(_)) if is_candidate(s.value) => match s.parent(1)? {
            Node::Stmt(Stmt::Assign(a)) => match a.value.as_ref() {
                Expr::StringLiteral(v) => Some(report_string(v.value.to_str())),
                _ => None,
            },
            _ => None,
        },
        Node::Expr(Expr::Compare(cmp)) => {
            let name = match cmp.left.as_ref() {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.id.as_str(),
                _ => return None,
            };
            if !is_candidate(name) {
                return None;
            }
            match cmp.comparators.first() {
                Some(Expr::StringLiteral(v)) => Some(report_string(v.value.to_str())),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn check_funcarg(c: &CallCtx) -> Option<Issue> {
    for k in c.keywords() {
        if let (Expr::StringLiteral(v), Some(arg)) = (&k.value, &k.arg)
            && is_candidate(arg.id.as_str())
        {
            let line = (c.line_of)(ruff_text_size::Ranged::range(&k.value).start());
            return Some(
                report("B106", "hardcoded_password_funcarg", v.value.to_str()).at(Some(line)),
            );
        }
    }
    None
}

pub fn check_default(f: &ast::StmtFunctionDef) -> Option<Issue> {
    let p = &f.parameters;
    let defaults: Vec<&Expr> = p
        .posonlyargs
        .iter()
        .chain(p.args.iter())
        .filter_map(|a| a.default.as_deref())
        .collect();
    let missing = p.args.len().saturating_sub(defaults.len());
    let defs: Vec<Option<&Expr>> = std::iter::repeat_n(None, missing)
        .chain(defaults.into_iter().map(Some))
        .collect();
    for (param, def) in p.args.iter().zip(defs) {
        let Some(def) = def else { continue };
        if let Expr::StringLiteral(v) = def
            && is_candidate(param.parameter.name.id.as_str())
        {
            return Some(report(
                "B107",
                "hardcoded_password_default",
                v.value.to_str(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod candidate_tests {
    use super::is_candidate;

    /// The hand matcher against Bandit's pattern, compiled with the regex crate (whose `(?i)` folds
    /// as Python's does for these letters) and `$` spelled as Python reads it (`\n?\z`), over
    /// every name of up to four pieces drawn from the words' parts, separators, case variants,
    /// the folding exceptions and near misses.
    #[test]
    fn candidates_as_bandits_pattern_finds_them() {
        let words = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)";
        let end = "\\n?\\z";
        let re = regex::Regex::new(&format!(
            "(?i)(\\A{words}{end}|_{words}_|\\A{words}_|_{words}{end})"
        ))
        .unwrap();
        let parts = [
            "", "pa", "s", "ss", "w", "o", "r", "d", "pass", "phrase", "pwd", "token", "secret",
            "e", "_", "__", "P", "A", "S", "W", "\u{17F}", "\u{212A}", "K", "x", "\n", "é", "ord",
            "password", "PassWord", "passwd", "Token", "SECRETE", "pwd_",
        ];
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for n in &names {
                for p in parts {
                    next.push(format!("{n}{p}"));
                }
            }
            names = next;
        }
        let mut matched = 0;
        for n in &names {
            assert_eq!(is_candidate(n), re.is_match(n), "{n:?}");
            matched += usize::from(re.is_match(n));
        }
        // Both outcomes are exercised, many times over.
        assert!(
            matched > 10_000 && names.len() - matched > 10_000,
            "{matched}"
        );
    }
}
