//! The bodies of the fuzz targets, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`) and
//! by the regression test that replays every committed input (`crates/scan/tests/fuzz_corpus.rs`),
//! so a crash found by the fuzzer is replayed by `cargo test` through the very same code.
//! Every function must return for any input: a panic, an abort or a hang is a bug.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use vetted_scan::family::{BundledConfig, Family, FamilyOutput, ScanSetup, SourceFile};
use vetted_scan::package::{PackageRoot, check_metadata, metadata::parse_ini};
use vetted_scan::report::ScanError;
use vetted_scan::{ActiveRules, Profile, ScanOptions, Verdict, scan_path};

/// Every target, by the name of its binary and of its input folders.
pub const TARGETS: &[&str] = &["archive", "metadata", "python", "secrets", "config"];

/// Runs one input through one target.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "archive" => archive(data),
        "metadata" => metadata(data),
        "python" => python(data),
        "secrets" => secrets(data),
        "config" => config(data),
        other => panic!("no fuzz target named {other}"),
    }
}

/// The scanner analyses untrusted source on a large stack (see `pipeline.rs`); so do we.
const SCAN_STACK_SIZE: usize = 512 * 1024 * 1024;

fn on_scan_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(SCAN_STACK_SIZE)
            .spawn_scoped(scope, f)
            .expect("cannot start a thread");
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A scratch file for this process and thread (tests replay inputs on several threads).
fn scratch(name: &str) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    let dir = base.join(format!("vetted-fuzz-{}-{thread}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create the scratch folder");
    dir.join(name)
}

fn all_rules() -> ScanOptions {
    ScanOptions {
        profile: Profile::Qgis,
        select: vec!["ALL".into()],
        threads: 1,
        ..ScanOptions::default()
    }
}

/// ZIP bytes through the whole pipeline, exactly as an upload is scanned.
pub fn archive(data: &[u8]) {
    let path = scratch("plugin.zip");
    std::fs::write(&path, data).expect("cannot write the scratch file");
    let options = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    let report = scan_path(&path, &options).expect("a readable file always yields a report");
    let critical = report
        .findings
        .iter()
        .any(|f| f.severity == vetted_scan::Severity::Critical);
    assert!(
        !(report.verdict == Verdict::Validated && critical),
        "validated with a critical finding"
    );
}

/// `metadata.txt` as the package validator reads it.
pub fn metadata(data: &[u8]) {
    let root = PackageRoot {
        name: "sample".into(),
        prefix: "sample/".into(),
    };
    let paths = [
        "sample/metadata.txt",
        "sample/__init__.py",
        "sample/LICENSE",
        "sample/icon.png",
    ];
    let mut findings = Vec::new();
    let _ = check_metadata(&root, data, &paths, &mut findings);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(ini) = parse_ini(text)
    {
        for section in ini.sections.keys() {
            let _ = ini.items(section);
        }
    }
}

type Builder = fn(&ScanSetup) -> Result<Box<dyn Family>, ScanError>;

/// Every family that looks at files, built for `rules` and `config`.
fn families(rules: &ActiveRules, config: &BundledConfig) -> Vec<Box<dyn Family>> {
    let setup = ScanSetup { rules, config };
    let builders: [Builder; 4] = [
        vetted_scan::bandit::build,
        vetted_scan::secrets::build,
        vetted_scan::flake8::build,
        vetted_scan::files::build,
    ];
    let mut out: Vec<Box<dyn Family>> = builders
        .into_iter()
        .filter_map(|build| build(&setup).ok())
        .collect();
    out.push(Box::new(vetted_scan::capabilities::CapabilityScan {
        threat_rules: vetted_scan::qgis::RULES
            .iter()
            .map(|(r, _)| r.code)
            .collect(),
    }));
    out
}

fn scan_one(families: &[Box<dyn Family>], path: &str, rel: &str, data: &[u8]) {
    let file = SourceFile::new(path, rel, data, Some(0o100644));
    for family in families {
        let mut out = FamilyOutput::default();
        family.scan_file(&file, &mut out);
        family.finish(&mut out);
    }
}

fn default_families() -> &'static [Box<dyn Family>] {
    static FAMILIES: OnceLock<Vec<Box<dyn Family>>> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        let rules = ActiveRules::new(&all_rules());
        families(&rules, &BundledConfig::default())
    })
}

