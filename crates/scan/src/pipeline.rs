//! The scan pipeline: identify the target, read it through the archive layer, validate the
//! package, hand every file once to each family, then turn findings into the report and its
//! verdict. This is the one place where a verdict is decided.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::archive::{ArchiveError, EntryInfo, Fork, Input, SharedBytes};
use crate::catalog::catalog;
use crate::family::{BundledConfig, Family, FamilyOutput, ScanSetup, SourceFile};
use crate::options::{ActiveRules, ScanOptions};
use crate::package::{self, PackageLayout, PackageRoot};
use crate::policy::vendor::HashScope;
use crate::report::{
    Check, CheckSummary, Finding, PackageInfo, Report, SCHEMA, ScanError, ScannerInfo, Severity,
    Stats, SuppressedBy, Target, TargetKind, Verdict,
};

/// The input could not be accessed at all (missing path, permission denied): a usage or I/O
/// error, not a verdict.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// Stack for the thread that parses and analyses untrusted source: deep but legal nesting must
/// not abort the process (virtual memory is committed only when touched).
pub(crate) const SCAN_STACK_SIZE: usize = 512 * 1024 * 1024;

/// More analysis threads than this per input gain little: a folder or a ZIP on disk is read by
/// one thread, and a plugin rarely has more large files than this.
const MAX_THREADS: usize = 8;

/// An archive at least this large is hashed on a thread of its own, beside the scan (a smaller
/// one hashes faster than a thread starts).
const HASH_ASIDE_FROM: usize = 1024 * 1024;

/// The scan's time budget as every stage sees it: files are analysed only while it lasts.
#[derive(Clone, Default)]
struct Budget {
    deadline: Option<Instant>,
    /// Set by `scan_path` when it stops waiting, so the abandoned scan ends after its current
    /// file instead of analysing the rest.
    cancelled: Arc<AtomicBool>,
    limit: Option<Duration>,
}

impl Budget {
    fn new(limit: Option<Duration>) -> Budget {
        Budget {
            deadline: limit.map(|l| Instant::now() + l),
            cancelled: Arc::new(AtomicBool::new(false)),
            limit,
        }
    }

