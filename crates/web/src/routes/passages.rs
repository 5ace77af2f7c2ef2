//! The authority's list of a day's passages — the live feed's full list: newest first, by
//! zone and decision, a page at a time.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_domain::ids::{PassageId, ZoneId};
use bawaba_domain::passage::{Passage, Verdict};
use bawaba_store::Store;
use serde::Deserialize;

use super::audit::given;
use super::{AUTHORITY, App, day, failed, page, page_for, store};
use crate::Error;
use crate::agg::PassageRow;
use crate::pages::passages::{self as pages, PassagesForm};
use crate::report;

/// Passages one page shows.
pub const PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PassagesParams {
    lang: Option<String>,
    day: Option<String>,
    zone: Option<String>,
    verdict: Option<String>,
    /// Show the passages recorded before this one (the next page).
    before: Option<String>,
}

/// What the filters ask for: a zone, a decision, where the page starts.
struct Asked {
    zone: Option<ZoneId>,
    verdict: Option<Verdict>,
    before: Option<PassageId>,
}

impl PassagesParams {
    fn asked(&self) -> Result<Asked, Error> {
        let verdict = match given(&self.verdict) {
            None => None,
            Some(v) => Some(
                [Verdict::Allow, Verdict::Deny, Verdict::Refer]
                    .into_iter()
                    .find(|x| x.as_str() == v)
                    .ok_or_else(|| {
                        Error::invalid("verdict", format!("{v:?}: expected ALLOW, DENY or REFER"))
                    })?,
            ),
        };
        Ok(Asked {
            zone: given(&self.zone)
                .map(|z| ZoneId::parse(z).map_err(|e| e.in_field("zone")))
                .transpose()?,
            verdict,
            before: given(&self.before)
                .map(|b| PassageId::parse(b).map_err(|e| e.in_field("before")))
                .transpose()?,
        })
    }

    fn form(&self) -> PassagesForm {
        let text = |v: &Option<String>| given(v).unwrap_or_default().to_owned();
        PassagesForm {
            day: text(&self.day),
            zone: text(&self.zone),
            verdict: text(&self.verdict),
        }
    }
}

/// One page of `found` (oldest first) newest first, as `a` asks: the rows and, when there
/// are more, the passage the next page starts before.
fn one_page(found: &[Passage], a: &Asked) -> (Vec<PassageRow>, Option<String>) {
    let mut rows: Vec<&Passage> = found
        .iter()
        .rev()
        .filter(|p| a.before.is_none_or(|b| p.id < b))
        .filter(|p| a.verdict.is_none_or(|v| p.verdict == v))
        .take(PAGE + 1)
        .collect();
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let next = more
        .then(|| rows.last().map(|p| p.id.to_string()))
        .flatten();
    (rows.into_iter().map(PassageRow::of).collect(), next)
}

pub(super) async fn passages_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PassagesParams>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, AUTHORITY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let listed = async {
        let d = day(&app, q.day.as_deref())?;
        let a = q.asked()?;
        let (found, _) =
            report::passages_between(store(&app), a.zone.as_ref(), d.start, d.end).await?;
        let (rows, next) = one_page(&found, &a);
        Ok::<_, Error>((d, rows, next))
    }
    .await;
    match listed {
        Ok((d, rows, next)) => {
            let html = pages::passages(l, &p, (&q.form(), &d), &rows, next.as_deref());
            page(StatusCode::OK, html, cookie)
        }
        Err(e) => failed(l, &e, cookie),
    }
}
