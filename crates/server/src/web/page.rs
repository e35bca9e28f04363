//! What every page shares: the layout (head, navigation, footer), the status and severity
//! badges, dates, and the HTML error pages (404, 403 with the reason, 413, …).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use super::viewer::{CSRF_FIELD, Viewer};
use crate::db::status;
use crate::routes::ApiError;

/// A page's frame around its content.
pub struct Page<'a> {
    pub title: &'a str,
    /// Seconds after which the browser reloads the page (a version being scanned).
    pub refresh: Option<u32>,
}

impl<'a> Page<'a> {
    pub fn new(title: &'a str) -> Page<'a> {
        Page {
            title,
            refresh: None,
        }
    }

    pub fn refresh(mut self, seconds: Option<u32>) -> Page<'a> {
        self.refresh = seconds;
        self
    }

    pub fn render(&self, viewer: Option<&Viewer>, content: Markup) -> Markup {
        let who = viewer.and_then(|v| v.who.as_ref());
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(s) = self.refresh {
                        meta http-equiv="refresh" content=(s);
                    }
                    title { (self.title) " · Vetted" }
                    link rel="stylesheet" href="/static/app.css";
                    script src="/static/app.js" defer {}
                }
                body {
                    header.site {
                        a.brand href="/plugins/" { "Vetted" }
                        nav {
                            a href="/plugins/" { "Plugins" }
                            @if who.is_some() { a href="/upload" { "Upload" } }
                            @if who.is_some_and(|p| p.staff()) { a href="/queue" { "Queue" } }
                            @if who.is_some_and(|p| p.admin()) {
                                a href="/admin/rules" { "Rules" }
                                a href="/admin/users" { "Users" }
                                a href="/admin/upstreams" { "Upstreams" }
                            }
                            a href="/docs/" { "Docs" }
                        }
                        div.who {
                            @match (who, viewer) {
                                (Some(p), Some(v)) => {
                                    a href="/account" { (p.user.username) }
                                    form.inline method="post" action="/sign-out" {
                                        (csrf_field(v))
                                        button.link type="submit" { "Sign out" }
                                    }
                                }
                                _ => { a href="/sign-in" { "Sign in" } }
                            }
                        }
                    }
                    main { (content) }
                    footer.site { "Vetted plugin repository · " a href="/plugins/plugins.xml" { "plugins.xml" } }
                }
            }
        }
    }
}

/// The hidden CSRF field of a POST form.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf_token()); }
}

/// A finished HTML page; never cached, as pages may carry tokens and change with every scan.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn ok(markup: Markup) -> Response {
    html_response(StatusCode::OK, markup)
}

/// A validation status as a badge. Known statuses get a label and a colour; anything else
/// (a status added later) is shown as it is stored.
pub fn status_badge(validation_status: &str) -> Markup {
    let (class, label) = match validation_status {
        status::VALIDATING => ("pending", "Validating"),
        status::VALIDATED => ("ok", "Validated"),
        status::VALIDATED_WITH_CONFIG => ("ok", "Validated (configured)"),
        status::BLOCKED => ("bad", "Blocked"),
        status::SCAN_ERROR => ("bad", "Scan error"),
        "needs_review" => ("warn", "Needs review"),
        other => ("other", other),
    };
    html! { span class={"badge " (class)} data-status=(validation_status) { (label) } }
}

/// A scan verdict (`validated`, `blocked`, `invalid`) as a badge.
pub fn verdict_badge(verdict: &str) -> Markup {
    let class = match verdict {
        "validated" => "ok",
        "blocked" | "invalid" => "bad",
        "review" => "warn",
        _ => "other",
    };
    html! { span class={"badge " (class)} { (verdict) } }
}

pub fn approval_badge(approved: bool) -> Markup {
    if approved {
        html! { span.badge.ok { "Approved" } }
    } else {
        html! { span.badge.other { "Not approved" } }
    }
}

pub fn severity_badge(severity: &str) -> Markup {
    let class = match severity {
        "critical" => "bad",
        "warning" => "warn",
        _ => "info",
    };
    html! { span class={"badge sev " (class)} { (severity) } }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn when(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), counting in 400-year eras
/// that start on 1 March so leap days fall at the end of each year.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A link only for http(s) URLs; anything else (`javascript:` …) is shown as text.
pub fn external_link(url: &str) -> Markup {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        html! { a href=(u) rel="nofollow noopener noreferrer" { (u) } }
    } else {
        html! { (u) }
    }
}

/// An error shown to a browser as an HTML page with the reason.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
    /// Sign-in needed: redirect there instead of showing a page.
    sign_in_then: Option<String>,
    /// A page signed-out visitors may not see yet: offer to sign in and come back here.
    sign_in_hint: Option<String>,
    /// Seconds to wait (429), sent as `Retry-After`.
    retry_after: Option<u64>,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
            sign_in_then: None,
            sign_in_hint: None,
            retry_after: None,
        }
    }

    /// Over a brute-force or rate limit (`limits.rs`).
    pub fn limited(r: crate::limits::Refusal) -> WebError {
        let mut e = WebError::new(r.status, r.message);
        e.retry_after = r.retry_after;
        e
    }

    /// For a signed-out visitor, adds a sign-in link back to `here` to a 404: unpublished
    /// plugins and versions look missing to them (links in emails land here before the
    /// browser sends its same-site-only session cookie).
    pub fn hint_sign_in(mut self, signed_in: bool, here: &str) -> WebError {
        if !signed_in && self.status == StatusCode::NOT_FOUND {
            self.sign_in_hint = Some(here.to_string());
        }
        self
    }

    pub fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn sign_in_required(then: &str) -> WebError {
        WebError {
            status: StatusCode::UNAUTHORIZED,
            message: "Sign in to see this page.".into(),
            sign_in_then: Some(then.to_string()),
            sign_in_hint: None,
            retry_after: None,
        }
    }

    fn title(&self) -> &'static str {
        match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::UNAUTHORIZED => "Sign-in needed",
            StatusCode::PAYLOAD_TOO_LARGE => "Upload too large",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::REQUEST_TIMEOUT => "Too slow",
            s if s.is_server_error() => "Something went wrong",
            _ => "Error",
        }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let mut w = WebError::new(e.status, e.message);
        w.retry_after = e.retry_after;
        w
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Some(then) = &self.sign_in_then {
            return Redirect::to(&format!("/sign-in?next={}", encode_query(then))).into_response();
        }
        let title = self.title();
        let content = html! {
            section.card.error {
                h1 { (self.status.as_u16()) " · " (title) }
                @for line in self.message.lines() { p { (line) } }
                @if let Some(here) = &self.sign_in_hint {
                    p { "If it is your plugin, or you review plugins, "
                        a href={"/sign-in?next=" (encode_query(here))} { "sign in" }
                        " to see versions that are not published yet." }
                }
                p { a href="/plugins/" { "Back to the plugins" } }
            }
        };
        let mut r = html_response(self.status, Page::new(title).render(None, content));
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// Percent-encodes a query value (paths and names we put into links).
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(when(1_796_000_000), "2026-11-30 00:53 UTC");
    }

    #[test]
    fn unknown_statuses_show_as_stored() {
        let s = status_badge("quarantined").into_string();
        assert!(s.contains(">quarantined<"), "{s}");
        assert!(
            status_badge("needs_review")
                .into_string()
                .contains("Needs review")
        );
        assert!(status_badge("<b>").into_string().contains("&lt;b&gt;"));
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(
            external_link("https://x.org")
                .into_string()
                .contains("href")
        );
        assert!(
            !external_link("javascript:alert(1)")
                .into_string()
                .contains("href")
        );
    }
}
