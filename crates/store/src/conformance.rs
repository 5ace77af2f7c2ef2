//! The store's behaviour, written once and run against every backend.
//!
//! Each test is a `pub async fn` over a [`Backend`] (a fresh, empty data set that stores can be
//! opened on, closed and opened again); [`conformance_tests!`](crate::conformance_tests)
//! instantiates all of them for one backend:
//!
//! ```ignore
//! bawaba_store::conformance_tests!(backend: Sled(tempfile::tempdir().unwrap()), cases: 24);
//! ```
//!
//! Compiled only with the `conformance` feature (the stores' tests enable it).

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use bawaba_domain::Error as DomainError;
use bawaba_domain::access::Role;
use bawaba_domain::audit::{AuditEntry, AuditFilter, AuditKind, Door, FieldChange, Who};
use bawaba_domain::calendar::{
    CapacityTemplate, ClosurePolicy, SlotLength, TransactionType, WindowCapacity, ZoneConfig,
};
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::epc::Epc;
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Actor, AdminChange, Administered, Booking, BookingFilter, BookingState, Direction, Gate, Lane,
    NewBooking, Stop, WindowUsage,
};
use bawaba_domain::passage::{Passage, ReferralState, Resolution, Verdict};
use bawaba_domain::plate::Plate;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::{Changes, CreatedBooking, Error, Recorded, Reported, Setup, Store};

/// One backend's data set for one test.
pub trait Backend: Send + Sync {
    type Store: Store;
    /// Opens a store on this data set (again, after [`Backend::close`]: the same data).
    fn open(&self) -> impl Future<Output = Self::Store> + Send;
    /// Closes a store for good, then checks that any capacity counters it stores equal a
    /// recount from its bookings.
    fn close(&self, store: Self::Store) -> impl Future<Output = ()> + Send;
}

/// Instantiates every conformance test for a backend: `backend` is an expression (it may
/// `.await`) making a fresh [`Backend`]; `cases` is the number of random sequences.
#[macro_export]
macro_rules! conformance_tests {
    (backend: $backend:expr, cases: $cases:expr) => {
        $crate::conformance_tests!(@async $backend;
            bookings_round_trip,
            capacity_never_exceeded,
            per_type_split_never_exceeded,
            company_caps_never_exceeded,
            idempotency,
            overlapping_visits_refused,
            multi_stop_all_or_nothing,
            time_rules,
            closures_and_the_hit_list,
            alerts_close_once_and_are_remembered,
            the_watchlist_is_kept_with_the_zone,
            states_only_move_forward,
            no_show_sweep,
            company_events_in_the_commit_of_their_change,
            webhooks_and_their_deliveries,
            a_company_keeps_its_fleet,
            accounts_sessions_and_lockout,
            texts_and_reminders,
            a_closure_notifies_or_cancels_what_it_hits,
            a_closure_rebooks_what_it_hits,
            no_shows_wait_for_every_gate_of_the_zone,
            passages_once_each_and_referrals,
            an_operator_names_the_booking,
            passages_follow_recording_order,
            change_log_in_order,
            restart_keeps_everything,
            administration,
            audit_trail,
        );
        #[test]
        fn random_sequences() {
            $crate::conformance::random_sequences($cases, || async { $backend });
        }
        #[test]
        fn passages_new_exactly_once() {
            $crate::conformance::passages_new_exactly_once($cases, || async { $backend });
        }
    };
    (@async $backend:expr; $($test:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            $crate::conformance::$test(&$backend).await;
        }
    )+};
}

// ---- fixtures ----------------------------------------------------------------------------

/// The tests' clock: 2026-11-26 00:00 UTC (03:00 in Amman).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
}

/// `hours` after [`now`].
pub fn at(hours: i64) -> DateTime<Utc> {
    now() + TimeDelta::hours(hours)
}

pub fn zone_id(id: &str) -> ZoneId {
    ZoneId::parse(id).unwrap()
}

fn act() -> ZoneId {
    zone_id("act")
}

pub fn company(id: &str) -> CompanyId {
    CompanyId::parse(id).unwrap()
}

/// A zone of 60-minute windows of `capacity` places, no company cap.
pub fn zone_config(id: &str, capacity: u32) -> ZoneConfig {
    let mut z = ZoneConfig::new(
        zone_id(id),
        format!("zone {id}"),
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(capacity),
    );
    z.rules.company_cap_percent = 100;
    z
}

/// Opens a store with zone `act` of `capacity` places a window.
pub async fn open_with_zone<B: Backend>(b: &B, capacity: u32) -> B::Store {
    let s = b.open().await;
    s.upsert_zone(zone_config("act", capacity)).await.unwrap();
    s
}

pub fn stop(zone: &str, hour: i64, t: TransactionType) -> Stop {
    Stop::new(zone_id(zone), at(hour), t, vec![])
}

pub fn visit(company_id: &str, key: &str, plate: &str, stops: Vec<Stop>) -> NewBooking {
    NewBooking {
        by: None,
        company: company(company_id),
        idempotency_key: key.into(),
        plate: Plate::parse(plate).unwrap(),
        epc: None,
        stops,
    }
}

/// A general-cargo visit of zone `act` in the window `hour` hours from now.
pub fn simple(company_id: &str, key: &str, plate: &str, hour: i64) -> NewBooking {
    visit(
        company_id,
        key,
        plate,
        vec![stop("act", hour, TransactionType::GeneralCargo)],
    )
}

async fn create(s: &impl Store, req: NewBooking) -> Booking {
    let c = s.create_booking(req, now()).await.unwrap();
    assert!(!c.replayed);
    c.booking
}

/// What the store answers to a request it must refuse.
async fn refused(s: &impl Store, req: NewBooking, at: DateTime<Utc>) -> Error {
    s.create_booking(req, at).await.unwrap_err()
}

/// `n` clients send `request(i)` at once; the answers in client order.
async fn race_to_book<S: Store>(
    s: &Arc<S>,
    n: usize,
    request: impl Fn(usize) -> NewBooking,
) -> Vec<crate::Result<CreatedBooking>> {
    race(n, |i| {
        let (s, req) = (Arc::clone(s), request(i));
        async move { s.create_booking(req, now()).await }
    })
    .await
}

async fn all_bookings(s: &impl Store) -> Vec<Booking> {
    list(s, BookingFilter::default()).await
}

async fn list(s: &impl Store, filter: BookingFilter) -> Vec<Booking> {
    s.list_bookings(filter, None, 10_000).await.unwrap()
}

/// Places booked in zone `zone`'s windows `from..to` hours from now.
async fn booked(s: &impl Store, zone: &str, from: i64, to: i64) -> Vec<u32> {
    let windows = s.list_windows(zone_id(zone), at(from), at(to), 100).await;
    windows.unwrap().iter().map(|w| w.booked).collect()
}

fn ids(bookings: &[Booking]) -> Vec<BookingId> {
    bookings.iter().map(|b| b.id).collect()
}

fn sorted(mut ids: Vec<BookingId>) -> Vec<BookingId> {
    ids.sort();
    ids
}

fn domain(e: &Error) -> &DomainError {
    match e {
        Error::Domain(d) => d,
        other => panic!("expected a domain refusal, got {other}"),
    }
}

fn is_precondition(e: &Error) -> bool {
    matches!(domain(e), DomainError::Precondition(_))
}

fn is_invalid(e: &Error) -> bool {
    matches!(domain(e), DomainError::Invalid { .. })
}

/// Runs `n` tasks at once; their results in task order.
pub async fn race<T, Fut>(n: usize, task: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A gate passage of `b`'s truck in zone `act`.
pub fn passage(n: u128, b: &Booking, direction: Direction, verdict: Verdict, hour: i64) -> Passage {
    let t = at(hour);
    Passage {
        id: PassageId::new(t, n),
        zone: act(),
        gate: GateId::parse("act-north").unwrap(),
        lane: LaneId::parse("lane-1").unwrap(),
        direction,
        first_read_at: t,
        last_read_at: t,
        decided_at: t,
        plate: Some(b.plate.clone()),
        confidence: Some(90),
        epc: None,
        verdict,
        reasons: vec![],
        booking: Some(b.id),
        offline: false,
    }
}

async fn reopen<B: Backend>(b: &B, s: B::Store) -> B::Store {
    b.close(s).await;
    b.open().await
}

fn unwrap_arc<S>(s: Arc<S>) -> S {
    Arc::try_unwrap(s).ok().unwrap()
}

/// The invariants that hold whatever happened: no window over its capacity, its type limits
/// or a company's cap; the counters equal a recount of the bookings that hold places; no
/// truck holds two overlapping active visits.
pub async fn check_invariants(s: &impl Store, zone: &ZoneId, from: i64, to: i64) {
    let cfg = s.zone(zone.clone()).await.unwrap();
    let bookings = all_bookings(s).await;
    // One container, one active job of each type.
    let mut jobs = BTreeSet::new();
    for b in bookings.iter().filter(|b| b.state.is_active()) {
        for st in &b.stops {
            for c in &st.containers {
                let job = (c.clone(), st.transaction_type);
                assert!(
                    jobs.insert(job),
                    "{c} in two active {:?} bookings",
                    st.transaction_type
                );
            }
        }
    }
    // A recount from the bookings that hold places.
    let mut recount: BTreeMap<DateTime<Utc>, WindowUsage> = BTreeMap::new();
    for b in bookings.iter().filter(|b| b.state.holds_capacity()) {
        for st in b.stops.iter().filter(|st| st.zone == *zone) {
            let u = recount.entry(st.window_start).or_default();
            u.booked += 1;
            u.per_type[st.transaction_type.index()] += 1;
            *u.per_company.entry(b.company.clone()).or_default() += 1;
        }
    }
    for w in s
        .list_windows(zone.clone(), at(from), at(to), 1000)
        .await
        .unwrap()
    {
        let u = recount.remove(&w.start).unwrap_or_default();
        assert_eq!(
            (w.booked, w.booked_per_type),
            (u.booked, u.per_type),
            "window {}",
            w.start
        );
        // A closure may shut windows that hold bookings: the bound is for open windows.
        if w.closure.is_some() {
            continue;
        }
        let cap = w.capacity;
        assert!(w.booked <= cap.total, "window {} over capacity", w.start);
        for t in TransactionType::ALL {
            assert!(w.booked_per_type[t.index()] <= cap.for_type(t));
        }
        for (c, held) in u.per_company {
            assert!(
                held <= cfg.company_cap(&c, cap.total),
                "{c} over its cap in {}",
                w.start
            );
        }
    }
    let zones: BTreeMap<_, _> = s
        .zones()
        .await
        .unwrap()
        .into_iter()
        .map(|z| (z.id.clone(), z))
        .collect();
    let active: Vec<&Booking> = bookings.iter().filter(|b| b.state.is_active()).collect();
    for (i, a) in active.iter().enumerate() {
        for b in &active[i + 1..] {
            let (sa, ea) = bawaba_domain::rules::visit_span(&a.stops, &zones);
            let (sb, eb) = bawaba_domain::rules::visit_span(&b.stops, &zones);
            assert!(
                a.plate != b.plate || !(sa < eb && sb < ea),
                "truck {} holds overlapping visits {} and {}",
                a.plate,
                a.id,
                b.id
            );
        }
    }
}

// ---- the tests ---------------------------------------------------------------------------

/// Create, get, list, move and cancel; who may see what.
pub async fn bookings_round_trip<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let acme = Actor::Company(company("acme"));
    let a = create(&s, simple("acme", "k1", "601", 5)).await;
    assert_eq!(
        (a.state, a.revision, a.stops[0].window_start),
        (BookingState::Booked, 1, at(5))
    );
    let b2 = create(&s, simple("acme", "k2", "602", 6)).await;
    let c = create(&s, simple("beta", "k1", "603", 5)).await;

    assert_eq!(s.get_booking(acme.clone(), a.id).await.unwrap(), a);
    assert_eq!(s.get_booking(Actor::Authority, c.id).await.unwrap(), c);
    let missing = BookingId::new(now(), 42);
    // Another company's booking and a missing one look the same to a company.
    for id in [c.id, missing] {
        let e = s.get_booking(acme.clone(), id).await.unwrap_err();
        assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    }
    let e = s.get_booking(Actor::Authority, missing).await.unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");

    assert_eq!(
        ids(&all_bookings(&s).await),
        sorted(vec![a.id, b2.id, c.id])
    );
    let of = |company_id: &str| BookingFilter {
        company: Some(company(company_id)),
        ..BookingFilter::default()
    };
    assert_eq!(ids(&list(&s, of("acme")).await), sorted(vec![a.id, b2.id]));
    let later = BookingFilter {
        window_from: Some(at(6)),
        ..BookingFilter::default()
    };
    assert_eq!(ids(&list(&s, later).await), vec![b2.id]);
    let earlier = BookingFilter {
        window_to: Some(at(6)),
        zone: Some(act()),
        state: Some(BookingState::Booked),
        ..BookingFilter::default()
    };
    assert_eq!(ids(&list(&s, earlier).await), sorted(vec![a.id, c.id]));
    let other_zone = BookingFilter {
        zone: Some(zone_id("yard")),
        ..BookingFilter::default()
    };
    assert!(list(&s, other_zone).await.is_empty());
    let truck = |plate: &str| BookingFilter {
        plate: Some(Plate::parse(plate).unwrap()),
        ..BookingFilter::default()
    };
    let truck_of_a = a.plate.to_string();
    assert_eq!(ids(&list(&s, truck(&truck_of_a)).await), vec![a.id]);
    assert!(list(&s, truck("60-99999")).await.is_empty());
    // Pages follow id order.
    let all = all_bookings(&s).await;
    let first = s.list_bookings(BookingFilter::default(), None, 1).await;
    assert_eq!(first.unwrap(), all[..1]);
    let rest = s.list_bookings(BookingFilter::default(), Some(all[0].id), 10);
    assert_eq!(rest.await.unwrap(), all[1..]);

    let moved = s
        .move_booking(acme.clone(), a.id, 0, at(7), now())
        .await
        .unwrap();
    assert_eq!((moved.stops[0].window_start, moved.revision), (at(7), 2));
    assert_eq!(booked(&s, "act", 5, 8).await, vec![1, 1, 1]);

    let e = s
        .cancel_booking(Actor::Company(company("beta")), a.id, String::new(), now())
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    let cancelled = s
        .cancel_booking(acme.clone(), b2.id, "no cargo".into(), now())
        .await
        .unwrap();
    assert_eq!(cancelled.state, BookingState::Cancelled);
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("no cargo"));
    assert_eq!(booked(&s, "act", 5, 8).await, vec![1, 0, 1]);
    assert_eq!(s.get_booking(acme, b2.id).await.unwrap(), cancelled);
    b.close(s).await;
}

