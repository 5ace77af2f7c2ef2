//! Several scheduler replicas on one PostgreSQL database (`bawaba scheduler --store URL`), as
//! real processes: racing clients never oversell, and when a replica is killed under load its
//! clients fail over to the other without losing or doubling anything acknowledged.
//! Needs the PostgreSQL at 127.0.0.1:5432 (or `BAWABA_TEST_PG`); each test makes its own
//! database.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::BTreeSet;
use std::sync::Arc;

use bawaba_e2e::{
    Scheduler, TEST_CONFIG, TestDir, authority_token, clients, company_token, hours_ahead, ts,
};
use bawaba_grpc::client::Clients;
use bawaba_grpc::pb;
use bawaba_store_pg::testing::TempDatabase;
use tonic::Code;

fn request(key: String, plate: String, hours: i64) -> pb::CreateBookingRequest {
    pb::CreateBookingRequest {
        idempotency_key: key,
        truck_plate: plate,
        stops: vec![pb::StopRequest {
            zone_id: "act".into(),
            window_start: Some(ts(hours_ahead(hours))),
            transaction_type: pb::TransactionType::GeneralCargo as i32,
            container_numbers: vec![],
        }],
        ..Default::default()
    }
}

/// Two replicas on one fresh database, sharing the data folder (and so the token file).
fn replicas(db: &TempDatabase, dir: &TestDir) -> (Scheduler, Scheduler) {
    let a = Scheduler::start(dir.data(), Some(TEST_CONFIG), &["--store", &db.url]);
    let b = Scheduler::start(dir.data(), Some(TEST_CONFIG), &["--store", &db.url]);
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_clients_on_two_replicas_never_oversell() {
    let db = TempDatabase::create().await.unwrap();
    let dir = TestDir::new();
    let (a, b) = replicas(&db, &dir);
    let token = Arc::new(company_token(dir.data(), "acme"));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (addr, token) = (
                if i % 2 == 0 { a.addr() } else { b.addr() },
                Arc::clone(&token),
            );
            tokio::spawn(async move {
                let mut c = clients(addr, &token).await;
                c.bookings
                    .create_booking(request(format!("race-{i}"), format!("60{i:05}"), 5))
                    .await
            })
        })
        .collect();
    let mut booked = BTreeSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                booked.insert(r.into_inner().booking.unwrap().booking_id);
            }
            Err(s) => assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}"),
        }
    }
    assert_eq!(booked.len(), 10, "exactly the window's capacity");
    // Both replicas see the same full window.
    for s in [&a, &b] {
        let mut c = s.clients(&token).await;
        let req = pb::ListWindowsRequest {
            zone_id: "act".into(),
            from: Some(ts(hours_ahead(5))),
            to: Some(ts(hours_ahead(6))),
        };
        let w = &c
            .slots
            .list_windows(req)
            .await
            .unwrap()
            .into_inner()
            .windows[0];
        assert_eq!((w.booked, w.free), (10, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_replica_under_load_loses_and_doubles_nothing() {
    let db = TempDatabase::create().await.unwrap();
    let dir = TestDir::new();
    let (mut a, b) = replicas(&db, &dir);
    let token = Arc::new(company_token(dir.data(), "acme"));
    let (addr_a, addr_b) = (a.addr(), b.addr());
    // 16 clients, 12 bookings each, over 40 windows (room for all); each tries replica A
    // first and, when A fails, retries the same request (same key) through B.
    let tasks: Vec<_> = (0..16)
        .map(|client| {
            let token = Arc::clone(&token);
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..12 {
                    let req = request(
                        format!("load-{client}-{n}"),
                        format!("7{client:02}{n:03}"),
                        3 + (client * 12 + n) % 40,
                    );
                    let via_a = async {
                        let mut c =
                            Clients::connect(&format!("http://{addr_a}"), Some(&token), None)
                                .await
                                .map_err(|e| e.to_string())?;
                        c.bookings
                            .create_booking(req.clone())
                            .await
                            .map_err(|s| s.to_string())
                    };
                    let r = match tokio::time::timeout(std::time::Duration::from_secs(5), via_a)
                        .await
                    {
                        Ok(Ok(r)) => r,
                        _ => clients(addr_b, &token)
                            .await
                            .bookings
                            .create_booking(req)
                            .await
                            .unwrap(),
                    };
                    acked.push(r.into_inner().booking.unwrap().booking_id);
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    a.kill();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 16 * 12);
    let distinct: BTreeSet<_> = acked.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        acked.len(),
        "a retry through B never made a second booking"
    );
    // Everything acknowledged is in the database, once.
    let auth = authority_token(dir.data());
    let mut c = b.clients(&auth).await;
    let mut stored = BTreeSet::new();
    let mut page_token = String::new();
    loop {
        let r = c
            .bookings
            .list_bookings(pb::ListBookingsRequest {
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        stored.extend(r.bookings.into_iter().map(|b| b.booking_id));
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    assert_eq!(stored, distinct);
}
