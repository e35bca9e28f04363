//! The verdict policy: the one place that turns a report's findings into an outcome per finding
//! (block / review / pass, with the id of the rule that decided it) and a verdict. It reads only
//! the report (findings, their facts, libraries, broken files), so a stored report can be
//! re-decided under another policy without scanning again. The rules are documented in
//! docs/policy.md.
//!
//! - `qgis` reproduces plugins.qgis.org: any enabled critical finding, or any error, blocks.
//! - `vetted` weighs the evidence: Bandit's own rating, what the flagged value is, where a
//!   command comes from, vendored libraries, suppressions and the audit view's threats.

pub mod facts;
pub mod flow;
pub mod imports;
pub mod values;
pub mod vendor;

use serde::{Deserialize, Serialize};

use crate::report::{Check, Finding, Outcome, Report, Severity, Verdict};

/// The policies an admin or `vetted scan --policy` can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// plugins.qgis.org's decision, finding for finding.
    #[default]
    Qgis,
    /// Decides from the evidence (docs/policy.md).
    Vetted,
}

impl Policy {
    pub const ALL: [Policy; 2] = [Policy::Qgis, Policy::Vetted];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Qgis => "qgis",
            Policy::Vetted => "vetted",
        }
    }

    /// Changes whenever a rule of the policy decides differently.
    pub fn version(self) -> &'static str {
        match self {
            Policy::Qgis => "1",
            Policy::Vetted => "2",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| format!("unknown policy {s:?}: expected qgis or vetted"))
    }
}

/// What the report records about the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    pub name: String,
    pub version: String,
    /// The worst outcome (the verdict says the same for a plugin that is not invalid).
    pub outcome: Outcome,
    /// Decisions about the version as a whole (broken files, scan errors, libraries), for
    /// people: each with its outcome and the rule that decided it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<PolicyNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyNote {
    pub outcome: Outcome,
    pub because: String,
    #[serde(default)]
    pub path: String,
    pub message: String,
}

/// A Python file that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenFile {
    pub path: String,
    /// On the import chain from the package's `__init__.py`: QGIS would fail to load it.
    pub loaded_at_start: bool,
}

/// The ids of the policy rules, as `because` shows them.
pub mod rule {
    pub const QGIS_CRITICAL: &str = "qgis/critical";
    pub const QGIS_NOT_CRITICAL: &str = "qgis/not-critical";
    pub const QGIS_SUPPRESSED: &str = "qgis/suppressed";
    pub const QGIS_SCAN_ERROR: &str = "qgis/scan-error";

    pub const THREAT: &str = "vetted/threat";
    pub const PACKAGE: &str = "vetted/package";
    pub const VENDORED: &str = "vetted/vendored-unmodified";
    pub const CHANGED_LIBRARY: &str = "vetted/vendored-changed";
    pub const QUALITY: &str = "vetted/quality-not-security";
    pub const TEST_FIXTURE: &str = "vetted/test-fixture";
    pub const NOT_A_PASSWORD: &str = "vetted/not-a-password";
    pub const EXAMPLE_CREDENTIAL: &str = "vetted/example-credential";
    pub const NOT_A_KEY: &str = "vetted/not-a-key";
    pub const REAL_KEY: &str = "vetted/real-key";
    pub const SAMPLE_KEY: &str = "vetted/sample-key";
    pub const QGIS_NOT_SEEN: &str = "qgis/not-seen-by-bandit";
    pub const LITERAL_COMMAND: &str = "vetted/literal-command";
    pub const INPUT_TO_SHELL: &str = "vetted/input-to-shell";
    pub const BUILT_COMMAND: &str = "vetted/built-command";
    pub const NOT_CRITICAL: &str = "vetted/not-critical";
    pub const RATED_BELOW_HIGH: &str = "vetted/rated-below-high";
    pub const EXTRA_CODE: &str = "vetted/not-plugin-code";
    pub const PROGRAM_FILE: &str = "vetted/program-file";
    pub const CRITICAL: &str = "vetted/critical";
    pub const AUTHOR_CLAIM: &str = "vetted/author-claim";
    pub const BROKEN_FILE: &str = "vetted/broken-file";
    pub const SCAN_ERROR: &str = "vetted/scan-error";
    pub const LIBRARY: &str = "vetted/library";
}

