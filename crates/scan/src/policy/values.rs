//! What a flagged value looks like: an empty string, a placeholder, a settings key or a UI
//! label is not a password; a provider's published example key or an `example.com` host is not
//! a secret; a private key is one only if its body decodes to a key structure. Families call
//! these at scan time (they see the value; the report never holds it) and record the answer as
//! the `value_kind` / `key_parses` facts.

/// `value_kind` facts.
pub const EMPTY: &str = "empty";
pub const PLACEHOLDER: &str = "placeholder";
pub const SETTINGS_KEY: &str = "settings_key";
pub const UI_LABEL: &str = "ui_label";
pub const PUBLISHED_EXAMPLE: &str = "published_example";
pub const EXAMPLE_HOST: &str = "example_host";
/// Looks like a real value.
pub const VALUE: &str = "value";

/// Words that stand for a secret rather than being one.
const PLACEHOLDER_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "key",
    "changeme",
    "change_me",
    "changeit",
    "example",
    "dummy",
    "test",
    "testing",
    "none",
    "null",
    "undefined",
    "default",
    "username",
    "user",
    "admin",
    "your_password",
    "yourpassword",
    "mypassword",
    "my_password",
    "secretpassword",
    "todo",
    "fixme",
    "xxx",
    "placeholder",
    "sample",
    "foo",
    "bar",
    "foobar",
    "redacted",
    "hidden",
    "masked",
];

/// Credentials that providers print in their documentation.
const PUBLISHED_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

/// How a value found where a password is expected (B105–B107, KeywordDetector) reads.
pub fn password_kind(value: &str) -> &'static str {
    let v = value.trim();
    if v.is_empty() {
        return EMPTY;
    }
    if is_template(v) {
        return PLACEHOLDER;
    }
    if is_label(v) {
        return UI_LABEL;
    }
    let lower = v.to_ascii_lowercase();
    let bare = lower.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    if PLACEHOLDER_WORDS.contains(&bare)
        || v.chars().all(|c| c == v.chars().next().unwrap_or('*'))
        || lower.contains("example")
        || lower.contains("placeholder")
        || lower.starts_with("your")
        || lower.starts_with("enter ")
    {
        return PLACEHOLDER;
    }
    if is_settings_key(v) {
        return SETTINGS_KEY;
    }
    VALUE
}

/// `{password}`, `%s`, `<token>`, `${PASS}`, `$PASS`, `{{ secret }}`.
fn is_template(v: &str) -> bool {
    (v.starts_with('{') && v.ends_with('}'))
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with('$')
            && v.len() > 1
            && v[1..].chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        || matches!(v, "%s" | "%r" | "%d" | "{}" | "?")
        || (v.starts_with("%(") && v.ends_with(")s"))
}

/// Words for people: a space between letters, or a trailing colon (`Password:`, `Enter the
/// token`, `Wrong password!`).
fn is_label(v: &str) -> bool {
    let words: Vec<&str> = v.split_whitespace().collect();
    let alphabetic_words = words
        .iter()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    (words.len() >= 2 && alphabetic_words >= 2)
        || (v.ends_with(':') && v.chars().any(char::is_alphabetic))
        || v.contains("&")
            && v.chars().filter(|c| c.is_alphabetic()).count() + 1 == v.chars().count()
}

