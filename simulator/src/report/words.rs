//! The words of the HTML report in English and Arabic: one table of `(key, English, Arabic)`
//! in the style of the dashboard's (`bawaba_web`'s `i18n`), with its wording where the same
//! concept appears; the Arabic names of the proofs and of the trucks' behaviours; the
//! decisions and reasons in the dashboard's own words (`bawaba_web::Codes`). Numbers keep
//! Latin digits (0-9) and latencies keep `ms`/`µs`, as on the dashboard.

use std::fmt::{Display, Write as _};

use bawaba_web::Codes;

use crate::proofs::ProofName;

/// The language of `report.html`: the dashboard's (`en`, or `ar` right to left), whose
/// words this catalogue's are for the report.
pub use bawaba_web::Lang;

/// The report's words in a language (a trait: [`Lang`] is the dashboard's, whose own `t`
/// reads the dashboard's catalogue).
pub trait Words: Copy {
    /// The text of `key` (the key itself if it has none, which a test forbids for every key
    /// the report uses).
    fn word(self, key: &'static str) -> &'static str;
    /// The text of `key` with each `{name}` replaced by its value, in one pass (a value is
    /// never read as a placeholder).
    fn fill(self, key: &'static str, args: &[(&str, &dyn Display)]) -> String;
    /// What separates the items of a list.
    fn comma(self) -> &'static str;
    /// The name of the proof recorded as `name`, in Arabic; `None` in English, or for a name
    /// the catalogue does not know (an older `report.json`), shown as recorded.
    fn proof(self, name: &str) -> Option<&'static str>;
    /// A truck's behaviour (`on-time`...) in Arabic; `None` in English or when unknown.
    fn behaviour(self, code: &str) -> Option<&'static str>;
    /// A decision or reason code in the dashboard's Arabic word (the report's own
    /// `NOTHING_READ` in this catalogue's); `None` in English (the page shows the code, as
    /// `report.json` and the terminal do) or for a code without a word.
    fn code_word(self, kind: Codes, code: &str) -> Option<&str>;
}

impl Words for Lang {
    fn word(self, key: &'static str) -> &'static str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, ar)) => match self {
                Lang::En => en,
                Lang::Ar => ar,
            },
            None => key,
        }
    }

    fn fill(self, key: &'static str, args: &[(&str, &dyn Display)]) -> String {
        let mut out = String::new();
        let mut rest = self.word(key);
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            let arg = rest.find('}').and_then(|j| {
                let name = &rest[1..j];
                args.iter().find(|(n, _)| *n == name).map(|(_, v)| (j, v))
            });
            match arg {
                Some((j, v)) => {
                    let _ = write!(out, "{v}");
                    rest = &rest[j + 1..];
                }
                None => {
                    out.push('{');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn comma(self) -> &'static str {
        match self {
            Lang::En => ", ",
            Lang::Ar => "، ",
        }
    }

    fn proof(self, name: &str) -> Option<&'static str> {
        let proof = ProofName::ALL.iter().find(|p| p.name() == name)?;
        arabic(self, PROOFS.iter().find(|(p, _)| p == proof)?.1)
    }

    fn behaviour(self, code: &str) -> Option<&'static str> {
        arabic(self, BEHAVIOURS.iter().find(|(c, _)| *c == code)?.1)
    }

    fn code_word(self, kind: Codes, code: &str) -> Option<&str> {
        if self == Lang::En {
            return None;
        }
        if code == super::NOTHING_READ {
            return Some(self.word("verdict.nothing_read"));
        }
        Some(kind.word(bawaba_web::Lang::Ar, code)).filter(|w| *w != code)
    }
}

