//! The facts the policy needs about files rather than findings: every file's hash and the
//! packaging metadata beside vendored libraries, each Python file's imports, and which files do
//! not compile. Runs as one more family over the files the pipeline streams.

use crate::family::{Family, FamilyOutput, SourceFile};
use crate::report::Check;

/// What one file contributes.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub path: String,
    /// Empty when the file is outside the [`HashScope`]: recognition never compares it.
    pub sha256: String,
    /// Kept for packaging metadata files only (`vendor::is_metadata_path`).
    pub metadata: Option<Vec<u8>>,
    /// For Python files: the modules imported anywhere in the file.
    pub imports: Option<Vec<String>>,
    /// A Python file that cannot be decoded or parsed without errors.
    pub broken: bool,
}

pub struct FactScan {
    pub hash: super::vendor::HashScope,
}

impl Family for FactScan {
    fn check(&self) -> Check {
        Check::Files
    }

    fn scan_file(&self, file: &SourceFile, out: &mut FamilyOutput) {
        let metadata = super::vendor::is_metadata_path(file.path).then(|| file.bytes.to_vec());
        let (imports, broken) = match file.python() {
            None => (None, false),
            Some(Ok(m)) => (
                Some(super::imports::collect(m.parsed.syntax())),
                m.has_syntax_errors(),
            ),
            Some(Err(_)) => (Some(Vec::new()), true),
        };
        out.files.push(FileFacts {
            path: file.path.to_string(),
            sha256: if self.hash.covers(file.path) {
                super::vendor::sha256_hex(file.bytes)
            } else {
                String::new()
            },
            metadata,
            imports,
            broken,
        });
    }
}