/// Paths of material that ships with a package but is not the plugin's program: tests and
/// their fixtures, demos, examples, samples, documentation and benchmarks.
pub fn is_extra_path(path: &str) -> bool {
    is_test_path(path)
        || path.split('/').rev().skip(1).any(|d| {
            matches!(
                d.to_ascii_lowercase().as_str(),
                "demo"
                    | "demos"
                    | "example"
                    | "examples"
                    | "sample"
                    | "samples"
                    | "doc"
                    | "docs"
                    | "benchmark"
                    | "benchmarks"
            )
        })
}

/// Rules whose findings are about secrets, where values and test fixtures matter.
pub(crate) fn is_secret_rule(f: &Finding) -> bool {
    f.check == Check::Secrets || matches!(f.rule.as_str(), "B105" | "B106" | "B107")
}

/// Paths of tests and their fixtures (a folder `test`, `tests`, `fixtures`, `testdata`, or a
/// file `test_*`, `test-*`, `*_test.py`, `conftest.py`).
pub fn is_test_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let (file, dirs) = parts.split_last().map_or(("", &[][..]), |(f, d)| (*f, d));
    dirs.iter().any(|d| {
        matches!(
            d.to_ascii_lowercase().as_str(),
            "test" | "tests" | "testing" | "fixtures" | "testdata" | "test_data" | "test-data"
        )
    }) || file.starts_with("test_")
        || file.starts_with("test-")
        || file.ends_with("_test.py")
        || file == "conftest.py"
}

/// Decides every finding of the report, its notes and its verdict under `policy`.
pub fn apply(report: &mut Report, policy: Policy) {
    let invalid = is_invalid(report);
    let mut notes = Vec::new();
    match policy {
        Policy::Qgis => {
            for f in &mut report.findings {
                let (o, b) = if f.fact(crate::bandit::RECOVERED).is_some() {
                    // plugins.qgis.org's Bandit cannot parse the file, so it never reports
                    // this; the file's syntax error blocks there instead.
                    (Outcome::Pass, rule::QGIS_NOT_SEEN)
                } else if f.severity == Severity::Critical {
                    (Outcome::Block, rule::QGIS_CRITICAL)
                } else {
                    (Outcome::Pass, rule::QGIS_NOT_CRITICAL)
                };
                set(f, o, b);
            }
            for f in &mut report.suppressed {
                set(f, Outcome::Pass, rule::QGIS_SUPPRESSED);
            }
            for e in &report.errors {
                notes.push(PolicyNote {
                    outcome: Outcome::Block,
                    because: rule::QGIS_SCAN_ERROR.into(),
                    path: e.path.clone(),
                    message: format!("[{}] {}", e.check.id(), e.message),
                });
            }
        }
        Policy::Vetted => {
            let libraries = report.libraries.clone();
            let prefix = package_prefix(report);
            let starts_programs = report.capabilities.iter().any(|c| {
                c.kind == crate::capabilities::CapabilityKind::Process
                    && !is_extra_path(relative(&prefix, &c.path))
            });
            let seen = Seen {
                libraries: &libraries,
                starts_programs,
                prefix: &prefix,
            };
            for f in &mut report.findings {
                let (o, b) = vetted(f, &seen);
                set(f, o, b);
            }
            for f in &mut report.suppressed {
                let (o, b) = vetted(f, &seen);
                // The author's word is honoured as the tools honour it, but it does not make a
                // blocking finding disappear: a person checks the claim.
                match o {
                    Outcome::Block => set(f, Outcome::Review, rule::AUTHOR_CLAIM),
                    // Honoured as the tool honours it, and still listed as a claim.
                    Outcome::Review => set(f, Outcome::Pass, rule::AUTHOR_CLAIM),
                    Outcome::Pass => set(f, o, b),
                }
            }
            for b in &report.broken_files {
                let (outcome, why) = if b.loaded_at_start {
                    (
                        Outcome::Review,
                        "does not compile and is imported when the plugin starts",
                    )
                } else {
                    (
                        Outcome::Pass,
                        "does not compile; the plugin does not import it at start",
                    )
                };
                notes.push(PolicyNote {
                    outcome,
                    because: rule::BROKEN_FILE.into(),
                    path: b.path.clone(),
                    message: format!("broken file: {why}"),
                });
            }
            for e in &report.errors {
                if report.broken_files.iter().any(|b| b.path == e.path) {
                    continue;
                }
                notes.push(PolicyNote {
                    outcome: Outcome::Review,
                    because: rule::SCAN_ERROR.into(),
                    path: e.path.clone(),
                    message: format!("[{}] could not be checked: {}", e.check.id(), e.message),
                });
            }
            for lib in &libraries {
                notes.push(PolicyNote {
                    outcome: Outcome::Pass,
                    because: rule::LIBRARY.into(),
                    path: lib.path.clone(),
                    message: if lib.changed_files.is_empty() {
                        lib.describe()
                    } else {
                        format!("{}: {}", lib.describe(), lib.changed_files.join(", "))
                    },
                });
            }
        }
    }
    let outcome = report
        .findings
        .iter()
        .chain(&report.suppressed)
        .filter_map(|f| f.outcome)
        .chain(notes.iter().map(|n| n.outcome))
        .max()
        .unwrap_or(Outcome::Pass);
    report.verdict = if invalid {
        Verdict::Invalid
    } else {
        match outcome {
            Outcome::Block => Verdict::Blocked,
            Outcome::Review => Verdict::Review,
            Outcome::Pass => Verdict::Validated,
        }
    };
    report.policy = Some(PolicyDecision {
        name: policy.as_str().into(),
        version: policy.version().into(),
        outcome,
        notes,
    });
}

