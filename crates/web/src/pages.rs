//! Server-rendered HTML: the login page, the authority's view, the operator's view. Charts
//! are inline SVG drawn here; the only script is `/assets/app.js` (the live feed).

use std::fmt::Write;

use bawaba_domain::access::Principal;
use chrono::{DateTime, Utc};

use crate::agg::{self, Day, PassageRow};
use crate::codes::Codes;
use crate::i18n::Lang;
use crate::report::{Overview, ReferralView};

mod alerts;
mod audit;
pub mod booking;
mod capacity;
mod closures;
pub mod decisions;
pub mod errors;
pub mod events;
pub mod passages;
pub mod portal;
mod reports;
mod search;
mod watch;
pub use alerts::notices;
pub use audit::{AuditForm, audit};
pub use capacity::{CapacityNotes, OverrideForm, capacity};
pub use closures::{CloseForm, back_notice, close_zone, closed_notice};
pub use search::{Searched, search};
pub use watch::{WatchForm, watchlist};

/// Escapes text for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

/// The page around `body`. `toggle` is the query string (without `lang`) the language toggle
/// keeps.
fn layout(l: Lang, title: &str, who: Option<&Principal>, toggle: &str, body: &str) -> String {
    let nav = match who {
        Some(p) => {
            let mut n = String::new();
            if p.role == bawaba_domain::access::Role::Authority {
                let _ = write!(
                    n,
                    r#"<a href="/authority">{}</a><a href="/operator">{}</a><a href="/authority/audit" id="nav-audit">{}</a><a href="/authority/capacity" id="nav-capacity">{}</a><a href="/authority/accounts" id="nav-accounts">{}</a>"#,
                    l.t("nav.authority"),
                    l.t("nav.operator"),
                    l.t("audit"),
                    l.t("nav.capacity"),
                    l.t("accounts.title"),
                );
            }
            if p.role == bawaba_domain::access::Role::Company {
                n.push_str(&portal_nav(l, p));
            }
            if matches!(
                p.role,
                bawaba_domain::access::Role::Authority | bawaba_domain::access::Role::Security
            ) {
                let _ = write!(
                    n,
                    r#"<a href="/security" id="nav-watch">{}</a>"#,
                    l.t("nav.watch")
                );
            }
            let _ = write!(
                n,
                r#"<span class="who" id="who">{} · {}</span><form method="post" action="/logout" class="inline"><button type="submit" id="logout">{}</button></form>"#,
                esc(&p.label),
                Codes::Role.html(l, p.role.as_str()),
                l.t("logout")
            );
            n
        }
        None => String::new(),
    };
    let sep = if toggle.is_empty() { "" } else { "&amp;" };
    format!(
        r#"<!doctype html>
<html lang="{code}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {app}</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="top">
<div class="brand"><strong>{app}</strong> <span>{sub}</span></div>
<nav>{nav}<a id="lang-toggle" href="?{toggle}{sep}lang={other}" lang="{other}">{switch}</a></nav>
</header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        code = l.code(),
        dir = l.dir(),
        app = l.t("app"),
        sub = l.t("app.sub"),
        other = l.other().code(),
        switch = l.t("lang.switch"),
    )
}

/// The portal's links: bookings, book, fleet, events, and accounts for a company admin.
fn portal_nav(l: Lang, p: &Principal) -> String {
    let mut n = format!(
        r#"<a href="/portal" id="nav-portal">{}</a><a href="/portal/book" id="nav-book">{}</a><a href="/portal/fleet" id="nav-fleet">{}</a><a href="/portal/events" id="nav-events">{}</a>"#,
        l.t("portal.bookings"),
        l.t("portal.book"),
        l.t("fleet.title"),
        l.t("events.title"),
    );
    if p.admin {
        let _ = write!(
            n,
            r#"<a href="/portal/accounts" id="nav-accounts">{}</a>"#,
            l.t("accounts.title")
        );
    }
    n
}

