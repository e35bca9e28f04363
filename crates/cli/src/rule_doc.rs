//! `vetted rule CODE`: one rule's documentation laid out as the sections an author needs — what
//! it reports, why it matters, a bad and a good example, how to suppress it and what that
//! costs. Built from the catalog and its `docs/*.md` descriptions; package and archive rules,
//! whose descriptions carry no examples, get theirs from [`PACKAGE_EXAMPLES`] here.

use std::fmt::Write as _;

use vetted_scan::catalog::{Rule, catalog};
use vetted_scan::report::{Check, Severity};

/// The section titles, in order; tests look for them.
pub const SECTIONS: [&str; 6] = [
    "What it reports",
    "Why it matters",
    "Bad",
    "Good",
    "How to suppress",
    "What a suppression costs",
];

/// A description split into the parts the docs files write (prose, `Bad:`, `Good:`, the
/// `Suppress …` paragraph).
#[derive(Debug, Default, PartialEq)]
struct DescriptionParts {
    what: String,
    why: String,
    bad: String,
    good: String,
    suppress: String,
}

fn split_description(text: &str) -> DescriptionParts {
    enum Part {
        Prose,
        Bad,
        Good,
        Suppress,
    }
    let mut part = Part::Prose;
    let (mut prose, mut bad, mut good, mut suppress) =
        (String::new(), String::new(), String::new(), String::new());
    for line in text.lines() {
        let trimmed = line.trim();
        match trimmed {
            "Bad:" => {
                part = Part::Bad;
                continue;
            }
            "Good:" => {
                part = Part::Good;
                continue;
            }
            _ if trimmed.starts_with("Suppress") && !line.starts_with(' ') => part = Part::Suppress,
            _ => {}
        }
        let target = match part {
            Part::Prose => &mut prose,
            Part::Bad => &mut bad,
            Part::Good => &mut good,
            Part::Suppress => &mut suppress,
        };
        target.push_str(line);
        target.push('\n');
    }
    let prose = prose.trim();
    // The docs open with what the rule reports in one sentence, then say why it matters.
    let (what, why) = match prose.find(". ") {
        Some(i) => (&prose[..=i], prose[i + 2..].trim()),
        None => (prose, ""),
    };
    DescriptionParts {
        what: what.trim().to_string(),
        why: why.to_string(),
        bad: trim_block(&bad),
        good: trim_block(&good),
        suppress: suppress.trim().to_string(),
    }
}

/// Keeps the indentation of example lines but drops blank lines around the block.
fn trim_block(block: &str) -> String {
    block.trim_matches('\n').trim_end().to_string()
}

