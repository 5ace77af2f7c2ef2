//! The security desk: the watchlist in force (each entry with the zones that hold it, and a
//! button taking it off) and the form putting a plate or tag on it. For the security services
//! and the authority.

use std::fmt::Write;

use bawaba_app::WatchListing;
use bawaba_domain::access::Principal;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::watch::WatchTarget;

use super::{esc, layout};
use crate::agg::local_datetime;
use crate::codes::Codes;
use crate::i18n::Lang;

/// The add form's fields as typed (shown again after a refusal).
#[derive(Debug, Clone, Default)]
pub struct WatchForm {
    pub zone: String,
    pub plate: String,
    pub tag: String,
    pub reason: String,
    pub action: String,
    pub until: String,
}

/// The page: what was done (or the error), the form, the entries in force.
pub fn watchlist(
    l: Lang,
    who: &Principal,
    zones: &[ZoneConfig],
    entries: &[WatchListing],
    (f, notice, error): (&WatchForm, Option<&str>, Option<&str>),
) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="flash error" id="error">{}</p>"#, esc(e));
    }
    if let Some(n) = notice {
        let _ = write!(b, r#"<p class="flash" id="done">{}</p>"#, esc(n));
    }
    b.push_str(&add_form(l, zones, f));
    b.push_str(&entries_card(l, zones, entries));
    layout(l, l.t("watch.title"), Some(who), "", &b)
}

fn add_form(l: Lang, zones: &[ZoneConfig], f: &WatchForm) -> String {
    let every = format!(r#"<option value="">{}</option>"#, l.t("watch.every_zone"));
    let options = every + &super::zone_options(l, zones, &f.zone);
    let deny = if f.action.eq_ignore_ascii_case("deny") {
        " selected"
    } else {
        ""
    };
    format!(
        r#"<section class="card"><h2>{title}</h2><form method="post" action="/security/watch" class="closeform" id="watch-form"><label for="zone">{zone}</label> <select id="zone" name="zone">{options}</select> <label for="plate">{plate}</label> <input id="plate" name="plate" dir="ltr" value="{pv}" maxlength="20"> <label for="tag">{tag}</label> <input id="tag" name="tag" dir="ltr" value="{tv}" maxlength="64"> <label for="action">{action}</label> <select id="action" name="action"><option value="refer">{refer}</option><option value="deny"{deny}>{deny_word}</option></select> <label for="reason">{reason}</label> <input id="reason" name="reason" value="{rv}" maxlength="500" required> <label for="until">{until}</label> <input type="datetime-local" id="until" name="until" value="{uv}"> <button type="submit" class="reject" id="watch-add">{add}</button> <span class="muted">{hint}</span></form></section>"#,
        title = l.t("watch.add"),
        zone = l.t("zone"),
        plate = l.t("plate"),
        tag = l.t("tag"),
        action = l.t("watch.action"),
        refer = l.t("watch.refer"),
        deny_word = l.t("watch.deny"),
        reason = l.t("closure.reason"),
        until = l.t("watch.until"),
        add = l.t("watch.add"),
        hint = l.t("watch.hint"),
        pv = esc(&f.plate),
        tv = esc(&f.tag),
        rv = esc(&f.reason),
        uv = esc(&f.until),
    )
}

fn entries_card(l: Lang, zones: &[ZoneConfig], entries: &[WatchListing]) -> String {
    let name = |id: &bawaba_domain::ids::ZoneId| -> String {
        zones
            .iter()
            .find(|z| z.id == *id)
            .map_or(id.as_str(), |z| l.name(&z.name, &z.name_ar))
            .to_owned()
    };
    let mut rows = String::new();
    for w in entries {
        let e = &w.entry;
        let (kind, value) = match &e.target {
            WatchTarget::Plate(p) => (l.t("plate"), p.as_str().to_owned()),
            WatchTarget::Tag(t) => (l.t("tag"), t.to_string()),
        };
        let until = e
            .until
            .map_or_else(|| l.t("watch.no_expiry").to_owned(), local_datetime);
        let held: Vec<String> = w.zones.iter().map(|z| esc(&name(z)).into_owned()).collect();
        let field = if matches!(e.target, WatchTarget::Plate(_)) {
            "plate"
        } else {
            "tag"
        };
        let _ = write!(
            rows,
            r#"<tr><td>{kind} <bdi dir="ltr">{v}</bdi></td><td>{action}</td><td>{reason}</td><td><bdi dir="ltr">{until}</bdi></td><td><bdi dir="ltr">{added}</bdi></td><td>{held}</td><td><form method="post" action="/security/watch/remove" class="inline"><input type="hidden" name="{field}" value="{v}"><button type="submit" class="approve" id="unwatch-{v}">{remove}</button></form></td></tr>"#,
            v = esc(&value),
            action = Codes::Verdict.html(l, e.action.as_str()),
            reason = esc(&e.reason),
            until = esc(&until),
            added = esc(&local_datetime(e.added)),
            held = held.join("، "),
            remove = l.t("watch.remove"),
        );
    }
    if rows.is_empty() {
        return format!(
            r#"<section class="card" id="watchlist"><h2>{}</h2><p class="muted" id="watch-empty">{}</p></section>"#,
            l.t("watch.in_force"),
            l.t("watch.empty")
        );
    }
    format!(
        r#"<section class="card" id="watchlist"><h2>{title}</h2><div class="scroll"><table><thead><tr><th>{target}</th><th>{action}</th><th>{reason}</th><th>{until}</th><th>{added}</th><th>{zones}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        title = l.t("watch.in_force"),
        target = l.t("watch.target"),
        action = l.t("watch.action"),
        reason = l.t("closure.reason"),
        until = l.t("watch.until"),
        added = l.t("watch.added"),
        zones = l.t("watch.zones"),
    )
}
