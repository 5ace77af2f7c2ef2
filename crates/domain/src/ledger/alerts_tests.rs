use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::audit::{AuditKind, Who};
use crate::calendar::{ClosurePolicy, SlotLength, TransactionType, WindowCapacity};
use crate::ids::CompanyId;
use crate::ledger::{AdminChange, Administered, NewBooking, Stop};
use crate::plate::Plate;

fn hours(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + TimeDelta::hours(h)
}

fn act() -> ZoneId {
    ZoneId::parse("act").unwrap()
}

/// Zone `act`, 60-minute windows of 3, one booking at hour 5 (made at hour 0).
fn ledger() -> Ledger {
    let mut l = Ledger::new();
    let mut z = ZoneConfig::new(
        act(),
        "Container terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(3),
    );
    z.rules.horizon_minutes = 24 * 60;
    l.upsert_zone(z).unwrap();
    let stop = Stop::new(act(), hours(5), TransactionType::GeneralCargo, vec![]);
    let b = NewBooking {
        by: None,
        company: CompanyId::parse("a").unwrap(),
        idempotency_key: "k".into(),
        plate: Plate::parse("60-12345").unwrap(),
        epc: None,
        stops: vec![stop],
    };
    l.create(b, hours(0), 1).unwrap();
    l
}

fn order(key: &str, refs: &[&str], close: Option<(i64, i64)>) -> AlertOrder {
    AlertOrder {
        key: key.into(),
        references: refs.iter().map(|r| r.to_string()).collect(),
        close: close.map(|(from, to)| AlertClosure {
            from: hours(from),
            to: hours(to),
            reason: format!("flash flood {from}-{to}"),
        }),
        confirm: false,
        policy: ClosurePolicy::Notify,
    }
}

fn apply(l: &mut Ledger, o: AlertOrder, now: i64) -> (AlertDone, Option<AuditKind>) {
    let (touched, done) = l
        .administer(
            AdminChange::ApplyAlert {
                zone: act(),
                order: o,
            },
            &Who::named("nfews"),
            hours(now),
        )
        .unwrap();
    let Administered::Alert(done) = done else {
        panic!("not an alert's answer")
    };
    (done, touched.audit.first().map(|r| r.kind))
}

fn closures(l: &Ledger) -> Vec<(u64, DateTime<Utc>, DateTime<Utc>)> {
    let z = l.zone(&act()).unwrap();
    z.closures.iter().map(|c| (c.id, c.from, c.to)).collect()
}

#[test]
fn an_alert_closes_an_update_changes_a_cancel_lifts() {
    let mut l = ledger();
    let (done, kind) = apply(&mut l, order("nfews/1", &[], Some((4, 6))), 1);
    assert_eq!(done.effect, AlertEffect::Closed);
    assert_eq!(kind, Some(AuditKind::ClosureAdded));
    assert_eq!(done.hit.len(), 1, "the booking at hour 5 is hit");
    assert_eq!(closures(&l), vec![(1, hours(4), hours(6))]);

    let (done, kind) = apply(&mut l, order("nfews/2", &["nfews/1"], Some((4, 9))), 2);
    assert_eq!(
        (done.effect, kind),
        (AlertEffect::Changed, Some(AuditKind::ClosureChanged))
    );
    assert_eq!(
        closures(&l),
        vec![(1, hours(4), hours(9))],
        "the same closure, longer"
    );

    // The cancellation names the update: it finds the closure all the same.
    let (done, kind) = apply(&mut l, order("nfews/3", &["nfews/2"], None), 3);
    assert_eq!(
        (done.effect, kind),
        (AlertEffect::Lifted, Some(AuditKind::ClosureRemoved))
    );
    assert_eq!(done.closure.map(|c| c.id), Some(1));
    assert!(closures(&l).is_empty());
}

#[test]
fn the_same_alert_twice_changes_nothing_and_leaves_no_record() {
    let mut l = ledger();
    apply(&mut l, order("nfews/1", &[], Some((4, 6))), 1);
    let before = l.zone(&act()).unwrap().clone();
    let (done, kind) = apply(&mut l, order("nfews/1", &[], Some((4, 6))), 2);
    assert!(done.repeated);
    assert_eq!(kind, None);
    assert_eq!(l.zone(&act()).unwrap(), &before);
    // Also after it was cancelled: the first alert again does not close the zone again.
    apply(&mut l, order("nfews/2", &["nfews/1"], None), 3);
    let (done, _) = apply(&mut l, order("nfews/1", &[], Some((4, 6))), 3);
    assert!(done.repeated);
    assert!(closures(&l).is_empty());
}

