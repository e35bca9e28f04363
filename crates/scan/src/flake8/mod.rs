//! The flake8 check family: what Flake8 7.5.0 (pyflakes, pycodestyle, mccabe) reports on each
//! `.py` file, natively. pyflakes and most pycodestyle checks come from ruff_linter where they
//! agree with Flake8; E501, the continuation-line checks (E12x, E131, E133), E999 and E902 are
//! implemented here. Bundled `[flake8]` config, `# noqa` and `# flake8: noqa` are honoured as
//! Flake8 does.

pub mod config;
pub mod logical;
pub mod noqa;
pub mod pycodestyle;
mod ruff;
pub mod source;

use ruff_python_ast::{ModModule, PySourceType};
use ruff_python_parser::{ParseErrorType, Parsed, parse_unchecked_source};

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::options::ActiveRules;
use crate::python::PythonProblem;
use crate::report::{Check, Finding, ScanError, SuppressedBy};

use config::Flake8Config;
use source::{Kind, Lines, Tok};

macro_rules! rules {
    ($(($code:literal, $name:literal, $default:literal)),* $(,)?) => {
        &[$(FamilyRule { code: $code, name: $name, tool_default: $default }),*]
    };
}

/// Every code this family can report, and whether Flake8 reports it with no options (its
/// default ignore list is `E121,E123,E126,E226,E24,E704,W503,W504`; C901 needs
/// `--max-complexity`, E133 `--hang-closing`, W505 `--max-doc-length`).
pub const RULES: &[FamilyRule] = rules![
    ("E101", "Indentation contains mixed spaces and tabs", true),
    ("E111", "Indentation not a multiple of four", true),
    ("E112", "Expected an indented block", true),
    ("E113", "Unexpected indentation", true),
    ("E114", "Indentation not a multiple of four (comment)", true),
    ("E115", "Expected an indented block (comment)", true),
    ("E116", "Unexpected indentation (comment)", true),
    ("E117", "Over-indented", true),
    (
        "E121",
        "Continuation line under-indented (hanging indent)",
        false
    ),
    ("E122", "Continuation line missing indentation", true),
    ("E123", "Closing bracket does not match indentation", false),
    (
        "E124",
        "Closing bracket does not match visual indentation",
        true
    ),
    (
        "E125",
        "Continuation line with same indent as next logical line",
        true
    ),
    (
        "E126",
        "Continuation line over-indented (hanging indent)",
        false
    ),
    (
        "E127",
        "Continuation line over-indented (visual indent)",
        true
    ),
    (
        "E128",
        "Continuation line under-indented (visual indent)",
        true
    ),
    (
        "E129",
        "Visually indented line with same indent as next logical line",
        true
    ),
    ("E131", "Continuation line unaligned (hanging indent)", true),
    ("E133", "Closing bracket is missing indentation", false),
    ("E201", "Whitespace after opening bracket", true),
    ("E202", "Whitespace before closing bracket", true),
    ("E203", "Whitespace before punctuation", true),
    ("E204", "Whitespace after decorator '@'", true),
    ("E211", "Whitespace before bracket", true),
    ("E221", "Multiple spaces before operator", true),
    ("E222", "Multiple spaces after operator", true),
    ("E223", "Whitespace (tab) before operator", true),
    ("E224", "Whitespace (tab) after operator", true),
    ("E225", "Missing whitespace around operator", true),
    (
        "E226",
        "Missing whitespace around arithmetic operator",
        false
    ),
    (
        "E227",
        "Missing whitespace around bitwise/shift operator",
        true
    ),
    ("E228", "Missing whitespace around modulo operator", true),
    ("E231", "Missing whitespace after punctuation", true),
    ("E241", "Multiple spaces after comma", false),
    ("E242", "Tab after comma", false),
    (
        "E251",
        "Unexpected spaces around keyword / parameter equals",
        true
    ),
    ("E252", "Missing whitespace around parameter equals", true),
    ("E261", "At least two spaces before inline comment", true),
    ("E262", "Inline comment should start with '# '", true),
    ("E265", "Block comment should start with '# '", true),
    ("E266", "Too many leading '#' for block comment", true),
    ("E271", "Multiple spaces after keyword", true),
    ("E272", "Multiple spaces before keyword", true),
    ("E273", "Whitespace (tab) after keyword", true),
    ("E274", "Whitespace (tab) before keyword", true),
    ("E275", "Missing whitespace after keyword", true),
    ("E301", "Expected 1 blank line", true),
    ("E302", "Expected 2 blank lines", true),
    ("E303", "Too many blank lines", true),
    ("E304", "Blank lines found after function decorator", true),
    ("E305", "Expected 2 blank lines after end of function", true),
    (
        "E306",
        "Expected 1 blank line before nested definition",
        true
    ),
    ("E401", "Multiple imports on one line", true),
    ("E402", "Module level import not at top of file", true),
    ("E501", "Line too long", true),
    ("E502", "Backslash is redundant between brackets", true),
    ("E701", "Multiple statements on one line (colon)", true),
    ("E702", "Multiple statements on one line (semicolon)", true),
    ("E703", "Statement ends with a semicolon", true),
    ("E704", "Statement on same line as def", false),
    ("E711", "Comparison to None using ==", true),
    ("E712", "Comparison to True/False using ==", true),
    ("E713", "Test for membership should use 'not in'", true),
    ("E714", "Test for identity should use 'is not'", true),
    ("E721", "Type comparison using ==", true),
    ("E722", "Bare except clause", true),
    ("E731", "Lambda assignment", true),
    ("E741", "Ambiguous variable name", true),
    ("E742", "Ambiguous class name", true),
    ("E743", "Ambiguous function name", true),
    ("E901", "SyntaxError or IndentationError", false),
    ("E902", "IOError", true),
    ("E999", "SyntaxError", true),
    ("W191", "Indentation contains tabs", true),
    ("W291", "Trailing whitespace", true),
    ("W292", "No newline at end of file", true),
    ("W293", "Whitespace on blank line", true),
    ("W391", "Blank line at end of file", true),
    ("W503", "Line break before binary operator", false),
    ("W504", "Line break after binary operator", false),
    ("W601", ".has_key() deprecated", false),
    ("W602", "Deprecated raise with two arguments", false),
    ("W603", "'<>' is deprecated", false),
    ("W604", "Backtick repr is deprecated", false),
    ("W605", "Invalid escape sequence", true),
    ("F401", "Module imported but unused", true),
    ("F402", "Import shadowed by loop variable", true),
    ("F403", "Star import used", true),
    ("F404", "Future import after other statements", true),
    ("F405", "Name may be from star import", true),
    ("F406", "Star import not at module level", true),
    ("F407", "Undefined __future__ feature", true),
    ("F501", "Invalid % format literal", true),
    ("F502", "% format expected mapping", true),
    ("F503", "% format expected sequence", true),
    ("F504", "% format unused named arguments", true),
    ("F505", "% format missing named arguments", true),
    (
        "F506",
        "% format mixed positional and named arguments",
        true
    ),
    (
        "F507",
        "% format mismatch of placeholder and argument count",
        true
    ),
    (
        "F508",
        "% format with * specifier requires a sequence",
        true
    ),
    ("F509", "% format with unsupported format character", true),
    ("F521", "str.format(...) invalid format string", true),
    ("F522", "str.format(...) unused named arguments", true),
    ("F523", "str.format(...) unused positional arguments", true),
    ("F524", "str.format(...) missing argument", true),
    (
        "F525",
        "str.format(...) mixes automatic and manual numbering",
        true
    ),
    ("F541", "f-string without placeholders", true),
    (
        "F601",
        "Dictionary key repeated with different values",
        true
    ),
    (
        "F602",
        "Dictionary key variable repeated with different values",
        true
    ),
    (
        "F621",
        "Too many expressions in star-unpacking assignment",
        true
    ),
    ("F622", "Two starred expressions in assignment", true),
    ("F631", "Assertion test is a tuple", true),
    ("F632", "Comparison to a literal with is", true),
    ("F633", "Use of >> is invalid with print function", true),
    ("F634", "If test is a tuple", true),
    ("F701", "Break outside loop", true),
    ("F702", "Continue outside loop", true),
    ("F704", "Yield outside function", true),
    ("F706", "Return outside function", true),
    ("F707", "Bare except not last", true),
    ("F722", "Syntax error in forward annotation", true),
    ("F811", "Redefinition of unused name", true),
    ("F821", "Undefined name", true),
    ("F822", "Undefined name in __all__", true),
    ("F823", "Local variable referenced before assignment", true),
    ("F824", "Unused global or nonlocal statement", true),
    ("F831", "Duplicate argument in function definition", true),
    ("F841", "Local variable assigned but never used", true),
    ("F842", "Local variable annotated but never used", true),
    (
        "F901",
        "'raise NotImplemented' should be 'raise NotImplementedError'",
        true
    ),
    ("C901", "Function too complex", false),
];

