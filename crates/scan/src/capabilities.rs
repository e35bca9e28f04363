//! What a plugin can do, in QGIS terms: the network, processes, dynamic code, stored
//! credentials, packages at run time, QGIS's own environment, native code and the file system.
//! Read from the same parse every Python family uses, with names resolved through imports,
//! aliases, `getattr(module, "name")`, `__import__` and `importlib.import_module`. Each
//! capability carries its evidence (file, line, snippet) and, where the code spells it out, its
//! target (URL, command, path, settings key). This is a manifest for the reviewer, not a rule:
//! it never changes the verdict by itself.

use crate::Map as HashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_source_file::LineIndex;
use ruff_text_size::{Ranged, TextSize};
use serde::{Deserialize, Serialize};

use crate::family::{Family, FamilyOutput, SourceFile};
use crate::qgis;
use crate::report::{Check, Finding};

/// The kinds of capability, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapabilityKind {
    Network,
    Process,
    DynamicCode,
    Credentials,
    Packages,
    QgisEnvironment,
    NativeCode,
    Filesystem,
}

impl CapabilityKind {
    pub const ALL: [CapabilityKind; 8] = [
        CapabilityKind::Network,
        CapabilityKind::Process,
        CapabilityKind::DynamicCode,
        CapabilityKind::Credentials,
        CapabilityKind::Packages,
        CapabilityKind::QgisEnvironment,
        CapabilityKind::NativeCode,
        CapabilityKind::Filesystem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CapabilityKind::Network => "network",
            CapabilityKind::Process => "process",
            CapabilityKind::DynamicCode => "dynamic-code",
            CapabilityKind::Credentials => "credentials",
            CapabilityKind::Packages => "packages",
            CapabilityKind::QgisEnvironment => "qgis-environment",
            CapabilityKind::NativeCode => "native-code",
            CapabilityKind::Filesystem => "filesystem",
        }
    }

    /// What the kind means, as the text report says it.
    pub fn describe(self) -> &'static str {
        match self {
            CapabilityKind::Network => "talk to the network",
            CapabilityKind::Process => "start processes",
            CapabilityKind::DynamicCode => "run code built or loaded at run time",
            CapabilityKind::Credentials => "read stored credentials",
            CapabilityKind::Packages => "install packages or change the import path",
            CapabilityKind::QgisEnvironment => "change QGIS's settings or code",
            CapabilityKind::NativeCode => "load native libraries",
            CapabilityKind::Filesystem => "write or delete files",
        }
    }
}

/// One piece of evidence that the plugin can do something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    pub kind: CapabilityKind,
    /// The API used, with its module: `requests.get`, `qgis.core.QgsNetworkAccessManager`.
    pub api: String,
    pub path: String,
    pub line: u32,
    /// The source line, trimmed and cut (credentials in URLs masked).
    pub snippet: String,
    /// The URL, command, path or settings key when the code spells it out as a literal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<String>,
}

/// The author's declaration (`capabilities=` in `metadata.txt`, a field QGIS ignores) and how
/// the code compares with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// Kinds the author declared.
    pub declared: Vec<CapabilityKind>,
    /// Words of the field that name no kind (reported so a typo does not pass silently).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub unknown: Vec<String>,
    /// Kinds found in the code but not declared.
    pub undeclared: Vec<CapabilityKind>,
}

/// The metadata field authors declare capabilities in.
pub const METADATA_FIELD: &str = "capabilities";

/// Compares the `capabilities` field of the plugin's metadata with what was found; `None`
/// when the plugin declares nothing.
pub fn compare_declared(
    metadata: &serde_json::Map<String, serde_json::Value>,
    found: &[Capability],
) -> Option<Declared> {
    let field = metadata.get(METADATA_FIELD)?.as_str()?;
    let mut declared = Vec::new();
    let mut unknown = Vec::new();
    for word in field
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let norm = word.to_ascii_lowercase().replace('_', "-");
        match CapabilityKind::ALL.into_iter().find(|k| k.as_str() == norm) {
            Some(k) if !declared.contains(&k) => declared.push(k),
            Some(_) => {}
            None => unknown.push(word.to_string()),
        }
    }
    declared.sort();
    let mut undeclared: Vec<CapabilityKind> = found
        .iter()
        .map(|c| c.kind)
        .filter(|k| !declared.contains(k))
        .collect();
    undeclared.sort();
    undeclared.dedup();
    Some(Declared {
        declared,
        unknown,
        undeclared,
    })
}

/// One kind of capability, summed up for people: the text report and the approver's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSummary<'r> {
    pub kind: CapabilityKind,
    /// How many places use it, in how many files.
    pub places: usize,
    pub files: usize,
    /// Distinct APIs and literal targets, sorted.
    pub apis: Vec<&'r str>,
    pub targets: Vec<&'r str>,
    /// Found in the code but not declared in `metadata.txt` (when the plugin declares any).
    pub undeclared: bool,
}

fn sorted_unique(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The report's capabilities grouped by kind, in [`CapabilityKind::ALL`] order.
pub fn summarize(report: &crate::Report) -> Vec<KindSummary<'_>> {
    let undeclared = report
        .declared_capabilities
        .as_ref()
        .map(|d| d.undeclared.as_slice())
        .unwrap_or_default();
    CapabilityKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let of: Vec<&Capability> = report
                .capabilities
                .iter()
                .filter(|c| c.kind == kind)
                .collect();
            if of.is_empty() {
                return None;
            }
            Some(KindSummary {
                kind,
                places: of.len(),
                files: sorted_unique(of.iter().map(|c| c.path.as_str()).collect()).len(),
                apis: sorted_unique(of.iter().map(|c| c.api.as_str()).collect()),
                targets: sorted_unique(of.iter().filter_map(|c| c.target.as_deref()).collect()),
                undeclared: undeclared.contains(&kind),
            })
        })
        .collect()
}

/// Most capabilities kept per report: a manifest, not a listing of every call.
pub const MAX_PER_REPORT: usize = 5_000;
const SNIPPET_CHARS: usize = 200;
const TARGET_CHARS: usize = 200;

/// Modules whose classes QGIS plugins reach (also through `from qgis.core import *`).
const QT_ROOTS: &[&str] = &[
    "qgis", "PyQt4", "PyQt5", "PyQt6", "PySide2", "PySide6", "sip",
];

