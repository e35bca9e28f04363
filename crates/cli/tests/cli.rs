//! The `vetted` binary end to end: exit codes, output formats, `--output`, `rules`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn vetted() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vetted"))
}

fn fixture_plugin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plugins/hello_vetted")
}

/// Zips a folder into `dir/name.zip` with a top-level folder, as plugin ZIPs are laid out.
fn zip_folder(src: &Path, dir: &Path, skip: &[&str]) -> PathBuf {
    let top = src.file_name().unwrap().to_str().unwrap().to_string();
    let path = dir.join(format!("{top}.zip"));
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let mut names: Vec<_> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if skip.contains(&name.as_str()) {
            continue;
        }
        zip.start_file(
            format!("{top}/{name}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(&p).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    path
}

#[test]
fn clean_plugin_exits_zero_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_folder(&fixture_plugin(), dir.path(), &[]);
    let out = vetted().args(["scan"]).arg(&zip).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("VALIDATED"), "{text}");
    assert!(text.contains("hello_vetted 1.0.0"));
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let out = vetted()
        .args(["scan", "--format", "json"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "validated");
    assert_eq!(report["target"]["kind"], "zip");
    assert_eq!(report["package"]["name"], "hello_vetted");
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "schema",
        "scanner",
        "target",
        "package",
        "verdict",
        "stats",
        "checks",
        "findings",
        "suppressed",
        "errors",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(keys[0], "schema", "fields keep their documented order");

    let out = vetted()
        .args(["scan", "--format", "sarif"])
        .arg(&zip)
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["name"], "vetted");
}

#[test]
fn invalid_package_exits_two_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_folder(&fixture_plugin(), dir.path(), &["LICENSE"]);
    let out = vetted()
        .args(["scan", "--format", "json"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "invalid");
    let f = &report["findings"][0];
    assert_eq!(f["rule"], "PKG_LICENSE");
    assert_eq!(f["check"], "package");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["path"], "hello_vetted/LICENSE");

    let sarif_path = dir.path().join("out.sarif");
    let out = vetted()
        .args(["scan", "--format", "sarif", "--output"])
        .arg(&sarif_path)
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "PKG_LICENSE");
    assert_eq!(result["level"], "error");
    assert!(
        result["partialFingerprints"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .is_string()
    );
}

#[test]
fn usage_and_io_errors_exit_three() {
    let out = vetted()
        .args(["scan", "/definitely/not/here.zip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot access"));
    let out = vetted()
        .args(["scan", "--format", "nope", "x"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_folder(&fixture_plugin(), dir.path(), &[]);
    let out = vetted()
        .args(["scan", "--output", "/definitely/not/here/out.json"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn plugin_folder_and_single_file() {
    let out = vetted()
        .args(["scan", "--format", "json"])
        .arg(fixture_plugin())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["target"]["kind"], "directory");
    assert_eq!(report["package"]["name"], "hello_vetted");
    let out = vetted()
        .args(["scan", "--format", "json"])
        .arg(fixture_plugin().join("plugin.py"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["target"]["kind"], "file");
    assert!(report["package"].is_null());
}

#[test]
fn rules_lists_the_catalog() {
    let out = vetted()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rules.len() >= 205);
    let b602 = rules.iter().find(|r| r["code"] == "B602").unwrap();
    assert_eq!(b602["severity"], "critical");
    assert_eq!(b602["enabled"], true);
    assert_eq!(b602["skippable"], false);
    assert!(!b602["description"].as_str().unwrap().is_empty());
    let out = vetted()
        .args(["rules", "--family", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn many_inputs_keep_their_order_and_end_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let good = zip_folder(&fixture_plugin(), dir.path(), &[]);
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir(&bad_dir).unwrap();
    let bad = zip_folder(&fixture_plugin(), &bad_dir, &["LICENSE"]);
    let blocked = dir.path().join("blocked.py");
    std::fs::write(
        &blocked,
        "import subprocess\nsubprocess.call(input(), shell=True)\n",
    )
    .unwrap();
    let out = vetted()
        .args(["scan", "--format", "json"])
        .args([&good, &bad, &blocked, &good])
        .output()
        .unwrap();
    // The worst verdict decides: invalid (2) over blocked (1) over validated (0).
    assert_eq!(out.status.code(), Some(2));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["validated", "invalid", "blocked", "validated"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 inputs: 2 validated, 1 blocked, 1 invalid, 0 not readable"),
        "{stderr}"
    );

    // An unreadable input is reported, the others are still scanned, and the exit code is 3.
    let out = vetted()
        .args(["scan", "--format", "json"])
        .arg(&good)
        .arg(dir.path().join("missing.zip"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.zip: cannot access"), "{stderr}");
    assert!(
        stderr.contains("2 inputs: 1 validated, 0 blocked, 0 invalid, 1 not readable"),
        "{stderr}"
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports.as_array().map(Vec::len), Some(1));
    assert_eq!(reports[0]["verdict"], "validated");
}

/// `--policy`: the default stays plugins.qgis.org's decision; `vetted` passes a literal command
/// run through a shell and says why, in text and JSON.
#[test]
fn policy_flag_chooses_the_decision_and_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("about.py");
    std::fs::write(
        &file,
        "import subprocess\n\n\ndef version():\n    return subprocess.check_output('git describe', shell=True)\n",
    )
    .unwrap();
    let default = vetted().arg("scan").arg(&file).output().unwrap();
    assert_eq!(
        default.status.code(),
        Some(1),
        "qgis blocks B602 by default"
    );
    let text = vetted()
        .args(["scan", "--policy", "vetted"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0));
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("vetted/literal-command"), "{out}");
    assert!(out.contains("Policy: vetted 2"), "{out}");
    let json = vetted()
        .args(["scan", "--policy", "vetted", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let b602 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "B602")
        .unwrap();
    assert_eq!(b602["outcome"], "pass");
    assert_eq!(b602["because"], "vetted/literal-command");
    assert_eq!(report["policy"]["name"], "vetted");
    let bad = vetted()
        .args(["scan", "--policy", "lenient"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3), "a usage error, not a verdict");
}

/// `vetted vendor index` reads a wheel; a file that is not one is a clear error.
#[test]
fn vendor_index_reads_wheels_and_refuses_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("toolz-1.2-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    for (name, data) in [
        ("toolz/__init__.py", "def f():\n    return 1\n"),
        (
            "toolz-1.2.dist-info/METADATA",
            "Name: toolz\nVersion: 1.2\n",
        ),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, data.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    let index = dir.path().join("index.json");
    let ok = vetted()
        .args(["vendor", "index"])
        .arg(&wheel)
        .arg("-o")
        .arg(&index)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    assert_eq!(doc["packages"][0]["name"], "toolz");
    assert!(doc["packages"][0]["files"]["toolz/__init__.py"].is_string());
    let bad = vetted()
        .args(["vendor", "index"])
        .arg(&index)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a ZIP archive"));
}

#[test]
fn a_scan_past_its_time_budget_is_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_folder(&fixture_plugin(), dir.path(), &[]);
    // Enough to pass when the budget is generous…
    let out = vetted()
        .args(["scan", "--time-budget", "600"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // …and blocked, with the reason, when it is spent before the first file.
    let out = vetted()
        .args(["scan", "--format", "json", "--time-budget", "0.000001"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "blocked");
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("time budget")),
        "{report:#}"
    );
    for bad in ["0", "-1", "soon", "inf"] {
        let out = vetted()
            .args(["scan", &format!("--time-budget={bad}")])
            .arg(&zip)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "--time-budget {bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("time-budget"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
