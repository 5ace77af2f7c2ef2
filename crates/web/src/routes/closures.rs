//! The authority closes and reopens zones from its page: the form, the impact (the bookings
//! the closure would hit) shown before confirming, the closure made, a closure lifted.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_domain::calendar::{Closure, ClosurePolicy, parse_time};
use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::BookingState;
use bawaba_store::Store;
use serde::Deserialize;

use super::{AUTHORITY, App, Error, now, page, page_for, to_authority};
use crate::pages::{self, CloseForm};
use crate::report;

#[derive(Debug, Default, Deserialize)]
pub(super) struct CloseQuery {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    lang: Option<String>,
}

impl CloseQuery {
    fn form(&self) -> CloseForm {
        CloseForm {
            zone: self.zone.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            reason: self.reason.clone(),
        }
    }

    /// The closure the fields describe, checked (the field named on error).
    fn closure(&self) -> Result<(ZoneId, Closure), Error> {
        let invalid = |e: bawaba_domain::Error| Error::App(e.into());
        let zone = ZoneId::parse(&self.zone).map_err(|e| invalid(e.in_field("zone")))?;
        let from = parse_time(&self.from, "from").map_err(invalid)?;
        let to = parse_time(&self.to, "to").map_err(invalid)?;
        bawaba_domain::calendar::check_interval(from, to, &self.reason, "a closure")
            .map_err(invalid)?;
        let reason = self.reason.trim().to_owned();
        Ok((
            zone,
            Closure {
                id: 0,
                from,
                to,
                reason,
            },
        ))
    }
}

/// The form; once filled in, the bookings the closure would hit and the button to confirm.
pub(super) async fn close_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<CloseQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let zones = match app.0.d.app.list_zones(&p).await {
        Ok(z) => z,
        Err(e) => return super::failed(l, &Error::App(e), cookie),
    };
    let blank = q.zone.is_empty() && q.from.is_empty() && q.to.is_empty();
    let checked = if blank { None } else { Some(q.closure()) };
    let impact = match checked {
        Some(Ok((zone, c))) => match zones.iter().find(|z| z.id == zone) {
            Some(z) => report::closure_impact(app.0.d.app.store().as_ref(), z, &c, now(&app))
                .await
                .map(Some),
            None => Err(Error::App(bawaba_app::Error::not_found("zone", zone))),
        },
        Some(Err(e)) => Err(e),
        None => Ok(None),
    };
    let (status, impact, error) = match impact {
        Ok(i) => (StatusCode::OK, i, None),
        Err(e) => (
            super::error_status(&e).0,
            None,
            Some(crate::pages::errors::say(l, &e)),
        ),
    };
    let html = pages::close_zone(l, &p, &zones, &q.form(), impact.as_ref(), error.as_deref());
    page(status, html, cookie)
}

#[derive(Debug, Deserialize)]
pub(super) struct CloseSubmit {
    zone: String,
    from: String,
    to: String,
    reason: String,
    /// notify (the default) or cancel.
    #[serde(default)]
    policy: Option<String>,
}

/// Confirmed: the closure is made (audited; it reaches the zone's gates).
pub(super) async fn close<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<CloseSubmit>,
) -> Response {
    let (p, l) = match page_for(&app, &headers, AUTHORITY, None).await {
        Ok((p, l, _)) => (p, l),
        Err(r) => return r,
    };
    let q = CloseQuery {
        zone: f.zone,
        from: f.from,
        to: f.to,
        reason: f.reason,
        lang: None,
    };
    let policy = f
        .policy
        .as_deref()
        .unwrap_or("notify")
        .parse::<ClosurePolicy>();
    let made = match (q.closure(), policy) {
        (Ok((zone, c)), Ok(policy)) => app
            .0
            .d
            .app
            .add_closure(&p, zone, (c.from, c.to), c.reason, policy)
            .await
            .map_err(Error::App),
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(Error::App(e.into())),
    };
    to_authority(
        l,
        made.map(|c| {
            let cancelled = c
                .hit
                .iter()
                .filter(|b| b.state == BookingState::Cancelled)
                .count();
            let moved = c.rebooked.len();
            let kept = c.hit.len() - cancelled - moved;
            let id = c.closure.id;
            format!("closed={id}&rebooked={moved}&cancelled={cancelled}&kept={kept}#closures")
        }),
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct LiftSubmit {
    zone: String,
    id: u64,
}

pub(super) async fn lift<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<LiftSubmit>,
) -> Response {
    let (p, l) = match page_for(&app, &headers, AUTHORITY, None).await {
        Ok((p, l, _)) => (p, l),
        Err(r) => return r,
    };
    let lifted = match ZoneId::parse(&f.zone) {
        Ok(zone) => app.0.d.app.remove_closure(&p, zone, f.id).await,
        Err(e) => Err(e.into()),
    };
    to_authority(
        l,
        lifted.map(|(_, back)| format!("lifted={}&back={}#closures", f.id, back.len())),
    )
}
