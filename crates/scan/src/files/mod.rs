//! The files check family: names, permission bits and, above all, content. Every file is
//! identified by its magic bytes; programs, scripts and archives are reported whatever their
//! name, a name that disagrees with the content is reported as a mismatch, and the usual assets
//! of a QGIS plugin stay quiet when their content is what their name says. Nested ZIP archives
//! are opened (within the archive limits) and their entries analysed as `outer.zip!/inner`.

pub mod magic;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::archive::{self, ArchiveLimits};
use crate::catalog::FamilyRule;
use crate::family::{Family, FamilyOutput, ScanSetup, SourceFile};
use crate::report::{Check, Finding, ScanError};

use magic::Content;

pub const EXECUTABLE: &str = "FILE_EXECUTABLE";
pub const HIDDEN: &str = "FILE_HIDDEN";
pub const SUSPICIOUS: &str = "FILE_SUSPICIOUS";
pub const BINARY: &str = "FILE_BINARY";
pub const CONTENT_MISMATCH: &str = "FILE_CONTENT_MISMATCH";
pub const NESTED_ARCHIVE: &str = "FILE_NESTED_ARCHIVE";
pub const SVG_SCRIPT: &str = "FILE_SVG_SCRIPT";

/// The file rules. None belongs to bandit, detect-secrets or flake8, so none runs under
/// `--profile tool-defaults`.
pub const RULES: &[FamilyRule] = &[
    FamilyRule {
        code: EXECUTABLE,
        name: "Executable file",
        tool_default: false,
    },
    FamilyRule {
        code: HIDDEN,
        name: "Hidden file",
        tool_default: false,
    },
    FamilyRule {
        code: SUSPICIOUS,
        name: "Suspicious file type",
        tool_default: false,
    },
    FamilyRule {
        code: BINARY,
        name: "Binary file",
        tool_default: false,
    },
    FamilyRule {
        code: CONTENT_MISMATCH,
        name: "Content does not match extension",
        tool_default: false,
    },
    FamilyRule {
        code: NESTED_ARCHIVE,
        name: "Nested archive",
        tool_default: false,
    },
    FamilyRule {
        code: SVG_SCRIPT,
        name: "SVG with script",
        tool_default: false,
    },
];

/// Hidden names that are expected: version-control and scanner configuration.
const ALLOWED_HIDDEN: &[&str] = &[
    ".gitignore",
    ".gitattributes",
    ".bandit",
    ".flake8",
    ".secrets.baseline",
];

/// Extensions of programs and scripts for the operating system (plugins.qgis.org's list and
/// their relatives).
const SUSPICIOUS_EXT: &[&str] = &[
    "exe", "dll", "so", "dylib", "bat", "cmd", "com", "sh", "bash", "zsh", "ksh", "csh", "ps1",
    "psm1", "psd1", "vbs", "vbe", "jse", "wsf", "wsh", "scr", "msi", "msp", "cpl", "pif", "hta",
    "reg", "lnk", "jar", "pyd", "bin", "run", "app", "command", "apk", "deb", "rpm", "elf", "sys",
    "ocx", "drv",
];

/// Extensions whose content is a ZIP container by design (documents, QGIS projects); they are
/// neither nested archives nor opened.
const ZIP_DOCUMENTS: &[&str] = &[
    "qgz", "docx", "xlsx", "pptx", "odt", "ods", "odp", "odg", "kmz", "epub", "3mf", "xlsm", "ora",
];

