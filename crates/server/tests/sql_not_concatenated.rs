//! No SQL is built by string concatenation: every query the server sends is a literal (or a
//! `const`) with `$N` placeholders, so user input can only ever be a bound parameter. This test
//! reads the server's sources and fails on a `format!`, `+` or `push_str` that builds the text
//! handed to a sqlx query function.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The argument text of every `query(`, `query_as(`, `query_scalar(` and `raw_sql(` call: from
/// the opening parenthesis to its match.
fn query_arguments(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for call in [
        "query(",
        "query_as(",
        "query_scalar(",
        "raw_sql(",
        "query_with(",
    ] {
        let mut from = 0;
        while let Some(pos) = source[from..].find(call) {
            let start = from + pos + call.len();
            from = start;
            // A method or function of that name, not a longer identifier ending in it.
            let before = source[..start - call.len()].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut depth = 1;
            let mut end = start;
            for (i, c) in source[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            let line = source[..start].matches('\n').count() + 1;
            out.push((line, source[start..end].to_string()));
        }
    }
    out
}

#[test]
fn no_query_text_is_built_at_run_time() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut calls = 0;
    let mut offenders = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (line, argument) in query_arguments(&source) {
            calls += 1;
            let built = argument.contains("format!")
                || argument.contains("concat!")
                || argument.contains("push_str")
                || argument.contains("&format")
                || argument.contains(".to_string() +")
                || argument.contains("\" +");
            if built {
                offenders.push(format!("{}:{line}: {argument}", file.display()));
            }
        }
    }
    // The scan must have seen the server's queries, or it proves nothing.
    assert!(
        calls >= 30,
        "only {calls} query calls found under {}",
        src.display()
    );
    assert!(
        offenders.is_empty(),
        "SQL built at run time:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_check_catches_a_built_query() {
    let bad = "let q = sqlx::query(&format!(\"SELECT * FROM users WHERE name = '{name}'\"));";
    let found = query_arguments(bad);
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("format!"));
    let good = "sqlx::query(\"SELECT * FROM users WHERE name = $1\").bind(name)";
    assert!(!query_arguments(good)[0].1.contains("format!"));
}
