//! Regexes compiled for ASCII text. Most plugin files are all ASCII, and on such a text a
//! pattern matches exactly as its ASCII form ([`ascii_hir`]) does: the pattern translated in
//! ASCII mode where that is exact, else its Unicode translation cut down to ASCII, every class
//! reduced to its ASCII members and every non-ASCII literal made impossible. (A match on ASCII
//! text consumes only ASCII characters, each of which the reduced class still holds; the
//! alternatives, repetitions, groups and assertions are untouched, so the leftmost-first match and
//! its groups are the same.) The ASCII form compiles without the UTF-8 automata of Unicode
//! classes, which are most of the compile time of a pattern holding `\w` or a negated class, and
//! a scan of a small plugin spends more on compiling patterns than on running them.
//!
//! [`ByText`] keeps both forms, each built on first use, and hands out the one a haystack needs.
//!
//! A pattern that only has to rule text out (a pre-filter, a superset) needs no second form: its
//! [`widened_hir`] matches exactly as it does on ASCII text and wherever it does on any text.

use std::sync::OnceLock;

use regex_automata::{meta, nfa::thompson};
use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
    Repetition,
};

/// A form of `pattern` (as the regex crates parse it by default) that matches on ASCII text
/// exactly as `pattern` does.
///
/// Translating a Unicode class (`\w`, a negated class) costs about as much as compiling it, so
/// where it gives the same matches on ASCII text the pattern is translated in ASCII mode
/// instead, after each non-ASCII character of its literals and ranges is replaced by the byte
/// 0x80 ([`stand_ins`]), which ASCII text never holds. Each class the two modes build then
/// agrees on ASCII characters (bytes above 0x7F, which ASCII-mode classes may hold, never occur
/// in ASCII text): Perl and ASCII classes do; set operations and negation keep that agreement;
/// and case folding can bring in an ASCII letter only through KELVIN SIGN or LONG S
/// (`crate::literal::FOLD_EXCEPTIONS`), which a class built from Perl, ASCII and nested classes
/// holds only together with the ASCII letters they fold to (the translator folds each class
/// before it negates it), and which a pattern that names them where case is ignored keeps in
/// Unicode mode. So does a pattern ASCII mode refuses (`\p{..}`); its Unicode translation is
/// then cut down to ASCII ([`cut_to_ascii`]).
pub fn ascii_hir(pattern: &str) -> Result<Hir, String> {
    use regex_syntax::{ast, hir::translate::TranslatorBuilder};
    let err = |e: &dyn std::fmt::Display| format!("pattern {pattern:?}: {e}");
    let ast = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| err(&e))?;
    if let Some(hir) = in_ascii_mode(pattern, &ast) {
        return Ok(hir);
    }
    let hir = TranslatorBuilder::new()
        .build()
        .translate(pattern, &ast)
        .map_err(|e| err(&e))?;
    Ok(cut_to_ascii(&hir))
}

/// `ast` (of `pattern`) translated in ASCII mode with its non-ASCII characters stood in for, if
/// that matches on ASCII text as Unicode mode does.
fn in_ascii_mode(pattern: &str, ast: &regex_syntax::ast::Ast) -> Option<Hir> {
    let mut stood_in = ast.clone();
    stand_ins(&mut stood_in, &mut false).ok()?;
    regex_syntax::hir::translate::TranslatorBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .translate(pattern, &stood_in)
        .ok()
}

/// A pattern that must be translated in Unicode mode to be cut down exactly.
struct KeepsUnicode;

/// The byte every non-ASCII character becomes: a hex escape, which ASCII mode reads as that
/// byte and the cut then removes.
fn stand_in(lit: &mut regex_syntax::ast::Literal) {
    use regex_syntax::ast::{HexLiteralKind, LiteralKind};
    lit.c = '\u{80}';
    lit.kind = LiteralKind::HexFixed(HexLiteralKind::X);
}

