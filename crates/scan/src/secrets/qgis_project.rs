//! Credentials that QGIS itself leaves in files: passwords in the datasource strings of QGIS
//! project files (`.qgs`, and the `.qgs` inside a `.qgz`), a bundled authentication database
//! (`qgis-auth.db`), PostgreSQL password files (`.pgpass`) and service files with passwords
//! (`pg_service.conf`). QGIS stores basic-authentication credentials in the project when no
//! `authcfg` is used, and plugins often ship sample projects. These rules are Vetted's own
//! (detect-secrets has no equivalent); findings are masked like every secret.

use std::borrow::Cow;
use std::sync::LazyLock;

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use regex::Regex;

use crate::archive::{self, ArchiveLimits};
use crate::catalog::FamilyRule;
use crate::family::{FamilyOutput, SourceFile};
use crate::report::{Check, Finding, ToolRating, mask_secret};

pub const PROJECT_PASSWORD: &str = "QgisProjectPassword";
pub const AUTH_DATABASE: &str = "QgisAuthDatabase";
pub const PGPASS: &str = "PgPassFile";
pub const PG_SERVICE_PASSWORD: &str = "PgServicePassword";

/// Vetted's own rules in this family; critical, enabled and not skippable by default.
pub const RULES: &[FamilyRule] = &[
    FamilyRule {
        code: PROJECT_PASSWORD,
        name: "Password in a QGIS project",
        tool_default: false,
    },
    FamilyRule {
        code: AUTH_DATABASE,
        name: "Bundled QGIS authentication database",
        tool_default: false,
    },
    FamilyRule {
        code: PGPASS,
        name: "Bundled PostgreSQL password file",
        tool_default: false,
    },
    FamilyRule {
        code: PG_SERVICE_PASSWORD,
        name: "Password in a PostgreSQL service file",
        tool_default: false,
    },
];

/// `password='…'`, `password="…"` or `password=…` in a QGIS datasource or provider URI
/// (PostgreSQL, Oracle, SQL Server, WMS/WFS/XYZ, OGR's `PG:` strings), and `user:pass@` in URLs.
static URI_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[\s&?;,'"(])(?:password|passwd|pwd)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s&'";,)]+))"#,
    )
    .ok()
});
static URL_CREDENTIALS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://([^/\s:@'"&<>]+):([^/\s@'"&<>]+)@[^\s/'"&<>]"#).ok()
});

