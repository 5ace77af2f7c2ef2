#![allow(clippy::unwrap_used)]
//! The simulation report: exact KPIs from a hand-built record, the empty record, JSON
//! round-trip, the HTML page (self-contained, escaped), and a property test that building
//! never panics.

use std::collections::BTreeMap;

use bawaba_domain::passage::{Reason, Verdict};
use bawaba_sim::record::{
    BookingTally, CompanyInfo, GateInfo, LaneInfo, LaneService, Proof, RunEvent, RunRecord,
    TruckInfo, ZoneInfo,
};
use bawaba_sim::report::{LATENCY_BUCKETS_US, Lang, Report};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    // 03:00 in Aqaba.
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
}

fn at(min: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(min)
}

#[allow(clippy::too_many_arguments)]
fn service(
    truck: usize,
    zone: &str,
    gate: &str,
    direction: &str,
    (arrived, served, left): (i64, i64, i64),
    verdict: Option<Verdict>,
    reasons: Vec<Reason>,
    latency_us: Option<u64>,
) -> LaneService {
    LaneService {
        truck,
        zone: zone.into(),
        gate: gate.into(),
        lane: format!("{gate}-{}", direction.to_lowercase()),
        direction: direction.into(),
        arrived: at(arrived),
        served: at(served),
        left: at(left),
        verdict,
        reasons,
        offline: false,
        latency_us,
        approved_by_operator: false,
        read_ok: true,
        legit: true,
        clear_case: false,
    }
}

fn truck(company: &str, plate: &str, no_show: bool) -> TruckInfo {
    TruckInfo {
        company: company.into(),
        plate: plate.into(),
        epc: None,
        booking: None,
        behaviour: if no_show {
            "no-show".into()
        } else {
            "on-time".into()
        },
        no_show,
        watched: None,
    }
}

/// Three hours, two zones, one gate; the numbers are worked out in the comments.
fn run_record() -> RunRecord {
    let allow = Some(Verdict::Allow);
    let mut s = vec![
        // Waits: 2, 10, 1, 30 min. Entries (left): 00:13, 00:31 (hour 0), 01:05 (hour 1).
        service(
            0,
            "act",
            "g1",
            "IN",
            (10, 12, 13),
            allow,
            vec![Reason::BookingValid],
            Some(800),
        ),
        service(
            1,
            "act",
            "g1",
            "IN",
            (20, 30, 31),
            allow,
            vec![Reason::BookingValid],
            Some(1500),
        ),
        service(
            2,
            "act",
            "g1",
            "IN",
            (60, 61, 65),
            Some(Verdict::Refer),
            vec![Reason::LowConfidence],
            None,
        ),
        service(
            3,
            "act",
            "g1",
            "IN",
            (70, 100, 101),
            Some(Verdict::Deny),
            vec![Reason::NoBooking],
            None,
        ),
        // Exits: truck 0 served at 01:33 (turn 80 min), truck 2 at 02:05 (turn 60 min).
        service(
            0,
            "act",
            "g1",
            "OUT",
            (90, 93, 94),
            allow,
            vec![Reason::ExitRecorded],
            Some(700),
        ),
        service(
            2,
            "act",
            "g1",
            "OUT",
            (120, 125, 126),
            allow,
            vec![Reason::ExitRecorded],
            Some(900),
        ),
    ];
    s[2].approved_by_operator = true;
    s[3].offline = true;
    let mut bookings = BTreeMap::new();
    bookings.insert(
        "act".to_owned(),
        BookingTally {
            made: 12,
            refused: 3,
            rebooked: 2,
            moved: 1,
            cancelled: 1,
            closure_hit: 3,
            closure_moved: 1,
            closure_cancelled: 1,
            closure_delay_minutes: 90,
        },
    );
    bookings.insert(
        "sez".to_owned(),
        BookingTally {
            made: 5,
            refused: 0,
            rebooked: 0,
            moved: 0,
            cancelled: 2,
            ..BookingTally::default()
        },
    );
    let mut no_shows = BTreeMap::new();
    no_shows.insert("c1".to_owned(), 2);
    no_shows.insert("c2".to_owned(), 1);
    RunRecord {
        scenario: "normal-day".into(),
        seed: 42,
        appointments: true,
        start: t0(),
        end: at(180),
        wall_seconds: 12.5,
        zones: vec![
            ZoneInfo {
                id: "act".into(),
                name: "Aqaba Container Terminal".into(),
                name_ar: "محطة حاويات العقبة".into(),
                hourly_capacity: vec![10, 10, 10],
                hourly_booked: vec![5, 8, 2],
            },
            ZoneInfo {
                id: "sez".into(),
                name: "Southern Industrial Zone".into(),
                name_ar: String::new(),
                hourly_capacity: vec![4, 4, 4],
                hourly_booked: vec![0, 1, 0],
            },
        ],
        gates: vec![GateInfo {
            id: "g1".into(),
            zone: "act".into(),
            lanes: vec![
                LaneInfo {
                    id: "g1-in".into(),
                    direction: "IN".into(),
                },
                LaneInfo {
                    id: "g1-out".into(),
                    direction: "OUT".into(),
                },
            ],
        }],
        companies: vec![
            CompanyInfo {
                id: "c1".into(),
                fleet: 30,
            },
            CompanyInfo {
                id: "c2".into(),
                fleet: 2,
            },
        ],
        bookings,
        trucks: vec![
            truck("c1", "60-12345", false),
            truck("c1", "71-22222", false),
            truck("c2", "AQ-1234", false),
            truck("c2", "<AB>", false),
            truck("c1", "60-99999", true),
            truck("c1", "60-88888", true),
        ],
        services: s,
        no_shows,
        proofs: vec![
            Proof {
                name: "capacity".into(),
                passed: true,
                detail: "no window over capacity".into(),
            },
            Proof {
                name: "security".into(),
                passed: false,
                detail: "truck <AB> & co".into(),
            },
        ],
        events: vec![
            RunEvent {
                at: at(150),
                what: "scheduler back".into(),
            },
            RunEvent {
                at: at(120),
                what: "scheduler down".into(),
            },
        ],
        noise: bawaba_sim::record::NoiseTally {
            frames: 5,
            lost: 3,
            garbled: 1,
            unread_trucks: 1,
        },
        ignored_reads: 2,
    }
}

