//! A minimal walk of the ZIP central directory for what the zip crate hides: every raw entry
//! name (it keeps one per name, so duplicates vanish) and each entry's UTF-8 flag.

use std::io::{Read, Seek, SeekFrom};

pub struct RawName {
    pub name: Vec<u8>,
    pub utf8_flag: bool,
}

/// The central directory's entries in order, starting at `start`; stops at the first record that
/// is not a central directory header, and after `max` entries.
pub fn central_directory_names<R: Read + Seek>(reader: &mut R, start: u64, max: usize) -> Vec<RawName> {
    walk(reader, start, max).unwrap_or_default()
}
fn walk<R: Read + Seek>(reader: &mut R, start: u64, max: usize) -> Option<Vec<RawName>> {
    reader.seek(SeekFrom::Start(start)).ok()?;
    let mut out = Vec::new();
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
        reader.seek(SeekFrom::Current(extra_len + comment_len)).ok()?;
        out.push(RawName { name, utf8_flag: flags & 0x0800 != 0 });
    }
    Some(out)
}
