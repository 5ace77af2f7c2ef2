//! The company's events on the portal: each event of its log with how its delivery went —
//! to the company's webhook and by SMS to the driver (the latest attempt, and how many) —
//! and, for a company admin, the webhook's address and the form setting it.

use std::collections::BTreeMap;
use std::fmt::Write;

use bawaba_app::WebhookView;
use bawaba_domain::access::Principal;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::notify::{Delivery, Outcome, Texted};

use super::{esc, layout};
use crate::agg::local_datetime;
use crate::codes::Codes;
use crate::i18n::Lang;

/// The attempts of one event on one channel: how many, and the latest.
#[derive(Debug, Clone, Copy)]
pub struct Attempts<'a> {
    pub count: u32,
    pub latest: &'a Outcome,
    /// Where an SMS went.
    pub to: Option<&'a str>,
}

/// The latest attempt of each event, by event number.
pub fn by_event<'a>(
    deliveries: impl Iterator<Item = (&'a Delivery, Option<&'a str>)>,
) -> BTreeMap<u64, Attempts<'a>> {
    let mut out: BTreeMap<u64, Attempts<'a>> = BTreeMap::new();
    for (d, to) in deliveries {
        let e = out.entry(d.seq).or_insert(Attempts {
            count: 0,
            latest: &d.outcome,
            to,
        });
        e.count = e.count.max(d.attempt);
        if d.attempt >= e.count {
            e.latest = &d.outcome;
            e.to = to;
        }
    }
    out
}

/// The texts' attempts as deliveries with the number they went to.
pub fn texts_by_event(texts: &[Texted]) -> BTreeMap<u64, Attempts<'_>> {
    by_event(texts.iter().map(|t| (&t.delivery, Some(t.to.as_str()))))
}

/// What the page shows.
pub struct EventsView<'a> {
    pub events: &'a [CompanyEvent],
    pub webhook: Option<&'a WebhookView>,
    pub hooks: &'a BTreeMap<u64, Attempts<'a>>,
    pub texts: &'a BTreeMap<u64, Attempts<'a>>,
    /// The number before which older events are listed (none: these are the oldest).
    pub older: Option<u64>,
    pub flash: &'a str,
}

pub fn events(l: Lang, who: &Principal, v: &EventsView<'_>) -> String {
    let mut b = v.flash.to_owned();
    if who.admin {
        b.push_str(&webhook_card(l, v.webhook));
    }
    b.push_str(&events_card(l, v));
    layout(l, l.t("events.title"), Some(who), "", &b)
}

fn webhook_card(l: Lang, hook: Option<&WebhookView>) -> String {
    let now = match hook {
        Some(h) => format!(
            r#"<p id="webhook-now"><bdi dir="ltr">{url}</bdi> · {through} <bdi dir="ltr">{cursor}/{head}</bdi></p>"#,
            url = esc(&h.url),
            through = l.t("events.delivered_through"),
            cursor = h.progress.cursor,
            head = h.head,
        ),
        None => format!(
            r#"<p class="muted" id="webhook-now">{}</p>"#,
            l.t("events.no_webhook")
        ),
    };
    format!(
        r#"<section class="card" id="webhook"><h2>{title}</h2>{now}<form method="post" action="/portal/webhook" class="stack" id="webhook-form"><label for="url">{url}</label><input id="url" name="url" type="url" dir="ltr" required maxlength="2000" placeholder="https://"><label for="secret">{secret}</label><input id="secret" name="secret" dir="ltr" maxlength="200" autocomplete="off"><button type="submit" id="webhook-save">{save}</button><p class="muted">{hint}</p></form></section>"#,
        title = l.t("events.webhook"),
        url = l.t("events.url"),
        secret = l.t("events.secret"),
        save = l.t("events.save"),
        hint = l.t("events.hint"),
    )
}

/// One channel's state of an event, in words.
fn status(l: Lang, a: Option<&Attempts<'_>>, absent: &'static str) -> String {
    let Some(a) = a else {
        return format!(r#"<span class="muted">{}</span>"#, l.t(absent));
    };
    let (word, class, detail) = match a.latest {
        Outcome::Delivered { status } => (l.t("events.delivered"), "ok", status.to_string()),
        Outcome::Failed { status, error } => (
            l.t("events.failed"),
            "warn",
            status.map_or_else(|| error.clone(), |s| s.to_string()),
        ),
        Outcome::GaveUp { status, error } => (
            l.t("events.gave_up"),
            "warn",
            status.map_or_else(|| error.clone(), |s| s.to_string()),
        ),
    };
    let to =
        a.to.map(|t| format!(r#" <bdi dir="ltr">{}</bdi>"#, esc(t)))
            .unwrap_or_default();
    format!(
        r#"<span class="badge {class}">{word}</span>{to} <span class="muted" title="{detail}">×{count}</span>"#,
        detail = esc(&detail),
        count = a.count,
    )
}

fn events_card(l: Lang, v: &EventsView<'_>) -> String {
    if v.events.is_empty() {
        return format!(
            r#"<section class="card" id="events"><p class="muted" id="no-events">{}</p></section>"#,
            l.t("events.none")
        );
    }
    let mut rows = String::new();
    for e in v.events.iter().rev() {
        let _ = write!(
            rows,
            r#"<tr id="event-{seq}"><td class="num">{seq}</td><td><bdi dir="ltr">{at}</bdi></td><td>{kind}</td><td><a href="/portal/bookings/{id}"><bdi dir="ltr">{id}</bdi></a></td><td>{hook}</td><td>{sms}</td></tr>"#,
            seq = e.seq,
            at = local_datetime(e.at),
            kind = Codes::Event.html(l, e.kind.as_str()),
            id = e.booking.id,
            hook = status(l, v.hooks.get(&e.seq), "events.not_sent"),
            sms = status(l, v.texts.get(&e.seq), "events.not_texted"),
        );
    }
    let older = v
        .older
        .map(|n| {
            format!(
                r#"<p><a href="/portal/events?before={n}" id="older">{}</a></p>"#,
                l.t("events.older")
            )
        })
        .unwrap_or_default();
    format!(
        r#"<section class="card" id="events"><div class="table-wrap"><table><thead><tr><th class="num">#</th><th>{at}</th><th>{kind}</th><th>{booking}</th><th>{hook}</th><th>{sms}</th></tr></thead><tbody>{rows}</tbody></table></div>{older}<p class="muted">{local}</p></section>"#,
        at = l.t("events.at"),
        kind = l.t("events.kind"),
        booking = l.t("portal.booking_id"),
        hook = l.t("events.webhook"),
        sms = l.t("events.sms"),
        local = l.t("times.local"),
    )
}
