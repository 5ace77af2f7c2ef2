//! The portal's booking routes: the week's windows and the booking form, one booking with
//! its move and cancel, and the driver's slip. Every booking is the company's own (the app
//! answers another's as not found); a refusal shows the form again with what was typed, the
//! reason, and the nearest free windows marked.

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{TransactionType, ZoneConfig, parse_time};
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::ids::{BookingId, CompanyId, ZoneId};
use bawaba_domain::ledger::{Booking, BookingState, NewBooking, Stop, WindowView};
use bawaba_domain::plate::Plate;
use bawaba_store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{App, Error, error_status, failed, page, page_for, redirect};
use crate::agg::Day;
use crate::i18n::Lang;
use crate::pages::booking::{self as pages, BookForm, BookView};
use crate::pages::portal;

const COMPANY: &[Role] = &[Role::Company];
/// Days the booking page shows.
const WEEK: u64 = 7;

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookQuery {
    lang: Option<String>,
    zone: Option<String>,
    #[serde(rename = "type")]
    transaction_type: Option<String>,
    from: Option<String>,
}

/// A fresh idempotency key for one form.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    format!("portal-{}", hex::encode(bytes))
}

pub(super) async fn book_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<BookQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let f = BookForm {
        zone: q.zone.unwrap_or_default(),
        transaction_type: q.transaction_type.unwrap_or_default(),
        from: q.from.unwrap_or_default(),
        key: new_key(),
        ..BookForm::default()
    };
    show_book(&app, (&p, l, cookie), &f, (None, &[])).await
}

/// The week `f` asks for (from its first day, else today), by day: the windows of its zone
/// that have not begun.
async fn week<S: Store>(
    app: &App<S>,
    p: &Principal,
    f: &BookForm,
) -> Result<Vec<(Day, Vec<WindowView>)>, Error> {
    if f.zone.is_empty() {
        return Ok(Vec::new());
    }
    let zone = ZoneId::parse(&f.zone).map_err(|e| e.in_field("zone"))?;
    let now = super::now(app);
    let first = match f.from.trim() {
        "" => Day::containing(now),
        d => Day::new(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| Error::invalid("from", format!("{d:?} is not a date (YYYY-MM-DD)")))?,
        ),
    };
    let days: Vec<Day> = first
        .date
        .iter_days()
        .take(WEEK as usize)
        .map(Day::new)
        .collect();
    let end = days.last().map_or(first.end, |d| d.end);
    let windows = app.0.d.app.list_windows(p, zone, first.start, end).await?;
    Ok(days
        .into_iter()
        .map(|d| {
            let of_day = windows
                .iter()
                .filter(|w| w.start >= d.start && w.start < d.end && w.start > now)
                .cloned()
                .collect();
            (d, of_day)
        })
        .filter(|(_, w): &(Day, Vec<WindowView>)| !w.is_empty())
        .collect())
}

