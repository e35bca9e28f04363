//! What plugin authors touch beyond `scan`'s formats: `vetted rule` for every catalog rule,
//! local config, `--quiet`, `--statistics`, next steps and scanning standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SECTIONS: [&str; 6] = [
    "What it reports:",
    "Why it matters:",
    "Bad:",
    "Good:",
    "How to suppress:",
    "What a suppression costs:",
];

fn vetted() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vetted"))
}

fn fixture_plugin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plugins/hello_vetted")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of the sample plugin with a shell injection (B602) and an AWS key pair.
fn blocked_plugin(dir: &Path) -> PathBuf {
    let plugin = dir.join("blocked_plugin");
    std::fs::create_dir_all(&plugin).unwrap();
    for entry in std::fs::read_dir(fixture_plugin()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, plugin.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        plugin.join("tools.py"),
        "import subprocess\n\naws_access_key_id = \"AKIAIOSFODNN7EXAMPLQ\"\naws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEQ\"\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
    )
    .unwrap();
    plugin
}

#[test]
fn every_catalog_rule_has_a_rule_page_with_every_section() {
    let mut missing = Vec::new();
    for rule in vetted_scan::catalog::catalog().rules() {
        let out = vetted().args(["rule", rule.code]).output().unwrap();
        let doc = text(&out);
        if out.status.code() != Some(0) || !doc.starts_with(rule.code) {
            missing.push(format!("{}: exit {:?}", rule.code, out.status.code()));
            continue;
        }
        let mut at = 0;
        for section in SECTIONS {
            match doc[at..].find(&format!("\n{section}\n")) {
                Some(i) => at += i + section.len() + 2,
                None => missing.push(format!("{}: no {section}", rule.code)),
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn rule_page_teaches_and_unknown_codes_are_usage_errors() {
    let doc = text(&vetted().args(["rule", "B602"]).output().unwrap());
    assert!(doc.contains("shell=True"), "{doc}");
    assert!(doc.contains("# nosec B602"), "{doc}");
    assert!(doc.contains("blocks the plugin"), "{doc}");
    let out = vetted().args(["rule", "b602"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean B602"));
}

#[test]
fn blocked_text_ends_with_summary_and_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = blocked_plugin(dir.path());
    let out = vetted().arg("scan").arg(&plugin).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out);
    let lines: Vec<&str> = report.lines().collect();
    let summary = lines
        .iter()
        .position(|l| l.starts_with("BLOCKED:"))
        .expect("summary line");
    assert_eq!(lines[summary + 1], "Next steps:", "{report}");
    let steps = &lines[summary + 2..];
    assert!((2..=3).contains(&steps.len()), "{report}");
    assert!(steps.iter().all(|s| s.starts_with("  - ")), "{report}");
    assert!(report.contains("vetted rule "), "{report}");
    assert!(report.contains("revoke"), "{report}");

    let clean = text(&vetted().arg("scan").arg(fixture_plugin()).output().unwrap());
    assert!(
        clean
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("VALIDATED"),
        "{clean}"
    );
}

#[test]
fn quiet_prints_nothing_on_success_and_one_line_when_blocked() {
    let out = vetted()
        .args(["scan", "--quiet"])
        .arg(fixture_plugin())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let out = vetted()
        .args(["scan", "-q"])
        .arg(blocked_plugin(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out);
    assert_eq!(report.lines().count(), 1, "{report}");
    assert!(
        report.starts_with("BLOCKED: ") && report.contains("B602"),
        "{report}"
    );
}

#[test]
fn statistics_count_findings_per_code() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = blocked_plugin(dir.path());
    let out = vetted()
        .args(["scan", "--statistics", "--format", "json"])
        .arg(&plugin)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats = String::from_utf8_lossy(&out.stderr);
    for code in ["B602", "AWSKeyDetector"] {
        let n = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == code)
            .count();
        assert!(n > 0);
        assert!(
            stats.lines().any(|l| l
                .split_whitespace()
                .take(2)
                .eq([n.to_string().as_str(), code])),
            "{code} ×{n} not in\n{stats}"
        );
    }
    let out = vetted()
        .args(["scan", "--statistics"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(
        text(&out)
            .lines()
            .any(|l| l.ends_with("B602") || l.contains(" B602 "))
    );
}

#[test]
fn local_config_chooses_format_and_hides_but_never_passes() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = blocked_plugin(dir.path());
    std::fs::write(
        plugin.join("vetted.toml"),
        "exclude = [\"tools.py\"]\nprofile = \"qgis\"\n",
    )
    .unwrap();
    let out = vetted().arg("scan").arg(&plugin).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "excluded findings still block");
    let report = text(&out);
    assert!(!report.contains("B602"), "{report}");
    assert!(
        report.contains("Local config: ") && report.contains("vetted.toml"),
        "{report}"
    );
    assert!(
        report.contains("hid 3 finding(s)") || report.contains("still count"),
        "{report}"
    );
    assert!(report.contains("BLOCKED"), "{report}");

    // The repository around a plugin folder: pyproject.toml chooses JSON.
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\n\n[tool.vetted]\nformat = \"json\"\n",
    )
    .unwrap();
    let out = vetted().arg("scan").arg(&plugin).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "blocked");
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "B602"),
        "JSON keeps excluded findings"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("vetted.toml") && stderr.contains("pyproject.toml"),
        "{stderr}"
    );
    let out = vetted()
        .args(["scan", "--format", "text", "--no-config"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(text(&out).contains("B602"));

    std::fs::write(plugin.join("vetted.toml"), "profile = \"tool-defaults\"\n").unwrap();
    let out = vetted().arg("scan").arg(&plugin).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may differ from its verdict"),
        "a config profile other than qgis is announced"
    );

    // With the profile on the command line the configs are read while the scan runs: they
    // still choose the format, and a broken one still fails the run.
    std::fs::write(plugin.join("vetted.toml"), "exclude = [\"tools.py\"]\n").unwrap();
    let out = vetted()
        .args(["scan", "--profile", "qgis"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "blocked");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("vetted.toml") && stderr.contains("pyproject.toml"),
        "{stderr}"
    );

    std::fs::write(plugin.join("vetted.toml"), "ignore = [\"B602\"]\n").unwrap();
    for profile in [None, Some("qgis")] {
        let mut cmd = vetted();
        cmd.arg("scan");
        if let Some(p) = profile {
            cmd.args(["--profile", p]);
        }
        let out = cmd.arg(&plugin).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{profile:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot be set"),
            "{profile:?}"
        );
        assert!(
            out.stdout.is_empty(),
            "{profile:?}: no report from a broken config"
        );
    }
}