/// What an extension says the content is, for extensions that say something.
fn expected(ext: &str) -> Option<&'static [Content]> {
    use Content::*;
    Some(match ext {
        "png" => &[Png],
        "jpg" | "jpeg" | "jpe" => &[Jpeg],
        "gif" => &[Gif],
        "ico" => &[Ico, Png],
        "bmp" => &[Bmp],
        "tif" | "tiff" => &[Tiff],
        "webp" => &[Webp],
        "pdf" => &[Pdf],
        "qm" => &[QtTranslation],
        "rcc" => &[QtResource],
        "gpkg" | "sqlite" | "sqlite3" | "db" | "mbtiles" => &[Sqlite],
        "ttf" | "otf" | "ttc" | "woff" | "woff2" => &[Font],
        "zip" | "jar" | "whl" | "egg" | "nupkg" | "apk" => &[Zip],
        "tar" => &[Tar],
        "gz" | "tgz" => &[Gzip],
        "bz2" | "tbz2" => &[Bzip2],
        "xz" | "txz" => &[Xz],
        "zst" => &[Zstd],
        "7z" => &[SevenZip],
        "rar" => &[Rar],
        "pyc" | "pyo" => &[PythonBytecode],
        "class" => &[JavaClass],
        "exe" | "dll" | "pyd" | "sys" | "ocx" | "drv" | "scr" | "cpl" | "efi" => &[Pe],
        "so" => &[Elf],
        "dylib" | "bundle" => &[MachO, MachOFat],
        "svg" => &[Svg, Text],
        "py" | "sh" | "bash" | "zsh" | "ksh" | "csh" | "pl" | "rb" | "r" | "lua" | "js" | "mjs"
        | "php" | "tcl" => &[Text, Shebang],
        "txt" | "md" | "rst" | "json" | "xml" | "ui" | "qml" | "qrc" | "csv" | "tsv" | "html"
        | "htm" | "css" | "cfg" | "ini" | "toml" | "yaml" | "yml" | "ts" | "pro" | "qss"
        | "sld" | "qgs" | "qlr" | "geojson" | "gml" | "kml" | "sql" | "in" | "bat" | "cmd"
        | "ps1" | "vbs" | "c" | "h" | "cpp" | "hpp" | "pyi" | "pxd" | "pyx" | "log" | "license"
        | "po" | "pot" | "prj" | "qpt" | "model3" | "map" | "lock" | "sld.xml" => &[Text, Svg],
        _ => return None,
    })
}

/// Extensions of the usual QGIS plugin assets: quiet when their content agrees.
fn is_expected_asset(ext: &str) -> bool {
    matches!(
        ext,
        "qm" | "ui"
            | "qml"
            | "qrc"
            | "svg"
            | "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "ico"
            | "bmp"
            | "webp"
            | "json"
            | "xml"
            | "csv"
            | "gpkg"
            | "sqlite"
            | "sqlite3"
            | "db"
            | "mbtiles"
            | "tif"
            | "tiff"
            | "ttf"
            | "otf"
            | "ttc"
            | "woff"
            | "woff2"
            | "pdf"
            | "txt"
            | "md"
            | "rst"
            | "html"
            | "htm"
            | "css"
            | "qgs"
            | "qgz"
            | "qlr"
            | "qpt"
            | "sld"
            | "geojson"
            | "rcc"
            | "docx"
            | "xlsx"
            | "odt"
            | "ods"
    )
}

pub struct FilesFamily {
    limits: ArchiveLimits,
    /// Bytes read out of nested archives so far, counted against the total limit.
    nested_read: AtomicU64,
}

/// Builds the family for one scan from the active rules and bundled config.
pub fn build(_setup: &ScanSetup) -> Result<Box<dyn Family>, ScanError> {
    Ok(Box::new(FilesFamily::new(ArchiveLimits::default())))
}

fn finding(path: &str, rule: &str, message: String) -> Finding {
    Finding::new(Check::Files, rule, path, 0, 0, message)
}