/// Codes checked here rather than by ruff.
const OWN: &[&str] = &[
    "E121", "E122", "E123", "E124", "E125", "E126", "E127", "E128", "E129", "E131", "E133", "E501",
    "E201", "E202", "E203", "E402", "E711", "E712", "E713", "E714", "E721", "E722",
];

pub struct Flake8Family {
    config: Flake8Config,
    /// The codes ruff checks for this scan, and its linter, set up by the first file that
    /// needs it: ruff's settings cost about a millisecond, which would otherwise delay every
    /// scan's start, Python files or not.
    ruff_codes: Vec<&'static str>,
    ruff: std::sync::OnceLock<Option<ruff::RuffLinter>>,
    own: Vec<&'static str>,
    /// The logical-line checks among `own`.
    logical: logical::Wanted,
    e999: bool,
}

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    let config = Flake8Config::load(setup.config, setup.rules.profile());
    Ok(Box::new(Flake8Family::new(config, setup.rules)))
}

impl Flake8Family {
    pub fn new(config: Flake8Config, rules: &ActiveRules) -> Flake8Family {
        let wanted: Vec<&str> = ruff::FROM_RUFF
            .iter()
            .copied()
            .filter(|c| rules.is_active(c))
            .collect();
        let own: Vec<&'static str> = OWN.iter().copied().filter(|c| rules.is_active(c)).collect();
        let logical = logical::Wanted::new(&own);
        Flake8Family {
            ruff_codes: wanted,
            ruff: std::sync::OnceLock::new(),
            own,
            logical,
            e999: rules.is_active("E999"),
            config,
        }
    }

