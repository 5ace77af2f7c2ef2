use super::*;
use crate::audit::Who;
use crate::calendar::{ClosurePolicy, SlotLength};
use crate::passage::{Passage, ReferralState, Resolution, Verdict};
use chrono::TimeZone;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    // Thursday 2026-11-26 00:00 UTC (03:00 in Amman).
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
}

fn hours(h: i64) -> DateTime<Utc> {
    t0() + TimeDelta::hours(h)
}

fn zid(s: &str) -> ZoneId {
    ZoneId::parse(s).unwrap()
}

fn cid(s: &str) -> CompanyId {
    CompanyId::parse(s).unwrap()
}

fn plate(s: &str) -> Plate {
    Plate::parse(s).unwrap()
}

/// Zone `act` (60-minute windows, capacity 3, company cap 67% = 2 places, 1-day horizon)
/// and zone `siz` (30-minute windows, capacity 10).
fn ledger() -> Ledger {
    let mut l = Ledger::new();
    let mut act = ZoneConfig::new(
        zid("act"),
        "Container terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(3),
    );
    act.rules.company_cap_percent = 67;
    act.rules.horizon_minutes = 24 * 60;
    l.upsert_zone(act).unwrap();
    let siz = ZoneConfig::new(
        zid("siz"),
        "Southern industrial zone",
        SlotLength::from_minutes(30).unwrap(),
        WindowCapacity::uniform(10),
    );
    l.upsert_zone(siz).unwrap();
    l
}

/// A container number of its own for every call (valid check digit).
fn fresh_container() -> ContainerNumber {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let first10 = format!("CSQU{n:06}");
    let digit = ContainerNumber::check_digit(&first10).unwrap();
    ContainerNumber::parse(&format!("{first10}{digit}")).unwrap()
}

fn stop(zone: &str, start: DateTime<Utc>, t: TransactionType) -> Stop {
    let containers = if t.requires_containers() {
        vec![fresh_container()]
    } else {
        vec![]
    };
    Stop::new(zid(zone), start, t, containers)
}

fn req(company: &str, key: &str, p: &str, stops: Vec<Stop>) -> NewBooking {
    NewBooking {
        by: None,
        company: cid(company),
        idempotency_key: key.into(),
        plate: plate(p),
        epc: None,
        stops,
    }
}

fn gc(zone: &str, start: DateTime<Utc>) -> Vec<Stop> {
    vec![stop(zone, start, TransactionType::GeneralCargo)]
}

#[test]
fn books_and_counts() {
    let mut l = ledger();
    let c = l
        .create(req("acme", "k1", "6012345", gc("act", hours(5))), t0(), 1)
        .unwrap();
    assert!(!c.replayed);
    assert_eq!(l.usage(&zid("act"), hours(5)).unwrap().booked, 1);
    assert_eq!(c.touched.changes.len(), 1);
    assert_eq!(c.touched.changes[0].seq, 1);
    assert_eq!(l.booking(c.id).unwrap().state, BookingState::Booked);
}

#[test]
fn ids_follow_creation_within_a_millisecond() {
    let mut l = ledger();
    // Random bits that fall, then repeat: ids drawn as they come would sort 3, 2, 1.
    let made: Vec<BookingId> = [(3u128, "601"), (2, "602"), (1, "603"), (1, "604")]
        .into_iter()
        .enumerate()
        .map(|(i, (random, p))| {
            l.create(
                req(&format!("c{i}"), "k", p, gc("act", hours(5 + i as i64))),
                t0(),
                random,
            )
            .unwrap()
            .id
        })
        .collect();
    let listed: Vec<BookingId> = l
        .list_bookings(&BookingFilter::default(), None, 10)
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, made);
    assert!(made.iter().all(|id| id.timestamp() == made[0].timestamp()));
    // A later millisecond takes its own random bits again.
    let later = l
        .create(
            req("c9", "k", "609", gc("act", hours(9))),
            t0() + TimeDelta::milliseconds(1),
            0,
        )
        .unwrap()
        .id;
    assert_eq!(later, BookingId::new(t0() + TimeDelta::milliseconds(1), 0));
}

#[test]
fn idempotency_replays_same_request_and_refuses_another() {
    let mut l = ledger();
    let a = l
        .create(req("acme", "k1", "6012345", gc("act", hours(5))), t0(), 1)
        .unwrap();
    let b = l
        .create(req("acme", "k1", "6012345", gc("act", hours(5))), t0(), 2)
        .unwrap();
    assert!(b.replayed);
    assert_eq!(a.id, b.id);
    assert!(b.touched.is_empty());
    assert_eq!(l.usage(&zid("act"), hours(5)).unwrap().booked, 1);
    let err = l
        .create(req("acme", "k1", "6012345", gc("act", hours(6))), t0(), 3)
        .unwrap_err();
    assert!(matches!(err, Error::IdempotencyConflict { .. }), "{err}");
    // The same key of another company is another key.
    assert!(
        !l.create(req("other", "k1", "6099999", gc("act", hours(5))), t0(), 4)
            .unwrap()
            .replayed
    );
}

#[test]
fn full_window_is_refused_with_alternatives() {
    let mut l = ledger();
    for (i, c) in ["a", "b", "c"].iter().enumerate() {
        l.create(
            req(c, "k", &format!("60{i}"), gc("act", hours(5))),
            t0(),
            i as u128,
        )
        .unwrap();
    }
    let err = l
        .create(req("d", "k", "609", gc("act", hours(5))), t0(), 9)
        .unwrap_err();
    match err {
        Error::WindowFull {
            alternatives,
            window_start,
            ..
        } => {
            assert_eq!(window_start, hours(5));
            // Nearest first; on a tie the earlier window.
            assert_eq!(alternatives[..2], [hours(4), hours(6)], "{alternatives:?}");
            assert!(!alternatives.contains(&hours(5)));
        }
        other => panic!("expected WindowFull, got {other}"),
    }
}

