//! An upload carrying an AWS access key, an AWS secret key and a password, through a real
//! `vetted serve` logging at debug level: none of the three full secrets appears in any web
//! page, JSON answer, email (`outbox/*.eml`), the server's log or the stored report, while the
//! findings that name them are there (masked).

#[path = "../../server/tests/common/mod.rs"]
mod common;
mod harness;

use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, config_for, free_port};
use vetted_server::Role;

const ACCESS_KEY: &str = "AKIAZ3MSJV4WWHCQCNOP";
const SECRET_KEY: &str = "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";
const PASSWORD_LITERAL: &str = "Tr0ub4dor-horse-battery-staple";

fn leaks(what: &str, text: &str) -> Vec<String> {
    [ACCESS_KEY, SECRET_KEY, PASSWORD_LITERAL]
        .iter()
        .filter(|s| text.contains(*s))
        .map(|s| format!("{what} contains {s}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leave_unmasked() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(Db::Sqlite, dir.path()).await;
    for (name, role) in [("admin", Role::Admin), ("alice", Role::Plain)] {
        vetted_server::create_user(
            config.clone(),
            name,
            &format!("{name}@example.org"),
            PASSWORD,
            role,
        )
        .await
        .unwrap();
    }
    let data = config.data_dir.to_str().unwrap().to_string();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("serve.log");
    let server = harness::spawn(
        &[
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data",
            &data,
        ],
        &[("RUST_LOG", "debug")],
        &log_path,
    );
    vetted_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let t = Instant::now();
    while client.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let zip = PluginZip::valid("leaky", "1.0.0")
        .with(
            "settings.py",
            &format!(
                "AWS_ACCESS_KEY_ID = \"{ACCESS_KEY}\"\naws_secret_access_key = \"{SECRET_KEY}\"\n\n\
                 def connect(db):\n    password = \"{PASSWORD_LITERAL}\"\n    return db.login(\"admin\", password)\n"
            ),
        )
        .bytes();
    let form = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(zip).file_name("leaky.zip"),
    );
    let r = client
        .post(format!("{url}/plugins/add/"))
        .basic_auth("alice", Some(PASSWORD))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut problems = leaks("upload answer", &r.text().await.unwrap());

    let get = |path: String, user: &'static str| {
        let rq = client
            .get(format!("{url}{path}"))
            .basic_auth(user, Some(PASSWORD));
        async move {
            let r = rq.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let t = Instant::now();
    let version = loop {
        let (_, body) = get("/api/plugins/leaky/versions/1.0.0".into(), "admin").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["validation_status"] != "validating" {
            break v;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "scan did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(version["validation_status"], "blocked", "{version}");

    // JSON answers, to the uploader and to the admin.
    let mut scan_json = String::new();
    for user in ["alice", "admin"] {
        for path in [
            "/api/plugins/leaky",
            "/api/plugins/leaky/versions/1.0.0",
            "/api/plugins/leaky/versions/1.0.0/scan",
            "/api/versions?status=blocked",
        ] {
            let (status, body) = get(path.to_string(), user).await;
            assert!(
                status == 200 || (status == 403 && path.starts_with("/api/versions")),
                "{path}: {status}"
            );
            problems.extend(leaks(&format!("{path} as {user}"), &body));
            if path.ends_with("/scan") {
                scan_json = body;
            }
        }
    }
    // The findings are there, masked.
    assert!(scan_json.contains("AWSKeyDetector"), "{scan_json}");
    assert!(
        scan_json.contains("AKIA"),
        "a masked key keeps its prefix: {scan_json}"
    );
    assert!(
        scan_json.contains("B105") || scan_json.contains("KeywordDetector"),
        "{scan_json}"
    );

    // Web pages, signed in by session (the uploader and the admin).
    for user in ["alice", "admin"] {
        let mut web = common::web::WebClient {
            base: url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        };
        web.sign_in(user).await;
        for path in [
            "/plugins/leaky/",
            "/plugins/leaky/version/1.0.0/",
            "/queue",
            "/account",
            "/plugins/?status=blocked",
        ] {
            let (status, body) = web.page(path).await;
            assert!(
                status == 200 || (status == 403 && path == "/queue"),
                "{path}: {status}"
            );
            problems.extend(leaks(&format!("page {path} as {user}"), &body));
        }
    }

    // Emails.
    let outbox = config.outbox_dir();
    let mut mails = 0;
    let t = Instant::now();
    while mails == 0 && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        mails = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    }
    assert!(mails > 0, "no email written");
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        problems.extend(leaks(&format!("email {}", path.display()), &text));
    }

    // The stored report, straight from the database.
    let db = vetted_server::db::Db::connect(&config).await.unwrap();
    let reports: Vec<String> = sqlx::query_scalar("SELECT report FROM scans")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(!reports.is_empty());
    for r in &reports {
        problems.extend(leaks("stored report", r));
    }
    db.pool.close().await;

    // The log, once the server is gone.
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("DEBUG") || log.contains("request"),
        "the log was captured: {log}"
    );
    problems.extend(leaks("server log", &log));

    assert!(
        problems.is_empty(),
        "secrets leaked:\n{}",
        problems.join("\n")
    );
}
