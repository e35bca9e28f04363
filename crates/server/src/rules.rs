//! The rule settings in force: the scanner's catalog defaults overridden by what admins stored
//! in the `rules` table. Scans, uploads (which rules may be skipped) and the rules API read it.

use std::collections::BTreeMap;

use serde::Serialize;
use vetted_scan::Severity;
use vetted_scan::catalog::{RuleSetting, catalog};

use crate::db::Db;

pub fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "critical" => Some(Severity::Critical),
        "warning" => Some(Severity::Warning),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

/// Admin overrides by code, ready for `ScanOptions::settings`.
pub async fn admin_settings(db: &Db) -> anyhow::Result<BTreeMap<String, RuleSetting>> {
    let mut out = BTreeMap::new();
    for row in db.rule_rows().await? {
        // A code the catalog no longer has, or a garbled severity, is ignored rather than fatal.
        let (Some(_), Some(severity)) = (catalog().get(&row.code), parse_severity(&row.severity))
        else {
            continue;
        };
        out.insert(
            row.code,
            RuleSetting {
                enabled: row.enabled != 0,
                skippable: row.skippable != 0,
                severity,
            },
        );
    }
    Ok(out)
}

/// One rule as the API and the upload form's rules panel show it.
#[derive(Debug, Serialize)]
pub struct RuleView {
    pub code: &'static str,
    pub family: &'static str,
    pub name: &'static str,
    pub enabled: bool,
    pub skippable: bool,
    pub severity: &'static str,
    /// Whether an admin changed it from the catalog default.
    pub customized: bool,
    /// The catalog's description (the rules panel and docs pages show it).
    #[serde(skip)]
    pub description: &'static str,
}

pub fn views(settings: &BTreeMap<String, RuleSetting>) -> Vec<RuleView> {
    catalog()
        .rules()
        .iter()
        .map(|r| {
            let s = settings.get(r.code);
            RuleView {
                code: r.code,
                family: r.check.id(),
                name: r.name,
                enabled: s.map_or(r.enabled, |s| s.enabled),
                skippable: s.map_or(r.skippable, |s| s.skippable),
                severity: s.map_or(r.severity, |s| s.severity).as_str(),
                customized: s.is_some(),
                description: r.description(),
            }
        })
        .collect()
}

/// The rules an uploader may skip right now: enabled and skippable.
pub fn skippable_views(settings: &BTreeMap<String, RuleSetting>) -> Vec<RuleView> {
    views(settings)
        .into_iter()
        .filter(|v| v.enabled && v.skippable)
        .collect()
}

/// The codes of [`skippable_views`].
pub fn skippable_codes(settings: &BTreeMap<String, RuleSetting>) -> Vec<String> {
    skippable_views(settings)
        .into_iter()
        .map(|v| v.code.to_string())
        .collect()
}

/// Keeps the requested codes that may be skipped (exact, case-sensitive); drops the rest.
pub fn honoured_skips(
    requested: &[String],
    settings: &BTreeMap<String, RuleSetting>,
) -> Vec<String> {
    let allowed = skippable_codes(settings);
    let mut out: Vec<String> = requested
        .iter()
        .filter(|c| allowed.iter().any(|a| a == *c))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_skippable_known_codes_are_honoured() {
        let mut settings = BTreeMap::new();
        let skip = |codes: &[&str], settings: &BTreeMap<String, RuleSetting>| {
            honoured_skips(
                &codes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                settings,
            )
        };
        assert_eq!(
            skip(&["B101", "B602", "NOPE", "b101", "B101"], &settings),
            ["B101"]
        );
        // An admin makes B101 unskippable, and disables B110 (disabled rules cannot be skipped).
        settings.insert(
            "B101".into(),
            RuleSetting {
                enabled: true,
                skippable: false,
                severity: Severity::Warning,
            },
        );
        settings.insert(
            "B110".into(),
            RuleSetting {
                enabled: false,
                skippable: true,
                severity: Severity::Warning,
            },
        );
        assert!(skip(&["B101", "B110"], &settings).is_empty());
        assert!(!skippable_codes(&settings).contains(&"B101".to_string()));
    }
}
