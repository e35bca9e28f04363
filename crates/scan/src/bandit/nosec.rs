//! `# nosec` as Bandit 1.9.4 reads it: every comment token is matched against Bandit's
//! `NOSEC_COMMENT`; the listed words are kept when they are a known test id or test name
//! (`# nosec` alone, or with only unknown words, silences every test on that line).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_source_file::LineIndex;
use ruff_text_size::Ranged;

use super::tests::TEST_NAMES;
use crate::Map as HashMap;

static NOSEC: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"#\s*nosec:?\s*(?P<tests>[^#]+)?#?").ok());
static NOSEC_TESTS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)(?:(B\d+|[a-z\d_]+),?)+").ok());

/// Line number to the test ids a `# nosec` comment on it names (empty = all tests).
pub type NosecLines = HashMap<u32, BTreeSet<String>>;

/// Parses one comment; `None` when it is not a nosec comment.
pub fn parse_comment(comment: &str) -> Option<BTreeSet<String>> {
    let caps = NOSEC.as_ref()?.captures(comment)?;
    let mut ids = BTreeSet::new();
    if let (Some(tests), Some(re)) = (caps.name("tests"), NOSEC_TESTS.as_ref()) {
        for m in re.captures_iter(tests.as_str()) {
            let Some(word) = m.get(1).map(|g| g.as_str()) else {
                continue;
            };
            if TEST_NAMES.iter().any(|(id, _)| *id == word) {
                ids.insert(word.to_string());
            } else if let Some((id, _)) = TEST_NAMES.iter().find(|(_, name)| *name == word) {
                ids.insert((*id).to_string());
            } else if let Some(id) = blacklist_name(word) {
                ids.insert(id.to_string());
            }
        }
    }
    Some(ids)
}

/// Bandit also knows blacklist entries by their short names (`pickle`, `md5`, …).
fn blacklist_name(word: &str) -> Option<&'static str> {
    super::tests::blacklist_calls::CALLS
        .iter()
        .chain(super::tests::blacklist_imports::IMPORTS.iter())
        .find(|e| e.name == word)
        .map(|e| e.id)
}

pub fn collect(tokens: &Tokens, source: &str, lines: &LineIndex) -> NosecLines {
    let mut out = NosecLines::default();
    for tok in tokens.iter() {
        if tok.kind() != TokenKind::Comment {
            continue;
        }
        let text = &source[tok.range()];
        if !text.contains("nosec") {
            continue;
        }
        if let Some(ids) = parse_comment(text) {
            out.insert(lines.line_index(tok.start()).get() as u32, ids);
        }
    }
    out
}

/// Bandit's decision for one issue: `Some(true)` when a nosec comment silences it.
pub fn is_suppressed(nosec: &NosecLines, test_id: &str, line: u32, line_range: &[u32]) -> bool {
    let base = nosec.get(&line);
    let context = line_range.iter().find_map(|l| nosec.get(l));
    if base.is_none() && context.is_none() {
        return false;
    }
    let mut set: BTreeSet<&str> = BTreeSet::new();
    for s in [base, context].into_iter().flatten() {
        set.extend(s.iter().map(String::as_str));
    }
    set.is_empty() || set.contains(test_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_bandit() {
        assert_eq!(parse_comment("# nosec"), Some(BTreeSet::new()));
        assert_eq!(parse_comment("# no sec"), None);
        let ids = parse_comment("# nosec B602, B607").unwrap_or_default();
        assert!(ids.contains("B602") && ids.contains("B607"));
        // Bandit keeps only the last id of a comma-joined run.
        let ids = parse_comment("# nosec B602,B607").unwrap_or_default();
        assert!(!ids.contains("B602") && ids.contains("B607"));
        let ids = parse_comment("# nosec: assert_used").unwrap_or_default();
        assert!(ids.contains("B101"));
        assert_eq!(parse_comment("# nosec - it is fine"), Some(BTreeSet::new()));
    }
}
