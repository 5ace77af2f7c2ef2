//! The error catalogue: what a refusal or a failure says on a page, in the page's language.
//!
//! In English, the message itself (it names the field, the object, the rule). In Arabic, a
//! sentence of its own: the refusals of a booking with their local times; a malformed value
//! with the field named in Arabic; something not found with what it is in Arabic; the other
//! kinds by kind. The English message follows, isolated, for support (codes and field names
//! never reorder the Arabic line).

use bawaba_app::Error as A;
use bawaba_domain::Error as D;
use chrono::{DateTime, Utc};

use crate::agg::local_datetime;
use crate::i18n::Lang;

/// Fields in Arabic (the code as the domain names it, its name on the forms).
const FIELDS: &[(&str, &str)] = &[
    ("plate", "رقم اللوحة"),
    ("truck_plate", "رقم اللوحة"),
    ("truck.truck_plate", "رقم اللوحة"),
    ("zone", "المنطقة"),
    ("zone.name", "اسم المنطقة"),
    ("window", "الفترة"),
    ("stop", "المحطة"),
    ("stops", "المحطات"),
    ("day", "اليوم"),
    ("days", "الأيام"),
    ("from", "من"),
    ("to", "إلى"),
    ("until", "حتى"),
    ("hour", "الساعة"),
    ("reason", "السبب"),
    ("login", "اسم الدخول"),
    ("password", "كلمة المرور"),
    ("name", "الاسم"),
    ("phone", "رقم الهاتف"),
    ("driver_phone", "رقم الهاتف"),
    ("truck.driver_phone", "رقم الهاتف"),
    ("truck.driver_name", "اسم السائق"),
    ("tag", "وسم RFID"),
    ("epc", "وسم RFID"),
    ("rfid_epc", "وسم RFID"),
    ("truck.rfid_epc", "وسم RFID"),
    ("containers", "الحاويات"),
    ("type", "نوع العملية"),
    ("transaction_type", "نوع العملية"),
    ("key", "مفتاح الطلب"),
    ("capacity", "السعة"),
    ("percent", "حصة الشركة"),
    ("company_caps", "حصص الشركات"),
    ("rules.company_cap_percent", "حصة الشركة"),
    ("company", "الشركة"),
    ("company_id", "الشركة"),
    ("booking_id", "رقم الحجز"),
    ("id", "المعرّف"),
    ("verdict", "القرار"),
    ("state", "الحالة"),
    ("url", "عنوان الإشعارات"),
    ("gate_id", "البوابة"),
    ("gate.name", "اسم البوابة"),
    ("action", "الإجراء"),
    ("before", "الصفحة"),
    ("after", "الصفحة"),
    ("since", "الصفحة"),
    ("page", "الصفحة"),
    ("page_token", "الصفحة"),
    ("page_size", "حجم الصفحة"),
    ("limit", "العدد"),
    ("q", "البحث"),
];

/// What the domain finds or not, in Arabic.
const THINGS: &[(&str, &str)] = &[
    ("booking", "الحجز"),
    ("referral", "الإحالة"),
    ("decision", "القرار"),
    ("zone", "المنطقة"),
    ("gate", "البوابة"),
    ("lane", "المسار"),
    ("company", "الشركة"),
    ("account", "الحساب"),
    ("truck", "الشاحنة"),
    ("webhook", "عنوان الإشعارات"),
    ("watch entry", "بند المراقبة"),
    ("closure", "الإغلاق"),
    ("override", "السعة الاستثنائية"),
    ("export", "ملف التصدير"),
];

fn arabic(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, ar)| *ar)
}

/// Left-to-right isolated (digits, codes and English inside an Arabic line).
fn ltr(s: impl std::fmt::Display) -> String {
    format!("\u{2066}{s}\u{2069}")
}

/// First-strong isolated (text of either direction).
fn isolated(s: impl std::fmt::Display) -> String {
    format!("\u{2068}{s}\u{2069}")
}

/// A refusal or failure as the page says it (see the module).
pub fn say(l: Lang, e: &crate::Error) -> String {
    if l == Lang::En {
        return e.to_string();
    }
    let lead = match e {
        crate::Error::App(A::Refused(d)) => return domain(l, d, e),
        crate::Error::Invalid { field, .. } => invalid(l, field),
        crate::Error::App(A::Unauthenticated(_) | A::Throttled(_)) => {
            l.t("refused.forbidden").to_owned()
        }
        crate::Error::App(A::Store(_)) | crate::Error::Io(_) => l.t("refused.failed").to_owned(),
    };
    format!("{lead} ({})", isolated(e))
}

