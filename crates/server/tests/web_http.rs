//! The web pages over plain HTTP (no browser): CSRF refusals, error pages (404, 403 with the
//! reason, 413), admin pages closed to everyone but admins, security headers and cookies, and
//! user input escaped on every page that shows it.

mod common;

use common::web::{WebClient, csrf_in};
use common::{Db, PASSWORD, PluginZip, TestServer};

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn is_html(r: &reqwest::Response) -> bool {
    header(r, "content-type").starts_with("text/html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_are_refused() {
    let ts = TestServer::start(Db::Sqlite).await;
    let mut alice = WebClient::new(&ts);

    // Sign-in itself needs the token of the form cookie the sign-in page hands out.
    let r = alice
        .post_form("/sign-in", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), 403);
    assert!(is_html(&r));
    assert!(!alice.cookies.iter().any(|(n, _)| n == "vetted_session"));
    alice.sign_in("alice").await;

    // Signed in: a form posted without a token, or with another browser's, is a 403 and does
    // nothing.
    let mut other = WebClient::new(&ts);
    other.sign_in("bob").await;
    let foreign = other.csrf("/account").await;
    let own = alice.csrf("/account").await;
    assert_ne!(foreign, own, "tokens are per session");
    for fields in [
        vec![],
        vec![("csrf_token", "")],
        vec![("csrf_token", "not-the-token")],
        vec![("csrf_token", foreign.as_str())],
    ] {
        let r = alice.post_form("/sign-out", &fields).await;
        assert_eq!(r.status(), 403, "{fields:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains("security token"), "{body}");
    }
    let (status, _) = alice.page("/account").await;
    assert_eq!(status, 200, "still signed in after the refused sign-outs");

    // Same for a token request and an upload.
    let r = alice
        .post_form("/account/tokens", &[("plugin", "x"), ("description", "d")])
        .await;
    assert_eq!(r.status(), 403);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", "wrong")
        .part(
            "package",
            reqwest::multipart::Part::bytes(PluginZip::valid("csrf_plugin", "1.0").bytes())
                .file_name("p.zip"),
        );
    let r = alice
        .http
        .post(format!("{}/upload", ts.url))
        .header("cookie", format!("vetted_session={}", session(&alice)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ts
        .get("/api/plugins/csrf_plugin")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the refused upload stored nothing");

    // With the right token the same form works.
    let r = alice
        .post_form("/sign-out", &[("csrf_token", own.as_str())])
        .await;
    assert_eq!(r.status(), 303);
    let r = alice.get("/account").await;
    assert_eq!(
        r.status(),
        303,
        "signed out: the account page sends to sign-in"
    );
    ts.stop().await;
}

fn session(c: &WebClient) -> String {
    c.cookies
        .iter()
        .find(|(n, _)| n == "vetted_session")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_are_html_with_the_reason() {
    let ts = TestServer::start_with(Db::Sqlite, |c| c.max_upload_bytes = 64 * 1024).await;
    let mut alice = WebClient::new(&ts);

    let r = alice.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    assert!(is_html(&r));
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("There is no page at /no/such/page")
    );
    let r = alice.get("/plugins/nothing_here/").await;
    assert_eq!(r.status(), 404);
    assert!(is_html(&r));
    let r = alice.get("/docs/rules/NOPE999").await;
    assert_eq!(r.status(), 404);
    // The JSON API keeps its JSON errors.
    let r = alice.get("/api/nothing").await;
    assert_eq!(r.status(), 404);
    assert!(header(&r, "content-type").starts_with("application/json"));

    alice.sign_in("alice").await;
    let r = alice.get("/queue").await;
    assert_eq!(r.status(), 403);
    assert!(is_html(&r));
    assert!(r.text().await.unwrap().contains("Only staff approvers"));

    // 413: a ZIP over the limit, and a body over the limit plus the multipart allowance (cut
    // off by the body limit; only a little over, so the whole body is sent before the answer).
    let token = alice.csrf("/upload").await;
    for size in [100 * 1024, (1024 + 96) * 1024] {
        let big = PluginZip::valid("big_plugin", "1.0")
            .with("data.bin", &"x".repeat(size))
            .bytes();
        let mut raw = PluginZip::valid("big_plugin", "1.0");
        // Stored, not deflated, so the ZIP really is that big.
        raw.files.push(("noise.txt".into(), pseudo_random(size)));
        let bytes = if big.len() > size {
            big
        } else {
            stored_zip(&raw)
        };
        assert!(bytes.len() > 64 * 1024);
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .part(
                "package",
                reqwest::multipart::Part::bytes(bytes).file_name("big.zip"),
            );
        let r = alice
            .http
            .post(format!("{}/upload", ts.url))
            .header("cookie", format!("vetted_session={}", session(&alice)))
            .multipart(form)
            .send()
            .await;
        // A declared length over the body limit is refused (413) before the body is read and
        // the connection closed: a client still writing the body may see the connection end
        // instead of the page. Within the limit, the page says why.
        let r = match r {
            Err(e) if size > 1024 * 1024 && e.is_request() => continue,
            r => r.unwrap(),
        };
        assert_eq!(r.status(), 413, "size {size}");
        assert!(is_html(&r));
        let text = r.text().await.unwrap_or_default();
        assert!(
            text.contains("larger than this repository accepts")
                || (size > 1024 * 1024 && text.is_empty()),
            "{text}"
        );
    }
    ts.stop().await;
}

/// Bytes that deflate does not shrink.
fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn stored_zip(p: &PluginZip) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in &p.files {
        w.start_file(format!("{}/{name}", p.package), opts).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_reach_admin_pages() {
    let ts = TestServer::start(Db::Sqlite).await;
    let mut anonymous = WebClient::new(&ts);
    let r = anonymous.get("/admin/rules").await;
    assert_eq!(r.status(), 303);
    assert!(header(&r, "location").starts_with("/sign-in?next=/admin/rules"));

    for user in ["alice", "staff", "trudy"] {
        let mut c = WebClient::new(&ts);
        c.sign_in(user).await;
        for page in ["/admin/rules", "/admin/users"] {
            let r = c.get(page).await;
            assert_eq!(r.status(), 403, "{user} {page}");
            assert!(r.text().await.unwrap().contains("Only admins"));
        }
        // Posting the admin forms with a valid token changes nothing either.
        let token = c.csrf("/account").await;
        let r = c
            .post_form(
                "/admin/rules",
                &[
                    ("csrf_token", &token),
                    ("action", "disable"),
                    ("code", "B602"),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{user}");
        let r = c
            .post_form("/admin/users/3", &[("csrf_token", &token), ("admin", "on")])
            .await;
        assert_eq!(r.status(), 403, "{user}");
    }
    let rule: serde_json::Value = ts
        .get("/api/rules/B602")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rule["enabled"], true);
    let alice: serde_json::Value = ts
        .get("/api/session")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alice["admin"], false);

    // The admin gets the pages, and their bulk action works.
    let mut admin = WebClient::new(&ts);
    admin.sign_in("admin").await;
    let (status, body) = admin.page("/admin/rules?family=bandit").await;
    assert_eq!(status, 200);
    assert!(body.contains("B602"));
    assert!(!body.contains(">E501<"), "filtered to Bandit");
    let token = csrf_in(&body).unwrap();
    let r = admin
        .post_form(
            "/admin/rules",
            &[
                ("csrf_token", &token),
                ("action", "warning"),
                ("code", "B602"),
                ("code", "B102"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Roles: the admin makes alice trusted and an approver from the users page.
    let (status, users) = admin.page("/admin/users").await;
    assert_eq!(status, 200);
    let alice_id: i64 = users
        .split("<td>alice</td>")
        .nth(1)
        .and_then(|rest| rest.split("action=\"/admin/users/").nth(1))
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("a roles form for alice");
    let r = admin
        .post_form(
            &format!("/admin/users/{alice_id}"),
            &[
                ("csrf_token", &token),
                ("trusted", "on"),
                ("approver", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let me: serde_json::Value = ts
        .get("/api/session")
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            me["trusted"].clone(),
            me["staff"].clone(),
            me["admin"].clone()
        ),
        (true.into(), true.into(), false.into()),
        "{me}"
    );
    for code in ["B602", "B102"] {
        let rule: serde_json::Value = ts
            .get(&format!("/api/rules/{code}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rule["severity"], "warning", "{code}");
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_and_cookies() {
    let ts = TestServer::start(Db::Sqlite).await;
    let mut c = WebClient::new(&ts);
    for path in ["/plugins/", "/sign-in", "/docs/", "/no/such/page"] {
        let r = c.get(path).await;
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "same-origin", "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("<script>"), "{path}: no inline script");
        assert!(!body.contains(" style=\""), "{path}: no inline style");
    }
    let token = c.csrf("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", &token),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let cookie = header(&r, "set-cookie");
    assert!(cookie.starts_with("vetted_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    // A wrong password is a page saying so, no cookie.
    let mut d = WebClient::new(&ts);
    let token = d.csrf("/sign-in").await;
    let r = d
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", &token),
                ("username", "alice"),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("wrong user name or password")
    );
    let ts = ts.restart(|c| c.secure_cookies = true).await;
    let mut c = WebClient::new(&ts);
    let r = c.get("/sign-in").await;
    assert!(header(&r, "set-cookie").contains("Secure"));
    ts.stop().await;
}

const HOSTILE: &str = "<script>alert('x')</script><b>bold</b>";

async fn hostile_metadata_is_escaped_everywhere(db: Db) {
    let ts = TestServer::start(db).await;
    let mut plugin = PluginZip::valid("hostile", "1.0.0");
    for (name, content) in &mut plugin.files {
        if name == "metadata.txt" {
            let text = String::from_utf8(content.clone())
                .unwrap()
                .replace("name=hostile plugin", &format!("name=Hostile {HOSTILE}"))
                .replace(
                    "description=A small",
                    &format!("description=Description {HOSTILE} A small"),
                )
                .replace("about=Adds", &format!("about=About {HOSTILE} Adds"))
                .replace("tags=sample,test", &format!("tags=maps,{HOSTILE}"))
                // metadata.txt refuses '/' in the author, so no closing tag here.
                .replace("author=Vetted developers", "author=Author <script>alert(2)");
            *content = text.into_bytes();
        }
    }
    let zip = plugin.bytes();
    let r = ts.add_plugin("alice", zip, false).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v = ts.wait_scanned("hostile", "1.0.0").await;
    assert!(
        v["validation_status"] == "validated" || v["validation_status"] == "validated_with_config",
        "{v}"
    );
    let mut staff = WebClient::new(&ts);
    staff.sign_in("staff").await;
    let mut alice = WebClient::new(&ts);
    alice.sign_in("alice").await;
    let pages = [
        ("staff", "/queue"),
        ("alice", "/plugins/"),
        ("alice", "/plugins/?tag=maps"),
        ("alice", "/plugins/hostile/"),
        ("alice", "/plugins/hostile/version/1.0.0/"),
        ("alice", "/plugins/hostile/version/1.0.0/?tab=details"),
    ];
    for (user, path) in pages {
        let client = if user == "staff" {
            &mut staff
        } else {
            &mut alice
        };
        let (status, body) = client.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("Hostile &lt;script&gt;"),
            "{path} shows the name escaped"
        );
        assert!(
            !body.contains("<script>alert"),
            "{path} has a raw script tag"
        );
        assert!(!body.contains("<b>"), "{path} has raw HTML");
        assert!(!body.contains("<b>bold"), "{path} has raw HTML");
    }
    let (_, plugin_page) = alice.page("/plugins/hostile/").await;
    for field in [
        "Description &lt;script&gt;",
        "About &lt;script&gt;",
        "Author &lt;script&gt;",
    ] {
        assert!(plugin_page.contains(field), "plugin page shows {field}");
    }
    // Search terms are reflected in the search form, escaped.
    let (_, body) = alice
        .page("/plugins/?q=%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert!(!body.contains("<script>alert(1)"));
    assert!(body.contains("&lt;script&gt;alert(1)"));
    ts.stop().await;
}

mod hostile_metadata {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::hostile_metadata_is_escaped_everywhere(super::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::hostile_metadata_is_escaped_everywhere(super::Db::Postgres).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_once_listed_and_revoked_from_the_account_page() {
    let ts = TestServer::start(Db::Sqlite).await;
    let r = ts
        .add_plugin("alice", PluginZip::valid("tokened", "1.0.0").bytes(), false)
        .await;
    assert_eq!(r.status(), 201);
    let mut alice = WebClient::new(&ts);
    alice.sign_in("alice").await;
    let token = alice.csrf("/account").await;
    let r = alice
        .post_form(
            "/account/tokens",
            &[
                ("csrf_token", &token),
                ("plugin", "tokened"),
                ("description", "ci <pipeline>"),
                ("days", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let secret = body
        .split("<pre class=\"token\"><code>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the new token is shown")
        .to_string();
    assert!(secret.len() > 20);
    assert!(body.contains("ci &lt;pipeline&gt;"));
    // The token works for the API, and is not shown again.
    let r = ts
        .get("/api/session")
        .header("Authorization", format!("Token {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, again) = alice.page("/account").await;
    assert!(!again.contains(&secret));
    assert!(again.contains("active"));
    // Revoke it.
    let id: i64 = again
        .split("/account/tokens/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .expect("a revoke form");
    let r = alice
        .post_form(
            &format!("/account/tokens/{id}/revoke"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = ts
        .get("/api/session")
        .header("Authorization", format!("Token {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Bob owns nothing and cannot make a token for alice's plugin.
    let mut bob = WebClient::new(&ts);
    bob.sign_in("bob").await;
    let token = bob.csrf("/account").await;
    let r = bob
        .post_form(
            "/account/tokens",
            &[("csrf_token", &token), ("plugin", "tokened"), ("days", "3")],
        )
        .await;
    assert_eq!(r.status(), 403);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsing_searching_and_staff_actions() {
    let ts = TestServer::start(Db::Sqlite).await;
    let maps = PluginZip::valid("maps_tool", "1.0.0")
        .set_metadata("tags", "maps,raster")
        .set_metadata("author", "Ada Mapper");
    let other = PluginZip::valid("other_tool", "2.0.0").set_metadata("tags", "vector");
    for zip in [maps, other] {
        let r = ts.add_plugin("alice", zip.bytes(), false).await;
        assert_eq!(r.status(), 201);
        ts.wait_scanned(
            &zip.package,
            if zip.package == "maps_tool" {
                "1.0.0"
            } else {
                "2.0.0"
            },
        )
        .await;
    }
    let r = ts
        .add_plugin(
            "bob",
            PluginZip::blocked("bad_tool", "1.0.0").bytes(),
            false,
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        ts.wait_scanned("bad_tool", "1.0.0").await["validation_status"],
        "blocked"
    );

    // Nothing is approved: anonymous visitors see no plugin and no version page.
    let mut visitor = WebClient::new(&ts);
    let (_, body) = visitor.page("/plugins/").await;
    assert!(!body.contains("maps_tool") && !body.contains("bad_tool"));
    let (status, body) = visitor.page("/plugins/maps_tool/version/1.0.0/").await;
    assert_eq!(status, 404);
    assert!(
        body.contains("href=\"/sign-in?next=/plugins/maps_tool/version/1.0.0/\""),
        "a signed-out visitor is offered to sign in: {body}"
    );

    // Staff see everything; search by name, tag, author and status.
    let mut staff = WebClient::new(&ts);
    staff.sign_in("staff").await;
    let listed = |body: &str| {
        ["maps_tool", "other_tool", "bad_tool"]
            .into_iter()
            .filter(|p| body.contains(&format!("/plugins/{p}/")))
            .collect::<Vec<_>>()
    };
    for (query, want) in [
        ("", vec!["maps_tool", "other_tool", "bad_tool"]),
        ("?q=MAPS", vec!["maps_tool"]),
        ("?tag=vector", vec!["other_tool"]),
        ("?author=ada", vec!["maps_tool"]),
        ("?status=blocked", vec!["bad_tool"]),
        ("?status=validated", vec!["maps_tool", "other_tool"]),
    ] {
        let (status, body) = staff.page(&format!("/plugins/{query}")).await;
        assert_eq!(status, 200);
        let mut got = listed(&body);
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want, "{query}");
    }

    // The queue lists the two validated versions, not the blocked one; approving one from the
    // version page publishes it, unapproving withdraws it.
    let (_, queue) = staff.page("/queue").await;
    assert!(queue.contains("maps_tool") && queue.contains("other_tool"));
    assert!(!queue.contains("bad_tool"));
    let token = csrf_in(&queue).unwrap();
    let r = staff
        .post_form(
            "/plugins/maps_tool/version/1.0.0/approve",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, body) = visitor.page("/plugins/").await;
    assert!(body.contains("maps_tool") && !body.contains("other_tool"));
    let (status, page) = visitor.page("/plugins/maps_tool/version/1.0.0/").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"download\""));
    assert!(!page.contains("/rescan"), "visitors get no buttons");
    let r = staff
        .post_form(
            "/plugins/maps_tool/version/1.0.0/unapprove",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(visitor.page("/plugins/maps_tool/").await.0, 404);
    // A blocked version cannot be approved (409, with the reason).
    let r = staff
        .post_form(
            "/plugins/bad_tool/version/1.0.0/approve",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("blocked by the security scan")
    );

    // The new-version upload page is for the plugin's owners and editors.
    let mut bob = WebClient::new(&ts);
    bob.sign_in("bob").await;
    let r = bob.get("/plugins/maps_tool/upload").await;
    assert_eq!(r.status(), 403);
    let mut alice = WebClient::new(&ts);
    alice.sign_in("alice").await;
    let (status, body) = alice.page("/plugins/maps_tool/upload").await;
    assert_eq!(status, 200);
    assert!(body.contains("name=\"run_rule\" value=\"B101\""));
    assert!(
        !body.contains("publish_immediately"),
        "alice is not trusted"
    );
    // Posting it: boxes left ticked run, the one left out is skipped; a broken ZIP comes back
    // to the form with the validator's message.
    let token = csrf_in(&body).unwrap();
    let post = |zip: Vec<u8>, run: Vec<&'static str>| {
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token.clone());
        for code in ["B101", "B603", "B110"] {
            form = form.text("panel_rule", code);
        }
        for code in run {
            form = form.text("run_rule", code);
        }
        form = form.part(
            "package",
            reqwest::multipart::Part::bytes(zip).file_name("p.zip"),
        );
        alice
            .http
            .post(format!("{}/plugins/maps_tool/upload", ts.url))
            .header("cookie", format!("vetted_session={}", session(&alice)))
            .multipart(form)
            .send()
    };
    let r = post(b"not a zip".to_vec(), vec![]).await.unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"upload-error\""), "{page}");
    assert!(page.contains("valid QGIS Python plugin"), "{page}");
    assert!(page.contains("name=\"package\""), "the form is shown again");
    let zip = PluginZip::valid("maps_tool", "1.0.1").bytes();
    let r = post(zip, vec!["B101", "B110"]).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/plugins/maps_tool/version/1.0.1/");
    let v = ts.version("maps_tool", "1.0.1").await;
    assert_eq!(v["skipped_rules"], serde_json::json!(["B603"]), "{v}");

    let mut trudy = WebClient::new(&ts);
    trudy.sign_in("trudy").await;
    assert!(
        trudy
            .page("/upload")
            .await
            .1
            .contains("publish_immediately")
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_pages_come_from_the_catalog() {
    let ts = TestServer::start(Db::Sqlite).await;
    let mut c = WebClient::new(&ts);
    let (status, index) = c.page("/docs/").await;
    assert_eq!(status, 200);
    for code in ["B101", "AWSKeyDetector", "E501", "PKG_METADATA"] {
        assert!(
            index.contains(&format!("/docs/rules/{code}")),
            "{code} in the index"
        );
    }
    let (status, rule) = c.page("/docs/rules/B101").await;
    assert_eq!(status, 200);
    assert!(rule.contains("assert_used") || rule.contains("Assert used"));
    assert!(
        rule.contains("<h3>Bad</h3>") && rule.contains("<h3>Good</h3>"),
        "{rule}"
    );
    assert!(rule.contains("<pre class=\"example\"><code>assert layer.isValid()"));
    assert!(rule.contains("<code># nosec B101</code>"));
    let (status, config) = c.page("/docs/config").await;
    assert_eq!(status, 200);
    for needle in [
        "# nosec",
        "# noqa",
        ".secrets.baseline",
        "setup.cfg",
        "Validated (configured)",
    ] {
        assert!(config.contains(needle), "{needle}");
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_tab_shows_suppressions_config_and_capabilities() {
    let ts = TestServer::start(Db::Sqlite).await;
    let zip = PluginZip::valid("suppressed", "1.0.0")
        .set_metadata("capabilities", "network")
        .with(
            "tool.py",
            "import subprocess\n\n\ndef run(x):\n    assert x  # nosec\n    if x == None:\n        return None\n    return subprocess.call([\"ls\", \"-l\"])\n",
        )
        .with("setup.cfg", "[flake8]\nextend-ignore = E711\n");
    let form = reqwest::multipart::Form::new()
        .text("skip_security_rules", "B603")
        .part(
            "package",
            reqwest::multipart::Part::bytes(zip.bytes()).file_name("p.zip"),
        );
    let r = ts
        .post("/plugins/add/")
        .basic_auth("alice", Some(PASSWORD))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v = ts.wait_scanned("suppressed", "1.0.0").await;
    assert_eq!(v["validation_status"], "validated_with_config", "{v}");

    let mut alice = WebClient::new(&ts);
    alice.sign_in("alice").await;
    let (status, page) = alice.page("/plugins/suppressed/version/1.0.0/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Validated (configured)"));
    let section = |id: &str| {
        let start = page
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}"));
        let rest = &page[start..];
        let end = rest
            .find("</section>")
            .into_iter()
            .chain(rest.find("</details>"))
            .min()
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let summary = section("summary");
    assert!(summary.contains(">configured<"), "{summary}");
    assert!(summary.contains("setup.cfg"), "{summary}");
    assert!(summary.contains(">B603<"), "{summary}");
    let suppressed = section("suppressed");
    // (Findings a bundled config turns off are not in the report's `suppressed` list: the
    // scanner records the file instead, shown in the summary above.)
    for (code, how) in [("B101", "# nosec"), ("B603", "skipped at upload")] {
        let at = suppressed
            .find(&format!(">{code}<"))
            .unwrap_or_else(|| panic!("{code} suppressed: {suppressed}"));
        let finding_end = suppressed[at..]
            .find("</article>")
            .map_or(suppressed.len(), |e| at + e);
        assert!(
            suppressed[at..finding_end].contains(&format!("suppressed: {how}")),
            "{code} by {how}: {suppressed}"
        );
    }
    // Suppressed findings are not listed with the active ones.
    assert!(!section("check-bandit").contains(">B101<"));
    // The snippet shows the line, numbered and highlighted.
    assert!(
        suppressed
            .contains("<span class=\"line hl\"><span class=\"ln\">5</span>    assert x  # nosec"),
        "{suppressed}"
    );
    let audit = section("audit");
    assert!(audit.contains("subprocess.call"), "{audit}");
    assert!(audit.contains("suppressed/tool.py:8"), "{audit}");
    assert!(audit.contains("ls"), "{audit}");
    let declared_at = audit.find("Found but not declared").unwrap();
    assert!(audit[declared_at..].contains(">process<"), "{audit}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_blocked_version_says_its_report_is_old_while_rescanning() {
    let ts = TestServer::start_with(Db::Sqlite, |c| {
        c.test_scan_delay = Some(std::time::Duration::from_millis(1500));
    })
    .await;
    let r = ts
        .add_plugin(
            "alice",
            PluginZip::blocked("replaced", "1.0.0").bytes(),
            false,
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        ts.wait_scanned("replaced", "1.0.0").await["validation_status"],
        "blocked"
    );
    let r = ts
        .add_plugin(
            "alice",
            PluginZip::valid("replaced", "1.0.0").bytes(),
            false,
        )
        .await;
    assert_eq!(r.status(), 201);
    let mut alice = WebClient::new(&ts);
    alice.sign_in("alice").await;
    let (_, page) = alice.page("/plugins/replaced/version/1.0.0/").await;
    assert!(page.contains("data-status=\"validating\""), "{page}");
    assert!(page.contains("http-equiv=\"refresh\""));
    assert!(page.contains("from an earlier upload"), "{page}");
    assert_eq!(
        ts.wait_scanned("replaced", "1.0.0").await["validation_status"],
        "validated"
    );
    let (_, page) = alice.page("/plugins/replaced/version/1.0.0/").await;
    assert!(!page.contains("from an earlier upload"));
    assert!(!page.contains("http-equiv=\"refresh\""));
    assert!(page.contains("data-status=\"validated\""));
    ts.stop().await;
}

/// Under the `vetted` policy the Security tab names the policy, puts what it acts on first with
/// each finding's outcome and deciding rule, lists suppressions of such findings as the
/// author's claims, and the approve form asks for the approver's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_tab_explains_the_policy_and_approval_needs_a_reason() {
    let ts = TestServer::start(Db::Sqlite).await;
    let zip = PluginZip::valid("careful", "1.0.0")
        .with("settings.py", "password = \"Xk9#mQ2v!p\"\n")
        .with(
            "runner.py",
            "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)  # nosec\n",
        );
    assert_eq!(
        ts.add_plugin("alice", zip.bytes(), false).await.status(),
        201
    );
    assert_eq!(
        ts.wait_scanned("careful", "1.0.0").await["validation_status"],
        "needs_review"
    );
    let mut c = WebClient::new(&ts);
    c.sign_in("staff").await;
    let (status, page) = c.page("/plugins/careful/version/1.0.0/").await;
    assert_eq!(status, 200);
    let review = page
        .split("id=\"review\"")
        .nth(1)
        .expect("a Review first card")
        .split("</section>")
        .next()
        .unwrap();
    assert!(review.contains("vetted"), "{review}");
    assert!(
        review.contains("B105"),
        "the password goes to review: {review}"
    );
    assert!(review.contains("Decided by policy rule"), "{review}");
    assert!(review.contains(">review<"), "{review}");
    assert!(review.contains("Author's claims"), "{review}");
    assert!(
        review.contains("B602"),
        "the nosec'd shell call is a claim: {review}"
    );
    assert!(!page.contains("Xk9#mQ2v!p"), "the password is masked");
    assert!(
        page.contains("name=\"reason\""),
        "the approve form asks why"
    );

    // Without a reason the approval is refused with the reason why; with one it goes through.
    let token = c.csrf("/plugins/careful/version/1.0.0/").await;
    let r = c
        .post_form(
            "/plugins/careful/version/1.0.0/approve",
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("needs review"));
    assert_eq!(ts.version("careful", "1.0.0").await["approved"], false);
    let r = c
        .post_form(
            "/plugins/careful/version/1.0.0/approve",
            &[
                ("csrf_token", token.as_str()),
                (
                    "reason",
                    "the password is a sample value for the settings dialog",
                ),
            ],
        )
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(ts.version("careful", "1.0.0").await["approved"], true);

    let (status, policy) = c.page("/docs/policy").await;
    assert_eq!(status, 200);
    assert!(
        policy.contains("<table>") && policy.contains("qgis/critical"),
        "{policy}"
    );
    ts.stop().await;
}