fn extension_of(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = base.trim_start_matches('.');
    base.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

impl FilesFamily {
    pub fn new(limits: ArchiveLimits) -> FilesFamily {
        FilesFamily {
            limits,
            nested_read: AtomicU64::new(0),
        }
    }

    /// Analyses one file; `path` is the report path, `rel` the path inside the package (or
    /// inside the nested archive), `depth` how many archives deep it sits.
    fn analyse(
        &self,
        path: &str,
        rel: &str,
        bytes: &[u8],
        unix_mode: Option<u32>,
        depth: u32,
        out: &mut FamilyOutput,
    ) {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let ext = extension_of(name);

        if let Some(hidden) = rel
            .split('/')
            .find(|p| p.starts_with('.') && *p != "." && *p != "..")
            && !(hidden == name && ALLOWED_HIDDEN.contains(&name))
        {
            let what = if hidden == name {
                "hidden file".to_string()
            } else {
                format!("inside hidden folder {hidden}/")
            };
            out.findings
                .push(finding(path, HIDDEN, format!("{name}: {what}")));
        }
        if let Some(mode) = unix_mode {
            let kind = mode & 0o170_000;
            if (kind == 0 || kind == 0o100_000) && mode & 0o111 != 0 {
                out.findings.push(finding(
                    path,
                    EXECUTABLE,
                    format!(
                        "{name} has the executable bit set (mode {:o})",
                        mode & 0o7777
                    ),
                ));
            }
        }
        let versioned_so = name.contains(".so.")
            && name
                .rsplit(".so.")
                .next()
                .is_some_and(|v| v.split('.').all(|p| p.chars().all(|c| c.is_ascii_digit())));
        let suspicious_name = SUSPICIOUS_EXT.contains(&ext.as_str()) || versioned_so;
        if suspicious_name {
            out.findings.push(finding(
                path,
                SUSPICIOUS,
                format!(
                    "{name}: .{} files are programs or scripts for the operating system",
                    if versioned_so { "so" } else { &ext }
                ),
            ));
        }

        let content = magic::identify(bytes);
        let allowed = if versioned_so {
            Some(&[Content::Elf][..])
        } else {
            expected(&ext)
        };
        let agrees = allowed.is_some_and(|a| a.contains(&content));
        let dangerous = content.is_program() || content.is_archive() || content == Content::Shebang;
        let zip_document = content == Content::Zip && ZIP_DOCUMENTS.contains(&ext.as_str());
        let mut reported = suspicious_name;

        if !agrees && !zip_document {
            match allowed {
                Some(_) if dangerous => {
                    out.findings.push(finding(
                        path,
                        CONTENT_MISMATCH,
                        format!(
                            "{name} is named .{ext} but its content is {}",
                            content.describe()
                        ),
                    ));
                    reported = true;
                }
                None if content.is_program() || content == Content::Shebang => {
                    if !suspicious_name {
                        let what = if ext.is_empty() {
                            "has no extension".to_string()
                        } else {
                            format!("is named .{ext}")
                        };
                        out.findings.push(finding(
                            path,
                            SUSPICIOUS,
                            format!("{name} {what} but its content is {}", content.describe()),
                        ));
                    }
                    reported = true;
                }
                Some(a) if is_expected_asset(&ext) && a.iter().all(|c| c.is_binary()) => {
                    // An asset whose content is not what its name says, but nothing runnable.
                    if content.is_binary() && content != Content::Binary {
                        // One kind of image saved under another's name: harmless.
                    } else {
                        out.findings.push(finding(
                            path,
                            BINARY,
                            format!(
                                "{name} is named .{ext} but its content is {}",
                                content.describe()
                            ),
                        ));
                    }
                    reported = true;
                }
                _ => {}
            }
        }

        if content.is_archive() && !zip_document {
            out.findings.push(finding(
                path,
                NESTED_ARCHIVE,
                format!("{name} is {}", content.describe()),
            ));
            reported = true;
            if content == Content::Zip {
                self.open_nested(path, bytes, depth, out);
            }
        }

        if content == Content::Svg || ext == "svg" {
            if let Some((line, what)) = svg_problem(bytes) {
                let mut f = finding(path, SVG_SCRIPT, format!("{name} contains {what}"));
                f.line = line;
                out.findings.push(f);
            }
            return;
        }

        if !reported && content.is_binary() && !(agrees && is_expected_asset(&ext)) {
            out.findings.push(finding(
                path,
                BINARY,
                format!("{name} is {}", content.describe()),
            ));
        }
    }

    fn open_nested(&self, path: &str, bytes: &[u8], depth: u32, out: &mut FamilyOutput) {
        if depth + 1 > self.limits.max_nesting {
            out.findings.push(finding(
                path,
                NESTED_ARCHIVE,
                format!(
                    "not opened: archives nested more than {} deep",
                    self.limits.max_nesting
                ),
            ));
            return;
        }
        let prefix = format!("{path}!/");
        let mut input =
            match archive::open_zip_bytes(bytes.to_vec(), self.limits.clone(), prefix.clone()) {
                Ok(i) => i,
                Err(e) => {
                    out.findings.push(finding(
                        path,
                        NESTED_ARCHIVE,
                        format!("cannot be opened: {e}"),
                    ));
                    return;
                }
            };
        for p in std::mem::take(&mut input.problems) {
            let shown = if p.path.is_empty() {
                path.to_string()
            } else {
                p.path.clone()
            };
            out.findings.push(finding(
                &shown,
                NESTED_ARCHIVE,
                format!("{} ({})", p.message, p.rule),
            ));
        }
        let entries = input.entries().to_vec();
        for entry in &entries {
            let total = self.nested_read.fetch_add(entry.size, Ordering::Relaxed) + entry.size;
            if total > self.limits.max_total_uncompressed {
                out.findings.push(finding(
                    path,
                    NESTED_ARCHIVE,
                    format!(
                        "not fully analysed: nested archives hold more than {} bytes",
                        self.limits.max_total_uncompressed
                    ),
                ));
                return;
            }
            let shown = input.display_path(entry);
            match input.read(entry) {
                Ok(inner) => {
                    self.analyse(&shown, &entry.path, &inner, entry.unix_mode, depth + 1, out)
                }
                Err(p) => out.findings.push(finding(
                    &shown,
                    NESTED_ARCHIVE,
                    format!("{} ({})", p.message, p.rule),
                )),
            }
        }
    }
}

/// The first script, event handler or external reference in an SVG, with its 1-based line.
pub fn svg_problem(bytes: &[u8]) -> Option<(u32, String)> {
    let text = String::from_utf8_lossy(bytes);
    let lower = text.to_ascii_lowercase();
    let mut best: Option<(usize, String)> = None;
    let mut consider = |pos: usize, what: String| {
        if best.as_ref().is_none_or(|(p, _)| pos < *p) {
            best = Some((pos, what));
        }
    };
    if let Some(p) = lower.find("<script") {
        consider(p, "a <script> element".into());
    }
    if let Some(p) = lower.find("<!entity").filter(|&p| {
        lower[p..]
            .split('>')
            .next()
            .is_some_and(|d| d.contains("system") || d.contains("public"))
    }) {
        consider(p, "an external entity".into());
    }
    if let Some(p) = lower.find("<foreignobject") {
        consider(p, "a <foreignObject> element (embedded HTML)".into());
    }
    // Event-handler attributes: ` onload=`, ` onclick =` …
    let b = lower.as_bytes();
    let mut i = 0;
    while let Some(off) = lower[i..].find("on") {
        let p = i + off;
        i = p + 2;
        if p == 0 || !b[p - 1].is_ascii_whitespace() {
            continue;
        }
        let mut j = p + 2;
        while j < b.len() && b[j].is_ascii_lowercase() {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        if j > p + 2 && k < b.len() && b[k] == b'=' && inside_tag(&lower, p) {
            consider(p, format!("an event handler ({})", &lower[p..j]));
            break;
        }
    }
    // References to other files or servers: href, xlink:href, src and url(...) that are not
    // fragments (#id) or inline data.
    for key in ["href=", "src=", "url("] {
        let mut from = 0;
        while let Some(off) = lower[from..].find(key) {
            let p = from + off;
            from = p + key.len();
            let rest = lower[from..].trim_start_matches([' ', '"', '\'']);
            if rest.starts_with('#') || rest.starts_with("data:") || rest.is_empty() {
                continue;
            }
            if key != "url(" && !inside_tag(&lower, p) {
                continue;
            }
            // The SVG namespace declarations are URLs too but never fetched.
            if lower[..p].ends_with("xmlns:") || lower[..p].ends_with("xmlns") {
                continue;
            }
            let target: String = rest
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>'))
                .take(80)
                .collect();
            consider(p, format!("an external reference ({target})"));
            break;
        }
    }
    best.map(|(pos, what)| {
        (
            (text[..pos.min(text.len())].matches('\n').count() + 1) as u32,
            what,
        )
    })
}

/// Whether `pos` is inside a markup tag (after a `<` with no `>` in between).
fn inside_tag(text: &str, pos: usize) -> bool {
    let before = &text[..pos];
    match (before.rfind('<'), before.rfind('>')) {
        (Some(lt), Some(gt)) => lt > gt,
        (Some(_), None) => true,
        _ => false,
    }
}

impl Family for FilesFamily {
    fn check(&self) -> Check {
        Check::Files
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        self.analyse(file.path, file.rel_path, file.bytes, file.unix_mode, 0, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_checks() {
        assert!(svg_problem(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>").is_none());
        assert!(
            svg_problem(
                b"<svg xmlns:xlink=\"http://www.w3.org/1999/xlink\"><use xlink:href=\"#a\"/></svg>"
            )
            .is_none()
        );
        let (line, what) = svg_problem(b"<svg>\n<script>alert(1)</script></svg>").unwrap();
        assert_eq!(line, 2);
        assert!(what.contains("script"));
        assert!(
            svg_problem(b"<svg><rect onload=\"x()\"/></svg>")
                .unwrap()
                .1
                .contains("onload")
        );
        assert!(
            svg_problem(b"<svg><image href=\"https://evil.example/a.png\"/></svg>")
                .unwrap()
                .1
                .contains("evil.example")
        );
        assert!(svg_problem(b"<svg><text>click on = here</text></svg>").is_none());
    }

    #[test]
    fn extensions() {
        assert_eq!(extension_of("a/b/icon.PNG"), "png");
        assert_eq!(extension_of(".gitignore"), "");
        assert_eq!(extension_of("x.tar.gz"), "gz");
    }
}
