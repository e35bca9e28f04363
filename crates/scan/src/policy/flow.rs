//! Data flow visible in one function: where the pieces of a command, a query or a piece of code
//! come from. Families record the answer as facts (`argument_kind`, `sink`) on their findings at
//! scan time; the policy decides from the facts, so stored reports can be re-decided.

use ruff_python_ast::{self as ast, Expr, Stmt};

/// Where the value of an argument comes from, weakest first: `combine` keeps the strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgumentKind {
    /// Only literals (strings, numbers, lists of them, joins and formats of them).
    Literal,
    /// Something this function cannot see into: an attribute, another function's result.
    Computed,
    /// A parameter of the enclosing function (the caller decides).
    Parameter,
    /// User input, network data, file contents, the environment or the command line.
    Input,
}

impl ArgumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArgumentKind::Literal => "literal",
            ArgumentKind::Computed => "computed",
            ArgumentKind::Parameter => "parameter",
            ArgumentKind::Input => "input",
        }
    }
}

/// What a flagged call does with its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// A local shell parses the string (`shell=True`, `os.system`).
    Shell,
    /// A shell on another machine runs it (paramiko's `exec_command`): not this computer.
    Remote,
    /// The string is run as Python (`exec`, `eval`).
    Code,
    /// A program is started without a shell.
    Process,
    /// An SQL query.
    Query,
}

impl Sink {
    pub fn as_str(self) -> &'static str {
        match self {
            Sink::Shell => "shell",
            Sink::Remote => "remote",
            Sink::Code => "code",
            Sink::Process => "process",
            Sink::Query => "query",
        }
    }

    /// The sink of a Bandit rule whose argument the policy weighs.
    pub fn of_rule(rule: &str) -> Option<Sink> {
        Some(match rule {
            "B602" | "B604" | "B605" | "B609" => Sink::Shell,
            "B601" => Sink::Remote,
            "B102" | "B307" => Sink::Code,
            "B603" | "B606" | "B607" => Sink::Process,
            "B608" => Sink::Query,
            _ => return None,
        })
    }
}

/// Calls whose result is user input, network data, file contents or the environment, by the
/// last part of their name.
const INPUT_CALLS: &[&str] = &[
    "input",
    "raw_input",
    "getText",
    "getMultiLineText",
    "getItem",
    "text",
    "toPlainText",
    "currentText",
    "displayText",
    "read",
    "readline",
    "readlines",
    "read_text",
    "read_bytes",
    "readAll",
    "recv",
    "urlopen",
    "getenv",
    "json",
    "content",
];

/// Names whose attributes or items are input (`sys.argv[1]`, `os.environ["X"]`, `request.args`).
const INPUT_OBJECTS: &[&str] = &["argv", "environ", "stdin", "args", "form", "params"];

/// How deep assignments are followed back through names.
const MAX_DEPTH: u32 = 4;

/// Classifies `expr` as seen from `scope` (the enclosing function, or the module body when
/// `None`).
pub fn classify(
    expr: &Expr,
    scope: Option<&ast::StmtFunctionDef>,
    module_body: &[Stmt],
) -> ArgumentKind {
    Classifier { scope, module_body }.expr(expr, 0)
}

struct Classifier<'a> {
    scope: Option<&'a ast::StmtFunctionDef>,
    module_body: &'a [Stmt],
}

fn combine<'e>(
    parts: impl IntoIterator<Item = &'e Expr>,
    mut f: impl FnMut(&'e Expr) -> ArgumentKind,
) -> ArgumentKind {
    parts
        .into_iter()
        .map(&mut f)
        .max()
        .unwrap_or(ArgumentKind::Literal)
}

