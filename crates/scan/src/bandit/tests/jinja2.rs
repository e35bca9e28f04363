//! B701 jinja2_autoescape_false.
use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor};
use ruff_python_ast::{self as ast, Expr};

use crate::bandit::helpers::{CallCtx, High, Issue, Medium, has_part, last_part};

const TEXT_FALSE: &str = "Using jinja2 templates with autoescape=False is dangerous and can lead to XSS. Use autoescape=True or use the select_autoescape function to mitigate XSS vulnerabilities.";
const TEXT_UNKNOWN: &str = "Using jinja2 templates with autoescape=False is dangerous and can lead to XSS. Ensure autoescape=True or use the select_autoescape function to mitigate XSS vulnerabilities.";
const TEXT_DEFAULT: &str = "By default, jinja2 sets autoescape to False. Consider using autoescape=True or use the select_autoescape function to mitigate XSS vulnerabilities.";

/// Collects every `autoescape=` keyword under the call (Bandit walks the whole call).
#[derive(Default)]
struct Keywords<'a> {
    found: Vec<&'a ast::Keyword>,
}

impl<'a> SourceOrderVisitor<'a> for Keywords<'a> {
    fn visit_keyword(&mut self, keyword: &'a ast::Keyword) {
        if keyword
            .arg
            .as_ref()
            .is_some_and(|a| a.id.as_str() == "autoescape")
        {
            self.found.push(keyword);
        }
        source_order::walk_keyword(self, keyword);
    }
}

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !(last_part(&c.qual) == "Environment" && has_part(&c.qual, "jinja2")) {
        return None;
    }
    let mut kws = Keywords::default();
    for a in c.args() {
        kws.visit_expr(a);
    }
    for k in c.keywords() {
        kws.visit_keyword(k);
    }
    // Bandit's ast.walk is breadth-first; the call's own keywords come first.
    kws.found
        .sort_by_key(|k| !c.keywords().iter().any(|own| std::ptr::eq(own, *k)));
    if let Some(k) = kws.found.first() {
        let v = &k.value;
        let is_false = matches!(v, Expr::Name(n) if n.id.as_str() == "False")
            || matches!(v, Expr::BooleanLiteral(b) if !b.value);
        if is_false {
            return Some(Issue::new(
                "B701",
                "jinja2_autoescape_false",
                High,
                High,
                94,
                TEXT_FALSE,
            ));
        }
        let is_true = matches!(v, Expr::Name(n) if n.id.as_str() == "True")
            || matches!(v, Expr::BooleanLiteral(b) if b.value);
        if is_true {
            return None;
        }
        if let Expr::Call(call) = v {
            let sel = match call.func.as_ref() {
                Expr::Attribute(a) => a.attr.id.as_str() == "select_autoescape",
                Expr::Name(n) => n.id.as_str() == "select_autoescape",
                _ => false,
            };
            if sel {
                return None;
            }
        }
        return Some(Issue::new(
            "B701",
            "jinja2_autoescape_false",
            High,
            Medium,
            94,
            TEXT_UNKNOWN,
        ));
    }
    Some(Issue::new(
        "B701",
        "jinja2_autoescape_false",
        High,
        High,
        94,
        TEXT_DEFAULT,
    ))
}
