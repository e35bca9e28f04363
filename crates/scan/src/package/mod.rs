//! Structural validation of a QGIS plugin package: the rules plugins.qgis.org's validator
//! enforces (layout, `metadata.txt` fields and formats, LICENSE, forbidden files) plus the
//! warnings it gives. Every message names the field or entry it is about.

pub mod metadata;

use std::collections::BTreeSet;

use crate::catalog::FamilyRule;
use crate::report::{Check, Finding, PackageInfo, PackageMetadata, Severity};

pub const LAYOUT: &str = "PKG_LAYOUT";
pub const NAME: &str = "PKG_NAME";
pub const INIT: &str = "PKG_INIT";
pub const METADATA: &str = "PKG_METADATA";
pub const FIELD_MISSING: &str = "PKG_FIELD_MISSING";
pub const FIELD_INVALID: &str = "PKG_FIELD_INVALID";
pub const LICENSE: &str = "PKG_LICENSE";
pub const FORBIDDEN_FILE: &str = "PKG_FORBIDDEN_FILE";
pub const ICON: &str = "PKG_ICON";
pub const MULTIPLE_FOLDERS: &str = "PKG_MULTIPLE_FOLDERS";
pub const DEPRECATED_FIELD: &str = "PKG_DEPRECATED_FIELD";
pub const FIELD_VALUE: &str = "PKG_FIELD_VALUE";

use crate::archive::rules as ar;

/// Package and archive rules; all are on, none skippable.
pub const RULES: &[FamilyRule] = &[
    FamilyRule { code: ar::CORRUPT, name: "Unreadable archive", tool_default: true },
    FamilyRule { code: ar::TOO_LARGE, name: "Archive or entry too large", tool_default: true },
    FamilyRule { code: ar::TOO_MANY_ENTRIES, name: "Too many entries", tool_default: true },
    FamilyRule { code: ar::BOMB, name: "Zip bomb", tool_default: true },
    FamilyRule { code: ar::UNSAFE_PATH, name: "Unsafe entry path", tool_default: true },
    FamilyRule { code: ar::LINK, name: "Symbolic link", tool_default: true },
    FamilyRule { code: ar::SPECIAL_FILE, name: "Special file", tool_default: true },
    FamilyRule { code: ar::DUPLICATE, name: "Duplicate entry", tool_default: true },
    FamilyRule { code: ar::NAME_COLLISION, name: "Colliding entry names", tool_default: true },
    FamilyRule { code: ar::NAME_ENCODING, name: "Entry name encoding", tool_default: true },
    FamilyRule { code: ar::ENCRYPTED, name: "Encrypted entry", tool_default: true },
    FamilyRule { code: ar::UNSUPPORTED_METHOD, name: "Unsupported compression method", tool_default: true },
    FamilyRule { code: ar::BAD_ENTRY, name: "Damaged entry", tool_default: true },
    FamilyRule { code: LAYOUT, name: "Package layout", tool_default: true },
    FamilyRule { code: NAME, name: "Package folder name", tool_default: true },
    FamilyRule { code: INIT, name: "Missing __init__.py", tool_default: true },
    FamilyRule { code: METADATA, name: "Unreadable metadata.txt", tool_default: true },
    FamilyRule { code: FIELD_MISSING, name: "Required metadata field missing", tool_default: true },
    FamilyRule { code: FIELD_INVALID, name: "Invalid metadata field", tool_default: true },
    FamilyRule { code: LICENSE, name: "Missing LICENSE", tool_default: true },
    FamilyRule { code: FORBIDDEN_FILE, name: "Forbidden file or folder", tool_default: true },
    FamilyRule { code: ICON, name: "Icon not found", tool_default: true },
    FamilyRule { code: MULTIPLE_FOLDERS, name: "More than one top-level entry", tool_default: true },
    FamilyRule { code: DEPRECATED_FIELD, name: "Deprecated metadata field", tool_default: true },
    FamilyRule { code: FIELD_VALUE, name: "Doubtful metadata value", tool_default: true },
];

/// Package rules that warn instead of refusing the package.
pub const WARNING_RULES: &[&str] = &[MULTIPLE_FOLDERS, DEPRECATED_FIELD, FIELD_VALUE];

pub const REQUIRED_FIELDS: &[&str] =
    &["name", "description", "about", "version", "qgisMinimumVersion", "author", "email", "tracker", "repository"];
pub const BOOLEAN_FIELDS: &[&str] = &["experimental", "deprecated", "server", "hasProcessingProvider", "supportsQt6"];
pub const DEPRECATED_FIELDS: &[&str] = &["supportsQt6"];
const PLACEHOLDER_URLS: &[(&str, &str)] =
    &[("tracker", "http://bugs"), ("repository", "http://repo"), ("homepage", "http://homepage")];

/// What the validator needs to know about the input.
pub struct PackageLayout<'a> {
    /// Every file path, `/`-separated, in archive order.
    pub paths: &'a [&'a str],
    /// For a plugin folder scanned in place: the folder's own name; paths then have no prefix.
    pub folder_name: Option<&'a str>,
    /// A new plugin must have a package name that is a Python identifier.
    pub new_plugin: bool,
}

