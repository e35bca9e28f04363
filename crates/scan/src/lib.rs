//! Vetted's scanner: reads a QGIS plugin (ZIP, folder or single file) without trusting it,
//! validates the package as plugins.qgis.org does, runs the Bandit-, detect-secrets- and
//! Flake8-compatible families and the file analysis, and returns one [`Report`] with a verdict.
//! It does no I/O beyond reading its input and knows nothing of terminals or servers.

pub mod archive;
mod ascii_regex;
pub mod bandit;
pub mod capabilities;
pub mod catalog;
pub mod family;
pub mod files;
pub mod flake8;
mod literal;
pub mod options;
pub mod package;
mod pipeline;
pub mod policy;
pub mod python;
pub mod qgis;
pub mod report;
pub mod secrets;

/// The hash maps and sets of the scan's own analysis: keyed by names from the scanned files,
/// looked up for every node and line, so hashed with foldhash (fast, and seeded per process so
/// crafted names cannot force collisions) rather than the standard library's SipHash.
pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type Set<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub use options::{ActiveRules, Profile, ScanOptions};
pub use pipeline::{TargetError, scan_path};
pub use policy::Policy;
pub use report::{Finding, Outcome, Report, Severity, Verdict};
