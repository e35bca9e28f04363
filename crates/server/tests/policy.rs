//! The verdict policy in the repository, over HTTP on SQLite and PostgreSQL: a new repository
//! decides with `vetted`; a version that needs review is never approved automatically, is not
//! served until approved, and approving it takes a reason; the admin's preview re-decides the
//! stored reports under the other policy and changes nothing.

mod common;

use common::{Db, PASSWORD, PluginZip, TestServer};
use vetted_scan::Policy;

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

on_both_databases!(needs_review_waits_for_a_reasoned_approval);

/// A password Bandit rates low: the `vetted` policy sends it to review.
fn with_review_item(package: &str, version: &str) -> PluginZip {
    PluginZip::valid(package, version).with("settings.py", "password = \"Xk9#mQ2v!p\"\n")
}

/// A literal `git` command run with `shell=True`: plugins.qgis.org blocks it, `vetted` passes it.
fn with_noise(package: &str, version: &str) -> PluginZip {
    PluginZip::valid(package, version).with(
        "about.py",
        "import subprocess\n\n\ndef version():\n    return subprocess.check_output(\"git describe\", shell=True)\n",
    )
}

async fn approve(
    ts: &TestServer,
    plugin: &str,
    version: &str,
    body: Option<&str>,
) -> reqwest::Response {
    let mut req = ts
        .post(&format!("/api/plugins/{plugin}/versions/{version}/approve"))
        .basic_auth("staff", Some(PASSWORD));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    req.send().await.unwrap()
}

async fn feed(ts: &TestServer) -> String {
    ts.get("/plugins/plugins.xml?qgis=3.34")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn needs_review_waits_for_a_reasoned_approval(db: Db) {
    let ts = TestServer::start(db).await;
    let state = ts.state().clone();
    assert_eq!(state.db.policy().await.unwrap(), Policy::Vetted);

    // A trusted user asks to publish immediately: review items still wait for a person.
    assert_eq!(
        ts.add_plugin("trudy", with_review_item("careful", "1.0.0").bytes(), true)
            .await
            .status(),
        201
    );
    let v = ts.wait_scanned("careful", "1.0.0").await;
    assert_eq!(v["validation_status"], "needs_review");
    assert_eq!(v["approved"], false);
    assert_eq!(
        ts.wait_mails(
            "trudy@example.org",
            "Validated, needs review: careful 1.0.0"
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        ts.wait_mails("staff@example.org", "Approval needed: careful 1.0.0")
            .await
            .len(),
        1
    );
    assert!(!feed(&ts).await.contains("careful"));
    let dl = ts
        .get("/plugins/careful/version/1.0.0/download/")
        .send()
        .await
        .unwrap();
    assert_ne!(dl.status(), 200);

    let scan: serde_json::Value = ts
        .get("/api/plugins/careful/versions/1.0.0/scan")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["report"]["policy"]["name"], "vetted");
    assert_eq!(scan["report"]["verdict"], "review");

    // No reason, an empty reason or garbage: refused, nothing approved.
    assert_eq!(approve(&ts, "careful", "1.0.0", None).await.status(), 400);
    assert_eq!(
        approve(&ts, "careful", "1.0.0", Some(r#"{"reason": "  "}"#))
            .await
            .status(),
        400
    );
    assert_eq!(
        approve(&ts, "careful", "1.0.0", Some("not json"))
            .await
            .status(),
        400
    );
    assert_eq!(ts.version("careful", "1.0.0").await["approved"], false);
    let r = approve(
        &ts,
        "careful",
        "1.0.0",
        Some(r#"{"reason": "test account password for the demo server, no access"}"#),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(ts.version("careful", "1.0.0").await["approved"], true);
    let scan: serde_json::Value = ts
        .get("/api/plugins/careful/versions/1.0.0/scan")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        scan["approval_reason"],
        "test account password for the demo server, no access"
    );
    assert!(feed(&ts).await.contains("careful"));

    // Noise plugins.qgis.org would block is validated; the blocked fixture stays blocked.
    ts.add_plugin("alice", with_noise("noisy", "1.0.0").bytes(), false)
        .await;
    assert_eq!(
        ts.wait_scanned("noisy", "1.0.0").await["validation_status"],
        "validated"
    );
    ts.add_plugin("alice", PluginZip::blocked("bad", "1.0.0").bytes(), false)
        .await;
    assert_eq!(
        ts.wait_scanned("bad", "1.0.0").await["validation_status"],
        "blocked"
    );

    // Previewing the qgis policy lists what would change, and changes nothing.
    let changes = vetted_server::scan_job::preview_policy(&state.db, Policy::Qgis)
        .await
        .unwrap();
    let mut listed: Vec<(String, String, String)> = changes
        .iter()
        .map(|c| (c.plugin.clone(), c.from.clone(), c.to.clone()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("careful".into(), "needs_review".into(), "blocked".into()),
            ("noisy".into(), "validated".into(), "blocked".into()),
        ]
    );
    assert!(
        vetted_server::scan_job::preview_policy(&state.db, Policy::Vetted)
            .await
            .unwrap()
            .is_empty(),
        "the current policy changes nothing"
    );
    assert_eq!(
        ts.version("noisy", "1.0.0").await["validation_status"],
        "validated"
    );
    assert_eq!(state.db.policy().await.unwrap(), Policy::Vetted);
    state.db.set_policy(Policy::Qgis).await.unwrap();
    assert_eq!(state.db.policy().await.unwrap(), Policy::Qgis);
    ts.stop().await;
}
