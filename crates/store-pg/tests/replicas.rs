//! Several replicas (`PgStore`s) on one database: what only a shared database can get wrong.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bawaba_domain::calendar::TransactionType;
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::ids::BookingId;
use bawaba_domain::ledger::{Actor, Booking, BookingFilter, BookingState};
use bawaba_store::conformance::{
    at, check_invariants, now, race, simple, stop, visit, zone_config, zone_id,
};
use bawaba_store::{Changes, Error, Setup, Store};
use bawaba_store_pg::scratch::ScratchDatabase;
use bawaba_store_pg::{PgOptions, PgStore, migrate};

async fn replica(db: &ScratchDatabase, name: &str) -> Arc<PgStore> {
    let options = PgOptions {
        replica: name.into(),
        ..PgOptions::default()
    };
    Arc::new(PgStore::connect_with(&db.url, options).await.unwrap())
}

async fn all(s: &PgStore) -> Vec<Booking> {
    s.list_bookings(BookingFilter::default(), None, 10_000)
        .await
        .unwrap()
}

/// Two replicas race for the last places of the same windows with one- and two-window
/// visits: no window goes over capacity, and every acknowledged booking is there, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_oversell() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 10)).await.unwrap();
    for i in 0..3 {
        for hour in [5, 6] {
            let req = simple(
                "acme",
                &format!("pre{i}-{hour}"),
                &format!("7{hour}{i}"),
                hour,
            );
            b.create_booking(req, now()).await.unwrap();
        }
    }
    let gc = TransactionType::GeneralCargo;
    let results = race(96, |i| {
        let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
        let stops = match i % 3 {
            0 => vec![stop("act", 5, gc)],
            1 => vec![stop("act", 6, gc)],
            _ => vec![stop("act", 5, gc), stop("act", 6, gc)],
        };
        let req = visit("acme", &format!("k{i}"), &format!("60{i:03}"), stops);
        async move { s.create_booking(req, now()).await }
    })
    .await;
    let mut acknowledged = Vec::new();
    for r in results {
        match r {
            Ok(c) => acknowledged.push(c.booking),
            Err(Error::Domain(bawaba_domain::Error::WindowFull { .. })) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    for s in [&a, &b] {
        let windows = s
            .list_windows(zone_id("act"), at(5), at(7), 2)
            .await
            .unwrap();
        assert_eq!(
            windows.iter().map(|w| w.booked).collect::<Vec<_>>(),
            vec![10, 10]
        );
        for booking in &acknowledged {
            let stored = s.get_booking(Actor::Authority, booking.id).await.unwrap();
            assert_eq!(&stored, booking);
        }
        check_invariants(&**s, &zone_id("act"), 0, 24).await;
    }
    let places: usize = acknowledged.iter().map(|b| b.stops.len()).sum();
    assert_eq!(
        places + 6,
        20,
        "every place taken belongs to an acknowledged booking"
    );
    assert!(a.usage_mismatches().await.unwrap().is_empty());
}

/// A gate follower reads the change log through either replica, alternately, while both
/// write: it sees every change exactly once, in order, and ends with the bookings' states.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_sees_every_change_once_in_order_through_any_replica() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 1000)).await.unwrap();
    let writers = race(4, |w| {
        let s = Arc::clone(if w % 2 == 0 { &a } else { &b });
        async move {
            for i in 0..30 {
                let req = simple(
                    "acme",
                    &format!("w{w}-{i}"),
                    &format!("6{w}{i:03}"),
                    2 + i % 20,
                );
                let booking = s.create_booking(req, now()).await.unwrap().booking;
                if i % 3 == 0 {
                    s.cancel_booking(Actor::Authority, booking.id, String::new(), now())
                        .await
                        .unwrap();
                } else if i % 3 == 1 {
                    s.move_booking(Actor::Authority, booking.id, 0, at(30), now())
                        .await
                        .unwrap();
                }
            }
        }
    });
    let follower = {
        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
        tokio::spawn(async move {
            let mut state: BTreeMap<BookingId, Booking> = BTreeMap::new();
            let (mut cursor, mut seen, mut reads) = (0u64, Vec::new(), 0usize);
            let mut idle = 0;
            while idle < 20 {
                reads += 1;
                let via = if reads % 2 == 0 { &a } else { &b };
                match via.changes(zone_id("act"), cursor, 7, now()).await.unwrap() {
                    Changes::Snapshot { seq, bookings } => {
                        assert!(seen.is_empty(), "a snapshot only at the start");
                        state = bookings.into_iter().map(|b| (b.id, b)).collect();
                        cursor = seq;
                    }
                    Changes::Entries { entries, .. } if entries.is_empty() => {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Changes::Entries { entries, .. } => {
                        idle = 0;
                        for e in entries {
                            assert_eq!(e.seq, cursor + 1, "changes arrive once each, in order");
                            cursor = e.seq;
                            if let Some(old) = state.get(&e.booking.id) {
                                assert!(e.booking.revision > old.revision);
                            }
                            seen.push(e.seq);
                            state.insert(e.booking.id, e.booking);
                        }
                    }
                }
            }
            (state, reads)
        })
    };
    writers.await;
    let (state, reads) = follower.await.unwrap();
    assert!(reads > 20);
    let stored: BTreeMap<BookingId, Booking> =
        all(&a).await.into_iter().map(|b| (b.id, b)).collect();
    assert_eq!(stored.len(), 120);
    assert_eq!(state, stored);
}

/// Two replicas sweeping at once mark each no-show once; the one without the lease does
/// nothing until the holder lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_lease_marks_each_no_show_once() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 100)).await.unwrap();
    let mut due = BTreeSet::new();
    for i in 0..20 {
        let req = simple("acme", &format!("k{i}"), &format!("60{i:02}"), 2 + i % 2);
        due.insert(a.create_booking(req, now()).await.unwrap().booking.id);
        let later = simple("acme", &format!("l{i}"), &format!("70{i:02}"), 10);
        b.create_booking(later, now()).await.unwrap();
    }
    let swept = race(2, |i| {
        let s = Arc::clone(if i == 0 { &a } else { &b });
        async move { s.sweep_no_shows(at(6)).await.unwrap() }
    })
    .await;
    assert!(
        swept.iter().any(Vec::is_empty),
        "only the lease holder sweeps: {swept:?}"
    );
    let marked: BTreeSet<BookingId> = swept.concat().into_iter().collect();
    assert_eq!(marked, due);
    let (holder, other) = if swept[0].is_empty() { (b, a) } else { (a, b) };

    let late = simple("beta", "m1", "800", 4);
    let late = other.create_booking(late, now()).await.unwrap().booking;
    assert!(other.sweep_no_shows(at(8)).await.unwrap().is_empty());
    assert_eq!(holder.sweep_no_shows(at(8)).await.unwrap(), vec![late.id]);
    // The holder lets go; the other replica takes over at its next sweep.
    Arc::try_unwrap(holder).ok().unwrap().close().await.unwrap();
    let last = simple("beta", "m2", "801", 5);
    let last = other.create_booking(last, now()).await.unwrap().booking;
    assert_eq!(other.sweep_no_shows(at(9)).await.unwrap(), vec![last.id]);

    let Changes::Snapshot { seq, .. } = other.changes(zone_id("act"), 0, 1, now()).await.unwrap()
    else {
        panic!("snapshot");
    };
    let Changes::Entries { entries: log, .. } = other
        .changes(zone_id("act"), 1, seq as usize, now())
        .await
        .unwrap()
    else {
        panic!("entries");
    };
    let mut no_shows: BTreeMap<BookingId, usize> = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| e.booking.state == BookingState::NoShow)
    {
        *no_shows.entry(e.booking.id).or_default() += 1;
    }
    assert_eq!(no_shows.len(), 22);
    assert!(no_shows.values().all(|n| *n == 1), "each marked once");
}