fn arabic(l: Lang, ar: &'static str) -> Option<&'static str> {
    (l == Lang::Ar).then_some(ar)
}

/// The proofs' Arabic names (their English names are [`ProofName::name`]).
const PROOFS: &[(ProofName, &str)] = &[
    (ProofName::Capacity, "لا فترة تجاوزت سعتها"),
    (ProofName::CompanyCaps, "لا شركة تجاوزت حصتها"),
    (
        ProofName::ExactlyOnce,
        "كل عبور قررته البوابات وصل إلى المجدول مرة واحدة بالضبط",
    ),
    (ProofName::Security, "لم تدخل أي شاحنة دون حجز صالح"),
    (ProofName::ClosedZones, "لم تدخل أي شاحنة إلى منطقة مغلقة"),
    (
        ProofName::Liveness,
        "دخلت كل شاحنة لها حجز صالح وصلت في موعدها وقُرئت قراءة صحيحة",
    ),
    (
        ProofName::Inside,
        "كل شاحنة دخلت إما خرجت أو مسجلة في الداخل",
    ),
    (ProofName::Watchlist, "كل شاحنة تحت المراقبة أُحيلت أو رُفضت"),
];

/// The trucks' behaviours (`world::Behaviour::as_str`) in Arabic.
const BEHAVIOURS: &[(&str, &str)] = &[
    ("on-time", "في الموعد"),
    ("early", "مبكرة"),
    ("late-in-grace", "متأخرة ضمن المهلة"),
    ("late-beyond-grace", "متأخرة بعد المهلة"),
    ("no-show", "لم تحضر"),
    ("walk-in", "دون حجز"),
    ("cloned-tag", "وسم منسوخ"),
];

/// The weekdays' keys, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "wd.mon", "wd.tue", "wd.wed", "wd.thu", "wd.fri", "wd.sat", "wd.sun",
];

