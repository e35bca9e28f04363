//! The rule catalog: every rule Vetted can report, with its family, default severity and the
//! switches an admin can change. Defaults follow plugins.qgis.org (`qgis-defaults.tsv`); each
//! family adds the rules its reference tool has beyond that list and says which ones the tool
//! runs when invoked with no options. Descriptions live in `docs/<family>.md`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::report::{Check, Severity};

/// One rule of the catalog.
#[derive(Debug, Clone)]
pub struct Rule {
    pub check: Check,
    /// The reference tool's code: `B602`, `KeywordDetector`, `E722`, `FILE_BINARY`, `PKG_METADATA`.
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// Enabled under the `qgis` profile unless an admin says otherwise.
    pub enabled: bool,
    /// Whether an uploader may skip it.
    pub skippable: bool,
    /// Whether the reference tool runs it when invoked with no options (`--profile tool-defaults`).
    pub tool_default: bool,
}

impl Rule {
    /// The rule's section of `docs/<family>.md` (empty if it has none). The docs are split into
    /// sections the first time any description is asked for: a scan never needs them.
    pub fn description(&self) -> &'static str {
        static DOCS: LazyLock<Vec<BTreeMap<&'static str, &'static str>>> = LazyLock::new(|| {
            Check::ALL
                .iter()
                .map(|c| parse_docs(docs_for(*c)))
                .collect()
        });
        let at = Check::ALL.iter().position(|c| *c == self.check);
        at.and_then(|i| DOCS.get(i))
            .and_then(|docs| docs.get(self.code))
            .copied()
            .unwrap_or("")
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Rule", 8)?;
        out.serialize_field("check", &self.check)?;
        out.serialize_field("code", self.code)?;
        out.serialize_field("name", self.name)?;
        out.serialize_field("severity", &self.severity)?;
        out.serialize_field("enabled", &self.enabled)?;
        out.serialize_field("skippable", &self.skippable)?;
        out.serialize_field("tool_default", &self.tool_default)?;
        out.serialize_field("description", self.description())?;
        out.end()
    }
}

/// What a family declares about its rules beyond the plugins.qgis.org defaults.
#[derive(Debug, Clone, Copy)]
pub struct FamilyRule {
    pub code: &'static str,
    pub name: &'static str,
    pub tool_default: bool,
}

/// The whole catalog, ordered by family then code.
pub struct Catalog {
    rules: Vec<Rule>,
    by_code: BTreeMap<&'static str, usize>,
    /// The fingerprint, computed by the first caller (every report and `--version` need it).
    version: std::sync::OnceLock<String>,
}

/// An admin's setting for one rule, overriding the catalog defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetting {
    pub enabled: bool,
    pub skippable: bool,
    pub severity: Severity,
}

impl Catalog {
    pub fn get(&self, code: &str) -> Option<&Rule> {
        self.by_code.get(code).map(|&i| &self.rules[i])
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn family(&self, check: Check) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.check == check)
    }

    /// A stable fingerprint of the defaults, reported as the ruleset version.
    pub fn version(&self) -> String {
        self.version
            .get_or_init(|| {
                use sha2::{Digest, Sha256};
                let mut h = Sha256::new();
                let mut line = String::new();
                for r in &self.rules {
                    fingerprint_line(r, &mut line);
                    h.update(line.as_bytes());
                }
                format!(
                    "{}+{}",
                    env!("CARGO_PKG_VERSION"),
                    &hex::encode(h.finalize())[..8]
                )
            })
            .clone()
    }

    pub fn default_setting(&self, code: &str) -> Option<RuleSetting> {
        self.get(code).map(|r| RuleSetting {
            enabled: r.enabled,
            skippable: r.skippable,
            severity: r.severity,
        })
    }
}

