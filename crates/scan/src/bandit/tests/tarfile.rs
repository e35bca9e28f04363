//! B202 tarfile_unsafe_members.
use ruff_python_ast::Expr;

use crate::bandit::helpers::{CallCtx, High, Issue, Low, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !(c.imported_exact("tarfile") && c.name.contains("extractall")) {
        return None;
    }
    if c.has_kw("filter") {
        let filter = c
            .keywords()
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "filter"));
        if filter.is_some_and(
            |k| matches!(&k.value, Expr::StringLiteral(s) if s.value.to_str() == "data"),
        ) {
            return None;
        }
    }
    if c.has_kw("members") {
        let members = c
            .keywords()
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "members"))?;
        return match &members.value {
            Expr::Call(call) => {
                // Bandit reads `func.id` and fails on anything but a plain name.
                let Expr::Name(n) = call.func.as_ref() else {
                    return None;
                };
                Some(Issue::new(
                    "B202",
                    "tarfile_unsafe_members",
                    Low,
                    Low,
                    22,
                    format!(
                        "Usage of tarfile.extractall(members=function(tarfile)). Make sure your function properly discards dangerous members {{'Function': '{}'}}).",
                        n.id
                    ),
                ))
            }
            other => {
                let value = match other {
                    Expr::Name(n) => format!("'{}'", n.id),
                    other => format!("<ast.{} object>", python_class(other)),
                };
                Some(Issue::new(
                    "B202",
                    "tarfile_unsafe_members",
                    Medium,
                    Medium,
                    22,
                    format!(
                        "Found tarfile.extractall(members=?) but couldn't identify the type of members. Check if the members were properly validated {{'Other': {value}}})."
                    ),
                ))
            }
        };
    }
    Some(Issue::new(
        "B202",
        "tarfile_unsafe_members",
        High,
        High,
        22,
        "tarfile.extractall used without any validation. Please check and discard dangerous members.",
    ))
}

/// The Python `ast` class name of an expression, for Bandit's texts that print a node.
fn python_class(e: &Expr) -> &'static str {
    match e {
        Expr::List(_) => "List",
        Expr::Tuple(_) => "Tuple",
        Expr::Set(_) => "Set",
        Expr::Dict(_) => "Dict",
        Expr::Attribute(_) => "Attribute",
        Expr::Subscript(_) => "Subscript",
        Expr::Call(_) => "Call",
        Expr::ListComp(_) => "ListComp",
        Expr::Generator(_) => "GeneratorExp",
        Expr::BinOp(_) => "BinOp",
        Expr::Lambda(_) => "Lambda",
        Expr::Starred(_) => "Starred",
        Expr::If(_) => "IfExp",
        Expr::BoolOp(_) => "BoolOp",
        Expr::FString(_) => "JoinedStr",
        _ => "Constant",
    }
}