#[test]
fn company_cap_limits_hoarding() {
    let mut l = ledger();
    l.create(req("acme", "k1", "601", gc("act", hours(5))), t0(), 1)
        .unwrap();
    l.create(req("acme", "k2", "602", gc("act", hours(5))), t0(), 2)
        .unwrap();
    let err = l
        .create(req("acme", "k3", "603", gc("act", hours(5))), t0(), 3)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::CompanyCap {
                held: 2,
                cap: 2,
                ..
            }
        ),
        "{err}"
    );
    // Another company still gets the last place.
    l.create(req("other", "k1", "604", gc("act", hours(5))), t0(), 4)
        .unwrap();
}

#[test]
fn per_type_split_is_enforced() {
    let mut l = ledger();
    l.set_template(
        &zid("siz"),
        CapacityTemplate::uniform(WindowCapacity {
            total: 10,
            per_type: Some([1, 10, 10, 10, 10]),
        }),
    )
    .unwrap();
    l.create(
        req(
            "a",
            "k",
            "601",
            vec![stop("siz", hours(5), TransactionType::ImportPickup)],
        ),
        t0(),
        1,
    )
    .unwrap();
    let err = l
        .create(
            req(
                "b",
                "k",
                "602",
                vec![stop("siz", hours(5), TransactionType::ImportPickup)],
            ),
            t0(),
            2,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WindowFull {
                transaction_type: Some(TransactionType::ImportPickup),
                ..
            }
        ),
        "{err}"
    );
    l.create(
        req(
            "b",
            "k",
            "602",
            vec![stop("siz", hours(5), TransactionType::EmptyReturn)],
        ),
        t0(),
        3,
    )
    .unwrap();
}

#[test]
fn time_rules() {
    let mut l = ledger();
    let misaligned = l
        .create(
            req(
                "a",
                "k",
                "601",
                gc("act", hours(5) + TimeDelta::minutes(30)),
            ),
            t0(),
            1,
        )
        .unwrap_err();
    assert!(
        matches!(&misaligned, Error::Invalid { field, .. } if field == "stops[0].window_start"),
        "{misaligned}"
    );
    let past = l
        .create(req("a", "k", "601", gc("act", hours(-1))), t0(), 1)
        .unwrap_err();
    assert!(past.to_string().contains("already started"), "{past}");
    let beyond = l
        .create(req("a", "k", "601", gc("act", hours(25))), t0(), 1)
        .unwrap_err();
    assert!(beyond.to_string().contains("horizon"), "{beyond}");
    let cutoff = l
        .create(
            req("a", "k", "601", gc("act", hours(1))),
            t0() + TimeDelta::minutes(1),
            1,
        )
        .unwrap_err();
    assert!(
        matches!(cutoff, Error::Precondition(ref m) if m.contains("cut-off")),
        "{cutoff}"
    );
    assert_eq!(l.booking_count(), 0);
}

#[test]
fn containers_are_required_for_imports_and_exports() {
    let mut l = ledger();
    let mut s = stop("act", hours(5), TransactionType::ImportPickup);
    s.containers.clear();
    let err = l
        .create(req("a", "k", "601", vec![s]), t0(), 1)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "stops[0].container_numbers"),
        "{err}"
    );
    let mut dup = vec![
        stop("act", hours(5), TransactionType::ImportPickup),
        stop("siz", hours(7), TransactionType::ExportDropoff),
    ];
    dup[1].containers = dup[0].containers.clone();
    let err = l.create(req("a", "k", "601", dup), t0(), 1).unwrap_err();
    assert!(err.to_string().contains("named twice"), "{err}");
}

#[test]
fn one_container_one_active_job_of_each_type() {
    let mut l = ledger();
    let with = |t: TransactionType, h: i64| {
        let mut s = stop("siz", hours(h), t);
        s.containers = vec![ContainerNumber::parse("CSQU3054383").unwrap()];
        vec![s]
    };
    let first = l
        .create(
            req("a", "k1", "601", with(TransactionType::ImportPickup, 5)),
            t0(),
            1,
        )
        .unwrap()
        .id;
    let theirs = l
        .create(
            req("b", "k2", "602", with(TransactionType::ImportPickup, 6)),
            t0(),
            2,
        )
        .unwrap_err();
    let Error::Precondition(why) = &theirs else {
        panic!("{theirs}");
    };
    assert!(
        why.contains("CSQU3054383") && why.contains("IMPORT_PICKUP"),
        "{why}"
    );
    assert!(why.contains("stops[0].container_numbers[0]"), "{why}");
    assert!(
        !why.contains(&first.to_string()),
        "another company's booking: {why}"
    );
    let own = l
        .create(
            req("a", "k3", "603", with(TransactionType::ImportPickup, 6)),
            t0(),
            3,
        )
        .unwrap_err();
    assert!(own.to_string().contains(&first.to_string()), "{own}");
    l.create(
        req("b", "k4", "604", with(TransactionType::ExportDropoff, 6)),
        t0(),
        4,
    )
    .expect("another kind of job for the same container");
    l.cancel(&Actor::Company(cid("a")), first, "wrong truck", t0())
        .unwrap();
    l.create(
        req("b", "k5", "605", with(TransactionType::ImportPickup, 6)),
        t0(),
        5,
    )
    .expect("free again once the other booking is cancelled");
}

#[test]
fn multi_stop_visit_takes_all_or_nothing() {
    let mut l = ledger();
    for (i, c) in ["a", "b", "c"].iter().enumerate() {
        l.create(
            req(c, "k", &format!("60{i}"), gc("act", hours(8))),
            t0(),
            i as u128,
        )
        .unwrap();
    }
    let visit = vec![
        stop("siz", hours(6), TransactionType::EmptyReturn),
        stop("act", hours(8), TransactionType::GeneralCargo),
    ];
    let err = l.create(req("d", "k", "609", visit), t0(), 9).unwrap_err();
    assert!(matches!(err, Error::WindowFull { .. }));
    assert!(
        l.usage(&zid("siz"), hours(6)).is_none(),
        "first stop must not keep a place"
    );
    let visit = vec![
        stop("siz", hours(6), TransactionType::EmptyReturn),
        stop("act", hours(9), TransactionType::GeneralCargo),
    ];
    let ok = l.create(req("d", "k", "609", visit), t0(), 9).unwrap();
    assert_eq!(ok.touched.changes.len(), 2, "one change per zone");
    assert_eq!(l.usage(&zid("siz"), hours(6)).unwrap().booked, 1);
    let out_of_order = vec![
        stop("act", hours(9), TransactionType::GeneralCargo),
        stop("siz", hours(6), TransactionType::EmptyReturn),
    ];
    assert!(
        l.create(req("e", "k", "608", out_of_order), t0(), 10)
            .is_err()
    );
}