    fn exceeded(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The error that makes a scan past its budget fail closed.
    fn error(&self, detail: &str) -> ScanError {
        let secs = self.limit.map_or(0.0, |l| l.as_secs_f64());
        ScanError {
            check: Check::Package,
            path: String::new(),
            message: format!(
                "the scan exceeded its time budget of {secs} s{detail}; it is not a pass: scan again with a larger budget or inspect the package by hand"
            ),
        }
    }
}

/// Scans a ZIP, a folder or a single file and returns the report.
pub fn scan_path(path: &Path, options: &ScanOptions) -> Result<Report, TargetError> {
    let started = Instant::now();
    let meta = fs::metadata(path)
        .map_err(|e| TargetError(format!("cannot access {}: {e}", path.display())))?;
    let budget = Budget::new(options.time_budget);
    let owned_path = path.to_path_buf();
    let options_owned = options.clone();
    let is_dir = meta.is_dir();
    let thread_budget = budget.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("vetted-scan".into())
        .stack_size(SCAN_STACK_SIZE)
        .spawn(move || {
            let result = if is_dir {
                scan_dir(&owned_path, &options_owned, &thread_budget)
            } else {
                scan_file_target(&owned_path, &options_owned, &thread_budget)
            };
            // The receiver is gone when `scan_path` stopped waiting: nothing to do then.
            let _ = tx.send(result);
        })
        .map_err(|e| TargetError(format!("cannot start the scan thread: {e}")))?;
    let internal =
        || TargetError("the scan stopped on an internal error (a bug: please report it)".into());
    let Some(limit) = options.time_budget else {
        handle.join().map_err(|_| internal())?;
        return rx.recv().map_err(|_| internal())?;
    };
    match rx.recv_timeout(limit) {
        Ok(result) => {
            let _ = handle.join();
            result
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(internal()),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            // One file is taking the whole budget: stop waiting and fail closed. The scan thread
            // stops after that file (it is bounded by the nesting guard and the size limits)
            // and is detached.
            budget.cancelled.store(true, Ordering::Relaxed);
            Ok(timed_out(path, is_dir, options, &budget, started))
        }
    }
}

/// The report of a scan that ran out of time while analysing a file.
fn timed_out(
    path: &Path,
    is_dir: bool,
    options: &ScanOptions,
    budget: &Budget,
    started: Instant,
) -> Report {
    let kind = if is_dir {
        TargetKind::Directory
    } else if looks_like_zip(path) {
        TargetKind::Zip
    } else {
        TargetKind::File
    };
    let sha256 = if is_dir {
        String::new()
    } else {
        sha256_file(path).unwrap_or_default()
    };
    let target = Target {
        path: path.display().to_string(),
        kind,
        sha256,
    };
    let rules = ActiveRules::new(options);
    let config = BundledConfig::default();
    let mut acc = Accumulator::new(&rules, &config, budget.clone(), HashScope::All);
    acc.errors
        .push(budget.error(" while one file was still being analysed"));
    acc.into_report(target, None, options, started, false)
}

fn sha256_file(path: &Path) -> Result<String, TargetError> {
    let mut f = fs::File::open(path)
        .map_err(|e| TargetError(format!("cannot read {}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| TargetError(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn looks_like_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let read = fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok();
    is_zip(path, if read { &magic } else { &[] })
}

/// A ZIP by its first four bytes (`PK…`; a shorter file is none) or by its name.
fn is_zip(path: &Path, head: &[u8]) -> bool {
    (head.len() >= 4 && head.starts_with(b"PK"))
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

fn scan_file_target(
    path: &Path,
    options: &ScanOptions,
    budget: &Budget,
) -> Result<Report, TargetError> {
    let started = Instant::now();
    let cannot_read =
        |e: std::io::Error| TargetError(format!("cannot read {}: {e}", path.display()));
    // A file within the archive size limit is read once: hashed, then parsed from memory (a
    // ZIP read from disk costs a seek and a few reads per entry). A larger one is hashed as it
    // streams past and refused by the archive reader before any entry is read.
    let len = fs::metadata(path).map_err(cannot_read)?.len();
    let held: Option<Vec<u8>> = if len <= options.limits.max_compressed {
        Some(crate::archive::pages::read_file(path).map_err(cannot_read)?)
    } else {
        None
    };
    let display = path.display().to_string();
    // A QGIS project (`.qgz`) is a ZIP too, but it is scanned as one file, not as a plugin.
    let is_project = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("qgz"));
    let zip = match &held {
        Some(bytes) => is_zip(path, bytes),
        None => looks_like_zip(path),
    };
    if !is_project && zip {
        let mut target = Target {
            path: display.clone(),
            kind: TargetKind::Zip,
            sha256: String::new(),
        };
        let limits = options.limits.clone();
        return Ok(match held {
            Some(bytes) => {
                // The analysis threads read their entries from the one copy in memory; a large
                // archive is hashed beside them rather than before them.
                let bytes = SharedBytes(Arc::new(bytes));
                let hashing = (bytes.0.len() >= HASH_ASIDE_FROM).then(|| {
                    let bytes = bytes.clone();
                    std::thread::Builder::new()
                        .name("vetted-hash".into())
                        .spawn(move || hex::encode(Sha256::digest(bytes.as_ref())))
                });
                if !matches!(hashing, Some(Ok(_))) {
                    target.sha256 = hex::encode(Sha256::digest(bytes.as_ref()));
                }
                let opened = crate::archive::open_zip_shared(bytes.clone(), limits);
                let mut report = scan_zip(opened, target, &display, options, budget, started);
                if let Some(Ok(handle)) = hashing {
                    report.target.sha256 = match handle.join() {
                        Ok(sha) => sha,
                        Err(_) => hex::encode(Sha256::digest(bytes.as_ref())),
                    };
                }
                report
            }
            None => {
                target.sha256 = sha256_file(path)?;
                scan_zip(
                    Input::open_zip(path, limits),
                    target,
                    &display,
                    options,
                    budget,
                    started,
                )
            }
        });
    }
    let sha = match &held {
        Some(bytes) => hex::encode(Sha256::digest(bytes)),
        None => sha256_file(path)?,
    };
    // A lone file: scanned with every family, no package rules.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = Target {
        path: display,
        kind: TargetKind::File,
        sha256: sha,
    };
    let bytes = match held {
        Some(bytes) => bytes,
        None => fs::read(path).map_err(cannot_read)?,
    };
    if bytes.len() as u64 > options.limits.max_entry_size {
        let e = ArchiveError {
            rule: crate::archive::rules::TOO_LARGE,
            message: format!(
                "{name}: {} bytes; the limit per file is {} bytes",
                bytes.len(),
                options.limits.max_entry_size
            ),
        };
        return Ok(unreadable(target, e, &name, options, budget, started));
    }
    let rules = ActiveRules::new(options);
    let config = BundledConfig::default();
    let hash = HashScope::new([name.as_str()], options.vendor_index.is_some());
    let mut acc = Accumulator::new(&rules, &config, budget.clone(), hash);
    acc.scan_one(&mut SourceFile::new(&name, &name, &bytes, None));
    Ok(acc.into_report(target, None, options, started, false))
}

/// A ZIP target: its entries scanned as a plugin package, or why it cannot be read.
fn scan_zip<R: Read + std::io::Seek + Fork>(
    opened: Result<Input<R>, ArchiveError>,
    target: Target,
    display: &str,
    options: &ScanOptions,
    budget: &Budget,
    started: Instant,
) -> Report {
    match opened {
        Ok(input) => run(
            input,
            target,
            Mode::Package { folder_name: None },
            options,
            budget,
            started,
        ),
        Err(e) => unreadable(target, e, display, options, budget, started),
    }
}

fn scan_dir(path: &Path, options: &ScanOptions, budget: &Budget) -> Result<Report, TargetError> {
    let started = Instant::now();
    let target_path = path.display().to_string();
    let plugin_folder = path.join("metadata.txt").is_file();
    let folder_name = fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    match Input::open_dir(path, options.limits.clone()) {
        Ok(input) => {
            // The digest is computed while the files stream past the families (see `run`).
            let target = Target {
                path: target_path,
                kind: TargetKind::Directory,
                sha256: String::new(),
            };
            let mode = if plugin_folder {
                Mode::Package {
                    folder_name: Some(folder_name),
                }
            } else {
                Mode::Loose
            };
            Ok(run(input, target, mode, options, budget, started))
        }
        Err(e) => {
            let target = Target {
                path: target_path,
                kind: TargetKind::Directory,
                sha256: String::new(),
            };
            Ok(unreadable(target, e, "", options, budget, started))
        }
    }
}

enum Mode {
    /// A plugin package: ZIP (folder name from the archive) or a plugin folder scanned in place.
    Package { folder_name: Option<String> },
    /// Any folder: every family runs, package rules do not.
    Loose,
}

fn unreadable(
    target: Target,
    e: ArchiveError,
    path: &str,
    options: &ScanOptions,
    budget: &Budget,
    started: Instant,
) -> Report {
    let rules = ActiveRules::new(options);
    let config = BundledConfig::default();
    let mut acc = Accumulator::new(&rules, &config, budget.clone(), HashScope::All);
    acc.findings.push(e.into_finding(path));
    acc.into_report(target, None, options, started, true)
}

fn run<R: Read + std::io::Seek + Fork>(
    mut input: Input<R>,
    mut target: Target,
    mode: Mode,
    options: &ScanOptions,
    budget: &Budget,
    started: Instant,
) -> Report {
    let rules = ActiveRules::new(options);
    let mut pkg_findings: Vec<Finding> = std::mem::take(&mut input.problems);
    let entries: Vec<EntryInfo> = input.entries().to_vec();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();

    let (root, package_mode) = match &mode {
        Mode::Package { folder_name } => {
            let layout = PackageLayout {
                paths: &paths,
                folder_name: folder_name.as_deref(),
                new_plugin: options.new_plugin,
            };
            (package::check_layout(&layout, &mut pkg_findings), true)
        }
        Mode::Loose => (
            Some(PackageRoot {
                name: String::new(),
                prefix: String::new(),
            }),
            false,
        ),
    };
    let mut package_info: Option<PackageInfo> = None;
    let mut config = BundledConfig {
        root_prefix: root.as_ref().map(|r| r.prefix.clone()).unwrap_or_default(),
        ..Default::default()
    };
    if let Some(root) = &root {
        for entry in &entries {
            let Some(rel) = entry.path.strip_prefix(&root.prefix) else {
                continue;
            };
            let wanted =
                rel == "metadata.txt" && package_mode || BundledConfig::NAMES.contains(&rel);
            if !wanted {
                continue;
            }
            match input.read(entry) {
                Ok(bytes) if rel == "metadata.txt" => {
                    package_info = package::check_metadata(root, &bytes, &paths, &mut pkg_findings);
                }
                Ok(bytes) => {
                    config.files.insert(rel.to_string(), bytes);
                }
                Err(f) => pkg_findings.push(*f),
            }
        }
    }

    let hash = HashScope::new(paths.iter().copied(), options.vendor_index.is_some());
    let mut acc = Accumulator::new(&rules, &config, budget.clone(), hash);
    acc.findings.extend(pkg_findings);
    // A folder's digest: its sorted relative paths and their contents, hashed in the one pass.
    let mut folder_digest = (target.kind == TargetKind::Directory).then(Sha256::new);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)),
        n => n,
    };
    acc.scan_entries(
        &mut input,
        &entries,
        root.as_ref(),
        folder_digest.as_mut(),
        threads,
    );
    if let Some(h) = folder_digest {
        target.sha256 = hex::encode(h.finalize());
    }
    acc.into_report(target, package_info, options, started, package_mode)
}