/// `(key, English, Arabic)`; `{name}` is a value filled in by [`Lang::fill`].
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("title", "Bawaba simulation report", "تقرير محاكاة بوابة"),
    (
        "meta",
        "Seed {seed} · {mode} · simulated {start} → {end} Asia/Amman ({hours} h) · {wall} s of real time",
        "البذرة {seed} · {mode} · الفترة المحاكاة {start} ← {end} بتوقيت عمّان ({hours} س) · {wall} ث من الوقت الفعلي",
    ),
    ("mode.appointments", "with appointments", "مع المواعيد"),
    (
        "mode.baseline",
        "no appointments (baseline)",
        "بلا مواعيد (خط الأساس)",
    ),
    ("unit.s", "s", "ث"),
    ("unit.min", "min", "د"),
    ("unit.h", "h", "س"),
    ("wd.mon", "Mon", "الاثنين"),
    ("wd.tue", "Tue", "الثلاثاء"),
    ("wd.wed", "Wed", "الأربعاء"),
    ("wd.thu", "Thu", "الخميس"),
    ("wd.fri", "Fri", "الجمعة"),
    ("wd.sat", "Sat", "السبت"),
    ("wd.sun", "Sun", "الأحد"),
    ("none", "none", "لا شيء"),
    ("yes", "yes", "نعم"),
    // The headline cards.
    ("card.less", "{pct} less", "أقل بـ {pct}"),
    (
        "card.mean_waiting",
        "mean waiting vs {baseline} ({run} vs {base})",
        "متوسط الانتظار مقابل {baseline} ({run} مقابل {base})",
    ),
    (
        "card.p90_reduction",
        "p90 waiting reduction ({run} vs {base})",
        "خفض الانتظار عند المئين 90 ({run} مقابل {base})",
    ),
    ("card.proofs_passed", "proofs passed", "إثباتات نجحت"),
    (
        "card.proofs_failed",
        "proofs: SOME FAILED",
        "الإثباتات: فشل بعضها",
    ),
    (
        "card.waiting",
        "p90 queue waiting (p50 {p50})",
        "الانتظار في الطابور عند المئين 90 (الوسيط {p50})",
    ),
    (
        "card.turn",
        "p50 turn time (p90 {p90})",
        "وسيط زمن الدورة (عند المئين 90: {p90})",
    ),
    (
        "card.entries",
        "entries, {pct} of capacity {capacity}",
        "دخول، {pct} من السعة {capacity}",
    ),
    (
        "card.latency",
        "p99 gate decision latency (p50 {p50})",
        "زمن قرار البوابة عند المئين 99 (الوسيط {p50})",
    ),
    // The comparison with the baseline.
    (
        "cmp.title",
        "Against the baseline: {baseline} (seed {seed}, {demand})",
        "مقارنة بخط الأساس: {baseline} (البذرة {seed}، {demand})",
    ),
    ("cmp.same", "same demand", "الطلب نفسه"),
    ("cmp.different", "DIFFERENT SEED", "بذرة مختلفة"),
    ("cmp.port", "whole port", "الميناء كله"),
    ("cmp.run", "this run", "هذا التشغيل"),
    ("cmp.baseline", "baseline", "خط الأساس"),
    ("cmp.reduction", "reduction", "الخفض"),
    ("cmp.arrivals", "arrivals", "الوصول"),
    ("cmp.peak", "peak-hour arrivals", "الوصول في ساعة الذروة"),
    (
        "cmp.peak_cell",
        "{count} vs capacity {capacity} ({pct}) at {at}",
        "{count} مقابل سعة {capacity} ({pct}) عند {at}",
    ),
    ("cmp.waiting_mean", "waiting mean", "متوسط الانتظار"),
    ("cmp.waiting_p90", "waiting p90", "الانتظار عند المئين 90"),
    ("cmp.turn_mean", "turn time mean", "متوسط زمن الدورة"),
    ("cmp.turn_p90", "turn time p90", "زمن الدورة عند المئين 90"),
    // The charts.
    ("charts", "Charts", "الرسوم البيانية"),
    ("chart.no_data", "{title}: no data", "{title}: لا بيانات"),
    ("chart.hour", "hour (Asia/Amman)", "الساعة (بتوقيت عمّان)"),
    ("chart.trucks", "trucks", "شاحنات"),
    (
        "chart.arrivals",
        "Arrivals at the IN lanes per hour",
        "الوصول إلى مسارات الدخول بالساعة",
    ),
    (
        "chart.arrivals_run",
        "arrivals this run",
        "الوصول، هذا التشغيل",
    ),
    (
        "chart.arrivals_baseline",
        "arrivals baseline",
        "الوصول، خط الأساس",
    ),
    ("chart.capacity", "capacity", "السعة"),
    (
        "chart.waiting",
        "Queue waiting time per arrival hour",
        "زمن الانتظار في الطابور حسب ساعة الوصول",
    ),
    ("chart.minutes", "minutes", "دقائق"),
    ("chart.p90_run", "p90 this run", "المئين 90، هذا التشغيل"),
    ("chart.p50_run", "p50 this run", "الوسيط، هذا التشغيل"),
    ("chart.p90_baseline", "p90 baseline", "المئين 90، خط الأساس"),
    ("chart.p50_baseline", "p50 baseline", "الوسيط، خط الأساس"),
    (
        "chart.throughput",
        "Throughput per hour — {zone}",
        "الإنتاجية بالساعة — {zone}",
    ),
    ("chart.entered", "trucks entered", "شاحنات دخلت"),
    ("chart.entries", "entries", "دخول"),
    ("chart.booked", "booked", "محجوز"),
    ("chart.reasons", "Passages by reason", "العبور حسب السبب"),
    ("chart.passages", "passages", "العبور"),
    (
        "chart.latency",
        "Gate decision latency (read on the line → barrier command)",
        "زمن قرار البوابة (من القراءة على الخط إلى أمر الحاجز)",
    ),
    ("chart.decisions", "decisions", "القرارات"),
    ("bucket.all", "all", "الكل"),
    // Table columns.
    ("col.zone", "zone", "المنطقة"),
    ("col.booked", "booked", "محجوز"),
    ("col.refused", "refused", "مرفوض"),
    ("col.rebooked", "rebooked", "أُعيد حجزه"),
    ("col.moved", "moved", "نُقل"),
    ("col.cancelled", "cancelled", "أُلغي"),
    ("col.arrivals", "arrivals", "الوصول"),
    ("col.entries", "entries", "دخول"),
    ("col.exits", "exits", "خروج"),
    ("col.capacity", "capacity", "السعة"),
    ("col.use", "use", "الاستخدام"),
    ("col.peak", "peak entries/h", "ذروة الدخول بالساعة"),
    ("col.wait_p50", "wait p50", "وسيط الانتظار"),
    ("col.wait_p90", "wait p90", "الانتظار عند المئين 90"),
    ("col.turn_p50", "turn p50", "وسيط الدورة"),
    ("col.latency_p50", "latency p50", "وسيط زمن القرار"),
    ("col.p90", "p90", "المئين 90"),
    ("col.p99", "p99", "المئين 99"),
    ("col.mean", "mean", "المتوسط"),
    ("col.max", "max", "الأقصى"),
    ("col.inside", "inside at end", "في الداخل عند النهاية"),
    ("col.gate", "gate", "البوابة"),
    ("col.lanes", "lanes in/out", "المسارات دخول/خروج"),
    ("col.offline", "offline", "دون اتصال"),
    ("col.decision", "decision", "القرار"),
    ("col.reason", "reason", "السبب"),
    ("col.passages", "passages", "العبور"),
    ("col.share", "share", "النسبة"),
    ("col.hour", "hour (Asia/Amman)", "الساعة (بتوقيت عمّان)"),
    ("col.company", "company", "الشركة"),
    ("col.swept", "swept", "سجّلها المجدول"),
    ("col.ground_truth", "ground truth", "حقيقة المحاكاة"),
    ("col.trucks", "trucks of the day", "شاحنات اليوم"),
    ("col.fleet", "fleet", "الأسطول"),
    ("col.at", "at (Asia/Amman)", "الوقت (بتوقيت عمّان)"),
    ("col.gate_lane", "gate/lane", "البوابة/المسار"),
    ("col.plate", "plate", "اللوحة"),
    ("col.truck", "truck", "الشاحنة"),
    ("col.reasons", "reasons", "الأسباب"),
    ("col.proof", "proof", "الإثبات"),
    ("col.result", "result", "النتيجة"),
    ("col.detail", "detail", "التفاصيل"),
    ("col.event", "event", "الحدث"),
    // Zones and gates.
    ("zones", "Zones", "المناطق"),
    ("port", "port", "الميناء"),
    (
        "peak.of_capacity",
        "{count}/{capacity} at {at}",
        "{count}/{capacity} عند {at}",
    ),
    ("peak.at", "{count} at {at}", "{count} عند {at}"),
    (
        "zones.unmatched",
        "Exits without an entry before them: {exits}. Lane services that arrived outside the simulated span: {outside}.",
        "خروج دون دخول قبله: {exits}. خدمات مسارات وصلت خارج الفترة المحاكاة: {outside}.",
    ),
    (
        "closure.effect",
        "The closure's effect: closures hit {hit} bookings: {moved} moved after the closure, {cancelled} cancelled, {kept} kept; extra waiting {hours} h in all{per_moved}.",
        "أثر الإغلاق: مسّت الإغلاقات {hit} حجزاً: نُقل {moved} إلى ما بعد الإغلاق، وأُلغي {cancelled}، وبقي {kept}؛ انتظار إضافي {hours} س في المجموع{per_moved}.",
    ),
    (
        "closure.per_moved",
        ", {min} min per moved truck",
        "، {min} د لكل شاحنة نُقلت",
    ),
    ("gates", "Gates", "البوابات"),
    // Passages.
    ("passages", "Passages", "العبور"),
    (
        "passages.port",
        "Whole port: {summary}.",
        "الميناء كله: {summary}.",
    ),
    (
        "passages.summary",
        "{total} ({verdicts}; {approved} approved by an operator; offline {offline})",
        "{total} ({verdicts}؛ وافق مشغّل على {approved}؛ دون اتصال {offline})",
    ),
    (
        "passages.latency",
        "Gate decision latency over {count} decisions: p50 {p50}, p90 {p90}, p99 {p99}, max {max}, mean {mean}.",
        "زمن قرار البوابة على {count} قراراً: الوسيط {p50}، المئين 90 {p90}، المئين 99 {p99}، الأقصى {max}، المتوسط {mean}.",
    ),
    ("verdict.nothing_read", "NOTHING_READ", "لا قراءة"),
    (
        "nothing_read.means",
        "NOTHING_READ: the lane got no read of the truck (its camera unplugged or every frame lost to line noise, and no tag), so there was nothing to decide.",
        "لا قراءة: لم يقرأ المسار الشاحنة أبداً (كاميرته مفصولة أو ضاع كل إطار في ضجيج الخط، ولا وسم)، فلم يكن هناك ما يُقرَّر.",
    ),
    (
        "hourly",
        "Hour by hour (whole port)",
        "ساعة بساعة (الميناء كله)",
    ),
    // No-shows, trucks turned away, proofs, noise, timeline.
    ("no_shows", "No-shows", "عدم الحضور"),
    (
        "no_shows.counted",
        "{swept} counted by the scheduler's sweep, {truth} in the simulator's ground truth, over {companies} companies.",
        "{swept} سجّلها المجدول، و{truth} في حقيقة المحاكاة، لدى {companies} شركة.",
    ),
    (
        "turned_away",
        "Turned away at the IN lanes",
        "المردودون عند مسارات الدخول",
    ),
    (
        "turned_away.first",
        "The first {n} IN passages that did not go through.",
        "أول {n} عبور دخول لم يمرّ.",
    ),
    ("proofs", "Proofs", "الإثباتات"),
    ("proof.passed", "passed", "نجح"),
    ("proof.failed", "FAILED", "فشل"),
    ("proofs.none", "none recorded", "لم يُسجَّل أي إثبات"),
    ("noise", "Line noise", "ضجيج الخط"),
    (
        "noise.text",
        "{frames} camera frames sent after garbage on the line: {lost} destroyed, {garbled} read as another plate; {unread} trucks left with no camera read (decided on their tag alone, or referred as UNREAD_PLATE).",
        "{frames} إطار كاميرا أُرسل بعد بيانات عشوائية على الخط: تلف {lost}، وقُرئ {garbled} لوحةً أخرى؛ وغادرت {unread} شاحنة دون قراءة كاميرا (قُرّر أمرها بوسمها وحده، أو أُحيلت لأن اللوحة لم تُقرأ).",
    ),
    ("timeline", "Timeline", "التسلسل الزمني"),
    ("events.none", "no events", "لا أحداث"),
    (
        "footer",
        "Times are Asia/Amman (UTC+3). Percentiles are nearest-rank; – means no samples. Waiting time: served − arrived at the IN lanes. Turn time: through the IN barrier → exit recorded at an OUT lane, same truck and zone. Entries: IN passages allowed or approved by an operator, in the hour they went through.",
        "الأوقات بتوقيت عمّان. المئينات بطريقة أقرب رتبة، و«–» تعني لا عينات. زمن الانتظار: من الانضمام إلى طابور مسار الدخول حتى بلوغ الحاجز. زمن الدورة: من عبور حاجز الدخول حتى تسجيل الخروج في مسار خروج، للشاحنة نفسها في المنطقة نفسها. الدخول: عبور دخول سُمح به أو وافق عليه مشغّل، في الساعة التي عبر فيها.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn has_arabic(s: &str) -> bool {
        s.chars().any(|c| ('\u{600}'..='\u{6FF}').contains(&c))
    }

    /// The `{name}` placeholders of a text, sorted.
    fn placeholders(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn every_key_has_both_texts_once() {
        let mut keys = std::collections::HashSet::new();
        for (k, en, ar) in STRINGS {
            assert!(keys.insert(k), "duplicate key {k}");
            assert!(
                !en.trim().is_empty() && !ar.trim().is_empty(),
                "{k} lacks a text"
            );
            assert!(has_arabic(ar), "{k}'s Arabic has no Arabic letter: {ar}");
            assert_eq!(placeholders(en), placeholders(ar), "{k}'s placeholders");
            for s in [en, ar] {
                assert!(!s.contains(['<', '>', '&']), "{k}: markup in a text");
            }
        }
        for key in WEEKDAYS {
            assert!(keys.contains(&key), "no weekday {key}");
        }
    }

    #[test]
    fn every_proof_has_an_arabic_name() {
        for p in ProofName::ALL {
            let ar = Lang::Ar.proof(p.name());
            assert!(ar.is_some_and(has_arabic), "{p:?} has no Arabic name");
            assert_eq!(Lang::En.proof(p.name()), None);
        }
        assert_eq!(PROOFS.len(), ProofName::ALL.len(), "a name of no proof");
        assert_eq!(Lang::Ar.proof("a proof from elsewhere"), None);
    }

    #[test]
    fn every_behaviour_has_an_arabic_word() {
        use crate::world::Behaviour as B;
        let all = [
            B::OnTime,
            B::Early,
            B::LateInGrace,
            B::LateBeyondGrace,
            B::NoShow,
            B::WalkIn,
            B::ClonedTag,
        ];
        for b in all {
            assert!(
                Lang::Ar.behaviour(b.as_str()).is_some_and(has_arabic),
                "{b:?}"
            );
        }
        assert_eq!(BEHAVIOURS.len(), all.len());
    }

    #[test]
    fn codes_and_templates() {
        assert_eq!(Lang::Ar.code_word(Codes::Verdict, "DENY"), Some("رُفض"));
        assert_eq!(
            Lang::Ar.code_word(Codes::Verdict, "NOTHING_READ"),
            Some("لا قراءة")
        );
        assert_eq!(Lang::Ar.code_word(Codes::Reason, "SOMETHING_NEW"), None);
        assert_eq!(Lang::En.code_word(Codes::Reason, "NO_BOOKING"), None);
        assert_eq!(Lang::parse("ar"), Some(Lang::Ar));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::Ar.dir(), "rtl");
        let filled = Lang::En.fill("peak.at", &[("count", &"{at}"), ("at", &"09:00")]);
        assert_eq!(
            filled, "{at} at 09:00",
            "a value is not read as a placeholder"
        );
    }
}
