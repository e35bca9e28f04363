//! Real clients and servers written by others: Python's `xmlrpc.client` uploading over
//! XML-RPC, `qgis-plugin-manager` installing from plugins.xml, and an `aiosmtpd` SMTP server
//! receiving the emails. They need `VETTED_TEST_PYTHON` (a Python with aiosmtpd and
//! qgis-plugin-manager); without it these tests fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, TestServer, free_port, test_python};

fn python(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> (bool, String) {
    let out = Command::new(test_python())
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("running the test Python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const XMLRPC_CLIENT: &str = r#"
import json, sys, xmlrpc.client
url, path = sys.argv[1], sys.argv[2]
proxy = xmlrpc.client.ServerProxy(url)
with open(path, "rb") as f:
    data = f.read()
try:
    result = proxy.plugin.upload(xmlrpc.client.Binary(data))
    print(json.dumps({"ok": result}))
except xmlrpc.client.Fault as e:
    print(json.dumps({"fault": [e.faultCode, e.faultString]}))
except xmlrpc.client.ProtocolError as e:
    print(json.dumps({"protocol_error": e.errcode}))
"#;

fn xmlrpc_upload(ts: &TestServer, user: &str, password: &str, zip: &[u8]) -> serde_json::Value {
    let dir = ts.dir.path();
    let path = dir.join("upload.zip");
    std::fs::write(&path, zip).unwrap();
    let url = ts
        .url
        .replace("http://", &format!("http://{user}:{password}@"))
        + "/plugins/RPC2/";
    let (ok, out) = python(
        &["-c", XMLRPC_CLIENT, &url, path.to_str().unwrap()],
        &[],
        dir,
    );
    assert!(ok, "{out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_xmlrpc_client_uploads() {
    let ts = TestServer::start(Db::Sqlite).await;
    let zip = PluginZip::valid("rpc_client", "1.0.0").bytes();
    let ts_ref = &ts;
    let answer = tokio::task::block_in_place(|| xmlrpc_upload(ts_ref, "alice", PASSWORD, &zip));
    let ids = answer["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(ids.len(), 2);
    let v = ts.wait_scanned("rpc_client", "1.0.0").await;
    assert_eq!(ids[1], v["id"]);
    assert_eq!(v["validation_status"], "validated");

    let answer = tokio::task::block_in_place(|| {
        xmlrpc_upload(ts_ref, "alice", PASSWORD, b"definitely not a zip")
    });
    assert_eq!(answer["fault"][0], 1, "{answer}");
    let message = answer["fault"][1].as_str().unwrap();
    assert!(
        message.starts_with("File upload must be a valid QGIS Python plugin compressed archive."),
        "{message}"
    );
    let answer = tokio::task::block_in_place(|| xmlrpc_upload(ts_ref, "alice", "wrong", &zip));
    assert_eq!(answer["protocol_error"], 401, "{answer}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qgis_plugin_manager_installs_the_approved_plugin() {
    let ts = TestServer::start(Db::Sqlite).await;
    let approved = PluginZip::valid("qpm_ok", "1.2.0").set_metadata("name", "QpmOk");
    assert_eq!(
        ts.add_plugin("trudy", approved.bytes(), true)
            .await
            .status(),
        201
    );
    let pending = PluginZip::valid("qpm_pending", "1.0.0").set_metadata("name", "QpmPending");
    assert_eq!(
        ts.add_plugin("alice", pending.bytes(), false)
            .await
            .status(),
        201
    );
    let blocked = PluginZip::blocked("qpm_blocked", "1.0.0").set_metadata("name", "QpmBlocked");
    assert_eq!(
        ts.add_plugin("trudy", blocked.bytes(), true).await.status(),
        201
    );
    assert_eq!(ts.wait_scanned("qpm_ok", "1.2.0").await["approved"], true);
    assert_eq!(
        ts.wait_scanned("qpm_pending", "1.0.0").await["approved"],
        false
    );
    assert_eq!(
        ts.wait_scanned("qpm_blocked", "1.0.0").await["validation_status"],
        "blocked"
    );

    let plugins_dir = ts.dir.path().join("qgis-plugins");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    std::fs::write(
        plugins_dir.join("sources.list"),
        format!("{}/plugins/plugins.xml?qgis=[VERSION]\n", ts.url),
    )
    .unwrap();
    let cache = ts.dir.path().join("qpm-cache");
    let cache = cache.to_str().unwrap().to_string();
    let env = [
        ("QGIS_PLUGIN_MANAGER_QGIS_VERSION", "3.34.0"),
        ("QGIS_PLUGIN_MANAGER_CACHE_DIR", cache.as_str()),
    ];
    let dir = plugins_dir.clone();
    let (ok, out) = tokio::task::block_in_place(|| {
        python(&["-m", "qgis_plugin_manager", "update"], &env, &dir)
    });
    assert!(ok, "update failed: {out}");
    let (ok, out) = tokio::task::block_in_place(|| {
        python(
            &["-m", "qgis_plugin_manager", "install", "QpmOk"],
            &env,
            &dir,
        )
    });
    assert!(ok, "install failed: {out}");
    let metadata = std::fs::read_to_string(plugins_dir.join("qpm_ok/metadata.txt"))
        .unwrap_or_else(|e| panic!("plugin not installed ({e}): {out}"));
    assert!(metadata.contains("version=1.2.0"));
    // Versions that are not published are not in the feed, so cannot be installed.
    for name in ["QpmPending", "QpmBlocked"] {
        let (_, out) = tokio::task::block_in_place(|| {
            python(&["-m", "qgis_plugin_manager", "install", name], &env, &dir)
        });
        assert!(
            !plugins_dir.join(name.to_lowercase()).exists()
                && !plugins_dir.join("qpm_pending").exists()
                && !plugins_dir.join("qpm_blocked").exists(),
            "{name} installed: {out}"
        );
    }
    let v = ts.version("qpm_ok", "1.2.0").await;
    assert_eq!(v["downloads"], 1, "the client's download is counted");
    ts.stop().await;
}

/// An aiosmtpd process storing each message in a Maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new(test_python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
                maildir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    async fn wait_for(&self, to: &str, subject: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.contains(&format!("To: {to}")) && common::subject(m).contains(subject))
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no email {subject:?} to {to}; got {:#?}",
                self.messages()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_arrive_over_real_smtp() {
    let smtp_dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(smtp_dir.path());
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    })
    .await;
    assert_eq!(
        ts.add_plugin("alice", PluginZip::valid("mailed", "1.0.0").bytes(), false)
            .await
            .status(),
        201
    );
    let receipt = smtp
        .wait_for("alice@example.org", "Received mailed 1.0.0")
        .await;
    assert!(receipt.contains("security scan is queued"));
    smtp.wait_for("alice@example.org", "Validated: mailed 1.0.0")
        .await;
    smtp.wait_for("staff@example.org", "Approval needed: mailed 1.0.0")
        .await;

    assert_eq!(
        ts.add_plugin(
            "alice",
            PluginZip::blocked("mailed_bad", "1.0.0").bytes(),
            false
        )
        .await
        .status(),
        201
    );
    let blocked = smtp
        .wait_for("alice@example.org", "Blocked: mailed_bad 1.0.0")
        .await;
    assert!(blocked.contains("B602"), "{blocked}");
    assert!(
        !blocked.contains("AKIAZ3MSJV4WWHCQCNOP"),
        "secret masked: {blocked}"
    );
    assert!(
        ts.outbox().is_empty(),
        "with SMTP configured nothing goes to the outbox"
    );
    ts.stop().await;
}
