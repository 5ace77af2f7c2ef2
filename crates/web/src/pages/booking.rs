//! The portal's booking pages: the week's windows of a zone with their free places and the
//! form booking one for a truck of the fleet (a second stop optional: a multi-stop visit),
//! one booking with its move and cancel forms, and the printable slip with its QR code.

use std::fmt::Write;

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::{LOCAL_TZ, TransactionType, ZoneConfig};
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ledger::{Booking, BookingState, WindowView};
use chrono::{DateTime, Utc};

use super::{esc, layout, zone_name};
use crate::agg::{Day, local_datetime, local_hm};
use crate::codes::Codes;
use crate::i18n::Lang;

/// What the booking form shows: the choice made and what was typed.
#[derive(Debug, Clone, Default)]
pub struct BookForm {
    pub zone: String,
    pub transaction_type: String,
    /// The first day of the week shown (local, `YYYY-MM-DD`).
    pub from: String,
    pub plate: String,
    pub containers: String,
    /// The window chosen (RFC 3339).
    pub window: String,
    /// The second stop, if any.
    pub zone2: String,
    pub type2: String,
    pub window2: String,
    pub containers2: String,
    /// The request's idempotency key: one per form shown, so sending it twice books once.
    pub key: String,
}

/// Everything the booking page shows besides the form.
pub struct BookView<'a> {
    pub zones: &'a [ZoneConfig],
    pub fleet: &'a [FleetTruck],
    /// The week's days and their windows (empty before a zone is chosen).
    pub week: &'a [(Day, Vec<WindowView>)],
    /// The nearest free windows a refusal named.
    pub alternatives: &'a [DateTime<Utc>],
    pub flash: &'a str,
}

fn type_options(l: Lang, selected: &str) -> String {
    TransactionType::ALL
        .iter()
        .map(|t| {
            let code = t.as_str();
            let sel = if code == selected { " selected" } else { "" };
            format!(
                r#"<option value="{code}"{sel}>{}</option>"#,
                Codes::Transaction.word(l, code)
            )
        })
        .collect()
}

/// The booking page.
pub fn book(l: Lang, who: &Principal, f: &BookForm, v: &BookView<'_>) -> String {
    let mut b = v.flash.to_owned();
    let _ = write!(
        b,
        r#"<form method="get" action="/portal/book" class="card stack" id="week-form"><label for="zone">{zone}</label><select id="zone" name="zone" required>{zones}</select><label for="type">{ty}</label><select id="type" name="type">{types}</select><label for="from">{from}</label><input type="date" id="from" name="from" value="{fv}"><button type="submit" id="show-week">{show}</button></form>"#,
        zone = l.t("zone"),
        zones = super::zone_options(l, v.zones, &f.zone),
        ty = l.t("book.type"),
        types = type_options(l, &f.transaction_type),
        from = l.t("book.from"),
        fv = esc(&f.from),
        show = l.t("book.show"),
    );
    if !v.week.is_empty() {
        b.push_str(&book_form(l, f, v));
    }
    layout(l, l.t("portal.book"), Some(who), "", &b)
}

