//! The HTTP routes: pages, JSON endpoints, the live feed, assets, `/metrics`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::ids::{BookingId, PassageId};
use bawaba_domain::passage::Resolution;
use bawaba_store::Store;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::agg::{Day, PassageRow};
use crate::auth::{self, Access};
use crate::i18n::Lang;
use crate::{Dashboard, Error, pages, report};

use crate::pages::FEED_ROWS;
/// Most passages one `/api/passages` answers.
const MAX_PASSAGES: usize = 1000;

struct Inner<S> {
    d: Dashboard<S>,
    stop: watch::Receiver<bool>,
}

/// The router's state. Cheap to clone.
pub struct App<S>(Arc<Inner<S>>);

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App(Arc::clone(&self.0))
    }
}

/// The dashboard's routes. Live feeds end when `stop` turns true.
pub fn router<S: Store>(d: Dashboard<S>, stop: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/", get(home::<S>))
        .route("/login", get(login::page::<S>).post(login::login::<S>))
        .route("/logout", post(login::logout::<S>))
        .route("/portal", get(portal::home::<S>))
        .route(
            "/portal/fleet",
            get(portal::fleet_page::<S>).post(portal::save_truck::<S>),
        )
        .route("/portal/fleet/remove", post(portal::remove_truck::<S>))
        .route(
            "/portal/book",
            get(booking::book_page::<S>).post(booking::book::<S>),
        )
        .route("/portal/bookings/{id}", get(booking::booking_page::<S>))
        .route(
            "/portal/bookings/{id}/move",
            post(booking::move_booking::<S>),
        )
        .route(
            "/portal/bookings/{id}/cancel",
            post(booking::cancel_booking::<S>),
        )
        .route("/portal/bookings/{id}/slip", get(booking::slip::<S>))
        .route(
            "/portal/bookings/{id}/slip.png",
            get(booking::slip_png::<S>),
        )
        .route("/portal/events", get(events::events_page::<S>))
        .route("/portal/webhook", post(events::set_webhook::<S>))
        .route(
            "/portal/accounts",
            get(portal::accounts_page::<S>).post(portal::create_account::<S>),
        )
        .route("/portal/accounts/change", post(portal::change_account::<S>))
        .route(
            "/authority/accounts",
            get(portal::accounts_page::<S>).post(portal::create_account::<S>),
        )
        .route(
            "/authority/accounts/change",
            post(portal::change_account::<S>),
        )
        .route("/authority", get(authority::<S>))
        .route("/operator", get(operator::<S>))
        .route("/authority/audit", get(audit::audit_page::<S>))
        .route("/authority/passages", get(passages::passages_page::<S>))
        .route("/authority/export/{file}", get(export::export::<S>))
        .route("/operator/referrals/{id}", post(resolve_form::<S>))
        .route("/operator/search", get(search::search_page::<S>))
        .route("/operator/decisions", get(decisions::decisions_page::<S>))
        .route("/api/overview", get(api_overview::<S>))
        .route("/api/throughput", get(api_throughput::<S>))
        .route("/api/slots", get(api_slots::<S>))
        .route("/api/turn-times", get(api_turn_times::<S>))
        .route("/api/companies", get(api_companies::<S>))
        .route("/api/closures", get(api_closures::<S>))
        .route("/api/queue", get(api_queue::<S>))
        .route("/api/referrals", get(api_referrals::<S>))
        .route("/api/referrals/{id}/resolve", post(api_resolve::<S>))
        .route("/api/passages", get(api_passages::<S>))
        .route("/api/feed", get(api_feed::<S>))
        .route("/api/audit", get(audit::api_audit::<S>))
        .route("/api/cap", post(alerts::api_cap::<S>))
        .route("/api/alerts/pending", get(alerts::api_pending::<S>))
        .route("/authority/alerts", post(alerts::decide_form::<S>))
        .route("/authority/closures/new", get(closures::close_page::<S>))
        .route("/authority/closures", post(closures::close::<S>))
        .route("/authority/closures/lift", post(closures::lift::<S>))
        .route("/authority/capacity", get(capacity::capacity_page::<S>))
        .route(
            "/authority/capacity/override",
            post(capacity::set_override::<S>),
        )
        .route(
            "/authority/capacity/remove",
            post(capacity::remove_override::<S>),
        )
        .route("/authority/capacity/cap", post(capacity::set_cap::<S>))
        .route("/security", get(watchlist::watch_page::<S>))
        .route("/security/watch", post(watchlist::add::<S>))
        .route("/security/watch/remove", post(watchlist::remove::<S>))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/healthz", get(healthz::<S>))
        .route("/metrics", get(metrics_text::<S>))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::csrf::guard))
        .with_state(App(Arc::new(Inner { d, stop })))
}

