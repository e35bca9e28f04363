//! `vetted export DIR`: a static repository of the approved versions (plugins.xml, the ZIPs,
//! a SHA256SUMS manifest, index.html) for any web server or a file share. Incremental (a ZIP
//! already in DIR with the right checksum is reused, not read from storage again) and atomic
//! (written into a sibling folder, then renamed into place).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::AppState;

/// Stands in for the base URL while plugins.xml is rendered, then replaced per version.
const PLACEHOLDER: &str = "vetted-export:";
pub const MANIFEST: &str = "SHA256SUMS";

#[derive(Debug, Default, serde::Serialize)]
pub struct ExportReport {
    pub versions: usize,
    pub reused: usize,
    pub written: usize,
}

/// `base_url`: where DIR will be reachable (default: its `file://` URL).
pub async fn export(
    state: &AppState,
    dir: &Path,
    base_url: Option<&str>,
) -> anyhow::Result<ExportReport> {
    let dir = std::path::absolute(dir).context("resolving the export folder")?;
    let base = match base_url {
        Some(b) => format!("{}/", b.trim_end_matches('/')),
        None => format!("file://{}/", dir.display()),
    };
    let parent = dir.parent().context("the export folder has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let leaf = dir.file_name().context("the export folder has no name")?;
    let staging: PathBuf = parent.join(format!(
        ".{}.new-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;

    let mut xml = crate::routes::plugins_xml::render_with_base(state, PLACEHOLDER).await?;
    let mut report = ExportReport::default();
    let mut manifest = String::new();
    let mut index = String::from(
        "<!doctype html><meta charset=utf-8><title>Plugin repository</title>\n<h1>Plugin repository</h1>\n<p>Add <code>plugins.xml</code> of this folder as a plugin repository in QGIS.</p>\n<ul>\n",
    );
    let mut versions = state.db.public_versions().await?;
    versions.sort_by_key(|v| v.id);
    for v in versions {
        let Some(plugin) = state.db.plugin_by_id(v.plugin_id).await? else {
            continue;
        };
        let p = &plugin.package_name;
        let link = format!("{PLACEHOLDER}/plugins/{p}/version/{}/download/", v.version);
        if !xml.contains(&link) {
            continue;
        }
        let file_name = format!("{p}.{}.zip", v.version);
        xml = xml.replace(&link, &format!("{base}{file_name}"));
        let existing = dir.join(&file_name);
        let target = staging.join(&file_name);
        let reusable = std::fs::read(&existing)
            .ok()
            .is_some_and(|b| hex::encode(Sha256::digest(&b)) == v.sha256);
        if reusable {
            std::fs::copy(&existing, &target)
                .with_context(|| format!("copying {}", existing.display()))?;
            report.reused += 1;
        } else {
            let bytes = state
                .storage
                .get(&v.file_key)
                .await
                .with_context(|| format!("reading {file_name} from storage"))?;
            if hex::encode(Sha256::digest(&bytes)) != v.sha256 {
                anyhow::bail!("the stored file of {file_name} does not match its checksum");
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("writing {}", target.display()))?;
            report.written += 1;
        }
        manifest.push_str(&format!("{}  {file_name}\n", v.sha256));
        index.push_str(&format!(
            "<li><a href=\"{file_name}\">{file_name}</a> <code>{}</code></li>\n",
            v.sha256
        ));
        report.versions += 1;
    }
    index.push_str("</ul>\n");
    std::fs::write(staging.join("plugins.xml"), xml).context("writing plugins.xml")?;
    std::fs::write(staging.join(MANIFEST), manifest).context("writing the manifest")?;
    std::fs::write(staging.join("index.html"), index).context("writing index.html")?;
    // Swap: the old export moves aside, the new one takes its name, the old one goes.
    let old = parent.join(format!(
        ".{}.old-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(&dir, &old).with_context(|| format!("moving {} aside", dir.display()))?;
    }
    std::fs::rename(&staging, &dir).with_context(|| format!("renaming into {}", dir.display()))?;
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(report)
}

/// The manifest beside a `file:` feed, as file name → sha256; None when there is none.
pub fn read_manifest(feed_path: &Path) -> Option<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(feed_path.parent()?.join(MANIFEST)).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (sha, name) = l.split_once("  ")?;
                Some((name.trim().to_string(), sha.trim().to_string()))
            })
            .collect(),
    )
}
