//! The whole repository flow over HTTP against a real server, each scenario once on SQLite and
//! once on the real PostgreSQL (`VETTED_TEST_POSTGRES`; the PG variants fail without it).

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Db, PASSWORD, PluginZip, TestServer};
use serde_json::Value;

macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )+};
}

on_both_databases!(
    upload_scan_approve_download_and_feed,
    blocked_version_is_never_published,
    permissions,
    tokens_are_scoped_expiring_and_revocable,
    rescan_stores_a_report_and_changes_nothing,
    bad_uploads_are_refused_and_nothing_is_stored,
    xml_rpc_upload_and_faults,
    trusted_users_publish_immediately,
    expired_lease_is_retried_and_attempts_fail_closed,
    bundled_config_and_update_route,
    signed_in_session_uploads,
    queued_jobs_survive_a_restart,
    editors_upload_and_rescan_but_do_not_manage,
);

async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

async fn download(
    ts: &TestServer,
    plugin: &str,
    version: &str,
    user: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut req = ts.get(&format!("/plugins/{plugin}/version/{version}/download/"));
    if let Some(u) = user {
        req = req.basic_auth(u, Some(PASSWORD));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn approve(ts: &TestServer, plugin: &str, version: &str, user: &str) -> reqwest::Response {
    ts.post(&format!("/api/plugins/{plugin}/versions/{version}/approve"))
        .basic_auth(user, Some(PASSWORD))
        .send()
        .await
        .unwrap()
}

async fn feed(ts: &TestServer, qgis: &str) -> String {
    text(
        ts.get(&format!("/plugins/plugins.xml?qgis={qgis}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn upload_scan_approve_download_and_feed(db: Db) {
    let ts = TestServer::start(db).await;
    let zip = PluginZip::valid("hello_one", "1.0.0").bytes();
    let r = ts.add_plugin("alice", zip.clone(), false).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "validating");
    assert_eq!(body["plugin"], "hello_one");
    assert!(
        ts.wait_mails("alice@example.org", "Received hello_one 1.0.0")
            .await
            .len()
            == 1
    );

    let v = ts.wait_scanned("hello_one", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated");
    assert_eq!(v["approved"], false);
    assert_eq!(
        ts.wait_mails("alice@example.org", "Validated: hello_one 1.0.0")
            .await
            .len(),
        1
    );
    // Approvers hear about it only now that it is validated, with what the plugin can do.
    let notices = ts
        .wait_mails("staff@example.org", "Approval needed: hello_one 1.0.0")
        .await;
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].contains("This plugin can:") || notices[0].contains("found no network"),
        "the approver notice lists the plugin's capabilities: {}",
        notices[0]
    );
    assert_eq!(
        ts.wait_mails("admin@example.org", "Approval needed: hello_one 1.0.0")
            .await
            .len(),
        1
    );

    // Unapproved: only owners and staff may download.
    let (code, body) = download(&ts, "hello_one", "1.0.0", None).await;
    assert_eq!(code, 401);
    assert!(String::from_utf8_lossy(&body).contains("has not been approved"));
    assert_eq!(
        download(&ts, "hello_one", "1.0.0", Some("bob")).await.0,
        403
    );
    assert_eq!(
        download(&ts, "hello_one", "1.0.0", Some("alice")).await.0,
        200
    );
    assert_eq!(
        download(&ts, "hello_one", "1.0.0", Some("staff")).await.0,
        200
    );
    assert!(!feed(&ts, "3.34").await.contains("hello_one"));
    // It is in the approval queue.
    let queue: Value = ts
        .get("/api/versions?status=validated&approved=false")
        .basic_auth("staff", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queue["versions"][0]["plugin"], "hello_one", "{queue}");

    // Only staff approve.
    assert_eq!(
        approve(&ts, "hello_one", "1.0.0", "bob").await.status(),
        403
    );
    assert_eq!(
        approve(&ts, "hello_one", "1.0.0", "alice").await.status(),
        403
    );
    let r = approve(&ts, "hello_one", "1.0.0", "staff").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        ts.wait_mails("alice@example.org", "Approved: hello_one 1.0.0")
            .await
            .len(),
        1
    );

    let (code, body) = download(&ts, "hello_one", "1.0.0", None).await;
    assert_eq!(code, 200);
    assert_eq!(body, zip, "the stored file is the uploaded file");
    let v = ts.version("hello_one", "1.0.0").await;
    assert_eq!(v["downloads"], 3, "every successful download is counted");

    let xml = feed(&ts, "3.34").await;
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<pyqgis_plugin name=\"hello_one plugin\" version=\"1.0.0\""));
    assert!(xml.contains("<file_name>hello_one.1.0.0.zip</file_name>"));
    assert!(xml.contains(&format!(
        "<download_url>{}/plugins/hello_one/version/1.0.0/download/</download_url>",
        ts.url
    )));
    assert!(xml.contains("<experimental>False</experimental>"));
    assert!(
        !feed(&ts, "3.10").await.contains("hello_one"),
        "below qgisMinimumVersion"
    );
    assert!(
        !feed(&ts, "4.0").await.contains("hello_one"),
        "above qgisMaximumVersion"
    );

    // Token uploads on both paths and both header forms; skips filtered to skippable rules.
    let token = ts.create_token("alice", "hello_one").await;
    let r = ts
        .token_upload(
            "/plugins/api/hello_one/version/add/",
            &format!("Bearer {token}"),
            PluginZip::valid("hello_one", "1.1.0").bytes(),
            &["B101", "B602", "NOPE", "b110"],
        )
        .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["skipped_rules"], serde_json::json!(["B101"]));
    assert!(
        body["urls"]["scan"]
            .as_str()
            .unwrap()
            .ends_with("/api/plugins/hello_one/versions/1.1.0/scan")
    );
    let r = ts
        .token_upload(
            "/plugins/hello_one/version/add/",
            &format!("Token {token}"),
            PluginZip::valid("hello_one", "2.0.0")
                .set_metadata("experimental", "True")
                .bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    // A version number is taken once.
    let r = ts
        .token_upload(
            "/plugins/api/hello_one/version/add/",
            &format!("Bearer {token}"),
            PluginZip::valid("hello_one", "1.1.0").bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);

    assert_eq!(
        ts.wait_scanned("hello_one", "1.1.0").await["validation_status"],
        "validated"
    );
    let v = ts.wait_scanned("hello_one", "2.0.0").await;
    assert_eq!(v["experimental"], true, "{v}");
    let scan: Value = ts
        .get("/api/plugins/hello_one/versions/1.1.0/scan")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        scan["scans"][0]["skipped_rules"],
        serde_json::json!(["B101"])
    );
    assert_eq!(scan["report"]["verdict"], "validated");

    assert_eq!(
        approve(&ts, "hello_one", "1.1.0", "staff").await.status(),
        200
    );
    assert_eq!(
        approve(&ts, "hello_one", "2.0.0", "admin").await.status(),
        200
    );
    let xml = feed(&ts, "3.34").await;
    assert_eq!(xml.matches("<pyqgis_plugin ").count(), 2, "{xml}");
    assert!(
        xml.contains("version=\"1.1.0\""),
        "latest stable listed: {xml}"
    );
    assert!(
        !xml.contains("version=\"1.0.0\""),
        "older stable not listed"
    );
    assert!(xml.contains("version=\"2.0.0\"") && xml.contains("<experimental>True</experimental>"));

    // The JSON API lists the published plugin.
    let list: Value = ts
        .get("/api/plugins")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["plugins"][0]["package_name"], "hello_one");
    assert_eq!(list["plugins"][0]["latest_version"], "2.0.0");
    ts.stop().await;
}

