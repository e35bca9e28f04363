//! The public IP detector's pattern, matched by hand. detect-secrets' pattern is
//!
//! ```text
//! (?i)(?<![\w.])((?!192\.168\.|127\.|10\.|172\.(?:1[6-9]|2[0-9]|3[01]))
//!     (?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}
//!     (?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?::\d{1,5})?)(?![\w.])
//! ```
//!
//! Its look-arounds need a backtracking engine, and compiling it as one costs about 4 ms, more
//! than scanning most plugins; any dotted version number (`1.2.3.4`) opens its pre-filter. The
//! matcher below tries the same alternatives in the same order as a backtracking search, so
//! it finds what the compiled pattern finds (`tests::matches_as_the_pattern`). The `(?i)` flag
//! changes nothing: the pattern's only letters are in `\w`, which case folding maps to itself.

/// Python's `findall` of the pattern on `line` from byte `from`: each match (the pattern's one
/// group, which is the whole match) in turn, searching on after the end of the previous one.
pub fn findall(line: &str, from: usize, out: &mut Vec<String>) {
    let bytes = line.as_bytes();
    let mut pos = from;
    while pos < bytes.len() {
        // A match starts with an ASCII digit, so only those positions are tried.
        let Some(offset) = bytes[pos..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        let start = pos + offset;
        match match_at(line, start) {
            Some(end) => {
                out.push(line[start..end].to_string());
                pos = end;
            }
            None => pos = start + 1,
        }
    }
}

/// The end of the match starting at byte `start` (an ASCII digit), if there is one.
fn match_at(line: &str, start: usize) -> Option<usize> {
    if line[..start].chars().next_back().is_some_and(word_or_dot) {
        return None;
    }
    if is_private(&line.as_bytes()[start..]) {
        return None;
    }
    octets(line, start, 0)
}

/// `\w` (Unicode, as the regex crates read it) or `.`.
fn word_or_dot(c: char) -> bool {
    c == '.' || regex_syntax::is_word_character(c)
}

/// The negative look-ahead: `192.168.`, `127.`, `10.` or `172.` and 16 to 31.
fn is_private(rest: &[u8]) -> bool {
    if rest.starts_with(b"192.168.") || rest.starts_with(b"127.") || rest.starts_with(b"10.") {
        return true;
    }
    match rest.strip_prefix(b"172.") {
        Some([b'1', b'6'..=b'9', ..] | [b'2', b'0'..=b'9', ..] | [b'3', b'0' | b'1', ..]) => true,
        _ => false,
    }
}

/// The lengths an octet can take at the start of `rest`, in the order the alternation tries
/// them: `25[0-5]`, `2[0-4][0-9]`, `1[0-9][0-9]`, `[1-9][0-9]`, `[0-9]`.
fn octet_lengths(rest: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let digit = |i: usize| rest.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize| rest.get(i).copied().unwrap_or(0);
    [
        at(0) == b'2' && at(1) == b'5' && (b'0'..=b'5').contains(&at(2)),
        at(0) == b'2' && (b'0'..=b'4').contains(&at(1)) && digit(2),
        at(0) == b'1' && digit(1) && digit(2),
        (b'1'..=b'9').contains(&at(0)) && digit(1),
        digit(0),
    ]
    .into_iter()
    .zip([3, 3, 3, 2, 1])
    .filter_map(|(fits, len)| fits.then_some(len))
}

/// Octet number `index` (0 to 3) and what follows it, from byte `pos`, backtracking as the
/// pattern does; the end of the whole match if one is found.
fn octets(line: &str, pos: usize, index: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    for len in octet_lengths(&bytes[pos..]) {
        let after = pos + len;
        let found = if index < 3 {
            if bytes.get(after) == Some(&b'.') {
                octets(line, after + 1, index + 1)
            } else {
                None
            }
        } else {
            port_and_end(line, after)
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// After the last octet at byte `pos`: the optional `:port` (one to five Unicode decimal digits,
/// as many as possible first), then the look-ahead that no word character or dot follows.
fn port_and_end(line: &str, pos: usize) -> Option<usize> {
    let free = |at: usize| !line[at..].chars().next().is_some_and(word_or_dot);
    if line.as_bytes().get(pos) == Some(&b':') {
        let mut ends = Vec::with_capacity(5);
        let mut at = pos + 1;
        for c in line[pos + 1..].chars().take(5) {
            if !is_decimal_digit(c) {
                break;
            }
            at += c.len_utf8();
            ends.push(at);
        }
        if let Some(end) = ends.into_iter().rev().find(|&end| free(end)) {
            return Some(end);
        }
    }
    free(pos).then_some(pos)
}

/// `\d` as the regex crates read it in Unicode mode (general category Nd).
fn is_decimal_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static DIGITS: std::sync::LazyLock<Vec<(char, char)>> =
        std::sync::LazyLock::new(|| match regex_syntax::parse(r"\d").map(|h| h.into_kind()) {
            Ok(regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class))) => {
                class.iter().map(|r| (r.start(), r.end())).collect()
            }
            _ => Vec::new(),
        });
    DIGITS
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The detector's pattern, compiled as the family compiles the others.
    static PATTERN: std::sync::LazyLock<fancy_regex::Regex> = std::sync::LazyLock::new(|| {
        use crate::secrets::detectors::{DETECTORS, PUBLIC_IP, regex_detector_patterns};
        assert_eq!(DETECTORS[PUBLIC_IP].code, "IPPublicDetector");
        let (_, sources, _) = regex_detector_patterns()
            .into_iter()
            .find(|(detector, _, _)| *detector == PUBLIC_IP)
            .expect("a regex detector");
        assert_eq!(sources.len(), 1);
        fancy_regex::RegexBuilder::new(&sources[0])
            .backtrack_limit(200_000)
            .build()
            .expect("compiles")
    });

    fn reference(line: &str, from: usize) -> Vec<String> {
        let mut out = Vec::new();
        crate::secrets::detectors::findall(&PATTERN, line, from, &mut out);
        out
    }

    fn by_hand(line: &str, from: usize) -> Vec<String> {
        let mut out = Vec::new();
        findall(line, from, &mut out);
        out
    }

    #[test]
    fn examples() {
        for (line, want) in [
            ("host = '8.8.8.8'", vec!["8.8.8.8"]),
            ("a 1.2.3.4:8080 b", vec!["1.2.3.4:8080"]),
            ("1.2.3.4:123456", vec!["1.2.3.4"]),
            ("v1.2.3.4 1.2.3.4.5 x.1.2.3.4", vec![]),
            (
                "192.168.1.1 10.0.0.1 172.16.0.1 172.32.0.1",
                vec!["172.32.0.1"],
            ),
            ("256.1.1.1 25.1.1.1 1.2.3.456", vec!["25.1.1.1"]),
            ("1.2.3.4:٣٣", vec!["1.2.3.4:٣٣"]),
            ("é1.2.3.4 1.2.3.4é", vec![]),
        ] {
            assert_eq!(by_hand(line, 0), want, "{line:?}");
            assert_eq!(reference(line, 0), want, "{line:?}");
        }
    }

    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            "[0-9]{1,4}",
            Just(".".to_string()),
            Just(":".to_string()),
            Just("192.168.".to_string()),
            Just("127.".to_string()),
            Just("10.".to_string()),
            Just("172.".to_string()),
            "(1[5-9]|2[0-9]|3[0-3])",
            "25[0-9]",
            Just("٣".to_string()),
            Just("é".to_string()),
            Just("_".to_string()),
            Just("K".to_string()),
            "[ a-z'\"/=,-]",
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The matcher finds what the compiled pattern finds, from any character boundary.
        #[test]
        fn matches_as_the_pattern(
            tokens in proptest::collection::vec(token(), 1..16),
            from_index in proptest::prelude::any::<usize>(),
        ) {
            let line: String = tokens.concat();
            let boundaries: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
            let from = boundaries[from_index % boundaries.len()];
            proptest::prop_assert_eq!(by_hand(&line, from), reference(&line, from), "{:?} from {}", line, from);
        }
    }
}
