//! The bandit check family: Bandit 1.9.4's default tests, natively on ruff's AST.
//!
//! `visitor` walks each module as Bandit's node visitor does (parents, imports, aliases);
//! `tests` holds one module per Bandit plugin or blacklist table; `nosec` applies `# nosec`
//! comments as Bandit does; `config` reads a bundled `.bandit` / `[tool.bandit]`.

pub mod config;
pub mod helpers;
pub mod limits;
pub mod nosec;
pub mod tests;
pub mod visitor;

use ruff_source_file::LineIndex;

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::python::PythonProblem;
use crate::report::{Check, Finding, ScanError, SuppressedBy, ToolRating};

/// Every Bandit test is in the plugins.qgis.org catalog; this marks the ones Bandit runs by
/// default (all but B109/B111, which Bandit 1.9.4 no longer ships).
pub const RULES: &[FamilyRule] = &{
    let mut out = [FamilyRule {
        code: "",
        name: "",
        tool_default: true,
    }; tests::TEST_NAMES.len()];
    let mut i = 0;
    while i < tests::TEST_NAMES.len() {
        out[i] = FamilyRule {
            code: tests::TEST_NAMES[i].0,
            name: tests::TEST_NAMES[i].1,
            tool_default: true,
        };
        i += 1;
    }
    out
};

/// Bandit's reasons in its `errors` list.
pub const SYNTAX_ERROR: &str = "syntax error while parsing AST from file";
pub const SCAN_EXCEPTION: &str = "exception while scanning file";

/// The fact on a finding made from a recovered parse of a file Bandit reports as a syntax error.
pub const RECOVERED: &str = "recovered";

/// Paths Bandit leaves out by default (its `EXCLUDE` list, matched as substrings).
const DEFAULT_EXCLUDES: &[&str] = &[
    ".svn",
    "CVS",
    ".bzr",
    ".hg",
    ".git",
    "__pycache__",
    ".tox",
    ".eggs",
];

pub struct BanditFamily {
    config: config::BanditConfig,
    /// Also run the tests on what the parser recovers of a file Bandit cannot parse (Python 2
    /// syntax, a stray error), as findings marked `recovered`: Bandit itself skips such a file,
    /// so they are kept out of the tool-compatible profile and of `--format bandit`.
    recover: bool,
    /// A bundled config file Bandit could not read; reported once, the scan goes on without it.
    config_error: Option<ScanError>,
}

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    // Under `tool-defaults` Vetted behaves as `bandit -r` with no options, which reads a
    // `.bandit` file but not `[tool.bandit]`; the qgis profile honours both.
    let with_pyproject = setup.rules.profile() == crate::options::Profile::Qgis;
    let (config, config_error) = match config::load(setup.config, with_pyproject) {
        Ok(c) => (c, None),
        Err(message) => (
            config::load(setup.config, false).unwrap_or_default(),
            Some(ScanError {
                check: Check::Bandit,
                path: setup.config.path_of("pyproject.toml"),
                message,
            }),
        ),
    };
    Ok(Box::new(BanditFamily {
        config,
        config_error,
        recover: with_pyproject,
    }))
}

impl BanditFamily {
    /// Records the bundled config files as having changed the report.
    fn note_config_used(&self, out: &mut FamilyOutput) {
        for used in &self.config.used {
            if !out.config_used.contains(used) {
                out.config_used.push(used.clone());
            }
        }
    }
}

impl Family for BanditFamily {
    fn check(&self) -> Check {
        Check::Bandit
    }