/// `authcfg=abc1234` (or quoted): a datasource that takes its credentials from QGIS's
/// authentication database, the good practice the project-password rule asks for.
static AUTHCFG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)(?:^|[\s&?;,'"(])authcfg\s*=\s*['"]?[a-z0-9]{4,}"#).ok());

/// How one project file handles credentials: references to authentication configurations
/// counted as good practice, passwords stored in the project counted as findings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProjectCredentials {
    /// The project's path (`x.qgz!/x.qgs` for the project inside a `.qgz`).
    pub path: String,
    /// Datasources and settings that reference an authentication configuration (`authcfg=`).
    pub authcfg: u32,
    /// Passwords stored in the project itself (each is also a `QgisProjectPassword` finding).
    pub stored_passwords: u32,
}

/// Longest masked snippet kept.
const SNIPPET_CHARS: usize = 300;

/// Runs the rules that apply to this file, by name; `active` says which rule codes run.
pub fn scan(file: &SourceFile, active: &dyn Fn(&str) -> bool, out: &mut FamilyOutput) {
    let base = file.path.rsplit('/').next().unwrap_or(file.path);
    let lower = base.to_ascii_lowercase();
    if lower.ends_with(".qgs") && active(PROJECT_PASSWORD) {
        scan_project_xml(file.path, file.bytes, out);
    } else if lower.ends_with(".qgz") && active(PROJECT_PASSWORD) {
        scan_qgz(file.path, file.bytes, out);
    } else if lower == "qgis-auth.db" && active(AUTH_DATABASE) {
        push(
            out,
            AUTH_DATABASE,
            file.path,
            1,
            "QGIS authentication database shipped in the plugin: it holds the stored \
             credentials of whoever made it (and their encrypted master-password check)"
                .into(),
            String::new(),
            None,
        );
    } else if (lower == ".pgpass" || lower == "pgpass.conf") && active(PGPASS) {
        scan_pgpass(file, out);
    } else if (lower == "pg_service.conf" || lower == ".pg_service.conf")
        && active(PG_SERVICE_PASSWORD)
    {
        scan_pg_service(file, out);
    }
}

/// Reports one finding of these rules (always at column 1: a whole value or entry). A secret
/// is hashed for the baseline and recorded so the pipeline masks it in every other finding of
/// the file too.
fn push(
    out: &mut FamilyOutput,
    rule: &str,
    path: &str,
    line: u32,
    message: String,
    snippet: String,
    secret: Option<&str>,
) {
    let mut f = Finding::new(Check::Secrets, rule, path, line, 1, message).with_snippet(snippet);
    f.tool = Some(ToolRating {
        severity: String::new(),
        confidence: String::new(),
        test_name: Some(rule.to_string()),
        cwe: Some(798),
        line_range: Vec::new(),
        end_col_offset: None,
    });
    if let Some(secret) = secret {
        f.hashed_secret = Some(super::sha1_hex(secret));
        out.secrets.push((path.to_string(), secret.to_string()));
    }
    out.findings.push(f);
}

/// A password stored in a project: in a datasource, a URL or a provider setting.
fn project_password(
    out: &mut FamilyOutput,
    path: &str,
    line: u32,
    what: &str,
    secret: &str,
    snippet: String,
) {
    push(
        out,
        PROJECT_PASSWORD,
        path,
        line,
        format!(
            "QGIS project stores a {what} `{}` (masked); use an authentication \
             configuration (authcfg) instead",
            mask_secret(secret)
        ),
        snippet,
        Some(secret),
    );
}

/// The text with the secret masked, cut to a readable length; never contains the secret.
fn masked(text: &str, secret: &str) -> String {
    let mut out = text.replace(secret, &mask_secret(secret));
    if out.chars().count() > SNIPPET_CHARS {
        out = out.chars().take(SNIPPET_CHARS).collect::<String>() + "…";
    }
    if out.contains(secret) {
        // The mask itself can re-create a very short secret; show nothing rather than leak it.
        return String::new();
    }
    out
}

/// Every password in one decoded string of a project (a text node or an attribute value).
fn passwords_in(value: &str) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    if let Some(re) = URI_PASSWORD.as_ref() {
        for caps in re.captures_iter(value) {
            if let Some(m) = caps.get(1).or(caps.get(2)).or(caps.get(3)) {
                let secret = m.as_str().replace("\\'", "'").replace("\\\"", "\"");
                if !secret.is_empty() {
                    found.push((secret, "password in a datasource"));
                }
            }
        }
    }
    if let Some(re) = URL_CREDENTIALS.as_ref() {
        for caps in re.captures_iter(value) {
            if let Some(m) = caps.get(2)
                && !m.as_str().is_empty()
            {
                found.push((m.as_str().to_string(), "credentials in a URL"));
            }
        }
    }
    found
}

/// The value of a predefined or character entity reference; custom entities are never
/// expanded (no DTD processing at all: a project cannot make the parser do work it declares).
fn resolve_reference(name: &str) -> Option<String> {
    let predefined = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    };
    if let Some(c) = predefined {
        return Some(c.to_string());
    }
    let code = name.strip_prefix('#')?;
    let n = match code.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => code.parse().ok()?,
    };
    char::from_u32(n).map(String::from)
}

/// Line numbers of byte offsets: the offsets of a file's newlines, found once, so that a
/// project with many elements costs a search per element, not a count from the start.
struct Newlines(Vec<usize>);

