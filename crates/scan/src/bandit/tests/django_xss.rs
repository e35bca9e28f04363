//! B703 django_mark_safe: Bandit's small data-flow check of the value given to `mark_safe`.
use ruff_python_ast::{self as ast, Expr, Operator, Stmt};
use ruff_text_size::{Ranged, TextSize};

use crate::bandit::helpers::{CallCtx, High, Issue, Medium, is_str_const};

/// A function body or the module body, with the function's positional parameters.
#[derive(Clone, Copy)]
struct Scope<'a> {
    body: &'a [Stmt],
    params: &'a [ast::ParameterWithDefault],
}

/// What an assignment found by `DeepAssignation` assigns.
enum Assigned<'a> {
    Expr(&'a Expr),
    /// A `with … as name` statement (Bandit returns the statement itself).
    With,
    Many(Vec<Assigned<'a>>),
}

struct Deep<'a> {
    var: &'a str,
}

impl<'a> Deep<'a> {
    fn in_list(&self, items: &'a [Stmt], out: &mut Vec<Assigned<'a>>) {
        for s in items {
            match self.assigned(s) {
                Some(Assigned::Many(v)) => out.extend(v),
                Some(other) => out.push(other),
                None => {}
            }
        }
    }

    fn handlers(&self, hs: &'a [ast::ExceptHandler], out: &mut Vec<Assigned<'a>>) {
        for h in hs {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            self.in_list(&h.body, out);
        }
    }

    fn many(v: Vec<Assigned<'a>>) -> Option<Assigned<'a>> {
        if v.is_empty() {
            None
        } else {
            Some(Assigned::Many(v))
        }
    }

    fn assigned(&self, node: &'a Stmt) -> Option<Assigned<'a>> {
        match node {
            Stmt::FunctionDef(f) if !f.is_async => {
                let mut v = Vec::new();
                self.in_list(&f.body, &mut v);
                Self::many(v)
            }
            Stmt::With(w) if !w.is_async => {
                let mut result = None;
                for item in &w.items {
                    let id = match item.optional_vars.as_deref() {
                        Some(Expr::Name(n)) => Some(n.id.as_str()),
                        _ => None,
                    };
                    if id == Some(self.var) {
                        result = Some(Assigned::With);
                    } else {
                        let mut v = Vec::new();
                        self.in_list(&w.body, &mut v);
                        result = Self::many(v);
                    }
                }
                result
            }
            Stmt::Try(t) => {
                let mut v = Vec::new();
                self.in_list(&t.body, &mut v);
                self.handlers(&t.handlers, &mut v);
                self.in_list(&t.orelse, &mut v);
                self.in_list(&t.finalbody, &mut v);
                Self::many(v)
            }
            Stmt::If(i) => {
                let mut v = Vec::new();
                self.in_list(&i.body, &mut v);
                // Python's `orelse` holds the elif/else clauses.
                for clause in &i.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        let _ = test;
                        self.in_list(&clause.body, &mut v);
                    } else {
                        self.in_list(&clause.body, &mut v);
                    }
                }
                Self::many(v)
            }
            Stmt::For(f) if !f.is_async => {
                let mut v = Vec::new();
                self.in_list(&f.body, &mut v);
                self.in_list(&f.orelse, &mut v);
                Self::many(v)
            }
            Stmt::While(w) => {
                let mut v = Vec::new();
                self.in_list(&w.body, &mut v);
                self.in_list(&w.orelse, &mut v);
                Self::many(v)
            }
            Stmt::AugAssign(a) => match a.target.as_ref() {
                Expr::Name(n) if n.id.as_str() == self.var => Some(Assigned::Expr(&a.value)),
                _ => None,
            },
            Stmt::Assign(a) => match a.targets.first()? {
                Expr::Name(n) if n.id.as_str() == self.var => Some(Assigned::Expr(&a.value)),
                Expr::Tuple(t) => {
                    let Expr::Tuple(values) = a.value.as_ref() else {
                        return None;
                    };
                    for (pos, e) in t.elts.iter().enumerate() {
                        // Bandit reads `.id` of every target; anything else stops its test.
                        let Expr::Name(n) = e else { return None };
                        if n.id.as_str() == self.var {
                            return values.elts.get(pos).map(Assigned::Expr);
                        }
                    }
                    None
                }
                _ => None,
            },
            _ => None,
        }
    }
}

fn line_of(src_offset: TextSize, ctx: &CallCtx) -> u32 {
    (ctx.line_of)(src_offset)
}

