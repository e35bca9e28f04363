//! pycodestyle's logical lines (comments dropped, strings muted, tokens joined as Flake8's
//! processor joins them, with the offset mapping back to the source) and the logical-line
//! checks where ruff's behaviour differs from pycodestyle 2.15: E201/E202/E203 (pycodestyle
//! also reports space before `:` in slices), E402 (pycodestyle does not exempt `sys.path`
//! changes), E713/E714 and E721 (pycodestyle's regular expressions), E722 (pycodestyle reports
//! every bare `except:`), E711/E712 (pycodestyle's regular expression, also with a constant on
//! the left).

use crate::ascii_regex::LazyRegex;

use super::pycodestyle::Hit;
use super::source::{Kind, Tok};

pub struct Logical {
    /// The logical line.
    pub text: String,
    /// (offset in characters of `text`, (row, col)) pairs: the first is the start of the first
    /// token, then each token's end.
    mapping: Vec<(usize, (usize, usize))>,
}

/// Appends `s` (ASCII text is copied without decoding); returns how many characters it holds.
fn push_text(text: &mut String, s: &str) -> usize {
    text.push_str(s);
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Appends a string token as pycodestyle's `mute_string` gives it: what lies between the
/// quotes replaced by `x`; returns how many characters it holds.
fn push_muted(text: &mut String, token: &str) -> usize {
    let ascii = token.is_ascii();
    let Some(last) = token.chars().next_back() else {
        return 0;
    };
    let count = if ascii {
        token.len()
    } else {
        token.chars().count()
    };
    // Character positions: after the first occurrence of the closing quote, before the last.
    let mut start = token.chars().position(|c| c == last).map_or(0, |p| p + 1);
    let mut end = count.saturating_sub(1);
    if token.ends_with("\"\"\"") || token.ends_with("\'\'\'") {
        start += 2;
        end = end.saturating_sub(2);
    }
    if end <= start {
        text.push_str(token);
    } else if ascii {
        text.push_str(&token[..start]);
        text.extend(std::iter::repeat_n('x', end - start));
        text.push_str(&token[end..]);
    } else {
        for (i, c) in token.chars().enumerate() {
            text.push(if (start..end).contains(&i) { 'x' } else { c });
        }
    }
    count
}

#[cfg(test)]
fn mute_string(token: &str) -> String {
    let mut out = String::new();
    push_muted(&mut out, token);
    out
}

/// Builds the logical line of one token group; `None` when it holds only newlines and indents.
pub fn build(toks: &[Tok]) -> Option<Logical> {
    let mut text = String::with_capacity(96);
    // Characters in `text` so far.
    let mut len = 0usize;
    let mut mapping: Vec<(usize, (usize, usize))> = Vec::with_capacity(toks.len() + 1);
    let mut prev: Option<(usize, usize, char)> = None;
    // The last physical line a gap was taken from, and whether it is ASCII: columns count
    // characters, which are then bytes.
    let mut ascii: Option<(&str, bool)> = None;
    for t in toks {
        if matches!(t.kind, Kind::Nl | Kind::Newline | Kind::Indent) {
            continue;
        }
        if mapping.is_empty() {
            mapping.push((0, t.start));
        }
        if t.kind == Kind::Comment {
            continue;
        }
        let closing = matches!(t.text, "}" | "]" | ")");
        if let Some((prow, pcol, pchar)) = prev {
            if prow != t.start.0 {
                if pchar == ',' || (!matches!(pchar, '{' | '[' | '(') && !closing) {
                    text.push(' ');
                    len += 1;
                }
            } else if pcol != t.start.1 {
                // The source between the two tokens, as it is written.
                let width = t.start.1.saturating_sub(pcol);
                let line_is_ascii = match ascii {
                    Some((line, is)) if std::ptr::eq(line, t.line) => is,
                    _ => {
                        let is = t.line.is_ascii();
                        ascii = Some((t.line, is));
                        is
                    }
                };
                if line_is_ascii {
                    let from = pcol.min(t.line.len());
                    let to = pcol.saturating_add(width).min(t.line.len());
                    len += push_text(&mut text, &t.line[from..to]);
                } else {
                    for c in t.line.chars().skip(pcol).take(width) {
                        text.push(c);
                        len += 1;
                    }
                }
            }
        }
        len += if t.kind == Kind::String {
            push_muted(&mut text, t.text)
        } else {
            push_text(&mut text, t.text)
        };
        mapping.push((len, t.end));
        prev = Some((t.end.0, t.end.1, t.text.chars().next_back().unwrap_or(' ')));
    }
    if mapping.is_empty() {
        None
    } else {
        Some(Logical { text, mapping })
    }
}

impl Logical {
    /// Flake8's `find_offset`: source position of an offset (in characters) in the logical line.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        for &(tok_off, (row, col)) in &self.mapping {
            if offset <= tok_off {
                return (row, (col + offset).saturating_sub(tok_off));
            }
        }
        (0, 0)
    }
}

