//! SARIF 2.1.0 output, shaped for GitHub code scanning: one run, the catalog's rules as the
//! driver's rules (stable ids), results with locations, suppressions and `partialFingerprints`
//! that survive unrelated edits (rule, path and the flagged line's content, not its number).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Finding, Report, Severity, SuppressedBy};
use crate::catalog::catalog;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.rule.as_bytes());
    h.update([0]);
    h.update(f.path.as_bytes());
    h.update([0]);
    let first = f.snippet.lines().next().unwrap_or("").trim();
    h.update(first.as_bytes());
    if first.is_empty() {
        h.update(f.message.as_bytes());
    }
    format!("{}:1", &hex::encode(h.finalize())[..32])
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": f.message },
        "partialFingerprints": { "vettedFindingHash/v1": fingerprint(f) },
        "properties": { "check": f.check.id(), "severity": f.severity.as_str() },
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    let mut physical = json!({ "artifactLocation": { "uri": if f.path.is_empty() { "." } else { f.path.as_str() } } });
    if f.line > 0 {
        let mut region = json!({ "startLine": f.line });
        if f.column > 0 {
            region["startColumn"] = json!(f.column);
        }
        if !f.snippet.is_empty() {
            region["snippet"] = json!({ "text": f.snippet });
        }
        physical["region"] = region;
    }
    r["locations"] = json!([{ "physicalLocation": physical }]);
    if let Some(tool) = &f.tool {
        r["properties"]["toolSeverity"] = json!(tool.severity);
        r["properties"]["toolConfidence"] = json!(tool.confidence);
    }
    if let Some(outcome) = f.outcome {
        r["properties"]["outcome"] = json!(outcome.as_str());
    }
    if let Some(because) = &f.because {
        r["properties"]["because"] = json!(because);
    }
    if !f.context.is_empty() {
        r["properties"]["context"] = json!(f.context);
    }
    if let Some(by) = f.suppressed_by {
        let (kind, why) = match by {
            SuppressedBy::Nosec => ("inSource", "# nosec"),
            SuppressedBy::Noqa => ("inSource", "# noqa"),
            SuppressedBy::Pragma => ("inSource", "# pragma: allowlist secret"),
            SuppressedBy::Baseline => ("external", ".secrets.baseline"),
            SuppressedBy::Config => ("external", "bundled configuration file"),
            SuppressedBy::Skipped => ("external", "rule skipped at upload"),
        };
        r["suppressions"] = json!([{ "kind": kind, "justification": why }]);
    }
    r
}

pub fn render(report: &Report) -> Value {
    let cat = catalog();
    let mut used: Vec<&str> = report
        .findings
        .iter()
        .chain(&report.suppressed)
        .map(|f| f.rule.as_str())
        .collect();
    used.sort();
    used.dedup();
    let rules: Vec<Value> = used
        .iter()
        .map(|code| {
            let rule = cat.get(code);
            let name = rule.map_or(*code, |r| r.name);
            let desc = rule
                .map(|r| r.description())
                .filter(|d| !d.is_empty())
                .unwrap_or(name);
            let severity = rule.map_or(Severity::Warning, |r| r.severity);
            let check = rule.map_or("", |r| r.check.id());
            json!({
                "id": code,
                "name": name,
                "shortDescription": { "text": name },
                "fullDescription": { "text": desc },
                "defaultConfiguration": { "level": level(severity) },
                "properties": { "tags": [check, "security"], "check": check },
            })
        })
        .collect();
    let index = |code: &str| used.iter().position(|c| *c == code);
    let results: Vec<Value> = report
        .findings
        .iter()
        .chain(&report.suppressed)
        .map(|f| result(f, index(&f.rule)))
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({ "level": "error", "message": { "text": format!("[{}] {} {}", e.check.id(), e.path, e.message).trim().to_string() } }))
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vetted",
                "version": report.scanner.version,
                "semanticVersion": report.scanner.version,
                "informationUri": "https://github.com/vetted-qgis/vetted",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "verdict": report.verdict.as_str(),
                "ruleset": report.scanner.ruleset,
                "profile": report.scanner.profile,
                "policy": report.policy,
                "libraries": report.libraries,
                "brokenFiles": report.broken_files,
                // The capability manifest, as in the JSON report (not results: it is not a
                // problem to fix, and code scanning would show it as one).
                "capabilities": report.capabilities,
            },
        }],
    })
}
