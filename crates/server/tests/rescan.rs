//! Catalogue re-scans (`vetted admin rescan`): the dry run changes nothing and lists exactly the
//! versions whose status the current rules would change; the real run changes just those, on
//! SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::{Db, PASSWORD, PluginZip, TestServer};
use vetted_server::rescan::{self, Selection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    catalogue_rescan(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    catalogue_rescan(Db::Postgres).await
}

async fn set_severity(ts: &TestServer, code: &str, severity: &str) {
    let r = ts
        .client
        .put(format!("{}/api/rules/{code}", ts.url))
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({ "severity": severity }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn run_batch(ts: &TestServer, selection: &Selection) -> rescan::Batch {
    let batch = rescan::enqueue(ts.state(), selection).await.unwrap();
    let start = std::time::Instant::now();
    loop {
        let p = rescan::progress(ts.state(), &batch).await.unwrap();
        if p.queued + p.running == 0 {
            assert_eq!(p.finished(), batch.jobs as i64, "{p:?}");
            return batch;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "re-scans never finished: {p:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scans(ts: &TestServer, plugin: &str, version: &str) -> usize {
    let scan: serde_json::Value = ts
        .get(&format!("/api/plugins/{plugin}/versions/{version}/scan"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    scan["scans"].as_array().unwrap().len()
}

async fn catalogue_rescan(db: Db) {
    let ts = TestServer::start(db).await;
    // Admin severities decide alone under plugins.qgis.org's policy (under `vetted`, Bandit's
    // own LOW rating of B101 sends it to review instead; see the needs-review case below).
    ts.state()
        .db
        .set_policy(vetted_scan::Policy::Qgis)
        .await
        .unwrap();
    let asserts = || {
        PluginZip::valid("asserts", "1.0.0")
            .with("check.py", "def f(x):\n    assert x\n    return x\n")
    };
    assert_eq!(
        ts.add_plugin("alice", asserts().bytes(), false)
            .await
            .status(),
        201
    );
    assert_eq!(
        ts.add_plugin("bob", PluginZip::valid("plain", "2.0.0").bytes(), false)
            .await
            .status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("asserts", "1.0.0").await["validation_status"],
        "validated"
    );
    assert_eq!(
        ts.wait_scanned("plain", "2.0.0").await["validation_status"],
        "validated"
    );
    let r = ts
        .post("/api/plugins/asserts/versions/1.0.0/approve")
        .basic_auth("staff", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The admin makes B101 critical. The dry run scans both versions and names the one that
    // would be blocked, with the rule that blocks it; nothing changes.
    set_severity(&ts, "B101", "critical").await;
    let all = Selection::default();
    let plan = rescan::plan(ts.state(), &all, 2, || {}).await.unwrap();
    assert_eq!(plan.scanned, 2);
    assert_eq!(plan.unchanged, 1);
    assert!(plan.failures.is_empty(), "{:?}", plan.failures);
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
    let c = &plan.changes[0];
    assert_eq!(
        (c.plugin.as_str(), c.version.as_str()),
        ("asserts", "1.0.0")
    );
    assert_eq!((c.from.as_str(), c.to.as_str()), ("validated", "blocked"));
    assert!(c.approved);
    assert_eq!(c.critical, vec!["B101".to_string()]);
    let v = ts.version("asserts", "1.0.0").await;
    assert_eq!(
        v["validation_status"], "validated",
        "a dry run changes nothing"
    );
    assert_eq!(v["approved"], true);
    assert_eq!(
        scans(&ts, "asserts", "1.0.0").await,
        1,
        "a dry run stores nothing"
    );

    // The real run: every version gets a new report; only the changed verdict moves a status,
    // and the approval goes with it.
    let before = rescan::versions(ts.state(), &all).await.unwrap();
    let batch = run_batch(&ts, &all).await;
    assert_eq!(batch.jobs, 2);
    assert!(
        rescan::failures(ts.state(), &batch)
            .await
            .unwrap()
            .is_empty()
    );
    let after = rescan::versions(ts.state(), &all).await.unwrap();
    let changes = rescan::compare(&before, &after);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].plugin, "asserts");
    let v = ts.version("asserts", "1.0.0").await;
    assert_eq!(v["validation_status"], "blocked");
    assert_eq!(v["approved"], false, "a blocked version loses its approval");
    assert_eq!(scans(&ts, "asserts", "1.0.0").await, 2);
    assert_eq!(scans(&ts, "plain", "2.0.0").await, 2);
    assert_eq!(
        ts.version("plain", "2.0.0").await["validation_status"],
        "validated"
    );
    let r = ts
        .get("/plugins/asserts/version/1.0.0/download/")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200, "a blocked version is not downloadable");
    let feed = ts
        .get("/plugins/plugins.xml?qgis=3.40")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!feed.contains("name=\"asserts"), "{feed}");
    assert!(
        !ts.wait_mails("alice@example.org", "[Vetted] Blocked: asserts 1.0.0")
            .await
            .is_empty(),
        "the uploader hears of the change"
    );

    // Back to a warning: a re-scan of just that plugin validates it again; the approval does
    // not come back by itself, an approver is asked.
    set_severity(&ts, "B101", "warning").await;
    let only = Selection {
        plugins: vec!["asserts".into()],
    };
    let plan = rescan::plan(ts.state(), &only, 1, || {}).await.unwrap();
    assert_eq!(plan.scanned, 1);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].to, "validated");
    let staff_before = ts
        .mails("staff@example.org", "Approval needed: asserts")
        .len();
    let batch = run_batch(&ts, &only).await;
    assert_eq!(batch.jobs, 1);
    let v = ts.version("asserts", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated");
    assert_eq!(v["approved"], false);
    assert_eq!(
        scans(&ts, "plain", "2.0.0").await,
        2,
        "other plugins are left alone"
    );
    let start = std::time::Instant::now();
    while ts
        .mails("staff@example.org", "Approval needed: asserts")
        .len()
        <= staff_before
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no approver notice"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Under the `vetted` policy the same critical B101 goes to review (Bandit rates it LOW):
    // the catalogue re-scan moves the approved version to `needs_review` and withdraws the
    // approval until an approver gives a reason.
    let r = ts
        .post("/api/plugins/asserts/versions/1.0.0/approve")
        .basic_auth("staff", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    set_severity(&ts, "B101", "critical").await;
    ts.state()
        .db
        .set_policy(vetted_scan::Policy::Vetted)
        .await
        .unwrap();
    let plan = rescan::plan(ts.state(), &only, 1, || {}).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
    assert_eq!(plan.changes[0].to, "needs_review");
    run_batch(&ts, &only).await;
    let v = ts.version("asserts", "1.0.0").await;
    assert_eq!(v["validation_status"], "needs_review");
    assert_eq!(v["approved"], false);

    // An unknown plugin is an error, not an empty re-scan.
    let bad = Selection {
        plugins: vec!["nope".into()],
    };
    assert!(rescan::enqueue(ts.state(), &bad).await.is_err());
    ts.stop().await;
}
