//! 64 clients race over real gRPC for the 10 places of one window: exactly 10 win, the
//! others are refused with RESOURCE_EXHAUSTED and the nearest free windows, and the window is
//! never overbooked.

use std::sync::Arc;

use bawaba_e2e::*;
use chrono::TimeDelta;
use tokio::sync::Barrier;
use tonic::Code;

const CLIENTS: usize = 64;
const COMPANIES: [&str; 4] = ["acme", "bolt", "cargo-one", "dunes"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_race_for_the_last_ten_places() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let tokens: Vec<String> = COMPANIES
        .iter()
        .map(|c| company_token(dir.data(), c))
        .collect();
    let authority = authority_token(dir.data());
    let target = hours_ahead(4);

    // Each client on its own connection, all released at once.
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let mut c = sched.clients(&tokens[i % tokens.len()]).await;
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let req = create_req(
                &unique_key(&format!("race-{i}")),
                &plate(10_000 + i as u32),
                vec![cargo_stop("act", target)],
            );
            barrier.wait().await;
            c.bookings
                .create_booking(req)
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut won = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        match t.await.expect("client task") {
            Ok(r) => won.push(r),
            Err(s) => refused.push(s),
        }
    }

    assert_eq!(
        won.len(),
        ACT_CAPACITY as usize,
        "exactly the window's capacity wins; refusals: {refused:?}"
    );
    assert_eq!(refused.len(), CLIENTS - ACT_CAPACITY as usize);
    for r in &won {
        assert!(!r.replayed, "a fresh key is not a replay");
        let b = r.booking.as_ref().expect("booking in the response");
        assert_eq!(b.state, pb::BookingState::Booked as i32);
        assert_eq!(time(b.stops[0].window_start.as_ref()), target);
    }
    let mut ids: Vec<_> = won
        .iter()
        .map(|r| {
            r.booking
                .as_ref()
                .map(|b| b.booking_id.clone())
                .unwrap_or_default()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ACT_CAPACITY as usize, "ten distinct bookings");

    for s in &refused {
        assert_eq!(
            s.code(),
            Code::ResourceExhausted,
            "a loser gets RESOURCE_EXHAUSTED, got {:?}: {}",
            s.code(),
            s.message()
        );
        let (reason, alternatives) = exhausted_info(s, "a loser");
        assert_eq!(reason, "WINDOW_FULL", "{}", s.message());
        assert!(
            !alternatives.is_empty(),
            "the refusal names the nearest free windows: {}",
            s.message()
        );
        for a in &alternatives {
            assert_ne!(*a, target, "the full window is not an alternative");
            assert_eq!(
                a.timestamp() % 3600,
                0,
                "alternatives are window starts of act: {a}"
            );
            assert!(
                (*a - target).abs() <= TimeDelta::days(7),
                "alternatives are near the window: {a}"
            );
        }
    }

    let mut admin = sched.clients(&authority).await;
    let w = window(&mut admin, "act", target).await;
    assert_eq!(
        (w.capacity, w.booked, w.free),
        (ACT_CAPACITY, ACT_CAPACITY, 0),
        "{w:?}"
    );
    let all = all_bookings(&mut admin, pb::ListBookingsRequest::default()).await;
    assert_eq!(all.len(), ACT_CAPACITY as usize, "nothing else was stored");
    // The neighbours are untouched.
    for n in [target - TimeDelta::hours(1), target + TimeDelta::hours(1)] {
        assert_eq!(window(&mut admin, "act", n).await.booked, 0);
    }
}