fn book_form(l: Lang, f: &BookForm, v: &BookView<'_>) -> String {
    let t: TransactionType = f
        .transaction_type
        .parse()
        .unwrap_or(TransactionType::ImportPickup);
    let plates: String = v
        .fleet
        .iter()
        .map(|t| format!(r#"<option value="{}">"#, esc(t.plate.as_str())))
        .collect();
    format!(
        r#"<form method="post" action="/portal/book" class="card stack" id="book-form"><input type="hidden" name="zone" value="{zone}"><input type="hidden" name="type" value="{ty}"><input type="hidden" name="from" value="{from}"><input type="hidden" name="key" value="{key}"><h2>{windows}</h2>{days}<label for="plate">{plate}</label><input id="plate" name="plate" list="fleet-plates" dir="ltr" value="{pv}" required maxlength="20" autocomplete="off"><datalist id="fleet-plates">{plates}</datalist><label for="containers">{containers}</label><input id="containers" name="containers" dir="ltr" value="{cv}" maxlength="200" autocomplete="off" spellcheck="false" data-containers placeholder="CSQU3054383"><p class="muted field-error" id="containers-error" data-bad="{bad}" aria-live="polite"></p>{second}<button type="submit" id="book-submit">{submit}</button></form>"#,
        zone = esc(&f.zone),
        ty = t.as_str(),
        from = esc(&f.from),
        key = esc(&f.key),
        windows = l.t("book.windows"),
        days = days(l, t, v, &f.window),
        plate = l.t("plate"),
        pv = esc(&f.plate),
        containers = l.t("book.containers"),
        cv = esc(&f.containers),
        bad = l.t("book.bad_container"),
        second = second_stop(l, f, v.zones),
        submit = l.t("book.submit"),
    )
}

/// The nearest free windows a refusal named, the first chosen (they may lie outside the
/// week shown).
fn alternatives(l: Lang, alternatives: &[DateTime<Utc>]) -> String {
    if alternatives.is_empty() {
        return String::new();
    }
    let mut out = format!(
        r#"<fieldset class="day" id="alternatives"><legend>{}</legend><div class="windows">"#,
        l.t("book.nearest")
    );
    for (i, a) in alternatives.iter().enumerate() {
        let _ = write!(
            out,
            r#"<label class="window alt"><input type="radio" name="window" value="{}"{} required><bdi dir="ltr">{}</bdi></label>"#,
            a.to_rfc3339(),
            if i == 0 { " checked" } else { "" },
            local_datetime(*a),
        );
    }
    out.push_str("</div></fieldset>");
    out
}

/// The week's windows by day, each a choice with its free places (none: not a choice); the
/// alternatives of a refusal marked.
fn days(l: Lang, t: TransactionType, v: &BookView<'_>, chosen: &str) -> String {
    let chosen = if v.alternatives.is_empty() {
        chosen
    } else {
        ""
    };
    let mut out = alternatives(l, v.alternatives);
    for (day, windows) in v.week {
        let _ = write!(
            out,
            r#"<fieldset class="day"><legend><bdi dir="ltr">{}</bdi></legend><div class="windows">"#,
            day.date
        );
        for w in windows {
            let value = w.start.to_rfc3339();
            let free = w.free_for(t);
            let usable = free > 0 && w.closure.is_none();
            let alt = v.alternatives.contains(&w.start);
            let what = match &w.closure {
                Some(reason) => format!("{} · {}", l.t("book.closed"), esc(reason)),
                None => format!("{free} {}", l.t("book.free")),
            };
            let _ = write!(
                out,
                r#"<label class="window{alt}{off}"><input type="radio" name="window" value="{value}"{checked}{disabled} required><bdi dir="ltr">{from}–{to}</bdi> <span class="muted">{what}</span></label>"#,
                alt = if alt { " alt" } else { "" },
                off = if usable { "" } else { " full" },
                checked = if value == chosen { " checked" } else { "" },
                disabled = if usable { "" } else { " disabled" },
                from = local_hm(w.start),
                to = local_hm(w.end),
            );
        }
        out.push_str("</div></fieldset>");
    }
    out
}

fn second_stop(l: Lang, f: &BookForm, zones: &[ZoneConfig]) -> String {
    let open = if f.zone2.is_empty() { "" } else { " open" };
    let none = format!(r#"<option value="">{}</option>"#, l.t("book.no_second"));
    format!(
        r#"<details id="second-stop"{open}><summary>{title}</summary><div class="stack"><label for="zone2">{zone}</label><select id="zone2" name="zone2">{none}{zones}</select><label for="type2">{ty}</label><select id="type2" name="type2">{types}</select><label for="window2">{window}</label><input type="datetime-local" id="window2" name="window2" value="{wv}"><label for="containers2">{containers}</label><input id="containers2" name="containers2" dir="ltr" value="{cv}" maxlength="200" autocomplete="off" spellcheck="false" data-containers></div></details>"#,
        title = l.t("book.second"),
        zone = l.t("zone"),
        zones = super::zone_options(l, zones, &f.zone2),
        ty = l.t("book.type"),
        types = type_options(l, &f.type2),
        window = l.t("book.window_start"),
        wv = esc(&f.window2),
        containers = l.t("book.containers"),
        cv = esc(&f.containers2),
    )
}

/// The window of a stop: `2026-12-08 10:00–11:00` (Amman time).
fn window_text(zones: &[ZoneConfig], zone: &str, start: DateTime<Utc>) -> String {
    let end = window_end(zones, zone, start);
    format!("{}–{}", local_datetime(start), local_hm(end))
}

/// When the window of `zone` starting at `start` ends.
fn window_end(zones: &[ZoneConfig], zone: &str, start: DateTime<Utc>) -> DateTime<Utc> {
    zones
        .iter()
        .find(|z| z.id.as_str() == zone)
        .map_or(start, |z| z.window_end(start))
}

/// The booking's stops as a definition list.
fn stops(l: Lang, bk: &Booking, zones: &[ZoneConfig]) -> String {
    let mut out = String::new();
    for s in &bk.stops {
        let containers: Vec<String> = s.containers.iter().map(ToString::to_string).collect();
        let _ = write!(
            out,
            r#"<div class="stop"><dl><dt>{zone_l}</dt><dd>{zone}</dd><dt>{window_l}</dt><dd><bdi dir="ltr">{window}</bdi></dd><dt>{type_l}</dt><dd>{ty}</dd><dt>{cont_l}</dt><dd><bdi dir="ltr">{containers}</bdi></dd></dl></div>"#,
            zone_l = l.t("zone"),
            zone = esc(zone_name(l, zones, s.zone.as_str())),
            window_l = l.t("book.window"),
            window = window_text(zones, s.zone.as_str(), s.window_start),
            type_l = l.t("book.type"),
            ty = Codes::Transaction.html(l, s.transaction_type.as_str()),
            cont_l = l.t("book.containers"),
            containers = esc(&containers.join(", ")),
        );
    }
    out
}

/// One booking: its stops, state, and (while booked) the move forms — `free`: the nearest
/// free windows of each stop's zone — and the cancel form.
pub fn booking(
    l: Lang,
    who: &Principal,
    bk: &Booking,
    (zones, free, now): (&[ZoneConfig], &[Vec<WindowView>], DateTime<Utc>),
    flash: &str,
) -> String {
    let mut b = flash.to_owned();
    let _ = write!(
        b,
        r#"<section class="card" id="booking"><dl><dt>{id_l}</dt><dd><bdi dir="ltr" id="booking-id">{id}</bdi></dd><dt>{plate_l}</dt><dd><bdi dir="ltr">{plate}</bdi></dd><dt>{state_l}</dt><dd id="booking-state">{state}</dd></dl>{stops}<p class="actions"><a class="button" href="/portal/bookings/{id}/slip" id="slip-link">{slip}</a></p></section>"#,
        id_l = l.t("portal.booking_id"),
        id = bk.id,
        plate_l = l.t("plate"),
        plate = esc(bk.plate.as_str()),
        state_l = l.t("portal.state"),
        state = Codes::State.html(l, bk.state.as_str()),
        stops = stops(l, bk, zones),
        slip = l.t("slip.title"),
    );
    if bk.state == BookingState::Booked {
        b.push_str(&change_forms(l, bk, (zones, free), now));
    }
    layout(l, l.t("portal.booking_id"), Some(who), "", &b)
}

/// Past its change cut-off at `now`, what a stop's form says instead (a company may no longer
/// move it, nor cancel a booking past its first stop's): when the cut-off was.
fn too_late(
    l: Lang,
    zones: &[ZoneConfig],
    zone: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    let z = zones.iter().find(|z| z.id.as_str() == zone)?;
    let deadline = z.change_deadline(start);
    (now > deadline).then(|| {
        format!(
            r#"<p class="muted too-late">{} <bdi dir="ltr">{}</bdi></p>"#,
            l.t("booking.too_late"),
            local_datetime(deadline)
        )
    })
}

/// The move form of each stop (a choice among the nearest free windows of its zone, `free`
/// by stop) and the cancel form; past a stop's change cut-off, when it was instead.
fn change_forms(
    l: Lang,
    bk: &Booking,
    (zones, free): (&[ZoneConfig], &[Vec<WindowView>]),
    now: DateTime<Utc>,
) -> String {
    let mut b = String::new();
    for (i, (s, windows)) in bk.stops.iter().zip(free).enumerate() {
        if let Some(late) = too_late(l, zones, s.zone.as_str(), s.window_start, now) {
            let _ = write!(
                b,
                r#"<div class="stack" id="move-form-{i}"><h3>{} {} · <bdi dir="ltr">{}</bdi></h3>{late}</div>"#,
                l.t("booking.stop"),
                i + 1,
                local_datetime(s.window_start),
            );
            continue;
        }
        let options: String = windows
            .iter()
            .filter(|w| w.start != s.window_start)
            .map(|w| {
                format!(
                    r#"<option value="{}">{}</option>"#,
                    w.start.to_rfc3339(),
                    local_datetime(w.start)
                )
            })
            .collect();
        let choice = if options.is_empty() {
            format!(r#"<p class="muted">{}</p>"#, l.t("booking.no_window"))
        } else {
            format!(
                r#"<label for="to-{i}">{to}</label><select id="to-{i}" name="window" dir="ltr">{options}</select><button type="submit" id="move-{i}">{move_b}</button>"#,
                to = l.t("booking.to"),
                move_b = l.t("booking.move"),
            )
        };
        let _ = write!(
            b,
            r#"<form method="post" action="/portal/bookings/{id}/move" class="stack move-form" id="move-form-{i}"><input type="hidden" name="stop" value="{i}"><h3>{stop} {n} · <bdi dir="ltr">{at}</bdi></h3>{choice}</form>"#,
            id = bk.id,
            stop = l.t("booking.stop"),
            n = i + 1,
            at = local_datetime(s.window_start),
        );
    }
    let first = bk.stops.first();
    let cancel = match first.and_then(|s| too_late(l, zones, s.zone.as_str(), s.window_start, now))
    {
        Some(late) => late,
        None => format!(
            r#"<form method="post" action="/portal/bookings/{id}/cancel" class="stack" id="cancel-form"><label for="reason">{reason}</label><input id="reason" name="reason" maxlength="500" required><button type="submit" class="reject" id="cancel-submit">{cancel_b}</button></form>"#,
            id = bk.id,
            reason = l.t("reason"),
            cancel_b = l.t("booking.cancel"),
        ),
    };
    format!(
        r#"<section class="card" id="move-forms"><h2>{move_t}</h2>{b}<p class="muted">{local}</p></section><section class="card"><h2>{cancel_t}</h2>{cancel}</section>"#,
        move_t = l.t("booking.move"),
        local = l.t("times.local"),
        cancel_t = l.t("booking.cancel"),
    )
}

/// The driver's slip: printable, the booking id as text and as a QR code, the truck, each
/// stop's zone and window in Amman time.
pub fn slip(l: Lang, bk: &Booking, zones: &[ZoneConfig], qr_svg: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{code}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} <bdi>{id}</bdi> — {app}</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body class="slip">
<main>
<h1>{app} · {title}</h1>
<div class="qr" id="slip-qr">{qr_svg}</div>
<p class="slip-id"><bdi dir="ltr" id="slip-id">{id}</bdi></p>
<dl><dt>{plate_l}</dt><dd><bdi dir="ltr" id="slip-plate">{plate}</bdi></dd><dt>{company_l}</dt><dd><bdi dir="ltr">{company}</bdi></dd><dt>{state_l}</dt><dd>{state}</dd></dl>
{stops}
<p class="muted">{hint}</p>
<p class="no-print"><button type="button" id="print">{print}</button> <a class="button" href="/portal/bookings/{id}/slip.png" download="bawaba-{id}.png" id="slip-image">{image}</a> <a href="/portal/bookings/{id}">{back}</a></p>
</main>
</body>
</html>
"#,
        code = l.code(),
        dir = l.dir(),
        title = l.t("slip.title"),
        app = l.t("app"),
        id = bk.id,
        plate_l = l.t("plate"),
        plate = esc(bk.plate.as_str()),
        company_l = l.t("accounts.company"),
        company = esc(bk.company.as_str()),
        state_l = l.t("portal.state"),
        state = Codes::State.html(l, bk.state.as_str()),
        stops = stops(l, bk, zones),
        hint = l.t("slip.hint"),
        print = l.t("slip.print"),
        image = l.t("slip.image"),
        back = l.t("slip.back"),
    )
}

/// The slip image's lines under its code: the plate, then each stop's zone and window in
/// Amman time with the offset (figures only: the image reads the same in both languages).
pub fn slip_lines(bk: &Booking, zones: &[ZoneConfig]) -> Vec<String> {
    let mut lines = vec![bk.plate.as_str().to_owned()];
    for s in &bk.stops {
        let local = s.window_start.with_timezone(&LOCAL_TZ);
        let end = window_end(zones, s.zone.as_str(), s.window_start);
        lines.push(format!("{} {}", s.zone, local.format("%Y-%m-%d")));
        lines.push(format!(
            "{}-{} ({})",
            local.format("%H:%M"),
            local_hm(end),
            local.format("%:z")
        ));
    }
    lines
}
