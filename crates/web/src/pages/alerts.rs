//! The authority's pending alerts: closures a CAP alert called for in a zone that wants them
//! confirmed, each with the bookings it would hit, and buttons to confirm or dismiss it.

use std::fmt::Write;

use bawaba_app::PendingAlert;
use bawaba_domain::calendar::local;

use super::esc;
use crate::i18n::Lang;

/// The top of the authority page: the outcome of the last change (an i18n key) or its
/// error, and the pending alerts (nothing when nothing waits).
pub fn notices(
    l: Lang,
    pending: &[PendingAlert],
    outcome: Option<&'static str>,
    error: Option<&str>,
) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="flash error" id="error">{}</p>"#, esc(e));
    }
    if let Some(o) = outcome {
        let _ = write!(b, r#"<p class="flash" id="outcome">{}</p>"#, esc(l.t(o)));
    }
    if pending.is_empty() {
        return b;
    }
    let _ = write!(
        b,
        r#"<section class="card" id="pending-alerts"><h2>{}</h2><p class="muted">{}</p><ul class="alerts">"#,
        l.t("alerts.pending"),
        l.t("alerts.pending.help"),
    );
    for a in pending {
        let _ = write!(
            b,
            r#"<li class="pending-alert"><p><strong><bdi>{zone}</bdi></strong>: <bdi dir="ltr">{from}</bdi> – <bdi dir="ltr">{to}</bdi> · {hit_label} {hit}</p><p>{reason}</p><p class="muted">{source} <bdi dir="ltr">{key}</bdi> · {received_label} <bdi dir="ltr">{received}</bdi></p>"#,
            zone = esc(a.zone.as_str()),
            from = local(a.close.from),
            to = local(a.close.to),
            hit_label = l.t("alerts.hit"),
            hit = a.hit,
            reason = esc(&a.close.reason),
            source = l.t("alerts.source"),
            key = esc(&a.key),
            received_label = l.t("alerts.received"),
            received = local(a.received),
        );
        for (decision, label) in [("confirm", "alerts.confirm"), ("dismiss", "alerts.dismiss")] {
            let _ = write!(
                b,
                r#"<form method="post" action="/authority/alerts" class="inline"><input type="hidden" name="zone" value="{}"><input type="hidden" name="key" value="{}"><button type="submit" name="decision" value="{decision}" class="{decision}">{}</button></form>"#,
                esc(a.zone.as_str()),
                esc(&a.key),
                l.t(label),
            );
        }
        b.push_str("</li>");
    }
    b.push_str("</ul></section>");
    b
}