/// One replica at a time delivers webhooks: the other sees none to deliver (it still reads
/// them all), and takes over once the holder lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_replica_delivers_the_webhooks() {
    use bawaba_domain::audit::Who;
    use bawaba_domain::ids::CompanyId;
    use bawaba_domain::notify::Webhook;
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    let acme = CompanyId::parse("acme").unwrap();
    let hook = Webhook::new(
        acme.clone(),
        "https://a.example/",
        "0123456789abcdef",
        now(),
    )
    .unwrap();
    a.set_webhook(acme, Some(hook), Who::system(), now())
        .await
        .unwrap();
    let due = race(2, |i| {
        let s = Arc::clone(if i == 0 { &a } else { &b });
        async move { s.webhooks_to_deliver().await.unwrap().len() }
    })
    .await;
    assert_eq!(
        due.iter().sum::<usize>(),
        1,
        "one replica delivers: {due:?}"
    );
    let (holder, other) = if due[0] == 1 { (a, b) } else { (b, a) };
    assert_eq!(
        holder.webhooks_to_deliver().await.unwrap().len(),
        1,
        "renewed"
    );
    assert!(other.webhooks_to_deliver().await.unwrap().is_empty());
    assert_eq!(
        other.webhooks().await.unwrap().len(),
        1,
        "it still reads them"
    );
    Arc::try_unwrap(holder).ok().unwrap().close().await.unwrap();
    assert_eq!(
        other.webhooks_to_deliver().await.unwrap().len(),
        1,
        "took over"
    );
}

