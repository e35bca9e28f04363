//! Python source as the families see it: decoded once (PEP 263 coding cookies, BOM), checked by
//! a cheap guard that refuses files whose nesting would overflow the parser's or the AST's
//! recursion, then parsed once with Astral's parser; every Python family shares that parse.

use std::borrow::Cow;

use ruff_python_ast::{ModModule, PySourceType};
use ruff_python_parser::{Parsed, parse_unchecked_source};

/// Longest run of binary operators, attribute dots or commas in one logical line that we parse.
/// 30,000 already overflows an 8 MiB stack in ruff; scans run on a 512 MiB stack.
pub const MAX_OPERATOR_CHAIN: usize = 50_000;
/// Deepest bracket nesting we parse (CPython itself stops at 200).
pub const MAX_BRACKET_DEPTH: usize = 1_000;
/// Deepest indentation we parse, in levels of at least one column (CPython stops at 100).
pub const MAX_INDENT_COLUMNS: usize = 4_000;

/// Why a Python file cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonProblem {
    /// The bytes do not decode with the declared (or default UTF-8) encoding.
    Decode(String),
    /// The file is legal-looking but too deeply nested to analyse safely.
    Unscannable(String),
}

impl std::fmt::Display for PythonProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PythonProblem::Decode(m) | PythonProblem::Unscannable(m) => f.write_str(m),
        }
    }
}

/// A decoded and parsed Python file. The parse may hold syntax errors (the parser recovers);
/// `parsed.errors()` lists them.
pub struct PythonModule {
    pub source: String,
    pub parsed: Parsed<ModModule>,
}

impl PythonModule {
    pub fn has_syntax_errors(&self) -> bool {
        !self.parsed.errors().is_empty()
    }
}

/// Decodes, guards and parses.
pub fn load(bytes: &[u8]) -> Result<PythonModule, PythonProblem> {
    let source = decode(bytes)?.into_owned();
    guard(&source)?;
    let parsed = parse_unchecked_source(&source, PySourceType::Python);
    Ok(PythonModule { source, parsed })
}

/// The PEP 263 encoding declared in the first two lines, lower-cased, if any.
pub fn coding_cookie(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|b| *b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            // Only a comment line (or a blank line) may come before the cookie.
            if trimmed.is_empty() {
                continue;
            }
            return None;
        }
        if let Some(pos) = trimmed.find("coding") {
            let rest = &trimmed[pos + 6..];
            if let Some(rest) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                    .collect();
                if !name.is_empty() {
                    return Some(name.to_ascii_lowercase());
                }
            }
        }
    }
    None
}

/// Decodes Python source as CPython does: UTF-8 (BOM stripped) unless a cookie says otherwise.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, PythonProblem> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let enc = coding_cookie(bytes).unwrap_or_else(|| "utf-8".into());
    let norm = enc.replace('_', "-");
    match norm.as_str() {
        "utf-8" | "utf8" | "utf-8-sig" | "ascii" | "us-ascii" => {
            std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
                PythonProblem::Decode(format!("not valid {enc} at byte {}", e.valid_up_to()))
            })
        }
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1" | "cp1252"
        | "windows-1252" => {
            // cp1252 differs from Latin-1 only in 0x80..0x9f, which are printable there but
            // never change how Python code parses.
            Ok(Cow::Owned(bytes.iter().map(|&b| b as char).collect()))
        }
        other => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => Err(PythonProblem::Decode(format!(
                "declares encoding {other:?}, which Vetted cannot decode"
            ))),
        },
    }
}

/// The bytes [`guard`] acts on; every other byte only moves it forward.
const GUARDED: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"#'\"([{)]}+-*/%&|^.,<>@=:~\n;";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

/// A single pass over the text that bounds what the recursive parser and AST will face.
pub fn guard(source: &str) -> Result<(), PythonProblem> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut chain = 0usize;
    let mut max_chain = 0usize;
    let mut i = 0;
    let mut line_no = 1usize;
    let mut worst_line = 1usize;
    let mut at_line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start {
            let mut col = 0;
            while i + col < bytes.len() && (bytes[i + col] == b' ' || bytes[i + col] == b'\t') {
                col += 1;
            }
            if col > MAX_INDENT_COLUMNS {
                return Err(PythonProblem::Unscannable(format!(
                    "line {line_no} is indented {col} columns deep; too deep to analyse safely"
                )));
            }
            at_line_start = false;
        }
        if !GUARDED[b as usize] {
            // A run of bytes that change nothing here (names, numbers, spaces) is passed in one go.
            i += 1;
            while i < bytes.len() && !GUARDED[bytes[i] as usize] {
                i += 1;
            }
            continue;
        }
        match b {
            b'#' => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(bytes, i, &mut line_no);
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Err(PythonProblem::Unscannable(format!(
                        "line {line_no}: brackets nested more than {MAX_BRACKET_DEPTH} deep; too deep to analyse safely"
                    )));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'.' | b',' | b'<' | b'>'
            | b'@' | b'=' | b':' | b'~' => {
                chain += 1;
                if chain > max_chain {
                    max_chain = chain;
                    worst_line = line_no;
                }
            }
            b'\n' => {
                line_no += 1;
                at_line_start = true;
                let continued = i > 0 && bytes[i - 1] == b'\\'
                    || i > 1 && bytes[i - 1] == b'\r' && bytes[i - 2] == b'\\';
                if depth == 0 && !continued {
                    chain = 0;
                }
            }
            b';' if depth == 0 => chain = 0,
            _ => {}
        }
        if max_chain > MAX_OPERATOR_CHAIN {
            return Err(PythonProblem::Unscannable(format!(
                "statement at line {worst_line} chains more than {MAX_OPERATOR_CHAIN} operators; too deep to analyse safely"
            )));
        }
        i += 1;
    }
    Ok(())
}

