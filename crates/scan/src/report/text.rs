//! Human-readable output in the spirit of ruff and bandit: findings grouped by file, each with
//! its code line, then the suppressed count, errors and a verdict line.

use std::fmt::Write;

use super::{Finding, Outcome, Report, Severity, Verdict};

/// ANSI styling, on only when the caller knows it writes to a terminal.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.paint(code, &format!("{:<8}", s.as_str()))
    }
}

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let mut current_path: Option<&str> = None;
    for f in &report.findings {
        if current_path != Some(f.path.as_str()) {
            if current_path.is_some() {
                out.push('\n');
            }
            let title = if f.path.is_empty() {
                "(package)"
            } else {
                f.path.as_str()
            };
            let _ = writeln!(out, "{}", style.paint("1", title));
            current_path = Some(f.path.as_str());
        }
        write_finding(&mut out, f, style);
    }
    if !report.findings.is_empty() {
        out.push('\n');
    }
    if let Some(pkg) = &report.package {
        let version = pkg
            .metadata
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        let _ = writeln!(out, "Plugin: {} {version}", pkg.name);
    }
    if !report.config_files.is_empty() {
        let _ = writeln!(out, "Config used: {}", report.config_files.join(", "));
    }
    if !report.skipped_rules.is_empty() {
        let _ = writeln!(out, "Skipped rules: {}", report.skipped_rules.join(", "));
    }
    if !report.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "Suppressed: {} finding(s) (see --format json for details)",
            report.suppressed.len()
        );
    }
    write_policy(&mut out, report, style);
    write_capabilities(&mut out, report, style);
    write_projects(&mut out, report, style);
    for e in &report.errors {
        let where_ = if e.path.is_empty() {
            String::new()
        } else {
            format!(" {}", e.path)
        };
        let _ = writeln!(
            out,
            "{} [{}]{where_}: {}",
            style.paint("1;31", "error"),
            e.check.id(),
            e.message
        );
    }
    let s = &report.stats;
    let verdict = match report.verdict {
        Verdict::Validated => style.paint("1;32", "VALIDATED"),
        Verdict::Review => style.paint("1;33", "VALIDATED, NEEDS REVIEW"),
        Verdict::Blocked => style.paint("1;31", "BLOCKED"),
        Verdict::Invalid => style.paint("1;31", "INVALID PACKAGE"),
    };
    let _ = writeln!(
        out,
        "{verdict}: {} critical, {} warning(s), {} info in {} file(s); {}/{} checks passed; {} ms",
        s.critical,
        s.warnings,
        s.info,
        s.files_scanned,
        s.checks_passed,
        s.checks_total,
        report.duration_ms
    );
    out
}

/// "This plugin can:" — one line per kind of capability, with the APIs and a few targets.
fn write_capabilities(out: &mut String, report: &Report, style: Style) {
    let summary = crate::capabilities::summarize(report);
    if summary.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.paint("1", "This plugin can:"));
    for k in summary {
        let shown_apis = k
            .apis
            .iter()
            .take(4)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = if k.apis.len() > 4 { ", …" } else { "" };
        let note = if k.undeclared {
            style.paint("1;33", " [not declared in metadata.txt]")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  - {} ({} place(s) in {} file(s): {shown_apis}{more}){note}",
            k.kind.describe(),
            k.places,
            k.files
        );
        for t in k.targets.iter().take(3) {
            let _ = writeln!(out, "      {t}");
        }
        if k.targets.len() > 3 {
            let _ = writeln!(out, "      … and {} more target(s)", k.targets.len() - 3);
        }
    }
}

/// "QGIS projects:" — how each bundled project handles credentials.
fn write_projects(out: &mut String, report: &Report, style: Style) {
    if report.qgis_projects.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.paint("1", "QGIS projects:"));
    for p in &report.qgis_projects {
        let passwords = if p.stored_passwords > 0 {
            style.paint(
                "1;31",
                &format!("{} stored password(s)", p.stored_passwords),
            )
        } else {
            "no stored password".to_string()
        };
        let _ = writeln!(
            out,
            "  - {}: {} authentication configuration reference(s) (authcfg), {passwords}",
            p.path, p.authcfg
        );
    }
}

/// The policy's decisions about the version as a whole, and the author's claims
/// (suppressions) a reviewer should check.
fn write_policy(out: &mut String, report: &Report, style: Style) {
    let Some(policy) = &report.policy else {
        return;
    };
    let _ = writeln!(out, "Policy: {} {}", policy.name, policy.version);
    for n in &policy.notes {
        let where_ = if n.path.is_empty() {
            String::new()
        } else {
            format!(" {}", n.path)
        };
        let _ = writeln!(
            out,
            "  {}{where_}: {} ({})",
            outcome(style, n.outcome),
            n.message,
            n.because
        );
    }
    let claims: Vec<&Finding> = report
        .suppressed
        .iter()
        .filter(|f| f.outcome.is_some_and(|o| o != Outcome::Pass))
        .collect();
    if !claims.is_empty() {
        let _ = writeln!(out, "Author's claims to check (suppressed findings):");
        for f in claims {
            let by = f.suppressed_by.map_or("", |s| match s {
                super::SuppressedBy::Nosec => "# nosec",
                super::SuppressedBy::Noqa => "# noqa",
                super::SuppressedBy::Pragma => "# pragma: allowlist secret",
                super::SuppressedBy::Baseline => ".secrets.baseline",
                super::SuppressedBy::Config => "bundled config",
                super::SuppressedBy::Skipped => "skipped at upload",
            });
            let _ = writeln!(
                out,
                "  {} {}:{} {} {} [{by}]",
                outcome(style, f.outcome.unwrap_or(Outcome::Pass)),
                f.path,
                f.line,
                f.rule,
                f.message
            );
        }
    }
}

fn outcome(style: Style, o: Outcome) -> String {
    let code = match o {
        Outcome::Block => "1;31",
        Outcome::Review => "1;33",
        Outcome::Pass => "2",
    };
    style.paint(code, &format!("{:<6}", o.as_str()))
}

fn write_finding(out: &mut String, f: &Finding, style: Style) {
    let pos = if f.line > 0 {
        format!("{}:{}", f.line, f.column.max(1))
    } else {
        "-".to_string()
    };
    let _ = writeln!(
        out,
        "  {:>7}  {} {}  {}",
        pos,
        style.severity(f.severity),
        style.paint("1", &f.rule),
        f.message
    );
    if let (Some(o), Some(because)) = (f.outcome, &f.because) {
        let _ = writeln!(
            out,
            "  {:>7}  {} {}",
            "",
            outcome(style, o),
            style.paint("2", &format!("({because})"))
        );
    }
    if !f.snippet.is_empty() && f.line > 0 {
        for (i, line) in f.snippet.lines().take(3).enumerate() {
            let n = f.line as usize + i;
            let _ = writeln!(out, "  {:>7} | {}", style.paint("2", &n.to_string()), line);
        }
    }
}