/// 64 clients race for the last 10 places of a window: exactly 10 get one.
pub async fn capacity_never_exceeded<B: Backend>(b: &B) {
    let s = Arc::new(open_with_zone(b, 15).await);
    for i in 0..5 {
        create(
            &*s,
            simple("acme", &format!("pre{i}"), &format!("70{i}"), 5),
        )
        .await;
    }
    let results = race_to_book(&s, 64, |i| {
        simple("acme", &format!("k{i}"), &format!("60{i:03}"), 5)
    })
    .await;
    let mut ok = 0;
    for r in results {
        match r {
            Ok(_) => ok += 1,
            Err(Error::Domain(DomainError::WindowFull {
                transaction_type: None,
                alternatives,
                ..
            })) => {
                assert!(!alternatives.is_empty() && !alternatives.contains(&at(5)));
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(booked(&*s, "act", 5, 6).await, vec![15]);
    // Moving into the full window is refused alike, and changes nothing.
    let elsewhere = create(&*s, simple("acme", "m1", "800", 8)).await;
    let e = s
        .move_booking(Actor::Authority, elsewhere.id, 0, at(5), now())
        .await
        .unwrap_err();
    match domain(&e) {
        DomainError::WindowFull { alternatives, .. } => {
            assert!(!alternatives.is_empty() && !alternatives.contains(&at(5)));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(booked(&*s, "act", 5, 9).await, vec![15, 0, 0, 1]);
    check_invariants(&*s, &act(), 0, 24).await;
    b.close(unwrap_arc(s)).await;
}

/// A window split per transaction type never gives a type more than its share.
pub async fn per_type_split_never_exceeded<B: Backend>(b: &B) {
    let s = Arc::new(b.open().await);
    let mut z = zone_config("act", 10);
    z.template = CapacityTemplate::uniform(WindowCapacity {
        total: 10,
        per_type: Some([10, 10, 10, 10, 3]),
    });
    s.upsert_zone(z).await.unwrap();
    let results = race_to_book(&s, 20, |i| {
        simple("acme", &format!("g{i}"), &format!("60{i:03}"), 5)
    })
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 3);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                domain(e),
                DomainError::WindowFull {
                    transaction_type: Some(TransactionType::GeneralCargo),
                    ..
                }
            ),
            "{e}"
        );
    }
    let empty = |i: usize| {
        visit(
            "acme",
            &format!("e{i}"),
            &format!("70{i:03}"),
            vec![stop("act", 5, TransactionType::EmptyReturn)],
        )
    };
    for i in 0..7 {
        create(&*s, empty(i)).await;
    }
    let e = refused(&*s, empty(7), now()).await;
    assert!(
        matches!(
            domain(&e),
            DomainError::WindowFull {
                transaction_type: None,
                ..
            }
        ),
        "{e}"
    );
    let w = s.list_windows(act(), at(5), at(6), 1).await.unwrap();
    assert_eq!((w[0].booked, w[0].booked_per_type), (10, [0, 0, 7, 0, 3]));
    b.close(unwrap_arc(s)).await;
}

/// A company never holds more than its cap of a window, whatever races.
pub async fn company_caps_never_exceeded<B: Backend>(b: &B) {
    let s = Arc::new(b.open().await);
    let mut z = zone_config("act", 10);
    z.rules.company_cap_percent = 30;
    s.upsert_zone(z).await.unwrap();
    let results = race_to_book(&s, 20, |i| {
        simple("acme", &format!("k{i}"), &format!("60{i:03}"), 5)
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        match domain(e) {
            DomainError::CompanyCap {
                held: 3,
                cap: 3,
                alternatives,
                ..
            } => assert!(!alternatives.is_empty() && !alternatives.contains(&at(5))),
            other => panic!("unexpected {other}"),
        }
    }
    create(&*s, simple("beta", "b1", "700", 5)).await;
    s.set_company_cap(act(), company("acme"), Some(50))
        .await
        .unwrap();
    create(&*s, simple("acme", "more1", "701", 5)).await;
    create(&*s, simple("acme", "more2", "702", 5)).await;
    let e = refused(&*s, simple("acme", "more3", "703", 5), now()).await;
    assert!(
        matches!(
            domain(&e),
            DomainError::CompanyCap {
                held: 5,
                cap: 5,
                ..
            }
        ),
        "{e}"
    );
    check_invariants(&*s, &act(), 0, 24).await;
    // Lowering a cap keeps the places held; it refuses more.
    s.set_company_cap(act(), company("acme"), None)
        .await
        .unwrap();
    let e = refused(&*s, simple("acme", "more4", "704", 5), now()).await;
    assert!(
        matches!(
            domain(&e),
            DomainError::CompanyCap {
                held: 5,
                cap: 3,
                ..
            }
        ),
        "{e}"
    );
    let gc = TransactionType::GeneralCargo;
    let for_acme = s
        .find_slots(act(), gc, Some(company("acme")), at(5), 3, now())
        .await
        .unwrap();
    assert!(!for_acme.is_empty() && for_acme.iter().all(|w| w.start != at(5)));
    let for_anyone = s
        .find_slots(act(), gc, None, at(5), 1, now())
        .await
        .unwrap();
    assert_eq!((for_anyone[0].start, for_anyone[0].booked), (at(5), 6));
    b.close(unwrap_arc(s)).await;
}

/// A retried request is answered with what it made; a different request under a used key is
/// refused; concurrent duplicates resolve to one booking.
pub async fn idempotency<B: Backend>(b: &B) {
    let s = Arc::new(open_with_zone(b, 50).await);
    let first = create(&*s, simple("acme", "k1", "601", 5)).await;
    let again = s
        .create_booking(simple("acme", "k1", "601", 5), now())
        .await
        .unwrap();
    assert_eq!(
        again,
        CreatedBooking {
            booking: first.clone(),
            replayed: true
        }
    );
    // Keys are per company.
    let other = create(&*s, simple("beta", "k1", "602", 6)).await;
    assert_ne!(other.id, first.id);
    let e = refused(&*s, simple("acme", "k1", "603", 7), now()).await;
    assert_eq!(
        domain(&e),
        &DomainError::IdempotencyConflict {
            key: "k1".into(),
            existing: first.id
        }
    );

    let same = race_to_book(&s, 16, |_| simple("acme", "dup", "604", 8)).await;
    let same: Vec<CreatedBooking> = same.into_iter().map(Result::unwrap).collect();
    assert_eq!(same.iter().filter(|c| !c.replayed).count(), 1);
    assert!(same.iter().all(|c| c.booking.id == same[0].booking.id));

    let clash = race_to_book(&s, 16, |i| simple("acme", "clash", &format!("61{i:02}"), 9)).await;
    assert_eq!(clash.iter().filter(|r| r.is_ok()).count(), 1);
    for e in clash.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(domain(e), DomainError::IdempotencyConflict { .. }),
            "{e}"
        );
    }
    assert_eq!(booked(&*s, "act", 8, 10).await, vec![1, 1]);
    b.close(unwrap_arc(s)).await;
}

/// One truck never holds two overlapping visits, even when requests race.
pub async fn overlapping_visits_refused<B: Backend>(b: &B) {
    let s = Arc::new(open_with_zone(b, 10).await);
    let a = create(&*s, simple("acme", "k1", "601", 5)).await;
    let e = refused(&*s, simple("beta", "k2", "601", 5), now()).await;
    assert!(is_precondition(&e), "{e}");
    // The next window does not overlap.
    let next = create(&*s, simple("acme", "k3", "601", 6)).await;

    let results = race_to_book(&s, 16, |i| simple("acme", &format!("r{i}"), "602", 8)).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(is_precondition(e), "{e}");
    }

    let far = create(&*s, simple("acme", "k4", "601", 10)).await;
    let e = s
        .move_booking(Actor::Authority, far.id, 0, at(6), now())
        .await
        .unwrap_err();
    assert!(is_precondition(&e), "{e}");
    s.move_booking(Actor::Authority, far.id, 0, at(7), now())
        .await
        .unwrap();
    s.cancel_booking(Actor::Authority, a.id, String::new(), now())
        .await
        .unwrap();
    create(&*s, simple("acme", "k5", "601", 5)).await;
    assert_eq!(booked(&*s, "act", 5, 9).await, vec![1, 1, 1, 1]);
    assert_eq!(next.stops[0].window_start, at(6));
    check_invariants(&*s, &act(), 0, 24).await;
    b.close(unwrap_arc(s)).await;
}

/// A visit of several stops takes all its windows or none.
pub async fn multi_stop_all_or_nothing<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    s.upsert_zone(zone_config("yard", 1)).await.unwrap();
    let gc = TransactionType::GeneralCargo;
    create(&s, visit("beta", "y1", "701", vec![stop("yard", 6, gc)])).await;
    let e = s
        .create_booking(
            visit(
                "acme",
                "k1",
                "601",
                vec![stop("act", 5, gc), stop("yard", 6, gc)],
            ),
            now(),
        )
        .await
        .unwrap_err();
    match domain(&e) {
        DomainError::WindowFull {
            zone, window_start, ..
        } => assert_eq!((zone, *window_start), (&zone_id("yard"), at(6))),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(booked(&s, "act", 5, 6).await, vec![0]);
    assert_eq!(booked(&s, "yard", 6, 7).await, vec![1]);

    let two = create(
        &s,
        visit(
            "acme",
            "k2",
            "601",
            vec![stop("act", 5, gc), stop("yard", 7, gc)],
        ),
    )
    .await;
    assert_eq!(booked(&s, "act", 5, 6).await, vec![1]);
    assert_eq!(booked(&s, "yard", 6, 8).await, vec![1, 1]);
    // One change-log entry per zone the visit touches.
    let Changes::Snapshot { seq, bookings } = s.changes(act(), 0, 10, now()).await.unwrap() else {
        panic!("a new follower gets a snapshot");
    };
    assert_eq!((seq, ids(&bookings)), (1, vec![two.id]));
    let Changes::Snapshot { seq, .. } = s.changes(zone_id("yard"), 0, 10, now()).await.unwrap()
    else {
        panic!("a new follower gets a snapshot");
    };
    assert_eq!(seq, 2);
    s.cancel_booking(Actor::Authority, two.id, String::new(), now())
        .await
        .unwrap();
    assert_eq!(booked(&s, "act", 5, 6).await, vec![0]);
    assert_eq!(booked(&s, "yard", 6, 8).await, vec![1, 0]);
    for (zone, after) in [("act", 1), ("yard", 2)] {
        let Changes::Entries { entries: e, .. } =
            s.changes(zone_id(zone), after, 10, now()).await.unwrap()
        else {
            panic!("entries");
        };
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].booking.state, BookingState::Cancelled);
    }
    b.close(s).await;
}