/// Whether a range a pattern names where case is ignored holds a character that matches an
/// ASCII letter.
fn folds_to_ascii(start: char, end: char) -> bool {
    crate::literal::FOLD_EXCEPTIONS
        .iter()
        .filter_map(|f| f.chars().next())
        .any(|c| (start..=end).contains(&c))
}

/// Replaces every non-ASCII character of `ast`'s literals and range ends by [`stand_in`], in
/// pattern order, with `ignore_case` the case-insensitive flag where the walk is (flags hold to
/// the end of their group, as the translator reads them). Refuses Unicode classes and, where
/// case is ignored, characters and ranges that hold a character folding to an ASCII letter.
fn stand_ins(ast: &mut regex_syntax::ast::Ast, ignore_case: &mut bool) -> Result<(), KeepsUnicode> {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Empty(_) | Ast::Dot(_) | Ast::Assertion(_) | Ast::ClassPerl(_) => Ok(()),
        Ast::ClassUnicode(_) => Err(KeepsUnicode),
        Ast::Flags(set) => {
            apply_flags(&set.flags, ignore_case);
            Ok(())
        }
        Ast::Literal(lit) => literal_stand_in(lit, *ignore_case),
        Ast::ClassBracketed(class) => class_stand_ins(&mut class.kind, *ignore_case),
        Ast::Repetition(rep) => stand_ins(&mut rep.ast, ignore_case),
        Ast::Group(group) => {
            let outside = *ignore_case;
            if let Some(flags) = group.flags() {
                apply_flags(flags, ignore_case);
            }
            stand_ins(&mut group.ast, ignore_case)?;
            *ignore_case = outside;
            Ok(())
        }
        Ast::Alternation(alt) => alt
            .asts
            .iter_mut()
            .try_for_each(|a| stand_ins(a, ignore_case)),
        Ast::Concat(cat) => cat
            .asts
            .iter_mut()
            .try_for_each(|a| stand_ins(a, ignore_case)),
    }
}

fn apply_flags(flags: &regex_syntax::ast::Flags, ignore_case: &mut bool) {
    use regex_syntax::ast::{Flag, FlagsItemKind};
    let mut negated = false;
    for item in &flags.items {
        match item.kind {
            FlagsItemKind::Negation => negated = true,
            FlagsItemKind::Flag(Flag::CaseInsensitive) => *ignore_case = !negated,
            FlagsItemKind::Flag(_) => {}
        }
    }
}

fn literal_stand_in(
    lit: &mut regex_syntax::ast::Literal,
    ignore_case: bool,
) -> Result<(), KeepsUnicode> {
    if lit.c.is_ascii() {
        Ok(())
    } else if ignore_case && folds_to_ascii(lit.c, lit.c) {
        Err(KeepsUnicode)
    } else {
        stand_in(lit);
        Ok(())
    }
}

fn class_stand_ins(
    set: &mut regex_syntax::ast::ClassSet,
    ignore_case: bool,
) -> Result<(), KeepsUnicode> {
    use regex_syntax::ast::ClassSet;
    match set {
        ClassSet::BinaryOp(op) => {
            class_stand_ins(&mut op.lhs, ignore_case)?;
            class_stand_ins(&mut op.rhs, ignore_case)
        }
        ClassSet::Item(item) => item_stand_ins(item, ignore_case),
    }
}

