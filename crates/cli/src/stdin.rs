//! `vetted scan - --stdin-filename path/to/file.py`: scans one file's source read from standard
//! input, for editors, LSP bridges and flake8-style wrappers that hold an unsaved buffer. The
//! bytes go to a private temporary file with the same name (families look at the name, e.g. to
//! know it is Python), that file is scanned, and the report's paths are rewritten to the name
//! the caller gave.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vetted_scan::Report;

/// Read at most this much from standard input: the scanner's own per-file limit is lower, and
/// reading without a bound would let a runaway pipe fill memory first.
const MAX_STDIN_BYTES: u64 = 256 * 1024 * 1024;

/// A buffer read from standard input and written where the scanner can read it.
pub struct StdinSource {
    /// Removed when dropped.
    _dir: tempfile::TempDir,
    file: PathBuf,
    /// The name to report, `/`-separated, as the caller gave it.
    shown: String,
}

impl StdinSource {
    /// Replaces a lone `-` in `paths` by a temporary copy of standard input. Returns `None`
    /// when `-` is not used; `-` mixed with other inputs is a usage error.
    pub fn take(
        paths: &mut [PathBuf],
        stdin_filename: Option<&Path>,
    ) -> anyhow::Result<Option<StdinSource>> {
        let dash = paths.iter().filter(|p| p.as_os_str() == "-").count();
        if dash == 0 {
            if stdin_filename.is_some() {
                bail!("--stdin-filename needs `-` as the input to scan");
            }
            return Ok(None);
        }
        if paths.len() > 1 {
            bail!("`-` (standard input) cannot be combined with other inputs");
        }
        let shown = stdin_filename
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|| "stdin.py".to_string());
        let name = Path::new(&shown)
            .file_name()
            .map(|n| n.to_os_string())
            .filter(|n| !n.is_empty())
            .context("--stdin-filename must end with a file name")?;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        if bytes.len() as u64 > MAX_STDIN_BYTES {
            bail!("standard input is larger than {MAX_STDIN_BYTES} bytes");
        }
        let dir = tempfile::Builder::new()
            .prefix("vetted-stdin-")
            .tempdir()
            .context("creating a temporary folder for standard input")?;
        let file = dir.path().join(name);
        std::fs::write(&file, &bytes)
            .with_context(|| format!("writing standard input to {}", file.display()))?;
        paths[0] = file.clone();
        Ok(Some(StdinSource {
            _dir: dir,
            file,
            shown,
        }))
    }

    /// Puts the caller's file name wherever the report shows the temporary file.
    pub fn rewrite(&self, report: &mut Report) {
        let temp_name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        report.target.path = self.shown.clone();
        for f in report
            .findings
            .iter_mut()
            .chain(report.suppressed.iter_mut())
        {
            if f.path == temp_name {
                f.path = self.shown.clone();
            }
        }
        for e in &mut report.errors {
            if e.path == temp_name {
                e.path = self.shown.clone();
            }
        }
    }
}
