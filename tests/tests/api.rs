//! The happy paths of the gRPC API, health checking and server reflection.

use bawaba_e2e::*;
use chrono::{DateTime, TimeDelta, Utc};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn booked(
    r: Result<tonic::Response<pb::CreateBookingResponse>, tonic::Status>,
    what: &str,
) -> pb::Booking {
    let r = r.unwrap_or_else(|s| panic!("{what}: {s:?}")).into_inner();
    assert!(!r.replayed, "{what}: a new key is not a replay");
    r.booking
        .unwrap_or_else(|| panic!("{what}: no booking in the response"))
}

fn ids(bs: &[pb::Booking]) -> Vec<String> {
    bs.iter().map(|b| b.booking_id.clone()).collect()
}

#[tokio::test]
async fn zones_and_gates_are_listed() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let mut c = sched.clients(&company_token(dir.data(), "acme")).await;
    let zones = c
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .expect("ListZones")
        .into_inner()
        .zones;
    let mut names: Vec<_> = zones.iter().map(|z| z.zone_id.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["act", "siz"]);
    let act = zones.iter().find(|z| z.zone_id == "act").expect("act");
    assert_eq!(act.name, "Aqaba Container Terminal");
    assert_eq!(act.slot_minutes, 60);
    let rules = act.rules.as_ref().expect("rules");
    assert_eq!(
        (
            rules.horizon_minutes,
            rules.booking_cutoff_minutes,
            rules.company_cap_percent,
            rules.require_containers
        ),
        (10080, 60, 100, true)
    );
    assert_eq!(act.template.len(), 168, "all hours of the week");
    assert!(act.template.iter().all(|h| h.capacity == ACT_CAPACITY));
    let siz = zones.iter().find(|z| z.zone_id == "siz").expect("siz");
    assert_eq!(siz.slot_minutes, 30);
    assert_eq!(
        siz.rules
            .as_ref()
            .map(|r| (r.company_cap_percent, r.horizon_minutes)),
        Some((40, 10080))
    );
    assert!(siz.template.iter().all(|h| h.capacity == SIZ_CAPACITY));

    let gates = c
        .admin
        .list_gates(pb::ListGatesRequest {})
        .await
        .expect("ListGates")
        .into_inner()
        .gates;
    assert_eq!(gates.len(), 1);
    assert_eq!(
        (gates[0].gate_id.as_str(), gates[0].zone_id.as_str()),
        ("act-north", "act")
    );
    let lanes: Vec<_> = gates[0]
        .lanes
        .iter()
        .map(|l| (l.lane_id.as_str(), l.direction))
        .collect();
    assert_eq!(
        lanes,
        [
            ("in-1", pb::LaneDirection::In as i32),
            ("out-1", pb::LaneDirection::Out as i32)
        ]
    );
}

