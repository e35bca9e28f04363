//! B502 ssl_with_bad_version, B503 ssl_with_bad_defaults, B504 ssl_with_no_version.
use crate::Map as HashMap;

use ruff_python_ast as ast;

use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Low, Medium, last_part, qual_attr};

pub const BAD_VERSIONS: &[&str] = &[
    "PROTOCOL_SSLv2",
    "SSLv2_METHOD",
    "SSLv23_METHOD",
    "PROTOCOL_SSLv3",
    "PROTOCOL_TLSv1",
    "SSLv3_METHOD",
    "TLSv1_METHOD",
    "PROTOCOL_TLSv1_1",
    "TLSv1_1_METHOD",
];

fn bad() -> Vec<Lit> {
    BAD_VERSIONS.iter().map(|s| Lit::Str((*s).into())).collect()
}

pub fn check_bad_version(c: &CallCtx) -> Option<Issue> {
    // Every branch below reads the `ssl_version` or `method` keyword; most calls have neither.
    if !c.keywords().iter().any(|k| {
        k.arg
            .as_ref()
            .is_some_and(|a| matches!(a.id.as_str(), "ssl_version" | "method"))
    }) {
        return None;
    }
    let bad = bad();
    if c.qual == "ssl.wrap_socket" {
        if c.check_kw("ssl_version", &bad) == Some(true) {
            return Some(
                Issue::new("B502", "ssl_with_bad_version", High, High, 327, "ssl.wrap_socket call with insecure SSL/TLS protocol version identified, security issue.")
                    .at(c.kw_line("ssl_version")),
            );
        }
    } else if c.qual == "pyOpenSSL.SSL.Context" {
        if c.check_kw("method", &bad) == Some(true) {
            return Some(
                Issue::new("B502", "ssl_with_bad_version", High, High, 327, "SSL.Context call with insecure SSL/TLS protocol version identified, security issue.")
                    .at(c.kw_line("method")),
            );
        }
    } else if c.check_kw("method", &bad) == Some(true)
        || c.check_kw("ssl_version", &bad) == Some(true)
    {
        let line = c.kw_line("method").or_else(|| c.kw_line("ssl_version"));
        return Some(
            Issue::new(
                "B502",
                "ssl_with_bad_version",
                Medium,
                Medium,
                327,
                "Function call with insecure SSL/TLS protocol identified, possible security issue.",
            )
            .at(line),
        );
    }
    None
}

pub fn check_bad_defaults(
    f: &ast::StmtFunctionDef,
    aliases: &HashMap<String, String>,
) -> Option<Issue> {
    let p = &f.parameters;
    for d in p
        .posonlyargs
        .iter()
        .chain(p.args.iter())
        .filter_map(|a| a.default.as_deref())
    {
        let q = qual_attr(d, aliases);
        let val = last_part(&q);
        if BAD_VERSIONS.contains(&val) {
            return Some(Issue::new(
                "B503",
                "ssl_with_bad_defaults",
                Medium,
                Medium,
                327,
                "Function definition identified with insecure SSL/TLS protocol version by default, possible security issue.",
            ));
        }
    }
    None
}

pub fn check_no_version(c: &CallCtx) -> Option<Issue> {
    if c.qual == "ssl.wrap_socket" && c.check_kw("ssl_version", &[]).is_none() {
        return Some(
            Issue::new(
                "B504",
                "ssl_with_no_version",
                Low,
                Medium,
                327,
                "ssl.wrap_socket call with no SSL/TLS protocol version specified, the default SSLv23 could be insecure, possible security issue.",
            )
            .at(c.kw_line("ssl_version")),
        );
    }
    None
}
