//! What a person reads at a terminal: the scanner's text report with the findings that local
//! excludes hide taken out, then (on request) per-rule statistics, which local config was used,
//! the one-line verdict summary and, when the plugin does not pass, the next steps. Also the
//! `--quiet` line and the flake8-style `--statistics` table used by other formats.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vetted_scan::report::{Check, text};
use vetted_scan::{Finding, Report, Severity, Verdict};

use crate::config::LocalConfig;

#[derive(Clone, Copy)]
pub struct TextOptions {
    pub color: bool,
    pub statistics: bool,
}

/// The text report of one input. Its last line is the verdict summary, followed by next steps
/// when the plugin is blocked or invalid.
pub fn render(report: &Report, config: &LocalConfig, options: TextOptions) -> String {
    let mut shown = report.clone();
    let before = shown.findings.len();
    shown.findings.retain(|f| !config.hides(f));
    let hidden = before - shown.findings.len();
    let full = text::render(
        &shown,
        text::Style {
            color: options.color,
        },
    );
    // The scanner's renderer always ends with the verdict line; what this module adds goes
    // just before it so that the summary stays the last thing before the next steps.
    let trimmed = full.trim_end_matches('\n');
    let (body, verdict_line) = match trimmed.rsplit_once('\n') {
        Some((body, last)) => (format!("{body}\n"), last),
        None => (String::new(), trimmed),
    };
    let mut out = body;
    if options.statistics {
        out.push_str(&statistics(report));
    }
    if let Some(line) = config.describe(hidden) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{verdict_line}");
    let steps = next_steps(report);
    if !steps.is_empty() {
        let _ = writeln!(out, "Next steps:");
        for step in steps {
            let _ = writeln!(out, "  - {step}");
        }
    }
    out
}

/// `--quiet`: nothing for a validated input, one line otherwise.
pub fn quiet_line(report: &Report) -> Option<String> {
    let verdict = match report.verdict {
        Verdict::Validated => return None,
        Verdict::Review => "NEEDS REVIEW",
        Verdict::Blocked => "BLOCKED",
        Verdict::Invalid => "INVALID PACKAGE",
    };
    let codes = blocking_codes(report);
    let because = if codes.is_empty() {
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(" ({} scan error(s))", report.errors.len())
        }
    } else {
        let list: Vec<String> = codes
            .iter()
            .map(|(code, n)| format!("{code} ×{n}"))
            .collect();
        format!(" ({})", list.join(", "))
    };
    Some(format!(
        "{verdict}: {}: {} critical finding(s){because}",
        report.target.path, report.stats.critical
    ))
}

/// Counts per rule code, in code order as `flake8 --statistics` prints them: the count, the
/// code and the first message seen for it. Hidden findings count too.
pub fn statistics(report: &Report) -> String {
    let mut by_code: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for f in &report.findings {
        let entry = by_code.entry(f.rule.as_str()).or_insert((0, &f.message));
        entry.0 += 1;
    }
    let mut out = String::new();
    for (code, (n, message)) in by_code {
        let _ = writeln!(out, "{n:<5} {code} {message}");
    }
    out
}

/// Codes of the findings that block (the policy's `block` outcome; critical ones in a report
/// without outcomes) with their counts, most frequent first.
fn blocking_codes(report: &Report) -> Vec<(&str, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| match f.outcome {
        Some(o) => o == vetted_scan::Outcome::Block,
        None => f.severity == Severity::Critical,
    }) {
        *counts.entry(f.rule.as_str()).or_default() += 1;
    }
    let mut codes: Vec<_> = counts.into_iter().collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    codes
}

/// The two or three most useful things to do when the plugin does not pass.
pub fn next_steps(report: &Report) -> Vec<String> {
    if report.verdict == Verdict::Validated {
        return Vec::new();
    }
    if report.verdict == Verdict::Review {
        return vec![
            "Nothing blocks this version; a staff approver checks the items marked `review` before it is published. Fixing them, or saying why they are safe, speeds that up.".to_string(),
        ];
    }
    let mut steps = Vec::new();
    let critical: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    if report.verdict == Verdict::Invalid
        && let Some(f) = critical.iter().find(|f| f.check == Check::Package)
    {
        steps.push(format!(
            "Fix the package first: `vetted rule {}` explains the rule and shows a valid layout; nothing else is vetted until the package is valid.",
            f.rule
        ));
    }
    let codes: Vec<&str> = blocking_codes(report)
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| !c.starts_with("PKG_") && !c.starts_with("ARCHIVE_"))
        .take(2)
        .collect();
    if !codes.is_empty() {
        let commands: Vec<String> = codes.iter().map(|c| format!("`vetted rule {c}`")).collect();
        steps.push(format!(
            "Read {} for why it blocks, a fixed example, and how to suppress a reviewed false positive (suppressions stay visible to reviewers).",
            commands.join(" and ")
        ));
    }
    if critical.iter().any(|f| f.check == Check::Secrets) {
        steps.push(
            "Treat any real credential found as leaked: revoke or rotate it, then remove it; deleting it from the next release does not unpublish older ZIPs."
                .to_string(),
        );
    }
    if !report.errors.is_empty() {
        steps.push(
            "A scan error blocks the plugin: fix the file named in the error above (often a syntax error, see `vetted rule E999`)."
                .to_string(),
        );
    }
    if steps.len() < 2 && critical.iter().any(|f| f.check != Check::Package) {
        steps.push(format!(
            "Run `vetted scan {} --format json` to see every finding with its snippet, including suppressed ones.",
            report.target.path
        ));
    }
    steps.truncate(3);
    steps
}