/// The same demand with no appointments: waits 10, 20, 40, 60 min, all arriving in hour 1;
/// one visit with a 120-minute turn.
fn baseline_record() -> RunRecord {
    let allow = Some(Verdict::Allow);
    let mut r = RunRecord {
        scenario: "no-appointments".into(),
        seed: 42,
        appointments: false,
        start: t0(),
        end: at(180),
        ..Default::default()
    };
    r.trucks = (0..4)
        .map(|i| truck("c1", &format!("60-1000{i}"), false))
        .collect();
    r.services = vec![
        service(0, "act", "g1", "IN", (60, 70, 71), allow, vec![], None),
        service(1, "act", "g1", "IN", (61, 81, 82), allow, vec![], None),
        service(2, "act", "g1", "IN", (62, 102, 103), allow, vec![], None),
        service(3, "act", "g1", "IN", (63, 123, 124), allow, vec![], None),
        service(0, "act", "g1", "OUT", (180, 191, 192), allow, vec![], None),
    ];
    r
}

#[test]
fn kpis_of_a_known_run() {
    let r = Report::build(&run_record(), None);
    let t = &r.totals;

    assert_eq!(r.wall_ms, 12_500);
    assert_eq!(
        Report::build(
            &RunRecord {
                wall_seconds: f64::NAN,
                ..Default::default()
            },
            None
        )
        .wall_ms,
        0
    );

    // Bookings summed over zones.
    assert_eq!(
        t.bookings,
        BookingTally {
            made: 17,
            refused: 3,
            rebooked: 2,
            moved: 1,
            cancelled: 3,
            closure_hit: 3,
            closure_moved: 1,
            closure_cancelled: 1,
            closure_delay_minutes: 90,
        }
    );
    // The closure's effect, in both reports.
    let effect = "closures hit 3 bookings: 1 moved after the closure, 1 cancelled, 1 kept; \
                  extra waiting 1.5 h in all, 90 min per moved truck";
    assert_eq!(t.bookings.closure_effect().as_deref(), Some(effect));
    assert!(r.to_string().contains(&format!("Closures: {effect}")));
    assert!(r.to_html(Lang::En).unwrap().contains("id=closure-effect"));

    // Passages.
    assert_eq!(t.passages.total, 6);
    assert_eq!(t.passages.offline, 1);
    assert_eq!(t.passages.offline_share_pct, Some(16.7));
    assert_eq!(t.passages.approved_by_operator, 1);
    let verdicts: Vec<(&str, u64, u64)> = t
        .passages
        .by_verdict
        .iter()
        .map(|c| (c.key.as_str(), c.count, c.offline))
        .collect();
    assert_eq!(
        verdicts,
        vec![("ALLOW", 4, 0), ("DENY", 1, 1), ("REFER", 1, 0)]
    );
    let reasons: Vec<(&str, u64)> = t
        .passages
        .by_reason
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("BOOKING_VALID", 2),
            ("EXIT_RECORDED", 2),
            ("LOW_CONFIDENCE", 1),
            ("NO_BOOKING", 1)
        ]
    );

    // Throughput per hour against capacity (both zones: 14 an hour).
    let entries: Vec<u64> = t.hourly.iter().map(|h| h.entries).collect();
    let arrivals: Vec<u64> = t.hourly.iter().map(|h| h.arrivals).collect();
    let capacity: Vec<u64> = t.hourly.iter().map(|h| h.capacity).collect();
    let booked: Vec<u64> = t.hourly.iter().map(|h| h.booked).collect();
    assert_eq!(entries, vec![2, 1, 0]);
    assert_eq!(arrivals, vec![2, 2, 0]);
    assert_eq!(capacity, vec![14, 14, 14]);
    assert_eq!(booked, vec![5, 9, 2]);
    assert_eq!(t.hourly[1].start, at(60));
    assert_eq!((t.entries, t.exits, t.arrivals, t.capacity), (3, 2, 4, 42));
    assert_eq!(t.utilisation_pct, Some(7.1));
    let peak = t.peak_entries.as_ref().unwrap();
    assert_eq!((peak.start, peak.count, peak.capacity), (t0(), 2, 14));

    // Waiting: 1, 2, 10, 30 min.
    assert_eq!(t.waiting.count, 4);
    assert_eq!(t.waiting.p50_ms, Some(120_000));
    assert_eq!(t.waiting.p90_ms, Some(1_800_000));
    assert_eq!(t.waiting.p99_ms, Some(1_800_000));
    assert_eq!(t.waiting.max_ms, Some(1_800_000));
    assert_eq!(t.waiting.mean_ms, Some(645_000));
    // Waiting per arrival hour: hour 0 has 2 and 10 min, hour 1 has 1 and 30 min.
    assert_eq!(t.hourly[0].waiting_p50_ms, Some(120_000));
    assert_eq!(t.hourly[0].waiting_p90_ms, Some(600_000));
    assert_eq!(t.hourly[1].waiting_p50_ms, Some(60_000));
    assert_eq!(t.hourly[2].waiting_p50_ms, None);

    // Turn times: 60 and 80 min; truck 1 is still inside.
    assert_eq!(t.turn_time.count, 2);
    assert_eq!(t.turn_time.p50_ms, Some(3_600_000));
    assert_eq!(t.turn_time.p90_ms, Some(4_800_000));
    assert_eq!(t.turn_time.p99_ms, Some(4_800_000));
    assert_eq!(t.turn_time.mean_ms, Some(4_200_000));
    assert_eq!(t.inside_at_end, 1);
    assert_eq!(t.unmatched_exits, 0);

    // Zones: the record's order; the SEZ has bookings but no traffic.
    assert_eq!(r.zones.len(), 2);
    let act = &r.zones[0];
    assert_eq!(act.id, "act");
    assert_eq!(act.bookings.made, 12);
    assert_eq!((act.entries, act.capacity, act.booked), (3, 30, 15));
    assert_eq!(act.utilisation_pct, Some(10.0));
    assert_eq!(act.waiting.p90_ms, Some(1_800_000));
    let act_entries: Vec<u64> = act.hourly.iter().map(|h| h.entries).collect();
    assert_eq!(act_entries, vec![2, 1, 0]);
    let sez = &r.zones[1];
    assert_eq!((sez.entries, sez.capacity), (0, 12));
    assert_eq!(sez.waiting.p50_ms, None);
    assert_eq!(sez.turn_time.p50_ms, None);
    assert_eq!(sez.peak_entries, None);
    assert_eq!(sez.bookings.cancelled, 2);

    // Gates.
    assert_eq!(r.gates.len(), 1);
    let g = &r.gates[0];
    assert_eq!((g.in_lanes, g.out_lanes, g.entries, g.exits), (1, 1, 3, 2));
    assert_eq!(g.hourly_entries, vec![2, 1, 0]);
    assert_eq!(g.turn_time.p90_ms, Some(4_800_000));
    assert_eq!(g.latency.count, 4);

    // Latency: 700, 800, 900, 1500 µs.
    assert_eq!(r.latency.count, 4);
    assert_eq!(r.latency.p50_us, Some(800));
    assert_eq!(r.latency.p99_us, Some(1500));
    assert_eq!(r.latency.max_us, Some(1500));
    assert_eq!(r.latency.mean_us, Some(975));
    assert_eq!(r.latency.histogram.len(), LATENCY_BUCKETS_US.len() + 1);
    assert_eq!(r.latency.histogram[3].count, 3); // 500–1000 µs
    assert_eq!(r.latency.histogram[4].count, 1); // 1–2 ms

    // No-shows: c1 twice (sweep and ground truth), c2 once by the sweep only.
    assert_eq!(
        (r.no_shows.swept_total, r.no_shows.ground_truth_total),
        (3, 2)
    );
    let top: Vec<(&str, u64, u64, u64, Option<u32>)> = r
        .no_shows
        .top
        .iter()
        .map(|n| {
            (
                n.company.as_str(),
                n.swept,
                n.ground_truth,
                n.trucks,
                n.fleet,
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![("c1", 2, 2, 4, Some(30)), ("c2", 1, 0, 2, Some(2))]
    );

    // Turned away: truck 3 (denied); truck 2 was approved.
    assert_eq!(r.turned_away.len(), 1);
    assert_eq!(r.turned_away[0].plate, "<AB>");
    assert_eq!(r.turned_away[0].reasons, vec!["NO_BOOKING".to_owned()]);

    // Proofs and events (sorted).
    assert!(!r.proofs_passed);
    assert_eq!(r.proofs.len(), 2);
    assert_eq!(r.events[0].what, "scheduler down");
    assert!(r.comparison.is_none());
}

#[test]
fn comparison_with_the_baseline() {
    let r = Report::build(&run_record(), Some(&baseline_record()));
    let c = r.comparison.as_ref().unwrap();
    assert_eq!(c.baseline_scenario, "no-appointments");
    assert!(c.same_seed);
    let p = &c.port;
    assert_eq!(p.baseline.waiting.mean_ms, Some(1_950_000));
    assert_eq!(p.baseline.waiting.p90_ms, Some(3_600_000));
    // (1 950 000 − 645 000) / 1 950 000 = 66.92 %; p90 (3 600 000 − 1 800 000) / 3 600 000.
    assert_eq!(p.waiting_mean_reduction_pct, Some(66.9));
    assert_eq!(p.waiting_p90_reduction_pct, Some(50.0));
    // Turn: baseline 120 min (left 00:71 → served 03:11), run mean 70 min, p90 80 min.
    assert_eq!(p.baseline.turn_time.mean_ms, Some(7_200_000));
    assert_eq!(p.turn_mean_reduction_pct, Some(41.7));
    assert_eq!(p.turn_p90_reduction_pct, Some(33.3));
    // Peak-hour arrivals: the run has 2 in hour 0, the baseline 4 in hour 1; the baseline
    // has no calendar, so the run's (14 an hour) is used.
    let rp = p.run.peak_arrivals.as_ref().unwrap();
    assert_eq!((rp.start, rp.count, rp.capacity), (t0(), 2, 14));
    let bp = p.baseline.peak_arrivals.as_ref().unwrap();
    assert_eq!((bp.start, bp.count, bp.capacity), (at(60), 4, 14));
    assert_eq!(p.baseline.peak_load_pct, Some(28.6));
    assert_eq!(
        c.baseline_hourly
            .iter()
            .map(|h| h.arrivals)
            .collect::<Vec<_>>(),
        vec![0, 4, 0]
    );
    // Per zone: the SEZ has no traffic in either run.
    assert_eq!(c.zones.len(), 2);
    assert_eq!(c.zones[0].figures.waiting_mean_reduction_pct, Some(66.9));
    assert_eq!(c.zones[1].figures.waiting_mean_reduction_pct, None);
    assert_eq!(r.waiting_reduction_pct(), Some(66.9));
}

#[test]
fn empty_record_gives_dashes_not_panics() {
    let r = Report::build(&RunRecord::default(), None);
    assert_eq!(r.totals.waiting.p50_ms, None);
    assert_eq!(r.totals.turn_time.p99_ms, None);
    assert_eq!(r.latency.p99_us, None);
    assert!(r.totals.hourly.is_empty());
    assert!(r.zones.is_empty());
    let text = r.to_string();
    assert!(text.contains('–'), "{text}");
    assert!(!text.contains("NaN"));
    assert!(
        !text.contains("Line noise") && !text.contains("hold-off"),
        "{text}"
    );
    let html = r.to_html(Lang::En).unwrap();
    assert!(html.contains('–'));
    assert!(!html.contains("NaN"));
    // With an empty baseline too.
    let r = Report::build(&RunRecord::default(), Some(&RunRecord::default()));
    assert_eq!(r.waiting_reduction_pct(), None);
    assert!(r.to_string().contains("baseline"));
    r.to_html(Lang::En).unwrap();
}

#[test]
fn json_round_trip() {
    let r = Report::build(&run_record(), Some(&baseline_record()));
    let json = r.to_json().unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    let empty = Report::build(&RunRecord::default(), None);
    let back: Report = serde_json::from_str(&empty.to_json().unwrap()).unwrap();
    assert_eq!(back, empty);
}

#[test]
fn html_is_self_contained_and_escaped() {
    let r = Report::build(&run_record(), Some(&baseline_record()));
    let html = r.to_html(Lang::En).unwrap();
    // One SVG per chart: arrivals, waiting, one throughput chart per zone, reasons, latency.
    let charts = 2 + r.zones.len() + 2;
    assert_eq!(html.matches("<svg").count(), charts, "charts");
    assert_eq!(html.matches("</svg>").count(), charts);
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<link") && !html.contains("@import") && !html.contains("url("));
    // The plate and proof detail are escaped, never raw.
    assert!(html.contains("&lt;AB&gt;"));
    assert!(!html.contains("<AB>"));
    assert!(html.contains("truck &lt;AB&gt; &amp; co"));
    // Local times (03:00 Amman for 00:00 UTC), the scenario and the reduction.
    assert!(html.contains("2026-11-26 03:00"));
    assert!(html.contains("normal-day"));
    assert!(html.contains("66.9%"));
    assert!(html.contains("FAILED"));
}

#[test]
fn terminal_summary() {
    let r = Report::build(&run_record(), Some(&baseline_record()));
    let text = r.to_string();
    assert!(text.contains("normal-day"));
    assert!(
        text.contains("2026-11-26 03:00 → 2026-11-26 06:00 Asia/Amman"),
        "{text}"
    );
    assert!(text.contains("Aqaba Container Terminal"));
    assert!(text.contains("in 12.5 s of real time"), "{text}");
    assert!(text.contains("66.9%"));
    assert!(text.contains("Proofs: 1/2 passed"));
    assert!(text.contains("[FAIL] security"));
    assert!(
        text.contains("Line noise: 5 camera frames sent after garbage: 3 destroyed, 1 read as another plate; 1 trucks left with no camera read"),
        "{text}"
    );
    assert!(text.contains("hold-off): 2 times"), "{text}");
    let html = r.to_html(Lang::En).unwrap();
    assert!(
        html.contains("<h2>Line noise</h2><p>5 camera frames"),
        "{html}"
    );
}

#[test]
fn write_puts_both_files_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data");
    let r = Report::build(&run_record(), Some(&baseline_record()));
    let (json, html) = r.write(&target, Lang::En).unwrap();
    assert_eq!(json, target.join("report.json"));
    assert_eq!(html, target.join("report.html"));
    let back: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(back, r);
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // A file where the folder should be is a clear error.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let err = r.write(&blocked, Lang::En).unwrap_err();
    assert!(err.to_string().contains("file"), "{err}");
}

// ---- property: building never panics -----------------------------------------------------

const VERDICTS: [Option<Verdict>; 4] = [
    None,
    Some(Verdict::Allow),
    Some(Verdict::Deny),
    Some(Verdict::Refer),
];
const REASONS: [Reason; 5] = [
    Reason::BookingValid,
    Reason::ExitRecorded,
    Reason::NoBooking,
    Reason::TooLate,
    Reason::OfflineDoubtful,
];

fn arb_service() -> impl Strategy<Value = LaneService> {
    (
        0usize..8,
        prop::sample::select(vec!["z0", "z1", "z9"]),
        prop::sample::select(vec!["IN", "OUT", "in", "sideways"]),
        (-120i64..600, -60i64..120, -60i64..120),
        0usize..4,
        prop::collection::vec(0usize..5, 0..3),
        any::<bool>(),
        prop::option::of(0u64..200_000),
        any::<bool>(),
    )
        .prop_map(
            |(truck, zone, dir, (a, w, l), v, rs, offline, latency_us, approved)| LaneService {
                truck,
                zone: zone.into(),
                gate: format!("{zone}-g"),
                lane: "l".into(),
                direction: dir.into(),
                arrived: at(a),
                served: at(a + w),
                left: at(a + w + l),
                verdict: VERDICTS[v],
                reasons: rs.into_iter().map(|i| REASONS[i]).collect(),
                offline,
                latency_us,
                approved_by_operator: approved,
                read_ok: true,
                legit: true,
                clear_case: false,
            },
        )
}

fn arb_record() -> impl Strategy<Value = RunRecord> {
    (
        -600i64..600,
        prop::collection::vec(prop::collection::vec(0u32..50, 0..12), 0..3),
        prop::collection::vec(arb_service(), 0..40),
        prop::collection::vec(any::<bool>(), 0..6),
        prop::collection::vec((0u64..5, any::<bool>()), 0..4),
        any::<f64>(),
    )
        .prop_map(|(span, caps, services, trucks, shows, wall)| RunRecord {
            scenario: "prop".into(),
            start: t0(),
            end: at(span),
            wall_seconds: wall,
            zones: caps
                .into_iter()
                .enumerate()
                .map(|(i, c)| ZoneInfo {
                    id: format!("z{i}"),
                    name: format!("zone <{i}>"),
                    name_ar: format!("منطقة <{i}>"),
                    hourly_booked: c.iter().map(|x| x / 2).collect(),
                    hourly_capacity: c,
                })
                .collect(),
            services,
            trucks: trucks
                .into_iter()
                .enumerate()
                .map(|(i, ns)| truck(&format!("c{}", i % 3), &format!("P{i}"), ns))
                .collect(),
            no_shows: shows
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (format!("c{i}"), *n))
                .collect(),
            proofs: shows
                .iter()
                .map(|(_, p)| Proof {
                    name: "p".into(),
                    passed: *p,
                    detail: String::new(),
                })
                .collect(),
            ..Default::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn build_never_panics(run in arb_record(), baseline in prop::option::of(arb_record())) {
        let r = Report::build(&run, baseline.as_ref());
        // Every IN service is an arrival; entries never exceed them.
        let ins = run.services.iter().filter(|s| s.direction.eq_ignore_ascii_case("IN")).count();
        prop_assert_eq!(r.totals.arrivals, ins as u64);
        prop_assert!(r.totals.entries <= r.totals.arrivals);
        prop_assert_eq!(r.totals.passages.total, run.services.len() as u64);
        prop_assert!(r.totals.waiting.p50_ms <= r.totals.waiting.p90_ms);
        prop_assert!(r.totals.waiting.p90_ms <= r.totals.waiting.p99_ms);
        // The text and JSON forms never fail; JSON round-trips.
        let _ = r.to_string();
        let back: Report = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        prop_assert_eq!(back, r);
    }
}

proptest! {
    // Drawing is slower: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn html_never_fails(run in arb_record(), baseline in prop::option::of(arb_record())) {
        let report = Report::build(&run, baseline.as_ref());
        for lang in [Lang::En, Lang::Ar] {
            let html = report.to_html(lang).unwrap();
            prop_assert!(!html.contains("<script"));
            prop_assert!(!html.contains("NaN"));
        }
    }
}
