//! Files of one input are analysed on several threads: the report must not depend on how many,
//! nor on which thread finished first.

use std::path::Path;

use vetted_scan::{Profile, Report, ScanOptions, scan_path};

fn scan_with_threads(target: &Path, threads: usize) -> Report {
    let options = ScanOptions {
        profile: Profile::ToolDefaults,
        threads,
        ..Default::default()
    };
    let mut report = scan_path(target, &options).expect("fixture folder is readable");
    report.duration_ms = 0;
    report
}

#[test]
fn report_is_the_same_on_one_thread_and_on_many() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for folder in ["secrets", "bandit", "flake8"] {
        let target = fixtures.join(folder);
        let single = scan_with_threads(&target, 1);
        assert!(
            single.stats.files_scanned > 5,
            "{folder}: the fixture folder should hold several files"
        );
        assert!(
            !single.findings.is_empty(),
            "{folder}: fixtures have findings"
        );
        let single_json = serde_json::to_string(&single).unwrap();
        for threads in [2, 3, 8] {
            // Repeat: thread scheduling differs from run to run.
            for _ in 0..3 {
                let many = scan_with_threads(&target, threads);
                assert_eq!(
                    serde_json::to_string(&many).unwrap(),
                    single_json,
                    "{folder}: report with {threads} threads differs from one thread"
                );
            }
        }
    }
}

mod support;

use support::{RawEntry, RawZip, valid_plugin};
use vetted_scan::archive::ArchiveLimits;

fn scan_zip_with(path: &Path, threads: usize, limits: ArchiveLimits) -> String {
    let options = ScanOptions {
        profile: Profile::ToolDefaults,
        threads,
        limits,
        ..Default::default()
    };
    let mut report = scan_path(path, &options).expect("the ZIP is readable");
    report.duration_ms = 0;
    serde_json::to_string(&report).unwrap()
}

/// Every fixture folder as the `sample` plugin's files, with one entry whose CRC is wrong.
fn fixture_plugin() -> RawZip {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut zip = valid_plugin();
    for folder in ["secrets", "bandit", "flake8"] {
        let mut names = Vec::new();
        files_under(&fixtures.join(folder), &mut names);
        names.sort();
        for path in names {
            let rel = path.strip_prefix(&fixtures).unwrap().to_string_lossy();
            let name = format!("sample/{rel}");
            let entry = RawEntry {
                deflate: true,
                ..RawEntry::file(&name, &std::fs::read(&path).unwrap())
            };
            zip = zip.entry(entry);
        }
    }
    zip.entry(RawEntry {
        corrupt_crc: true,
        ..RawEntry::file("sample/broken.py", b"import os\n")
    })
}

#[test]
fn a_zip_read_by_many_threads_reports_as_one_reading_it_in_order() {
    let zip = fixture_plugin();
    assert!(zip.entries.len() > 20, "the fixtures make a large plugin");
    let dir = tempfile::tempdir().unwrap();
    let zip = zip.write_to(dir.path(), "plugin.zip");
    let single = scan_zip_with(&zip, 1, ArchiveLimits::default());
    assert!(
        single.contains("ARCHIVE_BAD_ENTRY") && single.contains("\"B602\""),
        "the plugin has a damaged entry and Bandit findings: {single}"
    );
    for threads in [2, 3, 8] {
        for _ in 0..3 {
            assert_eq!(
                scan_zip_with(&zip, threads, ArchiveLimits::default()),
                single,
                "report with {threads} threads differs from one thread"
            );
        }
    }
}

/// Read in archive order, the third module gets only what is left of the total limit (the
/// metadata is read twice: once to validate it, once with every file) and is refused; read
/// largest first with the limit per entry it would fit. The threads' reading must give way to
/// the reading in order.
#[test]
fn the_total_limit_is_counted_in_archive_order_on_any_number_of_threads() {
    let module = |n: u8| format!("X{n} = '{}'\n", "x".repeat(29_990)).into_bytes();
    let zip = RawZip::new()
        .add("sample/metadata.txt", support::METADATA.as_bytes())
        .add("sample/__init__.py", &module(1))
        .add("sample/b.py", &module(2))
        .add("sample/c.py", &module(3));
    let declared: u64 = zip.entries.iter().map(|e| e.data.len() as u64).sum();
    let dir = tempfile::tempdir().unwrap();
    let zip = zip.write_to(dir.path(), "plugin.zip");
    let limits = ArchiveLimits {
        max_total_uncompressed: declared,
        ..ArchiveLimits::default()
    };
    let single = scan_zip_with(&zip, 1, limits.clone());
    assert!(
        single.contains("ARCHIVE_TOO_LARGE") && single.contains("sample/c.py: inflates past"),
        "read in order, the last module exceeds what is left of the total: {single}"
    );
    for threads in [2, 4] {
        assert_eq!(scan_zip_with(&zip, threads, limits.clone()), single);
    }
    // With room for the second reading of the metadata, nothing is refused.
    let roomy = ArchiveLimits {
        max_total_uncompressed: declared + support::METADATA.len() as u64,
        ..ArchiveLimits::default()
    };
    let fits = scan_zip_with(&zip, 2, roomy.clone());
    assert!(!fits.contains("ARCHIVE_TOO_LARGE"), "{fits}");
    assert_eq!(fits, scan_zip_with(&zip, 1, roomy));
}

/// A package of one large Python module: on more than one thread the flake8 family runs its
/// own pycodestyle checks beside ruff's rules (the cores would otherwise sit idle). The
/// findings, `# noqa` included, must be those of one thread.
#[test]
fn a_large_module_gets_the_same_flake8_findings_on_one_thread_and_on_many() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = String::from("import os\nimport sys\n\n\n");
    let mut n = 0;
    while source.len() < 40 * 1024 {
        n += 1;
        source.push_str(&format!(
            "def f{n}(a, b):\n    x = a+b\n    y = [ a, b ]\n    z = call(a,\n        b)\n    w = '{}'\n    q=1\n    v=2  # noqa: E225\n    return x, y, z, w\n\n\n",
            "x".repeat(90)
        ));
    }
    std::fs::write(dir.path().join("big.py"), &source).expect("write");
    let single = scan_with_threads(dir.path(), 1);
    let codes: std::collections::BTreeSet<&str> =
        single.findings.iter().map(|f| f.rule.as_str()).collect();
    // Codes from ruff (F401, E225) and from the family's own checks (E501, E201, E128).
    for code in ["F401", "E225", "E501", "E201", "E128"] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    let single_json = serde_json::to_string(&single).expect("json");
    for threads in [2, 4] {
        for _ in 0..3 {
            let many = scan_with_threads(dir.path(), threads);
            assert_eq!(
                serde_json::to_string(&many).expect("json"),
                single_json,
                "report with {threads} threads differs from one thread"
            );
        }
    }
}