impl Classifier<'_> {
    fn expr(&self, e: &Expr, depth: u32) -> ArgumentKind {
        use ArgumentKind::*;
        match e {
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_) => Literal,
            Expr::FString(f) => {
                let mut kind = Literal;
                for part in f.value.iter() {
                    if let ast::FStringPart::FString(fs) = part {
                        for el in fs.elements.iter() {
                            if let ast::InterpolatedStringElement::Interpolation(i) = el {
                                kind = kind.max(self.expr(&i.expression, depth));
                            }
                        }
                    }
                }
                kind
            }
            Expr::List(l) => combine(&l.elts, |x| self.expr(x, depth)),
            Expr::Tuple(t) => combine(&t.elts, |x| self.expr(x, depth)),
            Expr::Set(s) => combine(&s.elts, |x| self.expr(x, depth)),
            Expr::BinOp(b) => self.expr(&b.left, depth).max(self.expr(&b.right, depth)),
            Expr::If(i) => self.expr(&i.body, depth).max(self.expr(&i.orelse, depth)),
            Expr::Starred(s) => self.expr(&s.value, depth),
            Expr::Subscript(s) => {
                if is_input_object(&s.value) {
                    Input
                } else {
                    self.expr(&s.value, depth)
                }
            }
            Expr::Attribute(a) => {
                if INPUT_OBJECTS.contains(&a.attr.id.as_str()) || is_input_object(&a.value) {
                    Input
                } else {
                    Computed
                }
            }
            // Where the module itself lives: part of the package, not outside input.
            Expr::Name(n) if n.id.as_str() == "__file__" => Literal,
            Expr::Name(n) => self.name(n.id.as_str(), depth),
            Expr::Call(c) => self.call(c, depth),
            _ => Computed,
        }
    }

    fn call(&self, c: &ast::ExprCall, depth: u32) -> ArgumentKind {
        use ArgumentKind::*;
        let args = || {
            c.arguments
                .args
                .iter()
                .chain(c.arguments.keywords.iter().map(|k| &k.value))
        };
        let name = match c.func.as_ref() {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => return Computed,
        };
        if FILE_READS.contains(&name)
            && let Expr::Attribute(a) = c.func.as_ref()
            && let Some(path) = self.opened_path(&a.value)
        {
            // The package's own file, named by a relative literal path, holds the author's
            // code or data as much as a literal does; anything else may come from outside.
            return match path {
                Some(p) if self.expr(p, depth) == Literal && !is_absolute(p) => Literal,
                _ => Input,
            };
        }
        if INPUT_CALLS.contains(&name) {
            return Input;
        }
        let on_module = matches!(c.func.as_ref(), Expr::Attribute(a) if is_path_module(&a.value));
        match c.func.as_ref() {
            // `os.path.join(…)`, `shlex.quote(…)`: a module's function, as literal as its
            // arguments.
            Expr::Attribute(_) if on_module => combine(args(), |x| self.expr(x, depth)),
            // `"git {}".format(x)`, `" ".join(parts)`, `"a".replace(…)`: the receiver and the
            // arguments.
            Expr::Attribute(a)
                if matches!(
                    name,
                    "format" | "join" | "replace" | "strip" | "lower" | "upper" | "split"
                ) =>
            {
                self.expr(&a.value, depth)
                    .max(combine(args(), |x| self.expr(x, depth)))
            }
            // `os.path.join(…)`, `str(…)`, `shlex.quote(…)`: as literal as their arguments.
            _ if matches!(
                name,
                "join"
                    | "str"
                    | "abspath"
                    | "normpath"
                    | "dirname"
                    | "realpath"
                    | "quote"
                    | "list"
                    | "tuple"
            ) =>
            {
                combine(args(), |x| self.expr(x, depth))
            }
            _ => {
                // A call on input is still input (`sys.stdin.readline().strip()` is covered
                // above; `os.environ.get("X")` here).
                if let Expr::Attribute(a) = c.func.as_ref()
                    && is_input_object(&a.value)
                {
                    return Input;
                }
                Computed
            }
        }
    }

    /// For `open(P)` or a name bound by `with open(P) as name`: `Some(Some(P))`; `Some(None)`
    /// for a file opened some other way; `None` when `e` is not a file.
    fn opened_path<'e>(&'e self, e: &'e Expr) -> Option<Option<&'e Expr>> {
        match e {
            Expr::Call(c) if matches!(c.func.as_ref(), Expr::Name(n) if n.id.as_str() == "open") => {
                Some(c.arguments.args.first())
            }
            Expr::Name(n) => {
                let body = self.scope.map_or(self.module_body, |f| f.body.as_slice());
                with_open(body, n.id.as_str()).map(Some)
            }
            _ => None,
        }
    }

    fn name(&self, name: &str, depth: u32) -> ArgumentKind {
        if let Some(f) = self.scope
            && is_parameter(f, name)
        {
            return ArgumentKind::Parameter;
        }
        if depth >= MAX_DEPTH {
            return ArgumentKind::Computed;
        }
        let body = self.scope.map_or(self.module_body, |f| f.body.as_slice());
        let mut values = Vec::new();
        assignments(body, name, &mut values);
        match values {
            // Bound elsewhere (a global, a loop variable, an import): not visible here.
            v if v.is_empty() => ArgumentKind::Computed,
            v => v
                .into_iter()
                .map(|x| match x {
                    Some(e) => self.expr(e, depth + 1),
                    None => ArgumentKind::Computed,
                })
                .max()
                .unwrap_or(ArgumentKind::Computed),
        }
    }
}

