//! `metadata.txt` read exactly as QGIS and plugins.qgis.org read it: Python's `configparser`
//! with `optionxform = str` (keys keep their case), `=` or `:` delimiters, full-line `#`/`;`
//! comments, indented continuation lines, strict duplicate checks, and `%` interpolation when
//! values are fetched. Differences from Python would let a package pass here and fail there.

use std::collections::BTreeMap;

/// One `[section]` with its options in file order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Section {
    pub options: Vec<(String, String, u32)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str())
    }

    pub fn line_of(&self, key: &str) -> u32 {
        self.options.iter().find(|(k, _, _)| k == key).map_or(0, |(_, _, l)| *l)
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ini {
    pub defaults: Section,
    pub sections: BTreeMap<String, Section>,
}

/// A parse error with the 1-based line it concerns (0 for the whole file).
#[derive(Debug, Clone, PartialEq)]
pub struct IniError {
    pub line: u32,
    pub message: String,
}

fn err(line: u32, message: impl Into<String>) -> IniError {
    IniError { line, message: message.into() }
}

/// Parses INI text as `configparser.ConfigParser().read_string()` does (raw values, no
/// interpolation yet).
pub fn parse_ini(text: &str) -> Result<Ini, IniError> {
    let mut ini = Ini::default();
    // Which section receives options: None before the first header, Some("DEFAULT") for defaults.
    let mut current: Option<String> = None;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_options: Vec<(String, String)> = Vec::new();
    // Raw multi-line values being built: (section, key) -> lines.
    let mut values: Vec<(Option<String>, String, Vec<String>, u32)> = Vec::new();
    let mut current_opt: Option<usize> = None;
    let mut indent_level = usize::MAX;
    let mut bad_lines: Vec<u32> = Vec::new();

    for (idx, line) in text.split('\n').enumerate() {
        let lineno = idx as u32 + 1;
        let stripped = line.trim();
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if is_comment { "" } else { stripped };
        if value.is_empty() {
            // Python keeps empty lines inside a value (they matter if a continuation follows).
            if !is_comment && let Some(i) = current_opt {
                values[i].2.push(String::new());
            }
            continue;
        }
        let cur_indent = line.find(|c: char| !c.is_whitespace()).map_or(0, |i| line[..i].chars().count());
        if current.is_some() && current_opt.is_some() && cur_indent > indent_level {
            if let Some(i) = current_opt {
                values[i].2.push(value.to_string());
            }
            continue;
        }
        indent_level = cur_indent;
        if let Some(header) = section_header(value) {
            if header != "DEFAULT" && seen_sections.iter().any(|s| s == header) {
                return Err(err(lineno, format!("section '{header}' appears twice (line {lineno})")));
            }
            seen_sections.push(header.to_string());
            current = Some(header.to_string());
            if header != "DEFAULT" {
                ini.sections.entry(header.to_string()).or_default();
            }
            current_opt = None;
            continue;
        }
        let Some(section) = current.clone() else {
            if value.starts_with('\u{feff}') || line.starts_with('\u{feff}') {
                return Err(err(lineno, "file starts with a UTF-8 byte order mark, which Python's configparser does not accept before '[general]'"));
            }
            return Err(err(lineno, format!("line {lineno} comes before any [section] header: {:?}", truncate(line))));
        };
        match split_option(value) {
            Some((key, val)) => {
                if key.is_empty() {
                    bad_lines.push(lineno);
                    current_opt = None;
                    continue;
                }
                if seen_options.iter().any(|(s, k)| s == &section && k == key) {
                    return Err(err(lineno, format!("option '{key}' in section '{section}' appears twice (line {lineno})")));
                }
                seen_options.push((section.clone(), key.to_string()));
                values.push((Some(section), key.to_string(), vec![val.to_string()], lineno));
                current_opt = Some(values.len() - 1);
            }
            None => {
                bad_lines.push(lineno);
            }
        }
    }
    if !bad_lines.is_empty() {
        let list: Vec<String> = bad_lines.iter().map(|l| l.to_string()).collect();
        return Err(err(bad_lines[0], format!("lines without a 'key = value' form: {}", list.join(", "))));
    }
    for (section, key, lines, line) in values {
        let joined = lines.join("\n").trim_end().to_string();
        let target = match section.as_deref() {
            Some("DEFAULT") => &mut ini.defaults,
            Some(s) => ini.sections.entry(s.to_string()).or_default(),
            None => continue,
        };
        target.options.push((key, joined, line));
    }
    Ok(ini)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

fn section_header(value: &str) -> Option<&str> {
    // configparser's SECTCRE: `\[(?P<header>.+)\]` matched from the start; `.+` is greedy.
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// configparser's OPTCRE: `(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$`.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let pos = value.find(['=', ':'])?;
    Some((value[..pos].trim_end(), value[pos + 1..].trim()))
}

impl Ini {
    /// A section's options with `%` interpolation applied, as `parser.items(section)` returns
    /// them (defaults included).
    pub fn items(&self, section: &str) -> Result<Vec<(String, String, u32)>, IniError> {
        let sect = self.sections.get(section).ok_or_else(|| err(0, format!("no section [{section}]")))?;
        let mut out = Vec::new();
        let mut keys: Vec<&(String, String, u32)> = self.defaults.options.iter().collect();
        for o in &sect.options {
            if let Some(pos) = keys.iter().position(|(k, _, _)| k == &o.0) {
                keys[pos] = o;
            } else {
                keys.push(o);
            }
        }
        for (k, v, line) in keys {
            let value = self.interpolate(sect, k, v, 1)?;
            out.push((k.clone(), value, *line));
        }
        Ok(out)
    }

    fn lookup<'a>(&'a self, sect: &'a Section, key: &str) -> Option<&'a str> {
        sect.get(key).or_else(|| self.defaults.get(key))
    }

    fn interpolate(&self, sect: &Section, option: &str, raw: &str, depth: u32) -> Result<String, IniError> {
        let line = sect.line_of(option);
        if depth > 10 {
            return Err(err(line, format!("value of '{option}' refers to itself too deeply (more than 10 '%(name)s' substitutions)")));
        }
        let mut out = String::new();
        let mut rest = raw;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            let next = rest[1..].chars().next();
            match next {
                Some('%') => {
                    out.push('%');
                    rest = &rest[2..];
                }
                Some('(') => {
                    let close = rest.find(")s").filter(|&c| c > 2 && !rest[2..c].contains(')'));
                    let Some(close) = close else {
                        return Err(err(line, format!("'{option}': bad interpolation reference {:?}; write '%%' for a literal percent sign", truncate(rest))));
                    };
                    let name = &rest[2..close];
                    let Some(v) = self.lookup(sect, name) else {
                        return Err(err(line, format!("'{option}' refers to '%({name})s', which is not an option of the section; write '%%' for a literal percent sign")));
                    };
                    let v = if v.contains('%') { self.interpolate(sect, option, v, depth + 1)? } else { v.to_string() };
                    out.push_str(&v);
                    rest = &rest[close + 2..];
                }
                _ => {
                    return Err(err(line, format!("'{option}' contains a '%' that is not followed by '%' or '(' (Python's configparser rejects it; write '%%'): {:?}", truncate(rest))));
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn general(text: &str) -> Result<Vec<(String, String)>, IniError> {
        let ini = parse_ini(text)?;
        Ok(ini.items("general")?.into_iter().map(|(k, v, _)| (k, v)).collect())
    }

    #[test]
    fn keys_keep_case_and_both_delimiters_work() {
        let items = general("[general]\nname=Demo\nqgisMinimumVersion: 3.22\n").unwrap();
        assert_eq!(items, vec![("name".into(), "Demo".into()), ("qgisMinimumVersion".into(), "3.22".into())]);
    }

    #[test]
    fn continuation_lines_and_comments() {
        let text = "[general]\nabout=First line\n  second line\n\n  third after blank\n# comment\nname = X\n";
        let items = general(text).unwrap();
        assert_eq!(items[0].1, "First line\nsecond line\n\nthird after blank");
        assert_eq!(items[1], ("name".into(), "X".into()));
    }

    #[test]
    fn percent_must_be_escaped() {
        let e = general("[general]\nabout=100% free\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("'%'"));
        assert_eq!(general("[general]\nabout=100%% free\n").unwrap()[0].1, "100% free");
        assert_eq!(general("[general]\na=x\nb=%(a)s-y\n").unwrap()[1].1, "x-y");
        assert!(general("[general]\nb=%(zz)s\n").is_err());
    }

    #[test]
    fn duplicates_and_missing_headers_fail() {
        assert!(parse_ini("name=x\n[general]\n").unwrap_err().message.contains("before any"));
        assert!(parse_ini("[general]\nname=a\nname=b\n").unwrap_err().message.contains("twice"));
        assert!(parse_ini("[general]\n[general]\n").unwrap_err().message.contains("twice"));
        assert!(parse_ini("\u{feff}[general]\nname=a\n").unwrap_err().message.contains("byte order mark"));
        assert!(parse_ini("[general]\njust words\n").unwrap_err().message.contains("key = value"));
    }

    #[test]
    fn crlf_is_tolerated() {
        let items = general("[general]\r\nname=Demo\r\n").unwrap();
        assert_eq!(items[0].1, "Demo");
    }
}
