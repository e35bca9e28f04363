//! Credentials QGIS leaves in files, in a plugin ZIP built here: sample projects (`.qgs`, and a
//! `.qgz` holding one), an authentication database, PostgreSQL password and service files. Each
//! secret is found, masked everywhere in the report, and blocks; the good practice stays quiet.

use std::io::{Cursor, Write};
use std::path::Path;

use vetted_scan::report::Check;
use vetted_scan::{Report, ScanOptions, Verdict, scan_path};
use zip::write::SimpleFileOptions;

const PG_PASSWORD: &str = "Tr0ub4dor&3-pg";
const WMS_PASSWORD: &str = "wms-Secr3t-42";
const URL_PASSWORD: &str = "x9-url-pass";
const OPTION_PASSWORD: &str = "opt-Pa55word";
const PGPASS_PASSWORD: &str = "pgpass-S3cret";
const SERVICE_PASSWORD: &str = "service-S3cret";

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn leaky_project() -> String {
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis projectname="sample" version="3.34.0">
  <projectlayers>
    <maplayer type="vector">
      <datasource>dbname='gis' host=db.internal port=5432 user='editor' password='{}' sslmode=disable key='id' table="public"."parcels" (geom)</datasource>
    </maplayer>
    <maplayer type="raster">
      <datasource>contextualWMSLegend=0&amp;crs=EPSG:3857&amp;format=image/png&amp;layers=base&amp;password={WMS_PASSWORD}&amp;url=https://maps.example.org/wms&amp;username=viewer</datasource>
    </maplayer>
    <maplayer type="raster">
      <datasource>type=xyz&amp;url=https://carol:{URL_PASSWORD}@tiles.example.org/%7Bz%7D/%7Bx%7D/%7By%7D.png</datasource>
      <customproperties>
        <Option type="Map">
          <Option name="connection/password" value="{OPTION_PASSWORD}" type="QString"/>
        </Option>
      </customproperties>
    </maplayer>
  </projectlayers>
</qgis>
"#,
        PG_PASSWORD.replace('&', "&amp;")
    )
}

fn good_project() -> String {
    r#"<qgis projectname="good" version="3.34.0">
  <projectlayers>
    <maplayer type="vector">
      <datasource>dbname='gis' host=db.internal port=5432 authcfg=ab12cd3 sslmode=disable table="public"."parcels" (geom)</datasource>
    </maplayer>
    <maplayer type="vector">
      <datasource>dbname='gis' host=db.internal user='editor' password='' table="public"."roads"</datasource>
    </maplayer>
  </projectlayers>
</qgis>
"#
    .to_string()
}

/// A billion-laughs project: nothing may be expanded, and the scan stays quick and small.
fn entity_bomb() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE qgis [\n<!ENTITY lol \"password='lol'\">\n",
    );
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        s.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    s.push_str("]>\n<qgis><datasource>&lol9;</datasource></qgis>\n");
    s
}

fn plugin_zip() -> Vec<u8> {
    let meta = b"[general]\nname=Demo\nqgisMinimumVersion=3.22\ndescription=Demo plugin\nabout=A demo plugin for tests\nversion=1.0\nauthor=Me\nemail=me@example.com\nrepository=https://example.com/r\ntracker=https://example.com/t\n";
    let qgz = zip_of(&[
        ("sample.qgs", leaky_project().into_bytes()),
        ("sample.qgd", vec![0u8; 16]),
    ]);
    zip_of(&[
        ("demo/metadata.txt", meta.to_vec()),
        ("demo/__init__.py", b"def classFactory(iface):\n    return None\n".to_vec()),
        ("demo/LICENSE", b"GPL\n".to_vec()),
        ("demo/samples/leaky.qgs", leaky_project().into_bytes()),
        ("demo/samples/packed.qgz", qgz),
        ("demo/samples/good.qgs", good_project().into_bytes()),
        ("demo/samples/bomb.qgs", entity_bomb().into_bytes()),
        ("demo/resources/qgis-auth.db", b"SQLite format 3\0".to_vec()),
        (
            "demo/conf/.pgpass",
            format!("# host:port:db:user:password\ndb.internal:5432:gis:editor:{PGPASS_PASSWORD}\n*:*:*:reader:\n").into_bytes(),
        ),
        (
            "demo/conf/pg_service.conf",
            format!("[gis]\nhost=db.internal\ndbname=gis\nuser=editor\npassword={SERVICE_PASSWORD}\n\n[safe]\nhost=db.internal\n# password=not-this-one\n").into_bytes(),
        ),
    ])
}

fn scan_zip(bytes: &[u8], dir: &Path) -> Report {
    let path = dir.join("demo.zip");
    std::fs::write(&path, bytes).unwrap();
    scan_path(&path, &ScanOptions::default()).unwrap()
}

