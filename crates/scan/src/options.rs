//! What a scan is asked to do: the profile, admin rule settings, `--select`/`--ignore`, rules
//! skipped at upload and the archive limits; and the resulting set of active rules that every
//! family consults.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::archive::ArchiveLimits;
use crate::catalog::{RuleSetting, catalog};
use crate::report::{Check, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The rule catalog of plugins.qgis.org (or the admin's settings): enabled rules only,
    /// Flake8 with `--max-line-length=120`.
    #[default]
    Qgis,
    /// What bandit, detect-secrets and flake8 run when invoked with no options.
    ToolDefaults,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Qgis => "qgis",
            Profile::ToolDefaults => "tool-defaults",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub profile: Profile,
    /// Admin settings per rule code; missing codes use the catalog defaults.
    pub settings: BTreeMap<String, RuleSetting>,
    /// Rule codes or prefixes (`B6`, `E501`, `secrets`): when given, only matching rules run.
    pub select: Vec<String>,
    /// Rule codes or prefixes never run.
    pub ignore: Vec<String>,
    /// Rules the uploader asked to skip; honoured for enabled, skippable rules only.
    pub skip: Vec<String>,
    /// Whether this is the first version of a plugin (stricter package name rule).
    pub new_plugin: bool,
    pub limits: ArchiveLimits,
    /// Threads that analyse the files of one input; 0 means one per available core.
    pub threads: usize,
    /// The verdict policy (`qgis` unless asked otherwise).
    pub policy: crate::policy::Policy,
    /// Published files of third-party packages (`vetted vendor index`), to recognise vendored
    /// copies that carry no packaging metadata.
    pub vendor_index: Option<std::sync::Arc<crate::policy::vendor::VendorIndex>>,
    /// Wall-clock time one scan may take; `None` is unlimited. Past it the scan fails closed:
    /// files not yet analysed are not, and the report carries an error (verdict `blocked`).
    pub time_budget: Option<std::time::Duration>,
}

/// The rules a scan runs, with their effective severity.
#[derive(Debug, Clone)]
pub struct ActiveRules {
    active: BTreeMap<&'static str, Severity>,
    skipped: BTreeSet<&'static str>,
    profile: Profile,
}

fn matches_any(code: &str, check: Check, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim();
        !p.is_empty() && (code.starts_with(p) || p.eq_ignore_ascii_case(check.id()) || p == "ALL")
    })
}

impl ActiveRules {
    pub fn new(options: &ScanOptions) -> ActiveRules {
        let mut active = BTreeMap::new();
        let mut skipped = BTreeSet::new();
        for rule in catalog().rules() {
            let setting = options
                .settings
                .get(rule.code)
                .copied()
                .unwrap_or(RuleSetting {
                    enabled: rule.enabled,
                    skippable: rule.skippable,
                    severity: rule.severity,
                });
            // Package and archive rules always run: they decide whether there is a plugin at all.
            let on = rule.check == Check::Package
                || if options.select.is_empty() {
                    match options.profile {
                        Profile::Qgis => setting.enabled,
                        Profile::ToolDefaults => rule.tool_default,
                    }
                } else {
                    matches_any(rule.code, rule.check, &options.select)
                } && !matches_any(rule.code, rule.check, &options.ignore);
            if !on {
                continue;
            }
            active.insert(rule.code, setting.severity);
            if setting.skippable && options.skip.iter().any(|s| s == rule.code) {
                skipped.insert(rule.code);
            }
        }
        ActiveRules {
            active,
            skipped,
            profile: options.profile,
        }
    }

    pub fn is_active(&self, code: &str) -> bool {
        self.active.contains_key(code)
    }

    pub fn severity(&self, code: &str) -> Option<Severity> {
        self.active.get(code).copied()
    }

    pub fn is_skipped(&self, code: &str) -> bool {
        self.skipped.contains(code)
    }

    pub fn skipped(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.skipped.iter().copied()
    }

    pub fn any_in(&self, check: Check) -> bool {
        catalog().family(check).any(|r| self.is_active(r.code))
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qgis_profile_uses_catalog_switches() {
        let rules = ActiveRules::new(&ScanOptions::default());
        assert!(rules.is_active("B602"));
        assert!(!rules.is_active("B404"), "info rules are off by default");
        assert_eq!(rules.severity("B101"), Some(Severity::Warning));
    }

    #[test]
    fn select_and_ignore_filter_by_prefix_and_family() {
        let opts = ScanOptions {
            select: vec!["B6".into()],
            ignore: vec!["B602".into()],
            ..Default::default()
        };
        let rules = ActiveRules::new(&opts);
        assert!(rules.is_active("B603"));
        assert!(!rules.is_active("B602"));
        assert!(!rules.is_active("B101"));
        assert!(rules.is_active("PKG_LICENSE"), "package rules always run");
        let opts = ScanOptions {
            select: vec!["secrets".into()],
            ..Default::default()
        };
        assert!(ActiveRules::new(&opts).is_active("AWSKeyDetector"));
    }

    #[test]
    fn only_skippable_rules_can_be_skipped() {
        let opts = ScanOptions {
            skip: vec!["B101".into(), "B602".into(), "NOPE".into()],
            ..Default::default()
        };
        let rules = ActiveRules::new(&opts);
        assert!(rules.is_skipped("B101"));
        assert!(!rules.is_skipped("B602"));
        assert_eq!(rules.skipped().collect::<Vec<_>>(), vec!["B101"]);
    }

    #[test]
    fn admin_settings_override_the_catalog() {
        let mut settings = BTreeMap::new();
        settings.insert(
            "B404".to_string(),
            RuleSetting {
                enabled: true,
                skippable: true,
                severity: Severity::Critical,
            },
        );
        settings.insert(
            "B101".to_string(),
            RuleSetting {
                enabled: false,
                skippable: true,
                severity: Severity::Warning,
            },
        );
        let rules = ActiveRules::new(&ScanOptions {
            settings,
            ..Default::default()
        });
        assert_eq!(rules.severity("B404"), Some(Severity::Critical));
        assert!(!rules.is_active("B101"));
    }
}
