//! Property tests: random bytes and mutated valid plugins never panic the scanner; every outcome
//! is a report with a verdict.

mod support;

use proptest::prelude::*;
use vetted_scan::{ScanOptions, Verdict, scan_path};

fn scan(bytes: &[u8]) -> vetted_scan::Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.zip");
    std::fs::write(&path, bytes).unwrap();
    scan_path(&path, &ScanOptions::default()).expect("a readable file always yields a report")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let r = scan(&bytes);
        prop_assert!(matches!(r.verdict, Verdict::Invalid | Verdict::Validated | Verdict::Blocked));
    }

    #[test]
    fn mutated_plugins_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
                                   cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = support::valid_plugin().bytes();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        let _ = scan(&bytes);
    }

    #[test]
    fn random_metadata_never_panics(text in "\\PC{0,400}") {
        let z = support::valid_plugin().replace("sample/metadata.txt", text.as_bytes());
        let _ = scan(&z.bytes());
    }
}