/// One rule's line of the fingerprint, `check|code|Severity|enabled|skippable|tool_default\n`
/// (the severity as its Rust name), written without the formatting machinery: every report
/// needs the fingerprint, so it is on every scan's path.
fn fingerprint_line(r: &Rule, line: &mut String) {
    let flag = |b: bool| if b { "true" } else { "false" };
    let severity = match r.severity {
        Severity::Info => "Info",
        Severity::Warning => "Warning",
        Severity::Critical => "Critical",
    };
    line.clear();
    for (i, part) in [
        r.check.id(),
        r.code,
        severity,
        flag(r.enabled),
        flag(r.skippable),
        flag(r.tool_default),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            line.push('|');
        }
        line.push_str(part);
    }
    line.push('\n');
}

/// The catalog, built once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(build);
    &CATALOG
}

const QGIS_DEFAULTS: &str = include_str!("qgis-defaults.tsv");

fn docs_for(check: Check) -> &'static str {
    match check {
        Check::Package => include_str!("docs/package.md"),
        Check::Bandit => include_str!("docs/bandit.md"),
        Check::Secrets => include_str!("docs/secrets.md"),
        Check::Flake8 => include_str!("docs/flake8.md"),
        Check::Files => include_str!("docs/files.md"),
        Check::Qgis => include_str!("docs/qgis.md"),
    }
}

/// Splits a docs file into `## CODE` sections; the text under a heading is that rule's description.
fn parse_docs(text: &'static str) -> BTreeMap<&'static str, &'static str> {
    let mut out = BTreeMap::new();
    // Offsets of every heading line.
    let mut heads: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("## ") {
            heads.push(offset);
        }
        offset += line.len();
    }
    for (n, &start) in heads.iter().enumerate() {
        let end = heads.get(n + 1).copied().unwrap_or(text.len());
        let section = &text[start + 3..end];
        let (title, body) = section.split_once('\n').unwrap_or((section, ""));
        if let Some(code) = title.split_whitespace().next() {
            out.insert(code, body.trim());
        }
    }
    out
}

fn family_rules(check: Check) -> &'static [FamilyRule] {
    match check {
        Check::Package => crate::package::RULES,
        Check::Bandit => crate::bandit::RULES,
        Check::Secrets => crate::secrets::RULES,
        Check::Flake8 => crate::flake8::RULES,
        Check::Files => crate::files::RULES,
        // Vetted's own rules carry their severities: see `own_rules`.
        Check::Qgis => &[],
    }
}

fn parse_severity(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        _ => Severity::Info,
    }
}

fn build() -> Catalog {
    let mut rules: Vec<Rule> = Vec::new();
    for line in QGIS_DEFAULTS.lines().skip(1) {
        let cols: Vec<&'static str> = line.split('\t').collect();
        if cols.len() < 6 {
            continue;
        }
        let Some(check) = Check::from_family(cols[0]) else {
            continue;
        };
        rules.push(Rule {
            check,
            code: cols[1],
            name: cols[2],
            severity: parse_severity(cols[3]),
            enabled: cols[4] == "true",
            skippable: cols[5] == "true",
            tool_default: false,
        });
    }
    // Rule codes to their (first) place in `rules`, as rules are added.
    let mut index = crate::Map::with_capacity_and_hasher(rules.len(), Default::default());
    for (i, r) in rules.iter().enumerate() {
        index.entry(r.code).or_insert(i);
    }
    for check in Check::ALL {
        for fr in family_rules(check) {
            if let Some(&i) = index.get(fr.code) {
                rules[i].tool_default = fr.tool_default;
            } else {
                // Rules plugins.qgis.org does not list run only when a profile or admin enables them.
                let (severity, enabled, skippable) = if check == Check::Package {
                    package_rule_defaults(fr.code)
                } else {
                    (Severity::Info, false, true)
                };
                rules.push(Rule {
                    check,
                    code: fr.code,
                    name: fr.name,
                    severity,
                    enabled,
                    skippable,
                    tool_default: fr.tool_default,
                });
                index.insert(fr.code, rules.len() - 1);
            }
        }
    }
    for (check, fr, severity) in own_rules() {
        rules.push(Rule {
            check,
            code: fr.code,
            name: fr.name,
            severity,
            enabled: true,
            // As on plugins.qgis.org: critical rules cannot be skipped, the others can.
            skippable: severity != Severity::Critical,
            tool_default: fr.tool_default,
        });
    }
    rules.sort_by(|a, b| (a.check as u8, a.code).cmp(&(b.check as u8, b.code)));
    let by_code = rules.iter().enumerate().map(|(i, r)| (r.code, i)).collect();
    Catalog {
        rules,
        by_code,
        version: std::sync::OnceLock::new(),
    }
}

