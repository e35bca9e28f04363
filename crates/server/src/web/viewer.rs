//! Who is looking at a page, and the CSRF token their forms carry. The token is derived from
//! the secret of the browser's session cookie (or, before sign-in, of a short-lived form
//! cookie): another site can make the browser send the cookie but cannot read it, so it cannot
//! compute the token a form must echo. Nothing extra is stored.

use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use super::page::WebError;
use crate::AppState;
use crate::auth::{self, AuthError, Principal};

/// Cookie that carries the CSRF secret of a browser that has not signed in yet (the sign-in
/// form is the only form such a browser sees).
pub const FORM_COOKIE: &str = "vetted_form";

/// The name of the hidden field every POST form carries.
pub const CSRF_FIELD: &str = "csrf_token";

pub struct Viewer {
    pub who: Option<Principal>,
    /// The cookie secret the CSRF token is derived from.
    csrf_secret: Option<String>,
}

impl Viewer {
    /// Reads the session (or other credentials); a stale or wrong session counts as signed out.
    pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Viewer, WebError> {
        let who = match auth::authenticate(state, headers).await {
            Ok(who) => who,
            Err(AuthError::Invalid(_)) => None,
            Err(AuthError::Limited(r)) => return Err(WebError::limited(r)),
            Err(AuthError::Internal(e)) => return Err(e.into()),
        };
        // The pages are for people: a plugin token (made to upload one plugin's versions from
        // CI) does not open the account page, forms or review pages of its owner.
        let who = who.filter(|p| p.token_plugin.is_none());
        let csrf_secret = match (&who, auth::session_cookie(headers)) {
            (Some(_), Some(session)) => Some(session),
            _ => cookie(headers, FORM_COOKIE),
        };
        Ok(Viewer { who, csrf_secret })
    }

    /// The signed-in person, or a redirect to the sign-in page that comes back to `here`.
    pub fn require(&self, here: &str) -> Result<&Principal, WebError> {
        self.who
            .as_ref()
            .ok_or_else(|| WebError::sign_in_required(here))
    }

    pub fn staff(&self) -> bool {
        self.who.as_ref().is_some_and(Principal::staff)
    }

    /// The token this viewer's forms carry (empty when the browser has no cookie to derive it
    /// from; such a form is refused when posted).
    pub fn csrf_token(&self) -> String {
        self.csrf_secret.as_deref().map(derive).unwrap_or_default()
    }

    /// Refuses a POST whose token is missing or does not match this browser's.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
        let expected = self.csrf_token();
        match submitted {
            Some(s)
                if !expected.is_empty() && constant_time_eq(s.as_bytes(), expected.as_bytes()) =>
            {
                Ok(())
            }
            _ => Err(WebError::new(
                StatusCode::FORBIDDEN,
                "This form's security token is missing or out of date (it protects you against \
                 other sites posting forms in your name). Reload the page and submit it again.",
            )),
        }
    }

    /// Whether the browser still needs a form cookie (signed out, none yet).
    pub fn needs_form_cookie(&self) -> bool {
        self.csrf_secret.is_none()
    }

    /// Gives this viewer a fresh form cookie; returns the `Set-Cookie` value to send.
    pub fn issue_form_cookie(&mut self, state: &AppState) -> Option<HeaderValue> {
        let secret = auth::random_secret();
        let secure = if auth::cookies_secure(state) {
            "; Secure"
        } else {
            ""
        };
        let value = format!(
            "{FORM_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400{secure}"
        );
        self.csrf_secret = Some(secret);
        HeaderValue::from_str(&value).ok()
    }
}

fn derive(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("vetted-csrf\0{secret}").as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The fields of a URL-encoded form, repeated names kept (checkbox lists).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn from_form(
        form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
    ) -> Result<Fields, WebError> {
        form.map(|f| Fields(f.0)).map_err(|e| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                format!("The form could not be read: {}", e.body_text()),
            )
        })
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: present and not "off"/"false".
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !matches!(v, "off" | "false" | "0"))
    }

    pub fn csrf(&self) -> Option<&str> {
        self.get(CSRF_FIELD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_the_secret_and_compare_exactly() {
        assert_eq!(derive("a"), derive("a"));
        assert_ne!(derive("a"), derive("b"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let viewer = Viewer {
            who: None,
            csrf_secret: Some("s".into()),
        };
        assert!(viewer.check_csrf(Some(&derive("s"))).is_ok());
        assert!(viewer.check_csrf(Some(&derive("t"))).is_err());
        assert!(viewer.check_csrf(None).is_err());
        let none = Viewer {
            who: None,
            csrf_secret: None,
        };
        assert!(none.check_csrf(Some("")).is_err());
    }
}