/// (qualified name or prefix at a `.` boundary, kind). A prefix ending in `.` matches any
/// function of that module.
const CALLS: &[(&str, CapabilityKind)] = &[
    ("urllib.request.urlopen", CapabilityKind::Network),
    ("urllib.request.urlretrieve", CapabilityKind::Network),
    ("urllib.request.Request", CapabilityKind::Network),
    ("urllib.request.build_opener", CapabilityKind::Network),
    ("urllib2.urlopen", CapabilityKind::Network),
    ("urllib2.Request", CapabilityKind::Network),
    ("urllib.urlopen", CapabilityKind::Network),
    ("urllib.urlretrieve", CapabilityKind::Network),
    ("requests.get", CapabilityKind::Network),
    ("requests.post", CapabilityKind::Network),
    ("requests.put", CapabilityKind::Network),
    ("requests.patch", CapabilityKind::Network),
    ("requests.delete", CapabilityKind::Network),
    ("requests.head", CapabilityKind::Network),
    ("requests.options", CapabilityKind::Network),
    ("requests.request", CapabilityKind::Network),
    ("requests.api.get", CapabilityKind::Network),
    ("requests.api.post", CapabilityKind::Network),
    ("requests.api.put", CapabilityKind::Network),
    ("requests.api.patch", CapabilityKind::Network),
    ("requests.api.delete", CapabilityKind::Network),
    ("requests.api.head", CapabilityKind::Network),
    ("requests.api.options", CapabilityKind::Network),
    ("requests.api.request", CapabilityKind::Network),
    ("httpx.get", CapabilityKind::Network),
    ("httpx.post", CapabilityKind::Network),
    ("httpx.put", CapabilityKind::Network),
    ("httpx.patch", CapabilityKind::Network),
    ("httpx.delete", CapabilityKind::Network),
    ("httpx.head", CapabilityKind::Network),
    ("httpx.options", CapabilityKind::Network),
    ("httpx.request", CapabilityKind::Network),
    ("requests.Session", CapabilityKind::Network),
    ("requests.session", CapabilityKind::Network),
    ("requests.sessions.Session", CapabilityKind::Network),
    ("httpx.Client", CapabilityKind::Network),
    ("httpx.AsyncClient", CapabilityKind::Network),
    ("paho.mqtt.client.Client", CapabilityKind::Network),
    ("paho.mqtt.publish.single", CapabilityKind::Network),
    ("paho.mqtt.publish.multiple", CapabilityKind::Network),
    ("paramiko.SSHClient", CapabilityKind::Network),
    ("paramiko.Transport", CapabilityKind::Network),
    ("aiohttp.ClientSession", CapabilityKind::Network),
    ("http.client.HTTPConnection", CapabilityKind::Network),
    ("http.client.HTTPSConnection", CapabilityKind::Network),
    ("httplib.HTTPConnection", CapabilityKind::Network),
    ("httplib.HTTPSConnection", CapabilityKind::Network),
    ("socket.socket", CapabilityKind::Network),
    ("socket.create_connection", CapabilityKind::Network),
    ("ftplib.FTP", CapabilityKind::Network),
    ("ftplib.FTP_TLS", CapabilityKind::Network),
    ("smtplib.SMTP", CapabilityKind::Network),
    ("smtplib.SMTP_SSL", CapabilityKind::Network),
    ("websockets.connect", CapabilityKind::Network),
    ("websocket.create_connection", CapabilityKind::Network),
    ("websocket.WebSocketApp", CapabilityKind::Network),
    ("subprocess.", CapabilityKind::Process),
    ("os.system", CapabilityKind::Process),
    ("os.popen", CapabilityKind::Process),
    ("os.startfile", CapabilityKind::Process),
    ("os.execl", CapabilityKind::Process),
    ("os.execle", CapabilityKind::Process),
    ("os.execlp", CapabilityKind::Process),
    ("os.execlpe", CapabilityKind::Process),
    ("os.execv", CapabilityKind::Process),
    ("os.execve", CapabilityKind::Process),
    ("os.execvp", CapabilityKind::Process),
    ("os.execvpe", CapabilityKind::Process),
    ("os.spawnl", CapabilityKind::Process),
    ("os.spawnle", CapabilityKind::Process),
    ("os.spawnlp", CapabilityKind::Process),
    ("os.spawnlpe", CapabilityKind::Process),
    ("os.spawnv", CapabilityKind::Process),
    ("os.spawnve", CapabilityKind::Process),
    ("os.spawnvp", CapabilityKind::Process),
    ("os.spawnvpe", CapabilityKind::Process),
    ("os.posix_spawn", CapabilityKind::Process),
    ("os.posix_spawnp", CapabilityKind::Process),
    ("pty.spawn", CapabilityKind::Process),
    ("commands.getoutput", CapabilityKind::Process),
    ("commands.getstatusoutput", CapabilityKind::Process),
    ("exec", CapabilityKind::DynamicCode),
    ("eval", CapabilityKind::DynamicCode),
    ("compile", CapabilityKind::DynamicCode),
    ("execfile", CapabilityKind::DynamicCode),
    ("marshal.loads", CapabilityKind::DynamicCode),
    ("marshal.load", CapabilityKind::DynamicCode),
    ("pickle.loads", CapabilityKind::DynamicCode),
    ("pickle.load", CapabilityKind::DynamicCode),
    ("cPickle.loads", CapabilityKind::DynamicCode),
    ("cPickle.load", CapabilityKind::DynamicCode),
    ("dill.loads", CapabilityKind::DynamicCode),
    ("dill.load", CapabilityKind::DynamicCode),
    ("shelve.open", CapabilityKind::DynamicCode),
    ("runpy.run_path", CapabilityKind::DynamicCode),
    ("runpy.run_module", CapabilityKind::DynamicCode),
    ("keyring.", CapabilityKind::Credentials),
    ("pip.main", CapabilityKind::Packages),
    ("pip._internal.main", CapabilityKind::Packages),
    ("pip._internal.cli.main.main", CapabilityKind::Packages),
    ("sys.path.append", CapabilityKind::Packages),
    ("sys.path.insert", CapabilityKind::Packages),
    ("sys.path.extend", CapabilityKind::Packages),
    ("site.addsitedir", CapabilityKind::Packages),
    ("zipimport.zipimporter", CapabilityKind::Packages),
    ("ctypes.CDLL", CapabilityKind::NativeCode),
    ("ctypes.PyDLL", CapabilityKind::NativeCode),
    ("ctypes.WinDLL", CapabilityKind::NativeCode),
    ("ctypes.OleDLL", CapabilityKind::NativeCode),
    ("ctypes.cdll.", CapabilityKind::NativeCode),
    ("ctypes.windll.", CapabilityKind::NativeCode),
    ("ctypes.oledll.", CapabilityKind::NativeCode),
    ("ctypes.pydll.", CapabilityKind::NativeCode),
    ("cffi.FFI", CapabilityKind::NativeCode),
    ("os.remove", CapabilityKind::Filesystem),
    ("os.unlink", CapabilityKind::Filesystem),
    ("os.rmdir", CapabilityKind::Filesystem),
    ("os.removedirs", CapabilityKind::Filesystem),
    ("os.rename", CapabilityKind::Filesystem),
    ("os.replace", CapabilityKind::Filesystem),
    ("os.chmod", CapabilityKind::Filesystem),
    ("shutil.rmtree", CapabilityKind::Filesystem),
    ("shutil.move", CapabilityKind::Filesystem),
    ("shutil.copy", CapabilityKind::Filesystem),
    ("shutil.copy2", CapabilityKind::Filesystem),
    ("shutil.copyfile", CapabilityKind::Filesystem),
    ("shutil.copytree", CapabilityKind::Filesystem),
    ("shutil.unpack_archive", CapabilityKind::Filesystem),
    ("zipfile.ZipFile.extractall", CapabilityKind::Filesystem),
    ("tarfile.open.extractall", CapabilityKind::Filesystem),
];

