#![allow(clippy::unwrap_used)]
//! Load mode end to end over loopback gRPC: counts add up, everything acknowledged is in the
//! store, capacity holds, percentiles are ordered. Small runs; no timing is asserted.

use std::sync::Arc;
use std::time::Duration;

use bawaba_app::{App, SystemClock};
use bawaba_bench::booking::{self as bench, BookingBenchOptions, StoresBenchOptions};
use bawaba_bench::load::{
    Layout, LoadOptions, LoadReport, Operation, Pace, PhaseStats, RemoteTarget, StoreChoice,
    Target, run_load,
};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{BookingRules, SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{CompanyId, GateId, LaneId, ZoneId};
use bawaba_domain::ledger::{BookingFilter, Direction, Gate, Lane};
use bawaba_grpc::Scheduler;
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use chrono::{TimeDelta, Utc};

fn assert_ordered(p: &PhaseStats, report: &LoadReport) {
    assert!(
        p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max,
        "percentiles out of order for {}:\n{report}",
        p.operation
    );
    if p.calls > 0 {
        assert!(p.max > Duration::ZERO, "{report}");
    }
}

fn phase(report: &LoadReport, op: Operation) -> &PhaseStats {
    report
        .phase(op)
        .unwrap_or_else(|| panic!("no {op} phase in\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_counts_add_up() {
    let opts = LoadOptions {
        operations: vec![Operation::Noop, Operation::Bookings, Operation::Passages],
        clients: 4,
        pace: Pace::Closed,
        duration: Duration::from_secs(60),
        count: Some(300),
        zones: 3,
        companies: 3,
        ..LoadOptions::default()
    };
    let report = run_load(&opts).await.unwrap();
    let (noop, book, pass) = (
        phase(&report, Operation::Noop),
        phase(&report, Operation::Bookings),
        phase(&report, Operation::Passages),
    );
    // Every call of each phase is accounted for, and nothing fails.
    for p in [noop, book, pass] {
        assert_eq!(p.calls + p.refused + p.errors, 300, "{report}");
        assert_eq!(p.errors, 0, "{report}");
        assert_eq!(p.refused, 0, "{report}");
        assert_eq!(p.late, 0, "a closed loop is never late:\n{report}");
        assert_ordered(p, &report);
    }
    assert_eq!(book.items, 300);
    // The store writer answered every booking, in at most one commit each; the health checks
    // never reached it.
    let writer = book
        .store
        .expect("an in-process sled run reports its writer");
    assert_eq!(writer.requests, 300, "{report}");
    assert!((1..=300).contains(&writer.commits), "{report}");
    assert_eq!(noop.store.map(|s| s.requests), Some(0), "{report}");
    // 300 booked trucks are enough for 300 passages: the phase never ran out.
    assert_eq!(pass.items, 300, "{report}");
    assert!(!pass.ran_out, "{report}");

    let check = report.check.as_ref().unwrap();
    assert!(check.ok(), "{report}");
    assert_eq!(check.acknowledged_bookings, 300);
    assert_eq!(check.stored_bookings, 300);
    assert_eq!(check.stored_passages, 300);
    assert_eq!((report.zones, report.preload), (3, 0));

    let text = report.to_string();
    for needle in [
        "closed loop",
        "no-op (health)",
        "bookings (durable)",
        "passages (durable)",
        "store writer: ",
        "% of the phase",
        "check passed",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
}

/// A scheduler the test owns, so it checks the store itself: a zone with few places, so most
/// bookings are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_against_a_running_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let now = Utc::now();
    let company = |c: &str| {
        let p = Principal::new(Role::Company, Some(CompanyId::parse(c).unwrap()), None);
        tokens.issue(&p.unwrap(), None, now).unwrap()
    };
    let company_tokens = vec![company("acme"), company("nabil-haulage")];
    let gate_token = tokens
        .issue(&Principal::new(Role::Gate, None, None).unwrap(), None, now)
        .unwrap();
    let mut zone = ZoneConfig::new(
        ZoneId::parse("tight").unwrap(),
        "Tight zone",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(2),
    );
    zone.rules = BookingRules {
        horizon_minutes: 8 * 60,
        company_cap_percent: 100,
        require_containers: false,
        ..BookingRules::default()
    };
    store.upsert_zone(zone).await.unwrap();
    // The gate passages are reported at, in its lanes' directions.
    let lane = |id: &str, direction| Lane {
        id: LaneId::parse(id).unwrap(),
        direction,
    };
    store
        .upsert_gate(Gate {
            id: GateId::parse("tight-gate").unwrap(),
            zone: ZoneId::parse("tight").unwrap(),
            name: "Tight gate".into(),
            lanes: vec![lane("in-1", Direction::In), lane("out-1", Direction::Out)],
            name_ar: String::new(),
        })
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Scheduler {
            app: App::new(
                Arc::clone(&store),
                Arc::clone(&tokens),
                Arc::new(SystemClock),
            ),
            tls: None,
        }
        .serve(listener, async move {
            let _ = stopped.await;
        }),
    );

    let opts = LoadOptions {
        target: Target::Remote(RemoteTarget {
            addrs: vec![addr],
            company_tokens,
            gate_token: Some(gate_token),
            ..RemoteTarget::default()
        }),
        operations: vec![Operation::Bookings, Operation::Passages],
        clients: 4,
        pace: Pace::Open { per_second: 1000.0 },
        duration: Duration::from_secs(60),
        count: Some(200),
        passages_per_report: 3,
        ..LoadOptions::default()
    };
    let report = run_load(&opts).await.unwrap();
    let (book, pass) = (
        phase(&report, Operation::Bookings),
        phase(&report, Operation::Passages),
    );
    assert!(report.check.is_none(), "no store check on a remote target");
    assert_eq!(report.zones, 1, "{report}");
    assert!(report.windows > 0, "{report}");
    assert_eq!(book.calls + book.refused + book.errors, 200, "{report}");
    assert_eq!(book.errors, 0, "{report}");
    // The zone holds 2 per window, a handful of windows: most bookings are refused.
    assert!(book.calls > 0, "{report}");
    assert!(book.calls <= 2 * report.windows as u64, "{report}");
    assert!(book.refused > 0, "{report}");
    assert!(
        book.first_refusal
            .as_deref()
            .is_some_and(|r| r.starts_with("ResourceExhausted")),
        "{report}"
    );
    // Every booked truck entered and left, then the phase ran out of trucks.
    assert!(pass.ran_out, "{report}");
    assert_eq!(pass.errors, 0, "{report}");
    assert_eq!(pass.items, 2 * book.calls, "{report}");
    assert!(pass.calls <= pass.items, "{report}");
    assert_ordered(book, &report);
    assert_ordered(pass, &report);
    assert!(report.to_string().contains("open loop at 1000 calls/s"));

    // The store, seen directly: what was acknowledged, nothing more; no window over 2.
    let stored = store
        .list_bookings(BookingFilter::default(), None, 10_000)
        .await
        .unwrap();
    assert_eq!(stored.len() as u64, book.calls, "{report}");
    let windows = store
        .list_windows(
            ZoneId::parse("tight").unwrap(),
            now,
            now + TimeDelta::hours(9),
            100,
        )
        .await
        .unwrap();
    assert!(windows.iter().all(|w| w.booked <= 2), "{windows:?}");
    let booked: u64 = windows.iter().map(|w| u64::from(w.booked)).sum();
    assert_eq!(booked, book.calls);
    let passages = store.passages(None, None, 10_000).await.unwrap();
    assert_eq!(passages.len() as u64, pass.items, "{report}");
    // Every booking entered and left: the visits are over.
    assert!(
        stored
            .iter()
            .all(|b| b.exited_at.is_some() && b.entered_at.is_some()),
        "{stored:?}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Two replicas on one PostgreSQL database, every client on the same window: exactly its
/// capacity is sold, across both replicas. PostgreSQL must be up (CI has it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_never_oversell_a_hot_window() {
    let opts = LoadOptions {
        target: Target::InProcess {
            store: StoreChoice::Postgres(None),
            replicas: 2,
        },
        operations: vec![Operation::Bookings, Operation::Passages],
        clients: 8,
        duration: Duration::from_secs(120),
        count: Some(300),
        layout: Layout::Hot,
        capacity: 50,
        ..LoadOptions::default()
    };
    let report = run_load(&opts).await.unwrap();
    let (book, pass) = (
        phase(&report, Operation::Bookings),
        phase(&report, Operation::Passages),
    );
    assert_eq!(book.calls, 50, "{report}");
    assert_eq!(book.refused, 250, "{report}");
    assert_eq!(book.errors, 0, "{report}");
    assert_eq!(pass.items, 100, "every truck in and out:\n{report}");
    assert_eq!(pass.errors, 0, "{report}");
    let check = report.check.as_ref().unwrap();
    assert!(check.ok(), "{report}");
    assert!(check.over_capacity.is_empty(), "{report}");
    assert_eq!(check.stored_bookings, 50, "{report}");
    assert!(
        report.target.contains("2 in-process scheduler replicas"),
        "{report}"
    );
    assert_ordered(book, &report);
}

/// `bawaba bench booking` on the load engine: both phases, every counted booking stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_bench_counts_every_stored_booking() {
    let opts = BookingBenchOptions {
        clients: 4,
        duration: Duration::from_millis(300),
        preload: 100,
    };
    let report = bench::run_booking_bench(&opts).await.unwrap();
    assert!(report.noop.calls > 0, "{report}");
    assert_eq!(report.noop.errors, 0, "{report}");
    assert!(report.booking.calls > 0, "{report}");
    assert_eq!(report.booking.errors, 0, "{report}");
    let check = report.check.as_ref().unwrap();
    assert!(check.ok(), "{report}");
    assert_eq!(
        check.stored_bookings,
        100 + report.booking.calls,
        "{report}"
    );
    let text = report.to_string();
    for needle in [
        "no-op (health)",
        "booking (durable)",
        "bar ≥ 60 %",
        "bar ≤ 2×",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growth_runs_two_fresh_stores() {
    let report = bench::run_growth_bench(2, Duration::from_millis(100), 10, 50)
        .await
        .unwrap();
    assert_eq!((report.small.preload, report.large.preload), (10, 50));
    for r in [&report.small, &report.large] {
        assert!(r.booking.calls > 0, "{report}");
        assert_eq!(r.booking.errors, 0, "{report}");
        let check = r.check.as_ref().unwrap();
        assert_eq!(check.stored_bookings, r.preload as u64 + r.booking.calls);
    }
    assert!(report.to_string().contains("booking p99:"));
}

/// `bawaba bench stores`, tiny: sled and two PostgreSQL replicas, both layouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_bench_runs_every_case() {
    let opts = StoresBenchOptions {
        clients: 2,
        duration: Duration::from_millis(200),
        postgres: None,
        replicas: vec![2],
    };
    let report = bench::run_stores_bench(&opts).await.unwrap();
    let cases: Vec<_> = report
        .cases
        .iter()
        .map(|c| (c.store, c.replicas, c.layout))
        .collect();
    assert_eq!(
        cases,
        [
            ("sled", 1, Layout::Spread),
            ("postgres", 2, Layout::Spread),
            ("sled", 1, Layout::Hot),
            ("postgres", 2, Layout::Hot),
        ]
    );
    assert!(report.checks_passed(), "{report}");
    assert!(report.noop.calls > 0, "{report}");
    for c in &report.cases {
        assert!(c.booking.calls > 0, "{report}");
        assert_eq!(c.booking.errors, 0, "{report}");
    }
    let sled = report.sled(Layout::Hot).unwrap();
    assert!((report.rate_vs_sled(sled) - 1.0).abs() < 1e-9);
    assert!(report.to_string().contains("p99 ÷ sled"));
}