/// A key into settings or a form rather than its value: `plugin/password`, `auth.token`,
/// `db_password`, `PASSWORD`, `passwordField`.
fn is_settings_key(v: &str) -> bool {
    let identifier_like = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
        && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !identifier_like {
        return false;
    }
    let segments: Vec<&str> = v
        .split(['/', '.'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>();
    let path_like = segments.len() >= 2
        && segments.iter().all(|s| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().filter(|c| c.is_ascii_digit()).count() * 2 < s.len()
        });
    let lower = v.to_ascii_lowercase();
    let names_a_secret = [
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let snake = v.contains('_') || v.contains('-');
    let camel = v.chars().skip(1).any(|c| c.is_ascii_uppercase())
        && v.chars().any(|c| c.is_ascii_lowercase());
    let shouting = v.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    path_like || (names_a_secret && (snake || camel || shouting))
}

/// How a detect-secrets hit reads: `secret` is the value, `line` the line it is on.
pub fn secret_kind(rule: &str, secret: &str, line: &str) -> &'static str {
    if PUBLISHED_EXAMPLES.contains(&secret) || secret.contains("EXAMPLE") {
        return PUBLISHED_EXAMPLE;
    }
    match rule {
        "KeywordDetector" => password_kind(secret),
        "BasicAuthDetector" => {
            let pass = password_kind(secret);
            if pass != VALUE && pass != SETTINGS_KEY {
                return pass;
            }
            match host_after(line, secret) {
                Some(host) if is_example_host(&host) => EXAMPLE_HOST,
                _ => VALUE,
            }
        }
        _ => VALUE,
    }
}

/// The host of `scheme://user:SECRET@host…` on the line.
fn host_after(line: &str, secret: &str) -> Option<String> {
    let at = line.find(&format!("{secret}@"))? + secret.len() + 1;
    let host: String = line[at..]
        .chars()
        .take_while(|c| !matches!(c, '/' | ':' | '"' | '\'' | '?' | '#' | ' ' | '>' | '`'))
        .collect();
    Some(host.to_ascii_lowercase())
}

/// Hosts reserved for documentation (RFC 2606, RFC 6761) and stand-ins for "your server".
pub fn is_example_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let reserved = ["example.com", "example.org", "example.net"];
    reserved
        .iter()
        .any(|r| host == *r || host.ends_with(&format!(".{r}")))
        || [".example", ".test", ".invalid", ".localhost"]
            .iter()
            .any(|tld| host.ends_with(tld))
        || matches!(
            host,
            "localhost"
                | "127.0.0.1"
                | "host"
                | "hostname"
                | "server"
                | "domain"
                | "myserver"
                | "yourserver"
                | "your-server"
                | "server.com"
                | "domain.com"
                | "host.com"
                | "mydomain.com"
                | "yourdomain.com"
        )
        || host.starts_with('{')
        || host.starts_with('<')
        || host.starts_with('%')
}

/// Whether the PEM block starting on `lines[start]` holds a real key: its body must
/// base64-decode into a DER sequence whose length matches (PKCS#1, PKCS#8, SEC1, DSA), or an
/// OpenSSH key with its magic. A header alone, a truncated or invented body does not.
pub fn private_key_parses(lines: &[&str], start: usize) -> bool {
    let Some(header) = lines.get(start) else {
        return false;
    };
    let openssh = header.contains("OPENSSH PRIVATE KEY");
    let mut body = String::new();
    let mut ended = false;
    for line in lines.iter().skip(start + 1).take(200) {
        // Keys pasted into Python strings keep quotes, `\n` escapes and commas.
        let cleaned = quoted_part(line.trim()).replace("\\n", "");
        if cleaned.contains("-----END") {
            let before = cleaned.split("-----END").next().unwrap_or("");
            body.push_str(before);
            ended = true;
            break;
        }
        if cleaned.contains(':') {
            // PEM headers (`Proc-Type: …`): part of an encrypted key, not base64.
            continue;
        }
        body.push_str(&cleaned);
    }
    // A key on one line: `"-----BEGIN … KEY-----\nMIIE…\n-----END …"`.
    if !ended && let Some(rest) = header.split("KEY-----").nth(1) {
        let rest = rest.replace("\\n", "");
        if let Some(b) = rest.split("-----END").next()
            && rest.contains("-----END")
        {
            body = b
                .trim_matches(|c| matches!(c, '"' | '\'' | ' '))
                .to_string();
            ended = true;
        }
    }
    if !ended {
        return false;
    }
    let Some(der) = base64_decode(&body) else {
        return false;
    };
    if openssh {
        return der.starts_with(b"openssh-key-v1\0") && der.len() > 64;
    }
    der_sequence_fits(&der)
}

/// The text between the first and last quote of a line pasted into source code (`"MIIE…" +`),
/// or the whole line when it has no quotes.
fn quoted_part(line: &str) -> &str {
    let first = line.find(['"', '\'']);
    let last = line.rfind(['"', '\'']);
    match (first, last) {
        (Some(a), Some(b)) if b > a => &line[a + 1..b],
        _ => line,
    }
}

