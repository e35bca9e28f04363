//! Local settings for `vetted scan`: `[tool.vetted]` in a `pyproject.toml` or a `vetted.toml`,
//! found at the root of the scanned folder or ZIP, beside `metadata.txt`, or (for a plugin
//! folder) in the repository folder that holds it. They choose how a local run looks — output
//! format, profile, paths whose findings the text output hides — and nothing else.
//!
//! Why excludes only hide: the repository scans the whole uploaded ZIP, so a local setting that
//! changed the verdict would let pre-commit or CI pass a plugin the server then blocks. Hidden
//! findings still count toward the verdict, the exit code, the statistics and every
//! machine-readable format (JSON, SARIF, tool formats); the text output says how many it hid.
//! Rule selection (`select`, `ignore`, `skip`) is refused here for the same reason: those are
//! command-line decisions made visibly, per run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use vetted_scan::Finding;
use vetted_scan::archive::{ArchiveLimits, Input, open_zip_bytes};

/// Local config files no larger than this are read; a plugin's settings file is a few lines.
const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The keys a local config may set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Settings {
    profile: Option<String>,
    format: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

/// `pyproject.toml` holds many tools' settings; only `[tool.vetted]` is ours.
#[derive(Deserialize)]
struct PyProject {
    tool: Option<PyProjectTools>,
}

#[derive(Deserialize)]
struct PyProjectTools {
    vetted: Option<toml::Value>,
}

/// One config file that was found and read.
#[derive(Debug)]
struct ConfigFile {
    /// As shown to the user: a path, or `plugin.zip:plugin/vetted.toml` inside a ZIP.
    shown: String,
    settings: Settings,
}

/// The local settings that apply to one scanned input, merged from the files found for it.
#[derive(Debug, Default)]
pub struct LocalConfig {
    /// Highest precedence first: a `vetted.toml` before a `pyproject.toml`, the plugin folder
    /// before the repository around it.
    files: Vec<ConfigFile>,
    patterns: Vec<String>,
    excludes: GlobSet,
}

impl LocalConfig {
    /// Finds and reads the config files for `target` (a folder, a ZIP or a single file; single
    /// files have none). A malformed file is an error: silently ignoring it would scan with
    /// settings the author did not ask for.
    pub fn load(target: &Path) -> anyhow::Result<LocalConfig> {
        let mut files = Vec::new();
        if target.is_dir() {
            for dir in config_dirs(target) {
                for name in ["vetted.toml", "pyproject.toml"] {
                    let path = dir.join(name);
                    if !path.is_file() {
                        continue;
                    }
                    let text = read_small_file(&path)?;
                    if let Some(settings) = parse(name, &text, &path.display().to_string())? {
                        files.push(ConfigFile {
                            shown: path.display().to_string(),
                            settings,
                        });
                    }
                }
            }
        } else if looks_like_zip(target) {
            files = zip_config_files(target)?;
        }
        let mut patterns = Vec::new();
        let mut builder = GlobSetBuilder::new();
        for file in &files {
            for pattern in &file.settings.exclude {
                let glob = Glob::new(pattern)
                    .with_context(|| format!("{}: exclude pattern {pattern:?}", file.shown))?;
                builder.add(glob);
                patterns.push(pattern.clone());
            }
        }
        let excludes = builder.build().context("building the exclude patterns")?;
        Ok(LocalConfig {
            files,
            patterns,
            excludes,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files used, as shown to the user.
    pub fn shown_files(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.shown.as_str()).collect()
    }

    /// `format = "…"` from the first file that sets it.
    pub fn format<T: ValueEnum>(&self) -> anyhow::Result<Option<T>> {
        self.choice("format", |s| s.format.as_deref())
    }

    /// `profile = "…"` from the first file that sets it.
    pub fn profile<T: ValueEnum>(&self) -> anyhow::Result<Option<T>> {
        self.choice("profile", |s| s.profile.as_deref())
    }

    fn choice<T: ValueEnum>(
        &self,
        key: &str,
        get: impl Fn(&Settings) -> Option<&str>,
    ) -> anyhow::Result<Option<T>> {
        for file in &self.files {
            if let Some(value) = get(&file.settings) {
                return match T::from_str(value, true) {
                    Ok(v) => Ok(Some(v)),
                    Err(_) => {
                        let allowed: Vec<String> = T::value_variants()
                            .iter()
                            .filter_map(|v| v.to_possible_value())
                            .map(|p| p.get_name().to_string())
                            .collect();
                        bail!(
                            "{}: {key} = {value:?} is not one of {}",
                            file.shown,
                            allowed.join(", ")
                        )
                    }
                };
            }
        }
        Ok(None)
    }

    /// Whether the text output hides this finding. Patterns match the report path and the same
    /// path without its first folder, so `tests/**` matches `myplugin/tests/test_x.py` whether
    /// the plugin folder or the ZIP was scanned.
    pub fn hides(&self, finding: &Finding) -> bool {
        if self.patterns.is_empty() || finding.path.is_empty() {
            return false;
        }
        let path = finding.path.as_str();
        self.excludes.is_match(path)
            || path
                .split_once('/')
                .is_some_and(|(_, rest)| self.excludes.is_match(rest))
    }

    /// One line for the text output: which files were used and what their excludes hid.
    pub fn describe(&self, hidden: usize) -> Option<String> {
        if self.files.is_empty() {
            return None;
        }
        let mut line = format!("Local config: {}", self.shown_files().join(", "));
        if !self.patterns.is_empty() {
            let _ = write!(
                line,
                "; exclude {} hid {hidden} finding(s) from this output (they still count toward the verdict)",
                self.patterns.join(", ")
            );
        }
        Some(line)
    }
}

/// The plugin folder inside `target` when `target` is a folder that is not one itself but holds
/// exactly one (a repository root): scanning it whole skips the package rules the repository
/// runs, which is worth a hint.
pub fn nested_plugin_folder(target: &Path) -> Option<PathBuf> {
    if !target.is_dir() || target.join("metadata.txt").is_file() {
        return None;
    }
    let dirs = config_dirs(target);
    match dirs.as_slice() {
        [_, plugin] => Some(plugin.clone()),
        _ => None,
    }
}

/// Where config files may be, highest precedence first.
fn config_dirs(target: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if target.join("metadata.txt").is_file() {
        dirs.push(target.to_path_buf());
        // A plugin folder usually sits in its repository, where pyproject.toml lives.
        if let Some(parent) = std::fs::canonicalize(target)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
        {
            dirs.push(parent);
        }
    } else {
        dirs.push(target.to_path_buf());
        // A repository root scanned whole: the plugin folder is one level down.
        if let Ok(entries) = std::fs::read_dir(target) {
            let mut plugin_dirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("metadata.txt").is_file())
                .collect();
            plugin_dirs.sort();
            dirs.extend(plugin_dirs);
        }
    }
    dirs
}

fn read_small_file(path: &Path) -> anyhow::Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_CONFIG_BYTES {
        bail!(
            "{}: {len} bytes; a config file may be at most {MAX_CONFIG_BYTES}",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn looks_like_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Config files at the ZIP root or beside `metadata.txt` in its top folder, read through the
/// scanner's archive reader (the one reader of untrusted input) with its limits.
fn zip_config_files(zip: &Path) -> anyhow::Result<Vec<ConfigFile>> {
    let limits = ArchiveLimits {
        max_entry_size: MAX_CONFIG_BYTES,
        ..ArchiveLimits::default()
    };
    // An unreadable ZIP, or one over the size limit, has no config; the scan itself reports
    // why. A small one is read into memory at once (read from disk, the archive reader seeks
    // and reads a few times per entry); a larger one is read in place, since only its
    // directory and at most two entries are needed, not the megabytes of its other entries.
    let Ok(len) = std::fs::metadata(zip).map(|m| m.len()) else {
        return Ok(Vec::new());
    };
    if len > limits.max_compressed {
        return Ok(Vec::new());
    }
    if len > READ_WHOLE_ZIP_UP_TO {
        return match Input::open_zip(zip, limits) {
            Ok(input) => configs_in(zip, input),
            Err(_) => Ok(Vec::new()),
        };
    }
    let Some(bytes) = std::fs::read(zip).ok() else {
        return Ok(Vec::new());
    };
    match open_zip_bytes(bytes, limits, String::new()) {
        Ok(input) => configs_in(zip, input),
        Err(_) => Ok(Vec::new()),
    }
}

/// Size up to which the config lookup reads a ZIP into memory rather than in place.
const READ_WHOLE_ZIP_UP_TO: u64 = 1024 * 1024;

fn configs_in<R: std::io::Read + std::io::Seek>(
    zip: &Path,
    mut input: Input<R>,
) -> anyhow::Result<Vec<ConfigFile>> {
    let mut wanted: Vec<_> = input
        .entries()
        .iter()
        .filter(|e| {
            let parts: Vec<&str> = e.path.split('/').collect();
            matches!(
                parts.as_slice(),
                [_, "vetted.toml" | "pyproject.toml"] | ["vetted.toml" | "pyproject.toml"]
            )
        })
        .cloned()
        .collect();
    // Precedence: vetted.toml before pyproject.toml, each in path order.
    wanted.sort_by_key(|e| (!e.path.ends_with("vetted.toml"), e.path.clone()));
    let mut files = Vec::new();
    for entry in wanted {
        let shown = format!("{}:{}", zip.display(), entry.path);
        let bytes = input
            .read(&entry)
            .map_err(|f| anyhow::anyhow!("{shown}: {}", f.message))?;
        let text = String::from_utf8(bytes).with_context(|| format!("{shown}: not UTF-8"))?;
        let name = entry.path.rsplit('/').next().unwrap_or_default();
        if let Some(settings) = parse(name, &text, &shown)? {
            files.push(ConfigFile { shown, settings });
        }
    }
    Ok(files)
}

/// Parses `vetted.toml` (the whole file) or `pyproject.toml` (`[tool.vetted]`, if present).
fn parse(name: &str, text: &str, shown: &str) -> anyhow::Result<Option<Settings>> {
    let table: toml::Value = if name == "pyproject.toml" {
        // pyproject.toml belongs to other tools too: one we cannot read is not ours to refuse,
        // and a broken one must not stop a scan (it may come from a stranger's ZIP).
        let doc: PyProject = match toml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                eprintln!(
                    "vetted: ignoring {shown}: not readable TOML ({})",
                    e.message()
                );
                return Ok(None);
            }
        };
        match doc.tool.and_then(|t| t.vetted) {
            Some(v) => v,
            None => return Ok(None),
        }
    } else {
        toml::from_str(text).with_context(|| format!("parsing {shown}"))?
    };
    if let Some(t) = table.as_table() {
        for key in [
            "select",
            "ignore",
            "skip",
            "extend-select",
            "severity",
            "rules",
        ] {
            if t.contains_key(key) {
                bail!(
                    "{shown}: `{key}` cannot be set in a config file: the repository decides which rules block, so local settings may only choose format, profile and exclude (use --{key} on the command line for a one-off run)"
                );
            }
        }
    }
    let settings: Settings = table
        .try_into()
        .with_context(|| format!("parsing {shown}"))?;
    Ok(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str) -> Finding {
        Finding::new(vetted_scan::report::Check::Bandit, "B101", path, 1, 1, "x")
    }

    #[test]
    fn pyproject_without_our_table_is_not_a_config() {
        assert!(
            parse("pyproject.toml", "[tool.black]\nline-length = 99\n", "p")
                .unwrap()
                .is_none()
        );
        let s = parse(
            "pyproject.toml",
            "[tool.vetted]\nformat = \"json\"\nexclude = [\"tests/**\"]\n",
            "p",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.format.as_deref(), Some("json"));
        assert_eq!(s.exclude, vec!["tests/**"]);
    }

    #[test]
    fn a_broken_pyproject_is_ignored_but_a_broken_vetted_toml_is_an_error() {
        assert!(
            parse("pyproject.toml", "[tool\nx = ", "p")
                .unwrap()
                .is_none()
        );
        assert!(parse("vetted.toml", "format = ", "v").is_err());
        assert!(parse("pyproject.toml", "[tool.vetted]\nformat = 3\n", "p").is_err());
    }

    #[test]
    fn rule_selection_and_unknown_keys_are_refused() {
        let err = parse("vetted.toml", "ignore = [\"B602\"]\n", "vetted.toml").unwrap_err();
        assert!(format!("{err:#}").contains("cannot be set"), "{err:#}");
        assert!(parse("vetted.toml", "colour = true\n", "vetted.toml").is_err());
    }

    /// A plugin ZIP holding `vetted.toml` and `filler` bytes of incompressible data.
    fn plugin_zip(dir: &Path, filler: usize) -> std::path::PathBuf {
        use std::io::Write;
        let path = dir.join(format!("plugin-{filler}.zip"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("myplugin/icon.png", stored).unwrap();
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..filler)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        zip.write_all(&noise).unwrap();
        zip.start_file("myplugin/vetted.toml", stored).unwrap();
        zip.write_all(b"exclude = [\"tests/**\"]\nformat = \"json\"\n")
            .unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn a_zip_config_is_found_whether_the_zip_is_read_whole_or_in_place() {
        let dir = tempfile::tempdir().unwrap();
        for filler in [10, READ_WHOLE_ZIP_UP_TO as usize + 10] {
            let zip = plugin_zip(dir.path(), filler);
            let big = std::fs::metadata(&zip).unwrap().len() > READ_WHOLE_ZIP_UP_TO;
            assert_eq!(big, filler > 10, "the two ZIPs take the two paths");
            let config = LocalConfig::load(&zip).unwrap();
            let shown = format!("{}:myplugin/vetted.toml", zip.display());
            assert_eq!(config.shown_files(), vec![shown.as_str()]);
            assert!(config.hides(&finding("myplugin/tests/test_a.py")));
            assert!(!config.hides(&finding("myplugin/plugin.py")));
        }
    }

    #[test]
    fn excludes_match_with_and_without_the_plugin_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vetted.toml"),
            "exclude = [\"tests/**\"]\nprofile = \"tool-defaults\"\n",
        )
        .unwrap();
        let config = LocalConfig::load(dir.path()).unwrap();
        assert!(config.hides(&finding("myplugin/tests/test_a.py")));
        assert!(config.hides(&finding("tests/test_a.py")));
        assert!(!config.hides(&finding("myplugin/plugin.py")));
        assert!(
            !config.hides(&finding("")),
            "package findings are never hidden"
        );
        let line = config.describe(2).unwrap();
        assert!(
            line.contains("vetted.toml") && line.contains("still count"),
            "{line}"
        );
    }
}