/// `name/` for a plugin ZIP, empty otherwise (folders are scanned with relative paths).
fn package_prefix(report: &Report) -> String {
    match (&report.package, report.target.kind) {
        (Some(p), crate::report::TargetKind::Zip) if !p.name.is_empty() => format!("{}/", p.name),
        _ => String::new(),
    }
}

fn relative<'p>(prefix: &str, path: &'p str) -> &'p str {
    path.strip_prefix(prefix).unwrap_or(path)
}

fn set(f: &mut Finding, outcome: Outcome, because: &str) {
    f.outcome = Some(outcome);
    f.because = Some(because.to_string());
}

/// Not a plugin the repository accepts: a critical package finding on a package, or a critical
/// archive finding on anything. The same under every policy.
fn is_invalid(report: &Report) -> bool {
    let package_mode = report
        .checks
        .iter()
        .any(|c| c.id == Check::Package && c.ran);
    report.findings.iter().any(|f| {
        f.check == Check::Package
            && f.severity == Severity::Critical
            && (package_mode || f.rule.starts_with("ARCHIVE_"))
    })
}

/// What the `vetted` policy knows about the package beyond the finding itself.
struct Seen<'a> {
    libraries: &'a [vendor::VendoredLibrary],
    /// The package folder inside a ZIP (`name/`): path rules look below it, so a plugin
    /// named `tests` or `sample` is not test material itself.
    prefix: &'a str,
    /// The code can start programs (a `process` capability).
    starts_programs: bool,
}

/// The `vetted` policy's decision for one finding, as if it were not suppressed.
fn vetted(f: &Finding, seen: &Seen) -> (Outcome, &'static str) {
    let libraries = seen.libraries;
    if f.check == Check::Qgis {
        return (Outcome::Block, rule::THREAT);
    }
    if f.check == Check::Package {
        return if f.severity == Severity::Critical {
            (Outcome::Block, rule::PACKAGE)
        } else {
            (Outcome::Pass, rule::NOT_CRITICAL)
        };
    }
    let library = libraries.iter().find(|l| l.holds(&f.path));
    let changed = library.is_some_and(|l| l.changed_files.contains(&f.path));
    if let Some(lib) = library
        && lib.verified
        && !changed
    {
        return (Outcome::Pass, rule::VENDORED);
    }
    let (outcome, because) = evidence(f, seen);
    // A changed file in a library is the author's code hidden among someone else's: nothing
    // found in it passes unseen.
    if changed && outcome == Outcome::Pass {
        return (Outcome::Review, rule::CHANGED_LIBRARY);
    }
    (outcome, because)
}