/// Collects what the families report while files stream past.
struct Accumulator<'a> {
    rules: &'a ActiveRules,
    families: Vec<Box<dyn Family>>,
    outputs: Vec<FamilyOutput>,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    files_scanned: u32,
    ran: Vec<Check>,
    /// Prefix of the package root in input paths (where `__init__.py` starts the plugin).
    root_prefix: String,
    budget: Budget,
    /// Files left unanalysed because the time budget ran out.
    not_analysed: u32,
}

impl<'a> Accumulator<'a> {
    /// `hash`: the files whose hash vendored-library recognition can compare.
    fn new(
        rules: &'a ActiveRules,
        config: &'a BundledConfig,
        budget: Budget,
        hash: HashScope,
    ) -> Self {
        let setup = ScanSetup { rules, config };
        // The secret patterns take a few milliseconds to compile, and the report names the
        // catalog by a fingerprint of every rule: both are made beside the reading and the
        // other families rather than on the way. A process makes them once; later scans find
        // them ready.
        let secrets = rules.any_in(Check::Secrets);
        let _ = std::thread::Builder::new()
            .name("vetted-warm-up".into())
            .spawn(move || {
                if secrets {
                    crate::secrets::warm_up();
                }
                let _ = catalog().version();
            });
        type Builder = fn(&ScanSetup) -> Result<Box<dyn Family>, ScanError>;
        let builders: [(Check, Builder); 4] = [
            (Check::Bandit, crate::bandit::build),
            (Check::Secrets, crate::secrets::build),
            (Check::Flake8, crate::flake8::build),
            (Check::Files, crate::files::build),
        ];
        let mut families = Vec::new();
        let mut errors = Vec::new();
        let mut ran = vec![Check::Package];
        for (check, build) in builders {
            if !rules.any_in(check) {
                continue;
            }
            ran.push(check);
            match build(&setup) {
                Ok(f) => families.push(f),
                Err(e) => errors.push(e),
            }
        }
        // What the code can do is listed with the security analysis of the code (the bandit
        // family or the `qgis` threat rules, which the same walk reports): a scan narrowed to
        // secrets or to flake8 (`--select`) asked for neither, and the walk costs about as much
        // as the secrets family itself. Every profile's full scan has both.
        let threat_rules: Vec<&'static str> = crate::qgis::RULES
            .iter()
            .map(|(r, _)| r.code)
            .filter(|code| rules.is_active(code))
            .collect();
        if !threat_rules.is_empty() {
            ran.push(Check::Qgis);
        }
        if !threat_rules.is_empty() || rules.any_in(Check::Bandit) {
            families.push(Box::new(crate::capabilities::CapabilityScan {
                threat_rules,
            }));
        }
        families.push(Box::new(crate::policy::facts::FactScan { hash }));
        let outputs = families.iter().map(|_| FamilyOutput::default()).collect();
        Accumulator {
            rules,
            families,
            outputs,
            findings: Vec::new(),
            errors,
            files_scanned: 0,
            ran,
            root_prefix: config.root_prefix.clone(),
            budget,
            not_analysed: 0,
        }
    }

