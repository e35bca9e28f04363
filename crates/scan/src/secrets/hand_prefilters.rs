//! Pre-filters matched by hand. A few detectors' pre-filters open on nearly every plugin: their
//! gates are a dot, a colon or a capital letter pair, which all code holds. Compiled, each cost
//! a regex build per process (0.04 to 0.13 ms, the Discord one the most) before its first
//! search. These patterns are a fixed run of character classes after a literal, so a short
//! loop finds their leftmost-first match exactly (`tests::hand_matchers_agree_with_the_patterns`
//! compares every match with the compiled pattern's).
//!
//! Each matcher returns the leftmost match starting at or after byte `from` (a character
//! boundary), as the compiled pattern's search from `from` does.

/// A hand matcher: the leftmost match's byte range at or after `from`.
pub type HandMatcher = fn(&str, usize) -> Option<(usize, usize)>;

/// The hand matcher of a detector's pre-filter, if it has one (the tests compare it with the
/// pre-filter's pattern, which stays the source of truth).
pub fn for_detector(detector: usize) -> Option<HandMatcher> {
    match detector {
        0 => Some(artifactory),
        6 => Some(discord),
        12 => Some(dotted_quad),
        25 => Some(telegram),
        26 => Some(twilio),
        _ => None,
    }
}

fn ascii_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The end of `count` characters from byte `at` that all satisfy `class`, if there are that
/// many.
fn chars_in(hay: &str, at: usize, count: usize, class: impl Fn(char) -> bool) -> Option<usize> {
    let mut end = at;
    let mut chars = hay.get(at..)?.chars();
    for _ in 0..count {
        let c = chars.next().filter(|&c| class(c))?;
        end += c.len_utf8();
    }
    Some(end)
}

/// The end of `count` ASCII bytes from `at` that all satisfy `class`.
fn bytes_in(hay: &[u8], at: usize, count: usize, class: impl Fn(u8) -> bool) -> Option<usize> {
    let end = at.checked_add(count)?;
    hay.get(at..end)?.iter().all(|&b| class(b)).then_some(end)
}

/// ArtifactoryDetector: `AKC[a-zA-Z0-9]{10}|AP[0-9ABCDEF\x{80}-\x{10FFFF}][a-zA-Z0-9]{8}`.
fn artifactory(hay: &str, from: usize) -> Option<(usize, usize)> {
    let b = hay.as_bytes();
    for at in memchr::memchr_iter(b'A', b.get(from..)?).map(|i| i + from) {
        let end = match b.get(at + 1) {
            Some(b'K') if b.get(at + 2) == Some(&b'C') => bytes_in(b, at + 3, 10, ascii_alnum),
            Some(b'P') => chars_in(hay, at + 2, 1, |c| {
                matches!(c, '0'..='9' | 'A'..='F') || !c.is_ascii()
            })
            .and_then(|next| bytes_in(b, next, 8, ascii_alnum)),
            _ => None,
        };
        if let Some(end) = end {
            return Some((at, end));
        }
    }
    None
}

/// DiscordBotTokenDetector's pre-filter, from the token's first dot:
/// `\.[a-zA-Z0-9_\x{80}-\x{10FFFF}-]{6}\.[a-zA-Z0-9_\x{80}-\x{10FFFF}-]{27}`.
fn discord(hay: &str, from: usize) -> Option<(usize, usize)> {
    let class = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || !c.is_ascii();
    let b = hay.as_bytes();
    for at in memchr::memchr_iter(b'.', b.get(from..)?).map(|i| i + from) {
        let end = chars_in(hay, at + 1, 6, class)
            .filter(|&dot| b.get(dot) == Some(&b'.'))
            .and_then(|dot| chars_in(hay, dot + 1, 27, class));
        if let Some(end) = end {
            return Some((at, end));
        }
    }
    None
}

