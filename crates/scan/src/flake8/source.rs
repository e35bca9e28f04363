//! The file as Flake8's processor sees it: physical lines (universal newlines), positions as
//! (1-based row, 0-based column in characters), and a token stream shaped like CPython 3.11's
//! `tokenize` (keywords are names, f-strings are single string tokens, `INDENT` right before the
//! first token of its line, no `DEDENT`s) built from the shared parse's tokens.

use ruff_python_ast::ModModule;
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::Parsed;
use ruff_text_size::Ranged;

/// Physical lines and offset conversion.
pub struct Lines<'s> {
    pub source: &'s str,
    /// Byte offset of each line start; one more entry for the end of the text.
    starts: Vec<usize>,
    /// Whether each line is pure ASCII (columns are then byte offsets).
    ascii: Vec<bool>,
}

impl<'s> Lines<'s> {
    pub fn new(source: &'s str) -> Lines<'s> {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 1;
                }
                b'\r' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        if *starts.last().unwrap_or(&0) != bytes.len() {
            starts.push(bytes.len());
        }
        let ascii = starts
            .windows(2)
            .map(|w| source.get(w[0]..w[1]).is_some_and(str::is_ascii))
            .collect();
        Lines {
            source,
            starts,
            ascii,
        }
    }

    /// Number of physical lines.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Physical line `row` (1-based) with its terminator; empty when out of range.
    pub fn line(&self, row: usize) -> &'s str {
        if row == 0 || row >= self.starts.len() {
            return "";
        }
        self.source
            .get(self.starts[row - 1]..self.starts[row])
            .unwrap_or("")
    }

    pub fn all(&self) -> Vec<&'s str> {
        (1..=self.len()).map(|r| self.line(r)).collect()
    }

    /// (1-based row, 0-based character column) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        self.column(idx.min(self.starts.len().saturating_sub(2)), offset)
    }

    /// [`Lines::position`] of an offset at or after the start of row `from` (1-based): the
    /// line is found by walking forward from there, which for offsets taken in order (a token
    /// stream) costs a step per line instead of a search per offset.
    pub fn position_after(&self, from: usize, offset: usize) -> (usize, usize) {
        let last = self.starts.len().saturating_sub(2);
        let mut idx = from.saturating_sub(1).min(last);
        if self.starts.get(idx).is_some_and(|&s| s > offset) {
            return self.position(offset);
        }
        while idx < last && self.starts[idx + 1] <= offset {
            idx += 1;
        }
        self.column(idx, offset)
    }

    fn column(&self, idx: usize, offset: usize) -> (usize, usize) {
        let start = self.starts.get(idx).copied().unwrap_or(0);
        let col = if self.ascii.get(idx).copied().unwrap_or(false) {
            offset.saturating_sub(start)
        } else {
            self.source
                .get(start..offset.max(start))
                .map_or(0, |s| s.chars().count())
        };
        (idx + 1, col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Op,
    Name,
    Number,
    String,
    Comment,
    Nl,
    Newline,
    Indent,
    Other,
}

#[derive(Debug, Clone)]
pub struct Tok<'s> {
    pub kind: Kind,
    pub text: &'s str,
    pub start: (usize, usize),
    pub end: (usize, usize),
    /// The physical line the token starts on (empty for the newline CPython adds at the end of
    /// a file that lacks one).
    pub line: &'s str,
}

impl<'s> Tok<'s> {
    /// The text of the token's line before it (what pycodestyle's `expand_indent` reads for a
    /// logical line's first token).
    pub fn prefix(&self) -> &'s str {
        let line = self.line;
        let end = if line.is_ascii() {
            self.start.1.min(line.len())
        } else {
            line.char_indices()
                .nth(self.start.1)
                .map_or(line.len(), |(i, _)| i)
        };
        &line[..end]
    }
}

