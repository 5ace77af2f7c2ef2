//! Alerts of the zone's other systems: `POST /api/cap` takes one CAP 1.2 alert (an alerts or
//! authority token); the authority lists (`/api/alerts/pending`) and confirms or dismisses
//! (`/authority/alerts`, a form of the authority page) the closures alerts left pending.

use axum::Json;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bawaba_app::{AlertReport, PendingAlert, ZoneEffect};
use bawaba_domain::access::Role;
use bawaba_domain::calendar::{Closure, local};
use bawaba_domain::ids::ZoneId;
use bawaba_store::Store;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AUTHORITY, App, Error, api_access, api_error, to_authority};

const ALERTS: &[Role] = &[Role::Alerts, Role::Authority];

pub(super) async fn api_cap<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let p = match api_access(&app, &headers, ALERTS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match app.0.d.app.receive_alert(&p, &body).await {
        Ok(report) => Json(report_json(&report)).into_response(),
        Err(e) => api_error(&Error::App(e)),
    }
}

pub(super) async fn api_pending<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
) -> Response {
    let p = match api_access(&app, &headers, AUTHORITY).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match app.0.d.app.pending_alerts(&p).await {
        Ok(pending) => {
            Json(json!({ "pending": pending.iter().map(pending_json).collect::<Vec<_>>() }))
                .into_response()
        }
        Err(e) => api_error(&Error::App(e)),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct DecideForm {
    zone: String,
    key: String,
    decision: String,
}

/// The authority page's confirm / dismiss buttons.
pub(super) async fn decide_form<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    let (p, l) = match super::page_for(&app, &headers, AUTHORITY, None).await {
        Ok((p, l, _)) => (p, l),
        Err(r) => return r,
    };
    let confirm = match f.decision.as_str() {
        "confirm" => true,
        "dismiss" => false,
        other => {
            let e = bawaba_app::Error::invalid(
                "decision",
                format!("{other:?}: expected confirm or dismiss"),
            );
            return to_authority(l, Err::<String, _>(e));
        }
    };
    let decided = match ZoneId::parse(&f.zone) {
        Ok(zone) => app.0.d.app.decide_alert(&p, &zone, &f.key, confirm).await,
        Err(e) => Err(e.into()),
    };
    to_authority(l, decided.map(|z| format!("alert={}", z.effect.as_str())))
}

fn closure_json(c: &Closure) -> Value {
    json!({
        "id": c.id,
        "from": c.from,
        "to": c.to,
        "from_local": local(c.from),
        "to_local": local(c.to),
        "reason": c.reason,
    })
}

fn effect_json(z: &ZoneEffect) -> Value {
    json!({
        "zone": z.zone,
        "effect": z.effect.as_str(),
        "closure": z.closure.as_ref().map(closure_json),
        "bookings_hit": z.hit,
        "bookings_rebooked": z.rebooked,
        "bookings_can_return": z.can_return,
        "repeated": z.repeated,
    })
}

fn report_json(r: &AlertReport) -> Value {
    json!({
        "alert": r.key,
        "msg_type": format!("{:?}", r.msg_type),
        "zones": r.zones.iter().map(effect_json).collect::<Vec<_>>(),
        "note": r.note,
    })
}

fn pending_json(a: &PendingAlert) -> Value {
    json!({
        "zone": a.zone,
        "alert": a.key,
        "received": a.received,
        "from": a.close.from,
        "to": a.close.to,
        "from_local": local(a.close.from),
        "to_local": local(a.close.to),
        "reason": a.close.reason,
        "bookings_hit": a.hit,
    })
}