/// `os`, `os.path`, `path`, `shlex`, `posixpath`, `ntpath`, `pathlib`.
fn is_path_module(e: &Expr) -> bool {
    let name = match e {
        Expr::Name(n) => n.id.as_str(),
        Expr::Attribute(a) => a.attr.id.as_str(),
        _ => return false,
    };
    matches!(
        name,
        "os" | "path" | "shlex" | "posixpath" | "ntpath" | "pathlib"
    )
}

/// Calls that read a file's contents.
const FILE_READS: &[&str] = &["read", "readline", "readlines"];

fn is_absolute(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(s) => {
            let v = s.value.to_str();
            v.starts_with('/') || v.starts_with('\\') || v.get(1..3) == Some(":\\")
        }
        Expr::Call(c) => c.arguments.args.first().is_some_and(is_absolute),
        _ => false,
    }
}

/// The path of `with open(P) as name:` in `body` (searched through compound statements).
fn with_open<'a>(body: &'a [Stmt], name: &str) -> Option<&'a Expr> {
    for stmt in body {
        let found = match stmt {
            Stmt::With(w) => w
                .items
                .iter()
                .find_map(|item| match (&item.context_expr, item.optional_vars.as_deref()) {
                    (Expr::Call(c), Some(Expr::Name(n)))
                        if n.id.as_str() == name
                            && matches!(c.func.as_ref(), Expr::Name(f) if f.id.as_str() == "open") =>
                    {
                        c.arguments.args.first()
                    }
                    _ => None,
                })
                .or_else(|| with_open(&w.body, name)),
            Stmt::If(i) => with_open(&i.body, name).or_else(|| {
                i.elif_else_clauses
                    .iter()
                    .find_map(|c| with_open(&c.body, name))
            }),
            Stmt::For(f) => with_open(&f.body, name),
            Stmt::While(w) => with_open(&w.body, name),
            Stmt::Try(t) => with_open(&t.body, name),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn is_input_object(e: &Expr) -> bool {
    match e {
        Expr::Name(n) => INPUT_OBJECTS.contains(&n.id.as_str()),
        Expr::Attribute(a) => INPUT_OBJECTS.contains(&a.attr.id.as_str()),
        _ => false,
    }
}

fn is_parameter(f: &ast::StmtFunctionDef, name: &str) -> bool {
    let p = &f.parameters;
    p.posonlyargs
        .iter()
        .chain(&p.args)
        .chain(&p.kwonlyargs)
        .any(|a| a.parameter.name.id.as_str() == name)
        || p.vararg
            .as_ref()
            .is_some_and(|a| a.name.id.as_str() == name)
        || p.kwarg.as_ref().is_some_and(|a| a.name.id.as_str() == name)
}

/// Every value bound to `name` in `body` (not inside nested functions or classes); `None` for
/// a binding whose value cannot be read (augmented assignment, loop target, `with … as`).
fn assignments<'a>(body: &'a [Stmt], name: &str, out: &mut Vec<Option<&'a Expr>>) {
    let is_name = |t: &Expr| matches!(t, Expr::Name(n) if n.id.as_str() == name);
    let binds = |t: &Expr| match t {
        Expr::Tuple(tp) => tp.elts.iter().any(is_name),
        Expr::List(l) => l.elts.iter().any(is_name),
        other => is_name(other),
    };
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if is_name(t) {
                        out.push(Some(&a.value));
                    } else if binds(t) {
                        out.push(None);
                    }
                }
            }
            Stmt::AnnAssign(a) if is_name(&a.target) => out.push(a.value.as_deref()),
            Stmt::AugAssign(a) if is_name(&a.target) => {
                // `cmd += x`: the new part counts as much as the old one.
                out.push(Some(&a.value));
            }
            Stmt::For(f) => {
                if binds(&f.target) {
                    out.push(None);
                }
                assignments(&f.body, name, out);
                assignments(&f.orelse, name, out);
            }
            Stmt::While(w) => {
                assignments(&w.body, name, out);
                assignments(&w.orelse, name, out);
            }
            Stmt::If(i) => {
                assignments(&i.body, name, out);
                for clause in &i.elif_else_clauses {
                    assignments(&clause.body, name, out);
                }
            }
            Stmt::With(w) => {
                if w.items
                    .iter()
                    .any(|item| item.optional_vars.as_deref().is_some_and(binds))
                {
                    out.push(None);
                }
                assignments(&w.body, name, out);
            }
            Stmt::Try(t) => {
                assignments(&t.body, name, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    assignments(&h.body, name, out);
                }
                assignments(&t.orelse, name, out);
                assignments(&t.finalbody, name, out);
            }
            Stmt::Import(i) if i.names.iter().any(|a| bound_name(a) == name) => out.push(None),
            Stmt::ImportFrom(i) if i.names.iter().any(|a| bound_name(a) == name) => out.push(None),
            Stmt::FunctionDef(f) if f.name.id.as_str() == name => out.push(None),
            Stmt::ClassDef(c) if c.name.id.as_str() == name => out.push(None),
            _ => {}
        }
    }
}

