//! The authority's audit page: who changed what, when, through which door; filters by zone,
//! actor, kind and time; newest first, a page at a time.

use std::fmt::Write;

use bawaba_app::{AuditItem, AuditPage};
use bawaba_domain::access::Principal;
use bawaba_domain::audit::{AuditKind, Door};
use bawaba_domain::calendar::local;

use super::{esc, layout};
use crate::i18n::Lang;

/// The filters as typed (shown again in the form).
#[derive(Debug, Clone, Default)]
pub struct AuditForm {
    pub zone: String,
    pub actor: String,
    pub kind: String,
    pub from: String,
    pub to: String,
}

impl AuditForm {
    /// The query string of these filters (without the page), for links.
    pub fn query(&self) -> String {
        let pairs = [
            ("zone", &self.zone),
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ];
        let given: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(given).unwrap_or_default()
    }
}

/// The words for a kind of change.
pub fn kind_text(l: Lang, k: AuditKind) -> &'static str {
    l.t(match k {
        AuditKind::ZoneSaved => "audit.kind.zone.saved",
        AuditKind::TemplateSet => "audit.kind.zone.template_set",
        AuditKind::RulesSet => "audit.kind.zone.rules_set",
        AuditKind::ClosureAdded => "audit.kind.closure.added",
        AuditKind::ClosureRemoved => "audit.kind.closure.removed",
        AuditKind::CompanyCapSet => "audit.kind.company_cap.set",
        AuditKind::GateSaved => "audit.kind.gate.saved",
        AuditKind::ReferralResolved => "audit.kind.referral.resolved",
        AuditKind::BookingCreated => "audit.kind.booking.created",
        AuditKind::BookingMoved => "audit.kind.booking.moved",
        AuditKind::BookingCancelled => "audit.kind.booking.cancelled",
        AuditKind::TokenIssued => "audit.kind.token.issued",
        AuditKind::TokenRevoked => "audit.kind.token.revoked",
        AuditKind::ClosureChanged => "audit.kind.closure.changed",
        AuditKind::AlertReceived => "audit.kind.alert.received",
        AuditKind::AlertDismissed => "audit.kind.alert.dismissed",
        AuditKind::WatchAdded => "audit.kind.watch.added",
        AuditKind::WatchRemoved => "audit.kind.watch.removed",
        AuditKind::OverrideAdded => "audit.kind.capacity.override_added",
        AuditKind::OverrideRemoved => "audit.kind.capacity.override_removed",
        AuditKind::NoShowTakenBack => "audit.kind.booking.no_show_taken_back",
        AuditKind::WebhookSet => "audit.kind.webhook.set",
        AuditKind::WebhookRemoved => "audit.kind.webhook.removed",
        AuditKind::TruckSaved => "audit.kind.fleet.truck_saved",
        AuditKind::AccountCreated => "audit.kind.account.created",
        AuditKind::AccountChanged => "audit.kind.account.changed",
        AuditKind::AccountLocked => "audit.kind.account.locked",
        AuditKind::TruckRemoved => "audit.kind.fleet.truck_removed",
    })
}

/// The words for a door.
pub fn door_text(l: Lang, d: Door) -> &'static str {
    l.t(match d {
        Door::Grpc => "audit.door.grpc",
        Door::Web => "audit.door.web",
        Door::Cli => "audit.door.cli",
        Door::System => "audit.door.system",
    })
}