mod alerts;
mod audit;
mod booking;
mod capacity;
mod closures;
mod decisions;
mod events;
mod export;
mod login;
mod passages;
mod portal;
mod search;
mod watchlist;

// ---- common --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    lang: Option<String>,
    day: Option<String>,
    done: Option<String>,
    delivered: Option<String>,
    error: Option<String>,
    /// The outcome of the authority's decision on a pending alert.
    alert: Option<String>,
    /// The closure the authority just made or lifted.
    closed: Option<u64>,
    lifted: Option<u64>,
    /// Bookings that can come as booked again after a lift.
    back: Option<usize>,
    /// What the closure just made did to the bookings it hit: moved, cancelled, left in it.
    rebooked: Option<usize>,
    cancelled: Option<usize>,
    kept: Option<usize>,
}

/// The language of this request, and the `Set-Cookie` remembering a `?lang=` choice.
fn lang(q: &PageQuery, headers: &HeaderMap) -> (Lang, Option<String>) {
    let (l, chosen) = Lang::pick(q.lang.as_deref(), headers);
    let cookie = chosen.then(|| {
        format!(
            "{}={}; Path=/; SameSite=Strict; Max-Age=31536000",
            auth::LANG_COOKIE,
            l.code()
        )
    });
    (l, cookie)
}

/// Security headers of every page: nothing from elsewhere, no framing, no caching.
fn page(status: StatusCode, html: String, set_cookie: Option<String>) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.append(SET_COOKIE, c);
    }
    r
}

fn redirect(to: &str, set_cookie: Option<String>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// A page for `roles`: the principal, or the login redirect / the 403 page.
// The refusal is the response itself, as axum rejections are.
#[allow(clippy::result_large_err)]
async fn page_access<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    roles: &[Role],
    l: Lang,
) -> Result<Principal, Response> {
    match auth::check(&app.0.d.app, headers, roles).await {
        Access::Granted(p) => Ok(p),
        Access::Anonymous => Err(redirect("/login", None)),
        Access::Refused(p) => Err(page(StatusCode::FORBIDDEN, pages::forbidden(l, &p), None)),
    }
}

/// A page for `roles` in the language `?lang=` asks for (or remembered): the caller, the
/// language and the cookie remembering it; else the login redirect or the refusal.
// The refusal is the response itself, as axum rejections are.
#[allow(clippy::result_large_err)]
async fn page_for<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    roles: &[Role],
    asked: Option<String>,
) -> Result<(Principal, Lang, Option<String>), Response> {
    let q = PageQuery {
        lang: asked,
        ..PageQuery::default()
    };
    let (l, cookie) = lang(&q, headers);
    Ok((page_access(app, headers, roles, l).await?, l, cookie))
}

/// Back to the authority's page after one of its forms: with `query` saying what was done, or
/// with the error, as the page's language says it.
fn to_authority(l: Lang, done: Result<String, impl Into<Error>>) -> Response {
    match done {
        Ok(query) => redirect(&format!("/authority?{query}"), None),
        Err(e) => {
            let said = pages::errors::say(l, &e.into());
            redirect(&format!("/authority?error={}", url_encode(&said)), None)
        }
    }
}