#[test]
fn one_truck_never_holds_overlapping_visits() {
    let mut l = ledger();
    l.create(req("a", "k1", "6012345", gc("act", hours(5))), t0(), 1)
        .unwrap();
    let err = l
        .create(
            req(
                "b",
                "k1",
                "60-12345",
                gc("siz", hours(5) + TimeDelta::minutes(30)),
            ),
            t0(),
            2,
        )
        .unwrap_err();
    assert!(err.to_string().contains("overlapping booking"), "{err}");
    l.create(req("b", "k1", "6012345", gc("siz", hours(6))), t0(), 2)
        .unwrap();
}

#[test]
fn move_is_atomic_and_respects_cutoffs() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    for (i, c) in ["b", "c", "d"].iter().enumerate() {
        l.create(
            req(c, "k", &format!("70{i}"), gc("act", hours(6))),
            t0(),
            10 + i as u128,
        )
        .unwrap();
    }
    let actor = Actor::Company(cid("a"));
    let err = l.move_stop(&actor, id, 0, hours(6), t0()).unwrap_err();
    assert!(matches!(err, Error::WindowFull { .. }));
    assert_eq!(
        l.booking(id).unwrap().stops[0].window_start,
        hours(5),
        "nothing changed"
    );
    assert_eq!(l.usage(&zid("act"), hours(5)).unwrap().booked, 1);
    let t = l.move_stop(&actor, id, 0, hours(7), t0()).unwrap();
    assert_eq!(t.windows.len(), 2);
    assert!(l.usage(&zid("act"), hours(5)).is_none());
    assert_eq!(l.usage(&zid("act"), hours(7)).unwrap().booked, 1);
    assert_eq!(l.booking(id).unwrap().revision, 2);
    let late = l
        .move_stop(&actor, id, 0, hours(9), hours(6) + TimeDelta::minutes(1))
        .unwrap_err();
    assert!(late.to_string().contains("cut-off"), "{late}");
    let other = l
        .move_stop(&Actor::Company(cid("zzz")), id, 0, hours(9), t0())
        .unwrap_err();
    assert!(matches!(other, Error::NotFound { .. }));
}

#[test]
fn cancel_releases_and_only_once() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let actor = Actor::Company(cid("a"));
    l.cancel(&actor, id, "changed plans", t0()).unwrap();
    assert!(l.usage(&zid("act"), hours(5)).is_none());
    assert_eq!(
        l.booking(id).unwrap().cancel_reason.as_deref(),
        Some("changed plans")
    );
    let again = l.cancel(&actor, id, "", t0()).unwrap_err();
    assert!(again.to_string().contains("CANCELLED"), "{again}");
}

#[test]
fn company_sees_same_answer_for_foreign_and_missing_bookings() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let missing = BookingId::new(t0(), 99);
    let b = Actor::Company(cid("b"));
    let e1 = l.booking_for(&b, id).unwrap_err();
    let e2 = l.booking_for(&b, missing).unwrap_err();
    // Exactly the answer for a booking that does not exist, but for the id asked about.
    assert_eq!(
        e1.to_string().replace(&id.to_string(), "ID"),
        e2.to_string().replace(&missing.to_string(), "ID")
    );
    assert!(matches!(e1, Error::NotFound { .. }));
    assert_eq!(l.booking_for(&Actor::Authority, missing).unwrap_err(), e2);
}

#[test]
fn an_overlap_names_the_other_booking_only_to_its_own_company() {
    let mut l = ledger();
    let theirs = l
        .create(req("a", "k1", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let other = l
        .create(req("b", "k2", "601", gc("act", hours(5))), t0(), 2)
        .unwrap_err();
    assert!(!other.to_string().contains(&theirs.to_string()), "{other}");
    assert!(other.to_string().contains("overlapping booking"), "{other}");
    let own = l
        .create(req("a", "k3", "601", gc("act", hours(5))), t0(), 3)
        .unwrap_err();
    assert!(own.to_string().contains(&theirs.to_string()), "{own}");
}

#[test]
fn no_show_sweep_marks_and_counts() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    // Window 05:00-06:00 + 30 min late grace: still valid at 06:29.
    assert!(
        l.sweep_no_shows(hours(6) + TimeDelta::minutes(29))
            .is_empty()
    );
    let t = l.sweep_no_shows(hours(6) + TimeDelta::minutes(31));
    assert!(t.bookings.contains(&id));
    assert_eq!(l.booking(id).unwrap().state, BookingState::NoShow);
    assert_eq!(l.no_shows().get(&cid("a")), Some(&1));
    assert!(
        l.record_entry(id, hours(7)).is_err(),
        "a no-show cannot enter"
    );
}

/// A booking whose window its zone was closed over is not a no-show: the sweep cancels it,
/// naming the closure, and its company's count stays.
#[test]
fn a_booking_in_a_closed_window_is_no_no_show() {
    let mut l = ledger();
    let hit = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let missed = l
        .create(req("a", "k2", "602", gc("act", hours(8))), t0(), 2)
        .unwrap()
        .id;
    let flood = (hours(5), hours(6), "flash flood warning");
    l.add_closure(&zid("act"), flood, ClosurePolicy::Notify, t0())
        .unwrap();
    l.sweep_no_shows(hours(12));
    let b = l.booking(hit).unwrap();
    assert_eq!(b.state, BookingState::Cancelled);
    let why = b.cancel_reason.as_deref().unwrap();
    assert!(
        why.contains("closure 1") && why.contains("flash flood warning"),
        "{why}"
    );
    assert_eq!(l.booking(missed).unwrap().state, BookingState::NoShow);
    assert_eq!(
        l.no_shows().get(&cid("a")),
        Some(&1),
        "only the truck that could have come"
    );
}

#[test]
fn entry_and_exit_move_forward_only() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    assert!(l.record_exit(id, hours(5)).is_err());
    l.record_entry(id, hours(5)).unwrap();
    assert!(l.record_entry(id, hours(5)).is_err());
    l.record_exit(id, hours(6)).unwrap();
    let b = l.booking(id).unwrap();
    assert_eq!(
        (b.state, b.entered_at, b.exited_at),
        (BookingState::Exited, Some(hours(5)), Some(hours(6)))
    );
    assert!(l.cancel(&Actor::Authority, id, "", hours(6)).is_err());
}