impl Newlines {
    fn of(bytes: &[u8]) -> Newlines {
        Newlines(
            bytes
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    /// The 1-based line of byte `pos`: one more than the newlines before it.
    fn line_at(&self, pos: usize) -> u32 {
        self.0.partition_point(|&n| n < pos) as u32 + 1
    }
}

/// Reports each password found in a decoded text or attribute value of the project.
fn report_value(
    path: &str,
    line: u32,
    value: &str,
    tally: &mut ProjectCredentials,
    out: &mut FamilyOutput,
) {
    if let Some(re) = AUTHCFG.as_ref() {
        tally.authcfg += re.find_iter(value).count() as u32;
    }
    for (secret, what) in passwords_in(value) {
        tally.stored_passwords += 1;
        project_password(
            out,
            path,
            line,
            what,
            &secret,
            masked(value.trim(), &secret),
        );
    }
}

/// A `.qgs` project: every text node and attribute value, with entity references resolved
/// only when predefined or numeric.
pub fn scan_project_xml(path: &str, bytes: &[u8], out: &mut FamilyOutput) {
    let mut tally = ProjectCredentials {
        path: path.to_string(),
        authcfg: 0,
        stored_passwords: 0,
    };
    let mut reader = Reader::from_reader(bytes);
    let newlines = Newlines::of(bytes);
    let mut text = String::new();
    let mut text_start: Option<usize> = None;
    // `<Option name="password" value="…"/>`: QGIS's own way of keeping a provider setting.
    loop {
        let pos = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => break, // A broken project is not a secret; what was read is reported.
        };
        match event {
            Event::Text(t) => {
                text_start.get_or_insert(pos);
                text.push_str(&t.decode().unwrap_or(Cow::Borrowed("")));
            }
            Event::CData(t) => {
                text_start.get_or_insert(pos);
                text.push_str(&t.decode().unwrap_or(Cow::Borrowed("")));
            }
            Event::GeneralRef(r) => {
                text_start.get_or_insert(pos);
                let name = r.decode().unwrap_or(Cow::Borrowed(""));
                match resolve_reference(&name) {
                    Some(v) => text.push_str(&v),
                    None => {
                        text.push('&');
                        text.push_str(&name);
                        text.push(';');
                    }
                }
            }
            Event::Start(e) | Event::Empty(e) => {
                flush(path, &newlines, &mut text, &mut text_start, &mut tally, out);
                let line = newlines.line_at(pos);
                let mut option_name: Option<String> = None;
                let mut option_value: Option<String> = None;
                for attr in e.attributes().with_checks(false).flatten() {
                    let value = match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        Ok(v) => v.into_owned(),
                        Err(_) => String::from_utf8_lossy(&attr.value).into_owned(),
                    };
                    match attr.key.as_ref() {
                        b"name" => option_name = Some(value.clone()),
                        b"value" => option_value = Some(value.clone()),
                        _ => {}
                    }
                    report_value(path, line, &value, &mut tally, out);
                }
                if let (Some(name), Some(value)) = (option_name, option_value) {
                    let key = name
                        .rsplit(['/', '.'])
                        .next()
                        .unwrap_or(&name)
                        .to_ascii_lowercase();
                    if matches!(key.as_str(), "password" | "passwd" | "pwd") && !value.is_empty() {
                        let snippet = format!("name=\"{name}\" value=\"{}\"", mask_secret(&value));
                        tally.stored_passwords += 1;
                        project_password(out, path, line, "password setting", &value, snippet);
                    }
                }
            }
            Event::End(_) => flush(path, &newlines, &mut text, &mut text_start, &mut tally, out),
            Event::Eof => break,
            _ => {}
        }
    }
    flush(path, &newlines, &mut text, &mut text_start, &mut tally, out);
    out.projects.push(tally);
}

fn flush(
    path: &str,
    newlines: &Newlines,
    text: &mut String,
    start: &mut Option<usize>,
    tally: &mut ProjectCredentials,
    out: &mut FamilyOutput,
) {
    if let Some(pos) = start.take()
        && !text.trim().is_empty()
    {
        // The value's first non-blank character gives the line the reader sees it on.
        let lead = text.len() - text.trim_start().len();
        let line = newlines.line_at(pos) + text[..lead].matches('\n').count() as u32;
        report_value(path, line, text, tally, out);
    }
    text.clear();
}

