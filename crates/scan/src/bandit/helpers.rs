//! Shared pieces of the Bandit tests: Bandit's ratings, the issue a test returns, Python literal
//! values as Bandit's `Context` sees them, and the call context every call test receives.

use ruff_python_ast::{self as ast, Expr, Number};

/// Bandit's severity / confidence levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
        }
    }
}

pub use Level::{High, Low, Medium};

/// What a Bandit test reports.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: &'static str,
    /// Bandit's test name (`blacklist` for B3xx/B4xx, as Bandit reports it).
    pub name: &'static str,
    pub severity: Level,
    pub confidence: Level,
    pub cwe: u32,
    pub text: String,
    /// Line Bandit reports when the test overrides the node's line.
    pub line: Option<u32>,
    /// Column override (1-based char index for B613, as Bandit stores it).
    pub col: Option<u32>,
    /// Line range override (B613).
    pub line_range: Option<Vec<u32>>,
    /// Facts for the verdict policy (`argument_kind`, `sink`); never in Bandit's own output.
    pub facts: Vec<(&'static str, String)>,
}

impl Issue {
    pub fn new(
        id: &'static str,
        name: &'static str,
        severity: Level,
        confidence: Level,
        cwe: u32,
        text: impl Into<String>,
    ) -> Issue {
        Issue {
            id,
            name,
            severity,
            confidence,
            cwe,
            text: text.into(),
            line: None,
            col: None,
            line_range: None,
            facts: Vec::new(),
        }
    }

    pub fn at(mut self, line: Option<u32>) -> Issue {
        self.line = line;
        self
    }
}

/// A Python value as Bandit's `Context._get_literal_value` builds it. `None` is Python's None,
/// which Bandit returns for anything it cannot evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bytes(bool),
    Int(i128),
    Float(f64),
    Complex(bool),
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Set(Vec<Lit>),
    Dict(usize),
    Ellipsis,
    None,
}

impl Lit {
    pub fn truthy(&self) -> bool {
        match self {
            Lit::Str(s) => !s.is_empty(),
            Lit::Bytes(nonempty) | Lit::Complex(nonempty) => *nonempty,
            Lit::Int(i) => *i != 0,
            Lit::Float(f) => *f != 0.0,
            Lit::List(v) | Lit::Tuple(v) | Lit::Set(v) => !v.is_empty(),
            Lit::Dict(n) => *n > 0,
            Lit::Ellipsis => true,
            Lit::None => false,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Lit::None)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lit::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python's `==` between two values of this model.
    pub fn py_eq(&self, other: &Lit) -> bool {
        match (self, other) {
            (Lit::Int(a), Lit::Float(b)) | (Lit::Float(b), Lit::Int(a)) => (*a as f64) == *b,
            _ => self == other,
        }
    }

    /// `str(value)` as Python prints it, for issue texts.
    pub fn py_str(&self) -> String {
        match self {
            Lit::Str(s) => s.clone(),
            Lit::Int(i) => i.to_string(),
            Lit::Float(f) => format!("{f:?}"),
            Lit::None => "None".into(),
            Lit::Ellipsis => "Ellipsis".into(),
            Lit::Bytes(_) => "b''".into(),
            Lit::Complex(_) => "0j".into(),
            Lit::Dict(_) => "{}".into(),
            Lit::List(v) => format!(
                "[{}]",
                v.iter().map(Lit::py_repr).collect::<Vec<_>>().join(", ")
            ),
            Lit::Tuple(v) if v.len() == 1 => format!("({},)", v[0].py_repr()),
            Lit::Tuple(v) => format!(
                "({})",
                v.iter().map(Lit::py_repr).collect::<Vec<_>>().join(", ")
            ),
            Lit::Set(v) => format!(
                "{{{}}}",
                v.iter().map(Lit::py_repr).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    pub fn py_repr(&self) -> String {
        match self {
            Lit::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            other => other.py_str(),
        }
    }
}

/// Bandit's `_get_literal_value`.
pub fn literal(expr: &Expr) -> Lit {
    match expr {
        Expr::StringLiteral(s) => Lit::Str(s.value.to_str().to_string()),
        Expr::BytesLiteral(b) => Lit::Bytes(!b.value.is_empty()),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => Lit::Int(i.as_i64().map_or(i128::MAX, i128::from)),
            Number::Float(f) => Lit::Float(*f),
            Number::Complex { real, imag } => Lit::Complex(*real != 0.0 || *imag != 0.0),
        },
        Expr::BooleanLiteral(b) => Lit::Str(if b.value { "True" } else { "False" }.into()),
        Expr::NoneLiteral(_) => Lit::Str("None".into()),
        Expr::EllipsisLiteral(_) => Lit::Ellipsis,
        Expr::List(l) => Lit::List(l.elts.iter().map(literal).collect()),
        Expr::Tuple(t) => Lit::Tuple(t.elts.iter().map(literal).collect()),
        Expr::Set(s) => {
            let mut out: Vec<Lit> = Vec::new();
            for v in s.elts.iter().map(literal) {
                if !out.iter().any(|o| o.py_eq(&v)) {
                    out.push(v);
                }
            }
            Lit::Set(out)
        }
        Expr::Dict(d) => Lit::Dict(d.items.len()),
        Expr::Name(n) => Lit::Str(n.id.to_string()),
        _ => Lit::None,
    }
}

/// Bandit's value for a call argument: an attribute's last name, else the literal.
pub fn arg_value(expr: &Expr) -> Lit {
    match expr {
        Expr::Attribute(a) => Lit::Str(a.attr.id.to_string()),
        other => literal(other),
    }
}

/// True for a `str` constant (Python `isinstance(x, ast.Constant) and isinstance(x.value, str)`).
pub fn is_str_const(expr: &Expr) -> bool {
    matches!(expr, Expr::StringLiteral(_))
}

pub fn str_const(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str()),
        _ => None,
    }
}

/// True for any `ast.Constant` (strings, bytes, numbers, booleans, None, Ellipsis).
pub fn is_const(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
    )
}

