//! The authority's CSV exports: passages, bookings, no-shows and the audit trail over a range
//! of days (`GET /authority/export/{passages,bookings,no-shows,audit}.csv?from=&to=&zone=`),
//! read through the application layer like every other listing. Times in Amman time
//! (`2026-12-08 10:00:00`, what a spreadsheet reads as a date and time), UTF-8 with a
//! byte-order mark so a spreadsheet opens Arabic text correctly.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bawaba_app::{AuditQuery, BookingQuery, MAX_AUDIT_PAGE, MAX_PAGE};
use bawaba_domain::access::Principal;
use bawaba_domain::audit::AuditFilter;
use bawaba_domain::calendar::{LOCAL_TZ, parse_time};
use bawaba_domain::ids::{PassageId, ZoneId};
use bawaba_domain::ledger::{Booking, BookingState};
use bawaba_domain::passage::Passage;
use bawaba_store::Store;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::audit::given;
use super::{AUTHORITY, App, api_access, api_error, now};
use crate::Error;

/// The longest range one export covers.
pub const MAX_DAYS: i64 = 31;
/// Passages read per call.
const PASSAGE_PAGE: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ExportParams {
    from: Option<String>,
    to: Option<String>,
    zone: Option<String>,
}

/// What an export covers: `[from, to)` and, for an authority, perhaps one zone.
struct Range {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: Option<ZoneId>,
}

impl ExportParams {
    /// The range asked for: by default today (Amman time); `to` after `from`, at most
    /// [`MAX_DAYS`] days.
    fn range(&self, now: DateTime<Utc>) -> Result<Range, Error> {
        let today = now.with_timezone(&LOCAL_TZ).format("%Y-%m-%d").to_string();
        let from = parse_time(given(&self.from).unwrap_or(&today), "from")?;
        let to = match given(&self.to) {
            Some(t) => parse_time(t, "to")?,
            None => from + TimeDelta::days(1),
        };
        let invalid = |reason: String| Error::Invalid {
            field: "to".into(),
            reason,
        };
        if to <= from {
            return Err(invalid("must be after `from`".into()));
        }
        if to - from > TimeDelta::days(MAX_DAYS) {
            return Err(invalid(format!(
                "the range is at most {MAX_DAYS} days; export a longer one in parts"
            )));
        }
        let zone = given(&self.zone)
            .map(|z| ZoneId::parse(z).map_err(|e| e.in_field("zone")))
            .transpose()?;
        Ok(Range { from, to, zone })
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_default()
}

/// The CSV text of `header` and `rows`, with the byte-order mark.
fn csv(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    w.write_record(header).map_err(std::io::Error::other)?;
    for row in rows {
        w.write_record(&row).map_err(std::io::Error::other)?;
    }
    Ok(w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?)
}

async fn passages<S: Store>(app: &App<S>, p: &Principal, r: &Range) -> Result<Vec<u8>, Error> {
    let app = &app.0.d.app;
    // Ids begin with the time of the passage's first read: from there on, up to `to`.
    let mut after = Some(PassageId::new(
        r.from - TimeDelta::milliseconds(1),
        u128::MAX,
    ));
    let mut rows = Vec::new();
    loop {
        let page = app
            .list_passages(p, r.zone.clone(), after, PASSAGE_PAGE)
            .await?;
        let last = page.items.last().map(|x| x.id);
        let done = !page.more || last.is_none_or(|id| id.timestamp() >= r.to);
        rows.extend(
            page.items
                .iter()
                .filter(|x| x.first_read_at >= r.from && x.first_read_at < r.to)
                .map(passage_row),
        );
        if done {
            break;
        }
        after = last;
    }
    let header = [
        "passage",
        "zone",
        "gate",
        "lane",
        "direction",
        "first_read",
        "decided",
        "plate",
        "tag",
        "confidence",
        "verdict",
        "reasons",
        "booking",
        "offline",
    ];
    csv(&header, rows)
}

fn passage_row(x: &Passage) -> Vec<String> {
    let reasons: Vec<&str> = x.reasons.iter().map(|r| r.as_str()).collect();
    vec![
        x.id.to_string(),
        x.zone.to_string(),
        x.gate.to_string(),
        x.lane.to_string(),
        x.direction.as_str().into(),
        time(x.first_read_at),
        time(x.decided_at),
        x.plate
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        x.epc.as_ref().map(ToString::to_string).unwrap_or_default(),
        x.confidence.map(|c| c.to_string()).unwrap_or_default(),
        x.verdict.as_str().into(),
        reasons.join(" "),
        x.booking.map(|b| b.to_string()).unwrap_or_default(),
        x.offline.to_string(),
    ]
}

/// Bookings with a stop whose window starts in the range (`state`: only those in it).
async fn bookings<S: Store>(
    app: &App<S>,
    p: &Principal,
    r: &Range,
    state: Option<BookingState>,
) -> Result<Vec<u8>, Error> {
    let app = &app.0.d.app;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let q = BookingQuery {
            company: None,
            zone: r.zone.clone(),
            state,
            window_from: Some(r.from),
            window_to: Some(r.to),
            after,
            page_size: MAX_PAGE,
        };
        let page = app.list_bookings(p, q).await?;
        rows.extend(page.items.iter().flat_map(booking_rows));
        after = page.items.last().map(|b| b.id);
        if !page.more {
            break;
        }
    }
    let header = [
        "booking",
        "company",
        "plate",
        "tag",
        "state",
        "stop",
        "zone",
        "window_start",
        "type",
        "containers",
        "entered",
        "exited",
        "created",
        "cancel_reason",
    ];
    csv(&header, rows)
}

