//! Hostile source files: 10 MB lines, nesting meant to overflow the parser's stack, invalid
//! UTF-8, NUL bytes, mixed line endings, Python 2. Each is scanned inside a valid plugin in
//! bounded time (asserted loosely: the machine is shared), ends with a clear finding or error
//! on that file, and never passes silently. The per-scan time budget fails closed.

mod support;

use std::time::{Duration, Instant};

use support::valid_plugin;
use vetted_scan::{Report, ScanOptions, Verdict, scan_path};

/// Loose upper bound for one scan: a hang or a quadratic blow-up is far above it.
const BOUND: Duration = Duration::from_secs(10);

fn scan_with(name: &str, source: &[u8], options: &ScanOptions) -> (Report, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = valid_plugin()
        .add(&format!("sample/{name}"), source)
        .write_to(dir.path(), "plugin.zip");
    let started = Instant::now();
    let report = scan_path(&path, options).expect("a readable ZIP always yields a report");
    (report, started.elapsed())
}

fn scan(name: &str, source: &[u8]) -> Report {
    let (report, took) = scan_with(name, source, &ScanOptions::default());
    assert!(took < BOUND, "scanning {name} took {took:?}");
    report
}

/// Findings and errors that name the file, as "RULE: message" lines.
fn about(report: &Report, name: &str) -> Vec<String> {
    let path = format!("sample/{name}");
    let mut out: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.path == path)
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect();
    out.extend(
        report
            .errors
            .iter()
            .filter(|e| e.path == path)
            .map(|e| format!("error {:?}: {}", e.check, e.message)),
    );
    out
}

fn assert_blocked_naming(report: &Report, name: &str, needle: &str) {
    let said = about(report, name);
    assert_eq!(report.verdict, Verdict::Blocked, "{said:#?}");
    assert!(
        said.iter().any(|s| s.contains(needle)),
        "nothing about {name} mentions {needle:?}: {said:#?}"
    );
}

#[test]
fn a_ten_megabyte_line_is_reported_in_bounded_time() {
    let mut long_string = b"x = '".to_vec();
    long_string.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    long_string.extend_from_slice(b"'\nimport os\nos.system(x)\n");
    let r = scan("long_string.py", &long_string);
    let said = about(&r, "long_string.py");
    // The code after the long line is still analysed.
    assert!(said.iter().any(|s| s.starts_with("B605")), "{said:#?}");
    assert_eq!(r.verdict, Verdict::Blocked, "{said:#?}");

    let mut long_expr = b"x = [".to_vec();
    for _ in 0..(10 * 1024 * 1024 / 8) {
        long_expr.extend_from_slice(b"a, 1.0, ");
    }
    long_expr.extend_from_slice(b"]\n");
    let r = scan("long_expr.py", &long_expr);
    assert_blocked_naming(&r, "long_expr.py", "too deep to analyse safely");
}

#[test]
fn nesting_that_would_overflow_the_parser_stack_is_unscannable() {
    let deep_brackets = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    assert_blocked_naming(
        &scan("brackets.py", deep_brackets.as_bytes()),
        "brackets.py",
        "brackets nested more than",
    );
    let long_chain = format!("x = {}1\n", "1+".repeat(200_000));
    assert_blocked_naming(
        &scan("chain.py", long_chain.as_bytes()),
        "chain.py",
        "chains more than",
    );
    let attributes = format!("x = a{}\n", ".b".repeat(200_000));
    assert_blocked_naming(
        &scan("attrs.py", attributes.as_bytes()),
        "attrs.py",
        "chains more than",
    );
    let mut deep_blocks = String::new();
    for depth in 0..5_000 {
        deep_blocks.push_str(&" ".repeat(depth));
        deep_blocks.push_str("if x:\n");
    }
    deep_blocks.push_str(&" ".repeat(5_000));
    deep_blocks.push_str("pass\n");
    assert_blocked_naming(
        &scan("blocks.py", deep_blocks.as_bytes()),
        "blocks.py",
        "indented",
    );
    // Deep but below every bound: analysed, not refused, and the call inside is still found.
    let nested_calls = format!(
        "import os\nx = {}os.system('ls'){}\n",
        "f(".repeat(150),
        ")".repeat(150)
    );
    let r = scan("calls.py", nested_calls.as_bytes());
    let said = about(&r, "calls.py");
    assert!(said.iter().any(|s| s.starts_with("B605")), "{said:#?}");
}