fn evidence(f: &Finding, seen: &Seen) -> (Outcome, &'static str) {
    use Outcome::*;
    if f.check == Check::Flake8 {
        return (Pass, rule::QUALITY);
    }
    if is_secret_rule(f) {
        if is_test_path(relative(seen.prefix, &f.path)) || f.fact("test_support").is_some() {
            return (Pass, rule::TEST_FIXTURE);
        }
        match f.fact("value_kind") {
            Some(values::EMPTY | values::PLACEHOLDER | values::SETTINGS_KEY | values::UI_LABEL) => {
                return (Pass, rule::NOT_A_PASSWORD);
            }
            Some(values::PUBLISHED_EXAMPLE | values::EXAMPLE_HOST) => {
                return (Pass, rule::EXAMPLE_CREDENTIAL);
            }
            _ => {}
        }
        match f.fact("key_parses") {
            Some("no") => return (Pass, rule::NOT_A_KEY),
            // A real key shipped as sample material (demos, examples, docs) may be only a
            // sample, or someone's key to the server the demo connects to: a person decides.
            Some("yes") if is_extra_path(relative(seen.prefix, &f.path)) => {
                return (Review, rule::SAMPLE_KEY);
            }
            Some("yes") => return (Block, rule::REAL_KEY),
            _ => {}
        }
    }
    if f.fact("extra_code") == Some("not_loaded") {
        return (Pass, rule::EXTRA_CODE);
    }
    if let Some(kind) = f.fact("argument_kind") {
        let critical = f.severity == Severity::Critical;
        return match (kind, f.fact("sink").unwrap_or("")) {
            ("literal", _) => (Pass, rule::LITERAL_COMMAND),
            ("input" | "parameter", "shell") | ("input", "code") => (Block, rule::INPUT_TO_SHELL),
            ("input" | "parameter", "code" | "query") | ("input", "process" | "remote") => {
                (Review, rule::BUILT_COMMAND)
            }
            (_, "shell" | "code") if critical => (Review, rule::BUILT_COMMAND),
            _ => (Pass, rule::NOT_CRITICAL),
        };
    }
    if f.severity != Severity::Critical {
        return (Pass, rule::NOT_CRITICAL);
    }
    if f.check == Check::Files {
        // A script or program for the operating system is inert unless the code can start
        // programs; then a person checks what it does.
        return if seen.starts_programs {
            (Review, rule::PROGRAM_FILE)
        } else {
            (Pass, rule::PROGRAM_FILE)
        };
    }
    match &f.tool {
        Some(tool) if !tool.severity.is_empty() => {
            if tool.severity == "HIGH" && tool.confidence == "HIGH" {
                (Block, rule::CRITICAL)
            } else {
                (Review, rule::RATED_BELOW_HIGH)
            }
        }
        _ => (Block, rule::CRITICAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_by_name() {
        assert_eq!("vetted".parse::<Policy>(), Ok(Policy::Vetted));
        assert_eq!("qgis".parse::<Policy>(), Ok(Policy::Qgis));
        assert!("strict".parse::<Policy>().is_err());
    }

    #[test]
    fn test_paths() {
        assert!(is_test_path("p/tests/data/key.pem"));
        assert!(is_test_path("p/test_auth.py"));
        assert!(!is_test_path("p/contest.py"));
        assert!(!is_test_path("p/latest/auth.py"));
        assert!(is_extra_path("p/docs/conf.py"));
        assert!(is_extra_path("p/demos/demo_simple.py"));
        assert!(!is_extra_path("p/docs.py"));
        assert!(!is_extra_path("p/sampler/run.py"));
    }
}
