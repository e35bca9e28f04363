//! Flake8's options as the family applies them: the `[flake8]` section of the bundled
//! `setup.cfg`, `tox.ini` or `.flake8` (first file that has one, in Flake8's search order), the
//! default select and ignore lists, and Flake8's decision between select and ignore.

use crate::family::BundledConfig;
use crate::options::Profile;

/// Flake8's default `--exclude`.
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".svn",
    "CVS",
    ".bzr",
    ".hg",
    ".git",
    "__pycache__",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg",
];
/// Flake8's default `--ignore`.
pub const DEFAULT_IGNORE: &[&str] = &[
    "E121", "E123", "E126", "E226", "E24", "E704", "W503", "W504",
];
/// Codes selected when `--select` is not given (pycodestyle, pyflakes, mccabe).
pub const DEFAULT_SELECT: &[&str] = &["E", "F", "W", "C90"];
/// Where Flake8 looks for its section, in order.
pub const CONFIG_FILES: &[&str] = &["setup.cfg", "tox.ini", ".flake8"];

/// The effective options for one scan.
#[derive(Debug, Clone)]
pub struct Flake8Config {
    pub max_line_length: usize,
    pub max_complexity: Option<usize>,
    pub hang_closing: bool,
    pub indent_size: usize,
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Option<Vec<String>>,
    pub extend_ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub extend_exclude: Vec<String>,
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// The bundled config file whose `[flake8]` section was read (input path).
    pub source: Option<String>,
}

impl Default for Flake8Config {
    fn default() -> Self {
        Flake8Config {
            max_line_length: 79,
            max_complexity: None,
            hang_closing: false,
            indent_size: 4,
            select: None,
            extend_select: Vec::new(),
            ignore: None,
            extend_ignore: Vec::new(),
            exclude: DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            extend_exclude: Vec::new(),
            per_file_ignores: Vec::new(),
            source: None,
        }
    }
}

/// Splits on commas and whitespace, as Flake8's `parse_comma_separated_list`.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `[section]` of an INI file as `configparser.RawConfigParser` reads it: `key = value` or
/// `key: value`, continuation lines indented, `#`/`;` full-line comments. Keys lower-cased with
/// `_` turned into `-`.
pub fn ini_section(text: &str, section: &str) -> Option<Vec<(String, String)>> {
    let mut found = false;
    let mut in_section = false;
    let mut out: Vec<(String, String)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_section = trimmed
                .trim_end()
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .map(str::trim)
                == Some(section);
            found |= in_section;
            continue;
        }
        if !in_section {
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if indented && let Some(last) = out.last_mut() {
            last.1.push('\n');
            last.1.push_str(trimmed);
            continue;
        }
        let Some(pos) = trimmed.find(['=', ':']) else {
            continue;
        };
        let key = trimmed[..pos].trim().to_ascii_lowercase().replace('_', "-");
        out.push((key, trimmed[pos + 1..].trim().to_string()));
    }
    found.then_some(out)
}

