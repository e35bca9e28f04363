//! Limits of the CPython 3.11 that runs the reference Bandit, which ruff's parser does not have:
//! files past them are errors in Bandit's report, and Vetted reports them the same way (this also
//! bounds the work and recursion of the family on hostile input).

use ruff_python_ast::token::{TokenKind, Tokens};

/// CPython's tokenizer refuses more than 200 nested brackets (`MAXLEVEL`).
pub const MAX_BRACKETS: usize = 200;
/// CPython's tokenizer refuses 100 or more indentation levels (`MAXINDENT`).
pub const MAX_INDENT: usize = 100;
/// Bandit's recursive visitor overflows Python's recursion limit (1000) at this AST depth
/// (module = 0), measured on Bandit 1.9.4 / CPython 3.11.
pub const MAX_DEPTH: usize = 991;
/// A string constant runs Bandit's string tests, a few frames deeper.
pub const MAX_STR_DEPTH: usize = 975;

/// B608 joins a string concatenation recursively; Bandit loses the test when twice the string's
/// depth reaches this plus the depth of the concatenation's top.
pub const MAX_SQL_JOIN_DEPTH: usize = 988;

/// True when CPython's tokenizer would stop with a syntax error (too many nested brackets or
/// indentation levels). Brackets inside f-strings are tokenized apart in CPython 3.11.
pub fn tokenizer_refuses(tokens: &Tokens) -> bool {
    let mut brackets = 0usize;
    let mut indent = 0usize;
    let mut fstrings = 0usize;
    for tok in tokens.iter() {
        match tok.kind() {
            TokenKind::FStringStart | TokenKind::TStringStart => fstrings += 1,
            TokenKind::FStringEnd | TokenKind::TStringEnd => fstrings = fstrings.saturating_sub(1),
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace if fstrings == 0 => {
                brackets += 1;
                if brackets > MAX_BRACKETS {
                    return true;
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace if fstrings == 0 => {
                brackets = brackets.saturating_sub(1)
            }
            TokenKind::Indent => {
                indent += 1;
                if indent >= MAX_INDENT {
                    return true;
                }
            }
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_python_ast::PySourceType;

    fn refuses(src: &str) -> bool {
        tokenizer_refuses(
            ruff_python_parser::parse_unchecked_source(src, PySourceType::Python).tokens(),
        )
    }

    #[test]
    fn brackets_and_indents_as_cpython() {
        let parens = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert!(!refuses(&parens(200)));
        assert!(refuses(&parens(201)));
        let ifs = |n: usize| {
            let mut s: String = (0..n)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect();
            s.push_str(&format!("{}pass\n", " ".repeat(n)));
            s
        };
        assert!(!refuses(&ifs(99)));
        assert!(refuses(&ifs(100)));
        let fstring = format!("x = f\"{{{}1{}}}\"\n", "(".repeat(150), ")".repeat(150));
        assert!(!refuses(&fstring));
    }
}