/// Skips a string literal starting at `i` (any prefix letters were already passed as names);
/// returns the index after it.
fn skip_string(bytes: &[u8], i: usize, line_no: &mut usize) -> usize {
    let q = bytes[i];
    let triple = bytes.len() >= i + 3 && bytes[i + 1] == q && bytes[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < bytes.len() {
        // Only a backslash, a newline or the quote can end or change the string.
        match memchr::memchr3(b'\\', b'\n', q, &bytes[j..]) {
            Some(n) => j += n,
            None => return bytes.len(),
        }
        let c = bytes[j];
        if c == b'\\' {
            if bytes.get(j + 1) == Some(&b'\n') {
                *line_no += 1;
            }
            j += 2;
            continue;
        }
        if c == b'\n' {
            *line_no += 1;
            if !triple {
                return j;
            }
        }
        if c == q {
            if !triple {
                return j + 1;
            }
            if bytes.len() >= j + 3 && bytes[j + 1] == q && bytes[j + 2] == q {
                return j + 3;
            }
        }
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `guard` passes over in runs are exactly those its match does nothing with.
    #[test]
    fn guarded_bytes_are_those_the_guard_acts_on() {
        for b in 0..=255u8 {
            let acts = matches!(
                b,
                b'#' | b'\'' | b'"' | b'(' | b'[' | b'{' | b')' | b']' | b'}' | b'\n' | b';'
            ) || matches!(
                b,
                b'+' | b'-'
                    | b'*'
                    | b'/'
                    | b'%'
                    | b'&'
                    | b'|'
                    | b'^'
                    | b'.'
                    | b','
                    | b'<'
                    | b'>'
                    | b'@'
                    | b'='
                    | b':'
                    | b'~'
            );
            assert_eq!(GUARDED[b as usize], acts, "{b}");
        }
        // A long chain of operators between names still trips the bound.
        let chain = "x = ".to_string() + &"a + ".repeat(MAX_OPERATOR_CHAIN + 5) + "a\n";
        assert!(guard(&chain).is_err());
        assert!(guard("name = other_name  # comment (((\n").is_ok());
    }

    #[test]
    fn parses_and_reports_syntax_errors() {
        let m = load(b"import os\nos.system('ls')\n").unwrap();
        assert!(!m.has_syntax_errors());
        assert_eq!(m.parsed.syntax().body.len(), 2);
        let bad = load(b"print 'hello'\n").unwrap();
        assert!(bad.has_syntax_errors());
    }

    #[test]
    fn refuses_chains_that_would_overflow() {
        let long = format!("x = {}1\n", "1+".repeat(MAX_OPERATOR_CHAIN + 5));
        assert!(
            matches!(load(long.as_bytes()), Err(PythonProblem::Unscannable(m)) if m.contains("line 1"))
        );
        let nested = format!(
            "x = {}1{}\n",
            "(".repeat(MAX_BRACKET_DEPTH + 1),
            ")".repeat(MAX_BRACKET_DEPTH + 1)
        );
        assert!(matches!(guard(&nested), Err(PythonProblem::Unscannable(_))));
        // Operators inside strings and comments do not count.
        let s = format!(
            "x = '{}'  # {}\n",
            "+".repeat(MAX_OPERATOR_CHAIN + 5),
            "+".repeat(MAX_OPERATOR_CHAIN + 5)
        );
        assert!(guard(&s).is_ok());
    }

    #[test]
    fn chains_just_below_the_limit_parse_on_the_scan_stack() {
        let src = format!("x = {}1\n", "1+".repeat(MAX_OPERATOR_CHAIN - 10));
        let handle = std::thread::Builder::new()
            .stack_size(512 * 1024 * 1024)
            .spawn(move || load(src.as_bytes()).is_ok())
            .unwrap();
        assert!(handle.join().unwrap());
    }

    #[test]
    fn decodes_cookies_and_bom() {
        assert_eq!(decode(b"\xef\xbb\xbfx = 1\n").unwrap(), "x = 1\n");
        assert_eq!(
            decode(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n").unwrap(),
            "# -*- coding: latin-1 -*-\nx = '\u{e9}'\n"
        );
        assert!(matches!(
            decode(b"x = '\xe9'\n"),
            Err(PythonProblem::Decode(_))
        ));
        assert_eq!(
            coding_cookie(b"#!/usr/bin/env python\n# vim: set fileencoding=utf-8 :\n").as_deref(),
            Some("utf-8")
        );
    }
}
