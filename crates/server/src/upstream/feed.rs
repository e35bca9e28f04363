//! Reads an upstream's plugins.xml as leniently as QGIS does (the `& ` fix-up, any optional
//! field missing, unknown children kept) but never trusts it: a DTD is refused outright, so no
//! entity is ever declared or expanded; only the five predefined entities and character
//! references are resolved; entries, fields and nesting are capped.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Caps on what one feed may hold.
pub const MAX_ENTRIES: usize = 200_000;
pub const MAX_FIELD_BYTES: usize = 256 * 1024;
const MAX_DEPTH: usize = 16;

/// One `<pyqgis_plugin>` of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The plugin id QGIS uses: `file_name` up to its first dot.
    pub package_name: String,
    pub name: String,
    pub version: String,
    pub download_url: String,
    pub file_name: String,
    pub experimental: bool,
    pub create_date: String,
    pub update_date: String,
    /// Every child element's text, attributes `name`/`version`/`plugin_id` included.
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("the feed declares a DTD (<!DOCTYPE …>); DTDs and entity declarations are refused")]
    Dtd,
    #[error("the feed is not well-formed XML near byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("the feed's root element is <{0}>, not <plugins>")]
    WrongRoot(String),
    #[error("the feed lists more than {MAX_ENTRIES} plugin versions")]
    TooManyEntries,
    #[error("a field of the feed is longer than {MAX_FIELD_BYTES} bytes")]
    FieldTooLong,
    #[error("the feed nests elements more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("the feed has no <plugins> element")]
    Empty,
}

/// What QGIS's installer does before parsing (`content.replace("& ", "&amp; ")`): feeds in the
/// wild carry bare ampersands in descriptions. Unlike QGIS, CDATA sections are left alone, where
/// a bare `&` is already legal.
fn fix_bare_ampersands(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 64);
    let mut i = 0;
    let mut in_cdata = false;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if !in_cdata && rest.starts_with(b"<![CDATA[") {
            in_cdata = true;
        } else if in_cdata && rest.starts_with(b"]]>") {
            in_cdata = false;
        }
        if !in_cdata && rest.starts_with(b"& ") {
            out.extend_from_slice(b"&amp;");
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    out
}

fn predefined_entity(name: &str) -> Option<String> {
    let s = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            return char::from_u32(code).map(String::from);
        }
    };
    Some(s.to_string())
}

/// The plugin id QGIS derives from `file_name` (`name = fileName.split(".")[0]`).
pub fn package_from_file_name(file_name: &str) -> &str {
    file_name.trim().split('.').next().unwrap_or_default()
}