/// A closure added on one replica while the other books into the closed window: the booking
/// either comes first (and is on the closure's hit list) or is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closures_never_miss_a_racing_booking() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 100)).await.unwrap();
    for hour in 2..26 {
        let (booking, closure) = tokio::join!(
            a.create_booking(simple("acme", &format!("k{hour}"), "601", hour), now()),
            b.add_closure(zone_id("act"), at(hour), at(hour + 1), "storm".into()),
        );
        let (_, hit) = closure.unwrap();
        match booking {
            Ok(c) => assert_eq!(hit, vec![c.booking]),
            // Refused naming the closure that won the race.
            Err(Error::Domain(bawaba_domain::Error::ZoneClosed(c))) => {
                assert_eq!((c.reason.as_str(), c.until), ("storm", at(hour + 1)));
                assert!(hit.is_empty());
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// A commit on one replica wakes the followers of another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_on_one_replica_wake_followers_of_another() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 10)).await.unwrap();
    let mut woken = b.commits();
    tokio::time::sleep(Duration::from_millis(500)).await;
    woken.borrow_and_update();
    a.create_booking(simple("acme", "k1", "601", 5), now())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(3), woken.changed())
        .await
        .expect("woken within the poll interval")
        .unwrap();
}

/// Migrations run once, whoever runs them and however many at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_run_once() {
    let db = ScratchDatabase::create().await.unwrap();
    let runs = race(4, |_| {
        let url = db.url.clone();
        async move { migrate(&url).await.unwrap() }
    })
    .await;
    let every: Vec<i64> = bawaba_store_pg::MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(every, (1..=every.len() as i64).collect::<Vec<_>>());
    // Each ran once, by whichever runner claimed it first (a runner that finds a migration
    // claimed waits for its commit, so they are applied in order whoever runs them).
    let mut ran = runs.concat();
    ran.sort_unstable();
    assert_eq!(ran, every, "{runs:?}");
    assert!(migrate(&db.url).await.unwrap().is_empty());
    let s = PgStore::connect(&db.url).await.unwrap();
    assert!(s.zones().await.unwrap().is_empty());
}