/// Aligned windows, not past, within the horizon, before the cut-offs.
pub async fn time_rules<B: Backend>(b: &B) {
    let s = open_with_zone(b, 10).await;
    let mut misaligned = simple("acme", "k1", "601", 5);
    misaligned.stops[0].window_start += TimeDelta::minutes(7);
    for (req, when) in [
        (misaligned, now()),
        (simple("acme", "k2", "601", -1), now()),
        (simple("acme", "k3", "601", 24 * 8), now()),
    ] {
        let e = refused(&s, req, when).await;
        assert!(is_invalid(&e), "{e}");
    }
    let late = now() + TimeDelta::minutes(1);
    let e = refused(&s, simple("acme", "k4", "601", 1), late).await;
    assert!(is_precondition(&e), "{e}");

    let b3 = create(&s, simple("acme", "k5", "602", 3)).await;
    let after_cutoff = now() + TimeDelta::minutes(150);
    let acme = Actor::Company(company("acme"));
    let e = s
        .move_booking(acme.clone(), b3.id, 0, at(5), after_cutoff)
        .await
        .unwrap_err();
    assert!(is_precondition(&e), "{e}");
    let e = s
        .cancel_booking(acme, b3.id, String::new(), after_cutoff)
        .await
        .unwrap_err();
    assert!(is_precondition(&e), "{e}");
    let moved = s
        .move_booking(Actor::Authority, b3.id, 0, at(5), after_cutoff)
        .await
        .unwrap();
    assert_eq!(moved.stops[0].window_start, at(5));
    assert_eq!(all_bookings(&s).await.len(), 1);
    b.close(s).await;
}

/// A closure zeroes its windows and names the bookings it hits; removing it reopens them.
pub async fn closures_and_the_hit_list<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let hit = create(&s, simple("acme", "k1", "601", 5)).await;
    let gone = create(&s, simple("acme", "k2", "602", 6)).await;
    s.cancel_booking(Actor::Authority, gone.id, String::new(), now())
        .await
        .unwrap();
    create(&s, simple("acme", "k3", "603", 9)).await;
    let (closure, affected) = s
        .add_closure(act(), at(5), at(7), "flash flood".into())
        .await
        .unwrap();
    assert_eq!((closure.id, closure.reason.as_str()), (1, "flash flood"));
    assert_eq!(ids(&affected), vec![hit.id]);
    let windows = s.list_windows(act(), at(4), at(8), 10).await.unwrap();
    let view: Vec<_> = windows
        .iter()
        .map(|w| (w.capacity.total, w.closure.as_deref()))
        .collect();
    assert_eq!(
        view,
        vec![
            (5, None),
            (0, Some("flash flood")),
            (0, Some("flash flood")),
            (5, None)
        ]
    );
    // Booking into the closed window is refused naming the closure, with open windows.
    let e = refused(&s, simple("beta", "b1", "604", 6), now()).await;
    match domain(&e) {
        DomainError::ZoneClosed(c) => {
            assert_eq!(
                (c.closure, c.reason.as_str(), c.until),
                (1, "flash flood", at(7))
            );
            let alternatives = &c.alternatives;
            assert!(
                !alternatives.is_empty()
                    && !alternatives.contains(&at(5))
                    && !alternatives.contains(&at(6)),
                "{alternatives:?}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    // Moving a booking into it likewise.
    let spared = s
        .list_bookings(BookingFilter::default(), None, 10)
        .await
        .unwrap();
    let later = spared
        .iter()
        .find(|b| b.stops[0].window_start == at(9))
        .unwrap();
    let acme = Actor::Company(company("acme"));
    let e = s
        .move_booking(acme, later.id, 0, at(6), now())
        .await
        .unwrap_err();
    assert!(
        matches!(domain(&e), DomainError::ZoneClosed(c) if c.closure == 1),
        "{e}"
    );
    assert_eq!(s.zone(act()).await.unwrap().closures, vec![closure.clone()]);
    let z = s.remove_closure(act(), closure.id).await.unwrap();
    assert!(z.closures.is_empty());
    create(&s, simple("beta", "b2", "604", 6)).await;
    let e = s.remove_closure(act(), closure.id).await.unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    let e = s
        .add_closure(act(), at(7), at(7), "nothing".into())
        .await
        .unwrap_err();
    assert!(is_invalid(&e), "{e}");
    b.close(s).await;
}

/// An alert closes a zone in the same commit as its record: the zone remembers the alert
/// across a restart, so the same alert again changes nothing; its cancellation lifts the
/// closure; both are in the audit trail under the alerts feed's name.
pub async fn alerts_close_once_and_are_remembered<B: Backend>(b: &B) {
    use bawaba_domain::alert::{AlertClosure, AlertEffect, AlertOrder};
    use bawaba_domain::ledger::Administered;
    let s = open_with_zone(b, 5).await;
    let hit = create(&s, simple("acme", "k1", "601", 5)).await;
    let hit_too = create(&s, simple("beta", "k2", "602", 6)).await;
    let feed = Who {
        name: "early-warning".into(),
        role: Some(Role::Alerts),
        door: Door::Web,
        ..Who::default()
    };
    let order = |key: &str, refs: &[&str], close: bool| AlertOrder {
        key: key.into(),
        references: refs.iter().map(|r| r.to_string()).collect(),
        close: close.then(|| AlertClosure {
            from: at(5),
            to: at(7),
            reason: "flash flood warning".into(),
        }),
        confirm: false,
        policy: ClosurePolicy::Notify,
    };
    let apply = |o: AlertOrder| AdminChange::ApplyAlert {
        zone: act(),
        order: o,
    };
    let done = s
        .administer(apply(order("jmd,1", &[], true)), feed.clone(), now())
        .await;
    let Ok(Administered::Alert(done)) = done else {
        panic!("{done:?}")
    };
    assert_eq!(done.effect, AlertEffect::Closed);
    let mut expected = vec![hit.id, hit_too.id];
    expected.sort();
    assert_eq!(ids(&done.hit), expected, "every booking it hits");
    let s = reopen(b, s).await;
    let z = s.zone(act()).await.unwrap();
    assert_eq!((z.closures.len(), z.alerts.len()), (1, 1), "{z:?}");
    let again = s
        .administer(apply(order("jmd,1", &[], true)), feed.clone(), now())
        .await;
    assert!(
        matches!(again, Ok(Administered::Alert(ref a)) if a.repeated),
        "{again:?}"
    );
    assert_eq!(s.zone(act()).await.unwrap().closures.len(), 1);
    let lifted = s
        .administer(apply(order("jmd,2", &["jmd,1"], false)), feed, now())
        .await;
    let Ok(Administered::Alert(lifted)) = lifted else {
        panic!("{lifted:?}")
    };
    assert_eq!(lifted.effect, AlertEffect::Lifted);
    assert_eq!(
        ids(&lifted.can_return),
        expected,
        "the bookings it freed can come as booked"
    );
    assert!(s.zone(act()).await.unwrap().closures.is_empty());
    let by_feed = AuditFilter {
        actor: Some("early-warning".into()),
        ..AuditFilter::default()
    };
    let trail = audit_of(&s, by_feed).await;
    let kinds: Vec<_> = trail.iter().map(|e| e.record.kind).collect();
    assert_eq!(
        kinds,
        vec![AuditKind::ClosureRemoved, AuditKind::ClosureAdded]
    );
    assert!(
        trail
            .iter()
            .all(|e| e.record.who.role == Some(Role::Alerts))
    );
    assert!(trail[1].record.objects.contains(&"alert:jmd,1".to_owned()));
    b.close(s).await;
}

/// A watchlist entry is kept with its zone's configuration, in the same commit as its audit
/// record, and survives a restart; a lapsed one is dropped at the next change.
pub async fn the_watchlist_is_kept_with_the_zone<B: Backend>(b: &B) {
    use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
    let s = open_with_zone(b, 5).await;
    let entry = |plate: &str, until: Option<i64>| WatchEntry {
        target: WatchTarget::Plate(Plate::parse(plate).unwrap()),
        reason: "stolen".into(),
        action: WatchAction::Deny,
        until: until.map(at),
        added: now(),
    };
    let desk = Who::named("security-desk");
    let watch = |e| AdminChange::Watch {
        zone: act(),
        entry: e,
    };
    s.administer(watch(entry("60-12345", None)), desk.clone(), now())
        .await
        .unwrap();
    s.administer(watch(entry("70-11111", Some(2))), desk.clone(), now())
        .await
        .unwrap();
    let s = reopen(b, s).await;
    let z = s.zone(act()).await.unwrap();
    assert_eq!(z.watch.len(), 2, "{z:?}");
    s.administer(watch(entry("80-22222", None)), desk.clone(), at(3))
        .await
        .unwrap();
    let kept: Vec<_> = s
        .zone(act())
        .await
        .unwrap()
        .watch
        .iter()
        .map(|w| w.target.to_string())
        .collect();
    assert_eq!(
        kept,
        vec!["plate:6012345", "plate:8022222"],
        "the lapsed entry is gone"
    );
    let by_desk = AuditFilter {
        actor: Some("security-desk".into()),
        kind: Some(AuditKind::WatchAdded),
        ..AuditFilter::default()
    };
    assert_eq!(audit_of(&s, by_desk).await.len(), 3);
    b.close(s).await;
}

/// An official of the authority, through the API.
fn official() -> Who {
    Who {
        token: Some("0123456789ab".into()),
        name: "ops-lead".into(),
        role: Some(Role::Authority),
        door: Door::Grpc,
        ..Who::default()
    }
}

async fn audit_of(s: &impl Store, filter: AuditFilter) -> Vec<AuditEntry> {
    s.audit(filter, None, 100).await.unwrap()
}

/// The changes people make are in the audit trail, written with them: administrative
/// changes, an official's change to a booking, an operator's decision; numbered in commit
/// order, listed newest first, filtered and paged. A refused change and a company's own
/// change leave no record; the trail and its numbering survive a restart.
pub async fn audit_trail<B: Backend>(b: &B) {
    let s = open_with_zone(b, 10).await;
    let cap = AdminChange::SetCompanyCap {
        zone: act(),
        company: company("acme"),
        percent: Some(40),
    };
    s.administer(cap.clone(), official(), at(1)).await.unwrap();
    let mut nowhere = cap;
    if let AdminChange::SetCompanyCap { zone, .. } = &mut nowhere {
        *zone = zone_id("nowhere");
    }
    s.administer(nowhere, official(), at(1)).await.unwrap_err();
    let booking = create(&s, simple("acme", "k1", "601", 5)).await;
    let close = AdminChange::AddClosure {
        zone: act(),
        from: at(5),
        to: at(6),
        reason: "flash flood".into(),
        policy: ClosurePolicy::Notify,
    };
    s.administer(close, official(), at(2)).await.unwrap();
    let acme = Actor::Company(company("acme"));
    s.move_booking(acme, booking.id, 0, at(8), now())
        .await
        .unwrap();
    let by_official = Actor::Official(Box::new(official()));
    s.cancel_booking(by_official, booking.id, "closure".into(), at(3))
        .await
        .unwrap();
    let mut on_behalf = simple("beta", "k2", "602", 9);
    on_behalf.by = Some(Box::new(official()));
    let made = create(&s, on_behalf).await;

    let mine = AuditFilter {
        actor: Some("ops-lead".into()),
        ..AuditFilter::default()
    };
    let trail = audit_of(&s, mine.clone()).await;
    let kinds: Vec<_> = trail.iter().map(|e| e.record.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::BookingCancelled,
            AuditKind::ClosureAdded,
            AuditKind::CompanyCapSet,
            AuditKind::BookingCreated
        ]
    );
    // Newest first by the time of the change (the booking made "now" comes last though it
    // was written last), then by number.
    let order = |e: &AuditEntry| (e.record.at, e.seq);
    assert!(
        trail.windows(2).all(|w| order(&w[0]) > order(&w[1])),
        "{trail:?}"
    );
    assert!(trail.iter().all(|e| e.record.who == official()));
    let cap = &trail[2].record;
    assert_eq!(cap.zone, Some(act()));
    assert_eq!(
        cap.changes,
        [FieldChange {
            field: "company_cap.acme".into(),
            before: String::new(),
            after: "40%".into(),
        }]
    );
    let closure = &trail[1].record;
    assert_eq!(closure.objects[0], "closure:act/1");
    assert!(closure.objects.contains(&format!("booking:{}", booking.id)));
    assert_eq!(closure.changes[0].field, "closure.1");
    assert!(closure.changes[0].after.contains("flash flood"));
    let cancel = &trail[0].record;
    assert_eq!(cancel.at, at(3));
    let state = cancel.changes.iter().find(|c| c.field == "state").unwrap();
    assert_eq!(
        (state.before.as_str(), state.after.as_str()),
        ("BOOKED", "CANCELLED")
    );
    // The set-up by the system is recorded as the system's.
    let all = audit_of(&s, AuditFilter::default()).await;
    assert_eq!(all.len(), 5, "the company's move is not audited: {all:?}");
    let created = &trail[3].record;
    assert_eq!(
        created.objects,
        [format!("booking:{}", made.id), "company:beta".into()]
    );
    assert!(created.changes.iter().all(|c| c.before.is_empty()));
    assert!(
        created
            .changes
            .iter()
            .any(|c| c.field == "plate" && c.after == "602")
    );
    assert!(
        all.iter()
            .any(|e| e.record.kind == AuditKind::ZoneSaved && e.record.who == Who::system())
    );
    // Filters and pages.
    let by_token = AuditFilter {
        actor: Some("0123456789ab".into()),
        ..AuditFilter::default()
    };
    assert_eq!(audit_of(&s, by_token).await, trail);
    let closures = AuditFilter {
        kind: Some(AuditKind::ClosureAdded),
        ..AuditFilter::default()
    };
    assert_eq!(audit_of(&s, closures).await, trail[1..2]);
    let other_zone = AuditFilter {
        zone: Some(zone_id("siz")),
        ..AuditFilter::default()
    };
    assert!(audit_of(&s, other_zone).await.is_empty());
    let window = AuditFilter {
        from: Some(at(2)),
        to: Some(at(3)),
        ..mine.clone()
    };
    assert_eq!(audit_of(&s, window).await, trail[1..2]);
    let first = &trail[0];
    let rest = s
        .audit(mine.clone(), Some((first.record.at, first.seq)), 1)
        .await
        .unwrap();
    assert_eq!(rest, trail[1..2]);

    let s = reopen(b, s).await;
    assert_eq!(audit_of(&s, mine.clone()).await, trail);
    s.administer(
        AdminChange::RemoveClosure { zone: act(), id: 1 },
        official(),
        at(4),
    )
    .await
    .unwrap();
    let after = audit_of(&s, mine).await;
    assert_eq!(after[0].record.kind, AuditKind::ClosureRemoved);
    let highest = all.iter().map(|e| e.seq).max().unwrap();
    assert_eq!(
        after[0].seq,
        highest + 1,
        "numbering goes on after a restart"
    );
    b.close(s).await;
}

/// A gate that has not reported past a booking's entry period holds its zone's no-shows
/// back; its passage takes a no-show back; the report marks survive a restart and never go
/// back.
pub async fn no_shows_wait_for_every_gate_of_the_zone<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    s.upsert_gate(gate("act-north", "act")).await.unwrap();
    s.upsert_gate(gate("act-south", "act")).await.unwrap();
    let (north, south) = (
        GateId::parse("act-north").unwrap(),
        GateId::parse("act-south").unwrap(),
    );
    // Window 02:00-03:00, entry until 03:30.
    let came = create(&s, simple("acme", "k1", "601", 2)).await;
    let away = create(&s, simple("acme", "k2", "602", 2)).await;
    s.report_passages_through(Vec::new(), Some((north.clone(), at(5))))
        .await
        .unwrap();
    s.report_passages_through(Vec::new(), Some((south.clone(), at(1))))
        .await
        .unwrap();
    // act-south let the truck in offline at 02:10 and has reported only up to 01:00.
    assert!(s.sweep_no_shows(at(6)).await.unwrap().is_empty());
    let s = reopen(b, s).await;
    assert_eq!(
        s.reported().await.unwrap(),
        BTreeMap::from([(north.clone(), at(5)), (south.clone(), at(1))])
    );
    assert!(
        s.sweep_no_shows(at(6)).await.unwrap().is_empty(),
        "after a restart too"
    );
    let mut p = passage(1, &came, Direction::In, Verdict::Allow, 2);
    p.gate = south.clone();
    p.offline = true;
    s.report_passages_through(vec![p], Some((south.clone(), at(6))))
        .await
        .unwrap();
    // An older mark changes nothing.
    s.report_passages_through(Vec::new(), Some((south.clone(), at(3))))
        .await
        .unwrap();
    assert_eq!(s.reported().await.unwrap().get(&south), Some(&at(6)));
    assert_eq!(s.sweep_no_shows(at(6)).await.unwrap(), vec![away.id]);
    let state = async |id| s.get_booking(Actor::Authority, id).await.unwrap().state;
    assert_eq!(state(came.id).await, BookingState::Entered);
    assert_eq!(state(away.id).await, BookingState::NoShow);
    // A passage that arrives after the sweep still proves the truck came.
    let late = create(&s, simple("beta", "k3", "603", 3)).await;
    assert_eq!(s.sweep_no_shows(at(7)).await.unwrap(), vec![late.id]);
    assert_eq!(s.no_shows().await.unwrap().get(&company("beta")), Some(&1));
    let p = passage(2, &late, Direction::In, Verdict::Allow, 3);
    s.report_passages(vec![p]).await.unwrap();
    assert_eq!(state(late.id).await, BookingState::Entered);
    assert_eq!(
        s.no_shows()
            .await
            .unwrap()
            .get(&company("beta"))
            .copied()
            .unwrap_or(0),
        0
    );
    let trail = s.audit(AuditFilter::default(), None, 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.record.kind == AuditKind::NoShowTakenBack
                && e.record.objects.contains(&format!("booking:{}", late.id))),
        "the take-back is audited"
    );
    b.close(s).await;
}