fn char_offset(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(0, |p| p.chars().count())
}

// pycodestyle's patterns, compiled in ASCII form for the (nearly always) ASCII logical lines.
static NEGATIVE: LazyRegex = LazyRegex::new(r"\b(not)\s+[^\]\[)(}{ ]+\s+(in|is)\s");
static TYPE_A: LazyRegex = LazyRegex::new(r"[=!]=\s+type(?:\s*\(\s*([^)]*[^\s)])\s*\))");
static TYPE_B: LazyRegex = LazyRegex::new(r"\btype(?:\s*\(\s*([^)]*[^\s)])\s*\))\s+[=!]=");
static DUNDER: LazyRegex = LazyRegex::new(r#"^__([^\s]+)__(?::\s*[a-zA-Z.0-9_\[\]"]+)? = "#);

/// pycodestyle's `^except\s*:` (`\s` is Unicode white space there, as `char::is_whitespace`).
fn is_bare_except(s: &str) -> bool {
    s.strip_prefix("except").is_some_and(|rest| {
        rest.trim_start_matches(char::is_whitespace)
            .starts_with(':')
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// pycodestyle's `comparison_to_singleton` (its regular expression
/// `(\bNone|\bFalse|\bTrue)?\s*([=!]=)\s*(?(1)|(None|False|True))\b`, applied left to right).
fn comparison_to_singleton<C: Copy + Into<char>>(
    chars: &[C],
    push: &mut impl FnMut(usize, &'static str, String),
    e711: bool,
    e712: bool,
) {
    const SINGLETONS: [&str; 3] = ["None", "False", "True"];
    let at = |i: usize| -> char { chars[i].into() };
    let get = |i: usize| -> Option<char> { chars.get(i).map(|&c| c.into()) };
    let ends_with = |end: usize, word: &str| {
        let n = word.chars().count();
        end >= n
            && chars[end - n..end]
                .iter()
                .map(|&c| c.into())
                .eq(word.chars())
            && (end == n || !is_word(at(end - n - 1)))
    };
    let starts_with = |start: usize, word: &str| {
        let n = word.chars().count();
        start + n <= chars.len()
            && chars[start..start + n]
                .iter()
                .map(|&c| c.into())
                .eq(word.chars())
            && get(start + n).is_none_or(|c| !is_word(c))
    };
    let mut i = 0;
    while i + 1 < chars.len() {
        if !((at(i) == '=' || at(i) == '!') && at(i + 1) == '=') {
            i += 1;
            continue;
        }
        let op = i;
        let same = at(i) == '=';
        let mut left = op;
        while left > 0 && at(left - 1).is_whitespace() {
            left -= 1;
        }
        let after_is_word = get(op + 2).is_some_and(is_word);
        let mut singleton = SINGLETONS
            .iter()
            .find(|s| ends_with(left, s))
            .filter(|_| after_is_word)
            .copied();
        let mut end = op + 2;
        if singleton.is_none() {
            let mut right = op + 2;
            while right < chars.len() && at(right).is_whitespace() {
                right += 1;
            }
            if let Some(s) = SINGLETONS.iter().find(|s| starts_with(right, s)) {
                singleton = Some(s);
                end = right + s.len();
            }
        }
        let Some(singleton) = singleton else {
            i += 2;
            continue;
        };
        let mut msg = format!(
            "'if cond is {}{singleton}:'",
            if same { "" } else { "not " }
        );
        let code = if singleton == "None" {
            "E711"
        } else {
            let nonzero = (singleton == "True" && same) || (singleton == "False" && !same);
            msg.push_str(&format!(
                " or 'if {}cond:'",
                if nonzero { "" } else { "not " }
            ));
            "E712"
        };
        if (code == "E711" && e711) || (code == "E712" && e712) {
            push(
                op,
                code,
                format!("comparison to {singleton} should be {msg}"),
            );
        }
        i = end.max(op + 2);
    }
}

/// A logical line indexed by character: its bytes when it is ASCII, else its characters.
#[derive(Clone, Copy)]
enum CharsOf<'a> {
    Ascii(&'a [u8]),
    Wide(&'a [char]),
}

/// E201, E202 and E203 (pycodestyle's `extraneous_whitespace`, which also reports space
/// before `:` in slices) over a line indexed by character.
fn extraneous_whitespace<C: Copy + Into<char>>(
    chars: &[C],
    push: &mut impl FnMut(usize, &'static str, String),
    want: &impl Fn(&str) -> bool,
) {
    let at = |i: usize| -> char { chars[i].into() };
    let mut i = 0;
    while i + 1 < chars.len() {
        let (c, n) = (at(i), at(i + 1));
        if matches!(c, '[' | '(' | '{') && matches!(n, ' ' | '\t') {
            if want("E201") {
                push(i + 1, "E201", format!("whitespace after '{c}'"));
            }
            i += 2;
            continue;
        }
        if matches!(c, ' ' | '\t')
            && matches!(n, ']' | '}' | ')' | ',' | ';' | ':')
            && chars.get(i + 2).map(|&c| c.into()) != Some('=')
        {
            let before: Option<char> = if i == 0 {
                chars.last().map(|&c| c.into())
            } else {
                Some(at(i - 1))
            };
            if before != Some(',') {
                let code = if matches!(n, '}' | ']' | ')') {
                    "E202"
                } else {
                    "E203"
                };
                if want(code) {
                    push(i, code, format!("whitespace before '{n}'"));
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
}

/// The logical-line codes a scan checks, looked up once per file rather than per line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted(u16);

impl Wanted {
    /// Every code [`check`] can report, in bit order.
    const CODES: [&'static str; 10] = [
        "E201", "E202", "E203", "E402", "E711", "E712", "E713", "E714", "E721", "E722",
    ];

    pub fn new(codes: &[&str]) -> Wanted {
        let mut bits = 0;
        for (i, code) in Wanted::CODES.iter().enumerate() {
            if codes.contains(code) {
                bits |= 1 << i;
            }
        }
        Wanted(bits)
    }

    pub fn wants(&self, code: &str) -> bool {
        Wanted::CODES
            .iter()
            .position(|c| *c == code)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn any(&self) -> bool {
        self.0 != 0
    }

    /// Whether each of [`Wanted::CODES`] is wanted, in that order.
    fn flags(&self) -> [bool; 10] {
        std::array::from_fn(|i| self.0 & (1 << i) != 0)
    }
}

/// Per-file state of E402.
#[derive(Default)]
pub struct ImportState {
    seen_non_imports: bool,
    seen_docstring: bool,
}

/// Runs the logical-line checks listed in `wanted` on one logical line.
pub fn check(
    line: &Logical,
    indent_level: i64,
    state: &mut ImportState,
    wanted: &Wanted,
    out: &mut Vec<Hit>,
) {
    let s = line.text.as_str();
    let want = |c: &str| wanted.wants(c);
    let [e201, e202, e203, e402, e711, e712, e713, e714, e721, e722] = wanted.flags();
    let mut push = |offset: usize, code: &'static str, msg: String| {
        let (row, col) = line.position(offset);
        if row > 0 {
            out.push((row, col, code, msg));
        }
    };

    // The character-indexed checks read the line's bytes when it is ASCII (characters are
    // then bytes), and its characters otherwise.
    let wide: Vec<char>;
    let chars: CharsOf = if s.is_ascii() {
        CharsOf::Ascii(s.as_bytes())
    } else {
        wide = s.chars().collect();
        CharsOf::Wide(&wide)
    };
    if e201 || e202 || e203 {
        match chars {
            CharsOf::Ascii(b) => extraneous_whitespace(b, &mut push, &want),
            CharsOf::Wide(c) => extraneous_whitespace(c, &mut push, &want),
        }
    }

    if e402 && indent_level == 0 && !s.is_empty() {
        if s.starts_with("import ")
            || s.starts_with("from ")
            || s.starts_with("lazy import ")
            || s.starts_with("lazy from ")
        {
            if state.seen_non_imports {
                push(0, "E402", "module level import not at top of file".into());
            }
        } else if !state.seen_non_imports {
            // The pattern starts with `__` and ends with ` = `.
            let dunder = s.starts_with("__") && s.contains(" = ") && DUNDER.is_match(s);
            let allowed = ["try", "except", "else", "finally", "with", "if", "elif"]
                .iter()
                .any(|k| s.starts_with(k));
            let mut leading = s.chars();
            let first = match leading.next() {
                Some('u' | 'U' | 'b' | 'B' | 'r' | 'R') => leading.next(),
                other => other,
            };
            let string = matches!(first, Some('"') | Some('\''));
            if dunder || allowed {
            } else if string {
                if state.seen_docstring {
                    state.seen_non_imports = true;
                } else {
                    state.seen_docstring = true;
                }
            } else {
                state.seen_non_imports = true;
            }
        }
    }

    if (e713 || e714) && s.contains("not") {
        let mut from = 0;
        while let Some(m) = NEGATIVE.captures_at(s, from) {
            let (Some(not), Some(op)) = (m.get_group(1), m.get_group(2)) else {
                break;
            };
            let start = not.start;
            let before = &s[..start];
            let lookbehind = before.len() >= 3 && {
                let mut b = before.chars().rev();
                let ws = b.next().is_some_and(char::is_whitespace);
                let s2 = b.next();
                let i = b.next();
                ws && s2 == Some('s') && i == Some('i')
            };
            if lookbehind {
                from = start + 1;
                continue;
            }
            let pos = char_offset(&s, start);
            if &s[op.range()] == "in" {
                if e713 {
                    push(pos, "E713", "test for membership should be 'not in'".into());
                }
            } else if e714 {
                push(
                    pos,
                    "E714",
                    "test for object identity should be 'is not'".into(),
                );
            }
            break;
        }
    }

    // Both patterns hold `type` and a comparison (`==` or `!=`).
    if e721 && s.contains("type") && (s.contains("==") || s.contains("!=")) {
        let first_a = TYPE_A.captures_at(s, 0).map(|m| {
            (
                m.get_group(0).map_or(0, |x| x.start),
                m.get_group(1).map(|g| s[g.range()].to_string()),
            )
        });
        let mut first_b = None;
        let mut from = 0;
        while let Some(m) = TYPE_B.find_at(s, from) {
            if s[..m.start()].ends_with('.') {
                from = m.start() + 1;
                continue;
            }
            first_b = Some(m.start());
            break;
        }
        let hit = match (first_a, first_b) {
            (Some((pa, inst)), Some(pb)) if pa <= pb => Some((pa, inst)),
            (Some(_), Some(pb)) => Some((pb, None)),
            (Some((pa, inst)), None) => Some((pa, inst)),
            (None, Some(pb)) => Some((pb, None)),
            (None, None) => None,
        };
        if let Some((pos, inst)) = hit {
            let exempt = inst.is_some_and(|i| {
                is_identifier(&i) && !matches!(i.as_str(), "False" | "None" | "True")
            });
            if !exempt {
                push(
                    char_offset(&s, pos),
                    "E721",
                    "do not compare types, for exact checks use `is` / `is not`, for instance checks use `isinstance()`".into(),
                );
            }
        }
    }

    // Every match holds `==` or `!=`.
    if (e711 || e712) && (s.contains("==") || s.contains("!=")) {
        match chars {
            CharsOf::Ascii(b) => comparison_to_singleton(b, &mut push, e711, e712),
            CharsOf::Wide(c) => comparison_to_singleton(c, &mut push, e711, e712),
        }
    }

    if e722 && is_bare_except(s) {
        push(0, "E722", "do not use bare 'except'".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_match_as_the_regex_crate_does_on_ascii_and_other_lines() {
        let lines = [
            "if not x in y:",
            "if not  x.y[0] is None :",
            "if (not x) in y: z = not a is b",
            "assert not é in ß ",
            "if not\u{3000}x\u{3000}in y\u{2003}",
            "if type(a) == type(b):",
            "if x != type( obj ) or type(é)  == t:",
            "obj.type(x) == y; type (z)\u{a0}!= w",
            "__all__ = ['x']",
            "__version__: str = '1.0'",
            "__é__: \"x\" = 1",
            "__a b__ = 1",
            "",
        ];
        for re in [&NEGATIVE, &TYPE_A, &TYPE_B, &DUNDER] {
            crate::ascii_regex::assert_agrees_with_regex_crate(re, &lines);
        }
    }

    #[test]
    fn bare_except_as_pycodestyle_matches_it() {
        let re = regex::Regex::new(r"^except\s*:").expect("compiles");
        for line in [
            "except:",
            "except :",
            "except\t\u{3000}:",
            "except Exception:",
            "except(",
            "excep:",
            "  except:",
            "except",
            "except\n:",
            "exceptional:",
        ] {
            assert_eq!(is_bare_except(line), re.is_match(line), "{line:?}");
        }
    }

    /// The logical line copies the source between two tokens of a physical line as written,
    /// counting columns in characters, on ASCII and non-ASCII lines alike.
    #[test]
    fn logical_lines_keep_the_gaps_as_written() {
        let src = "x  =\t1 ;  y = {'é':  [1,\n  2 ]}  # ü\nz = f ( 'ü' ,\tb )\n";
        let parsed =
            ruff_python_parser::parse_unchecked_source(src, ruff_python_ast::PySourceType::Python);
        let lines = crate::flake8::source::Lines::new(src);
        let toks = crate::flake8::source::tokens(&lines, &parsed);
        let built: Vec<String> = crate::flake8::source::logical_lines(&toks)
            .into_iter()
            .filter_map(build)
            .map(|l| l.text)
            .collect();
        assert_eq!(
            built,
            ["x  =\t1 ;  y = {'x':  [1, 2 ]}", "z = f ( 'x' ,\tb )"],
            "{toks:?}"
        );
        let z = build(crate::flake8::source::logical_lines(&toks)[1]).expect("a logical line");
        // The offset of `b` maps back to its column in characters.
        let b = z.text.chars().position(|c| c == 'b').expect("b");
        assert_eq!(z.position(b), (3, 14));
    }

    #[test]
    fn wanted_codes_are_looked_up_by_name() {
        let wanted = Wanted::new(&["E722", "E201", "E999"]);
        let flags = wanted.flags();
        for (i, code) in Wanted::CODES.iter().enumerate() {
            let expected = matches!(*code, "E722" | "E201");
            assert_eq!(wanted.wants(code), expected, "{code}");
            assert_eq!(flags[i], expected, "{code}");
        }
        assert!(!wanted.wants("E999"));
        assert!(wanted.any());
        assert!(!Wanted::new(&["E501"]).any());
    }

    #[test]
    fn mutes_strings() {
        assert_eq!(mute_string("'abc'"), "'xxx'");
        assert_eq!(mute_string("r'abc'"), "r'xxx'");
        assert_eq!(mute_string("'''abc'''"), "'''xxx'''");
        assert_eq!(mute_string("''"), "''");
        assert_eq!(mute_string("'é\u{1F600}x'"), "'xxx'");
        assert_eq!(mute_string("\"\"\"ü\n\"\"\""), "\"\"\"xx\"\"\"");
        assert_eq!(mute_string(""), "");
    }
}