/// The error page of `e`, with its status, said in the page's language.
fn failed(l: Lang, e: &Error, cookie: Option<String>) -> Response {
    let message = pages::errors::say(l, e);
    page(error_status(e).0, pages::error(l, &message), cookie)
}

fn json_error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let mut body = serde_json::json!({ "error": message });
    if let Some(f) = field {
        body["field"] = f.into();
    }
    (status, Json(body)).into_response()
}

/// A JSON endpoint for `roles`: the principal, or 401 / 403 with a JSON error.
// The refusal is the response itself, as axum rejections are.
#[allow(clippy::result_large_err)]
async fn api_access<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    roles: &[Role],
) -> Result<Principal, Response> {
    match auth::check(&app.0.d.app, headers, roles).await {
        Access::Granted(p) => Ok(p),
        Access::Anonymous => Err(json_error(
            StatusCode::UNAUTHORIZED,
            "log in: a session cookie or `Authorization: Bearer <token>` of an authority or operator token",
            None,
        )),
        Access::Refused(p) => Err(json_error(
            StatusCode::FORBIDDEN,
            &format!(
                "a {} token may not read this (needs {})",
                p.role.as_str(),
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            None,
        )),
    }
}

/// The HTTP status of an error: the one mapping of the web door.
fn error_status(e: &Error) -> (StatusCode, Option<String>) {
    use bawaba_app::Kind;
    let app = match e {
        Error::Invalid { field, .. } => return (StatusCode::BAD_REQUEST, Some(field.clone())),
        Error::Io(_) => return (StatusCode::INTERNAL_SERVER_ERROR, None),
        Error::App(app) => app,
    };
    let status = match app.kind() {
        Kind::Invalid => {
            let field = match app {
                bawaba_app::Error::Refused(bawaba_domain::Error::Invalid { field, .. }) => {
                    Some(field.clone())
                }
                _ => None,
            };
            return (StatusCode::BAD_REQUEST, field);
        }
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Exhausted | Kind::Precondition | Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, None)
}

fn api_error(e: &Error) -> Response {
    let (status, field) = error_status(e);
    if status.is_server_error() {
        tracing::error!(error = %e, "dashboard request failed");
    }
    json_error(status, &e.to_string(), field.as_deref())
}

fn now<S: Store>(app: &App<S>) -> chrono::DateTime<chrono::Utc> {
    app.0.d.app.clock().now()
}

/// The store, for the authority's figures (read after an authority check).
fn store<S: Store>(app: &App<S>) -> &S {
    app.0.d.app.store()
}

fn day<S: Store>(app: &App<S>, raw: Option<&str>) -> Result<Day, Error> {
    Day::parse(raw, now(app))
}

// ---- pages ---------------------------------------------------------------------------------

async fn home<S: Store>(State(app): State<App<S>>, headers: HeaderMap) -> Response {
    match auth::check(&app.0.d.app, &headers, auth::WEB_ROLES).await {
        Access::Granted(p) if p.role == Role::Authority => redirect("/authority", None),
        Access::Granted(p) if p.role == Role::Security => redirect("/security", None),
        Access::Granted(p) if p.role == Role::Company => redirect("/portal", None),
        Access::Granted(_) => redirect("/operator", None),
        Access::Anonymous => redirect("/login", None),
        Access::Refused(p) => {
            let (l, _) = lang(&PageQuery::default(), &headers);
            page(StatusCode::FORBIDDEN, pages::forbidden(l, &p), None)
        }
    }
}

async fn authority<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (l, cookie) = lang(&q, &headers);
    let p = match page_access(&app, &headers, &[Role::Authority], l).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = now(&app);
    let d = match day(&app, q.day.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            return failed(l, &e, cookie);
        }
    };
    let store = store(&app);
    let overview = report::overview(store, &d, now).await;
    // The live feed goes on from the head read before the rows shown: a passage recorded in
    // between comes twice, and the page shows it once.
    let head = report::passage_head(store).await;
    let feed = report::recent_passages(store, None, FEED_ROWS, now).await;
    let pending = app.0.d.app.pending_alerts(&p).await.map_err(Error::App);
    match (overview, head, feed, pending) {
        (Ok(o), Ok(head), Ok(feed), Ok(pending)) => {
            let outcome = match (q.alert.as_deref(), q.closed, q.lifted) {
                (Some("confirmed"), ..) => Some("alerts.confirmed"),
                (Some(_), ..) => Some("alerts.dismissed"),
                (None, Some(_), _) => Some("closure.done"),
                (None, None, Some(_)) => Some("closure.lifted"),
                _ => None,
            };
            let mut notices = pages::notices(l, &pending, outcome, q.error.as_deref());
            if let (Some(_), Some(n)) = (q.lifted, q.back) {
                notices.push_str(&pages::back_notice(l, n));
            }
            if let (Some(_), Some(m), Some(c), Some(k)) =
                (q.closed, q.rebooked, q.cancelled, q.kept)
            {
                notices.push_str(&pages::closed_notice(l, (m, c, k)));
            }
            let body = pages::authority(l, &p, &d, now, &o, (&feed, head), &notices);
            page(StatusCode::OK, body, cookie)
        }
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => failed(l, &e, cookie),
    }
}

