//! Builds ZIP archives byte by byte for tests, so that every malformed variant (duplicate names,
//! links, bad CRCs, legacy name encodings, encryption flags) can be made without a ZIP writer
//! refusing it.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct RawEntry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    pub deflate: bool,
    pub unix_mode: Option<u32>,
    pub utf8_flag: bool,
    pub encrypted: bool,
    pub corrupt_crc: bool,
    /// Uncompressed size written in both headers instead of the real one (a lying archive).
    pub declared_size: Option<u32>,
    /// XORed into the local header's CRC only, so the two headers disagree.
    pub local_crc_xor: u32,
}

impl RawEntry {
    pub fn file(name: &str, data: &[u8]) -> RawEntry {
        RawEntry {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            deflate: false,
            unix_mode: Some(0o100644),
            utf8_flag: !name.is_ascii(),
            encrypted: false,
            corrupt_crc: false,
            declared_size: None,
            local_crc_xor: 0,
        }
    }
}

#[derive(Default, Clone)]
pub struct RawZip {
    pub entries: Vec<RawEntry>,
}

impl RawZip {
    pub fn new() -> Self {
        RawZip::default()
    }

    pub fn add(mut self, name: &str, data: &[u8]) -> Self {
        self.entries.push(RawEntry::file(name, data));
        self
    }

    pub fn entry(mut self, e: RawEntry) -> Self {
        self.entries.push(e);
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.entries.retain(|e| e.name != name.as_bytes());
        self
    }

    pub fn replace(self, name: &str, data: &[u8]) -> Self {
        let mut z = self.remove(name);
        z.entries.push(RawEntry::file(name, data));
        z
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in &self.entries {
            let crc = crc32fast::hash(&e.data) ^ if e.corrupt_crc { 0xdead_beef } else { 0 };
            let (method, payload) = if e.deflate {
                let mut enc =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(&e.data).unwrap();
                (8u16, enc.finish().unwrap())
            } else {
                (0u16, e.data.clone())
            };
            let mut flags = 0u16;
            if e.utf8_flag {
                flags |= 0x0800;
            }
            if e.encrypted {
                flags |= 0x0001;
            }
            let offset = out.len() as u32;
            out.extend_from_slice(&0x04034b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes()); // time, date
            let size = e.declared_size.unwrap_or(e.data.len() as u32);
            out.extend_from_slice(&(crc ^ e.local_crc_xor).to_le_bytes());
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&e.name);
            out.extend_from_slice(&payload);

            central.extend_from_slice(&0x02014b50u32.to_le_bytes());
            let made_by: u16 = if e.unix_mode.is_some() {
                (3 << 8) | 20
            } else {
                20
            };
            central.extend_from_slice(&made_by.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&flags.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&0u32.to_le_bytes());
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes()); // extra
            central.extend_from_slice(&0u16.to_le_bytes()); // comment
            central.extend_from_slice(&0u16.to_le_bytes()); // disk
            central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
            central.extend_from_slice(&(e.unix_mode.unwrap_or(0) << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(&e.name);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x06054b50u32.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    pub fn write_to(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, self.bytes()).unwrap();
        p
    }
}

pub const METADATA: &str = "[general]
name=Sample
qgisMinimumVersion=3.22
description=A sample plugin
version=1.2.0
author=Jane Doe
email=jane@example.org
about=Does sample things.
tracker=https://example.org/issues
repository=https://example.org/repo
icon=icon.png
";

/// A valid plugin named `sample`.
pub fn valid_plugin() -> RawZip {
    RawZip::new()
        .add(
            "sample/__init__.py",
            b"def classFactory(iface):\n    from .main import Plugin\n    return Plugin(iface)\n",
        )
        .add(
            "sample/main.py",
            b"class Plugin:\n    def __init__(self, iface):\n        self.iface = iface\n",
        )
        .add("sample/metadata.txt", METADATA.as_bytes())
        .add("sample/LICENSE", b"GPL-2.0-or-later\n")
        .add("sample/icon.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
}

pub fn metadata_with(field: &str, value: Option<&str>) -> String {
    let mut lines: Vec<String> = METADATA
        .lines()
        .filter(|l| !l.starts_with(&format!("{field}=")))
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        lines.push(format!("{field}={v}"));
    }
    lines.join("\n") + "\n"
}
