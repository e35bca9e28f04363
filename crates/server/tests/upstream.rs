//! Upstream repositories against real servers on 127.0.0.1: a static folder shaped like
//! plugins.qgis.org's feed (with ETag / 304), a second Vetted, and hostile upstreams (malformed
//! XML, an entity bomb, an endless feed, a server that never answers, a 404), each of which
//! must end in bounded time with a clear error and leave the stored catalogue as it was.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::*;
use serde_json::Value;
use sha2::Digest;
use vetted_server::upstream;

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A plain static HTTP server over an in-memory folder, answering `If-None-Match` with 304
/// like a real web server; `/huge.xml` streams an endless (1 GB) feed.
async fn static_server(files: Files) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let files = files.clone();
        async move { serve_file(&files, uri.path(), &headers) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn serve_file(files: &Files, path: &str, headers: &HeaderMap) -> Response {
    if path == "/huge.xml" {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        let head = Bytes::from_static(b"<?xml version=\"1.0\"?><plugins>");
        let stream = futures_util::stream::iter(
            std::iter::once(head)
                .chain((0..16 * 1024).map(move |_| chunk.clone()))
                .map(Ok::<_, std::io::Error>),
        );
        return Body::from_stream(stream).into_response();
    }
    let Some(bytes) = files.lock().unwrap().get(path).cloned() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(sha2::Sha256::digest(&bytes)));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.to_str().unwrap_or_default() == etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::ETAG, etag)], bytes).into_response()
}

