//! The curation admin pages over plain HTTP (no browser): upstreams (add, sync now), one
//! upstream's catalogue (search, paging, allow followed or pinned, disallow), conflicts, the
//! QGIS configuration (shown and downloadable), and the revoke form on a version page. Each is
//! closed to everyone but admins, refuses forms without the right CSRF token, and shows what a
//! hostile upstream sent as text.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::web::{WebClient, csrf_in};
use common::{Db, PluginZip, TestServer};

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

async fn static_server(files: Files) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let files = files.clone();
        async move {
            match files.lock().unwrap().get(uri.path()).cloned() {
                Some(bytes) => bytes.into_response(),
                None => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// One feed entry; `name`, `description`, `author` and `homepage` go in as given (the name
/// XML-escaped into its attribute, the others as CDATA).
fn entry(
    package: &str,
    version: &str,
    base: &str,
    name: &str,
    description: &str,
    author: &str,
    homepage: &str,
) -> String {
    let attr = name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        r#"<pyqgis_plugin name="{attr}" version="{version}" plugin_id="1">
  <description><![CDATA[{description}]]></description>
  <homepage><![CDATA[{homepage}]]></homepage>
  <file_name>{package}.{version}.zip</file_name>
  <author_name><![CDATA[{author}]]></author_name>
  <download_url>{base}/zips/{package}.{version}.zip</download_url>
  <create_date>2024-03-01T10:00:00.000000+00:00</create_date>
  <update_date>2024-03-02T10:00:00.000000+00:00</update_date>
  <experimental>False</experimental>
  <tags><![CDATA[web,tests]]></tags>
</pyqgis_plugin>
"#
    )
}

fn feed(entries: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plugins>\n{}</plugins>\n",
        entries.concat()
    )
    .into_bytes()
}

const HOSTILE_NAME: &str = "<script>alert(1)</script>";
const HOSTILE_DESCRIPTION: &str = "<img src=x onerror=alert(2)>";
const HOSTILE_AUTHOR: &str = "\"><svg onload=alert(4)>";
const HOSTILE_HOMEPAGE: &str = "javascript:alert(3)";

fn assert_escaped(html: &str) {
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<svg onload"), "{html}");
    assert!(!html.contains("href=\"javascript:"), "{html}");
}

