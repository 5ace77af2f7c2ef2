//! Webhooks end to end: the real scheduler POSTs a company's events to a real HTTP receiver
//! started here; deliveries fail while the receiver is down and survive a kill -9 of the
//! scheduler, then arrive in order, signed, each recognisable by its id.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use bawaba_e2e::{
    Scheduler, TEST_CONFIG, TestDir, act_booking, company_token, free_addr, hour_start,
};
use bawaba_grpc::pb;
use bytes::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;

const SECRET: &str = "s3cret-of-acme-0123456789";

/// One POST as the receiver got it.
#[derive(Debug)]
struct Received {
    signature: String,
    event_id: String,
    body: Bytes,
}

/// A receiver on `addr` answering 503 to its first `refuse` POSTs, then 204.
async fn receiver(addr: std::net::SocketAddr, refuse: u32) -> mpsc::UnboundedReceiver<Received> {
    let (tx, rx) = mpsc::unbounded_channel();
    let refused = Arc::new(AtomicU32::new(0));
    let hook = move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        let refused = Arc::clone(&refused);
        async move {
            let header = |h: &str| {
                let v = headers.get(h).and_then(|v| v.to_str().ok());
                v.unwrap_or_default().to_owned()
            };
            if refused.fetch_add(1, Ordering::SeqCst) < refuse {
                return axum::http::StatusCode::SERVICE_UNAVAILABLE;
            }
            let _ = tx.send(Received {
                signature: header("bawaba-signature"),
                event_id: header("bawaba-event-id"),
                body,
            });
            axum::http::StatusCode::NO_CONTENT
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(hook));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    rx
}

async fn deliveries(c: &mut bawaba_grpc::client::Clients) -> Vec<pb::WebhookDelivery> {
    let req = pb::ListWebhookDeliveriesRequest::default();
    let r = c.company.list_webhook_deliveries(req).await.unwrap();
    r.into_inner().deliveries
}

/// Waits until `done` holds of the deliveries (at most 30 s).
async fn wait_for(
    c: &mut bawaba_grpc::client::Clients,
    what: &str,
    done: impl Fn(&[pb::WebhookDelivery]) -> bool,
) -> Vec<pb::WebhookDelivery> {
    for _ in 0..300 {
        let d = deliveries(c).await;
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:#?}", deliveries(c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_receiver_signed_in_order_through_outage_and_restart() {
    let dir = TestDir::new();
    let args = ["--webhook-retry-ms", "200"];
    let mut s = Scheduler::start(dir.data(), Some(TEST_CONFIG), &args);
    let token = company_token(dir.data(), "acme");
    let mut c = s.clients(&token).await;
    let now = Utc::now();
    // Before the webhook: not delivered.
    c.bookings
        .create_booking(act_booking("60-10001", hour_start(now, 4)))
        .await
        .unwrap();
    let hook_addr = free_addr();
    let set = pb::SetWebhookRequest {
        url: format!("http://{hook_addr}/hook"),
        secret: SECRET.into(),
        ..Default::default()
    };
    let w = c.company.set_webhook(set).await.unwrap().into_inner();
    assert_eq!(
        w.webhook.unwrap().delivered_through,
        1,
        "starts after the newest"
    );
    // The receiver is down: event 2 fails and waits.
    let two = c
        .bookings
        .create_booking(act_booking("60-10002", hour_start(now, 5)))
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap();
    let failed = wait_for(&mut c, "two failed attempts at acme:2", |d| {
        d.iter().filter(|d| d.event_id == "acme:2").count() >= 2
    })
    .await;
    assert!(failed.iter().all(|d| {
        d.outcome == pb::DeliveryOutcome::Failed as i32 && d.status == 0 && !d.error.is_empty()
    }));
    let moved = pb::MoveBookingRequest {
        booking_id: two.booking_id.clone(),
        stop_index: 0,
        new_window_start: Some(bawaba_grpc::timestamp(hour_start(now, 6))),
    };
    c.bookings.move_booking(moved).await.unwrap();
    // kill -9, and back on the same data: nothing is lost.
    let addr = s.addr();
    s.kill();
    let s = Scheduler::start_at(dir.data(), addr, Some(TEST_CONFIG), &args);
    let mut c = s.clients(&token).await;
    let mut got = receiver(hook_addr, 1).await;
    let done = wait_for(&mut c, "acme:2 and acme:3 delivered", |d| {
        let ok = |id: &str| {
            d.iter()
                .any(|d| d.event_id == id && d.outcome == pb::DeliveryOutcome::Delivered as i32)
        };
        ok("acme:2") && ok("acme:3")
    })
    .await;
    assert!(
        done.iter().any(|d| d.status == 503),
        "the receiver's 503 is an attempt: {done:#?}"
    );
    let mut ids = Vec::new();
    while let Ok(r) = got.try_recv() {
        assert!(
            bawaba_notify::verify(SECRET, &r.signature, &r.body),
            "a bad signature: {r:?}"
        );
        let event: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(event["id"], r.event_id.as_str());
        assert!(event["at"].as_str().unwrap().ends_with("+03:00"), "{event}");
        ids.push((r.event_id, event["type"].as_str().unwrap().to_owned()));
    }
    let first_seen: Vec<_> = ids
        .iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .iter()
        .scan(BTreeSet::new(), |seen, id| {
            Some(seen.insert(*id).then_some(*id))
        })
        .flatten()
        .collect();
    assert_eq!(first_seen, ["acme:2", "acme:3"], "in order, never acme:1");
    assert!(ids.contains(&("acme:3".into(), "booking.moved".into())));
    let w = c
        .company
        .get_webhook(pb::GetWebhookRequest::default())
        .await;
    let w = w.unwrap().into_inner();
    assert_eq!((w.delivered_through, w.head, w.failing_event), (3, 3, 0));
}