/// Examples for the package and archive rules, whose docs describe files rather than code.
const PACKAGE_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "ARCHIVE_CORRUPT",
        "    myplugin.zip  (0 bytes, or a .tar.gz renamed to .zip)",
        "    qgis-plugin-ci package 1.2.0   # or: zip -r myplugin.zip myplugin/",
    ),
    (
        "ARCHIVE_TOO_LARGE",
        "    myplugin/data/world_dem.tif   (900 MB)",
        "    myplugin/data_download.py     (fetches the data on first use)",
    ),
    (
        "ARCHIVE_TOO_MANY_ENTRIES",
        "    myplugin/tiles/0/0/0.png … myplugin/tiles/18/…   (50,000 files)",
        "    myplugin/tiles.mbtiles   (one file), or tiles fetched on demand",
    ),
    (
        "ARCHIVE_BOMB",
        "    myplugin/data.bin   (1 MB compressed, 10 GB inflated)",
        "    myplugin/data.csv   (inflates about 5:1, like real data)",
    ),
    (
        "ARCHIVE_UNSAFE_PATH",
        "    myplugin/../../.bashrc\n    C:\\myplugin\\plugin.py",
        "    myplugin/plugin.py",
    ),
    (
        "ARCHIVE_LINK",
        "    myplugin/lib -> /usr/lib/python3/dist-packages",
        "    myplugin/lib/   (a real folder holding the files)",
    ),
    (
        "ARCHIVE_SPECIAL_FILE",
        "    myplugin/fifo   (named pipe)",
        "    myplugin/plugin.py   (regular files only)",
    ),
    (
        "ARCHIVE_DUPLICATE",
        "    myplugin/plugin.py\n    myplugin/plugin.py   (a second entry of the same name)",
        "    myplugin/plugin.py   (once)",
    ),
    (
        "ARCHIVE_NAME_COLLISION",
        "    myplugin/Tool.py\n    myplugin/tool.py",
        "    myplugin/tool.py\n    myplugin/tool_dialog.py",
    ),
    (
        "ARCHIVE_NAME_ENCODING",
        "    myplugin/données.py   (non-ASCII name without the UTF-8 flag)",
        "    myplugin/donnees.py   (or written by a tool that sets the UTF-8 flag)",
    ),
    (
        "ARCHIVE_ENCRYPTED",
        "    zip -e myplugin.zip myplugin/",
        "    zip -r myplugin.zip myplugin/",
    ),
    (
        "ARCHIVE_UNSUPPORTED_METHOD",
        "    7z a -m0=PPMd myplugin.zip myplugin/",
        "    7z a -tzip -mm=Deflate myplugin.zip myplugin/",
    ),
    (
        "ARCHIVE_BAD_ENTRY",
        "    myplugin.zip   (truncated download; `unzip -t` reports CRC errors)",
        "    myplugin.zip   (`unzip -t myplugin.zip` reports no errors)",
    ),
    (
        "PKG_LAYOUT",
        "    plugin.py\n    metadata.txt        (files at the root of the ZIP)",
        "    myplugin/plugin.py\n    myplugin/metadata.txt",
    ),
    (
        "PKG_NAME",
        "    my plugin!/metadata.txt\n    2dtools/metadata.txt",
        "    my_plugin/metadata.txt\n    tools2d/metadata.txt",
    ),
    (
        "PKG_INIT",
        "    myplugin/plugin.py   (no __init__.py)",
        "    myplugin/__init__.py\n        def classFactory(iface):\n            from .plugin import MyPlugin\n            return MyPlugin(iface)",
    ),
    (
        "PKG_METADATA",
        "    name = My Plugin     (no [general] section)\n    about = 100% free    (a bare %)",
        "    [general]\n    name = My Plugin\n    about = 100%% free",
    ),
    (
        "PKG_FIELD_MISSING",
        "    [general]\n    name = My Plugin\n    version = 1.0",
        "    [general]\n    name = My Plugin\n    description = Measures things\n    about = Measures distances along lines\n    version = 1.0\n    qgisMinimumVersion = 3.22\n    author = Ada Lovelace\n    email = ada@example.org\n    tracker = https://github.com/ada/myplugin/issues\n    repository = https://github.com/ada/myplugin",
    ),
    (
        "PKG_FIELD_INVALID",
        "    tracker = http://bugs\n    qgisMinimumVersion = 3",
        "    tracker = https://github.com/ada/myplugin/issues\n    qgisMinimumVersion = 3.22",
    ),
    (
        "PKG_LICENSE",
        "    myplugin/metadata.txt\n    myplugin/plugin.py",
        "    myplugin/LICENSE\n    myplugin/metadata.txt\n    myplugin/plugin.py",
    ),
    (
        "PKG_FORBIDDEN_FILE",
        "    myplugin/__pycache__/plugin.cpython-312.pyc\n    myplugin/.git/config",
        "    myplugin/plugin.py   (built from `git archive` or qgis-plugin-ci)",
    ),
    (
        "PKG_ICON",
        "    icon = icons/logo.png   (no such file in the package)",
        "    icon = icon.png         (myplugin/icon.png is in the ZIP)",
    ),
    (
        "PKG_MULTIPLE_FOLDERS",
        "    myplugin/metadata.txt\n    docs/index.md",
        "    myplugin/metadata.txt   (one top-level folder)",
    ),
    (
        "PKG_DEPRECATED_FIELD",
        "    supportsQt6 = True",
        "    (field removed)",
    ),
    (
        "PKG_FIELD_VALUE",
        "    experimental = maybe",
        "    experimental = False",
    ),
];

/// How a finding of this rule can be accepted, when the docs do not say.
fn default_suppression(rule: &Rule) -> String {
    match rule.check {
        Check::Package => "Package and archive rules cannot be suppressed or skipped: they decide whether the upload is a plugin QGIS can install at all. Fix the package.".into(),
        Check::Bandit => format!("Put `# nosec {}` on the reported line.", rule.code),
        Check::Secrets => "End the line with `# pragma: allowlist secret`, or record the finding in a bundled `.secrets.baseline`.".into(),
        Check::Flake8 => format!("End the line with `# noqa: {}`, or use `per-file-ignores` in a bundled `setup.cfg`, `tox.ini` or `.flake8`.", rule.code),
        Check::Files => "Files have no inline comment: fix or remove the file, or skip the rule at upload when it may be skipped.".into(),
        Check::Qgis => "Threat rules have no inline suppression: change the code, skip the rule at upload when it is a skippable warning, or ask the repository's admin.".into(),
    }
}

/// What accepting a finding costs, from the rule's family, severity and switches.
fn suppression_cost(rule: &Rule) -> String {
    if rule.check == Check::Package {
        return "Nothing can be traded here: a package finding stays until the package is fixed; a critical one makes the upload invalid (exit 2).".into();
    }
    let mut cost = String::from(
        "A suppressed finding no longer counts toward the verdict, but it stays in the report's `suppressed` list (JSON, SARIF and the repository's review), so every suppression is visible to the people who approve the plugin.",
    );
    match rule.check {
        Check::Bandit => cost.push_str(" A bare `# nosec` hides every test on that line, including ones you never reviewed; always name the test id."),
        Check::Flake8 => cost.push_str(" A bare `# noqa` hides every code on the line, and `per-file-ignores` hides the rule for the whole file."),
        Check::Secrets => cost.push_str(" Suppressing never makes a real credential safe: the published ZIP stays downloadable, so suppress only values you have checked are not credentials, and revoke real ones."),
        Check::Files | Check::Package | Check::Qgis => {}
    }
    match (rule.severity, rule.skippable) {
        (Severity::Critical, false) => cost.push_str(" This rule is critical and not skippable at upload: only an inline suppression, visible in the code and the report, keeps a finding from blocking the plugin."),
        (_, true) => cost.push_str(" This rule may also be skipped at upload (`--skip CODE` locally): that suppresses it in the whole plugin, which reviewers see as well."),
        (_, false) => {}
    }
    cost
}

