//! The secrets check family (see its issue); this module owns its rules and their logic.

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, ScanError};

/// Rules this family can report beyond the plugins.qgis.org catalog, and which of them the
/// reference tool runs by default.
pub const RULES: &[FamilyRule] = &[];

pub struct SecretsFamily;

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(_setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    Ok(Box::new(SecretsFamily))
}

impl Family for SecretsFamily {
    fn check(&self) -> Check {
        Check::Secrets
    }

    fn scan_file(&self, _file: &SourceFile, _out: &mut FamilyOutput) {}
}

/// A `.secrets.baseline`-shaped JSON document of the secrets found, so authors can create and
/// refresh their baseline with Vetted.
pub fn render_report(report: &crate::report::Report) -> String {
    use serde_json::{Map, Value, json};
    let mut results: Map<String, Value> = Map::new();
    for f in report
        .findings
        .iter()
        .chain(&report.suppressed)
        .filter(|f| {
            f.check == Check::Secrets
                && f.suppressed_by != Some(crate::report::SuppressedBy::Pragma)
        })
    {
        let entry = json!({
            "type": f.tool.as_ref().and_then(|t| t.test_name.clone()).unwrap_or_else(|| f.rule.clone()),
            "filename": f.path,
            "hashed_secret": f.hashed_secret.clone().unwrap_or_default(),
            "is_verified": false,
            "line_number": f.line,
        });
        if let Some(Value::Array(list)) = results.get_mut(&f.path) {
            list.push(entry);
        } else {
            results.insert(f.path.clone(), Value::Array(vec![entry]));
        }
    }
    let doc = json!({ "version": "1.5.0", "plugins_used": [], "filters_used": [], "results": results, "generated_at": "" });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