async fn show_book<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    f: &BookForm,
    (error, alternatives): (Option<&Error>, &[DateTime<Utc>]),
) -> Response {
    let d = &app.0.d.app;
    let (zones, fleet) = match (d.list_zones(p).await, d.fleet(p, None).await) {
        (Ok(z), Ok(t)) => (z, t),
        (Err(e), _) | (_, Err(e)) => return failed(l, &Error::App(e), cookie),
    };
    let (week, week_error) = match week(app, p, f).await {
        Ok(w) => (w, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let error = error.or(week_error.as_ref());
    let status = error.map_or(StatusCode::OK, |e| error_status(e).0);
    let message = error.map(|e| crate::pages::errors::say(l, e));
    let flash = portal::flash(None, message.as_deref());
    let view = BookView {
        zones: &zones,
        fleet: &fleet,
        week: &week,
        alternatives,
        flash: &flash,
    };
    page(status, pages::book(l, p, f, &view), cookie)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookSubmit {
    #[serde(default)]
    zone: String,
    #[serde(default, rename = "type")]
    transaction_type: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    plate: String,
    #[serde(default)]
    containers: String,
    #[serde(default)]
    window: String,
    #[serde(default)]
    zone2: String,
    #[serde(default)]
    type2: String,
    #[serde(default)]
    window2: String,
    #[serde(default)]
    containers2: String,
}

fn containers(raw: &str, field: &str) -> bawaba_domain::Result<Vec<ContainerNumber>> {
    raw.split([',', ' ', '\n', ';', '،'])
        .filter(|s| !s.trim().is_empty())
        .map(|c| ContainerNumber::parse(c).map_err(|e| e.in_field(field)))
        .collect()
}

fn stop(zone: &str, t: &str, window: &str, cont: &str, n: &str) -> bawaba_domain::Result<Stop> {
    let f = |name: &str| format!("{name}{n}");
    let zone = ZoneId::parse(zone).map_err(|e| e.in_field(f("zone")))?;
    let t: TransactionType = t
        .parse()
        .map_err(|e: bawaba_domain::Error| e.in_field(f("type")))?;
    let start = parse_time(window, &f("window"))?;
    Ok(Stop::new(
        zone,
        start,
        t,
        containers(cont, &f("containers"))?,
    ))
}

impl BookSubmit {
    /// The request the form makes for `company`; the truck's tag comes from the fleet.
    fn request(
        &self,
        company: CompanyId,
        tag: Option<bawaba_domain::epc::Epc>,
    ) -> bawaba_domain::Result<NewBooking> {
        let plate = Plate::parse(&self.plate).map_err(|e| e.in_field("plate"))?;
        if self.window.trim().is_empty() {
            return Err(bawaba_domain::Error::invalid("window", "choose a window"));
        }
        let mut stops = vec![stop(
            &self.zone,
            &self.transaction_type,
            &self.window,
            &self.containers,
            "",
        )?];
        if !self.zone2.trim().is_empty() {
            stops.push(stop(
                &self.zone2,
                &self.type2,
                &self.window2,
                &self.containers2,
                "2",
            )?);
        }
        let key = if self.key.trim().is_empty() {
            new_key()
        } else {
            self.key.trim().to_owned()
        };
        Ok(NewBooking {
            company,
            idempotency_key: key,
            plate,
            epc: tag,
            stops,
            by: None,
        })
    }

    fn form(&self) -> BookForm {
        BookForm {
            zone: self.zone.clone(),
            transaction_type: self.transaction_type.clone(),
            from: self.from.clone(),
            plate: self.plate.clone(),
            containers: self.containers.clone(),
            window: self.window.clone(),
            zone2: self.zone2.clone(),
            type2: self.type2.clone(),
            window2: self.window2.clone(),
            containers2: self.containers2.clone(),
            key: self.key.clone(),
        }
    }
}

/// The nearest free windows a refusal names.
fn alternatives(e: &bawaba_app::Error) -> Vec<DateTime<Utc>> {
    use bawaba_domain::Error as D;
    match e {
        bawaba_app::Error::Refused(
            D::WindowFull { alternatives, .. } | D::CompanyCap { alternatives, .. },
        ) => alternatives.clone(),
        bawaba_app::Error::Refused(D::ZoneClosed(c)) => c.alternatives.clone(),
        _ => Vec::new(),
    }
}

/// Books the visit the form describes.
pub(super) async fn book<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<BookSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let d = &app.0.d.app;
    let tag = match (d.fleet(&p, None).await, Plate::parse(&f.plate)) {
        (Ok(trucks), Ok(plate)) => trucks
            .into_iter()
            .find(|t| t.plate == plate)
            .and_then(|t| t.epc),
        _ => None,
    };
    match d
        .create_booking(&p, None, |company| f.request(company, tag))
        .await
    {
        Ok(c) => redirect(
            &format!("/portal/bookings/{}?done=booked", c.booking.id),
            None,
        ),
        Err(e) => {
            let alts = alternatives(&e);
            let mut form = f.form();
            form.key = new_key();
            show_book(&app, (&p, l, cookie), &form, (Some(&Error::App(e)), &alts)).await
        }
    }
}

// ---- one booking ------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookingQuery {
    lang: Option<String>,
    done: Option<String>,
}

fn booking_id(raw: &str) -> Result<BookingId, Error> {
    raw.parse::<BookingId>()
        .map_err(|_| Error::invalid("id", format!("{raw:?} is not a booking id")))
}

pub(super) async fn booking_page<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let notice = match q.done.as_deref() {
        Some("booked") => Some(l.t("booking.booked")),
        Some("moved") => Some(l.t("booking.moved")),
        Some("cancelled") => Some(l.t("booking.cancelled")),
        _ => None,
    };
    show_booking(&app, (&p, l, cookie), &id, (notice, None)).await
}