fn item_stand_ins(
    item: &mut regex_syntax::ast::ClassSetItem,
    ignore_case: bool,
) -> Result<(), KeepsUnicode> {
    use regex_syntax::ast::ClassSetItem;
    match item {
        ClassSetItem::Empty(_) | ClassSetItem::Ascii(_) | ClassSetItem::Perl(_) => Ok(()),
        ClassSetItem::Unicode(_) => Err(KeepsUnicode),
        ClassSetItem::Literal(lit) => literal_stand_in(lit, ignore_case),
        ClassSetItem::Range(range) => {
            let (start, end) = (range.start.c, range.end.c);
            if ignore_case && folds_to_ascii(start, end) {
                return Err(KeepsUnicode);
            }
            if !start.is_ascii() {
                stand_in(&mut range.start);
            }
            if !end.is_ascii() {
                stand_in(&mut range.end);
            }
            Ok(())
        }
        ClassSetItem::Bracketed(inner) => class_stand_ins(&mut inner.kind, ignore_case),
        ClassSetItem::Union(union) => union
            .items
            .iter_mut()
            .try_for_each(|item| item_stand_ins(item, ignore_case)),
    }
}

/// `hir` with every class reduced to ASCII and every literal that is not all ASCII replaced by a
/// class that matches nothing.
pub fn cut_to_ascii(hir: &Hir) -> Hir {
    rebuild(hir, &|leaf| match leaf.kind() {
        HirKind::Literal(lit) if !lit.0.is_ascii() => Some(Hir::fail()),
        HirKind::Class(Class::Unicode(class)) => {
            let mut class = class.clone();
            class.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            Some(Hir::class(Class::Unicode(class)))
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut class = class.clone();
            class.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7f)]));
            Some(Hir::class(Class::Bytes(class)))
        }
        _ => None,
    })
}

/// `hir` rebuilt with each literal, class or assertion replaced where `leaf` gives a
/// replacement; groups, repetitions, concatenations and alternations are kept.
fn rebuild(hir: &Hir, leaf: &impl Fn(&Hir) -> Option<Hir>) -> Hir {
    match hir.kind() {
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {
            leaf(hir).unwrap_or_else(|| hir.clone())
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(rebuild(&rep.sub, leaf)),
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            index: cap.index,
            name: cap.name.clone(),
            sub: Box::new(rebuild(&cap.sub, leaf)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(|h| rebuild(h, leaf)).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(|h| rebuild(h, leaf)).collect())
        }
    }
}

/// Classes with more ranges than this are widened by [`widened_hir`]; smaller ones compile
/// cheaply as they are.
const WIDEN_OVER: usize = 8;

/// `pattern` with each large class that holds non-ASCII characters widened to its ASCII members
/// and every non-ASCII character. It matches wherever `pattern` does, with a match starting at
/// each position where one of `pattern`'s does (so its leftmost match starts no later), and on
/// ASCII text it matches exactly as `pattern` does, since only non-ASCII characters were
/// added. A widened class is one UTF-8 range set instead of hundreds (`\w`), which is most of
/// such a pattern's compile time.
pub fn widened_hir(pattern: &str) -> Result<Hir, String> {
    let hir = regex_automata::util::syntax::parse(pattern)
        .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
    Ok(widen(&hir))
}

fn widen(hir: &Hir) -> Hir {
    rebuild(hir, &|leaf| match leaf.kind() {
        HirKind::Class(Class::Unicode(class))
            if class.ranges().len() > WIDEN_OVER
                && class.ranges().last().is_some_and(|r| !r.end().is_ascii()) =>
        {
            let mut class = class.clone();
            class.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            class.union(&ClassUnicode::new([ClassUnicodeRange::new(
                '\u{80}',
                char::MAX,
            )]));
            Some(Hir::class(Class::Unicode(class)))
        }
        _ => None,
    })
}

/// A meta regex of [`widened_hir`]`(pattern)` with `config`.
pub fn widened_meta_regex(pattern: &str, config: meta::Config) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .configure(config)
        .build_from_hir(&widened_hir(pattern)?)
        .map_err(|e| format!("pattern {pattern:?}: {e}"))
}

/// A Thompson NFA of [`widened_hir`]`(pattern)` with `config`.
pub fn widened_nfa(pattern: &str, config: thompson::Config) -> Result<thompson::NFA, String> {
    thompson::Compiler::new()
        .configure(config)
        .build_from_hir(&widened_hir(pattern)?)
        .map_err(|e| format!("pattern {pattern:?}: {e}"))
}