    fn linter(&self) -> Option<&ruff::RuffLinter> {
        self.ruff
            .get_or_init(|| ruff::RuffLinter::new(&self.ruff_codes, self.config.max_complexity))
            .as_ref()
    }
}

fn finding(file: &SourceFile, line: usize, col: usize, code: &str, message: String) -> Finding {
    Finding::new(
        Check::Flake8,
        code,
        file.path,
        line as u32,
        col as u32,
        message,
    )
}

/// Whether ruff's "unsupported syntax" text names a change after Python 3.11 (Flake8 runs on
/// CPython 3.11 in the reference setup, which rejects such syntax).
fn newer_than_311(text: &str) -> bool {
    let version = |marker: &str| {
        text.find(marker).and_then(|i| {
            let v = &text[i + marker.len()..];
            let mut parts = v
                .split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty());
            Some((
                parts.next()?.parse::<u32>().ok()?,
                parts.next()?.parse::<u32>().ok()?,
            ))
        })
    };
    if let Some(v) = version("added in Python ") {
        return v > (3, 11);
    }
    if let Some(v) = version("removed in Python ") {
        return v <= (3, 11);
    }
    false
}

/// Flake8's E999 text for a parse error, in CPython's words where they are known.
fn syntax_message(error: &ParseErrorType) -> String {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("unexpected indentation") {
        "IndentationError: unexpected indent".into()
    } else if lower.contains("expected an indented block") {
        "IndentationError: expected an indented block".into()
    } else if lower.contains("unindent") || lower.contains("dedent") {
        "IndentationError: unindent does not match any outer indentation level".into()
    } else {
        "SyntaxError: invalid syntax".into()
    }
}

impl Family for Flake8Family {
    fn check(&self) -> Check {
        Check::Flake8
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        let Some(loaded) = file.python() else { return };
        if self.config.is_excluded(file.rel_path) {
            return;
        }
        match loaded {
            // ruff's linter consumes the parse it is given: this one is shared, so a copy.
            Ok(m) => self.check_module(file, &m.source, m.parsed.clone(), out),
            Err(problem) => self.check_unparsed(file, problem, out),
        }
    }

    fn takes_parse(&self) -> bool {
        true
    }

    fn scan_file_last(&self, file: &mut SourceFile, out: &mut FamilyOutput) {
        if !file.is_python() || self.config.is_excluded(file.rel_path) {
            return;
        }
        match file.take_python() {
            Some(Ok(m)) => self.check_module(file, &m.source, m.parsed, out),
            Some(Err(problem)) => self.check_unparsed(file, &problem, out),
            None => {}
        }
    }
}