/// One `<pyqgis_plugin>` as plugins.qgis.org writes it (children in its order).
fn feed_entry(package: &str, version: &str, download_url: &str, about: &str) -> String {
    format!(
        r#"<pyqgis_plugin name="{package} plugin" version="{version}" plugin_id="7">
  <description><![CDATA[A plugin & its description]]></description>
  <about><![CDATA[{about}]]></about>
  <trusted>False</trusted>
  <qgis_minimum_version>3.0.0</qgis_minimum_version>
  <qgis_maximum_version>3.99.0</qgis_maximum_version>
  <homepage><![CDATA[https://example.org/{package}]]></homepage>
  <file_name>{package}.{version}.zip</file_name>
  <icon>/media/packages/2024/icon.png</icon>
  <author_name><![CDATA[Jane & Co]]></author_name>
  <download_url>{download_url}</download_url>
  <uploaded_by><![CDATA[jane]]></uploaded_by>
  <create_date>2024-03-01T10:00:00.000000+00:00</create_date>
  <update_date>2024-03-02T10:00:00.000000+00:00</update_date>
  <experimental>False</experimental>
  <deprecated>False</deprecated>
  <tracker><![CDATA[https://example.org/{package}/issues]]></tracker>
  <repository><![CDATA[https://example.org/{package}.git]]></repository>
  <tags><![CDATA[vector,raster]]></tags>
  <downloads>1234</downloads>
  <average_vote>4.5</average_vote>
  <rating_votes>10</rating_votes>
  <external_dependencies></external_dependencies>
  <server>False</server>
</pyqgis_plugin>
"#
    )
}

fn feed(entries: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"/static/style/plugins.xsl\" ?>\n<plugins>\n{}</plugins>\n",
        entries.concat()
    )
    .into_bytes()
}

async fn admin_sync(ts: &TestServer, name: &str) -> Value {
    let r = ts
        .post(&format!("/api/upstreams/{name}/sync"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn add_upstream(ts: &TestServer, name: &str, url: &str) {
    let r = ts
        .post("/api/upstreams")
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({ "name": name, "url": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

fn labels(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn static_feed_sync_reports_new_changed_gone_and_uses_etags() {
    let ts = TestServer::start(Db::Sqlite).await;
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let dl = |p: &str, v: &str| format!("{base}/plugins/{p}/version/{v}/download/");
    files.lock().unwrap().insert(
        "/plugins/plugins.xml".into(),
        feed(&[
            feed_entry("tiles", "1.0.0", &dl("tiles", "1.0.0"), "first"),
            feed_entry("roads", "2.1", &dl("roads", "2.1"), "roads"),
        ]),
    );

    // Admins only.
    let r = ts
        .post("/api/upstreams")
        .basic_auth("alice", Some(PASSWORD))
        .json(&serde_json::json!({ "name": "org", "url": "http://x/plugins.xml" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ts
        .post("/api/upstreams")
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({ "name": "bad name", "url": "ftp://x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    add_upstream(
        &ts,
        "official",
        &format!("{base}/plugins/plugins.xml?qgis=3.40"),
    )
    .await;
    let report = admin_sync(&ts, "official").await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(labels(&report["new"]), ["roads 2.1", "tiles 1.0.0"]);
    assert_eq!(report["entries"], 2);

    let r = ts
        .get("/api/upstreams/official")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let detail: Value = r.json().await.unwrap();
    let tiles = &detail["catalogue"][1];
    assert_eq!(tiles["package_name"], "tiles");
    assert_eq!(tiles["name"], "tiles plugin");
    assert_eq!(tiles["download_url"], dl("tiles", "1.0.0"));
    assert_eq!(tiles["create_date"], "2024-03-01T10:00:00.000000+00:00");
    let fields: Value = serde_json::from_str(tiles["fields"].as_str().unwrap()).unwrap();
    assert_eq!(fields["author_name"], "Jane & Co");
    assert_eq!(fields["tags"], "vector,raster");
    assert!(
        detail["upstream"]["etag"]
            .as_str()
            .unwrap()
            .starts_with('"')
    );

    // Same feed: the server answers 304 to the stored ETag.
    let report = admin_sync(&ts, "official").await;
    assert_eq!(report["not_modified"], true, "{report}");

    // A new version, a changed entry, a vanished plugin.
    files.lock().unwrap().insert(
        "/plugins/plugins.xml".into(),
        feed(&[
            feed_entry("tiles", "1.0.0", &dl("tiles", "1.0.0"), "first, reworded"),
            feed_entry("tiles", "1.1.0", &dl("tiles", "1.1.0"), "second"),
        ]),
    );
    let report = admin_sync(&ts, "official").await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(labels(&report["new"]), ["tiles 1.1.0"]);
    assert_eq!(labels(&report["changed"]), ["tiles 1.0.0"]);
    assert_eq!(labels(&report["gone"]), ["roads 2.1"]);

    let state = ts.state().clone();
    let u = upstream::by_name(&state.db, "official")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        upstream::catalogue(&state.db, u.id, false)
            .await
            .unwrap()
            .len(),
        2
    );
    let all = upstream::catalogue(&state.db, u.id, true).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .any(|e| e.package_name == "roads" && e.gone_at.is_some())
    );

    // A file: upstream reads the same feed from disk.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.xml");
    std::fs::write(
        &path,
        feed(&[feed_entry("local_share", "0.3", "local_share.0.3.zip", "x")]),
    )
    .unwrap();
    add_upstream(&ts, "share", &format!("file://{}", path.display())).await;
    let report = admin_sync(&ts, "share").await;
    assert_eq!(labels(&report["new"]), ["local_share 0.3"], "{report}");
    let u = upstream::by_name(&state.db, "share")
        .await
        .unwrap()
        .unwrap();
    let entries = upstream::catalogue(&state.db, u.id, false).await.unwrap();
    assert_eq!(entries[0].download_url, "local_share.0.3.zip");
    assert_eq!(
        upstream::fetch::resolve(&u.url, &entries[0].download_url),
        format!(
            "file://{}",
            dir.path().join("local_share.0.3.zip").display()
        )
    );
    ts.stop().await;
}

#[tokio::test]
async fn another_vetted_is_an_upstream() {
    let upstream_ts = TestServer::start(Db::Sqlite).await;
    let r = upstream_ts
        .add_plugin(
            "trudy",
            PluginZip::valid("shared_tool", "1.0.0").bytes(),
            true,
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v = upstream_ts.wait_scanned("shared_tool", "1.0.0").await;
    assert_eq!(v["approved"], true, "{v}");

    let ts = TestServer::start(Db::Postgres).await;
    add_upstream(
        &ts,
        "peer",
        &format!("{}/plugins/plugins.xml?qgis=3.40", upstream_ts.url),
    )
    .await;
    let report = admin_sync(&ts, "peer").await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(labels(&report["new"]), ["shared_tool 1.0.0"]);
    let detail: Value = ts
        .get("/api/upstreams/peer")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["catalogue"][0]["download_url"],
        format!(
            "{}/plugins/shared_tool/version/1.0.0/download/",
            upstream_ts.url
        )
    );
    let r = ts
        .get("/api/upstreams")
        .basic_auth("staff", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    ts.stop().await;
    upstream_ts.stop().await;
}

#[tokio::test]
async fn hostile_upstreams_fail_clearly_in_bounded_time() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.upstream_timeout = Duration::from_secs(3);
        c.upstream_connect_timeout = Duration::from_secs(2);
        c.upstream_max_feed_bytes = 8 * 1024 * 1024;
    })
    .await;
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let good = feed(&[feed_entry("keep", "1.0", &format!("{base}/keep.zip"), "k")]);
    files
        .lock()
        .unwrap()
        .insert("/feed.xml".into(), good.clone());
    add_upstream(&ts, "victim", &format!("{base}/feed.xml")).await;
    assert_eq!(
        labels(&admin_sync(&ts, "victim").await["new"]),
        ["keep 1.0"]
    );

    // A socket that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });

    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE plugins [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<plugins><pyqgis_plugin name="x" version="1"><about>&d;&d;&d;&d;</about>
<file_name>x.1.zip</file_name><download_url>http://h/x.zip</download_url></pyqgis_plugin></plugins>"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "/malformed.xml",
            b"<plugins><pyqgis_plugin name=\"a\"><about>x</plugins>".to_vec(),
            "not well-formed",
        ),
        ("/bomb.xml", bomb.to_vec(), "DTD"),
        (
            "/html.xml",
            b"<html><body>maintenance</body></html>".to_vec(),
            "not <plugins>",
        ),
    ];
    for (path, body, _) in &cases {
        files.lock().unwrap().insert(path.to_string(), body.clone());
    }
    let mut hostile: Vec<(String, String)> = cases
        .iter()
        .map(|(p, _, want)| (format!("{base}{p}"), want.to_string()))
        .collect();
    hostile.push((format!("{base}/huge.xml"), "larger than the limit".into()));
    hostile.push((format!("{base}/missing.xml"), "HTTP status 404".into()));
    hostile.push((
        format!("http://{silent_addr}/plugins.xml"),
        "within 3 s".into(),
    ));
    hostile.push((
        "file:///nonexistent/vetted/plugins.xml".into(),
        "opening".into(),
    ));

    let state = ts.state().clone();
    let victim = upstream::by_name(&state.db, "victim")
        .await
        .unwrap()
        .unwrap();
    let before = upstream::catalogue(&state.db, victim.id, true)
        .await
        .unwrap();
    for (i, (url, want)) in hostile.iter().enumerate() {
        // Point the synced upstream at the hostile feed: its catalogue must survive.
        sqlx::query("UPDATE upstreams SET url = $1, etag = NULL WHERE id = $2")
            .bind(url)
            .bind(victim.id)
            .execute(&state.db.pool)
            .await
            .unwrap();
        let started = Instant::now();
        let report = admin_sync(&ts, "victim").await;
        let took = started.elapsed();
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains(want.as_str()), "case {i} {url}: {report}");
        assert!(
            took < Duration::from_secs(8),
            "case {i} {url} took {took:?}"
        );
        assert_eq!(report["new"].as_array().unwrap().len(), 0);
        assert_eq!(report["gone"].as_array().unwrap().len(), 0);
        let after = upstream::catalogue(&state.db, victim.id, true)
            .await
            .unwrap();
        assert_eq!(after.len(), before.len(), "case {i}");
        assert!(after.iter().all(|e| e.gone_at.is_none()), "case {i}");
        let u = upstream::by_name(&state.db, "victim")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.last_error.as_deref(), Some(error));
    }
    ts.stop().await;
}

/// Figures for the closing note: parse time of a 3,000-plugin feed shaped like
/// plugins.qgis.org's (run with `--nocapture` to see them).
#[test]
fn parse_figure_for_a_3000_plugin_feed() {
    let entries: Vec<String> = (0..3000)
        .map(|i| {
            feed_entry(
                &format!("plugin_{i}"),
                &format!("1.{}.0", i % 7),
                &format!("https://plugins.example.org/plugins/plugin_{i}/version/1.0/download/"),
                &"An about text that runs for a while. ".repeat(8),
            )
        })
        .collect();
    let bytes = feed(&entries);
    let mut best = Duration::MAX;
    let mut parsed = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        parsed = upstream::feed::parse(&bytes).unwrap();
        best = best.min(t.elapsed());
    }
    assert_eq!(parsed.len(), 3000);
    assert_eq!(parsed[2999].package_name, "plugin_2999");
    eprintln!(
        "FIGURE feed parse: 3000 plugins, {:.1} MB, best of 5: {:.1} ms",
        bytes.len() as f64 / 1e6,
        best.as_secs_f64() * 1e3
    );
}

async fn allow(ts: &TestServer, upstream: &str, body: Value) {
    let r = ts
        .post(&format!("/api/upstreams/{upstream}/allow"))
        .basic_auth("admin", Some(PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

fn import_of<'a>(report: &'a Value, package: &str, version: &str) -> &'a Value {
    report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["package"] == package && i["version"] == version)
        .unwrap_or_else(|| panic!("no import of {package} {version} in {report}"))
}

/// Bytes no compressor shrinks much (a ZIP over the size limit).
fn noise(n: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

#[tokio::test]
async fn curation_imports_pinned_and_followed_versions_and_refuses_liars() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.max_upload_bytes = 256 * 1024;
        c.upstream_timeout = Duration::from_secs(5);
    })
    .await;
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let mut entries = Vec::new();
    let mut publish = |package: &str, version: &str, zip: Vec<u8>| {
        let path = format!("/zips/{package}.{version}.zip");
        files.lock().unwrap().insert(path.clone(), zip);
        entries.push(feed_entry(
            package,
            version,
            &format!("{base}{path}"),
            "about",
        ));
        files
            .lock()
            .unwrap()
            .insert("/plugins.xml".into(), feed(&entries));
    };
    publish(
        "pinned_a",
        "1.0",
        PluginZip::valid("pinned_a", "1.0").bytes(),
    );
    publish(
        "pinned_a",
        "1.1",
        PluginZip::valid("pinned_a", "1.1").bytes(),
    );
    publish(
        "follow_b",
        "1.0",
        PluginZip::valid("follow_b", "1.0").bytes(),
    );
    publish(
        "liar_top",
        "1.0",
        PluginZip::valid("other_name", "1.0").bytes(),
    );
    publish(
        "liar_ver",
        "1.0",
        PluginZip::valid("liar_ver", "9.9")
            .set_metadata("name", "liar_ver plugin")
            .bytes(),
    );
    let whole = PluginZip::valid("truncated", "1.0").bytes();
    publish("truncated", "1.0", whole[..whole.len() / 2].to_vec());
    publish(
        "huge",
        "1.0",
        PluginZip::valid("huge", "1.0")
            .with("data.txt", &noise(600 * 1024))
            .bytes(),
    );
    publish("missing", "1.0", Vec::new());
    files.lock().unwrap().remove("/zips/missing.1.0.zip");
    publish("clash", "1.0", PluginZip::valid("clash", "1.0").bytes());
    publish("local_read", "1.0", Vec::new());
    {
        // A remote feed pointing a download at a local file.
        let mut files = files.lock().unwrap();
        let xml = String::from_utf8(files["/plugins.xml"].clone())
            .unwrap()
            .replace(
                &format!("{base}/zips/local_read.1.0.zip"),
                "file:///etc/hostname",
            );
        files.insert("/plugins.xml".into(), xml.into_bytes());
    }

    // A local plugin with an upstream plugin's name.
    let r = ts
        .add_plugin("alice", PluginZip::valid("clash", "0.5").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);

    add_upstream(&ts, "up", &format!("{base}/plugins.xml")).await;
    allow(
        &ts,
        "up",
        serde_json::json!({"package": "pinned_a", "version": "1.0"}),
    )
    .await;
    allow(
        &ts,
        "up",
        serde_json::json!({"package": "follow_b", "approve_validated": true}),
    )
    .await;
    for p in [
        "liar_top",
        "liar_ver",
        "truncated",
        "huge",
        "missing",
        "clash",
        "local_read",
    ] {
        allow(&ts, "up", serde_json::json!({ "package": p })).await;
    }
    let report = admin_sync(&ts, "up").await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(import_of(&report, "pinned_a", "1.0")["result"], "queued");
    assert_eq!(import_of(&report, "follow_b", "1.0")["result"], "queued");
    let refused = |p: &str, want: &str| {
        let i = import_of(&report, p, "1.0");
        assert_eq!(i["result"], "refused", "{i}");
        assert!(i["detail"].as_str().unwrap().contains(want), "{p}: {i}");
    };
    refused("liar_top", "top folder is \"other_name\"");
    refused("liar_ver", "metadata.txt says version \"9.9\"");
    refused("truncated", "not a readable ZIP");
    refused("huge", "larger than the limit");
    refused("missing", "HTTP status 404");
    refused("clash", "conflict");
    refused("local_read", "local path");
    assert!(
        !report["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["package"] == "pinned_a" && i["version"] == "1.1"),
        "a pinned plugin imports only its pin: {report}"
    );

    let a = ts.wait_scanned("pinned_a", "1.0").await;
    assert_eq!(a["validation_status"], "validated", "{a}");
    assert_eq!(a["approved"], false, "waits for an approver");
    let b = ts.wait_scanned("follow_b", "1.0").await;
    assert_eq!(b["approved"], true, "approve validated updates: {b}");
    for p in ["liar_top", "liar_ver", "truncated", "huge", "missing"] {
        let r = ts
            .get(&format!("/api/plugins/{p}"))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{p} was not stored");
    }
    let clash = ts
        .get("/api/plugins/clash")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let clash: Value = clash.json().await.unwrap();
    assert_eq!(
        clash["versions"].as_array().map(|v| v.len()),
        Some(1),
        "{clash}"
    );

    // Nothing new: nothing imported twice.
    let report = admin_sync(&ts, "up").await;
    assert!(
        !report["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["result"] == "queued"),
        "{report}"
    );

    // A new followed version is imported and approved.
    publish(
        "follow_b",
        "1.1",
        PluginZip::valid("follow_b", "1.1").bytes(),
    );
    let report = admin_sync(&ts, "up").await;
    assert_eq!(
        import_of(&report, "follow_b", "1.1")["result"],
        "queued",
        "{report}"
    );
    assert_eq!(ts.wait_scanned("follow_b", "1.1").await["approved"], true);

    // A planted bad version upstream (a hard-coded cloud key) is blocked, never served, and
    // the admin is emailed.
    publish(
        "follow_b",
        "1.2",
        PluginZip::blocked("follow_b", "1.2").bytes(),
    );
    let report = admin_sync(&ts, "up").await;
    assert_eq!(
        import_of(&report, "follow_b", "1.2")["result"],
        "queued",
        "{report}"
    );
    let bad = ts.wait_scanned("follow_b", "1.2").await;
    assert_eq!(bad["validation_status"], "blocked", "{bad}");
    assert_eq!(bad["approved"], false);
    let mails = ts
        .wait_mails("admin@example.org", "Blocked: follow_b 1.2")
        .await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("AWS") || mails[0].contains("B602"),
        "{}",
        mails[0]
    );
    let xml = ts
        .get("/plugins/plugins.xml?qgis=3.40")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("follow_b.1.1.zip"), "{xml}");
    assert!(!xml.contains("follow_b.1.2"), "{xml}");
    assert!(!xml.contains("pinned_a"), "unapproved: {xml}");
    let r = ts
        .get("/plugins/follow_b/version/1.2/download/")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);

    // The origin is recorded.
    let state = ts.state().clone();
    let (url, sha): (String, String) = sqlx::query_as(
        "SELECT o.url, o.sha256 FROM version_origins o JOIN versions v ON v.id = o.version_id
         WHERE v.version = '1.1' AND v.plugin_id = (SELECT id FROM plugins WHERE package_name = 'follow_b')",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(url, format!("{base}/zips/follow_b.1.1.zip"));
    let zip = files.lock().unwrap()["/zips/follow_b.1.1.zip"].clone();
    assert_eq!(sha, hex::encode(sha2::Sha256::digest(&zip)));
    ts.stop().await;
}

/// Version pages show where an import came from, and mark a version its upstream dropped; the
/// approved version stays served.
#[tokio::test]
async fn version_page_shows_origin_and_no_longer_upstream() {
    let ts = TestServer::start(Db::Sqlite).await;
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let zip = PluginZip::valid("kept", "1.0").bytes();
    files.lock().unwrap().insert("/kept.zip".into(), zip);
    let listed = feed(&[feed_entry("kept", "1.0", &format!("{base}/kept.zip"), "k")]);
    files.lock().unwrap().insert("/plugins.xml".into(), listed);
    add_upstream(&ts, "origin", &format!("{base}/plugins.xml")).await;
    allow(
        &ts,
        "origin",
        serde_json::json!({"package": "kept", "approve_validated": true}),
    )
    .await;
    let report = admin_sync(&ts, "origin").await;
    assert_eq!(
        import_of(&report, "kept", "1.0")["result"],
        "queued",
        "{report}"
    );
    assert_eq!(ts.wait_scanned("kept", "1.0").await["approved"], true);
    let page = |ts: &TestServer| {
        ts.get("/plugins/kept/version/1.0/?tab=details")
            .basic_auth("admin", Some(PASSWORD))
            .send()
    };
    let html = page(&ts).await.unwrap().text().await.unwrap();
    assert!(html.contains("from upstream origin"), "{html}");
    assert!(html.contains(&format!("{base}/kept.zip")));
    assert!(!html.contains("no longer upstream"));

    files
        .lock()
        .unwrap()
        .insert("/plugins.xml".into(), feed(&[]));
    let report = admin_sync(&ts, "origin").await;
    assert_eq!(labels(&report["gone"]), ["kept 1.0"], "{report}");
    let html = page(&ts).await.unwrap().text().await.unwrap();
    assert!(html.contains("no longer upstream"), "{html}");
    let xml = ts
        .get("/plugins/plugins.xml?qgis=3.40")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("kept.1.0.zip"), "still served: {xml}");
    ts.stop().await;
}

/// `export` writes a static repository; a second Vetted imports it over `file:` and refuses a
/// tampered ZIP by the manifest.
#[tokio::test]
async fn export_feeds_a_disconnected_vetted_and_tampering_is_refused() {
    let a = TestServer::start(Db::Sqlite).await;
    for p in ["clean_one", "tampered_one"] {
        let r = a
            .add_plugin("trudy", PluginZip::valid(p, "1.0").bytes(), true)
            .await;
        assert_eq!(r.status(), 201);
        assert_eq!(a.wait_scanned(p, "1.0").await["approved"], true);
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("repo");
    let r = vetted_server::export::export(a.state(), &dir, None)
        .await
        .unwrap();
    assert_eq!((r.versions, r.written, r.reused), (2, 2, 0));
    let r = vetted_server::export::export(a.state(), &dir, None)
        .await
        .unwrap();
    assert_eq!((r.versions, r.written, r.reused), (2, 0, 2), "incremental");
    let xml = std::fs::read_to_string(dir.join("plugins.xml")).unwrap();
    assert!(
        xml.contains(&format!("file://{}/clean_one.1.0.zip", dir.display())),
        "{xml}"
    );
    let manifest = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let zip = std::fs::read(dir.join("clean_one.1.0.zip")).unwrap();
    assert!(manifest.contains(&format!(
        "{}  clean_one.1.0.zip",
        hex::encode(sha2::Sha256::digest(&zip))
    )));
    assert!(
        std::fs::read_to_string(dir.join("index.html"))
            .unwrap()
            .contains("tampered_one.1.0.zip")
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // Tamper: same plugin, one file changed.
    std::fs::write(
        dir.join("tampered_one.1.0.zip"),
        PluginZip::valid("tampered_one", "1.0")
            .with("extra.py", "X = 1\n")
            .bytes(),
    )
    .unwrap();

    let b = TestServer::start(Db::Sqlite).await;
    add_upstream(
        &b,
        "share",
        &format!("file://{}", dir.join("plugins.xml").display()),
    )
    .await;
    allow(&b, "share", serde_json::json!({"package": "clean_one"})).await;
    allow(&b, "share", serde_json::json!({"package": "tampered_one"})).await;
    let report = admin_sync(&b, "share").await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(
        import_of(&report, "clean_one", "1.0")["result"],
        "queued",
        "{report}"
    );
    let t = import_of(&report, "tampered_one", "1.0");
    assert_eq!(t["result"], "refused");
    assert!(t["detail"].as_str().unwrap().contains("manifest"), "{t}");
    assert_eq!(
        b.wait_scanned("clean_one", "1.0").await["validation_status"],
        "validated"
    );
    a.stop().await;
    b.stop().await;
}

fn qpm(args: &[&str], plugins_dir: &std::path::Path, cache: &std::path::Path) -> (bool, String) {
    let python = std::env::var("VETTED_TEST_PYTHON")
        .expect("VETTED_TEST_PYTHON must name the Python with qgis-plugin-manager");
    let out = std::process::Command::new(python)
        .args(["-m", "qgis_plugin_manager"])
        .args(args)
        .env("QGIS_PLUGIN_MANAGER_QGIS_VERSION", "3.34.0")
        .env("QGIS_PLUGIN_MANAGER_CACHE_DIR", cache)
        .current_dir(plugins_dir)
        .output()
        .expect("running qgis-plugin-manager");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// qgis-plugin-manager installs from an export through a file: URL and through a plain static
/// HTTP server over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qgis_plugin_manager_installs_from_an_export() {
    let a = TestServer::start(Db::Sqlite).await;
    let zip = PluginZip::valid("exported", "2.0").set_metadata("name", "Exported");
    assert_eq!(a.add_plugin("trudy", zip.bytes(), true).await.status(), 201);
    assert_eq!(a.wait_scanned("exported", "2.0").await["approved"], true);
    let work = tempfile::tempdir().unwrap();

    // file:
    let dir = work.path().join("file-export");
    vetted_server::export::export(a.state(), &dir, None)
        .await
        .unwrap();
    // HTTP: the same export served by a static server.
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let http_dir = work.path().join("http-export");
    vetted_server::export::export(a.state(), &http_dir, Some(&base))
        .await
        .unwrap();
    for e in std::fs::read_dir(&http_dir).unwrap() {
        let e = e.unwrap();
        files.lock().unwrap().insert(
            format!("/{}", e.file_name().to_string_lossy()),
            std::fs::read(e.path()).unwrap(),
        );
    }

    for (label, source) in [
        ("file", format!("file://{}/plugins.xml", dir.display())),
        ("http", format!("{base}/plugins.xml")),
    ] {
        let plugins_dir = work.path().join(format!("qgis-{label}"));
        let cache = work.path().join(format!("cache-{label}"));
        std::fs::create_dir_all(&plugins_dir).unwrap();
        std::fs::write(plugins_dir.join("sources.list"), format!("{source}\n")).unwrap();
        let (ok, out) = tokio::task::block_in_place(|| qpm(&["update"], &plugins_dir, &cache));
        assert!(ok, "{label} update failed: {out}");
        let (ok, out) =
            tokio::task::block_in_place(|| qpm(&["install", "Exported"], &plugins_dir, &cache));
        assert!(ok, "{label} install failed: {out}");
        let metadata = std::fs::read_to_string(plugins_dir.join("exported/metadata.txt"))
            .unwrap_or_else(|e| panic!("{label}: not installed ({e}): {out}"));
        assert!(metadata.contains("version=2.0"), "{label}");
    }
    a.stop().await;
}

/// Figure for the closing note: import-and-scan throughput (download, claim checks, structural
/// validation, storage, full scan) of 20 followed plugins from a static feed.
#[tokio::test]
async fn import_and_scan_throughput_figure() {
    let ts = TestServer::start(Db::Sqlite).await;
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let n = 20;
    let mut entries = Vec::new();
    for i in 0..n {
        let p = format!("bulk_{i}");
        let path = format!("/{p}.1.0.zip");
        files
            .lock()
            .unwrap()
            .insert(path.clone(), PluginZip::valid(&p, "1.0").bytes());
        entries.push(feed_entry(&p, "1.0", &format!("{base}{path}"), "bulk"));
    }
    files
        .lock()
        .unwrap()
        .insert("/plugins.xml".into(), feed(&entries));
    add_upstream(&ts, "bulk", &format!("{base}/plugins.xml")).await;
    for i in 0..n {
        allow(
            &ts,
            "bulk",
            serde_json::json!({"package": format!("bulk_{i}"), "approve_validated": true}),
        )
        .await;
    }
    let started = Instant::now();
    let report = admin_sync(&ts, "bulk").await;
    let imported = started.elapsed();
    let queued = report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["result"] == "queued")
        .count();
    assert_eq!(queued, n, "{report}");
    for i in 0..n {
        assert_eq!(
            ts.wait_scanned(&format!("bulk_{i}"), "1.0").await["approved"],
            true
        );
    }
    let total = started.elapsed();
    eprintln!(
        "FIGURE import: {n} plugins downloaded, checked and queued in {:.2} s; scanned and approved after {:.2} s ({:.1} plugins/s, one in-process worker)",
        imported.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
    ts.stop().await;
}

/// A static feed server for the tests below: `/plugins.xml` and the ZIPs, plus a way to
/// publish a version (the ZIP, then the feed listing every version published so far).
struct Feed {
    files: Files,
    base: String,
    entries: Mutex<Vec<String>>,
}

impl Feed {
    async fn start() -> Feed {
        let files: Files = Default::default();
        let base = static_server(files.clone()).await;
        let feed = Feed {
            files,
            base,
            entries: Mutex::new(Vec::new()),
        };
        feed.files
            .lock()
            .unwrap()
            .insert("/plugins.xml".into(), feed_bytes(&[]));
        feed
    }

    fn url(&self) -> String {
        format!("{}/plugins.xml", self.base)
    }

    fn publish_entry(&self, package: &str, version: &str, zip: Vec<u8>, entry: String) {
        let path = format!("/zips/{package}.{version}.zip");
        let mut entries = self.entries.lock().unwrap();
        entries.push(entry);
        let mut files = self.files.lock().unwrap();
        files.insert(path, zip);
        files.insert("/plugins.xml".into(), feed_bytes(&entries));
    }

    fn publish(&self, package: &str, version: &str, zip: Vec<u8>) {
        let url = format!("{}/zips/{package}.{version}.zip", self.base);
        self.publish_entry(
            package,
            version,
            zip,
            feed_entry(package, version, &url, "about"),
        );
    }
}

fn feed_bytes(entries: &[String]) -> Vec<u8> {
    feed(entries)
}

async fn api_json(ts: &TestServer, user: &str, path: &str) -> Value {
    let r = ts
        .get(path)
        .basic_auth(user, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn post_json(ts: &TestServer, user: &str, path: &str, body: Value) -> reqwest::Response {
    ts.post(path)
        .basic_auth(user, Some(PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn plugins_xml(ts: &TestServer) -> String {
    ts.get("/plugins/plugins.xml?qgis=3.40")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Revocation: an approved version (uploaded here) and an imported one are revoked through
/// the API; each leaves plugins.xml, its download answers 410 with the reason, its page says
/// who and why, it cannot be approved until un-revoked, and un-revoking leaves it waiting for
/// an approver. Only admins revoke, and a reason is required.
#[tokio::test]
async fn revoked_versions_leave_the_feed_and_refuse_downloads() {
    let ts = TestServer::start(Db::Sqlite).await;
    let r = ts
        .add_plugin("trudy", PluginZip::valid("local_one", "1.0").bytes(), true)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(ts.wait_scanned("local_one", "1.0").await["approved"], true);
    let feed = Feed::start().await;
    feed.publish(
        "imported_one",
        "1.0",
        PluginZip::valid("imported_one", "1.0").bytes(),
    );
    add_upstream(&ts, "up", &feed.url()).await;
    allow(
        &ts,
        "up",
        serde_json::json!({"package": "imported_one", "approve_validated": true}),
    )
    .await;
    admin_sync(&ts, "up").await;
    assert_eq!(
        ts.wait_scanned("imported_one", "1.0").await["approved"],
        true
    );
    let xml = plugins_xml(&ts).await;
    assert!(xml.contains("local_one.1.0.zip") && xml.contains("imported_one.1.0.zip"));

    let path = |p: &str, action: &str| format!("/api/plugins/{p}/versions/1.0/{action}");
    // Not for staff, and not without a reason.
    let r = post_json(
        &ts,
        "staff",
        &path("local_one", "revoke"),
        serde_json::json!({"reason": "x"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_json(
        &ts,
        "admin",
        &path("local_one", "revoke"),
        serde_json::json!({"reason": "  "}),
    )
    .await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let r = post_json(
        &ts,
        "admin",
        &path("local_one", "revoke"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 400);

    for p in ["local_one", "imported_one"] {
        let r = post_json(
            &ts,
            "admin",
            &path(p, "revoke"),
            serde_json::json!({"reason": "phones home <b>secretly</b>"}),
        )
        .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["revoked"], true);
        assert_eq!(v["downloadable"], false);
        assert_eq!(v["revocation"]["revoked_by"], "admin");
    }
    let xml = plugins_xml(&ts).await;
    assert!(
        !xml.contains("local_one") && !xml.contains("imported_one"),
        "{xml}"
    );
    for (user, p) in [(None, "local_one"), (Some("admin"), "imported_one")] {
        let mut req = ts.get(&format!("/plugins/{p}/version/1.0/download/"));
        if let Some(u) = user {
            req = req.basic_auth(u, Some(PASSWORD));
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 410, "{p}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("revoked") && text.contains("phones home"),
            "{text}"
        );
    }
    let html = ts
        .get("/plugins/local_one/version/1.0/")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"revoked\""), "{html}");
    assert!(html.contains("Revoked by admin"), "{html}");
    assert!(
        html.contains("phones home &lt;b&gt;secretly&lt;/b&gt;"),
        "escaped: {html}"
    );
    assert!(!html.contains("<b>secretly"));
    // The API says so too.
    let v = ts.version("local_one", "1.0").await;
    assert_eq!(v["revoked"], true, "{v}");
    assert_eq!(v["approved"], false);

    // Approving a revoked version is refused; un-revoking does not approve.
    let r = post_json(
        &ts,
        "staff",
        &path("local_one", "approve"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("un-revoke"));
    let r = post_json(
        &ts,
        "staff",
        &path("local_one", "unrevoke"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_json(
        &ts,
        "admin",
        &path("local_one", "unrevoke"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["revoked"].clone(), v["approved"].clone()),
        (Value::Bool(false), Value::Bool(false))
    );
    let r = post_json(
        &ts,
        "admin",
        &path("local_one", "unrevoke"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 409, "not revoked any more");
    assert!(
        !plugins_xml(&ts).await.contains("local_one"),
        "waits for an approver"
    );
    let r = post_json(
        &ts,
        "staff",
        &path("local_one", "approve"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(plugins_xml(&ts).await.contains("local_one.1.0.zip"));
    let r = ts
        .get("/plugins/local_one/version/1.0/download/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The revoked import is never imported again by later syncs.
    let report = admin_sync(&ts, "up").await;
    assert_eq!(report["imports"], serde_json::json!([]), "{report}");
    assert_eq!(ts.version("imported_one", "1.0").await["revoked"], true);
    ts.stop().await;
}

/// Waits (bounded) until `check` holds, polling.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn versions_of(ts: &TestServer, plugin: &str) -> Vec<String> {
    let r = ts
        .get(&format!("/api/plugins/{plugin}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return Vec::new();
    }
    let v: Value = r.json().await.unwrap();
    let mut out: Vec<String> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The schedule fires on its own (a 1 s interval here): a followed plugin whose feed lists a
/// stable and an experimental version gets both, a later version arrives at a later scheduled
/// sync, and nothing is imported twice. An upstream with its own interval of 0 is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_sync_imports_every_new_followed_version() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.upstream_sync_interval = Duration::from_secs(1);
    })
    .await;
    let feed = Feed::start().await;
    feed.publish(
        "followed",
        "1.0",
        PluginZip::valid("followed", "1.0").bytes(),
    );
    let beta_url = format!("{}/zips/followed.2.0.zip", feed.base);
    feed.publish_entry(
        "followed",
        "2.0",
        PluginZip::valid("followed", "2.0")
            .set_metadata("experimental", "True")
            .bytes(),
        feed_entry("followed", "2.0", &beta_url, "beta").replace(
            "<experimental>False</experimental>",
            "<experimental>True</experimental>",
        ),
    );
    add_upstream(&ts, "auto", &feed.url()).await;
    allow(
        &ts,
        "auto",
        serde_json::json!({"package": "followed", "approve_validated": true}),
    )
    .await;
    // A second upstream with the same feed, never on a schedule.
    let r = post_json(
        &ts,
        "admin",
        "/api/upstreams",
        serde_json::json!({"name": "manual", "url": feed.url(), "sync_interval": 0}),
    )
    .await;
    assert_eq!(r.status(), 201);

    eventually(
        "both listed versions imported",
        Duration::from_secs(30),
        || async { versions_of(&ts, "followed").await == ["1.0", "2.0"] },
    )
    .await;
    assert_eq!(ts.wait_scanned("followed", "1.0").await["approved"], true);
    let beta = ts.wait_scanned("followed", "2.0").await;
    assert_eq!(beta["approved"], true, "{beta}");
    assert_eq!(beta["experimental"], true, "{beta}");
    let list = api_json(&ts, "admin", "/api/upstreams").await;
    let auto = list["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "auto")
        .unwrap()
        .clone();
    assert_eq!(auto["last_report"]["scheduled"], true, "{auto}");
    assert_eq!(auto["catalogue_size"], 2, "{auto}");
    let manual = list["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "manual")
        .unwrap()
        .clone();
    assert_eq!(manual["last_sync_at"], Value::Null, "interval 0: {manual}");

    feed.publish(
        "followed",
        "1.1",
        PluginZip::valid("followed", "1.1").bytes(),
    );
    eventually(
        "the new version imported",
        Duration::from_secs(30),
        || async { versions_of(&ts, "followed").await == ["1.0", "1.1", "2.0"] },
    )
    .await;
    assert_eq!(ts.wait_scanned("followed", "1.1").await["approved"], true);
    // Several more scheduled syncs: still three versions, each imported once.
    let synced = |ts: &TestServer| {
        let state = ts.state().clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT last_sync_at FROM upstreams WHERE name = 'auto'",
            )
            .fetch_one(&state.db.pool)
            .await
            .unwrap()
            .unwrap_or(0)
        }
    };
    let before = synced(&ts).await;
    eventually(
        "two more scheduled syncs",
        Duration::from_secs(30),
        || async { synced(&ts).await >= before + 2 },
    )
    .await;
    assert_eq!(versions_of(&ts, "followed").await, ["1.0", "1.1", "2.0"]);
    let receipts = ts.mails("admin@example.org", "Received followed");
    assert_eq!(receipts.len(), 3, "one upload per version");
    ts.stop().await;
}

/// A feed server that answers `/plugins.xml` slowly and counts requests in flight, to see
/// whether two schedulers ever sync the same upstream at once.
async fn slow_feed_server(
    files: Files,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    total: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use std::sync::atomic::Ordering;
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let (files, in_flight, most, total) = (
            files.clone(),
            in_flight.clone(),
            most.clone(),
            total.clone(),
        );
        async move {
            if uri.path() == "/plugins.xml" {
                total.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(800)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                // No ETag: every sync fetches and parses the whole feed.
                let bytes = files
                    .lock()
                    .unwrap()
                    .get("/plugins.xml")
                    .cloned()
                    .unwrap_or_default();
                return bytes.into_response();
            }
            serve_file(&files, uri.path(), &headers)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Two servers on one PostgreSQL database both run the schedule (1 s): the database lease lets
/// only one sync the upstream at a time, and each version is imported exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_one_database_never_double_sync() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let a = TestServer::start_with(Db::Postgres, |c| {
        c.upstream_sync_interval = Duration::from_secs(1);
    })
    .await;
    let dir_b = tempfile::tempdir().unwrap();
    let mut config_b = a.config.clone();
    config_b.data_dir = dir_b.path().join("data");
    // Servers that share a database share the file store too (an object store in production):
    // either server's worker may scan a version the other imported.
    config_b.storage = Some(a.config.storage_config());
    let b = vetted_server::start(config_b.clone()).await.unwrap();

    let files: Files = Default::default();
    let (in_flight, most, total) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let base = slow_feed_server(files.clone(), in_flight, most.clone(), total.clone()).await;
    let mut entries = Vec::new();
    for v in ["1.0", "1.1"] {
        let path = format!("/zips/shared.{v}.zip");
        files
            .lock()
            .unwrap()
            .insert(path.clone(), PluginZip::valid("shared", v).bytes());
        entries.push(feed_entry("shared", v, &format!("{base}{path}"), "s"));
    }
    files
        .lock()
        .unwrap()
        .insert("/plugins.xml".into(), feed(&entries));
    add_upstream(&a, "shared-up", &format!("{base}/plugins.xml")).await;
    allow(&a, "shared-up", serde_json::json!({"package": "shared"})).await;

    eventually("five feed fetches", Duration::from_secs(60), || async {
        total.load(Ordering::SeqCst) >= 5
    })
    .await;
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "two syncs of one upstream overlapped"
    );
    assert_eq!(versions_of(&a, "shared").await, ["1.0", "1.1"]);
    let origins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM version_origins")
        .fetch_one(&a.state().db.pool)
        .await
        .unwrap();
    assert_eq!(origins, 2);
    // Each version scanned once to a verdict (a scan error would make the next sync import it
    // again), and one receipt per version, whichever server imported it.
    for v in ["1.0", "1.1"] {
        assert_eq!(
            a.wait_scanned("shared", v).await["validation_status"],
            "validated"
        );
    }
    let subjects = || {
        let outbox_b = std::fs::read_dir(config_b.outbox_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        a.outbox()
            .iter()
            .chain(&outbox_b)
            .map(|m| subject(m))
            .collect::<Vec<_>>()
    };
    let receipts = |s: &[String]| s.iter().filter(|s| s.contains("Received shared")).count();
    eventually("two receipts", Duration::from_secs(10), || async {
        receipts(&subjects()) >= 2
    })
    .await;
    let all = subjects();
    assert_eq!(receipts(&all), 2, "{all:#?}");
    b.stop().await;
    a.stop().await;
}

/// A blocked import is emailed to every admin with its findings (the secret masked), not only
/// to the admin who allowed the plugin.
#[tokio::test]
async fn blocked_imports_are_emailed_to_every_admin() {
    let ts = TestServer::start(Db::Sqlite).await;
    ts.user("admin2", vetted_server::Role::Admin).await;
    let feed = Feed::start().await;
    feed.publish(
        "planted",
        "1.0",
        PluginZip::blocked("planted", "1.0").bytes(),
    );
    add_upstream(&ts, "up", &feed.url()).await;
    allow(
        &ts,
        "up",
        serde_json::json!({"package": "planted", "approve_validated": true}),
    )
    .await;
    admin_sync(&ts, "up").await;
    assert_eq!(
        ts.wait_scanned("planted", "1.0").await["validation_status"],
        "blocked"
    );
    for admin in ["admin@example.org", "admin2@example.org"] {
        let mails = ts
            .wait_mails(admin, "Blocked: planted 1.0 (import from upstream up)")
            .await;
        assert_eq!(mails.len(), 1, "{admin}");
        // Quoted-printable: join the soft line breaks.
        let m = &mails[0].replace("=\r\n", "").replace("=\n", "");
        assert!(m.contains("B602") || m.contains("AWS"), "{m}");
        assert!(
            !m.contains("AKIAZ3MSJV4WWHCQCNOP"),
            "the key is masked: {m}"
        );
        assert!(
            m.contains(&format!("{}/zips/planted.1.0.zip", feed.base)),
            "{m}"
        );
    }
    assert!(ts.mails("staff@example.org", "Blocked").is_empty());
    // A validated import without "approve validated updates" waits for an approver, who is
    // told where it came from.
    feed.publish("waiting", "1.0", PluginZip::valid("waiting", "1.0").bytes());
    allow(&ts, "up", serde_json::json!({"package": "waiting"})).await;
    admin_sync(&ts, "up").await;
    let w = ts.wait_scanned("waiting", "1.0").await;
    assert_eq!(
        (w["validation_status"].as_str(), w["approved"].as_bool()),
        (Some("validated"), Some(false))
    );
    let notices = ts
        .wait_mails("staff@example.org", "Approval needed: waiting 1.0")
        .await;
    assert_eq!(notices.len(), 1);
    let n = notices[0].replace("=\r\n", "").replace("=\n", "");
    assert!(n.contains("Imported from upstream up"), "{n}");
    let r = ts
        .get("/plugins/planted/version/1.0/download/")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    ts.stop().await;
}

/// Catalogue search over name, description, tags and author, with paging, in the JSON API; the
/// upstream list shows the catalogue size and the last sync's counts.
#[tokio::test]
async fn catalogue_search_pages_and_list_summary() {
    let ts = TestServer::start(Db::Sqlite).await;
    let feed = Feed::start().await;
    for i in 0..120 {
        let p = format!("pkg_{i:03}");
        let url = format!("{}/zips/{p}.1.0.zip", feed.base);
        let mut entry = feed_entry(&p, "1.0", &url, "a");
        if i % 3 == 0 {
            entry = entry.replace("vector,raster", "hydrology,flood");
        }
        if i == 7 {
            entry = entry
                .replace("Jane &amp; Co", "Zoë Hydro")
                .replace("Jane & Co", "Zoë Hydro");
        }
        if i == 8 {
            entry = entry.replace("A plugin & its description", "Computes 100% of the_things");
        }
        // Only the feed entries matter here: no ZIPs.
        feed.entries.lock().unwrap().push(entry);
    }
    let xml = feed_bytes(&feed.entries.lock().unwrap());
    feed.files
        .lock()
        .unwrap()
        .insert("/plugins.xml".into(), xml);
    add_upstream(&ts, "big", &feed.url()).await;
    admin_sync(&ts, "big").await;

    let s = api_json(
        &ts,
        "admin",
        "/api/upstreams/big/search?q=FLOOD&per_page=15",
    )
    .await;
    assert_eq!(s["total"], 40, "{s}");
    assert_eq!(s["pages"], 3);
    assert_eq!(s["entries"].as_array().unwrap().len(), 15);
    assert_eq!(s["entries"][0]["package_name"], "pkg_000");
    let last = api_json(
        &ts,
        "admin",
        "/api/upstreams/big/search?q=flood&per_page=15&page=3",
    )
    .await;
    assert_eq!(last["entries"].as_array().unwrap().len(), 10);
    assert_eq!(last["entries"][9]["package_name"], "pkg_117");
    let beyond = api_json(
        &ts,
        "admin",
        "/api/upstreams/big/search?q=flood&per_page=15&page=9",
    )
    .await;
    assert_eq!(beyond["entries"], serde_json::json!([]));
    // Author, several words, name.
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=zo%C3%AB").await;
    assert_eq!(s["total"], 1, "{s}");
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=pkg_01%20raster").await;
    // pkg_010..pkg_019 minus those with hydrology tags (012, 015, 018).
    assert_eq!(s["total"], 7, "{s}");
    // LIKE wildcards are literal.
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=100%25").await;
    assert_eq!(s["total"], 1, "{s}");
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=the_things").await;
    assert_eq!(s["total"], 1, "{s}");
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=%25%25%25").await;
    assert_eq!(s["total"], 0, "{s}");
    let s = api_json(&ts, "admin", "/api/upstreams/big/search").await;
    assert_eq!(s["total"], 120);
    assert_eq!(s["entries"].as_array().unwrap().len(), 50);
    // Bad input: clear errors.
    let r = ts
        .get("/api/upstreams/big/search?page=x")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = ts
        .get("/api/upstreams/nope/search?q=a")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = ts
        .get("/api/upstreams/big/search?q=a")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let list = api_json(&ts, "admin", "/api/upstreams").await;
    let big = &list["upstreams"][0];
    assert_eq!(big["catalogue_size"], 120, "{big}");
    assert_eq!(big["last_report"]["new"].as_array().unwrap().len(), 120);
    // One gone, one changed.
    {
        let mut entries = feed.entries.lock().unwrap();
        entries.remove(0);
        entries[0] =
            entries[0].replace("<downloads>1234</downloads>", "<downloads>1235</downloads>");
        let xml = feed_bytes(&entries);
        feed.files
            .lock()
            .unwrap()
            .insert("/plugins.xml".into(), xml);
    }
    admin_sync(&ts, "big").await;
    let list = api_json(&ts, "admin", "/api/upstreams").await;
    let big = &list["upstreams"][0];
    assert_eq!(big["catalogue_size"], 119, "{big}");
    assert_eq!(labels(&big["last_report"]["gone"]), ["pkg_000 1.0"]);
    assert_eq!(labels(&big["last_report"]["changed"]), ["pkg_001 1.0"]);
    assert_eq!(big["last_report"]["new"], serde_json::json!([]));
    let s = api_json(&ts, "admin", "/api/upstreams/big/search?q=flood").await;
    assert_eq!(s["total"], 39, "gone entries are not found");
    ts.stop().await;
}
