//! The pyflakes and pycodestyle rules taken from ruff_linter, run once per file on the shared
//! parse, with ruff's codes and messages turned into Flake8's.

use std::path::Path;

use ruff_linter::linter::{ParseSource, lint_only};
use ruff_linter::registry::Rule;
use ruff_linter::settings::LinterSettings;
use ruff_linter::settings::flags;
use ruff_linter::settings::types::PreviewMode;
use ruff_linter::source_kind::SourceKind;
use ruff_python_ast::{ModModule, PySourceType};
use ruff_python_parser::Parsed;

/// Flake8 codes whose checks come from ruff (its code is the same).
pub const FROM_RUFF: &[&str] = &[
    "E101", "E111", "E112", "E113", "E114", "E115", "E116", "E117", "E204", "E211", "E221", "E222",
    "E223", "E224", "E225", "E226", "E227", "E228", "E231", "E241", "E242", "E251", "E252", "E261",
    "E262", "E265", "E266", "E271", "E272", "E273", "E274", "E275", "E301", "E302", "E303", "E304",
    "E305", "E306", "E401", "E502", "E701", "E702", "E703", "E731", "E741", "E742", "E743", "W191",
    "W291", "W292", "W293", "W391", "W605", "F401", "F402", "F403", "F404", "F405", "F406", "F407",
    "F501", "F502", "F503", "F504", "F505", "F506", "F507", "F508", "F509", "F521", "F522", "F523",
    "F524", "F525", "F541", "F601", "F602", "F621", "F622", "F631", "F632", "F633", "F634", "F701",
    "F702", "F704", "F706", "F707", "F722", "F811", "F821", "F822", "F823", "F841", "F842", "F901",
    "F824", "C901",
];

/// Flake8 codes whose ruff rule has another code.
fn ruff_code(flake8: &str) -> &str {
    match flake8 {
        "F824" => "PLW0602",
        other => other,
    }
}

fn flake8_code(ruff: &str) -> &str {
    match ruff {
        "PLW0602" => "F824",
        other => other,
    }
}

/// One ruff run's settings.
pub struct RuffLinter {
    settings: LinterSettings,
}

/// A ruff finding in Flake8 terms: byte offset, code, message.
pub struct RuffHit {
    pub offset: usize,
    pub code: String,
    pub message: String,
}

impl RuffLinter {
    /// `codes` are the Flake8 codes wanted; C901 only when `max_complexity` is set.
    pub fn new(codes: &[&str], max_complexity: Option<usize>) -> Option<RuffLinter> {
        let rules: Vec<Rule> = codes
            .iter()
            .filter(|c| **c != "C901" || max_complexity.is_some())
            .filter_map(|c| Rule::from_code(ruff_code(c)).ok())
            .collect();
        if rules.is_empty() {
            return None;
        }
        let mut settings = settings_for(rules)?;
        settings.preview = PreviewMode::Enabled;
        // pyflakes reports unused imports in `__init__.py`.
        settings.ignore_init_module_imports = false;
        if let Some(n) = max_complexity {
            settings.mccabe.max_complexity = n;
        }
        Some(RuffLinter { settings })
    }

    pub fn run(&self, source: &str, parsed: Parsed<ModModule>) -> Vec<RuffHit> {
        let kind = SourceKind::Python {
            code: source.to_string(),
            is_stub: false,
        };
        let result = lint_only(
            Path::new("module.py"),
            None,
            &self.settings,
            flags::Noqa::Disabled,
            &kind,
            PySourceType::Python,
            ParseSource::Precomputed(parsed),
        );
        let mut out = Vec::new();
        for d in &result.diagnostics {
            let Some(code) = d.secondary_code() else {
                continue;
            };
            let code: &str = flake8_code(code);
            let Some(range) = d.range() else { continue };
            out.push(RuffHit {
                offset: range.start().to_usize(),
                code: code.to_string(),
                message: flake8_message(code, &d.concise_message().to_string()),
            });
        }
        out
    }
}

