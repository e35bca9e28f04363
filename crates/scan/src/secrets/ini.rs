//! detect-secrets' config-file transformer: a file that Python's `configparser` (3.11, default
//! options, case-sensitive keys) reads without error is scanned as `key = "value"` lines placed
//! at the line numbers detect-secrets' `IniFileParser` finds for them. It is tried first on every
//! file, and again with a `[global]` header for files of no known type when nothing was found.
//! Any parsing or interpolation error means "not a config file", as in detect-secrets.

use regex::Regex;

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

struct Section {
    name: String,
    options: Vec<(String, Vec<String>)>,
}

/// What `configparser.read_string` keeps: defaults and sections, each option's raw lines.
struct Parsed {
    defaults: Vec<(String, Vec<String>)>,
    sections: Vec<Section>,
}

fn parse(lines: &[&str], add_header: bool) -> Option<Parsed> {
    let mut defaults: Vec<(String, Vec<String>)> = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    // Current section: None (no header yet), Some(None) = DEFAULT, Some(Some(i)) = sections[i].
    let mut cur: Option<Option<usize>> = None;
    let mut optname: Option<String> = None;
    let mut indent_level = 0usize;
    let mut added_sections: Vec<String> = Vec::new();
    let mut added_options: std::collections::HashSet<(String, String)> =
        std::collections::HashSet::new();
    let header = ["[global]"];
    let all = header
        .iter()
        .take(usize::from(add_header))
        .copied()
        .chain(lines.iter().copied());
    for line in all {
        let stripped = py_strip(line);
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if is_comment { "" } else { stripped };
        if value.is_empty() {
            if !is_comment && let (Some(c), Some(name)) = (cur, &optname) {
                let opts = match c {
                    None => &mut defaults,
                    Some(i) => &mut sections.get_mut(i)?.options,
                };
                if let Some((_, v)) = opts.iter_mut().rev().find(|(k, _)| k == name) {
                    v.push(String::new());
                }
            }
            continue;
        }
        let cur_indent = line
            .chars()
            .take_while(|c| c.is_whitespace() || ('\x1c'..='\x1f').contains(c))
            .count();
        if let (Some(c), Some(name)) = (cur, &optname)
            && cur_indent > indent_level
        {
            let opts = match c {
                None => &mut defaults,
                Some(i) => &mut sections.get_mut(i)?.options,
            };
            if let Some((_, v)) = opts.iter_mut().rev().find(|(k, _)| k == name) {
                v.push(value.to_string());
            }
            continue;
        }
        indent_level = cur_indent;
        if let Some(rest) = value.strip_prefix('[')
            && let Some(close) = rest.rfind(']')
            && close >= 1
        {
            let name = &rest[..close];
            if let Some(i) = sections.iter().position(|s| s.name == name) {
                if added_sections.iter().any(|s| s == name) {
                    return None;
                }
                cur = Some(Some(i));
                added_sections.push(name.to_string());
            } else if name == "DEFAULT" {
                cur = Some(None);
            } else {
                sections.push(Section {
                    name: name.to_string(),
                    options: Vec::new(),
                });
                cur = Some(Some(sections.len() - 1));
                added_sections.push(name.to_string());
            }
            optname = None;
            continue;
        }
        let c = cur?;
        let delim = value.find(['=', ':'])?;
        let key = py_strip(&value[..delim]).to_string();
        if key.is_empty() {
            return None;
        }
        let section_name = match c {
            None => "DEFAULT".to_string(),
            Some(i) => sections.get(i)?.name.clone(),
        };
        if !added_options.insert((section_name, key.clone())) {
            return None;
        }
        let val = py_strip(&value[delim + 1..]).to_string();
        let opts = match c {
            None => &mut defaults,
            Some(i) => &mut sections.get_mut(i)?.options,
        };
        match opts.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = vec![val],
            None => opts.push((key.clone(), vec![val])),
        }
        optname = Some(key);
    }
    Some(Parsed { defaults, sections })
}

/// `'\n'.join(lines).rstrip()`.
fn joined(v: &[String]) -> String {
    let s = v.join("\n");
    s.trim_end_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
        .to_string()
}

/// `BasicInterpolation.before_get`: `%%` and `%(name)s`; `None` on any interpolation error.
fn interpolate(value: &str, map: &[(String, String)], depth: u32) -> Option<String> {
    if depth > 10 {
        return None;
    }
    let mut out = String::new();
    let mut rest = value;
    while !rest.is_empty() {
        let Some(p) = rest.find('%') else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        if rest[1..].starts_with('%') {
            out.push('%');
            rest = &rest[2..];
        } else if rest[1..].starts_with('(') {
            let close = rest.find(")s")?;
            let name = &rest[2..close];
            if name.is_empty() || name.contains(')') {
                return None;
            }
            rest = &rest[close + 2..];
            let v = &map.iter().find(|(k, _)| k == name)?.1;
            if v.contains('%') {
                out.push_str(&interpolate(v, map, depth + 1)?);
            } else {
                out.push_str(v);
            }
        } else {
            return None;
        }
    }
    Some(out)
}

