//! Cross-site request forgery: a logged-in browser's form posts carry the session's CSRF
//! token ([`auth::csrf_for`]), or are refused.
//!
//! One layer does both halves, so no page or route can forget them: it puts the token into
//! every `<form method="post">` of the HTML pages it answers to a browser with a session, and
//! checks it on every POST that browser sends with a body another site could forge (a form,
//! `multipart/form-data`, `text/plain` or none). A request with `Authorization: Bearer`
//! (scripts) carries no cookie a site could ride on and is not checked; JSON bodies cannot be
//! sent across sites without the browser asking first (and the cookie is SameSite=Strict).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::auth;
use crate::i18n::Lang;
use crate::pages;

/// The form field carrying the token.
pub const FIELD: &str = "csrf";
/// Largest form body read (the forms are a few hundred bytes).
const MAX_FORM: usize = 64 * 1024;
/// Largest page rewritten.
const MAX_PAGE: usize = 16 * 1024 * 1024;

/// The layer: see the module.
pub async fn guard(req: Request, next: Next) -> Response {
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