/// A domain refusal in Arabic: the booking's own sentences, else its kind.
fn domain(l: Lang, d: &D, e: &crate::Error) -> String {
    let at = |t: DateTime<Utc>| ltr(local_datetime(t));
    let lead = match d {
        D::WindowFull { window_start, .. } => {
            return format!("{} ({})", l.t("refused.full"), at(*window_start));
        }
        D::CompanyCap {
            window_start,
            held,
            cap,
            ..
        } => {
            return format!(
                "{} ({}: {held}/{cap})",
                l.t("refused.cap"),
                at(*window_start)
            );
        }
        D::ZoneClosed(c) => {
            let reason = isolated(&c.reason);
            let (from, until) = (at(c.window_start), at(c.until));
            return format!("{} ({from} – {until}: {reason})", l.t("refused.closed"));
        }
        D::Invalid { field, .. } => invalid(l, field),
        D::NotFound { what, id } => match arabic(THINGS, what) {
            Some(thing) => format!("{}: {thing} {}", l.t("refused.not_found"), ltr(id)),
            None => l.t("refused.not_found").to_owned(),
        },
        D::Precondition(_) | D::IdempotencyConflict { .. } => l.t("refused.rule").to_owned(),
        D::Forbidden(_) => l.t("refused.forbidden").to_owned(),
    };
    format!("{lead} ({})", isolated(e))
}

/// "Check what you typed", naming the field in Arabic when the catalogue has it.
fn invalid(l: Lang, field: &str) -> String {
    match arabic(FIELDS, field) {
        Some(name) => format!("{}: {name}", l.t("refused.invalid")),
        None => format!("{}: {}", l.t("refused.invalid"), ltr(field)),
    }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::ids::ZoneId;
    use chrono::TimeZone;

    use super::*;

    fn refused(d: D) -> crate::Error {
        crate::Error::App(A::Refused(d))
    }

    #[test]
    fn an_arabic_refusal_of_a_full_window_is_arabic_with_the_local_time() {
        let e = refused(D::WindowFull {
            zone: ZoneId::parse("siz").unwrap(),
            window_start: Utc.with_ymd_and_hms(2026, 12, 8, 7, 0, 0).unwrap(),
            transaction_type: None,
            alternatives: Vec::new(),
        });
        let text = say(Lang::Ar, &e);
        assert!(text.contains("2026-12-08 10:00"), "{text}");
        assert!(!text.chars().any(|c| c.is_ascii_alphabetic()), "{text}");
        assert!(say(Lang::En, &e).contains("is full"));
    }

    /// A malformed value names its field in Arabic, then the English detail isolated; a
    /// field the catalogue lacks is named by its code, isolated.
    #[test]
    fn a_malformed_value_names_its_field_in_arabic() {
        let e = refused(D::invalid("truck_plate", "is empty"));
        let text = say(Lang::Ar, &e);
        assert!(
            text.starts_with("يرجى التحقق مما كتبته: رقم اللوحة ("),
            "{text}"
        );
        assert!(
            text.contains("\u{2068}truck_plate: is empty\u{2069}"),
            "{text}"
        );
        let web = crate::Error::invalid("verdict", "\"MAYBE\"");
        assert!(say(Lang::Ar, &web).contains(": القرار ("));
        let odd = refused(D::invalid("frobnicate", "no"));
        assert!(say(Lang::Ar, &odd).contains("\u{2066}frobnicate\u{2069}"));
    }

    /// Something not found says what, in Arabic, with its id isolated.
    #[test]
    fn what_was_not_found_is_named_in_arabic() {
        let e = refused(D::NotFound {
            what: "booking",
            id: "01ABC".into(),
        });
        let text = say(Lang::Ar, &e);
        assert!(
            text.starts_with("غير موجود: الحجز \u{2066}01ABC\u{2069}"),
            "{text}"
        );
    }

    /// Every field the catalogue names and every thing has an Arabic name, once.
    #[test]
    fn the_catalogue_is_arabic_and_has_no_repeats() {
        for table in [FIELDS, THINGS] {
            let mut codes: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
            codes.sort_unstable();
            let n = codes.len();
            codes.dedup();
            assert_eq!(codes.len(), n, "a code twice");
            for (code, ar) in table {
                assert!(
                    ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                    "{code}: {ar}"
                );
            }
        }
    }
}