thread_local! {
    /// Steps left for one `mark_safe` call's analysis (bounded on hostile input).
    static STEPS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Takes one step of the budget; `false` when it is spent.
fn step() -> bool {
    STEPS.with(|s| {
        let left = s.get();
        s.set(left.saturating_sub(1));
        left > 0
    })
}

fn evaluate_var(var: &str, scope: Scope, until: u32, ctx: &CallCtx, depth: usize) -> bool {
    if depth > 50 || !step() {
        return false;
    }
    if scope
        .params
        .iter()
        .any(|p| p.parameter.name.id.as_str() == var)
    {
        return false;
    }
    let deep = Deep { var };
    let mut secure = false;
    for node in scope.body {
        if !step() {
            return false;
        }
        let node_line = line_of(node.start(), ctx);
        if node_line >= until {
            break;
        }
        let Some(to) = deep.assigned(node) else {
            continue;
        };
        match to {
            Assigned::Expr(e) if is_str_const(e) => secure = true,
            Assigned::Expr(Expr::Name(n)) => {
                secure = evaluate_var(
                    n.id.as_str(),
                    scope,
                    line_of(n.start(), ctx),
                    ctx,
                    depth + 1,
                );
            }
            Assigned::Expr(Expr::Call(call)) => secure = evaluate_call(call, scope, ctx, depth + 1),
            Assigned::Many(items) => {
                let total = items.len();
                let mut num_secure = 0;
                for item in &items {
                    match item {
                        Assigned::Expr(e) if is_str_const(e) => num_secure += 1,
                        Assigned::Expr(Expr::Name(n)) => {
                            if evaluate_var(n.id.as_str(), scope, node_line, ctx, depth + 1) {
                                num_secure += 1;
                            } else {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                if num_secure == total {
                    secure = true;
                } else {
                    return false;
                }
            }
            _ => return false,
        }
    }
    secure
}

/// `'...'.format(...)` with only safe arguments (Bandit's `evaluate_call`).
fn evaluate_call(call: &ast::ExprCall, scope: Scope, ctx: &CallCtx, depth: usize) -> bool {
    let Expr::Attribute(a) = call.func.as_ref() else {
        return false;
    };
    let is_const = crate::bandit::helpers::is_const(&a.value);
    if !(is_const && a.attr.id.as_str() == "format" && call.arguments.keywords.is_empty()) {
        return false;
    }
    evaluate_args(
        call.arguments.args.iter().collect(),
        line_of(call.start(), ctx),
        scope,
        ctx,
        depth,
    )
}

fn evaluate_args(
    mut args: Vec<&Expr>,
    call_line: u32,
    scope: Scope,
    ctx: &CallCtx,
    depth: usize,
) -> bool {
    if depth > 50 {
        return false;
    }
    let mut num_secure = 0;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        match arg {
            e if is_str_const(e) => num_secure += 1,
            Expr::Name(n) => {
                if evaluate_var(n.id.as_str(), scope, call_line, ctx, depth + 1) {
                    num_secure += 1;
                } else {
                    break;
                }
            }
            Expr::Call(c) => {
                if evaluate_call(c, scope, ctx, depth + 1) {
                    num_secure += 1;
                } else {
                    break;
                }
            }
            Expr::Starred(s) if matches!(s.value.as_ref(), Expr::List(_) | Expr::Tuple(_)) => {
                match s.value.as_ref() {
                    Expr::List(l) => args.extend(l.elts.iter()),
                    Expr::Tuple(t) => args.extend(t.elts.iter()),
                    _ => {}
                }
                num_secure += 1;
            }
            _ => break,
        }
        i += 1;
    }
    num_secure == args.len()
}

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !c.imported_like("django.utils.safestring") {
        return None;
    }
    if ![
        "mark_safe",
        "SafeText",
        "SafeUnicode",
        "SafeString",
        "SafeBytes",
    ]
    .contains(&c.name.as_str())
    {
        return None;
    }
    let xss = c.args().first()?;
    STEPS.with(|s| s.set(100_000));
    if is_str_const(xss) {
        return None;
    }
    let scope = match c.enclosing_fn {
        Some(f) => Scope {
            body: &f.body,
            params: &f.parameters.args,
        },
        None => Scope {
            body: c.module_body,
            params: &[],
        },
    };
    let secure = match xss {
        Expr::Name(n) => {
            let is_param = scope
                .params
                .iter()
                .any(|p| p.parameter.name.id.as_str() == n.id.as_str());
            !is_param && evaluate_var(n.id.as_str(), scope, c.line, c, 0)
        }
        Expr::Call(call) => evaluate_call(call, scope, c, 0),
        Expr::BinOp(b) if b.op == Operator::Mod && is_str_const(&b.left) => {
            let args: Vec<&Expr> = match b.right.as_ref() {
                Expr::Tuple(t) => t.elts.iter().collect(),
                other => vec![other],
            };
            evaluate_args(args, line_of(b.start(), c), scope, c, 0)
        }
        _ => false,
    };
    (!secure).then(|| {
        Issue::new(
            "B703",
            "django_mark_safe",
            Medium,
            High,
            80,
            "Potential XSS on mark_safe function.",
        )
    })
}
