//! `vetted upstream add|sync|list|search|allow|disallow|schedule` and `vetted admin
//! revoke|unrevoke` through the binary, against a static repository in a folder (`file:` feed)
//! and a SQLite data folder.

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn vetted(data: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vetted"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("VETTED_DATABASE_URL")
        .env_remove("VETTED_STORAGE")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn ok(data: &Path, args: &[&str]) -> String {
    let (success, out) = vetted(data, args);
    assert!(success, "vetted {args:?}: {out}");
    out
}

/// The hello_vetted fixture as `package` `version`.
fn plugin_zip(package: &str, version: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plugins/hello_vetted");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for name in [
        "metadata.txt",
        "__init__.py",
        "plugin.py",
        "LICENSE",
        "icon.svg",
    ] {
        let mut bytes = std::fs::read(dir.join(name)).unwrap();
        if name == "metadata.txt" {
            bytes = String::from_utf8(bytes)
                .unwrap()
                .replace("version=1.0.0", &format!("version={version}"))
                .replace("name=Hello Vetted", &format!("name={package} plugin"))
                .into_bytes();
        }
        w.start_file(format!("{package}/{name}"), opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn entry(package: &str, version: &str, description: &str, author: &str) -> String {
    format!(
        r#"<pyqgis_plugin name="{package} plugin" version="{version}">
  <description><![CDATA[{description}]]></description>
  <author_name><![CDATA[{author}]]></author_name>
  <file_name>{package}.{version}.zip</file_name>
  <download_url>{package}.{version}.zip</download_url>
  <tags><![CDATA[cli]]></tags>
</pyqgis_plugin>
"#
    )
}

#[test]
fn upstream_search_list_and_revoke_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let mut entries = String::new();
    for i in 0..30 {
        let p = format!("tool_{i:02}");
        let (description, author) = if i % 10 == 0 {
            ("Flood mapping", "River Team")
        } else {
            ("Something else", "Someone")
        };
        entries.push_str(&entry(&p, "1.0", description, author));
    }
    std::fs::write(
        repo.join("plugins.xml"),
        format!("<?xml version=\"1.0\"?>\n<plugins>\n{entries}</plugins>\n"),
    )
    .unwrap();
    std::fs::write(repo.join("tool_00.1.0.zip"), plugin_zip("tool_00", "1.0")).unwrap();

    ok(
        &data,
        &[
            "admin",
            "create-user",
            "admin",
            "--email",
            "admin@example.org",
            "--password",
            "password123",
            "--admin",
        ],
    );
    let feed = format!("file://{}", repo.join("plugins.xml").display());
    ok(
        &data,
        &["upstream", "add", "share", &feed, "--sync-interval", "600"],
    );
    let (success, out) = vetted(&data, &["upstream", "add", "share", &feed]);
    assert!(!success && out.contains("already exists"), "{out}");
    let (success, out) = vetted(
        &data,
        &["upstream", "add", "bad", &feed, "--sync-interval", "-1"],
    );
    assert!(!success, "{out}");

    let out = ok(&data, &["upstream", "list"]);
    assert!(
        out.contains("share") && out.contains("never synced"),
        "{out}"
    );
    let out = ok(&data, &["upstream", "sync", "share"]);
    assert!(
        out.contains("30 entries; 30 new, 0 changed, 0 gone"),
        "{out}"
    );
    let out = ok(&data, &["upstream", "list"]);
    assert!(out.contains("30 in catalogue, 0 allowed"), "{out}");
    assert!(
        out.contains("30 new, 0 changed, 0 gone, 0 import(s)"),
        "{out}"
    );

    let out = ok(&data, &["upstream", "search", "share", "flood river"]);
    assert!(
        out.starts_with("3 match(es) in share's catalogue; page 1 of 1"),
        "{out}"
    );
    assert!(
        out.contains("tool_00\t1.0") && out.contains("tool_20\t1.0"),
        "{out}"
    );
    let out = ok(
        &data,
        &[
            "upstream",
            "search",
            "share",
            "",
            "--per-page",
            "7",
            "--page",
            "5",
        ],
    );
    assert!(
        out.starts_with("30 match(es) in share's catalogue; page 5 of 5"),
        "{out}"
    );
    assert_eq!(
        out.lines().count(),
        3,
        "two entries on the last page: {out}"
    );
    let out = ok(&data, &["upstream", "search", "share", "TEAM", "--json"]);
    let page: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(page["total"], 3);
    let (success, out) = vetted(&data, &["upstream", "search", "nope", "x"]);
    assert!(
        !success && out.contains("no upstream named \"nope\""),
        "{out}"
    );
    let (success, out) = vetted(&data, &["upstream", "search", "share", "x", "--page", "0"]);
    assert!(!success && out.contains("--page"), "{out}");

    // Import one (no worker here: it stays queued for a scan), then revoke it.
    ok(
        &data,
        &["upstream", "allow", "share", "tool_00", "--by", "admin"],
    );
    let out = ok(&data, &["upstream", "sync", "share"]);
    assert!(out.contains("import tool_00 1.0: queued"), "{out}");
    let (success, out) = vetted(
        &data,
        &[
            "admin", "revoke", "tool_00", "1.0", "--reason", " ", "--by", "admin",
        ],
    );
    assert!(!success && out.contains("reason"), "{out}");
    let (success, out) = vetted(
        &data,
        &[
            "admin", "revoke", "tool_00", "1.0", "--reason", "x", "--by", "nobody",
        ],
    );
    assert!(!success && out.contains("not an admin"), "{out}");
    let (success, out) = vetted(
        &data,
        &[
            "admin", "revoke", "tool_00", "9.9", "--reason", "x", "--by", "admin",
        ],
    );
    assert!(!success && out.contains("no version"), "{out}");
    let out = ok(
        &data,
        &[
            "admin",
            "revoke",
            "tool_00",
            "1.0",
            "--reason",
            "recalled upstream",
            "--by",
            "admin",
        ],
    );
    assert!(out.contains("revoked tool_00 1.0"), "{out}");
    // Another sync does not import it again.
    let out = ok(&data, &["upstream", "sync", "share"]);
    assert!(!out.contains("import tool_00"), "{out}");
    let out = ok(&data, &["admin", "unrevoke", "tool_00", "1.0"]);
    assert!(out.contains("waits for an approver"), "{out}");
    let (success, out) = vetted(&data, &["admin", "unrevoke", "tool_00", "1.0"]);
    assert!(!success && out.contains("not revoked"), "{out}");

    ok(&data, &["upstream", "disallow", "share", "tool_00"]);
    let (success, out) = vetted(&data, &["upstream", "disallow", "share", "tool_00"]);
    assert!(!success && out.contains("not allowed"), "{out}");
    let out = ok(&data, &["upstream", "schedule", "share", "0"]);
    assert!(out.contains("no longer synced on a schedule"), "{out}");
    let (success, _) = vetted(&data, &["upstream", "schedule", "share", "soon"]);
    assert!(!success);
    let out = ok(&data, &["upstream", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["sync_interval"], 0);
    assert_eq!(list[0]["catalogue_size"], 30);
}