/// The login page: a company account's login name and password first (the portal), then
/// the token staff and systems sign in with.
pub fn login(l: Lang, error: Option<&str>) -> String {
    let err = error
        .map(|e| format!(r#"<p class="flash error" id="login-error">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let body = format!(
        r#"{err}<form method="post" action="/login" class="card login" id="account-login">
<h2>{company}</h2>
<label for="login">{name}</label>
<input id="login" name="login" required autocomplete="username" autocapitalize="none" spellcheck="false" dir="ltr" maxlength="40">
<label for="password">{password}</label>
<input id="password" name="password" type="password" required autocomplete="current-password" maxlength="200">
<button type="submit" id="account-submit">{submit}</button>
</form>
<form method="post" action="/login" class="card login" id="login-form">
<h2>{staff}</h2>
<label for="token">{label}</label>
<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false" dir="ltr">
<button type="submit" id="login-submit">{submit}</button>
</form>"#,
        company = l.t("login.company"),
        name = l.t("login.name"),
        password = l.t("login.password"),
        staff = l.t("login.staff"),
        label = l.t("login.token"),
        submit = l.t("login.submit"),
    );
    layout(l, l.t("login.title"), None, "", &body)
}

pub fn forbidden(l: Lang, who: &Principal) -> String {
    let body = format!(
        r#"<p class="flash error" id="forbidden">{}</p>"#,
        l.t("forbidden.body")
    );
    layout(l, l.t("forbidden.title"), Some(who), "", &body)
}

/// A zone's name in `l`, from the configuration (the id when unknown).
fn zone_name<'a>(
    l: Lang,
    zones: &'a [bawaba_domain::calendar::ZoneConfig],
    id: &'a str,
) -> &'a str {
    zones
        .iter()
        .find(|z| z.id.as_str() == id)
        .map_or(id, |z| l.name(&z.name, &z.name_ar))
}

/// The `<option>`s of a zone choice, each zone by its name in `l`, `selected` chosen.
fn zone_options(l: Lang, zones: &[bawaba_domain::calendar::ZoneConfig], selected: &str) -> String {
    zones
        .iter()
        .map(|z| {
            let sel = if z.id.as_str() == selected {
                " selected"
            } else {
                ""
            };
            format!(
                r#"<option value="{}"{sel}>{}</option>"#,
                esc(z.id.as_str()),
                esc(l.name(&z.name, &z.name_ar))
            )
        })
        .collect()
}

