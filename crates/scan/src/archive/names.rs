//! A minimal walk of the ZIP central directory for what the zip crate hides: every raw entry
//! name (it keeps one per name, so duplicates vanish), each entry's UTF-8 flag, and whether its
//! local header tells the same story (extractors that stream local headers would otherwise see
//! a different file than the one we vet).

use std::io::{Read, Seek, SeekFrom};

pub struct RawName {
    pub name: Vec<u8>,
    pub utf8_flag: bool,
    /// The fields on which the local header disagrees with the central directory, if any.
    pub local_mismatch: Vec<&'static str>,
}

/// What the central directory says of an entry, to compare with its local header.
struct Central {
    flags: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    local_offset: u32,
}

/// The central directory's entries in order, starting at `start`; stops at the first record that
/// is not a central directory header, and after `max` entries.
pub fn central_directory_names<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    max: usize,
) -> Vec<RawName> {
    let Some((mut names, central)) = walk(reader, start, max) else {
        return Vec::new();
    };
    for (raw, c) in names.iter_mut().zip(&central) {
        raw.local_mismatch = compare_local(reader, &raw.name, c).unwrap_or_default();
    }
    names
}

/// Reads the local header of one entry and names the fields that differ from the central
/// directory's. Fields a data descriptor or ZIP64 defers are not compared; an unreadable
/// header is left to the zip crate, which reports it when the entry is read.
fn compare_local<R: Read + Seek>(
    reader: &mut R,
    name: &[u8],
    c: &Central,
) -> Option<Vec<&'static str>> {
    if c.local_offset == u32::MAX {
        return None;
    }
    reader
        .seek(SeekFrom::Start(u64::from(c.local_offset)))
        .ok()?;
    let mut header = [0u8; 30];
    reader.read_exact(&mut header).ok()?;
    if header[..4] != [0x50, 0x4b, 0x03, 0x04] {
        return Some(vec!["signature"]);
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let local_flags = u16::from_le_bytes([header[6], header[7]]);
    let name_len = u16::from_le_bytes([header[26], header[27]]) as usize;
    let mut local_name = vec![0u8; name_len];
    reader.read_exact(&mut local_name).ok()?;
    let mut out = Vec::new();
    if local_name != name {
        out.push("name");
    }
    let deferred = (local_flags | c.flags) & 0x0008 != 0;
    if !deferred {
        if u32_at(14) != c.crc {
            out.push("CRC");
        }
        let zip64 = c.compressed == u32::MAX || c.size == u32::MAX;
        if !zip64 && (u32_at(18) != c.compressed || u32_at(22) != c.size) {
            out.push("sizes");
        }
    }
    Some(out)
}
fn walk<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    max: usize,
) -> Option<(Vec<RawName>, Vec<Central>)> {
    reader.seek(SeekFrom::Start(start)).ok()?;
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut header = [0u8; 46];
    while out.len() < max {
        if reader.read_exact(&mut header).is_err() {
            break;
        }
        if header[..4] != [0x50, 0x4b, 0x01, 0x02] {
            break;
        }
        let flags = u16::from_le_bytes([header[8], header[9]]);
        let name_len = u16::from_le_bytes([header[28], header[29]]) as usize;
        let extra_len = u16::from_le_bytes([header[30], header[31]]) as i64;
        let comment_len = u16::from_le_bytes([header[32], header[33]]) as i64;
        let mut name = vec![0u8; name_len];
        reader.read_exact(&mut name).ok()?;
        reader
            .seek(SeekFrom::Current(extra_len + comment_len))
            .ok()?;
        let u32_at =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        central.push(Central {
            flags,
            crc: u32_at(16),
            compressed: u32_at(20),
            size: u32_at(24),
            local_offset: u32_at(42),
        });
        out.push(RawName {
            name,
            utf8_flag: flags & 0x0800 != 0,
            local_mismatch: Vec::new(),
        });
    }
    Some((out, central))
}
