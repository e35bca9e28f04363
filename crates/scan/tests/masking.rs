//! A secret found on a line is masked in every finding of that line, whichever family reports
//! it: Bandit's B105 quotes the password it found, and a Flake8 or Bandit finding's snippet is
//! the source line itself.

use vetted_scan::{Profile, ScanOptions, scan_path};

#[test]
fn secrets_are_masked_in_every_family_s_messages_and_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AKIAZ7QXHV3WJKLMNOPQ";
    let password = "Hunt3r2-s3cret-Pw";
    std::fs::write(
        dir.path().join("settings.py"),
        format!(
            "import subprocess\npassword = \"{password}\"\nAWS_KEY = \"{key}\"  # a long line that goes past the limit of seventy-nine columns\nsubprocess.call(\"curl -u admin:{password} https://example.org\", shell=True)\n"
        ),
    )
    .unwrap();
    let options = ScanOptions {
        profile: Profile::ToolDefaults,
        ..Default::default()
    };
    let report = scan_path(dir.path(), &options).unwrap();
    let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    for expected in ["B105", "E501", "B602", "AWSKeyDetector", "KeywordDetector"] {
        assert!(
            rules.contains(&expected),
            "{expected} missing from {rules:?}"
        );
    }
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(password), "the password leaked: {json}");
    assert!(!json.contains(key), "the key leaked");
    let b105 = report.findings.iter().find(|f| f.rule == "B105").unwrap();
    assert_eq!(b105.message, "Possible hardcoded password: 'Hunt…'");
}