/// Parses a whole feed. Entries without a usable plugin id, version or download URL are left
/// out (QGIS cannot install them either); the first of duplicate (plugin, version) pairs wins.
pub fn parse(bytes: &[u8]) -> Result<Vec<FeedEntry>, FeedError> {
    let fixed = fix_bare_ampersands(bytes);
    let mut reader = Reader::from_reader(fixed.as_slice());
    let mut out: Vec<FeedEntry> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    // The entry being read, and the child whose text is being collected.
    let mut current: Option<BTreeMap<String, String>> = None;
    let mut field: Option<(String, String)> = None;
    let mut buf = Vec::new();
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| FeedError::Malformed {
                position,
                message: e.to_string(),
            })?;
        let is_start = matches!(event, Event::Start(_));
        match event {
            Event::DocType(_) => return Err(FeedError::Dtd),
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name != "plugins" {
                    return Err(FeedError::WrongRoot(name));
                }
                saw_root = true;
                depth = usize::from(is_start);
            }
            Event::Start(e) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(FeedError::TooDeep);
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 2 && name == "pyqgis_plugin" {
                    let mut fields = BTreeMap::new();
                    for attr in e.attributes().with_checks(false).flatten() {
                        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                        let value = attribute_text(&attr.value)?;
                        fields.insert(key, value);
                    }
                    current = Some(fields);
                } else if depth == 3 && current.is_some() {
                    field = Some((name, String::new()));
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 2
                    && let Some(fields) = current.as_mut()
                {
                    fields.entry(name).or_default();
                }
            }
            Event::Text(t) => push_text(&mut field, &t.decode().unwrap_or_default())?,
            Event::CData(t) => push_text(&mut field, &t.decode().unwrap_or_default())?,
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap_or_default().into_owned();
                match predefined_entity(&name) {
                    Some(v) => push_text(&mut field, &v)?,
                    None => {
                        return Err(FeedError::Malformed {
                            position,
                            message: format!("undeclared entity &{name};"),
                        });
                    }
                }
            }
            Event::End(_) => {
                if depth == 3
                    && let (Some((name, text)), Some(fields)) = (field.take(), current.as_mut())
                {
                    fields.insert(name, text.trim().to_string());
                } else if depth == 2
                    && let Some(fields) = current.take()
                    && let Some(entry) = entry_from_fields(fields)
                    && seen.insert((entry.package_name.clone(), entry.version.clone()))
                {
                    if out.len() >= MAX_ENTRIES {
                        return Err(FeedError::TooManyEntries);
                    }
                    out.push(entry);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_root {
        return Err(FeedError::Empty);
    }
    Ok(out)
}

fn push_text(field: &mut Option<(String, String)>, text: &str) -> Result<(), FeedError> {
    if let Some((_, value)) = field.as_mut() {
        if value.len() + text.len() > MAX_FIELD_BYTES {
            return Err(FeedError::FieldTooLong);
        }
        value.push_str(text);
    }
    Ok(())
}

/// An attribute's value with predefined entities and character references resolved; any
/// other reference is kept as written.
fn attribute_text(raw: &[u8]) -> Result<String, FeedError> {
    if raw.len() > MAX_FIELD_BYTES {
        return Err(FeedError::FieldTooLong);
    }
    let s = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = &s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(';').filter(|&j| j <= 10) {
            Some(j) => match predefined_entity(&after[..j]) {
                Some(v) => {
                    out.push_str(&v);
                    rest = &after[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            },
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out.trim().to_string())
}

fn entry_from_fields(fields: BTreeMap<String, String>) -> Option<FeedEntry> {
    let get = |k: &str| {
        fields
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let file_name = get("file_name");
    let package_name = package_from_file_name(&file_name).to_string();
    let version = get("version");
    let download_url = get("download_url");
    if package_name.is_empty() || version.is_empty() || download_url.is_empty() {
        return None;
    }
    let name = match get("name") {
        n if n.is_empty() => package_name.clone(),
        n => n,
    };
    Some(FeedEntry {
        experimental: crate::upload::is_true(&get("experimental")),
        create_date: get("create_date"),
        update_date: get("update_date"),
        package_name,
        name,
        version,
        download_url,
        file_name,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="/static/style/plugins.xsl" ?>
<plugins>
<pyqgis_plugin name="Tiles &amp; Maps" version="1.2.0" plugin_id="42">
  <description><![CDATA[Tiles & more]]></description>
  <about>Fetch & show tiles</about>
  <qgis_minimum_version>3.0.0</qgis_minimum_version>
  <file_name>tiles_maps.1.2.0.zip</file_name>
  <download_url>https://example.org/plugins/tiles_maps/version/1.2.0/download/</download_url>
  <experimental>False</experimental>
  <create_date>2024-01-02T10:00:00</create_date>
  <icon/>
</pyqgis_plugin>
<pyqgis_plugin name="Beta" version="0.1">
  <file_name>beta.0.1.zip</file_name>
  <download_url>http://h/beta.zip</download_url>
  <experimental>True</experimental>
</pyqgis_plugin>
<pyqgis_plugin name="No file" version="1.0">
  <download_url>http://h/x.zip</download_url>
</pyqgis_plugin>
</plugins>"#;

    #[test]
    fn reads_entries_leniently() {
        let entries = parse(FEED.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2, "{entries:?}");
        let t = &entries[0];
        assert_eq!(t.package_name, "tiles_maps");
        assert_eq!(t.name, "Tiles & Maps");
        assert_eq!(t.version, "1.2.0");
        assert_eq!(t.fields["about"], "Fetch & show tiles");
        assert_eq!(t.fields["description"], "Tiles & more");
        assert_eq!(t.fields["icon"], "");
        assert!(!t.experimental);
        assert_eq!(t.update_date, "");
        assert!(entries[1].experimental);
        assert_eq!(entries[1].package_name, "beta");
    }

    #[test]
    fn refuses_dtd_and_entity_bombs() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<plugins><pyqgis_plugin name="x" version="1"><about>&lol2;</about></pyqgis_plugin></plugins>"#;
        assert_eq!(parse(bomb.as_bytes()), Err(FeedError::Dtd));
        let undeclared = "<plugins><pyqgis_plugin name=\"x\" version=\"1\"><about>&lol;</about></pyqgis_plugin></plugins>";
        assert!(matches!(
            parse(undeclared.as_bytes()),
            Err(FeedError::Malformed { .. })
        ));
    }

    #[test]
    fn malformed_and_wrong_root_are_errors() {
        assert!(matches!(
            parse(b"<plugins><pyqgis_plugin></plugins>"),
            Err(FeedError::Malformed { .. })
        ));
        assert_eq!(
            parse(b"<html><body/></html>"),
            Err(FeedError::WrongRoot("html".into()))
        );
        assert_eq!(parse(b""), Err(FeedError::Empty));
        let long = format!(
            "<plugins><pyqgis_plugin><about>{}</about></pyqgis_plugin></plugins>",
            "a".repeat(MAX_FIELD_BYTES + 1)
        );
        assert_eq!(parse(long.as_bytes()), Err(FeedError::FieldTooLong));
    }
}
