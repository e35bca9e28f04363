//! Who is asking: argon2 password hashes, API tokens (random, stored as SHA-256, scoped to one
//! plugin, expiring), session cookies, and the permission questions every route asks
//! (member of a plugin? staff?). Credentials come from `Authorization: Basic|Token|Bearer` or
//! the `vetted_session` cookie.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use axum::http::HeaderMap;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::{Db, Plugin, User, now};
use crate::limits::{self, Refusal};

pub const SESSION_COOKIE: &str = "vetted_session";

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let hash: PasswordHash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A new random secret (tokens, sessions), URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens and session ids are stored hashed: a database leak gives no usable credential.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Set when authenticated by an API token: the one plugin it may act on.
    pub token_plugin: Option<i64>,
}

impl Principal {
    /// Whether this caller may act on `plugin` as `role` requires (owner, or owner/editor).
    pub async fn can_edit(&self, db: &Db, plugin: &Plugin) -> anyhow::Result<bool> {
        if let Some(scope) = self.token_plugin
            && scope != plugin.id
        {
            return Ok(false);
        }
        if self.user.admin() {
            return Ok(true);
        }
        Ok(db.member_role(plugin.id, self.user.id).await?.is_some())
    }

    pub async fn is_owner(&self, db: &Db, plugin: &Plugin) -> anyhow::Result<bool> {
        if self.token_plugin.is_some() {
            // Tokens upload; they do not manage the plugin.
            return Ok(false);
        }
        if self.user.admin() {
            return Ok(true);
        }
        Ok(db.member_role(plugin.id, self.user.id).await?.as_deref() == Some("owner"))
    }

    /// Staff rights never come through a plugin token.
    pub fn staff(&self) -> bool {
        self.token_plugin.is_none() && self.user.staff()
    }

    pub fn admin(&self) -> bool {
        self.token_plugin.is_none() && self.user.admin()
    }
}

/// Why credentials were refused; shown to the caller as is.
#[derive(Debug)]
pub enum AuthError {
    /// Credentials were given and are wrong, expired or revoked.
    Invalid(&'static str),
    /// Too many failures from this client or for this account, or over a write rate: 429.
    Limited(Refusal),
    Internal(anyhow::Error),
}

impl From<Refusal> for AuthError {
    fn from(r: Refusal) -> Self {
        AuthError::Limited(r)
    }
}

impl From<anyhow::Error> for AuthError {
    fn from(e: anyhow::Error) -> Self {
        AuthError::Internal(e)
    }
}

/// Reads Basic, Token/Bearer or the session cookie; `Ok(None)` when none was sent. Failed
/// passwords and tokens count against the client (`limits.rs`); a caller known by a request
/// that writes counts against that user's write rate.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AuthError> {
    let who = credentials(state, headers).await?;
    if let Some(p) = &who {
        limits::count_user_request(state, p.user.id).await?;
    }
    Ok(who)
}

async fn credentials(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AuthError> {
    let db = &state.db;
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Invalid("malformed Authorization header"))?
            .trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        return match scheme.to_ascii_lowercase().as_str() {
            "basic" => basic(state, rest).await.map(Some),
            "token" | "bearer" => token(state, rest).await.map(Some),
            _ => Err(AuthError::Invalid(
                "unsupported Authorization scheme (use Basic, Token or Bearer)",
            )),
        };
    }
    if let Some(session) = session_cookie(headers) {
        return match db.session_user(&hash_secret(&session)).await? {
            Some(user) => Ok(Some(Principal {
                user,
                token_plugin: None,
            })),
            None => Err(AuthError::Invalid("session expired; sign in again")),
        };
    }
    Ok(None)
}