fn bound_name(a: &ast::Alias) -> &str {
    a.asname
        .as_ref()
        .map(|n| n.id.as_str())
        .unwrap_or_else(|| a.name.id.as_str().split('.').next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind of the first argument of the last call statement in `src`'s last function (or
    /// the module when there is none).
    fn kind_of(src: &str) -> ArgumentKind {
        let m = crate::python::load(src.as_bytes()).expect("parses");
        let body = &m.parsed.syntax().body;
        let (scope, mut stmts) = match body.last() {
            Some(Stmt::FunctionDef(f)) => (Some(f), f.body.as_slice()),
            _ => (None, body.as_slice()),
        };
        while let Some(Stmt::With(w)) = stmts.last() {
            stmts = w.body.as_slice();
        }
        let Some(Stmt::Expr(e)) = stmts.last() else {
            panic!("last statement is not a call")
        };
        let Expr::Call(c) = e.value.as_ref() else {
            panic!("not a call")
        };
        classify(&c.arguments.args[0], scope, body)
    }

    #[test]
    fn literals_through_names_and_joins_stay_literal() {
        assert_eq!(kind_of("os.system('git status')"), ArgumentKind::Literal);
        assert_eq!(
            kind_of(
                "def f():\n    cmd = ['git', 'log']\n    cmd += ['-1']\n    run(' '.join(cmd))"
            ),
            ArgumentKind::Literal
        );
        assert_eq!(
            kind_of("def f():\n    c = 'ls {}'.format('-l')\n    run(c)"),
            ArgumentKind::Literal
        );
    }

    #[test]
    fn parameters_input_and_opaque_values_are_told_apart() {
        assert_eq!(
            kind_of("def f(path):\n    run('ls ' + path)"),
            ArgumentKind::Parameter
        );
        assert_eq!(
            kind_of("def f():\n    url = input()\n    run(f'curl {url}')"),
            ArgumentKind::Input
        );
        assert_eq!(
            kind_of("def f():\n    run(urlopen(u).read())"),
            ArgumentKind::Input
        );
        assert_eq!(kind_of("run(sys.argv[1])"), ArgumentKind::Input);
        assert_eq!(
            kind_of("with open('pkg/_version.py') as fp:\n    exec(fp.read())"),
            ArgumentKind::Literal,
            "the package's own file"
        );
        assert_eq!(
            kind_of("def f(p):\n    exec(open(p).read())"),
            ArgumentKind::Input
        );
        assert_eq!(
            kind_of("exec(open('/tmp/payload.py').read())"),
            ArgumentKind::Input,
            "an absolute path is outside the package"
        );
        assert_eq!(
            kind_of("def f(self):\n    run(self.command)"),
            ArgumentKind::Computed,
            "an attribute is set elsewhere: not visible in this function"
        );
        assert_eq!(
            kind_of("def f():\n    run(helper())"),
            ArgumentKind::Computed
        );
        assert_eq!(
            kind_of("def f():\n    for c in cmds:\n        pass\n    run(c)"),
            ArgumentKind::Computed
        );
    }
}