/// A DER SEQUENCE whose declared length is the rest of the data, and long enough to hold a key.
fn der_sequence_fits(der: &[u8]) -> bool {
    if der.len() < 64 || der[0] != 0x30 {
        return false;
    }
    let (len, header) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => ((usize::from(der[2]) << 8) | usize::from(der[3]), 4),
        0x83 => (
            (usize::from(der[2]) << 16) | (usize::from(der[3]) << 8) | usize::from(der[4]),
            5,
        ),
        _ => return false,
    };
    header + len == der.len() && der.get(header) == Some(&0x02)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = false;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_values_that_are_not_passwords() {
        assert_eq!(password_kind(""), EMPTY);
        assert_eq!(password_kind("  "), EMPTY);
        assert_eq!(password_kind("password"), PLACEHOLDER);
        assert_eq!(password_kind("****"), PLACEHOLDER);
        assert_eq!(password_kind("{password}"), PLACEHOLDER);
        assert_eq!(password_kind("%s"), PLACEHOLDER);
        assert_eq!(password_kind("Password:"), UI_LABEL);
        assert_eq!(password_kind("Enter the token"), UI_LABEL);
        assert_eq!(password_kind("<your token>"), PLACEHOLDER);
        assert_eq!(password_kind("Wrong password, try again"), UI_LABEL);
        assert_eq!(password_kind("myplugin/password"), SETTINGS_KEY);
        assert_eq!(password_kind("db_password"), SETTINGS_KEY);
        assert_eq!(password_kind("AUTH_TOKEN"), SETTINGS_KEY);
        assert_eq!(password_kind("hunter2"), VALUE);
        assert_eq!(password_kind("S3cr3t!pass"), VALUE);
        assert_eq!(password_kind("x9Fq2LmP0z"), VALUE);
    }

    #[test]
    fn published_examples_and_example_hosts() {
        assert_eq!(
            secret_kind("AWSKeyDetector", "AKIAIOSFODNN7EXAMPLE", ""),
            PUBLISHED_EXAMPLE
        );
        assert_eq!(
            secret_kind("AWSKeyDetector", "AKIAJ3LXQ7ZLPM2TNEWA", ""),
            VALUE
        );
        let line = "url = 'https://user:s3cr3tz@example.com/api'";
        assert_eq!(
            secret_kind("BasicAuthDetector", "s3cr3tz", line),
            EXAMPLE_HOST
        );
        let line = "url = 'https://user:s3cr3tz@db.acme-gis.fr/api'";
        assert_eq!(secret_kind("BasicAuthDetector", "s3cr3tz", line), VALUE);
        let line = "url = 'https://user:password@db.acme-gis.fr/api'";
        assert_eq!(
            secret_kind("BasicAuthDetector", "password", line),
            PLACEHOLDER
        );
    }

    #[test]
    fn only_a_decodable_key_body_is_a_key() {
        // A DER SEQUENCE of 70 bytes: INTEGER 0, then filler, as a key's outer structure.
        let mut der = vec![0x30, 68, 0x02, 0x01, 0x00];
        der.extend(std::iter::repeat_n(0x04, 65));
        let body = encode(&der);
        let key = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----");
        let lines: Vec<&str> = key.lines().collect();
        assert!(private_key_parses(&lines, 0));
        // Pasted into Python source, line by line.
        let pasted: String = key.lines().map(|l| format!("    \"{l}\\n\"\n")).collect();
        let lines: Vec<&str> = pasted.lines().collect();
        assert!(private_key_parses(&lines, 0), "{pasted}");
        let fake =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----";
        let lines: Vec<&str> = fake.lines().collect();
        assert!(!private_key_parses(&lines, 0));
        let header_only = ["BEGIN_KEY = '-----BEGIN PRIVATE KEY-----'"];
        assert!(!private_key_parses(&header_only, 0));
        // The right start byte but a length that does not match.
        der[1] = 90;
        let body = encode(&der);
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----");
        let lines: Vec<&str> = key.lines().collect();
        assert!(!private_key_parses(&lines, 0));
    }

    fn encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    }
}
