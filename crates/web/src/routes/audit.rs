//! The audit trail over HTTP: the authority's page and its JSON.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bawaba_app::{AuditPage, AuditQuery};
use bawaba_domain::audit::{AuditFilter, AuditKind};
use bawaba_domain::calendar::parse_time;
use bawaba_domain::ids::ZoneId;
use bawaba_store::Store;
use serde::Deserialize;

use super::{AUTHORITY, App, api_access, api_error, failed, page, page_for};
use crate::Error;
use crate::pages::{self, AuditForm};

/// The filters and page of an audit request, as given.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditParams {
    lang: Option<String>,
    zone: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

/// A parameter given and not blank, trimmed.
pub(super) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl AuditParams {
    /// The query they ask for; a malformed one names its field.
    fn query(&self) -> Result<AuditQuery, Error> {
        let time = |v: &Option<String>, field: &str| given(v).map(|s| parse_time(s, field));
        let page_size = match given(&self.page_size) {
            None => 0,
            Some(n) => n.parse().map_err(|_| Error::Invalid {
                field: "page_size".into(),
                reason: format!("{n:?} is not a number"),
            })?,
        };
        Ok(AuditQuery {
            filter: AuditFilter {
                zone: given(&self.zone)
                    .map(|z| ZoneId::parse(z).map_err(|e| e.in_field("zone")))
                    .transpose()?,
                actor: given(&self.actor).map(str::to_owned),
                kind: given(&self.kind).map(str::parse::<AuditKind>).transpose()?,
                from: time(&self.from, "from").transpose()?,
                to: time(&self.to, "to").transpose()?,
            },
            page_token: given(&self.page).map(str::to_owned),
            page_size,
        })
    }

    fn form(&self) -> AuditForm {
        let text = |v: &Option<String>| given(v).unwrap_or_default().to_owned();
        AuditForm {
            zone: text(&self.zone),
            actor: text(&self.actor),
            kind: text(&self.kind),
            from: text(&self.from),
            to: text(&self.to),
        }
    }
}

async fn list<S: Store>(
    app: &App<S>,
    p: &bawaba_domain::access::Principal,
    q: &AuditParams,
) -> Result<AuditPage, Error> {
    Ok(app.0.d.app.list_audit(p, q.query()?).await?)
}

pub(super) async fn audit_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<AuditParams>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    match list(&app, &p, &q).await {
        Ok(found) => page(
            StatusCode::OK,
            pages::audit(l, &p, &q.form(), &found),
            cookie,
        ),
        Err(e) => failed(l, &e, cookie),
    }
}

pub(super) async fn api_audit<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<AuditParams>,
    headers: HeaderMap,
) -> Response {
    let p = match api_access(&app, &headers, AUTHORITY).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match list(&app, &p, &q).await {
        Ok(found) => {
            let entries: Vec<_> = found
                .items
                .iter()
                .map(|i| serde_json::json!({ "id": i.id, "record": i.record }))
                .collect();
            Json(serde_json::json!({
                "entries": entries,
                "next_page_token": found.next_page_token,
            }))
            .into_response()
        }
        Err(e) => api_error(&e),
    }
}
