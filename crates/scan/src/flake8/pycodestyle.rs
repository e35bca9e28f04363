//! The pycodestyle checks Vetted implements itself because ruff has none or counts differently:
//! E501 on the physical lines Flake8 checks (with pycodestyle's exceptions for URLs and
//! shebangs), and the continuation-line family E12x, E131, E133.

use crate::Map as HashMap;

use super::source::{Kind, Tok};

/// A check result: 1-based row, 0-based column, code, message.
pub type Hit = (usize, usize, &'static str, String);

/// pycodestyle's `expand_indent`: tabs to the next multiple of 8.
pub fn expand_indent(line: &str) -> i64 {
    let line = line.trim_end_matches(['\n', '\r']);
    if !line.contains('\t') {
        return (line.len() - line.trim_start_matches(is_py_space).len()) as i64;
    }
    let mut result = 0i64;
    for c in line.chars() {
        match c {
            '\t' => result = result / 8 * 8 + 8,
            ' ' => result += 1,
            _ => break,
        }
    }
    result
}

/// Characters Python's `str.strip()` removes.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `maximum_line_length` for one physical line.
pub fn line_too_long(line: &str, row: usize, multiline: bool, max: usize, out: &mut Vec<Hit>) {
    let line = line.trim_end_matches(is_py_space);
    let length = if line.is_ascii() {
        line.len()
    } else {
        line.chars().count()
    };
    if length <= max {
        return;
    }
    if row == 1 && line.starts_with("#!") {
        return;
    }
    let mut chunks = line.split(is_py_space).filter(|s| !s.is_empty());
    let first = chunks.next();
    let second = chunks.next();
    let third = chunks.next();
    let (count, last) = match (first, second, third) {
        (Some(a), None, _) => (1, a),
        (Some(_), Some(b), None) => (2, b),
        _ => (3, ""),
    };
    let last_len = last.chars().count();
    if ((count == 1 && multiline) || (count == 2 && first == Some("#")))
        && length - last_len < max.saturating_sub(7)
    {
        return;
    }
    out.push((
        row,
        max,
        "E501",
        format!("line too long ({length} > {max} characters)"),
    ));
}

/// Runs E501 on every physical line Flake8 hands to its physical-line checks: lines ended by a
/// newline token, and the lines of a multi-line string but its last.
pub fn physical_lines(toks: &[Tok], lines: &super::source::Lines, max: usize, out: &mut Vec<Hit>) {
    let mut prev_line = "";
    for t in toks {
        match t.kind {
            Kind::Nl | Kind::Newline => {
                let line = if t.line.is_empty() { prev_line } else { t.line };
                line_too_long(line, t.start.0, false, max, out);
            }
            Kind::String if t.start.0 != t.end.0 => {
                for row in t.start.0..t.end.0 {
                    line_too_long(lines.line(row), row, true, max, out);
                }
            }
            _ => {}
        }
        prev_line = t.line;
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Chance<'s> {
    True,
    Str,
    Text(&'s str),
}

/// pycodestyle's `continued_indentation` for one logical line.
pub fn continued_indentation(
    toks: &[Tok],
    indent_level: i64,
    hang_closing: bool,
    indent_char: Option<char>,
    indent_size: i64,
    out: &mut Vec<Hit>,
) {
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
        return;
    };
    let first_row = first.start.0;
    if last.start.0 < first_row {
        return;
    }
    let nrows = 1 + last.start.0 - first_row;
    if nrows == 1 {
        return;
    }
    let indent_next = toks
        .iter()
        .rev()
        .find(|t| {
            !matches!(
                t.kind,
                Kind::Nl | Kind::Newline | Kind::Indent | Kind::Comment
            )
        })
        .is_some_and(|t| t.text.ends_with(':') && t.kind != Kind::String);
    let mut row = 0usize;
    let mut depth = 0usize;
    let valid_hangs: &[i64] = if indent_char != Some('\t') {
        &[indent_size]
    } else {
        &[indent_size, indent_size * 2]
    };
    let mut parens = vec![0i64; nrows];
    let mut rel_indent = vec![0i64; nrows];
    let mut open_rows: Vec<Vec<usize>> = vec![vec![0]];
    let mut hangs: Vec<Option<i64>> = vec![None];
    let mut indent_chances: HashMap<i64, Chance> = HashMap::default();
    let mut last_indent = (first.start.0, first.start.1 as i64);
    let mut visual_indent: Option<Chance> = None;
    let mut last_token_multiline = false;
    let mut indent: Vec<i64> = vec![last_indent.1];
    let mut hang = 0i64;

    for t in toks {
        let start = (t.start.0, t.start.1 as i64);
        let end = (t.end.0, t.end.1 as i64);
        let text = t.text;
        let mut newline = row + first_row < t.start.0;
        if newline {
            row = t.start.0 - first_row;
            newline = !last_token_multiline && !matches!(t.kind, Kind::Nl | Kind::Newline);
        }
        if row >= nrows {
            break;
        }
        if newline {
            last_indent = start;
            rel_indent[row] = expand_indent(t.line) - indent_level;
            let close_bracket = t.kind == Kind::Op && matches!(text, "]" | "}" | ")");
            let mut hanging_indent = false;
            for &open_row in open_rows[depth].iter().rev() {
                hang = rel_indent[row] - rel_indent[open_row];
                hanging_indent = valid_hangs.contains(&hang);
                if hanging_indent {
                    break;
                }
            }
            if let Some(h) = hangs[depth]
                && h != 0
            {
                hanging_indent = hang == h;
            }
            visual_indent = if !close_bracket && hang > 0 {
                indent_chances.get(&start.1).copied()
            } else {
                None
            };
            if close_bracket && indent[depth] != 0 {
                if start.1 != indent[depth] {
                    out.push((
                        start.0,
                        t.start.1,
                        "E124",
                        "closing bracket does not match visual indentation".into(),
                    ));
                }
            } else if close_bracket && hang == 0 {
                if hang_closing {
                    out.push((
                        start.0,
                        t.start.1,
                        "E133",
                        "closing bracket is missing indentation".into(),
                    ));
                }
            } else if indent[depth] != 0 && start.1 < indent[depth] {
                if visual_indent != Some(Chance::True) {
                    out.push((
                        start.0,
                        t.start.1,
                        "E128",
                        "continuation line under-indented for visual indent".into(),
                    ));
                }
            } else if hanging_indent || (indent_next && rel_indent[row] == 2 * indent_size) {
                if close_bracket && !hang_closing {
                    out.push((
                        start.0,
                        t.start.1,
                        "E123",
                        "closing bracket does not match indentation of opening bracket's line"
                            .into(),
                    ));
                }
                hangs[depth] = Some(hang);
            } else if visual_indent == Some(Chance::True) {
                indent[depth] = start.1;
            } else if visual_indent == Some(Chance::Str)
                || visual_indent == Some(Chance::Text(text))
            {
                // A token lined up with a matching one on a previous line.
            } else {
                let (code, msg) = if hang <= 0 {
                    ("E122", "missing indentation or outdented")
                } else if indent[depth] != 0 {
                    ("E127", "over-indented for visual indent")
                } else if !close_bracket && hangs[depth].is_some_and(|h| h != 0) {
                    ("E131", "unaligned for hanging indent")
                } else {
                    hangs[depth] = Some(hang);
                    if hang > indent_size {
                        ("E126", "over-indented for hanging indent")
                    } else {
                        ("E121", "under-indented for hanging indent")
                    }
                };
                out.push((start.0, t.start.1, code, format!("continuation line {msg}")));
            }
        }

        // Look for visual indenting.
        if parens[row] != 0 && !matches!(t.kind, Kind::Nl | Kind::Comment) && indent[depth] == 0 {
            indent[depth] = start.1;
            indent_chances.insert(start.1, Chance::True);
        } else if matches!(t.kind, Kind::String | Kind::Comment) {
            indent_chances.insert(start.1, Chance::Str);
        } else if row == 0
            && depth == 0
            && t.kind == Kind::Name
            && (matches!(text, "assert" | "raise" | "with")
                || (indent_chances.is_empty() && text == "if"))
        {
            // Visual indent after assert/raise/with, and after `if` (len("if (") == 4).
            indent_chances.insert(end.1 + 1, Chance::True);
        } else if text == ":" && t.kind == Kind::Op && {
            let rest: String = t.line.chars().skip(t.end.1).collect();
            !rest.is_empty() && rest.chars().all(is_py_space)
        } {
            open_rows[depth].push(row);
        }

        // Keep track of bracket depth.
        if t.kind == Kind::Op {
            if matches!(text, "(" | "[" | "{") {
                depth += 1;
                indent.push(0);
                hangs.push(None);
                if open_rows.len() == depth {
                    open_rows.push(Vec::new());
                }
                open_rows[depth].push(row);
                parens[row] += 1;
            } else if matches!(text, ")" | "]" | "}") && depth > 0 {
                let popped = indent.pop().unwrap_or(0);
                let prev_indent = if popped != 0 { popped } else { last_indent.1 };
                hangs.pop();
                for d in indent.iter_mut().take(depth) {
                    if *d > prev_indent {
                        *d = 0;
                    }
                }
                indent_chances.retain(|&k, _| k < prev_indent);
                open_rows.truncate(depth + 1);
                depth -= 1;
                if depth > 0 {
                    indent_chances.insert(indent[depth], Chance::True);
                }
                for idx in (0..=row).rev() {
                    if parens[idx] != 0 {
                        parens[idx] -= 1;
                        break;
                    }
                }
            }
            indent_chances.entry(start.1).or_insert(Chance::Text(text));
        }

        last_token_multiline = start.0 != end.0;
        if last_token_multiline && end.0 >= first_row && end.0 - first_row < nrows {
            rel_indent[end.0 - first_row] = rel_indent[row];
        }
    }

    if indent_next && expand_indent(last.line) == indent_level + indent_size {
        let col = (indent[0] + indent_size).max(0) as usize;
        let (code, what) = if visual_indent.is_some() {
            ("E129", "visually indented line")
        } else {
            ("E125", "continuation line")
        };
        out.push((
            last.start.0,
            col,
            code,
            format!("{what} with same indent as next logical line"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_tabs() {
        assert_eq!(expand_indent("    x"), 4);
        assert_eq!(expand_indent("\tx"), 8);
        assert_eq!(expand_indent("   \tx"), 8);
        assert_eq!(expand_indent("        \tx"), 16);
    }

    #[test]
    fn long_lines_and_exceptions() {
        let mut out = Vec::new();
        line_too_long(
            &format!("x = '{}'\n", "a".repeat(80)),
            3,
            false,
            79,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].3, "line too long (86 > 79 characters)");
        out.clear();
        line_too_long(
            &format!("# https://{}\n", "a".repeat(90)),
            3,
            false,
            79,
            &mut out,
        );
        line_too_long(
            &format!("#!/usr/bin/{}\n", "a".repeat(90)),
            1,
            false,
            79,
            &mut out,
        );
        line_too_long(
            &format!("    https://{}\n", "a".repeat(90)),
            4,
            true,
            79,
            &mut out,
        );
        assert!(out.is_empty());
        line_too_long(
            &format!("    https://{}\n", "a".repeat(90)),
            4,
            false,
            79,
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }
}
