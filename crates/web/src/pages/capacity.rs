//! The authority's capacity page for one zone: its one-off capacities (Eid, an inspection
//! campaign) with a button removing each, the form setting one — which, when it would leave
//! booked windows over their new capacity, names them and asks to confirm —, and the
//! companies' own caps with the form setting or clearing one.

use std::fmt::Write;

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::ZoneConfig;

use super::{esc, layout};
use crate::agg::local_datetime;
use crate::i18n::Lang;

/// The one-off capacity form's fields as typed (shown again after a refusal).
#[derive(Debug, Clone, Default)]
pub struct OverrideForm {
    pub from: String,
    pub to: String,
    pub capacity: String,
    pub reason: String,
}

/// What the page shows besides the zone: what was just done, the refusal, and whether the
/// refusal is one the authority may confirm (booked windows over their new capacity).
#[derive(Debug, Clone, Default)]
pub struct CapacityNotes<'a> {
    pub done: Option<&'a str>,
    pub error: Option<&'a str>,
    pub confirmable: bool,
}

pub fn capacity(
    l: Lang,
    who: &Principal,
    zones: &[ZoneConfig],
    z: &ZoneConfig,
    f: &OverrideForm,
    notes: &CapacityNotes<'_>,
) -> String {
    let mut b = String::new();
    if let Some(e) = notes.error {
        let _ = write!(b, r#"<p class="flash error" id="error">{}</p>"#, esc(e));
    }
    if let Some(d) = notes.done {
        let _ = write!(b, r#"<p class="flash" id="done">{}</p>"#, esc(d));
    }
    b.push_str(&zone_picker(l, zones, z));
    b.push_str(&overrides_card(l, z, f, notes.confirmable));
    b.push_str(&caps_card(l, z));
    layout(l, l.t("capacity.title"), Some(who), "", &b)
}

fn zone_picker(l: Lang, zones: &[ZoneConfig], z: &ZoneConfig) -> String {
    let options = super::zone_options(l, zones, z.id.as_str());
    format!(
        r#"<section class="card"><form method="get" action="/authority/capacity" class="closeform" id="zone-pick"><label for="zone">{}</label> <select id="zone" name="zone">{options}</select> <button type="submit">{}</button></form></section>"#,
        l.t("zone"),
        l.t("capacity.show"),
    )
}

fn overrides_card(l: Lang, z: &ZoneConfig, f: &OverrideForm, confirmable: bool) -> String {
    let zone = esc(z.id.as_str());
    let mut rows = String::new();
    for o in &z.overrides {
        let _ = write!(
            rows,
            r#"<tr><td><bdi dir="ltr">{}</bdi> – <bdi dir="ltr">{}</bdi></td><td class="num">{}</td><td>{}</td><td><form method="post" action="/authority/capacity/remove" class="inline"><input type="hidden" name="zone" value="{zone}"><input type="hidden" name="id" value="{id}"><button type="submit" class="approve" id="remove-override-{id}">{remove}</button></form></td></tr>"#,
            esc(&local_datetime(o.from)),
            esc(&local_datetime(o.to)),
            o.capacity.total,
            esc(&o.reason),
            id = o.id,
            remove = l.t("capacity.remove"),
        );
    }
    let heads = [
        l.t("capacity.when"),
        l.t("capacity.places"),
        l.t("closure.reason"),
    ];
    let list = table_or_none(l, "overrides", &heads, &rows);
    // After a refusal for booked windows, the same change can be confirmed.
    let confirm = if confirmable {
        format!(
            r#" <label><input type="checkbox" name="confirm" value="true" id="confirm"> {}</label>"#,
            l.t("capacity.confirm")
        )
    } else {
        String::new()
    };
    format!(
        r#"<section class="card" id="one-off"><h2>{title}</h2>{list}<form method="post" action="/authority/capacity/override" class="closeform" id="override-form"><input type="hidden" name="zone" value="{zone}"><label for="from">{from}</label> <input type="datetime-local" id="from" name="from" value="{fv}" required> <label for="to">{to}</label> <input type="datetime-local" id="to" name="to" value="{tv}" required> <label for="places">{places}</label> <input type="number" min="0" max="100000" id="places" name="capacity" value="{cv}" required> <label for="reason">{reason}</label> <input id="reason" name="reason" value="{rv}" maxlength="500" required>{confirm} <button type="submit" id="set-override">{set}</button> <span class="muted">{local}</span></form></section>"#,
        title = l.t("capacity.overrides"),
        from = l.t("closure.from"),
        to = l.t("closure.to"),
        places = l.t("capacity.places"),
        reason = l.t("closure.reason"),
        set = l.t("capacity.set"),
        local = l.t("times.local"),
        fv = esc(&f.from),
        tv = esc(&f.to),
        cv = esc(&f.capacity),
        rv = esc(&f.reason),
    )
}

fn caps_card(l: Lang, z: &ZoneConfig) -> String {
    let zone = esc(z.id.as_str());
    let mut rows = String::new();
    for (company, pct) in &z.company_caps {
        let _ = write!(
            rows,
            r#"<tr><td><bdi dir="ltr">{c}</bdi></td><td class="num">{pct}%</td><td><form method="post" action="/authority/capacity/cap" class="inline"><input type="hidden" name="zone" value="{zone}"><input type="hidden" name="company" value="{c}"><input type="hidden" name="percent" value=""><button type="submit" class="approve" id="clear-cap-{c}">{clear}</button></form></td></tr>"#,
            c = esc(company.as_str()),
            clear = l.t("caps.clear"),
        );
    }
    let list = table_or_none(l, "caps", &[l.t("company"), l.t("caps.percent")], &rows);
    format!(
        r#"<section class="card" id="company-caps"><h2>{title}</h2><p>{rule} <strong id="zone-rule">{rule_pct}%</strong></p>{list}<form method="post" action="/authority/capacity/cap" class="closeform" id="cap-form"><input type="hidden" name="zone" value="{zone}"><label for="company">{company}</label> <input id="company" name="company" dir="ltr" required> <label for="percent">{percent}</label> <input type="number" min="1" max="100" id="percent" name="percent"> <button type="submit" id="set-cap">{set}</button> <span class="muted">{hint}</span></form></section>"#,
        title = l.t("caps.title"),
        rule = l.t("caps.rule"),
        rule_pct = z.rules.company_cap_percent,
        company = l.t("company"),
        percent = l.t("caps.percent"),
        set = l.t("capacity.set"),
        hint = l.t("caps.hint"),
    )
}

/// A table `id` of `rows` under `heads` (and a last column of buttons), or "None." when there
/// are no rows (`no-{id}`).
fn table_or_none(l: Lang, id: &str, heads: &[&str], rows: &str) -> String {
    if rows.is_empty() {
        return format!(
            r#"<p class="muted" id="no-{id}">{}</p>"#,
            l.t("capacity.none")
        );
    }
    let heads: String = heads.iter().map(|h| format!("<th>{h}</th>")).collect();
    format!(
        r#"<div class="scroll"><table id="{id}"><thead><tr>{heads}<th></th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}