#[test]
fn invalid_utf8_is_an_error_not_a_pass() {
    let r = scan(
        "latin.py",
        b"import os\nname = '\xe9t\xe9'\nos.system(name)\n",
    );
    assert_blocked_naming(&r, "latin.py", "error Bandit");
    // A declared but unknown codec is refused the same way.
    let r = scan("codec.py", b"# -*- coding: klingon -*-\nx = '\xff'\n");
    assert_eq!(r.verdict, Verdict::Blocked, "{:#?}", about(&r, "codec.py"));
    assert!(!about(&r, "codec.py").is_empty());
}

#[test]
fn nul_bytes_are_an_error_not_a_pass() {
    let r = scan("nul.py", b"import os\x00\nos.system('ls')\x00\x00\n");
    assert_eq!(r.verdict, Verdict::Blocked, "{:#?}", about(&r, "nul.py"));
    assert!(
        r.errors.iter().any(|e| e.path == "sample/nul.py"),
        "{:#?}",
        about(&r, "nul.py")
    );
}

#[test]
fn mixed_line_endings_keep_line_numbers() {
    // CPython ends a line at \n, \r\n and a lone \r alike.
    let src = b"import os\r\nx = 1\rexec('y')\nos.system('ls')\r\n";
    let r = scan("endings.py", src);
    let at = |rule: &str| {
        r.findings
            .iter()
            .find(|f| f.path == "sample/endings.py" && f.rule == rule)
            .map(|f| f.line)
    };
    assert_eq!(at("B102"), Some(3), "{:#?}", about(&r, "endings.py"));
    assert_eq!(at("B605"), Some(4), "{:#?}", about(&r, "endings.py"));
}

#[test]
fn python_2_syntax_is_a_syntax_error_not_a_pass() {
    let r = scan(
        "py2.py",
        b"import os\nprint 'hello'\nexec \"os.system('ls')\"\nraise ValueError, 'x'\n",
    );
    assert_blocked_naming(&r, "py2.py", "E999");
    assert!(
        r.errors.iter().any(|e| e.path == "sample/py2.py"),
        "bandit reports the file it could not parse: {:#?}",
        r.errors
    );
}

/// Legal Python that takes the families seconds: 200,000 small functions (9.5 MB).
fn slow_source() -> Vec<u8> {
    let mut s = String::from("import os\n");
    for i in 0..200_000 {
        s.push_str(&format!("def f{i}(x):\n    return os.system(x) + {i}\n"));
    }
    s.into_bytes()
}

#[test]
fn a_scan_past_its_budget_is_blocked_with_an_error() {
    let slow = slow_source();
    let options = ScanOptions {
        time_budget: Some(Duration::from_millis(200)),
        ..ScanOptions::default()
    };
    let (r, took) = scan_with("slow.py", &slow, &options);
    assert_eq!(r.verdict, Verdict::Blocked, "{:#?}", r.errors);
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("time budget of 0.2 s")),
        "{:#?}",
        r.errors
    );
    // It returns at the budget, not when the slow file is done.
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
    assert_eq!(r.target.kind, vetted_scan::report::TargetKind::Zip);
    assert!(!r.target.sha256.is_empty());
}

#[test]
fn files_after_the_budget_are_not_analysed_and_the_scan_fails_closed() {
    let mut zip = valid_plugin();
    for i in 0..200 {
        zip = zip.add(&format!("sample/m{i}.py"), b"import os\nx = 1\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = zip.write_to(dir.path(), "plugin.zip");
    // A budget already spent when the files come: none is analysed, and the report says so.
    let options = ScanOptions {
        time_budget: Some(Duration::from_nanos(1)),
        threads: 1,
        ..ScanOptions::default()
    };
    let r = scan_path(&path, &options).unwrap();
    assert_eq!(r.verdict, Verdict::Blocked);
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("not analysed")
                || e.message.contains("still being analysed")),
        "{:#?}",
        r.errors
    );
    // The same package with a generous budget passes: the budget, not the code, blocked it.
    for threads in [1, 3] {
        let options = ScanOptions {
            time_budget: Some(Duration::from_secs(600)),
            threads,
            ..ScanOptions::default()
        };
        let r = scan_path(&path, &options).unwrap();
        assert_eq!(r.verdict, Verdict::Validated, "{:#?}", r.errors);
        assert_eq!(r.stats.files_scanned, 205);
    }
}
