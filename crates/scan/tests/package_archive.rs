//! End-to-end tests of the archive reader, package validation, verdict and report through the
//! library's `scan_path`, on ZIPs built in code.

mod support;

use support::{RawEntry, RawZip, metadata_with, valid_plugin};
use vetted_scan::report::{Check, Severity, TargetKind};
use vetted_scan::{Report, ScanOptions, Verdict, scan_path};

fn scan_zip(zip: &RawZip) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = zip.write_to(dir.path(), "plugin.zip");
    scan_path(&path, &ScanOptions::default()).unwrap()
}

fn scan_bytes(bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.zip");
    std::fs::write(&path, bytes).unwrap();
    scan_path(&path, &ScanOptions::default()).unwrap()
}

/// The package findings with the given rule.
fn with_rule<'a>(r: &'a Report, rule: &str) -> Vec<&'a vetted_scan::Finding> {
    r.findings.iter().filter(|f| f.rule == rule).collect()
}

fn assert_invalid(r: &Report, rule: &str, needle: &str) {
    assert_eq!(r.verdict, Verdict::Invalid, "{:#?}", r.findings);
    assert_eq!(r.exit_code(), 2);
    let hits = with_rule(r, rule);
    assert!(!hits.is_empty(), "no {rule} finding in {:#?}", r.findings);
    assert!(
        hits.iter().any(|f| f.message.contains(needle)),
        "no {rule} message mentions {needle:?}: {hits:#?}"
    );
    assert!(
        hits.iter()
            .all(|f| f.severity == Severity::Critical && f.check == Check::Package)
    );
}

#[test]
fn valid_plugin_is_validated() {
    let r = scan_zip(&valid_plugin());
    assert_eq!(r.verdict, Verdict::Validated, "{:#?}", r.findings);
    assert_eq!(r.exit_code(), 0);
    assert!(r.findings.is_empty());
    assert_eq!(r.target.kind, TargetKind::Zip);
    assert_eq!(r.target.sha256.len(), 64);
    let pkg = r.package.as_ref().unwrap();
    assert_eq!(pkg.name, "sample");
    assert_eq!(pkg.metadata["version"], "1.2.0");
    assert_eq!(r.stats.files_scanned, 5);
    assert_eq!(r.schema, "vetted-report/1");
}

#[test]
fn missing_required_files() {
    assert_invalid(
        &scan_zip(&valid_plugin().remove("sample/metadata.txt")),
        "PKG_METADATA",
        "sample/metadata.txt",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().remove("sample/__init__.py")),
        "PKG_INIT",
        "__init__.py",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().remove("sample/LICENSE")),
        "PKG_LICENSE",
        "LICENSE",
    );
}

#[test]
fn each_required_field_is_named_when_missing() {
    for field in [
        "name",
        "description",
        "about",
        "version",
        "qgisMinimumVersion",
        "author",
        "email",
        "tracker",
        "repository",
    ] {
        let z =
            valid_plugin().replace("sample/metadata.txt", metadata_with(field, None).as_bytes());
        assert_invalid(&scan_zip(&z), "PKG_FIELD_MISSING", &format!("'{field}'"));
        let z = valid_plugin().replace(
            "sample/metadata.txt",
            metadata_with(field, Some("")).as_bytes(),
        );
        assert_invalid(&scan_zip(&z), "PKG_FIELD_MISSING", &format!("'{field}'"));
    }
}

#[test]
fn field_formats_are_checked() {
    let cases = [
        ("tracker", "http://bugs", "placeholder"),
        ("repository", "http://repo", "placeholder"),
        ("homepage", "http://homepage", "placeholder"),
        ("repository", "git@github.com:x/y.git", "http"),
        ("author", "Jane/John", "'/'"),
        ("email", "not-an-email", "email"),
        ("qgisMinimumVersion", "3", "X.Y"),
        ("qgisMinimumVersion", "three.two", "X.Y"),
        ("qgisMaximumVersion", "3.10.1.4", "X.Y"),
        ("version", "1.0 beta", "spaces"),
    ];
    for (field, value, needle) in cases {
        let z = valid_plugin().replace(
            "sample/metadata.txt",
            metadata_with(field, Some(value)).as_bytes(),
        );
        let r = scan_zip(&z);
        assert_invalid(&r, "PKG_FIELD_INVALID", needle);
        assert!(
            with_rule(&r, "PKG_FIELD_INVALID")
                .iter()
                .any(|f| f.message.contains(field) && f.line > 0),
            "{field}"
        );
    }
    let mut md = metadata_with("qgisMinimumVersion", Some("3.28"));
    md.push_str("qgisMaximumVersion=3.22\n");
    assert_invalid(
        &scan_zip(&valid_plugin().replace("sample/metadata.txt", md.as_bytes())),
        "PKG_FIELD_INVALID",
        "lower than",
    );
}

