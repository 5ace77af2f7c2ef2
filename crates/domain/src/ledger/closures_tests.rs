use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::audit::Who;
use crate::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use crate::ids::CompanyId;
use std::collections::BTreeMap;

use crate::ledger::{AdminChange, Administered, NewBooking, Records, Stop};
use crate::plate::Plate;

fn hours(h: i64) -> DateTime<Utc> {
    // Thursday 2026-11-26 00:00 UTC (03:00 in Amman).
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + TimeDelta::hours(h)
}

fn act() -> ZoneId {
    ZoneId::parse("act").unwrap()
}

fn siz() -> ZoneId {
    ZoneId::parse("siz").unwrap()
}

/// Zone `act`: 60-minute windows of 3, a company holds at most 2 of a window, 1-day horizon;
/// zone `siz`: 30-minute windows of 10.
fn ledger() -> Ledger {
    let mut l = Ledger::new();
    let mut z = ZoneConfig::new(
        act(),
        "Container terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(3),
    );
    z.rules.company_cap_percent = 67;
    z.rules.horizon_minutes = 24 * 60;
    l.upsert_zone(z).unwrap();
    let z = ZoneConfig::new(
        siz(),
        "Southern industrial zone",
        SlotLength::from_minutes(30).unwrap(),
        WindowCapacity::uniform(10),
    );
    l.upsert_zone(z).unwrap();
    l
}

fn stop(zone: ZoneId, h: i64) -> Stop {
    Stop::new(zone, hours(h), TransactionType::GeneralCargo, vec![])
}

/// Books `stops` for `company`'s truck `plate` at hour 0.
fn book(l: &mut Ledger, company: &str, plate: &str, stops: Vec<Stop>) -> BookingId {
    let n = l.booking_count() as u128;
    let req = NewBooking {
        by: None,
        company: CompanyId::parse(company).unwrap(),
        idempotency_key: format!("k{n}"),
        plate: Plate::parse(plate).unwrap(),
        epc: None,
        stops,
    };
    l.create(req, hours(0), n + 1).unwrap().id
}

fn close(l: &mut Ledger, (from, to): (i64, i64), policy: ClosurePolicy) -> (Touched, Administered) {
    let change = AdminChange::AddClosure {
        zone: act(),
        from: hours(from),
        to: hours(to),
        reason: "flash flood".into(),
        policy,
    };
    l.administer(change, &Who::named("ops"), hours(0)).unwrap()
}

fn start(l: &Ledger, id: BookingId) -> DateTime<Utc> {
    l.booking(id).unwrap().stops[0].window_start
}

/// Rebooking moves each hit booking to the nearest window after the closure with room for it
/// (capacity and its company's cap), oldest booking first, releasing the closed places.
#[test]
fn rebook_moves_each_to_the_nearest_free_window_after_the_closure() {
    let mut l = ledger();
    book(&mut l, "c", "60-1", vec![stop(act(), 7)]);
    book(&mut l, "c", "60-2", vec![stop(act(), 7)]);
    let a1 = book(&mut l, "a", "60-3", vec![stop(act(), 5)]);
    let a2 = book(&mut l, "a", "60-4", vec![stop(act(), 6)]);
    let b1 = book(&mut l, "b", "60-5", vec![stop(act(), 5)]);
    let (t, done) = close(&mut l, (5, 7), ClosurePolicy::Rebook);
    // Hour 7 has one place left (c holds 2): a1 takes it; a2 and b1 go on to hour 8.
    assert_eq!(start(&l, a1), hours(7));
    assert_eq!((start(&l, a2), start(&l, b1)), (hours(8), hours(8)));
    let Administered::Closure { hit, rebooked, .. } = done else {
        panic!("{done:?}")
    };
    assert_eq!(rebooked, vec![a1, a2, b1]);
    assert_eq!(hit.len(), 3);
    assert!(hit.iter().all(|b| b.state == BookingState::Booked));
    for (h, n) in [(5, 0), (6, 0), (7, 3), (8, 2)] {
        assert_eq!(
            l.usage(&act(), hours(h)).map_or(0, |u| u.booked),
            n,
            "hour {h}"
        );
    }
    let events: Vec<_> = t.events.iter().map(|e| (e.booking.id, e.kind)).collect();
    use crate::event::EventKind::Rebooked;
    assert_eq!(events, vec![(a1, Rebooked), (a2, Rebooked), (b1, Rebooked)]);
    assert!(
        t.events
            .iter()
            .all(|e| e.closure.as_ref().is_some_and(|c| c.id == 1) && e.zone == Some(act()))
    );
    assert!(
        t.changes.iter().any(|c| c.booking.id == a1),
        "gates hear of it"
    );
    let audit = t.audit.last().unwrap();
    assert!(audit.objects.contains(&format!("booking:{b1}")));
}

