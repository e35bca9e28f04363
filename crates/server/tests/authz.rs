//! The authorization matrix: every route of the router × every kind of caller (anonymous, a
//! signed-in stranger, the plugin's owner and editor, a staff approver, a trusted uploader, an
//! admin, the plugin's token, another plugin's token, a revoked and an expired token), people
//! both by session cookie and by Basic auth, on SQLite and PostgreSQL. Each request's status is
//! compared with the expected one, and a refused request must leave the database as it was.
//! The routes are read from the router's sources: a route added without a row here fails
//! `every_route_is_in_the_matrix`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{Db, PASSWORD, PluginZip, TestServer};
use serde_json::{Value, json};
use sha2::Digest;
use vetted_server::Role;
use vetted_server::config::Limits;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anon,
    Stranger,
    Owner,
    Editor,
    Staff,
    Trusted,
    Admin,
    /// The owner's token for the plugin under test.
    Token,
    /// A token of another plugin.
    ForeignToken,
    Revoked,
    Expired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Nothing,
    Basic,
    Session,
    Token,
}

use Who::*;

const PEOPLE: [Who; 6] = [Stranger, Owner, Editor, Staff, Trusted, Admin];

fn callers() -> Vec<(Who, Via)> {
    let mut out = vec![(Anon, Via::Nothing)];
    for p in PEOPLE {
        out.push((p, Via::Basic));
        out.push((p, Via::Session));
    }
    for t in [Token, ForeignToken, Revoked, Expired] {
        out.push((t, Via::Token));
    }
    out
}

fn user_of(who: Who) -> &'static str {
    match who {
        Stranger => "bob",
        Owner | Token => "alice",
        Editor => "carol",
        Staff => "staff",
        Trusted => "trudy",
        Admin => "admin",
        ForeignToken => "bob",
        _ => "",
    }
}

fn bad_token(who: Who) -> bool {
    matches!(who, Revoked | Expired)
}

fn token(who: Who) -> bool {
    matches!(who, Token | ForeignToken | Revoked | Expired)
}

