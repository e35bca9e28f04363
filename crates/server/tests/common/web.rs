//! A browser stand-in for the plain HTTP tests of the web pages: keeps the session cookie,
//! reads CSRF tokens out of forms, never follows redirects (tests look at them).

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::redirect::Policy;

use super::{PASSWORD, TestServer};

pub struct WebClient {
    pub base: String,
    pub http: reqwest::Client,
    /// `name=value` pairs sent as the Cookie header.
    pub cookies: Vec<(String, String)>,
}

/// A form body as browsers send it (this file is shared with crates that build reqwest
/// without its `form` feature).
fn url_encoded(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the first `name="csrf_token" value="…"` in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    rest.split('"').next().map(str::to_string)
}

impl WebClient {
    pub fn new(ts: &TestServer) -> WebClient {
        vetted_server::install_crypto_provider();
        WebClient {
            base: ts.url.clone(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for value in r.headers().get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() && !text.contains("Max-Age=0") {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    /// GET a page and return (status, body).
    pub async fn page(&mut self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(url_encoded(fields))
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    /// A CSRF token for this browser, read from a page that has a form.
    pub async fn csrf(&mut self, page: &str) -> String {
        let (status, body) = self.page(page).await;
        assert_eq!(status, 200, "{page}: {body}");
        csrf_in(&body).unwrap_or_else(|| panic!("no CSRF field on {page}"))
    }

    /// Signs in through the form; panics unless it worked.
    pub async fn sign_in(&mut self, user: &str) {
        let token = self.csrf("/sign-in").await;
        let r = self
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", token.as_str()),
                    ("username", user),
                    ("password", PASSWORD),
                    ("next", "/account"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "sign-in of {user} failed");
        assert!(
            self.cookies.iter().any(|(n, _)| n == "vetted_session"),
            "no session cookie after signing in"
        );
    }
}
