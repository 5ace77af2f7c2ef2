//! Signing in and out: a company's person with a login name and password, staff and systems
//! with a token. Failures are counted per network address by the application layer, which
//! stops an address that fails too often (429, with when to try again); the form's own CSRF
//! token is the `csrf` layer's.

use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::header::{HeaderName, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bawaba_app::Kind;
use bawaba_domain::access::Principal;
use bawaba_domain::audit::Door;
use bawaba_store::Store;
use serde::Deserialize;

use super::{App, Error, PageQuery, error_status, lang, redirect};
use crate::auth;
use crate::i18n::Lang;
use crate::pages;

pub(super) async fn page<S: Store>(
    State(_app): State<App<S>>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (l, cookie) = lang(&q, &headers);
    super::page(StatusCode::OK, pages::login(l, None), cookie)
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    /// A staff or system token.
    token: Option<String>,
    /// A company account's login name and password.
    login: Option<String>,
    password: Option<String>,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The caller's network address (the peer of the connection; none in tests that call the
/// router directly).
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

pub(super) async fn login<S: Store>(
    State(app): State<App<S>>,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let (l, _) = lang(&PageQuery::default(), &headers);
    let peer = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let from = peer.map(|ip| client(ip, &headers, &app.0.d.trusted_proxies));
    let d = &app.0.d.app;
    if let Some(name) = f.login.as_deref() {
        let password = f.password.as_deref().unwrap_or_default();
        return match d.log_in(name, password, Door::Web, from).await {
            Ok((secret, p)) => {
                tracing::info!(who = %p.label, "portal login");
                redirect("/portal", Some(auth::session_cookie(&secret)))
            }
            Err(e) => {
                tracing::warn!(login = name.trim(), ?from, "portal login refused");
                refused(l, e, "login.refused")
            }
        };
    }
    let token = f.token.as_deref().unwrap_or_default().trim();
    match d.log_in_token(token, Door::Web, from) {
        Err(e) => refused(l, e, "login.bad"),
        Ok(p) if !auth::WEB_ROLES.contains(&p.role) => {
            again(l, StatusCode::FORBIDDEN, "login.role")
        }
        Ok(p) => signed_in(&p, token),
    }
}

/// The client a request from `peer` comes for: `peer` itself, unless it is a trusted proxy —
/// then the last address of `X-Forwarded-For` that is not one (each proxy appends the address
/// it was called from, so the addresses before the last untrusted one could be anything the
/// client wrote).
fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let chain: Vec<Option<IpAddr>> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(|a| a.trim().parse().ok())
        .collect();
    for a in chain.into_iter().rev() {
        match a {
            Some(a) if trusted.contains(&a) => {}
            Some(a) => return a,
            // What a trusted proxy appended cannot be read: the proxy is all that is known.
            None => return peer,
        }
    }
    peer
}

fn signed_in(p: &Principal, token: &str) -> Response {
    tracing::info!(who = %p.label, role = p.role.as_str(), "dashboard login");
    redirect("/", Some(auth::session_cookie(token)))
}

/// The form again, saying why the login failed: `wrong` for a wrong name, password or
/// token; when the address must wait, for how long.
fn refused(l: Lang, e: bawaba_app::Error, wrong: &'static str) -> Response {
    match e {
        bawaba_app::Error::Throttled(minutes) => {
            let say = l.t("login.throttled").replace("{n}", &minutes.to_string());
            let mut r = super::page(
                StatusCode::TOO_MANY_REQUESTS,
                pages::login(l, Some(&say)),
                None,
            );
            if let Ok(v) = HeaderValue::from_str(&(minutes * 60).to_string()) {
                r.headers_mut().insert(RETRY_AFTER, v);
            }
            r
        }
        e if e.kind() == Kind::Unauthenticated => again(l, StatusCode::UNAUTHORIZED, wrong),
        e => again(l, error_status(&Error::App(e)).0, "error"),
    }
}

fn again(l: Lang, status: StatusCode, say: &'static str) -> Response {
    super::page(status, pages::login(l, Some(l.t(say))), None)
}

/// Ends the session (a portal session is ended in the store too) and forgets the cookie.
pub(super) async fn logout<S: Store>(State(app): State<App<S>>, headers: HeaderMap) -> Response {
    if let Some(secret) = auth::cookie(&headers, auth::SESSION_COOKIE)
        && let Err(e) = app.0.d.app.log_out(secret).await
    {
        tracing::error!(error = %e, "ending a session");
    }
    redirect("/login", Some(auth::clear_session()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(chain: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in chain {
            h.append(X_FORWARDED_FOR, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_trusted_proxy_is_seen_through_and_nothing_else_is() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = [ip("10.0.0.2"), ip("10.0.0.3")];
        let h = forwarded(&["6.6.6.6, 198.51.100.7", "10.0.0.3"]);
        assert_eq!(
            client(ip("10.0.0.2"), &h, &proxy),
            ip("198.51.100.7"),
            "the last untrusted"
        );
        assert_eq!(
            client(ip("203.0.113.5"), &h, &proxy),
            ip("203.0.113.5"),
            "not a proxy: its header is not believed"
        );
        assert_eq!(
            client(ip("10.0.0.2"), &HeaderMap::new(), &proxy),
            ip("10.0.0.2"),
            "no header"
        );
        let junk = forwarded(&["198.51.100.7, not-an-address"]);
        assert_eq!(
            client(ip("10.0.0.2"), &junk, &proxy),
            ip("10.0.0.2"),
            "unreadable"
        );
    }
}