/// The documentation of one rule, or `None` for a code the catalog does not have.
pub fn render(code: &str) -> Option<String> {
    let rule = catalog().get(code)?;
    let parts = split_description(rule.description());
    let (bad, good) = match PACKAGE_EXAMPLES.iter().find(|(c, _, _)| *c == rule.code) {
        Some((_, bad, good)) if parts.bad.is_empty() => (bad.to_string(), good.to_string()),
        _ => (parts.bad.clone(), parts.good.clone()),
    };
    let why = if parts.why.is_empty() {
        generic_why(rule)
    } else {
        parts.why.clone()
    };
    let suppress = if parts.suppress.is_empty() {
        default_suppression(rule)
    } else {
        parts.suppress.clone()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", rule.code, rule.name);
    let _ = writeln!(
        out,
        "{} · severity {} · {} under the qgis profile · {}",
        rule.check.name(),
        rule.severity.as_str(),
        if rule.enabled { "enabled" } else { "off" },
        if rule.skippable {
            "skippable at upload"
        } else {
            "not skippable"
        }
    );
    let blocks = match (rule.check, rule.severity) {
        (Check::Package, Severity::Critical) => "A finding makes the package invalid (exit 2).",
        (_, Severity::Critical) => "A finding blocks the plugin (exit 1).",
        (_, Severity::Warning) => "A finding is reported to reviewers but does not block.",
        (_, Severity::Info) => "A finding is informational when the rule is enabled.",
    };
    let _ = writeln!(out, "{blocks}");
    for (title, body) in SECTIONS.iter().zip([
        &parts.what,
        &why,
        &bad,
        &good,
        &suppress,
        &suppression_cost(rule),
    ]) {
        let _ = writeln!(out, "\n{title}:");
        if body.starts_with("    ") {
            let _ = writeln!(out, "{body}");
        } else {
            for line in wrap(body, 92) {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    Some(out)
}

/// When a description is a single sentence, the family says why it matters.
fn generic_why(rule: &Rule) -> String {
    match rule.check {
        Check::Package => "QGIS and plugins.qgis.org accept only packages they can install and read; a package that breaks these rules fails to install or cannot be vetted.".into(),
        Check::Bandit => "Plugin code runs inside QGIS with the user's full rights, so a weakness in it is a weakness on the user's desktop.".into(),
        Check::Secrets => "A published plugin ZIP stays downloadable, so a credential that ships once is public.".into(),
        Check::Flake8 => "Code that is easy to read is code whose behaviour reviewers can check.".into(),
        Check::Files => "Everything in the ZIP is installed into the user's profile with the user's rights.".into(),
        Check::Qgis => "These are the patterns malicious QGIS plugins use; a plugin runs inside QGIS with the user's rights and can reach the user's data, credentials and network.".into(),
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// A code that is close to what was typed, for the error message (`b602` → `B602`,
/// `assert_used` → `B101`).
pub fn suggest(code: &str) -> Option<&'static str> {
    let cat = catalog();
    cat.rules()
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
        .or_else(|| {
            cat.rules()
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(&code.replace('_', " ")))
        })
        .map(|r| r.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_split_into_parts() {
        let parts = split_description(
            "Reports X. It matters because Y.\n\nBad:\n    x = 1\n\nGood:\n    y = 2\n\nSuppress with `# noqa: X`.",
        );
        assert_eq!(parts.what, "Reports X.");
        assert_eq!(parts.why, "It matters because Y.");
        assert_eq!(parts.bad, "    x = 1");
        assert_eq!(parts.good, "    y = 2");
        assert_eq!(parts.suppress, "Suppress with `# noqa: X`.");
    }

    #[test]
    fn every_package_example_names_a_catalog_rule() {
        for (code, _, _) in PACKAGE_EXAMPLES {
            assert!(catalog().get(code).is_some(), "{code}");
        }
    }

    #[test]
    fn every_rule_has_every_section_with_content() {
        for rule in catalog().rules() {
            let doc = render(rule.code).unwrap();
            let mut rest = doc.as_str();
            for title in SECTIONS {
                let at = rest
                    .find(&format!("\n{title}:\n"))
                    .unwrap_or_else(|| panic!("{}: no {title}\n{doc}", rule.code));
                rest = &rest[at + title.len() + 3..];
                assert!(
                    rest.starts_with("    ") && rest.trim_start().len() > 2,
                    "{}: empty {title}\n{doc}",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn codes_are_found_regardless_of_case() {
        assert_eq!(suggest("b602"), Some("B602"));
        assert_eq!(suggest("assert_used"), Some("B101"));
        assert!(render("NOPE").is_none());
    }
}
