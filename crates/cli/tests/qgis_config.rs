//! `vetted qgis-config` read back with an INI reader (Python's configparser, as a stand-in for
//! any INI tool; QSettings' `\` group separators and `%XX` escapes decoded by hand).

use std::process::Command;

#[test]
fn qgis_config_enables_this_repository_and_disables_the_official_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_vetted"))
        .args([
            "qgis-config",
            "--base-url",
            "https://plugins.example.org/",
            "--name",
            "Org Vetted",
            "--authcfg",
            "abc1234",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ini = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qgis_global_settings.ini");
    std::fs::write(&path, &ini).unwrap();
    let python = std::env::var("VETTED_TEST_PYTHON")
        .expect("VETTED_TEST_PYTHON must name a Python (scripts/test-server sets it)");
    let script = r#"
import configparser, json, sys, urllib.parse
p = configparser.RawConfigParser()
p.optionxform = str
p.read(sys.argv[1])
out = {urllib.parse.unquote(k).replace("\\", "/"): v for k, v in p.items("app")}
print(json.dumps(out))
"#;
    let read = Command::new(python)
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let settings: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(
        settings["plugin_repositories/Org Vetted/url"],
        "https://plugins.example.org/plugins/plugins.xml"
    );
    assert_eq!(settings["plugin_repositories/Org Vetted/enabled"], "true");
    assert_eq!(
        settings["plugin_repositories/Org Vetted/authcfg"],
        "abc1234"
    );
    assert_eq!(
        settings["plugin_repositories/QGIS Official Plugin Repository/enabled"],
        "false"
    );
    assert_eq!(settings["plugin_installer/checkOnStart"], "false");

    let out = Command::new(env!("CARGO_BIN_EXE_vetted"))
        .args([
            "qgis-config",
            "--base-url",
            "https://plugins.example.org",
            "--format",
            "pyqgis",
        ])
        .output()
        .unwrap();
    let snippet = String::from_utf8(out.stdout).unwrap();
    assert!(snippet.contains(
        "QCoreApplication.translate(\"QgsPluginInstaller\", \"QGIS Official Plugin Repository\")"
    ));
    assert!(snippet.contains("\"https://plugins.example.org/plugins/plugins.xml\""));
}