/// Bandit's `get_call_name`.
pub fn call_name(func: &Expr, aliases: &crate::Map<String, String>) -> String {
    match func {
        Expr::Name(n) => aliases
            .get(n.id.as_str())
            .cloned()
            .unwrap_or_else(|| n.id.to_string()),
        Expr::Attribute(_) => attr_qual_name(func, aliases),
        _ => String::new(),
    }
}

/// Bandit's `_get_attr_qual_name`.
pub fn attr_qual_name(expr: &Expr, aliases: &crate::Map<String, String>) -> String {
    match expr {
        Expr::Name(n) => aliases
            .get(n.id.as_str())
            .cloned()
            .unwrap_or_else(|| n.id.to_string()),
        Expr::Attribute(a) => {
            let mut name = attr_qual_name(&a.value, aliases);
            name.push('.');
            name.push_str(a.attr.id.as_str());
            aliases.get(&name).cloned().unwrap_or(name)
        }
        _ => String::new(),
    }
}

/// Bandit's `get_qual_attr` (B503's default values).
pub fn qual_attr(expr: &Expr, aliases: &crate::Map<String, String>) -> String {
    match expr {
        Expr::Attribute(a) => {
            let prefix = match a.value.as_ref() {
                Expr::Name(n) => aliases
                    .get(n.id.as_str())
                    .cloned()
                    .unwrap_or_else(|| n.id.to_string()),
                _ => String::new(),
            };
            format!("{prefix}.{}", a.attr.id)
        }
        _ => String::new(),
    }
}

/// Bandit's `get_called_name`.
pub fn called_name(call: &ast::ExprCall) -> String {
    match call.func.as_ref() {
        Expr::Attribute(a) => a.attr.id.to_string(),
        Expr::Name(n) => n.id.to_string(),
        _ => String::new(),
    }
}

/// The context a call test sees (Bandit's `Context` for a `Call` node).
pub struct CallCtx<'a> {
    pub node: &'a ast::ExprCall,
    /// `call_function_name_qual`.
    pub qual: String,
    /// `call_function_name`.
    pub name: String,
    pub imports: &'a Imports,
    pub aliases: &'a crate::Map<String, String>,
    /// 1-based line of an offset.
    pub line_of: &'a dyn Fn(ruff_text_size::TextSize) -> u32,
    /// Node line.
    pub line: u32,
    /// The innermost enclosing (non-async) function, else the module (Bandit's B703 scope).
    pub enclosing_fn: Option<&'a ast::StmtFunctionDef>,
    pub module_body: &'a [ast::Stmt],
}