/// Builds the CPython-like token stream.
pub fn tokens<'s>(lines: &Lines<'s>, parsed: &Parsed<ModModule>) -> Vec<Tok<'s>> {
    let src = lines.source;
    let mut out: Vec<Tok<'s>> = Vec::with_capacity(parsed.tokens().len() + 1);
    let mut pending_indent = false;
    let mut fstring_depth = 0usize;
    let mut fstring_start = 0usize;
    // The row of the last token made: tokens come in order, so each position is found by
    // walking forward from there.
    let mut row = 1usize;
    for t in parsed.tokens().iter() {
        let kind = t.kind();
        let r = t.range();
        let (s, e) = (r.start().to_usize(), r.end().to_usize());
        let mut mk = |kind: Kind, s: usize, e: usize| {
            let start = lines.position_after(row, s);
            row = start.0;
            // CPython's newline tokens end on their own line.
            let end = if matches!(kind, Kind::Nl | Kind::Newline) {
                (start.0, start.1 + 1)
            } else {
                lines.position_after(start.0, e)
            };
            let text = src.get(s..e).unwrap_or("");
            let line = if kind == Kind::Newline && s == e && s == src.len() {
                ""
            } else {
                lines.line(start.0)
            };
            Tok {
                kind,
                text,
                start,
                end,
                line,
            }
        };
        if fstring_depth > 0 {
            match kind {
                TokenKind::FStringStart | TokenKind::TStringStart => fstring_depth += 1,
                TokenKind::FStringEnd | TokenKind::TStringEnd => {
                    fstring_depth -= 1;
                    if fstring_depth == 0 {
                        out.push(mk(Kind::String, fstring_start, e));
                    }
                }
                _ => {}
            }
            continue;
        }
        let k = match kind {
            TokenKind::FStringStart | TokenKind::TStringStart => {
                fstring_depth = 1;
                fstring_start = s;
                if pending_indent {
                    pending_indent = false;
                    let mut t = mk(Kind::Indent, s, s);
                    t.start.1 = 0;
                    out.push(t);
                }
                continue;
            }
            TokenKind::Indent => {
                pending_indent = true;
                continue;
            }
            TokenKind::Dedent | TokenKind::EndOfFile => continue,
            TokenKind::Comment => Kind::Comment,
            TokenKind::NonLogicalNewline => Kind::Nl,
            TokenKind::Newline => Kind::Newline,
            TokenKind::Name => Kind::Name,
            TokenKind::Int | TokenKind::Float | TokenKind::Complex => Kind::Number,
            TokenKind::String => Kind::String,
            k if k.is_keyword() => Kind::Name,
            k if k.is_operator() => Kind::Op,
            _ => Kind::Other,
        };
        if pending_indent && !matches!(k, Kind::Comment | Kind::Nl) {
            pending_indent = false;
            let mut t = mk(Kind::Indent, s, s);
            t.start.1 = 0;
            out.push(t);
        }
        out.push(mk(k, s, e));
    }
    out
}

/// Logical lines as Flake8 groups tokens: everything up to a newline token outside brackets;
/// lone blank-line newlines are dropped.
pub fn logical_lines<'a, 's>(toks: &'a [Tok<'s>]) -> Vec<&'a [Tok<'s>]> {
    let mut out = Vec::new();
    let mut parens: i64 = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.kind == Kind::Op {
            match t.text {
                "(" | "[" | "{" => parens += 1,
                ")" | "]" | "}" => parens -= 1,
                _ => {}
            }
        } else if parens == 0 && matches!(t.kind, Kind::Nl | Kind::Newline) {
            if t.kind == Kind::Nl && i == start {
                start = i + 1;
                continue;
            }
            out.push(&toks[start..=i]);
            start = i + 1;
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

/// Line ranges Flake8 searches together for `# noqa`: from one newline token to the next.
pub fn noqa_groups(toks: &[Tok]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut min = usize::MAX;
    let mut max = 0;
    for t in toks {
        min = min.min(t.start.0);
        max = max.max(t.end.0);
        if matches!(t.kind, Kind::Nl | Kind::Newline) {
            out.push((min, max));
            min = usize::MAX;
            max = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walking forward from any row at or before an offset's row finds what the search finds,
    /// with every kind of line end, non-ASCII lines, and offsets at the end of the text.
    #[test]
    fn walking_forward_finds_what_searching_finds() {
        for src in [
            "a = 1\nb = 2\n",
            "a\r\nbé\rc\n\n'''x\ny'''",
            "",
            "\n\n",
            "x = 'ü'\r\n# done",
        ] {
            let lines = Lines::new(src);
            for offset in (0..=src.len()).filter(|&o| src.is_char_boundary(o)) {
                let expected = lines.position(offset);
                for from in 0..=expected.0 + 1 {
                    let walked = lines.position_after(from, offset);
                    assert_eq!(walked, expected, "{src:?} offset {offset} from row {from}");
                }
            }
        }
    }

    #[test]
    fn tokens_look_like_cpython() {
        let src = "foo = f(1,\n    f'{x}')\nif x:\n    y = 1\n";
        let parsed =
            ruff_python_parser::parse_unchecked_source(src, ruff_python_ast::PySourceType::Python);
        let lines = Lines::new(src);
        let toks = tokens(&lines, &parsed);
        let nl = toks.iter().find(|t| t.kind == Kind::Nl).unwrap();
        assert_eq!((nl.start, nl.end), ((1, 10), (1, 11)));
        let fstring = toks.iter().find(|t| t.kind == Kind::String).unwrap();
        assert_eq!(
            (fstring.text, fstring.start, fstring.end),
            ("f'{x}'", (2, 4), (2, 10))
        );
        let indent = toks.iter().find(|t| t.kind == Kind::Indent).unwrap();
        assert_eq!((indent.start, indent.end), ((4, 0), (4, 4)));
        assert_eq!(logical_lines(&toks).len(), 3);
        assert_eq!(noqa_groups(&toks)[0], (1, 1));
    }
}
