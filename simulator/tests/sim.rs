#![allow(clippy::unwrap_used)]
//! Short simulated runs through the real scheduler, agents and pty devices, with every proof
//! checked; determinism; every scenario file plays its first minutes.

use bawaba_domain::calendar::{SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{GateId, LaneId, ZoneId};
use bawaba_domain::ledger::{Direction, Gate, Lane};
use bawaba_domain::passage::Verdict;
use bawaba_sim::record::RunRecord;
use bawaba_sim::{RunOptions, Scenario, Site, run_and_stop};

/// Two zones like Aqaba's: the container terminal (30-minute windows, containers, two IN
/// lanes) and an industrial zone.
fn site() -> Site {
    let mut act = ZoneConfig::new(
        ZoneId::parse("act").unwrap(),
        "Aqaba Container Terminal",
        SlotLength::from_minutes(30).unwrap(),
        WindowCapacity::uniform(30),
    );
    act.rules.early_grace_minutes = 30;
    act.rules.late_grace_minutes = 30;
    act.rules.company_cap_percent = 20;
    act.rules.require_containers = true;
    let mut siz = ZoneConfig::new(
        ZoneId::parse("siz").unwrap(),
        "Southern Industrial Zone",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(20),
    );
    siz.rules.early_grace_minutes = 60;
    siz.rules.late_grace_minutes = 60;
    siz.rules.company_cap_percent = 30;
    let lane = |id: &str, direction| Lane {
        id: LaneId::parse(id).unwrap(),
        direction,
    };
    let terminal = bawaba_cap::Outline::new(&[
        (29.455, 34.968),
        (29.455, 34.982),
        (29.428, 34.985),
        (29.428, 34.970),
    ])
    .unwrap();
    Site {
        alert_zones: vec![bawaba_app::AlertSetting {
            takes: bawaba_cap::AlertZone {
                zone: "act".into(),
                outline: terminal,
                min_severity: bawaba_cap::Severity::Severe,
                min_urgency: bawaba_cap::Urgency::Expected,
                confirm: false,
            },
            policy: bawaba_domain::calendar::ClosurePolicy::Notify,
        }],
        zones: vec![act, siz],
        gates: vec![
            Gate {
                id: GateId::parse("act-north").unwrap(),
                zone: ZoneId::parse("act").unwrap(),
                name: "ACT North Gate".into(),
                lanes: vec![
                    lane("in-1", Direction::In),
                    lane("in-2", Direction::In),
                    lane("out-1", Direction::Out),
                ],
                name_ar: "البوابة الشمالية لمحطة الحاويات".into(),
            },
            Gate {
                id: GateId::parse("siz-gate").unwrap(),
                zone: ZoneId::parse("siz").unwrap(),
                name: "SIZ Gate".into(),
                lanes: vec![lane("in-1", Direction::In), lane("out-1", Direction::Out)],
                name_ar: String::new(),
            },
        ],
    }
}

fn opts(dir: &std::path::Path, seed: u64, hours: f64, trucks: usize) -> RunOptions {
    let mut o = RunOptions::new(dir);
    o.seed = Some(seed);
    o.speed = Some(0.0);
    o.hours = Some(hours);
    o.trucks = Some(trucks);
    o
}

/// A scenario starting at 08:00 local (the busy hours).
fn morning(name: &str) -> Scenario {
    let mut s = Scenario::load(name).unwrap();
    s.start = "2026-03-10T08:00:00+03:00".parse().unwrap();
    s
}

fn assert_proofs(r: &RunRecord) {
    if !r.proofs_passed() {
        let _ = std::fs::write(
            std::env::temp_dir().join(format!("bawaba-sim-{}-{}.json", r.scenario, r.seed)),
            serde_json::to_string_pretty(r).unwrap(),
        );
    }
    for p in &r.proofs {
        assert!(p.passed, "{}: {}", p.name, p.detail);
    }
    assert!(r.proofs.len() >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_day_holds_every_proof() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_and_stop(
        &site(),
        &morning("normal-day"),
        &opts(dir.path(), 7, 1.0, 200),
    )
    .await
    .unwrap();
    eprintln!("{}", bawaba_sim::report::Report::build(&r, None));
    assert_proofs(&r);
    let ins = r.services.iter().filter(|s| s.direction == "IN").count();
    let allowed = r
        .services
        .iter()
        .filter(|s| s.verdict == Some(Verdict::Allow))
        .count();
    assert!(ins > 50, "only {ins} trucks reached an IN lane");
    assert!(allowed > 40, "only {allowed} ALLOWs");
    // 200 trucks want this hour, more than it holds: the ones that found no window in it go
    // another day. None books a window before the run and piles up at its first instant
    // (only early trucks of the first windows may come that soon).
    let at_start = r
        .services
        .iter()
        .filter(|s| s.direction == "IN" && s.arrived == r.start)
        .count();
    assert!(
        at_start * 10 <= ins,
        "{at_start} of {ins} arrivals at the start"
    );
    assert!(r.services.iter().any(|s| s.latency_us.is_some()));
}

/// What must not change between two runs of the same seed: the bookings the companies got
/// and the gate's decision for each truck.
type Fingerprint = (Vec<bool>, usize, Vec<(usize, String, Option<Verdict>)>);

fn fingerprint(r: &RunRecord) -> Fingerprint {
    (
        r.trucks.iter().map(|t| t.booking.is_some()).collect(),
        r.bookings.values().map(|b| b.made as usize).sum(),
        r.services
            .iter()
            .map(|s| (s.truck, s.direction.clone(), s.verdict))
            .collect(),
    )
}

/// Same seed: the same trucks, the same bookings and the same decision for every truck
/// (the engine moves the clock on only once a truck's reads are in); another seed: others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_plays_the_same_bookings_and_decisions_and_another_seed_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = morning("normal-day");
    let a = run_and_stop(&site(), &s, &opts(dir.path(), 11, 0.5, 120))
        .await
        .unwrap();
    let b = run_and_stop(&site(), &s, &opts(dir.path(), 11, 0.5, 120))
        .await
        .unwrap();
    let c = run_and_stop(&site(), &s, &opts(dir.path(), 12, 0.5, 120))
        .await
        .unwrap();
    assert_proofs(&a);
    assert_proofs(&b);
    let plates = |r: &RunRecord| r.trucks.iter().map(|t| t.plate.clone()).collect::<Vec<_>>();
    assert_eq!(
        plates(&a),
        plates(&b),
        "the same seed makes the same trucks"
    );
    let (fa, fb, fc) = (fingerprint(&a), fingerprint(&b), fingerprint(&c));
    assert_eq!(fa.0, fb.0, "bookings differ for the same seed");
    assert_eq!(fa.1, fb.1);
    assert_eq!(
        a.bookings, b.bookings,
        "booking tallies differ for the same seed"
    );
    if fa.2 != fb.2 {
        for (r, n) in [(&a, "a"), (&b, "b")] {
            let _ = std::fs::write(
                std::env::temp_dir().join(format!("bawaba-sim-determinism-{n}.json")),
                serde_json::to_string_pretty(r).unwrap(),
            );
        }
        let first = fa.2.iter().zip(&fb.2).position(|(x, y)| x != y);
        let show = |r: &RunRecord, i: Option<usize>| {
            i.and_then(|i| r.services.get(i))
                .map(|s| format!("{s:?} {}", r.trucks[s.truck].behaviour))
        };
        panic!(
            "decisions differ for the same seed ({} and {} services), first at {first:?}:\n{:?}\n{:?}",
            fa.2.len(),
            fb.2.len(),
            show(&a, first),
            show(&b, first)
        );
    }
    assert_ne!(plates(&a), plates(&c), "another seed makes other trucks");
    assert_ne!(fa.2, fc.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_file_plays_its_first_minutes() {
    for (name, _) in bawaba_sim::scenario::BUILT_IN {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Scenario::load(name).unwrap();
        s.start = "2026-03-10T08:00:00+03:00".parse().unwrap();
        // Bring the scenario's events into the first minutes.
        if let Some(c) = &mut s.closure {
            c.announce_hour = 0.05;
            c.from_hour = 2.0;
        }
        if let Some(o) = &mut s.outage {
            o.from_hour = 0.1;
            o.hours = 0.1;
        }
        if let Some(n) = &mut s.noise {
            n.unplug_every_hours = 0.2;
            n.unplug_minutes = 2.0;
        }
        let r = run_and_stop(&site(), &s, &opts(dir.path(), 3, 0.3, 60))
            .await
            .unwrap();
        assert_eq!(r.scenario, *name);
        assert!(!r.services.is_empty(), "{name}: no truck reached a lane");
        if s.watch.is_some() {
            let watched = r.trucks.iter().filter(|t| t.watched.is_some()).count();
            assert_eq!(watched, 8, "{name}: the security services watch 8 trucks");
            let held = r
                .proofs
                .iter()
                .find(|p| p.name.contains("watched truck"))
                .unwrap();
            assert!(
                !held.detail.starts_with("0 "),
                "{name}: no watched truck came: {held:?}"
            );
        }
        if s.closure.is_some() {
            let closed = r
                .events
                .iter()
                .any(|e| e.what.contains("CAP alert to /api/cap): act closed"));
            assert!(
                closed,
                "{name}: the early warning's alert did not close act: {:?}",
                r.events
            );
        }
        assert_proofs(&r);
    }
}
