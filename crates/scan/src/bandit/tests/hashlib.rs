//! B324 hashlib_insecure_functions.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium, has_part, last_part};

const WEAK_HASHES: &[&str] = &["md4", "md5", "sha", "sha1"];
const WEAK_CRYPT_HASHES: &[&str] = &["METHOD_CRYPT", "METHOD_MD5", "METHOD_BLOWFISH"];

fn used_for_security(c: &CallCtx) -> bool {
    match c.kw_value("usedforsecurity") {
        None => true,
        Some(v) => v.py_eq(&Lit::Str("True".into())),
    }
}

fn issue(sev: crate::bandit::helpers::Level, text: String) -> Issue {
    Issue::new("B324", "hashlib", sev, High, 327, text)
}

pub fn check(c: &CallCtx) -> Option<Issue> {
    let func = last_part(&c.qual);
    if has_part(&c.qual, "hashlib") {
        if WEAK_HASHES.contains(&func) {
            if used_for_security(c) {
                return Some(issue(
                    High,
                    format!(
                        "Use of weak {} hash for security. Consider usedforsecurity=False",
                        func.to_uppercase()
                    ),
                ));
            }
        } else if func == "new" {
            let name = match c.call_args().into_iter().next() {
                Some(v) => Some(v),
                None => c.kw_value("name"),
            };
            if let Some(Lit::Str(name)) = name
                && WEAK_HASHES.contains(&name.to_lowercase().as_str())
                && used_for_security(c)
            {
                return Some(issue(
                    High,
                    format!(
                        "Use of weak {} hash for security. Consider usedforsecurity=False",
                        name.to_uppercase()
                    ),
                ));
            }
        }
    } else if has_part(&c.qual, "crypt") && (func == "crypt" || func == "mksalt") {
        let args = c.call_args();
        let name = if func == "crypt" {
            if args.len() > 1 {
                Some(args[1].clone())
            } else {
                c.kw_value("salt")
            }
        } else if !args.is_empty() {
            Some(args[0].clone())
        } else {
            c.kw_value("method")
        };
        if let Some(Lit::Str(name)) = name
            && WEAK_CRYPT_HASHES.contains(&name.as_str())
        {
            return Some(issue(
                Medium,
                format!(
                    "Use of insecure crypt.{} hash function.",
                    name.to_uppercase()
                ),
            ));
        }
    }
    None
}
