//! The flake8 check family (see its issue); this module owns its rules and their logic.

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, ScanError};

/// Rules this family can report beyond the plugins.qgis.org catalog, and which of them the
/// reference tool runs by default.
pub const RULES: &[FamilyRule] = &[];

pub struct Flake8Family;

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(_setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    Ok(Box::new(Flake8Family))
}

impl Family for Flake8Family {
    fn check(&self) -> Check {
        Check::Flake8
    }

    fn scan_file(&self, _file: &SourceFile, _out: &mut FamilyOutput) {}
}

/// Flake8's default output: `path:line:col: CODE message`, one finding per line.
pub fn render_report(report: &crate::report::Report) -> String {
    let mut out = String::new();
    for f in report.findings.iter().filter(|f| f.check == Check::Flake8) {
        out.push_str(&format!("{}:{}:{}: {} {}\n", f.path, f.line, f.column.max(1), f.rule, f.message));
    }
    out
}