/// One row per stop.
fn booking_rows(b: &Booking) -> Vec<Vec<String>> {
    b.stops
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let containers: Vec<String> = s.containers.iter().map(ToString::to_string).collect();
            vec![
                b.id.to_string(),
                b.company.to_string(),
                b.plate.as_str().to_owned(),
                b.epc.as_ref().map(ToString::to_string).unwrap_or_default(),
                b.state.as_str().into(),
                (i + 1).to_string(),
                s.zone.to_string(),
                time(s.window_start),
                s.transaction_type.as_str().into(),
                containers.join(" "),
                opt_time(s.entered_at),
                opt_time(s.exited_at),
                time(b.created_at),
                b.cancel_reason.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

async fn audit<S: Store>(app: &App<S>, p: &Principal, r: &Range) -> Result<Vec<u8>, Error> {
    let app = &app.0.d.app;
    let mut rows = Vec::new();
    let mut page_token = None;
    loop {
        let q = AuditQuery {
            filter: AuditFilter {
                zone: r.zone.clone(),
                from: Some(r.from),
                to: Some(r.to),
                ..AuditFilter::default()
            },
            page_token,
            page_size: MAX_AUDIT_PAGE,
        };
        let page = app.list_audit(p, q).await?;
        for item in &page.items {
            let rec = &item.record;
            let changes: Vec<String> = rec
                .changes
                .iter()
                .map(|c| format!("{}: {} -> {}", c.field, c.before, c.after))
                .collect();
            rows.push(vec![
                time(rec.at),
                item.id.clone(),
                rec.kind.as_str().into(),
                rec.who.name.clone(),
                rec.who.role.map(|r| r.as_str()).unwrap_or_default().into(),
                rec.who.door.as_str().into(),
                rec.zone
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                rec.objects.join(" "),
                changes.join("; "),
            ]);
        }
        match page.next_page_token {
            Some(next) => page_token = Some(next),
            None => break,
        }
    }
    let header = [
        "at", "record", "kind", "who", "role", "door", "zone", "objects", "changes",
    ];
    csv(&header, rows)
}

/// `GET /authority/export/{file}`: one of `passages.csv`, `bookings.csv`, `no-shows.csv`,
/// `audit.csv`.
pub(super) async fn export<S: Store>(
    State(app): State<App<S>>,
    Path(file): Path<String>,
    Query(q): Query<ExportParams>,
    headers: HeaderMap,
) -> Response {
    let p = match api_access(&app, &headers, AUTHORITY).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let made = async {
        let r = q.range(now(&app))?;
        match file.as_str() {
            "passages.csv" => passages(&app, &p, &r).await,
            "bookings.csv" => bookings(&app, &p, &r, None).await,
            "no-shows.csv" => bookings(&app, &p, &r, Some(BookingState::NoShow)).await,
            "audit.csv" => audit(&app, &p, &r).await,
            _ => Err(bawaba_app::Error::not_found("export", &file).into()),
        }
    };
    match made.await {
        Ok(body) => {
            let name = format!("attachment; filename=\"bawaba-{file}\"");
            let headers = [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ];
            (StatusCode::OK, headers, body).into_response()
        }
        Err(e) => api_error(&e),
    }
}
