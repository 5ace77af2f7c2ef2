//! The portal's events page: the company's event log, newest first, each event with how its
//! webhook delivery and its SMS went; a company admin sets the webhook here.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_domain::access::{Principal, Role};
use bawaba_store::Store;
use serde::Deserialize;

use super::{App, Error, error_status, failed, page, page_for};
use crate::i18n::Lang;
use crate::pages::events::{self as pages, EventsView};
use crate::pages::{errors, portal};

const COMPANY: &[Role] = &[Role::Company];
/// Events one page shows.
const PAGE: u64 = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct EventsQuery {
    lang: Option<String>,
    /// List the events numbered before this one.
    before: Option<u64>,
}

pub(super) async fn events_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    show(&app, (&p, l, cookie), q.before, (None, None)).await
}

async fn show<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    before: Option<u64>,
    (notice, error): (Option<&str>, Option<&Error>),
) -> Response {
    let d = &app.0.d.app;
    let read = async {
        let head = d.company_events(p, None, 0, 1).await?.head;
        let before = before.unwrap_or(head + 1).min(head + 1);
        let after = before.saturating_sub(PAGE + 1);
        let limit = usize::try_from(PAGE).unwrap_or(50);
        let mut events = d.company_events(p, None, after, limit).await?.events;
        events.retain(|e| e.seq < before);
        let from = Some((before, 0));
        let hooks = d
            .webhook_deliveries(p, None, from, bawaba_app::MAX_DELIVERIES)
            .await?;
        let texts = d.texts(p, None, from, bawaba_app::MAX_DELIVERIES).await?;
        let webhook = match d.webhook(p, None).await {
            Ok(w) => Some(w),
            Err(e) if e.kind() == bawaba_app::Kind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok::<_, bawaba_app::Error>((events, hooks, texts, webhook, after))
    };
    let (events, hooks, texts, webhook, after) = match read.await {
        Ok(found) => found,
        Err(e) => return failed(l, &Error::App(e), cookie),
    };
    let hook_attempts = pages::by_event(hooks.iter().map(|d| (d, None)));
    let text_attempts = pages::texts_by_event(&texts);
    let message = error.map(|e| errors::say(l, e));
    let flash = portal::flash(notice, message.as_deref());
    let view = EventsView {
        events: &events,
        webhook: webhook.as_ref(),
        hooks: &hook_attempts,
        texts: &text_attempts,
        older: (after > 0).then_some(after + 1),
        flash: &flash,
    };
    let status = error.map_or(StatusCode::OK, |e| error_status(e).0);
    page(status, pages::events(l, p, &view), cookie)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WebhookSubmit {
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
}

/// Sets the company's webhook (a company admin). The secret — typed, or made when left
/// empty — is shown this once.
pub(super) async fn set_webhook<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<WebhookSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let set = app
        .0
        .d
        .app
        .set_webhook(&p, None, f.url.trim(), f.secret.trim())
        .await;
    match set {
        Ok(hook) => {
            let notice = format!("{} {}", l.t("events.secret_once"), hook.secret);
            show(&app, (&p, l, cookie), None, (Some(&notice), None)).await
        }
        Err(e) => {
            let e = Error::App(e);
            show(&app, (&p, l, cookie), None, (None, Some(&e))).await
        }
    }
}
