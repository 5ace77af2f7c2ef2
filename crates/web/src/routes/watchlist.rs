//! The security desk's routes: the watchlist page, putting a truck on it, taking one off. A
//! refused entry shows the page again with what was typed and the field named (400).

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::parse_time;
use bawaba_domain::ids::ZoneId;
use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
use bawaba_store::Store;
use serde::Deserialize;

use super::{App, Error, page, page_for, redirect};
use crate::i18n::Lang;
use crate::pages::{self, WatchForm};

const SECURITY: &[Role] = &[Role::Security, Role::Authority];

#[derive(Debug, Default, Deserialize)]
pub(super) struct WatchQuery {
    lang: Option<String>,
    /// What was just done: `added` or `removed`.
    done: Option<String>,
}

pub(super) async fn watch_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<WatchQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, SECURITY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let notice = match q.done.as_deref() {
        Some("added") => Some(l.t("watch.added_done")),
        Some("removed") => Some(l.t("watch.removed_done")),
        _ => None,
    };
    let shown = Shown {
        form: WatchForm::default(),
        notice,
        error: None,
    };
    render(&app, &p, l, cookie, shown).await
}

/// What the page shows besides the list.
struct Shown {
    form: WatchForm,
    notice: Option<&'static str>,
    error: Option<Error>,
}

async fn render<S: Store>(
    app: &App<S>,
    p: &Principal,
    l: Lang,
    cookie: Option<String>,
    shown: Shown,
) -> Response {
    let d = &app.0.d.app;
    let (zones, entries) = match (d.list_zones(p).await, d.list_watch(p, None).await) {
        (Ok(z), Ok(e)) => (z, e),
        (Err(e), _) | (_, Err(e)) => {
            return super::failed(l, &Error::App(e), cookie);
        }
    };
    let status = shown
        .error
        .as_ref()
        .map_or(StatusCode::OK, |e| super::error_status(e).0);
    let error = shown
        .error
        .as_ref()
        .map(|e| crate::pages::errors::say(l, e));
    let body = pages::watchlist(
        l,
        p,
        &zones,
        &entries,
        (&shown.form, shown.notice, error.as_deref()),
    );
    page(status, body, cookie)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WatchSubmit {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    plate: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    until: String,
}

impl WatchSubmit {
    /// The zone (none: every zone the caller keeps) and the entry the fields describe, checked
    /// (the field named on error).
    fn entry(&self) -> Result<(Option<ZoneId>, WatchEntry), bawaba_domain::Error> {
        let zone = match self.zone.trim() {
            "" => None,
            z => Some(ZoneId::parse(z).map_err(|e| e.in_field("zone"))?),
        };
        let action = match self.action.trim().to_ascii_lowercase().as_str() {
            "refer" | "" => WatchAction::Refer,
            "deny" => WatchAction::Deny,
            other => {
                let why = format!("{other:?}; expected refer or deny");
                return Err(bawaba_domain::Error::invalid("action", why));
            }
        };
        let until = match self.until.trim() {
            "" => None,
            t => Some(parse_time(t, "until")?),
        };
        let entry = WatchEntry {
            target: WatchTarget::parse(&self.plate, &self.tag)?,
            reason: self.reason.trim().to_owned(),
            action,
            until,
            added: chrono::DateTime::UNIX_EPOCH,
        };
        Ok((zone, entry))
    }

    fn form(&self) -> WatchForm {
        WatchForm {
            zone: self.zone.clone(),
            plate: self.plate.clone(),
            tag: self.tag.clone(),
            reason: self.reason.clone(),
            action: self.action.clone(),
            until: self.until.clone(),
        }
    }
}

/// Puts the truck on the watchlist of the zone chosen, or of every zone the caller keeps.
pub(super) async fn add<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<WatchSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, SECURITY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let added = match f.entry() {
        Ok((zone, entry)) => app.0.d.app.add_watch(&p, zone, entry).await,
        Err(e) => Err(e.into()),
    };
    let form = f.form();
    respond(&app, (&p, l, cookie), added.map(drop), ("added", form)).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct UnwatchSubmit {
    #[serde(default)]
    plate: String,
    #[serde(default)]
    tag: String,
}

/// Takes the truck off the watchlist of every zone the caller keeps.
pub(super) async fn remove<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<UnwatchSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, SECURITY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let removed = match WatchTarget::parse(&f.plate, &f.tag) {
        Ok(target) => app.0.d.app.remove_watch(&p, None, target).await,
        Err(e) => Err(e.into()),
    };
    let blank = WatchForm::default();
    respond(&app, (&p, l, cookie), removed.map(drop), ("removed", blank)).await
}

/// Back to the desk saying what was `done`, or the desk with the refusal and `form` as typed.
async fn respond<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    result: bawaba_app::Result<()>,
    (done, form): (&str, WatchForm),
) -> Response {
    match result {
        Ok(()) => redirect(&format!("/security?done={done}"), None),
        Err(e) => {
            let shown = Shown {
                form,
                notice: None,
                error: Some(Error::App(e)),
            };
            render(app, p, l, cookie, shown).await
        }
    }
}
