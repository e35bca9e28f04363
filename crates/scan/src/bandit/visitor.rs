//! Bandit's node visitor, on ruff's AST: walks the module in Bandit's order, keeps the parent of
//! every node (Bandit's `_bandit_parent`), the imports and import aliases seen so far, and runs
//! the tests registered for each node type, recording where Bandit would report each issue.

use crate::Map as HashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_source_file::LineIndex;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::helpers::{CallCtx, Imports, Issue, call_name, last_part};
use super::{limits, tests};

/// A node on the parent stack (the Python AST node types Bandit can see as a parent).
#[derive(Clone, Copy)]
pub enum Node<'a> {
    Stmt(&'a Stmt),
    Expr(&'a Expr),
    Keyword(&'a ast::Keyword),
    Handler(&'a ast::ExceptHandler),
    /// `ast.arguments`, `ast.arg`, comprehension, withitem, match_case, FormattedValue, …
    Other(TextRange),
}

/// What a string test sees.
pub struct StrCtx<'a, 'p> {
    pub value: &'a str,
    /// The string node itself (`None` for a piece of an f-string).
    pub node: Option<&'a Expr>,
    /// For f-string pieces: the f-string (Python's `JoinedStr`) and whether this is its first
    /// constant piece.
    pub joined: Option<(&'a Expr, bool, String)>,
    /// Parents, innermost last.
    pub parents: &'p [Node<'a>],
    pub sql_budget: &'p std::cell::Cell<u64>,
}

impl<'a> StrCtx<'a, '_> {
    /// The n-th parent (0 = direct parent).
    pub fn parent(&self, n: usize) -> Option<Node<'a>> {
        let len = self.parents.len();
        if n < len {
            Some(self.parents[len - 1 - n])
        } else {
            None
        }
    }
}

/// One issue with the position Bandit gives it.
pub struct RawResult {
    pub issue: Issue,
    pub line: u32,
    pub col: u32,
    pub line_range: Vec<u32>,
    /// Python's `end_col_offset` of the node.
    pub end_col: u32,
}

/// Leaves B608 may visit per file while joining string concatenations.
const SQL_BUDGET: u64 = 5_000_000;

/// Python's AST depth (module = 0) of a node whose parents are on the stack.
fn depth_of(parents: usize) -> usize {
    parents + 1
}

pub struct Walker<'a> {
    src: &'a str,
    lines: &'a LineIndex,
    imports: Imports,
    aliases: HashMap<String, String>,
    parents: Vec<Node<'a>>,
    module_body: &'a [Stmt],
    fn_stack: Vec<&'a ast::StmtFunctionDef>,
    pub results: Vec<RawResult>,
    /// Set when the module nests deeper than Bandit's recursive visitor can go; the walk stops
    /// descending there.
    pub too_deep: bool,
    /// Work left for B608's string concatenation (quadratic on long chains in Bandit).
    pub sql_budget: std::cell::Cell<u64>,
}

impl<'a> Walker<'a> {
    pub fn new(src: &'a str, lines: &'a LineIndex, module_body: &'a [Stmt]) -> Walker<'a> {
        Walker {
            src,
            lines,
            imports: Imports::default(),
            aliases: HashMap::default(),
            parents: Vec::new(),
            module_body,
            fn_stack: Vec::new(),
            results: Vec::new(),
            too_deep: false,
            sql_budget: std::cell::Cell::new(SQL_BUDGET),
        }
    }

    pub fn run(&mut self) {
        for stmt in self.module_body {
            self.visit_stmt(stmt);
        }
    }

    fn line(&self, offset: TextSize) -> u32 {
        self.lines.line_index(offset).get() as u32
    }

    fn col(&self, offset: TextSize) -> u32 {
        let line = self.lines.line_index(offset);
        u32::from(offset - self.lines.line_start(line, self.src))
    }

    /// Python's `lineno` of a node.
    fn node_start(&self, node: Node<'a>) -> TextSize {
        match node {
            Node::Stmt(Stmt::FunctionDef(f)) => {
                // Python's FunctionDef starts at `def` (or `async`), after the decorators.
                if f.decorator_list.is_empty() {
                    f.range.start()
                } else {
                    self.def_keyword(f.name.range.start())
                }
            }
            Node::Stmt(Stmt::ClassDef(c)) => {
                if c.decorator_list.is_empty() {
                    c.range.start()
                } else {
                    self.def_keyword(c.name.range.start())
                }
            }
            Node::Stmt(s) => s.start(),
            Node::Expr(e) => e.start(),
            Node::Keyword(k) => k.start(),
            Node::Handler(h) => h.start(),
            Node::Other(r) => r.start(),
        }
    }

    /// Where Python starts a decorated definition: its `def`/`class` keyword (or `async`)
    /// before the name.
    fn def_keyword(&self, name_start: TextSize) -> TextSize {
        let bytes = self.src.as_bytes();
        let skip_space_back = |mut i: usize| {
            while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\x0c' | b'\\' | b'\n' | b'\r') {
                i -= 1;
            }
            i
        };
        let skip_word_back = |mut i: usize| {
            while i > 0 && bytes[i - 1].is_ascii_alphabetic() {
                i -= 1;
            }
            i
        };
        let name = usize::from(name_start).min(bytes.len());
        let keyword_end = skip_space_back(name);
        let keyword = skip_word_back(keyword_end);
        if !matches!(&bytes[keyword..keyword_end], b"def" | b"class") {
            return name_start;
        }
        let before = skip_space_back(keyword);
        let async_start = skip_word_back(before);
        let start = if &bytes[async_start..before] == b"async" {
            async_start
        } else {
            keyword
        };
        TextSize::try_from(start).unwrap_or(name_start)
    }