async fn blocked_version_is_never_published(db: Db) {
    let ts = TestServer::start(db).await;
    let r = ts
        .add_plugin("alice", PluginZip::blocked("shady", "1.0.0").bytes(), true)
        .await;
    assert_eq!(r.status(), 201);
    let v = ts.wait_scanned("shady", "1.0.0").await;
    assert_eq!(v["validation_status"], "blocked");
    assert_eq!(v["downloadable"], false);

    let mails = ts
        .wait_mails("alice@example.org", "Blocked: shady 1.0.0")
        .await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("B602"), "{mail}");
    assert!(mail.contains("AWSKeyDetector"), "{mail}");
    assert!(
        !mail.contains("AKIAZ3MSJV4WWHCQCNOP"),
        "the secret is masked: {mail}"
    );
    assert!(
        ts.mails("staff@example.org", "shady").is_empty(),
        "approvers are not bothered"
    );

    let (code, body) = download(&ts, "shady", "1.0.0", None).await;
    assert_eq!(code, 401);
    assert!(String::from_utf8_lossy(&body).contains("blocked by the security scan"));
    assert_eq!(download(&ts, "shady", "1.0.0", Some("bob")).await.0, 403);
    let r = approve(&ts, "shady", "1.0.0", "staff").await;
    assert_eq!(r.status(), 409);
    assert!(text(r).await.contains("only a new upload"));
    assert!(!feed(&ts, "3.34").await.contains("shady"));
    let scan: Value = ts
        .get("/api/plugins/shady/versions/1.0.0/scan")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = scan["report"].to_string();
    assert!(
        !report.contains("AKIAZ3MSJV4WWHCQCNOP"),
        "stored report masks the secret"
    );
    assert_eq!(scan["report"]["verdict"], "blocked");

    // Only a new upload replaces a blocked version.
    let r = ts
        .add_plugin("alice", PluginZip::valid("shady", "1.0.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 201, "a blocked version may be replaced");
    assert_eq!(
        ts.wait_scanned("shady", "1.0.0").await["validation_status"],
        "validated"
    );
    ts.stop().await;
}

async fn permissions(db: Db) {
    let ts = TestServer::start(db).await;
    assert_eq!(
        ts.add_plugin("alice", PluginZip::valid("owned", "1.0.0").bytes(), false)
            .await
            .status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("owned", "1.0.0").await["validation_status"],
        "validated"
    );
    assert_eq!(
        ts.add_plugin(
            "alice",
            PluginZip::blocked("owned_bad", "1.0.0").bytes(),
            false
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("owned_bad", "1.0.0").await["validation_status"],
        "blocked"
    );

    // A non-owner cannot upload a version (form, version path, XML-RPC).
    let r = ts
        .add_plugin("bob", PluginZip::valid("owned", "1.1.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 403);
    let r = ts
        .post("/plugins/owned/version/add/")
        .basic_auth("bob", Some(PASSWORD))
        .multipart(reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("owned", "1.1.0").bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Anonymous uploads are refused.
    let r = ts
        .post("/plugins/api/owned/version/add/")
        .multipart(reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("owned", "1.1.0").bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Wrong password.
    let r = ts
        .post("/plugins/add/")
        .basic_auth("alice", Some("wrong-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A non-owner cannot re-scan; owners and admins can.
    let rescan = |user: &'static str, plugin: &'static str| {
        ts.post(&format!("/api/plugins/{plugin}/versions/1.0.0/rescan"))
            .basic_auth(user, Some(PASSWORD))
            .send()
    };
    assert_eq!(rescan("bob", "owned").await.unwrap().status(), 403);
    assert_eq!(rescan("staff", "owned").await.unwrap().status(), 403);
    assert_eq!(rescan("alice", "owned").await.unwrap().status(), 202);
    assert_eq!(rescan("admin", "owned").await.unwrap().status(), 202);

    // A non-owner cannot download a blocked (or unapproved) version, nor see it.
    assert_eq!(
        download(&ts, "owned_bad", "1.0.0", Some("bob")).await.0,
        403
    );
    assert_eq!(download(&ts, "owned", "1.0.0", Some("bob")).await.0, 403);
    let r = ts
        .get("/api/plugins/owned_bad/versions/1.0.0/scan")
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Only staff approve; a blocked version not even by them.
    assert_eq!(approve(&ts, "owned", "1.0.0", "bob").await.status(), 403);
    assert_eq!(approve(&ts, "owned", "1.0.0", "trudy").await.status(), 403);
    assert_eq!(
        approve(&ts, "owned_bad", "1.0.0", "admin").await.status(),
        409
    );
    assert_eq!(approve(&ts, "owned", "1.0.0", "staff").await.status(), 200);

    // Only owners manage tokens; only admins change rules.
    let r = ts
        .post("/api/tokens")
        .basic_auth("bob", Some(PASSWORD))
        .json(&serde_json::json!({ "plugin": "owned" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let put = |user: &'static str| {
        ts.client
            .put(format!("{}/api/rules/B101", ts.url))
            .basic_auth(user, Some(PASSWORD))
            .json(&serde_json::json!({ "severity": "critical" }))
            .send()
    };
    assert_eq!(put("alice").await.unwrap().status(), 403);
    assert_eq!(put("staff").await.unwrap().status(), 403);
    let r = put("admin").await.unwrap();
    assert_eq!(r.status(), 200);
    let rule: Value = r.json().await.unwrap();
    assert_eq!(rule["severity"], "critical");
    assert_eq!(rule["customized"], true);

    // The rules panel of the upload form.
    let form: Value = ts
        .get("/api/upload-form")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = form["skippable_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"B101") && !codes.contains(&"B602"));
    assert_eq!(form["can_publish_immediately"], false);
    ts.stop().await;
}

async fn tokens_are_scoped_expiring_and_revocable(db: Db) {
    let ts = TestServer::start(db).await;
    for p in ["first", "second"] {
        assert_eq!(
            ts.add_plugin("alice", PluginZip::valid(p, "1.0.0").bytes(), false)
                .await
                .status(),
            201
        );
    }
    let token = ts.create_token("alice", "first").await;
    let server = &ts;
    let up = |path: String, auth: String, zip: Vec<u8>| async move {
        server.token_upload(&path, &auth, zip, &[]).await
    };
    // Scoped: a token for `first` cannot upload to `second`, whatever the path says.
    let r = up(
        "/plugins/api/second/version/add/".into(),
        format!("Bearer {token}"),
        PluginZip::valid("second", "1.1.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = up(
        "/plugins/api/first/version/add/".into(),
        format!("Bearer {token}"),
        PluginZip::valid("second", "1.1.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 400, "the ZIP must be the plugin of the URL");
    // A token cannot create plugins or tokens, nor approve.
    let r = ts
        .post("/plugins/add/")
        .header("Authorization", format!("Token {token}"))
        .multipart(reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("third", "1.0.0").bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ts
        .post("/api/tokens")
        .header("Authorization", format!("Bearer {token}"))
        .json(&serde_json::json!({ "plugin": "first" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = up(
        "/plugins/api/first/version/add/".into(),
        format!("Bearer {token}"),
        PluginZip::valid("first", "1.1.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 201);
    // Unknown tokens are refused.
    let r = up(
        "/plugins/api/first/version/add/".into(),
        "Bearer nonsense".into(),
        PluginZip::valid("first", "1.2.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 401);

    // Expired tokens are refused.
    let r = ts
        .post("/api/tokens")
        .basic_auth("alice", Some(PASSWORD))
        .json(&serde_json::json!({ "plugin": "first", "expires_in_seconds": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let short: Value = r.json().await.unwrap();
    let short = short["token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = up(
        "/plugins/api/first/version/add/".into(),
        format!("Bearer {short}"),
        PluginZip::valid("first", "1.2.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(text(r).await.contains("expired"));

    // Listing and revoking.
    let list: Value = ts
        .get("/api/tokens?plugin=first")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        !list.to_string().contains(&token),
        "secrets are never listed"
    );
    let id = tokens[0]["id"].as_i64().unwrap();
    let r = ts
        .client
        .delete(format!("{}/api/tokens/{id}", ts.url))
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ts
        .client
        .delete(format!("{}/api/tokens/{id}", ts.url))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = up(
        "/plugins/api/first/version/add/".into(),
        format!("Bearer {token}"),
        PluginZip::valid("first", "1.3.0").bytes(),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(text(r).await.contains("revoked"));
    ts.stop().await;
}

async fn rescan_stores_a_report_and_changes_nothing(db: Db) {
    let ts = TestServer::start(db).await;
    // Admin severities decide alone under plugins.qgis.org's policy (under `vetted`, Bandit's
    // own LOW rating of B101 would send it to review instead: tests/policy.rs).
    ts.state()
        .db
        .set_policy(vetted_scan::Policy::Qgis)
        .await
        .unwrap();
    let zip = PluginZip::valid("asserts", "1.0.0")
        .with("check.py", "def f(x):\n    assert x\n    return x\n");
    assert_eq!(
        ts.add_plugin("alice", zip.bytes(), false).await.status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("asserts", "1.0.0").await["validation_status"],
        "validated"
    );
    assert_eq!(
        approve(&ts, "asserts", "1.0.0", "staff").await.status(),
        200
    );

    // The admin makes B101 critical: future scans block on it, a manual re-scan only reports.
    let r = ts
        .client
        .put(format!("{}/api/rules/B101", ts.url))
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({ "severity": "critical" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = ts
        .post("/api/plugins/asserts/versions/1.0.0/rescan")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let start = std::time::Instant::now();
    let scan = loop {
        let scan: Value = ts
            .get("/api/plugins/asserts/versions/1.0.0/scan")
            .basic_auth("alice", Some(PASSWORD))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if scan["scans"].as_array().unwrap().len() == 2 {
            break scan;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "re-scan never stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(scan["scans"][1]["manual"], true);
    assert_eq!(scan["scans"][1]["verdict"], "blocked");
    assert_eq!(scan["report"]["verdict"], "blocked");
    let v = ts.version("asserts", "1.0.0").await;
    assert_eq!(
        v["validation_status"], "validated",
        "a re-scan never changes the status"
    );
    assert_eq!(v["approved"], true, "nor the approval");
    assert_eq!(download(&ts, "asserts", "1.0.0", None).await.0, 200);

    // The admin's setting feeds new scans: B101 now blocks, unless the uploader skips it
    // (B101 stays skippable).
    let zip = PluginZip::valid("asserts", "1.1.0")
        .with("check.py", "def f(x):\n    assert x\n    return x\n");
    assert_eq!(
        ts.add_plugin("alice", zip.bytes(), false).await.status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("asserts", "1.1.0").await["validation_status"],
        "blocked"
    );
    let token = ts.create_token("alice", "asserts").await;
    let zip = PluginZip::valid("asserts", "1.2.0")
        .with("check.py", "def f(x):\n    assert x\n    return x\n");
    let r = ts
        .token_upload(
            "/plugins/api/asserts/version/add/",
            &format!("Bearer {token}"),
            zip.bytes(),
            &["B101"],
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        ts.wait_scanned("asserts", "1.2.0").await["validation_status"],
        "validated"
    );
    ts.stop().await;
}

async fn bad_uploads_are_refused_and_nothing_is_stored(db: Db) {
    let ts = TestServer::start(db).await;
    let r = ts
        .add_plugin("alice", b"this is not a zip file".to_vec(), false)
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("File upload must be a valid QGIS Python plugin compressed archive."),
        "{detail}"
    );

    let mut no_license = PluginZip::valid("nolicense", "1.0.0");
    no_license.files.retain(|(n, _)| n != "LICENSE");
    let r = ts.add_plugin("alice", no_license.bytes(), false).await;
    assert_eq!(r.status(), 400);
    assert!(text(r).await.contains("LICENSE"));

    let r = ts.add_plugin("alice", Vec::new(), false).await;
    assert_eq!(r.status(), 400);
    // Not multipart at all.
    let r = ts
        .post("/plugins/add/")
        .basic_auth("alice", Some(PASSWORD))
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Multipart without the package field.
    let r = ts
        .post("/plugins/add/")
        .basic_auth("alice", Some(PASSWORD))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(text(r).await.contains("package"));
    // Random bytes of many shapes never crash the server.
    for n in [1usize, 22, 100, 4096] {
        let mut junk = vec![0u8; n];
        for (i, b) in junk.iter_mut().enumerate() {
            *b = (i * 31 + n) as u8;
        }
        junk[..2.min(n)].copy_from_slice(&b"PK"[..2.min(n)]);
        assert_eq!(ts.add_plugin("alice", junk, false).await.status(), 400);
    }
    // A plugin name that is not a Python identifier is refused for a new plugin.
    let r = ts
        .add_plugin(
            "alice",
            PluginZip::valid("bad-name", "1.0.0").bytes(),
            false,
        )
        .await;
    assert_eq!(r.status(), 400);

    let list: Value = ts
        .get("/api/plugins/nolicense")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["detail"].as_str().unwrap().contains("no plugin"));
    let files = ts.config.files_dir();
    assert!(
        !files.exists() || std::fs::read_dir(&files).unwrap().next().is_none(),
        "no file stored"
    );
    assert!(ts.outbox().is_empty(), "no receipt for refused uploads");
    assert_eq!(
        ts.get("/plugins/nope/version/1.0/download/")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    ts.stop().await;
}

fn xmlrpc_call(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    )
}

async fn xml_rpc_upload_and_faults(db: Db) {
    let ts = TestServer::start(db).await;
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(PluginZip::valid("rpc_plugin", "1.0.0").bytes());
    let call = xmlrpc_call(
        "plugin.upload",
        &format!("<param><value><base64>{b64}</base64></value></param>"),
    );
    let r = ts
        .post("/plugins/RPC2/")
        .body(call.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "Basic auth required");
    let r = ts
        .post("/plugins/RPC2/")
        .basic_auth("alice", Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(call)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = text(r).await;
    assert!(
        body.contains("<array>") && !body.contains("fault"),
        "{body}"
    );
    let ints: Vec<&str> = body
        .split("<i4>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(ints.len(), 2, "{body}");
    let v = ts.wait_scanned("rpc_plugin", "1.0.0").await;
    assert_eq!(ints[1], v["id"].to_string());
    // XML-RPC skips every enabled skippable rule.
    assert!(
        v["skipped_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "B101")
    );

    let bad = base64::engine::general_purpose::STANDARD.encode(b"not a zip");
    let r = ts
        .post("/plugins/RPC2/")
        .basic_auth("alice", Some(PASSWORD))
        .body(xmlrpc_call(
            "plugin.upload",
            &format!("<param><value><base64>{bad}</base64></value></param>"),
        ))
        .send()
        .await
        .unwrap();
    let body = text(r).await;
    assert!(body.contains("<fault>"), "{body}");
    assert!(
        body.contains("<int>1</int>") || body.contains("<i4>1</i4>"),
        "{body}"
    );
    assert!(body.contains("File upload must be a valid QGIS Python plugin compressed archive."));

    let r = ts
        .post("/plugins/RPC2/")
        .body("<<<not xml")
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("<fault>"));
    let r = ts
        .post("/plugins/RPC2/")
        .body(xmlrpc_call("plugin.tags", ""))
        .send()
        .await
        .unwrap();
    let body = text(r).await;
    assert!(body.contains("<array>"), "{body}");
    ts.stop().await;
}

async fn trusted_users_publish_immediately(db: Db) {
    let ts = TestServer::start(db).await;
    assert_eq!(
        ts.add_plugin("trudy", PluginZip::valid("fast", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    let v = ts.wait_scanned("fast", "1.0.0").await;
    assert_eq!(v["approved"], true);
    assert_eq!(
        ts.wait_mails("trudy@example.org", "Approved: fast 1.0.0")
            .await
            .len(),
        1
    );
    assert!(ts.mails("staff@example.org", "fast").is_empty());
    assert_eq!(download(&ts, "fast", "1.0.0", None).await.0, 200);
    // Without the opt-in, even a trusted user waits for approval…
    assert_eq!(
        ts.add_plugin("trudy", PluginZip::valid("fast", "1.1.0").bytes(), false)
            .await
            .status(),
        201
    );
    assert_eq!(ts.wait_scanned("fast", "1.1.0").await["approved"], false);
    // …and a plain user's opt-in does not count.
    assert_eq!(
        ts.add_plugin("alice", PluginZip::valid("slow", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    assert_eq!(ts.wait_scanned("slow", "1.0.0").await["approved"], false);
    // A trusted user's blocked version is not approved either.
    assert_eq!(
        ts.add_plugin(
            "trudy",
            PluginZip::blocked("fast_bad", "1.0.0").bytes(),
            true
        )
        .await
        .status(),
        201
    );
    let v = ts.wait_scanned("fast_bad", "1.0.0").await;
    assert_eq!(
        (v["validation_status"].as_str(), v["approved"].as_bool()),
        (Some("blocked"), Some(false))
    );
    ts.stop().await;
}

/// A worker that took a job and died (its lease lapses) does not leave the version
/// `validating`: the job is claimed again; after too many claims the version fails closed.
async fn expired_lease_is_retried_and_attempts_fail_closed(db: Db) {
    use vetted_server::jobs;
    let ts = TestServer::start_with(db, |c| {
        c.run_worker = false;
        c.lease = Duration::from_secs(1);
        c.max_attempts = 2;
    })
    .await;
    let state = ts.state().clone();
    assert_eq!(
        ts.add_plugin("trudy", PluginZip::valid("leased", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    // A worker claims the job and dies.
    let job = jobs::claim(&state.db, "dead-worker", Duration::from_secs(1))
        .await
        .unwrap()
        .expect("a job");
    assert!(
        jobs::claim(&state.db, "other", Duration::from_secs(1))
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    assert_eq!(download(&ts, "leased", "1.0.0", None).await.0, 401);
    // A live worker takes it over once the lease has lapsed.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(jobs::run_worker(state.clone(), "live-worker".into(), rx));
    let v = ts.wait_scanned("leased", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated");
    assert_eq!(
        jobs::job_state(&state.db, job.id).await.unwrap(),
        Some(("done".into(), 2))
    );
    assert_eq!(download(&ts, "leased", "1.0.0", None).await.0, 200);
    let _ = stop.send(true);
    worker.await.unwrap();

    // A poison job: every worker dies on it. After max_attempts claims it fails closed.
    assert_eq!(
        ts.add_plugin("trudy", PluginZip::valid("poison", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    for _ in 0..2 {
        loop {
            if jobs::claim(&state.db, "dying-worker", Duration::from_secs(1))
                .await
                .unwrap()
                .is_some()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(jobs::run_worker(state.clone(), "live-worker".into(), rx));
    let v = ts.wait_scanned("poison", "1.0.0").await;
    assert_eq!(v["validation_status"], "scan_error");
    assert_eq!(v["downloadable"], false);
    assert_eq!(download(&ts, "poison", "1.0.0", None).await.0, 401);
    assert_eq!(download(&ts, "poison", "1.0.0", Some("bob")).await.0, 403);
    assert_eq!(approve(&ts, "poison", "1.0.0", "staff").await.status(), 409);
    assert_eq!(
        ts.wait_mails("trudy@example.org", "Scan error: poison 1.0.0")
            .await
            .len(),
        1
    );
    // Admins find it; others cannot list versions across plugins.
    let list: Value = ts
        .get("/api/versions?status=scan_error")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["versions"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["versions"][0]["plugin"], "poison");
    let r = ts
        .get("/api/versions")
        .basic_auth("trudy", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let _ = stop.send(true);
    worker.await.unwrap();
    ts.stop().await;
}

async fn bundled_config_and_update_route(db: Db) {
    let ts = TestServer::start(db).await;
    let zip = PluginZip::valid("configured", "1.0.0")
        .with("check.py", "def f(x):\n    assert x\n    return x\n")
        .with(".bandit", "[bandit]\nskips = B101\n");
    assert_eq!(
        ts.add_plugin("alice", zip.bytes(), false).await.status(),
        201
    );
    let v = ts.wait_scanned("configured", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated_with_config");
    let scan: Value = ts
        .get("/api/plugins/configured/versions/1.0.0/scan")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        scan["scans"][0]["config_files"],
        serde_json::json!(["configured/.bandit"])
    );
    assert_eq!(
        approve(&ts, "configured", "1.0.0", "staff").await.status(),
        200
    );
    assert!(
        feed(&ts, "3.34")
            .await
            .contains("name=\"configured plugin\"")
    );

    // The update route checks the version in the URL against the ZIP.
    assert_eq!(
        ts.add_plugin(
            "alice",
            PluginZip::blocked("configured", "1.1.0").bytes(),
            false
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("configured", "1.1.0").await["validation_status"],
        "blocked"
    );
    let token = ts.create_token("alice", "configured").await;
    let r = ts
        .token_upload(
            "/plugins/api/configured/version/1.1.0/update/",
            &format!("Bearer {token}"),
            PluginZip::valid("configured", "1.2.0").bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = ts
        .token_upload(
            "/plugins/api/configured/version/1.1.0/update/",
            &format!("Bearer {token}"),
            PluginZip::valid("configured", "1.1.0").bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        ts.wait_scanned("configured", "1.1.0").await["validation_status"],
        "validated"
    );
    ts.stop().await;
}

async fn signed_in_session_uploads(db: Db) {
    let ts = TestServer::start(db).await;
    let r = ts
        .post("/api/session")
        .json(&serde_json::json!({ "username": "alice", "password": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = ts
        .post("/api/session")
        .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_string();
    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("via_form", "1.0.0").bytes()),
        )
        .text("skip_security_rules", "B101");
    let r = ts
        .post("/plugins/add/")
        .header("Cookie", &session)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["skipped_rules"], serde_json::json!(["B101"]));
    let me: Value = ts
        .get("/api/session")
        .header("Cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    let r = ts
        .client
        .delete(format!("{}/api/session", ts.url))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let form = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(PluginZip::valid("via_form", "1.1.0").bytes()),
    );
    let r = ts
        .post("/plugins/via_form/version/add/")
        .header("Cookie", &session)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "signed out");
    ts.stop().await;
}

async fn queued_jobs_survive_a_restart(db: Db) {
    let ts = TestServer::start_with(db, |c| c.run_worker = false).await;
    assert_eq!(
        ts.add_plugin("trudy", PluginZip::valid("durable", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ts.version("durable", "1.0.0").await["validation_status"],
        "validating"
    );
    let ts = ts.restart(|c| c.run_worker = true).await;
    let v = ts.wait_scanned("durable", "1.0.0").await;
    assert_eq!(
        (v["validation_status"].as_str(), v["approved"].as_bool()),
        (Some("validated"), Some(true))
    );
    assert_eq!(download(&ts, "durable", "1.0.0", None).await.0, 200);
    ts.stop().await;
}

async fn editors_upload_and_rescan_but_do_not_manage(db: Db) {
    let ts = TestServer::start(db).await;
    assert_eq!(
        ts.add_plugin("alice", PluginZip::valid("shared", "1.0.0").bytes(), false)
            .await
            .status(),
        201
    );
    let member = |user: &'static str, who: &'static str, role: &'static str| {
        ts.post("/api/plugins/shared/members")
            .basic_auth(user, Some(PASSWORD))
            .json(&serde_json::json!({ "username": who, "role": role }))
            .send()
    };
    assert_eq!(
        member("bob", "bob", "owner").await.unwrap().status(),
        403,
        "non-owners cannot join"
    );
    assert_eq!(member("alice", "bob", "boss").await.unwrap().status(), 400);
    assert_eq!(
        member("alice", "nobody", "editor").await.unwrap().status(),
        404
    );
    assert_eq!(
        member("alice", "bob", "editor").await.unwrap().status(),
        200
    );

    // Editors upload and re-scan…
    assert_eq!(
        ts.add_plugin("bob", PluginZip::valid("shared", "1.1.0").bytes(), false)
            .await
            .status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("shared", "1.1.0").await["validation_status"],
        "validated"
    );
    let r = ts
        .post("/api/plugins/shared/versions/1.1.0/rescan")
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        download(&ts, "shared", "1.1.0", Some("bob")).await.0,
        200,
        "members fetch unapproved versions"
    );
    // …but manage neither tokens nor members.
    let r = ts
        .post("/api/tokens")
        .basic_auth("bob", Some(PASSWORD))
        .json(&serde_json::json!({ "plugin": "shared" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        member("bob", "staff", "editor").await.unwrap().status(),
        403
    );
    // The last owner cannot be removed; a removed editor loses access.
    let delete = |user: &'static str, who: &'static str| {
        ts.client
            .delete(format!("{}/api/plugins/shared/members/{who}", ts.url))
            .basic_auth(user, Some(PASSWORD))
            .send()
    };
    assert_eq!(delete("alice", "alice").await.unwrap().status(), 409);
    assert_eq!(delete("alice", "bob").await.unwrap().status(), 200);
    assert_eq!(
        ts.add_plugin("bob", PluginZip::valid("shared", "1.2.0").bytes(), false)
            .await
            .status(),
        403
    );
    ts.stop().await;
}