async fn operator<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (l, cookie) = lang(&q, &headers);
    let p = match page_access(&app, &headers, &[Role::Operator, Role::Authority], l).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = now(&app);
    // The head first: a referral recorded while the page is made comes again live.
    let read = match report::passage_head(store(&app)).await {
        Ok(head) => report::referrals(&app.0.d.app, &p, 10, now)
            .await
            .map(|r| (head, r)),
        Err(e) => Err(e),
    };
    match read {
        Ok((feed_head, (open, done))) => {
            let flash = pages::Flash {
                done: q.done.as_deref(),
                delivered: q.delivered.as_deref() == Some("1"),
                error: q.error.as_deref(),
                feed_head,
            };
            page(
                StatusCode::OK,
                pages::operator(l, &p, &open, &done, &flash),
                cookie,
            )
        }
        Err(e) => failed(l, &e, cookie),
    }
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    decision: String,
    #[serde(default)]
    reason: String,
    /// The booking the operator found the truck holds (optional; approvals only).
    #[serde(default)]
    booking_id: String,
}

/// Parses a decision: approve or reject.
fn decision(approve: &str) -> Result<bool, Error> {
    match approve {
        "approve" => Ok(true),
        "reject" => Ok(false),
        other => Err(Error::invalid(
            "decision",
            format!("{other:?}; expected approve or reject"),
        )),
    }
}

/// Resolves through the application's one use case, as the gRPC OperatorService does (the
/// reason is checked there).
async fn resolve<S: Store>(
    app: &App<S>,
    p: &Principal,
    id: &str,
    (approve, reason, booking): (bool, &str, &str),
) -> Result<(bawaba_domain::passage::Referral, bool), Error> {
    let id = PassageId::parse(id).map_err(|e| e.in_field("event_id"))?;
    let booking = booking.trim();
    let res = Resolution {
        approve,
        reason: reason.to_owned(),
        booking: (!booking.is_empty())
            .then(|| BookingId::parse(booking).map_err(|e| e.in_field("booking_id")))
            .transpose()?,
    };
    Ok(app.0.d.app.resolve_referral(p, id, res).await?)
}