/// Whether cookies carry `Secure`: when the public URL is https (directly or behind a proxy
/// that terminates TLS), browsers then never send them over plain HTTP.
pub fn cookies_secure(state: &crate::AppState) -> bool {
    state.config.secure_cookies || state.base_url.starts_with("https://")
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Checks a user name and password (Basic auth, XML-RPC, sign-in), within the brute-force
/// limits: a client over them is refused before the password is looked at.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<User, AuthError> {
    limits::sign_in_allowed(state, username).await?;
    match verify_user(&state.db, username, password).await {
        Ok(user) => {
            limits::sign_in_succeeded(state, username).await;
            Ok(user)
        }
        Err(AuthError::Invalid(why)) => {
            limits::sign_in_failed(state, username).await;
            Err(AuthError::Invalid(why))
        }
        Err(e) => Err(e),
    }
}

async fn verify_user(db: &Db, username: &str, password: &str) -> Result<User, AuthError> {
    let user = db.user_by_name(username).await?;
    // Hash even for unknown users so timing does not reveal which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = check_on_pool(password.to_string(), hash).await?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(AuthError::Invalid("wrong user name or password")),
    }
}

/// A password check: the argon2 verification, on the pool below.
type Check = Box<dyn FnOnce() + Send>;

/// Password checks run on a few long-lived threads (one per core, 2 to 8). Each argon2 check
/// holds ~19 MiB while it runs; run on the shared blocking pool, a flood of Basic-auth requests
/// would spread that over many threads (and many allocator arenas that keep the memory). Here
/// a flood waits in the queue and memory stays at a few checks' worth.
static PASSWORD_POOL: std::sync::LazyLock<std::sync::Mutex<std::sync::mpsc::Sender<Check>>> =
    std::sync::LazyLock::new(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Check>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        for i in 0..threads {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("vetted-password-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        std::sync::Mutex::new(tx)
    });

async fn check_on_pool(password: String, hash: String) -> Result<bool, AuthError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Check = Box::new(move || {
        let _ = tx.send(verify_password(&password, &hash));
    });
    PASSWORD_POOL
        .lock()
        .map_err(|_| AuthError::Internal(anyhow::anyhow!("password check pool poisoned")))?
        .send(job)
        .map_err(|_| AuthError::Internal(anyhow::anyhow!("password check pool stopped")))?;
    rx.await
        .map_err(|_| AuthError::Internal(anyhow::anyhow!("password check did not answer")))
}

// A real hash of a random secret, used to spend the same time on unknown user names.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_secret()).unwrap_or_default());

async fn basic(state: &AppState, encoded: &str) -> Result<Principal, AuthError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| AuthError::Invalid("malformed Basic credentials"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| AuthError::Invalid("malformed Basic credentials"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or(AuthError::Invalid("malformed Basic credentials"))?;
    let user = check_password(state, user, password).await?;
    Ok(Principal {
        user,
        token_plugin: None,
    })
}

async fn token(state: &AppState, secret: &str) -> Result<Principal, AuthError> {
    limits::token_allowed(state).await?;
    let found = token_principal(&state.db, secret).await;
    if let Err(AuthError::Invalid(_)) = &found {
        limits::token_failed(state).await;
    }
    found
}

async fn token_principal(db: &Db, secret: &str) -> Result<Principal, AuthError> {
    if secret.is_empty() {
        return Err(AuthError::Invalid("empty token"));
    }
    let Some(row) = db.token_by_hash(&hash_secret(secret)).await? else {
        return Err(AuthError::Invalid("unknown token"));
    };
    if row.revoked != 0 {
        return Err(AuthError::Invalid("token revoked"));
    }
    if row.expires_at <= now() {
        return Err(AuthError::Invalid("token expired"));
    }
    let Some(user) = db.user_by_id(row.user_id).await? else {
        return Err(AuthError::Invalid("unknown token"));
    };
    Ok(Principal {
        user,
        token_plugin: Some(row.plugin_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("s3cret").unwrap();
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("other", &h));
        assert!(!verify_password("s3cret", &DUMMY_HASH));
        assert!(!verify_password("x", "not a hash"));
    }
}