/// Cancelled, entered and no-show bookings cannot go back.
pub async fn states_only_move_forward<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let auth = Actor::Authority;
    let a = create(&s, simple("acme", "k1", "601", 5)).await;
    s.cancel_booking(auth.clone(), a.id, String::new(), now())
        .await
        .unwrap();
    let entered = create(&s, simple("acme", "k2", "602", 6)).await;
    let p = passage(1, &entered, Direction::In, Verdict::Allow, 6);
    s.report_passages(vec![p]).await.unwrap();
    let late = create(&s, simple("acme", "k3", "603", 2)).await;
    assert_eq!(s.sweep_no_shows(at(4)).await.unwrap(), vec![late.id]);
    for (id, state) in [
        (a.id, BookingState::Cancelled),
        (entered.id, BookingState::Entered),
        (late.id, BookingState::NoShow),
    ] {
        let before = s.get_booking(auth.clone(), id).await.unwrap();
        assert_eq!(before.state, state);
        let e = s
            .cancel_booking(auth.clone(), id, String::new(), now())
            .await
            .unwrap_err();
        assert!(is_precondition(&e), "{e}");
        let e = s
            .move_booking(auth.clone(), id, 0, at(8), now())
            .await
            .unwrap_err();
        assert!(is_precondition(&e), "{e}");
        assert_eq!(s.get_booking(auth.clone(), id).await.unwrap(), before);
    }
    b.close(s).await;
}

/// The sweep marks every booked visit whose truck can no longer enter, once; no-shows keep
/// their places and are counted per company.
pub async fn no_show_sweep<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let early = create(&s, simple("acme", "k1", "601", 2)).await;
    let later = create(&s, simple("acme", "k2", "602", 3)).await;
    let inside = create(&s, simple("beta", "k3", "603", 2)).await;
    let future = create(&s, simple("acme", "k4", "604", 10)).await;
    let p = passage(1, &inside, Direction::In, Verdict::Allow, 2);
    s.report_passages(vec![p]).await.unwrap();
    assert!(s.sweep_no_shows(now()).await.unwrap().is_empty());
    // The entry period ends 30 minutes after the window.
    assert_eq!(s.sweep_no_shows(at(4)).await.unwrap(), vec![early.id]);
    assert!(s.sweep_no_shows(at(4)).await.unwrap().is_empty());
    assert_eq!(s.sweep_no_shows(at(6)).await.unwrap(), vec![later.id]);
    let state = async |id| s.get_booking(Actor::Authority, id).await.unwrap().state;
    assert_eq!(state(early.id).await, BookingState::NoShow);
    assert_eq!(state(later.id).await, BookingState::NoShow);
    assert_eq!(state(inside.id).await, BookingState::Entered);
    assert_eq!(state(future.id).await, BookingState::Booked);
    assert_eq!(
        s.no_shows().await.unwrap(),
        BTreeMap::from([(company("acme"), 2)])
    );
    assert_eq!(booked(&s, "act", 2, 4).await, vec![2, 1]);
    b.close(s).await;
}

/// Every change to a company's bookings is one event of its log, numbered 1, 2, ... per
/// company and stored in the change's commit; a refused change appends nothing; a follower
/// pages from its cursor; the numbers go on after a restart.
pub async fn company_events_in_the_commit_of_their_change<B: Backend>(b: &B) {
    use bawaba_domain::event::EventKind::{self, *};
    let s = open_with_zone(b, 5).await;
    let one = create(&s, simple("acme", "k1", "601", 2)).await;
    let two = create(&s, simple("acme", "k2", "602", 5)).await;
    let theirs = create(&s, simple("beta", "k3", "603", 2)).await;
    s.move_booking(Actor::Company(company("acme")), two.id, 0, at(6), now())
        .await
        .unwrap();
    let refused = s
        .cancel_booking(Actor::Company(company("beta")), two.id, "x".into(), now())
        .await;
    assert!(refused.is_err());
    let entry = passage(1, &one, Direction::In, Verdict::Allow, 2);
    let exit = passage(2, &one, Direction::Out, Verdict::Allow, 3);
    s.report_passages(vec![entry, exit]).await.unwrap();
    s.sweep_no_shows(at(4)).await.unwrap();
    s.cancel_booking(Actor::Authority, two.id, "inspection".into(), now())
        .await
        .unwrap();
    let kinds = async |s: &B::Store, c: &str, after| -> (Vec<(u64, EventKind)>, u64) {
        let page = s.company_events(company(c), after, 100).await.unwrap();
        assert!(page.events.iter().all(|e| e.company == company(c)));
        let got = page.events.iter().map(|e| (e.seq, e.kind)).collect();
        (got, page.head)
    };
    let acme = vec![
        (1, Created),
        (2, Created),
        (3, Moved),
        (4, Entered),
        (5, Exited),
        (6, Cancelled),
    ];
    assert_eq!(kinds(&s, "acme", 0).await, (acme.clone(), 6));
    assert_eq!(
        kinds(&s, "beta", 0).await,
        (vec![(1, Created), (2, NoShow)], 2)
    );
    let beta = s.company_events(company("beta"), 0, 10).await.unwrap();
    assert!(beta.events.iter().all(|e| e.booking.id == theirs.id));
    assert_eq!(kinds(&s, "acme", 4).await, (acme[4..].to_vec(), 6));
    assert_eq!(kinds(&s, "nobody", 0).await, (vec![], 0));
    let page = s.company_events(company("acme"), 1, 2).await.unwrap();
    assert_eq!(page.events.len(), 2, "a page holds at most `limit`");
    let last = &s
        .company_events(company("acme"), 5, 1)
        .await
        .unwrap()
        .events[0];
    assert_eq!(
        last.booking,
        s.get_booking(Actor::Authority, two.id).await.unwrap()
    );
    assert_eq!(last.id(), "acme:6");
    let s = reopen(b, s).await;
    assert_eq!(kinds(&s, "acme", 0).await, (acme, 6));
    let three = create(&s, simple("acme", "k4", "604", 8)).await;
    let after = s.company_events(company("acme"), 6, 10).await.unwrap();
    assert_eq!(
        (after.events[0].seq, after.events[0].booking.id, after.head),
        (7, three.id, 7)
    );
    assert_eq!(after.events[0].zone, None);
    b.close(s).await;
}

