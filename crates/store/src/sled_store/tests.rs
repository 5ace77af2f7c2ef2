use super::*;
use crate::{Changes, Setup};
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{SlotLength, WindowCapacity};
use bawaba_domain::ledger::{BookingState, Stop, WindowUsage};
use bawaba_domain::plate::Plate;
use chrono::{TimeDelta, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
}

fn zone() -> ZoneId {
    ZoneId::parse("act").unwrap()
}

fn req(company: &str, key: &str, plate: &str, hour: i64) -> NewBooking {
    NewBooking {
        by: None,
        company: CompanyId::parse(company).unwrap(),
        idempotency_key: key.into(),
        plate: Plate::parse(plate).unwrap(),
        epc: None,
        stops: vec![Stop::new(
            zone(),
            now() + TimeDelta::hours(hour),
            TransactionType::GeneralCargo,
            vec![],
        )],
    }
}

async fn store_with_zone(dir: &Path, capacity: u32) -> SledStore {
    let s = SledStore::open(dir).unwrap();
    let mut z = ZoneConfig::new(
        zone(),
        "Container terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(capacity),
    );
    z.rules.company_cap_percent = 100;
    s.upsert_zone(z).await.unwrap();
    s
}

#[tokio::test]
async fn everything_acknowledged_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = {
        let s = store_with_zone(dir.path(), 5).await;
        let a = s
            .create_booking(req("acme", "k1", "6012345", 5), now())
            .await
            .unwrap()
            .booking;
        let b = s
            .create_booking(req("acme", "k2", "6012346", 5), now())
            .await
            .unwrap()
            .booking;
        s.move_booking(
            Actor::Authority,
            a.id,
            0,
            now() + TimeDelta::hours(6),
            now(),
        )
        .await
        .unwrap();
        s.cancel_booking(Actor::Authority, b.id, "no cargo".into(), now())
            .await
            .unwrap();
        s.add_closure(
            zone(),
            now() + TimeDelta::hours(10),
            now() + TimeDelta::hours(12),
            "inspection".into(),
        )
        .await
        .unwrap();
        (a.id, b.id)
    };
    let s = SledStore::open(dir.path()).unwrap();
    let a = s.get_booking(Actor::Authority, a).await.unwrap();
    assert_eq!(a.stops[0].window_start, now() + TimeDelta::hours(6));
    assert_eq!(
        s.get_booking(Actor::Authority, b).await.unwrap().state,
        BookingState::Cancelled
    );
    let windows = s
        .list_windows(
            zone(),
            now() + TimeDelta::hours(5),
            now() + TimeDelta::hours(7),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        windows.iter().map(|w| w.booked).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(s.zones().await.unwrap()[0].closures.len(), 1);
    // The idempotency key is still known after the restart.
    let again = s
        .create_booking(req("acme", "k1", "6012345", 5), now())
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.booking.id, a.id);
}

#[tokio::test]
async fn counters_are_recounted_and_legacy_stored_counters_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store_with_zone(dir.path(), 2).await;
        s.create_booking(req("acme", "k1", "60-12345", 5), now())
            .await
            .unwrap();
    }
    // A counter as an earlier version stored it (and a wrong one at that).
    {
        let db = open_db(dir.path()).unwrap();
        db.insert(
            [codec::LEGACY_WINDOW, b'x'],
            encode(&WindowUsage::default()).unwrap(),
        )
        .unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.db.scan_prefix([codec::LEGACY_WINDOW]).count(), 0);
    let w = s
        .list_windows(
            zone(),
            now() + TimeDelta::hours(5),
            now() + TimeDelta::hours(6),
            10,
        )
        .await
        .unwrap();
    assert_eq!(w[0].booked, 1, "recounted from the bookings");
    // Full: the recount holds the places the stored bookings take.
    s.create_booking(req("beta", "k2", "60-12346", 5), now())
        .await
        .unwrap();
    assert!(
        s.create_booking(req("gamma", "k3", "60-12347", 5), now())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn refused_requests_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store_with_zone(dir.path(), 1).await;
        s.create_booking(req("acme", "k1", "601", 5), now())
            .await
            .unwrap();
        let full = s
            .create_booking(req("acme", "k2", "602", 5), now())
            .await
            .unwrap_err();
        assert!(
            matches!(full, Error::Domain(bawaba_domain::Error::WindowFull { .. })),
            "{full}"
        );
        let misaligned = req("acme", "k3", "603", 5);
        let mut misaligned = misaligned;
        misaligned.stops[0].window_start += TimeDelta::minutes(7);
        assert!(s.create_booking(misaligned, now()).await.is_err());
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.list_bookings(BookingFilter::default(), None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_clients_never_oversell() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(store_with_zone(dir.path(), 10).await);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                s.create_booking(
                    req("acme", &format!("k{i}"), &format!("60{i:05}"), 5),
                    now(),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Domain(bawaba_domain::Error::WindowFull { .. })) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 10);
    let w = s
        .list_windows(
            zone(),
            now() + TimeDelta::hours(5),
            now() + TimeDelta::hours(6),
            1,
        )
        .await
        .unwrap();
    assert_eq!(w[0].booked, 10);
}