/// `_is_allowlist_nextline_secret_comment`: a `#` or `;` next-line pragma.
fn is_nextline_pragma(re: &Regex, line: &str) -> bool {
    re.is_match(line)
}

/// The transformed lines, or `None` when the file is not a config file for detect-secrets.
pub fn transform(lines: &[&str], add_header: bool, nextline: &Regex) -> Option<Vec<String>> {
    let parsed = parse(lines, add_header)?;
    if parsed.sections.is_empty() {
        return None;
    }
    // (key, value) pairs in configparser's iteration order: DEFAULT, then each section with the
    // defaults merged in front.
    let defaults: Vec<(String, String)> = parsed
        .defaults
        .iter()
        .map(|(k, v)| (k.clone(), joined(v)))
        .collect();
    let mut items: Vec<(String, String)> = Vec::new();
    let mut push_section = |own: &[(String, Vec<String>)]| -> Option<()> {
        let mut merged = defaults.clone();
        for (k, v) in own {
            let v = joined(v);
            match merged.iter_mut().find(|(mk, _)| mk == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k.clone(), v)),
            }
        }
        for (k, v) in &merged {
            items.push((k.clone(), interpolate(v, &merged, 1)?));
        }
        Some(())
    };
    push_section(&[])?;
    for s in &parsed.sections {
        push_section(&s.options)?;
    }

    // IniFileParser: find each value's line by walking the stripped lines from a cursor.
    let file_lines: Vec<&str> = lines.iter().map(|l| py_strip(l)).collect();
    // The walk's cursor: detect-secrets drops the lines before it from its list; here the
    // list stays and the cursor moves (dropping from the front of a vector costs its length).
    let mut first = 0usize;
    let mut line_offset = 0usize;
    let mut out: Vec<String> = Vec::new();
    for (key, values) in &items {
        let mut parts = values.split('\n');
        let mut values_list: Vec<&str> = Vec::new();
        if !values.is_empty() {
            values_list.extend(parts.next());
            values_list.extend(parts.filter(|p| !p.is_empty()));
        }
        if values_list.is_empty() {
            continue;
        }
        let mut index = 0usize;
        let mut found: Vec<(String, usize)> = Vec::new();
        let mut broke = false;
        for (offset, line) in file_lines[first..].iter().enumerate() {
            if is_nextline_pragma(nextline, line) {
                found.push((line.to_string(), line_offset + offset + 1));
                continue;
            }
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if index == 0 {
                if first_line_matches(line, key, values_list[0]) {
                    found.push((values_list[0].to_string(), line_offset + offset + 1));
                    index += 1;
                }
                continue;
            }
            if index == values_list.len() {
                let skip = offset.max(1);
                line_offset += skip;
                first += skip.min(file_lines.len() - first);
                broke = true;
                break;
            }
            found.push((values_list[index].to_string(), line_offset + offset + 1));
            index += 1;
        }
        if !broke {
            first = file_lines.len();
        }
        for (value, number) in found {
            if value.is_empty() {
                continue;
            }
            while out.len() + 1 < number {
                out.push(String::new());
            }
            if is_nextline_pragma(nextline, &value) {
                out.push(value);
                continue;
            }
            let mut v = value.as_str();
            let b = v.as_bytes();
            if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
                v = &v[1..v.len() - 1];
            } else if b.len() == 1 && (b[0] == b'\'' || b[0] == b'"') {
                v = "";
            }
            out.push(format!("{key} = \"{}\"", v.replace('"', "\\\"")));
        }
    }
    Some(out)
}

/// `re.match(r'^\s*{key}[ :=]+{value}', line)` with both escaped.
fn first_line_matches(line: &str, key: &str, value: &str) -> bool {
    let rest =
        line.trim_start_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    let Some(rest) = rest.strip_prefix(key) else {
        return false;
    };
    // `[ :=]+` backtracks: any non-empty run of those characters may precede the value.
    let run = rest.len() - rest.trim_start_matches([' ', ':', '=']).len();
    (1..=run).any(|k| rest[k..].starts_with(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Regex {
        match Regex::new(r"^[ \t]*[#;] *pragma: ?allowlist[ -]nextline[ -]secret.*?[ \t]*$") {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn config_values_become_quoted_lines() {
        let lines = [
            "[a]",
            "key = abc",
            "# c",
            "multi =",
            "  one",
            "",
            "  two",
            "[b]",
            "x: 'q\"t'",
        ];
        let out = transform(&lines, false, &nl()).unwrap_or_default();
        assert_eq!(
            out,
            vec![
                "",
                "key = \"abc\"",
                "",
                "",
                "multi = \"one\"",
                "",
                "multi = \"two\"",
                "",
                "x = \"q\\\"t\""
            ]
        );
    }

    #[test]
    fn not_config_files() {
        assert!(transform(&["x = 1"], false, &nl()).is_none());
        assert!(transform(&["[a]", "just text"], false, &nl()).is_none());
        assert!(transform(&["[a]", "k = 1", "k = 2"], false, &nl()).is_none());
        assert!(transform(&["[a]", "k = 50%"], false, &nl()).is_none());
        assert_eq!(
            transform(&["x = 1"], true, &nl()),
            Some(vec!["x = \"1\"".to_string()])
        );
    }
}