    fn node_range(&self, node: Node<'a>) -> TextRange {
        let end = match node {
            Node::Stmt(s) => s.end(),
            Node::Expr(e) => e.end(),
            Node::Keyword(k) => k.end(),
            Node::Handler(h) => h.end(),
            Node::Other(r) => r.end(),
        };
        TextRange::new(self.node_start(node), end.max(self.node_start(node)))
    }

    /// Bandit's `linerange(node)`.
    fn line_range(&self, node: Node<'a>) -> Vec<u32> {
        let r = self.node_range(node);
        let (a, b) = (self.line(r.start()), self.line(r.end()));
        (a..=b.max(a)).collect()
    }

    fn push_issue(&mut self, issue: Issue, node: Node<'a>, range_of: Node<'a>) {
        let r = self.node_range(node);
        let line = self.line(r.start());
        let col = self.col(r.start());
        let line_range = self.line_range(range_of);
        let end_col = self.col(r.end());
        self.results.push(RawResult {
            issue,
            line,
            col,
            line_range,
            end_col,
        });
    }

    fn add_import(&mut self, name: String) {
        self.imports.add(name);
    }

    fn visit_import(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    if let Some(asname) = &alias.asname {
                        self.aliases
                            .insert(asname.id.to_string(), alias.name.id.to_string());
                    }
                    self.add_import(alias.name.id.to_string());
                }
                if let Some(issue) = tests::blacklist_imports::check_import(stmt) {
                    self.push_issue(issue, Node::Stmt(stmt), Node::Stmt(stmt));
                }
            }
            Stmt::ImportFrom(imp) => {
                match &imp.module {
                    None => {
                        for alias in &imp.names {
                            if let Some(asname) = &alias.asname {
                                self.aliases
                                    .insert(asname.id.to_string(), alias.name.id.to_string());
                            }
                            self.add_import(alias.name.id.to_string());
                        }
                    }
                    Some(module) => {
                        for alias in &imp.names {
                            let full = format!("{}.{}", module.id, alias.name.id);
                            let key = alias.asname.as_ref().unwrap_or(&alias.name).id.to_string();
                            self.aliases.insert(key, full.clone());
                            self.add_import(full);
                        }
                    }
                }
                if let Some(issue) = tests::blacklist_imports::check_import(stmt) {
                    self.push_issue(issue, Node::Stmt(stmt), Node::Stmt(stmt));
                }
            }
            _ => {}
        }
    }

    fn run_call_tests(&mut self, expr: &'a Expr, call: &'a ast::ExprCall) {
        let qual = call_name(&call.func, &self.aliases);
        let name = last_part(&qual).to_string();
        let line = self.line(expr.start());
        let lines = self.lines;
        let line_of = |o: TextSize| lines.line_index(o).get() as u32;
        let ctx = CallCtx {
            node: call,
            qual,
            name,
            imports: &self.imports,
            aliases: &self.aliases,
            line_of: &line_of,
            line,
            enclosing_fn: self.fn_stack.last().copied(),
            module_body: self.module_body,
        };
        let issues = tests::run_call_tests(&ctx);
        let scope = self.fn_stack.last().copied();
        for mut issue in issues {
            if let Some(sink) = crate::policy::flow::Sink::of_rule(issue.id)
                && let Some(arg) = command_argument(call)
            {
                let kind = crate::policy::flow::classify(arg, scope, self.module_body);
                issue
                    .facts
                    .push(("argument_kind", kind.as_str().to_string()));
                issue.facts.push(("sink", sink.as_str().to_string()));
            }
            self.push_issue(issue, Node::Expr(expr), Node::Expr(expr));
        }
    }

    /// The whole expression a B608 string is part of (the concatenation, the `.format` call or
    /// the f-string), for the policy's data-flow facts.
    fn query_expression(&self) -> Option<&'a Expr> {
        let mut found: Option<&'a Expr> = None;
        for node in self.parents.iter().rev() {
            match node {
                Node::Expr(e @ (Expr::BinOp(_) | Expr::FString(_) | Expr::Attribute(_))) => {
                    found = Some(e)
                }
                Node::Expr(e @ Expr::Call(c))
                    if found.is_some_and(|f| std::ptr::eq(f, c.func.as_ref())) =>
                {
                    found = Some(e)
                }
                Node::Other(_) => continue,
                _ => break,
            }
        }
        found
    }

    fn add_query_facts(&self, issue: &mut Issue) {
        if issue.id != "B608" {
            return;
        }
        if let Some(query) = self.query_expression() {
            let scope = self.fn_stack.last().copied();
            let kind = crate::policy::flow::classify(query, scope, self.module_body);
            issue
                .facts
                .push(("argument_kind", kind.as_str().to_string()));
            issue.facts.push(("sink", "query".to_string()));
        }
    }

    fn run_str_tests(
        &mut self,
        value: &'a str,
        node: Option<&'a Expr>,
        joined: Option<(&'a Expr, bool, String)>,
        at: Node<'a>,
    ) {
        let Some(&parent) = self.parents.last() else {
            return;
        };
        if matches!(parent, Node::Stmt(Stmt::Expr(_))) {
            return;
        }
        if depth_of(self.parents.len()) >= limits::MAX_STR_DEPTH {
            self.too_deep = true;
            return;
        }
        let ctx = StrCtx {
            value,
            node,
            joined,
            parents: &self.parents,
            sql_budget: &self.sql_budget,
        };
        let issues = tests::run_str_tests(&ctx);
        for mut issue in issues {
            self.add_query_facts(&mut issue);
            self.push_issue(issue, at, parent);
        }
    }

    /// Python's `JoinedStr.values` constants: adjacent literal text merged.
    fn visit_fstring(&mut self, expr: &'a Expr, f: &'a ast::ExprFString) {
        self.parents.push(Node::Expr(expr));
        let mut pieces: Vec<String> = Vec::new();
        let mut current: Option<String> = None;
        let mut interpolations: Vec<&'a ast::InterpolatedElement> = Vec::new();
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(lit) => {
                    current.get_or_insert_with(String::new).push_str(&lit.value)
                }
                ast::FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => {
                                current.get_or_insert_with(String::new).push_str(&l.value)
                            }
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                // `{x=}`: Python puts the text `x=` in a constant before the value.
                                if let Some(debug) = &i.debug_text {
                                    current
                                        .get_or_insert_with(String::new)
                                        .push_str(debug.as_str());
                                }
                                if let Some(c) = current.take()
                                    && !c.is_empty()
                                {
                                    pieces.push(c);
                                }
                                interpolations.push(i);
                            }
                        }
                    }
                }
            }
        }
        if let Some(c) = current.take()
            && !c.is_empty()
        {
            pieces.push(c);
        }
        let statement: String = pieces.concat();
        // Bandit (on Python 3.11) sees the pieces at the f-string's own position.
        for (i, piece) in pieces.iter().enumerate() {
            let owned = piece.clone();
            self.run_owned_str(owned, expr, i == 0, statement.clone());
        }
        for i in interpolations {
            self.parents.push(Node::Other(i.range));
            self.visit_expr(&i.expression);
            self.parents.pop();
        }
        self.parents.pop();
    }

    fn run_owned_str(&mut self, value: String, fstring: &'a Expr, first: bool, statement: String) {
        if depth_of(self.parents.len()) >= limits::MAX_STR_DEPTH {
            self.too_deep = true;
            return;
        }
        // The parent of a JoinedStr piece is the JoinedStr itself (on the stack top).
        let parent = Node::Expr(fstring);
        let ctx = StrCtx {
            value: &value,
            node: None,
            joined: Some((fstring, first, statement)),
            parents: &self.parents,
            sql_budget: &self.sql_budget,
        };
        let issues = tests::run_str_tests(&ctx);
        for mut issue in issues {
            self.add_query_facts(&mut issue);
            self.push_issue(issue, Node::Expr(fstring), parent);
        }
    }

    fn function_def(&mut self, stmt: &'a Stmt, f: &'a ast::StmtFunctionDef) {
        if !f.is_async {
            let issues = tests::run_function_tests(f, &self.aliases);
            for issue in issues {
                self.push_issue(issue, Node::Stmt(stmt), Node::Stmt(stmt));
            }
        }
        self.parents.push(Node::Stmt(stmt));
        if !f.is_async {
            self.fn_stack.push(f);
        }
        if let Some(tp) = &f.type_params {
            self.visit_type_params(tp);
        }
        self.visit_parameters(&f.parameters);
        self.visit_body(&f.body);
        for d in &f.decorator_list {
            self.visit_decorator(d);
        }
        if let Some(r) = &f.returns {
            self.visit_annotation(r);
        }
        if !f.is_async {
            self.fn_stack.pop();
        }
        self.parents.pop();
    }
}