/// Where the package lives inside the input.
#[derive(Debug, Clone)]
pub struct PackageRoot {
    pub name: String,
    /// Prefix of the package's files in input paths: `name/` for a ZIP, empty for a folder.
    pub prefix: String,
}

impl PackageRoot {
    pub fn path_of(&self, rel: &str) -> String {
        format!("{}{}", self.prefix, rel)
    }
}

fn finding(rule: &str, path: &str, line: u32, message: String) -> Finding {
    let mut f = Finding::new(Check::Package, rule, path, line, 0, message);
    f.severity = if WARNING_RULES.contains(&rule) { Severity::Warning } else { Severity::Critical };
    f
}

/// Finds the package folder and checks the layout rules that need no file contents.
pub fn check_layout(layout: &PackageLayout, out: &mut Vec<Finding>) -> Option<PackageRoot> {
    for p in layout.paths {
        let parts: Vec<&str> = p.split('/').collect();
        if p.contains(".pyc") {
            out.push(finding(FORBIDDEN_FILE, p, 0, format!("{p}: compiled Python files (.pyc) are not allowed in a plugin package")));
        }
        for forbidden in ["__MACOSX", ".git", "__pycache__"] {
            if parts[..parts.len() - 1].contains(&forbidden) || parts.last() == Some(&forbidden) {
                out.push(finding(FORBIDDEN_FILE, p, 0, format!("{p}: the '{forbidden}' folder is not allowed in a plugin package")));
                break;
            }
        }
    }
    let root = if let Some(name) = layout.folder_name {
        PackageRoot { name: name.to_string(), prefix: String::new() }
    } else {
        let Some(first) = layout.paths.first() else {
            out.push(finding(LAYOUT, "", 0, "the archive contains no files".into()));
            return None;
        };
        let Some((top, _)) = first.split_once('/') else {
            out.push(finding(
                LAYOUT,
                first,
                0,
                format!("{first}: the first entry is not inside a folder; a plugin ZIP must hold one top-level folder named after the plugin package"),
            ));
            return None;
        };
        let mut others: BTreeSet<&str> = BTreeSet::new();
        for p in layout.paths {
            let t = p.split_once('/').map_or(*p, |(t, _)| t);
            if t != top {
                others.insert(t);
            }
        }
        if !others.is_empty() {
            let list: Vec<&str> = others.into_iter().collect();
            out.push(finding(
                MULTIPLE_FOLDERS,
                "",
                0,
                format!("top-level entries besides the package folder '{top}': {}; QGIS installs only '{top}'", list.join(", ")),
            ));
        }
        PackageRoot { name: top.to_string(), prefix: format!("{top}/") }
    };
    let name = &root.name;
    let name_ok = name.len() >= 2
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        out.push(finding(
            NAME,
            &root.prefix,
            0,
            format!("package folder '{name}': must start with an ASCII letter and contain only ASCII letters, digits, '-' and '_' (at least two characters)"),
        ));
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        let msg = format!("package folder '{name}': is not a valid Python identifier ('-' is not allowed); new plugins must use one");
        let mut f = finding(NAME, &root.prefix, 0, msg);
        if !layout.new_plugin {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
    let has = |rel: &str| layout.paths.contains(&root.path_of(rel).as_str());
    if !has("__init__.py") {
        out.push(finding(INIT, &root.path_of("__init__.py"), 0, format!("{}: not found; every plugin package needs one", root.path_of("__init__.py"))));
    }
    if !has("LICENSE") {
        out.push(finding(
            LICENSE,
            &root.path_of("LICENSE"),
            0,
            format!("{}: not found; plugins.qgis.org requires a LICENSE file in the package folder", root.path_of("LICENSE")),
        ));
    }
    if !has("metadata.txt") {
        out.push(finding(METADATA, &root.path_of("metadata.txt"), 0, format!("{}: not found", root.path_of("metadata.txt"))));
    }
    Some(root)
}

/// Parses and checks `metadata.txt`; returns the package info when it could be read.
pub fn check_metadata(root: &PackageRoot, bytes: &[u8], paths: &[&str], out: &mut Vec<Finding>) -> Option<PackageInfo> {
    let md_path = root.path_of("metadata.txt");
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            out.push(finding(METADATA, &md_path, 0, format!("{md_path}: is not valid UTF-8 ({e})")));
            return None;
        }
    };
    let ini = match metadata::parse_ini(text) {
        Ok(i) => i,
        Err(e) => {
            out.push(finding(METADATA, &md_path, e.line, format!("{md_path}: {}", e.message)));
            return None;
        }
    };
    if !ini.sections.contains_key("general") {
        out.push(finding(METADATA, &md_path, 0, format!("{md_path}: no [general] section")));
        return None;
    }
    let items = match ini.items("general") {
        Ok(i) => i,
        Err(e) => {
            out.push(finding(METADATA, &md_path, e.line, format!("{md_path}: {}", e.message)));
            return None;
        }
    };
    let get = |k: &str| items.iter().find(|(key, _, _)| key == k).map(|(_, v, l)| (v.as_str(), *l));
    let bad = |out: &mut Vec<Finding>, field: &str, line: u32, msg: String| {
        out.push(finding(FIELD_INVALID, &md_path, line, format!("{md_path}: field '{field}' {msg}")));
    };

    let missing: Vec<&str> = REQUIRED_FIELDS.iter().copied().filter(|f| get(f).is_none_or(|(v, _)| v.is_empty())).collect();
    for f in &missing {
        out.push(finding(FIELD_MISSING, &md_path, 0, format!("{md_path}: required field '{f}' is missing or empty")));
    }
    if let Some((v, l)) = get("author")
        && v.contains('/')
    {
        bad(out, "author", l, format!("must not contain '/': {v:?}"));
    }
    if let Some((v, l)) = get("email")
        && !v.is_empty()
        && (!v.contains('@') || v.chars().any(char::is_whitespace))
    {
        bad(out, "email", l, format!("is not an email address: {v:?}"));
    }
    if let Some((v, l)) = get("version")
        && (v.chars().any(|c| c.is_whitespace() || c == '/' || c == '\\'))
    {
        bad(out, "version", l, format!("must not contain spaces or slashes (it becomes part of the file name): {v:?}"));
    }
    for field in ["tracker", "repository", "homepage"] {
        let Some((v, l)) = get(field) else { continue };
        if v.is_empty() {
            continue;
        }
        if let Some((_, placeholder)) = PLACEHOLDER_URLS.iter().find(|(f, _)| *f == field)
            && v.trim_end_matches('/') == *placeholder
        {
            bad(out, field, l, format!("still holds the template placeholder {v:?}; give the real URL"));
            continue;
        }
        if !is_http_url(v) {
            bad(out, field, l, format!("must be an http:// or https:// URL: {v:?}"));
        }
    }
    let min = get("qgisMinimumVersion");
    let max = get("qgisMaximumVersion");
    let parsed_min = min.and_then(|(v, l)| check_qgis_version(out, &md_path, "qgisMinimumVersion", v, l));
    let parsed_max = max.and_then(|(v, l)| check_qgis_version(out, &md_path, "qgisMaximumVersion", v, l));
    if let (Some(a), Some(b), Some((mv, l))) = (parsed_min, parsed_max, max)
        && b < a
    {
        bad(out, "qgisMaximumVersion", l, format!("{mv} is lower than qgisMinimumVersion {}", min.map_or("", |m| m.0)));
    }
    for field in BOOLEAN_FIELDS {
        if let Some((v, l)) = get(field)
            && !["true", "false", "yes", "no", "1", "0", ""].contains(&v.to_ascii_lowercase().as_str())
        {
            out.push(finding(
                FIELD_VALUE,
                &md_path,
                l,
                format!("{md_path}: field '{field}' should be True or False; {v:?} is read as False"),
            ));
        }
    }
    for field in DEPRECATED_FIELDS {
        if let Some((_, l)) = get(field) {
            out.push(finding(DEPRECATED_FIELD, &md_path, l, format!("{md_path}: field '{field}' is deprecated and ignored")));
        }
    }
    if let Some((icon, l)) = get("icon")
        && !icon.is_empty()
    {
        let rel = icon.trim_start_matches("./");
        if !paths.contains(&root.path_of(rel).as_str()) {
            out.push(finding(ICON, &md_path, l, format!("{md_path}: icon '{icon}' is not in the package (looked for {})", root.path_of(rel))));
        }
    }
    let mut metadata = PackageMetadata::new();
    for (k, v, _) in &items {
        let value = if BOOLEAN_FIELDS.contains(&k.as_str()) {
            serde_json::Value::Bool(parse_bool(v))
        } else {
            serde_json::Value::String(v.clone())
        };
        metadata.insert(k.clone(), value);
    }
    Some(PackageInfo { name: root.name.clone(), metadata })
}

/// QGIS metadata booleans: true, yes and 1 (any case) are true.
pub fn parse_bool(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "1")
}

fn is_http_url(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !v.chars().any(char::is_whitespace)
    })
}

/// Parses `X.Y[.Z]`, reporting a finding when the form is wrong.
fn check_qgis_version(out: &mut Vec<Finding>, md_path: &str, field: &str, v: &str, line: u32) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = v.split('.').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit())).then(|| p.parse().ok()).flatten()).collect();
    match nums {
        Some(n) if (2..=3).contains(&n.len()) => Some((n[0], n[1], n.get(2).copied().unwrap_or(0))),
        _ => {
            out.push(finding(FIELD_INVALID, md_path, line, format!("{md_path}: field '{field}' must look like X.Y or X.Y.Z: {v:?}")));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_http_url("https://github.com/a/b"));
        assert!(is_http_url("HTTP://x.org"));
        assert!(!is_http_url("ftp://x.org"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("github.com/a"));
    }

    #[test]
    fn booleans() {
        for t in ["True", "yes", "1", " TRUE "] {
            assert!(parse_bool(t), "{t}");
        }
        for f in ["False", "no", "0", "", "maybe"] {
            assert!(!parse_bool(f), "{f}");
        }
    }
}
