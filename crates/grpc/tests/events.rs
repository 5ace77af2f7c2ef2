//! `BookingService.WatchEvents` against a real server (sled store, gRPC on 127.0.0.1): a
//! company follows its event log from a cursor, live, and after reconnecting misses nothing
//! and repeats nothing; another company's events never reach it; a revoked token ends it.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::sync::Arc;
use std::time::Duration;

use bawaba_app::{App, SystemClock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_grpc::client::Clients;
use bawaba_grpc::{Scheduler, pb, timestamp};
use bawaba_store::{Setup, SledStore, TokenBook};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tonic::{Code, Streaming};

struct Server {
    addr: String,
    tokens: Arc<TokenBook>,
    acme: String,
    beta: String,
    authority: String,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn next_window(hours: i64) -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap()
        + TimeDelta::hours(hours)
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let mut z = ZoneConfig::new(
        ZoneId::parse("act").unwrap(),
        "Test terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(5),
    );
    z.rules.booking_cutoff_minutes = 0;
    z.rules.company_cap_percent = 100;
    z.rules.require_containers = false;
    store.upsert_zone(z).await.unwrap();
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let issue = |role, company: Option<&str>| {
        let c = company.map(|c| CompanyId::parse(c).unwrap());
        let p = Principal::new(role, c, None).unwrap();
        tokens.issue(&p, company, Utc::now()).unwrap()
    };
    let (acme, beta) = (
        issue(Role::Company, Some("acme")),
        issue(Role::Company, Some("beta")),
    );
    let authority = issue(Role::Authority, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(store, Arc::clone(&tokens), Arc::new(SystemClock));
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(Scheduler { app, tls: None }.serve(listener, async move {
        let _ = stopped.changed().await;
    }));
    Server {
        addr,
        tokens,
        acme,
        beta,
        authority,
        _stop: stop,
        _dir: dir,
    }
}

async fn clients(s: &Server, token: &str) -> Clients {
    Clients::connect(&s.addr, Some(token), None).await.unwrap()
}

async fn book(c: &mut Clients, key: &str, plate: &str) -> String {
    let req = pb::CreateBookingRequest {
        idempotency_key: key.into(),
        truck_plate: plate.into(),
        stops: vec![pb::StopRequest {
            zone_id: "act".into(),
            window_start: Some(timestamp(next_window(2))),
            transaction_type: pb::TransactionType::GeneralCargo as i32,
            container_numbers: vec![],
        }],
        ..Default::default()
    };
    let made = c.bookings.create_booking(req).await.unwrap().into_inner();
    made.booking.unwrap().booking_id
}

async fn watch(c: &mut Clients, company: &str, after: u64) -> Streaming<pb::CompanyEvent> {
    let req = pb::WatchEventsRequest {
        company_id: company.into(),
        after_seq: after,
    };
    c.bookings.watch_events(req).await.unwrap().into_inner()
}

/// The next `n` events of a stream, as (id, kind, booking id).
async fn next(stream: &mut Streaming<pb::CompanyEvent>, n: usize) -> Vec<(String, i32, String)> {
    let mut got = Vec::new();
    for _ in 0..n {
        let e = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        got.push((e.event_id, e.kind, e.booking.unwrap().booking_id));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_follows_its_events_live_and_resumes_without_gap_or_repeat() {
    let s = start().await;
    let mut acme = clients(&s, &s.acme).await;
    let mut beta = clients(&s, &s.beta).await;
    let first = book(&mut acme, "k1", "60-11111").await;
    // From the start: what happened before the stream opened, then live.
    let mut stream = watch(&mut acme, "", 0).await;
    let created = pb::EventKind::Created as i32;
    assert_eq!(
        next(&mut stream, 1).await,
        vec![("acme:1".into(), created, first.clone())]
    );
    book(&mut beta, "k1", "60-22222").await;
    let second = book(&mut acme, "k2", "60-33333").await;
    acme.bookings
        .cancel_booking(pb::CancelBookingRequest {
            booking_id: first.clone(),
            reason: "plans changed".into(),
        })
        .await
        .unwrap();
    let cancelled = pb::EventKind::Cancelled as i32;
    assert_eq!(
        next(&mut stream, 2).await,
        vec![
            ("acme:2".into(), created, second.clone()),
            ("acme:3".into(), cancelled, first.clone()),
        ],
        "beta's booking is not in acme's log"
    );
    drop(stream);
    // Reconnecting after event 2: event 3 again (it was the last one received before a
    // lost connection in this story), then the next new one, nothing else.
    let third = book(&mut acme, "k3", "60-44444").await;
    let mut again = watch(&mut acme, "acme", 2).await;
    assert_eq!(
        next(&mut again, 2).await,
        vec![
            ("acme:3".into(), cancelled, first),
            ("acme:4".into(), created, third),
        ]
    );
    // The authority names the company it watches; beta's log has its own numbers.
    let mut authority = clients(&s, &s.authority).await;
    let mut theirs = watch(&mut authority, "beta", 0).await;
    assert_eq!(next(&mut theirs, 1).await[0].0, "beta:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_company_is_not_found_and_a_revoked_token_ends_the_stream() {
    let s = start().await;
    let mut acme = clients(&s, &s.acme).await;
    let req = |company: &str| pb::WatchEventsRequest {
        company_id: company.into(),
        after_seq: 0,
    };
    let e = acme.bookings.watch_events(req("beta")).await.unwrap_err();
    let none = acme.bookings.watch_events(req("nobody")).await.unwrap_err();
    assert_eq!((e.code(), none.code()), (Code::NotFound, Code::NotFound));
    assert_eq!(
        e.message().replace("beta", "X"),
        none.message().replace("nobody", "X")
    );
    let mut authority = clients(&s, &s.authority).await;
    let e = authority.bookings.watch_events(req("")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("company_id"), "{}", e.message());
    let bad = authority
        .bookings
        .watch_events(req("Not A Company!"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    let mut stream = watch(&mut acme, "", 0).await;
    s.tokens.revoke(&s.acme, Utc::now()).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends within 10 s")
        .unwrap()
        .unwrap_err();
    assert_eq!(end.code(), Code::Unauthenticated);
}
