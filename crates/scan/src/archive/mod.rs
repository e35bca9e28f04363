//! Reading a plugin without trusting it: ZIP archives are read entry by entry in memory (never
//! extracted), folders are walked without following links, and every limit (sizes, counts,
//! compression ratio, names) is enforced here so that no check family has to.

mod names;
pub(crate) mod pages;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::report::{Check, Finding, Severity};

/// Limits applied to every archive and folder. Defaults follow plugins.qgis.org where it has one.
#[derive(Debug, Clone)]
pub struct ArchiveLimits {
    /// Size of the ZIP file itself (plugins.qgis.org: 25 MB).
    pub max_compressed: u64,
    /// Sum of the uncompressed sizes of all entries.
    pub max_total_uncompressed: u64,
    /// Uncompressed size of any one entry.
    pub max_entry_size: u64,
    pub max_entries: usize,
    /// Uncompressed / compressed size above which an entry is treated as a bomb…
    pub max_ratio: u64,
    /// …once it inflates to more than this many bytes (small text files compress very well).
    pub ratio_min_size: u64,
    pub max_name_len: usize,
    pub max_path_depth: usize,
    /// How many archives deep nested archives are opened.
    pub max_nesting: u32,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_compressed: 25 * 1024 * 1024,
            max_total_uncompressed: 256 * 1024 * 1024,
            max_entry_size: 64 * 1024 * 1024,
            max_entries: 20_000,
            max_ratio: 100,
            ratio_min_size: 1024 * 1024,
            max_name_len: 1024,
            max_path_depth: 48,
            max_nesting: 3,
        }
    }
}

/// Codes of the archive rules (family `package`).
pub mod rules {
    pub const CORRUPT: &str = "ARCHIVE_CORRUPT";
    pub const TOO_LARGE: &str = "ARCHIVE_TOO_LARGE";
    pub const TOO_MANY_ENTRIES: &str = "ARCHIVE_TOO_MANY_ENTRIES";
    pub const BOMB: &str = "ARCHIVE_BOMB";
    pub const UNSAFE_PATH: &str = "ARCHIVE_UNSAFE_PATH";
    pub const LINK: &str = "ARCHIVE_LINK";
    pub const SPECIAL_FILE: &str = "ARCHIVE_SPECIAL_FILE";
    pub const DUPLICATE: &str = "ARCHIVE_DUPLICATE";
    pub const NAME_COLLISION: &str = "ARCHIVE_NAME_COLLISION";
    pub const NAME_ENCODING: &str = "ARCHIVE_NAME_ENCODING";
    pub const ENCRYPTED: &str = "ARCHIVE_ENCRYPTED";
    pub const UNSUPPORTED_METHOD: &str = "ARCHIVE_UNSUPPORTED_METHOD";
    pub const BAD_ENTRY: &str = "ARCHIVE_BAD_ENTRY";
}

/// One file of the input, as the checks see it.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// `/`-separated path inside the archive or folder.
    pub path: String,
    pub size: u64,
    pub compressed_size: u64,
    /// Unix permission bits when the archive records them.
    pub unix_mode: Option<u32>,
    index: usize,
}

impl EntryInfo {
    pub fn is_executable(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & 0o111 != 0)
    }
}

/// A problem with the whole input that stops the scan; it makes the package invalid.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ArchiveError {
    pub rule: &'static str,
    pub message: String,
}

impl ArchiveError {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        ArchiveError {
            rule,
            message: message.into(),
        }
    }

    pub fn into_finding(self, path: &str) -> Finding {
        let mut f = Finding::new(Check::Package, self.rule, path, 0, 0, self.message);
        f.severity = Severity::Critical;
        f
    }
}

fn entry_problem(rule: &'static str, path: &str, message: String) -> Finding {
    let mut f = Finding::new(Check::Package, rule, path, 0, 0, message);
    f.severity = Severity::Critical;
    f
}

enum Backend<R> {
    Zip(Box<zip::ZipArchive<R>>),
    Dir(PathBuf),
}

