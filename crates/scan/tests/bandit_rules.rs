//! Bandit family: exact (line, rule, severity, confidence) on small fixtures, `# nosec`,
//! syntax errors and a bundled `.bandit`.

use std::path::Path;

use vetted_scan::report::{Check, SuppressedBy};
use vetted_scan::{Finding, Profile, Report, ScanOptions, scan_path};

fn scan(dir: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bandit")
        .join(dir);
    let options = ScanOptions {
        profile: Profile::ToolDefaults,
        ..ScanOptions::default()
    };
    match scan_path(&path, &options) {
        Ok(r) => r,
        Err(e) => panic!("scan failed: {e}"),
    }
}

fn keys<'a>(
    items: impl Iterator<Item = &'a Finding>,
    file: &str,
) -> Vec<(u32, String, String, String)> {
    let mut out: Vec<_> = items
        .filter(|f| f.check == Check::Bandit && f.path.ends_with(file))
        .map(|f| {
            let t = f
                .tool
                .clone()
                .unwrap_or_else(|| panic!("{} has no tool rating", f.rule));
            (f.line, f.rule.clone(), t.severity, t.confidence)
        })
        .collect();
    out.sort();
    out
}

fn k(line: u32, rule: &str, sev: &str, conf: &str) -> (u32, String, String, String) {
    (line, rule.into(), sev.into(), conf.into())
}

#[test]
fn rates_calls_like_bandit() {
    let r = scan("pkg");
    let got = keys(r.findings.iter(), "calls.py");
    let want = vec![
        k(1, "B404", "LOW", "HIGH"),
        k(6, "B602", "LOW", "HIGH"),
        k(6, "B607", "LOW", "HIGH"),
        k(7, "B602", "HIGH", "HIGH"),
        k(8, "B605", "HIGH", "HIGH"),
        k(9, "B324", "HIGH", "HIGH"),
        k(11, "B113", "MEDIUM", "LOW"),
        k(13, "B105", "LOW", "MEDIUM"),
        k(14, "B101", "LOW", "HIGH"),
    ];
    assert_eq!(got, want);
    // Bandit's text quotes the password; Vetted masks it there and in the snippet, as it masks
    // every secret it reports.
    let b105 = r.findings.iter().find(|f| f.rule == "B105");
    assert_eq!(
        b105.map(|f| f.message.as_str()),
        Some("Possible hardcoded password: 'hu…'")
    );
    assert_eq!(
        b105.map(|f| f.snippet.as_str()),
        Some("password = \"hu…\"\n")
    );
}

#[test]
fn nosec_moves_findings_to_suppressed() {
    let r = scan("pkg");
    assert_eq!(
        keys(r.findings.iter(), "nosec.py"),
        vec![k(6, "B307", "MEDIUM", "HIGH")]
    );
    let suppressed = keys(r.suppressed.iter(), "nosec.py");
    assert_eq!(
        suppressed,
        vec![
            k(1, "B404", "LOW", "HIGH"),
            k(4, "B603", "LOW", "HIGH"),
            k(7, "B102", "MEDIUM", "HIGH"),
            k(10, "B110", "LOW", "HIGH"),
        ]
    );
    assert!(
        r.suppressed
            .iter()
            .filter(|f| f.path.ends_with("nosec.py"))
            .all(|f| f.suppressed_by == Some(SuppressedBy::Nosec))
    );
}

#[test]
fn python2_file_is_an_error_and_others_still_scanned() {
    let r = scan("pkg");
    let errors: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.check == Check::Bandit)
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].path.ends_with("py2.py"));
    assert_eq!(
        errors[0].message,
        "syntax error while parsing AST from file"
    );
    assert!(!keys(r.findings.iter(), "calls.py").is_empty());
}

