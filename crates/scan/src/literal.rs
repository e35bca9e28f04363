//! Cheap literal checks that rule a text out before a case-insensitive regex is compiled or run:
//! most files never need the regex, and compiling one costs more than scanning the file.

/// Whether `hay` may hold one of `words` when compared as a `(?i)` pattern compares (Unicode
/// simple case folding, as Python's `re.IGNORECASE` and the regex crate do). ASCII text is
/// answered exactly, ignoring ASCII case; text with any other character answers true, since
/// characters such as `ſ` (long s) and `K` (Kelvin sign) fold to ASCII letters.
pub fn may_contain_ci(hay: &str, words: &[&str]) -> bool {
    if !hay.is_ascii() {
        return true;
    }
    let h = hay.as_bytes();
    words.iter().any(|w| {
        let w = w.as_bytes();
        !w.is_empty() && h.len() >= w.len() && h.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w))
    })
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
    }
}