async fn show_booking<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    id: &str,
    (notice, error): (Option<&str>, Option<&Error>),
) -> Response {
    let d = &app.0.d.app;
    let found = match booking_id(id) {
        Ok(id) => d.get_booking(p, id).await.map_err(Error::App),
        Err(e) => Err(e),
    };
    let bk = match found {
        Ok(b) => b,
        Err(e) => return failed(l, &e, cookie),
    };
    let zones = match d.zones_of([&bk]).await {
        Ok(z) => z,
        Err(e) => return failed(l, &Error::App(e), cookie),
    };
    let free = if bk.state == BookingState::Booked {
        free_windows(app, p, &bk).await
    } else {
        Vec::new()
    };
    let status = error.map_or(StatusCode::OK, |e| error_status(e).0);
    let message = error.map(|e| crate::pages::errors::say(l, e));
    let flash = portal::flash(notice, message.as_deref());
    let now = app.0.d.app.clock().now();
    let body = pages::booking(l, p, &bk, (&zones, &free, now), &flash);
    page(status, body, cookie)
}

/// Windows a stop may move to: the company's nearest free ones of the stop's zone and type.
const MOVE_CHOICES: usize = 12;

/// The nearest free windows of each stop of `bk` (none for a stop where they cannot be read).
async fn free_windows<S: Store>(app: &App<S>, p: &Principal, bk: &Booking) -> Vec<Vec<WindowView>> {
    let mut out = Vec::with_capacity(bk.stops.len());
    for s in &bk.stops {
        let found = app
            .0
            .d
            .app
            .find_slots(
                p,
                s.zone.clone(),
                s.transaction_type,
                Some(s.window_start),
                MOVE_CHOICES,
            )
            .await;
        let mut windows = found.unwrap_or_default();
        windows.sort_by_key(|w| w.start);
        out.push(windows);
    }
    out
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ChangeSubmit {
    #[serde(default)]
    stop: String,
    #[serde(default)]
    window: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn move_booking<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<ChangeSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let moved = async {
        let bid = booking_id(&id)?;
        let stop = f
            .stop
            .trim()
            .parse::<usize>()
            .map_err(|_| Error::invalid("stop", "choose a stop"))?;
        let to = parse_time(&f.window, "window")?;
        app.0.d.app.move_booking(&p, bid, stop, to).await?;
        Ok::<_, Error>(())
    }
    .await;
    match moved {
        Ok(()) => redirect(&format!("/portal/bookings/{id}?done=moved"), None),
        Err(e) => show_booking(&app, (&p, l, cookie), &id, (None, Some(&e))).await,
    }
}

pub(super) async fn cancel_booking<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<ChangeSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let cancelled = async {
        let bid = booking_id(&id)?;
        let reason = f.reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "give a reason"));
        }
        app.0
            .d
            .app
            .cancel_booking(&p, bid, reason.to_owned())
            .await?;
        Ok::<_, Error>(())
    }
    .await;
    match cancelled {
        Ok(()) => redirect(&format!("/portal/bookings/{id}?done=cancelled"), None),
        Err(e) => show_booking(&app, (&p, l, cookie), &id, (None, Some(&e))).await,
    }
}

/// The driver's slip, with the booking id as a QR code (SVG, printable).
pub(super) async fn slip<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    let (l, cookie, bk, zones) = match slip_of(&app, &headers, &id, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    match crate::slip::qr_svg(&bk.id.to_string()) {
        Ok(qr) => page(StatusCode::OK, pages::slip(l, &bk, &zones, &qr), cookie),
        Err(e) => failed(l, &e, cookie),
    }
}

/// The driver's slip as a PNG image, to keep on the phone: the QR code, the booking id,
/// the plate, each stop's zone and window in Amman time with the offset.
pub(super) async fn slip_png<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    let (l, cookie, bk, zones) = match slip_of(&app, &headers, &id, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let id = bk.id.to_string();
    match crate::slip::png(&id, &pages::slip_lines(&bk, &zones)) {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, "image/png".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!(r#"inline; filename="bawaba-{id}.png""#),
                ),
                (CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failed(l, &e, cookie),
    }
}

/// The caller's page language and the booking a slip is of, with its zones; or the page
/// that says why not (a booking of another company is one that does not exist).
async fn slip_of<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    id: &str,
    lang: Option<String>,
) -> Result<(Lang, Option<String>, Booking, Vec<ZoneConfig>), Response> {
    let (p, l, cookie) = page_for(app, headers, COMPANY, lang).await?;
    let d = &app.0.d.app;
    let found = match booking_id(id) {
        Ok(bid) => d.get_booking(&p, bid).await.map_err(Error::App),
        Err(e) => Err(e),
    };
    let bk = found.map_err(|e| failed(l, &e, cookie.clone()))?;
    match d.zones_of([&bk]).await {
        Ok(zones) => Ok((l, cookie, bk, zones)),
        Err(e) => Err(failed(l, &Error::App(e), cookie)),
    }
}