/// A meta regex of `pattern` with `config`: for any text, or (`ascii`) for ASCII text only.
pub fn meta_regex(pattern: &str, config: meta::Config, ascii: bool) -> Result<meta::Regex, String> {
    let builder = {
        let mut b = meta::Regex::builder();
        b.configure(config);
        b
    };
    let built = if ascii {
        builder.build_from_hir(&ascii_hir(pattern)?)
    } else {
        builder.build(pattern)
    };
    built.map_err(|e| format!("pattern {pattern:?}: {e}"))
}

/// A pattern compiled on first use, with the regex crate's default syntax and match semantics:
/// in its ASCII form for an ASCII haystack, in full for any other. A pattern with a Unicode
/// class (`\s`, `\b`, a negated class) compiles several times faster in ASCII form, and the
/// lines a per-line check looks at are nearly always ASCII.
pub struct LazyRegex {
    pattern: &'static str,
    forms: ByText<meta::Regex>,
}

impl LazyRegex {
    pub const fn new(pattern: &'static str) -> LazyRegex {
        LazyRegex {
            pattern,
            forms: ByText::new(),
        }
    }

    /// The compiled form for `haystack`; `None` only if the pattern does not compile (the
    /// tests of each user rule that out).
    pub fn for_text(&self, haystack: &str) -> Option<&meta::Regex> {
        self.forms.for_text(haystack, |ascii| {
            meta_regex(self.pattern, meta::Config::new().dfa(false), ascii).ok()
        })
    }

    /// The pattern as written.
    #[cfg(test)]
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// Whether the pattern matches anywhere in `haystack`.
    pub fn is_match(&self, haystack: &str) -> bool {
        self.for_text(haystack)
            .is_some_and(|re| re.is_match(haystack))
    }

    /// Where the leftmost-first match starting the search at byte `from` lies (look-around
    /// still sees the text before it), without the work of finding its groups.
    pub fn find_at(&self, haystack: &str, from: usize) -> Option<regex_automata::Match> {
        self.for_text(haystack)?
            .search(&regex_automata::Input::new(haystack).range(from..))
    }

    /// The leftmost-first match starting the search at byte `from` (look-around still sees the
    /// text before it), with each group's span.
    pub fn captures_at(
        &self,
        haystack: &str,
        from: usize,
    ) -> Option<regex_automata::util::captures::Captures> {
        let re = self.for_text(haystack)?;
        let mut caps = re.create_captures();
        re.search_captures(
            &regex_automata::Input::new(haystack).range(from..),
            &mut caps,
        );
        caps.is_match().then_some(caps)
    }
}

/// Asserts that `re` finds, from every start position of each of `hays`, the match and groups
/// the regex crate finds with the same pattern (the tests of each `LazyRegex` user call it).
#[cfg(test)]
pub fn assert_agrees_with_regex_crate(re: &LazyRegex, hays: &[&str]) {
    let reference = regex::Regex::new(re.pattern()).expect("compiles");
    for hay in hays {
        assert_eq!(
            re.is_match(hay),
            reference.is_match(hay),
            "{:?} on {hay:?}",
            re.pattern()
        );
        for from in (0..=hay.len()).filter(|i| hay.is_char_boundary(*i)) {
            let ours = re.captures_at(hay, from).map(|c| {
                (0..c.group_len())
                    .map(|g| c.get_group(g).map(|s| (s.start, s.end)))
                    .collect::<Vec<_>>()
            });
            let theirs = reference.captures_at(hay, from).map(|c| {
                c.iter()
                    .map(|m| m.map(|m| (m.start(), m.end())))
                    .collect::<Vec<_>>()
            });
            assert_eq!(ours, theirs, "{:?} on {hay:?} from {from}", re.pattern());
        }
    }
}

