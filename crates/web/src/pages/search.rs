//! The operator's search page: a truck's bookings and recent passages by booking id (the
//! driver's slip), plate or RFID tag.

use std::fmt::Write;

use bawaba_app::Found;
use bawaba_domain::access::Principal;

use super::{esc, layout};
use crate::agg::{self, PassageRow};
use crate::codes::Codes;
use crate::i18n::Lang;

/// What the page shows under its form: nothing asked yet, what was found, or why the query
/// was refused.
pub enum Searched<'a> {
    Nothing,
    Found(&'a Found),
    Refused(&'a str),
}

/// The search form, then what it found.
pub fn search(l: Lang, who: &Principal, q: &str, searched: &Searched<'_>) -> String {
    let mut b = form(l, q);
    match searched {
        Searched::Nothing => {}
        Searched::Refused(why) => {
            let _ = write!(
                b,
                r#"<p class="flash error" id="search-error">{}</p>"#,
                esc(why)
            );
        }
        Searched::Found(f) if f.bookings.is_empty() && f.passages.is_empty() => {
            let _ = write!(b, r#"<p id="search-none">{}</p>"#, l.t("search.none"));
        }
        Searched::Found(f) => {
            bookings(&mut b, l, f);
            passages(&mut b, l, f);
        }
    }
    let toggle = serde_urlencoded::to_string([("q", q)]).unwrap_or_default();
    layout(l, l.t("search"), Some(who), &esc(&toggle), &b)
}

/// The form (also on the operator's desk).
pub fn form(l: Lang, q: &str) -> String {
    format!(
        r#"<form method="get" action="/operator/search" class="card search" id="search-form" role="search"><label for="q">{label}</label><input id="q" name="q" value="{q}" dir="ltr" autocomplete="off" spellcheck="false" required maxlength="64"><button type="submit" id="search-go">{go}</button><p class="muted">{hint}</p></form>"#,
        label = l.t("search.label"),
        q = esc(q),
        go = l.t("search"),
        hint = l.t("search.hint"),
    )
}

/// A card titled `title` opening table `id` with `heads` (catalogue keys), and a row saying
/// "none" when `empty`; the caller adds the rows and [`CLOSE`].
fn open_table(
    b: &mut String,
    l: Lang,
    title: &'static str,
    id: &str,
    heads: &[&'static str],
    empty: bool,
) {
    let _ = write!(
        b,
        r#"<section class="card"><h2>{}</h2><div class="table-wrap"><table id="{id}"><thead><tr>"#,
        l.t(title)
    );
    for h in heads {
        let _ = write!(b, "<th>{}</th>", l.t(h));
    }
    b.push_str("</tr></thead><tbody>");
    if empty {
        let _ = write!(
            b,
            r#"<tr><td colspan="{}">{}</td></tr>"#,
            heads.len(),
            l.t("none")
        );
    }
}

const CLOSE: &str = "</tbody></table></div></section>";

fn bookings(b: &mut String, l: Lang, f: &Found) {
    let heads = ["booking", "plate", "company", "state", "search.windows"];
    let empty = f.bookings.is_empty();
    open_table(b, l, "search.bookings", "search-bookings", &heads, empty);
    for bk in &f.bookings {
        let stops: Vec<String> = bk
            .stops
            .iter()
            .map(|s| {
                format!(
                    r#"<bdi>{}</bdi> <bdi dir="ltr">{}</bdi>"#,
                    esc(s.zone.as_str()),
                    agg::local_datetime(s.window_start)
                )
            })
            .collect();
        let _ = write!(
            b,
            r#"<tr data-booking="{id}"><td><bdi dir="ltr">{id}</bdi></td><td><bdi dir="ltr">{plate}</bdi></td><td><bdi>{company}</bdi></td><td>{state}</td><td>{stops}</td></tr>"#,
            id = bk.id,
            plate = esc(bk.plate.as_str()),
            company = esc(bk.company.as_str()),
            state = Codes::State.html(l, bk.state.as_str()),
            stops = stops.join("<br>"),
        );
    }
    b.push_str(CLOSE);
}

fn passages(b: &mut String, l: Lang, f: &Found) {
    let heads = ["time", "lane", "plate", "tag", "decision", "reason"];
    let empty = f.passages.is_empty();
    open_table(b, l, "search.passages", "search-passages", &heads, empty);
    for p in &f.passages {
        let r = PassageRow::of(p);
        let _ = write!(
            b,
            r#"<tr data-id="{id}"><td><bdi dir="ltr">{time}</bdi></td><td><bdi>{zone}/{gate}/{lane}</bdi> {dir}</td><td><bdi dir="ltr">{plate}</bdi></td><td><bdi dir="ltr">{tag}</bdi></td><td><span class="v-{v}">{word}</span></td><td>{reasons}</td></tr>"#,
            id = esc(&r.id),
            time = agg::local_datetime(p.decided_at),
            zone = esc(&r.zone),
            gate = esc(&r.gate),
            lane = esc(&r.lane),
            dir = Codes::Direction.html(l, r.direction),
            plate = esc(r.plate.as_deref().unwrap_or("–")),
            tag = esc(r.epc.as_deref().unwrap_or("–")),
            v = r.verdict,
            word = Codes::Verdict.html(l, r.verdict),
            reasons = Codes::Reason.list(l, &r.reasons),
        );
    }
    b.push_str(CLOSE);
}