    fn scan_one(&mut self, file: &mut SourceFile) {
        self.files_scanned += 1;
        scan_with(&self.families, &mut self.outputs, file);
    }

    /// Reads every entry once and analyses it on `threads` threads. A ZIP in memory is read by
    /// the analysis threads themselves ([`Accumulator::scan_forked`]). Otherwise this thread
    /// reads every entry in order (a file is read sequentially, and a folder's digest needs the
    /// order) and hands the bytes to the analysis threads through a short queue. Either way at
    /// most a few entries are in memory at a time.
    fn scan_entries<R: Read + std::io::Seek + Fork>(
        &mut self,
        input: &mut Input<R>,
        entries: &[EntryInfo],
        root: Option<&PackageRoot>,
        mut digest: Option<&mut Sha256>,
        threads: usize,
    ) {
        // Byte offset of the package-relative path inside an entry's path.
        let rel_start = |entry: &EntryInfo| -> usize {
            root.and_then(|r| entry.path.strip_prefix(&r.prefix))
                .map_or(0, |rel| entry.path.len() - rel.len())
        };
        let workers = threads.min(entries.len());
        // With fewer Python files than cores to spread, a large one's secrets scan gets a thread
        // of its own ([`scan_split`]); with more, the files themselves keep the cores busy.
        let python_files = entries.iter().filter(|e| e.path.ends_with(".py")).count();
        let split = threads >= 2 && python_files < threads * 2;
        if digest.is_none()
            && workers > 1
            && self.scan_forked(input, entries, &rel_start, workers, split)
        {
            return;
        }
        let mut read_next = |entry: &EntryInfo| {
            let read = input.read(entry);
            if let Some(h) = digest.as_deref_mut() {
                h.update(entry.path.as_bytes());
                h.update([0]);
                if let Ok(bytes) = &read {
                    h.update((bytes.len() as u64).to_le_bytes());
                    h.update(bytes);
                }
            }
            read
        };
        let budget = self.budget.clone();
        if workers <= 1 {
            for (index, entry) in entries.iter().enumerate() {
                if budget.exceeded() {
                    self.not_analysed += (entries.len() - index) as u32;
                    break;
                }
                match read_next(entry) {
                    Ok(bytes) => {
                        let mut file = entry_file(entry, rel_start(entry), &bytes);
                        self.files_scanned += 1;
                        scan_split(&self.families, &mut self.outputs, &mut file, split);
                    }
                    Err(f) => self.findings.push(*f),
                }
            }
            return;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(workers);
        let rx = std::sync::Mutex::new(rx);
        let families = &self.families;
        let outputs = &mut self.outputs;
        let findings = &mut self.findings;
        let mut scanned_here = 0u32;
        let mut not_analysed = 0u32;
        let budget = &budget;
        let results = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for i in 0..workers {
                let rx = &rx;
                let worker = move || {
                    let mut outputs: Vec<FamilyOutput> =
                        families.iter().map(|_| FamilyOutput::default()).collect();
                    let mut scanned = 0u32;
                    let mut skipped = 0u32;
                    loop {
                        // The lock is held only while waiting, never while analysing.
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok((index, bytes)) = next else { break };
                        if budget.exceeded() {
                            skipped += 1;
                            continue;
                        }
                        let entry: &EntryInfo = &entries[index];
                        let mut file = entry_file(entry, rel_start(entry), &bytes);
                        scan_split(families, &mut outputs, &mut file, split);
                        scanned += 1;
                    }
                    (outputs, scanned, skipped)
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("vetted-scan-{i}"))
                    .stack_size(SCAN_STACK_SIZE)
                    .spawn_scoped(scope, worker);
                // Without a worker thread the files are still analysed: by fewer threads, or
                // below on this one.
                if let Ok(handle) = spawned {
                    handles.push(handle);
                }
            }
            for (index, entry) in entries.iter().enumerate() {
                if budget.exceeded() {
                    not_analysed += (entries.len() - index) as u32;
                    break;
                }
                match read_next(entry) {
                    Ok(bytes) => {
                        let unsent = if handles.is_empty() {
                            Some(bytes)
                        } else {
                            tx.send((index, bytes)).err().map(|e| e.0.1)
                        };
                        // No worker left to take it: analyse it here.
                        if let Some(bytes) = unsent {
                            let mut file = entry_file(entry, rel_start(entry), &bytes);
                            scan_with(families, outputs, &mut file);
                            scanned_here += 1;
                        }
                    }
                    Err(f) => findings.push(*f),
                }
            }
            drop(tx);
            let mut results = Vec::new();
            for handle in handles {
                match handle.join() {
                    Ok(result) => results.push(result),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            results
        });
        self.files_scanned += scanned_here;
        self.not_analysed += not_analysed;
        for (outputs, scanned, skipped) in results {
            self.merge(outputs, scanned, skipped);
        }
    }

    /// Adds what one analysis thread found.
    fn merge(&mut self, outputs: Vec<FamilyOutput>, scanned: u32, skipped: u32) {
        self.files_scanned += scanned;
        self.not_analysed += skipped;
        for (mine, theirs) in self.outputs.iter_mut().zip(outputs) {
            mine.findings.extend(theirs.findings);
            mine.errors.extend(theirs.errors);
            mine.config_used.extend(theirs.config_used);
            mine.capabilities.extend(theirs.capabilities);
            mine.secrets.extend(theirs.secrets);
            mine.projects.extend(theirs.projects);
            mine.files.extend(theirs.files);
        }
    }

    /// Reads and analyses the entries on `workers` threads (this one among them), each reading
    /// its own entries from the archive in memory, largest first, so that inflating is spread
    /// over the cores like the analysis. `false`, with nothing kept, when the input cannot be
    /// read by several threads, or when reading in archive order would have read something
    /// differently: the caller then reads in order.
    ///
    /// Each entry is read here with the limit per entry. Read in order, an entry gets what is
    /// left of the total limit when that is smaller; the reads are replayed in archive order,
    /// and if the total limit would have cut in anywhere (only an archive that inflates to
    /// nearly the whole total does that), the results are dropped.
    fn scan_forked<R: Read + std::io::Seek + Fork>(
        &mut self,
        input: &Input<R>,
        entries: &[EntryInfo],
        rel_start: &(dyn Fn(&EntryInfo) -> usize + Sync),
        workers: usize,
        split: bool,
    ) -> bool {
        let mut readers = Vec::new();
        while readers.len() < workers {
            match R::fork(input) {
                Some(reader) => readers.push(reader),
                None => return false,
            }
        }
        let limit = input.limits().max_entry_size;
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(entries[i].compressed_size));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let families = &self.families;
        let budget = &self.budget;
        type EntryRead = (usize, Result<u64, Box<Finding>>);
        let work = |mut reader: Input<R>| {
            let mut outputs: Vec<FamilyOutput> =
                families.iter().map(|_| FamilyOutput::default()).collect();
            let mut reads: Vec<EntryRead> = Vec::new();
            let (mut scanned, mut skipped) = (0u32, 0u32);
            loop {
                let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                if budget.exceeded() {
                    skipped += 1;
                    continue;
                }
                let entry = &entries[index];
                match reader.read_within(entry, limit) {
                    Ok(bytes) => {
                        reads.push((index, Ok(bytes.len() as u64)));
                        let mut file = entry_file(entry, rel_start(entry), &bytes);
                        scan_split(families, &mut outputs, &mut file, split);
                        scanned += 1;
                    }
                    Err(f) => reads.push((index, Err(f))),
                }
            }
            (outputs, reads, scanned, skipped)
        };
        let results = std::thread::scope(|scope| {
            let work = &work;
            let mut readers = readers.into_iter();
            let mine = readers.next();
            let mut handles = Vec::new();
            for (i, reader) in readers.enumerate() {
                let spawned = std::thread::Builder::new()
                    .name(format!("vetted-scan-{i}"))
                    .stack_size(SCAN_STACK_SIZE)
                    .spawn_scoped(scope, move || work(reader));
                // A thread that cannot start leaves its entries to the others.
                if let Ok(handle) = spawned {
                    handles.push(handle);
                }
            }
            let mut results: Vec<_> = mine.into_iter().map(work).collect();
            for handle in handles {
                match handle.join() {
                    Ok(result) => results.push(result),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            results
        });
        let mut by_entry: Vec<Option<Result<u64, Box<Finding>>>> =
            entries.iter().map(|_| None).collect();
        let mut kept = Vec::new();
        for (outputs, reads, scanned, skipped) in results {
            for (index, read) in reads {
                by_entry[index] = Some(read);
            }
            kept.push((outputs, scanned, skipped));
        }
        // The replay in archive order. An entry left unread (the time budget ran out) was not
        // read in order either.
        let mut total = input.read_total();
        for read in by_entry.iter().flatten() {
            if input.entry_limit(total) < limit {
                return false;
            }
            if let Ok(got) = read {
                total += got;
            }
        }
        for read in by_entry.into_iter().flatten() {
            if let Err(f) = read {
                self.findings.push(*f);
            }
        }
        for (outputs, scanned, skipped) in kept {
            self.merge(outputs, scanned, skipped);
        }
        true
    }

    fn into_report(
        mut self,
        target: Target,
        package: Option<PackageInfo>,
        options: &ScanOptions,
        started: Instant,
        package_mode: bool,
    ) -> Report {
        if self.not_analysed > 0 {
            let detail = format!(
                ": {} file(s) were not analysed ({} were)",
                self.not_analysed, self.files_scanned
            );
            self.errors.push(self.budget.error(&detail));
        }
        let mut config_files = Vec::new();
        let mut capabilities = Vec::new();
        let mut secrets = Vec::new();
        let mut qgis_projects = Vec::new();
        let mut files = Vec::new();
        for (family, mut out) in self.families.iter().zip(self.outputs) {
            family.finish(&mut out);
            self.findings.append(&mut out.findings);
            self.errors.append(&mut out.errors);
            config_files.append(&mut out.config_used);
            capabilities.append(&mut out.capabilities);
            secrets.append(&mut out.secrets);
            qgis_projects.append(&mut out.projects);
            files.append(&mut out.files);
        }
        // Flake8's E999/E902 name files Python itself would not compile, even where the
        // recovering parser found no error.
        let not_compiling: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.check == Check::Flake8 && matches!(f.rule.as_str(), "E999" | "E902"))
            .map(|f| f.path.clone())
            .collect();
        // Test support only qualifies secret findings: most plugins have none to qualify.
        let any_secret = self.findings.iter().any(crate::policy::is_secret_rule);
        let (libraries, broken_files, loaded, support) =
            file_facts(files, not_compiling, &self.root_prefix, options, any_secret);
        for f in &mut self.findings {
            if crate::policy::is_secret_rule(f)
                && let Some(dir) = support.iter().find(|d| f.path.starts_with(d.as_str()))
            {
                f.context.insert("test_support".to_string(), dir.clone());
            }
            if f.check == Check::Bandit
                && crate::policy::is_extra_path(
                    f.path
                        .strip_prefix(self.root_prefix.as_str())
                        .unwrap_or(&f.path),
                )
                && !loaded.contains(&f.path)
            {
                f.context
                    .insert("extra_code".to_string(), "not_loaded".to_string());
            }
        }
        qgis_projects
            .sort_by(|a: &crate::secrets::qgis_project::ProjectCredentials, b| a.path.cmp(&b.path));
        mask_known_secrets(&secrets, &mut self.findings, &mut capabilities);
        config_files.sort();
        config_files.dedup();
        // Files are analysed in parallel: give errors a stable order.
        self.errors
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));

