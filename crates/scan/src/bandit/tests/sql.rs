//! B608 hardcoded_sql_expressions.
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::Expr;

use crate::bandit::helpers::{Issue, Low, Medium, called_name};
use crate::bandit::limits;
use crate::bandit::visitor::{Node, StrCtx};

static SIMPLE_SQL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?is)(select\s.*from\s|delete\s+from\s|insert\s+into\s.*values[\s(]|update\s.*set\s)",
    )
    .ok()
});

/// Bandit's `concat_string` leaves, skipping the subtree under `stop`; `false` once the
/// file's budget is spent (Bandit's own join is quadratic on long chains).
fn collect<'a>(
    node: &'a Expr,
    stop: &'a Expr,
    out: &mut Vec<&'a Expr>,
    budget: &std::cell::Cell<u64>,
) -> bool {
    if std::ptr::eq(node, stop) {
        return true;
    }
    if let Expr::BinOp(b) = node {
        for side in [b.left.as_ref(), b.right.as_ref()] {
            let left = budget.get();
            if left == 0 {
                return false;
            }
            budget.set(left - 1);
            if matches!(side, Expr::BinOp(_)) {
                if !collect(side, stop, out, budget) {
                    return false;
                }
            } else {
                out.push(side);
            }
        }
    }
    true
}

pub fn check(s: &StrCtx) -> Option<Issue> {
    let mut wrapper: Option<Node> = None;
    let mut statement = String::new();
    let mut str_replace = false;
    if let Some((_, first, joined)) = &s.joined {
        if *first {
            statement = joined.clone();
            wrapper = s.parent(1);
        }
    } else {
        let node = s.node?;
        match s.parent(0)? {
            Node::Expr(parent @ Expr::BinOp(_)) => {
                let mut depth = 0;
                let mut root = parent;
                while let Some(Node::Expr(up @ Expr::BinOp(_))) = s.parent(depth + 1) {
                    root = up;
                    depth += 1;
                }
                let mut leaves: Vec<&Expr> = vec![node];
                // Bandit's recursive join overflows Python's stack (and the test is lost)
                // when the string sits this deep below the top of its concatenation.
                let node_depth = s.parents.len() + 1;
                let root_depth = s.parents.len() - depth;
                if 2 * node_depth >= limits::MAX_SQL_JOIN_DEPTH + root_depth {
                    return None;
                }
                if !collect(root, parent, &mut leaves, s.sql_budget) {
                    return None;
                }
                let strings: Vec<&str> = leaves
                    .iter()
                    .filter_map(|e| match e {
                        Expr::StringLiteral(v) => Some(v.value.to_str()),
                        _ => None,
                    })
                    .collect();
                statement = strings.join(" ");
                wrapper = s.parent(depth + 1);
            }
            Node::Expr(Expr::Attribute(a))
                if a.attr.id.as_str() == "format" || a.attr.id.as_str() == "replace" =>
            {
                statement = s.value.to_string();
                wrapper = s.parent(2);
                str_replace = a.attr.id.as_str() == "replace";
            }
            _ => {}
        }
    }
    // Each branch of the pattern starts with one of these words.
    if !crate::literal::may_contain_ci(&statement, &["select", "delete", "insert", "update"]) {
        return None;
    }
    let re = SIMPLE_SQL.as_ref()?;
    if !re.is_match(&statement) {
        return None;
    }
    let execute = match wrapper {
        Some(Node::Expr(Expr::Call(call))) => {
            let n = called_name(call);
            n == "execute" || n == "executemany"
        }
        _ => false,
    };
    let confidence = if execute && !str_replace { Medium } else { Low };
    Some(Issue::new(
        "B608",
        "hardcoded_sql_expressions",
        Medium,
        confidence,
        89,
        "Possible SQL injection vector through string-based query construction.",
    ))
}
