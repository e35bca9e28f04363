//! The flake8 family on fixtures whose expected findings were taken from Flake8 7.5.0 run on the
//! same files (`flake8 .` inside each fixture folder): exact (path, line, column, code).

use std::path::{Path, PathBuf};

use vetted_scan::report::{Check, SuppressedBy};
use vetted_scan::{Profile, Report, ScanOptions, scan_path};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flake8")
        .join(name)
}

fn scan(path: &Path, profile: Profile) -> Report {
    let options = ScanOptions {
        profile,
        select: vec!["flake8".into()],
        ..Default::default()
    };
    let options = if profile == Profile::ToolDefaults {
        ScanOptions {
            select: Vec::new(),
            ..options
        }
    } else {
        options
    };
    scan_path(path, &options).expect("fixture scans")
}

fn keys(report: &Report) -> Vec<(String, u32, u32, String)> {
    let mut v: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Flake8)
        .map(|f| (f.path.clone(), f.line, f.column, f.rule.clone()))
        .collect();
    v.sort();
    v
}

fn k(path: &str, line: u32, col: u32, code: &str) -> (String, u32, u32, String) {
    (path.to_string(), line, col, code.to_string())
}

#[test]
fn continuation_lines_long_lines_and_noqa_match_flake8() {
    let report = scan(&fixture("continuation"), Profile::ToolDefaults);
    let mut expected = vec![
        k("cont.py", 6, 9, "E128"),
        k("cont.py", 11, 5, "E128"),
        k("cont.py", 15, 10, "F821"),
        k("cont.py", 20, 5, "E129"),
        k("cont.py", 24, 7, "E131"),
        k("cont.py", 27, 15, "E127"),
        k("cont.py", 32, 80, "E501"),
        k("cont.py", 39, 30, "E128"),
        k("cont.py", 46, 30, "E128"),
        k("cont.py", 56, 80, "E501"),
    ];
    expected.sort();
    assert_eq!(keys(&report), expected);
    let suppressed: Vec<_> = report
        .suppressed
        .iter()
        .map(|f| (f.line, f.rule.as_str(), f.suppressed_by))
        .collect();
    assert_eq!(suppressed, vec![(43, "E128", Some(SuppressedBy::Noqa))]);
    let e501 = report.findings.iter().find(|f| f.rule == "E501").unwrap();
    assert_eq!(e501.message, "line too long (85 > 79 characters)");
    let text = vetted_scan::flake8::render_report(&report);
    assert!(
        text.lines()
            .any(|l| l == "cont.py:6:9: E128 continuation line under-indented for visual indent"),
        "{text}"
    );
}

#[test]
fn a_syntax_error_is_the_only_finding_of_its_file() {
    let report = scan(&fixture("syntax"), Profile::ToolDefaults);
    let found = keys(&report);
    let bad: Vec<_> = found.iter().filter(|f| f.0 == "bad.py").collect();
    assert_eq!(bad.len(), 1, "{found:?}");
    assert_eq!((bad[0].1, bad[0].3.as_str()), (5, "E999"));
    assert!(found.contains(&k("good.py", 1, 1, "F401")));
}

#[test]
fn bundled_setup_cfg_is_honoured() {
    let report = scan(&fixture("config"), Profile::ToolDefaults);
    assert_eq!(
        keys(&report),
        vec![
            k("pkg/mod.py", 1, 1, "F401"),
            k("pkg/mod.py", 5, 101, "E501")
        ]
    );
    assert_eq!(report.config_files, vec!["setup.cfg".to_string()]);
}

#[test]
fn qgis_profile_uses_120_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.py"),
        format!("x = '{}'\ny = 1 == None\n", "a".repeat(100)),
    )
    .unwrap();
    let defaults = scan(dir.path(), Profile::ToolDefaults);
    assert!(keys(&defaults).contains(&k("m.py", 1, 80, "E501")));
    assert!(keys(&defaults).contains(&k("m.py", 2, 7, "E711")));
    let qgis = scan(dir.path(), Profile::Qgis);
    assert!(
        !keys(&qgis).iter().any(|f| f.3 == "E501"),
        "{:?}",
        keys(&qgis)
    );
    assert!(keys(&qgis).contains(&k("m.py", 2, 7, "E711")));
}

#[test]
fn file_level_noqa_and_latin1_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("skip.py"), "# flake8: noqa\nimport os\n").unwrap();
    // Not UTF-8 and no cookie: Flake8 falls back to Latin-1 and still checks the file.
    std::fs::write(dir.path().join("latin.py"), b"import os\nx = '\xe9'\n").unwrap();
    let report = scan(dir.path(), Profile::ToolDefaults);
    assert_eq!(keys(&report), vec![k("latin.py", 1, 1, "F401")]);
}
