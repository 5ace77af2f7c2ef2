//! Who is asking: the token in the session cookie (or an `Authorization: Bearer` header, for
//! scripts calling the JSON endpoints), authenticated by the application layer.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use bawaba_app::App;
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::audit::Door;
use bawaba_store::Store;
use sha2::{Digest, Sha256};

/// The session cookie, HttpOnly and SameSite=Strict: a portal session's secret (`bws_...`,
/// from a login with a password) or an API token itself (staff log in with theirs).
pub const SESSION_COOKIE: &str = "bawaba_session";
/// The language cookie (`en` or `ar`).
pub const LANG_COOKIE: &str = "bawaba_lang";

/// The roles that may log in to the web door (the dashboard's, and companies to the portal).
pub const WEB_ROLES: &[Role] = &[
    Role::Authority,
    Role::Operator,
    Role::Security,
    Role::Company,
];

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The token the request carries, if any.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    bearer
        .or_else(|| cookie(headers, SESSION_COOKIE))
        .filter(|t| !t.is_empty())
}

/// What the request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No token, or an unknown one: log in.
    Anonymous,
    /// A valid token without the role needed.
    Refused(Principal),
    Granted(Principal),
}

/// Checks the request's session or token for one of `roles`.
pub async fn check<S: Store>(app: &App<S>, headers: &HeaderMap, roles: &[Role]) -> Access {
    match app.authenticate_any(token(headers), Door::Web).await {
        Err(_) => Access::Anonymous,
        Ok(p) if roles.contains(&p.role) => Access::Granted(p),
        Ok(p) => Access::Refused(p),
    }
}

/// The CSRF token of the session whose cookie holds `session`: derived from the session's
/// secret (which pages cannot read: the cookie is HttpOnly), so another site cannot know it.
/// Every form of a logged-in page carries it ([`crate::csrf`]).
pub fn csrf_for(session: &str) -> String {
    let digest = Sha256::digest(format!("bawaba-csrf\0{session}").as_bytes());
    hex::encode(&digest[..16])
}

/// `Set-Cookie` for a session holding `token`.
pub fn session_cookie(token: &str) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200")
}

/// `Set-Cookie` that ends the session.
pub fn clear_session() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}
