//! Durability: what the scheduler acknowledged survives SIGKILL, and a graceful stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bawaba_e2e::*;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

const BOOKINGS: usize = 200;
/// 200 bookings over 20 windows of 10.
const WINDOWS: usize = BOOKINGS / ACT_CAPACITY as usize;
const CONNECTIONS: usize = 8;

struct Acked {
    req: pb::CreateBookingRequest,
    id: String,
    window: DateTime<Utc>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_bookings_survive_sigkill() {
    let dir = TestDir::new();
    let mut sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let other = company_token(dir.data(), "other");
    let authority = authority_token(dir.data());
    let first = hours_ahead(3);

    // A background writer keeps booking other windows until the scheduler dies, so the kill
    // lands with requests in flight.
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer_acked = Arc::new(Mutex::new(Vec::<(String, DateTime<Utc>)>::new()));
    let writer_start = first + TimeDelta::hours(30);
    let writer = {
        let mut c = sched.clients(&other).await;
        let stop_writer = Arc::clone(&stop_writer);
        let acked = Arc::clone(&writer_acked);
        tokio::spawn(async move {
            let mut n = 0u32;
            // At most 1000 bookings: 100 windows, all within the horizon.
            while !stop_writer.load(Ordering::Relaxed) && n < 1000 {
                let w = writer_start + TimeDelta::hours(i64::from(n / ACT_CAPACITY));
                let req = create_req(
                    &unique_key("inflight"),
                    &plate(50_000 + n),
                    vec![cargo_stop("act", w)],
                );
                match c.bookings.create_booking(req).await {
                    Ok(r) => {
                        let id = r
                            .into_inner()
                            .booking
                            .map(|b| b.booking_id)
                            .unwrap_or_default();
                        acked.lock().await.push((id, w));
                    }
                    Err(_) => return,
                }
                n += 1;
            }
        })
    };

    // 200 bookings, concurrently over a few connections.
    let mut conns = Vec::new();
    for _ in 0..CONNECTIONS {
        conns.push(sched.clients(&acme).await);
    }
    let mut tasks = Vec::new();
    for i in 0..BOOKINGS {
        let mut c = conns[i % CONNECTIONS].clone();
        let w = first + TimeDelta::hours((i % WINDOWS) as i64);
        tasks.push(tokio::spawn(async move {
            let req = create_req(
                &unique_key(&format!("durable-{i}")),
                &plate(i as u32),
                vec![cargo_stop("act", w)],
            );
            let r = c
                .bookings
                .create_booking(req.clone())
                .await
                .map(tonic::Response::into_inner);
            (req, w, r)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (req, window, r) = t.await.expect("booking task");
        let r = r
            .unwrap_or_else(|s| panic!("booking {} in a window with room: {s:?}", req.truck_plate));
        assert!(!r.replayed);
        let id = r.booking.expect("booking in the response").booking_id;
        acked.push(Acked { req, id, window });
    }
    // Right after the last acknowledgement.
    sched.kill();
    stop_writer.store(true, Ordering::Relaxed);
    writer.await.expect("writer task");
    let writer_acked = std::mem::take(&mut *writer_acked.lock().await);

    let sched = start_test_scheduler(&dir);
    let mut c = sched.clients(&acme).await;
    let mut admin = sched.clients(&authority).await;

    for a in &acked {
        let b = c
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: a.id.clone(),
            })
            .await
            .unwrap_or_else(|s| {
                panic!("acknowledged booking {} is gone after SIGKILL: {s:?}", a.id)
            })
            .into_inner();
        assert_eq!(b.booking_id, a.id);
        assert_eq!(b.state, pb::BookingState::Booked as i32);
        assert_eq!(b.company_id, "acme");
        assert_eq!(b.idempotency_key, a.req.idempotency_key);
        assert_eq!(b.truck_plate, a.req.truck_plate.replace('-', ""));
        assert_eq!(time(b.stops[0].window_start.as_ref()), a.window);
    }

    let mut per_window = BTreeMap::<DateTime<Utc>, u32>::new();
    for a in &acked {
        *per_window.entry(a.window).or_default() += 1;
    }
    let listed = windows(
        &mut c,
        "act",
        first,
        first + TimeDelta::hours(WINDOWS as i64),
    )
    .await;
    assert_eq!(listed.len(), WINDOWS);
    for w in &listed {
        let start = time(w.start.as_ref());
        assert_eq!(
            w.booked, per_window[&start],
            "window {start}: booked count after restart"
        );
        assert_eq!(w.free, w.capacity - w.booked);
    }
    let mine = all_bookings(&mut c, pb::ListBookingsRequest::default()).await;
    assert_eq!(mine.len(), BOOKINGS, "acme's bookings after restart");

    // The writer's acknowledged bookings are back too; those in flight at the kill may or may
    // not be, but the counters agree with the bookings either way.
    for (id, _) in &writer_acked {
        admin
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: id.clone(),
            })
            .await
            .unwrap_or_else(|s| {
                panic!("in-flight writer's acknowledged booking {id} is gone: {s:?}")
            });
    }
    let others = all_bookings(
        &mut admin,
        pb::ListBookingsRequest {
            company_id: "other".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(others.len() >= writer_acked.len());
    assert!(
        others.len() <= writer_acked.len() + 1,
        "one writer has at most one request in flight"
    );
    let writer_windows = windows(
        &mut admin,
        "act",
        writer_start,
        writer_start + TimeDelta::hours(100),
    )
    .await;
    let booked: u32 = writer_windows.iter().map(|w| w.booked).sum();
    assert_eq!(
        booked as usize,
        others.len(),
        "window counters agree with the stored bookings"
    );

    // Idempotency keys still replay: same booking, nothing taken twice.
    for a in acked.iter().step_by(5) {
        let r = c
            .bookings
            .create_booking(a.req.clone())
            .await
            .expect("replay after restart")
            .into_inner();
        assert!(r.replayed, "the key was used before the restart");
        assert_eq!(r.booking.expect("booking").booking_id, a.id);
    }
    let again = windows(
        &mut c,
        "act",
        first,
        first + TimeDelta::hours(WINDOWS as i64),
    )
    .await;
    assert_eq!(
        again.iter().map(|w| w.booked).collect::<Vec<_>>(),
        listed.iter().map(|w| w.booked).collect::<Vec<_>>(),
        "replays take no places"
    );
    drop(admin);
}

#[tokio::test]
async fn graceful_stop_keeps_everything_and_changes() {
    let dir = TestDir::new();
    let mut sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let authority = authority_token(dir.data());
    let w = hours_ahead(5);
    let mut c = sched.clients(&acme).await;
    let mut admin = sched.clients(&authority).await;

    let kept = c
        .bookings
        .create_booking(create_req("kept", &plate(1), vec![cargo_stop("act", w)]))
        .await
        .expect("book");
    let kept = kept.into_inner().booking.expect("booking");
    let moved = c
        .bookings
        .create_booking(create_req("moved", &plate(2), vec![cargo_stop("act", w)]))
        .await
        .expect("book");
    let moved = moved.into_inner().booking.expect("booking");
    let cancelled = c
        .bookings
        .create_booking(create_req(
            "cancelled",
            &plate(3),
            vec![cargo_stop("act", w)],
        ))
        .await
        .expect("book");
    let cancelled = cancelled.into_inner().booking.expect("booking");
    let to = w + TimeDelta::hours(2);
    c.bookings
        .move_booking(pb::MoveBookingRequest {
            booking_id: moved.booking_id.clone(),
            stop_index: 0,
            new_window_start: Some(ts(to)),
        })
        .await
        .expect("move");
    c.bookings
        .cancel_booking(pb::CancelBookingRequest {
            booking_id: cancelled.booking_id.clone(),
            reason: "plans changed".into(),
        })
        .await
        .expect("cancel");
    // An AdminService change survives the restart (the config does not overwrite it).
    admin
        .admin
        .set_company_cap(pb::SetCompanyCapRequest {
            zone_id: "siz".into(),
            company_id: "acme".into(),
            percent: 20,
        })
        .await
        .expect("set cap");
    drop((c, admin));

    let status = sched.stop().await;
    assert!(
        status.success(),
        "SIGTERM is a graceful stop with exit status 0, got {status}; stderr:\n{}",
        sched.logs()
    );

    let sched = start_test_scheduler(&dir);
    let mut c = sched.clients(&acme).await;
    let get = |id: String| pb::GetBookingRequest { booking_id: id };
    let k = c
        .bookings
        .get_booking(get(kept.booking_id.clone()))
        .await
        .expect("kept")
        .into_inner();
    assert_eq!(k.state, pb::BookingState::Booked as i32);
    let m = c
        .bookings
        .get_booking(get(moved.booking_id.clone()))
        .await
        .expect("moved")
        .into_inner();
    assert_eq!(time(m.stops[0].window_start.as_ref()), to);
    let x = c
        .bookings
        .get_booking(get(cancelled.booking_id.clone()))
        .await
        .expect("cancelled")
        .into_inner();
    assert_eq!(x.state, pb::BookingState::Cancelled as i32);
    assert_eq!(x.cancel_reason, "plans changed");
    assert_eq!(window(&mut c, "act", w).await.booked, 1);
    assert_eq!(window(&mut c, "act", to).await.booked, 1);
    let zones = c
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .expect("zones")
        .into_inner()
        .zones;
    let siz = zones.iter().find(|z| z.zone_id == "siz").expect("siz");
    assert!(
        siz.company_caps
            .iter()
            .any(|cc| cc.company_id == "acme" && cc.percent == 20),
        "the company cap set through AdminService survives a restart: {:?}",
        siz.company_caps
    );
}
