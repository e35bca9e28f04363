//! The 27 detectors of detect-secrets 1.5.0: their names, secret types and patterns, compiled
//! once. Patterns follow the reference plugins (the regexes, the group each one yields, and which
//! of them ignore case); a cheap lookaround-free pre-filter per detector decides on which lines the
//! exact (backtracking) pattern runs at all, so each line is looked at by one combined pass.

use std::sync::OnceLock;

use fancy_regex::Regex as Fancy;
use regex::Regex;

use super::hand_prefilters::{self, HandMatcher};
use crate::ascii_regex::{self, ByText};

/// One detector: the plugin class name (the rule code) and the secret type it reports.
#[derive(Debug, Clone, Copy)]
pub struct DetectorInfo {
    pub code: &'static str,
    pub secret_type: &'static str,
    pub name: &'static str,
}

pub const KEYWORD: usize = 14;
pub const BASE64: usize = 3;
pub const HEX: usize = 9;
/// The public IP detector, whose pattern is matched by hand (`public_ip`).
pub const PUBLIC_IP: usize = 12;

/// Every detector, in the reference tool's plugin order (alphabetical by class name).
pub const DETECTORS: [DetectorInfo; 27] = [
    DetectorInfo {
        code: "ArtifactoryDetector",
        secret_type: "Artifactory Credentials",
        name: "Artifactory API token",
    },
    DetectorInfo {
        code: "AWSKeyDetector",
        secret_type: "AWS Access Key",
        name: "AWS access key",
    },
    DetectorInfo {
        code: "AzureStorageKeyDetector",
        secret_type: "Azure Storage Account access key",
        name: "Azure Storage account key",
    },
    DetectorInfo {
        code: "Base64HighEntropyString",
        secret_type: "Base64 High Entropy String",
        name: "High-entropy Base64 string",
    },
    DetectorInfo {
        code: "BasicAuthDetector",
        secret_type: "Basic Auth Credentials",
        name: "HTTP Basic Auth credentials",
    },
    DetectorInfo {
        code: "CloudantDetector",
        secret_type: "Cloudant Credentials",
        name: "IBM Cloudant credentials",
    },
    DetectorInfo {
        code: "DiscordBotTokenDetector",
        secret_type: "Discord Bot Token",
        name: "Discord bot token",
    },
    DetectorInfo {
        code: "GitHubTokenDetector",
        secret_type: "GitHub Token",
        name: "GitHub personal access token",
    },
    DetectorInfo {
        code: "GitLabTokenDetector",
        secret_type: "GitLab Token",
        name: "GitLab personal access token",
    },
    DetectorInfo {
        code: "HexHighEntropyString",
        secret_type: "Hex High Entropy String",
        name: "High-entropy hex string",
    },
    DetectorInfo {
        code: "IbmCloudIamDetector",
        secret_type: "IBM Cloud IAM Key",
        name: "IBM Cloud IAM API key",
    },
    DetectorInfo {
        code: "IbmCosHmacDetector",
        secret_type: "IBM COS HMAC Credentials",
        name: "IBM Cloud Object Storage HMAC credentials",
    },
    DetectorInfo {
        code: "IPPublicDetector",
        secret_type: "Public IP (ipv4)",
        name: "Public IP address",
    },
    DetectorInfo {
        code: "JwtTokenDetector",
        secret_type: "JSON Web Token",
        name: "JWT token",
    },
    DetectorInfo {
        code: "KeywordDetector",
        secret_type: "Secret Keyword",
        name: "Secret keyword",
    },
    DetectorInfo {
        code: "MailchimpDetector",
        secret_type: "Mailchimp Access Key",
        name: "Mailchimp API key",
    },
    DetectorInfo {
        code: "NpmDetector",
        secret_type: "NPM tokens",
        name: "NPM access token",
    },
    DetectorInfo {
        code: "OpenAIDetector",
        secret_type: "OpenAI Token",
        name: "OpenAI API key",
    },
    DetectorInfo {
        code: "PrivateKeyDetector",
        secret_type: "Private Key",
        name: "Private key",
    },
    DetectorInfo {
        code: "PypiTokenDetector",
        secret_type: "PyPI Token",
        name: "PyPI API token",
    },
    DetectorInfo {
        code: "SendGridDetector",
        secret_type: "SendGrid API Key",
        name: "SendGrid API key",
    },
    DetectorInfo {
        code: "SlackDetector",
        secret_type: "Slack Token",
        name: "Slack token",
    },
    DetectorInfo {
        code: "SoftlayerDetector",
        secret_type: "SoftLayer Credentials",
        name: "SoftLayer (IBM Cloud) credentials",
    },
    DetectorInfo {
        code: "SquareOAuthDetector",
        secret_type: "Square OAuth Secret",
        name: "Square OAuth token",
    },
    DetectorInfo {
        code: "StripeDetector",
        secret_type: "Stripe Access Key",
        name: "Stripe API key",
    },
    DetectorInfo {
        code: "TelegramBotTokenDetector",
        secret_type: "Telegram Bot Token",
        name: "Telegram bot token",
    },
    DetectorInfo {
        code: "TwilioKeyDetector",
        secret_type: "Twilio API Key",
        name: "Twilio API key",
    },
];

/// detect-secrets' `build_assignment_regex`: `<prefix>(-|_|)<keyword> <assignment> <secret>`,
/// case-insensitive, starting at a non-word character or the start of the line.
fn assignment(prefix: &str, keyword: &str, secret: &str) -> String {
    format!(
        r#"(?i)(?:(?<=\W)|^)(?:\[|)(?:"|'|){prefix}(?:_|-|){keyword}(?:"|'|)(?:\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|'|){secret}(?:"|'|)"#
    )
}