/// A readable input: a ZIP archive (from a file or from memory) or a folder.
pub struct Input<R> {
    backend: Backend<R>,
    entries: Vec<EntryInfo>,
    /// Problems found while listing; entries they concern are left out of `entries`.
    pub problems: Vec<Finding>,
    limits: ArchiveLimits,
    read_total: u64,
    /// Prefix for paths in findings, e.g. `plugin/libs/x.zip!/` for a nested archive.
    prefix: String,
    /// The whole archive, when it is held in memory: a large deflated entry is then inflated
    /// from its bytes in place instead of from a copy ([`inflate_whole`]).
    held: Option<SharedBytes>,
}

pub type FileInput = Input<fs::File>;

impl<R> Input<R> {
    /// The readable files, in archive order (folders sorted by path).
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    pub fn limits(&self) -> &ArchiveLimits {
        &self.limits
    }

    pub fn display_path(&self, entry: &EntryInfo) -> String {
        format!("{}{}", self.prefix, entry.path)
    }
}

impl Input<fs::File> {
    /// Opens a ZIP file.
    pub fn open_zip(path: &Path, limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let file = fs::File::open(path).map_err(|e| {
            ArchiveError::new(
                rules::CORRUPT,
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        let len = file
            .metadata()
            .map_err(|e| {
                ArchiveError::new(
                    rules::CORRUPT,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?
            .len();
        Input::from_zip_reader(file, len, limits, String::new())
    }

    /// Lists a folder without following symbolic links.
    pub fn open_dir(root: &Path, limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut total = 0u64;
        walk(root, root, &limits, &mut entries, &mut problems, &mut total)?;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        for (i, e) in entries.iter_mut().enumerate() {
            e.index = i;
        }
        Ok(Input {
            backend: Backend::Dir(root.to_path_buf()),
            entries,
            problems,
            limits,
            read_total: 0,
            prefix: String::new(),
            held: None,
        })
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    limits: &ArchiveLimits,
    entries: &mut Vec<EntryInfo>,
    problems: &mut Vec<Finding>,
    total: &mut u64,
) -> Result<(), ArchiveError> {
    let read = fs::read_dir(dir).map_err(|e| {
        ArchiveError::new(
            rules::CORRUPT,
            format!("cannot list {}: {e}", dir.display()),
        )
    })?;
    let mut children: Vec<_> = read.filter_map(Result::ok).collect();
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let path = child.path();
        let rel = match path.strip_prefix(root).ok().and_then(|p| p.to_str()) {
            Some(r) => r.replace(std::path::MAIN_SEPARATOR, "/"),
            None => {
                problems.push(entry_problem(
                    rules::NAME_ENCODING,
                    &path.to_string_lossy(),
                    format!("{}: file name is not valid UTF-8", path.to_string_lossy()),
                ));
                continue;
            }
        };
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| ArchiveError::new(rules::CORRUPT, format!("cannot read {rel}: {e}")))?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            problems.push(entry_problem(
                rules::LINK,
                &rel,
                format!("{rel}: is a symbolic link; plugins may only contain regular files"),
            ));
        } else if ft.is_dir() {
            // Version-control metadata never goes into a plugin ZIP.
            if child.file_name() == ".git" {
                continue;
            }
            walk(root, &path, limits, entries, problems, total)?;
        } else if ft.is_file() {
            if entries.len() >= limits.max_entries {
                return Err(ArchiveError::new(
                    rules::TOO_MANY_ENTRIES,
                    format!("more than {} files", limits.max_entries),
                ));
            }
            *total += meta.len();
            if *total > limits.max_total_uncompressed {
                return Err(ArchiveError::new(
                    rules::TOO_LARGE,
                    format!(
                        "files add up to more than {} bytes",
                        limits.max_total_uncompressed
                    ),
                ));
            }
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                Some(meta.permissions().mode() & 0o7777)
            };
            #[cfg(not(unix))]
            let mode = None;
            entries.push(EntryInfo {
                path: rel,
                size: meta.len(),
                compressed_size: meta.len(),
                unix_mode: mode,
                index: 0,
            });
        } else {
            problems.push(entry_problem(
                rules::SPECIAL_FILE,
                &rel,
                format!("{rel}: is a device, socket or pipe, not a regular file"),
            ));
        }
    }
    Ok(())
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

impl<R: Read + Seek> Input<R> {
    /// Opens a ZIP archive from any seekable reader of `len` bytes; `prefix` is prepended to
    /// entry paths in findings (used for nested archives).
    pub fn from_zip_reader(
        mut reader: R,
        len: u64,
        limits: ArchiveLimits,
        prefix: String,
    ) -> Result<Self, ArchiveError> {
        if len > limits.max_compressed {
            return Err(ArchiveError::new(
                rules::TOO_LARGE,
                format!(
                    "archive is {len} bytes; the limit is {} bytes",
                    limits.max_compressed
                ),
            ));
        }
        if len < 22 {
            return Err(ArchiveError::new(
                rules::CORRUPT,
                "not a ZIP archive: file is too short (truncated or empty)",
            ));
        }
        let mut magic = [0u8; 4];
        let _ = reader
            .seek(SeekFrom::Start(0))
            .and_then(|_| reader.read_exact(&mut magic));
        if &magic != b"PK\x03\x04" && &magic != b"PK\x05\x06" {
            return Err(ArchiveError::new(
                rules::CORRUPT,
                "not a ZIP archive: it does not start with a ZIP header",
            ));
        }
        let _ = reader.seek(SeekFrom::Start(0));
        let unreadable = |e: zip::result::ZipError| {
            ArchiveError::new(
                rules::CORRUPT,
                format!("not a readable ZIP archive (truncated or damaged): {e}"),
            )
        };
        // The zip crate keeps one entry per name; walk the central directory ourselves first to
        // see every raw name and its UTF-8 flag, then reopen.
        let zip = zip::ZipArchive::new(reader).map_err(unreadable)?;
        let cd_start = zip.central_directory_start();
        let mut reader = zip.into_inner();
        let raw = names::central_directory_names(&mut reader, cd_start, limits.max_entries + 1);
        let _ = reader.seek(SeekFrom::Start(0));
        let mut zip = zip::ZipArchive::new(reader).map_err(unreadable)?;
        if zip.len() > limits.max_entries {
            return Err(ArchiveError::new(
                rules::TOO_MANY_ENTRIES,
                format!(
                    "archive has {} entries; the limit is {}",
                    zip.len(),
                    limits.max_entries
                ),
            ));
        }
        let mut problems = Vec::new();
        let utf8_flags: HashMap<&[u8], bool> = raw
            .iter()
            .map(|r| (r.name.as_slice(), r.utf8_flag))
            .collect();
        // Local headers that contradict the central directory, by raw name.
        let local_mismatch: HashMap<&[u8], &[&'static str]> = raw
            .iter()
            .filter(|r| !r.local_mismatch.is_empty())
            .map(|r| (r.name.as_slice(), r.local_mismatch.as_slice()))
            .collect();
        if zip.has_duplicate_names() {
            let mut seen: HashMap<&[u8], usize> = HashMap::new();
            for r in &raw {
                *seen.entry(&r.name).or_default() += 1;
            }
            let mut dups: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
            dups.sort();
            if dups.is_empty() {
                problems.push(entry_problem(
                    rules::DUPLICATE,
                    "",
                    "archive contains the same entry name more than once".into(),
                ));
            }
            for (name, n) in dups {
                let name = String::from_utf8_lossy(name);
                problems.push(entry_problem(
                    rules::DUPLICATE,
                    &format!("{prefix}{name}"),
                    format!("{name}: appears {n} times in the archive; which copy is extracted depends on the tool"),
                ));
            }
        }
        if matches!(zip.has_overlapping_entries(), Ok(true)) {
            problems.push(entry_problem(
                rules::BOMB,
                "",
                "entries share compressed data (overlapping entries, a zip bomb technique)".into(),
            ));
        }
        let mut entries = Vec::new();
        let mut folded: HashMap<String, String> = HashMap::new();
        let mut declared_total: u64 = 0;
        for i in 0..zip.len() {
            let file = match zip.by_index_raw(i) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(entry_problem(
                        rules::BAD_ENTRY,
                        "",
                        format!("entry #{i}: unreadable header: {e}"),
                    ));
                    continue;
                }
            };
            let raw_name = file.name_raw().to_vec();
            let utf8_flag = utf8_flags.get(raw_name.as_slice()).copied();
            let name = match std::str::from_utf8(&raw_name) {
                Ok(n) => n.to_string(),
                Err(_) => {
                    let lossy = String::from_utf8_lossy(&raw_name).into_owned();
                    problems.push(entry_problem(
                        rules::NAME_ENCODING,
                        &format!("{prefix}{lossy}"),
                        format!("{lossy}: entry name is not valid UTF-8; QGIS would extract it under a garbled name"),
                    ));
                    continue;
                }
            };
            if utf8_flag == Some(false) && !name.is_ascii() {
                problems.push(entry_problem(
                    rules::NAME_ENCODING,
                    &format!("{prefix}{name}"),
                    format!("{name}: non-ASCII entry name without the ZIP UTF-8 flag; Python's zipfile reads it as CP437 and extracts a different name"),
                ));
                continue;
            }
            let display = format!("{prefix}{name}");
            if let Some(fields) = local_mismatch.get(raw_name.as_slice()) {
                problems.push(entry_problem(
                    rules::BAD_ENTRY,
                    &display,
                    format!(
                        "{name}: the local header disagrees with the central directory ({}); tools that read one or the other would extract different files",
                        fields.join(", ")
                    ),
                ));
                continue;
            }
            if let Some(reason) = unsafe_path_reason(&name, &limits) {
                problems.push(entry_problem(
                    rules::UNSAFE_PATH,
                    &display,
                    format!("{name}: {reason}"),
                ));
                continue;
            }
            let mode = file.unix_mode();
            let file_type = mode.map(|m| m & S_IFMT).filter(|t| *t != 0);
            if file_type == Some(S_IFLNK) || file.is_symlink() {
                problems.push(entry_problem(
                    rules::LINK,
                    &display,
                    format!("{name}: is a symbolic link; plugins may only contain regular files"),
                ));
                continue;
            }
            if let Some(t) = file_type.filter(|t| *t != S_IFREG && *t != S_IFDIR) {
                problems.push(entry_problem(
                    rules::SPECIAL_FILE,
                    &display,
                    format!("{name}: is a special file (type {t:o}), not a regular file"),
                ));
                continue;
            }
            if file.is_dir() || name.ends_with('/') {
                continue;
            }
            let key = fold_name(&name);
            if let Some(other) = folded.get(&key) {
                if other != &name {
                    problems.push(entry_problem(
                        rules::NAME_COLLISION,
                        &display,
                        format!("{name}: collides with {other} on case-insensitive or Unicode-normalising file systems"),
                    ));
                    continue;
                }
            } else {
                folded.insert(key, name.clone());
            }
            if file.encrypted() {
                problems.push(entry_problem(
                    rules::ENCRYPTED,
                    &display,
                    format!("{name}: is encrypted; an encrypted entry cannot be vetted"),
                ));
                continue;
            }
            let method = file.compression();
            if !matches!(
                method,
                zip::CompressionMethod::Stored
                    | zip::CompressionMethod::Deflated
                    | zip::CompressionMethod::Bzip2
                    | zip::CompressionMethod::Lzma
            ) {
                problems.push(entry_problem(
                    rules::UNSUPPORTED_METHOD,
                    &display,
                    format!(
                        "{name}: uses compression method {method:?}, which QGIS cannot extract"
                    ),
                ));
                continue;
            }
            let size = file.size();
            let compressed = file.compressed_size();
            if size > limits.max_entry_size {
                problems.push(entry_problem(
                    rules::TOO_LARGE,
                    &display,
                    format!(
                        "{name}: inflates to {size} bytes; the limit per file is {} bytes",
                        limits.max_entry_size
                    ),
                ));
                continue;
            }
            if is_bomb_ratio(size, compressed, &limits) {
                problems.push(entry_problem(
                    rules::BOMB,
                    &display,
                    format!(
                        "{name}: compression ratio {}:1 exceeds {}:1 (zip bomb)",
                        size / compressed.max(1),
                        limits.max_ratio
                    ),
                ));
                continue;
            }
            declared_total = declared_total.saturating_add(size);
            if declared_total > limits.max_total_uncompressed {
                return Err(ArchiveError::new(
                    rules::TOO_LARGE,
                    format!(
                        "entries inflate to more than {} bytes in total",
                        limits.max_total_uncompressed
                    ),
                ));
            }
            entries.push(EntryInfo {
                path: name,
                size,
                compressed_size: compressed,
                unix_mode: mode.map(|m| m & 0o7777),
                index: i,
            });
        }
        Ok(Input {
            backend: Backend::Zip(Box::new(zip)),
            entries,
            problems,
            limits,
            read_total: 0,
            prefix,
            held: None,
        })
    }

    /// Reads one entry fully into memory, enforcing the size, ratio and total limits on the bytes
    /// actually inflated (declared sizes can lie) and the CRC.
    pub fn read(&mut self, entry: &EntryInfo) -> Result<Vec<u8>, Box<Finding>> {
        let limit = self.entry_limit(self.read_total);
        let bytes = self.read_within(entry, limit)?;
        self.read_total += bytes.len() as u64;
        Ok(bytes)
    }

    /// The most an entry may inflate to once `read_before` bytes of the archive were read: the
    /// limit per entry, or what is left of the total, whichever is smaller.
    pub fn entry_limit(&self, read_before: u64) -> u64 {
        self.limits.max_entry_size.min(
            self.limits
                .max_total_uncompressed
                .saturating_sub(read_before),
        )
    }

    /// Bytes read so far by [`Input::read`] (what the total limit is counted against).
    pub fn read_total(&self) -> u64 {
        self.read_total
    }

    /// Reads one entry as [`Input::read`] does when `limit` is what is left of the budget, but
    /// leaves the running total alone: a reader that reads entries out of order (on several
    /// threads) replays the total afterwards, in archive order.
    pub fn read_within(&mut self, entry: &EntryInfo, limit: u64) -> Result<Vec<u8>, Box<Finding>> {
        let display = format!("{}{}", self.prefix, entry.path);
        let whole = match &mut self.backend {
            Backend::Zip(zip) => {
                inflate_whole(zip, entry, limit, self.held.as_ref().map(AsRef::as_ref))
            }
            Backend::Dir(_) => None,
        };
        let inflated = whole.is_some();
        let mut buf = whole.unwrap_or_default();
        let result = if inflated {
            Ok(())
        } else {
            // Only the streaming read needs room made beforehand.
            buf.reserve(entry.size.min(limit) as usize);
            match &mut self.backend {
                Backend::Zip(zip) => match zip.by_index(entry.index) {
                    Ok(f) => f.take(limit + 1).read_to_end(&mut buf).map(|_| ()),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                },
                Backend::Dir(root) => fs::File::open(root.join(&entry.path))
                    .and_then(|f| f.take(limit + 1).read_to_end(&mut buf).map(|_| ())),
            }
        };
        if let Err(e) = result {
            let msg = e.to_string();
            let what =
                if msg.to_lowercase().contains("checksum") || msg.to_lowercase().contains("crc") {
                    "CRC check failed: the data is damaged or was altered".to_string()
                } else {
                    format!("cannot be read: {msg}")
                };
            return Err(Box::new(entry_problem(
                rules::BAD_ENTRY,
                &display,
                format!("{}: {what}", entry.path),
            )));
        }
        let got = buf.len() as u64;
        if got > limit {
            return Err(Box::new(entry_problem(
                rules::TOO_LARGE,
                &display,
                format!(
                    "{}: inflates past the size limit ({} bytes left of the archive's budget)",
                    entry.path, limit
                ),
            )));
        }
        if matches!(self.backend, Backend::Zip(_))
            && is_bomb_ratio(got, entry.compressed_size, &self.limits)
        {
            return Err(Box::new(entry_problem(
                rules::BOMB,
                &display,
                format!(
                    "{}: compression ratio {}:1 exceeds {}:1 (zip bomb)",
                    entry.path,
                    got / entry.compressed_size.max(1),
                    self.limits.max_ratio
                ),
            )));
        }
        Ok(buf)
    }
}

/// Bytes held once and read by several threads: an archive in memory that each analysis thread
/// reads its own entries from.
#[derive(Clone)]
pub struct SharedBytes(pub std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A reader of which another thread can get its own copy, reading the same bytes.
pub trait Fork: Sized + Send {
    /// A second reader of `input`'s archive (no entries listed: the first reader lists them),
    /// or `None` when this kind of input is read by one thread only.
    fn fork(input: &Input<Self>) -> Option<Input<Self>>;
}

impl Fork for fs::File {
    fn fork(_: &Input<Self>) -> Option<Input<Self>> {
        None
    }
}

impl Fork for std::io::Cursor<SharedBytes> {
    fn fork(input: &Input<Self>) -> Option<Input<Self>> {
        match &input.backend {
            Backend::Zip(zip) => Some(Input {
                backend: Backend::Zip(zip.clone()),
                entries: Vec::new(),
                problems: Vec::new(),
                limits: input.limits.clone(),
                read_total: input.read_total,
                prefix: input.prefix.clone(),
                held: input.held.clone(),
            }),
            Backend::Dir(_) => None,
        }
    }
}

/// Entries at least this large are inflated in one call ([`inflate_whole`]).
const INFLATE_WHOLE_FROM: u64 = 64 * 1024;

/// A deflated entry inflated in one call by libdeflate (about twice as fast as inflating it as a
/// stream), kept only when it is exactly what the streaming reader would give: the declared size,
/// within `limit`, with the declared CRC. Anything else (a damaged stream, a size that lies, a
/// wrong CRC) is `None` and left to the streaming reader, so its error is the one reported.
///
/// `held`: the whole archive, when it is in memory. The compressed bytes are then read where they
/// are (from the entry's data start, as many as it declares) instead of copied out first; a
/// range the archive does not hold is `None`, and the streaming reader decides.
fn inflate_whole<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    entry: &EntryInfo,
    limit: u64,
    held: Option<&[u8]>,
) -> Option<Vec<u8>> {
    if entry.size > limit || entry.size < INFLATE_WHOLE_FROM {
        return None;
    }
    let raw_entry = zip.by_index_raw(entry.index).ok()?;
    if raw_entry.compression() != zip::CompressionMethod::Deflated {
        return None;
    }
    let crc = raw_entry.crc32();
    let copied;
    let raw: &[u8] = match (held, raw_entry.data_start()) {
        (Some(held), Some(start)) => {
            let start = usize::try_from(start).ok()?;
            let len = usize::try_from(raw_entry.compressed_size().min(limit)).ok()?;
            held.get(start..start.checked_add(len)?)?
        }
        _ => {
            // The raw reader stops at the declared compressed size; the archive holds at most
            // that many.
            let mut raw = Vec::with_capacity(entry.compressed_size.min(limit) as usize);
            raw_entry.take(limit).read_to_end(&mut raw).ok()?;
            copied = raw;
            &copied
        }
    };
    let mut out = pages::zeroed(usize::try_from(entry.size).ok()?);
    let got = libdeflater::Decompressor::new()
        .deflate_decompress(raw, &mut out)
        .ok()?;
    (got == out.len() && libdeflater::crc32(&out) == crc).then_some(out)
}

fn is_bomb_ratio(size: u64, compressed: u64, limits: &ArchiveLimits) -> bool {
    size > limits.ratio_min_size && size / compressed.max(1) > limits.max_ratio
}

/// Case-folded, NFC-normalised form of a path, for collision checks.
fn fold_name(name: &str) -> String {
    if name.is_ascii() {
        // ASCII is its own NFC form, and lowercases to ASCII.
        return name.to_ascii_lowercase();
    }
    name.nfc().flat_map(char::to_lowercase).collect()
}

/// Why a name is unsafe to extract, if it is.
fn unsafe_path_reason(name: &str, limits: &ArchiveLimits) -> Option<String> {
    if name.is_empty() {
        return Some("empty entry name".into());
    }
    if name.len() > limits.max_name_len {
        return Some(format!(
            "name is {} bytes long; the limit is {}",
            name.len(),
            limits.max_name_len
        ));
    }
    if name.contains('\0') {
        return Some("name contains a NUL byte".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Some("name contains control characters".into());
    }
    if name.contains('\\') {
        return Some("name contains a backslash; on Windows it is a path separator and can escape the plugin folder".into());
    }
    if name.starts_with('/') {
        return Some("absolute path".into());
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Some("path starts with a drive letter".into());
    }
    let parts: Vec<&str> = name.trim_end_matches('/').split('/').collect();
    if parts.contains(&"..") {
        return Some("path contains '..' and could be written outside the plugin folder".into());
    }
    if parts.iter().any(|p| p.contains(':')) {
        return Some("name contains ':' (a drive or alternate data stream on Windows)".into());
    }
    if parts.len() > limits.max_path_depth {
        return Some(format!(
            "path is {} folders deep; the limit is {}",
            parts.len(),
            limits.max_path_depth
        ));
    }
    None
}

/// Reads a ZIP held in memory that several threads may read entries of at once.
pub fn open_zip_shared(
    bytes: SharedBytes,
    limits: ArchiveLimits,
) -> Result<Input<std::io::Cursor<SharedBytes>>, ArchiveError> {
    let len = bytes.0.len() as u64;
    let held = bytes.clone();
    let mut input =
        Input::from_zip_reader(std::io::Cursor::new(bytes), len, limits, String::new())?;
    input.held = Some(held);
    Ok(input)
}

/// Reads a ZIP held in memory (nested archives).
pub fn open_zip_bytes(
    bytes: Vec<u8>,
    limits: ArchiveLimits,
    prefix: String,
) -> Result<Input<std::io::Cursor<Vec<u8>>>, ArchiveError> {
    let len = bytes.len() as u64;
    Input::from_zip_reader(std::io::Cursor::new(bytes), len, limits, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ZIP holding one deflated entry of `data`.
    fn deflated_zip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("p/data.py", options).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap().into_inner()
    }

    /// Applies `patch` to the bytes at `offset` from each header (local `PK\3\4`, central
    /// `PK\1\2`) of the archive: the CRC is at 14/16, the sizes at 18/20 and 22/24.
    fn patch_headers(zip: &mut [u8], local: usize, central: usize, patch: impl Fn(&mut [u8])) {
        for (sig, at) in [(b"PK\x03\x04", local), (b"PK\x01\x02", central)] {
            let start = zip.windows(4).position(|w| w == sig).unwrap();
            patch(&mut zip[start + at..start + at + 4]);
        }
    }

    fn add_u32(field: &mut [u8], delta: i64) {
        let v = u32::from_le_bytes(field[..4].try_into().unwrap()) as i64 + delta;
        field.copy_from_slice(&(v as u32).to_le_bytes());
    }

    /// What the streaming reader alone makes of the archive's one entry.
    fn streamed(zip: &[u8]) -> Result<Vec<u8>, String> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
        let mut out = Vec::new();
        let entry = archive.by_index(0).map_err(|e| e.to_string())?;
        entry
            .take(1 << 30)
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn inflating_whole_gives_what_streaming_gives_or_steps_aside() {
        let mut x: u32 = 7;
        let data: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b"abcdefgh ij\n="[(x % 13) as usize]
            })
            .collect();
        let valid = deflated_zip(&data);
        let mut bad_crc = valid.clone();
        patch_headers(&mut bad_crc, 14, 16, |f| f[0] ^= 1);
        let mut size_too_small = valid.clone();
        patch_headers(&mut size_too_small, 22, 24, |f| add_u32(f, -1000));
        let mut size_too_large = valid.clone();
        patch_headers(&mut size_too_large, 22, 24, |f| add_u32(f, 1000));
        let mut damaged = valid.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x55;
        let cases = [
            ("valid", valid, true),
            ("wrong CRC", bad_crc, false),
            ("declared size too small", size_too_small, false),
            ("declared size too large", size_too_large, false),
            ("damaged stream", damaged, false),
        ];
        for (what, zip, whole) in cases {
            let mut input = open_zip_bytes(zip.clone(), ArchiveLimits::default(), String::new())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let entry = input.entries()[0].clone();
            let Backend::Zip(archive) = &mut input.backend else {
                unreachable!()
            };
            let fast = inflate_whole(archive, &entry, u64::MAX, None);
            assert_eq!(fast.is_some(), whole, "{what}");
            // From the archive held in memory, in place: the same outcome as from a copy.
            let in_place = inflate_whole(archive, &entry, u64::MAX, Some(&zip));
            assert_eq!(in_place, fast, "{what}: in place");
            // An archive that holds fewer bytes than the entry declares: no fast path.
            let cut = &zip[..zip.len() / 2];
            assert_eq!(
                inflate_whole(archive, &entry, u64::MAX, Some(cut)),
                None,
                "{what}"
            );
            let slow = streamed(&zip);
            if let Some(bytes) = &fast {
                assert_eq!(bytes, &data, "{what}");
                assert_eq!(slow.as_ref().ok(), Some(&data), "{what}");
            }
            // Through `read`, the report's reading: the same outcome as the stream alone.
            let read = input.read(&entry).map_err(|f| f.message.clone());
            assert_eq!(read.is_ok(), slow.is_ok(), "{what}: {read:?} / {slow:?}");
            if let (Ok(a), Ok(b)) = (&read, &slow) {
                assert_eq!(a, b, "{what}");
            }
        }
        // Below the threshold, and above the limit, the stream reads.
        let small = deflated_zip(&data[..1000]);
        let mut input = open_zip_bytes(small, ArchiveLimits::default(), String::new()).unwrap();
        let entry = input.entries()[0].clone();
        let Backend::Zip(archive) = &mut input.backend else {
            unreachable!()
        };
        assert!(inflate_whole(archive, &entry, u64::MAX, None).is_none());
        let mut input =
            open_zip_bytes(deflated_zip(&data), ArchiveLimits::default(), String::new()).unwrap();
        let entry = input.entries()[0].clone();
        let Backend::Zip(archive) = &mut input.backend else {
            unreachable!()
        };
        assert!(inflate_whole(archive, &entry, data.len() as u64 - 1, None).is_none());
        assert!(inflate_whole(archive, &entry, data.len() as u64, None).is_some());
        let held = deflated_zip(&data);
        assert!(inflate_whole(archive, &entry, data.len() as u64 - 1, Some(&held)).is_none());
        assert!(inflate_whole(archive, &entry, data.len() as u64, Some(&held)).is_some());
    }

    #[test]
    fn unsafe_names_are_named() {
        let l = ArchiveLimits::default();
        assert!(
            unsafe_path_reason("a/../../etc/passwd", &l)
                .unwrap()
                .contains("..")
        );
        assert!(
            unsafe_path_reason("/etc/passwd", &l)
                .unwrap()
                .contains("absolute")
        );
        assert!(unsafe_path_reason("C:/x.py", &l).unwrap().contains("drive"));
        assert!(
            unsafe_path_reason("a\\b.py", &l)
                .unwrap()
                .contains("backslash")
        );
        assert!(unsafe_path_reason("plugin/ok.py", &l).is_none());
        assert!(unsafe_path_reason("plugin/..hidden", &l).is_none());
    }

    #[test]
    fn folding_catches_case_and_normalisation() {
        assert_eq!(fold_name("Plugin/A.py"), fold_name("plugin/a.py"));
        assert_eq!(fold_name("caf\u{e9}.py"), fold_name("cafe\u{301}.py"));
        assert_ne!(fold_name("a.py"), fold_name("b.py"));
        // The ASCII shortcut folds every ASCII character as the full folding does.
        let ascii: String = (0u8..128).map(char::from).collect();
        let full: String = ascii.nfc().flat_map(char::to_lowercase).collect();
        assert_eq!(fold_name(&ascii), full);
        assert_ne!(fold_name(&ascii), ascii);
    }
}
