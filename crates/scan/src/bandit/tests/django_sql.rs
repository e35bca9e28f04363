//! B610 django_extra_used and B611 django_rawsql_used.
use crate::Map as HashMap;

use ruff_python_ast::Expr;

use crate::bandit::helpers::{CallCtx, Issue, Medium, is_str_const};

pub fn check_extra(c: &CallCtx) -> Option<Issue> {
    if c.name != "extra" {
        return None;
    }
    let mut kwargs: HashMap<&str, &Expr> = HashMap::default();
    for k in c.keywords() {
        if let Some(a) = &k.arg {
            kwargs.insert(a.id.as_str(), &k.value);
        }
    }
    for (i, key) in [
        "select",
        "where",
        "params",
        "tables",
        "order_by",
        "select_params",
    ]
    .iter()
    .enumerate()
    {
        if let Some(a) = c.args().get(i) {
            kwargs.insert(key, a);
        }
    }
    let mut insecure = false;
    for key in ["where", "tables"] {
        if let Some(v) = kwargs.get(key) {
            if let Expr::List(l) = v {
                if l.elts.iter().any(|e| !is_str_const(e)) {
                    insecure = true;
                    break;
                }
            } else {
                insecure = true;
                break;
            }
        }
    }
    if !insecure && let Some(sel) = kwargs.get("select") {
        if let Expr::Dict(d) = sel {
            insecure = d
                .items
                .iter()
                .any(|i| !i.key.as_ref().is_some_and(is_str_const) || !is_str_const(&i.value));
        } else {
            insecure = true;
        }
    }
    insecure.then(|| {
        Issue::new(
            "B610",
            "django_extra_used",
            Medium,
            Medium,
            89,
            "Use of extra potential SQL attack vector.",
        )
    })
}

pub fn check_rawsql(c: &CallCtx) -> Option<Issue> {
    if !c.imported_like("django.db.models") || c.name != "RawSQL" {
        return None;
    }
    let sql = match c.args().first() {
        Some(a) => a,
        None => c.kw_expr("sql")?,
    };
    (!is_str_const(sql)).then(|| {
        Issue::new(
            "B611",
            "django_rawsql_used",
            Medium,
            Medium,
            89,
            "Use of RawSQL potential SQL attack vector.",
        )
    })
}