/// A company's webhook starts after its newest event, keeps its progress when replaced,
/// records every attempt (newest first, paged) with the progress it leaves, audits its
/// changes without the secret, and is kept across a restart; a removed one drops its
/// progress and later attempts.
pub async fn webhooks_and_their_deliveries<B: Backend>(b: &B) {
    use bawaba_domain::notify::{Delivery, Outcome, RetryPolicy, Webhook};
    let s = open_with_zone(b, 5).await;
    create(&s, simple("acme", "k1", "601", 2)).await;
    let hook = |url: &str| Webhook::new(company("acme"), url, "0123456789abcdef", now()).unwrap();
    s.set_webhook(
        company("acme"),
        Some(hook("https://a.example/")),
        official(),
        now(),
    )
    .await
    .unwrap();
    let hooks = s.webhooks().await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].0.url.as_str(), hooks[0].1.cursor),
        ("https://a.example/", 1)
    );
    create(&s, simple("acme", "k2", "602", 3)).await;
    let policy = RetryPolicy::default();
    let mut progress = hooks[0].1.clone();
    let outcomes = [
        Outcome::Failed {
            status: Some(503),
            error: "busy".into(),
        },
        Outcome::Failed {
            status: None,
            error: "refused".into(),
        },
        Outcome::Delivered { status: 204 },
    ];
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let d = Delivery {
            company: company("acme"),
            seq: 2,
            attempt: progress.attempt(2),
            at: now() + TimeDelta::minutes(n as i64),
            outcome,
        };
        progress = progress.after(&d, &policy);
        s.record_delivery(d, progress.clone()).await.unwrap();
    }
    s.set_webhook(
        company("acme"),
        Some(hook("https://b.example/")),
        official(),
        now(),
    )
    .await
    .unwrap();
    let s = reopen(b, s).await;
    let hooks = s.webhooks().await.unwrap();
    assert_eq!(
        (hooks[0].0.url.as_str(), hooks[0].1.cursor),
        ("https://b.example/", 2)
    );
    let all = s.deliveries(company("acme"), None, 10).await.unwrap();
    let attempts: Vec<(u64, u32)> = all.iter().map(|d| (d.seq, d.attempt)).collect();
    assert_eq!(attempts, [(2, 3), (2, 2), (2, 1)], "newest first");
    let page = s
        .deliveries(company("acme"), Some((2, 3)), 1)
        .await
        .unwrap();
    assert_eq!(page[0].attempt, 2, "a listing continues before its last");
    assert!(
        s.deliveries(company("beta"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = s.audit(AuditFilter::default(), None, 50).await.unwrap();
    let set: Vec<_> = audit
        .iter()
        .filter(|e| e.record.kind == AuditKind::WebhookSet)
        .collect();
    assert_eq!(set.len(), 2);
    assert!(
        !format!("{audit:?}").contains("0123456789abcdef"),
        "never the secret"
    );
    s.set_webhook(company("acme"), None, official(), now())
        .await
        .unwrap();
    let gone = s
        .set_webhook(company("acme"), None, official(), now())
        .await;
    assert!(matches!(
        gone,
        Err(Error::Domain(DomainError::NotFound { .. }))
    ));
    let late = Delivery {
        company: company("acme"),
        seq: 3,
        attempt: 1,
        at: now(),
        outcome: Outcome::Delivered { status: 200 },
    };
    s.record_delivery(late, progress).await.unwrap();
    let s = reopen(b, s).await;
    assert!(s.webhooks().await.unwrap().is_empty());
    assert_eq!(
        s.deliveries(company("acme"), None, 10).await.unwrap().len(),
        3
    );
    b.close(s).await;
}

/// A company's first driver's number starts its texting at its newest event; its SMS
/// attempts and progress, and the reminders with their mark, are kept across a restart.
pub async fn texts_and_reminders<B: Backend>(b: &B) {
    use bawaba_domain::event::EventKind;
    use bawaba_domain::fleet::{FleetTruck, Phone};
    use bawaba_domain::notify::{Delivery, Outcome, Progress, RetryPolicy, Texted};
    let s = open_with_zone(b, 5).await;
    create(&s, simple("acme", "k1", "601", 2)).await;
    let phone = Phone::parse("0791234567").unwrap();
    let plate = Plate::parse("601").unwrap();
    let truck = FleetTruck::new(
        company("acme"),
        plate,
        None,
        "Ali",
        Some(phone.clone()),
        now(),
    );
    s.save_truck(truck.unwrap(), official(), now())
        .await
        .unwrap();
    let sms = s.sms_to_deliver().await.unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!((&sms[0].0, sms[0].1.cursor), (&company("acme"), 1));
    create(&s, simple("acme", "k2", "602", 5)).await;
    let lead = TimeDelta::hours(2);
    assert_eq!(s.remind(now(), lead).await.unwrap(), 1, "the 02:00 visit");
    let s = reopen(b, s).await;
    assert_eq!(
        s.remind(now(), lead).await.unwrap(),
        0,
        "once, also after a restart"
    );
    assert_eq!(s.remind(at(3), lead).await.unwrap(), 1, "the 05:00 visit");
    let events = s.company_events(company("acme"), 0, 10).await.unwrap();
    let kinds: Vec<_> = events.events.iter().map(|e| (e.seq, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (1, EventKind::Created),
            (2, EventKind::Created),
            (3, EventKind::Reminder),
            (4, EventKind::Reminder)
        ]
    );
    let policy = RetryPolicy::default();
    let failed = Delivery {
        company: company("acme"),
        seq: 2,
        attempt: 1,
        at: now(),
        outcome: Outcome::Failed {
            status: None,
            error: "kannel is down".into(),
        },
    };
    let progress = sms[0].1.after(&failed, &policy);
    let text = Texted {
        to: phone.clone(),
        delivery: failed,
    };
    s.record_text(company("acme"), Some(text.clone()), progress.clone())
        .await
        .unwrap();
    let skipped = Progress {
        cursor: 3,
        failing: None,
    };
    s.record_text(company("acme"), None, skipped.clone())
        .await
        .unwrap();
    let s = reopen(b, s).await;
    let sms = s.sms_progress().await.unwrap();
    assert_eq!(sms, [(company("acme"), skipped)]);
    assert_eq!(s.texts(company("acme"), None, 10).await.unwrap(), [text]);
    assert!(s.texts(company("beta"), None, 10).await.unwrap().is_empty());
    b.close(s).await;
}

/// A company's trucks are saved, replaced, listed by plate, removed (one it does not have is
/// not found), audited and kept across a restart; another company's stay its own.
pub async fn a_company_keeps_its_fleet<B: Backend>(b: &B) {
    use bawaba_domain::fleet::{FleetTruck, Phone};
    let s = open_with_zone(b, 5).await;
    let truck = |c: &str, plate: &str, driver: &str| {
        let phone = Some(Phone::parse("0791234567").unwrap());
        let plate = Plate::parse(plate).unwrap();
        FleetTruck::new(company(c), plate, None, driver, phone, now()).unwrap()
    };
    for t in [
        truck("acme", "60-22222", "عمر"),
        truck("acme", "60-11111", "Ali"),
        truck("beta", "60-11111", "Sami"),
        truck("acme", "60-11111", "Ahmad"),
    ] {
        s.save_truck(t, official(), now()).await.unwrap();
    }
    let s = reopen(b, s).await;
    let drivers = async |s: &B::Store, c: &str| -> Vec<String> {
        let fleet = s.fleet(company(c)).await.unwrap();
        fleet.into_iter().map(|t| t.driver).collect()
    };
    assert_eq!(drivers(&s, "acme").await, ["Ahmad", "عمر"]);
    assert_eq!(drivers(&s, "beta").await, ["Sami"]);
    let plate = Plate::parse("60-11111").unwrap();
    s.remove_truck(company("acme"), plate.clone(), official(), now())
        .await
        .unwrap();
    let again = s
        .remove_truck(company("acme"), plate, official(), now())
        .await;
    assert!(matches!(
        again,
        Err(Error::Domain(DomainError::NotFound { .. }))
    ));
    let s = reopen(b, s).await;
    assert_eq!(drivers(&s, "acme").await, ["عمر"]);
    assert_eq!(drivers(&s, "beta").await, ["Sami"]);
    trucks_are_found_by_tag(&s).await;
    let audit = s.audit(AuditFilter::default(), None, 50).await.unwrap();
    let kinds: Vec<AuditKind> = audit.iter().map(|e| e.record.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::TruckSaved)
            .count(),
        6
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::TruckRemoved)
            .count(),
        1
    );
    b.close(s).await;
}

/// The trucks whose tag a gate read, of every company (two fleets given one tag: both);
/// a tag nobody has finds nothing.
async fn trucks_by_tag_of<S: Store>(s: &S, hex: &str) -> Vec<(String, String)> {
    let epc = Epc::parse_hex(hex).unwrap();
    let found = s.trucks_by_tag(epc).await.unwrap();
    found
        .into_iter()
        .map(|t| (t.company.to_string(), t.plate.to_string()))
        .collect()
}

async fn trucks_are_found_by_tag<S: Store>(s: &S) {
    use bawaba_domain::fleet::FleetTruck;
    let tag = "E2801160600002084A1C77B1";
    for (c, plate) in [("beta", "60-33333"), ("acme", "60-44444")] {
        let epc = Some(Epc::parse_hex(tag).unwrap());
        let plate = Plate::parse(plate).unwrap();
        let t = FleetTruck::new(company(c), plate, epc, "", None, now()).unwrap();
        s.save_truck(t, official(), now()).await.unwrap();
    }
    let both = trucks_by_tag_of(s, &tag.to_lowercase()).await;
    let want = [("acme", "60-44444"), ("beta", "60-33333")];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(c, p)| ((*c).to_owned(), Plate::parse(p).unwrap().to_string()))
        .collect();
    assert_eq!(both, want);
    assert!(
        trucks_by_tag_of(s, "E2801160600002084A1C0000")
            .await
            .is_empty()
    );
}

