//! B105 hardcoded_password_string, B106 hardcoded_password_funcarg,
//! B107 hardcoded_password_default.
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::bandit::helpers::{CallCtx, Issue, Low, Medium, literal};
use crate::bandit::visitor::{Node, StrCtx};

/// Bandit's `RE_CANDIDATES` over `RE_WORDS`.
static CANDIDATES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let words = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)";
    Regex::new(&format!("(?i)(^{words}$|_{words}_|^{words}_|_{words}$)")).ok()
});

pub fn is_candidate(name: &str) -> bool {
    // Every word of the pattern holds one of these.
    crate::literal::may_contain_ci(name, &["pas", "pwd", "token", "secret"])
        && CANDIDATES.as_ref().is_some_and(|re| re.is_match(name))
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
