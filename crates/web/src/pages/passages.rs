//! The authority's list of a day's passages (the live feed's full list): the filters, one
//! page newest first, and the link to older ones.

use std::fmt::Write;

use bawaba_domain::access::Principal;

use super::{esc, feed_columns, feed_row, layout};
use crate::agg::{Day, PassageRow};
use crate::codes::Codes;
use crate::i18n::Lang;

/// The filters as typed (shown again in the form, kept in the links).
#[derive(Debug, Clone, Default)]
pub struct PassagesForm {
    pub day: String,
    pub zone: String,
    pub verdict: String,
}

impl PassagesForm {
    /// The query string of these filters, for links.
    pub fn query(&self) -> String {
        let pairs = [
            ("day", &self.day),
            ("zone", &self.zone),
            ("verdict", &self.verdict),
        ];
        let given: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(given).unwrap_or_default()
    }
}

fn filters(l: Lang, f: &PassagesForm, day: &Day) -> String {
    let mut verdicts = format!(r#"<option value="">{}</option>"#, l.t("passages.any"));
    for v in ["ALLOW", "DENY", "REFER"] {
        let sel = if f.verdict == v { " selected" } else { "" };
        let _ = write!(
            verdicts,
            r#"<option value="{v}"{sel}>{}</option>"#,
            Codes::Verdict.word(l, v)
        );
    }
    format!(
        r#"<form method="get" action="/authority/passages" class="card filters" id="passages-filters">
<label>{day_l} <input type="date" name="day" value="{day}"></label>
<label>{zone_l} <input name="zone" value="{zone}" dir="ltr" size="10"></label>
<label>{verdict_l} <select name="verdict">{verdicts}</select></label>
<button type="submit">{show}</button> <span class="muted">{times}</span>
</form>"#,
        day_l = l.t("day"),
        day = day.date,
        zone_l = l.t("zone"),
        zone = esc(&f.zone),
        verdict_l = l.t("decision"),
        show = l.t("show"),
        times = l.t("times.local"),
    )
}

/// The page: the filters, `rows` (newest first), and when there are more, the link to the
/// page of those recorded before `next`.
pub fn passages(
    l: Lang,
    who: &Principal,
    (form, day): (&PassagesForm, &Day),
    rows: &[PassageRow],
    next: Option<&str>,
) -> String {
    let mut b = filters(l, form, day);
    let _ = write!(
        b,
        r#"<section class="card" id="passages"><h2>{} <bdi dir="ltr">{}</bdi></h2>"#,
        l.t("passages.title"),
        day.date
    );
    if rows.is_empty() {
        let _ = write!(b, r#"<p id="passages-empty">{}</p>"#, l.t("none"));
    } else {
        let _ = write!(
            b,
            r#"<div class="table-wrap"><table class="feed" id="passages-table">{}<tbody>"#,
            feed_columns(l),
        );
        for r in rows {
            b.push_str(&feed_row(l, r));
        }
        b.push_str("</tbody></table></div>");
    }
    if let Some(next) = next {
        let q = form.query();
        let sep = if q.is_empty() { "" } else { "&amp;" };
        let _ = write!(
            b,
            r#"<p><a id="passages-older" href="/authority/passages?{}{sep}{}">{}</a></p>"#,
            esc(&q),
            serde_urlencoded::to_string([("before", next)]).unwrap_or_default(),
            l.t("audit.older"),
        );
    }
    b.push_str("</section>");
    layout(l, l.t("passages.title"), Some(who), &esc(&form.query()), &b)
}