    fn finish(&self, out: &mut FamilyOutput) {
        if let Some(e) = &self.config_error {
            out.errors.push(e.clone());
        }
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        let Some(parsed) = file.python() else { return };
        if DEFAULT_EXCLUDES.iter().any(|x| file.path.contains(x)) || file.path.ends_with(".egg") {
            return;
        }
        if self.config.excludes(file.rel_path) || self.config.excludes(file.path) {
            self.note_config_used(out);
            return;
        }
        let module = match parsed {
            Ok(m) => m,
            Err(PythonProblem::Decode(_)) => {
                let message = if decode_fails_in_header(file.bytes) {
                    SYNTAX_ERROR
                } else {
                    SCAN_EXCEPTION
                };
                out.errors.push(ScanError {
                    check: Check::Bandit,
                    path: file.path.to_string(),
                    message: message.into(),
                });
                return;
            }
            Err(PythonProblem::Unscannable(why)) => {
                out.errors.push(ScanError {
                    check: Check::Bandit,
                    path: file.path.to_string(),
                    message: format!("{SCAN_EXCEPTION}: {why}"),
                });
                return;
            }
        };
        let refused =
            module.source.contains('\0') || limits::tokenizer_refuses(module.parsed.tokens());
        let recovered = module.has_syntax_errors();
        if recovered || refused {
            out.errors.push(ScanError {
                check: Check::Bandit,
                path: file.path.to_string(),
                message: SYNTAX_ERROR.into(),
            });
            // Bandit stops here. Python 2 syntax must not hide a dangerous call from the
            // verdict, so the tests also run on the tree the parser recovered; those findings
            // carry `recovered` and are never part of Bandit-compatible output.
            if refused || !self.recover {
                return;
            }
        }
        let Some(findings) = scan_source(
            &module.source,
            module.parsed.syntax(),
            module.parsed.tokens(),
            file.path,
        ) else {
            if recovered {
                // The syntax error is already reported for this file.
                return;
            }
            // Bandit's visitor runs out of Python recursion on such a file.
            out.errors.push(ScanError {
                check: Check::Bandit,
                path: file.path.to_string(),
                message: SCAN_EXCEPTION.into(),
            });
            return;
        };
        for mut f in findings {
            if recovered {
                f = f.with_fact(RECOVERED, "yes");
            }
            // B105–B107 quote the password they found: it must be masked wherever it shows.
            if matches!(f.rule.as_str(), "B105" | "B106" | "B107")
                && let Some(value) = f
                    .message
                    .strip_prefix("Possible hardcoded password: '")
                    .and_then(|rest| rest.strip_suffix('\''))
                && !value.is_empty()
            {
                out.secrets.push((file.path.to_string(), value.to_string()));
            }
            if matches!(f.rule.as_str(), "B105" | "B106" | "B107")
                && let Some(value) = f
                    .message
                    .strip_prefix("Possible hardcoded password: '")
                    .and_then(|rest| rest.strip_suffix('\''))
            {
                let kind = crate::policy::values::password_kind(value);
                f = f.with_fact("value_kind", kind);
            }
            if f.suppressed_by.is_none() {
                let skipped_by_config = !self.config.runs(&f.rule)
                    || (f.rule == "B101"
                        && self
                            .config
                            .assert_skips
                            .iter()
                            .any(|g| config::glob_match(g, file.path)));
                if skipped_by_config {
                    f.suppressed_by = Some(SuppressedBy::Config);
                    self.note_config_used(out);
                }
            }
            out.findings.push(f);
        }
    }
}

/// Python's tokenizer decodes the first line (and the second one when the first is blank or a
/// comment) while looking for a coding cookie, and reports a failure there as a syntax error;
/// Bandit reports a later decoding failure as an exception.
fn decode_fails_in_header(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    let Some(first) = lines.next() else {
        return false;
    };
    if std::str::from_utf8(first).is_err() {
        return true;
    }
    let rest = first.trim_ascii_start();
    let blank = rest.is_empty() || matches!(rest[0], b'#' | b'\r' | b'\n');
    blank
        && lines
            .next()
            .is_some_and(|second| std::str::from_utf8(second).is_err())
}

/// Runs every test on one parsed module; findings silenced by `# nosec` carry
/// `suppressed_by = Nosec`. `None` when the module is nested deeper than Bandit can visit.
pub fn scan_source(
    source: &str,
    module: &ruff_python_ast::ModModule,
    tokens: &ruff_python_ast::token::Tokens,
    path: &str,
) -> Option<Vec<Finding>> {
    let lines = LineIndex::from_source_text(source);
    let nosec_lines = nosec::collect(tokens, source, &lines);
    let mut walker = visitor::Walker::new(source, &lines, &module.body);
    walker.run();
    if walker.too_deep {
        return None;
    }
    let mut raw = std::mem::take(&mut walker.results);
    if let Some(issue) = tests::trojansource::check(source) {
        // Bandit's File tests run with the context line range [0, 1].
        raw.push(visitor::RawResult {
            issue,
            line: 0,
            col: 0,
            line_range: vec![0, 1],
            end_col: 0,
        });
    }
    let src_lines: Vec<&str> = source.split_inclusive('\n').collect();
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let line = r.issue.line.unwrap_or(r.line);
        let suppressed = nosec::is_suppressed(&nosec_lines, r.issue.id, line, &r.line_range);
        let line_range = r.issue.line_range.clone().unwrap_or(r.line_range);
        let col = r.issue.col.unwrap_or(r.col);
        let snippet: String = (0..line_range.len().max(1))
            .filter_map(|i| src_lines.get((line as usize + i).wrapping_sub(1)).copied())
            .collect();
        let mut f = Finding::new(
            Check::Bandit,
            r.issue.id,
            path,
            line,
            col + 1,
            r.issue.text.clone(),
        )
        .with_snippet(snippet);
        f.tool = Some(ToolRating {
            severity: r.issue.severity.as_str().into(),
            confidence: r.issue.confidence.as_str().into(),
            test_name: Some(r.issue.name.to_string()),
            cwe: (r.issue.cwe != 0).then_some(r.issue.cwe),
            line_range,
            end_col_offset: Some(r.end_col),
        });
        if suppressed {
            f.suppressed_by = Some(SuppressedBy::Nosec);
        }
        for (key, value) in r.issue.facts {
            f = f.with_fact(key, value);
        }
        out.push(f);
    }
    Some(out)
}