/// Arbitrary source as a `.py` file through every Python family (Bandit, secrets, Flake8,
/// files, capabilities and QGIS threats), all rules on, on one shared parse.
pub fn python(data: &[u8]) {
    let families = default_families();
    on_scan_stack(|| scan_one(families, "sample/main.py", "main.py", data));
}

/// File names the secrets family treats differently (by extension or name).
const SECRET_FILE_NAMES: &[&str] = &[
    "settings.py",
    "config.ini",
    "app.yaml",
    "data.json",
    "project.qgs",
    ".env",
    "notes.txt",
    "pg_service.conf",
    ".pgpass",
    "project.qgz",
    "auth.xml",
    "run.sh",
];

/// Arbitrary text through the secrets family; the first byte picks the file name.
pub fn secrets(data: &[u8]) {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let name = SECRET_FILE_NAMES[usize::from(pick) % SECRET_FILE_NAMES.len()];
    let path = format!("sample/{name}");
    on_scan_stack(|| {
        let families = default_families();
        let file = SourceFile::new(&path, name, text, Some(0o100644));
        let mut out = FamilyOutput::default();
        // Only the secrets family: the others have their own targets.
        if let Some(family) = families
            .iter()
            .find(|f| f.check() == vetted_scan::report::Check::Secrets)
        {
            family.scan_file(&file, &mut out);
            family.finish(&mut out);
        }
    });
}

const CONFIG_PROBE: &[u8] = b"import os\nimport subprocess\npassword = 'hunter2hunter2'\n\
subprocess.call('ls', shell=True)  # nosec B602\nx=1 # noqa: E225\nassert x\n";

/// The same bytes as every bundled config file at once (`.bandit`, `setup.cfg`, `.flake8`,
/// `tox.ini`, `pyproject.toml`, `.secrets.baseline`); each family reads its own, then scans a
/// small Python file with what it read.
pub fn config(data: &[u8]) {
    let mut config = BundledConfig {
        root_prefix: "sample/".into(),
        ..BundledConfig::default()
    };
    for name in BundledConfig::NAMES {
        config.files.insert((*name).to_string(), data.to_vec());
    }
    let _ = vetted_scan::bandit::config::load(&config, true);
    let _ = vetted_scan::bandit::config::load(&config, false);
    let _ = vetted_scan::secrets::Baseline::parse(data);
    on_scan_stack(|| {
        for profile in [Profile::Qgis, Profile::ToolDefaults] {
            let options = ScanOptions {
                profile,
                ..all_rules()
            };
            let rules = ActiveRules::new(&options);
            let families = families(&rules, &config);
            scan_one(&families, "sample/main.py", "main.py", CONFIG_PROBE);
            scan_one(
                &families,
                "sample/tests/test_x.py",
                "tests/test_x.py",
                CONFIG_PROBE,
            );
        }
    });
}