#[test]
fn bundled_bandit_file_skips_tests() {
    let r = scan("configured");
    assert_eq!(
        keys(r.findings.iter(), "mod.py"),
        vec![k(2, "B403", "LOW", "HIGH")]
    );
    let skipped: Vec<_> = r.suppressed.iter().filter(|f| f.rule == "B101").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].suppressed_by, Some(SuppressedBy::Config));
    assert!(r.config_files.iter().any(|c| c.ends_with(".bandit")));
}

#[test]
fn bandit_json_report_has_bandit_fields() {
    let r = scan("pkg");
    let text = vetted_scan::bandit::render_report(&r);
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON: {e}"));
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    let b602 = results
        .iter()
        .find(|x| x["test_id"] == "B602" && x["line_number"] == 7);
    let b602 = b602.unwrap_or_else(|| panic!("no B602 at line 7 in {text}"));
    assert_eq!(b602["test_name"], "subprocess_popen_with_shell_equals_true");
    assert_eq!(b602["issue_cwe"]["id"], 78);
    assert_eq!(b602["line_range"], serde_json::json!([7]));
    assert_eq!(b602["col_offset"], 0);
    assert_eq!(b602["end_col_offset"], 30);
    assert_eq!(b602["code"], "7 sp.Popen(user_cmd, shell=True)\n");
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(1));
}

#[test]
fn resolves_names_like_bandit() {
    let r = scan("resolve");
    let want = vec![
        k(2, "B405", "LOW", "HIGH"),
        k(5, "B403", "LOW", "HIGH"),
        k(6, "B401", "HIGH", "HIGH"),
        k(7, "B314", "MEDIUM", "HIGH"),
        k(8, "B324", "HIGH", "HIGH"),
        k(9, "B608", "MEDIUM", "LOW"),
        k(10, "B608", "MEDIUM", "MEDIUM"),
    ];
    assert_eq!(keys(r.findings.iter(), "resolve.py"), want);
}

#[test]
fn nosec_on_any_line_of_a_statement() {
    let r = scan("resolve");
    assert!(keys(r.findings.iter(), "multiline.py").is_empty());
    assert_eq!(
        keys(r.suppressed.iter(), "multiline.py"),
        vec![
            k(2, "B605", "HIGH", "HIGH"),
            k(6, "B108", "MEDIUM", "MEDIUM"),
            k(9, "B108", "MEDIUM", "MEDIUM")
        ]
    );
}

#[test]
fn too_deep_files_are_errors_as_in_bandit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let chain = vec!["\"s\""; 5000].join(" + ");
    std::fs::write(dir.path().join("deep.py"), format!("q = {chain}\n"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    std::fs::write(dir.path().join("ok.py"), "assert x\n").unwrap_or_else(|e| panic!("write: {e}"));
    let options = ScanOptions {
        profile: Profile::ToolDefaults,
        ..ScanOptions::default()
    };
    let r = scan_path(dir.path(), &options).unwrap_or_else(|e| panic!("scan failed: {e}"));
    let errors: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.check == Check::Bandit)
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].path.ends_with("deep.py"));
    assert_eq!(errors[0].message, "exception while scanning file");
    assert_eq!(
        keys(r.findings.iter(), "ok.py"),
        vec![k(1, "B101", "LOW", "HIGH")]
    );
}

#[test]
fn pyproject_bandit_section_applies_under_the_qgis_profile_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bandit/pyproject");
    let qgis =
        scan_path(&path, &ScanOptions::default()).unwrap_or_else(|e| panic!("scan failed: {e}"));
    assert!(keys(qgis.findings.iter(), "mod.py").is_empty());
    let skipped: Vec<_> = qgis
        .suppressed
        .iter()
        .filter(|f| f.rule == "B403")
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].suppressed_by, Some(SuppressedBy::Config));
    assert!(
        qgis.config_files
            .iter()
            .any(|c| c.ends_with("pyproject.toml"))
    );
    // `bandit -r` with no options does not read pyproject.toml.
    let tool = scan("pyproject");
    assert_eq!(
        keys(tool.findings.iter(), "mod.py"),
        vec![k(1, "B403", "LOW", "HIGH")]
    );
}