/// Bandit's documentation page for a test.
fn more_info(test_id: &str, test_name: &str) -> String {
    let base = "https://bandit.readthedocs.io/en/1.9.4/";
    if let Some((id, name)) = tests::TEST_NAMES.iter().find(|(id, _)| *id == test_id) {
        let bl = tests::blacklist_calls::CALLS
            .iter()
            .chain(tests::blacklist_imports::IMPORTS.iter())
            .find(|e| e.id == *id);
        if let Some(e) = bl {
            let kind = if id.starts_with("B3") {
                "calls"
            } else {
                "imports"
            };
            let (anchor_id, anchor_name) = match *id {
                "B304" | "B305" => ("b304-b305".to_string(), "ciphers-and-modes".to_string()),
                "B313" | "B314" | "B315" | "B316" | "B317" | "B318" | "B319" | "B320" => {
                    ("b313-b320".to_string(), e.name.replace('_', "-"))
                }
                _ => (id.to_string(), e.name.replace('_', "-")),
            };
            return format!("{base}blacklists/blacklist_{kind}.html#{anchor_id}-{anchor_name}")
                .to_lowercase();
        }
        // Bandit links the plugin by its function name (`b324_hashlib`), not its entry name.
        let page = if test_name.is_empty() {
            *name
        } else {
            test_name
        };
        return format!("{base}plugins/{}_{page}.html", id.to_lowercase());
    }
    base.to_string()
}

/// The current time as Bandit writes `generated_at` (`%Y-%m-%dT%H:%M:%SZ`, UTC).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil conversion.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Bandit's JSON report shape (`results`, `errors`, `metrics`), for tools that import it.
pub fn render_report(report: &crate::report::Report) -> String {
    use serde_json::{Map, Value, json};
    let mut results: Vec<Value> = Vec::new();
    let mut metrics: Map<String, Value> = Map::new();
    let mut totals = [0u64; 8];
    let mut per_file: std::collections::BTreeMap<&str, ([u64; 8], u64)> =
        std::collections::BTreeMap::new();
    let levels = ["UNDEFINED", "LOW", "MEDIUM", "HIGH"];
    for f in report
        .findings
        .iter()
        .chain(&report.suppressed)
        // Bandit never sees what the parser recovered of a file it cannot parse.
        .filter(|f| f.check == Check::Bandit && f.fact(RECOVERED).is_none())
    {
        let entry = per_file.entry(f.path.as_str()).or_default();
        if f.suppressed_by.is_some() {
            // Bandit never runs tests its config skips; only `# nosec` counts in its metrics.
            if f.suppressed_by == Some(SuppressedBy::Nosec) {
                entry.1 += 1;
            }
            continue;
        }
        let Some(tool) = &f.tool else { continue };
        let sev = levels.iter().position(|l| *l == tool.severity).unwrap_or(0);
        let conf = levels
            .iter()
            .position(|l| *l == tool.confidence)
            .unwrap_or(0);
        entry.0[sev] += 1;
        entry.0[4 + conf] += 1;
        totals[sev] += 1;
        totals[4 + conf] += 1;
        let line_range = if tool.line_range.is_empty() {
            vec![f.line]
        } else {
            tool.line_range.clone()
        };
        let code: String = f
            .snippet
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "{} {}",
                    f.line as usize + i,
                    if l.ends_with('\n') {
                        l.to_string()
                    } else {
                        format!("{l}\n")
                    }
                )
            })
            .collect();
        let cwe = match tool.cwe {
            Some(id) => {
                json!({ "id": id, "link": format!("https://cwe.mitre.org/data/definitions/{id}.html") })
            }
            None => json!({}),
        };
        let test_name = tool.test_name.clone().unwrap_or_default();
        results.push(json!({
            "code": code,
            "col_offset": f.column.saturating_sub(1),
            "end_col_offset": tool.end_col_offset.unwrap_or(0),
            "filename": f.path,
            "issue_confidence": tool.confidence,
            "issue_cwe": cwe,
            "issue_severity": tool.severity,
            "issue_text": f.message,
            "line_number": f.line,
            "line_range": line_range,
            "more_info": more_info(&f.rule, &test_name),
            "test_id": f.rule,
            "test_name": test_name,
        }));
    }
    let counts = |c: &[u64; 8], nosec: u64| {
        let mut m = Map::new();
        for (i, l) in levels.iter().enumerate() {
            m.insert(format!("CONFIDENCE.{l}"), json!(c[4 + i]));
            m.insert(format!("SEVERITY.{l}"), json!(c[i]));
        }
        m.insert("loc".into(), json!(0));
        m.insert("nosec".into(), json!(nosec));
        m.insert("skipped_tests".into(), json!(0));
        Value::Object(m)
    };
    let mut nosec_total = 0;
    for (path, (c, nosec)) in &per_file {
        nosec_total += nosec;
        metrics.insert((*path).to_string(), counts(c, *nosec));
    }
    metrics.insert("_totals".into(), counts(&totals, nosec_total));
    let errors: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.check == Check::Bandit)
        .map(|e| json!({ "filename": e.path, "reason": e.message }))
        .collect();
    let doc = json!({ "errors": errors, "generated_at": utc_now(), "metrics": metrics, "results": results });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