/// `files: codes` pairs of `per-file-ignores`, as Flake8's `parse_files_to_codes_mapping`.
pub fn parse_per_file_ignores(value: &str) -> Vec<(String, Vec<String>)> {
    let mut ret = Vec::new();
    let mut filenames: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let mut seen_colon = false;
    for line in value.lines() {
        let mut rest = line;
        while !rest.is_empty() {
            let (before, colon, after) = match rest.find(':') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, ""),
            };
            for item in split_list(before) {
                let is_code = item.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && item
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if seen_colon && is_code {
                    codes.push(item);
                } else {
                    if seen_colon && !codes.is_empty() {
                        ret.push((
                            std::mem::take(&mut filenames).join(","),
                            std::mem::take(&mut codes),
                        ));
                    }
                    seen_colon = false;
                    filenames.push(item);
                }
            }
            if colon {
                seen_colon = true;
            }
            rest = after;
        }
    }
    if seen_colon && !filenames.is_empty() {
        ret.push((filenames.join(","), codes));
    }
    // One entry per file pattern.
    ret.into_iter()
        .flat_map(|(files, codes)| {
            files
                .split(',')
                .map(|f| (f.to_string(), codes.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

impl Flake8Config {
    /// Reads the bundled config; under the qgis profile `--max-line-length=120` on the command
    /// line overrides it, as plugins.qgis.org does.
    pub fn load(config: &BundledConfig, profile: Profile) -> Flake8Config {
        let mut cfg = Flake8Config::default();
        for name in CONFIG_FILES {
            let Some(text) = config.get(name).map(String::from_utf8_lossy) else {
                continue;
            };
            let Some(section) = ini_section(&text, "flake8") else {
                continue;
            };
            cfg.source = Some(config.path_of(name));
            for (key, value) in section {
                match key.as_str() {
                    "max-line-length" => {
                        if let Ok(n) = value.trim().parse() {
                            cfg.max_line_length = n;
                        }
                    }
                    "max-complexity" => {
                        cfg.max_complexity = value
                            .trim()
                            .parse::<i64>()
                            .ok()
                            .and_then(|n| usize::try_from(n).ok())
                    }
                    "hang-closing" => {
                        cfg.hang_closing = matches!(
                            value.trim().to_ascii_lowercase().as_str(),
                            "1" | "yes" | "true" | "on"
                        )
                    }
                    "indent-size" => {
                        if let Ok(n) = value.trim().parse() {
                            cfg.indent_size = n;
                        }
                    }
                    "select" => cfg.select = Some(split_list(&value)),
                    "extend-select" => cfg.extend_select = split_list(&value),
                    "ignore" => cfg.ignore = Some(split_list(&value)),
                    "extend-ignore" => cfg.extend_ignore = split_list(&value),
                    "exclude" => cfg.exclude = split_list(&value),
                    "extend-exclude" => cfg.extend_exclude = split_list(&value),
                    "per-file-ignores" => cfg.per_file_ignores = parse_per_file_ignores(&value),
                    _ => {}
                }
            }
            break;
        }
        if profile == Profile::Qgis {
            cfg.max_line_length = 120;
        }
        cfg
    }

    /// Whether Flake8 would skip the file (`exclude`, `extend-exclude`): a pattern matches the
    /// base name of the file or of a folder above it, or the whole path.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let patterns: Vec<&str> = self
            .exclude
            .iter()
            .chain(&self.extend_exclude)
            .map(String::as_str)
            .collect();
        if patterns.is_empty() {
            return false;
        }
        let parts: Vec<&str> = rel_path.split('/').collect();
        for i in 0..parts.len() {
            let name = parts[i];
            let prefix = parts[..=i].join("/");
            for p in &patterns {
                if fnmatch(name, p)
                    || (p.contains('/')
                        && fnmatch(&prefix, p.trim_start_matches("./").trim_end_matches('/')))
                {
                    return true;
                }
            }
        }
        false
    }

    /// The decision for one code in one file: select/ignore with Flake8's precedence.
    pub fn decider_for(&self, rel_path: &str) -> Decider {
        let mut extend_ignore = self.extend_ignore.clone();
        let base = rel_path.rsplit('/').next().unwrap_or(rel_path);
        for (pattern, codes) in &self.per_file_ignores {
            let p = pattern.trim_start_matches("./");
            let hit = if pattern.contains('/') {
                fnmatch(rel_path, p)
            } else {
                fnmatch(base, p)
            };
            if hit {
                extend_ignore.extend(codes.iter().cloned());
            }
        }
        Decider::new(
            self.select.as_deref(),
            &self.extend_select,
            self.ignore.as_deref(),
            &extend_ignore,
        )
    }
}

/// Flake8's `DecisionEngine`.
#[derive(Debug, Clone)]
pub struct Decider {
    selected_explicitly: Vec<String>,
    ignored_explicitly: Vec<String>,
    selected: Vec<String>,
    ignored: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    Explicit,
    Implicit,
    NotExplicit,
    NotImplicit,
}

fn sorted_desc(mut v: Vec<String>) -> Vec<String> {
    v.sort_by(|a, b| b.cmp(a));
    v
}

impl Decider {
    pub fn new(
        select: Option<&[String]>,
        extend_select: &[String],
        ignore: Option<&[String]>,
        extend_ignore: &[String],
    ) -> Decider {
        let explicit = |o: Option<&[String]>, e: &[String]| {
            sorted_desc(o.unwrap_or_default().iter().chain(e).cloned().collect())
        };
        let chosen = |o: Option<&[String]>, default: &[&str], e: &[String]| {
            let base: Vec<String> = match o {
                Some(v) => v.to_vec(),
                None => default.iter().map(|s| s.to_string()).collect(),
            };
            sorted_desc(base.into_iter().chain(e.iter().cloned()).collect())
        };
        Decider {
            selected_explicitly: explicit(select, extend_select),
            ignored_explicitly: explicit(ignore, extend_ignore),
            // Flake8's `default` for select is empty; the extended default holds E, F, W, C90.
            selected: chosen(select, DEFAULT_SELECT, extend_select),
            ignored: chosen(ignore, DEFAULT_IGNORE, extend_ignore),
        }
    }

    fn starts(code: &str, list: &[String]) -> bool {
        list.iter().any(|p| code.starts_with(p.as_str()))
    }

    pub fn is_selected(&self, code: &str) -> bool {
        let selected = if Self::starts(code, &self.selected_explicitly) {
            Pick::Explicit
        } else if Self::starts(code, &self.selected) {
            Pick::Implicit
        } else {
            Pick::NotImplicit
        };
        let ignored = if Self::starts(code, &self.ignored_explicitly) {
            Pick::NotExplicit
        } else if Self::starts(code, &self.ignored) {
            Pick::NotImplicit
        } else {
            Pick::Implicit
        };
        let sel_ok = matches!(selected, Pick::Explicit | Pick::Implicit);
        let ign_ok = matches!(ignored, Pick::Explicit | Pick::Implicit);
        if sel_ok && ign_ok {
            return true;
        }
        if !sel_ok && !ign_ok {
            return false;
        }
        if selected == Pick::Explicit && ignored != Pick::NotExplicit {
            return true;
        }
        if selected != Pick::Explicit && ignored == Pick::NotExplicit {
            return false;
        }
        if selected == Pick::NotImplicit && ignored == Pick::Implicit {
            return false;
        }
        // In both lists: the longest prefix wins.
        let s = self
            .selected
            .iter()
            .find(|p| code.starts_with(p.as_str()))
            .map_or(0, String::len);
        let i = self
            .ignored
            .iter()
            .find(|p| code.starts_with(p.as_str()))
            .map_or(0, String::len);
        s > i
    }
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` and `?` match any character including `/`, `[...]`
/// sets, case-sensitive.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn rec(n: &[char], p: &[char]) -> bool {
        let (mut ni, mut pi) = (0, 0);
        let (mut star_p, mut star_n) = (usize::MAX, 0);
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star_p = pi;
                        star_n = ni;
                        pi += 1;
                        continue;
                    }
                    '?' => {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                    '[' => {
                        if let Some((matched, len)) = class(&p[pi..], n[ni]) {
                            if matched {
                                ni += 1;
                                pi += len;
                                continue;
                            }
                        } else if n[ni] == '[' {
                            ni += 1;
                            pi += 1;
                            continue;
                        }
                    }
                    c if c == n[ni] => {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            if star_p != usize::MAX {
                pi = star_p + 1;
                star_n += 1;
                ni = star_n;
                continue;
            }
            return false;
        }
        p[pi..].iter().all(|&c| c == '*')
    }
    /// A `[...]` set at the start of `p`: whether `c` is in it and the set's length.
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        let mut i = 1;
        let negate = p.get(1) == Some(&'!');
        if negate {
            i += 1;
        }
        let start = i;
        let mut hit = false;
        while i < p.len() && (p[i] != ']' || i == start) {
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                hit |= p[i] <= c && c <= p[i + 2];
                i += 3;
            } else {
                hit |= p[i] == c;
                i += 1;
            }
        }
        if i >= p.len() {
            return None;
        }
        Some((hit != negate, i + 1))
    }
    rec(&n, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_decisions() {
        let d = Decider::new(None, &[], None, &[]);
        assert!(d.is_selected("E501"));
        assert!(d.is_selected("F401"));
        assert!(!d.is_selected("E121"));
        assert!(!d.is_selected("E241"));
        assert!(!d.is_selected("W503"));
        assert!(d.is_selected("C901"));
        assert!(!d.is_selected("X100"));
    }

    #[test]
    fn explicit_lists_and_longest_prefix() {
        let d = Decider::new(None, &[], Some(&v(&["E501"])), &[]);
        assert!(!d.is_selected("E501"));
        assert!(
            d.is_selected("E121"),
            "an explicit ignore replaces the default list"
        );
        let d = Decider::new(None, &[], None, &v(&["E5"]));
        assert!(!d.is_selected("E501"));
        assert!(!d.is_selected("E121"));
        let d = Decider::new(Some(&v(&["E", "W"])), &[], Some(&v(&["E5"])), &[]);
        assert!(!d.is_selected("F401"));
        assert!(!d.is_selected("E501"));
        assert!(d.is_selected("E302"));
        let d = Decider::new(None, &v(&["E501"]), None, &v(&["E5"]));
        assert!(!d.is_selected("E502"));
    }

    #[test]
    fn ini_and_per_file_ignores() {
        let text = "[metadata]\nname = x\n[flake8]\nmax_line_length = 100\n# comment\nper-file-ignores =\n    __init__.py: F401\n    tests/*.py: E501,W291\nextend-ignore = E203, W503\n";
        let s = ini_section(text, "flake8").unwrap();
        assert_eq!(s[0], ("max-line-length".to_string(), "100".to_string()));
        let pfi = parse_per_file_ignores(&s[1].1);
        assert_eq!(
            pfi,
            vec![
                ("__init__.py".to_string(), v(&["F401"])),
                ("tests/*.py".to_string(), v(&["E501", "W291"]))
            ]
        );
        let mut cfg = BundledConfig::default();
        cfg.files
            .insert("setup.cfg".into(), text.as_bytes().to_vec());
        let c = Flake8Config::load(&cfg, Profile::ToolDefaults);
        assert_eq!(c.max_line_length, 100);
        assert!(!c.decider_for("pkg/__init__.py").is_selected("F401"));
        assert!(c.decider_for("pkg/mod.py").is_selected("F401"));
        assert!(!c.decider_for("tests/a.py").is_selected("E501"));
        assert!(!c.decider_for("a.py").is_selected("E203"));
        assert_eq!(Flake8Config::load(&cfg, Profile::Qgis).max_line_length, 120);
    }

    #[test]
    fn excludes_and_fnmatch() {
        let c = Flake8Config::default();
        assert!(c.is_excluded(".git/hooks/x.py"));
        assert!(c.is_excluded("a/__pycache__/m.py"));
        assert!(c.is_excluded("dist/foo.egg/m.py"));
        assert!(!c.is_excluded("a/b.py"));
        assert!(fnmatch("a/b/c.py", "a/*.py"));
        assert!(fnmatch("x1.py", "x[0-9].py"));
        assert!(!fnmatch("xa.py", "x[0-9].py"));
        let c = Flake8Config {
            extend_exclude: v(&["./build/", "vendor"]),
            ..Flake8Config::default()
        };
        assert!(c.is_excluded("build/x.py"));
        assert!(c.is_excluded("lib/vendor/x.py"));
    }
}
