//! The report every scan fills: one struct shared by all check families, serialised as the
//! versioned JSON documented in docs/report-schema.md, and rendered as text or SARIF.

pub mod sarif;
pub mod text;

use serde::{Deserialize, Serialize};

/// Version of the JSON report schema; bump on any incompatible change.
pub const SCHEMA: &str = "vetted-report/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The check families, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Package,
    Bandit,
    Secrets,
    Flake8,
    Files,
    /// Vetted's QGIS threat rules (capabilities in a suspicious context).
    Qgis,
}

impl Check {
    pub const ALL: [Check; 6] = [
        Check::Package,
        Check::Bandit,
        Check::Secrets,
        Check::Flake8,
        Check::Files,
        Check::Qgis,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::Package => "package",
            Check::Bandit => "bandit",
            Check::Secrets => "secrets",
            Check::Flake8 => "flake8",
            Check::Files => "files",
            Check::Qgis => "qgis",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Check::Package => "Package structure",
            Check::Bandit => "Security (Bandit)",
            Check::Secrets => "Secrets (detect-secrets)",
            Check::Flake8 => "Code quality (Flake8)",
            Check::Files => "File analysis",
            Check::Qgis => "QGIS threats",
        }
    }

    pub fn from_family(s: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.id() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Validated,
    /// Validated, but a human must look before it is published (only the `vetted` policy).
    Review,
    Blocked,
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Validated => "validated",
            Verdict::Review => "review",
            Verdict::Blocked => "blocked",
            Verdict::Invalid => "invalid",
        }
    }
}

/// What the policy does with one finding (and, at its worst, with the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Shown, not acted on.
    Pass,
    /// The version needs a human before it is published.
    Review,
    /// The version is blocked.
    Block,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Review => "review",
            Outcome::Block => "block",
        }
    }
}

/// How a finding was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressedBy {
    /// `# nosec` (Bandit).
    Nosec,
    /// `# noqa` (Flake8).
    Noqa,
    /// `# pragma: allowlist secret` (detect-secrets).
    Pragma,
    /// `.secrets.baseline`.
    Baseline,
    /// A bundled config file (`.bandit`, `setup.cfg`, …).
    Config,
    /// A rule skipped at upload.
    Skipped,
}

/// Bandit's own rating of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRating {
    /// `LOW`, `MEDIUM` or `HIGH`.
    pub severity: String,
    pub confidence: String,
    /// Bandit's test name, e.g. `subprocess_popen_with_shell_equals_true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwe: Option<u32>,
    /// Lines of the flagged node, as Bandit's `line_range`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_range: Vec<u32>,
    /// Bandit's `end_col_offset`: 0-based end column of the flagged node on its last line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_col_offset: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: Check,
    pub rule: String,
    pub severity: Severity,
    /// Path inside the archive (or relative to the scanned folder), `/`-separated; empty for the
    /// package as a whole.
    pub path: String,
    /// 1-based; 0 when the finding is about a whole file.
    pub line: u32,
    /// 1-based; 0 when unknown.
    pub column: u32,
    pub message: String,
    /// The source line(s), with any secret masked.
    #[serde(default)]
    pub snippet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolRating>,
    /// Set on entries of `suppressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<SuppressedBy>,
    /// Set for detect-secrets findings: SHA-1 of the secret, as in `.secrets.baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashed_secret: Option<String>,
    /// What the policy decided for this finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The id of the policy rule that decided it (`qgis/critical`, `vetted/literal-command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Facts a family saw at scan time for the policy to weigh (`argument_kind: literal`,
    /// `value_kind: empty`); never secrets. Tool-shaped renderers leave them out.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub context: std::collections::BTreeMap<String, String>,
}

