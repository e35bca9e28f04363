//! B110 try_except_pass and B112 try_except_continue.
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::bandit::helpers::{High, Issue, Low};

pub fn check(h: &ast::ExceptHandlerExceptHandler) -> Vec<Issue> {
    let mut out = Vec::new();
    if h.body.len() != 1 {
        return out;
    }
    if let Some(t) = &h.type_ {
        let is_exception = matches!(t.as_ref(), Expr::Name(n) if n.id.as_str() == "Exception");
        if !is_exception {
            return out;
        }
    }
    match &h.body[0] {
        Stmt::Pass(_) => out.push(Issue::new(
            "B110",
            "try_except_pass",
            Low,
            High,
            703,
            "Try, Except, Pass detected.",
        )),
        Stmt::Continue(_) => out.push(Issue::new(
            "B112",
            "try_except_continue",
            Low,
            High,
            703,
            "Try, Except, Continue detected.",
        )),
        _ => {}
    }
    out
}