/// Python files at least this large have this module's own checks run beside ruff's rules when
/// cores are spare ([`SourceFile::spare_cores`]): below it, a thread's start costs about as much
/// as the overlap gains.
const SPLIT_MIN_BYTES: usize = 16 * 1024;

impl Flake8Family {
    /// A file the shared loader could not give a syntax tree for.
    fn check_unparsed(&self, file: &SourceFile, problem: &PythonProblem, out: &mut FamilyOutput) {
        let unscannable = |problem: &dyn std::fmt::Display, out: &mut FamilyOutput| {
            if self.e999 {
                out.findings.push(finding(
                    file,
                    1,
                    1,
                    "E999",
                    format!("SyntaxError: {problem}"),
                ));
            }
        };
        match problem {
            // Flake8 reads undecodable files as Latin-1 and checks them anyway.
            PythonProblem::Decode(_) => {
                let bytes = file
                    .bytes
                    .strip_prefix(b"\xef\xbb\xbf")
                    .unwrap_or(file.bytes);
                let owned = bytes.iter().map(|&b| b as char).collect::<String>();
                if let Err(problem) = crate::python::guard(&owned) {
                    return unscannable(&problem, out);
                }
                let parsed = parse_unchecked_source(&owned, PySourceType::Python);
                self.check_module(file, &owned, parsed, out);
            }
            PythonProblem::Unscannable(_) => unscannable(problem, out),
        }
    }

    /// This module's own pycodestyle checks (those ruff does not have or does differently).
    fn own_checks(
        &self,
        toks: &[Tok],
        logicals: &[&[Tok]],
        lines: &Lines,
        all_lines: &[&str],
    ) -> Vec<pycodestyle::Hit> {
        if self.own.is_empty() {
            return Vec::new();
        }
        let mut own = Vec::new();
        if self.own.contains(&"E501") {
            pycodestyle::physical_lines(toks, lines, self.config.max_line_length, &mut own);
        }
        if self.logical.any() {
            let mut state = logical::ImportState::default();
            for group in logicals {
                let Some(line) = logical::build(group) else {
                    continue;
                };
                let Some(first) = group
                    .iter()
                    .find(|t| !matches!(t.kind, Kind::Nl | Kind::Newline | Kind::Indent))
                else {
                    continue;
                };
                logical::check(
                    &line,
                    pycodestyle::expand_indent(first.prefix()),
                    &mut state,
                    &self.logical,
                    &mut own,
                );
            }
        }
        if self
            .own
            .iter()
            .any(|c| c.starts_with("E12") || c.starts_with("E13"))
        {
            let indent_char = all_lines
                .iter()
                .find_map(|l| l.chars().next().filter(|c| *c == ' ' || *c == '\t'));
            for logical in logicals {
                let Some(first) = logical
                    .iter()
                    .find(|t| !matches!(t.kind, Kind::Nl | Kind::Newline | Kind::Indent))
                else {
                    continue;
                };
                let indent_level = pycodestyle::expand_indent(first.prefix());
                pycodestyle::continued_indentation(
                    logical,
                    indent_level,
                    self.config.hang_closing,
                    indent_char,
                    self.config.indent_size as i64,
                    &mut own,
                );
            }
        }
        own
    }