/// A `.qgz`: a ZIP holding the `.qgs`, read in memory within the archive limits.
fn scan_qgz(path: &str, bytes: &[u8], out: &mut FamilyOutput) {
    let prefix = format!("{path}!/");
    let Ok(mut input) = archive::open_zip_bytes(bytes.to_vec(), ArchiveLimits::default(), prefix)
    else {
        // Not a readable ZIP: the files family reports what it is.
        return;
    };
    let entries = input.entries().to_vec();
    for entry in entries
        .iter()
        .filter(|e| e.path.to_ascii_lowercase().ends_with(".qgs"))
    {
        let shown = input.display_path(entry);
        if let Ok(inner) = input.read(entry) {
            scan_project_xml(&shown, &inner, out);
        }
    }
}

/// `hostname:port:database:username:password` lines (`\:` and `\\` escaped).
fn scan_pgpass(file: &SourceFile, out: &mut FamilyOutput) {
    let Some(text) = file.text() else { return };
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut fields = Vec::new();
        let mut current = String::new();
        let mut chars = trimmed.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => current.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        fields.push(current);
        if fields.len() == 5 && !fields[4].is_empty() {
            let secret = &fields[4];
            push(
                out,
                PGPASS,
                file.path,
                (idx + 1) as u32,
                format!(
                    "PostgreSQL password file entry for {}@{} with password `{}` (masked)",
                    fields[3],
                    fields[0],
                    mask_secret(secret)
                ),
                masked(trimmed, secret),
                Some(secret),
            );
        }
    }
}

/// `password=…` inside the sections of a PostgreSQL connection service file.
fn scan_pg_service(file: &SourceFile, out: &mut FamilyOutput) {
    let Some(text) = file.text() else { return };
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        let secret = value.trim();
        if key.trim().eq_ignore_ascii_case("password") && !secret.is_empty() {
            push(
                out,
                PG_SERVICE_PASSWORD,
                file.path,
                (idx + 1) as u32,
                format!(
                    "PostgreSQL service file stores a password `{}` (masked); leave it out and \
                     let libpq or the QGIS authentication database supply it",
                    mask_secret(secret)
                ),
                masked(trimmed, secret),
                Some(secret),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index gives every offset the line a count of the newlines before it gives.
    #[test]
    fn newline_index_counts_as_counting_does() {
        for text in ["", "a", "\n", "ab\ncd\n\nef", "\n\nx\r\ny\n"] {
            let bytes = text.as_bytes();
            let index = Newlines::of(bytes);
            for pos in 0..=bytes.len() + 2 {
                let counted = bytes[..pos.min(bytes.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u32
                    + 1;
                assert_eq!(index.line_at(pos), counted, "{text:?} at {pos}");
            }
        }
    }

    #[test]
    fn finds_passwords_in_datasource_strings() {
        let cases = [
            (
                "dbname='gis' host=db user='me' password='s3cr\\'et' sslmode=disable",
                "s3cr'et",
            ),
            ("PG: dbname=gis password=hunter22 host=db", "hunter22"),
            (
                "contextualWMSLegend=0&crs=EPSG:3857&password=wmspass&url=https://x",
                "wmspass",
            ),
            (
                "https://alice:topsecret@tiles.example.org/{z}/{x}/{y}.png",
                "topsecret",
            ),
        ];
        for (value, secret) in cases {
            let found = passwords_in(value);
            assert!(found.iter().any(|(s, _)| s == secret), "{value}: {found:?}");
        }
        for quiet in [
            "dbname='gis' host=db authcfg=abc1234 sslmode=disable",
            "dbname='gis' user='me' password='' host=db",
            "https://tiles.example.org/{z}/{x}/{y}.png",
            "mailto:someone@example.org",
        ] {
            assert!(passwords_in(quiet).is_empty(), "{quiet}");
        }
    }

    #[test]
    fn entities_are_not_expanded() {
        assert_eq!(resolve_reference("amp").as_deref(), Some("&"));
        assert_eq!(resolve_reference("#x41").as_deref(), Some("A"));
        assert_eq!(resolve_reference("lol9"), None);
    }
}