/// A booking that cannot move as a whole does not move: it stays, hit (its company is told),
/// and the places it holds stay with it.
#[test]
fn a_booking_that_cannot_move_whole_stays_hit() {
    let mut l = ledger();
    // Its next stop is at hour 6 in siz: moving the first past 7 would break the visit's order.
    let visit = book(&mut l, "a", "60-1", vec![stop(act(), 5), stop(siz(), 6)]);
    // Every window after the closure is full for company b (it holds 2 of each).
    let full = book(&mut l, "b", "60-2", vec![stop(act(), 5)]);
    for h in 6..=24 {
        book(&mut l, "b", &format!("60-1{h}"), vec![stop(act(), h)]);
        book(&mut l, "b", &format!("60-2{h}"), vec![stop(act(), h)]);
    }
    let (t, done) = close(&mut l, (5, 6), ClosurePolicy::Rebook);
    let Administered::Closure { rebooked, .. } = done else {
        panic!("{done:?}")
    };
    assert!(rebooked.is_empty());
    assert_eq!(
        l.booking(visit).unwrap().stops,
        vec![stop(act(), 5), stop(siz(), 6)]
    );
    assert_eq!(start(&l, full), hours(5));
    let kinds: Vec<_> = t.events.iter().map(|e| (e.booking.id, e.kind)).collect();
    use crate::event::EventKind::HitByClosure;
    assert_eq!(kinds, vec![(visit, HitByClosure), (full, HitByClosure)]);
    assert_eq!(l.usage(&act(), hours(5)).map(|u| u.booked), Some(2));
}

/// A truck's other visit is never overlapped: a booking whose nearest window would make its
/// truck be in two places stays.
#[test]
fn rebooking_never_overlaps_the_trucks_other_visit() {
    let mut l = ledger();
    let hit = book(&mut l, "a", "60-1", vec![stop(act(), 5)]);
    let other = book(&mut l, "a", "60-1", vec![stop(act(), 6)]);
    close(&mut l, (5, 6), ClosurePolicy::Rebook);
    assert_eq!((start(&l, hit), start(&l, other)), (hours(5), hours(6)));
}

#[derive(Debug, Clone)]
struct Setup {
    /// (company, plate, hour) of each booking asked for; those that do not fit are skipped.
    bookings: Vec<(u8, u8, u8)>,
    closure: (u8, u8),
    policy: ClosurePolicy,
}

fn setup() -> impl Strategy<Value = Setup> {
    let policy = prop_oneof![
        Just(ClosurePolicy::Notify),
        Just(ClosurePolicy::Cancel),
        Just(ClosurePolicy::Rebook)
    ];
    (
        prop::collection::vec((0u8..3, 0u8..12, 2u8..23), 0..60),
        (2u8..22, 1u8..6),
        policy,
    )
        .prop_map(|(bookings, (from, len), policy)| Setup {
            bookings,
            closure: (from, from + len),
            policy,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the bookings and the closure: no window over its capacity or a company's cap,
    /// no BOOKED place left in the closure except one that could not move, every moved
    /// booking in the nearest window that had room for it, nothing else changed.
    #[test]
    fn a_closure_keeps_every_window_within_its_limits(s in setup()) {
        let mut l = ledger();
        for (i, (company, plate, h)) in s.bookings.iter().enumerate() {
            let req = NewBooking {
                by: None,
                company: CompanyId::parse(&format!("c{company}")).unwrap(),
                idempotency_key: format!("k{i}"),
                plate: Plate::parse(&format!("60-{plate}")).unwrap(),
                epc: None,
                stops: vec![stop(act(), i64::from(*h))],
            };
            let _ = l.create(req, hours(0), i as u128 + 1);
        }
        let before: BTreeMap<BookingId, Booking> = l.bookings().map(|b| (b.id, b.clone())).collect();
        let (from, to) = (i64::from(s.closure.0), i64::from(s.closure.1));
        let (_, done) = close(&mut l, (from, to), s.policy);
        let Administered::Closure { hit, rebooked, .. } = done else { panic!() };
        let shut = |t: DateTime<Utc>| hours(from) <= t && t < hours(to);
        // The counters are those of the bookings, and within every limit.
        let recount = Ledger::restore(Records {
            zones: l.zones().cloned().collect(),
            bookings: l.bookings().cloned().collect(),
            ..Records::default()
        });
        prop_assert_eq!(recount.usages().collect::<Vec<_>>(), l.usages().collect::<Vec<_>>());
        for (_, u) in l.usages() {
            prop_assert!(u.booked <= 3);
            prop_assert!(u.per_company.values().all(|n| *n <= 2));
        }
        for (id, old) in &before {
            let new = l.booking(*id).unwrap();
            let was_hit = old.state == BookingState::Booked && shut(old.stops[0].window_start);
            prop_assert_eq!(was_hit, hit.iter().any(|b| b.id == *id));
            let moved = rebooked.contains(id);
            match (was_hit, s.policy) {
                (false, _) => prop_assert_eq!(new, old),
                (true, ClosurePolicy::Cancel) => prop_assert_eq!(new.state, BookingState::Cancelled),
                (true, ClosurePolicy::Notify) => prop_assert_eq!(new, old),
                (true, ClosurePolicy::Rebook) if moved => {
                    let w = new.stops[0].window_start;
                    prop_assert!(w >= hours(to) && new.state == BookingState::Booked);
                    // Every window between the closure and its new one is full for it.
                    let mut h = hours(to);
                    while h < w {
                        let u = l.usage(&act(), h);
                        let held = u.and_then(|u| u.per_company.get(&new.company)).copied().unwrap_or(0);
                        prop_assert!(u.map_or(0, |u| u.booked) >= 3 || held >= 2, "{} had room", h);
                        h += TimeDelta::hours(1);
                    }
                }
                (true, ClosurePolicy::Rebook) => prop_assert_eq!(new, old),
            }
        }
    }
}