#[test]
fn a_cancel_of_an_alert_never_taken_is_recorded_and_changes_no_closure() {
    let mut l = ledger();
    let (done, kind) = apply(&mut l, order("nfews/9", &["nfews/8"], None), 1);
    assert_eq!(
        (done.effect, kind),
        (AlertEffect::Nothing, Some(AuditKind::AlertReceived))
    );
    assert!(closures(&l).is_empty());
    // An update of an alert the zone never took closes it like a first alert.
    let (done, _) = apply(&mut l, order("nfews/10", &["nfews/7"], Some((4, 6))), 1);
    assert_eq!(done.effect, AlertEffect::Closed);
}

#[test]
fn a_zone_that_confirms_holds_the_closure_until_the_authority_decides() {
    let mut l = ledger();
    let pending = AlertOrder {
        confirm: true,
        ..order("nfews/1", &[], Some((4, 6)))
    };
    let (done, kind) = apply(&mut l, pending, 1);
    assert_eq!(
        (done.effect, kind),
        (AlertEffect::Pending, Some(AuditKind::AlertReceived))
    );
    assert!(
        closures(&l).is_empty(),
        "nothing closes before the confirmation"
    );
    let decide = |l: &mut Ledger, key: &str, confirm| {
        l.administer(
            AdminChange::DecideAlert {
                zone: act(),
                key: key.into(),
                confirm,
                policy: ClosurePolicy::Rebook,
            },
            &Who::named("official"),
            hours(2),
        )
    };
    let (t, done) = decide(&mut l, "nfews/1", true).unwrap();
    assert_eq!(t.audit[0].kind, AuditKind::ClosureAdded);
    let Administered::Alert(done) = done else {
        panic!()
    };
    assert_eq!(done.effect, AlertEffect::Confirmed);
    assert_eq!(closures(&l), vec![(1, hours(4), hours(6))]);
    // The zone rebooks what its confirmed closures hit: the booking at 5 moves to 6.
    let moved = l.bookings().next().unwrap();
    assert_eq!(done.rebooked, vec![moved.id]);
    assert_eq!(moved.stops[0].window_start, hours(6));
    assert!(
        decide(&mut l, "nfews/1", true).is_err(),
        "decided once only"
    );
    // Once confirmed, an update changes the closure without asking again.
    let update = AlertOrder {
        confirm: true,
        ..order("nfews/2", &["nfews/1"], Some((4, 8)))
    };
    assert_eq!(apply(&mut l, update, 3).0.effect, AlertEffect::Changed);
    assert_eq!(closures(&l), vec![(1, hours(4), hours(8))]);
}

/// An update that shortens the closure names the bookings it frees; so does a cancellation
/// that lifts it (none here: the shortened closure no longer covers the booking).
#[test]
fn a_shortened_or_lifted_alert_closure_names_what_can_return() {
    let mut l = ledger();
    let (done, _) = apply(&mut l, order("nfews/1", &[], Some((4, 8))), 1);
    assert_eq!((done.hit.len(), done.can_return.len()), (1, 0));
    let booked = done.hit[0].id;
    let (done, _) = apply(&mut l, order("nfews/2", &["nfews/1"], Some((4, 5))), 2);
    assert_eq!(done.effect, AlertEffect::Changed);
    let freed: Vec<_> = done.can_return.iter().map(|b| b.id).collect();
    assert_eq!(freed, vec![booked], "its window 5:00-6:00 is open again");
    let (done, _) = apply(&mut l, order("nfews/3", &["nfews/2"], None), 3);
    assert_eq!(done.effect, AlertEffect::Lifted);
    assert!(done.can_return.is_empty());
}

/// A zone whose closures cancel: the alert's closure cancels the booking it hits, naming it.
#[test]
fn an_alert_closure_does_the_zones_policy_to_what_it_hits() {
    let mut l = ledger();
    let cancel = AlertOrder {
        policy: ClosurePolicy::Cancel,
        ..order("nfews/1", &[], Some((4, 6)))
    };
    let (done, _) = apply(&mut l, cancel, 1);
    assert_eq!(done.hit.len(), 1);
    let b = &done.hit[0];
    assert_eq!(b.state, crate::ledger::BookingState::Cancelled);
    assert!(
        b.cancel_reason
            .as_deref()
            .unwrap()
            .contains("flash flood 4-6")
    );
    assert_eq!(l.usage(&act(), hours(5)).map_or(0, |u| u.booked), 0);
}

