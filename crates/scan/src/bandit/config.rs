//! Bandit config bundled with the plugin: `.bandit` (INI, `[bandit]`) and `[tool.bandit]` in
//! `pyproject.toml`: tests to skip or to run exclusively, directories to exclude, and
//! `assert_used.skips` file patterns.

use crate::family::BundledConfig;

#[derive(Debug, Default, Clone)]
pub struct BanditConfig {
    pub skips: Vec<String>,
    pub tests: Vec<String>,
    pub exclude_dirs: Vec<String>,
    pub assert_skips: Vec<String>,
    /// Config files that were read and had Bandit settings.
    pub used: Vec<String>,
}

impl BanditConfig {
    /// Whether Bandit would run this test under the config.
    pub fn runs(&self, test_id: &str) -> bool {
        if !self.tests.is_empty() && !self.tests.iter().any(|t| t == test_id) {
            return false;
        }
        !self.skips.iter().any(|s| s == test_id)
    }

    pub fn is_empty(&self) -> bool {
        self.skips.is_empty()
            && self.tests.is_empty()
            && self.exclude_dirs.is_empty()
            && self.assert_skips.is_empty()
    }

    /// Bandit's path exclusion: a glob match or a plain substring of the path.
    pub fn excludes(&self, path: &str) -> bool {
        self.exclude_dirs
            .iter()
            .any(|p| !p.is_empty() && (path.contains(p.as_str()) || glob_match(p, path)))
    }
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Reads `.bandit` then (when `with_pyproject`) `pyproject.toml`; later files add to earlier
/// ones. Bandit itself reads a `.bandit` found under its target on its own, but reads
/// `pyproject.toml` only when told to (`-c pyproject.toml`).
pub fn load(config: &BundledConfig, with_pyproject: bool) -> Result<BanditConfig, String> {
    let mut out = BanditConfig::default();
    if let Some(text) = config.text(".bandit") {
        let mut in_section = false;
        let mut found = false;
        let mut last_key: Option<String> = None;
        for raw in text.lines() {
            let line = raw.trim_end();
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if trimmed.starts_with('[') && trimmed.ends_with(']') {
                in_section = &trimmed[1..trimmed.len() - 1] == "bandit";
                found |= in_section;
                last_key = None;
                continue;
            }
            if !in_section {
                continue;
            }
            // Continuation lines of a multi-line value are indented.
            if raw.starts_with([' ', '\t']) {
                if let Some(k) = &last_key {
                    apply_ini(&mut out, k, trimmed);
                }
                continue;
            }
            if let Some((k, v)) = trimmed.split_once(['=', ':']) {
                let key = k.trim().to_ascii_lowercase();
                apply_ini(&mut out, &key, v.trim());
                last_key = Some(key);
            }
        }
        if found {
            out.used.push(config.path_of(".bandit"));
        }
    }
    if let Some(text) = config.text("pyproject.toml").filter(|_| with_pyproject)
        && (text.contains("tool.bandit") || text.contains("[tool]"))
    {
        {
            let doc: toml::Table =
                toml::from_str(text).map_err(|e| format!("pyproject.toml: {e}"))?;
            if let Some(b) = doc
                .get("tool")
                .and_then(|t| t.get("bandit"))
                .and_then(|b| b.as_table())
            {
                let list = |key: &str| -> Vec<String> {
                    match b.get(key) {
                        Some(toml::Value::Array(a)) => a
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        Some(toml::Value::String(s)) => split_list(s),
                        _ => Vec::new(),
                    }
                };
                out.skips.extend(list("skips"));
                out.tests.extend(list("tests"));
                out.exclude_dirs.extend(list("exclude_dirs"));
                if let Some(toml::Value::Array(a)) =
                    b.get("assert_used").and_then(|t| t.get("skips"))
                {
                    out.assert_skips
                        .extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
                }
                out.used.push(config.path_of("pyproject.toml"));
            }
        }
    }
    Ok(out)
}

fn apply_ini(out: &mut BanditConfig, key: &str, value: &str) {
    let values = split_list(value);
    match key {
        "skips" => out.skips.extend(values),
        "tests" => out.tests.extend(values),
        "exclude_dirs" | "exclude" => out.exclude_dirs.extend(values),
        _ => {}
    }
}

/// `fnmatch` with `*` and `?` (and `[...]` taken literally), over the whole path.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ini_and_pyproject() {
        let mut cfg = BundledConfig::default();
        cfg.files.insert(
            ".bandit".into(),
            b"[bandit]\nskips = B101,B311\nexclude_dirs = tests\n".to_vec(),
        );
        cfg.files.insert("pyproject.toml".into(), b"[tool.bandit]\nskips = [\"B404\"]\n[tool.bandit.assert_used]\nskips = [\"*_test.py\"]\n".to_vec());
        let c = load(&cfg, true).unwrap_or_default();
        assert_eq!(c.skips, vec!["B101", "B311", "B404"]);
        assert!(!c.runs("B311") && c.runs("B602"));
        assert!(c.excludes("plugin/tests/x.py"));
        assert_eq!(c.assert_skips, vec!["*_test.py"]);
        assert_eq!(c.used.len(), 2);
        assert_eq!(
            load(&cfg, false).unwrap_or_default().skips,
            vec!["B101", "B311"]
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("*_test.py", "a/b_test.py"));
        assert!(!glob_match("*_test.py", "a/b.py"));
    }
}