/// Portal accounts: a login name is given once, failures lock the account, a session
/// opens and ends, disabling ends the account's sessions; all kept across a restart.
pub async fn accounts_sessions_and_lockout<B: Backend>(b: &B) {
    use bawaba_domain::account::{Account, AccountUpdate, Login, MAX_FAILURES, Session};
    let s = open_with_zone(b, 5).await;
    let login = |l: &str| Login::parse(l).unwrap();
    let account = |l: &str, c: &str| Account {
        login: login(l),
        company: company(c),
        name: "أحمد".into(),
        admin: l == "ahmad",
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        failures: 0,
        locked_until: None,
        created_at: now(),
    };
    for (l, c) in [("ahmad", "acme"), ("omar", "acme"), ("sami", "beta")] {
        s.create_account(account(l, c), official(), now())
            .await
            .unwrap();
    }
    let taken = s
        .create_account(account("ahmad", "beta"), official(), now())
        .await;
    assert!(matches!(
        taken,
        Err(Error::Domain(DomainError::Precondition(_)))
    ));
    let session = |id: &str, l: &str| Some(Session::new(id.into(), login(l), now()));
    s.record_login(login("ahmad"), session("s-ahmad", "ahmad"), now())
        .await
        .unwrap();
    s.record_login(login("omar"), session("s-omar", "omar"), now())
        .await
        .unwrap();
    for _ in 0..MAX_FAILURES {
        s.record_login(login("sami"), None, now()).await.unwrap();
    }
    let s = reopen(b, s).await;
    let names = async |s: &B::Store, c: &str| -> Vec<String> {
        let accounts = s.accounts(company(c)).await.unwrap();
        accounts.into_iter().map(|a| a.login.to_string()).collect()
    };
    assert_eq!(names(&s, "acme").await, ["ahmad", "omar"]);
    assert_eq!(names(&s, "beta").await, ["sami"]);
    let sami = s.account(login("sami")).await.unwrap().unwrap();
    assert!(sami.locked(now()), "locked after {MAX_FAILURES} failures");
    let (open, who) = s.session("s-ahmad".into(), now()).await.unwrap().unwrap();
    assert_eq!(
        (open.login.as_str(), who.company.as_str()),
        ("ahmad", "acme")
    );
    let expired = s.session("s-ahmad".into(), at(13)).await.unwrap();
    assert!(expired.is_none(), "12 hours after the login");
    let off = AccountUpdate {
        disabled: Some(true),
        ..AccountUpdate::default()
    };
    let other = s
        .update_account(
            login("omar"),
            Some(company("beta")),
            off.clone(),
            official(),
            now(),
        )
        .await;
    assert!(matches!(
        other,
        Err(Error::Domain(DomainError::NotFound { .. }))
    ));
    s.update_account(login("omar"), Some(company("acme")), off, official(), now())
        .await
        .unwrap();
    s.end_session("s-ahmad".into()).await.unwrap();
    let s = reopen(b, s).await;
    assert!(
        s.session("s-omar".into(), now()).await.unwrap().is_none(),
        "disabled"
    );
    assert!(
        s.session("s-ahmad".into(), now()).await.unwrap().is_none(),
        "logged out"
    );
    assert!(s.account(login("omar")).await.unwrap().unwrap().disabled);
    let audit = s.audit(AuditFilter::default(), None, 50).await.unwrap();
    let count = |k: AuditKind| audit.iter().filter(|e| e.record.kind == k).count();
    assert_eq!(count(AuditKind::AccountCreated), 3);
    assert_eq!(count(AuditKind::AccountChanged), 1);
    assert_eq!(count(AuditKind::AccountLocked), 1);
    assert!(
        !format!("{audit:?}").contains("argon2id"),
        "no hash in the trail"
    );
    b.close(s).await;
}

/// A closure under `notify` leaves the bookings it hits BOOKED and tells their companies (an
/// event naming the closure); under `cancel` it cancels them in its own commit, releasing
/// their places and telling their companies; kept across a restart.
pub async fn a_closure_notifies_or_cancels_what_it_hits<B: Backend>(b: &B) {
    use bawaba_domain::event::EventKind;
    let s = open_with_zone(b, 1).await;
    let kept = create(&s, simple("acme", "k1", "601", 5)).await;
    let gone = create(&s, simple("beta", "k2", "602", 7)).await;
    let close = |hour, policy| AdminChange::AddClosure {
        zone: act(),
        from: at(hour),
        to: at(hour + 1),
        reason: "flash flood".into(),
        policy,
    };
    s.administer(close(5, ClosurePolicy::Notify), official(), now())
        .await
        .unwrap();
    s.administer(close(7, ClosurePolicy::Cancel), official(), now())
        .await
        .unwrap();
    let s = reopen(b, s).await;
    let state = async |id| s.get_booking(Actor::Authority, id).await.unwrap();
    assert_eq!(state(kept.id).await.state, BookingState::Booked);
    let cancelled = state(gone.id).await;
    assert_eq!(cancelled.state, BookingState::Cancelled);
    assert!(
        cancelled
            .cancel_reason
            .as_deref()
            .unwrap()
            .contains("closure 2: flash flood"),
        "{cancelled:?}"
    );
    let last = async |c: &str| {
        let page = s.company_events(company(c), 1, 10).await.unwrap();
        let e = page.events.into_iter().next().unwrap();
        (e.seq, e.kind, e.zone, e.closure.map(|c| c.id))
    };
    assert_eq!(
        last("acme").await,
        (2, EventKind::HitByClosure, Some(act()), Some(1))
    );
    assert_eq!(
        last("beta").await,
        (2, EventKind::Cancelled, Some(act()), Some(2))
    );
    // Its place is free again (capacity 1 per window), once the closure is lifted.
    s.administer(
        AdminChange::RemoveClosure { zone: act(), id: 2 },
        official(),
        now(),
    )
    .await
    .unwrap();
    create(&s, simple("gamma", "k3", "603", 7)).await;
    b.close(s).await;
}

/// A closure under `rebook` moves each booking it hits to the nearest window after it with
/// room (counting every booking the store holds, not only those it hits), oldest first, in its
/// own commit; one whose truck would be in two places stays, hit. Kept across a restart.
pub async fn a_closure_rebooks_what_it_hits<B: Backend>(b: &B) {
    use bawaba_domain::event::EventKind;
    let s = open_with_zone(b, 2).await;
    // One a millisecond, so that their ids (which order the rebooking) follow this order.
    let mut ms = 0;
    let mut book = async |req| {
        ms += 1;
        let made = s.create_booking(req, now() + TimeDelta::milliseconds(ms));
        made.await.unwrap().booking
    };
    let stays = book(simple("acme", "k1", "601", 5)).await;
    book(simple("acme", "k2", "601", 7)).await;
    let to_7 = book(simple("beta", "k3", "602", 5)).await;
    let to_9 = book(simple("gamma", "k4", "603", 6)).await;
    book(simple("delta", "k5", "604", 8)).await;
    book(simple("delta", "k6", "605", 8)).await;
    let close = AdminChange::AddClosure {
        zone: act(),
        from: at(5),
        to: at(7),
        reason: "flash flood".into(),
        policy: ClosurePolicy::Rebook,
    };
    let done = s.administer(close, official(), now()).await.unwrap();
    let Administered::Closure { hit, rebooked, .. } = done else {
        panic!("{done:?}")
    };
    assert_eq!(hit.len(), 3);
    assert_eq!(rebooked, vec![to_7.id, to_9.id]);
    let s = reopen(b, s).await;
    let start = async |id| {
        let b = s.get_booking(Actor::Authority, id).await.unwrap();
        (b.state, b.stops[0].window_start)
    };
    assert_eq!(start(stays.id).await, (BookingState::Booked, at(5)));
    assert_eq!(start(to_7.id).await, (BookingState::Booked, at(7)));
    assert_eq!(start(to_9.id).await, (BookingState::Booked, at(9)));
    let last = async |c: &str| {
        let page = s.company_events(company(c), 0, 10).await.unwrap();
        let e = page.events.into_iter().next_back().unwrap();
        (e.kind, e.closure.map(|c| c.id))
    };
    assert_eq!(last("acme").await, (EventKind::HitByClosure, Some(1)));
    assert_eq!(last("beta").await, (EventKind::Rebooked, Some(1)));
    assert_eq!(last("gamma").await, (EventKind::Rebooked, Some(1)));
    // The counters moved with them: hour 7 is full, hour 9 has one place left.
    let full = s.create_booking(simple("eps", "k7", "607", 7), now()).await;
    assert!(
        matches!(full, Err(Error::Domain(DomainError::WindowFull { .. }))),
        "{full:?}"
    );
    create(&s, simple("eps", "k8", "608", 9)).await;
    let full = s.create_booking(simple("eps", "k9", "609", 9), now()).await;
    assert!(full.is_err(), "{full:?}");
    b.close(s).await;
}

/// Passages are numbered in the order they are recorded, not by id: one decided offline and
/// reported late still reaches a follower that has seen newer ones. A follower reading while
/// writers record gets every passage exactly once; the numbers survive a restart.
pub async fn passages_follow_recording_order<B: Backend>(b: &B) {
    let s = open_with_zone(b, 50).await;
    let truck = create(&s, simple("acme", "k1", "601", 5)).await;
    let recorded = |r: Recorded| -> Vec<(u64, PassageId)> {
        r.passages.into_iter().map(|(n, p)| (n, p.id)).collect()
    };
    let empty = s.recorded_passages(None, 0, 10).await.unwrap();
    assert_eq!((empty.passages.len(), empty.head), (0, 0));

    let now = passage(1, &truck, Direction::In, Verdict::Deny, 6);
    let late = passage(2, &truck, Direction::In, Verdict::Deny, 5);
    s.report_passages(vec![now.clone()]).await.unwrap();
    s.report_passages(vec![late.clone(), now.clone()])
        .await
        .unwrap();
    let all = s.recorded_passages(None, 0, 10).await.unwrap();
    assert_eq!(all.head, 2);
    assert_eq!(recorded(all), vec![(1, now.id), (2, late.id)]);
    let after = s.recorded_passages(Some(act()), 1, 10).await.unwrap();
    assert_eq!(recorded(after), vec![(2, late.id)]);
    let elsewhere = s.recorded_passages(Some(zone_id("yard")), 0, 10).await;
    assert!(elsewhere.unwrap().passages.is_empty());
    assert_eq!(
        recorded(s.recorded_passages(None, 0, 1).await.unwrap()),
        vec![(1, now.id)]
    );

    // Writers race; a follower reads all along.
    let s = Arc::new(s);
    let writers: Vec<_> = (0..4u128)
        .map(|w| {
            let s = Arc::clone(&s);
            let truck = truck.clone();
            tokio::spawn(async move {
                for i in 0..10u128 {
                    let p = passage(100 + w * 10 + i, &truck, Direction::In, Verdict::Deny, 7);
                    s.report_passages(vec![p]).await.unwrap();
                }
            })
        })
        .collect();
    let follower = {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (2, Vec::new());
            while seen.len() < 40 {
                let page = s.recorded_passages(None, cursor, 7).await.unwrap();
                for (n, p) in page.passages {
                    assert!(n > cursor, "{n} after {cursor}");
                    cursor = n;
                    seen.push(p.id);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let mut seen = tokio::time::timeout(std::time::Duration::from_secs(30), follower)
        .await
        .expect("the follower saw all 40 passages")
        .unwrap();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 40, "each passage once");
    let s = reopen(b, unwrap_arc(s)).await;
    let all = s.recorded_passages(None, 0, 100).await.unwrap();
    assert_eq!(all.head, 42);
    let numbers: Vec<u64> = all.passages.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=42).collect::<Vec<u64>>());
    assert_eq!(all.passages[1].1.id, late.id);
    b.close(s).await;
}

