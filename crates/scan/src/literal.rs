//! Cheap literal checks that rule a text out before a case-insensitive regex is compiled or run:
//! most files never need the regex, and compiling one costs more than scanning the file.

/// Characters that a case-insensitive pattern matches as an ASCII letter but an ASCII
/// comparison does not: LATIN SMALL LETTER LONG S (`s`) and KELVIN SIGN (`k`).
/// `fold_exceptions_are_exactly_these` proves there are no others.
pub const FOLD_EXCEPTIONS: [&str; 2] = ["\u{17F}", "\u{212A}"];

/// Whether `hay` may hold one of `words` (ASCII words) when compared as a `(?i)` pattern compares
/// (Unicode simple case folding, as Python's `re.IGNORECASE` and the regex crate do). Text that
/// holds one of the [`FOLD_EXCEPTIONS`] answers true; any other text is answered exactly by an
/// ASCII comparison ignoring case, since no other character folds to an ASCII letter.
pub fn may_contain_ci(hay: &str, words: &[&str]) -> bool {
    let h = hay.as_bytes();
    if !hay.is_ascii() && FOLD_EXCEPTIONS.iter().any(|f| hay.contains(f)) {
        return true;
    }
    words.iter().any(|w| contains_ascii_ci(h, w.as_bytes()))
}

/// Whether `hay` holds `word`, ASCII case ignored: candidates found by the word's rarest byte in
/// either case (memchr), then compared. In code and prose the first letter is often a common
/// one (the `n` of `noqa`, the `p` of `pwd`), and every occurrence of it is a candidate to
/// compare; the rarest letter (the `q`) gives few.
fn contains_ascii_ci(hay: &[u8], word: &[u8]) -> bool {
    if word.is_empty() || hay.len() < word.len() {
        return false;
    }
    let anchor = rarest(word);
    let b = word[anchor];
    let (lower, upper) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
    // A match starting at `start` has its anchor at `start + anchor`.
    let last_start = hay.len() - word.len();
    memchr::memchr2_iter(lower, upper, &hay[anchor..=last_start + anchor])
        .any(|at| hay[at..at + word.len()].eq_ignore_ascii_case(word))
}

/// The index of the byte of `word` least likely to occur in text: letters by their rank in
/// English text and source code, rarest last; digits and punctuation in between.
fn rarest(word: &[u8]) -> usize {
    const BY_FREQUENCY: &[u8] = b"etaoinsrlhdcupmfgybwvkxjqz";
    let rank = |b: u8| {
        BY_FREQUENCY
            .iter()
            .position(|&l| l == b.to_ascii_lowercase())
            .unwrap_or(12)
    };
    let mut best = 0;
    for (i, &b) in word.iter().enumerate() {
        if rank(b) > rank(word[best]) {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::may_contain_ci;

    #[test]
    fn ascii_is_exact_and_other_text_is_left_to_the_regex() {
        assert!(may_contain_ci("DB_PASSWORD", &["pwd", "pas"]));
        assert!(may_contain_ci("x # NoQA: E501", &["noqa"]));
        assert!(!may_contain_ci(
            "username",
            &["pas", "pwd", "token", "secret"]
        ));
        assert!(!may_contain_ci("", &["noqa"]));
        assert!(!may_contain_ci("no", &["noqa"]));
        // `ſ` folds to `s`: the regex decides.
        assert!(may_contain_ci("paſſword", &["pas"]));
        let re = regex::Regex::new("(?i)pas").unwrap();
        assert!(re.is_match("paſſword"));
        // Other non-ASCII text is answered exactly.
        assert!(!may_contain_ci("mot de passe été", &["pwd", "secret"]));
        assert!(may_contain_ci("mot de PASSE été", &["pas"]));
        assert!(may_contain_ci("été PAS", &["pas"]));
        assert!(!may_contain_ci("été PA", &["pas"]));
        assert!(may_contain_ci("\u{212A}", &["x"]));
    }

    /// The exact answer agrees with the regex on ASCII and mixed text.
    #[test]
    fn agrees_with_the_regex() {
        let re = regex::Regex::new("(?i)noqa|pwd").unwrap();
        for hay in [
            "x  # NOQA",
            "# no qa",
            "nOqA",
            "é noqa",
            "ñ pWd",
            "pw d",
            "",
            "n",
            "qa noq",
            "ÅNOQAÅ",
        ] {
            assert_eq!(
                may_contain_ci(hay, &["noqa", "pwd"]),
                re.is_match(hay),
                "{hay}"
            );
        }
    }

    /// Every position of a match is found, whichever byte of the word anchors the search.
    #[test]
    fn finds_words_wherever_they_are() {
        let words = [
            "noqa", "pwd", "q", "xq", "qx", "aaq", "secret", "_key", "9z",
        ];
        for word in words {
            for pad_before in 0..4 {
                for pad_after in 0..4 {
                    for case in [word.to_string(), word.to_ascii_uppercase()] {
                        let hay =
                            format!("{}{case}{}", "-".repeat(pad_before), "+".repeat(pad_after));
                        assert!(may_contain_ci(&hay, &[word]), "{word} in {hay}");
                        // One byte cut from the word: no longer found.
                        let cut = &hay[..pad_before + word.len() - 1];
                        assert!(!may_contain_ci(cut, &[word]), "{word} in {cut}");
                        let cut = &hay[pad_before + 1..];
                        assert!(!may_contain_ci(cut, &[word]), "{word} in {cut}");
                    }
                }
            }
        }
        assert_eq!(super::rarest(b"noqa"), 2);
        assert_eq!(super::rarest(b"pwd"), 1);
    }

    /// LONG S and KELVIN SIGN are the only non-ASCII characters a case-insensitive pattern
    /// matches as an ASCII letter.
    #[test]
    fn fold_exceptions_are_exactly_these() {
        let re = regex::Regex::new("(?i)^[a-z]$").expect("compiles");
        let folding: Vec<String> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .map(String::from)
            .filter(|c| re.is_match(c))
            .collect();
        assert_eq!(folding, super::FOLD_EXCEPTIONS.map(String::from).to_vec());
    }
}
