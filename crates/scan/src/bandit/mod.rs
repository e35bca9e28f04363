//! The bandit check family (see its issue); this module owns its rules and their logic.

use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, ScanError};

/// Rules this family can report beyond the plugins.qgis.org catalog, and which of them the
/// reference tool runs by default.
pub const RULES: &[FamilyRule] = &[];

pub struct BanditFamily;

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(_setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    Ok(Box::new(BanditFamily))
}

impl Family for BanditFamily {
    fn check(&self) -> Check {
        Check::Bandit
    }

    fn scan_file(&self, _file: &SourceFile, _out: &mut FamilyOutput) {}
}

/// Bandit's JSON report shape (`results`, `errors`, `metrics`), for tools that import it.
pub fn render_report(report: &crate::report::Report) -> String {
    use serde_json::json;
    let results: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Bandit)
        .map(|f| {
            let tool = f.tool.clone();
            json!({
                "filename": f.path,
                "test_id": f.rule,
                "test_name": tool.as_ref().and_then(|t| t.test_name.clone()).unwrap_or_default(),
                "issue_severity": tool.as_ref().map_or("MEDIUM".to_string(), |t| t.severity.clone()),
                "issue_confidence": tool.as_ref().map_or("MEDIUM".to_string(), |t| t.confidence.clone()),
                "issue_cwe": { "id": tool.as_ref().and_then(|t| t.cwe).unwrap_or(0), "link": "" },
                "issue_text": f.message,
                "line_number": f.line,
                "line_range": tool.as_ref().map_or_else(|| vec![f.line], |t| if t.line_range.is_empty() { vec![f.line] } else { t.line_range.clone() }),
                "col_offset": f.column.saturating_sub(1),
                "code": f.snippet,
                "more_info": "",
            })
        })
        .collect();
    let errors: Vec<_> = report.errors.iter().filter(|e| e.check == Check::Bandit).map(|e| json!({ "filename": e.path, "reason": e.message })).collect();
    let doc = json!({ "errors": errors, "generated_at": "", "metrics": {}, "results": results });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