        let mut findings = Vec::new();
        let mut suppressed = Vec::new();
        for mut f in self.findings {
            let Some(severity) = self.rules.severity(&f.rule) else {
                if f.check == Check::Package {
                    findings.push(f);
                }
                continue;
            };
            if f.check != Check::Package {
                f.severity = severity;
            }
            if f.suppressed_by.is_none() && self.rules.is_skipped(&f.rule) {
                f.suppressed_by = Some(SuppressedBy::Skipped);
            }
            if f.suppressed_by.is_some() {
                suppressed.push(f);
            } else {
                findings.push(f);
            }
        }
        let order = |f: &Finding| (f.path.clone(), f.line, f.column, f.check, f.rule.clone());
        findings.sort_by_key(order);
        suppressed.sort_by_key(order);
        let capabilities = manifest(capabilities, &findings, &suppressed);
        let declared_capabilities = package
            .as_ref()
            .and_then(|p| crate::capabilities::compare_declared(&p.metadata, &capabilities));

        let mut checks = Vec::new();
        for check in Check::ALL {
            let ran = self.ran.contains(&check) && (check != Check::Package || package_mode);
            let of: Vec<&Finding> = findings.iter().filter(|f| f.check == check).collect();
            let errored = self.errors.iter().any(|e| e.check == check);
            let severity = of
                .iter()
                .map(|f| f.severity)
                .max()
                .unwrap_or(Severity::Info);
            let passed = ran && !errored && !of.iter().any(|f| f.severity >= Severity::Warning);
            checks.push(CheckSummary {
                id: check,
                name: check.name().to_string(),
                severity,
                passed,
                findings: of.len() as u32,
                ran,
            });
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count() as u32;
        let checks_total = checks.iter().filter(|c| c.ran).count() as u32;
        let checks_passed = checks.iter().filter(|c| c.ran && c.passed).count() as u32;
        let stats = Stats {
            checks_total,
            checks_passed,
            critical: count(Severity::Critical),
            warnings: count(Severity::Warning),
            info: count(Severity::Info),
            files_scanned: self.files_scanned,
            pass_rate: if checks_total == 0 {
                0.0
            } else {
                f64::from(checks_passed) / f64::from(checks_total)
            },
        };
        let mut report = Report {
            schema: SCHEMA.to_string(),
            scanner: ScannerInfo {
                name: "vetted".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ruleset: catalog().version(),
                profile: self.rules.profile().as_str().into(),
            },
            target,
            package,
            // Decided below by the policy.
            verdict: Verdict::Validated,
            stats,
            checks,
            findings,
            suppressed,
            config_files,
            skipped_rules: self.rules.skipped().map(str::to_string).collect(),
            errors: self.errors,
            declared_capabilities,
            capabilities,
            qgis_projects,
            policy: None,
            libraries,
            broken_files,
            duration_ms: 0,
        };
        crate::policy::apply(&mut report, options.policy);
        report.duration_ms = started.elapsed().as_millis() as u64;
        report
    }
}