#[test]
fn closure_zeroes_capacity_and_lists_hit_bookings() {
    let mut l = ledger();
    let hit = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let spared = l
        .create(req("a", "k2", "602", gc("act", hours(8))), t0(), 2)
        .unwrap()
        .id;
    let super::closures::Closed {
        closure,
        hit: bookings,
        touched,
        ..
    } = l
        .add_closure(
            &zid("act"),
            (
                hours(4) + TimeDelta::minutes(30),
                hours(7),
                "flash flood warning",
            ),
            ClosurePolicy::Notify,
            t0(),
        )
        .unwrap();
    assert_eq!(closure.id, 1);
    assert_eq!(bookings, vec![hit]);
    assert!(!bookings.contains(&spared));
    assert!(touched.zones.contains(&zid("act")));
    let err = l
        .create(req("b", "k", "603", gc("act", hours(6))), t0(), 3)
        .unwrap_err();
    match err {
        Error::ZoneClosed(c) => {
            assert_eq!((c.closure, c.reason.as_str()), (1, "flash flood warning"));
            assert_eq!(c.until, hours(7));
            assert!(
                c.alternatives
                    .iter()
                    .all(|a| *a >= hours(7) || *a < hours(4))
            );
            assert!(!c.alternatives.is_empty());
        }
        other => panic!("unexpected {other}"),
    }
    let views = l.windows(&zid("act"), hours(4), hours(8), 10).unwrap();
    assert_eq!(
        views.iter().map(|v| v.capacity.total).collect::<Vec<_>>(),
        vec![0, 0, 0, 3]
    );
    assert_eq!(views[1].closure.as_deref(), Some("flash flood warning"));
    l.remove_closure(&zid("act"), 1).unwrap();
    assert!(l.remove_closure(&zid("act"), 1).is_err());
}

/// A closure tells each company whose booking it hits (notify), or cancels those bookings
/// naming it, releasing their places (cancel); either way in the closure's own change.
#[test]
fn a_closure_notifies_or_cancels_the_bookings_it_hits() {
    use crate::event::EventKind;
    for policy in [ClosurePolicy::Notify, ClosurePolicy::Cancel] {
        let mut l = ledger();
        let hit = l
            .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
            .unwrap()
            .id;
        let spared = l
            .create(req("b", "k2", "602", gc("act", hours(8))), t0(), 2)
            .unwrap()
            .id;
        let change = AdminChange::AddClosure {
            zone: zid("act"),
            from: hours(5),
            to: hours(6),
            reason: "flash flood".into(),
            policy,
        };
        let (t, _) = l.administer(change, &Who::named("ops"), t0()).unwrap();
        let events: Vec<_> = t
            .events
            .iter()
            .map(|e| (e.booking.id, e.kind, e.seq))
            .collect();
        let b = l.booking(hit).unwrap();
        match policy {
            ClosurePolicy::Notify => {
                assert_eq!(b.state, BookingState::Booked);
                assert_eq!(events, vec![(hit, EventKind::HitByClosure, 2)]);
            }
            ClosurePolicy::Cancel => {
                assert_eq!(b.state, BookingState::Cancelled);
                let why = b.cancel_reason.as_deref().unwrap();
                assert!(why.contains("closure 1: flash flood"), "{why}");
                assert_eq!(events, vec![(hit, EventKind::Cancelled, 2)]);
                assert_eq!(l.usage(&zid("act"), hours(5)).map_or(0, |u| u.booked), 0);
                assert!(
                    t.changes.iter().any(|c| c.booking.id == hit),
                    "gates hear of it"
                );
            }
            ClosurePolicy::Rebook => unreachable!("see closures_tests.rs"),
        }
        let e = &t.events[0];
        assert_eq!(e.zone, Some(zid("act")));
        assert_eq!(e.closure.as_ref().map(|c| c.id), Some(1));
        assert_eq!(l.booking(spared).unwrap().state, BookingState::Booked);
        let audit = t.audit.last().unwrap();
        assert!(audit.objects.contains(&format!("booking:{hit}")));
    }
}

#[test]
fn find_slots_is_nearest_first_within_bookable_range() {
    let mut l = ledger();
    for (i, c) in ["a", "b", "c"].iter().enumerate() {
        l.create(
            req(c, "k", &format!("60{i}"), gc("act", hours(5))),
            t0(),
            i as u128,
        )
        .unwrap();
    }
    let s = l
        .find_slots(
            &zid("act"),
            TransactionType::GeneralCargo,
            None,
            hours(5),
            3,
            t0(),
        )
        .unwrap();
    assert_eq!(s, vec![hours(4), hours(6), hours(3)]);
    // Cut-off of 60 minutes: the earliest bookable window at t0 is 01:00.
    let s = l
        .find_slots(
            &zid("act"),
            TransactionType::GeneralCargo,
            None,
            hours(-10),
            2,
            t0(),
        )
        .unwrap();
    assert_eq!(s, vec![hours(1), hours(2)]);
    // Horizon of one day.
    let s = l
        .find_slots(
            &zid("act"),
            TransactionType::GeneralCargo,
            None,
            hours(100),
            1,
            t0(),
        )
        .unwrap();
    assert_eq!(s, vec![hours(24)]);
}

