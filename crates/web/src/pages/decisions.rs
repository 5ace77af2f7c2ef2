//! The decisions on referrals: the operator's own or everyone's in their zones, the latest
//! first, with the link to older ones.

use std::fmt::Write;

use bawaba_app::Page;
use bawaba_domain::access::Principal;
use bawaba_domain::ledger::Gate;
use bawaba_domain::passage::{Referral, ReferralState};

use super::{esc, layout};
use crate::agg::{self, local_datetime};
use crate::codes::Codes;
use crate::i18n::Lang;

fn row(l: Lang, r: &Referral, gates: &[Gate]) -> String {
    let p = &r.passage;
    let (name, name_ar) = agg::gate_names(gates, &p.gate);
    let state = match r.state {
        ReferralState::Approved => l.t("state.APPROVED"),
        _ => l.t("state.REJECTED"),
    };
    format!(
        r#"<tr data-id="{id}"><td><bdi dir="ltr">{at}</bdi></td><td><bdi>{gate}</bdi> <bdi dir="ltr">{lane}</bdi> {dir}</td><td><bdi dir="ltr">{plate}</bdi></td><td>{state}</td><td><bdi>{by}</bdi></td><td><bdi>{reason}</bdi></td></tr>"#,
        id = p.id,
        at = r.resolved_at.map(local_datetime).unwrap_or_default(),
        gate = esc(l.name(&name, &name_ar)),
        lane = esc(p.lane.as_str()),
        dir = Codes::Direction.html(l, p.direction.as_str()),
        plate = esc(p.plate.as_ref().map_or("–", |x| x.as_str())),
        by = esc(r.resolved_by.as_deref().unwrap_or("")),
        reason = esc(r.resolution.as_deref().unwrap_or("")),
    )
}

/// The page: whose decisions (links to switch), one page of them, the link to older ones.
pub fn decisions(
    l: Lang,
    who: &Principal,
    mine: bool,
    found: &Page<Referral>,
    gates: &[Gate],
) -> String {
    let whose = if mine { "" } else { "who=all" };
    let mut b = format!(
        r#"<p class="actions" id="decisions-whose"><a href="/operator/decisions" id="decisions-mine">{}</a> · <a href="/operator/decisions?who=all" id="decisions-all">{}</a> <span class="muted">{}</span></p>"#,
        l.t("decisions.mine"),
        l.t("decisions.all"),
        l.t("times.local"),
    );
    let _ = write!(
        b,
        r#"<section class="card" id="decisions"><h2>{}</h2>"#,
        l.t(if mine {
            "decisions.mine"
        } else {
            "decisions.all"
        })
    );
    if found.items.is_empty() {
        let _ = write!(b, r#"<p id="decisions-empty">{}</p>"#, l.t("none"));
    } else {
        let _ = write!(
            b,
            r#"<div class="table-wrap"><table id="decisions-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            l.t("time"),
            l.t("lane"),
            l.t("plate"),
            l.t("decision"),
            l.t("resolved.by"),
            l.t("reason"),
        );
        for r in &found.items {
            b.push_str(&row(l, r, gates));
        }
        b.push_str("</tbody></table></div>");
    }
    if let (true, Some(last)) = (found.more, found.items.last()) {
        let sep = if mine { "" } else { "&amp;" };
        let _ = write!(
            b,
            r#"<p><a id="decisions-older" href="/operator/decisions?{whose}{sep}after={}">{}</a></p>"#,
            last.passage.id,
            l.t("audit.older"),
        );
    }
    b.push_str("</section>");
    layout(l, l.t("decisions.title"), Some(who), whose, &b)
}