/// What a request sends.
enum Body {
    None,
    Json(Value),
    /// A URL-encoded form; a session caller's CSRF token is added.
    Form(Vec<(&'static str, String)>),
    /// A multipart upload of `zip(n)`; a session caller's CSRF token is added.
    Upload(fn(u32) -> Vec<u8>),
    /// XML-RPC `plugin.upload` of `zip(n)`.
    XmlRpc(fn(u32) -> Vec<u8>),
}

struct Case {
    method: &'static str,
    pattern: &'static str,
    path: String,
    body: Body,
    expect: Box<dyn Fn(Who, Via) -> u16>,
}

fn case(
    method: &'static str,
    pattern: &'static str,
    path: impl Into<String>,
    body: Body,
    expect: impl Fn(Who, Via) -> u16 + 'static,
) -> Case {
    Case {
        method,
        pattern,
        path: path.into(),
        body,
        expect: Box::new(expect),
    }
}

/// Everyone gets `status` (routes that never look at credentials).
fn all(status: u16) -> impl Fn(Who, Via) -> u16 {
    move |_, _| status
}

/// JSON API with credentials looked at: anonymous `anon`, bad tokens 401, else `f`.
fn api(anon: u16, f: impl Fn(Who) -> u16) -> impl Fn(Who, Via) -> u16 {
    move |who, _| match who {
        Anon => anon,
        w if bad_token(w) => 401,
        w => f(w),
    }
}

/// A web page: tokens count as signed out; signed-out callers get `anon` (303 to sign-in for
/// pages that need it).
fn page(anon: u16, f: impl Fn(Who) -> u16) -> impl Fn(Who, Via) -> u16 {
    move |who, _| {
        if who == Anon || token(who) {
            anon
        } else {
            f(who)
        }
    }
}

/// A web form POST behind sign-in: signed out 303 to sign-in; `before_csrf` decides refusals
/// made before the CSRF check (permission on the plugin); Basic callers have no CSRF secret
/// (403); session callers get `f`.
fn form(
    before_csrf: impl Fn(Who) -> Option<u16>,
    f: impl Fn(Who) -> u16,
) -> impl Fn(Who, Via) -> u16 {
    move |who, via| {
        if who == Anon || token(who) {
            return 303;
        }
        if let Some(s) = before_csrf(who) {
            return s;
        }
        if via == Via::Session { f(who) } else { 403 }
    }
}

fn one_of(who: Who, allowed: &[Who], yes: u16, no: u16) -> u16 {
    if allowed.contains(&who) { yes } else { no }
}

fn zip(package: &str, version: &str) -> Vec<u8> {
    PluginZip::valid(package, version).bytes()
}

/// Fixture ids.
struct World {
    v1: i64,
    v2: i64,
    v3: i64,
    plugin: i64,
    bob: i64,
    dave: i64,
    victim_token: i64,
    rule: String,
    tokens: Vec<(Who, String)>,
    sessions: Vec<(Who, i64, String)>,
}

fn cases(w: &World) -> Vec<Case> {
    let owners = [Owner, Admin];
    let editors = [Owner, Editor, Admin, Token];
    let staff = [Staff, Admin];
    let insiders = [Owner, Editor, Staff, Admin, Token];
    let victim = w.victim_token;
    let dave = w.dave;
    let rule = w.rule.clone();
    vec![
        // ---- uploads
        case(
            "POST",
            "/plugins/{package}/version/add/",
            "/plugins/authz/version/add/",
            Body::Upload(|n| zip("authz", &format!("9.{n}.0"))),
            api(401, move |w| one_of(w, &editors, 201, 403)),
        ),
        case(
            "POST",
            "/plugins/api/{package}/version/add/",
            "/plugins/api/authz/version/add/",
            Body::Upload(|n| zip("authz", &format!("9.{n}.0"))),
            api(401, move |w| one_of(w, &editors, 201, 403)),
        ),
        // Allowed callers pass the permission check and meet the existing version (409).
        case(
            "POST",
            "/plugins/api/{package}/version/{version}/update/",
            "/plugins/api/authz/version/2.0.0/update/",
            Body::Upload(|_| zip("authz", "2.0.0")),
            api(401, move |w| one_of(w, &editors, 409, 403)),
        ),
        case(
            "POST",
            "/plugins/add/",
            "/plugins/add/",
            Body::Upload(|n| zip(&format!("newp{n}"), "1.0.0")),
            api(401, |w| if token(w) { 403 } else { 201 }),
        ),
        case(
            "POST",
            "/plugins/RPC2/",
            "/plugins/RPC2/",
            Body::XmlRpc(|n| zip(&format!("rpcp{n}"), "1.0.0")),
            |who, _| if who == Anon || token(who) { 401 } else { 200 },
        ),
        // ---- files and feeds
        case(
            "GET",
            "/plugins/{package}/version/{version}/download/",
            "/plugins/authz/version/2.0.0/download/",
            Body::None,
            api(401, move |w| one_of(w, &insiders, 200, 403)),
        ),
        case(
            "GET",
            "/plugins/{package}/version/{version}/download/",
            "/plugins/authz/version/1.0.0/download/",
            Body::None,
            all(200),
        ),
        case(
            "GET",
            "/plugins/plugins.xml",
            "/plugins/plugins.xml",
            Body::None,
            all(200),
        ),
        // ---- JSON API
        case(
            "GET",
            "/api/session",
            "/api/session",
            Body::None,
            api(401, |_| 200),
        ),
        case(
            "POST",
            "/api/session",
            "/api/session",
            Body::Json(json!({ "username": "bob", "password": PASSWORD })),
            all(200),
        ),
        case(
            "DELETE",
            "/api/session",
            "/api/session",
            Body::None,
            all(204),
        ),
        case("GET", "/api/plugins", "/api/plugins", Body::None, all(200)),
        case(
            "GET",
            "/api/plugins/{name}",
            "/api/plugins/authz",
            Body::None,
            api(200, |_| 200),
        ),
        case(
            "GET",
            "/api/plugins/{name}/versions/{version}",
            "/api/plugins/authz/versions/2.0.0",
            Body::None,
            api(404, move |w| one_of(w, &insiders, 200, 404)),
        ),
        case(
            "GET",
            "/api/plugins/{name}/versions/{version}",
            "/api/plugins/authz/versions/1.0.0",
            Body::None,
            api(200, |_| 200),
        ),
        case(
            "GET",
            "/api/plugins/{name}/versions/{version}/scan",
            "/api/plugins/authz/versions/2.0.0/scan",
            Body::None,
            api(404, move |w| one_of(w, &insiders, 200, 404)),
        ),
        case(
            "POST",
            "/api/plugins/{name}/versions/{version}/approve",
            "/api/plugins/authz/versions/3.0.0/approve",
            Body::None,
            api(401, move |w| one_of(w, &staff, 200, 403)),
        ),
        case(
            "POST",
            "/api/plugins/{name}/versions/{version}/rescan",
            "/api/plugins/authz/versions/2.0.0/rescan",
            Body::None,
            api(401, move |w| one_of(w, &editors, 202, 403)),
        ),
        case(
            "POST",
            "/api/plugins/{name}/members",
            "/api/plugins/authz/members",
            Body::Json(json!({ "username": "bob", "role": "editor" })),
            api(401, move |w| one_of(w, &owners, 200, 403)),
        ),
        case(
            "DELETE",
            "/api/plugins/{name}/members/{username}",
            "/api/plugins/authz/members/dave",
            Body::None,
            api(401, move |w| one_of(w, &owners, 200, 403)),
        ),
        case(
            "GET",
            "/api/versions",
            "/api/versions",
            Body::None,
            api(401, move |w| one_of(w, &staff, 200, 403)),
        ),
        case(
            "POST",
            "/api/tokens",
            "/api/tokens",
            Body::Json(json!({ "plugin": "authz" })),
            api(401, move |w| one_of(w, &owners, 201, 403)),
        ),
        case(
            "GET",
            "/api/tokens",
            "/api/tokens?plugin=authz",
            Body::None,
            api(401, move |w| one_of(w, &owners, 200, 403)),
        ),
        case(
            "DELETE",
            "/api/tokens/{id}",
            format!("/api/tokens/{victim}"),
            Body::None,
            api(401, move |w| one_of(w, &owners, 204, 403)),
        ),
        case("GET", "/api/rules", "/api/rules", Body::None, all(200)),
        case(
            "GET",
            "/api/rules/{code}",
            format!("/api/rules/{rule}"),
            Body::None,
            all(200),
        ),
        case(
            "PUT",
            "/api/rules/{code}",
            format!("/api/rules/{rule}"),
            Body::Json(json!({ "enabled": true })),
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "GET",
            "/api/upload-form",
            "/api/upload-form",
            Body::None,
            api(401, |_| 200),
        ),
        case(
            "GET",
            "/api/upstreams",
            "/api/upstreams",
            Body::None,
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/api/upstreams",
            "/api/upstreams",
            Body::Json(json!({ "name": "elsewhere", "url": "file:///nonexistent/elsewhere.xml" })),
            api(401, |w| one_of(w, &[Admin], 201, 403)),
        ),
        case(
            "GET",
            "/api/upstreams/{name}",
            "/api/upstreams/nowhere",
            Body::None,
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/api/upstreams/{name}/sync",
            "/api/upstreams/nowhere/sync",
            Body::None,
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/api/upstreams/{name}/allow",
            "/api/upstreams/nowhere/allow",
            Body::Json(json!({ "package": "somewhere", "version": "1.0" })),
            api(401, |w| one_of(w, &[Admin], 201, 403)),
        ),
        case("GET", "/healthz", "/healthz", Body::None, all(200)),
        case("GET", "/readyz", "/readyz", Body::None, all(200)),
        case("GET", "/metrics", "/metrics", Body::None, all(200)),
        // ---- web pages
        case("GET", "/", "/", Body::None, all(303)),
        case(
            "GET",
            "/static/app.css",
            "/static/app.css",
            Body::None,
            all(200),
        ),
        case(
            "GET",
            "/static/app.js",
            "/static/app.js",
            Body::None,
            all(200),
        ),
        case(
            "GET",
            "/sign-in",
            "/sign-in",
            Body::None,
            page(200, |_| 303),
        ),
        case(
            "POST",
            "/sign-in",
            "/sign-in",
            Body::Form(vec![
                ("username", "bob".into()),
                ("password", PASSWORD.into()),
            ]),
            |_, via| if via == Via::Session { 303 } else { 403 },
        ),
        case(
            "POST",
            "/sign-out",
            "/sign-out",
            Body::Form(vec![]),
            |_, via| if via == Via::Session { 303 } else { 403 },
        ),
        case(
            "GET",
            "/account",
            "/account",
            Body::None,
            page(303, |_| 200),
        ),
        case(
            "POST",
            "/account/tokens",
            "/account/tokens",
            Body::Form(vec![("plugin", "authz".into()), ("days", "3".into())]),
            form(|_| None, move |w| one_of(w, &owners, 200, 403)),
        ),
        case(
            "POST",
            "/account/tokens/{id}/revoke",
            format!("/account/tokens/{victim}/revoke"),
            Body::Form(vec![]),
            form(|_| None, move |w| one_of(w, &owners, 303, 403)),
        ),
        case("GET", "/plugins/", "/plugins/", Body::None, all(200)),
        case(
            "GET",
            "/plugins/{package}/",
            "/plugins/authz/",
            Body::None,
            all(200),
        ),
        case(
            "GET",
            "/plugins/{package}/version/{version}/",
            "/plugins/authz/version/2.0.0/",
            Body::None,
            page(404, move |w| one_of(w, &insiders, 200, 404)),
        ),
        case(
            "POST",
            "/plugins/{package}/version/{version}/rescan",
            "/plugins/authz/version/2.0.0/rescan",
            Body::Form(vec![]),
            form(|_| None, move |w| one_of(w, &editors, 303, 403)),
        ),
        case(
            "POST",
            "/plugins/{package}/version/{version}/approve",
            "/plugins/authz/version/3.0.0/approve",
            Body::Form(vec![]),
            form(|_| None, move |w| one_of(w, &staff, 303, 403)),
        ),
        case(
            "POST",
            "/plugins/{package}/version/{version}/unapprove",
            "/plugins/authz/version/1.0.0/unapprove",
            Body::Form(vec![]),
            form(|_| None, move |w| one_of(w, &staff, 303, 403)),
        ),
        case("GET", "/upload", "/upload", Body::None, page(303, |_| 200)),
        case(
            "POST",
            "/upload",
            "/upload",
            Body::Upload(|n| zip(&format!("webp{n}"), "1.0.0")),
            form(|_| None, |_| 303),
        ),
        case(
            "GET",
            "/plugins/{package}/upload",
            "/plugins/authz/upload",
            Body::None,
            page(303, move |w| one_of(w, &editors, 200, 403)),
        ),
        case(
            "POST",
            "/plugins/{package}/upload",
            "/plugins/authz/upload",
            Body::Upload(|n| zip("authz", &format!("8.{n}.0"))),
            form(move |w| (!editors.contains(&w)).then_some(403), |_| 303),
        ),
        case(
            "GET",
            "/queue",
            "/queue",
            Body::None,
            page(303, move |w| one_of(w, &staff, 200, 403)),
        ),
        case(
            "GET",
            "/admin/rules",
            "/admin/rules",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/admin/rules",
            "/admin/rules",
            Body::Form(vec![("action", "enable".into()), ("code", rule.clone())]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case(
            "GET",
            "/admin/users",
            "/admin/users",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/admin/users/{id}",
            format!("/admin/users/{dave}"),
            Body::Form(vec![("trusted", "on".into())]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case("GET", "/docs/", "/docs/", Body::None, all(200)),
        case("GET", "/docs/config", "/docs/config", Body::None, all(200)),
        case("GET", "/docs/policy", "/docs/policy", Body::None, all(200)),
        case(
            "GET",
            "/docs/rules/{code}",
            format!("/docs/rules/{rule}"),
            Body::None,
            all(200),
        ),
        // Curation (issue #11): admins only.
        case(
            "GET",
            "/api/conflicts",
            "/api/conflicts",
            Body::None,
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "GET",
            "/api/upstreams/{name}/search",
            "/api/upstreams/nowhere/search?q=plugin",
            Body::None,
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/api/upstreams/{name}/schedule",
            "/api/upstreams/nowhere/schedule",
            Body::Json(json!({ "sync_interval": 3600 })),
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        // The allow row above allowed `somewhere`: the first admin takes it back, the second
        // finds nothing to disallow.
        case(
            "POST",
            "/api/upstreams/{name}/disallow",
            "/api/upstreams/nowhere/disallow",
            Body::Json(json!({ "package": "somewhere" })),
            |who, via| match who {
                Anon => 401,
                w if bad_token(w) => 401,
                Admin if via == Via::Basic => 200,
                Admin => 404,
                _ => 403,
            },
        ),
        case(
            "GET",
            "/admin/upstreams",
            "/admin/upstreams",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/admin/upstreams",
            "/admin/upstreams",
            Body::Form(vec![
                ("name", "webup".into()),
                ("url", "file:///nonexistent/web.xml".into()),
            ]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case(
            "GET",
            "/admin/upstreams/{name}",
            "/admin/upstreams/nowhere",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "POST",
            "/admin/upstreams/{name}/sync",
            "/admin/upstreams/nowhere/sync",
            Body::Form(vec![]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case(
            "POST",
            "/admin/upstreams/{name}/allow",
            "/admin/upstreams/nowhere/allow",
            Body::Form(vec![
                ("package", "elsewhere".into()),
                ("mode", "follow".into()),
            ]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case(
            "POST",
            "/admin/upstreams/{name}/disallow",
            "/admin/upstreams/nowhere/disallow",
            Body::Form(vec![("package", "elsewhere".into())]),
            form(|w| (w != Admin).then_some(403), |_| 303),
        ),
        case(
            "GET",
            "/admin/conflicts",
            "/admin/conflicts",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "GET",
            "/admin/qgis-config",
            "/admin/qgis-config",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        case(
            "GET",
            "/admin/qgis-config/{file}",
            "/admin/qgis-config/qgis_global_settings.ini",
            Body::None,
            page(303, |w| one_of(w, &[Admin], 200, 403)),
        ),
        // Revocation of the unapproved 2.0.0, last, and lifted again: admins only.
        case(
            "POST",
            "/plugins/{package}/version/{version}/revoke",
            "/plugins/authz/version/2.0.0/revoke",
            Body::Form(vec![("reason", "matrix".into())]),
            form(|_| None, |w| one_of(w, &[Admin], 303, 403)),
        ),
        case(
            "POST",
            "/plugins/{package}/version/{version}/unrevoke",
            "/plugins/authz/version/2.0.0/unrevoke",
            Body::Form(vec![]),
            form(|_| None, |w| one_of(w, &[Admin], 303, 403)),
        ),
        case(
            "POST",
            "/api/plugins/{name}/versions/{version}/revoke",
            "/api/plugins/authz/versions/2.0.0/revoke",
            Body::Json(json!({ "reason": "matrix" })),
            api(401, |w| one_of(w, &[Admin], 200, 403)),
        ),
        // Lifting twice: the second finds nothing revoked.
        case(
            "POST",
            "/api/plugins/{name}/versions/{version}/unrevoke",
            "/api/plugins/authz/versions/2.0.0/unrevoke",
            Body::None,
            |who, via| match who {
                Anon => 401,
                w if bad_token(w) => 401,
                Admin if via == Via::Basic => 200,
                Admin => 409,
                _ => 403,
            },
        ),
    ]
}

// ---- the routes in the sources

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(METHOD, path)` of every `.route("path", get(…).post(…))` in the server's router files.
fn routes_in_sources() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut from = 0;
        while let Some(pos) = text[from..].find(".route(") {
            let start = from + pos + ".route(".len();
            from = start;
            let mut depth = 1;
            let mut end = start;
            for (i, c) in text[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            let call = &text[start..end];
            let Some(q1) = call.find('"') else { continue };
            let Some(q2) = call[q1 + 1..].find('"') else {
                continue;
            };
            let path = &call[q1 + 1..q1 + 1 + q2];
            let rest = &call[q1 + 1 + q2..];
            for method in ["get", "post", "put", "delete", "patch"] {
                let needle = format!("{method}(");
                let found = rest.match_indices(&needle).any(|(i, _)| {
                    !rest[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if found {
                    out.insert((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn every_route_is_in_the_matrix() {
    let world = World {
        v1: 0,
        v2: 0,
        v3: 0,
        plugin: 0,
        bob: 0,
        dave: 0,
        victim_token: 0,
        rule: "X".into(),
        tokens: vec![],
        sessions: vec![],
    };
    let in_sources = routes_in_sources();
    assert!(
        in_sources.len() > 50,
        "the route parser found {in_sources:?}"
    );
    let in_matrix: BTreeSet<(String, String)> = cases(&world)
        .iter()
        .map(|c| (c.method.to_string(), c.pattern.to_string()))
        .collect();
    let missing: Vec<_> = in_sources.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&in_sources).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}\nrows for routes that do not exist: {stale:?}"
    );
}

// ---- running it

fn csrf_for(session: &str) -> String {
    hex::encode(sha2::Sha256::digest(
        format!("vetted-csrf\0{session}").as_bytes(),
    ))
}

async fn json_of(r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

async fn setup(ts: &TestServer) -> World {
    ts.user("carol", Role::Plain).await;
    ts.user("dave", Role::Plain).await;
    let db = &ts.state().db;
    assert_eq!(
        ts.add_plugin("alice", zip("authz", "1.0.0"), false)
            .await
            .status(),
        201
    );
    for v in ["2.0.0", "3.0.0"] {
        let r = ts
            .token_upload(
                "/plugins/api/authz/version/add/",
                &format!("Basic {}", basic("alice")),
                zip("authz", v),
                &[],
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    for v in ["1.0.0", "2.0.0", "3.0.0"] {
        assert_eq!(
            ts.wait_scanned("authz", v).await["validation_status"],
            "validated"
        );
    }
    let r = ts
        .post("/api/plugins/authz/versions/1.0.0/approve")
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for member in ["carol", "dave"] {
        let r = ts
            .post("/api/plugins/authz/members")
            .basic_auth("alice", Some(PASSWORD))
            .json(&json!({ "username": member, "role": "editor" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        ts.add_plugin("bob", zip("bobs", "1.0.0"), false)
            .await
            .status(),
        201
    );
    let mut tokens = vec![
        (Token, ts.create_token("alice", "authz").await),
        (ForeignToken, ts.create_token("bob", "bobs").await),
    ];
    let new_token = |body: Value| {
        ts.post("/api/tokens")
            .basic_auth("alice", Some(PASSWORD))
            .json(&body)
            .send()
    };
    let victim = json_of(new_token(json!({ "plugin": "authz" })).await.unwrap()).await;
    let revoked = json_of(new_token(json!({ "plugin": "authz" })).await.unwrap()).await;
    let r = ts
        .client
        .delete(format!("{}/api/tokens/{}", ts.url, revoked["id"]))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    tokens.push((Revoked, revoked["token"].as_str().unwrap().to_string()));
    let expired = json_of(
        new_token(json!({ "plugin": "authz", "expires_in_seconds": 1 }))
            .await
            .unwrap(),
    )
    .await;
    tokens.push((Expired, expired["token"].as_str().unwrap().to_string()));
    let r = ts
        .post("/api/upstreams")
        .basic_auth("admin", Some(PASSWORD))
        .json(&json!({ "name": "nowhere", "url": "file:///nonexistent/plugins.xml" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let rules = json_of(ts.get("/api/rules").send().await.unwrap()).await;
    let rule = rules["rules"][0]["code"].as_str().unwrap().to_string();

    let mut sessions = Vec::new();
    for who in PEOPLE {
        let name = user_of(who);
        let user = db.user_by_name(name).await.unwrap().unwrap();
        sessions.push((who, user.id, vetted_server::auth::random_secret()));
    }
    let plugin = db.plugin_by_name("authz").await.unwrap().unwrap();
    let id_of = |v: &str| {
        let v = v.to_string();
        async move { db.version(plugin.id, &v).await.unwrap().unwrap().id }
    };
    tokio::time::sleep(Duration::from_millis(1200)).await; // the short token expires
    World {
        v1: id_of("1.0.0").await,
        v2: id_of("2.0.0").await,
        v3: id_of("3.0.0").await,
        plugin: plugin.id,
        bob: db.user_by_name("bob").await.unwrap().unwrap().id,
        dave: db.user_by_name("dave").await.unwrap().unwrap().id,
        victim_token: victim["id"].as_i64().unwrap(),
        rule,
        tokens,
        sessions,
    }
}

fn basic(user: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}"))
}

/// Puts back what successful requests change, so every request meets the same world.
async fn restore(ts: &TestServer, w: &World) {
    let pool = &ts.state().db.pool;
    let run = |sql: &'static str, a: i64, b: i64| async move {
        sqlx::query(sql)
            .bind(a)
            .bind(b)
            .execute(pool)
            .await
            .unwrap();
    };
    run(
        "UPDATE versions SET approved = 1 WHERE id = $1 OR id = $2",
        w.v1,
        w.v1,
    )
    .await;
    run(
        "UPDATE versions SET approved = 0 WHERE id = $1 OR id = $2",
        w.v2,
        w.v3,
    )
    .await;
    run(
        "DELETE FROM plugin_members WHERE plugin_id = $1 AND user_id = $2",
        w.plugin,
        w.bob,
    )
    .await;
    run(
        "DELETE FROM plugin_members WHERE plugin_id = $1 AND user_id = $2",
        w.plugin,
        w.dave,
    )
    .await;
    run(
        "INSERT INTO plugin_members (plugin_id, user_id, role) VALUES ($1, $2, 'editor')",
        w.plugin,
        w.dave,
    )
    .await;
    run(
        "UPDATE tokens SET revoked = 0 WHERE id = $1 OR id = $2",
        w.victim_token,
        w.victim_token,
    )
    .await;
    run(
        "UPDATE users SET is_admin = 0, is_staff = 0, is_trusted = 0 WHERE id = $1 OR id = $2",
        w.dave,
        w.dave,
    )
    .await;
    sqlx::query("DELETE FROM upstreams WHERE name = 'elsewhere'")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM sessions")
        .execute(pool)
        .await
        .unwrap();
    for (_, user, secret) in &w.sessions {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(vetted_server::auth::hash_secret(secret))
            .bind(*user)
            .bind(vetted_server::db::now() + 3600)
            .execute(pool)
            .await
            .unwrap();
    }
}

/// What a refused request must not change.
async fn fingerprint(ts: &TestServer) -> Vec<i64> {
    let pool = &ts.state().db.pool;
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM plugins",
        "SELECT COUNT(*) FROM versions",
        "SELECT CAST(COALESCE(SUM(approved), 0) AS BIGINT) FROM versions",
        "SELECT COUNT(*) FROM plugin_members",
        "SELECT COUNT(*) FROM tokens",
        "SELECT CAST(COALESCE(SUM(revoked), 0) AS BIGINT) FROM tokens",
        "SELECT COUNT(*) FROM jobs",
        "SELECT COUNT(*) FROM rules",
        "SELECT COUNT(*) FROM upstreams",
        "SELECT COUNT(*) FROM upstream_allowed",
        "SELECT COUNT(*) FROM sessions",
        "SELECT CAST(COALESCE(SUM(is_admin + is_staff + is_trusted), 0) AS BIGINT) FROM users",
    ] {
        out.push(
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    out
}

async fn send(
    ts: &TestServer,
    w: &World,
    c: &Case,
    who: Who,
    via: Via,
    n: u32,
) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}{}", ts.url, c.path);
    let mut rq = http.request(c.method.parse().unwrap(), &url);
    let mut csrf = None;
    match via {
        Via::Nothing => {}
        Via::Basic => rq = rq.basic_auth(user_of(who), Some(PASSWORD)),
        Via::Session => {
            let secret = &w.sessions.iter().find(|(p, _, _)| *p == who).unwrap().2;
            rq = rq.header("Cookie", format!("vetted_session={secret}"));
            csrf = Some(csrf_for(secret));
        }
        Via::Token => {
            let t = &w.tokens.iter().find(|(p, _)| *p == who).unwrap().1;
            rq = rq.header("Authorization", format!("Token {t}"));
        }
    }
    rq = match &c.body {
        Body::None => rq,
        Body::Json(v) => rq.json(v),
        Body::Form(fields) => {
            let mut pairs: Vec<(String, String)> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            if let Some(t) = &csrf {
                pairs.push(("csrf_token".into(), t.clone()));
            }
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
                .collect::<Vec<_>>()
                .join("&");
            rq.header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        }
        Body::Upload(make) => {
            let mut form = reqwest::multipart::Form::new();
            if let Some(t) = &csrf {
                form = form.text("csrf_token", t.clone());
            }
            form = form.part(
                "package",
                reqwest::multipart::Part::bytes(make(n)).file_name("p.zip"),
            );
            rq.multipart(form)
        }
        Body::XmlRpc(make) => {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(make(n));
            rq.header("Content-Type", "text/xml").body(format!(
                "<?xml version=\"1.0\"?><methodCall><methodName>plugin.upload</methodName>\
                 <params><param><value><base64>{b64}</base64></value></param></params></methodCall>"
            ))
        }
    };
    rq.send().await.unwrap()
}

async fn matrix(db: Db) {
    let ts = TestServer::start_with(db, |c| c.limits = Limits::off()).await;
    let w = setup(&ts).await;
    restore(&ts, &w).await;
    let mut wrong = Vec::new();
    let mut count = 0;
    let mut n = 0;
    for c in cases(&w) {
        for (who, via) in callers() {
            n += 1;
            let before = fingerprint(&ts).await;
            let r = send(&ts, &w, &c, who, via, n).await;
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = r.text().await.unwrap_or_default();
            let expected = (c.expect)(who, via);
            count += 1;
            let mut problem = None;
            if status != expected {
                problem = Some(format!(
                    "got {status}, expected {expected}: {}",
                    body.chars().take(160).collect::<String>()
                ));
            } else if c.pattern == "/plugins/RPC2/" && status == 200 && body.contains("<fault>") {
                problem = Some(format!(
                    "XML-RPC fault: {}",
                    body.chars().take(200).collect::<String>()
                ));
            }
            let refused = status >= 400 || location.starts_with("/sign-in");
            if refused {
                let after = fingerprint(&ts).await;
                if after != before {
                    problem = Some(format!(
                        "refused with {status} but changed the database: {before:?} -> {after:?}"
                    ));
                }
            }
            if let Some(p) = problem {
                wrong.push(format!(
                    "{} {} as {who:?} via {via:?}: {p}",
                    c.method, c.path
                ));
            }
            restore(&ts, &w).await;
        }
    }
    eprintln!(
        "authorization matrix on {db:?}: {count} requests, {} wrong",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {count} requests answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_sqlite() {
    matrix(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_postgres() {
    matrix(Db::Postgres).await
}
