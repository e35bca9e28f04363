//! The files check family (see its issue); this module owns its rules and their logic.

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, ScanError};

/// Rules this family can report beyond the plugins.qgis.org catalog, and which of them the
/// reference tool runs by default.
pub const RULES: &[FamilyRule] = &[];

pub struct FilesFamily;

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(_setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    Ok(Box::new(FilesFamily))
}

impl Family for FilesFamily {
    fn check(&self) -> Check {
        Check::Files
    }

    fn scan_file(&self, _file: &SourceFile, _out: &mut FamilyOutput) {}
}