/// `LinterSettings::for_rules(rules)` spelled out field by field, except two regexes ruff's
/// defaults compile and Flake8 never reads, which cost more than linting a small plugin: the
/// dummy-variable pattern is pyflakes' (only `_` is exempt) from the start, and flake8-copyright's
/// notice pattern (no Flake8 code reaches it) is one that compiles at once. The default rule
/// selection `for_rules` builds and drops is skipped. `settings_are_ruffs_defaults` compares the
/// whole settings with ruff's. `None` only if a constant pattern failed to compile.
fn settings_for(rules: Vec<Rule>) -> Option<LinterSettings> {
    use ruff_linter::line_width::{IndentWidth, LineLength};
    use ruff_linter::rules::flake8_copyright;
    use ruff_linter::settings::types::{
        CompiledPerFileIgnoreList, CompiledPerFileTargetVersionList, ExtensionMapping,
        FilePatternSet,
    };
    use ruff_linter::settings::{TASK_TAGS, fix_safety_table::FixSafetyTable};
    // What ruff's `fs::get_cwd` answers (its `path_dedot::CWD`).
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    Some(LinterSettings {
        exclude: FilePatternSet::default(),
        extension: ExtensionMapping::default(),
        project_root: cwd.clone(),
        rules: rules.into_iter().collect(),
        per_file_ignores: CompiledPerFileIgnoreList::default(),
        fix_safety: FixSafetyTable::default(),
        unresolved_target_version: ruff_python_ast::PythonVersion::latest().into(),
        per_file_target_version: CompiledPerFileTargetVersionList::default(),
        preview: PreviewMode::default(),
        explicit_preview_rules: false,
        allowed_confusables: Default::default(),
        builtins: vec![],
        dummy_variable_rgx: regex::Regex::new("^_$").ok()?,
        external: vec![],
        ignore_init_module_imports: true,
        logger_objects: vec![],
        namespace_packages: vec![],
        src: vec![cwd.clone(), cwd.join("src")],
        tab_size: IndentWidth::default(),
        line_length: LineLength::default(),
        task_tags: TASK_TAGS.iter().map(ToString::to_string).collect(),
        typing_modules: vec![],
        typing_extensions: true,
        future_annotations: false,
        flake8_annotations: Default::default(),
        flake8_bandit: Default::default(),
        flake8_boolean_trap: Default::default(),
        flake8_bugbear: Default::default(),
        flake8_builtins: Default::default(),
        flake8_comprehensions: Default::default(),
        flake8_copyright: flake8_copyright::settings::Settings {
            notice_rgx: regex::Regex::new("^$").ok()?,
            author: None,
            min_file_size: 0,
        },
        flake8_errmsg: Default::default(),
        flake8_gettext: Default::default(),
        flake8_implicit_str_concat: Default::default(),
        flake8_import_conventions: Default::default(),
        flake8_pytest_style: Default::default(),
        flake8_quotes: Default::default(),
        flake8_self: Default::default(),
        flake8_tidy_imports: Default::default(),
        flake8_type_checking: Default::default(),
        flake8_unused_arguments: Default::default(),
        isort: Default::default(),
        mccabe: Default::default(),
        pep8_naming: Default::default(),
        pycodestyle: Default::default(),
        pydoclint: Default::default(),
        pydocstyle: Default::default(),
        pyflakes: Default::default(),
        pylint: Default::default(),
        pyupgrade: Default::default(),
        ruff: Default::default(),
    })
}

/// Ruff's wording in Flake8's style: pycodestyle and pyflakes messages start lower-case, names are quoted
/// with `'` instead of backticks.
fn flake8_message(code: &str, message: &str) -> String {
    if code == "F824" {
        let name = message.split('`').nth(1).unwrap_or("");
        return format!("`global {name}` is unused: name is never assigned in scope");
    }
    let m = message.replace('`', "'");
    if code.starts_with('E') || code.starts_with('W') || code.starts_with('F') {
        let mut chars = m.chars();
        match chars.next() {
            Some(c) => c.to_lowercase().chain(chars).collect(),
            None => m,
        }
    } else if code == "C901" {
        // mccabe: `'name' is too complex (N)`; ruff adds `> max`.
        match (m.rfind(" ("), m.rfind(" > ")) {
            (Some(open), Some(gt)) if gt > open => format!("{})", &m[..gt]),
            _ => m,
        }
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apart from the two patterns it replaces on purpose, `settings_for` builds what ruff's
    /// `for_rules` builds: every setting, as ruff prints them, is the same.
    #[test]
    fn settings_are_ruffs_defaults() {
        let rules: Vec<Rule> = ["F401", "E501", "E711", "C901"]
            .iter()
            .map(|c| Rule::from_code(c).unwrap())
            .collect();
        let ours = settings_for(rules.clone()).unwrap();
        let mut theirs = LinterSettings::for_rules(rules);
        assert_ne!(
            ours.flake8_copyright.notice_rgx.as_str(),
            theirs.flake8_copyright.notice_rgx.as_str()
        );
        assert_ne!(
            ours.dummy_variable_rgx.as_str(),
            theirs.dummy_variable_rgx.as_str()
        );
        theirs.flake8_copyright.notice_rgx = ours.flake8_copyright.notice_rgx.clone();
        theirs.dummy_variable_rgx = ours.dummy_variable_rgx.clone();
        let (ours, theirs) = (ours.to_string(), theirs.to_string());
        assert!(
            ours.contains("linter.rules.enabled") && ours.contains("mccabe"),
            "{ours}"
        );
        assert_eq!(ours, theirs);
    }
}
