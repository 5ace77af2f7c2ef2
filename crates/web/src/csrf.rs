//! Cross-site request forgery: a logged-in browser's form posts carry the session's CSRF
//! token ([`auth::csrf_for`]), or are refused.
//!
//! One layer does both halves, so no page or route can forget them: it puts the token into
//! every `<form method="post">` of the HTML pages it answers to a browser with a session, and
//! checks it on every POST that browser sends with a body another site could forge (a form,
//! `multipart/form-data`, `text/plain` or none). A request with `Authorization: Bearer`
//! (scripts) carries no cookie a site could ride on and is not checked; JSON bodies cannot be
//! sent across sites without the browser asking first (and the cookie is SameSite=Strict).
//!
//! The login form comes before any session: its token is derived from a cookie of its own
//! ([`LOGIN_COOKIE`], SameSite=Strict, set with the form), so another site cannot sign a
//! browser in to an account of the site's choosing. A login sent without it (the form came
//! from elsewhere, or the browser lost the cookie) gets the form again, with a new one.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::auth;
use crate::i18n::Lang;
use crate::pages;

/// The form field carrying the token.
pub const FIELD: &str = "csrf";
/// The cookie the login form's token is derived from.
pub const LOGIN_COOKIE: &str = "bawaba_login";
/// Where the login form is served and sent.
const LOGIN: &str = "/login";
/// Largest form body read (the forms are a few hundred bytes).
const MAX_FORM: usize = 64 * 1024;
/// Largest page rewritten.
const MAX_PAGE: usize = 16 * 1024 * 1024;

/// The layer: see the module.
pub async fn guard(req: Request, next: Next) -> Response {
    if req.uri().path() == LOGIN {
        return login(req, next).await;
    }
    let session = auth::cookie(req.headers(), auth::SESSION_COOKIE)
        .filter(|s| !s.is_empty() && !req.headers().contains_key(AUTHORIZATION))
        .map(str::to_owned);
    let Some(session) = session else {
        return next.run(req).await;
    };
    let token = auth::csrf_for(&session);
    let req = if req.method() == Method::POST {
        match checked(req, &token).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        }
    } else {
        req
    };
    with_token(next.run(req).await, &token).await
}

/// The login form's half: its token from [`LOGIN_COOKIE`] (made when the browser has none).
async fn login(req: Request, next: Next) -> Response {
    let key = auth::cookie(req.headers(), LOGIN_COOKIE)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    if req.method() != Method::POST {
        return match key {
            Some(key) => with_token(next.run(req).await, &auth::csrf_for(&key)).await,
            None => with_new_key(next.run(req).await).await,
        };
    }
    let lang = Lang::pick(None, req.headers()).0;
    let token = key.as_deref().map(auth::csrf_for);
    let sent = match &token {
        Some(token) => checked(req, token).await.ok().zip(Some(token)),
        None => None,
    };
    match sent {
        Some((req, token)) => with_token(next.run(req).await, token).await,
        None => {
            tracing::warn!("login refused: the form's token is missing or wrong");
            let again = pages::login(lang, Some(lang.t("login.expired")));
            with_new_key((StatusCode::FORBIDDEN, Html(again)).into_response()).await
        }
    }
}

/// `r` (the login form) with a new [`LOGIN_COOKIE`] and its token.
async fn with_new_key(r: Response) -> Response {
    let Ok(key) = bawaba_app::random_hex(16) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut r = with_token(r, &auth::csrf_for(&key)).await;
    let cookie = format!("{LOGIN_COOKIE}={key}; Path={LOGIN}; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The request again, when its body carries `token` or cannot be forged across sites.
async fn checked(req: Request, token: &str) -> Result<Request, Response> {
    let kind = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let form = kind.starts_with("application/x-www-form-urlencoded");
    let forgeable = form
        || kind.is_empty()
        || kind.starts_with("multipart/form-data")
        || kind.starts_with("text/plain");
    if !forgeable {
        return Ok(req);
    }
    let lang = Lang::pick(None, req.headers()).0;
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return Err(refused(lang, StatusCode::PAYLOAD_TOO_LARGE));
    };
    let given = form
        .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).ok())
        .flatten()
        .and_then(|kv| kv.into_iter().find(|(k, _)| k == FIELD))
        .map(|(_, v)| v);
    if given.as_deref() == Some(token) {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        tracing::warn!(uri = %parts.uri, "form refused: no or a wrong CSRF token");
        Err(refused(lang, StatusCode::FORBIDDEN))
    }
}

fn refused(l: Lang, status: StatusCode) -> Response {
    (status, Html(pages::error(l, l.t("csrf.refused")))).into_response()
}

/// `r` with `token` in each of its post forms, when it is an HTML page.
async fn with_token(r: Response, token: &str) -> Response {
    if !is_html(r.headers()) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let html = String::from_utf8_lossy(&bytes);
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(insert(&html, token)))
}

fn is_html(h: &HeaderMap) -> bool {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// `html` with a hidden `csrf` field first in every `<form method="post" ...>`.
fn insert(html: &str, token: &str) -> String {
    let field = format!(r#"<input type="hidden" name="{FIELD}" value="{token}">"#);
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(at) = rest.find(r#"<form method="post""#) {
        let Some(end) = rest[at..].find('>') else {
            break;
        };
        let cut = at + end + 1;
        out.push_str(&rest[..cut]);
        out.push_str(&field);
        rest = &rest[cut..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_post_form_gets_the_token_and_nothing_else_changes() {
        let html = r#"<form method="get" action="/a"><input name="q"></form><form method="post" action="/b" class="x"><button>b</button></form><form method="post" action="/c">"#;
        let out = insert(html, "t0k");
        assert_eq!(
            out,
            r#"<form method="get" action="/a"><input name="q"></form><form method="post" action="/b" class="x"><input type="hidden" name="csrf" value="t0k"><button>b</button></form><form method="post" action="/c"><input type="hidden" name="csrf" value="t0k">"#
        );
        assert_eq!(insert("<p>none</p>", "t"), "<p>none</p>");
    }
}