/// Passages are recorded once each (by event id) and move bookings on; referrals wait for an
/// operator; a batch with an unknown zone records nothing.
pub async fn passages_once_each_and_referrals<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let one = create(&s, simple("acme", "k1", "601", 5)).await;
    let two = create(&s, simple("acme", "k2", "602", 5)).await;
    let allow = passage(1, &one, Direction::In, Verdict::Allow, 5);
    let refer = passage(2, &two, Direction::In, Verdict::Refer, 5);
    let reported = s
        .report_passages(vec![allow.clone(), refer.clone()])
        .await
        .unwrap();
    let both = vec![allow.id, refer.id];
    assert_eq!(
        (reported.acknowledged, reported.new),
        (both.clone(), both.clone())
    );
    // A resend after a lost acknowledgement changes nothing, and says none of it is new.
    let again = s.report_passages(vec![allow.clone(), refer.clone()]).await;
    assert_eq!(
        again.unwrap(),
        Reported {
            acknowledged: both.clone(),
            new: vec![]
        }
    );
    let one_now = s.get_booking(Actor::Authority, one.id).await.unwrap();
    assert_eq!(
        (one_now.state, one_now.revision),
        (BookingState::Entered, 2)
    );
    let recorded = s.passages(Some(act()), None, 10).await.unwrap();
    assert_eq!(recorded, vec![allow.clone(), refer.clone()]);
    let after = s.passages(None, Some(allow.id), 10).await.unwrap();
    assert_eq!(after, vec![refer.clone()]);
    let elsewhere = s.passages(Some(zone_id("yard")), None, 10).await.unwrap();
    assert!(elsewhere.is_empty());

    let mut stray = passage(3, &one, Direction::Out, Verdict::Allow, 6);
    stray.zone = zone_id("nowhere");
    let exit = passage(4, &one, Direction::Out, Verdict::Allow, 6);
    let e = s
        .report_passages(vec![exit.clone(), stray])
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    let s = reopen(b, s).await;
    assert_eq!(
        s.get_booking(Actor::Authority, one.id).await.unwrap().state,
        BookingState::Entered
    );
    // After a restart a resend is still known; in a batch with a new passage, only that one
    // is new.
    let reported = s
        .report_passages(vec![refer.clone(), exit.clone()])
        .await
        .unwrap();
    assert_eq!(reported.acknowledged, vec![refer.id, exit.id]);
    assert_eq!(reported.new, vec![exit.id]);
    assert_eq!(
        s.get_booking(Actor::Authority, one.id).await.unwrap().state,
        BookingState::Exited
    );

    let open = s.referrals(Some(act()), false).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].passage.id, open[0].state),
        (refer.id, ReferralState::Open)
    );
    let e = s
        .resolve_referral(refer.id, Resolution::approve(""), Who::named("op"), at(5))
        .await
        .unwrap_err();
    assert!(is_invalid(&e), "a decision needs a reason: {e}");
    let r = s
        .resolve_referral(
            refer.id,
            Resolution::approve("checked papers"),
            Who::named("op"),
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.state, r.resolved_by.as_deref()),
        (ReferralState::Approved, Some("op"))
    );
    assert_eq!(
        s.get_booking(Actor::Authority, two.id).await.unwrap().state,
        BookingState::Entered
    );
    let e = s
        .resolve_referral(
            refer.id,
            Resolution::reject("again"),
            Who::named("op"),
            at(5),
        )
        .await
        .unwrap_err();
    assert!(is_precondition(&e), "{e}");
    let s = reopen(b, s).await;
    assert!(s.referrals(None, false).await.unwrap().is_empty());
    assert_eq!(
        s.referrals(None, true).await.unwrap()[0].state,
        ReferralState::Approved
    );
    let missing = PassageId::new(now(), 9);
    let e = s
        .resolve_referral(missing, Resolution::approve("x"), Who::named("op"), at(5))
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    // The one decision taken is audited, with the operator's name; the refused ones are not.
    let decided = AuditFilter {
        kind: Some(AuditKind::ReferralResolved),
        ..AuditFilter::default()
    };
    let trail = audit_of(&s, decided).await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].record.who, Who::named("op"));
    assert_eq!(trail[0].record.objects[0], format!("referral:{}", refer.id));
    let resolution = &trail[0].record.changes;
    assert!(
        resolution.iter().any(|c| c.after == "APPROVED"),
        "{resolution:?}"
    );
    assert!(resolution.iter().any(|c| c.after == "checked papers"));
    b.close(s).await;
}

/// A referral the gate could not match to a booking (no plate read): the operator names the
/// booking the truck holds, and the approval moves that booking on, in the same commit, kept
/// across a restart; a booking that cannot take the truck is refused and nothing changes.
pub async fn an_operator_names_the_booking<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    let held = create(&s, simple("acme", "k1", "601", 5)).await;
    let cancelled = create(&s, simple("acme", "k2", "602", 5)).await;
    s.cancel_booking(Actor::Authority, cancelled.id, "plans".into(), now())
        .await
        .unwrap();
    let mut unread = passage(1, &held, Direction::In, Verdict::Refer, 5);
    (unread.plate, unread.booking) = (None, None);
    s.report_passages(vec![unread.clone()]).await.unwrap();
    let op = || Who::named("op");
    let name = |b: &Booking| Resolution::approve("slip shown").with_booking(b.id);
    let e = s
        .resolve_referral(unread.id, name(&cancelled), op(), at(5))
        .await
        .unwrap_err();
    assert!(is_precondition(&e), "{e}");
    let missing = Booking {
        id: BookingId::new(now(), 77),
        ..held.clone()
    };
    let e = s
        .resolve_referral(unread.id, name(&missing), op(), at(5))
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    assert_eq!(s.referrals(None, false).await.unwrap().len(), 1);
    let r = s
        .resolve_referral(unread.id, name(&held), op(), at(5))
        .await
        .unwrap();
    assert_eq!(r.passage.booking, Some(held.id));
    let s = reopen(b, s).await;
    let now_held = s.get_booking(Actor::Authority, held.id).await.unwrap();
    assert_eq!(now_held.state, BookingState::Entered);
    let kept = &s.referrals(None, true).await.unwrap()[0];
    assert_eq!(
        (kept.state, kept.passage.booking),
        (ReferralState::Approved, Some(held.id))
    );
    b.close(s).await;
}

/// A follower gets a snapshot, then every change once, in order; commits wake it.
pub async fn change_log_in_order<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    assert_eq!(
        s.changes(act(), 0, 10, now()).await.unwrap(),
        Changes::Entries {
            entries: vec![],
            head: 0
        },
        "an empty log has nothing to snapshot"
    );
    let e = s
        .changes(zone_id("nowhere"), 0, 10, now())
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    let mut commits = s.commits();
    commits.borrow_and_update();
    let a = create(&s, simple("acme", "k1", "601", 5)).await;
    assert!(commits.has_changed().unwrap());
    let Changes::Snapshot { seq, bookings } = s.changes(act(), 0, 100, now()).await.unwrap() else {
        panic!("a new follower gets a snapshot");
    };
    assert_eq!((seq, bookings), (1, vec![a.clone()]));
    assert_eq!(
        s.changes(act(), seq, 100, now()).await.unwrap(),
        Changes::Entries {
            entries: vec![],
            head: seq
        }
    );
    s.move_booking(Actor::Authority, a.id, 0, at(6), now())
        .await
        .unwrap();
    s.cancel_booking(Actor::Authority, a.id, String::new(), now())
        .await
        .unwrap();
    let c = create(&s, simple("acme", "k2", "602", 7)).await;
    let Changes::Entries { entries: e, head } = s.changes(act(), seq, 100, now()).await.unwrap()
    else {
        panic!("entries")
    };
    assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(head, 4, "the head is the zone's latest change");
    assert_eq!(
        e.iter()
            .map(|e| (e.booking.id, e.booking.revision))
            .collect::<Vec<_>>(),
        vec![(a.id, 2), (a.id, 3), (c.id, 1)]
    );
    assert_eq!(e[1].booking.state, BookingState::Cancelled);
    let Changes::Entries { entries: one, head } = s.changes(act(), seq, 1, now()).await.unwrap()
    else {
        panic!("entries")
    };
    assert_eq!(one, e[..1], "limit honoured");
    assert_eq!(head, 4, "the head does not depend on the limit");
    let e = s.changes(act(), 99, 10, now()).await.unwrap_err();
    assert!(is_invalid(&e), "a cursor ahead of the log is refused: {e}");
    assert!(commits.has_changed().unwrap());
    b.close(s).await;
}

/// Everything acknowledged is back after a restart, and the counters equal a recount.
pub async fn restart_keeps_everything<B: Backend>(b: &B) {
    let s = open_with_zone(b, 5).await;
    s.upsert_zone(zone_config("yard", 3)).await.unwrap();
    let gc = TransactionType::GeneralCargo;
    let a = create(&s, simple("acme", "k1", "601", 5)).await;
    let c = create(&s, simple("acme", "k2", "602", 5)).await;
    create(
        &s,
        visit(
            "beta",
            "k1",
            "603",
            vec![stop("act", 6, gc), stop("yard", 8, gc)],
        ),
    )
    .await;
    let late = create(&s, simple("beta", "k2", "604", 2)).await;
    s.move_booking(Actor::Authority, a.id, 0, at(6), now())
        .await
        .unwrap();
    s.cancel_booking(Actor::Authority, c.id, "no cargo".into(), now())
        .await
        .unwrap();
    s.add_closure(act(), at(10), at(12), "inspection".into())
        .await
        .unwrap();
    s.set_company_cap(act(), company("acme"), Some(40))
        .await
        .unwrap();
    s.upsert_gate(gate("act-north", "act")).await.unwrap();
    s.report_passages(vec![passage(1, &a, Direction::In, Verdict::Refer, 6)])
        .await
        .unwrap();
    s.sweep_no_shows(at(4)).await.unwrap();
    let state = Snapshot::of(&s).await;
    assert_eq!(state.no_shows, BTreeMap::from([(company("beta"), 1)]));
    assert_eq!(
        s.get_booking(Actor::Authority, late.id)
            .await
            .unwrap()
            .state,
        BookingState::NoShow
    );
    let s = reopen(b, s).await;
    assert_eq!(Snapshot::of(&s).await, state);
    let again = s
        .create_booking(simple("acme", "k1", "601", 5), now())
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.booking.id, a.id);
    // The change log goes on where it was (7 changes in zone act before the restart).
    let next = create(&s, simple("acme", "k3", "605", 9)).await;
    let Changes::Entries { entries: e, .. } = s.changes(act(), 6, 10, now()).await.unwrap() else {
        panic!("entries");
    };
    assert_eq!(
        e.iter().map(|e| (e.seq, e.booking.id)).collect::<Vec<_>>(),
        vec![(7, late.id), (8, next.id)]
    );
    b.close(s).await;
}

fn gate(id: &str, zone: &str) -> Gate {
    Gate {
        id: GateId::parse(id).unwrap(),
        zone: zone_id(zone),
        name: format!("gate {id}"),
        lanes: vec![Lane {
            id: LaneId::parse("lane-1").unwrap(),
            direction: Direction::In,
        }],
        name_ar: format!("بوابة {id}"),
    }
}

/// Everything a store answers, for comparisons across a restart.
#[derive(Debug, PartialEq)]
struct Snapshot {
    bookings: Vec<Booking>,
    zones: Vec<ZoneConfig>,
    gates: Vec<Gate>,
    no_shows: BTreeMap<CompanyId, u64>,
    referrals: Vec<bawaba_domain::passage::Referral>,
    windows: Vec<Vec<bawaba_domain::ledger::WindowView>>,
    changes: Vec<(Changes, Changes)>,
}

impl Snapshot {
    async fn of(s: &impl Store) -> Snapshot {
        let zones = s.zones().await.unwrap();
        let mut windows = Vec::new();
        let mut changes = Vec::new();
        for z in &zones {
            windows.push(
                s.list_windows(z.id.clone(), now(), at(24), 100)
                    .await
                    .unwrap(),
            );
            changes.push((
                s.changes(z.id.clone(), 0, 100, now()).await.unwrap(),
                s.changes(z.id.clone(), 1, 100, now()).await.unwrap(),
            ));
        }
        Snapshot {
            bookings: all_bookings(s).await,
            gates: s.gates().await.unwrap(),
            no_shows: s.no_shows().await.unwrap(),
            referrals: s.referrals(None, true).await.unwrap(),
            zones,
            windows,
            changes,
        }
    }
}