impl<'a> Visitor<'a> for Walker<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.too_deep || depth_of(self.parents.len()) >= limits::MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        match stmt {
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.visit_import(stmt),
            Stmt::Assert(_) => {
                if let Some(issue) = tests::asserts::check() {
                    self.push_issue(issue, Node::Stmt(stmt), Node::Stmt(stmt));
                }
            }
            Stmt::FunctionDef(f) => return self.function_def(stmt, f),
            Stmt::If(i) => {
                // Python nests each `elif` as an `If` in the previous one's `orelse`.
                self.parents.push(Node::Stmt(stmt));
                self.visit_expr(&i.test);
                self.visit_body(&i.body);
                let mut pushed = 0;
                for clause in &i.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        if depth_of(self.parents.len()) >= limits::MAX_DEPTH {
                            self.too_deep = true;
                            break;
                        }
                        self.parents.push(Node::Other(clause.range));
                        pushed += 1;
                        self.visit_expr(test);
                    }
                    self.visit_body(&clause.body);
                }
                for _ in 0..pushed {
                    self.parents.pop();
                }
                self.parents.pop();
                return;
            }
            Stmt::ClassDef(c) => {
                self.parents.push(Node::Stmt(stmt));
                if let Some(tp) = &c.type_params {
                    self.visit_type_params(tp);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                self.visit_body(&c.body);
                for d in &c.decorator_list {
                    self.visit_decorator(d);
                }
                self.parents.pop();
                return;
            }
            _ => {}
        }
        self.parents.push(Node::Stmt(stmt));
        visitor::walk_stmt(self, stmt);
        self.parents.pop();
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        // Names, attributes, subscripts, starred, lists and tuples have a context child
        // (`Load`, `Store`) in Python's AST, one level deeper.
        let ctx_child = matches!(
            expr,
            Expr::Name(_)
                | Expr::Attribute(_)
                | Expr::Subscript(_)
                | Expr::Starred(_)
                | Expr::List(_)
                | Expr::Tuple(_)
        );
        if self.too_deep
            || depth_of(self.parents.len()) + usize::from(ctx_child) >= limits::MAX_DEPTH
        {
            self.too_deep = true;
            return;
        }
        match expr {
            Expr::Call(call) => self.run_call_tests(expr, call),
            Expr::StringLiteral(s) => {
                self.run_str_tests(s.value.to_str(), Some(expr), None, Node::Expr(expr));
                return;
            }
            Expr::FString(f) => return self.visit_fstring(expr, f),
            _ => {}
        }
        self.parents.push(Node::Expr(expr));
        visitor::walk_expr(self, expr);
        self.parents.pop();
    }

    fn visit_keyword(&mut self, keyword: &'a ast::Keyword) {
        self.parents.push(Node::Keyword(keyword));
        visitor::walk_keyword(self, keyword);
        self.parents.pop();
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(h) = handler;
        for issue in tests::try_except::check(h) {
            self.push_issue(issue, Node::Handler(handler), Node::Handler(handler));
        }
        self.parents.push(Node::Handler(handler));
        visitor::walk_except_handler(self, handler);
        self.parents.pop();
    }

    fn visit_parameters(&mut self, parameters: &'a ast::Parameters) {
        self.parents.push(Node::Other(parameters.range));
        visitor::walk_parameters(self, parameters);
        self.parents.pop();
    }

    fn visit_parameter(&mut self, parameter: &'a ast::Parameter) {
        self.parents.push(Node::Other(parameter.range));
        visitor::walk_parameter(self, parameter);
        self.parents.pop();
    }

    fn visit_comprehension(&mut self, c: &'a ast::Comprehension) {
        self.parents.push(Node::Other(c.range));
        visitor::walk_comprehension(self, c);
        self.parents.pop();
    }

    fn visit_with_item(&mut self, w: &'a ast::WithItem) {
        self.parents.push(Node::Other(w.range));
        visitor::walk_with_item(self, w);
        self.parents.pop();
    }

    fn visit_match_case(&mut self, m: &'a ast::MatchCase) {
        self.parents.push(Node::Other(m.range));
        visitor::walk_match_case(self, m);
        self.parents.pop();
    }
}

/// The argument of a flagged call that holds the command or code: the first positional
/// argument, else an `args=`/`cmd=`/`command=` keyword.
fn command_argument(call: &ast::ExprCall) -> Option<&Expr> {
    call.arguments.args.first().or_else(|| {
        call.arguments
            .keywords
            .iter()
            .find(|k| {
                k.arg.as_ref().is_some_and(|a| {
                    matches!(
                        a.id.as_str(),
                        "args" | "cmd" | "command" | "source" | "expression"
                    )
                })
            })
            .map(|k| &k.value)
    })
}
