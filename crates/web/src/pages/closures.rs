//! The authority's closure form: zone, from, to (Amman time), reason; the bookings the
//! closure would hit, shown before it is confirmed.

use std::fmt::Write;

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::ZoneConfig;

use super::{esc, layout};
use crate::agg::ClosureRow;
use crate::i18n::Lang;

/// The fields as typed (shown again).
#[derive(Debug, Clone, Default)]
pub struct CloseForm {
    pub zone: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

pub fn close_zone(
    l: Lang,
    who: &Principal,
    zones: &[ZoneConfig],
    f: &CloseForm,
    impact: Option<&ClosureRow>,
    error: Option<&str>,
) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="flash error" id="error">{}</p>"#, esc(e));
    }
    let options = super::zone_options(l, zones, &f.zone);
    let _ = write!(
        b,
        r#"<section class="card"><form method="get" action="/authority/closures/new" class="closeform" id="close-form"><label for="zone">{zone}</label> <select id="zone" name="zone">{options}</select> <label for="from">{from}</label> <input type="datetime-local" id="from" name="from" value="{fv}" required> <label for="to">{to}</label> <input type="datetime-local" id="to" name="to" value="{tv}" required> <label for="reason">{reason}</label> <input id="reason" name="reason" value="{rv}" maxlength="500" required> <button type="submit" id="preview">{preview}</button> <span class="muted">{local}</span></form></section>"#,
        zone = l.t("zone"),
        from = l.t("closure.from"),
        to = l.t("closure.to"),
        reason = l.t("closure.reason"),
        fv = esc(&f.from),
        tv = esc(&f.to),
        rv = esc(&f.reason),
        preview = l.t("closure.preview"),
        local = l.t("times.local"),
    );
    if let Some(c) = impact {
        b.push_str(&impact_card(l, f, c));
    }
    layout(l, l.t("closure.new"), Some(who), "", &b)
}

/// The bookings the closure would hit, and the button that makes it.
fn impact_card(l: Lang, f: &CloseForm, c: &ClosureRow) -> String {
    let rows: String = c
        .bookings_hit
        .iter()
        .map(|h| {
            format!(
                r#"<tr><td><bdi dir="ltr">{}</bdi></td><td><bdi>{}</bdi></td><td><bdi dir="ltr">{}</bdi></td><td><bdi dir="ltr">{}</bdi></td></tr>"#,
                esc(&h.window_local),
                esc(&h.company),
                esc(&h.plate),
                esc(&h.booking)
            )
        })
        .collect();
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<section class="card" id="impact"><h2>{title}</h2><p><bdi>{zone}</bdi>: <bdi dir="ltr">{from}</bdi> – <bdi dir="ltr">{to}</bdi> · {reason}</p><p><strong id="hit-count">{n}</strong> {hit}</p>"#,
        title = l.t("closure.impact"),
        zone = esc(l.name(&c.zone_name, &c.zone_name_ar)),
        from = esc(&c.from_local),
        to = esc(&c.to_local),
        reason = esc(&c.reason),
        n = c.bookings_hit.len(),
        hit = l.t("closure.hit"),
    );
    if !rows.is_empty() {
        let _ = write!(
            b,
            r#"<div class="scroll"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table></div>"#,
            l.t("evidence.window"),
            l.t("company"),
            l.t("plate"),
            l.t("booking"),
        );
    }
    let _ = write!(
        b,
        r#"<form method="post" action="/authority/closures"><input type="hidden" name="zone" value="{}"><input type="hidden" name="from" value="{}"><input type="hidden" name="to" value="{}"><input type="hidden" name="reason" value="{}"><fieldset id="policy"><legend>{}</legend><label><input type="radio" name="policy" value="notify" checked> {}</label> <label><input type="radio" name="policy" value="rebook"> {}</label> <label><input type="radio" name="policy" value="cancel"> {}</label></fieldset><button type="submit" class="reject" id="confirm-close">{}</button></form></section>"#,
        esc(&f.zone),
        esc(&f.from),
        esc(&f.to),
        esc(&f.reason),
        l.t("closure.policy"),
        l.t("closure.policy.notify"),
        l.t("closure.policy.rebook"),
        l.t("closure.policy.cancel"),
        l.t("closure.confirm"),
    );
    b
}

/// The authority page's "lift" button of a closure.
pub fn lift_button(l: Lang, c: &ClosureRow) -> String {
    format!(
        r#"<form method="post" action="/authority/closures/lift" class="inline"><input type="hidden" name="zone" value="{}"><input type="hidden" name="id" value="{}"><button type="submit" class="approve" id="lift-{}-{}">{}</button></form>"#,
        esc(&c.zone),
        c.id,
        esc(&c.zone),
        c.id,
        l.t("closure.lift")
    )
}

/// After a closure: how many of the bookings it hit it moved, cancelled and left in it.
pub fn closed_notice(l: Lang, (moved, cancelled, kept): (usize, usize, usize)) -> String {
    format!(
        r#"<p class="flash" id="hit-outcome"><strong>{moved}</strong> {} · <strong>{cancelled}</strong> {} · <strong>{kept}</strong> {}</p>"#,
        l.t("closure.rebooked"),
        l.t("closure.cancelled"),
        l.t("closure.kept"),
    )
}

/// After a lift: how many bookings in the lifted windows can come as booked again.
pub fn back_notice(l: Lang, n: usize) -> String {
    format!(
        r#"<p class="flash" id="back"><strong>{n}</strong> {}</p>"#,
        l.t("closure.back")
    )
}