/// Zones, gates, rules and the nearest-window search.
pub async fn administration<B: Backend>(b: &B) {
    let s = open_with_zone(b, 2).await;
    s.upsert_zone(zone_config("yard", 4)).await.unwrap();
    assert_eq!(
        s.zones()
            .await
            .unwrap()
            .iter()
            .map(|z| z.id.as_str())
            .collect::<Vec<_>>(),
        vec!["act", "yard"]
    );
    let e = s.zone(zone_id("nowhere")).await.unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    s.add_closure(act(), at(30), at(31), "works".into())
        .await
        .unwrap();
    s.set_company_cap(act(), company("acme"), Some(50))
        .await
        .unwrap();
    // Replacing a zone keeps its closures and caps.
    let mut renamed = zone_config("act", 2);
    renamed.name = "Container terminal".into();
    let z = s.upsert_zone(renamed).await.unwrap();
    assert_eq!(
        (z.name.as_str(), z.closures.len(), z.company_caps.len()),
        ("Container terminal", 1, 1)
    );
    create(&s, simple("acme", "k1", "601", 5)).await;
    create(&s, simple("beta", "k1", "602", 5)).await;
    let mut resized = zone_config("act", 2);
    resized.slot = SlotLength::from_minutes(30).unwrap();
    let e = s.upsert_zone(resized.clone()).await.unwrap_err();
    assert!(is_precondition(&e), "{e}");
    resized.id = zone_id("yard");
    assert_eq!(s.upsert_zone(resized).await.unwrap().slot.minutes(), 30);

    let mut rules = s.zone(act()).await.unwrap().rules;
    rules.booking_cutoff_minutes = 180;
    s.set_rules(act(), rules).await.unwrap();
    let e = refused(&s, simple("acme", "k2", "603", 2), now()).await;
    assert!(is_precondition(&e), "the new cut-off applies: {e}");
    s.set_template(act(), CapacityTemplate::uniform(WindowCapacity::uniform(3)))
        .await
        .unwrap();
    assert_eq!(booked(&s, "act", 5, 6).await, vec![2]);
    create(&s, simple("gamma", "k1", "604", 5)).await;

    // Nearest first, ties to the earlier window; a full window is skipped.
    let gc = TransactionType::GeneralCargo;
    let found = s
        .find_slots(act(), gc, None, at(5), 3, now())
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|w| w.start).collect::<Vec<_>>(),
        vec![at(4), at(6), at(3)]
    );
    assert_eq!((found[0].capacity.total, found[0].booked), (3, 0));
    let e = s
        .find_slots(zone_id("nowhere"), gc, None, at(5), 3, now())
        .await
        .unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");

    s.upsert_gate(gate("yard-east", "yard")).await.unwrap();
    let north = s.upsert_gate(gate("act-north", "act")).await.unwrap();
    let mut moved = north.clone();
    moved.name = "North gate".into();
    s.upsert_gate(moved.clone()).await.unwrap();
    assert_eq!(
        s.gates().await.unwrap(),
        vec![moved, gate("yard-east", "yard")]
    );
    let e = s.upsert_gate(gate("x", "nowhere")).await.unwrap_err();
    assert!(matches!(domain(&e), DomainError::NotFound { .. }), "{e}");
    let mut bare = gate("y", "act");
    bare.lanes.clear();
    assert!(is_invalid(&s.upsert_gate(bare).await.unwrap_err()));
    b.close(s).await;
}

// ---- random sequences ----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Create {
        company: u8,
        plate: u8,
        hour: i64,
        key: u8,
        /// An import pickup of one of three containers, or general cargo.
        container: Option<u8>,
    },
    Move {
        booking: u8,
        hour: i64,
    },
    Cancel {
        booking: u8,
    },
    Sweep {
        hours: i64,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, 0u8..8, 2i64..12, 0u8..10, prop::option::of(0u8..3)).prop_map(
            |(company, plate, hour, key, container)| Op::Create {
                company,
                plate,
                hour,
                key,
                container
            }
        ),
        2 => (any::<u8>(), 2i64..12).prop_map(|(booking, hour)| Op::Move { booking, hour }),
        2 => any::<u8>().prop_map(|booking| Op::Cancel { booking }),
        1 => (0i64..14).prop_map(|hours| Op::Sweep { hours }),
        1 => Just(Op::Reopen),
    ]
}

/// Random sequences of creates, moves, cancels, sweeps and restarts (`cases` of them, each on
/// a fresh backend from `make`): after every step no window is over its capacity or a
/// company over its cap, the counters equal a recount, and a restart loses nothing.
pub fn random_sequences<B, Fut>(cases: u32, make: impl Fn() -> Fut)
where
    B: Backend,
    Fut: Future<Output = B>,
{
    check_sequences(
        cases,
        make,
        prop::collection::vec(op(), 1..40),
        async |b: &B, ops| run_ops(b, ops).await,
    );
}

/// Runs `check` on `cases` values of `strategy`, each on a fresh backend from `make`, on a
/// runtime of its own; panics with proptest's minimal failing input.
fn check_sequences<B, Fut, S>(
    cases: u32,
    make: impl Fn() -> Fut,
    strategy: S,
    check: impl AsyncFn(&B, S::Value) -> Result<(), TestCaseError>,
) where
    B: Backend,
    Fut: Future<Output = B>,
    S: Strategy,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&strategy, |value| {
        rt.block_on(async {
            let b = make().await;
            check(&b, value).await
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn run_ops<B: Backend>(b: &B, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut store = Some(b.open().await);
    let mut z = zone_config("act", 4);
    z.rules.company_cap_percent = 50;
    store.as_ref().unwrap().upsert_zone(z).await.unwrap();
    let mut made: Vec<BookingId> = Vec::new();
    for op in ops {
        let s = store.as_ref().unwrap();
        let pick = |n: u8| made[n as usize % made.len()];
        match op {
            Op::Create {
                company,
                plate,
                hour,
                key,
                container,
            } => {
                let mut req = simple(
                    &format!("c{company}"),
                    &format!("k{key}"),
                    &format!("60{plate}"),
                    hour,
                );
                if let Some(n) = container {
                    let pool = ["CSQU3054383", "MSKU1234565", "TGHU9876542"];
                    let stop = &mut req.stops[0];
                    stop.transaction_type = TransactionType::ImportPickup;
                    stop.containers = vec![ContainerNumber::parse(pool[n as usize]).unwrap()];
                }
                if let Ok(c) = s.create_booking(req, now()).await
                    && !c.replayed
                {
                    made.push(c.booking.id);
                }
            }
            Op::Move { booking, hour } if !made.is_empty() => {
                let moved = s.move_booking(Actor::Authority, pick(booking), 0, at(hour), now());
                let _ = moved.await;
            }
            Op::Cancel { booking } if !made.is_empty() => {
                let cancelled =
                    s.cancel_booking(Actor::Authority, pick(booking), String::new(), now());
                let _ = cancelled.await;
            }
            Op::Sweep { hours } => {
                s.sweep_no_shows(at(hours)).await.unwrap();
            }
            Op::Reopen => {
                let before = all_bookings(s).await;
                let s = reopen(b, store.take().unwrap()).await;
                prop_assert_eq!(all_bookings(&s).await, before);
                store = Some(s);
            }
            _ => {}
        }
        check_invariants(store.as_ref().unwrap(), &act(), 0, 14).await;
    }
    b.close(store.take().unwrap()).await;
    Ok(())
}

// ---- passages: each new exactly once ------------------------------------------------------

/// A step of [`passages_new_exactly_once`]: report a batch (indices into a pool of passages,
/// repeats allowed, also within one batch), or restart the store.
#[derive(Debug, Clone)]
enum Report {
    Batch(Vec<u8>),
    Reopen,
}

/// Random batches of passages, resent and repeated, across restarts (`cases` sequences, each
/// on a fresh backend from `make`): every batch is acknowledged whole and in order, a passage
/// is `new` in exactly one answer (the first that carried it, at its first place in that
/// batch), and the store then holds each reported passage once.
pub fn passages_new_exactly_once<B, Fut>(cases: u32, make: impl Fn() -> Fut)
where
    B: Backend,
    Fut: Future<Output = B>,
{
    let step = prop_oneof![
        6 => prop::collection::vec(0u8..12, 1..6).prop_map(Report::Batch),
        1 => Just(Report::Reopen),
    ];
    check_sequences(
        cases,
        make,
        prop::collection::vec(step, 1..20),
        async |b: &B, steps| report_steps(b, steps).await,
    );
}

async fn report_steps<B: Backend>(b: &B, steps: Vec<Report>) -> Result<(), TestCaseError> {
    let mut store = Some(b.open().await);
    store
        .as_ref()
        .unwrap()
        .upsert_zone(zone_config("act", 4))
        .await
        .unwrap();
    let truck = create(store.as_ref().unwrap(), simple("acme", "k", "601", 5)).await;
    let verdicts = [Verdict::Allow, Verdict::Deny, Verdict::Refer];
    let pool: Vec<Passage> = (0..12u8)
        .map(|i| {
            let direction = if i % 2 == 0 {
                Direction::In
            } else {
                Direction::Out
            };
            passage(
                u128::from(i),
                &truck,
                direction,
                verdicts[usize::from(i % 3)],
                5,
            )
        })
        .collect();
    let mut seen: BTreeSet<PassageId> = BTreeSet::new();
    for step in steps {
        match step {
            Report::Batch(picks) => {
                let batch: Vec<Passage> = picks
                    .iter()
                    .map(|&i| pool[usize::from(i)].clone())
                    .collect();
                let ids: Vec<PassageId> = batch.iter().map(|p| p.id).collect();
                let mut expected_new = Vec::new();
                for id in &ids {
                    if seen.insert(*id) {
                        expected_new.push(*id);
                    }
                }
                let reported = store
                    .as_ref()
                    .unwrap()
                    .report_passages(batch)
                    .await
                    .unwrap();
                prop_assert_eq!(&reported.acknowledged, &ids);
                prop_assert_eq!(&reported.new, &expected_new);
            }
            Report::Reopen => store = Some(reopen(b, store.take().unwrap()).await),
        }
    }
    let s = store.take().unwrap();
    let stored: BTreeSet<PassageId> = s
        .passages(None, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    prop_assert_eq!(stored, seen);
    b.close(s).await;
    Ok(())
}

/// Writes at least one record of every kind a store keeps, through its own interface: for the
/// export and import tests, whose exports must name every kind (see [`crate::dump::Line`]).
pub async fn every_kind_of_record(s: &impl Store) {
    use bawaba_domain::account::{Account, Login, Session};
    use bawaba_domain::fleet::{FleetTruck, Phone};
    use bawaba_domain::notify::{Delivery, Outcome, RetryPolicy, Texted, Webhook};
    s.upsert_zone(zone_config("act", 5)).await.unwrap();
    s.upsert_zone(zone_config("yard", 3)).await.unwrap();
    s.upsert_gate(gate("act-north", "act")).await.unwrap();
    let gc = TransactionType::GeneralCargo;
    let a = create(s, simple("acme", "k1", "601", 5)).await;
    let moved = create(s, simple("acme", "k2", "602", 5)).await;
    s.move_booking(Actor::Authority, moved.id, 0, at(6), now())
        .await
        .unwrap();
    let two = visit(
        "beta",
        "k1",
        "603",
        vec![stop("act", 6, gc), stop("yard", 8, gc)],
    );
    let cancelled = create(s, two).await;
    s.cancel_booking(Actor::Authority, cancelled.id, "no cargo".into(), now())
        .await
        .unwrap();
    create(s, simple("beta", "k2", "604", 2)).await;
    s.sweep_no_shows(at(4)).await.unwrap();
    s.add_closure(act(), at(10), at(12), "inspection".into())
        .await
        .unwrap();
    let refer = passage(1, &a, Direction::In, Verdict::Refer, 5);
    let north = GateId::parse("act-north").unwrap();
    s.report_passages_through(vec![refer.clone()], Some((north, at(5))))
        .await
        .unwrap();
    s.resolve_referral(
        refer.id,
        Resolution::approve("papers"),
        Who::named("op"),
        at(5),
    )
    .await
    .unwrap();
    let hook = Webhook::new(
        company("acme"),
        "https://a.example/",
        "0123456789abcdef",
        now(),
    );
    s.set_webhook(company("acme"), Some(hook.unwrap()), official(), now())
        .await
        .unwrap();
    let progress = s.webhooks().await.unwrap()[0].1.clone();
    let delivery = Delivery {
        company: company("acme"),
        seq: 2,
        attempt: 1,
        at: now(),
        outcome: Outcome::Delivered { status: 204 },
    };
    let after = progress.after(&delivery, &RetryPolicy::default());
    s.record_delivery(delivery.clone(), after.clone())
        .await
        .unwrap();
    let phone = Phone::parse("0791234567").unwrap();
    let truck = FleetTruck::new(
        company("acme"),
        Plate::parse("601").unwrap(),
        Some(Epc::parse_hex("E2801160600002084A2B5C1D").unwrap()),
        "عمر",
        Some(phone.clone()),
        now(),
    );
    s.save_truck(truck.unwrap(), official(), now())
        .await
        .unwrap();
    let text = Texted {
        to: phone,
        delivery,
    };
    s.record_text(company("acme"), Some(text), after)
        .await
        .unwrap();
    s.remind(now(), TimeDelta::hours(6)).await.unwrap();
    let ahmad = Login::parse("ahmad").unwrap();
    let account = Account {
        login: ahmad.clone(),
        company: company("acme"),
        name: "أحمد".into(),
        admin: true,
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        failures: 0,
        locked_until: None,
        created_at: now(),
    };
    s.create_account(account, official(), now()).await.unwrap();
    let session = Session::new("s-ahmad".into(), ahmad.clone(), now());
    s.record_login(ahmad, Some(session), now()).await.unwrap();
}
