//! B505 weak_cryptographic_key.
use crate::bandit::helpers::{CallCtx, High, Issue, Level, Lit, Medium};

fn classify(key_type: &str, key_size: &Lit) -> Option<Issue> {
    let size = match key_size {
        Lit::Int(i) => *i as f64,
        Lit::Float(f) => *f,
        _ => return None,
    };
    let table: [(i32, Level); 2] = match key_type {
        "DSA" | "RSA" => [(1024, High), (2048, Medium)],
        _ => [(160, High), (224, Medium)],
    };
    for (limit, level) in table {
        if size < f64::from(limit) {
            return Some(Issue::new(
                "B505",
                "weak_cryptographic_key",
                level,
                High,
                326,
                format!("{key_type} key sizes below {limit} bits are considered breakable. "),
            ));
        }
    }
    None
}

fn or_value(v: Option<Lit>) -> Option<Lit> {
    v.filter(Lit::truthy)
}

const CURVES: &[(&str, i128)] = &[
    ("SECT571K1", 571),
    ("SECT571R1", 570),
    ("SECP521R1", 521),
    ("BrainpoolP512R1", 512),
    ("SECT409K1", 409),
    ("SECT409R1", 409),
    ("BrainpoolP384R1", 384),
    ("SECP384R1", 384),
    ("SECT283K1", 283),
    ("SECT283R1", 283),
    ("BrainpoolP256R1", 256),
    ("SECP256K1", 256),
    ("SECP256R1", 256),
    ("SECT233K1", 233),
    ("SECT233R1", 233),
    ("SECP224R1", 224),
    ("SECP192R1", 192),
    ("SECT163K1", 163),
    ("SECT163R2", 163),
];

pub fn check(c: &CallCtx) -> Option<Issue> {
    let key_type = match c.qual.as_str() {
        "cryptography.hazmat.primitives.asymmetric.dsa.generate_private_key" => "DSA",
        "cryptography.hazmat.primitives.asymmetric.rsa.generate_private_key" => "RSA",
        "cryptography.hazmat.primitives.asymmetric.ec.generate_private_key" => "EC",
        "Crypto.PublicKey.DSA.generate" | "Cryptodome.PublicKey.DSA.generate" => {
            let size = or_value(c.kw_value("bits"))
                .or_else(|| or_value(c.arg_at(0)))
                .unwrap_or(Lit::Int(2048));
            return classify("DSA", &size);
        }
        "Crypto.PublicKey.RSA.generate" | "Cryptodome.PublicKey.RSA.generate" => {
            let size = or_value(c.kw_value("bits"))
                .or_else(|| or_value(c.arg_at(0)))
                .unwrap_or(Lit::Int(2048));
            return classify("RSA", &size);
        }
        _ => return None,
    };
    if key_type == "EC" {
        let curve = or_value(c.kw_value("curve"))
            .or_else(|| c.call_args().into_iter().next().filter(Lit::truthy));
        let size = curve
            .as_ref()
            .and_then(|v| v.as_str())
            .and_then(|name| CURVES.iter().find(|(n, _)| *n == name))
            .map_or(224, |(_, s)| *s);
        return classify("EC", &Lit::Int(size));
    }
    let pos = if key_type == "DSA" { 0 } else { 1 };
    let size = or_value(c.kw_value("key_size"))
        .or_else(|| or_value(c.arg_at(pos)))
        .unwrap_or(Lit::Int(2048));
    classify(key_type, &size)
}
