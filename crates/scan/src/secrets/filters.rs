//! The filters `detect-secrets scan --all-files` applies by default: which files it skips, which
//! lines it ignores, and which candidate secrets it drops as false positives.

use super::detectors::Patterns;

/// Python's `os.path.splitext(path)[1]` for the last path component: the extension with its dot,
/// empty for names that are only leading dots plus a word (`.bashrc`).
pub fn py_ext(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let trimmed = name.trim_start_matches('.');
    match trimmed.rfind('.') {
        Some(i) => &trimmed[i..],
        None => "",
    }
}

/// Extensions of files detect-secrets never reads (`is_non_text_file`), case-sensitive.
const IGNORED_EXTENSIONS: &[&str] = &[
    ".7z", ".bin", ".bmp", ".bz2", ".class", ".css", ".dmg", ".doc", ".eot", ".exe", ".gif", ".gz",
    ".ico", ".iml", ".ipr", ".iws", ".jar", ".jpg", ".jpeg", ".lock", ".map", ".mo", ".pdf",
    ".png", ".prefs", ".psd", ".rar", ".realm", ".s7z", ".sum", ".svg", ".tar", ".tif", ".tiff",
    ".ttf", ".webp", ".woff", ".xls", ".xlsx", ".zip",
];

/// Lock files (`is_lock_file`), by base name.
const LOCK_FILES: &[&str] = &[
    "Brewfile.lock.json",
    "Cartfile.resolved",
    "composer.lock",
    "Gemfile.lock",
    "Package.resolved",
    "package-lock.json",
    "Podfile.lock",
    "yarn.lock",
    "Pipfile.lock",
    "poetry.lock",
    "Cargo.lock",
    "packages.lock.json",
];

/// File-level filters: non-text extensions, lock files and swagger files.
pub fn is_skipped_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    IGNORED_EXTENSIONS.contains(&py_ext(path))
        || LOCK_FILES.contains(&base)
        || path.contains("swagger")
}

/// `is_indirect_reference`: `secret = get_secret()` or `secret = headers['key']` (lines up to
/// 1000 characters).
pub fn is_indirect_reference(p: &Patterns, line: &str) -> bool {
    line.chars().count() <= 1000 && p.indirect_reference.is_match(line)
}

/// Python's `str.upper()` containment in one of detect-secrets' sequences.
fn is_sequential_string(secret: &str) -> bool {
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    let upper = secret.to_uppercase();
    let sequences = [
        format!("{UPPER}{UPPER}{DIGITS}+/"),
        format!("{DIGITS}{UPPER}{UPPER}+/"),
        format!("{DIGITS}{UPPER}{DIGITS}{UPPER}"),
        format!("{DIGITS}{DIGITS}"),
        "0123456789ABCDEFABCDEF0123456789ABCDEFABCDEF".to_string(),
        format!("{UPPER}=/"),
    ];
    sequences.iter().any(|s| s.contains(&upper))
}

fn is_templated_secret(secret: &str) -> bool {
    let b = secret.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return true;
    };
    if (first == b'{' && last == b'}') || (first == b'<' && last == b'>') {
        return true;
    }
    if first == b'$' {
        return match b.get(1) {
            None => true,
            Some(&second) => second == b'{' && last == b'}',
        };
    }
    false
}

/// `is_likely_id_string`, for the detectors that are not regex-based (keyword and entropy).
fn is_likely_id_string(p: &Patterns, secret: &str, line: &str) -> bool {
    match line.find(secret) {
        Some(index) => p.id_prefix.is_match(&line[..index]),
        None => false,
    }
}

/// Every secret-level filter; true when the candidate is dropped.
pub fn is_false_positive(p: &Patterns, secret: &str, line: &str, regex_based: bool) -> bool {
    is_sequential_string(secret)
        || p.uuid.is_match(secret)
        || (!regex_based && is_likely_id_string(p, secret, line))
        || is_templated_secret(secret)
        || secret.starts_with('$')
        || !secret.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `# pragma: allowlist secret` on the line, or `# pragma: allowlist nextline secret` alone on the
/// line before, in the comment styles detect-secrets accepts (only `#` for `.yaml` files).
pub fn is_allowlisted(p: &Patterns, path: &str, line: &str, previous: &str) -> bool {
    let yaml = py_ext(path) == ".yaml";
    p.allows(line, false, yaml) || p.allows(previous, true, yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_follow_splitext() {
        assert_eq!(py_ext("a/b.tar.gz"), ".gz");
        assert_eq!(py_ext(".bashrc"), "");
        assert_eq!(py_ext("dir.d/file"), "");
        assert_eq!(py_ext("x.PNG"), ".PNG");
    }

    #[test]
    fn sequences_and_templates() {
        assert!(is_sequential_string("abcdefgh"));
        assert!(is_sequential_string("0123456789abcdef"));
        assert!(!is_sequential_string("abcdefgx"));
        assert!(is_templated_secret("{value}"));
        assert!(is_templated_secret("${value}"));
        assert!(is_templated_secret("<value>"));
        assert!(!is_templated_secret("$value"));
        assert!(is_templated_secret("$"));
    }
}