#[test]
fn restore_recounts_everything() {
    let mut l = ledger();
    let a = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    l.create(req("b", "k", "602", gc("act", hours(5))), t0(), 2)
        .unwrap();
    l.cancel(&Actor::Authority, a, "", t0()).unwrap();
    let r = Ledger::restore(Records {
        zones: l.zones().cloned().collect(),
        gates: l.gates().cloned().collect(),
        bookings: l.bookings().cloned().collect(),
        idempotency: l.idempotency_records().cloned().collect(),
        change_seq: l.change_seqs().clone(),
        ..Records::default()
    });
    assert_eq!(
        r.usages().collect::<Vec<_>>(),
        l.usages().collect::<Vec<_>>()
    );
    assert_eq!(r.change_seq(&zid("act")), 3);
}

#[test]
fn list_bookings_filters_and_pages() {
    let mut l = ledger();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            l.create(
                req(
                    "a",
                    &format!("k{i}"),
                    &format!("60{i}"),
                    gc("act", hours(5 + i)),
                ),
                t0(),
                i as u128,
            )
            .unwrap()
            .id,
        );
    }
    l.create(req("b", "k", "700", gc("siz", hours(5))), t0(), 50)
        .unwrap();
    let f = BookingFilter {
        company: Some(cid("a")),
        ..Default::default()
    };
    let page1: Vec<_> = l.list_bookings(&f, None, 2).iter().map(|b| b.id).collect();
    let page2: Vec<_> = l
        .list_bookings(&f, page1.last().copied(), 2)
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!([page1, page2].concat(), ids[..4].to_vec());
    let f = BookingFilter {
        zone: Some(zid("act")),
        window_from: Some(hours(7)),
        window_to: Some(hours(9)),
        ..Default::default()
    };
    assert_eq!(
        l.list_bookings(&f, None, 10)
            .iter()
            .map(|b| b.id)
            .collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
}

// ---- property test against a naive model ---------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Create {
        company: u8,
        plate: u8,
        window: u8,
        key: u8,
    },
    Move {
        booking: u8,
        window: u8,
    },
    Cancel {
        booking: u8,
    },
    Enter {
        booking: u8,
    },
    Exit {
        booking: u8,
    },
    Sweep,
    Advance {
        minutes: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..4, 0u8..6, 0u8..30, 0u8..12).prop_map(|(company, plate, window, key)| Op::Create { company, plate, window, key }),
        2 => (any::<u8>(), 0u8..30).prop_map(|(booking, window)| Op::Move { booking, window }),
        1 => any::<u8>().prop_map(|booking| Op::Cancel { booking }),
        1 => any::<u8>().prop_map(|booking| Op::Enter { booking }),
        1 => any::<u8>().prop_map(|booking| Op::Exit { booking }),
        1 => Just(Op::Sweep),
        1 => (1u16..240).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

#[derive(Debug, Clone)]
struct MBooking {
    id: BookingId,
    company: String,
    plate: String,
    start: DateTime<Utc>,
    /// The window first asked for: a retry of the create is the same request even after a move.
    requested: DateTime<Utc>,
    state: BookingState,
    key: String,
}

/// The naive model: a list of bookings, every rule recomputed by counting.
struct Model {
    now: DateTime<Utc>,
    bookings: Vec<MBooking>,
}

const CAP: usize = 3;
const COMPANY_CAP: usize = 2;