#[test]
fn metadata_syntax_as_configparser() {
    let z = valid_plugin().replace(
        "sample/metadata.txt",
        metadata_with("about", Some("100% useful")).as_bytes(),
    );
    assert_invalid(&scan_zip(&z), "PKG_METADATA", "'%'");
    let z = valid_plugin().replace("sample/metadata.txt", b"name=x\n");
    assert_invalid(&scan_zip(&z), "PKG_METADATA", "before any");
    let z = valid_plugin().replace("sample/metadata.txt", b"[other]\nname=x\n");
    assert_invalid(&scan_zip(&z), "PKG_METADATA", "[general]");
    let z = valid_plugin().replace("sample/metadata.txt", b"\xff\xfe[general]\n");
    assert_invalid(&scan_zip(&z), "PKG_METADATA", "UTF-8");
}

#[test]
fn layout_rules() {
    let z = RawZip::new()
        .add("__init__.py", b"")
        .add("metadata.txt", support::METADATA.as_bytes());
    assert_invalid(&scan_zip(&z), "PKG_LAYOUT", "not inside a folder");
    let mut z = RawZip::new();
    for e in valid_plugin().entries {
        let name = String::from_utf8(e.name)
            .unwrap()
            .replacen("sample/", "9bad/", 1);
        z = z.add(&name, &e.data);
    }
    assert_invalid(&scan_zip(&z), "PKG_NAME", "'9bad'");
    assert_invalid(
        &scan_zip(&valid_plugin().add("sample/cache/x.pyc", b"\x00")),
        "PKG_FORBIDDEN_FILE",
        ".pyc",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().add("sample/__pycache__/m.txt", b"")),
        "PKG_FORBIDDEN_FILE",
        "__pycache__",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().add("__MACOSX/sample/._x", b"")),
        "PKG_FORBIDDEN_FILE",
        "__MACOSX",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().add("sample/.git/HEAD", b"")),
        "PKG_FORBIDDEN_FILE",
        ".git",
    );
    assert_invalid(
        &scan_zip(&valid_plugin().remove("sample/icon.png")),
        "PKG_ICON",
        "icon.png",
    );
    assert_invalid(&scan_zip(&RawZip::new()), "PKG_LAYOUT", "no files");
}

#[test]
fn warnings_do_not_refuse_the_package() {
    let r = scan_zip(&valid_plugin().add("README.md", b"hello"));
    assert_eq!(r.verdict, Verdict::Validated);
    let w = with_rule(&r, "PKG_MULTIPLE_FOLDERS");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].severity, Severity::Warning);
    assert!(w[0].message.contains("README.md"));

    let mut md = support::METADATA.to_string();
    md.push_str("supportsQt6=True\nexperimental=maybe\n");
    let r = scan_zip(&valid_plugin().replace("sample/metadata.txt", md.as_bytes()));
    assert_eq!(r.verdict, Verdict::Validated);
    assert!(
        with_rule(&r, "PKG_DEPRECATED_FIELD")[0]
            .message
            .contains("supportsQt6")
    );
    assert!(
        with_rule(&r, "PKG_FIELD_VALUE")[0]
            .message
            .contains("experimental")
    );
    assert_eq!(r.package.unwrap().metadata["experimental"], false);
}

#[test]
fn dash_in_package_name_warns_except_for_new_plugins() {
    let mut z = RawZip::new();
    for e in valid_plugin().entries {
        let name = String::from_utf8(e.name)
            .unwrap()
            .replacen("sample/", "my-plugin/", 1);
        z = z.add(&name, &e.data);
    }
    let r = scan_zip(&z);
    assert_eq!(r.verdict, Verdict::Validated);
    assert_eq!(with_rule(&r, "PKG_NAME")[0].severity, Severity::Warning);
    let dir = tempfile::tempdir().unwrap();
    let p = z.write_to(dir.path(), "p.zip");
    let r = scan_path(
        &p,
        &ScanOptions {
            new_plugin: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn zip_bomb_is_refused() {
    let bomb = RawEntry {
        deflate: true,
        ..RawEntry::file("sample/data.bin", &vec![0u8; 20 * 1024 * 1024])
    };
    let r = scan_zip(&valid_plugin().entry(bomb));
    assert_invalid(&r, "ARCHIVE_BOMB", "sample/data.bin");
}

#[test]
fn unsafe_paths_are_refused() {
    for (name, needle) in [
        ("sample/../../evil.py", ".."),
        ("/etc/evil.py", "absolute"),
        ("sample\\..\\evil.py", "backslash"),
        ("C:/evil.py", "drive"),
    ] {
        assert_invalid(
            &scan_zip(&valid_plugin().add(name, b"x = 1\n")),
            "ARCHIVE_UNSAFE_PATH",
            needle,
        );
    }
}

#[test]
fn links_and_special_files_are_refused() {
    let link = RawEntry {
        unix_mode: Some(0o120777),
        ..RawEntry::file("sample/link.py", b"/etc/passwd")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(link)),
        "ARCHIVE_LINK",
        "sample/link.py",
    );
    let fifo = RawEntry {
        unix_mode: Some(0o010644),
        ..RawEntry::file("sample/pipe", b"")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(fifo)),
        "ARCHIVE_SPECIAL_FILE",
        "sample/pipe",
    );
}

#[test]
fn duplicates_and_collisions_are_named() {
    let r = scan_zip(&valid_plugin().add("sample/main.py", b"import os\n"));
    assert_invalid(&r, "ARCHIVE_DUPLICATE", "sample/main.py: appears 2 times");
    let r = scan_zip(&valid_plugin().add("sample/Main.py", b"x = 1\n"));
    assert_invalid(&r, "ARCHIVE_NAME_COLLISION", "sample/main.py");
    let nfd = RawEntry::file("sample/cafe\u{301}.py", b"");
    let r = scan_zip(&valid_plugin().add("sample/caf\u{e9}.py", b"").entry(nfd));
    assert_invalid(&r, "ARCHIVE_NAME_COLLISION", "caf");
}

#[test]
fn damaged_and_encrypted_entries() {
    let bad = RawEntry {
        corrupt_crc: true,
        ..RawEntry::file("sample/util.py", b"print('hi')\n")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(bad)),
        "ARCHIVE_BAD_ENTRY",
        "CRC",
    );
    let enc = RawEntry {
        encrypted: true,
        ..RawEntry::file("sample/secret.py", b"xxxxxxxxxxxxxxxx")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(enc)),
        "ARCHIVE_ENCRYPTED",
        "sample/secret.py",
    );
}

