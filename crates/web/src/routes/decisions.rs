//! The decisions on referrals, for an operator (their own, or everyone's in their zones) and
//! the authority: the latest first, a page at a time.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_domain::ids::PassageId;
use bawaba_store::Store;
use serde::Deserialize;

use super::audit::given;
use super::{App, OPERATORS, failed, page, page_for};
use crate::Error;
use crate::pages::decisions as pages;

/// Decisions one page shows.
const PAGE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct DecisionsParams {
    lang: Option<String>,
    /// `all`: everyone's in the caller's zones; else the caller's own.
    who: Option<String>,
    /// Show the decisions made before the one on this referral (the next page).
    after: Option<String>,
}

pub(super) async fn decisions_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<DecisionsParams>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, OPERATORS, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let mine = given(&q.who) != Some("all");
    let listed = async {
        let after = given(&q.after)
            .map(|a| PassageId::parse(a).map_err(|e| e.in_field("after")))
            .transpose()?;
        let d = &app.0.d.app;
        let found = d.decisions(&p, mine, after, PAGE).await?;
        let gates = d.list_gates(&p).await?;
        Ok::<_, Error>((found, gates))
    }
    .await;
    match listed {
        Ok((found, gates)) => {
            let html = pages::decisions(l, &p, mine, &found, &gates);
            page(StatusCode::OK, html, cookie)
        }
        Err(e) => failed(l, &e, cookie),
    }
}
