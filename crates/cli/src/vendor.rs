//! `vetted vendor index WHEEL_OR_SDIST…`: reads published wheels and sdists (never runs them)
//! into the JSON index that recognises unmodified vendored copies of those libraries.

use std::path::{Path, PathBuf};

use anyhow::Context;
use vetted_scan::policy::vendor::{INDEX_SCHEMA, VendorIndex, index_package};

#[derive(clap::Args)]
pub struct VendorArgs {
    #[command(subcommand)]
    command: VendorCommand,
}

#[derive(clap::Subcommand)]
enum VendorCommand {
    /// Write the index of the given wheels and sdists (`.whl`, `.zip`, `.tar.gz`).
    Index {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write to FILE instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Add to this existing index instead of starting empty.
        #[arg(long, value_name = "FILE")]
        merge: Option<PathBuf>,
    },
}

pub fn run(args: VendorArgs) -> anyhow::Result<u8> {
    match args.command {
        VendorCommand::Index {
            files,
            output,
            merge,
        } => {
            let mut index = match &merge {
                Some(path) => load_index(path)?,
                None => VendorIndex {
                    schema: INDEX_SCHEMA.into(),
                    packages: Vec::new(),
                },
            };
            for path in &files {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let package = index_package(&name, &bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                index
                    .packages
                    .retain(|p| !(p.name == package.name && p.version == package.version));
                eprintln!(
                    "vetted: {} {} ({} files)",
                    package.name,
                    package.version,
                    package.files.len()
                );
                index.packages.push(package);
            }
            index
                .packages
                .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
            let text = serde_json::to_string_pretty(&index)? + "\n";
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(0)
        }
    }
}

pub fn load_index(path: &Path) -> anyhow::Result<VendorIndex> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the vendor index {}", path.display()))?;
    VendorIndex::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