#[tokio::test]
async fn bookings_are_created_read_listed_moved_and_cancelled() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let mut c = sched.clients(&company_token(dir.data(), "acme")).await;
    let w = hours_ahead(4);
    let h = |n: i64| w + TimeDelta::hours(n);

    // Create and get.
    let container = container_number("MSKU", 907_032);
    let req = create_req(
        "first",
        "60-12345",
        vec![stop(
            "act",
            w,
            pb::TransactionType::ImportPickup,
            &[&container],
        )],
    );
    let b = booked(c.bookings.create_booking(req.clone()).await, "create");
    assert_eq!(b.company_id, "acme");
    assert_eq!(b.truck_plate, "6012345", "plates are normalised");
    assert_eq!(b.state, pb::BookingState::Booked as i32);
    assert_eq!(b.idempotency_key, "first");
    assert_eq!(b.revision, 1);
    assert_eq!(b.booking_id.len(), 26);
    let s = &b.stops[0];
    assert_eq!(
        (s.zone_id.as_str(), s.transaction_type),
        ("act", pb::TransactionType::ImportPickup as i32)
    );
    assert_eq!(s.container_numbers, std::slice::from_ref(&container));
    // One container, one active import pickup: another company's second one is refused
    // naming the container, never whose booking holds it.
    let mut zeta = sched.clients(&company_token(dir.data(), "zeta")).await;
    let again = create_req(
        "zeta-1",
        "60-54321",
        vec![stop(
            "act",
            h(2),
            pb::TransactionType::ImportPickup,
            &[&container],
        )],
    );
    let e = zeta.bookings.create_booking(again).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains(&container), "{e:?}");
    assert!(!e.message().contains(&b.booking_id), "{e:?}");
    assert_eq!(time(s.window_start.as_ref()), w);
    assert_eq!(time(s.window_end.as_ref()), h(1));
    assert_eq!(
        time(s.entry_from.as_ref()),
        w - TimeDelta::minutes(30),
        "entry opens with the early grace"
    );
    assert_eq!(
        time(s.entry_until.as_ref()),
        h(1) + TimeDelta::minutes(30),
        "entry closes with the late grace"
    );
    let created_at = time(b.created_at.as_ref());
    assert!((Utc::now() - created_at).abs() < TimeDelta::minutes(1));
    let got = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: b.booking_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, b, "GetBooking returns what CreateBooking did");

    // The same key and request replays.
    let again = c
        .bookings
        .create_booking(req)
        .await
        .expect("replay")
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.booking.expect("booking").booking_id, b.booking_id);
    assert_eq!(
        window(&mut c, "act", w).await.booked,
        1,
        "a replay takes no second place"
    );

    // Four more: 3 in act, 2 in siz in all.
    let b2 = booked(
        c.bookings
            .create_booking(create_req(
                "second",
                &plate(2),
                vec![cargo_stop("act", h(1))],
            ))
            .await,
        "b2",
    );
    let b3 = booked(
        c.bookings
            .create_booking(create_req(
                "third",
                &plate(3),
                vec![cargo_stop("act", h(2))],
            ))
            .await,
        "b3",
    );
    let b4 = booked(
        c.bookings
            .create_booking(create_req("fourth", &plate(4), vec![cargo_stop("siz", w)]))
            .await,
        "b4",
    );
    let b5 = booked(
        c.bookings
            .create_booking(create_req(
                "fifth",
                &plate(5),
                vec![stop("siz", h(1), pb::TransactionType::EmptyPickup, &[])],
            ))
            .await,
        "b5",
    );
    let all = vec![b.clone(), b2.clone(), b3.clone(), b4.clone(), b5.clone()];

    // Lists: all oldest first; by zone; by window range.
    let listed = all_bookings(&mut c, pb::ListBookingsRequest::default()).await;
    assert_eq!(ids(&listed), ids(&all), "oldest first");
    let act = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            zone_id: "act".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&act), ids(&[b.clone(), b2.clone(), b3.clone()]));
    let siz = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            zone_id: "siz".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&siz), ids(&[b4.clone(), b5.clone()]));
    let range = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            window_from: Some(ts(h(1))),
            window_to: Some(ts(h(2))),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        ids(&range),
        ids(&[b2.clone(), b5.clone()]),
        "bookings with a stop starting in [w+1h, w+2h)"
    );
    let booked_state = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            state: pb::BookingState::Booked as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(booked_state.len(), 5);

    // Pages of 2 over 5: 3 pages.
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .bookings
            .list_bookings(pb::ListBookingsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        pages.push(ids(&page.bookings));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages.len() < 10, "pagination ends");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(
        pages.concat(),
        ids(&all),
        "pages cover every booking once, oldest first"
    );

    // Move: the old window is freed and the new one taken.
    let moved = c
        .bookings
        .move_booking(pb::MoveBookingRequest {
            booking_id: b2.booking_id.clone(),
            stop_index: 0,
            new_window_start: Some(ts(h(5))),
        })
        .await
        .expect("move")
        .into_inner();
    assert_eq!(time(moved.stops[0].window_start.as_ref()), h(5));
    assert_eq!(time(moved.stops[0].window_end.as_ref()), h(6));
    assert_eq!(moved.revision, b2.revision + 1);
    assert_eq!(window(&mut c, "act", h(1)).await.booked, 0);
    let new_w = window(&mut c, "act", h(5)).await;
    assert_eq!((new_w.booked, new_w.free), (1, ACT_CAPACITY - 1));

    // Cancel releases.
    let cancelled = c
        .bookings
        .cancel_booking(pb::CancelBookingRequest {
            booking_id: b3.booking_id.clone(),
            reason: "truck broke down".into(),
        })
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.state, pb::BookingState::Cancelled as i32);
    assert_eq!(cancelled.cancel_reason, "truck broke down");
    assert_eq!(window(&mut c, "act", h(2)).await.booked, 0);
    let only_cancelled = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            state: pb::BookingState::Cancelled as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&only_cancelled), std::slice::from_ref(&b3.booking_id));
    let act_booked = all_bookings(
        &mut c,
        pb::ListBookingsRequest {
            zone_id: "act".into(),
            state: pb::BookingState::Booked as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        ids(&act_booked),
        [b.booking_id.clone(), b2.booking_id.clone()]
    );
}

