//! The codes of the system (decisions, reasons, directions, booking states) as words in both
//! languages. A page shows the word, with the code in a tooltip for support; the live feed's
//! script gets the same words (`words_json`).

use crate::i18n::Lang;
use crate::pages::esc;

/// Which codes a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    Verdict,
    Reason,
    Direction,
    State,
    Role,
    Transaction,
    Event,
}

/// `(code, English, Arabic)`.
type Table = &'static [(&'static str, &'static str, &'static str)];

const VERDICTS: Table = &[
    ("ALLOW", "allowed", "سُمح"),
    ("DENY", "denied", "رُفض"),
    ("REFER", "referred", "أُحيل"),
];

const REASONS: Table = &[
    ("BOOKING_VALID", "booking valid", "حجز صالح"),
    ("EXIT_RECORDED", "exit recorded", "سُجّل الخروج"),
    ("NO_BOOKING", "no booking", "لا حجز"),
    ("WRONG_ZONE", "booked for another zone", "الحجز لمنطقة أخرى"),
    ("TOO_EARLY", "too early", "مبكر جداً"),
    ("TOO_LATE", "too late", "متأخر جداً"),
    ("CANCELLED", "booking cancelled", "الحجز ملغى"),
    ("NO_SHOW", "booking marked no-show", "الحجز مسجل عدم حضور"),
    ("ALREADY_INSIDE", "already inside", "في الداخل مسبقاً"),
    ("NOT_INSIDE", "not recorded inside", "غير مسجل في الداخل"),
    (
        "PLATE_TAG_MISMATCH",
        "plate and tag disagree",
        "اللوحة والوسم غير متطابقين",
    ),
    (
        "CONFUSABLE_PLATE",
        "plate matches only with look-alike characters",
        "اللوحة تطابق بأحرف متشابهة فقط",
    ),
    ("UNREAD_PLATE", "plate not read", "لم تُقرأ اللوحة"),
    ("LOW_CONFIDENCE", "camera unsure", "الكاميرا غير متأكدة"),
    (
        "OFFLINE_DOUBTFUL",
        "doubtful while offline",
        "حالة مشكوك فيها دون اتصال",
    ),
    ("ZONE_CLOSED", "zone closed", "المنطقة مغلقة"),
    (
        "WATCHLIST",
        "on the security watchlist",
        "على قائمة المراقبة الأمنية",
    ),
];

const DIRECTIONS: Table = &[("IN", "in", "دخول"), ("OUT", "out", "خروج")];

const ROLES: Table = &[
    ("company", "logistics company", "شركة نقل"),
    ("gate", "gate agent", "وكيل بوابة"),
    ("operator", "gate operator", "مشغّل البوابة"),
    ("authority", "port authority", "سلطة الميناء"),
    ("alerts", "early warning", "الإنذار المبكر"),
    ("security", "security services", "الأجهزة الأمنية"),
];

const STATES: Table = &[
    ("BOOKED", "booked", "محجوز"),
    ("ENTERED", "inside", "في الداخل"),
    ("EXITED", "left", "غادر"),
    ("CANCELLED", "cancelled", "ملغى"),
    ("NO_SHOW", "no-show", "لم يحضر"),
];

const TRANSACTIONS: Table = &[
    ("IMPORT_PICKUP", "import pickup", "استلام حاوية واردة"),
    ("EXPORT_DROPOFF", "export drop-off", "تسليم حاوية صادرة"),
    ("EMPTY_RETURN", "empty return", "إعادة حاوية فارغة"),
    ("EMPTY_PICKUP", "empty pickup", "استلام حاوية فارغة"),
    ("GENERAL_CARGO", "general cargo", "بضائع عامة"),
];

const EVENTS: Table = &[
    ("booking.created", "booked", "تم الحجز"),
    ("booking.moved", "moved", "نُقل"),
    ("booking.cancelled", "cancelled", "أُلغي"),
    ("booking.entered", "truck entered", "دخلت الشاحنة"),
    ("booking.exited", "truck left", "غادرت الشاحنة"),
    ("booking.no_show", "no-show", "لم تحضر"),
    (
        "booking.no_show_taken_back",
        "no-show taken back",
        "أُلغي تسجيل عدم الحضور",
    ),
    ("booking.changed", "changed", "تغيّر"),
    ("booking.hit_by_closure", "hit by a closure", "تأثر بإغلاق"),
    (
        "booking.rebooked",
        "rebooked by a closure",
        "أُعيد حجزه بسبب إغلاق",
    ),
    ("booking.reminder", "reminder", "تذكير"),
];

impl Codes {
    fn table(self) -> Table {
        match self {
            Codes::Verdict => VERDICTS,
            Codes::Reason => REASONS,
            Codes::Direction => DIRECTIONS,
            Codes::State => STATES,
            Codes::Role => ROLES,
            Codes::Transaction => TRANSACTIONS,
            Codes::Event => EVENTS,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Codes::Verdict => "verdict",
            Codes::Reason => "reason",
            Codes::Direction => "direction",
            Codes::State => "state",
            Codes::Role => "role",
            Codes::Transaction => "transaction",
            Codes::Event => "event",
        }
    }

