use super::*;

#[test]
fn stats_of_empty_and_unsorted_samples() {
    assert_eq!(
        Stats::of(Vec::new()),
        Stats {
            count: 0,
            mean_ms: None,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            max_ms: None
        }
    );
    let s = Stats::of(vec![30, 10, 20]);
    assert_eq!(s.count, 3);
    assert_eq!(s.mean_ms, Some(20));
    assert_eq!(s.p50_ms, Some(20));
    assert_eq!(s.p90_ms, Some(30));
    assert_eq!(s.max_ms, Some(30));
}

#[test]
fn latency_histogram_buckets_are_exclusive_upper_bounds() {
    let l = LatencyStats::of(vec![99, 100, 999, 1_000, 250_000]);
    let counts: Vec<u64> = l.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(l.histogram.len(), LATENCY_BUCKETS_US.len() + 1);
    assert_eq!(l.histogram.last().map(|b| b.below_us), Some(None));
    assert_eq!(l.p50_us, Some(999));
    assert_eq!(l.max_us, Some(250_000));
}

#[test]
fn reduction_needs_a_positive_baseline() {
    assert_eq!(reduction_pct(Some(20), Some(100)), Some(80.0));
    assert_eq!(reduction_pct(Some(1), Some(3)), Some(66.7));
    assert_eq!(reduction_pct(Some(150), Some(100)), Some(-50.0));
    assert_eq!(reduction_pct(Some(1), Some(0)), None);
    assert_eq!(reduction_pct(None, Some(10)), None);
    assert_eq!(reduction_pct(Some(1), None), None);
}

#[test]
fn grid_covers_the_span_and_the_calendar() {
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let mut run = RunRecord {
        start,
        end: start + TimeDelta::minutes(90),
        ..Default::default()
    };
    let g = Grid::of(&run);
    assert_eq!(g.hours, 2);
    assert_eq!(g.index(start - TimeDelta::seconds(1)), None);
    assert_eq!(g.index(start), Some(0));
    assert_eq!(g.index(start + TimeDelta::minutes(60)), Some(1));
    assert_eq!(g.index(start + TimeDelta::minutes(120)), None);
    run.zones.push(crate::record::ZoneInfo {
        hourly_capacity: vec![1; 5],
        ..Default::default()
    });
    assert_eq!(Grid::of(&run).hours, 5);
    // An end before the start gives no hours, a huge span is capped.
    run.zones.clear();
    run.end = start - TimeDelta::hours(3);
    assert_eq!(Grid::of(&run).hours, 0);
    run.end = start + TimeDelta::days(5000);
    assert_eq!(Grid::of(&run).hours, MAX_HOURS);
}

fn svc(truck: usize, dir: &str, t_in: i64, t_left: i64, pass: bool) -> LaneService {
    let base = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    LaneService {
        truck,
        zone: "z".into(),
        gate: "g".into(),
        lane: "l".into(),
        direction: dir.into(),
        arrived: base + TimeDelta::seconds(t_in),
        served: base + TimeDelta::seconds(t_in),
        left: base + TimeDelta::seconds(t_left),
        verdict: Some(if pass { Verdict::Allow } else { Verdict::Deny }),
        reasons: Vec::new(),
        offline: false,
        latency_us: None,
        approved_by_operator: false,
        read_ok: true,
        legit: true,
        clear_case: false,
    }
}

#[test]
fn turns_pair_each_entry_with_the_next_exit() {
    let services = vec![
        // Truck 0: in (left at 10), out (served at 100), in again (left 200), never out.
        svc(0, "IN", 0, 10, true),
        svc(0, "OUT", 100, 101, true),
        svc(0, "IN", 190, 200, true),
        // Truck 1: an exit with no entry, a denied entry, then a real visit.
        svc(1, "OUT", 5, 6, true),
        svc(1, "IN", 20, 21, false),
        svc(1, "IN", 30, 40, true),
        svc(1, "OUT", 340, 341, true),
    ];
    let (turns, unmatched) = turns(&services);
    let mut done: Vec<i64> = turns.iter().filter_map(|t| t.ms).collect();
    done.sort_unstable();
    assert_eq!(done, vec![90_000, 300_000]);
    assert_eq!(turns.iter().filter(|t| t.ms.is_none()).count(), 1);
    assert_eq!(unmatched.get("z"), Some(&1));
}

