//! Replays every committed fuzz input (`fuzz/seeds/TARGET`, made by `harness::seeds`, and
//! `fuzz/regressions/TARGET`, the crashes `scripts/fuzz` found) through the fuzz targets' own
//! bodies, so each crash once fixed stays fixed. `VETTED_BLESS_SEEDS=1` rewrites the seeds.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(folder) {
        Ok(read) => read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

#[test]
fn seeds_are_committed_and_current() {
    let bless = std::env::var_os("VETTED_BLESS_SEEDS").is_some();
    for target in harness::TARGETS {
        let folder = fuzz_dir().join("seeds").join(target);
        for (name, bytes) in harness::seeds(target) {
            let path = folder.join(&name);
            if bless {
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (VETTED_BLESS_SEEDS=1 writes it)", path.display())
            });
            assert!(
                committed == bytes,
                "{} differs from harness::seeds (VETTED_BLESS_SEEDS=1 rewrites it)",
                path.display()
            );
        }
    }
}

#[test]
fn every_committed_input_replays_without_a_crash() {
    let mut replayed = 0;
    for target in harness::TARGETS {
        for kind in ["seeds", "regressions"] {
            for path in inputs(&fuzz_dir().join(kind).join(target)) {
                let bytes = std::fs::read(&path).unwrap();
                let started = Instant::now();
                harness::run(target, &bytes);
                // libFuzzer's -timeout in scripts/fuzz is 20 s; a saved input must be far below.
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{} took {:?}",
                    path.display(),
                    started.elapsed()
                );
                replayed += 1;
            }
        }
    }
    // Every target has seeds: an empty replay would prove nothing.
    assert!(
        replayed >= harness::TARGETS.len() * 2,
        "only {replayed} inputs replayed"
    );
}
