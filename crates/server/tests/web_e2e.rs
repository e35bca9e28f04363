//! The web UI in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, installed by scripts/setup-server-test; the driver's path
//! comes from `VETTED_TEST_CHROMEDRIVER`, and this test fails without it). It signs in, uploads
//! through the form with a rule unticked, watches the scan finish, approves as staff, finds the
//! plugin in plugins.xml; uploads a plugin with an AWS key and sees it blocked with the key
//! masked; has an admin disable a rule and sees the next scan honour it. Screenshots of both
//! Security tabs, at 1280 and 390 px, go to target/web-screenshots/.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Db, PASSWORD, PluginZip, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The full AWS key in the blocked plugin: it must never reach a page.
const AWS_KEY: &str = "AKIAZ3MSJV4WWHCQCNOP";

/// A chromedriver this test started; stopped (by its own handle) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let path = std::env::var("VETTED_TEST_CHROMEDRIVER").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| {
            panic!(
                "VETTED_TEST_CHROMEDRIVER is not set: the browser tests need chromedriver \
                 (scripts/setup-server-test installs Debian's chromium-driver; scripts/test-server exports it)"
            )
        });
        let port = common::free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {path}: {e}"));
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self) -> Client {
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--hide-scrollbars"]
        });
        let binary =
            std::env::var("VETTED_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if Path::new(&binary).exists() {
            options["binary"] = json!(binary);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let start = Instant::now();
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&self.url)
                .await
            {
                Ok(c) => return c,
                Err(e) if start.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no browser session from chromedriver at {}: {e}", self.url),
            }
        }
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn js_u64(b: &Client, script: &str) -> u64 {
    b.execute(script, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(0)
}

/// Saves the whole page at `width` px, and checks nothing sticks out sideways.
async fn screenshot(b: &Client, name: &str, width: u32) {
    b.set_window_size(width, 900).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let inner = js_u64(b, "return window.innerWidth").await;
    assert!(
        inner <= u64::from(width),
        "{name}: the viewport is {inner} px, wanted {width}"
    );
    let scroll = js_u64(b, "return document.documentElement.scrollWidth").await;
    assert!(
        scroll <= inner,
        "{name}: the page is {scroll} px wide in a {inner} px window"
    );
    let height = js_u64(b, "return document.documentElement.scrollHeight").await;
    b.set_window_size(width, (height as u32).clamp(600, 8000) + 100)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let png = b.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let path = screenshot_dir().join(format!("{name}-{width}.png"));
    std::fs::write(&path, png).unwrap();
    b.set_window_size(1280, 1000).await.unwrap();
}

async fn sign_in(b: &Client, ts: &TestServer, user: &str) {
    b.goto(&format!("{}/sign-in", ts.url)).await.unwrap();
    b.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(b, "header .who a[href='/account']", 10).await;
}

async fn sign_out(b: &Client) {
    b.find(Locator::Css("header form[action='/sign-out'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(b, "header .who a[href='/sign-in']", 10).await;
}

/// Waits for an element (the page may reload itself meanwhile).
async fn wait_for(b: &Client, css: &str, seconds: u64) -> fantoccini::elements::Element {
    let start = Instant::now();
    loop {
        if let Ok(e) = b.find(Locator::Css(css)).await {
            return e;
        }
        if start.elapsed() > Duration::from_secs(seconds) {
            let source = b.source().await.unwrap_or_default();
            panic!(
                "no {css} after {seconds} s on {:?}:\n{source}",
                b.current_url().await.ok()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Uploads `zip` through the upload form, unticking the given rules; returns the page it lands on.
async fn upload(b: &Client, ts: &TestServer, zip: &PluginZip, untick: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{}.zip", zip.package));
    std::fs::write(&path, zip.bytes()).unwrap();
    b.goto(&format!("{}/upload", ts.url)).await.unwrap();
    b.find(Locator::Css("input[type=file][name=package]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    let total: usize = text(b, "#rules-running").await.parse().unwrap();
    assert!(total > 10, "the rules panel lists the skippable rules");
    for code in untick {
        let boxed = b.find(Locator::Css(&format!("#run-{code}"))).await.unwrap();
        assert!(boxed.is_selected().await.unwrap(), "{code} starts ticked");
        boxed.click().await.unwrap();
    }
    // The counter follows the boxes (the page's only script).
    let running: usize = text(b, "#rules-running").await.parse().unwrap();
    assert_eq!(running, total - untick.len());
    if !untick.is_empty() {
        screenshot(b, "upload-form", 390).await;
    }
    b.find(Locator::Css("main form[enctype] > button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let want = format!("/plugins/{}/version/", zip.package);
    let start = Instant::now();
    loop {
        let url = b.current_url().await.unwrap().to_string();
        if url.contains(&want) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "upload did not land on the version page: {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_upload_scan_approve_block_and_rules() {
    let driver = Driver::start();
    // The pause before each scan lets the browser see `Validating` first.
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.test_scan_delay = Some(Duration::from_millis(2500));
    })
    .await;
    let b = driver.browser().await;

    // ---- a clean plugin, B101 unticked
    sign_in(&b, &ts, "alice").await;
    let clean = PluginZip::valid("e2e_clean", "1.0.0");
    let version_url = upload(&b, &ts, &clean, &["B101"]).await;
    assert_eq!(text(&b, "span.badge[data-status]").await, "Validating");
    let source = b.source().await.unwrap();
    assert!(
        source.contains("http-equiv=\"refresh\""),
        "the page reloads itself while validating"
    );
    // The page reloads itself until the verdict is in.
    wait_for(&b, "span.badge[data-status='validated']", 60).await;
    let summary = text(&b, "#summary").await;
    assert!(summary.contains("B101"), "skipped rule listed: {summary}");
    assert!(text(&b, "#stats").await.contains("files scanned"));
    assert!(
        b.find_all(Locator::Css("#download"))
            .await
            .unwrap()
            .is_empty(),
        "not approved yet"
    );
    assert!(
        b.find_all(Locator::Css("form[action$='approve'] button"))
            .await
            .unwrap()
            .is_empty(),
        "authors do not approve"
    );
    screenshot(&b, "security-validated", 1280).await;
    screenshot(&b, "security-validated", 390).await;

    // ---- staff approve; the plugin is in plugins.xml
    sign_out(&b).await;
    sign_in(&b, &ts, "staff").await;
    b.goto(&format!("{}/queue", ts.url)).await.unwrap();
    assert!(text(&b, "#queue").await.contains("e2e_clean"));
    b.goto(&version_url).await.unwrap();
    b.find(Locator::Css("form[action$='/approve'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "#download", 10).await;
    assert!(text(&b, "p.status").await.contains("Approved"));
    let feed = ts
        .get("/plugins/plugins.xml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("e2e_clean"), "{feed}");
    b.goto(&format!("{}/plugins/", ts.url)).await.unwrap();
    screenshot(&b, "plugin-list", 390).await;

    // ---- a plugin with a hard-coded AWS key is blocked, the key masked
    sign_out(&b).await;
    sign_in(&b, &ts, "alice").await;
    let secret = PluginZip::blocked("e2e_secret", "1.0.0");
    let blocked_url = upload(&b, &ts, &secret, &[]).await;
    wait_for(&b, "span.badge[data-status='blocked']", 60).await;
    let secrets = text(&b, "#check-secrets").await;
    assert!(secrets.contains("AWSKeyDetector"), "{secrets}");
    assert!(
        secrets.contains("AKIA"),
        "the masked key is shown: {secrets}"
    );
    let source = b.source().await.unwrap();
    assert!(
        !source.contains(AWS_KEY),
        "the full key is in the page source"
    );
    assert!(
        b.find_all(Locator::Css("#download"))
            .await
            .unwrap()
            .is_empty()
    );
    let bandit = text(&b, "#check-bandit").await;
    assert!(bandit.contains("B602"), "{bandit}");
    screenshot(&b, "security-blocked", 1280).await;
    screenshot(&b, "security-blocked", 390).await;

    // ---- an admin disables B602; the next scan honours it
    sign_out(&b).await;
    sign_in(&b, &ts, "admin").await;
    b.goto(&blocked_url).await.unwrap();
    let approve = b
        .find(Locator::Css("form[action$='/approve'] button"))
        .await
        .unwrap();
    assert!(
        approve.attr("disabled").await.unwrap().is_some(),
        "blocked versions cannot be approved"
    );
    assert!(text(&b, ".reason").await.contains("blocked"));
    b.goto(&format!("{}/admin/rules?family=bandit", ts.url))
        .await
        .unwrap();
    b.find(Locator::Css("#select-B602"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Css("select[name=action]"))
        .await
        .unwrap()
        .select_by_value("disable")
        .await
        .unwrap();
    b.find(Locator::Css("div.bulk button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "table#rules", 10).await;
    screenshot(&b, "admin-rules", 390).await;
    let rule: serde_json::Value = ts
        .get("/api/rules/B602")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rule["enabled"], false, "{rule}");
    b.goto(&blocked_url).await.unwrap();
    b.find(Locator::Css("form[action$='/rescan'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        b.goto(&blocked_url).await.unwrap();
        let rows = b.find_all(Locator::Css("#history tbody tr")).await.unwrap();
        if rows.len() == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the re-scan did not finish"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let bandit = text(&b, "#check-bandit").await;
    assert!(!bandit.contains("B602"), "B602 was disabled: {bandit}");
    assert!(text(&b, "#check-secrets").await.contains("AWSKeyDetector"));

    b.close().await.unwrap();
    ts.stop().await;
}
