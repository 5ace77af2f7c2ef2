//! The authority's capacity page: one-off capacities of a zone (set, with the booked windows
//! a change would leave over capacity named and confirmed first; removed) and companies' own
//! caps (set, cleared). A refused change shows the page again with what was typed (400/412).

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_app::{CapacityChange, Kind};
use bawaba_domain::access::Principal;
use bawaba_domain::calendar::{WindowCapacity, parse_time};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_store::Store;
use serde::Deserialize;

use super::{AUTHORITY, App, Error, page, page_for, redirect, url_encode};
use crate::i18n::Lang;
use crate::pages::{self, CapacityNotes, OverrideForm};

#[derive(Debug, Default, Deserialize)]
pub(super) struct CapacityQuery {
    #[serde(default)]
    zone: String,
    lang: Option<String>,
    /// What was just done: `override`, `removed` or `cap`.
    done: Option<String>,
}

pub(super) async fn capacity_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<CapacityQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let done = match q.done.as_deref() {
        Some("override") => Some(l.t("capacity.done.override")),
        Some("removed") => Some(l.t("capacity.done.removed")),
        Some("cap") => Some(l.t("capacity.done.cap")),
        _ => None,
    };
    let shown = Shown {
        zone: q.zone,
        form: OverrideForm::default(),
        done,
        error: None,
    };
    render(&app, &p, l, cookie, shown).await
}

struct Shown {
    /// The zone asked for (empty: the first the caller sees).
    zone: String,
    form: OverrideForm,
    done: Option<&'static str>,
    error: Option<Error>,
}

async fn render<S: Store>(
    app: &App<S>,
    p: &Principal,
    l: Lang,
    cookie: Option<String>,
    shown: Shown,
) -> Response {
    let zones = match app.0.d.app.list_zones(p).await {
        Ok(z) => z,
        Err(e) => return error_page(l, cookie, &Error::App(e)),
    };
    let Some(z) = zones
        .iter()
        .find(|z| shown.zone.is_empty() || z.id.as_str() == shown.zone)
    else {
        let missing = Error::App(bawaba_app::Error::not_found("zone", &shown.zone));
        return error_page(l, cookie, shown.error.as_ref().unwrap_or(&missing));
    };
    let status = shown
        .error
        .as_ref()
        .map_or(StatusCode::OK, |e| super::error_status(e).0);
    let error = shown
        .error
        .as_ref()
        .map(|e| crate::pages::errors::say(l, e));
    // Booked windows over a new capacity: the one refusal the authority may override.
    let confirmable = matches!(&shown.error, Some(Error::App(e)) if e.kind() == Kind::Precondition);
    let notes = CapacityNotes {
        done: shown.done,
        error: error.as_deref(),
        confirmable,
    };
    let body = pages::capacity(l, p, &zones, z, &shown.form, &notes);
    page(status, body, cookie)
}

fn error_page(l: Lang, cookie: Option<String>, e: &Error) -> Response {
    super::failed(l, e, cookie)
}

fn back(zone: &str, done: &str) -> Response {
    redirect(
        &format!("/authority/capacity?zone={}&done={done}", url_encode(zone)),
        None,
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OverrideSubmit {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

impl OverrideSubmit {
    /// The zone and the one-off capacity the fields describe (the field named on error).
    fn change(&self) -> Result<(ZoneId, CapacityChange), bawaba_domain::Error> {
        let zone = ZoneId::parse(&self.zone).map_err(|e| e.in_field("zone"))?;
        let places = self.capacity.trim().parse::<u32>().map_err(|_| {
            bawaba_domain::Error::invalid("capacity", "must be a whole number of places")
        })?;
        Ok((
            zone,
            CapacityChange::Dates {
                from: parse_time(&self.from, "from")?,
                to: parse_time(&self.to, "to")?,
                capacity: WindowCapacity::uniform(places),
                reason: self.reason.trim().to_owned(),
            },
        ))
    }
}

/// Sets a one-off capacity; booked windows it would leave over capacity are named and the
/// change waits for the confirmation.
pub(super) async fn set_override<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<OverrideSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let confirm = f.confirm.as_deref() == Some("true");
    let set = match f.change() {
        Ok((zone, change)) => app.0.d.app.set_capacity(&p, zone, change, confirm).await,
        Err(e) => Err(e.into()),
    };
    let form = OverrideForm {
        from: f.from,
        to: f.to,
        capacity: f.capacity,
        reason: f.reason,
    };
    respond(
        &app,
        (&p, l, cookie),
        (&f.zone, form),
        set.map(drop),
        "override",
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RemoveSubmit {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    id: u64,
}

pub(super) async fn remove_override<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<RemoveSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let removed = match ZoneId::parse(&f.zone) {
        Ok(zone) => app.0.d.app.remove_override(&p, zone, f.id).await,
        Err(e) => Err(e.in_field("zone").into()),
    };
    let blank = OverrideForm::default();
    respond(
        &app,
        (&p, l, cookie),
        (&f.zone, blank),
        removed.map(drop),
        "removed",
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CapSubmit {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    company: String,
    /// 1 to 100, or empty to clear.
    #[serde(default)]
    percent: String,
}

pub(super) async fn set_cap<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<CapSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let set = match cap_fields(&f) {
        Ok((zone, company, pct)) => app.0.d.app.set_company_cap(&p, zone, company, pct).await,
        Err(e) => Err(e.into()),
    };
    let blank = OverrideForm::default();
    respond(
        &app,
        (&p, l, cookie),
        (&f.zone, blank),
        set.map(drop),
        "cap",
    )
    .await
}

fn cap_fields(f: &CapSubmit) -> Result<(ZoneId, CompanyId, u32), bawaba_domain::Error> {
    let zone = ZoneId::parse(&f.zone).map_err(|e| e.in_field("zone"))?;
    let company = CompanyId::parse(f.company.trim()).map_err(|e| e.in_field("company"))?;
    let pct = match f.percent.trim() {
        "" => 0,
        p => p.parse::<u32>().ok().filter(|p| *p > 0).ok_or_else(|| {
            bawaba_domain::Error::invalid("percent", "must be 1 to 100, or empty to clear")
        })?,
    };
    Ok((zone, company, pct))
}

/// Back to the zone's page saying what was done, or the page with the refusal and the
/// one-off capacity form as typed.
async fn respond<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    (zone, form): (&str, OverrideForm),
    done: bawaba_app::Result<()>,
    what: &str,
) -> Response {
    match done {
        Ok(()) => back(zone, what),
        Err(e) => {
            let shown = Shown {
                zone: zone.to_owned(),
                form,
                done: None,
                error: Some(Error::App(e)),
            };
            render(app, p, l, cookie, shown).await
        }
    }
}