/// Qt and QGIS classes (any of [`QT_ROOTS`], or a bare name from a star import) and what using
/// them means.
const CLASSES: &[(&str, CapabilityKind)] = &[
    ("QNetworkAccessManager", CapabilityKind::Network),
    ("QgsNetworkAccessManager", CapabilityKind::Network),
    ("QgsBlockingNetworkRequest", CapabilityKind::Network),
    ("QgsFileDownloader", CapabilityKind::Network),
    ("QgsNetworkContentFetcher", CapabilityKind::Network),
    ("QgsNetworkContentFetcherTask", CapabilityKind::Network),
    ("QTcpSocket", CapabilityKind::Network),
    ("QUdpSocket", CapabilityKind::Network),
    ("QWebSocket", CapabilityKind::Network),
    ("QFtp", CapabilityKind::Network),
    ("QProcess", CapabilityKind::Process),
    ("QgsRunProcess", CapabilityKind::Process),
    ("QgsBlockingProcess", CapabilityKind::Process),
    ("QgsAuthMethodConfig", CapabilityKind::Credentials),
    ("QgsAuthManager", CapabilityKind::Credentials),
    ("QgsCredentials", CapabilityKind::Credentials),
    ("QLibrary", CapabilityKind::NativeCode),
];

/// Settings keys under which QGIS keeps what a plugin should not rewrite: plugin repositories,
/// proxy and network settings, authentication, Python start-up.
const SENSITIVE_SETTINGS: &[&str] = &[
    "app/plugin_repositories",
    "proxy",
    "qgis/networkandproxy",
    "network/",
    "auth",
    "python/",
    "plugins/",
    "qgis/enablemacros",
    "qgis/defaultpythonmacros",
];

/// The sensitive settings whose rewriting is a threat (the others are only capabilities).
const REWRITE_THREAT_SETTINGS: &[&str] = &[
    "app/plugin_repositories",
    "proxy",
    "qgis/networkandproxy",
    "auth",
    "qgis/enablemacros",
    "qgis/defaultpythonmacros",
];

const SECRET_WORDS: &[&str] = &["password", "passwd", "token", "secret", "apikey", "api_key"];

/// Looks at every Python file: records capabilities, and reports the `qgis` family's threat
/// rules that are active.
pub struct CapabilityScan {
    /// Active rule codes of the `qgis` family.
    pub threat_rules: Vec<&'static str>,
}

impl Family for CapabilityScan {
    fn check(&self) -> Check {
        Check::Qgis
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        let Some(Ok(module)) = file.python() else {
            return;
        };
        let lines = LineIndex::from_source_text(&module.source);
        let mut finder = Finder::new(&module.source, &lines, file.path);
        finder.visit_body(&module.parsed.syntax().body);
        finder.credentials_next_to_network();
        for t in std::mem::take(&mut finder.threats) {
            if !self.threat_rules.contains(&t.code) {
                continue;
            }
            let snippet = finder.snippet_of_line(t.line);
            out.findings.push(
                Finding::new(Check::Qgis, t.code, file.path, t.line, t.column, t.message)
                    .with_snippet(snippet),
            );
        }
        out.capabilities.append(&mut finder.found);
    }
}

struct Finder<'a> {
    source: &'a str,
    lines: &'a LineIndex,
    path: &'a str,
    /// Local name to qualified name, from the imports seen so far.
    aliases: HashMap<String, String>,
    found: Vec<Capability>,
    /// Names bound to decoded or downloaded data (module-wide, in source order: no flow
    /// analysis beyond "this name was last assigned such a value").
    tainted: HashMap<String, Taint>,
    /// Names bound by `with open(<a .py path or QGIS code path>, "w") as f`.
    code_writers: Vec<String>,
    /// Names (`d`, `self.plugin_dir`) last bound to a path inside the plugin's folder, QGIS's
    /// data folder or a temporary folder (module-wide, source order, like `tainted`).
    places: HashMap<String, Place>,
    threats: Vec<Threat>,
}

/// Where a path written to lies, as far as one file shows it. Writes inside the plugin's own
/// folder, QGIS's data (profile) folder and temporary folders are what plugins do every day
/// and are not listed as a capability; the others are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Plugin,
    QgisData,
    Temp,
    /// A literal absolute path elsewhere, the user's home, or anything not derived from the
    /// three folders above (a path from a dialog, a relative path against QGIS's working folder).
    Elsewhere,
}

impl Place {
    fn inside(self) -> bool {
        self != Place::Elsewhere
    }
}

/// Calls returning a temporary file or folder (matched on the end of the qualified name).
const TEMP_PATH_CALLS: &[&str] = &[
    "tempfile.mkdtemp",
    "tempfile.mkstemp",
    "tempfile.mktemp",
    "tempfile.gettempdir",
    "tempfile.TemporaryDirectory",
    "tempfile.NamedTemporaryFile",
    "QDir.tempPath",
    "QgsProcessingUtils.tempFolder",
    "QgsProcessingUtils.generateTempFilename",
    "QgsProcessingUtils.generateTempFileName",
    "QTemporaryDir",
    "QTemporaryFile",
];