#[tokio::test]
async fn slots_closures_multi_stop_caps_and_sweeps() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let mut c = sched.clients(&company_token(dir.data(), "acme")).await;
    let mut admin = sched.clients(&authority_token(dir.data())).await;
    let w = hours_ahead(5);
    let h = |n: i64| w + TimeDelta::hours(n);

    // ListWindows: aligned windows with capacity and local time.
    let ws = windows(&mut c, "siz", w, h(2)).await;
    assert_eq!(ws.len(), 4, "four 30-minute windows in two hours");
    for (i, win) in ws.iter().enumerate() {
        let start = w + TimeDelta::minutes(30 * i as i64);
        assert_eq!(time(win.start.as_ref()), start);
        assert_eq!(time(win.end.as_ref()), start + TimeDelta::minutes(30));
        assert_eq!(
            (win.capacity, win.booked, win.free),
            (SIZ_CAPACITY, 0, SIZ_CAPACITY)
        );
        assert!(
            win.local_start.ends_with("+03:00"),
            "local start in Asia/Amman time: {}",
            win.local_start
        );
        assert_eq!(
            DateTime::parse_from_rfc3339(&win.local_start)
                .expect("RFC 3339")
                .with_timezone(&Utc),
            start
        );
        assert!(win.closure_reason.is_empty());
    }

    // FindSlots: nearest the preferred time first, all with room.
    let find = |preferred: DateTime<Utc>, zone: &str, count| pb::FindSlotsRequest {
        zone_id: zone.into(),
        transaction_type: pb::TransactionType::GeneralCargo as i32,
        preferred: Some(ts(preferred)),
        count,
    };
    let found = c
        .slots
        .find_slots(find(h(10), "act", 5))
        .await
        .expect("FindSlots")
        .into_inner()
        .windows;
    assert_eq!(found.len(), 5);
    assert_eq!(
        time(found[0].start.as_ref()),
        h(10),
        "the preferred window itself when it has room"
    );
    let distances: Vec<_> = found
        .iter()
        .map(|f| (time(f.start.as_ref()) - h(10)).abs())
        .collect();
    assert!(
        distances.windows(2).all(|d| d[0] <= d[1]),
        "nearest first: {distances:?}"
    );
    assert!(found.iter().all(|f| f.free > 0 && f.zone_id == "act"));
    let default_count = c
        .slots
        .find_slots(find(h(10), "act", 0))
        .await
        .expect("FindSlots")
        .into_inner()
        .windows;
    assert_eq!(default_count.len(), 5, "count 0 means 5");

    // A company at its cap in a window does not get it offered: siz allows acme 2 of 5.
    for i in 0..2 {
        booked_ok(
            &mut c,
            create_req(
                &format!("cap-{i}"),
                &plate(10 + i),
                vec![cargo_stop("siz", h(3))],
            ),
        )
        .await;
    }
    let found = c
        .slots
        .find_slots(find(h(3), "siz", 3))
        .await
        .expect("FindSlots")
        .into_inner()
        .windows;
    assert!(
        found.iter().all(|f| time(f.start.as_ref()) != h(3)),
        "a window at the company's cap is not offered: {found:?}"
    );
    let s = expect_code(
        c.bookings
            .create_booking(create_req(
                "cap-2",
                &plate(12),
                vec![cargo_stop("siz", h(3))],
            ))
            .await,
        Code::ResourceExhausted,
        "third siz booking of acme in one window",
    );
    let (reason, alternatives) = exhausted_info(&s, "company cap");
    assert_eq!(reason, "COMPANY_CAP");
    assert!(!alternatives.is_empty() && !alternatives.contains(&h(3)));
    let w3 = window(&mut c, "siz", h(3)).await;
    assert_eq!(
        (w3.booked, w3.free),
        (2, 3),
        "the window has room, only not for acme"
    );

    // SetCompanyCap: acme's own cap in act, 20% of 10 = 2.
    let zone = admin
        .admin
        .set_company_cap(pb::SetCompanyCapRequest {
            zone_id: "act".into(),
            company_id: "acme".into(),
            percent: 20,
        })
        .await
        .expect("SetCompanyCap")
        .into_inner();
    assert_eq!(
        zone.company_caps,
        [pb::CompanyCap {
            company_id: "acme".into(),
            percent: 20
        }]
    );
    for i in 0..2 {
        booked_ok(
            &mut c,
            create_req(
                &format!("act-cap-{i}"),
                &plate(20 + i),
                vec![cargo_stop("act", h(4))],
            ),
        )
        .await;
    }
    let s = expect_code(
        c.bookings
            .create_booking(create_req(
                "act-cap-2",
                &plate(22),
                vec![cargo_stop("act", h(4))],
            ))
            .await,
        Code::ResourceExhausted,
        "acme over its own cap in act",
    );
    assert_eq!(exhausted_info(&s, "acme over its cap").0, "COMPANY_CAP");
    admin
        .admin
        .set_company_cap(pb::SetCompanyCapRequest {
            zone_id: "act".into(),
            company_id: "acme".into(),
            percent: 0,
        })
        .await
        .expect("clear cap");
    booked_ok(
        &mut c,
        create_req("act-cap-3", &plate(23), vec![cargo_stop("act", h(4))]),
    )
    .await;

    // A multi-stop visit takes both windows, in one step.
    let visit = booked_ok(
        &mut c,
        create_req(
            "visit",
            &plate(30),
            vec![
                cargo_stop("siz", h(6)),
                stop("act", h(7), pb::TransactionType::EmptyReturn, &[]),
            ],
        ),
    )
    .await;
    assert_eq!(visit.stops.len(), 2);
    assert_eq!(
        visit
            .stops
            .iter()
            .map(|s| (s.zone_id.as_str(), time(s.window_start.as_ref())))
            .collect::<Vec<_>>(),
        [("siz", h(6)), ("act", h(7))]
    );
    assert_eq!(
        time(visit.stops[0].window_end.as_ref()),
        h(6) + TimeDelta::minutes(30)
    );
    assert_eq!(window(&mut c, "siz", h(6)).await.booked, 1);
    assert_eq!(window(&mut c, "act", h(7)).await.booked, 1);
    // Moving the second stop keeps the first.
    c.bookings
        .move_booking(pb::MoveBookingRequest {
            booking_id: visit.booking_id.clone(),
            stop_index: 1,
            new_window_start: Some(ts(h(8))),
        })
        .await
        .expect("move stop 1");
    assert_eq!(window(&mut c, "siz", h(6)).await.booked, 1);
    assert_eq!(window(&mut c, "act", h(7)).await.booked, 0);
    assert_eq!(window(&mut c, "act", h(8)).await.booked, 1);

    // A visit that cannot take all its stops takes none: the act window h(4) is now at 3, fill it.
    for i in 0..(ACT_CAPACITY - 3) {
        booked_ok(&mut admin, {
            let mut r = create_req(
                &format!("fill-{i}"),
                &plate(40 + i),
                vec![cargo_stop("act", h(4))],
            );
            r.company_id = "filler".into();
            r
        })
        .await;
    }
    expect_code(
        c.bookings
            .create_booking(create_req(
                "half",
                &plate(60),
                vec![cargo_stop("siz", h(2)), cargo_stop("act", h(4))],
            ))
            .await,
        Code::ResourceExhausted,
        "a visit whose second window is full",
    );
    assert_eq!(
        window(&mut c, "siz", h(2)).await.booked,
        0,
        "the first stop took no place"
    );

    // AddClosure: lists the bookings it hits; the windows show capacity 0 and the reason.
    let closed = admin
        .admin
        .add_closure(pb::AddClosureRequest {
            zone_id: "act".into(),
            from: Some(ts(h(7))),
            to: Some(ts(h(9))),
            reason: "crane maintenance".into(),
            ..Default::default()
        })
        .await
        .expect("AddClosure")
        .into_inner();
    assert_eq!(
        ids(&closed.affected_bookings),
        std::slice::from_ref(&visit.booking_id),
        "the visit's act stop is at h(8)"
    );
    let closure = closed.closure.expect("closure");
    assert_eq!(closure.reason, "crane maintenance");
    assert_eq!(
        (time(closure.from.as_ref()), time(closure.to.as_ref())),
        (h(7), h(9))
    );
    let ws = windows(&mut c, "act", h(6), h(10)).await;
    let shut: Vec<_> = ws
        .iter()
        .map(|w| {
            (
                time(w.start.as_ref()),
                w.capacity,
                w.closure_reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shut,
        [
            (h(6), ACT_CAPACITY, ""),
            (h(7), 0, "crane maintenance"),
            (h(8), 0, "crane maintenance"),
            (h(9), ACT_CAPACITY, "")
        ]
    );
    let still = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: visit.booking_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        still.state,
        pb::BookingState::Booked as i32,
        "a closure leaves bookings booked until moved or cancelled"
    );
    // GetBooking shows the closure over the hit stop (the act one), not over the other.
    let closed_stops: Vec<_> = still
        .stops
        .iter()
        .map(|s| {
            (
                s.zone_id.as_str(),
                s.closures.iter().map(|c| c.id).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(closed_stops, [("siz", vec![]), ("act", vec![closure.id])]);
    // Booking a closed window is refused naming the closure, its reason and end (Amman
    // time), with the nearest open windows.
    let refused = expect_code(
        c.bookings
            .create_booking(create_req(
                "closed",
                &plate(61),
                vec![cargo_stop("act", h(7))],
            ))
            .await,
        Code::FailedPrecondition,
        "booking a closed window",
    );
    let info = tonic_types::StatusExt::get_details_error_info(&refused).expect("ErrorInfo");
    assert_eq!(info.reason, "ZONE_CLOSED", "{}", refused.message());
    assert_eq!(info.metadata["closure_id"], closure.id.to_string());
    assert_eq!(info.metadata["closure_reason"], "crane maintenance");
    assert_eq!(info.metadata["closed_until"], rfc3339(h(9)));
    assert!(!info.metadata["alternatives"].is_empty(), "{info:?}");
    assert!(
        refused.message().contains("crane maintenance") && refused.message().contains("+03:00"),
        "{}",
        refused.message()
    );
    let zones = c
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .expect("zones")
        .into_inner()
        .zones;
    let act = zones.iter().find(|z| z.zone_id == "act").expect("act");
    assert_eq!(act.closures.len(), 1);
    let reopened = admin
        .admin
        .remove_closure(pb::RemoveClosureRequest {
            zone_id: "act".into(),
            closure_id: closure.id,
        })
        .await
        .expect("RemoveClosure")
        .into_inner();
    assert!(reopened.zone.expect("the zone").closures.is_empty());
    let back: Vec<_> = reopened.can_return.iter().map(|b| &b.booking_id).collect();
    assert_eq!(
        back,
        [&visit.booking_id],
        "the visit it hit can come as booked"
    );
    assert_eq!(window(&mut c, "act", h(7)).await.capacity, ACT_CAPACITY);

    // The no-show sweep has nothing to mark: every booking is in the future.
    let swept = admin
        .admin
        .run_no_show_sweep(pb::RunNoShowSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert!(swept.marked_booking_ids.is_empty(), "{swept:?}");
    let no_shows = admin
        .admin
        .list_no_shows(pb::ListNoShowsRequest {})
        .await
        .expect("no-shows")
        .into_inner();
    assert!(no_shows.companies.is_empty(), "{no_shows:?}");
}

async fn booked_ok(c: &mut Clients, req: pb::CreateBookingRequest) -> pb::Booking {
    let what = format!("booking {}", req.idempotency_key);
    booked(c.bookings.create_booking(req).await, &what)
}

#[tokio::test]
async fn admin_changes_zones() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let mut admin = sched.clients(&authority_token(dir.data())).await;
    let w = hours_ahead(5);

    let zone = admin
        .admin
        .upsert_zone(pb::UpsertZoneRequest {
            zone_id: "aiie".into(),
            name: "Aqaba International Industrial Estate".into(),
            slot_minutes: 20,
            rules: None,
            default_capacity: 3,
        })
        .await
        .expect("UpsertZone")
        .into_inner();
    assert_eq!((zone.zone_id.as_str(), zone.slot_minutes), ("aiie", 20));
    assert_eq!(
        zone.rules
            .as_ref()
            .map(|r| (r.horizon_minutes, r.company_cap_percent)),
        Some((10080, 30)),
        "default rules"
    );
    let ws = windows(&mut admin, "aiie", w, w + TimeDelta::hours(1)).await;
    assert_eq!(
        ws.iter().map(|w| w.capacity).collect::<Vec<_>>(),
        [3, 3, 3],
        "three 20-minute windows of 3"
    );

    let zone = admin
        .admin
        .set_capacity_template(pb::SetCapacityTemplateRequest {
            zone_id: "aiie".into(),
            default_capacity: 7,
            hours: vec![],
            confirm: false,
        })
        .await
        .expect("SetCapacityTemplate")
        .into_inner();
    assert!(zone.template.iter().all(|h| h.capacity == 7));
    assert_eq!(window(&mut admin, "aiie", w).await.capacity, 7);

    let gate = pb::Gate {
        gate_id: "aiie-main".into(),
        zone_id: "aiie".into(),
        name: "AIIE Main Gate".into(),
        lanes: vec![pb::Lane {
            lane_id: "in-1".into(),
            direction: pb::LaneDirection::In as i32,
        }],
        name_ar: "البوابة الرئيسية للمجمع الصناعي".into(),
    };
    assert_eq!(
        admin
            .admin
            .upsert_gate(gate.clone())
            .await
            .expect("UpsertGate")
            .into_inner(),
        gate
    );
    let gates = admin
        .admin
        .list_gates(pb::ListGatesRequest {})
        .await
        .expect("ListGates")
        .into_inner()
        .gates;
    assert_eq!(gates.len(), 2);
}

#[tokio::test]
async fn health_and_reflection_answer() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let channel = bawaba_grpc::client::channel(&sched.url(), None)
        .await
        .expect("channel");

    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "bawaba.v1.BookingService",
        "bawaba.v1.SlotService",
        "bawaba.v1.AdminService",
    ] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health check {service:?}: {s:?}"))
            .into_inner();
        assert_eq!(
            r.status,
            ServingStatus::Serving as i32,
            "{service:?} is SERVING"
        );
    }
    expect_code(
        health
            .check(HealthCheckRequest {
                service: "no.such.Service".into(),
            })
            .await,
        Code::NotFound,
        "health of an unknown service",
    );

    // Reflection v1.
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(channel.clone());
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .expect("reflection v1")
            .into_inner();
        let resp = stream
            .message()
            .await
            .expect("reflection v1 response")
            .expect("one response");
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            panic!("reflection v1 answered {:?}", resp.message_response);
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        for want in [
            "bawaba.v1.BookingService",
            "bawaba.v1.SlotService",
            "bawaba.v1.AdminService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                names.contains(&want),
                "reflection v1 lists {want}: {names:?}"
            );
        }
        // And describes a service's file.
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "bawaba.v1.BookingService".into(),
            )),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .expect("reflection v1")
            .into_inner();
        let resp = stream
            .message()
            .await
            .expect("reflection v1 response")
            .expect("one response");
        assert!(
            matches!(resp.message_response, Some(MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
            "reflection v1 gives the file of bawaba.v1.BookingService: {:?}",
            resp.message_response
        );
    }

    // Reflection v1alpha.
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(channel);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let resp = stream
            .message()
            .await
            .expect("reflection v1alpha response")
            .expect("one response");
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            panic!("reflection v1alpha answered {:?}", resp.message_response);
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        assert!(
            names.contains(&"bawaba.v1.BookingService"),
            "reflection v1alpha lists the services: {names:?}"
        );
    }
}
