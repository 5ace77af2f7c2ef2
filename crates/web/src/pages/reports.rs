//! The authority's card of the gates' reports: when each gate last reported everything it
//! decided, and which gate holds its zone's no-show sweep back.

use std::fmt::Write;

use super::{duration, esc};
use crate::agg::GateReport;
use crate::i18n::Lang;

/// A warning above the figures when a silent gate holds a zone's no-shows back.
pub fn held_notice(l: Lang, rows: &[GateReport]) -> String {
    let held: Vec<String> = rows
        .iter()
        .filter(|r| r.holds_sweep)
        .map(|r| {
            format!(
                "{} (<bdi>{}</bdi>, {})",
                esc(l.name(&r.gate_name, &r.gate_name_ar)),
                esc(l.name(&r.zone_name, &r.zone_name_ar)),
                r.behind_s.map(|s| duration(l, s)).unwrap_or_default()
            )
        })
        .collect();
    if held.is_empty() {
        return String::new();
    }
    format!(
        r##"<p class="flash error" id="sweep-held">{} {} <a href="#gate-reports">{}</a></p>"##,
        l.t("reports.held"),
        held.join(" · "),
        l.t("reports.see"),
    )
}

/// The table: gate, zone, reported up to (Amman time), how far behind, and the hold.
pub fn card(l: Lang, rows: &[GateReport]) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<section class="card" id="gate-reports"><h2>{}</h2><p class="muted">{}</p><div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        l.t("reports.title"),
        l.t("reports.explain"),
        l.t("gate"),
        l.t("zone"),
        l.t("reports.through"),
        l.t("reports.behind"),
    );
    for r in rows {
        let state = if r.holds_sweep {
            format!(
                r#"<span class="badge warn">{}</span>"#,
                l.t("reports.holds")
            )
        } else if r.reported_through.is_none() {
            format!(r#"<span class="muted">{}</span>"#, l.t("reports.never"))
        } else {
            String::new()
        };
        let _ = write!(
            b,
            r#"<tr data-gate="{}" data-holds="{}"><td>{}</td><td>{}</td><td><bdi dir="ltr">{}</bdi></td><td class="num">{}</td><td>{}</td></tr>"#,
            esc(&r.gate),
            r.holds_sweep,
            esc(l.name(&r.gate_name, &r.gate_name_ar)),
            esc(l.name(&r.zone_name, &r.zone_name_ar)),
            esc(r.reported_local.as_deref().unwrap_or("–")),
            r.behind_s
                .map_or_else(|| "–".to_owned(), |s| duration(l, s)),
            state,
        );
    }
    b.push_str("</tbody></table></div></section>");
    b
}