/// Exact patterns and pre-filter of each regex-based detector (index into [`DETECTORS`]).
/// A pre-filter matches wherever its exact patterns do, starting no later. Where an exact
/// pattern says `\d` (any Unicode decimal digit, as in Python), the pre-filter says `0-9` or
/// any non-ASCII character: the same superset, at a fraction of the compile time of Unicode's
/// digit table.
pub(super) fn regex_detector_patterns() -> Vec<(usize, Vec<String>, String)> {
    let s = |x: &str| x.to_string();
    // BasicAuth: everything but reserved and sub-delimiter characters and whitespace.
    let basic_class = r#"[^:/?#\[\]@!$&'()*+,;=\s]"#;
    let cl = "(?:cloudant|cl|clou)";
    let cl_key = "(?:api|)(?:key|pwd|pw|password|pass|token)";
    let cl_pw = "([0-9a-f]{64})";
    let cl_api = "([a-z]{24})";
    let http = r"(?:https?\:\/\/)";
    let account = r"[\w\-]+";
    let ibm_prefix = r"(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm(?:_|-|)cloud|ibm(?:_|-|)iam|ibm|iam|cloud|)(?:_|-|)(?:api|)";
    let sl = "(?:softlayer|sl)(?:_|-|)(?:api|)";
    let assign_tail = r#"["']?\]? *(?:=|:|:=|=>| +|::) *["']?"#;
    vec![
        (
            0,
            vec![
                s(r#"(?:\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\s|"|$)"#),
                s(r#"(?:\s|=|:|"|^)AP[\dABCDEF][a-zA-Z0-9]{8,}(?:\s|"|$)"#),
            ],
            s(r"AKC[a-zA-Z0-9]{10}|AP[0-9ABCDEF\x{80}-\x{10FFFF}][a-zA-Z0-9]{8}"),
        ),
        (
            1,
            vec![
                s(r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"),
                s(
                    r#"(?i)aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['"]([0-9a-zA-Z/+]{40})['"]"#,
                ),
            ],
            s(r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}|(?i:aws)"),
        ),
        (
            2,
            vec![s(r"AccountKey=[a-zA-Z0-9+\/=]{88}")],
            s("AccountKey="),
        ),
        (
            4,
            vec![format!("://{basic_class}+:({basic_class}+)@")],
            s("://"),
        ),
        (
            5,
            vec![
                assignment(cl, cl_key, cl_pw),
                assignment(cl, cl_key, cl_api),
                format!(r"(?i){http}{account}\:{cl_pw}\@{account}\.cloudant\.com"),
                format!(r"(?i){http}{account}\:{cl_api}\@{account}\.cloudant\.com"),
            ],
            s(r"(?i)cl(?:oudant|ou)?[_-]?(?:api)?(?:key|pwd|pw|pass|token)|(?i)cloudant\.com"),
        ),
        (
            6,
            vec![s(
                r"[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}",
            )],
            // From the first dot on: the counted run before it, whose every `M`, `N` or `O`
            // could start a match, made the lazy DFA build a state per character of base64
            // text (5 ms on a certificate bundle); the lead covers that part. The last run
            // keeps code such as `self.config.x` from compiling the exact pattern.
            s(r"\.[a-zA-Z0-9_\x{80}-\x{10FFFF}-]{6}\.[a-zA-Z0-9_\x{80}-\x{10FFFF}-]{27}"),
        ),
        (
            7,
            vec![s(r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}")],
            s(r"gh[pousr]_[A-Za-z0-9_]{36}"),
        ),
        (
            8,
            vec![
                s(r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)"),
                s(r"GR1348941[A-Za-z0-9_\-]{20,50}(?!\w)"),
                s(r"glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?!\w)"),
                s(r"glimt-[A-Za-z0-9_\-]{25}(?!\w)"),
                s(r"glptt-[A-Za-z0-9_\-]{40}(?!\w)"),
                s(r"glagent-[A-Za-z0-9_\-]{50,1024}(?!\w)"),
                s(r"gloas-[A-Za-z0-9_\-]{64}(?!\w)"),
            ],
            s(r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-|GR1348941"),
        ),
        (
            10,
            vec![assignment(
                ibm_prefix,
                "(?:key|pwd|password|pass|token)",
                r"([a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-]))",
            )],
            format!(r"(?i)(?:key|pwd|pass|token){assign_tail}[a-zA-Z0-9_\-]{{44}}"),
        ),
        (
            11,
            vec![assignment(
                r"(?:(?:ibm)?[-_]?cos[-_]?(?:hmac)?|)",
                r"(?:secret[-_]?(?:access)?[-_]?key)",
                r"([a-f0-9]{48}(?![a-f0-9]))",
            )],
            format!(r"(?i)secret[-_]?(?:access)?[-_]?key{assign_tail}[a-f0-9]{{48}}"),
        ),
        (
            12,
            vec![s(
                r"(?i)(?<![\w.])((?!192\.168\.|127\.|10\.|172\.(?:1[6-9]|2[0-9]|3[01]))(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?::\d{1,5})?)(?![\w.])",
            )],
            s(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
        ),
        (
            13,
            vec![s(
                r"eyJ[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.?[A-Za-z0-9\-_.+/=]*?",
            )],
            s(r"eyJ[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]"),
        ),
        (
            15,
            vec![s(r"[0-9a-z]{32}-us[0-9]{1,2}")],
            s(r"[0-9a-z]{32}-us[0-9]"),
        ),
        (
            16,
            vec![s(r"\/\/.+\/:_authToken=\s*((npm_.+)|([A-Fa-f0-9-]{36})).*")],
            s(r"//.+/:_authToken="),
        ),
        (
            17,
            vec![s(
                r"sk-[A-Za-z0-9\-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
            )],
            s("T3BlbkFJ"),
        ),
        (
            18,
            vec![
                s("BEGIN DSA PRIVATE KEY"),
                s("BEGIN EC PRIVATE KEY"),
                s("BEGIN OPENSSH PRIVATE KEY"),
                s("BEGIN PGP PRIVATE KEY BLOCK"),
                s("BEGIN PRIVATE KEY"),
                s("BEGIN RSA PRIVATE KEY"),
                s("BEGIN SSH2 ENCRYPTED PRIVATE KEY"),
                s("PuTTY-User-Key-File-2"),
            ],
            s(
                r"BEGIN (?:DSA |EC |OPENSSH |PGP |RSA |SSH2 ENCRYPTED )?PRIVATE KEY|PuTTY-User-Key-File-2",
            ),
        ),
        (
            19,
            vec![
                s(r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9\-_]{70,}"),
                s(r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9\-_]{70,}"),
            ],
            s("pypi-AgE"),
        ),
        (
            20,
            vec![s(r"SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}")],
            s(r"SG\.[a-zA-Z0-9_-]{22}\."),
        ),
        (
            21,
            vec![
                s(r"(?i)xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+"),
                s(
                    r"(?i)https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
                ),
            ],
            s(r"(?i)xox[abposr]-|(?i)hooks\.slack\.com/services/"),
        ),
        (
            22,
            vec![
                assignment(sl, "(?:key|pwd|password|pass|token)", "([a-z0-9]{64})"),
                s(r"(?i)(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/([a-z0-9]{64})"),
            ],
            s(
                r"(?i)(?:softlayer|sl)[_-]?(?:api)?[_-]?(?:key|pwd|pass|token)|(?i)api.softlayer.com/soap/",
            ),
        ),
        (23, vec![s(r"sq0csp-[0-9A-Za-z\\\-_]{43}")], s("sq0csp-")),
        (
            24,
            vec![s(r"(?:r|s)k_live_[0-9a-zA-Z]{24}")],
            s(r"[rs]k_live_[0-9a-zA-Z]{24}"),
        ),
        (
            25,
            vec![s(r"\d{8,10}:[0-9A-Za-z_-]{35}")],
            s(r"[0-9\x{80}-\x{10FFFF}]{8}:[0-9A-Za-z_-]{35}"),
        ),
        (
            26,
            vec![s(r"AC[a-z0-9]{32}"), s(r"SK[a-z0-9]{32}")],
            s(r"[AS][CK][a-z0-9]{32}"),
        ),
    ]
}

/// How many bytes before its pre-filter's first hit on a line a detector's match can start, or
/// `None` when the pre-filter does not bound the start (the search then starts at the line's start).
pub fn prefilter_lead(detector: usize) -> Option<usize> {
    match detector {
        // Artifactory: one delimiter character before the token.
        0 => Some(4),
        // Assignments (`[`, quotes, a prefix such as `ibm_cloud_iam_api_`) before the keyword,
        // or a scheme before the host name.
        10 | 11 | 21 | 22 => Some(64),
        // Telegram: up to two more digits than the pre-filter's eight.
        25 => Some(8),
        // Discord: the pre-filter starts at the first dot, after `[MNO]` and up to 25
        // characters of four bytes at most.
        6 => Some(1 + 25 * 4),
        // Cloudant URLs and OpenAI keys: the pre-filter hits in the middle of the match.
        5 | 17 => None,
        _ => Some(0),
    }
}

/// Every product of one choice from each list, concatenated.
fn expand(parts: &[&[&str]]) -> Vec<String> {
    parts.iter().fold(vec![String::new()], |acc, part| {
        acc.iter()
            .flat_map(|head| part.iter().map(move |tail| format!("{head}{tail}")))
            .collect()
    })
}

/// A pre-filter's gate: literals of which every match of the pre-filter contains at least one,
/// compared with ASCII case ignored or exactly.
pub struct Gate {
    pub ignore_case: Vec<String>,
    pub exact: Vec<String>,
}

/// The gate of a regex-based detector's pre-filter, so a file holding none of its literals needs
/// neither the pre-filter's compilation nor its search. `None`: no literal rare enough to be worth
/// it (the pre-filter is compiled and run on every file). `gates_are_sound` proves each gate over
/// the product of the pre-filter's automaton and the gate's.
pub fn gate(detector: usize) -> Option<Gate> {
    // The prefixes the reference patterns spell in capitals.
    let exact: Vec<String> = match detector {
        0 => &["AKC", "AP"][..],
        1 => &["A3T", "ABIA", "ACCA", "AKIA", "ASIA"],
        26 => &["AC", "AK", "SC", "SK"],
        _ => &[],
    }
    .iter()
    .map(|x| x.to_string())
    .collect();
    let ignore_case = gate_ignoring_case(detector);
    if ignore_case.is_none() && exact.is_empty() {
        return None;
    }
    Some(Gate {
        ignore_case: ignore_case.unwrap_or_default(),
        exact,
    })
}

/// The literals of a detector's gate compared with ASCII case ignored.
fn gate_ignoring_case(detector: usize) -> Option<Vec<String>> {
    let keywords: &[&str] = &["key", "pw", "pass", "token"];
    let list = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect());
    match detector {
        1 => list(&["aws"]),
        2 => list(&["accountkey="]),
        4 => list(&["://"]),
        // The character before the keyword: the end of `cl`/`clou`/`cloudant`, a separator or
        // `api`.
        5 => {
            let mut v = expand(&[&["l", "u", "t", "_", "-", "i"], keywords]);
            v.push("cloudant.com".into());
            Some(v)
        }
        7 => list(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        8 => list(&[
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "glcbt-",
            "glimt-",
            "glptt-",
            "glagent-",
            "gloas-",
            "gr1348941",
        ]),
        // The keyword and the character after it (a quote, `]`, a space or the assignment).
        10 => Some(expand(&[
            &["key", "pwd", "pass", "token"],
            &["\"", "'", "]", " ", "=", ":"],
        ])),
        11 => list(&["secret-", "secret_", "secreta", "secretk"]),
        13 => list(&["eyj"]),
        15 => Some(expand(&[
            &["-us"],
            &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        ])),
        16 => list(&["/:_authtoken="]),
        17 => list(&["t3blbkfj"]),
        18 => list(&["private key", "putty-user-key-file-2"]),
        19 => list(&["pypi-age"]),
        20 => list(&["sg."]),
        21 => list(&[
            "xoxa-",
            "xoxb-",
            "xoxp-",
            "xoxo-",
            "xoxs-",
            "xoxr-",
            "hooks.slack.com/services/",
        ]),
        // As Cloudant's (`sl`/`softlayer`, a separator or `api` before the keyword); the URL's
        // dots are any character in the reference pattern.
        22 => {
            let mut v = expand(&[&["l", "r", "_", "-", "i"], keywords]);
            v.push("com/soap/".into());
            Some(v)
        }
        23 => list(&["sq0csp-"]),
        24 => list(&["rk_live_", "sk_live_"]),
        // Discord, public IPs and Telegram: their only literals are in most files.
        _ => None,
    }
}

/// The keyword pre-filter's gate: its words whole (`api_key`, `db_pass`, …), `passw`, `pwd`,
/// `secret` and `contrase`; not `key` or `pass` alone, which most Python files hold.
pub fn keyword_gate() -> Gate {
    let mut v = expand(&[
        &[
            "api", "auth", "service", "account", "db", "database", "priv", "private", "client",
        ],
        &["", "_"],
        &["key"],
    ]);
    v.extend(expand(&[&["db", "database", "key"], &["", "_"], &["pass"]]));
    v.extend(["passw", "pwd", "secret", "contrase"].map(String::from));
    Gate {
        ignore_case: v,
        exact: Vec::new(),
    }
}

/// A file holding one of these opens every gate (they fold to ASCII letters).
pub use crate::literal::FOLD_EXCEPTIONS;

/// Which pre-filters a file can match at all: one pass of every gate's literals.
pub struct Gates {
    /// The literals compared with ASCII case ignored, and those compared exactly.
    automaton: aho_corasick::AhoCorasick,
    exact: aho_corasick::AhoCorasick,
    /// `automaton`'s literals, for `dfa`.
    literals: Vec<String>,
    /// The same automaton as a DFA: it searches faster but costs more to build than a small
    /// plugin's whole search, so it is built once this process has `searched` [`DFA_AFTER`]
    /// bytes with the NFA, and used from then on.
    dfa: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>>,
    searched: std::sync::atomic::AtomicUsize,
    /// Bits each literal of `automaton` and of `exact` opens.
    opens: Vec<u32>,
    opens_exact: Vec<u32>,
    /// Bits of the pre-filters without a gate.
    always: u32,
    all: u32,
}

impl Gates {
    /// `gates[bit]`: that bit's gate, or `None` for a pre-filter without one.
    fn new(gates: &[(u32, Option<Gate>)]) -> Result<Gates, String> {
        let mut literals: Vec<String> = Vec::new();
        let mut opens: Vec<u32> = Vec::new();
        let mut exact: Vec<String> = Vec::new();
        let mut opens_exact: Vec<u32> = Vec::new();
        let mut always = 0;
        let mut all = 0;
        let mut gated = 0;
        for (bit, gate) in gates {
            all |= bit;
            match gate {
                None => always |= bit,
                Some(gate) => {
                    gated |= bit;
                    for lit in &gate.exact {
                        add_literal(&mut exact, &mut opens_exact, lit.clone(), *bit);
                    }
                    for lit in &gate.ignore_case {
                        add_literal(&mut literals, &mut opens, lit.to_ascii_lowercase(), *bit);
                    }
                }
            }
        }
        for fold in FOLD_EXCEPTIONS {
            literals.push(fold.to_string());
            opens.push(gated);
        }
        // A contiguous NFA first; the DFA only after [`DFA_AFTER`] bytes.
        let automaton = gate_automaton(&literals, aho_corasick::AhoCorasickKind::ContiguousNFA)?;
        let exact_automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&exact)
            .map_err(|e| format!("gates: {e}"))?;
        Ok(Gates {
            automaton,
            exact: exact_automaton,
            literals,
            dfa: std::sync::OnceLock::new(),
            searched: std::sync::atomic::AtomicUsize::new(0),
            opens,
            opens_exact,
            always,
            all,
        })
    }

    /// The bits of the pre-filters that can match somewhere in `text`.
    pub fn open(&self, text: &str) -> u32 {
        let before = self
            .searched
            .fetch_add(text.len(), std::sync::atomic::Ordering::Relaxed);
        let automaton = if before >= DFA_AFTER {
            let dfa = self.dfa.get_or_init(|| {
                gate_automaton(&self.literals, aho_corasick::AhoCorasickKind::DFA).ok()
            });
            dfa.as_ref().unwrap_or(&self.automaton)
        } else {
            &self.automaton
        };
        self.open_with(automaton, text)
    }

    fn open_with(&self, automaton: &aho_corasick::AhoCorasick, text: &str) -> u32 {
        let mut open = self.always;
        for hit in self.exact.find_overlapping_iter(text) {
            open |= self.opens_exact[hit.pattern().as_usize()];
        }
        for hit in automaton.find_overlapping_iter(text) {
            if open == self.all {
                break;
            }
            open |= self.opens[hit.pattern().as_usize()];
        }
        open
    }
}

/// Bytes a process searches with the gates' NFA before it builds their DFA: about where the DFA's
/// faster search has paid for its build (callgrind: the build costs about 3.5 M instructions, the
/// search saves about 6 per byte).
const DFA_AFTER: usize = 512 * 1024;

/// The automaton of the literals compared with ASCII case ignored.
fn gate_automaton(
    literals: &[String],
    kind: aho_corasick::AhoCorasickKind,
) -> Result<aho_corasick::AhoCorasick, String> {
    aho_corasick::AhoCorasick::builder()
        .kind(Some(kind))
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(literals)
        .map_err(|e| format!("gates: {e}"))
}

/// Adds `lit` (already in the form it is compared in) opening `bit`: a literal already listed
/// opens one more bit.
fn add_literal(literals: &mut Vec<String>, opens: &mut Vec<u32>, lit: String, bit: u32) {
    match literals.iter().position(|l| *l == lit) {
        Some(i) => opens[i] |= bit,
        None => {
            literals.push(lit);
            opens.push(bit);
        }
    }
}

/// A pre-filter, compiled the first time a file passes its gate.
pub struct LazyPrefilter {
    source: String,
    /// Whether the regex engine may look for the pattern's literals first ([`Literals`]).
    literals: Literals,
    /// A matcher written for the pattern, used instead of compiling it
    /// ([`super::hand_prefilters`]).
    hand: Option<HandMatcher>,
    compiled: OnceLock<Option<Prefilter>>,
}

/// Whether a pre-filter's search starts from the literals the regex engine extracts from it.
/// For most pre-filters it does (a few distinct literals let the search skip through a file).
/// A case-insensitive pattern that starts with short, common words (`sl`, `db`, `pwd`) gives
/// dozens of case variants: extracting them costs more than the rest of the compile, and the
/// search that starts from them is no faster than the lazy DFA alone (measured on the corpus's
/// largest Python text: softlayer 0.16 + 0.89 ms with literals, 0.08 + 0.59 ms without; keyword
/// 0.36 + 0.77 ms against 0.10 + 0.77 ms, compile + search).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Literals {
    Extract,
    Skip,
}

impl LazyPrefilter {
    fn new(source: String, literals: Literals, hand: Option<HandMatcher>) -> LazyPrefilter {
        LazyPrefilter {
            source,
            literals,
            hand,
            compiled: OnceLock::new(),
        }
    }

    /// The leftmost match at or after byte `from` of `hay` (a character boundary), as a byte
    /// range. A pattern that failed to compile (the tests rule that out) matches nowhere.
    pub fn find_at(&self, hay: &str, from: usize) -> Option<(usize, usize)> {
        if let Some(hand) = self.hand {
            return hand(hay, from);
        }
        let m = self
            .get()?
            .search(&regex_automata::Input::new(hay).range(from..))?;
        Some((m.start(), m.end()))
    }

    /// Calls `f` with the start and end of each match in `hay`, in order, each search going on
    /// from the end of the previous match (no pre-filter matches the empty string).
    pub fn for_each_match(&self, hay: &str, mut f: impl FnMut(usize, usize)) {
        if let Some(hand) = self.hand {
            let mut from = 0;
            while let Some((start, end)) = hand(hay, from) {
                f(start, end);
                from = end;
            }
            return;
        }
        if let Some(re) = self.get() {
            for m in re.find_iter(hay) {
                f(m.start(), m.end());
            }
        }
    }

    /// The compiled pre-filter. Every source compiles (a test checks); were one refused, its
    /// detector would find nothing, as if its gate were closed.
    pub fn get(&self) -> Option<&Prefilter> {
        self.compiled
            .get_or_init(|| prefilter_with(&self.source, self.literals).ok())
            .as_ref()
    }
}

/// How a detector's pre-filter is searched ([`Literals`]).
fn prefilter_literals(detector: usize) -> Literals {
    match detector {
        // SoftlayerDetector: `(?i)(?:softlayer|sl)…`.
        22 => Literals::Skip,
        _ => Literals::Extract,
    }
}

/// The keyword detector's denylist (followed by any word characters), as its group 1.
const DENYLIST: &str = r"(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena)\w*";
const CLOSING: &str = r#"[]'"]{0,2}"#;
const QUOTE: &str = r#"['"`]"#;
const SECRET: &str = r#"(?=[^\v'"]*)(?=\w+)[^\v'"]*[^\v,'"`]"#;

/// A keyword pattern without its lookaheads, back-references (quotes) loosened to any quote or
/// none: it matches wherever the exact
/// pattern does (and more), so a line it does not match needs no backtracking search.
///
/// A word character is loosened too, to an ASCII one or any non-ASCII character, outside case
/// folding: Unicode's word class, case-folded, is most of such a pattern's compile time.
fn keyword_superset(pattern: &str) -> String {
    let mut s = pattern.replace(SECRET, r#"[^\v'"]*[^\v,'"`]"#);
    for n in 1..=9 {
        s = s.replace(&format!(r"(\{n})"), r#"['"`]?"#);
    }
    s.replace(r"\w", r"(?-i:[0-9A-Za-z_\x{80}-\x{10FFFF}])")
}

/// Which keyword pattern set a file type uses (detect-secrets' `REGEX_BY_FILETYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordSet {
    QuotesRequired,
    Config,
    Golang,
    CommonC,
    CPlusPlus,
}

impl KeywordSet {
    pub const ALL: [KeywordSet; 5] = [
        KeywordSet::QuotesRequired,
        KeywordSet::Config,
        KeywordSet::Golang,
        KeywordSet::CommonC,
        KeywordSet::CPlusPlus,
    ];
}

/// A keyword pattern: its backtracking-free superset, which rules lines out cheaply, and the
/// exact pattern, compiled only when the superset first matches a line.
///
/// The exact pattern is detect-secrets' regex rewritten without lookaheads and back-references
/// (see [`keyword_exact`]), so the regex crate's leftmost-first search returns the match Python's
/// backtracking `re.search` returns. It is compiled forward-only (no lazy or full DFA, no literal
/// pre-filter): it only ever runs on the few lines its superset matched, and the backtracking
/// form cost about 6 ms per pattern to compile.
///
/// The superset is compiled widened ([`ascii_regex::widened_hir`]); the exact pattern for ASCII
/// text only, while the lines it is asked about are ASCII ([`ascii_regex`]).
pub struct KeywordPattern {
    source: String,
    /// The reference form (Python's regex as detect-secrets writes it), kept for the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    reference: String,
    /// detect-secrets' group number of the secret in the reference form.
    pub group: usize,
    superset_source: String,
    superset: OnceLock<Option<MatchOnly>>,
    exact: ByText<regex_automata::meta::Regex>,
}

impl KeywordPattern {
    /// The exact pattern compiled for `line` (`None` only if it failed to compile, which the
    /// tests rule out).
    pub fn exact(&self, line: &str) -> Option<&regex_automata::meta::Regex> {
        self.exact
            .for_text(line, |ascii| exact_keyword_regex(&self.source, ascii).ok())
    }

    /// Whether the superset matches `line` (where it does not, the exact pattern cannot). A
    /// superset that failed to compile (the tests rule that out) matches every line.
    pub fn superset_matches(&self, line: &str) -> bool {
        self.superset
            .get_or_init(|| MatchOnly::new(&self.superset_source).ok())
            .as_ref()
            .is_none_or(|m| m.is_match(line))
    }

    /// Whether the pattern starts with a keyword (a search can start at the first one).
    pub fn starts_with_keyword(&self) -> bool {
        self.group != 2
    }

    /// The secret of the first match at or after byte `from` of `line`, as detect-secrets'
    /// `match.group(group)` gives it.
    pub fn secret<'l>(&self, line: &'l str, from: usize) -> Option<&'l str> {
        let re = self.exact(line)?;
        let mut caps = re.create_captures();
        let input = regex_automata::Input::new(line).range(from..);
        re.search_captures(&input, &mut caps);
        // Exactly one of the quote branches took part in a match.
        SECRET_GROUPS
            .iter()
            .find_map(|name| caps.get_group_by_name(name))
            .map(|span| &line[span.range()])
    }
}

/// The names of the secret's group in each quote branch of an exact keyword pattern.
const SECRET_GROUPS: [&str; 4] = ["s0", "s1", "s2", "s3"];

fn exact_keyword_regex(source: &str, ascii: bool) -> Result<regex_automata::meta::Regex, String> {
    use regex_automata::meta;
    let config = meta::Config::new()
        .hybrid(false)
        .dfa(false)
        .onepass(false)
        .auto_prefilter(false);
    ascii_regex::meta_regex(source, config, ascii)
}

/// A keyword pattern of detect-secrets rewritten for a regex engine without lookarounds or
/// back-references, with the same leftmost-first match.
///
/// - The secret `(?=[^\v'"]*)(?=\w+)[^\v'"]*[^\v,'"`]`: the first lookahead always holds; the
///   second needs a word character first, and a word character is in both classes, so it is
///   `\w(?:[^\v'"]*[^\v,'"`])?`, which tries the same lengths in the same (longest first) order.
/// - A quote group followed by the secret and a back-reference to that group becomes one branch
///   per quote character (`'S'|"S"|`S``), then, for an optional quote, an unquoted branch. At any
///   position at most one quote branch can start, and it comes before the unquoted one, as the
///   greedy `?` of the quote group tries a quote before none.
///
/// The secret's group is named `s0`..`s3` after its branch.
pub fn keyword_exact(reference: &str) -> String {
    let secret = r#"\w(?:[^\v'"]*[^\v,'"`])?"#;
    let mut out = reference.to_string();
    for n in 1..=9 {
        for (group, quotes, optional) in [
            (format!("({QUOTE}?)"), &["'", "\"", "`"][..], true),
            (format!("({QUOTE})"), &["'", "\"", "`"][..], false),
            ("(\")".to_string(), &["\""][..], false),
        ] {
            let reference_form = format!("{group}({SECRET})(\\{n})");
            if !out.contains(&reference_form) {
                continue;
            }
            let mut branches: Vec<String> = quotes
                .iter()
                .enumerate()
                .map(|(i, q)| format!("{q}(?P<{}>{secret}){q}", SECRET_GROUPS[i]))
                .collect();
            if optional {
                branches.push(format!("(?P<{}>{secret})", SECRET_GROUPS[3]));
            }
            out = out.replace(&reference_form, &format!("(?:{})", branches.join("|")));
        }
    }
    out
}

/// The keyword detector's patterns for one file type, with the group that holds the secret.
fn keyword_sources(set: KeywordSet) -> Vec<(String, usize)> {
    let d = DENYLIST;
    let ws = r"\s*";
    let colon_equal = (
        format!(r"(?i){d}({CLOSING})?{ws}:={ws}({QUOTE}?)({SECRET})(\3)"),
        4,
    );
    let colon = (
        format!(r"(?i){d}({CLOSING})?:{ws}({QUOTE}?)({SECRET})(\3)"),
        4,
    );
    let colon_quotes = (
        format!(r"(?i){d}({CLOSING})?:({ws})({QUOTE})({SECRET})(\4)"),
        5,
    );
    let c_equal = (
        format!(r#"(?i){d}((\[[0-9]*\]))?{ws}[!=]{{1,2}}{ws}(@)?(")({SECRET})(\5)"#),
        6,
    );
    let cpp_assign = (format!(r#"{d}(.assign)?\((")({SECRET})(\3)"#), 4);
    let equal = (
        format!(r"(?i){d}({CLOSING})?{ws}(={{1,3}}|!==?){ws}({QUOTE}?)({SECRET})(\4)"),
        5,
    );
    let equal_quotes = (
        format!(r"(?i){d}({CLOSING})?{ws}(={{1,3}}|!==?){ws}({QUOTE})({SECRET})(\4)"),
        5,
    );
    let preceded = (
        format!(r"({QUOTE})({SECRET})(\1){ws}[!=]{{2,3}}{ws}\w*{d}"),
        2,
    );
    let semicolon = (
        format!(r"(?i){d}[^\s]{{0,50}}?{ws}({QUOTE})({SECRET})(\2);"),
        3,
    );
    let arrow = (
        format!(r"(?i){d}({CLOSING})?{ws}=>?{ws}({QUOTE})({SECRET})(\3)"),
        4,
    );
    match set {
        KeywordSet::Config => vec![colon, preceded, equal, semicolon],
        KeywordSet::Golang => vec![colon_equal, preceded, equal, semicolon],
        KeywordSet::CommonC => vec![c_equal],
        KeywordSet::CPlusPlus => vec![cpp_assign, equal_quotes],
        KeywordSet::QuotesRequired => vec![colon_quotes, preceded, equal_quotes, semicolon, arrow],
    }
}

fn build_keyword_set(set: KeywordSet) -> Vec<KeywordPattern> {
    keyword_sources(set)
        .into_iter()
        .map(|(reference, group)| KeywordPattern {
            superset_source: keyword_superset(&reference),
            superset: OnceLock::new(),
            source: keyword_exact(&reference),
            reference,
            group,
            exact: ByText::default(),
        })
        .collect()
}

/// A detector's exact patterns, compiled the first time a line needs them (most files need few).
pub struct LazyPatterns {
    pub detector: usize,
    sources: Vec<String>,
    compiled: OnceLock<Vec<Fancy>>,
}

impl LazyPatterns {
    pub fn get(&self) -> &[Fancy] {
        // Every source compiles (checked by the tests); a failure would only drop that pattern.
        self.compiled
            .get_or_init(|| self.sources.iter().filter_map(|p| fancy(p).ok()).collect())
    }
}

/// The file type detect-secrets derives from the file extension, as far as the keyword
/// detector cares.
pub fn keyword_set_for(ext: &str) -> KeywordSet {
    match ext {
        ".go" => KeywordSet::Golang,
        ".m" | ".cs" | ".c" => KeywordSet::CommonC,
        ".cpp" => KeywordSet::CPlusPlus,
        ".yaml" | ".yml" | ".eyaml" | ".cnf" | ".conf" | ".cfg" | ".cf" | ".ini"
        | ".properties" | ".toml" => KeywordSet::Config,
        _ => KeywordSet::QuotesRequired,
    }
}

/// Whether detect-secrets gives the file no type (`FileType.OTHER`), which makes it try the file
/// again as a config file with a `[global]` header when nothing was found.
pub fn is_other_file_type(ext: &str) -> bool {
    !matches!(
        ext,
        ".cls"
            | ".example"
            | ".eyaml"
            | ".go"
            | ".java"
            | ".js"
            | ".m"
            | ".php"
            | ".py"
            | ".pyi"
            | ".swift"
            | ".tf"
            | ".yaml"
            | ".yml"
            | ".cs"
            | ".c"
            | ".cpp"
            | ".cnf"
            | ".conf"
            | ".cfg"
            | ".cf"
            | ".ini"
            | ".properties"
            | ".toml"
    )
}

/// Where a line can hold a keyword of the keyword detector.
const KEYWORD_PREFILTER: &str = r"(?i)(?:api|auth|service|account|db|database|priv|private|client)_?key|(?:db|database|key)_?pass|passw(?:or)?d|pwd|secret|contrase[ñn]a";

/// The bit of the keyword pre-filter among the gates (the regex detectors' pre-filters take the
/// bits from 0, in the order of [`Patterns::prefilters`]).
pub const KEYWORD_BIT: u32 = 1 << 31;

/// A run of characters that every match of some detector's exact patterns holds: at least `min`
/// ASCII bytes in a row from `class`.
#[derive(Clone, Copy)]
pub struct Run {
    class: fn(u8) -> bool,
    min: usize,
}

fn letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

const fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The runs of which every match of a detector's exact patterns holds one, for the detectors
/// whose pre-filter (a keyword near an assignment: `cl…key =`, `token:`, `sl_api_key`) opens on
/// most plugins while their secret is a long run no ordinary code has: Cloudant's 24 letters or
/// 64 hex digits, IBM Cloud IAM's 44 characters of `[A-Za-z0-9_-]`, SoftLayer's 64 letters and
/// digits. A file without such a run needs neither the pre-filter's compile nor its search.
/// The patterns ignore case, so the classes hold both cases; a text holding a character that
/// folds to an ASCII letter ([`FOLD_EXCEPTIONS`]) is not ruled out.
/// `every_match_holds_its_run` checks matches drawn from the exact patterns.
pub fn runs(detector: usize) -> &'static [Run] {
    match detector {
        5 => &[
            Run {
                class: letter,
                min: 24,
            },
            Run {
                class: hex,
                min: 64,
            },
        ],
        10 => &[Run {
            class: alnum_dash,
            min: 44,
        }],
        22 => &[Run {
            class: alnum,
            min: 64,
        }],
        _ => &[],
    }
}

/// Whether `text` holds one of `runs` (or a character that folds to an ASCII letter).
#[cfg(test)]
fn holds_a_run(text: &str, runs: &'static [Run]) -> bool {
    runs.is_empty() || held_runs(text, &[(1, runs)]) == 1
}

/// The bits of `gated` whose runs `text` holds one of. Every class of [`runs`] is within
/// `[A-Za-z0-9_-]` and every run is at least [`SHORTEST_RUN`] long, so one pass finds the long
/// runs of that class, and only those few are looked into.
fn held_runs(text: &str, gated: &[(u32, &'static [Run])]) -> u32 {
    let all = gated.iter().fold(0, |acc, (bit, _)| acc | bit);
    if !text.is_ascii() && FOLD_EXCEPTIONS.iter().any(|f| text.contains(f)) {
        return all;
    }
    // `[A-Za-z0-9_-]` as a table: this pass reads every byte of the file.
    static IN_RUN: [bool; 256] = {
        let mut table = [false; 256];
        let mut c = 0;
        while c < 256 {
            table[c] = alnum_dash(c as u8);
            c += 1;
        }
        table
    };
    let b = text.as_bytes();
    let mut held = 0;
    let mut i = 0;
    while i < b.len() && held != all {
        while i < b.len() && !IN_RUN[b[i] as usize] {
            i += 1;
        }
        let start = i;
        while i < b.len() && IN_RUN[b[i] as usize] {
            i += 1;
        }
        if i - start < SHORTEST_RUN {
            continue;
        }
        let segment = &b[start..i];
        for (bit, runs) in gated {
            if held & bit == 0 && runs.iter().any(|run| segment_holds(segment, run)) {
                held |= bit;
            }
        }
    }
    held
}

/// The shortest of the [`runs`].
const SHORTEST_RUN: usize = 24;

fn segment_holds(segment: &[u8], run: &Run) -> bool {
    let mut length = 0;
    segment.iter().any(|&c| {
        length = if (run.class)(c) { length + 1 } else { 0 };
        length >= run.min
    })
}

/// Compiled patterns of every detector.
pub struct Patterns {
    /// Pre-filter of each regex-based detector, in the order of `regex_detectors`: where in a
    /// file its exact patterns can match. (Scanning the file once per pre-filter, each with its
    /// literal acceleration, measured faster than one overlapping `RegexSet` pass.)
    pub prefilters: Vec<LazyPrefilter>,
    /// (detector index, exact patterns).
    pub regex_detectors: Vec<LazyPatterns>,
    pub keyword_prefilter: LazyPrefilter,
    /// Which pre-filters (bit `i`, and [`KEYWORD_BIT`] for the keyword one) a file can match.
    pub gates: Gates,
    /// The pre-filters (bits) whose detector's matches hold one of some [`runs`].
    run_gated: Vec<(u32, &'static [Run])>,
    /// Keyword patterns with the group that holds the secret and a backtracking-free superset
    /// that rules lines out cheaply, per set.
    keyword: Vec<(KeywordSet, OnceLock<Vec<KeywordPattern>>)>,
    /// The heuristic filters' patterns, needed only once a line holds a candidate secret.
    pub indirect_reference: FilterRegex,
    pub id_prefix: FilterRegex,
    pub uuid: FilterRegex,
    /// Same-line pragma for any file, and for `.yaml` files (`#` comments only), then the
    /// next-line ones: compiled on the first line that holds `pragma` (most files have none).
    allow: [OnceLock<Option<Regex>>; 4],
    /// The next-line pragma in `#` or `;` comments, which the config transformer keeps.
    pub ini_nextline: Regex,
}

/// A filter's pattern, compiled on first use (most files never hold a candidate secret), for
/// ASCII text only while the haystacks are ASCII.
pub struct FilterRegex {
    source: &'static str,
    compiled: ByText<regex_automata::meta::Regex>,
}

impl FilterRegex {
    fn new(source: &'static str) -> FilterRegex {
        FilterRegex {
            source,
            compiled: ByText::default(),
        }
    }

    /// Whether the pattern matches. The patterns are constants a test compiles; were one ever
    /// refused, its filter would drop nothing, which reports more, never less.
    ///
    /// A filter only ever sees the few lines that hold a candidate secret, so it is compiled
    /// without the DFAs (and the reverse automaton they need), which were most of its compile
    /// time; the NFA engines answer such short texts as fast.
    pub fn is_match(&self, haystack: &str) -> bool {
        self.compiled
            .for_text(haystack, |ascii| {
                let config = regex_automata::meta::Config::new().dfa(false).hybrid(false);
                ascii_regex::meta_regex(self.source, config, ascii).ok()
            })
            .is_some_and(|re| re.is_match(haystack))
    }
}

fn fancy(p: &str) -> Result<Fancy, String> {
    fancy_regex::RegexBuilder::new(p)
        .backtrack_limit(200_000)
        .build()
        .map_err(|e| format!("pattern {p:?}: {e}"))
}

/// A pre-filter: run over whole files, so it keeps the lazy DFA and literal acceleration, but
/// not the full DFA the regex crate builds for small patterns, which costs more to build than a
/// scan of a plugin gains from it. It is compiled widened ([`ascii_regex::widened_hir`]): it
/// matches wherever the pattern does, and its leftmost match starts no later, which is all a
/// pre-filter is asked.
pub type Prefilter = regex_automata::meta::Regex;

fn prefilter_with(p: &str, literals: Literals) -> Result<Prefilter, String> {
    let config = Prefilter::config()
        .dfa(false)
        .auto_prefilter(literals == Literals::Extract);
    ascii_regex::widened_meta_regex(p, config)
}

/// A keyword pattern's superset, as a meta regex: what [`MatchOnly`] answers the same as
/// (a test compares them).
#[cfg(test)]
fn superset(p: &str) -> Result<Prefilter, String> {
    Prefilter::builder()
        .configure(Prefilter::config().dfa(false).auto_prefilter(false))
        .build(p)
        .map_err(|e| format!("pattern {p:?}: {e}"))
}

type SearchCaches = (
    regex_automata::hybrid::dfa::Cache,
    regex_automata::nfa::thompson::pikevm::Cache,
);

/// A pattern only ever asked whether it matches (a keyword pattern's superset): its forward NFA
/// searched by a lazy DFA, and by the PikeVM where the lazy DFA gives up. A meta regex also
/// compiles the reverse NFA it needs to find where a match starts, about half of its build, and
/// a literal pre-filter; neither is needed here. The superset runs only on the lines the keyword
/// pre-filter marked; the lazy DFA keeps that fast on files with many of them.
pub struct MatchOnly {
    dfa: regex_automata::hybrid::dfa::DFA,
    vm: regex_automata::nfa::thompson::pikevm::PikeVM,
    /// Search caches, taken for one search at a time (threads share the matcher).
    caches: std::sync::Mutex<Vec<SearchCaches>>,
}

impl MatchOnly {
    /// The matcher of `pattern` widened ([`ascii_regex::widened_hir`]): it answers true
    /// wherever the pattern matches, and exactly as the pattern on ASCII text.
    pub fn new(pattern: &str) -> Result<MatchOnly, String> {
        use regex_automata::{hybrid, nfa::thompson};
        let config = thompson::Config::new().which_captures(thompson::WhichCaptures::Implicit);
        let nfa = ascii_regex::widened_nfa(pattern, config)?;
        let dfa = hybrid::dfa::Builder::new()
            .configure(hybrid::dfa::Config::new().unicode_word_boundary(true))
            .build_from_nfa(nfa.clone())
            .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
        let vm = thompson::pikevm::PikeVM::new_from_nfa(nfa)
            .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
        Ok(MatchOnly {
            dfa,
            vm,
            caches: std::sync::Mutex::new(Vec::new()),
        })
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        let taken = self.caches.lock().ok().and_then(|mut c| c.pop());
        let mut caches = taken.unwrap_or_else(|| (self.dfa.create_cache(), self.vm.create_cache()));
        let input = regex_automata::Input::new(haystack).earliest(true);
        let found = match self.dfa.try_search_fwd(&mut caches.0, &input) {
            Ok(m) => m.is_some(),
            // The lazy DFA gave up (its cache thrashed, or a byte it cannot decide on).
            Err(_) => self.vm.is_match(&mut caches.1, input),
        };
        if let Ok(mut c) = self.caches.lock() {
            c.push(caches);
        }
        found
    }
}

fn plain(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| format!("pattern {p:?}: {e}"))
}

/// detect-secrets' allowlist comment styles: (start, end) of the comment.
const COMMENTS: [(&str, &str); 6] = [
    ("#", ""),
    ("//", ""),
    (r"/\*", r" *\*/"),
    ("'", ""),
    ("--", ""),
    (r"<!--[# \t]*?", " *?-->"),
];

fn allow_regex(nextline: bool, only_hash: bool) -> Result<Regex, String> {
    let alts: Vec<String> = COMMENTS
        .iter()
        .take(if only_hash { 1 } else { COMMENTS.len() })
        .map(|(start, end)| {
            if nextline {
                format!(r"^[ \t]*{start} *pragma: ?allowlist[ -]nextline[ -]secret.*?{end}[ \t]*$")
            } else {
                format!(r"{start} *pragma: ?(?:allow|white)list[ -]secret.*?{end}[ \t]*$")
            }
        })
        .collect();
    plain(&format!("(?:{})", alts.join("|")))
}

impl Patterns {
    /// Whether `line` carries an allowlist pragma (`nextline`: the pragma for the line after
    /// it), in the comment styles of a `.yaml` file (`yaml`) or of any file. Every pragma
    /// holds the literal `pragma`, so lines without it are answered without a regex.
    pub fn allows(&self, line: &str, nextline: bool, yaml: bool) -> bool {
        if !line.contains("pragma") {
            return false;
        }
        let slot = usize::from(nextline) * 2 + usize::from(yaml);
        // The patterns are constants (a test compiles each); were one ever refused, nothing
        // would be allowlisted, which reports more, never less.
        self.allow[slot]
            .get_or_init(|| allow_regex(nextline, yaml).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(line))
    }

    /// `open` (pre-filter bits a file's literals open) without the pre-filters whose detector
    /// needs a run of characters `text` does not hold ([`runs`]).
    pub fn open_runs(&self, open: u32, text: &str) -> u32 {
        let gated: u32 = self.run_gated.iter().fold(0, |acc, (bit, _)| acc | bit);
        if open & gated == 0 {
            return open;
        }
        (open & !gated) | (open & held_runs(text, &self.run_gated))
    }

    /// The keyword patterns of a file type, compiled on first use.
    pub fn keyword_patterns(&self, set: KeywordSet) -> &[KeywordPattern] {
        match self.keyword.iter().find(|(s, _)| *s == set) {
            Some((_, cell)) => cell.get_or_init(|| build_keyword_set(set)),
            None => &[],
        }
    }

    pub fn compile() -> Result<Patterns, String> {
        let defs = regex_detector_patterns();
        let mut gates: Vec<(u32, Option<Gate>)> = defs
            .iter()
            .enumerate()
            .map(|(i, (detector, _, _))| (1u32 << i, gate(*detector)))
            .collect();
        gates.push((KEYWORD_BIT, Some(keyword_gate())));
        let prefilters = defs
            .iter()
            .map(|(detector, _, pre)| {
                LazyPrefilter::new(
                    pre.clone(),
                    prefilter_literals(*detector),
                    hand_prefilters::for_detector(*detector),
                )
            })
            .collect();
        let run_gated = defs
            .iter()
            .enumerate()
            .map(|(i, (detector, _, _))| (1u32 << i, runs(*detector)))
            .filter(|(_, runs)| !runs.is_empty())
            .collect();
        let regex_detectors = defs
            .into_iter()
            .map(|(detector, sources, _)| LazyPatterns {
                detector,
                sources,
                compiled: OnceLock::new(),
            })
            .collect();
        let keyword = KeywordSet::ALL
            .into_iter()
            .map(|set| (set, OnceLock::new()))
            .collect();
        Ok(Patterns {
            prefilters,
            regex_detectors,
            keyword_prefilter: LazyPrefilter::new(
                KEYWORD_PREFILTER.to_string(),
                Literals::Skip,
                None,
            ),
            gates: Gates::new(&gates)?,
            run_gated,
            keyword,
            indirect_reference: FilterRegex::new(
                r"([^\v=!:]*)\s*(:=?|[!=]{1,3})\s*([\w.-]+[\[\(][^\v]*[\]\)])",
            ),
            id_prefix: FilterRegex::new(r"(?i)(^(id|myid|userid)|_id)s?[^a-z0-9]"),
            uuid: FilterRegex::new(
                r"(?i)[a-f0-9]{8}\-[a-f0-9]{4}\-[a-f0-9]{4}\-[a-f0-9]{4}\-[a-f0-9]{12}",
            ),
            allow: Default::default(),
            ini_nextline: plain(
                r"^[ \t]*[#;] *pragma: ?allowlist[ -]nextline[ -]secret.*?[ \t]*$",
            )?,
        })
    }
}

/// Python's `findall` over one pattern, yielding what detect-secrets' `RegexBasedDetector`
/// yields: the whole match without groups, the group with one, every non-empty group with more.
pub fn findall(re: &Fancy, line: &str, from: usize, out: &mut Vec<String>) {
    let groups = re.captures_len().saturating_sub(1);
    let mut pos = from;
    while pos <= line.len() {
        let caps = match re.captures_from_pos(line, pos) {
            Ok(Some(c)) => c,
            // No match, or the backtracking limit was hit on a pathological line.
            _ => break,
        };
        let Some(whole) = caps.get(0) else { break };
        match groups {
            0 => out.push(whole.as_str().to_string()),
            1 => out.push(
                caps.get(1)
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
            ),
            _ => {
                for g in 1..=groups {
                    if let Some(m) = caps.get(g)
                        && !m.as_str().is_empty()
                    {
                        out.push(m.as_str().to_string());
                    }
                }
            }
        }
        pos = if whole.end() > whole.start() {
            whole.end()
        } else {
            match line[whole.end()..].chars().next() {
                Some(c) => whole.end() + c.len_utf8(),
                None => break,
            }
        };
    }
}

/// The base64 character set of `Base64HighEntropyString`, in the order detect-secrets sums it.
pub const BASE64_CHARSET: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\\-_=";
pub const HEX_CHARSET: &str = "0123456789abcdefABCDEF";

/// Python's `(['"])([charset]+)(\1)` findall: strings in matching quotes made only of `charset`.
pub fn quoted_runs<'a>(line: &'a str, charset: &str, out: &mut Vec<&'a str>) {
    let mut in_set = [false; 256];
    for b in charset.bytes() {
        in_set[usize::from(b)] = true;
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if q == b'\'' || q == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && in_set[usize::from(bytes[j])] {
                j += 1;
            }
            if j > i + 1 && j < bytes.len() && bytes[j] == q {
                out.push(&line[i + 1..j]);
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
}

/// Shannon entropy as detect-secrets computes it: summed over the charset, in charset order.
pub fn shannon_entropy(data: &str, charset: &str) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    // Candidates are ASCII (runs of an ASCII charset), so characters are bytes.
    let mut counts = [0u32; 256];
    for b in data.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = data.chars().count() as f64;
    let mut entropy = 0.0;
    for c in charset.bytes() {
        let count = counts[usize::from(c)];
        if count > 0 {
            let p = f64::from(count) / len;
            entropy += -p * (p.ln() / 2f64.ln());
        }
    }
    entropy
}

/// `HexHighEntropyString`'s entropy: lowered for strings of decimal digits.
pub fn hex_entropy(data: &str) -> f64 {
    let mut entropy = shannon_entropy(data, HEX_CHARSET);
    let n = data.chars().count();
    if n > 1 && data.bytes().all(|b| b.is_ascii_digit()) {
        entropy -= 1.2 / ((n as f64).ln() / 2f64.ln());
    }
    entropy
}

/// Python's non-strict `binascii.a2b_base64` (after the URL-safe translation), `None` on error.
fn a2b_base64(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut quad = 0u8;
    let mut left: u32 = 0;
    let mut pads = 0u32;
    for &ch in data {
        if ch == b'=' {
            if quad >= 2 {
                pads += 1;
                if u32::from(quad) + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        let v = u32::from(v);
        match quad {
            0 => {
                quad = 1;
                left = v;
            }
            1 => {
                quad = 2;
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                quad = 3;
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => {
                quad = 0;
                out.push(((left << 6) | v) as u8);
                left = 0;
            }
        }
    }
    if quad != 0 { None } else { Some(out) }
}

/// `JwtTokenDetector.is_formally_valid`: every part decodes as URL-safe base64, and the first
/// two as UTF-8 JSON. Offline: only the token's structure is checked.
pub fn jwt_is_formally_valid(token: &str) -> bool {
    for (idx, part) in token.split('.').enumerate() {
        let mut bytes = part.as_bytes().to_vec();
        match bytes.len() % 4 {
            1 => return false,
            2 => bytes.extend_from_slice(b"=="),
            3 => bytes.extend_from_slice(b"==="),
            _ => {}
        }
        let Some(decoded) = a2b_base64(&bytes) else {
            return false;
        };
        if idx < 2 {
            let Ok(text) = String::from_utf8(decoded) else {
                return false;
            };
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        let p = Patterns::compile();
        assert!(p.is_ok(), "{:?}", p.err());
        for (_, sources, _) in regex_detector_patterns() {
            for src in sources {
                assert!(fancy(&src).is_ok(), "{src}");
            }
        }
        for nextline in [false, true] {
            for yaml in [false, true] {
                assert!(allow_regex(nextline, yaml).is_ok());
            }
        }
        let p = p.expect("compiles");
        // Each pattern in both forms: for ASCII text and for any text.
        const TEXTS: [&str; 2] = ["", "é"];
        for lazy in p.prefilters.iter().chain([&p.keyword_prefilter]) {
            assert!(lazy.get().is_some(), "{}", lazy.source);
        }
        for filter in [&p.indirect_reference, &p.id_prefix, &p.uuid] {
            for ascii in [true, false] {
                let built = ascii_regex::meta_regex(filter.source, Default::default(), ascii);
                assert!(built.is_ok(), "{}", filter.source);
            }
        }
        assert!(p.uuid.is_match("123e4567-e89b-12d3-a456-426614174000"));
        assert!(p.allows("x = 'abc'  # pragma: allowlist secret", false, false));
        assert!(p.allows("// pragma: allowlist secret", false, false));
        assert!(!p.allows("// pragma: allowlist secret", false, true));
        assert!(p.allows("# pragma: allowlist nextline secret", true, true));
        assert!(!p.allows("x = 'abc'  # allowlist secret", false, false));
        for set in KeywordSet::ALL {
            let built = build_keyword_set(set);
            assert_eq!(built.len(), keyword_sources(set).len());
            for pattern in &built {
                let superset = MatchOnly::new(&pattern.superset_source);
                assert!(superset.is_ok(), "{}", pattern.superset_source);
                for text in TEXTS {
                    assert!(pattern.exact(text).is_some(), "{}", pattern.source);
                }
                assert!(fancy(&pattern.reference).is_ok(), "{}", pattern.reference);
                // Every back-reference and lookahead was rewritten away.
                assert!(!pattern.source.contains("(?="), "{}", pattern.source);
                assert!(
                    !(1..=9).any(|n| pattern.source.contains(&format!(r"(\{n})"))),
                    "{}",
                    pattern.source
                );
            }
        }
    }

    /// A match of `pattern` that holds none of `literals` (ASCII case ignored), if there is one:
    /// an exhaustive search of the product of the pattern's anchored DFA (every match is a string
    /// it accepts from its start) and the literals' automaton, which stops a path as soon as a
    /// literal is complete.
    fn gate_escape(pattern: &str, literals: &[String]) -> Option<Vec<u8>> {
        gate_escape_with(pattern, literals, &[])
    }

    /// As [`gate_escape`], with `exact` literals compared exactly.
    fn gate_escape_with(pattern: &str, literals: &[String], exact: &[String]) -> Option<Vec<u8>> {
        use aho_corasick::automaton::Automaton as _;
        use regex_automata::dfa::{Automaton as _, StartKind, dense};
        use std::collections::{HashMap, VecDeque};
        let dfa = dense::Builder::new()
            .configure(dense::Config::new().start_kind(StartKind::Anchored))
            .build(pattern)
            .expect("the pre-filter builds as a DFA");
        let start = dfa
            .universal_start_state(regex_automata::Anchored::Yes)
            .expect("a pre-filter has no look-behind at its start");
        let automaton = |lits: &[String], ignore_case: bool| {
            let a = aho_corasick::dfa::DFA::builder()
                .ascii_case_insensitive(ignore_case)
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(lits)
                .expect("literals build");
            let start = a
                .start_state(aho_corasick::Anchored::No)
                .expect("unanchored start");
            (a, start)
        };
        let (ac, ac_start) = automaton(literals, true);
        let (cs, cs_start) = automaton(exact, false);
        // (DFA state, literal automaton state) -> (previous pair, byte), to give a witness.
        type Pair = (
            regex_automata::util::primitives::StateID,
            (
                aho_corasick::automaton::StateID,
                aho_corasick::automaton::StateID,
            ),
        );
        let mut seen: HashMap<Pair, Option<(Pair, u8)>> = HashMap::new();
        let witness = |seen: &HashMap<Pair, Option<(Pair, u8)>>, mut at: Pair| {
            let mut bytes = Vec::new();
            while let Some(Some((prev, b))) = seen.get(&at) {
                bytes.push(*b);
                at = *prev;
            }
            bytes.reverse();
            bytes
        };
        let first = (start, (ac_start, cs_start));
        seen.insert(first, None);
        let mut queue = VecDeque::from([first]);
        while let Some((d, a)) = queue.pop_front() {
            // A match state says the input before the last byte matched (matches are delayed by
            // one byte); the end of input is checked separately.
            if dfa.is_match_state(dfa.next_eoi_state(d)) {
                return Some(witness(&seen, (d, a)));
            }
            for b in 0..=255u8 {
                let d2 = dfa.next_state(d, b);
                if dfa.is_dead_state(d2) {
                    continue;
                }
                if dfa.is_match_state(d2) {
                    return Some(witness(&seen, (d, a)));
                }
                let a2 = (
                    ac.next_state(aho_corasick::Anchored::No, a.0, b),
                    cs.next_state(aho_corasick::Anchored::No, a.1, b),
                );
                if ac.is_match(a2.0) || cs.is_match(a2.1) {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = seen.entry((d2, a2)) {
                    e.insert(Some(((d, a), b)));
                    queue.push_back((d2, a2));
                }
            }
        }
        None
    }

    /// Every gate is sound: no match of its pre-filter avoids all of its literals (with the two
    /// characters that fold to ASCII letters, which open every gate).
    #[test]
    fn gates_are_sound() {
        let with_folds = |mut lits: Vec<String>| {
            lits.extend(FOLD_EXCEPTIONS.iter().map(|f| f.to_string()));
            lits
        };
        let mut gated = 0;
        for (detector, _, pre) in regex_detector_patterns() {
            let Some(g) = gate(detector) else { continue };
            gated += 1;
            let escape = gate_escape_with(&pre, &with_folds(g.ignore_case), &g.exact);
            assert!(
                escape.is_none(),
                "detector {detector}: {pre:?} matches {:?} without its gate",
                String::from_utf8_lossy(&escape.unwrap_or_default())
            );
        }
        assert!(gated >= 15, "{gated} gated pre-filters");
        // Exact literals are compared exactly: `akia` in lower case does not pass AWS's gate.
        let aws = with_folds(vec!["aws".into()]);
        assert!(gate_escape_with("AKIA|(?i:aws)", &aws, &["akia".into()]).is_some());
        assert!(gate_escape_with("AKIA|(?i:aws)", &aws, &["AKIA".into()]).is_none());
        let escape = gate_escape(KEYWORD_PREFILTER, &with_folds(keyword_gate().ignore_case));
        assert!(escape.is_none(), "keyword: {escape:?}");
        // The search finds an escape where there is one: a keyword gate without `pwd` lets
        // `pwd` through, and a case-insensitive `key` matches through KELVIN SIGN.
        let bad = gate_escape(
            KEYWORD_PREFILTER,
            &with_folds(vec!["key".into(), "pass".into()]),
        );
        assert!(bad.is_some());
        let kelvin = gate_escape("(?i)key", &["key".to_string()]).unwrap_or_default();
        assert!(
            String::from_utf8_lossy(&kelvin).eq_ignore_ascii_case("\u{212A}ey"),
            "{kelvin:?}"
        );
        assert_eq!(
            gate_escape("(?i)key", &with_folds(vec!["key".into()])),
            None
        );
    }

    #[test]
    fn gates_open_only_on_their_literals() {
        let p = Patterns::compile().expect("compiles");
        let gated: u32 = regex_detector_patterns()
            .iter()
            .enumerate()
            .filter(|(_, (d, _, _))| gate(*d).is_some())
            .map(|(i, _)| 1u32 << i)
            .sum::<u32>()
            | KEYWORD_BIT;
        let closed = p.gates.open("x = 1\nprint(x)\n");
        assert_eq!(closed & gated, 0);
        let aws = regex_detector_patterns()
            .iter()
            .position(|(d, _, _)| *d == 1)
            .expect("aws");
        assert_ne!(p.gates.open("AWS_REGION = 'x'") & (1 << aws), 0);
        assert_ne!(p.gates.open("k = 'AKIAXXXX'") & (1 << aws), 0);
        assert_eq!(p.gates.open("k = 'akia, asia'") & (1 << aws), 0);
        assert_ne!(p.gates.open("my_PassWord = 1") & KEYWORD_BIT, 0);
        assert_eq!(p.gates.open("pass") & KEYWORD_BIT, 0);
        assert_eq!(p.gates.open("d.keys(); sort_key = 1") & KEYWORD_BIT, 0);
        assert_ne!(p.gates.open("DB_Pass = 1") & KEYWORD_BIT, 0);
        // A fold character opens every gate.
        assert_eq!(p.gates.open("\u{17F}") & gated, gated);
    }

    /// The DFA a process switches to opens exactly what the NFA opens: on every literal alone, in
    /// either case, inside text, and overlapping its neighbours.
    #[test]
    fn gate_dfa_opens_what_the_nfa_opens() {
        let p = Patterns::compile().expect("compiles");
        let g = &p.gates;
        let dfa = gate_automaton(&g.literals, aho_corasick::AhoCorasickKind::DFA).expect("dfa");
        let mut texts: Vec<String> = vec![String::new(), "x = 1\n".into()];
        for (i, lit) in g.literals.iter().enumerate() {
            let next = &g.literals[(i + 1) % g.literals.len()];
            let half: String = lit.chars().take(lit.chars().count() / 2).collect();
            texts.push(lit.clone());
            texts.push(lit.to_ascii_uppercase());
            texts.push(format!("a = '{lit}{next}'\n"));
            texts.push(format!("{half}{next}"));
            texts.push(half);
        }
        let mut opened = 0;
        for text in &texts {
            let (nfa, dfa) = (g.open_with(&g.automaton, text), g.open_with(&dfa, text));
            assert_eq!(nfa, dfa, "{text:?}");
            opened += usize::from(nfa != g.always);
        }
        assert!(opened > texts.len() / 2, "{opened} of {}", texts.len());
    }

    /// The reference (backtracking) form's secret group for the first match at `from`.
    fn reference_secret(re: &Fancy, group: usize, line: &str, from: usize) -> Option<String> {
        let caps = re.captures_from_pos(line, from).ok()??;
        caps.get(group).map(|m| m.as_str().to_string())
    }

    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("password".to_string()),
            Just("PassWord".to_string()),
            Just("api_key".to_string()),
            Just("db_pass".to_string()),
            Just("secret".to_string()),
            Just("contraseña".to_string()),
            Just("pwd".to_string()),
            Just("=".to_string()),
            Just("==".to_string()),
            Just("===".to_string()),
            Just("!=".to_string()),
            Just("!==".to_string()),
            Just(":=".to_string()),
            Just(":".to_string()),
            Just("=>".to_string()),
            Just(";".to_string()),
            Just(".assign(".to_string()),
            Just("(".to_string()),
            Just("[0]".to_string()),
            Just("@".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("`".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\u{b}".to_string()),
            Just("é".to_string()),
            Just("_".to_string()),
            "[a-zA-Z0-9]{1,6}",
            "[ -~]{1,3}",
        ]
    }

    /// Every pattern the family compiles in another form than the pattern's own
    /// ([`ascii_regex`]), as (source, the pattern, the other form, whether that form is widened):
    /// pre-filters and keyword supersets widened, keyword exact patterns and filters for ASCII
    /// text.
    static BOTH_FORMS: std::sync::LazyLock<Vec<(String, Prefilter, Prefilter, bool)>> =
        std::sync::LazyLock::new(|| {
            let p = Patterns::compile().expect("compiles");
            let mut sources: Vec<(String, bool)> = regex_detector_patterns()
                .into_iter()
                .map(|(_, _, pre)| (pre, true))
                .collect();
            sources.push((KEYWORD_PREFILTER.to_string(), true));
            for set in KeywordSet::ALL {
                for pattern in build_keyword_set(set) {
                    sources.push((pattern.superset_source, true));
                    sources.push((pattern.source, false));
                }
            }
            for filter in [&p.indirect_reference, &p.id_prefix, &p.uuid] {
                sources.push((filter.source.to_string(), false));
            }
            sources
                .into_iter()
                .map(|(src, widened)| {
                    let own = ascii_regex::meta_regex(&src, Default::default(), false);
                    let other = if widened {
                        ascii_regex::widened_meta_regex(&src, Default::default())
                    } else {
                        ascii_regex::meta_regex(&src, Default::default(), true)
                    };
                    (
                        src,
                        own.expect("compiles"),
                        other.expect("compiles"),
                        widened,
                    )
                })
                .collect()
        });

    /// What a regex finds on `line`: each match of `find_iter` with the spans of its groups.
    fn every_match(re: &Prefilter, line: &str) -> Vec<Vec<Option<(usize, usize)>>> {
        re.captures_iter(line)
            .map(|caps| {
                (0..caps.group_len())
                    .map(|g| caps.get_group(g).map(|s| (s.start, s.end)))
                    .collect()
            })
            .collect()
    }

    /// A text `hir` matches, drawn with `rng` (`None` where a branch can match nothing, as the
    /// ASCII form of a non-ASCII literal does): assertions are skipped, and a repetition takes
    /// at most three more than its minimum.
    fn sample(hir: &regex_syntax::hir::Hir, rng: &mut u64, out: &mut Vec<u8>) -> Option<()> {
        use regex_syntax::hir::{Class, HirKind};
        fn next(rng: &mut u64, n: usize) -> usize {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            (*rng % n.max(1) as u64) as usize
        }
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => Some(()),
            HirKind::Literal(lit) => {
                out.extend_from_slice(&lit.0);
                Some(())
            }
            HirKind::Class(Class::Unicode(c)) => {
                let r = c.ranges().get(next(rng, c.ranges().len()))?;
                let span = u32::from(r.end()) - u32::from(r.start()) + 1;
                let ch = char::from_u32(u32::from(r.start()) + next(rng, span as usize) as u32)?;
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                Some(())
            }
            HirKind::Class(Class::Bytes(c)) => {
                let r = c.ranges().get(next(rng, c.ranges().len()))?;
                out.push(r.start() + next(rng, usize::from(r.end() - r.start()) + 1) as u8);
                Some(())
            }
            HirKind::Repetition(rep) => {
                let extra = rep.max.map_or(3, |max| (max - rep.min).min(3)) as usize;
                let times = rep.min as usize + next(rng, extra + 1);
                for _ in 0..times {
                    sample(&rep.sub, rng, out)?;
                }
                Some(())
            }
            HirKind::Capture(cap) => sample(&cap.sub, rng, out),
            HirKind::Concat(subs) => subs.iter().try_for_each(|h| sample(h, rng, out)),
            HirKind::Alternation(subs) => {
                let first = next(rng, subs.len());
                (0..subs.len()).find_map(|i| {
                    let mut attempt = Vec::new();
                    sample(&subs[(first + i) % subs.len()], rng, &mut attempt)?;
                    out.extend_from_slice(&attempt);
                    Some(())
                })
            }
        }
    }

    /// An ASCII line around a text drawn from pattern `which`'s ASCII form, then changed at
    /// one place (`edit`) or not: what the pre-filters, supersets and exact patterns are there
    /// to find, and what they nearly find.
    fn ascii_line(
        which: usize,
        seed: u64,
        before: &str,
        after: &str,
        edit: Option<(usize, u8)>,
        ascii: bool,
    ) -> String {
        let (src, _, _, _) = &BOTH_FORMS[which % BOTH_FORMS.len()];
        let hir = if ascii {
            ascii_regex::cut_to_ascii(&ascii_regex::ascii_hir(src).expect("parses"))
        } else {
            regex_automata::util::syntax::parse(src).expect("parses")
        };
        let mut rng = seed | 1;
        let mut drawn = Vec::new();
        if sample(&hir, &mut rng, &mut drawn).is_none() {
            drawn.clear();
        }
        if let Some((at, byte)) = edit
            && !drawn.is_empty()
        {
            let at = at % drawn.len();
            drawn[at] = byte;
        }
        let line = format!("{before}{}{after}", String::from_utf8_lossy(&drawn));
        line.chars().filter(|c| !ascii || c.is_ascii()).collect()
    }

    fn ascii_line_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        line_strategy(true)
    }

    /// Lines as [`ascii_line`] draws them, from the pattern's ASCII form or (`!ascii`) from the
    /// pattern itself, with whatever characters its classes hold.
    fn line_strategy(ascii: bool) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            any::<usize>(),
            any::<u64>(),
            "[ -~\t]{0,6}",
            "[ -~\t]{0,6}",
            proptest::option::of((any::<usize>(), 0x20u8..0x7f)),
        )
            .prop_map(move |(which, seed, before, after, edit)| {
                ascii_line(which, seed, &before, &after, edit, ascii)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// On ASCII lines, each pattern's ASCII form finds what its form for any text finds,
        /// with the same groups.
        #[test]
        fn ascii_forms_find_what_the_full_forms_find(line in ascii_line_strategy()) {
            for (src, own, other, _) in BOTH_FORMS.iter() {
                proptest::prop_assert_eq!(
                    every_match(own, &line),
                    every_match(other, &line),
                    "{} on {:?}", src, line
                );
            }
        }

        /// On any line, a widened form matches wherever the pattern does, its leftmost match
        /// starting no later: a pre-filter marks every line the pattern marks and lets the
        /// exact search start no later; a superset rules out no line the pattern matches.
        #[test]
        fn widened_forms_match_wherever_the_patterns_do(line in line_strategy(false)) {
            for (src, own, other, widened) in BOTH_FORMS.iter() {
                if !*widened {
                    continue;
                }
                if let Some(m) = own.find(&line) {
                    let w = other.find(&line);
                    proptest::prop_assert!(
                        w.is_some_and(|w| w.start() <= m.start()),
                        "{} on {:?}: {:?} then {:?}", src, line, m, w
                    );
                }
            }
        }
    }

    /// The lines the test above draws reach every pattern: each pattern matches some of them
    /// and misses others.
    #[test]
    fn ascii_lines_reach_every_pattern() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = ascii_line_strategy();
        let mut matched = vec![0usize; BOTH_FORMS.len()];
        let runs = 3000;
        for _ in 0..runs {
            let line = strategy.new_tree(&mut runner).expect("tree").current();
            for (i, (_, own, _, _)) in BOTH_FORMS.iter().enumerate() {
                matched[i] += usize::from(own.is_match(&line));
            }
        }
        for (i, (src, _, _, _)) in BOTH_FORMS.iter().enumerate() {
            assert!(
                matched[i] > 0 && matched[i] < runs,
                "{src}: {} of {runs}",
                matched[i]
            );
        }
        // The lines drawn from the patterns themselves give most widened patterns matches
        // that hold non-ASCII characters.
        let strategy = line_strategy(false);
        let mut reached = vec![false; BOTH_FORMS.len()];
        for _ in 0..runs {
            let line = strategy.new_tree(&mut runner).expect("tree").current();
            for (i, (_, own, _, widened)) in BOTH_FORMS.iter().enumerate() {
                reached[i] |=
                    *widened && own.find(&line).is_some_and(|m| !line[m.range()].is_ascii());
            }
        }
        let widened = BOTH_FORMS.iter().filter(|f| f.3).count();
        let reached = reached.iter().filter(|r| **r).count();
        assert!(
            reached * 2 > widened,
            "{reached} of {widened} widened patterns reached"
        );
    }

    /// Every keyword pattern of every file type with its reference form, compiled once.
    static COMPILED: std::sync::LazyLock<Vec<(KeywordPattern, Fancy)>> =
        std::sync::LazyLock::new(|| {
            KeywordSet::ALL
                .into_iter()
                .flat_map(|set| build_keyword_set(set))
                .map(|p| {
                    let reference = fancy(&p.reference).expect("compiles");
                    (p, reference)
                })
                .collect()
        });

    /// The meta regexes the supersets were compiled to before [`MatchOnly`], in the order of
    /// [`COMPILED`].
    static META_SUPERSETS: std::sync::LazyLock<Vec<Prefilter>> = std::sync::LazyLock::new(|| {
        KeywordSet::ALL
            .into_iter()
            .flat_map(keyword_sources)
            .map(|(reference, _)| superset(&keyword_superset(&reference)).expect("compiles"))
            .collect()
    });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// A superset's forward-only matcher (widened) says what the meta regex of the same
        /// pattern says on ASCII lines, and true wherever it says true, on the lines the keyword
        /// test builds (some with non-ASCII characters).
        #[test]
        fn match_only_answers_as_the_meta_regex(
            tokens in proptest::collection::vec(token(), 1..14),
        ) {
            let line: String = tokens.concat();
            proptest::prop_assert_eq!(COMPILED.len(), META_SUPERSETS.len());
            for ((pattern, _), meta) in COMPILED.iter().zip(META_SUPERSETS.iter()) {
                let (answer, meta_answer) = (pattern.superset_matches(&line), meta.is_match(&line));
                if line.is_ascii() {
                    proptest::prop_assert_eq!(answer, meta_answer, "{} on {:?}", pattern.reference, line);
                } else {
                    proptest::prop_assert!(answer || !meta_answer, "{} on {:?}", pattern.reference, line);
                }
            }
        }
    }

    /// Both answers, on lines where the supersets do and do not match.
    #[test]
    fn match_only_matches_and_misses() {
        let mut matched = 0;
        let mut missed = 0;
        for line in [
            r#"password = "hunter2""#,
            r#"db_pass: 'x y'"#,
            "contraseña = `abc`",
            "nothing to see",
            "password",
            "\u{b}secret=\u{b}",
        ] {
            for ((pattern, _), meta) in COMPILED.iter().zip(META_SUPERSETS.iter()) {
                let answer = pattern.superset_matches(line);
                if line.is_ascii() {
                    assert_eq!(
                        answer,
                        meta.is_match(line),
                        "{} on {line:?}",
                        pattern.reference
                    );
                } else {
                    assert!(
                        answer || !meta.is_match(line),
                        "{} on {line:?}",
                        pattern.reference
                    );
                }
                if answer {
                    matched += 1;
                } else {
                    missed += 1;
                }
            }
        }
        assert!(
            matched > 0 && missed > 0,
            "{matched} matched, {missed} missed"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The rewritten keyword patterns find the secret the reference (backtracking) patterns
        /// find, on lines built from the tokens that steer them: keywords, operators, quotes,
        /// brackets, separators, vertical tabs and non-ASCII word characters.
        #[test]
        fn keyword_rewrite_matches_the_reference(
            tokens in proptest::collection::vec(token(), 1..14),
            from_keyword in proptest::bool::ANY,
        ) {
            let line: String = tokens.concat();
            for (pattern, reference) in COMPILED.iter() {
                {
                    let from = if from_keyword {
                        line.find("pass").or_else(|| line.find("secret")).unwrap_or(0)
                    } else {
                        0
                    };
                    let secret = pattern.secret(&line, from);
                    // The superset rules out only lines the exact pattern cannot match.
                    proptest::prop_assert!(
                        secret.is_none() || pattern.superset_matches(&line),
                        "superset of {} misses {:?}", pattern.reference, line
                    );
                    proptest::prop_assert_eq!(
                        secret.map(str::to_string),
                        reference_secret(reference, pattern.group, &line, from),
                        "{} on {:?} from {}", pattern.reference, line, from
                    );
                }
            }
        }
    }

    #[test]
    fn keyword_rewrite_examples() {
        let quotes = build_keyword_set(KeywordSet::QuotesRequired);
        let secrets = |line: &str| -> Vec<Option<String>> {
            quotes
                .iter()
                .map(|p| p.secret(line, 0).map(str::to_string))
                .collect()
        };
        // equal_quotes: the quote closes where it opened; the secret needs a word character.
        assert_eq!(
            secrets(r#"password = "hunter2""#)[2].as_deref(),
            Some("hunter2")
        );
        assert_eq!(secrets(r#"password = " hunter2""#)[2], None);
        assert_eq!(
            secrets(r#"password = "a`b`c""#)[2].as_deref(),
            Some("a`b`c")
        );
        assert_eq!(secrets(r#"password = 'abc""#)[2], None);
        // preceded: a quoted value compared with a keyword.
        assert_eq!(secrets(r#"if 'x1' == db_pass:"#)[1].as_deref(), Some("x1"));
        for p in &quotes {
            let reference = fancy(&p.reference).expect("compiles");
            for line in [
                r#"password = "hunter2""#,
                r#"api_key: 'abc', secret = `q`"#,
                r#"pwd := "a" + "b""#,
                r#"if "s3cr3t" === password_value {"#,
                r#"PASSWORD=>'x';"#,
            ] {
                assert_eq!(
                    p.secret(line, 0).map(str::to_string),
                    reference_secret(&reference, p.group, line, 0),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn entropy_matches_reference_values() {
        // Values computed by detect-secrets 1.5.0 for these strings.
        assert!((shannon_entropy("aaaa", BASE64_CHARSET) - 0.0).abs() < 1e-12);
        assert!((shannon_entropy("abcd", BASE64_CHARSET) - 2.0).abs() < 1e-12);
        assert!(hex_entropy("0123456789") < shannon_entropy("0123456789", HEX_CHARSET));
    }

    #[test]
    fn quoted_runs_need_matching_quotes() {
        let mut out = Vec::new();
        quoted_runs(r#"a = "abc" + 'de"f' + "g'"#, BASE64_CHARSET, &mut out);
        assert_eq!(out, vec!["abc"]);
    }

    /// Every detector's exact pattern that the pre-filter can be checked against (no
    /// look-arounds): on lines drawn from the pattern, with text around it and an edit, a
    /// match of the exact pattern lies on a line its pre-filter finds, at most the detector's
    /// lead after the pre-filter's first hit.
    #[test]
    fn prefilters_bound_every_detector_match() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let noise = ["", " ", "x = '", "é ", "ab.cd.", "MNO", "\u{1D7CE}"];
        let mut checked = 0;
        for (det, sources, pre) in regex_detector_patterns() {
            let prefilter = prefilter_with(&pre, prefilter_literals(det)).expect("compiles");
            for src in sources {
                let Ok(hir) = regex_automata::util::syntax::parse(&src) else {
                    continue;
                };
                let exact = fancy(&src).expect("compiles");
                for round in 0..400 {
                    let mut drawn = Vec::new();
                    if sample(&hir, &mut rng, &mut drawn).is_none() {
                        continue;
                    }
                    let mut body = String::from_utf8_lossy(&drawn).into_owned();
                    if round % 3 == 1 && !body.is_empty() {
                        let at = (rng as usize) % body.len();
                        if body.is_char_boundary(at) {
                            body.insert(at, '.');
                        }
                    }
                    let line = format!(
                        "{}{body}{}",
                        noise[round % noise.len()],
                        noise[(round / 7) % noise.len()]
                    );
                    let Ok(Some(m)) = exact.find(&line) else {
                        continue;
                    };
                    checked += 1;
                    let hit = prefilter.find(&line);
                    assert!(hit.is_some(), "detector {det}: {pre} misses {line:?}");
                    if let (Some(lead), Some(hit)) = (prefilter_lead(det), hit) {
                        assert!(
                            hit.start().saturating_sub(lead) <= m.start(),
                            "detector {det}: match at {} before the lead of {} in {line:?}",
                            m.start(),
                            hit.start()
                        );
                    }
                }
            }
        }
        assert!(checked > 2000, "{checked} matches checked");
    }

    /// `pattern` without its look-arounds (`(?<=…)`, `(?<!…)`, `(?=…)`, `(?!…)`), so that
    /// lines can be drawn from it; the pattern itself then decides which of them match.
    fn without_lookarounds(pattern: &str) -> String {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(at) = ["(?<=", "(?<!", "(?=", "(?!"]
            .iter()
            .filter_map(|open| rest.find(open))
            .min()
        {
            out.push_str(&rest[..at]);
            let mut depth = 0;
            let mut end = rest.len();
            let mut escaped = false;
            for (i, c) in rest[at..].char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = at + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// Matches drawn from the exact patterns of the run-gated detectors (look-arounds removed
    /// to draw them, kept to decide a match) each hold one of the detector's runs.
    #[test]
    fn every_match_holds_its_run() {
        assert_eq!(without_lookarounds(r"a(?<=\W(x))b(?![a-z])c"), "abc");
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let noise = ["", " ", "x = '", "é ", "key=", "\u{1D7CE}"];
        for (det, sources, _) in regex_detector_patterns() {
            if runs(det).is_empty() {
                continue;
            }
            let mut checked = 0;
            for src in sources {
                let hir = regex_automata::util::syntax::parse(&without_lookarounds(&src))
                    .expect("parses without look-arounds");
                let exact = fancy(&src).expect("compiles");
                for round in 0..600 {
                    let mut drawn = Vec::new();
                    if sample(&hir, &mut rng, &mut drawn).is_none() {
                        continue;
                    }
                    // The patterns ignore case, so draws hold LONG S and KELVIN SIGN, which
                    // would pass any text: they are drawn as the ASCII letters they fold to.
                    let drawn = String::from_utf8_lossy(&drawn)
                        .replace('\u{17F}', "s")
                        .replace('\u{212A}', "k");
                    let line = format!(
                        "{}{drawn}{}",
                        noise[round % noise.len()],
                        noise[(round / 5) % noise.len()]
                    );
                    if !matches!(exact.find(&line), Ok(Some(_))) {
                        continue;
                    }
                    checked += 1;
                    assert!(holds_a_run(&line, runs(det)), "detector {det}: {line:?}");
                }
            }
            assert!(checked > 100, "detector {det}: {checked} matches checked");
        }
        assert!(!holds_a_run("api_key = 'short'", runs(10)));
        for det in 0..27 {
            for run in runs(det) {
                assert!(run.min >= SHORTEST_RUN);
                assert!((0..=255u8).all(|c| !(run.class)(c) || alnum_dash(c)));
            }
        }
        assert!(holds_a_run("\u{212A}", runs(10)));
    }

    #[test]
    fn jwt_structure() {
        assert!(jwt_is_formally_valid(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0."
        ));
        assert!(!jwt_is_formally_valid("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24"));
    }
}
