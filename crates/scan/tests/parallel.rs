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