    /// Every check on a parsed file.
    fn check_module(
        &self,
        file: &SourceFile,
        source: &str,
        parsed: Parsed<ModModule>,
        out: &mut FamilyOutput,
    ) {
        let lines = Lines::new(source);
        let all_lines = lines.all();
        // Every `# noqa` holds `noqa`: one search of the file answers for most files, which
        // have none, instead of one per line.
        let has_noqa = crate::literal::may_contain_ci(source, &["noqa"]);
        if has_noqa && noqa::file_is_skipped(&all_lines) {
            return;
        }
        if self.config.source.is_some() {
            out.config_used.extend(self.config.source.clone());
        }
        let decider = self.config.decider_for(file.rel_path);

        let first_error = parsed
            .errors()
            .iter()
            .map(|e| (e.location.start(), syntax_message(&e.error)));
        let too_new = parsed
            .unsupported_syntax_errors()
            .iter()
            .filter(|e| newer_than_311(&e.to_string()))
            .map(|e| (e.range.start(), "SyntaxError: invalid syntax".to_string()));
        if let Some((at, message)) = first_error.chain(too_new).min_by_key(|(at, _)| *at) {
            // Flake8 reports the first syntax error and nothing else for the file; its column is
            // CPython's 1-based offset plus one.
            if self.e999 && decider.is_selected("E999") {
                let (row, col) = lines.position(at.to_usize());
                let mut f = finding(file, row, col + 2, "E999", message);
                if has_noqa && noqa::NoqaMap::new(&all_lines, &[(row, row)]).silences(row, "E999") {
                    f.suppressed_by = Some(SuppressedBy::Noqa);
                }
                out.findings.push(f);
            }
            return;
        }

        let toks = source::tokens(&lines, &parsed);
        let logicals = source::logical_lines(&toks);
        let mut hits: Vec<(usize, usize, String, String)> = Vec::new();
        // ruff's rules and this module's own run on the same tokens but share nothing else: in
        // a large file, when cores would otherwise sit idle, they run side by side, this
        // module's on a thread of its own (large stack, as every analysis thread; see
        // `pipeline::SCAN_STACK_SIZE`). ruff's stay on this long-lived thread: a fix ruff
        // works out (unused imports) compiles libcst's patterns once per thread.
        let linter = self.linter();
        let beside = file.spare_cores()
            && linter.is_some()
            && !self.own.is_empty()
            && source.len() >= SPLIT_MIN_BYTES;
        let own = std::thread::scope(|scope| {
            let (toks, logicals, lines, all_lines) = (&toks, &logicals, &lines, &all_lines);
            let handle = if beside {
                std::thread::Builder::new()
                    .name("vetted-flake8".into())
                    .stack_size(crate::pipeline::SCAN_STACK_SIZE)
                    .spawn_scoped(scope, move || {
                        self.own_checks(toks, logicals, lines, all_lines)
                    })
                    .ok()
            } else {
                None
            };
            let ruff_hits = linter.map(|linter| linter.run(source, parsed));
            let own = match handle {
                Some(handle) => match handle.join() {
                    Ok(found) => found,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                // Not split, or no thread could start.
                None => self.own_checks(toks, logicals, lines, all_lines),
            };
            (ruff_hits, own)
        });
        let (ruff_hits, own) = own;
        if let Some(ruff_hits) = ruff_hits {
            // pyflakes places import findings on the statement, ruff on the imported name.
            let mut statement_start: Vec<Option<(usize, usize)>> = vec![None; lines.len() + 2];
            for logical in &logicals {
                let Some(first) = logical.iter().find(|t| {
                    !matches!(
                        t.kind,
                        Kind::Nl | Kind::Newline | Kind::Indent | Kind::Comment
                    )
                }) else {
                    continue;
                };
                let last_row = logical.last().map_or(first.start.0, |t| t.end.0);
                for slot in statement_start
                    .iter_mut()
                    .take(last_row + 1)
                    .skip(first.start.0)
                {
                    *slot = Some(first.start);
                }
            }
            for h in ruff_hits {
                let (mut row, mut col) = lines.position(h.offset);
                if matches!(h.code.as_str(), "F401" | "F811")
                    && let Some(Some(start)) = statement_start.get(row)
                {
                    (row, col) = *start;
                }
                hits.push((row, col, h.code, h.message));
            }
        }
        for (row, col, code, msg) in own {
            if self.own.contains(&code) {
                hits.push((row, col, code.to_string(), msg));
            }
        }

        let map = if has_noqa {
            noqa::NoqaMap::new(&all_lines, &source::noqa_groups(&toks))
        } else {
            noqa::NoqaMap::default()
        };
        for (row, col, code, message) in hits {
            if !decider.is_selected(&code) {
                continue;
            }
            let mut f = finding(file, row, col + 1, &code, message);
            if map.silences(row, &code) {
                f.suppressed_by = Some(SuppressedBy::Noqa);
            }
            out.findings.push(f);
        }
    }
}

/// Flake8's default output: `path:line:col: CODE message`, one finding per line, in Flake8's
/// order (by file, then line and column).
pub fn render_report(report: &crate::report::Report) -> String {
    let mut findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Flake8)
        .collect();
    findings.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}:{}: {} {}\n",
            f.path,
            f.line,
            f.column.max(1),
            f.rule,
            f.message
        ));
    }
    out
}
