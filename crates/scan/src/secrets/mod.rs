//! The secrets check family: finds what detect-secrets 1.5.0 (`detect-secrets scan --all-files`)
//! finds, natively, with its 27 detectors and default filters, honours its allowlist pragmas and a
//! bundled `.secrets.baseline`, and never reveals a secret: findings carry its SHA-1 (as in a
//! baseline), its type and a masked value.

mod baseline;
mod detectors;
mod filters;
mod hand_prefilters;
mod ini;
mod public_ip;
pub mod qgis_project;

use crate::Set as HashSet;
use std::sync::OnceLock;

use sha1::{Digest, Sha1};

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, Finding, ScanError, SuppressedBy, ToolRating, mask_secret};

pub use baseline::Baseline;
use detectors::{BASE64, BASE64_CHARSET, DETECTORS, HEX, HEX_CHARSET, KEYWORD, Patterns};

const fn family_rules() -> [FamilyRule; 27] {
    let mut out = [FamilyRule {
        code: "",
        name: "",
        tool_default: true,
    }; 27];
    let mut i = 0;
    while i < DETECTORS.len() {
        out[i] = FamilyRule {
            code: DETECTORS[i].code,
            name: DETECTORS[i].name,
            tool_default: true,
        };
        i += 1;
    }
    out
}

const FAMILY_RULES: [FamilyRule; 27] = family_rules();

/// Rules this family can report beyond the plugins.qgis.org catalog, and which of them the
/// reference tool runs by default (all 27 plugins of detect-secrets 1.5.0).
pub const RULES: &[FamilyRule] = &FAMILY_RULES;

/// Vetted's own credential rules for what QGIS leaves in files (project datasources, auth
/// database, PostgreSQL password and service files): critical, enabled, not skippable.
pub const OWN_RULES: &[FamilyRule] = qgis_project::RULES;

/// Entropy limits of detect-secrets' defaults.
const BASE64_LIMIT: f64 = 4.5;
const HEX_LIMIT: f64 = 3.0;
/// Longest snippet kept in a finding (after masking).
const SNIPPET_CHARS: usize = 300;
const BASELINE: &str = ".secrets.baseline";
// Bit of a line's pre-filter hits saying a keyword of the keyword detector appears on it.
use detectors::KEYWORD_BIT;

static PATTERNS: OnceLock<Result<Patterns, String>> = OnceLock::new();

/// The compiled patterns, compiled by the first caller (the others wait for it).
fn patterns() -> Result<&'static Patterns, &'static str> {
    PATTERNS
        .get_or_init(Patterns::compile)
        .as_ref()
        .map_err(String::as_str)
}

/// Compiles the patterns now: the pipeline calls this on a thread of its own when a scan starts,
/// so the compilation overlaps reading the input and the other families' work instead of
/// delaying the first file.
pub fn warm_up() {
    let _ = patterns();
}

pub struct SecretsFamily {
    active: [bool; 27],
    /// Codes of the active [`OWN_RULES`].
    own_active: Vec<&'static str>,
    baseline: Option<Baseline>,
    baseline_path: String,
    baseline_error: Option<String>,
}

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    let mut active = [false; 27];
    for (slot, info) in active.iter_mut().zip(DETECTORS.iter()) {
        *slot = setup.rules.is_active(info.code);
    }
    let (baseline, baseline_error) = match setup.config.get(BASELINE) {
        None => (None, None),
        Some(bytes) => match Baseline::parse(bytes) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        },
    };
    let own_active = OWN_RULES
        .iter()
        .map(|r| r.code)
        .filter(|code| setup.rules.is_active(code))
        .collect();
    Ok(Box::new(SecretsFamily {
        active,
        own_active,
        baseline,
        baseline_path: setup.config.path_of(BASELINE),
        baseline_error,
    }))
}

