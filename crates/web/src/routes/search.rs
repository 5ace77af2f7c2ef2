//! The operator's search over HTTP (`GET /operator/search?q=`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_store::Store;
use serde::Deserialize;

use super::audit::given;
use super::{App, OPERATORS, error_status, page, page_for};
use crate::Error;
use crate::pages::{self, Searched};

#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchParams {
    lang: Option<String>,
    q: Option<String>,
}

pub(super) async fn search_page<S: Store>(
    State(app): State<App<S>>,
    Query(params): Query<SearchParams>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, OPERATORS, params.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(q) = given(&params.q) else {
        let html = pages::search(l, &p, "", &Searched::Nothing);
        return page(StatusCode::OK, html, cookie);
    };
    match app.0.d.app.search(&p, q).await {
        Ok(found) => {
            let html = pages::search(l, &p, q, &Searched::Found(&found));
            page(StatusCode::OK, html, cookie)
        }
        Err(e) => {
            let e = Error::from(e);
            let (status, _) = error_status(&e);
            let why = crate::pages::errors::say(l, &e);
            page(
                status,
                pages::search(l, &p, q, &Searched::Refused(&why)),
                cookie,
            )
        }
    }
}