/// A small run over 30 hours (hours labelled with their weekday) with a bit of everything the
/// page shows: every proof (one failed), events, line noise, a closure's effect, a REFER, a
/// passage with nothing read.
fn small_run() -> RunRecord {
    use crate::proofs::ProofName;
    use crate::record::{NoiseTally, Proof, RunEvent, TruckInfo, ZoneInfo};
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let mut services = vec![
        svc(0, "IN", 0, 10, true),
        svc(0, "OUT", 100, 101, true),
        svc(1, "IN", 20, 21, false),
        svc(2, "IN", 40, 41, false),
    ];
    services[0].reasons = vec![bawaba_domain::passage::Reason::BookingValid];
    services[0].latency_us = Some(800);
    services[2].verdict = Some(Verdict::Refer);
    services[2].reasons = vec![bawaba_domain::passage::Reason::LowConfidence];
    services[2].offline = true;
    services[3].verdict = None;
    let tally = BookingTally {
        made: 3,
        closure_hit: 2,
        closure_moved: 1,
        closure_delay_minutes: 90,
        ..Default::default()
    };
    RunRecord {
        scenario: "normal-day".into(),
        seed: 7,
        appointments: true,
        start,
        end: start + TimeDelta::hours(30),
        zones: vec![ZoneInfo {
            id: "z".into(),
            name: "Zone".into(),
            name_ar: "منطقة".into(),
            hourly_capacity: vec![2; 30],
            hourly_booked: vec![1; 30],
        }],
        bookings: [("z".to_owned(), tally)].into(),
        trucks: (0..3)
            .map(|i| TruckInfo {
                company: "c1".into(),
                plate: format!("60-{i}"),
                behaviour: "walk-in".into(),
                ..Default::default()
            })
            .collect(),
        services,
        no_shows: [("c1".to_owned(), 1)].into(),
        proofs: ProofName::ALL
            .iter()
            .map(|p| Proof {
                name: p.name().into(),
                passed: *p != ProofName::Security,
                detail: "1 counter-example(s): truck 1 (60-1) let in at g l".into(),
            })
            .collect(),
        events: vec![RunEvent {
            at: start,
            what: "scheduler unreachable: gate agents decide offline".into(),
        }],
        noise: NoiseTally {
            frames: 3,
            lost: 1,
            garbled: 1,
            unread_trucks: 1,
        },
        ..Default::default()
    }
}

/// What a reader sees of a page, less the isolated data: no tags, styles or scripts, nothing
/// in a `<bdi>`, nothing between Unicode isolates (where no markup can go).
fn visible_text(html: &str) -> String {
    let mut s = html.to_owned();
    for (open, close) in [
        ("<style", "</style>"),
        ("<script", "</script>"),
        ("<bdi", "</bdi>"),
        ("\u{2068}", "\u{2069}"),
    ] {
        while let Some(i) = s.find(open) {
            let j = s[i..].find(close).map_or(s.len(), |j| i + j + close.len());
            s.replace_range(i..j, " ");
        }
    }
    while let Some(i) = s.find('<') {
        let j = s[i..].find('>').map_or(s.len(), |j| i + j + 1);
        s.replace_range(i..j, " ");
    }
    html_escape::decode_html_entities(&s).into_owned()
}

#[test]
fn the_arabic_page_is_right_to_left_and_has_no_english_word_outside_data() {
    let run = small_run();
    let baseline = RunRecord {
        scenario: "no-appointments".into(),
        appointments: false,
        ..run.clone()
    };
    let report = Report::build(&run, Some(&baseline));
    let html = report.to_html(Lang::Ar).expect("the Arabic page");
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">"));
    let text = visible_text(&html);
    // Latencies keep their units, as on the dashboard; nothing else is in Latin letters.
    let english: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == 'µ'))
        .filter(|w| !w.is_empty() && !["ms", "µs"].contains(w))
        .collect();
    assert!(
        english.is_empty(),
        "English on the Arabic page: {english:?}"
    );
    assert!(
        !text.contains(|c| ('\u{660}'..='\u{669}').contains(&c)),
        "Latin digits"
    );
    assert!(text.contains(Lang::Ar.word("proof.failed")));
    assert!(
        text.contains("لا فترة تجاوزت سعتها"),
        "a proof's Arabic name"
    );
    assert!(text.contains("منطقة"), "the zone's Arabic name");
    assert!(
        words::WEEKDAYS
            .iter()
            .any(|&d| text.contains(Lang::Ar.word(d))),
        "hours over a day name their weekday"
    );
    // Data stays, isolated; the charts' Arabic labels read right to left, in place.
    assert!(html.contains(r#"<bdi dir="ltr">60-1</bdi>"#));
    assert!(html.contains(r#"<span title="REFER">أُحيل</span>"#));
    assert!(html.contains(r#"text-anchor="end" direction="rtl""#));
    assert!(html.contains(r#"text-anchor="middle" direction="rtl""#));
}

#[test]
fn the_english_page_is_left_to_right_with_the_codes() {
    let report = Report::build(&small_run(), None);
    let html = report.to_html(Lang::En).expect("the English page");
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">"));
    assert!(!html.contains("direction=\"rtl\""));
    assert!(html.contains("<bdi>no window over capacity</bdi>"));
    assert!(visible_text(&html).contains("FAILED"));
    assert!(html.contains(r#"<bdi dir="ltr">REFER</bdi>"#));
}