/// The audit trail is append-only in the database itself: whoever connects, an UPDATE, a
/// DELETE or a TRUNCATE of it is refused, and the records stay as written.
#[tokio::test]
async fn the_audit_trail_cannot_be_edited_or_deleted() {
    let db = ScratchDatabase::create().await.unwrap();
    let s = PgStore::connect(&db.url).await.unwrap();
    s.upsert_zone(zone_config("act", 5)).await.unwrap();
    let before = s.audit(Default::default(), None, 10).await.unwrap();
    assert_eq!(before.len(), 1);
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    for sql in [
        "UPDATE audit SET actor = 'someone else'",
        "DELETE FROM audit",
        "TRUNCATE audit",
    ] {
        let e = client.batch_execute(sql).await.unwrap_err();
        let why = e.as_db_error().map(|d| d.message().to_owned());
        assert_eq!(
            why.as_deref(),
            Some("the audit trail is append-only"),
            "{sql}"
        );
    }
    assert_eq!(s.audit(Default::default(), None, 10).await.unwrap(), before);
}

/// One truck booked for overlapping visits on both replicas at once (the first booking is
/// written in one call decided on nothing known about the truck): one visit is
/// acknowledged, the others refused as overlapping; a later visit of the same truck, decided
/// on its bookings as the database answered them, is booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_truck_racing_itself_gets_one_visit() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 100)).await.unwrap();
    let results = race(24, |i| {
        let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
        let req = simple("acme", &format!("k{i}"), "7001", 5);
        async move { s.create_booking(req, now()).await }
    })
    .await;
    let mut booked = Vec::new();
    for r in results {
        match r {
            Ok(c) => booked.push(c.booking),
            Err(Error::Domain(bawaba_domain::Error::Precondition(why))) => {
                assert!(why.contains("overlaps"), "{why}")
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(booked.len(), 1, "{booked:?}");
    let later = b
        .create_booking(simple("acme", "later", "7001", 9), now())
        .await
        .unwrap();
    assert!(!later.replayed);
    assert_eq!(all(&a).await.len(), 2);
    check_invariants(&*a, &zone_id("act"), 0, 24).await;
}

/// One idempotency key sent to both replicas at once, and once more with another request:
/// one booking, every same request answered with it, the other request refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_sent_to_both_replicas_books_once() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 100)).await.unwrap();
    let results = race(16, |i| {
        let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
        let req = simple("acme", "same", "7002", 5);
        async move { s.create_booking(req, now()).await.unwrap() }
    })
    .await;
    let ids: BTreeSet<BookingId> = results.iter().map(|c| c.booking.id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(results.iter().filter(|c| !c.replayed).count(), 1);
    let other = b
        .create_booking(simple("acme", "same", "7002", 7), now())
        .await;
    assert!(
        matches!(
            other,
            Err(Error::Domain(
                bawaba_domain::Error::IdempotencyConflict { .. }
            ))
        ),
        "{other:?}"
    );
    assert_eq!(all(&a).await.len(), 1);
}

/// One container booked for the same job by different trucks on both replicas at once: one
/// job is acknowledged, the others refused naming the container.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_container_racing_for_one_job_gets_one() {
    let db = ScratchDatabase::create().await.unwrap();
    let (a, b) = (replica(&db, "a").await, replica(&db, "b").await);
    a.upsert_zone(zone_config("act", 100)).await.unwrap();
    let results = race(16, |i| {
        let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
        let mut pickup = stop("act", 5, TransactionType::ImportPickup);
        pickup.containers = vec![ContainerNumber::parse("CSQU3054383").unwrap()];
        let req = visit("acme", &format!("k{i}"), &format!("71{i:02}"), vec![pickup]);
        async move { s.create_booking(req, now()).await }
    })
    .await;
    let mut booked = 0;
    for r in results {
        match r {
            Ok(_) => booked += 1,
            Err(Error::Domain(bawaba_domain::Error::Precondition(why))) => {
                assert!(why.contains("CSQU3054383"), "{why}")
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(booked, 1);
}