/// Vetted's own rules beyond the reference tools, enabled with their own default severity:
/// credentials QGIS leaves in files (critical) and the QGIS threat rules.
fn own_rules() -> impl Iterator<Item = (Check, FamilyRule, Severity)> {
    crate::secrets::OWN_RULES
        .iter()
        .map(|r| (Check::Secrets, *r, Severity::Critical))
        .chain(
            crate::qgis::RULES
                .iter()
                .map(|(r, s)| (Check::Qgis, *r, *s)),
        )
}

fn package_rule_defaults(code: &str) -> (Severity, bool, bool) {
    if crate::package::WARNING_RULES.contains(&code) {
        (Severity::Warning, true, false)
    } else {
        (Severity::Critical, true, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qgis_defaults_follow_the_severity_convention() {
        let cat = catalog();
        assert!(
            cat.family(Check::Bandit)
                .filter(|r| r.code.starts_with('B'))
                .count()
                >= 78
        );
        for r in cat.rules().iter().filter(|r| r.check != Check::Package) {
            if QGIS_DEFAULTS.contains(&format!("\t{}\t", r.code)) {
                match r.severity {
                    Severity::Critical => assert!(r.enabled && !r.skippable, "{}", r.code),
                    Severity::Warning => assert!(r.enabled && r.skippable, "{}", r.code),
                    Severity::Info => assert!(!r.enabled && r.skippable, "{}", r.code),
                }
            }
        }
    }

    #[test]
    fn catalog_counts_match_plugins_qgis_org() {
        let listed: Vec<_> = QGIS_DEFAULTS.lines().skip(1).collect();
        assert_eq!(listed.len(), 78 + 27 + 96 + 4);
        let cat = catalog();
        for line in listed {
            let code = line.split('\t').nth(1).unwrap();
            assert!(cat.get(code).is_some(), "{code} missing");
        }
    }

    #[test]
    fn docs_sections_are_split_by_heading() {
        let docs = parse_docs("intro\n## A1 first\nalpha\n\n## B2\nbeta\nmore\n");
        assert_eq!(docs.get("A1"), Some(&"alpha"));
        assert_eq!(docs.get("B2"), Some(&"beta\nmore"));
    }

    #[test]
    fn fingerprint_lines_are_the_formatted_ones() {
        let mut line = String::new();
        let mut severities = std::collections::BTreeSet::new();
        for r in catalog().rules() {
            super::fingerprint_line(r, &mut line);
            let formatted = format!(
                "{}|{}|{:?}|{}|{}|{}\n",
                r.check.id(),
                r.code,
                r.severity,
                r.enabled,
                r.skippable,
                r.tool_default
            );
            assert_eq!(line, formatted);
            severities.insert(r.severity.as_str());
        }
        assert_eq!(severities.len(), 3, "{severities:?}");
    }

    #[test]
    fn every_rule_has_a_description() {
        let missing: Vec<_> = catalog()
            .rules()
            .iter()
            .filter(|r| r.description().is_empty())
            .map(|r| r.code)
            .collect();
        assert!(
            missing.is_empty(),
            "rules without a description: {missing:?}"
        );
    }
}