/// Feed: a hostile plugin, a plain one (with a ZIP, to import), and one named like a local
/// plugin (a conflict).
async fn hostile_feed() -> (Files, String) {
    let files: Files = Default::default();
    let base = static_server(files.clone()).await;
    let entries = vec![
        entry(
            "hostile",
            "1.0",
            &base,
            HOSTILE_NAME,
            HOSTILE_DESCRIPTION,
            HOSTILE_AUTHOR,
            HOSTILE_HOMEPAGE,
        ),
        entry(
            "plain",
            "1.0",
            &base,
            "plain plugin",
            "A plain plugin",
            "Jo",
            "https://example.org/plain",
        ),
        entry(
            "clash",
            "2.0",
            &base,
            "clash plugin",
            "Same name as a local one",
            "Jo",
            "",
        ),
    ];
    let mut f = files.lock().unwrap();
    f.insert("/plugins.xml".into(), feed(&entries));
    f.insert(
        "/zips/plain.1.0.zip".into(),
        PluginZip::valid("plain", "1.0").bytes(),
    );
    drop(f);
    (files, format!("{base}/plugins.xml"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curation_pages_work_for_admins_and_escape_upstream_text() {
    let ts = TestServer::start(Db::Sqlite).await;
    let r = ts
        .add_plugin("alice", PluginZip::valid("clash", "0.5").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);
    let (_files, url) = hostile_feed().await;
    let mut admin = WebClient::new(&ts);
    admin.sign_in("admin").await;

    let (status, html) = admin.page("/plugins/").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/admin/upstreams\""), "admin nav");

    // Add through the form, then sync now.
    let token = admin.csrf("/admin/upstreams").await;
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[
                ("csrf_token", &token),
                ("name", "web-up"),
                ("url", &url),
                ("sync_interval", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = admin
        .post_form("/admin/upstreams/web-up/sync", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = admin.page("/admin/upstreams").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"upstreams\""), "{html}");
    assert!(
        html.contains("3 entries; 3 new, 0 changed, 0 gone"),
        "{html}"
    );

    // The catalogue: hostile text shown as text.
    let (status, html) = admin.page("/admin/upstreams/web-up").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(html.contains("javascript:alert(3)"), "shown as text");
    assert_escaped(&html);
    assert!(html.contains("3 entries · page 1 of 1"), "{html}");
    let (_, html) = admin.page("/admin/upstreams/web-up?q=alert(2)").await;
    assert!(html.contains("1 entries · page 1 of 1"), "{html}");
    assert_escaped(&html);
    let (_, html) = admin
        .page("/admin/upstreams/web-up?q=nothing-like-this")
        .await;
    assert!(html.contains("0 entries"), "{html}");
    let (status, _) = admin.page("/admin/upstreams/web-up?page=x").await;
    assert_eq!(status, 400);
    let (status, _) = admin.page("/admin/upstreams/missing").await;
    assert_eq!(status, 404);

    // Allow "plain" followed with approve validated updates; sync imports and approves it.
    let r = admin
        .post_form(
            "/admin/upstreams/web-up/allow",
            &[
                ("csrf_token", &token),
                ("package", "plain"),
                ("version", "1.0"),
                ("mode", "follow"),
                ("approve_validated", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = admin
        .post_form(
            "/admin/upstreams/web-up/allow",
            &[
                ("csrf_token", &token),
                ("package", "clash"),
                ("version", "2.0"),
                ("mode", "pin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = admin
        .post_form(
            "/admin/upstreams/web-up/allow",
            &[
                ("csrf_token", &token),
                ("package", "../x"),
                ("mode", "follow"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .post_form("/admin/upstreams/web-up/sync", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(ts.wait_scanned("plain", "1.0").await["approved"], true);
    let (_, html) = admin.page("/admin/upstreams/web-up").await;
    assert!(html.contains("id=\"allowed\""), "{html}");
    assert!(
        html.contains("followed") && html.contains("pinned to 2.0"),
        "{html}"
    );
    assert!(html.contains("id=\"imports\""), "{html}");
    assert!(
        html.contains("conflict"),
        "the clash import is refused: {html}"
    );

    // Conflicts.
    let (status, html) = admin.page("/admin/conflicts").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"conflicts\""), "{html}");
    assert!(
        html.contains(">clash<") && html.contains("yes: imports refused"),
        "{html}"
    );
    assert!(
        !html.contains(">plain<"),
        "an import is not a conflict: {html}"
    );

    // Disallow.
    let r = admin
        .post_form(
            "/admin/upstreams/web-up/disallow",
            &[("csrf_token", &token), ("package", "clash")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = admin.page("/admin/upstreams/web-up").await;
    assert!(!html.contains("pinned to 2.0"), "{html}");

    // The QGIS configuration, shown and downloadable.
    let (status, html) = admin.page("/admin/qgis-config?name=Our%20Repo").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("{}/plugins/plugins.xml", ts.url)),
        "{html}"
    );
    assert!(
        html.contains("plugin_repositories\\Our%20Repo\\enabled=true"),
        "{html}"
    );
    assert!(html.contains("QGIS_GLOBAL_SETTINGS_FILE"));
    let r = admin
        .get("/admin/qgis-config/qgis_global_settings.ini?name=Our%20Repo&authcfg=")
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment; filename=\"qgis_global_settings.ini\"")
    );
    let ini = r.text().await.unwrap();
    assert!(
        ini.contains("[app]") && ini.contains("Our%20Repo\\enabled=true"),
        "{ini}"
    );
    assert!(
        ini.contains("QGIS%20Official%20Plugin%20Repository\\enabled=false"),
        "{ini}"
    );
    let r = admin.get("/admin/qgis-config/vetted_repository.py").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("QgsSettings()"));
    let r = admin.get("/admin/qgis-config/../../etc/passwd").await;
    assert_ne!(r.status(), 200);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curation_pages_are_admin_only_and_csrf_checked() {
    let ts = TestServer::start(Db::Sqlite).await;
    let (_files, url) = hostile_feed().await;
    let mut admin = WebClient::new(&ts);
    admin.sign_in("admin").await;
    let token = admin.csrf("/admin/upstreams").await;

    // No token, a wrong token: refused, nothing added.
    let r = admin
        .post_form("/admin/upstreams", &[("name", "nope"), ("url", &url)])
        .await;
    assert_eq!(r.status(), 403);
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[("csrf_token", "forged"), ("name", "nope"), ("url", &url)],
        )
        .await;
    assert_eq!(r.status(), 403);
    let (_, html) = admin.page("/admin/upstreams").await;
    assert!(!html.contains("nope"), "{html}");
    // Bad input: clear errors.
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[("csrf_token", &token), ("name", "bad name!"), ("url", &url)],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[
                ("csrf_token", &token),
                ("name", "x"),
                ("url", "gopher://x"),
                ("sync_interval", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[
                ("csrf_token", &token),
                ("name", "x"),
                ("url", &url),
                ("sync_interval", "-5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .post_form(
            "/admin/upstreams",
            &[
                ("csrf_token", &token),
                ("name", "up"),
                ("url", &url),
                ("sync_interval", "3600"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = admin.page("/admin/upstreams").await;
    assert!(html.contains("every 1 h"), "{html}");
    for path in [
        "/admin/upstreams/up/sync",
        "/admin/upstreams/up/allow",
        "/admin/upstreams/up/disallow",
    ] {
        let r = admin
            .post_form(path, &[("package", "plain"), ("mode", "follow")])
            .await;
        assert_eq!(r.status(), 403, "{path} without a token");
    }

    // Staff and plain users: 403 on every page and form, even with their own valid token.
    for user in ["staff", "alice"] {
        let mut web = WebClient::new(&ts);
        web.sign_in(user).await;
        let (_, html) = web.page("/plugins/").await;
        assert!(!html.contains("href=\"/admin/upstreams\""), "{user} nav");
        let their_token = web.csrf("/account").await;
        for page in [
            "/admin/upstreams",
            "/admin/upstreams/up",
            "/admin/conflicts",
            "/admin/qgis-config",
            "/admin/qgis-config/qgis_global_settings.ini",
        ] {
            let (status, _) = web.page(page).await;
            assert_eq!(status, 403, "{user} {page}");
        }
        for (path, fields) in [
            (
                "/admin/upstreams",
                vec![("name", "mine"), ("url", url.as_str())],
            ),
            ("/admin/upstreams/up/sync", vec![]),
            (
                "/admin/upstreams/up/allow",
                vec![("package", "plain"), ("mode", "follow")],
            ),
            ("/admin/upstreams/up/disallow", vec![("package", "plain")]),
        ] {
            let mut fields = fields;
            fields.push(("csrf_token", their_token.as_str()));
            let r = web.post_form(path, &fields).await;
            assert_eq!(r.status(), 403, "{user} {path}");
        }
    }
    // Signed out: no page.
    let mut anon = WebClient::new(&ts);
    for page in ["/admin/upstreams", "/admin/conflicts", "/admin/qgis-config"] {
        let (status, html) = anon.page(page).await;
        assert_ne!(status, 200, "{page}");
        assert!(!html.contains("Sync now"));
    }
    let (_, html) = admin.page("/admin/upstreams").await;
    assert!(!html.contains("mine"), "{html}");
    assert_eq!(
        vetted_server::upstream::import::allowed(&ts.state().db, 1)
            .await
            .unwrap()
            .len(),
        0
    );
    ts.stop().await;
}

/// The revoke and un-revoke buttons on a version page: admins only, CSRF-checked, a reason
/// required; the page then shows who revoked it and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_page_revoke_form() {
    let ts = TestServer::start(Db::Sqlite).await;
    let r = ts
        .add_plugin("trudy", PluginZip::valid("served", "1.0").bytes(), true)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(ts.wait_scanned("served", "1.0").await["approved"], true);
    let page = "/plugins/served/version/1.0/";

    let mut staff = WebClient::new(&ts);
    staff.sign_in("staff").await;
    let (_, html) = staff.page(page).await;
    assert!(
        !html.contains("/revoke\""),
        "no revoke form for staff: {html}"
    );
    let token = csrf_in(&html).unwrap();
    let r = staff
        .post_form(
            &format!("{page}revoke"),
            &[("csrf_token", &token), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status(), 403);

    let mut admin = WebClient::new(&ts);
    admin.sign_in("admin").await;
    let (_, html) = admin.page(page).await;
    assert!(html.contains(&format!("action=\"{page}revoke\"")), "{html}");
    let token = csrf_in(&html).unwrap();
    let r = admin
        .post_form(&format!("{page}revoke"), &[("reason", "no token")])
        .await;
    assert_eq!(r.status(), 403);
    let r = admin
        .post_form(
            &format!("{page}revoke"),
            &[("csrf_token", &token), ("reason", " ")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(ts.version("served", "1.0").await["revoked"], false);
    let r = admin
        .post_form(
            &format!("{page}revoke"),
            &[
                ("csrf_token", &token),
                ("reason", "<i>leaks</i> credentials"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = admin.page(page).await;
    assert!(html.contains("Revoked by admin"), "{html}");
    assert!(
        html.contains("&lt;i&gt;leaks&lt;/i&gt; credentials"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"{page}unrevoke\"")));
    assert!(
        !html.contains(&format!("action=\"{page}approve\"")),
        "no approve while revoked"
    );
    assert!(!html.contains("id=\"download\""));
    let r = ts
        .get("/plugins/served/version/1.0/download/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    let r = admin
        .post_form(&format!("{page}unrevoke"), &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), 303);
    let v = ts.version("served", "1.0").await;
    assert_eq!(v["revoked"], false);
    assert_eq!(v["approved"], false);
    ts.stop().await;
}