/// Starting inputs for each target, made here rather than copied from anywhere.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let text = |name: &str, s: &str| (name.to_string(), s.as_bytes().to_vec());
    match target {
        "archive" => vec![
            ("plugin.zip".into(), plugin_zip(false)),
            ("nested.zip".into(), plugin_zip(true)),
        ],
        "metadata" => vec![
            text("valid.txt", METADATA),
            text(
                "odd.txt",
                "[DEFAULT]\nauthor = %(who)s\nwho=Jane\n[general]\nname : Odd\n  continued line\n\
                 version=1.0\nqgisMinimumVersion=3.0\nqgisMaximumVersion=3.99\ndescription=d\n\
                 about=a\n\tmore\nemail=a@b.c\nexperimental=True\ndeprecated=no\n; comment\n\
                 tags=a, b,c\nhasProcessingProvider=yes\nplugin_dependencies=X==1.0\n[other]\nk=v\n",
            ),
        ],
        "python" => vec![
            text("plugin.py", PYTHON),
            text(
                "py2.py",
                "# -*- coding: latin-1 -*-\nprint 'hi'\nexec \"x = 1\"\nraise E, 'm'\n\
                 def f((a, b)):\n\treturn `a`\n",
            ),
            text(
                "modern.py",
                "from __future__ import annotations\nasync def f[T](x: T) -> T:\n    \
                 async with a as b:\n        match x:\n            case {'k': [1, *r]} if r:\n\
                 \x20               return f\"{x!r:>{10}}\"\n    return await g(*x, **x)\n\
                 lambda: (yield)\nx = [i async for i in y if (j := i)]\n",
            ),
        ],
        "secrets" => vec![
            (
                "settings.py".into(),
                [&[0u8][..], b"AWS = 'AKIAIOSFODNN7EXAMPLE'\npassword = \"s3cr3t-pa55w0rd\"\nAPI_KEY='0123456789abcdef0123456789abcdef'\n"].concat(),
            ),
            (
                "config.ini".into(),
                [&[1u8][..], b"[db]\npassword = correct horse battery\ntoken: ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"].concat(),
            ),
            (
                "project.qgs".into(),
                [&[4u8][..], b"<qgis><projectlayers><maplayer><datasource>dbname='gis' host=db user='u' password='secret123' table=\"t\"</datasource></maplayer></projectlayers></qgis>\n"].concat(),
            ),
            (
                "pgpass".into(),
                [&[8u8][..], b"db.example.org:5432:gis:alice:pa55word\n"].concat(),
            ),
            (
                "key.txt".into(),
                [&[6u8][..], b"-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n"].concat(),
            ),
        ],
        "config" => vec![
            text(
                "ini.cfg",
                "[bandit]\nskips = B101,B602\nexclude = tests,*/vendor/*\ntests = B602\n\
                 [flake8]\nmax-line-length = 79\nextend-ignore = E225\nper-file-ignores =\n    \
                 tests/*: E501, F401\nexclude = build\nselect = E,W,F\n",
            ),
            text(
                "pyproject.toml",
                "[tool.bandit]\nskips = [\"B101\"]\nexclude_dirs = [\"tests\"]\n\
                 [tool.bandit.assert_used]\nskips = [\"*/test_*.py\"]\n[tool.flake8]\nmax-line-length = 100\n",
            ),
            text(
                "baseline.json",
                "{\"version\": \"1.5.0\", \"results\": {\"main.py\": [{\"type\": \"Secret Keyword\", \
                 \"filename\": \"main.py\", \"hashed_secret\": \"0123456789abcdef0123456789abcdef01234567\", \
                 \"is_verified\": false, \"line_number\": 3}]}}\n",
            ),
        ],
        other => panic!("no fuzz target named {other}"),
    }
}

const METADATA: &str = "[general]\nname=Sample\nqgisMinimumVersion=3.22\n\
description=A sample plugin\nversion=1.2.0\nauthor=Jane Doe\nemail=jane@example.org\n\
about=Does sample things.\ntracker=https://example.org/issues\n\
repository=https://example.org/repo\nicon=icon.png\n";

const PYTHON: &str = "import os, subprocess as sp\nfrom qgis.core import QgsApplication\n\
import pickle, hashlib, requests\n\n\ndef classFactory(iface):\n    from .main import Plugin\n    \
return Plugin(iface)\n\n\nclass Plugin:\n    def run(self, cmd):\n        \
sp.call(cmd, shell=True)\n        os.system('rm -rf ' + cmd)\n        \
eval(compile(cmd, 'x', 'exec'))\n        getattr(os, 'sys' + 'tem')('ls')\n        \
requests.get('http://example.org', verify=False)\n        \
hashlib.md5(b'x').hexdigest()\n        return pickle.loads(cmd)\n";

fn plugin_zip(nested: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("sample/metadata.txt", METADATA.as_bytes().to_vec()),
        (
            "sample/__init__.py",
            b"def classFactory(iface):\n    from .main import Plugin\n    return Plugin(iface)\n"
                .to_vec(),
        ),
        ("sample/main.py", PYTHON.as_bytes().to_vec()),
        ("sample/LICENSE", b"GPL-2.0-or-later\n".to_vec()),
        ("sample/icon.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
    ];
    if nested {
        files.push(("sample/libs/inner.zip", plugin_zip(false)));
        files.push((
            "sample/setup.cfg",
            b"[flake8]\nmax-line-length=100\n".to_vec(),
        ));
    }
    for (name, data) in files {
        zip.start_file(name, deflated).expect("zip writer");
        zip.write_all(&data).expect("zip writer");
    }
    zip.finish().expect("zip writer").into_inner()
}
