//! The files family on a plugin ZIP built here, byte by byte: every file rule fires on the file
//! made for it, and every usual QGIS asset stays quiet.

use std::io::{Cursor, Write};

use vetted_scan::report::Check;
use vetted_scan::{ScanOptions, scan_path};
use zip::write::SimpleFileOptions;

fn elf() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\0".to_vec();
    b.resize(128, 0);
    b
}

fn pe() -> Vec<u8> {
    let mut b = vec![0u8; 256];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c] = 0x80;
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    b
}

fn macho_fat() -> Vec<u8> {
    let mut b = b"\xca\xfe\xba\xbe\0\0\0\x02".to_vec();
    b.resize(64, 0);
    b
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend([0u8, 0, 0, 16, 0, 0, 0, 16, 8, 6, 0, 0, 0]);
    b
}

fn zip_of(files: &[(&str, Vec<u8>, u32)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, mode) in files {
        w.start_file(*name, SimpleFileOptions::default().unix_permissions(*mode))
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn plugin_zip() -> Vec<u8> {
    let qm = [
        0x3c, 0xb8, 0x64, 0x18, 0xca, 0xef, 0x9c, 0x95, 0xcd, 0x21, 0x1c, 0xbf, 0x60, 0xa1, 0xbd,
        0xdd, 0x42, 0, 0, 0, 0,
    ]
    .to_vec();
    let mut sqlite = b"SQLite format 3\0".to_vec();
    sqlite.resize(100, 0);
    let mut gzip = b"\x1f\x8b\x08\0\0\0\0\0".to_vec();
    gzip.extend([0u8, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let inner = zip_of(&[
        ("bin/tool.exe", pe(), 0o644),
        ("readme.txt", b"hello\n".to_vec(), 0o644),
    ]);
    let meta = b"[general]\nname=Demo\nqgisMinimumVersion=3.22\ndescription=Demo plugin\nabout=A demo plugin for tests\nversion=1.0\nauthor=Me\nemail=me@example.com\nrepository=https://example.com/r\ntracker=https://example.com/t\n";
    let f = |n: &str, b: Vec<u8>| (format!("plugin/{n}"), b, 0o644);
    let files: Vec<(String, Vec<u8>, u32)> = vec![
        f("metadata.txt", meta.to_vec()),
        f(
            "__init__.py",
            b"def classFactory(iface):\n    return None\n".to_vec(),
        ),
        ("plugin/run.py".into(), b"print('hi')\n".to_vec(), 0o755),
        f(".env", b"TOKEN=x\n".to_vec()),
        f(".gitignore", b"*.pyc\n".to_vec()),
        f(".flake8", b"[flake8]\n".to_vec()),
        f("bin/tool.exe", pe()),
        f("icons/icon.png", elf()),
        f("icons/good.png", png()),
        f("icons/photo.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec()),
        f(
            "icons/ok.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\"/></svg>\n".to_vec(),
        ),
        f(
            "icons/bad.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\">\n<script>alert(1)</script>\n</svg>\n"
                .to_vec(),
        ),
        f("i18n/demo_fr.qm", qm),
        f("data/regions.gpkg", sqlite),
        f("data/table.csv", b"a,b\n1,2\n".to_vec()),
        f("data/conf.json", b"{\"a\": 1}\n".to_vec()),
        f(
            "style.qml",
            b"<!DOCTYPE qgis>\n<qgis version=\"3.22\"/>\n".to_vec(),
        ),
        f(
            "form.ui",
            b"<?xml version=\"1.0\"?>\n<ui version=\"4.0\"/>\n".to_vec(),
        ),
        f(
            "resources.qrc",
            b"<RCC><qresource prefix=\"/\"/></RCC>\n".to_vec(),
        ),
        f("fonts/a.ttf", [0u8, 1, 0, 0, 0, 10, 0, 0].to_vec()),
        f("lib/blob.dat", (0u8..=255).cycle().take(600).collect()),
        f(
            "__pycache__/m.cpython-311.pyc",
            b"\xa7\x0d\x0d\x0a\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
        ),
        f("libs/x.zip", inner),
        f("scripts/setup", b"#!/bin/sh\necho hi\n".to_vec()),
        f("lib/libfoo.so.1", elf()),
        f("lib/universal.dylib", macho_fat()),
        f("data/tools.tar.gz", gzip),
    ];
    let refs: Vec<(&str, Vec<u8>, u32)> = files
        .iter()
        .map(|(n, b, m)| (n.as_str(), b.clone(), *m))
        .collect();
    zip_of(&refs)
}

#[test]
fn every_file_rule_fires_and_assets_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.zip");
    std::fs::write(&path, plugin_zip()).unwrap();
    let options = ScanOptions {
        select: vec!["files".into()],
        ..Default::default()
    };
    let report = scan_path(&path, &options).unwrap();
    let found: Vec<(String, String)> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Files)
        .map(|f| (f.path.clone(), f.rule.clone()))
        .collect();
    let has = |p: &str, r: &str| found.iter().any(|(fp, fr)| fp == p && fr == r);
    for (p, r) in [
        ("plugin/run.py", "FILE_EXECUTABLE"),
        ("plugin/.env", "FILE_HIDDEN"),
        ("plugin/bin/tool.exe", "FILE_SUSPICIOUS"),
        ("plugin/icons/icon.png", "FILE_CONTENT_MISMATCH"),
        ("plugin/icons/bad.svg", "FILE_SVG_SCRIPT"),
        ("plugin/lib/blob.dat", "FILE_BINARY"),
        ("plugin/__pycache__/m.cpython-311.pyc", "FILE_BINARY"),
        ("plugin/libs/x.zip", "FILE_NESTED_ARCHIVE"),
        ("plugin/libs/x.zip!/bin/tool.exe", "FILE_SUSPICIOUS"),
        ("plugin/scripts/setup", "FILE_SUSPICIOUS"),
        ("plugin/lib/libfoo.so.1", "FILE_SUSPICIOUS"),
        ("plugin/lib/universal.dylib", "FILE_SUSPICIOUS"),
        ("plugin/data/tools.tar.gz", "FILE_NESTED_ARCHIVE"),
    ] {
        assert!(has(p, r), "{r} expected on {p}; found {found:?}");
    }
    for quiet in [
        "plugin/metadata.txt",
        "plugin/__init__.py",
        "plugin/.gitignore",
        "plugin/.flake8",
        "plugin/icons/good.png",
        "plugin/icons/photo.jpg",
        "plugin/icons/ok.svg",
        "plugin/i18n/demo_fr.qm",
        "plugin/data/regions.gpkg",
        "plugin/data/table.csv",
        "plugin/data/conf.json",
        "plugin/style.qml",
        "plugin/form.ui",
        "plugin/resources.qrc",
        "plugin/fonts/a.ttf",
        "plugin/libs/x.zip!/readme.txt",
    ] {
        assert!(
            !found.iter().any(|(p, _)| p == quiet),
            "{quiet} should be quiet; found {found:?}"
        );
    }
    let mismatch = report
        .findings
        .iter()
        .find(|f| f.rule == "FILE_CONTENT_MISMATCH")
        .unwrap();
    assert!(mismatch.message.contains("ELF"), "{}", mismatch.message);
    let svg = report
        .findings
        .iter()
        .find(|f| f.rule == "FILE_SVG_SCRIPT")
        .unwrap();
    assert_eq!(svg.line, 2);
}

#[test]
fn nesting_stops_at_the_limit() {
    let mut bytes = zip_of(&[("deep/tool.exe", pe(), 0o644)]);
    for _ in 0..5 {
        bytes = zip_of(&[("inner.zip", bytes, 0o644)]);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("outer.zip"), &bytes).unwrap();
    // Scanned as a folder holding the archive, so the outer ZIP is itself a nested archive.
    let options = ScanOptions {
        select: vec!["files".into()],
        ..Default::default()
    };
    let report = scan_path(dir.path(), &options).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "FILE_NESTED_ARCHIVE" && f.message.contains("not opened"))
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.path.ends_with("deep/tool.exe"))
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.path == "outer.zip!/inner.zip")
    );
}