/// Vendored libraries and broken Python files, from the facts every file left.
/// Also returns the Python files the plugin loads when it starts, and (when `want_support`)
/// the folders of test support.
fn file_facts(
    files: Vec<crate::policy::facts::FileFacts>,
    not_compiling: Vec<String>,
    root_prefix: &str,
    options: &ScanOptions,
    want_support: bool,
) -> (
    Vec<crate::policy::vendor::VendoredLibrary>,
    Vec<crate::policy::BrokenFile>,
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut listing = crate::policy::vendor::Listing::default();
    let mut imports = BTreeMap::new();
    let mut python = BTreeSet::new();
    let mut broken = not_compiling;
    for f in files {
        if let Some(m) = f.metadata {
            listing.metadata.insert(f.path.clone(), m);
        }
        if let Some(i) = f.imports {
            python.insert(f.path.clone());
            imports.insert(f.path.clone(), i);
        }
        if f.broken {
            broken.push(f.path.clone());
        }
        listing.hashes.insert(f.path, f.sha256);
    }
    let libraries = crate::policy::vendor::recognise(&listing, options.vendor_index.as_deref());
    let loaded = crate::policy::imports::loaded_at_start(root_prefix, &imports, &python);
    let support = if want_support {
        crate::policy::imports::test_support(root_prefix, &imports, &python, &loaded)
    } else {
        BTreeSet::new()
    };
    broken.sort();
    broken.dedup();
    let broken = broken
        .into_iter()
        .map(|path| crate::policy::BrokenFile {
            loaded_at_start: loaded.contains(&path),
            path,
        })
        .collect();
    (libraries, broken, loaded, support)
}