/// Calls returning QGIS's data folders (the active profile and its databases).
const QGIS_DATA_CALLS: &[&str] = &[
    "QgsApplication.qgisSettingsDirPath",
    "QgsApplication.qgisUserDatabaseFilePath",
    "QgsApplication.qgisAuthDatabaseFilePath",
    "QgsApplication.customThemesFolder",
    "QgsUserProfileManager.profilesRootPath",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taint {
    Decoded,
    Downloaded,
}

/// A threat rule's evidence, before it becomes a finding.
#[derive(Debug, Clone)]
struct Threat {
    code: &'static str,
    line: u32,
    column: u32,
    message: String,
}

impl<'a> Finder<'a> {
    /// A walk of one file that has seen nothing yet.
    fn new(source: &'a str, lines: &'a LineIndex, path: &'a str) -> Self {
        Finder {
            source,
            lines,
            path,
            aliases: HashMap::default(),
            found: Vec::new(),
            tainted: HashMap::default(),
            code_writers: Vec::new(),
            places: HashMap::default(),
            threats: Vec::new(),
        }
    }

    /// The qualified name of an expression naming something: `os.path.join`, with calls in
    /// the chain written as `name()` (`qgis.core.QgsApplication.authManager().…`).
    fn qualified(&self, expr: &Expr) -> Option<String> {
        let mut name = String::new();
        self.qualified_into(expr, &mut name).then_some(name)
    }

    /// Appends the qualified name of `expr` to `out` (one buffer for the whole chain); false
    /// when it has none, with `out` left in any state.
    fn qualified_into(&self, expr: &Expr, out: &mut String) -> bool {
        match expr {
            Expr::Name(n) => {
                out.push_str(
                    self.aliases
                        .get(n.id.as_str())
                        .map_or(n.id.as_str(), String::as_str),
                );
                true
            }
            Expr::Attribute(a) => {
                if !self.qualified_into(&a.value, out) {
                    return false;
                }
                out.push('.');
                out.push_str(a.attr.id.as_str());
                true
            }
            Expr::Call(c) => {
                // `getattr(module, "name")`, `__import__("os")`, `importlib.import_module("os")`.
                let start = out.len();
                if !self.qualified_into(&c.func, out) {
                    return false;
                }
                match &out[start..] {
                    "getattr" => {
                        out.truncate(start);
                        let Some(base) = c.arguments.args.first() else {
                            return false;
                        };
                        let Some(Expr::StringLiteral(name)) = c.arguments.args.get(1) else {
                            return false;
                        };
                        if !self.qualified_into(base, out) {
                            return false;
                        }
                        out.push('.');
                        out.push_str(name.value.to_str());
                        true
                    }
                    "__import__" | "importlib.import_module" => {
                        out.truncate(start);
                        let Some(Expr::StringLiteral(module)) = c.arguments.args.first() else {
                            return false;
                        };
                        out.push_str(module.value.to_str());
                        true
                    }
                    _ => {
                        out.push_str("()");
                        true
                    }
                }
            }
            _ => false,
        }
    }

    fn threat(&mut self, code: &'static str, at: TextSize, message: String) {
        let line = self.line_of(at);
        let start = self
            .lines
            .line_start(self.lines.line_index(at), self.source);
        let column = self.source[usize::from(start)..usize::from(at)]
            .chars()
            .count() as u32
            + 1;
        self.threats.push(Threat {
            code,
            line,
            column,
            message,
        });
    }

    fn snippet_of_line(&self, line: u32) -> String {
        let Some(index) = ruff_source_file::OneIndexed::new(line as usize) else {
            return String::new();
        };
        let start = self.lines.line_start(index, self.source);
        self.snippet_at(start)
    }

    /// Whether an expression carries decoded (or downloaded) data: a decoder call, a reversed
    /// slice, a `chr` chain, or a name bound to such data, anywhere inside it.
    fn carries(&self, expr: &Expr, taint: Taint) -> bool {
        let (decoded, downloaded) =
            self.carried(expr, taint == Taint::Decoded, taint == Taint::Downloaded);
        decoded || downloaded
    }

    /// Which of the two taints `expr` carries, among those asked for, in one walk: each is
    /// true when some node the walk reaches shows it (a `….dumps(…)` call and what is inside
    /// it are not reached, whatever the taint).
    fn carried(&self, expr: &Expr, decoded: bool, downloaded: bool) -> (bool, bool) {
        struct Probe<'f, 'a> {
            finder: &'f Finder<'a>,
            /// Still looked for: decoded, downloaded.
            open: [bool; 2],
            hit: [bool; 2],
        }
        impl Probe<'_, '_> {
            fn looking(&self, taint: Taint) -> bool {
                let i = taint as usize;
                self.open[i] && !self.hit[i]
            }
            fn done(&self) -> bool {
                !self.looking(Taint::Decoded) && !self.looking(Taint::Downloaded)
            }
        }
        impl<'e> Visitor<'e> for Probe<'_, '_> {
            fn visit_expr(&mut self, expr: &'e Expr) {
                if self.done() {
                    return;
                }
                match expr {
                    Expr::Name(n) => {
                        if let Some(&t) = self.finder.tainted.get(n.id.as_str())
                            && self.looking(t)
                        {
                            self.hit[t as usize] = true;
                        }
                    }
                    Expr::Call(c) => {
                        let name = self.finder.qualified(&c.func).unwrap_or_default();
                        let plain = without_calls(&name);
                        // `pickle.loads(pickle.dumps(obj))` round-trips the plugin's own
                        // object: what `dumps` makes is not downloaded or decoded data.
                        if plain.ends_with(".dumps") {
                            return;
                        }
                        if self.looking(Taint::Decoded) {
                            self.hit[Taint::Decoded as usize] = qgis::DECODERS
                                .contains(&plain.as_ref())
                                || (plain.ends_with(".decode")
                                    && c.arguments
                                        .args
                                        .first()
                                        .and_then(string_literal)
                                        .is_some_and(|codec| {
                                            matches!(
                                                codec.to_ascii_lowercase().as_str(),
                                                "hex"
                                                    | "base64"
                                                    | "zlib"
                                                    | "bz2"
                                                    | "rot13"
                                                    | "rot_13"
                                            )
                                        }));
                        }
                        if self.looking(Taint::Downloaded) {
                            self.hit[Taint::Downloaded as usize] = match_call(&plain)
                                == Some(CapabilityKind::Network)
                                || match_class(&plain)
                                    .is_some_and(|(_, k)| k == CapabilityKind::Network);
                        }
                    }
                    Expr::Subscript(s) if self.looking(Taint::Decoded) => {
                        // `payload[::-1]`: reversed bytes or text.
                        if let Expr::Slice(slice) = s.slice.as_ref()
                            && let Some(step) = &slice.step
                            && let Expr::UnaryOp(u) = step.as_ref()
                            && matches!(u.op, ast::UnaryOp::USub)
                            && matches!(u.operand.as_ref(), Expr::NumberLiteral(_))
                        {
                            self.hit[Taint::Decoded as usize] = true;
                        }
                    }
                    _ => {}
                }
                if !self.done() {
                    visitor::walk_expr(self, expr);
                }
            }
        }
        let mut probe = Probe {
            finder: self,
            open: [decoded, downloaded],
            hit: [false; 2],
        };
        probe.visit_expr(expr);
        (probe.hit[0], probe.hit[1])
    }

    /// QGIS005: the QGIS credential store (or keyring) read in a file that also talks to the
    /// network; reported once per file, at the first credential read.
    fn credentials_next_to_network(&mut self) {
        let has_network = self.found.iter().any(|c| c.kind == CapabilityKind::Network);
        let first_credential = self
            .found
            .iter()
            .filter(|c| c.kind == CapabilityKind::Credentials)
            .min_by_key(|c| c.line)
            .map(|c| (c.line, c.api.clone()));
        if has_network && let Some((line, api)) = first_credential {
            self.threats.push(Threat {
                code: qgis::CREDENTIALS_NETWORK,
                line,
                column: 1,
                message: format!(
                    "stored credentials are read ({api}) in a file that also talks to the network; \
                     check where they are sent"
                ),
            });
        }
    }

    fn line_of(&self, offset: TextSize) -> u32 {
        self.lines.line_index(offset).get() as u32
    }

    fn snippet_at(&self, offset: TextSize) -> String {
        let line = self.lines.line_index(offset);
        let start = self.lines.line_start(line, self.source);
        let end = self.lines.line_end(line, self.source);
        let text = self.source[usize::from(start)..usize::from(end)].trim();
        cut(&mask_url_credentials(text), SNIPPET_CHARS)
    }

    fn push(&mut self, kind: CapabilityKind, api: String, at: TextSize, target: Option<String>) {
        self.threats_of_capability(kind, &api, at, target.as_deref());
        let target = target.map(|t| cut(&mask_url_credentials(&t), TARGET_CHARS));
        self.found.push(Capability {
            kind,
            api,
            path: self.path.to_string(),
            line: self.line_of(at),
            snippet: self.snippet_at(at),
            target,
        });
    }

    /// The threat rules that follow from a capability and its literal target.
    fn threats_of_capability(
        &mut self,
        kind: CapabilityKind,
        api: &str,
        at: TextSize,
        target: Option<&str>,
    ) {
        match kind {
            CapabilityKind::QgisEnvironment if api.ends_with("open") => {
                let path = target.unwrap_or_default();
                self.threat(
                    qgis::PLANTED_CODE,
                    at,
                    format!(
                        "writes to a file QGIS runs as code: {}",
                        cut(path, TARGET_CHARS)
                    ),
                );
            }
            CapabilityKind::QgisEnvironment
                if api.ends_with(".setValue") || api.ends_with(".remove") =>
            {
                let key = target.unwrap_or_default();
                let lower = key.to_ascii_lowercase();
                if REWRITE_THREAT_SETTINGS.iter().any(|s| lower.starts_with(s)) {
                    self.threat(
                        qgis::SETTINGS_REWRITE,
                        at,
                        format!("rewrites the QGIS setting {key}"),
                    );
                }
            }
            CapabilityKind::Packages
                if !api.starts_with("sys.path")
                    && api != "site.addsitedir"
                    && api != "zipimport.zipimporter" =>
            {
                self.threat(
                    qgis::RUNTIME_PACKAGES,
                    at,
                    format!(
                        "installs packages at run time ({api}{})",
                        target
                            .map(|t| format!(": {}", cut(t, TARGET_CHARS)))
                            .unwrap_or_default()
                    ),
                );
            }
            CapabilityKind::Network => {
                if let Some(t) = target
                    && qgis::is_public_ip_literal(qgis::host_of(t))
                {
                    self.threat(
                        qgis::LITERAL_IP,
                        at,
                        format!(
                            "talks to the literal IP address {} ({api})",
                            qgis::host_of(t)
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    /// Whether every path a file-system call writes or deletes lies inside the plugin's folder,
    /// QGIS's data folder or a temporary folder.
    fn writes_inside(&self, call: &ast::ExprCall, api: &str) -> bool {
        let function = api.rsplit('.').next().unwrap_or(api);
        // Positions (and keyword names) of the paths written or removed.
        let written: &[(usize, &[&str])] = match function {
            "copy" | "copy2" | "copyfile" | "copytree" => &[(1, &["dst"])],
            "unpack_archive" => &[(1, &["extract_dir"])],
            "move" | "rename" | "replace" => &[(0, &["src"]), (1, &["dst"])],
            _ => &[(0, &["path", "file", "name"])],
        };
        written.iter().all(|(position, keywords)| {
            let arg = call.arguments.args.get(*position).or_else(|| {
                call.arguments.keywords.iter().find_map(|k| {
                    k.arg
                        .as_ref()
                        .filter(|a| keywords.contains(&a.id.as_str()))
                        .map(|_| &k.value)
                })
            });
            // A missing destination is the working folder (`extractall()`): not inside.
            arg.is_some_and(|a| self.place_of(a, 0).inside())
        })
    }

    /// Where a path expression points, from its root: `__file__`, a temporary or QGIS data
    /// folder call, a name bound to one of those, or a literal.
    fn place_of(&self, expr: &Expr, depth: u8) -> Place {
        if depth > 24 {
            return Place::Elsewhere;
        }
        match expr {
            Expr::StringLiteral(lit) => literal_place(lit.value.to_str()),
            Expr::Name(n) if n.id.as_str() == "__file__" => Place::Plugin,
            Expr::Name(n) => self
                .places
                .get(n.id.as_str())
                .copied()
                .unwrap_or(Place::Elsewhere),
            Expr::Attribute(a) => match place_key(expr).and_then(|k| self.places.get(&k)) {
                Some(p) => *p,
                // `Path(__file__).parent`, `tmp.name`: the object decides.
                None => self.place_of(&a.value, depth + 1),
            },
            Expr::Call(c) => {
                if let Some(name) = self.qualified(&c.func) {
                    let plain = without_calls(&name);
                    if TEMP_PATH_CALLS.iter().any(|t| ends_with_name(&plain, t)) {
                        return Place::Temp;
                    }
                    if QGIS_DATA_CALLS.iter().any(|t| ends_with_name(&plain, t)) {
                        return Place::QgisData;
                    }
                    if ends_with_name(&plain, "QStandardPaths.writableLocation") {
                        return standard_location_place(c);
                    }
                    if matches!(
                        plain.as_ref(),
                        "os.path.expanduser"
                            | "os.getcwd"
                            | "pathlib.Path.home"
                            | "pathlib.Path.cwd"
                    ) {
                        return Place::Elsewhere;
                    }
                }
                // A method of a path object (`base.joinpath(…)`, `p.with_suffix(…)`).
                if let Expr::Attribute(a) = c.func.as_ref() {
                    let object = self.place_of(&a.value, depth + 1);
                    if object.inside() {
                        return object;
                    }
                }
                // A function of paths: its first argument decides (`os.path.join(base, …)`,
                // `Path(base)`, `str(p)`, `os.path.dirname(p)`).
                c.arguments
                    .args
                    .first()
                    .map_or(Place::Elsewhere, |a| self.place_of(a, depth + 1))
            }
            // `base + "/x"`, `Path(base) / "x"`, `"%s/x" % base`.
            Expr::BinOp(b) => match self.place_of(&b.left, depth + 1) {
                Place::Elsewhere if b.op == ast::Operator::Mod => {
                    self.place_of(&b.right, depth + 1)
                }
                p => p,
            },
            Expr::FString(f) => match f.value.elements().next() {
                Some(ast::InterpolatedStringElement::Interpolation(i)) => {
                    self.place_of(&i.expression, depth + 1)
                }
                Some(ast::InterpolatedStringElement::Literal(l)) => literal_place(&l.value),
                None => Place::Elsewhere,
            },
            Expr::Tuple(t) => t
                .elts
                .first()
                .map_or(Place::Elsewhere, |e| self.place_of(e, depth + 1)),
            _ => Place::Elsewhere,
        }
    }

    /// Remembers (or forgets) that `target` now names a path inside a known folder.
    fn bind_place(&mut self, target: &Expr, place: Place) {
        if !place.inside() && self.places.is_empty() {
            // Nothing to forget.
            return;
        }
        let keys: Vec<String> = match target {
            Expr::Tuple(t) => t.elts.iter().filter_map(place_key).collect(),
            Expr::List(l) => l.elts.iter().filter_map(place_key).collect(),
            other => place_key(other).into_iter().collect(),
        };
        for key in keys {
            if place.inside() {
                self.places.insert(key, place);
            } else {
                self.places.remove(&key);
            }
        }
    }

    fn call(&mut self, call: &ast::ExprCall) {
        let Some(name) = self.qualified(&call.func) else {
            return;
        };
        self.threats_of_call(call, &without_calls(&name));
        // A method called on a call's result (`requests.get(u).json()`,
        // `QgsNetworkAccessManager.instance().get(r)`): the inner call was recorded already.
        if name.contains("()") {
            let plain = name.replace("()", "");
            // Only methods listed by their full path count here (`zipfile.ZipFile(z)
            // .extractall()`), never the prefix rule that would repeat the inner call.
            if let Some((_, kind)) = calls_under(&plain)
                .iter()
                .find(|(entry, _)| *entry == plain)
                && !(*kind == CapabilityKind::Filesystem && self.writes_inside(call, &plain))
            {
                self.push(*kind, plain.clone(), call.start(), first_target(call));
            }
            return self.settings_or_open(call, &plain);
        }
        let plain = name;
        let at = call.start();
        let target = first_target(call);
        if let Some(kind) = match_call(&plain) {
            if kind == CapabilityKind::Filesystem && self.writes_inside(call, &plain) {
                // Inside the plugin's, QGIS's or a temporary folder: everyday work.
                return self.settings_or_open(call, &plain);
            }
            self.push(kind, plain.clone(), at, target.clone());
            if kind == CapabilityKind::Process && target.as_deref().is_some_and(is_pip_install) {
                self.push(CapabilityKind::Packages, plain.clone(), at, target.clone());
            }
        } else if let Some((class, kind)) = match_class(&plain) {
            let api = plain
                .split('.')
                .take_while(|s| *s != class)
                .chain(std::iter::once(class))
                .collect::<Vec<_>>()
                .join(".");
            self.push(kind, api, at, target.clone());
        }
        // Computed imports: the module name is only known at run time.
        if matches!(plain.as_str(), "__import__" | "importlib.import_module")
            && call
                .arguments
                .args
                .first()
                .and_then(string_literal)
                .is_none()
        {
            self.push(CapabilityKind::DynamicCode, plain.clone(), at, None);
        }
        // `QgsApplication.authManager()` and master-password handling.
        if plain.ends_with("QgsApplication.authManager")
            || plain.contains("QgsAuthManager")
            || plain.ends_with(".masterPasswordIsSet")
            || plain.ends_with(".setMasterPassword")
        {
            self.push(CapabilityKind::Credentials, plain.clone(), at, None);
        }
        self.settings_or_open(call, &plain);
    }

    /// The threat rules that look at one call.
    fn threats_of_call(&mut self, call: &ast::ExprCall, plain: &str) {
        let at = call.start();
        let args = &call.arguments.args;
        // QGIS001 / QGIS002: decoded or downloaded data handed to something that runs it.
        if qgis::EXEC_SINKS.contains(&plain)
            && let Some(arg) = args.first()
        {
            if self.carries(arg, Taint::Decoded) {
                self.threat(
                    qgis::DECODED_EXEC,
                    at,
                    format!("{plain}() runs data that was decoded first (base64, zlib, hex, chr, reversal)"),
                );
            } else if self.carries(arg, Taint::Downloaded) {
                self.threat(
                    qgis::DOWNLOAD_EXEC,
                    at,
                    format!("{plain}() runs data that was downloaded"),
                );
            }
        }
        // QGIS002: a download saved as code (`urlretrieve(url, "x.py")`, `QgsFileDownloader`).
        let downloader = matches!(plain, "urllib.request.urlretrieve" | "urllib.urlretrieve")
            || plain.ends_with("QgsFileDownloader");
        if downloader
            && let Some(dest) = args.get(1).and_then(string_literal)
            && is_code_path(&dest)
        {
            self.threat(
                qgis::DOWNLOAD_EXEC,
                at,
                format!("a download is saved as code: {}", cut(&dest, TARGET_CHARS)),
            );
        }
        // QGIS002: `f.write(downloaded)` where `f` was opened on a code path.
        if let Expr::Attribute(a) = call.func.as_ref()
            && a.attr.id.as_str() == "write"
            && let Expr::Name(n) = a.value.as_ref()
            && self.code_writers.iter().any(|w| w == n.id.as_str())
            && let Some(arg) = args.first()
            && self.carries(arg, Taint::Downloaded)
        {
            self.threat(
                qgis::DOWNLOAD_EXEC,
                at,
                "downloaded data is written to a Python file".into(),
            );
        }
        // QGIS003: copying or moving files into QGIS's start-up code or plugin folders.
        if matches!(
            plain,
            "shutil.copy" | "shutil.copy2" | "shutil.copyfile" | "shutil.copytree" | "shutil.move"
        ) && let Some(dest) = args.get(1).and_then(string_literal)
            && touches_qgis_code(&dest)
        {
            self.threat(
                qgis::PLANTED_CODE,
                at,
                format!(
                    "{plain}() puts files where QGIS runs code: {}",
                    cut(&dest, TARGET_CHARS)
                ),
            );
        }
        // QGIS007: a socket connected to a literal public IP address.
        if (plain.ends_with(".connect") || plain == "socket.create_connection")
            && let Some(Expr::Tuple(t)) = args.first()
            && let Some(host) = t.elts.first().and_then(string_literal)
            && qgis::is_public_ip_literal(&host)
        {
            self.threat(
                qgis::LITERAL_IP,
                at,
                format!("connects to the literal IP address {host}"),
            );
        }
    }

    /// Settings reads and writes (`QSettings().value(…)` is a call on a call) and `open()`.
    fn settings_or_open(&mut self, call: &ast::ExprCall, plain: &str) {
        let at = call.start();
        // QSettings / QgsSettings: reads of secrets, writes of sensitive keys.
        let settings = plain.contains("QSettings") || plain.contains("QgsSettings");
        if settings && let Some(key) = call.arguments.args.first().and_then(string_literal) {
            let lower = key.to_ascii_lowercase();
            if plain.ends_with(".value") && SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                self.push(
                    CapabilityKind::Credentials,
                    plain.to_string(),
                    at,
                    Some(key.clone()),
                );
            }
            if (plain.ends_with(".setValue") || plain.ends_with(".remove"))
                && SENSITIVE_SETTINGS.iter().any(|s| lower.starts_with(s))
            {
                self.push(
                    CapabilityKind::QgisEnvironment,
                    plain.to_string(),
                    at,
                    Some(key),
                );
            }
        }
        // `open(path, "w")` and friends: writes; into QGIS's start-up or plugin folders they
        // change QGIS itself.
        if matches!(plain, "open" | "io.open" | "codecs.open") && opens_for_writing(call) {
            let path = call.arguments.args.first().and_then(string_literal);
            let kind = if path.as_deref().is_some_and(touches_qgis_code) {
                CapabilityKind::QgisEnvironment
            } else if self.writes_inside(call, plain) {
                return;
            } else {
                CapabilityKind::Filesystem
            };
            self.push(kind, plain.to_string(), at, path);
        }
    }
}

impl<'a> Visitor<'a> for Finder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let full = alias.name.id.to_string();
                    match &alias.asname {
                        Some(asname) => {
                            self.aliases.insert(asname.id.to_string(), full);
                        }
                        None => {
                            // `import a.b` binds `a`.
                            let root = full.split('.').next().unwrap_or(&full).to_string();
                            self.aliases.insert(root.clone(), root);
                        }
                    }
                }
            }
            Stmt::ImportFrom(imp) => {
                if let Some(module) = &imp.module {
                    for alias in &imp.names {
                        let key = alias.asname.as_ref().unwrap_or(&alias.name).id.to_string();
                        if alias.name.id.as_str() != "*" {
                            self.aliases
                                .insert(key, format!("{}.{}", module.id, alias.name.id));
                        }
                    }
                }
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(var) = item.optional_vars.as_deref() {
                        let place = self.place_of(&item.context_expr, 0);
                        self.bind_place(var, place);
                    }
                    if let Expr::Call(c) = &item.context_expr
                        && let Some(name) = self.qualified(&c.func)
                        && matches!(name.as_str(), "open" | "io.open" | "codecs.open")
                        && opens_for_writing(c)
                        && c.arguments
                            .args
                            .first()
                            .and_then(string_literal)
                            .is_some_and(|p| is_code_path(&p))
                        && let Some(Expr::Name(n)) = item.optional_vars.as_deref()
                    {
                        self.code_writers.push(n.id.to_string());
                    }
                }
            }
            Stmt::Assign(assign) => {
                let place = self.place_of(&assign.value, 0);
                for target in &assign.targets {
                    self.bind_place(target, place);
                }
                if let [Expr::Name(n)] = assign.targets.as_slice() {
                    let taint = match self.carried(&assign.value, true, true) {
                        (true, _) => Some(Taint::Decoded),
                        (false, true) => Some(Taint::Downloaded),
                        (false, false) => None,
                    };
                    match taint {
                        Some(t) => {
                            self.tainted.insert(n.id.to_string(), t);
                        }
                        None => {
                            self.tainted.remove(n.id.as_str());
                        }
                    }
                }
                // `s = QSettings()`: later `s.value(…)` reads as `QSettings().value(…)`. Only
                // what a name is bound to last, in source order: no flow analysis.
                if let [Expr::Name(n)] = assign.targets.as_slice()
                    && let Expr::Call(c) = assign.value.as_ref()
                    && let Some(callee) = self.qualified(&c.func)
                    && !callee.is_empty()
                {
                    self.aliases.insert(n.id.to_string(), format!("{callee}()"));
                }
                // `qgis.utils.showException = mine` or `iface.addToolBar = mine`: replacing
                // QGIS's own functions.
                for target in &assign.targets {
                    if let Expr::Attribute(a) = target
                        && let Some(base) = self.qualified(&a.value)
                        && (base == "qgis.utils" || base == "iface" || base.ends_with(".iface"))
                    {
                        self.push(
                            CapabilityKind::QgisEnvironment,
                            format!("{base}.{}", a.attr.id),
                            stmt.start(),
                            None,
                        );
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => self.call(call),
            Expr::StringLiteral(lit)
                if lit.range().len() > TextSize::from(qgis::MIN_BLOB_CHARS as u32)
                    && qgis::blob_is_python(lit.value.to_str()) =>
            {
                self.threat(
                    qgis::ENCODED_PYTHON,
                    lit.start(),
                    format!(
                        "a {}-character encoded string decodes to Python code",
                        lit.value.to_str().len()
                    ),
                );
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// `name` with the `()` of calls in its chain left out (`QSettings().value` →
/// `QSettings.value`); borrowed when there is none.
fn without_calls(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains("()") {
        std::borrow::Cow::Owned(name.replace("()", ""))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// The entries of [`CALLS`] whose first name part is that of `name`, in list order: no other
/// entry can match `name`, whole or as a prefix at a `.` boundary.
fn calls_under(name: &str) -> &'static [(&'static str, CapabilityKind)] {
    static INDEX: std::sync::OnceLock<Vec<(&'static str, Vec<(&'static str, CapabilityKind)>)>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index: Vec<(&'static str, Vec<(&'static str, CapabilityKind)>)> = Vec::new();
        for &(entry, kind) in CALLS {
            let root = first_part(entry);
            match index.iter_mut().find(|(r, _)| *r == root) {
                Some((_, entries)) => entries.push((entry, kind)),
                None => index.push((root, vec![(entry, kind)])),
            }
        }
        index.sort_by_key(|(root, _)| *root);
        index
    });
    let root = first_part(name);
    index
        .binary_search_by_key(&root, |(r, _)| *r)
        .map_or(&[], |i| index[i].1.as_slice())
}

fn first_part(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

fn match_call(name: &str) -> Option<CapabilityKind> {
    calls_under(name)
        .iter()
        .find_map(|(entry, kind)| call_entry_matches(entry, name).then_some(*kind))
}

/// Whether `name` is the [`CALLS`] entry, or lies under it at a `.` boundary (an entry ending
/// in `.` matches only what lies under it).
fn call_entry_matches(entry: &str, name: &str) -> bool {
    match entry.strip_suffix('.') {
        Some(module) => name
            .strip_prefix(module)
            .is_some_and(|rest| rest.starts_with('.')),
        None => {
            name == entry
                || name
                    .strip_prefix(entry)
                    .is_some_and(|rest| rest.starts_with('.'))
        }
    }
}

/// A Qt or QGIS class anywhere in the name, reached from a Qt/QGIS module or a bare name.
fn match_class(name: &str) -> Option<(&'static str, CapabilityKind)> {
    let mut segments = name.split('.');
    let root = segments.next()?;
    let from_qt = QT_ROOTS.contains(&root);
    std::iter::once(root)
        .chain(segments)
        .enumerate()
        .find_map(|(i, seg)| {
            CLASSES
                .iter()
                .find(|(class, _)| *class == seg && (from_qt || i == 0))
                .map(|(class, kind)| (*class, *kind))
        })
}

/// The key a path is remembered under: `name` or `object.attribute` (`self.plugin_dir`).
fn place_key(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => match a.value.as_ref() {
            Expr::Name(n) => Some(format!("{}.{}", n.id, a.attr.id)),
            _ => None,
        },
        _ => None,
    }
}

/// `name` is `suffix` or ends with `.suffix`.
fn ends_with_name(name: &str, suffix: &str) -> bool {
    name == suffix
        || name
            .strip_suffix(suffix)
            .is_some_and(|head| head.ends_with('.'))
}

/// A literal path: only the well-known temporary folders count as inside; a relative path is
/// resolved against QGIS's working folder, which is not the plugin's.
fn literal_place(path: &str) -> Place {
    let p = path.replace('\\', "/").to_ascii_lowercase();
    if p.starts_with("/tmp/")
        || p == "/tmp"
        || p.starts_with("/var/tmp")
        || p.starts_with("%temp%")
        || p.starts_with("%tmp%")
        || p.starts_with("$tmpdir")
    {
        Place::Temp
    } else {
        Place::Elsewhere
    }
}

/// `QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)`: application data, cache,
/// configuration and temporary locations are QGIS's own; documents, desktop, home are not.
fn standard_location_place(call: &ast::ExprCall) -> Place {
    let Some(Expr::Attribute(a)) = call.arguments.args.first() else {
        return Place::Elsewhere;
    };
    match a.attr.id.as_str() {
        "TempLocation" => Place::Temp,
        "AppDataLocation"
        | "AppLocalDataLocation"
        | "AppConfigLocation"
        | "CacheLocation"
        | "GenericCacheLocation"
        | "DataLocation" => Place::QgisData,
        _ => Place::Elsewhere,
    }
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// A literal first argument (or `url=`/`args=`/`cmd=` keyword): a string, or a list/tuple of
/// strings joined by spaces (a command line).
fn first_target(call: &ast::ExprCall) -> Option<String> {
    let arg = call.arguments.args.first().or_else(|| {
        call.arguments.keywords.iter().find_map(|k| {
            k.arg
                .as_ref()
                .filter(|a| matches!(a.id.as_str(), "url" | "args" | "cmd" | "command" | "file"))
                .map(|_| &k.value)
        })
    })?;
    match arg {
        Expr::StringLiteral(_) => string_literal(arg),
        Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
            // `[sys.executable, "-m", "pip", "install", x]` reads `… -m pip install …`.
            let parts: Vec<Option<String>> = elts.iter().map(string_literal).collect();
            parts.iter().any(Option::is_some).then(|| {
                parts
                    .into_iter()
                    .map(|p| p.unwrap_or_else(|| "…".into()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        }
        _ => None,
    }
}

fn is_pip_install(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .iter()
        .any(|w| w.ends_with("pip") || w.ends_with("pip3") || *w == "pip")
        && words.contains(&"install")
}

fn opens_for_writing(call: &ast::ExprCall) -> bool {
    let mode = call.arguments.args.get(1).or_else(|| {
        call.arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "mode"))
            .map(|k| &k.value)
    });
    mode.and_then(string_literal)
        .is_some_and(|m| m.contains(['w', 'a', 'x', '+']))
}

/// A path that holds code: a Python file or archive, or anything in QGIS's code folders.
fn is_code_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.ends_with(".py")
        || p.ends_with(".pyc")
        || p.ends_with(".zip")
        || p.ends_with(".whl")
        || touches_qgis_code(path)
}

/// Paths whose code QGIS runs at every start or that belong to other plugins.
fn touches_qgis_code(path: &str) -> bool {
    let p = path.replace('\\', "/").to_ascii_lowercase();
    p.ends_with("startup.py") || p.contains("/python/plugins") || p.contains("python/startup")
}

/// `scheme://user:password@host` with the password masked.
fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, pass)) if !pass.is_empty() => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(&crate::report::mask_secret(pass));
                        out.push_str(&authority[at..]);
                    }
                    _ => out.push_str(authority),
                }
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max).collect::<String>() + "…"
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each name is bound to after a module, as the capability walk records it.
    fn taints_after(source: &str) -> Vec<(String, Taint)> {
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let lines = LineIndex::from_source_text(source);
        let mut finder = Finder::new(source, &lines, "p.py");
        finder.visit_body(&parsed.syntax().body);
        let mut taints: Vec<(String, Taint)> = finder.tainted.into_iter().collect();
        taints.sort_by(|a, b| a.0.cmp(&b.0));
        taints
    }

    /// One walk answers for both taints as two walks did: decoded wins when a value carries
    /// both, a `dumps` call hides what is inside it, names pass their taint on, and a new
    /// value clears it.
    #[test]
    fn assignments_take_the_taint_of_their_value() {
        let taints = taints_after(
            "import base64, pickle, requests\n\
             import urllib.request as u\n\
             both = base64.b64decode(u.urlopen(x).read())\n\
             net = u.urlopen(x).read()\n\
             rev = s[::-1] + requests.get(x).text\n\
             kept = pickle.dumps(base64.b64decode(s))\n\
             passed = net\n\
             gone = net\n\
             gone = 1\n\
             text = data.decode('HEX')\n\
             plain = data.decode('utf-8')\n",
        );
        assert_eq!(
            taints,
            [
                ("both".to_string(), Taint::Decoded),
                ("net".to_string(), Taint::Downloaded),
                ("passed".to_string(), Taint::Downloaded),
                ("rev".to_string(), Taint::Decoded),
                ("text".to_string(), Taint::Decoded),
            ]
        );
    }

    /// The indexed lookup finds what a walk over the whole list finds, for names built from
    /// every entry: whole, extended, cut short, under another root, with and without a dot.
    #[test]
    fn calls_are_matched_as_by_the_whole_list() {
        fn by_list(name: &str) -> Option<CapabilityKind> {
            CALLS
                .iter()
                .find_map(|(entry, kind)| call_entry_matches(entry, name).then_some(*kind))
        }
        let mut names = vec![String::new(), ".".into(), "x".into(), "os.path.join".into()];
        for (entry, _) in CALLS {
            let bare = entry.trim_end_matches('.');
            names.extend([
                entry.to_string(),
                bare.to_string(),
                format!("{bare}.run"),
                format!("{bare}x"),
                format!("{bare}.x.y"),
                format!("x.{bare}"),
                bare[..bare.len() - 1].to_string(),
                first_part(bare).to_string(),
                format!("{}.", first_part(bare)),
            ]);
        }
        let mut hits = 0;
        for name in &names {
            let expected = by_list(name);
            assert_eq!(match_call(name), expected, "{name:?}");
            hits += usize::from(expected.is_some());
            let exact = CALLS.iter().find(|(e, _)| e == name).map(|(_, k)| *k);
            let indexed = calls_under(name)
                .iter()
                .find(|(e, _)| e == name)
                .map(|(_, k)| *k);
            assert_eq!(indexed, exact, "{name:?}");
        }
        assert!(
            hits > CALLS.len() && hits < names.len(),
            "{hits} of {}",
            names.len()
        );
    }

    #[test]
    fn url_credentials_are_masked() {
        assert_eq!(
            mask_url_credentials("get('https://bob:hunter22@example.org/x')"),
            "get('https://bob:hu…@example.org/x')"
        );
        assert_eq!(
            mask_url_credentials("https://example.org/a@b"),
            "https://example.org/a@b"
        );
    }

    #[test]
    fn calls_match_at_dot_boundaries() {
        assert_eq!(match_call("requests.get"), Some(CapabilityKind::Network));
        assert_eq!(match_call("requests_cache.get"), None);
        assert_eq!(match_call("os.system"), Some(CapabilityKind::Process));
        assert_eq!(match_call("os.systemd"), None);
        assert_eq!(
            match_call("ctypes.cdll.LoadLibrary"),
            Some(CapabilityKind::NativeCode)
        );
        assert_eq!(
            match_class("qgis.core.QgsNetworkAccessManager.instance.get"),
            Some(("QgsNetworkAccessManager", CapabilityKind::Network))
        );
        assert_eq!(
            match_class("QProcess"),
            Some(("QProcess", CapabilityKind::Process))
        );
        assert_eq!(match_class("mylib.QProcess"), None);
    }
}