fn filter_form(l: Lang, f: &AuditForm) -> String {
    let mut kinds = format!(r#"<option value="">{}</option>"#, l.t("audit.kind.any"));
    for k in AuditKind::ALL {
        let _ = write!(
            kinds,
            r#"<option value="{code}"{sel}>{text}</option>"#,
            code = k.as_str(),
            sel = if f.kind == k.as_str() {
                " selected"
            } else {
                ""
            },
            text = kind_text(l, k),
        );
    }
    format!(
        r#"<form method="get" action="/authority/audit" class="card filters" id="audit-filters">
<label>{zone} <input name="zone" value="{zv}" dir="ltr" size="10"></label>
<label>{actor} <input name="actor" value="{av}" dir="ltr" size="14"></label>
<label>{kind} <select name="kind">{kinds}</select></label>
<label>{from} <input type="datetime-local" name="from" value="{fv}"></label>
<label>{to} <input type="datetime-local" name="to" value="{tv}"></label>
<button type="submit">{show}</button> <span class="muted">{times}</span>
</form>"#,
        zone = l.t("zone"),
        zv = esc(&f.zone),
        actor = l.t("audit.actor"),
        av = esc(&f.actor),
        kind = l.t("audit.kind"),
        from = l.t("audit.from"),
        fv = esc(&f.from),
        to = l.t("audit.to"),
        tv = esc(&f.to),
        show = l.t("show"),
        times = l.t("times.local"),
    )
}

fn row(l: Lang, item: &AuditItem) -> String {
    let r = &item.record;
    let who = &r.who;
    let role = who.role.map(|x| x.as_str()).unwrap_or_default();
    let changes: String = r
        .changes
        .iter()
        .map(|c| {
            format!(
                r#"<li><code dir="ltr">{}</code>: <bdi>{}</bdi> → <bdi>{}</bdi></li>"#,
                esc(&c.field),
                esc(if c.before.is_empty() {
                    "–"
                } else {
                    &c.before
                }),
                esc(if c.after.is_empty() { "–" } else { &c.after }),
            )
        })
        .collect();
    let objects: Vec<String> = r
        .objects
        .iter()
        .map(|o| format!(r#"<bdi dir="ltr">{}</bdi>"#, esc(o)))
        .collect();
    format!(
        r#"<tr id="audit-{id}"><td><bdi dir="ltr">{at}</bdi></td><td>{kind} <span class="badge" dir="ltr">{code}</span></td><td><bdi>{name}</bdi> <span class="muted">{role}</span>{token}</td><td>{door}</td><td><bdi dir="ltr">{zone}</bdi></td><td>{objects}</td><td><ul class="changes">{changes}</ul></td></tr>"#,
        id = esc(&item.id),
        at = esc(&local(r.at)),
        kind = kind_text(l, r.kind),
        code = r.kind.as_str(),
        name = esc(&who.name),
        role = esc(role),
        token = who
            .token
            .as_ref()
            .map(|t| format!(r#" <bdi dir="ltr" class="muted">{}</bdi>"#, esc(t)))
            .unwrap_or_default(),
        door = door_text(l, who.door),
        zone = esc(&r.zone.as_ref().map(ToString::to_string).unwrap_or_default()),
        objects = objects.join(" "),
    )
}

/// The audit page: the filters, one page of records, and the link to older ones.
pub fn audit(l: Lang, who: &Principal, form: &AuditForm, page: &AuditPage) -> String {
    let mut b = filter_form(l, form);
    let _ = write!(
        b,
        r#"<section class="card" id="audit"><h2>{}</h2>"#,
        l.t("audit")
    );
    if page.items.is_empty() {
        let _ = write!(b, r#"<p id="audit-empty">{}</p>"#, l.t("none"));
    } else {
        let _ = write!(
            b,
            r#"<div class="table-wrap"><table id="audit-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            l.t("audit.at"),
            l.t("audit.kind"),
            l.t("audit.actor"),
            l.t("audit.door"),
            l.t("zone"),
            l.t("audit.objects"),
            l.t("audit.changes"),
        );
        for item in &page.items {
            b.push_str(&row(l, item));
        }
        b.push_str("</tbody></table></div>");
    }
    if let Some(next) = &page.next_page_token {
        let q = form.query();
        let sep = if q.is_empty() { "" } else { "&amp;" };
        let _ = write!(
            b,
            r#"<p><a id="audit-older" href="/authority/audit?{}{sep}{}">{}</a></p>"#,
            esc(&q),
            serde_urlencoded::to_string([("page", next)]).unwrap_or_default(),
            l.t("audit.older"),
        );
    }
    b.push_str("</section>");
    b.push_str(&export_form(l));
    layout(l, l.t("audit"), Some(who), &esc(&form.query()), &b)
}

/// The CSV exports: a range of days and a zone, and a button per file.
fn export_form(l: Lang) -> String {
    let files = [
        ("passages.csv", "export.passages"),
        ("bookings.csv", "export.bookings"),
        ("no-shows.csv", "export.no_shows"),
        ("audit.csv", "export.audit"),
    ];
    let buttons: String = files
        .iter()
        .map(|(file, key)| {
            format!(
                r#"<button type="submit" formaction="/authority/export/{file}" id="export-{id}">{}</button> "#,
                l.t(key),
                id = file.trim_end_matches(".csv"),
            )
        })
        .collect();
    format!(
        r#"<section class="card" id="export"><h2>{title}</h2><form method="get" class="filters" id="export-form">
<label>{from} <input type="date" name="from"></label>
<label>{to} <input type="date" name="to"></label>
<label>{zone} <input name="zone" dir="ltr" size="10"></label>
{buttons}<p class="muted">{note}</p>
</form></section>"#,
        title = l.t("export"),
        from = l.t("audit.from"),
        to = l.t("export.to"),
        zone = l.t("zone"),
        note = l.t("export.note"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_door_has_words_in_both_languages() {
        for l in [Lang::En, Lang::Ar] {
            for k in AuditKind::ALL {
                assert!(!kind_text(l, k).starts_with("audit."), "{k:?} in {l:?}");
            }
            for d in Door::ALL {
                assert!(!door_text(l, d).starts_with("audit."), "{d:?} in {l:?}");
            }
        }
    }

    #[test]
    fn filters_become_a_query_string() {
        let f = AuditForm {
            zone: "act".into(),
            actor: "ops lead&co".into(),
            ..AuditForm::default()
        };
        assert_eq!(f.query(), "zone=act&actor=ops+lead%26co");
        assert_eq!(AuditForm::default().query(), "");
    }
}