    /// The word for `code` in `l` (the code itself when it has none).
    pub fn word(self, l: Lang, code: &str) -> &str {
        match self.table().iter().find(|(c, _, _)| *c == code) {
            Some((_, en, ar)) => match l {
                Lang::En => en,
                Lang::Ar => ar,
            },
            None => code,
        }
    }

    /// The word, with the code in a tooltip.
    pub fn html(self, l: Lang, code: &str) -> String {
        format!(
            r#"<span class="code" title="{}">{}</span>"#,
            esc(code),
            esc(self.word(l, code))
        )
    }

    /// Several codes as words, comma-separated.
    pub fn list(self, l: Lang, codes: &[&str]) -> String {
        let sep = match l {
            Lang::En => ", ",
            Lang::Ar => "، ",
        };
        codes
            .iter()
            .map(|c| self.html(l, c))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// Every table's words in `l`, as JSON for the page's script: `{"verdict": {"ALLOW": ...}}`.
pub fn words_json(l: Lang) -> String {
    let mut all = serde_json::Map::new();
    for codes in [
        Codes::Verdict,
        Codes::Reason,
        Codes::Direction,
        Codes::State,
    ] {
        let words: serde_json::Map<String, serde_json::Value> = codes
            .table()
            .iter()
            .map(|(c, ..)| ((*c).to_owned(), codes.word(l, c).into()))
            .collect();
        all.insert(codes.key().to_owned(), words.into());
    }
    // In a `<script type="application/json">` block: `<` never appears raw.
    serde_json::Value::Object(all)
        .to_string()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use bawaba_domain::ledger::{BookingState, Direction};
    use bawaba_domain::passage::{Reason, Verdict};

    use super::*;

    #[test]
    fn every_code_of_the_domain_has_a_word_in_both_languages() {
        let reasons = [
            Reason::BookingValid,
            Reason::ExitRecorded,
            Reason::NoBooking,
            Reason::WrongZone,
            Reason::TooEarly,
            Reason::TooLate,
            Reason::Cancelled,
            Reason::NoShow,
            Reason::AlreadyInside,
            Reason::NotInside,
            Reason::PlateTagMismatch,
            Reason::ConfusablePlate,
            Reason::UnreadPlate,
            Reason::LowConfidence,
            Reason::OfflineDoubtful,
            Reason::ZoneClosed,
            Reason::Watchlist,
        ];
        let mut codes: Vec<(Codes, &str)> = reasons
            .iter()
            .map(|r| (Codes::Reason, r.as_str()))
            .collect();
        for v in [Verdict::Allow, Verdict::Deny, Verdict::Refer] {
            codes.push((Codes::Verdict, v.as_str()));
        }
        for d in [Direction::In, Direction::Out] {
            codes.push((Codes::Direction, d.as_str()));
        }
        for s in [
            BookingState::Booked,
            BookingState::Entered,
            BookingState::Exited,
            BookingState::Cancelled,
            BookingState::NoShow,
        ] {
            codes.push((Codes::State, s.as_str()));
        }
        for r in bawaba_domain::access::Role::ALL {
            codes.push((Codes::Role, r.as_str()));
        }
        for t in bawaba_domain::calendar::TransactionType::ALL {
            codes.push((Codes::Transaction, t.as_str()));
        }
        use bawaba_domain::event::EventKind as E;
        let events = [
            E::Created,
            E::Moved,
            E::Cancelled,
            E::Entered,
            E::Exited,
            E::NoShow,
            E::NoShowTakenBack,
            E::Changed,
            E::HitByClosure,
            E::Rebooked,
            E::Reminder,
        ];
        for e in events {
            codes.push((Codes::Event, e.as_str()));
        }
        assert_eq!(
            EVENTS.len(),
            events.len(),
            "a word for an event kind that no longer is"
        );
        for (t, c) in codes {
            for l in [Lang::En, Lang::Ar] {
                assert_ne!(t.word(l, c), c, "{t:?} {c} has no {l:?} word");
            }
            assert!(
                t.word(Lang::Ar, c)
                    .chars()
                    .any(|ch| ('\u{600}'..'\u{700}').contains(&ch))
            );
        }
        assert_eq!(
            REASONS.len(),
            reasons.len(),
            "a word for a reason that no longer is"
        );
    }

    #[test]
    fn the_word_carries_its_code_and_the_json_is_safe() {
        let html = Codes::Reason.html(Lang::Ar, "LOW_CONFIDENCE");
        assert_eq!(
            html,
            r#"<span class="code" title="LOW_CONFIDENCE">الكاميرا غير متأكدة</span>"#
        );
        assert_eq!(
            Codes::Reason.word(Lang::En, "SOMETHING_NEW"),
            "SOMETHING_NEW"
        );
        let json: serde_json::Value = serde_json::from_str(&words_json(Lang::En)).unwrap();
        assert_eq!(json["verdict"]["REFER"], "referred");
        assert!(!words_json(Lang::Ar).contains('<'));
    }
}