#[test]
fn legacy_name_encodings_are_refused() {
    let latin1 = RawEntry {
        name: b"sample/caf\xe9.py".to_vec(),
        utf8_flag: false,
        ..RawEntry::file("x", b"")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(latin1)),
        "ARCHIVE_NAME_ENCODING",
        "UTF-8",
    );
    let unflagged = RawEntry {
        utf8_flag: false,
        ..RawEntry::file("sample/caf\u{e9}.py", b"")
    };
    assert_invalid(
        &scan_zip(&valid_plugin().entry(unflagged)),
        "ARCHIVE_NAME_ENCODING",
        "CP437",
    );
}

#[test]
fn truncated_and_garbage_files_are_corrupt_not_panics() {
    let bytes = valid_plugin().bytes();
    for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 10] {
        let r = scan_bytes(&bytes[..cut]);
        assert_invalid(&r, "ARCHIVE_CORRUPT", "");
    }
    let r = scan_bytes(b"this is not a zip file at all, just text that goes on for a while");
    assert_invalid(&r, "ARCHIVE_CORRUPT", "not a ZIP");
}

#[test]
fn oversized_archive_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid_plugin().write_to(dir.path(), "p.zip");
    let mut opts = ScanOptions::default();
    opts.limits.max_compressed = 100;
    let r = scan_path(&path, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(
        with_rule(&r, "ARCHIVE_TOO_LARGE")[0]
            .message
            .contains("limit")
    );
}

#[test]
fn too_many_entries() {
    let mut z = valid_plugin();
    for i in 0..30 {
        z = z.add(&format!("sample/f{i}.txt"), b"x");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = z.write_to(dir.path(), "p.zip");
    let mut opts = ScanOptions::default();
    opts.limits.max_entries = 20;
    let r = scan_path(&path, &opts).unwrap();
    assert_invalid(&r, "ARCHIVE_TOO_MANY_ENTRIES", "20");
}

#[test]
fn plugin_folder_and_loose_folder() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("sample");
    std::fs::create_dir(&plugin).unwrap();
    for e in valid_plugin().entries {
        let rel = String::from_utf8(e.name)
            .unwrap()
            .replacen("sample/", "", 1);
        std::fs::write(plugin.join(rel), &e.data).unwrap();
    }
    let r = scan_path(&plugin, &ScanOptions::default()).unwrap();
    assert_eq!(r.target.kind, TargetKind::Directory);
    assert_eq!(r.verdict, Verdict::Validated, "{:#?}", r.findings);
    assert_eq!(r.package.as_ref().unwrap().name, "sample");
    std::fs::remove_file(plugin.join("LICENSE")).unwrap();
    let r = scan_path(&plugin, &ScanOptions::default()).unwrap();
    assert_invalid(&r, "PKG_LICENSE", "LICENSE");
    // A folder without metadata.txt is scanned without package rules.
    std::fs::remove_file(plugin.join("metadata.txt")).unwrap();
    let r = scan_path(&plugin, &ScanOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Validated);
    assert!(r.package.is_none());
    assert!(
        !r.checks
            .iter()
            .find(|c| c.id == Check::Package)
            .unwrap()
            .ran
    );
}

#[cfg(unix)]
#[test]
fn symlinks_in_folders_are_reported_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("p.py")).unwrap();
    let r = scan_path(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(with_rule(&r, "ARCHIVE_LINK").len(), 1);
    assert_eq!(r.stats.files_scanned, 1);
}