/// Masks every secret a family saw in a file wherever it appears in that file's findings
/// (messages and snippets of every family: a Bandit, Flake8 or file finding on a line holding
/// a credential would otherwise print it) and capabilities.
fn mask_known_secrets(
    secrets: &[(String, String)],
    findings: &mut [Finding],
    capabilities: &mut [crate::capabilities::Capability],
) {
    if secrets.is_empty() {
        return;
    }
    let mut by_path: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for (path, secret) in secrets {
        by_path
            .entry(path.as_str())
            .or_default()
            .push(secret.as_str());
    }
    for list in by_path.values_mut() {
        // Longest first, so a secret containing another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list.dedup();
    }
    let mask = |text: &mut String, list: &[&str]| {
        // A text without the secret stays as it is (most texts hold none of its file's secrets).
        for secret in list {
            if text.contains(secret) {
                *text = mask_in(text, secret);
            }
        }
    };
    for f in findings.iter_mut() {
        if let Some(list) = by_path.get(f.path.as_str()) {
            mask(&mut f.message, list);
            mask(&mut f.snippet, list);
        }
    }
    for c in capabilities.iter_mut() {
        if let Some(list) = by_path.get(c.path.as_str()) {
            mask(&mut c.snippet, list);
            if let Some(t) = c.target.as_mut() {
                mask(t, list);
            }
        }
    }
}

