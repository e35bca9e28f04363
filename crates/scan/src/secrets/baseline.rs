//! A bundled `.secrets.baseline`: the secrets its author has reviewed, by file and SHA-1.

use std::collections::HashSet;

/// The (file, hashed secret) pairs of a baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    entries: HashSet<(String, String)>,
}

/// Baseline file names are relative to where detect-secrets ran; compare them `/`-separated
/// without a leading `./`.
fn normalise(name: &str) -> String {
    let mut s = name.replace('\\', "/");
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_string();
    }
    s
}

impl Baseline {
    /// Reads a baseline; the error says what is wrong with it (never its content).
    pub fn parse(bytes: &[u8]) -> Result<Baseline, String> {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
        let results = doc
            .get("results")
            .and_then(|r| r.as_object())
            .ok_or("no \"results\" object")?;
        let mut entries = HashSet::new();
        for (file, items) in results {
            let items = items
                .as_array()
                .ok_or("a \"results\" entry is not a list")?;
            for item in items {
                let hash = item
                    .get("hashed_secret")
                    .and_then(|h| h.as_str())
                    .ok_or("an entry has no \"hashed_secret\"")?;
                let name = item
                    .get("filename")
                    .and_then(|f| f.as_str())
                    .unwrap_or(file);
                entries.insert((normalise(name), hash.to_ascii_lowercase()));
                entries.insert((normalise(file), hash.to_ascii_lowercase()));
            }
        }
        Ok(Baseline { entries })
    }

    pub fn contains(&self, path: &str, hash: &str) -> bool {
        self.entries.contains(&(normalise(path), hash.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_by_file_and_hash() {
        let b = Baseline::parse(
            br#"{"results": {"./a/b.py": [{"hashed_secret": "ABC", "line_number": 3}]}}"#,
        );
        let Ok(b) = b else {
            panic!("baseline should parse")
        };
        assert!(b.contains("a/b.py", "abc"));
        assert!(!b.contains("a/c.py", "abc"));
        assert!(!b.contains("a/b.py", "abd"));
        assert!(Baseline::parse(b"[]").is_err());
    }
}