#[tokio::test]
async fn gate_followers_get_a_snapshot_then_each_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_with_zone(dir.path(), 5).await;
    let mut commits = s.commits();
    let a = s
        .create_booking(req("acme", "k1", "601", 5), now())
        .await
        .unwrap()
        .booking;
    assert!(commits.has_changed().unwrap());
    commits.borrow_and_update();
    let Changes::Snapshot { seq, bookings } = s.changes(zone(), 0, 100, now()).await.unwrap()
    else {
        panic!("a new follower gets a snapshot");
    };
    assert_eq!((seq, bookings.len()), (1, 1));
    assert_eq!(
        s.changes(zone(), seq, 100, now()).await.unwrap(),
        Changes::Entries {
            entries: vec![],
            head: seq
        }
    );
    s.cancel_booking(Actor::Authority, a.id, String::new(), now())
        .await
        .unwrap();
    s.create_booking(req("acme", "k2", "602", 6), now())
        .await
        .unwrap();
    let Changes::Entries { entries: e, .. } = s.changes(zone(), seq, 100, now()).await.unwrap()
    else {
        panic!("entries")
    };
    assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(e[0].booking.state, BookingState::Cancelled);
    let Changes::Entries { entries: one, .. } = s.changes(zone(), seq, 1, now()).await.unwrap()
    else {
        panic!("entries")
    };
    assert_eq!(one.len(), 1, "limit honoured");
    assert!(
        s.changes(zone(), 99, 10, now()).await.is_err(),
        "a cursor ahead of the log is refused"
    );
    assert!(commits.has_changed().unwrap());
}

#[tokio::test]
async fn passages_are_recorded_once_and_survive_restart() {
    use bawaba_domain::ids::{GateId, LaneId, PassageId};
    use bawaba_domain::ledger::Direction;
    use bawaba_domain::passage::{Passage, ReferralState, Verdict};
    let dir = tempfile::tempdir().unwrap();
    let at = now() + TimeDelta::hours(5);
    let (booking, refer) = {
        let s = store_with_zone(dir.path(), 5).await;
        let b = s
            .create_booking(req("acme", "k1", "601", 5), now())
            .await
            .unwrap()
            .booking;
        let p = |n: u128, verdict| Passage {
            id: PassageId::new(at, n),
            zone: zone(),
            gate: GateId::parse("act-north").unwrap(),
            lane: LaneId::parse("in-1").unwrap(),
            direction: Direction::In,
            first_read_at: at,
            last_read_at: at,
            decided_at: at,
            plate: Some(Plate::parse("601").unwrap()),
            confidence: None,
            epc: None,
            verdict,
            reasons: vec![],
            booking: Some(b.id),
            offline: true,
        };
        let (allow, refer) = (p(1, Verdict::Allow), p(2, Verdict::Refer));
        let reported = s
            .report_passages(vec![allow.clone(), refer.clone()])
            .await
            .unwrap();
        assert_eq!(reported.acknowledged, vec![allow.id, refer.id]);
        // The same batch again (a resend after a lost acknowledgement) changes nothing.
        let again = s.report_passages(vec![allow, refer.clone()]).await.unwrap();
        assert_eq!((again.acknowledged.len(), again.new.len()), (2, 0));
        (b.id, refer.id)
    };
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.get_booking(Actor::Authority, booking)
            .await
            .unwrap()
            .state,
        BookingState::Entered
    );
    let open = s.referrals(Some(zone()), false).await.unwrap();
    assert_eq!(open.len(), 1);
    let r = s
        .resolve_referral(
            refer,
            Resolution::reject("second read of the same truck"),
            Who::named("op"),
            at,
        )
        .await
        .unwrap();
    assert_eq!(r.state, ReferralState::Rejected);
    drop(s);
    let s = SledStore::open(dir.path()).unwrap();
    assert!(s.referrals(None, false).await.unwrap().is_empty());
    assert_eq!(
        s.referrals(None, true).await.unwrap()[0].state,
        ReferralState::Rejected
    );
}

#[tokio::test]
async fn commit_stats_count_every_request_and_each_commit() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_with_zone(dir.path(), 2).await;
    let before = s.commit_stats().unwrap();
    assert!(before.commits >= 1, "the zone was committed");
    for (k, plate) in [("k1", "6012345"), ("k2", "6012346"), ("k3", "6012347")] {
        // The third is refused (the window holds two): still a request the writer answered.
        let _ = s.create_booking(req("acme", k, plate, 5), now()).await;
    }
    let d = s.commit_stats().unwrap().since(&before);
    assert_eq!(d.requests, 3);
    assert!((1..=3).contains(&d.commits), "{d}");
    assert!(
        d.sync > std::time::Duration::ZERO,
        "two bookings were flushed: {d}"
    );
    assert!(d.to_string().contains("requests each"), "{d}");
}