pub fn error(l: Lang, message: &str) -> String {
    let body = format!(r#"<p class="flash error" id="error">{}</p>"#, esc(message));
    layout(l, l.t("error"), None, "", &body)
}

fn minutes(secs: Option<i64>) -> String {
    secs.map_or_else(|| "–".to_owned(), |s| format!("{:.1}", s as f64 / 60.0))
}

/// A duration in seconds, minutes or hours and minutes, with the language's units.
fn duration(l: Lang, secs: i64) -> String {
    let (s, min, h) = (l.t("unit.s"), l.t("unit.min"), l.t("unit.h"));
    if secs < 60 {
        format!("{secs} {s}")
    } else if secs < 3600 {
        format!("{} {min}", secs / 60)
    } else {
        format!("{} {h} {} {min}", secs / 3600, (secs % 3600) / 60)
    }
}

// ---- charts --------------------------------------------------------------------------------

/// Bars of entries (and exits) per hour with the capacity as a step line. Charts keep time
/// running left to right in both languages.
fn throughput_chart(l: Lang, hours: &[String], z: &agg::ZoneThroughput) -> String {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const PAD_L: f64 = 34.0;
    const PAD_B: f64 = 22.0;
    let n = hours.len().max(1);
    let max = z
        .entries
        .iter()
        .chain(&z.exits)
        .chain(&z.capacity)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - PAD_L - 4.0;
    let plot_h = H - PAD_B - 8.0;
    let bw = plot_w / n as f64;
    let y = |v: u32| 8.0 + plot_h - plot_h * f64::from(v) / f64::from(max);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{} {}" data-zone="{}">"#,
        esc(l.name(&z.name, &z.name_ar)),
        l.t("throughput"),
        esc(&z.zone)
    );
    // Axis and grid.
    let _ = write!(
        s,
        r##"<line x1="{PAD_L}" y1="{}" x2="{}" y2="{}" stroke="#888" stroke-width="1"/>"##,
        8.0 + plot_h,
        W - 4.0,
        8.0 + plot_h
    );
    for frac in [0.5, 1.0] {
        let v = (f64::from(max) * frac).round() as u32;
        let _ = write!(
            s,
            r##"<line x1="{PAD_L}" y1="{y0}" x2="{x2}" y2="{y0}" stroke="#ddd" stroke-width="1"/><text x="{tx}" y="{ty}" class="tick" text-anchor="end">{v}</text>"##,
            y0 = y(v),
            x2 = W - 4.0,
            tx = PAD_L - 4.0,
            ty = y(v) + 4.0
        );
    }
    for (h, label) in hours.iter().enumerate() {
        let x = PAD_L + bw * h as f64;
        let e = z.entries.get(h).copied().unwrap_or(0);
        let o = z.exits.get(h).copied().unwrap_or(0);
        let c = z.capacity.get(h).copied().unwrap_or(0);
        let _ = write!(
            s,
            r#"<rect class="bar-in" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{label} {}: {e} · {}: {o} · {}: {c}</title></rect>"#,
            x + 1.0,
            y(e),
            (bw / 2.0 - 1.0).max(1.0),
            8.0 + plot_h - y(e),
            l.t("entries"),
            l.t("exits"),
            l.t("capacity"),
        );
        let _ = write!(
            s,
            r#"<rect class="bar-out" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
            x + bw / 2.0,
            y(o),
            (bw / 2.0 - 1.0).max(1.0),
            8.0 + plot_h - y(o),
        );
        let _ = write!(
            s,
            r#"<line class="cap" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
            x,
            y(c),
            x + bw,
            y(c)
        );
        if h % 3 == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" class="tick">{}</text>"#,
                x,
                H - 6.0,
                esc(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Colour of a fill ratio: green through amber to red; grey when closed.
fn heat(fill: f64, closed: bool) -> String {
    if closed {
        return "#9e9e9e".to_owned();
    }
    let f = fill.clamp(0.0, 1.0);
    // Hue 140 (green) to 0 (red); light when empty.
    let hue = 140.0 * (1.0 - f);
    let light = 92.0 - 45.0 * f;
    format!("hsl({hue:.0},70%,{light:.0}%)")
}

fn slots_heatmap(l: Lang, zones: &[agg::ZoneSlots]) -> String {
    const LABEL_W: f64 = 170.0;
    const ROW_H: f64 = 26.0;
    const W: f64 = 900.0;
    let rows = zones.len().max(1);
    let h = ROW_H * rows as f64 + 22.0;
    let mut s = format!(
        r#"<svg class="chart heat" id="slots-heatmap" viewBox="0 0 {W} {h}" role="img" aria-label="{}">"#,
        l.t("slots")
    );
    for (i, z) in zones.iter().enumerate() {
        let y = ROW_H * i as f64;
        let _ = write!(
            s,
            r#"<text x="0" y="{:.1}" class="label">{}</text>"#,
            y + ROW_H * 0.65,
            esc(l.name(&z.name, &z.name_ar))
        );
        let n = z.windows.len().max(1);
        let cw = (W - LABEL_W) / n as f64;
        for (j, w) in z.windows.iter().enumerate() {
            let x = LABEL_W + cw * j as f64;
            let closed = w.closed.is_some();
            let title = match &w.closed {
                Some(reason) => format!(
                    "{} {} — {} ({})",
                    esc(l.name(&z.name, &z.name_ar)),
                    w.local,
                    l.t("slots.closed"),
                    esc(reason)
                ),
                None => format!(
                    "{} {} — {}/{} ({:.0}%)",
                    esc(l.name(&z.name, &z.name_ar)),
                    w.local,
                    w.booked,
                    w.capacity,
                    w.fill * 100.0
                ),
            };
            let _ = write!(
                s,
                r#"<rect class="cell" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" data-booked="{}" data-capacity="{}"><title>{title}</title></rect>"#,
                x,
                y + 2.0,
                (cw - 1.0).max(0.5),
                ROW_H - 4.0,
                heat(w.fill, closed),
                w.booked,
                w.capacity,
            );
        }
    }
    // Hour ticks under the grid, from the first zone's windows.
    if let Some(z) = zones.first() {
        let n = z.windows.len().max(1);
        let cw = (W - LABEL_W) / n as f64;
        let per_hour = (60 / z.slot_minutes.max(1)) as usize;
        for (j, w) in z.windows.iter().enumerate() {
            if per_hour > 0 && j % (per_hour * 3) == 0 {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" class="tick">{}</text>"#,
                    LABEL_W + cw * j as f64,
                    h - 6.0,
                    w.local
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

// ---- the authority's view ------------------------------------------------------------------

fn kpi(id: &str, label: &str, value: &str) -> String {
    kpi_with(id, label, value, None)
}

/// A headline card; `sub`, a detail on its own line under the label.
fn kpi_with(id: &str, label: &str, value: &str, sub: Option<&str>) -> String {
    let sub = sub.map_or_else(String::new, |s| {
        format!(r#"<div class="k sub" id="{id}-split">{}</div>"#, esc(s))
    });
    format!(
        r#"<div class="kpi"><div class="v" id="{id}">{}</div><div class="k">{label}</div>{sub}</div>"#,
        esc(value)
    )
}

/// Whether a passage's reasons say its truck is on the watchlist.
fn is_watched(reasons: &[&str]) -> bool {
    reasons.contains(&"WATCHLIST")
}

/// Passages the live feed shows (the last few: the day's full list is a link away).
pub const FEED_ROWS: usize = 10;

/// The head of a table of passages ([`feed_row`]s).
pub fn feed_columns(l: Lang) -> String {
    format!(
        "<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>",
        l.t("time"),
        l.t("lane"),
        l.t("plate"),
        l.t("decision"),
        l.t("reason"),
        l.t("latency"),
    )
}

pub fn feed_row(l: Lang, r: &PassageRow) -> String {
    format!(
        r#"<tr data-id="{id}"{watch}><td>{time}</td><td><bdi>{zone}/{gate}/{lane}</bdi> {dir}</td><td dir="ltr">{plate}</td><td><span class="v-{v}">{word}</span></td><td>{reasons}</td><td>{lat}</td></tr>"#,
        id = esc(&r.id),
        watch = if is_watched(&r.reasons) {
            r#" class="watch""#
        } else {
            ""
        },
        time = esc(&r.local_time),
        zone = esc(&r.zone),
        gate = esc(&r.gate),
        lane = esc(&r.lane),
        dir = Codes::Direction.html(l, r.direction),
        plate = esc(r.plate.as_deref().unwrap_or("–")),
        v = r.verdict,
        word = Codes::Verdict.html(l, r.verdict),
        reasons = Codes::Reason.list(l, &r.reasons),
        lat = esc(&r.latency),
    )
}

pub fn authority(
    l: Lang,
    who: &Principal,
    day: &Day,
    now: DateTime<Utc>,
    o: &Overview,
    (feed, feed_head): (&[bawaba_domain::passage::Passage], u64),
    notices: &str,
) -> String {
    let mut b = String::from(notices);
    b.push_str(&reports::held_notice(l, &o.gate_reports));
    let today = Day::containing(now);
    // The day picker.
    let _ = write!(
        b,
        r#"<form method="get" action="/authority" class="dayform" id="day-form"><label for="day">{}</label> <input type="date" id="day" name="day" value="{}" max="{}"> <button type="submit">{}</button> <span class="muted">{}</span></form>"#,
        l.t("day"),
        day.date,
        today.date.succ_opt().unwrap_or(today.date),
        l.t("show"),
        l.t("times.local"),
    );
    if o.truncated {
        b.push_str(r#"<p class="flash error">Too many passages this day: the figures cover the first 500 000.</p>"#);
    }
    // Headline figures.
    let entries: u32 = o.throughput.zones.iter().flat_map(|z| &z.entries).sum();
    let exits: u32 = o.throughput.zones.iter().flat_map(|z| &z.exits).sum();
    let no_shows: u32 = o.companies.iter().map(|c| c.no_shows).sum();
    let q = &o.queue;
    // The live feed counts new passages into the figures only when they show today.
    let _ = write!(
        b,
        r#"<section class="kpis" id="kpis" data-today="{}">"#,
        day.date == today.date
    );
    b.push_str(&kpi(
        "kpi-entries",
        l.t("kpi.entries"),
        &entries.to_string(),
    ));
    b.push_str(&kpi("kpi-exits", l.t("kpi.exits"), &exits.to_string()));
    b.push_str(&kpi("kpi-inside", l.t("kpi.inside"), &q.inside.to_string()));
    b.push_str(&kpi(
        "kpi-open",
        l.t("kpi.open"),
        &q.open_referrals.to_string(),
    ));
    b.push_str(&kpi(
        "kpi-oldest",
        l.t("kpi.oldest"),
        &q.oldest_open_s
            .map_or_else(|| "–".to_owned(), |s| duration(l, s)),
    ));
    // The split on a line of its own, under the label: the figure stays one short line.
    let split = format!(
        "{} {} · {} {}",
        q.approved_today,
        l.t("kpi.approved"),
        q.rejected_today,
        l.t("kpi.rejected")
    );
    b.push_str(&kpi_with(
        "kpi-referred",
        l.t("kpi.referred"),
        &q.referred_today.to_string(),
        Some(&split),
    ));
    b.push_str(&kpi(
        "kpi-noshows",
        l.t("kpi.noshows"),
        &no_shows.to_string(),
    ));
    b.push_str("</section>");

    // Live feed.
    let _ = write!(
        b,
        r#"<section class="card" id="feed-card"><h2>{} <span id="feed-status" class="badge" data-live="{}" data-off="{}"></span></h2><p id="watch-alert" class="flash error" role="alert" hidden data-label="{}"></p><div class="table-wrap"><table class="feed">{}<tbody id="feed" data-src="/api/feed" data-since="{}" data-rows="{FEED_ROWS}">"#,
        l.t("feed"),
        l.t("feed.live"),
        l.t("feed.offline"),
        l.t("watchlist.mark"),
        feed_columns(l),
        feed_head,
    );
    for p in feed.iter().rev() {
        b.push_str(&feed_row(l, &PassageRow::of(p)));
    }
    let _ = write!(
        b,
        r#"</tbody></table></div><p><a href="/authority/passages?day={}" id="feed-all">{}</a></p></section>"#,
        day.date,
        l.t("feed.all")
    );
    // The words of the codes, for the rows the live feed adds.
    let _ = write!(
        b,
        r#"<script type="application/json" id="words">{}</script>"#,
        crate::codes::words_json(l)
    );

    // Throughput.
    let _ = write!(
        b,
        r#"<section class="card" id="throughput"><h2>{}</h2><p class="legend"><span class="sw in"></span>{} <span class="sw out"></span>{} <span class="sw cap"></span>{}</p>"#,
        l.t("throughput"),
        l.t("entries"),
        l.t("exits"),
        l.t("capacity")
    );
    for z in &o.throughput.zones {
        let total_in: u32 = z.entries.iter().sum();
        let cap: u32 = z.capacity.iter().sum();
        let _ = write!(
            b,
            r#"<h3>{} <span class="muted" id="zone-total-{}">{} {} / {} {}</span></h3><div class="chart-wrap" dir="ltr">{}</div>"#,
            esc(l.name(&z.name, &z.name_ar)),
            esc(&z.zone),
            total_in,
            l.t("entries"),
            cap,
            l.t("capacity"),
            throughput_chart(l, &o.throughput.hours, z)
        );
    }
    let _ = write!(
        b,
        r#"<h3>{}</h3><div class="table-wrap"><table id="gates-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        l.t("throughput.gates"),
        l.t("gate"),
        l.t("zone"),
        l.t("entries"),
        l.t("exits"),
        l.t("peak")
    );
    for z in &o.throughput.zones {
        for g in &z.gates {
            let peak = g
                .entries
                .iter()
                .zip(&g.exits)
                .map(|(a, b)| a + b)
                .enumerate()
                .max_by_key(|(_, n)| *n)
                .filter(|(_, n)| *n > 0)
                .map_or_else(
                    || "–".to_owned(),
                    |(h, n)| format!("{} ({n})", o.throughput.hours[h]),
                );
            let _ = write!(
                b,
                r#"<tr data-gate="{}"><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(&g.gate),
                esc(l.name(&g.name, &g.name_ar)),
                esc(l.name(&z.name, &z.name_ar)),
                g.entries.iter().sum::<u32>(),
                g.exits.iter().sum::<u32>(),
                peak
            );
        }
    }
    b.push_str("</tbody></table></div></section>");

    // Slot use.
    let _ = write!(
        b,
        r#"<section class="card" id="slots"><h2>{}</h2><div class="chart-wrap" dir="ltr">{}</div></section>"#,
        l.t("slots"),
        slots_heatmap(l, &o.slots)
    );

    // Turn times.
    let _ = write!(
        b,
        r#"<section class="card" id="turn-times"><h2>{}</h2><div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>p50</th><th>p90</th><th>p99</th></tr></thead><tbody>"#,
        l.t("turn"),
        l.t("zone"),
        l.t("hour"),
        l.t("turn.visits"),
    );
    let mut any = false;
    for z in &o.turn_times {
        if z.all.count == 0 {
            continue;
        }
        any = true;
        let _ = write!(
            b,
            r#"<tr class="all"><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(l.name(&z.name, &z.name_ar)),
            l.t("turn.all"),
            z.all.count,
            minutes(z.all.p50_s),
            minutes(z.all.p90_s),
            minutes(z.all.p99_s)
        );
        for (h, t) in z.hours.iter().enumerate().filter(|(_, t)| t.count > 0) {
            let _ = write!(
                b,
                r#"<tr><td></td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                o.throughput.hours.get(h).map_or("", String::as_str),
                t.count,
                minutes(t.p50_s),
                minutes(t.p90_s),
                minutes(t.p99_s)
            );
        }
    }
    if !any {
        let _ = write!(b, r#"<tr><td colspan="6">{}</td></tr>"#, l.t("none"));
    }
    b.push_str("</tbody></table></div></section>");

    // Queue per zone.
    let _ = write!(
        b,
        r#"<section class="card" id="queue"><h2>{}</h2><div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        l.t("queue"),
        l.t("zone"),
        l.t("kpi.open"),
        l.t("kpi.inside"),
        l.t("denied"),
    );
    for z in &q.zones {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(l.name(&z.name, &z.name_ar)),
            z.open_referrals,
            z.inside,
            z.denied_today
        );
    }
    b.push_str("</tbody></table></div></section>");

    // Companies.
    let _ = write!(
        b,
        r#"<section class="card" id="companies"><h2>{}</h2><div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        l.t("companies"),
        l.t("company"),
        l.t("bookings"),
        l.t("arrived"),
        l.t("late"),
        l.t("kpi.noshows"),
        l.t("cancelled"),
        l.t("noshows.all"),
    );
    if o.companies.is_empty() {
        let _ = write!(b, r#"<tr><td colspan="7">{}</td></tr>"#, l.t("none"));
    }
    for c in &o.companies {
        let _ = write!(
            b,
            r#"<tr data-company="{0}"><td dir="ltr">{0}</td><td class="num">{1}</td><td class="num">{2}</td><td class="num">{3}</td><td class="num">{4}</td><td class="num">{5}</td><td class="num">{6}</td></tr>"#,
            esc(&c.company),
            c.bookings,
            c.arrived,
            c.late,
            c.no_shows,
            c.cancelled,
            c.no_shows_all_time
        );
    }
    b.push_str("</tbody></table></div></section>");

    // Closures.
    let _ = write!(
        b,
        r#"<section class="card" id="closures"><h2>{} <a href="/authority/closures/new" class="badge" id="close-zone">{}</a></h2>"#,
        l.t("closures"),
        l.t("closure.new"),
    );
    if o.closures.is_empty() {
        let _ = write!(b, "<p>{}</p>", l.t("none"));
    } else {
        let _ = write!(
            b,
            r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            l.t("zone"),
            l.t("closure.from"),
            l.t("closure.to"),
            l.t("closure.reason"),
            l.t("closure.hit"),
        );
        for c in &o.closures {
            let hit: Vec<String> = c
                .bookings_hit
                .iter()
                .take(20)
                .map(|h| {
                    format!(
                        r#"<li><bdi dir="ltr">{}</bdi> · <bdi>{}</bdi> · <bdi dir="ltr">{}</bdi> · <bdi dir="ltr">{}</bdi></li>"#,
                        esc(&h.window_local),
                        esc(&h.company),
                        esc(&h.plate),
                        esc(&h.booking)
                    )
                })
                .collect();
            let _ = write!(
                b,
                r#"<tr><td><bdi>{}</bdi> <span class="badge">{}</span>{}</td><td><bdi dir="ltr">{}</bdi></td><td><bdi dir="ltr">{}</bdi></td><td>{}</td><td><strong>{}</strong><ul class="hits">{}</ul></td></tr>"#,
                esc(l.name(&c.zone_name, &c.zone_name_ar)),
                if c.in_force {
                    l.t("closure.now")
                } else {
                    l.t("closure.soon")
                },
                closures::lift_button(l, c),
                esc(&c.from_local),
                esc(&c.to_local),
                esc(&c.reason),
                c.bookings_hit.len(),
                hit.join("")
            );
        }
        b.push_str("</tbody></table></div>");
    }
    b.push_str("</section>");
    b.push_str(&reports::card(l, &o.gate_reports));

    layout(
        l,
        l.t("authority.title"),
        Some(who),
        &format!("day={}", day.date),
        &b,
    )
}

// ---- the operator's view -------------------------------------------------------------------

/// What the last action did (from the redirect's query).
#[derive(Debug, Default)]
pub struct Flash<'a> {
    /// `<event id>-approved` or `<event id>-rejected`.
    pub done: Option<&'a str>,
    pub delivered: bool,
    pub error: Option<&'a str>,
    /// The live feed's recording number when the page was made: new referrals after it
    /// arrive without a reload.
    pub feed_head: u64,
}

/// `plate`, escaped, with each character that differs from `other` at its place marked (the
/// plate read against the plate booked, side by side on the referral).
fn marked(plate: &str, other: &str) -> String {
    let mut theirs = other.chars();
    let mut out = String::new();
    for c in plate.chars() {
        let same = theirs.next() == Some(c);
        let text = esc(&c.to_string()).into_owned();
        if same {
            out.push_str(&text);
        } else {
            let _ = write!(out, "<mark>{text}</mark>");
        }
    }
    out
}

/// Whose truck the tag read is: each fleet truck with it (plate and company), or that it is
/// in no fleet; nothing to say when no tag was read.
fn tag_trucks(l: Lang, r: &ReferralView) -> String {
    if r.passage.epc.is_none() {
        return "–".to_owned();
    }
    if r.tag_trucks.is_empty() {
        return format!(
            r#"<span class="warn">{}</span>"#,
            l.t("evidence.tag_unknown")
        );
    }
    let trucks: Vec<String> = r
        .tag_trucks
        .iter()
        .map(|(plate, company)| {
            format!(
                r#"<bdi dir="ltr">{}</bdi> · <bdi>{}</bdi>"#,
                esc(plate),
                esc(company)
            )
        })
        .collect();
    trucks.join("; ")
}

fn evidence(l: Lang, r: &ReferralView) -> String {
    let p = &r.passage;
    let read = p.plate.as_deref().unwrap_or("–");
    let booked = r.booking.as_ref().map(|bk| bk.plate.as_str());
    let booking = match &r.booking {
        Some(bk) => format!(
            r#"<bdi>{}</bdi> · <bdi dir="ltr">{}</bdi> · {} <bdi dir="ltr">{}</bdi>{}"#,
            esc(&bk.company),
            marked(&bk.plate, read),
            Codes::State.html(l, &bk.state),
            esc(bk.epc.as_deref().unwrap_or("")),
            bk.window_local
                .as_ref()
                .map(|w| format!(" — {} {}", l.t("evidence.window"), esc(w)))
                .unwrap_or_default()
        ),
        None => format!(r#"<span class="warn">{}</span>"#, l.t("evidence.nobooking")),
    };
    let watch = if is_watched(&p.reasons) {
        format!(r#"<p class="watch-mark">⚠ {}</p>"#, l.t("watchlist.mark"))
    } else {
        String::new()
    };
    format!(
        r#"{}<dl class="evidence"><dt>{}</dt><dd class="plate"><bdi dir="ltr">{}</bdi></dd><dt>{}</dt><dd><bdi dir="ltr">{}</bdi></dd><dt>{}</dt><dd><bdi dir="ltr">{}</bdi></dd><dt>{}</dt><dd class="tag-trucks">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class="containers"><bdi dir="ltr">{}</bdi></dd><dt>{}</dt><dd class="reasons">{}</dd><dt>{}</dt><dd>{} · {} · {}</dd><dt>{}</dt><dd>{} ({})</dd></dl>"#,
        watch,
        l.t("evidence.plate"),
        marked(read, booked.unwrap_or(read)),
        l.t("evidence.confidence"),
        p.confidence
            .map_or_else(|| "–".to_owned(), |c| format!("{c}%")),
        l.t("evidence.epc"),
        esc(p.epc.as_deref().unwrap_or("–")),
        l.t("evidence.tag_owner"),
        tag_trucks(l, r),
        l.t("evidence.booking"),
        booking,
        l.t("book.containers"),
        r.booking
            .as_ref()
            .filter(|bk| !bk.containers.is_empty())
            .map_or_else(
                || "–".to_owned(),
                |bk| esc(&bk.containers.join(", ")).into_owned()
            ),
        l.t("reason"),
        Codes::Reason.list(l, &p.reasons),
        l.t("lane"),
        esc(l.name(&r.gate_name, &r.gate_name_ar)),
        esc(&p.lane),
        Codes::Direction.html(l, p.direction),
        l.t("evidence.waiting"),
        esc(&p.local_time),
        duration(l, r.waiting_s),
    )
}

pub fn operator(
    l: Lang,
    who: &Principal,
    open: &[ReferralView],
    done: &[ReferralView],
    flash: &Flash<'_>,
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<p class="muted" id="scope">{} {}</p>"#,
        l.t("zone"),
        esc(&who
            .zone
            .as_ref()
            .map_or_else(|| l.t("scope.all").to_owned(), ToString::to_string))
    );
    if let Some(d) = flash.done {
        let text = if d.ends_with("-rejected") {
            l.t("done.rejected")
        } else if flash.delivered {
            l.t("done.approved")
        } else {
            l.t("done.approved.nogate")
        };
        let _ = write!(
            b,
            r#"<p class="flash ok" id="flash" data-done="{}">{}</p>"#,
            esc(d),
            text
        );
    }
    if let Some(e) = flash.error {
        let _ = write!(
            b,
            r#"<p class="flash error" id="flash-error">{}</p>"#,
            esc(e)
        );
    }
    b.push_str(&search::form(l, ""));
    let _ = write!(
        b,
        r#"<section class="card" id="open-referrals" data-src="/api/feed" data-since="{}"><h2>{} <span class="badge" id="open-count">{}</span></h2><p class="muted" id="desk-keys">{}</p><p id="referral-alert" class="flash error" role="alert" hidden data-label="{}"></p>"#,
        flash.feed_head,
        l.t("referrals.open"),
        open.len(),
        l.t("desk.keys"),
        l.t("referral.new"),
    );
    if open.is_empty() {
        let _ = write!(b, r#"<p id="no-referrals">{}</p>"#, l.t("none"));
    }
    b.push_str(r#"<div id="referral-list">"#);
    for r in open {
        let _ = write!(
            b,
            r#"<article class="referral" id="ref-{id}" data-id="{id}"><h3 dir="ltr">{plate}</h3>{ev}<form method="post" action="/operator/referrals/{id}" class="resolve"><label for="reason-{id}">{reason}</label><input id="reason-{id}" name="reason" required maxlength="500"><label for="booking-{id}">{booking}</label><input id="booking-{id}" name="booking_id" dir="ltr" autocomplete="off" spellcheck="false" maxlength="26" pattern="[0-9A-Za-z]{{26}}"><div class="buttons"><button type="submit" name="decision" value="approve" class="approve" id="approve-{id}">{approve}</button><button type="submit" name="decision" value="reject" class="reject" id="reject-{id}">{reject}</button></div></form></article>"#,
            id = esc(&r.event_id),
            plate = esc(r.passage.plate.as_deref().unwrap_or("–")),
            ev = evidence(l, r),
            reason = l.t("resolution.reason"),
            booking = l.t("resolution.booking"),
            approve = l.t("approve"),
            reject = l.t("reject"),
        );
    }
    b.push_str("</div></section>");
    let _ = write!(
        b,
        r#"<section class="card"><h2>{}</h2><div class="table-wrap"><table id="resolved"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        l.t("referrals.recent"),
        l.t("time"),
        l.t("plate"),
        l.t("decision"),
        l.t("resolved.by"),
        l.t("reason"),
    );
    for r in done {
        let state = match r.state {
            "APPROVED" => l.t("state.APPROVED"),
            _ => l.t("state.REJECTED"),
        };
        let _ = write!(
            b,
            r#"<tr data-id="{}" data-state="{}"><td><bdi dir="ltr">{}</bdi></td><td><bdi dir="ltr">{}</bdi></td><td>{}</td><td><bdi>{}</bdi></td><td>{}</td></tr>"#,
            esc(&r.event_id),
            r.state,
            r.resolved_at.map(agg::local_datetime).unwrap_or_default(),
            esc(r.passage.plate.as_deref().unwrap_or("–")),
            state,
            esc(r.resolved_by.as_deref().unwrap_or("")),
            esc(r.resolution.as_deref().unwrap_or("")),
        );
    }
    let _ = write!(
        b,
        r#"</tbody></table></div><p><a href="/operator/decisions" id="decisions-link">{}</a></p></section>"#,
        l.t("decisions.link")
    );
    layout(l, l.t("operator.title"), Some(who), "", &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_characters_a_plate_differs_by_are_marked() {
        assert_eq!(marked("6012345", "6012345"), "6012345");
        assert_eq!(marked("6O12345", "6012345"), "6<mark>O</mark>12345");
        assert_eq!(marked("60123456", "6012345"), "6012345<mark>6</mark>");
        assert_eq!(marked("<1", "<2"), "&lt;<mark>1</mark>");
    }
}