#[test]
fn credentials_left_by_qgis_are_found_masked_and_block() {
    let dir = tempfile::tempdir().unwrap();
    let report = scan_zip(&plugin_zip(), dir.path());
    let ours: Vec<(&str, &str, u32)> = report
        .findings
        .iter()
        .filter(|f| {
            f.check == Check::Secrets
                && !f.rule.ends_with("Detector")
                && !f.rule.ends_with("String")
        })
        .map(|f| (f.path.as_str(), f.rule.as_str(), f.line))
        .collect();
    let expect = [
        ("demo/samples/leaky.qgs", "QgisProjectPassword", 5),
        ("demo/samples/leaky.qgs", "QgisProjectPassword", 8),
        ("demo/samples/leaky.qgs", "QgisProjectPassword", 11),
        ("demo/samples/leaky.qgs", "QgisProjectPassword", 14),
        (
            "demo/samples/packed.qgz!/sample.qgs",
            "QgisProjectPassword",
            5,
        ),
        (
            "demo/samples/packed.qgz!/sample.qgs",
            "QgisProjectPassword",
            8,
        ),
        ("demo/resources/qgis-auth.db", "QgisAuthDatabase", 1),
        ("demo/conf/.pgpass", "PgPassFile", 2),
        ("demo/conf/pg_service.conf", "PgServicePassword", 5),
    ];
    for (path, rule, line) in expect {
        assert!(
            ours.contains(&(path, rule, line)),
            "missing {rule} at {path}:{line}; found {ours:#?}"
        );
    }
    // Nothing from the good project, the empty password, the commented service line, the
    // entity bomb (never expanded) or the pgpass entry without a password.
    for (path, rule, line) in &ours {
        assert!(
            !path.ends_with("good.qgs") && !path.ends_with("bomb.qgs"),
            "unexpected {rule} at {path}:{line}"
        );
    }
    assert_eq!(
        ours.iter()
            .filter(|(p, _, _)| p.ends_with(".pgpass"))
            .count(),
        1
    );
    assert_eq!(
        ours.iter()
            .filter(|(p, _, _)| p.ends_with("pg_service.conf"))
            .count(),
        1
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "QgisProjectPassword"
                && f.severity == vetted_scan::Severity::Critical),
        "critical by default"
    );
    assert_eq!(report.verdict, Verdict::Blocked);

    // Each project's credential handling is counted: authcfg references as good practice,
    // stored passwords as the findings above.
    let tally: Vec<(&str, u32, u32)> = report
        .qgis_projects
        .iter()
        .map(|p| (p.path.as_str(), p.authcfg, p.stored_passwords))
        .collect();
    assert_eq!(
        tally,
        vec![
            ("demo/samples/bomb.qgs", 0, 0),
            ("demo/samples/good.qgs", 1, 0),
            ("demo/samples/leaky.qgs", 0, 4),
            ("demo/samples/packed.qgz!/sample.qgs", 0, 4),
        ]
    );
    let text = vetted_scan::report::text::render(
        &report,
        vetted_scan::report::text::Style { color: false },
    );
    assert!(
        text.contains("demo/samples/good.qgs: 1 authentication configuration reference(s) (authcfg), no stored password"),
        "{text}"
    );

    // No secret appears anywhere in the report: messages, snippets, paths.
    let json = serde_json::to_string(&report).unwrap();
    for secret in [
        PG_PASSWORD,
        WMS_PASSWORD,
        URL_PASSWORD,
        OPTION_PASSWORD,
        PGPASS_PASSWORD,
        SERVICE_PASSWORD,
    ] {
        assert!(!json.contains(secret), "{secret} leaked into the report");
    }
}

#[test]
fn a_project_scanned_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let qgz = dir.path().join("city.qgz");
    std::fs::write(&qgz, zip_of(&[("city.qgs", leaky_project().into_bytes())])).unwrap();
    let report = scan_path(&qgz, &ScanOptions::default()).unwrap();
    assert_ne!(
        report.verdict,
        Verdict::Invalid,
        "a project is not judged as a plugin"
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "QgisProjectPassword" && f.path == "city.qgz!/city.qgs"),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Blocked);

    let qgs = dir.path().join("good.qgs");
    std::fs::write(&qgs, good_project()).unwrap();
    let report = scan_path(&qgs, &ScanOptions::default()).unwrap();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "QgisProjectPassword"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn the_rules_can_be_switched_off_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.zip");
    std::fs::write(&path, plugin_zip()).unwrap();
    let options = ScanOptions {
        ignore: vec!["QgisProjectPassword".into()],
        ..Default::default()
    };
    let report = scan_path(&path, &options).unwrap();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "QgisProjectPassword")
    );
    assert!(report.findings.iter().any(|f| f.rule == "PgPassFile"));
}