impl<'a> CallCtx<'a> {
    pub fn args(&self) -> &'a [Expr] {
        &self.node.arguments.args
    }

    pub fn keywords(&self) -> &'a [ast::Keyword] {
        &self.node.arguments.keywords
    }

    /// `call_args`.
    pub fn call_args(&self) -> Vec<Lit> {
        self.args().iter().map(arg_value).collect()
    }

    /// `name in context.call_keywords`.
    pub fn has_kw(&self, name: &str) -> bool {
        self.keywords()
            .iter()
            .any(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
    }

    /// The last keyword expression with that name.
    pub fn kw_expr(&self, name: &str) -> Option<&'a Expr> {
        self.keywords()
            .iter()
            .rev()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
            .map(|k| &k.value)
    }

    /// `get_call_arg_value`: `None` when absent, `Some(Lit::None)` when not evaluable.
    pub fn kw_value(&self, name: &str) -> Option<Lit> {
        self.kw_expr(name).map(arg_value)
    }

    /// `check_call_arg_value(name, values)`: `None` when the keyword is absent or not evaluable.
    pub fn check_kw(&self, name: &str, values: &[Lit]) -> Option<bool> {
        let v = self.kw_value(name)?;
        if v.is_none() {
            return None;
        }
        Some(values.iter().any(|x| v.py_eq(x)))
    }

    pub fn check_kw_str(&self, name: &str, value: &str) -> Option<bool> {
        self.check_kw(name, &[Lit::Str(value.into())])
    }

    /// `get_lineno_for_call_arg`: line of the keyword's value (first such keyword).
    pub fn kw_line(&self, name: &str) -> Option<u32> {
        self.keywords()
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
            .map(|k| (self.line_of)(ruff_text_size::Ranged::range(&k.value).start()))
    }

    /// `get_call_arg_at_position`.
    pub fn arg_at(&self, pos: usize) -> Option<Lit> {
        let arg = self.args().get(pos)?;
        let v = arg_value(arg);
        if v.is_none() { None } else { Some(v) }
    }

    pub fn imported_exact(&self, module: &str) -> bool {
        self.imports.exact(module)
    }

    pub fn imported_like(&self, module: &str) -> bool {
        self.imports.like(module)
    }
}

/// Whether one `.`-separated part of a qualified name is `part` (Bandit's
/// `part in qualname.split(".")`), without building the list.
pub fn has_part(qual: &str, part: &str) -> bool {
    qual.split('.').any(|p| p == part)
}

/// The last `.`-separated part of a qualified name (the whole name when it has no dot).
pub fn last_part(qual: &str) -> &str {
    qual.rsplit('.').next().unwrap_or(qual)
}

pub fn lit_str(s: &str) -> Lit {
    Lit::Str(s.to_string())
}

/// Module names seen in imports so far (Bandit's `imports` set), with the substring checks
/// the tests ask on every call answered up front.
#[derive(Default)]
pub struct Imports {
    names: crate::Set<String>,
    /// For each of `LIKE`, whether some import contains it.
    like: [bool; LIKE.len()],
}

/// The substrings Bandit's tests look for with `is_module_imported_like`.
const LIKE: &[&str] = &[
    "flask",
    "paramiko",
    "django.db.models",
    "django.utils.safestring",
    "transformers",
    "datasets",
    "huggingface_hub",
];

impl Imports {
    pub fn add(&mut self, name: String) {
        for (i, l) in LIKE.iter().enumerate() {
            self.like[i] |= name.contains(l);
        }
        self.names.insert(name);
    }

    pub fn exact(&self, module: &str) -> bool {
        self.names.contains(module)
    }

    pub fn like(&self, module: &str) -> bool {
        match LIKE.iter().position(|l| *l == module) {
            Some(i) => self.like[i],
            None => self.names.iter().any(|m| m.contains(module)),
        }
    }
}