impl Model {
    fn bookable(&self, start: DateTime<Utc>) -> bool {
        self.now <= start - TimeDelta::hours(1) && start <= self.now + TimeDelta::days(1)
    }
    fn holding(&self, start: DateTime<Utc>) -> impl Iterator<Item = &MBooking> {
        self.bookings
            .iter()
            .filter(move |b| b.start == start && b.state.holds_capacity())
    }
    fn has_room(&self, start: DateTime<Utc>, company: &str) -> bool {
        self.holding(start).count() < CAP
            && self.holding(start).filter(|b| b.company == company).count() < COMPANY_CAP
    }
    fn plate_free(&self, plate: &str, start: DateTime<Utc>, except: Option<BookingId>) -> bool {
        !self.bookings.iter().any(|b| {
            b.plate == plate && b.start == start && b.state.is_active() && Some(b.id) != except
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ledger_agrees_with_naive_model(ops in prop::collection::vec(op(), 1..80)) {
        let mut l = ledger();
        let mut m = Model { now: t0(), bookings: Vec::new() };
        let zone = zid("act");
        // The company event logs, as a follower would keep them.
        let mut logs: BTreeMap<CompanyId, Vec<crate::event::CompanyEvent>> = BTreeMap::new();
        for (n, op) in ops.into_iter().enumerate() {
            let mut events: Vec<crate::event::CompanyEvent> = Vec::new();
            let before: BTreeMap<BookingId, BookingState> = l.bookings().map(|b| (b.id, b.state)).collect();
            let now = m.now;
            match op {
                Op::Create { company, plate, window, key } => {
                    let (company, plate, key) = (format!("c{company}"), format!("60{plate}"), format!("k{key}"));
                    let start = hours(i64::from(window));
                    let r = l.create(req(&company, &key, &plate, gc("act", start)), now, n as u128);
                    if let Ok(c) = &r { events.extend(c.touched.events.clone()); }
                    if let Some(prev) = m.bookings.iter().find(|b| b.company == company && b.key == key) {
                        let same = prev.plate == plate && prev.requested == start;
                        prop_assert_eq!(r.as_ref().map(|c| c.id).ok(), same.then_some(prev.id), "idempotency");
                        let conflict = matches!(r, Err(Error::IdempotencyConflict { .. }));
                        prop_assert!(same || conflict);
                    } else {
                        let expect = m.bookable(start) && m.has_room(start, &company) && m.plate_free(&plate, start, None);
                        prop_assert_eq!(r.is_ok(), expect, "create {:?}", r);
                        if let Ok(c) = r {
                            m.bookings.push(MBooking { id: c.id, company, plate, start, requested: start, state: BookingState::Booked, key });
                        }
                    }
                }
                Op::Move { booking, window } => {
                    if m.bookings.is_empty() { continue; }
                    let i = booking as usize % m.bookings.len();
                    let b = m.bookings[i].clone();
                    let start = hours(i64::from(window));
                    let r = l.move_stop(&Actor::Company(cid(&b.company)), b.id, 0, start, now);
                    if let Ok(t) = &r { events.extend(t.events.clone()); }
                    let expect = b.state == BookingState::Booked
                        && now <= b.start - TimeDelta::hours(1)
                        && start != b.start
                        && m.bookable(start)
                        && m.has_room(start, &b.company)
                        && m.plate_free(&b.plate, start, Some(b.id));
                    prop_assert_eq!(r.is_ok(), expect, "move {:?}", r);
                    if r.is_ok() { m.bookings[i].start = start; }
                }
                Op::Cancel { booking } => {
                    if m.bookings.is_empty() { continue; }
                    let i = booking as usize % m.bookings.len();
                    let b = m.bookings[i].clone();
                    let r = l.cancel(&Actor::Company(cid(&b.company)), b.id, "", now);
                    if let Ok(t) = &r { events.extend(t.events.clone()); }
                    let expect = b.state == BookingState::Booked && now <= b.start - TimeDelta::hours(1);
                    prop_assert_eq!(r.is_ok(), expect, "cancel {:?}", r);
                    if r.is_ok() { m.bookings[i].state = BookingState::Cancelled; }
                }
                Op::Enter { booking } | Op::Exit { booking } => {
                    if m.bookings.is_empty() { continue; }
                    let i = booking as usize % m.bookings.len();
                    let id = m.bookings[i].id;
                    let entering = matches!(op, Op::Enter { .. });
                    let r = if entering { l.record_entry(id, now) } else { l.record_exit(id, now) };
                    if let Ok(t) = &r { events.extend(t.events.clone()); }
                    let (from, to) = if entering { (BookingState::Booked, BookingState::Entered) } else { (BookingState::Entered, BookingState::Exited) };
                    prop_assert_eq!(r.is_ok(), m.bookings[i].state == from);
                    if r.is_ok() { m.bookings[i].state = to; }
                }
                Op::Sweep => {
                    events.extend(l.sweep_no_shows(now).events);
                    for b in &mut m.bookings {
                        if b.state == BookingState::Booked && b.start + TimeDelta::minutes(90) < now {
                            b.state = BookingState::NoShow;
                        }
                    }
                }
                Op::Advance { minutes } => m.now += TimeDelta::minutes(i64::from(minutes)),
            }
            // Invariants after every step.
            for b in &m.bookings {
                prop_assert_eq!(l.booking(b.id).map(|x| (x.state, x.stops[0].window_start)), Some((b.state, b.start)));
            }
            for (id, old) in before {
                let new = l.booking(id).map(|b| b.state);
                prop_assert!(new == Some(old) || new.is_some_and(|s| old.can_become(s)), "{:?} -> {:?}", old, new);
            }
            for ((z, start), u) in l.usages() {
                prop_assert_eq!(z, &zone);
                prop_assert!(u.booked as usize <= CAP, "window over capacity");
                prop_assert_eq!(u.booked as usize, m.holding(*start).count());
                prop_assert!(u.per_company.values().all(|n| *n as usize <= COMPANY_CAP), "company over cap");
            }
            let noshows = m.bookings.iter().filter(|b| b.state == BookingState::NoShow).count() as u64;
            prop_assert_eq!(l.no_shows().values().sum::<u64>(), noshows);
            // Every booking that changed has an event, and each company's log counts 1, 2, ...
            for e in events {
                let log = logs.entry(e.company.clone()).or_default();
                prop_assert_eq!(e.seq, log.len() as u64 + 1, "{:?}", e);
                prop_assert_eq!(e.booking.company.clone(), e.company.clone());
                log.push(e);
            }
        }
        // A follower of the logs knows every booking as the ledger has it, in its last state.
        for b in l.bookings() {
            let last = logs.get(&b.company).and_then(|log| log.iter().rev().find(|e| e.booking.id == b.id));
            prop_assert_eq!(last.map(|e| &e.booking), Some(b));
        }
        for (c, log) in &logs {
            prop_assert_eq!(l.event_seq(c), log.len() as u64);
        }
    }
}

// ---- passages and referrals ------------------------------------------------------------

fn passage(
    n: u128,
    zone: &str,
    direction: Direction,
    verdict: Verdict,
    booking: Option<BookingId>,
    at: DateTime<Utc>,
) -> Passage {
    Passage {
        id: PassageId::new(at, n),
        zone: zid(zone),
        gate: GateId::parse("g").unwrap(),
        lane: LaneId::parse(if direction == Direction::In {
            "in-1"
        } else {
            "out-1"
        })
        .unwrap(),
        direction,
        first_read_at: at,
        last_read_at: at,
        decided_at: at,
        plate: Some(plate("601")),
        confidence: Some(90),
        epc: None,
        verdict,
        reasons: vec![],
        booking,
        offline: false,
    }
}

#[test]
fn passages_are_numbered_in_the_order_they_are_recorded() {
    let mut l = ledger();
    let now = passage(1, "act", Direction::In, Verdict::Deny, None, hours(5));
    // Decided an hour earlier at a gate that was offline, reported after `now`.
    let late = passage(2, "siz", Direction::In, Verdict::Deny, None, hours(4));
    assert_eq!(l.passage_head(), 0);
    assert_eq!(
        l.record_passage(now.clone()).unwrap().1.passages,
        [(1, now.id)]
    );
    assert_eq!(
        l.record_passage(late.clone()).unwrap().1.passages,
        [(2, late.id)]
    );
    // A resend gets no new number.
    assert!(
        l.record_passage(late.clone())
            .unwrap()
            .1
            .passages
            .is_empty()
    );
    assert_eq!(l.passage_head(), 2);
    let ids = |found: Vec<(u64, &Passage)>| -> Vec<(u64, PassageId)> {
        found.into_iter().map(|(seq, p)| (seq, p.id)).collect()
    };
    assert_eq!(
        ids(l.recorded_passages(None, 0, 10)),
        [(1, now.id), (2, late.id)]
    );
    // A follower that has seen `now` still gets the late one, though its id is older.
    assert_eq!(ids(l.recorded_passages(None, 1, 10)), [(2, late.id)]);
    assert_eq!(ids(l.recorded_passages(Some(&zid("act")), 1, 10)), []);
    assert_eq!(ids(l.recorded_passages(None, 0, 1)), [(1, now.id)]);
    assert_eq!(ids(l.recorded_passages(None, u64::MAX, 10)), []);

    // Restored with the numbers the store kept, the order holds; passages kept without one
    // follow, in id order.
    let kept = passage(3, "act", Direction::Out, Verdict::Deny, None, hours(3));
    let r = Ledger::restore(Records {
        zones: l.zones().cloned().collect(),
        passages: vec![now.clone(), late.clone(), kept.clone()],
        passage_log: vec![(1, now.id), (2, late.id)],
        ..Records::default()
    });
    assert_eq!(
        ids(r.recorded_passages(None, 0, 10)),
        [(1, now.id), (2, late.id), (3, kept.id)]
    );
    assert_eq!(r.passage_head(), 3);
}

#[test]
fn passages_move_a_visit_through_its_stops_once_each() {
    let mut l = ledger();
    let visit = vec![
        stop("siz", hours(5), TransactionType::EmptyReturn),
        stop("act", hours(7), TransactionType::GeneralCargo),
    ];
    let id = l.create(req("a", "k", "601", visit), t0(), 1).unwrap().id;
    let p_in = passage(1, "siz", Direction::In, Verdict::Allow, Some(id), hours(5));
    let (new, touched) = l.record_passage(p_in.clone()).unwrap();
    assert!(new && touched.bookings.contains(&id) && touched.passages == [(1, p_in.id)]);
    assert_eq!(l.booking(id).unwrap().state, BookingState::Entered);
    assert_eq!(l.booking(id).unwrap().stops[0].entered_at, Some(hours(5)));
    // A resend changes nothing.
    let (again, touched) = l.record_passage(p_in).unwrap();
    assert!(!again && touched.is_empty());
    l.record_passage(passage(
        2,
        "siz",
        Direction::Out,
        Verdict::Allow,
        Some(id),
        hours(6),
    ))
    .unwrap();
    assert_eq!(
        l.booking(id).unwrap().state,
        BookingState::Entered,
        "the visit goes on to its next stop"
    );
    l.record_passage(passage(
        3,
        "act",
        Direction::In,
        Verdict::Allow,
        Some(id),
        hours(7),
    ))
    .unwrap();
    l.record_passage(passage(
        4,
        "act",
        Direction::Out,
        Verdict::Allow,
        Some(id),
        hours(8),
    ))
    .unwrap();
    let b = l.booking(id).unwrap();
    assert_eq!(
        (b.state, b.entered_at, b.exited_at),
        (BookingState::Exited, Some(hours(5)), Some(hours(8)))
    );
    assert_eq!(l.passages().count(), 4);
}

#[test]
fn every_change_to_a_booking_is_an_event_of_its_company() {
    use crate::event::EventKind::*;
    let mut l = ledger();
    let a = l
        .create(req("a", "k1", "601", gc("act", hours(5))), t0(), 1)
        .unwrap();
    let b = l
        .create(req("b", "k2", "602", gc("act", hours(6))), t0(), 2)
        .unwrap();
    let moved = l
        .move_stop(&Actor::Company(cid("a")), a.id, 0, hours(7), t0())
        .unwrap();
    let refused = l.cancel(&Actor::Company(cid("a")), b.id, "", t0());
    assert!(refused.is_err(), "another company's booking");
    let entered = l.record_entry(a.id, hours(7)).unwrap();
    let exited = l.record_exit(a.id, hours(8)).unwrap();
    let swept = l.sweep_no_shows(hours(12));
    let events: Vec<_> = [a.touched, moved, entered, exited, b.touched, swept]
        .into_iter()
        .flat_map(|t| t.events)
        .map(|e| (e.company.to_string(), e.seq, e.kind, e.booking.id))
        .collect();
    let (ca, cb) = ("a".to_owned(), "b".to_owned());
    assert_eq!(
        events,
        vec![
            (ca.clone(), 1, Created, a.id),
            (ca.clone(), 2, Moved, a.id),
            (ca.clone(), 3, Entered, a.id),
            (ca, 4, Exited, a.id),
            (cb.clone(), 1, Created, b.id),
            (cb, 2, NoShow, b.id),
        ]
    );
    assert_eq!((l.event_seq(&cid("a")), l.event_seq(&cid("b"))), (4, 2));
}

#[test]
fn denied_passages_are_recorded_without_effect() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let (new, t) = l
        .record_passage(passage(
            1,
            "act",
            Direction::In,
            Verdict::Deny,
            Some(id),
            hours(1),
        ))
        .unwrap();
    assert!(new && t.bookings.is_empty());
    assert_eq!(l.booking(id).unwrap().state, BookingState::Booked);
    let unknown_zone = passage(2, "nowhere", Direction::In, Verdict::Deny, None, hours(1));
    assert!(l.record_passage(unknown_zone).is_err());
}

#[test]
fn referrals_are_opened_and_resolved_once() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let p = passage(1, "act", Direction::In, Verdict::Refer, Some(id), hours(5));
    l.record_passage(p.clone()).unwrap();
    assert_eq!(l.referrals(Some(&zid("act")), false).count(), 1);
    assert_eq!(l.referrals(Some(&zid("siz")), false).count(), 0);
    assert!(
        l.resolve_referral(
            p.id,
            &Resolution::approve(""),
            &Who::named("op-1"),
            hours(5)
        )
        .is_err(),
        "a reason is required"
    );
    let t = l
        .resolve_referral(
            p.id,
            &Resolution::approve("driver showed papers"),
            &Who::named("op-1"),
            hours(5),
        )
        .unwrap();
    assert!(t.referrals.contains(&p.id) && t.bookings.contains(&id));
    assert_eq!(l.booking(id).unwrap().state, BookingState::Entered);
    let r = l.referral(p.id).unwrap();
    assert_eq!(
        (r.state, r.resolved_by.as_deref()),
        (ReferralState::Approved, Some("op-1"))
    );
    assert!(
        l.resolve_referral(
            p.id,
            &Resolution::reject("no"),
            &Who::named("op-2"),
            hours(5)
        )
        .is_err()
    );
    assert_eq!(l.referrals(None, false).count(), 0);
    assert_eq!(l.referrals(None, true).count(), 1);
}

#[test]
fn rejected_referral_leaves_the_booking() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let p = passage(1, "act", Direction::In, Verdict::Refer, Some(id), hours(5));
    l.record_passage(p.clone()).unwrap();
    l.resolve_referral(
        p.id,
        &Resolution::reject("tag belongs to another truck"),
        &Who::named("op-1"),
        hours(5),
    )
    .unwrap();
    assert_eq!(l.booking(id).unwrap().state, BookingState::Booked);
    assert_eq!(l.referral(p.id).unwrap().state, ReferralState::Rejected);
}