async fn resolve_form<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<ResolveForm>,
) -> Response {
    let (l, _) = lang(&PageQuery::default(), &headers);
    let p = match page_access(&app, &headers, &[Role::Operator, Role::Authority], l).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let resolved = match decision(&f.decision) {
        Ok(approve) => resolve(&app, &p, &id, (approve, &f.reason, &f.booking_id)).await,
        Err(e) => Err(e),
    };
    match resolved {
        Ok((r, delivered)) => redirect(
            &format!(
                "/operator?done={}-{}&delivered={}",
                r.passage.id,
                if f.decision == "approve" {
                    "approved"
                } else {
                    "rejected"
                },
                u8::from(delivered)
            ),
            None,
        ),
        Err(e) => redirect(
            &format!("/operator?error={}", url_encode(&pages::errors::say(l, &e))),
            None,
        ),
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such page", None)
}

// ---- JSON ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
}

const AUTHORITY: &[Role] = &[Role::Authority];
const OPERATORS: &[Role] = &[Role::Operator, Role::Authority];

/// An authority endpoint over one day (`?day=YYYY-MM-DD`, today by default): `$report` is
/// called with the store and the day (and the current time when `now` is given).
macro_rules! day_endpoint {
    ($name:ident, $report:path) => {
        day_endpoint!(@ $name, |app, d| $report(store(&app), &d));
    };
    ($name:ident, $report:path, now) => {
        day_endpoint!(@ $name, |app, d| $report(store(&app), &d, now(&app)));
    };
    (@ $name:ident, |$app:ident, $d:ident| $call:expr) => {
        async fn $name<S: Store>(
            State($app): State<App<S>>,
            Query(q): Query<DayQuery>,
            headers: HeaderMap,
        ) -> Response {
            if let Err(r) = api_access(&$app, &headers, AUTHORITY).await {
                return r;
            }
            let $d = match day(&$app, q.day.as_deref()) {
                Ok(d) => d,
                Err(e) => return api_error(&e),
            };
            match $call.await {
                Ok(v) => Json(v).into_response(),
                Err(e) => api_error(&e),
            }
        }
    };
}

day_endpoint!(api_throughput, report::throughput);
day_endpoint!(api_slots, report::slots);
day_endpoint!(api_turn_times, report::turn_times);
day_endpoint!(api_companies, report::companies);
day_endpoint!(api_overview, report::overview, now);
day_endpoint!(api_queue, report::queue, now);

async fn api_closures<S: Store>(State(app): State<App<S>>, headers: HeaderMap) -> Response {
    if let Err(r) = api_access(&app, &headers, AUTHORITY).await {
        return r;
    }
    match report::closures(store(&app), now(&app)).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => api_error(&e),
    }
}

