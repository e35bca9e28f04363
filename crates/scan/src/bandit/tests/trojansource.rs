//! B613 trojansource: bidirectional control characters anywhere in the file.
use crate::bandit::helpers::{High, Issue, Medium};

const BIDI: &[char] = &[
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200f}',
];

/// Python's `str.splitlines` boundaries.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

fn py_splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_line_break(c) {
            out.push(&text[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r'
                && let Some(&(j, '\n')) = iter.peek()
            {
                iter.next();
                next = j + 1;
            }
            start = next;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

pub fn check(source: &str) -> Option<Issue> {
    // Every one of these characters starts with the UTF-8 byte 0xE2.
    if !source.as_bytes().contains(&0xE2) || !source.chars().any(|c| BIDI.contains(&c)) {
        return None;
    }
    for (idx, line) in py_splitlines(source).into_iter().enumerate() {
        for ch in BIDI {
            if let Some(byte) = line.find(*ch) {
                let col = line[..byte].chars().count() as u32 + 1;
                let lineno = idx as u32 + 1;
                let mut issue = Issue::new(
                    "B613",
                    "trojansource",
                    High,
                    Medium,
                    838,
                    format!(
                        "A Python source file contains bidirectional control characters ('\\u{:04x}').",
                        *ch as u32
                    ),
                );
                issue.line = Some(lineno);
                issue.col = Some(col);
                issue.line_range = Some(vec![lineno]);
                return Some(issue);
            }
        }
    }
    None
}
