//! What a file really is, from its leading bytes.

/// Content kinds told apart by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Elf,
    /// Windows PE (or plain DOS `MZ`) executable or library.
    Pe,
    MachO,
    /// Mach-O universal ("fat") binary.
    MachOFat,
    /// Compiled Python bytecode (`.pyc`), any version.
    PythonBytecode,
    JavaClass,
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    SevenZip,
    Rar,
    /// A script starting with `#!`.
    Shebang,
    Png,
    Jpeg,
    Gif,
    Ico,
    Bmp,
    Tiff,
    Webp,
    Pdf,
    Sqlite,
    QtTranslation,
    QtResource,
    Font,
    Svg,
    Text,
    /// Binary content of no known kind.
    Binary,
}

impl Content {
    pub fn describe(self) -> &'static str {
        match self {
            Content::Elf => "an ELF executable or shared library",
            Content::Pe => "a Windows executable or DLL (PE)",
            Content::MachO => "a Mach-O executable or library",
            Content::MachOFat => "a Mach-O universal (fat) binary",
            Content::PythonBytecode => "compiled Python bytecode",
            Content::JavaClass => "a compiled Java class",
            Content::Zip => "a ZIP archive",
            Content::Tar => "a tar archive",
            Content::Gzip => "a gzip-compressed file",
            Content::Bzip2 => "a bzip2-compressed file",
            Content::Xz => "an xz-compressed file",
            Content::Zstd => "a zstd-compressed file",
            Content::SevenZip => "a 7z archive",
            Content::Rar => "a RAR archive",
            Content::Shebang => "a script with a #! line",
            Content::Png => "a PNG image",
            Content::Jpeg => "a JPEG image",
            Content::Gif => "a GIF image",
            Content::Ico => "an ICO icon",
            Content::Bmp => "a BMP image",
            Content::Tiff => "a TIFF image",
            Content::Webp => "a WebP image",
            Content::Pdf => "a PDF document",
            Content::Sqlite => "an SQLite database",
            Content::QtTranslation => "a Qt translation (.qm)",
            Content::QtResource => "a compiled Qt resource",
            Content::Font => "a font",
            Content::Svg => "an SVG image",
            Content::Text => "text",
            Content::Binary => "binary data",
        }
    }

    /// Code that runs natively or in a VM.
    pub fn is_program(self) -> bool {
        matches!(
            self,
            Content::Elf
                | Content::Pe
                | Content::MachO
                | Content::MachOFat
                | Content::PythonBytecode
                | Content::JavaClass
        )
    }

    pub fn is_archive(self) -> bool {
        matches!(
            self,
            Content::Zip
                | Content::Tar
                | Content::Gzip
                | Content::Bzip2
                | Content::Xz
                | Content::Zstd
                | Content::SevenZip
                | Content::Rar
        )
    }

    pub fn is_binary(self) -> bool {
        !matches!(self, Content::Text | Content::Shebang | Content::Svg)
    }
}

const QM_MAGIC: [u8; 16] = [
    0x3c, 0xb8, 0x64, 0x18, 0xca, 0xef, 0x9c, 0x95, 0xcd, 0x21, 0x1c, 0xbf, 0x60, 0xa1, 0xbd, 0xdd,
];

fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Identifies content by magic bytes, then tells text from binary.
pub fn identify(b: &[u8]) -> Content {
    let starts = |m: &[u8]| b.starts_with(m);
    if starts(b"\x7fELF") {
        return Content::Elf;
    }
    if starts(b"MZ") && b.len() >= 64 {
        // A PE file points to its "PE\0\0" header at 0x3c; a bare DOS program still runs.
        let pe = u32_le(b, 0x3c)
            .and_then(|off| b.get(off as usize..off as usize + 4))
            .is_some_and(|h| h == b"PE\0\0");
        if pe || b.len() >= 512 && b.get(0x18).is_some_and(|&r| r >= 0x1c) && !is_text(b) {
            return Content::Pe;
        }
    }
    if let Some(m) = u32_be(b, 0) {
        match m {
            0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe => return Content::MachO,
            0xcafe_babe | 0xcafe_babf => {
                // Java classes share the magic; their next word is the class-file version
                // (major 45 or more), a fat binary's is a small architecture count.
                let next = u32_be(b, 4).unwrap_or(0);
                if (1..=30).contains(&next) {
                    return Content::MachOFat;
                }
                if m == 0xcafe_babe && (next & 0xffff) >= 45 {
                    return Content::JavaClass;
                }
            }
            0xbebafeca => return Content::MachOFat,
            _ => {}
        }
    }
    // Python bytecode: a 16-bit little-endian version number then "\r\n".
    if b.len() >= 8 && b[2] == b'\r' && b[3] == b'\n' {
        let magic = u16::from_le_bytes([b[0], b[1]]);
        if (2_000..=4_000).contains(&magic) || (20_000..=63_000).contains(&magic) {
            return Content::PythonBytecode;
        }
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Content::Zip;
    }
    if b.get(257..262) == Some(b"ustar") {
        return Content::Tar;
    }
    if starts(b"\x1f\x8b") {
        return Content::Gzip;
    }
    if starts(b"BZh") && b.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        return Content::Bzip2;
    }
    if starts(b"\xfd7zXZ\0") {
        return Content::Xz;
    }
    if starts(b"\x28\xb5\x2f\xfd") {
        return Content::Zstd;
    }
    if starts(b"7z\xbc\xaf\x27\x1c") {
        return Content::SevenZip;
    }
    if starts(b"Rar!\x1a\x07") {
        return Content::Rar;
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Content::Png;
    }
    if starts(b"\xff\xd8\xff") {
        return Content::Jpeg;
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Content::Gif;
    }
    if starts(b"\0\0\x01\0") || starts(b"\0\0\x02\0") {
        return Content::Ico;
    }
    if starts(b"BM")
        && b.len() >= 26
        && u32_le(b, 2).is_some_and(|n| n as usize >= 26)
        && !is_text(b)
    {
        return Content::Bmp;
    }
    if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
        return Content::Tiff;
    }
    if starts(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return Content::Webp;
    }
    if starts(b"%PDF-") {
        return Content::Pdf;
    }
    if starts(b"SQLite format 3\0") {
        return Content::Sqlite;
    }
    if starts(&QM_MAGIC) {
        return Content::QtTranslation;
    }
    if starts(b"qres\0") {
        return Content::QtResource;
    }
    if starts(b"\0\x01\0\0")
        || starts(b"OTTO")
        || starts(b"true") && !is_text(b)
        || starts(b"ttcf")
        || starts(b"wOFF")
        || starts(b"wOF2")
    {
        return Content::Font;
    }
    let body = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    if body.starts_with(b"#!") {
        return Content::Shebang;
    }
    if is_text(b) {
        let head = &b[..b.len().min(4096)];
        let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
        if lower.contains("<svg") {
            return Content::Svg;
        }
        return Content::Text;
    }
    Content::Binary
}

/// Text unless the first 8 KiB hold a NUL byte or mostly control bytes (UTF-16 with a BOM
/// counts as text).
pub fn is_text(b: &[u8]) -> bool {
    if b.starts_with(b"\xff\xfe") || b.starts_with(b"\xfe\xff") {
        return true;
    }
    let head = &b[..b.len().min(8192)];
    if head.is_empty() {
        return true;
    }
    if head.contains(&0) {
        return false;
    }
    let odd = head
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b | 0x08))
        .count();
    if odd * 10 > head.len() {
        return false;
    }
    // Valid UTF-8 (allowing a character cut at the 8 KiB edge) or mostly ASCII.
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) if e.error_len().is_none() => true,
        Err(_) => head.iter().filter(|&&c| c >= 0x80).count() * 3 < head.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_programs() {
        assert_eq!(
            identify(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            Content::Elf
        );
        let mut pe = vec![0u8; 256];
        pe[0] = b'M';
        pe[1] = b'Z';
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(identify(&pe), Content::Pe);
        assert_eq!(identify(b"\xcf\xfa\xed\xfe\x07\0\0\x01"), Content::MachO);
        assert_eq!(
            identify(b"\xca\xfe\xba\xbe\0\0\0\x02\0\0\0\x07"),
            Content::MachOFat
        );
        assert_eq!(
            identify(b"\xca\xfe\xba\xbe\0\0\0\x34\0\x10"),
            Content::JavaClass
        );
        assert_eq!(
            identify(b"\xa7\x0d\x0d\x0a\0\0\0\0\0\0\0\0"),
            Content::PythonBytecode
        );
        assert_eq!(
            identify(b"\x03\xf3\x0d\x0a\0\0\0\0"),
            Content::PythonBytecode
        );
    }

    #[test]
    fn identifies_text_and_assets() {
        assert_eq!(identify(b"import os\n"), Content::Text);
        assert_eq!(identify(b"#!/bin/sh\necho hi\n"), Content::Shebang);
        assert_eq!(
            identify(b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>"),
            Content::Svg
        );
        assert_eq!(identify(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Content::Png);
        assert_eq!(identify(b"\0\x01\x02\x03\xff\xfe\0\0"), Content::Binary);
        assert_eq!(
            identify(b"MZ is a text line that starts like a DOS program\n"),
            Content::Text
        );
    }
}