#[test]
fn a_pending_alert_replaced_or_cancelled_is_dismissed() {
    let mut l = ledger();
    let pending = |key: &str, refs: &[&str], close| AlertOrder {
        confirm: true,
        ..order(key, refs, close)
    };
    apply(&mut l, pending("nfews/1", &[], Some((4, 6))), 1);
    apply(&mut l, pending("nfews/2", &["nfews/1"], Some((4, 7))), 1);
    let effects: Vec<_> = l
        .zone(&act())
        .unwrap()
        .alerts
        .iter()
        .map(|a| a.effect)
        .collect();
    assert_eq!(effects, vec![AlertEffect::Dismissed, AlertEffect::Pending]);
    let (done, kind) = apply(&mut l, pending("nfews/3", &["nfews/2"], None), 2);
    assert_eq!(
        (done.effect, kind),
        (AlertEffect::Lifted, Some(AuditKind::AlertDismissed))
    );
    assert!(
        l.zone(&act())
            .unwrap()
            .alerts
            .iter()
            .all(|a| a.effect != AlertEffect::Pending)
    );
    assert!(closures(&l).is_empty());
}

#[test]
fn spent_alerts_are_forgotten_and_bad_windows_refused() {
    let mut l = ledger();
    apply(&mut l, order("nfews/1", &[], Some((4, 6))), 1);
    apply(&mut l, order("nfews/2", &[], Some((30, 31))), 24 * 8);
    let keys: Vec<_> = l
        .zone(&act())
        .unwrap()
        .alerts
        .iter()
        .map(|a| a.key.clone())
        .collect();
    assert_eq!(
        keys,
        vec!["nfews/2".to_string()],
        "a week after it ended, nfews/1 is gone"
    );
    let backwards = order("nfews/3", &[], Some((6, 4)));
    let err = l
        .administer(
            AdminChange::ApplyAlert {
                zone: act(),
                order: backwards,
            },
            &Who::named("nfews"),
            hours(1),
        )
        .unwrap_err();
    assert!(err.to_string().contains("expires"), "{err}");
}

#[test]
fn a_long_headline_is_cut_at_a_character_boundary() {
    let long = "فيضان ".repeat(100);
    let cut = clip(&long);
    assert!(cut.len() <= 500 && long.starts_with(&cut));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// An alert of a random sequence: its number, the earlier ones it references, whether it
    /// calls for a closure (and over which hours), whether the zone confirms first.
    fn step() -> impl Strategy<Value = (u8, Vec<u8>, Option<(i64, i64)>, bool)> {
        (
            0u8..12,
            prop::collection::vec(0u8..12, 0..3),
            prop::option::of((2i64..20, 1i64..6)),
            any::<bool>(),
        )
            .prop_map(|(n, refs, close, confirm)| {
                (
                    n,
                    refs,
                    close.map(|(from, len)| (from, from + len)),
                    confirm,
                )
            })
    }

    proptest! {
        /// Whatever alerts come, in whatever order: an alert the zone took before changes
        /// nothing when it comes again; every closure in the zone is the one an alert record
        /// names; a pending alert never has a closure.
        #[test]
        fn repeats_change_nothing_and_closures_are_accounted_for(
            steps in prop::collection::vec(step(), 1..25)
        ) {
            let mut l = ledger();
            for (n, refs, close, confirm) in steps {
                let key = format!("jmd,{n}");
                let refs: Vec<String> = refs.iter().map(|r| format!("jmd,{r}")).collect();
                let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
                let o = AlertOrder { confirm, ..order(&key, &refs, close) };
                let seen = l.zone(&act()).unwrap().alerts.iter().any(|a| a.key == key);
                let before = l.zone(&act()).unwrap().clone();
                let (done, kind) = apply(&mut l, o, 1);
                prop_assert_eq!(done.repeated, seen);
                if seen {
                    prop_assert_eq!(kind, None);
                    prop_assert_eq!(l.zone(&act()).unwrap(), &before);
                }
                let z = l.zone(&act()).unwrap();
                for c in &z.closures {
                    prop_assert!(z.alerts.iter().any(|a| a.closure == Some(c.id)), "{c:?} unaccounted");
                }
                for a in z.alerts.iter().filter(|a| a.effect == AlertEffect::Pending) {
                    prop_assert_eq!(a.closure, None);
                }
            }
        }
    }
}