async fn api_referrals<S: Store>(State(app): State<App<S>>, headers: HeaderMap) -> Response {
    let p = match api_access(&app, &headers, OPERATORS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match report::referrals(&app.0.d.app, &p, 50, now(&app)).await {
        Ok((open, resolved)) => Json(serde_json::json!({
            "zone": p.zone.as_ref().map(ToString::to_string),
            "open": open,
            "resolved": resolved,
        }))
        .into_response(),
        Err(e) => api_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ResolveJson {
    approve: bool,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    booking_id: String,
}

async fn api_resolve<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ResolveJson>,
) -> Response {
    let p = match api_access(&app, &headers, OPERATORS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let asked = (body.approve, body.reason.as_str(), body.booking_id.as_str());
    match resolve(&app, &p, &id, asked).await {
        Ok((r, delivered)) => Json(serde_json::json!({
            "event_id": r.passage.id.to_string(),
            "state": format!("{:?}", r.state).to_uppercase(),
            "resolved_by": r.resolved_by,
            "resolution": r.resolution,
            "booking_id": r.passage.booking.map(|b| b.to_string()),
            "resolved_at": r.resolved_at,
            "command_delivered": delivered,
        }))
        .into_response(),
        Err(e) => api_error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PassagesQuery {
    since: Option<String>,
    limit: Option<usize>,
}

/// A `since` parameter: absent or blank is `None`, else what `parse` makes of it.
fn optional_since<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .transpose()
}

/// `/api/passages`' `since`: a passage id.
fn since(raw: Option<&str>) -> Result<Option<PassageId>, Error> {
    optional_since(raw, |s| {
        PassageId::parse(s).map_err(|e| match e {
            bawaba_domain::Error::Invalid { reason, .. } => Error::invalid("since", reason),
            other => Error::invalid("since", other.to_string()),
        })
    })
}

async fn api_passages<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PassagesQuery>,
    headers: HeaderMap,
) -> Response {
    let p = match api_access(&app, &headers, OPERATORS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PASSAGES {
        return api_error(&Error::invalid(
            "limit",
            format!("is {limit}; expected 1 to {MAX_PASSAGES}"),
        ));
    }
    let found = match since(q.since.as_deref()) {
        Err(e) => return api_error(&e),
        Ok(Some(after)) => report::passages_since(&app.0.d.app, &p, after, limit).await,
        Ok(None) => report::recent_passages(store(&app), p.zone.as_ref(), limit, now(&app)).await,
    };
    match found {
        Ok(found) => Json(serde_json::json!({
            "passages": found.iter().map(PassageRow::of).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => api_error(&e),
    }
}

/// Passages the live feed reads at once.
const FEED_PAGE: usize = 200;

/// The live feed: every passage recorded after recording number `?since=` (or the
/// `Last-Event-ID` the browser sends when it reconnects, or now), in the order they were
/// recorded (a gate back from an outage reports older passages late: they come too), as
/// `event: passage` with the recording number as the event id and a [`PassageRow`] as JSON
/// data. Woken by the store's commits.
async fn api_feed<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PassagesQuery>,
    headers: HeaderMap,
) -> Response {
    let p = match api_access(&app, &headers, OPERATORS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cursor = match recording_number(last_event.as_deref().or(q.since.as_deref())) {
        Ok(Some(c)) => c,
        // Nothing seen yet: start after the last passage recorded.
        Ok(None) => match report::passage_head(store(&app)).await {
            Ok(head) => head,
            Err(e) => return api_error(&e),
        },
        Err(e) => return api_error(&e),
    };
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    tokio::spawn(feed(app.clone(), p, cursor, tx));
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// A feed's `since` (or `Last-Event-ID`): a recording number.
fn recording_number(raw: Option<&str>) -> Result<Option<u64>, Error> {
    optional_since(raw, |s| {
        s.parse::<u64>().map_err(|_| {
            Error::invalid(
                "since",
                format!("is {s:?}; expected a recording number (the feed's event id)"),
            )
        })
    })
}

async fn feed<S: Store>(
    app: App<S>,
    who: Principal,
    mut cursor: u64,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    let mut commits = app.0.d.app.commits();
    let mut stop = app.0.stop.clone();
    loop {
        // Seen before reading, so a commit racing the read wakes us again.
        commits.borrow_and_update();
        loop {
            let page = match app.0.d.app.recorded_passages(&who, cursor, FEED_PAGE).await {
                Ok(r) => r.passages,
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: reading passages failed");
                    return;
                }
            };
            let full = page.len() == FEED_PAGE;
            for (n, x) in page {
                cursor = n;
                let data = serde_json::to_string(&PassageRow::of(&x)).unwrap_or_default();
                let event = Event::default()
                    .event("passage")
                    .id(n.to_string())
                    .data(data);
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
            () = tx.closed() => return,
        }
    }
}

// ---- assets and metrics --------------------------------------------------------------------

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `ok` while the store serves; 503 with the reason once it has stopped serving (the sled
/// store after a failed commit), so a liveness probe restarts the scheduler.
async fn healthz<S: Store>(State(app): State<App<S>>) -> Response {
    let failure = store(&app).failure().borrow().clone();
    match failure {
        None => "ok".into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store stopped serving: {why}"),
        )
            .into_response(),
    }
}

async fn metrics_text<S: Store>(State(app): State<App<S>>) -> Response {
    let body = app.0.d.app.metrics().encode();
    ([(CONTENT_TYPE, bawaba_app::metrics::CONTENT_TYPE)], body).into_response()
}