#[test]
fn an_operator_names_the_booking_of_a_truck_the_gate_could_not_match() {
    let mut l = ledger();
    let id = l
        .create(req("a", "k", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let other = l
        .create(req("b", "k2", "602", gc("siz", hours(5))), t0(), 2)
        .unwrap()
        .id;
    let p = passage(1, "act", Direction::In, Verdict::Refer, None, hours(5));
    l.record_passage(p.clone()).unwrap();
    let op = Who::named("op-1");
    let named = |b| Resolution::approve("slip shown").with_booking(b);
    // Refused, changing nothing: a rejection naming a booking, a booking that does not exist,
    // one with no stop in the referral's zone.
    let refusals = [
        Resolution::reject("no").with_booking(id),
        named(BookingId::new(hours(1), 99)),
        named(other),
    ];
    for res in &refusals {
        assert!(
            l.resolve_referral(p.id, res, &op, hours(5)).is_err(),
            "{res:?}"
        );
        assert_eq!(l.referral(p.id).unwrap().state, ReferralState::Open);
        assert_eq!(l.booking(id).unwrap().state, BookingState::Booked);
    }
    let t = l.resolve_referral(p.id, &named(id), &op, hours(5)).unwrap();
    assert!(t.bookings.contains(&id));
    assert_eq!(l.booking(id).unwrap().state, BookingState::Entered);
    let r = l.referral(p.id).unwrap();
    assert_eq!(
        (r.state, r.passage.booking),
        (ReferralState::Approved, Some(id))
    );
    let audit = t.audit.last().unwrap();
    assert!(audit.objects.contains(&format!("booking:{id}")));
    assert!(audit.changes.iter().any(|c| c.field == "booking"));
    // The truck inside: a second referral at an IN lane cannot use the same stop again.
    let again = passage(2, "act", Direction::In, Verdict::Refer, None, hours(6));
    l.record_passage(again.clone()).unwrap();
    let err = l.resolve_referral(again.id, &named(id), &op, hours(6));
    assert!(matches!(err, Err(Error::Precondition(_))), "{err:?}");
}

/// Reminders come once per visit, for booked visits whose first window starts within the
/// lead, never for a closed window, and again for a visit moved past the mark.
#[test]
fn reminders_come_once_before_the_first_window() {
    let mut l = ledger();
    let soon = l
        .create(req("a", "k1", "601", gc("act", hours(5))), t0(), 1)
        .unwrap()
        .id;
    let later = l
        .create(req("a", "k2", "602", gc("act", hours(9))), t0(), 2)
        .unwrap()
        .id;
    let closed = l
        .create(req("b", "k3", "603", gc("act", hours(6))), t0(), 3)
        .unwrap()
        .id;
    let flood = (hours(6), hours(7), "flash flood warning");
    l.add_closure(&zid("act"), flood, ClosurePolicy::Notify, t0())
        .unwrap();
    let reminded = |t: &Touched| -> Vec<BookingId> {
        let reminders = t.events.iter().filter(|e| e.kind == EventKind::Reminder);
        reminders.map(|e| e.booking.id).collect()
    };
    let lead = TimeDelta::hours(2);
    let t = l.remind(hours(3), lead);
    assert_eq!(reminded(&t), [soon]);
    assert!(t.reminded && l.reminded_through() == Some(hours(5)));
    assert_eq!(t.events[0].zone, Some(zid("act")));
    assert_eq!(t.events[0].seq, 3, "after a's two created events");
    let t = l.remind(hours(3) + TimeDelta::minutes(1), lead);
    assert!(reminded(&t).is_empty(), "once");
    assert!(reminded(&l.remind(hours(5), lead)).is_empty(), "closed");
    assert_ne!(closed, later);
    let moved = l.move_stop(&Actor::Company(cid("a")), later, 0, hours(12), hours(4));
    moved.unwrap();
    assert!(reminded(&l.remind(hours(8), lead)).is_empty());
    assert_eq!(reminded(&l.remind(hours(10), lead)), [later]);
    let shorter = l.remind(hours(10), TimeDelta::hours(1));
    assert!(!shorter.reminded, "a shorter lead leaves the mark");
}

/// A company's first driver's number starts its texting at its newest event.
#[test]
fn the_first_drivers_number_starts_texting_at_the_newest_event() {
    let mut l = ledger();
    l.create(req("a", "k1", "601", gc("act", hours(5))), t0(), 1)
        .unwrap();
    let who = Who::named("a-admin");
    let truck = |phone: Option<&str>| {
        let phone = phone.map(|p| crate::fleet::Phone::parse(p).unwrap());
        crate::fleet::FleetTruck::new(cid("a"), plate("601"), None, "Ali", phone, t0())
    };
    let t = l.save_truck(truck(None).unwrap(), &who, t0()).unwrap();
    assert!(t.sms.is_empty() && l.sms_progress().next().is_none());
    let t = l
        .save_truck(truck(Some("0791234567")).unwrap(), &who, t0())
        .unwrap();
    assert_eq!(t.sms, [cid("a")].into());
    let progress = Progress {
        cursor: 1,
        failing: None,
    };
    assert_eq!(
        l.sms_progress().collect::<Vec<_>>(),
        [(&cid("a"), &progress)]
    );
    let moved_on = Progress {
        cursor: 5,
        failing: None,
    };
    l.record_text(&cid("a"), None, moved_on);
    let t = l
        .save_truck(truck(Some("0791234568")).unwrap(), &who, t0())
        .unwrap();
    assert!(t.sms.is_empty(), "already texting");
    assert_eq!(l.sms_progress().next().unwrap().1.cursor, 5);
}