/// The text with a secret masked: everywhere when it is long enough to be unambiguous, only
/// between quotes when it is short (masking every `ab` of a line would make it unreadable).
fn mask_in(text: &str, secret: &str) -> String {
    let masked = crate::report::mask_secret(secret);
    if secret.chars().count() >= 4 {
        return text.replace(secret, &masked);
    }
    let mut out = text.to_string();
    for q in ['\'', '"'] {
        out = out.replace(&format!("{q}{secret}{q}"), &format!("{q}{masked}{q}"));
    }
    out
}

/// The report's capability list: sorted, capped, and with the snippet of any line where the
/// secrets family found a secret replaced by that finding's masked snippet.
fn manifest(
    mut capabilities: Vec<crate::capabilities::Capability>,
    findings: &[Finding],
    suppressed: &[Finding],
) -> Vec<crate::capabilities::Capability> {
    capabilities
        .sort_by(|a, b| (a.kind, &a.path, a.line, &a.api).cmp(&(b.kind, &b.path, b.line, &b.api)));
    capabilities.dedup();
    capabilities.truncate(crate::capabilities::MAX_PER_REPORT);
    let masked: std::collections::HashMap<(&str, u32), &str> = findings
        .iter()
        .chain(suppressed)
        .filter(|f| f.check == Check::Secrets)
        .map(|f| ((f.path.as_str(), f.line), f.snippet.as_str()))
        .collect();
    for c in &mut capabilities {
        if let Some(snippet) = masked.get(&(c.path.as_str(), c.line)) {
            c.snippet = snippet.to_string();
            c.target = None;
        }
    }
    capabilities
}

/// Hands one file to every family, each writing into its own output. A family that takes the
/// parse ([`Family::takes_parse`]) goes last, so that it can take it instead of copying it.
fn scan_with(families: &[Box<dyn Family>], outputs: &mut [FamilyOutput], file: &mut SourceFile) {
    let mut last = None;
    for (index, (family, out)) in families.iter().zip(outputs.iter_mut()).enumerate() {
        if last.is_none() && family.takes_parse() {
            last = Some(index);
            continue;
        }
        family.scan_file(file, out);
    }
    if let Some(index) = last
        && let (Some(family), Some(out)) = (families.get(index), outputs.get_mut(index))
    {
        family.scan_file_last(file, out);
    }
}

/// An entry as the families see it; `rel_start`: where its package-relative path starts.
fn entry_file<'a>(entry: &'a EntryInfo, rel_start: usize, bytes: &'a [u8]) -> SourceFile<'a> {
    SourceFile::new(
        &entry.path,
        &entry.path[rel_start..],
        bytes,
        entry.unix_mode,
    )
}

/// Python files at least this large get the secrets family on a thread of its own when the
/// package has too few files to keep every core busy.
const SPLIT_MIN_BYTES: usize = 4 * 1024;

/// Like [`scan_with`], but when `split` is allowed and the file is a large Python file, the
/// secrets family, which reads lines and never the syntax tree, runs on its own thread beside
/// the families that parse the file. A plugin of one or two large modules otherwise leaves a
/// core idle while one thread runs every family in turn.
fn scan_split(
    families: &[Box<dyn Family>],
    outputs: &mut [FamilyOutput],
    file: &mut SourceFile,
    split: bool,
) {
    file.set_spare_cores(split);
    let large_python = split && file.is_python() && file.bytes.len() >= SPLIT_MIN_BYTES;
    let secrets = families.iter().position(|f| f.check() == Check::Secrets);
    let Some(index) = secrets.filter(|_| large_python) else {
        return scan_with(families, outputs, file);
    };
    let (before, rest) = outputs.split_at_mut(index);
    let Some((secrets_out, after)) = rest.split_first_mut() else {
        return;
    };
    // The output is handed over through a slot so that, if no thread can be started, this
    // thread still finds it and runs the family itself.
    let slot = std::sync::Mutex::new(Some(secrets_out));
    let family = &families[index];
    let own = SourceFile::new(file.path, file.rel_path, file.bytes, file.unix_mode);
    std::thread::scope(|scope| {
        let slot = &slot;
        let spawned = std::thread::Builder::new()
            .name("vetted-secrets".into())
            .stack_size(SCAN_STACK_SIZE)
            .spawn_scoped(scope, move || {
                if let Some(out) = slot.lock().ok().and_then(|mut s| s.take()) {
                    family.scan_file(&own, out);
                }
            });
        let others = families[..index]
            .iter()
            .zip(before.iter_mut())
            .chain(families[index + 1..].iter().zip(after.iter_mut()));
        let mut last = None;
        for (family, out) in others {
            if last.is_none() && family.takes_parse() {
                last = Some((family, out));
                continue;
            }
            family.scan_file(file, out);
        }
        if let Some((family, out)) = last {
            family.scan_file_last(file, out);
        }
        match spawned {
            Ok(handle) => {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(_) => {
                if let Some(out) = slot.lock().ok().and_then(|mut s| s.take()) {
                    family.scan_file(file, out);
                }
            }
        }
    });
}