/// Python's `str.rstrip()`.
fn py_rstrip(line: &str) -> &str {
    line.trim_end_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// The file's lines as Python reads a text file: universal newlines, terminators removed.
fn py_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn sha1_hex(secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The line with every secret found on it masked, cut to a readable length.
fn masked_snippet(line: &str, secrets: &[&str]) -> String {
    let mut sorted: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    sorted.dedup();
    let mut out = line.to_string();
    for s in sorted {
        out = out.replace(s, &mask_secret(s));
    }
    if out.chars().count() > SNIPPET_CHARS {
        out = out.chars().take(SNIPPET_CHARS).collect::<String>() + "…";
    }
    out
}

impl SecretsFamily {
    /// Every candidate secret on one (right-stripped) line, as (detector, secret), before the
    /// secret-level filters. `hits` has bit `i` set when regex detector `i`'s pre-filter matched
    /// on this line, and bit [`KEYWORD_BIT`] when a keyword did.
    fn candidates(
        &self,
        p: &Patterns,
        line: &str,
        ext: &str,
        hits: u32,
        out: &mut Vec<(usize, String)>,
    ) {
        if hits & !KEYWORD_BIT != 0 {
            let mut found = Vec::new();
            for (i, lazy) in p.regex_detectors.iter().enumerate() {
                let det = &lazy.detector;
                if hits & (1 << i) == 0 {
                    continue;
                }
                found.clear();
                // A match cannot start more than `lead` bytes before the pre-filter's first hit.
                let from = match (
                    detectors::prefilter_lead(*det),
                    p.prefilters.get(i).and_then(|re| re.find_at(line, 0)),
                ) {
                    (Some(lead), Some((start, _))) => {
                        floor_char_boundary(line, start.saturating_sub(lead))
                    }
                    _ => 0,
                };
                if *det == detectors::PUBLIC_IP {
                    public_ip::findall(line, from, &mut found);
                } else {
                    for re in lazy.get() {
                        detectors::findall(re, line, from, &mut found);
                    }
                }
                for s in found.drain(..) {
                    if *det == 13 && !detectors::jwt_is_formally_valid(&s) {
                        continue;
                    }
                    out.push((*det, s));
                }
            }
        }
        if hits & KEYWORD_BIT != 0 {
            let set = detectors::keyword_set_for(ext);
            // Patterns that start with a keyword cannot match before its first occurrence, so
            // the backtracking search starts there, and only on lines the superset matches.
            let first_keyword = p
                .keyword_prefilter
                .find_at(line, 0)
                .map_or(0, |(start, _)| start);
            {
                for pattern in p.keyword_patterns(set) {
                    if !pattern.superset_matches(line) {
                        continue;
                    }
                    let from = if pattern.starts_with_keyword() {
                        first_keyword
                    } else {
                        0
                    };
                    if let Some(secret) = pattern.secret(line, from) {
                        out.push((KEYWORD, secret.to_string()));
                    }
                }
            }
        }
        if line.contains(['"', '\'']) {
            let mut runs = Vec::new();
            detectors::quoted_runs(line, BASE64_CHARSET, &mut runs);
            for r in runs.drain(..) {
                if detectors::shannon_entropy(r, BASE64_CHARSET) > BASE64_LIMIT {
                    out.push((BASE64, r.to_string()));
                }
            }
            detectors::quoted_runs(line, HEX_CHARSET, &mut runs);
            for r in runs.drain(..) {
                if detectors::hex_entropy(r) > HEX_LIMIT {
                    out.push((HEX, r.to_string()));
                }
            }
        }
    }

    /// One pass over a file's lines; returns how many findings detect-secrets would report
    /// (not counting lines silenced by a pragma).
    fn scan_lines(
        &self,
        p: &Patterns,
        file: &SourceFile,
        lines: &[&str],
        out: &mut FamilyOutput,
    ) -> usize {
        // One pass of the pre-filter set over the whole file, then each pre-filter that matched
        // somewhere marks the lines where its exact patterns must run.
        let joined = lines.join("\n");
        let mut starts = Vec::with_capacity(lines.len());
        let mut offset = 0;
        for l in lines {
            starts.push(offset);
            offset += l.len() + 1;
        }
        let line_of = |pos: usize| starts.partition_point(|&s| s <= pos).saturating_sub(1);
        let mut hits = vec![0u32; lines.len()];
        let mut mark = |re: &detectors::LazyPrefilter, bit: u32| {
            re.for_each_match(&joined, |start, end| {
                let (first, last) = (line_of(start), line_of(end.saturating_sub(1).max(start)));
                for h in hits.iter_mut().take(last + 1).skip(first) {
                    *h |= bit;
                }
            });
        };
        // Only the pre-filters whose gate the file passes are compiled and run: the others
        // cannot match anywhere in it.
        let open = p.open_runs(p.gates.open(&joined), &joined);
        for (i, lazy) in p.prefilters.iter().enumerate() {
            if open & (1 << i) != 0 {
                mark(lazy, 1 << i);
            }
        }
        if open & KEYWORD_BIT != 0 {
            mark(&p.keyword_prefilter, KEYWORD_BIT);
        }
        let ext = filters::py_ext(file.path);
        // detect-secrets keeps one finding per (type, secret) and file: the first.
        let mut seen: HashSet<(usize, String)> = HashSet::default();
        let mut seen_allowlisted: HashSet<(usize, String)> = HashSet::default();
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut reported = 0;
        for (idx, raw) in lines.iter().enumerate() {
            let line = py_rstrip(raw);
            if line.is_empty() {
                continue;
            }
            found.clear();
            self.candidates(p, line, ext, hits[idx], &mut found);
            if found.is_empty() || filters::is_indirect_reference(p, line) {
                continue;
            }
            let previous = if idx == 0 { "" } else { lines[idx - 1] };
            let allowlisted = filters::is_allowlisted(p, file.path, line, previous);
            let mut kept: Vec<(usize, String)> = Vec::new();
            for (det, secret) in found.drain(..) {
                let regex_based = !(det == KEYWORD || det == BASE64 || det == HEX);
                if filters::is_false_positive(p, &secret, line, regex_based)
                    || kept.iter().any(|(d, s)| *d == det && *s == secret)
                {
                    continue;
                }
                kept.push((det, secret));
            }
            let secrets_on_line: Vec<&str> = kept.iter().map(|(_, s)| s.as_str()).collect();
            for (_, secret) in &kept {
                out.secrets.push((file.path.to_string(), secret.clone()));
            }
            for (det, secret) in &kept {
                if !self.active[*det] {
                    continue;
                }
                let hash = sha1_hex(secret);
                let key = (*det, hash.clone());
                let suppressed_by = if allowlisted {
                    if !seen_allowlisted.insert(key) {
                        continue;
                    }
                    Some(SuppressedBy::Pragma)
                } else {
                    if !seen.insert(key) {
                        continue;
                    }
                    reported += 1;
                    if self.in_baseline(file, &hash) {
                        if !out.config_used.contains(&self.baseline_path) {
                            out.config_used.push(self.baseline_path.clone());
                        }
                        Some(SuppressedBy::Baseline)
                    } else {
                        None
                    }
                };
                let info = DETECTORS[*det];
                let column = line
                    .find(secret.as_str())
                    .map(|b| line[..b].chars().count() as u32 + 1)
                    .unwrap_or(0);
                let mut f = Finding::new(
                    Check::Secrets,
                    info.code,
                    file.path,
                    (idx + 1) as u32,
                    column,
                    format!("{} `{}` (masked)", info.secret_type, mask_secret(secret)),
                )
                .with_snippet(masked_snippet(line, &secrets_on_line));
                f.tool = Some(ToolRating {
                    severity: String::new(),
                    confidence: String::new(),
                    test_name: Some(info.secret_type.to_string()),
                    cwe: Some(798),
                    line_range: Vec::new(),
                    end_col_offset: None,
                });
                f.hashed_secret = Some(hash);
                f.suppressed_by = suppressed_by;
                f = f.with_fact(
                    "value_kind",
                    crate::policy::values::secret_kind(info.code, secret, line),
                );
                if info.code == "PrivateKeyDetector" {
                    let parses = crate::policy::values::private_key_parses(lines, idx);
                    f = f.with_fact("key_parses", if parses { "yes" } else { "no" });
                }
                out.findings.push(f);
            }
        }
        reported
    }

    fn in_baseline(&self, file: &SourceFile, hash: &str) -> bool {
        self.baseline
            .as_ref()
            .is_some_and(|b| b.contains(file.rel_path, hash) || b.contains(file.path, hash))
    }
}

impl Family for SecretsFamily {
    fn check(&self) -> Check {
        Check::Secrets
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        if !self.own_active.is_empty() {
            qgis_project::scan(file, &|code| self.own_active.contains(&code), out);
        }
        // Not scanned, as on plugins.qgis.org: the plugin's metadata and the baseline itself.
        if file.rel_path == "metadata.txt" || file.rel_path == BASELINE {
            return;
        }
        if filters::is_skipped_file(file.path) {
            return;
        }
        // detect-secrets skips files that do not decode as UTF-8.
        let Some(text) = file.text() else { return };
        let p = match patterns() {
            Ok(p) => p,
            Err(e) => {
                out.errors.push(ScanError {
                    check: Check::Secrets,
                    path: file.path.to_string(),
                    message: format!("internal pattern error: {e}"),
                });
                return;
            }
        };
        let plain = py_lines(text);
        // Like detect-secrets: a file configparser can read is scanned as `key = "value"` lines;
        // when a file of no known type gives nothing, it is tried again as a config file.
        let reported =
            match ini::transform(&plain, false, &p.ini_nextline).filter(|l| !l.is_empty()) {
                Some(lines) => self.scan_lines(
                    p,
                    file,
                    &lines.iter().map(String::as_str).collect::<Vec<_>>(),
                    out,
                ),
                None => self.scan_lines(p, file, &plain, out),
            };
        if reported == 0
            && detectors::is_other_file_type(filters::py_ext(file.path))
            && let Some(lines) =
                ini::transform(&plain, true, &p.ini_nextline).filter(|l| !l.is_empty())
        {
            self.scan_lines(
                p,
                file,
                &lines.iter().map(String::as_str).collect::<Vec<_>>(),
                out,
            );
        }
    }

    fn finish(&self, out: &mut FamilyOutput) {
        if let Some(e) = &self.baseline_error {
            out.errors.push(ScanError {
                check: Check::Secrets,
                path: self.baseline_path.clone(),
                message: format!("unreadable baseline: {e}"),
            });
        }
    }
}

/// detect-secrets' default filters, as listed in a baseline it writes.
const FILTERS_USED: &[&str] = &[
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.common.is_ignored_due_to_verification_policies",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_templated_secret",
];

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A `.secrets.baseline`-shaped JSON document of the secrets found, so authors can create and
/// refresh their baseline with Vetted. File names are relative to the package root, where the
/// baseline belongs; secrets silenced by a pragma are left out, as detect-secrets does.
pub fn render_report(report: &crate::report::Report) -> String {
    use serde_json::{Map, Value, json};
    let prefix = report
        .package
        .as_ref()
        .map(|p| format!("{}/", p.name))
        .filter(|p| p != "/");
    let mut rows: Vec<(String, u32, String, String)> = Vec::new();
    for f in report
        .findings
        .iter()
        .chain(&report.suppressed)
        .filter(|f| f.check == Check::Secrets && f.suppressed_by != Some(SuppressedBy::Pragma))
    {
        let name = match &prefix {
            Some(p) => f
                .path
                .strip_prefix(p.as_str())
                .unwrap_or(&f.path)
                .to_string(),
            None => f.path.clone(),
        };
        let kind = f
            .tool
            .as_ref()
            .and_then(|t| t.test_name.clone())
            .unwrap_or_else(|| f.rule.clone());
        rows.push((
            name,
            f.line,
            f.hashed_secret.clone().unwrap_or_default(),
            kind,
        ));
    }
    rows.sort();
    rows.dedup();
    let mut results: Map<String, Value> = Map::new();
    for (name, line, hash, kind) in rows {
        let entry = json!({ "type": kind, "filename": name, "hashed_secret": hash, "is_verified": false, "line_number": line });
        if let Some(Value::Array(list)) = results.get_mut(&name) {
            list.push(entry);
        } else {
            results.insert(name, Value::Array(vec![entry]));
        }
    }
    let plugins: Vec<Value> = DETECTORS
        .iter()
        .map(|d| match d.code {
            "Base64HighEntropyString" => json!({ "name": d.code, "limit": BASE64_LIMIT }),
            "HexHighEntropyString" => json!({ "name": d.code, "limit": HEX_LIMIT }),
            "KeywordDetector" => json!({ "name": d.code, "keyword_exclude": "" }),
            _ => json!({ "name": d.code }),
        })
        .collect();
    let filters: Vec<Value> = FILTERS_USED
        .iter()
        .map(|p| {
            if p.ends_with("verification_policies") {
                json!({ "path": p, "min_level": 2 })
            } else {
                json!({ "path": p })
            }
        })
        .collect();
    let doc = json!({
        "version": "1.5.0",
        "plugins_used": plugins,
        "filters_used": filters,
        "results": results,
        "generated_at": utc_now(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_universal_newlines() {
        assert_eq!(py_lines("a\r\nb\rc\nd"), vec!["a", "b", "c", "d"]);
        assert_eq!(py_lines("a\n"), vec!["a"]);
        assert_eq!(py_lines("\n\n"), vec!["", ""]);
    }

    #[test]
    fn sha1_is_hex() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn snippets_mask_every_secret() {
        let s = masked_snippet("a = 'hunter2hunter2' # hunter2hunter2", &["hunter2hunter2"]);
        assert!(!s.contains("hunter2hunter2"));
    }

    #[test]
    fn rules_cover_every_detector() {
        assert_eq!(RULES.len(), 27);
        assert!(RULES.iter().all(|r| r.tool_default));
    }
}
