//! `# noqa` as Flake8 honours it: a blanket `# noqa` silences every code on the line, `# noqa:
//! E501,F401` the listed codes and their prefixes; the comment is searched in all physical lines
//! between two newline tokens (so one comment covers a whole multi-line string). A line starting
//! with `# flake8: noqa` (without codes) skips the file.

use crate::ascii_regex::LazyRegex;

// Flake8's patterns, compiled in ASCII form for ASCII comments.
static INLINE: LazyRegex =
    LazyRegex::new(r"(?i)# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?");
static FILE: LazyRegex = LazyRegex::new(r"(?i)^\s*# flake8[:=]\s*noqa");
static FILE_WITH_CODES: LazyRegex = LazyRegex::new(r"(?i)^\s*# flake8[:=]\s*noqa\s*:");

/// Whether the file carries a `# flake8: noqa` line that makes Flake8 skip it. Flake8 matches the
/// regex at the start of each line; with codes after it the comment is only a warning.
pub fn file_is_skipped(lines: &[&str]) -> bool {
    lines.iter().any(|l| {
        crate::literal::may_contain_ci(l, &["noqa"])
            && FILE.is_match(l)
            && !FILE_WITH_CODES.is_match(l)
    })
}

/// What a `# noqa` comment silences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Noqa {
    All,
    Codes(Vec<String>),
}

impl Noqa {
    pub fn silences(&self, code: &str) -> bool {
        match self {
            Noqa::All => true,
            Noqa::Codes(codes) => codes.iter().any(|c| code.starts_with(c.as_str())),
        }
    }
}

/// The first `# noqa` in `text`, as Flake8's regex finds it.
pub fn parse(text: &str) -> Option<Noqa> {
    if !crate::literal::may_contain_ci(text, &["noqa"]) {
        return None;
    }
    let m = INLINE.captures_at(text, 0)?;
    Some(match m.get_group_by_name("codes") {
        None => Noqa::All,
        Some(codes) => Noqa::Codes(super::config::split_list(&text[codes.range()])),
    })
}

/// Per line (1-based index), the `# noqa` that applies to it (none: the default).
#[derive(Default)]
pub struct NoqaMap {
    by_line: Vec<Option<Noqa>>,
}

impl NoqaMap {
    /// `groups` are inclusive 1-based line ranges that Flake8 searches together.
    pub fn new(lines: &[&str], groups: &[(usize, usize)]) -> NoqaMap {
        let mut by_line = vec![None; lines.len() + 2];
        // Every `# noqa` holds `#` and `noqa`: most files have none, and need no group joined.
        if !lines
            .iter()
            .any(|l| l.contains('#') && crate::literal::may_contain_ci(l, &["noqa"]))
        {
            return NoqaMap { by_line };
        }
        for &(first, last) in groups {
            let last = last.min(lines.len());
            if first == 0 || first > last {
                continue;
            }
            let joined: String = lines[first - 1..last].concat();
            if let Some(n) = parse(&joined) {
                for slot in by_line.iter_mut().take(last + 1).skip(first) {
                    *slot = Some(n.clone());
                }
            }
        }
        NoqaMap { by_line }
    }

    pub fn silences(&self, line: usize, code: &str) -> bool {
        self.by_line
            .get(line)
            .and_then(Option::as_ref)
            .is_some_and(|n| n.silences(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_match_as_the_regex_crate_does_on_ascii_and_other_lines() {
        let lines = [
            "x = 1  # noqa",
            "x = 1  # NOQA:E501,W291 trailing",
            "x = 1  # noqa: e501 f401",
            "x = 1  # noqa:E501,,  W2",
            "# flake8: noqa",
            "  # FLAKE8=NOQA : E501",
            "\u{3000}# flake8: noqa",
            "x = 'é'  # noqa:E501\u{2003}F401",
            "x = 1  # noqa:\u{212A}501",
            "# noqa:ſ1",
            "",
        ];
        for re in [&INLINE, &FILE, &FILE_WITH_CODES] {
            crate::ascii_regex::assert_agrees_with_regex_crate(re, &lines);
        }
    }

    #[test]
    fn blanket_and_specific() {
        assert_eq!(parse("x = 1  # noqa"), Some(Noqa::All));
        assert_eq!(
            parse("x = 1  # NOQA:E501,F401"),
            Some(Noqa::Codes(vec!["E501".into(), "F401".into()]))
        );
        assert_eq!(
            parse("x = 1  # noqa: E5 W2"),
            Some(Noqa::Codes(vec!["E5".into(), "W2".into()]))
        );
        // Codes that do not look like codes make it a blanket noqa, as in Flake8.
        assert_eq!(parse("x = 1  # noqa: unused"), Some(Noqa::All));
        assert_eq!(parse("x = 1  # no qa"), None);
        assert!(Noqa::Codes(vec!["E5".into()]).silences("E501"));
        assert!(!Noqa::Codes(vec!["E5".into()]).silences("F401"));
    }

    #[test]
    fn file_level() {
        assert!(file_is_skipped(&["import os\n", "# flake8: noqa\n"]));
        assert!(!file_is_skipped(&["# flake8: noqa: E501\n"]));
        assert!(!file_is_skipped(&["x = 1  # flake8: noqa\n"]));
    }

    #[test]
    fn groups_share_a_comment() {
        let lines = ["x = '''\n", "long\n", "'''  # noqa\n", "y = 1\n"];
        let map = NoqaMap::new(&lines, &[(1, 3), (4, 4)]);
        assert!(map.silences(2, "E501"));
        assert!(!map.silences(4, "E501"));
    }
}
