//! The contract between the scan pipeline and a check family: the pipeline reads each file once
//! and hands it to every family; a family returns findings (marking the ones its inline
//! suppressions or config silence) and errors. Families never read the input themselves.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::options::ActiveRules;
use crate::python::{PythonModule, PythonProblem};
use crate::report::{Check, Finding, ScanError};

/// Config files found at the package root (or the scanned folder), by file name.
#[derive(Debug, Default, Clone)]
pub struct BundledConfig {
    /// File name (`.bandit`, `setup.cfg`, `.flake8`, `tox.ini`, `pyproject.toml`,
    /// `.secrets.baseline`, `vetted.toml`) to its bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Prefix of the package root in input paths (`plugin/` for a ZIP, empty for a folder).
    pub root_prefix: String,
}

impl BundledConfig {
    pub const NAMES: &'static [&'static str] = &[
        ".bandit",
        "setup.cfg",
        ".flake8",
        "tox.ini",
        "pyproject.toml",
        ".secrets.baseline",
    ];

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Input path of a config file, for the report.
    pub fn path_of(&self, name: &str) -> String {
        format!("{}{}", self.root_prefix, name)
    }
}

/// What every family gets before the files.
pub struct ScanSetup<'a> {
    pub rules: &'a ActiveRules,
    pub config: &'a BundledConfig,
}

/// One file of the input.
pub struct SourceFile<'a> {
    /// Path in the report (inside the archive or relative to the scanned folder).
    pub path: &'a str,
    /// Path relative to the package root (what config file patterns match against).
    pub rel_path: &'a str,
    pub bytes: &'a [u8],
    pub unix_mode: Option<u32>,
    python: OnceCell<Result<PythonModule, PythonProblem>>,
    /// Whether cores would sit idle while this file is analysed (the package has fewer files
    /// than cores to spread): a family may then split its own work on the file across threads.
    spare_cores: bool,
}

impl<'a> SourceFile<'a> {
    pub fn new(path: &'a str, rel_path: &'a str, bytes: &'a [u8], unix_mode: Option<u32>) -> Self {
        SourceFile {
            path,
            rel_path,
            bytes,
            unix_mode,
            python: OnceCell::new(),
            spare_cores: false,
        }
    }

    /// See [`SourceFile::spare_cores`].
    pub fn set_spare_cores(&mut self, spare: bool) {
        self.spare_cores = spare;
    }

    /// Whether cores would sit idle while this file is analysed, so that a family may split its
    /// work on it across threads (set by the pipeline; false unless it says so).
    pub fn spare_cores(&self) -> bool {
        self.spare_cores
    }

    /// The file decoded and parsed as Python, once, shared by every family that asks.
    /// `None` for files that are not `.py`.
    pub fn python(&self) -> Option<&Result<PythonModule, PythonProblem>> {
        if !self.is_python() {
            return None;
        }
        Some(self.python.get_or_init(|| crate::python::load(self.bytes)))
    }

    /// The parse [`SourceFile::python`] gives, taken out of the file (parsed now if no family
    /// asked yet): for the last family on a file, which needs it owned. A later call to
    /// `python` parses again.
    pub fn take_python(&mut self) -> Option<Result<PythonModule, PythonProblem>> {
        self.python()?;
        self.python.take()
    }

    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes).ok()
    }

    pub fn extension(&self) -> String {
        let name = self.path.rsplit('/').next().unwrap_or(self.path);
        name.rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default()
    }

    pub fn is_python(&self) -> bool {
        self.path.ends_with(".py")
    }
}

/// What a family found in a file or in the package as a whole.
#[derive(Debug, Default)]
pub struct FamilyOutput {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    /// Config files (input paths) that changed what this family reported.
    pub config_used: Vec<String>,
    /// What the code can do (only the capability scan fills this).
    pub capabilities: Vec<crate::capabilities::Capability>,
    /// Secrets seen in files, as (input path, value): the pipeline masks them in every finding
    /// and capability of that file, whichever family reports the line. Never serialised.
    pub secrets: Vec<(String, String)>,
    /// How each QGIS project file handles credentials (only the secrets family fills this).
    pub projects: Vec<crate::secrets::qgis_project::ProjectCredentials>,
    /// Per-file facts for the policy (only the fact scan fills this).
    pub files: Vec<crate::policy::facts::FileFacts>,
}

/// A check family.
pub trait Family: Send + Sync {
    fn check(&self) -> Check;
    /// Looks at one file; cheap to call on files the family does not care about.
    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput);
    /// Whether the family would rather own the file's parse than share it (ruff's linter
    /// consumes one): the pipeline then runs it after every other family on the file, through
    /// [`Family::scan_file_last`], which may take the parse instead of copying it.
    fn takes_parse(&self) -> bool {
        false
    }
    /// [`Family::scan_file`] for the last family on a file: `file`'s parse may be taken.
    fn scan_file_last(&self, file: &mut SourceFile, out: &mut FamilyOutput) {
        self.scan_file(file, out);
    }
    /// Findings about the package as a whole, after every file was seen.
    fn finish(&self, _out: &mut FamilyOutput) {}
}