/// A value built on first use in two forms: one for ASCII haystacks and one for any haystack.
/// `None` is kept when building failed, so a failure is not retried on every call.
pub struct ByText<T> {
    ascii: OnceLock<Option<T>>,
    any: OnceLock<Option<T>>,
}

impl<T> Default for ByText<T> {
    fn default() -> Self {
        ByText::new()
    }
}

impl<T> ByText<T> {
    pub const fn new() -> ByText<T> {
        ByText {
            ascii: OnceLock::new(),
            any: OnceLock::new(),
        }
    }

    /// The form for `haystack`, built by `build(ascii)` the first time that form is needed.
    pub fn for_text(&self, haystack: &str, build: impl FnOnce(bool) -> Option<T>) -> Option<&T> {
        self.form(haystack.is_ascii(), build)
    }

    /// The ASCII form (`ascii`) or the one for any text.
    pub fn form(&self, ascii: bool, build: impl FnOnce(bool) -> Option<T>) -> Option<&T> {
        let cell = if ascii { &self.ascii } else { &self.any };
        cell.get_or_init(|| build(ascii)).as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every match (start, end and each group's span) of `pattern` on `hay`, searched from each
    /// start position in turn.
    fn all_matches(re: &meta::Regex, hay: &str) -> Vec<Vec<Option<(usize, usize)>>> {
        let mut out = Vec::new();
        let mut caps = re.create_captures();
        for from in 0..=hay.len() {
            let input = regex_automata::Input::new(hay).range(from..);
            re.search_captures(&input, &mut caps);
            out.push(
                (0..caps.group_len())
                    .map(|g| caps.get_group(g).map(|s| (s.start, s.end)))
                    .collect(),
            );
        }
        out
    }

    /// Patterns of each kind the ASCII translation treats differently: non-ASCII literals and
    /// ranges, case folding through KELVIN SIGN and LONG S, negated and nested classes, set
    /// operations, Perl, ASCII and Unicode classes, word boundaries.
    const PATTERNS: &[&str] = &[
        r"(?i)(contraseña|password)\w*[^\v'\x22]*",
        r"(?i)k\w+s",
        r"\bfoo\b|\Bbar",
        r"(?m)^\s*(?P<name>[^\s=]+)\s*=\s*(?P<value>.*)$",
        r"[^a-z]+?x|é|(?:a|ä)+",
        r"(?i)[ſk]ey",
        r"(?i)\x{212A}ey|\x{17F}",
        r"\W+(\d+)\s",
        r"(?i)[^kK]+",
        r"(?i)[[:^alpha:]]+",
        r"(?i)[[:^lower:]]|[[:alpha:]&&[^s]]",
        r"(?i)[\w--k]+|[\S~~[a-m]]",
        r"(?i)[[^s][k]]\W\D",
        r"(?i)[0-9A-Za-z_\x{80}-\x{10FFFF}]+",
        r"(?-i:[0-9a-z\x{80}-\x{10FFFF}])[^\x{100}-\x{200}]",
        r"\pL+\p{Greek}|(?u:\w)",
        r"(?s).+?(?i:K)$",
        r"a(?i)b|ſ",
        r"(?i:x)ſ|(?-i:\x{212A})k",
        r"(?i)[^ñ]+[a-ž]",
        r"(?i)x(?-i:[\x{80}-\x{10FFFF}]|ſ)y|[ſ]",
        r"(?i)(?:(?-i)K|ſ)|k",
        r"(?i)(contraseña|secret)(?-i:[0-9A-Za-z_\x{80}-\x{10FFFF}])*[^\v'\x22]",
    ];

    /// Each pattern compiled for any text and for ASCII text.
    static FORMS: std::sync::LazyLock<Vec<(&str, meta::Regex, meta::Regex)>> =
        std::sync::LazyLock::new(|| {
            PATTERNS
                .iter()
                .map(|p| {
                    let full = meta_regex(p, meta::Config::new(), false).expect("compiles");
                    let ascii = meta_regex(p, meta::Config::new(), true).expect("compiles");
                    (*p, full, ascii)
                })
                .collect()
        });

    #[test]
    fn the_ascii_form_matches_as_the_pattern_does_on_ascii_text() {
        let hays = [
            "",
            "password = 'x'",
            "PASSWORD_hint=\"abc def\"\tKEYS",
            "foo bar foobar  barfoo",
            "  user = admin\nkey=  value  \n",
            "A1 - 22 x ay aaa aa",
            "key Key KEY kEys",
            "!! 42 \t7 ",
            "Kelvin keys SKY sky ks KS",
            "kK sS []-_ 0~",
        ];
        for (p, full, ascii) in FORMS.iter() {
            for h in hays {
                assert!(h.is_ascii());
                assert_eq!(
                    all_matches(full, h),
                    all_matches(ascii, h),
                    "{p:?} on {h:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The same on random ASCII text drawn from the characters the patterns care about.
        #[test]
        fn the_ascii_form_agrees_on_random_ascii_text(hay in "[kKsSaAeyz09_ \t\n\x0b'\x22=~\\[\\]-]{0,24}") {
            for (p, full, ascii) in FORMS.iter() {
                proptest::prop_assert_eq!(all_matches(full, &hay), all_matches(ascii, &hay), "{:?} on {:?}", p, hay);
            }
        }
    }

    /// Which patterns are translated in ASCII mode: all but those naming, where case is ignored,
    /// a character that folds to an ASCII letter, and those with Unicode classes. (Either way
    /// the forms agree, as the tests above check; this one checks the cheap way is taken.)
    #[test]
    fn ascii_mode_is_taken_where_it_is_exact() {
        let ascii_mode = |p: &str| {
            let ast = regex_syntax::ast::parse::Parser::new().parse(p).unwrap();
            in_ascii_mode(p, &ast).is_some()
        };
        for p in [
            r"(?i)(contraseña|secret)\w*[^\v'\x22]",
            r"(?-i:[0-9A-Za-z_\x{80}-\x{10FFFF}])",
            r"(?i)(?:(?-i)K|ſ)|k",
            r"(?i:x)(?-i:\x{212A}ſ)",
            r"(?i)[^ñ]+[a-ž]|[[:^alpha:]\W]",
        ] {
            assert!(ascii_mode(p), "{p}");
        }
        for p in [
            r"a(?i)b|ſ",
            r"(?i:x\x{212A})",
            r"(?i)[a-ſ]",
            r"(?i)[\x{80}-\x{10FFFF}]",
            r"\pL",
            r"[\p{Greek}]",
        ] {
            assert!(!ascii_mode(p), "{p}");
        }
    }

    #[test]
    fn the_ascii_form_drops_only_what_ascii_text_cannot_hold() {
        // On non-ASCII text the forms differ: the cut-down really is cut down.
        let full = meta_regex(r"(?i)\w+", meta::Config::new(), false).unwrap();
        let ascii = meta_regex(r"(?i)\w+", meta::Config::new(), true).unwrap();
        assert_eq!(full.find("ñandú").map(|m| m.range()), Some(0..7));
        assert_eq!(ascii.find("ñandú").map(|m| m.range()), Some(2..5));
        let lit = meta_regex("é", meta::Config::new(), true).unwrap();
        assert!(lit.find("é").is_none());
    }

    #[test]
    fn text_picks_its_form_and_each_form_is_built_once() {
        let cell: ByText<bool> = ByText::default();
        let mut built = Vec::new();
        for hay in ["abc", "ábc", "xyz", "ü"] {
            let got = cell.for_text(hay, |ascii| {
                built.push(ascii);
                Some(ascii)
            });
            assert_eq!(got, Some(&hay.is_ascii()));
        }
        assert_eq!(built, [true, false]);
    }
}