/// IPPublicDetector's pre-filter: `[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`.
///
/// A run of one to three digits followed by a dot can only be a whole run of digits (fewer
/// would leave a digit before the dot), so the first three parts are fixed by where the dots
/// are; the last takes up to three digits. A match is found from its first dot: it starts up
/// to three digits before it, as early as the digits and `from` allow.
fn dotted_quad(hay: &str, from: usize) -> Option<(usize, usize)> {
    let b = hay.as_bytes();
    let digits_from = |at: usize| {
        b.get(at..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    for dot in memchr::memchr_iter(b'.', b.get(from..)?).map(|i| i + from) {
        let before = b[from..dot]
            .iter()
            .rev()
            .take(3)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if before == 0 {
            continue;
        }
        let mut at = dot;
        let mut whole = true;
        for _ in 0..2 {
            let run = digits_from(at + 1);
            if !(1..=3).contains(&run) || b.get(at + 1 + run) != Some(&b'.') {
                whole = false;
                break;
            }
            at += 1 + run;
        }
        if !whole {
            continue;
        }
        let last = digits_from(at + 1);
        if last == 0 {
            continue;
        }
        return Some((dot - before, at + 1 + last.min(3)));
    }
    None
}

/// TelegramBotTokenDetector's pre-filter: `[0-9\x{80}-\x{10FFFF}]{8}:[0-9A-Za-z_-]{35}`. A
/// match is found from its colon: it starts exactly eight characters before it.
fn telegram(hay: &str, from: usize) -> Option<(usize, usize)> {
    let b = hay.as_bytes();
    let tail = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    for colon in memchr::memchr_iter(b':', b.get(from..)?).map(|i| i + from) {
        let Some(end) = bytes_in(b, colon + 1, 35, tail) else {
            continue;
        };
        let mut start = colon;
        let mut count = 0;
        for c in hay[from..colon].chars().rev().take(8) {
            if !(c.is_ascii_digit() || !c.is_ascii()) {
                break;
            }
            start -= c.len_utf8();
            count += 1;
        }
        if count == 8 {
            return Some((start, end));
        }
    }
    None
}

/// TwilioKeyDetector's pre-filter: `[AS][CK][a-z0-9]{32}`.
fn twilio(hay: &str, from: usize) -> Option<(usize, usize)> {
    let b = hay.as_bytes();
    let tail = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    for at in memchr::memchr2_iter(b'A', b'S', b.get(from..)?).map(|i| i + from) {
        if matches!(b.get(at + 1), Some(b'C' | b'K'))
            && let Some(end) = bytes_in(b, at + 2, 32, tail)
        {
            return Some((at, end));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The compiled pre-filter of `detector`, as the regex-based pre-filters are compiled.
    fn compiled(detector: usize) -> regex_automata::meta::Regex {
        let (_, _, source) = super::super::detectors::regex_detector_patterns()
            .into_iter()
            .find(|(d, _, _)| *d == detector)
            .expect("detector");
        crate::ascii_regex::widened_meta_regex(&source, Default::default()).expect("compiles")
    }

    const HANDED: [usize; 5] = [0, 6, 12, 25, 26];

    /// Every match of the hand matcher from `from` on, in turn, as the compiled pattern's
    /// iterator gives them.
    fn all(matcher: HandMatcher, hay: &str, mut from: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        while let Some((s, e)) = matcher(hay, from) {
            assert!(e > s && s >= from, "{hay:?} {s} {e} from {from}");
            out.push((s, e));
            from = e;
        }
        out
    }

    fn check(detector: usize, re: &regex_automata::meta::Regex, hay: &str) {
        let matcher = for_detector(detector).expect("hand matcher");
        // From the start and from a sample of later character boundaries.
        let froms = (0..=hay.len()).filter(|&i| hay.is_char_boundary(i) && (i == 0 || i % 5 == 1));
        for from in froms {
            let want: Vec<(usize, usize)> = re
                .find_iter(regex_automata::Input::new(hay).range(from..))
                .map(|m| (m.start(), m.end()))
                .collect();
            assert_eq!(
                all(matcher, hay, from),
                want,
                "detector {detector} on {hay:?} from {from}"
            );
        }
    }

    #[test]
    fn hand_matchers_agree_with_the_patterns_on_examples() {
        let examples = [
            "x = AKCabcdefghij1 AKCshort AP1abcdefgh APGabcdefgh APéabcdefgh9",
            "token = 'MTA.abcdef.abcdefghijklmnopqrstuvwxyz0 .é-_aB1.aaaaaaaaaaaaaaaaaaaaaaaaaaa'",
            "a.b.c.d 1.2.3.4 1234.5.6.7 12.34.56.7890 1.2.3 ..1.2.3.4.5 9.9.9.9.9 1.2.3.",
            "bot 1234567890:AAbbCCdd_-0123456789abcdefghijklmnopqrs 12345678:short é1234567:",
            "sid = 'ACabcdef0123456789abcdef0123456789' SKABCDEF SC0123456789abcdefabcdef012345678",
            "",
            "...",
            "::::",
        ];
        for detector in HANDED {
            let re = compiled(detector);
            for hay in examples {
                check(detector, &re, hay);
            }
        }
    }

    /// Texts made of the characters these patterns turn on, in runs long enough to match.
    fn texts() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(".".to_string()),
            Just(":".to_string()),
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("é".to_string()),
            Just("\u{1D7CE}".to_string()),
            "[0-9]{1,4}",
            "[A-Z]{1,3}",
            "(AKC|AP|AC|SK|SC|AK)",
            "[a-z0-9]{1,34}",
            "[a-zA-Z0-9_-]{5,36}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn hand_matchers_agree_with_the_patterns(hay in texts()) {
            for detector in HANDED {
                check(detector, &compiled(detector), &hay);
            }
        }
    }
}