#[test]
fn stdin_is_scanned_under_the_given_name() {
    let mut child = vetted()
        .args([
            "scan",
            "--format",
            "json",
            "-",
            "--stdin-filename",
            "myplugin/tools.py",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"import subprocess\nsubprocess.call(cmd, shell=True)\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["target"]["path"], "myplugin/tools.py");
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "B602"));
    assert!(
        findings.iter().all(|f| f["path"] == "myplugin/tools.py"),
        "{findings:?}"
    );

    let out = vetted()
        .args(["scan", "x.py", "--stdin-filename", "a.py"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn usage_errors_exit_three_not_two() {
    // 2 means "invalid package" to pre-commit and CI; a bad flag must not look like one.
    for args in [
        &["scan", "--format", "nope", "x"][..],
        &["rule"],
        &["scan"],
        &["nope"],
    ] {
        let out = vetted().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
    let out = vetted().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).starts_with("vetted "));
}

#[test]
fn scanning_a_repository_root_points_at_the_plugin_folder() {
    let dir = tempfile::tempdir().unwrap();
    blocked_plugin(dir.path());
    let out = vetted().arg("scan").arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("blocked_plugin holds metadata.txt"),
        "{stderr}"
    );
    let out = vetted().arg("scan").arg(fixture_plugin()).output().unwrap();
    assert!(out.stderr.is_empty());
}
