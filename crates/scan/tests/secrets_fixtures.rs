//! The secrets family against detect-secrets 1.5.0 on the fixture set: exact (path, line,
//! detector), pragma suppression in every comment style, skipped files, baseline round trip and
//! that no output format ever shows a whole secret.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use vetted_scan::report::{Check, Report, SuppressedBy};
use vetted_scan::{Profile, ScanOptions, scan_path};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn options() -> ScanOptions {
    ScanOptions {
        profile: Profile::ToolDefaults,
        select: vec!["secrets".into()],
        ..Default::default()
    }
}

fn scan(path: &Path) -> Report {
    match scan_path(path, &options()) {
        Ok(r) => r,
        Err(e) => panic!("scan failed: {e}"),
    }
}

type Key = (String, u32, String);

fn keys<'a>(findings: impl Iterator<Item = &'a vetted_scan::Finding>) -> BTreeSet<Key> {
    findings
        .filter(|f| f.check == Check::Secrets)
        .map(|f| (f.path.clone(), f.line, f.rule.clone()))
        .collect()
}

fn expected() -> BTreeSet<Key> {
    let text = fs::read_to_string(fixtures().join("secrets.expected")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((
                cols.next()?.to_string(),
                cols.next()?.parse().ok()?,
                cols.next()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn fixture_findings_match_detect_secrets_exactly() {
    let want = expected();
    assert!(
        want.len() > 80,
        "expected list missing or short: {}",
        want.len()
    );
    let report = scan(&fixtures().join("secrets"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let got = keys(report.findings.iter());
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
}

#[test]
fn every_detector_is_exercised_by_the_fixtures() {
    let rules: BTreeSet<String> = expected().into_iter().map(|k| k.2).collect();
    for code in vetted_scan::secrets::RULES.iter().map(|r| r.code) {
        // Public IPs have no letters, so detect-secrets' `is_not_alphanumeric_string` always drops them.
        if code != "IPPublicDetector" {
            assert!(
                rules.contains(code),
                "{code} has no true case in the fixtures"
            );
        }
    }
}

#[test]
fn pragmas_suppress_in_every_comment_style() {
    let report = scan(&fixtures().join("secrets"));
    let pragma: BTreeSet<(String, u32)> = report
        .suppressed
        .iter()
        .filter(|f| f.suppressed_by == Some(SuppressedBy::Pragma))
        .map(|f| (f.path.clone(), f.line))
        .collect();
    let want: BTreeSet<(String, u32)> = [
        ("filters.py", 13),
        ("filters.py", 14),
        ("filters.py", 16),
        ("web/app.js", 2),
        ("web/app.js", 4),
        ("web/app.js", 5),
        ("db/schema.sql", 2),
        ("db/schema.sql", 4),
        ("web/page.html", 3),
        ("web/page.html", 6),
        ("legacy/module.vb", 2),
        ("native/main.c", 4),
        ("conf/values.yaml", 2),
    ]
    .into_iter()
    .map(|(p, l)| (p.to_string(), l))
    .collect();
    assert_eq!(pragma, want);
    // `//` is not a comment style detect-secrets accepts in `.yaml` files.
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.path == "conf/values.yaml" && f.line == 3)
    );
}

#[test]
fn unread_files_give_nothing() {
    let report = scan(&fixtures().join("secrets"));
    for f in report.findings.iter().chain(&report.suppressed) {
        for skipped in [
            "package-lock.json",
            "docs/swagger/index.js",
            "assets/style.css",
            "assets/fake.png",
            "latin1.py",
        ] {
            assert_ne!(f.path, skipped, "{skipped} should not be scanned");
        }
    }
}

const SECRETS: [&str; 4] = [
    "Zq8rT4vLm2Xw9Kd3",
    "AKIAZ7Q2WXK4L9PB3MVT",
    "ghp_4fT9wQ2zXc8Lm3Kd7Rv1Yb6Np0Hs5Ja2Ue9G",
    "Jk3Lm9Qw2Er7Ty5Ui1Op4As8Df6Gh0Jk3Lm9Qw2Er7T",
];

fn plugin_with_secrets(dir: &Path) -> PathBuf {
    let root = dir.join("fakeplugin");
    let ok = fs::create_dir_all(root.join("sub")).is_ok()
        && fs::write(
            root.join("metadata.txt"),
            "[general]\nname=Fake\npassword = \"Mt5Qx8Wv2Ry7Zu4B\"\n",
        )
        .is_ok()
        && fs::write(
            root.join("__init__.py"),
            format!(
                "password = \"{}\"\naws = '{}'\n\ndef classFactory(iface):\n    return None\n",
                SECRETS[0], SECRETS[1]
            ),
        )
        .is_ok()
        && fs::write(
            root.join("sub/conf.py"),
            format!("token = \"{}\"\nblob = \"{}\"\n", SECRETS[2], SECRETS[3]),
        )
        .is_ok();
    assert!(ok, "cannot write the test plugin");
    root
}

#[test]
fn no_output_format_shows_a_secret() {
    let Ok(tmp) = tempfile::tempdir() else {
        panic!("no temp dir")
    };
    let root = plugin_with_secrets(tmp.path());
    let report = scan(&root);
    let rules = keys(report.findings.iter())
        .into_iter()
        .map(|k| k.2)
        .collect::<BTreeSet<_>>();
    for want in [
        "KeywordDetector",
        "AWSKeyDetector",
        "GitHubTokenDetector",
        "Base64HighEntropyString",
    ] {
        assert!(rules.contains(want), "{want} not found: {rules:?}");
    }
    let outputs = [
        serde_json::to_string_pretty(&report).unwrap_or_default(),
        format!("{report:?}"),
        vetted_scan::report::text::render(
            &report,
            vetted_scan::report::text::Style { color: false },
        ),
        serde_json::to_string(&vetted_scan::report::sarif::render(&report)).unwrap_or_default(),
        vetted_scan::secrets::render_report(&report),
    ];
    for out in &outputs {
        assert!(out.len() > 100);
        for s in SECRETS {
            assert!(!out.contains(s), "a secret leaked into an output");
        }
    }
}

#[test]
fn metadata_is_not_scanned_and_a_baseline_made_by_vetted_suppresses_everything() {
    let Ok(tmp) = tempfile::tempdir() else {
        panic!("no temp dir")
    };
    let root = plugin_with_secrets(tmp.path());
    let first = scan(&root);
    assert!(
        first
            .findings
            .iter()
            .chain(&first.suppressed)
            .all(|f| f.check != Check::Secrets || f.path != "metadata.txt")
    );
    let found = keys(first.findings.iter());
    assert!(found.len() >= 4, "{found:?}");
    assert!(
        first
            .findings
            .iter()
            .filter(|f| f.check == Check::Secrets)
            .all(|f| f.hashed_secret.as_deref().is_some_and(|h| h.len() == 40))
    );

    let baseline = vetted_scan::secrets::render_report(&first);
    let doc: serde_json::Value = serde_json::from_str(&baseline).unwrap_or_default();
    assert_eq!(doc["version"], "1.5.0");
    assert_eq!(doc["plugins_used"].as_array().map(Vec::len), Some(27));
    assert!(doc["results"]["__init__.py"].is_array(), "{baseline}");
    assert!(fs::write(root.join(".secrets.baseline"), &baseline).is_ok());

    let second = scan(&root);
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert!(
        keys(second.findings.iter()).is_empty(),
        "still reported: {:?}",
        keys(second.findings.iter())
    );
    let suppressed = keys(
        second
            .suppressed
            .iter()
            .filter(|f| f.suppressed_by == Some(SuppressedBy::Baseline)),
    );
    assert_eq!(suppressed, found);
    assert_eq!(second.config_files, vec![".secrets.baseline".to_string()]);

    // A new secret is still reported.
    assert!(fs::write(root.join("new.py"), "api_key = \"Xy7Wv3Ut9Sr1Qp5O\"\n").is_ok());
    let third = scan(&root);
    assert_eq!(
        keys(third.findings.iter()),
        [("new.py".to_string(), 1, "KeywordDetector".to_string())]
            .into_iter()
            .collect()
    );
}

#[test]
fn a_broken_baseline_is_an_error() {
    let Ok(tmp) = tempfile::tempdir() else {
        panic!("no temp dir")
    };
    let root = plugin_with_secrets(tmp.path());
    assert!(fs::write(root.join(".secrets.baseline"), "{ not json").is_ok());
    let report = scan(&root);
    assert!(report.errors.iter().any(|e| e.check == Check::Secrets));
}