impl Finding {
    pub fn new(
        check: Check,
        rule: &str,
        path: &str,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            check,
            rule: rule.to_string(),
            severity: Severity::Info,
            path: path.to_string(),
            line,
            column,
            message: message.into(),
            snippet: String::new(),
            tool: None,
            suppressed_by: None,
            hashed_secret: None,
            outcome: None,
            because: None,
            context: Default::default(),
        }
    }

    /// Records a fact for the policy.
    pub fn with_fact(mut self, key: &str, value: impl Into<String>) -> Finding {
        self.context.insert(key.to_string(), value.into());
        self
    }

    /// A fact recorded at scan time, if any.
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.context.get(key).map(String::as_str)
    }

    pub fn with_snippet(mut self, snippet: impl Into<String>) -> Finding {
        self.snippet = snippet.into();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerInfo {
    pub name: String,
    pub version: String,
    pub ruleset: String,
    pub profile: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Zip,
    Directory,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub path: String,
    pub kind: TargetKind,
    /// SHA-256 of the ZIP or file; for a folder, of its sorted paths and contents.
    pub sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub checks_total: u32,
    pub checks_passed: u32,
    pub critical: u32,
    pub warnings: u32,
    pub info: u32,
    pub files_scanned: u32,
    /// `checks_passed / checks_total`, 0..=1.
    pub pass_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub id: Check,
    pub name: String,
    /// The most severe unsuppressed finding, or `info` when there is none.
    pub severity: Severity,
    pub passed: bool,
    pub findings: u32,
    /// False when the check did not run (not applicable to the target, or every rule disabled).
    pub ran: bool,
}

/// A problem that stopped part of the scan. Any error makes the verdict fail closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    pub check: Check,
    #[serde(default)]
    pub path: String,
    pub message: String,
}

/// Parsed `metadata.txt` fields, in file order, as strings.
pub type PackageMetadata = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageInfo {
    /// The top-level folder (the plugin's package name).
    pub name: String,
    pub metadata: PackageMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub scanner: ScannerInfo,
    pub target: Target,
    pub package: Option<PackageInfo>,
    pub verdict: Verdict,
    pub stats: Stats,
    pub checks: Vec<CheckSummary>,
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Finding>,
    /// Bundled config files that changed what was reported (paths inside the target).
    pub config_files: Vec<String>,
    /// Rules skipped at the uploader's request.
    pub skipped_rules: Vec<String>,
    pub errors: Vec<ScanError>,
    /// What the plugin's code can do (network, processes, …), with evidence; a manifest for
    /// reviewers that does not change the verdict.
    #[serde(default)]
    pub capabilities: Vec<crate::capabilities::Capability>,
    /// What the author declared in `metadata.txt` (`capabilities=network,process`) and which
    /// kinds were found without being declared; absent when nothing was declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_capabilities: Option<crate::capabilities::Declared>,
    /// QGIS project files (`.qgs`, `.qgz`) and how they handle credentials: `authcfg`
    /// references (good practice) and stored passwords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qgis_projects: Vec<crate::secrets::qgis_project::ProjectCredentials>,
    /// The policy that decided the verdict, its version, and the decisions about the version
    /// as a whole. Absent in reports stored before policies existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::PolicyDecision>,
    /// Third-party libraries found inside the package, with the files that differ from the
    /// published copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libraries: Vec<crate::policy::vendor::VendoredLibrary>,
    /// Python files that do not compile, and whether the plugin imports them when it starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken_files: Vec<crate::policy::BrokenFile>,
    /// Wall time of the scan in milliseconds.
    pub duration_ms: u64,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Validated | Verdict::Review => 0,
            Verdict::Blocked => 1,
            Verdict::Invalid => 2,
        }
    }
}

/// Hides all but the first few characters of a secret.
pub fn mask_secret(secret: &str) -> String {
    let keep = if secret.chars().count() > 12 {
        4
    } else {
        2.min(secret.chars().count() / 3)
    };
    let shown: String = secret.chars().take(keep).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_prefix() {
        assert_eq!(mask_secret("AKIAIOSFODNN7EXAMPLE"), "AKIA…");
        assert_eq!(mask_secret("hunter2"), "hu…");
        assert_eq!(mask_secret("ab"), "…");
        assert!(!mask_secret("supersecretvalue").contains("secret"));
    }
}
