//! Every role boundary, over real gRPC with tokens made by `bawaba token create`.

use bawaba_e2e::*;
use chrono::TimeDelta;
use tonic::{Code, Status};

/// The message with `id` replaced, so two refusals can be compared by shape.
fn shape(s: &Status, id: &str) -> String {
    s.message().replace(id, "<ID>")
}

#[tokio::test]
async fn role_boundaries_hold() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let alpha_t = company_token(dir.data(), "alpha");
    let bravo_t = company_token(dir.data(), "bravo");
    let gate_t = token(dir.data(), "gate", None, Some("act"));
    let operator_t = token(dir.data(), "operator", None, None);
    let authority_t = authority_token(dir.data());
    let mut alpha = sched.clients(&alpha_t).await;
    let mut bravo = sched.clients(&bravo_t).await;
    let mut gate = sched.clients(&gate_t).await;
    let mut operator = sched.clients(&operator_t).await;
    let mut authority = sched.clients(&authority_t).await;
    let w = hours_ahead(4);

    // No token, malformed header, unknown tokens.
    let mut anonymous = Clients::connect(&sched.url(), None, None)
        .await
        .expect("connect");
    expect_code(
        anonymous.admin.list_zones(pb::ListZonesRequest {}).await,
        Code::Unauthenticated,
        "ListZones without a token",
    );
    expect_code(
        anonymous
            .bookings
            .create_booking(create_req("anon", &plate(1), vec![cargo_stop("act", w)]))
            .await,
        Code::Unauthenticated,
        "CreateBooking without a token",
    );
    expect_code(
        anonymous
            .slots
            .list_windows(pb::ListWindowsRequest {
                zone_id: "act".into(),
                from: Some(ts(w)),
                to: Some(ts(w + TimeDelta::hours(1))),
            })
            .await,
        Code::Unauthenticated,
        "ListWindows without a token",
    );
    for garbage in [
        "garbage",
        &format!("bwb_{}", "0".repeat(64)),
        &format!("{alpha_t}x"),
        "Bearer",
    ] {
        let mut g = clients(sched.addr(), garbage).await;
        expect_code(
            g.admin.list_zones(pb::ListZonesRequest {}).await,
            Code::Unauthenticated,
            &format!("token {garbage:?}"),
        );
        expect_code(
            g.bookings
                .list_bookings(pb::ListBookingsRequest::default())
                .await,
            Code::Unauthenticated,
            &format!("ListBookings with token {garbage:?}"),
        );
    }

    // Bookings of two companies.
    let b1 = bravo
        .bookings
        .create_booking(create_req("b1", &plate(1), vec![cargo_stop("act", w)]))
        .await
        .expect("bravo books")
        .into_inner()
        .booking
        .expect("booking");
    let a1 = alpha
        .bookings
        .create_booking(create_req("a1", &plate(2), vec![cargo_stop("act", w)]))
        .await
        .expect("alpha books")
        .into_inner()
        .booking
        .expect("booking");
    assert_eq!(b1.company_id, "bravo");
    assert_eq!(a1.company_id, "alpha");

    // alpha cannot touch bravo's booking, and cannot tell it from one that does not exist.
    let ghost = random_booking_id();
    let to = Some(ts(w + TimeDelta::hours(1)));
    for (id, what) in [
        (&b1.booking_id, "bravo's booking"),
        (&ghost, "a booking that does not exist"),
    ] {
        let get = expect_code(
            alpha
                .bookings
                .get_booking(pb::GetBookingRequest {
                    booking_id: id.clone(),
                })
                .await,
            Code::NotFound,
            &format!("alpha gets {what}"),
        );
        let mv = expect_code(
            alpha
                .bookings
                .move_booking(pb::MoveBookingRequest {
                    booking_id: id.clone(),
                    stop_index: 0,
                    new_window_start: to,
                })
                .await,
            Code::NotFound,
            &format!("alpha moves {what}"),
        );
        let cancel = expect_code(
            alpha
                .bookings
                .cancel_booking(pb::CancelBookingRequest {
                    booking_id: id.clone(),
                    reason: String::new(),
                })
                .await,
            Code::NotFound,
            &format!("alpha cancels {what}"),
        );
        for s in [&get, &mv, &cancel] {
            assert!(
                !s.message().contains("bravo"),
                "the refusal does not reveal the owner: {}",
                s.message()
            );
        }
    }
    let existing = alpha
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: b1.booking_id.clone(),
        })
        .await
        .expect_err("refused");
    let missing = alpha
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: ghost.clone(),
        })
        .await
        .expect_err("refused");
    assert_eq!(existing.code(), missing.code());
    assert_eq!(
        shape(&existing, &b1.booking_id),
        shape(&missing, &ghost),
        "an existing booking of another company and a missing booking are refused alike"
    );
    let b1_now = bravo
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: b1.booking_id.clone(),
        })
        .await
        .expect("bravo gets")
        .into_inner();
    assert_eq!(
        b1_now.state,
        pb::BookingState::Booked as i32,
        "alpha's refused cancel changed nothing"
    );
    assert_eq!(
        b1_now.revision, b1.revision,
        "alpha's refused move changed nothing"
    );

    // alpha lists only its own bookings, and cannot ask for bravo's.
    let mine = all_bookings(&mut alpha, pb::ListBookingsRequest::default()).await;
    assert_eq!(
        mine.iter()
            .map(|b| b.booking_id.as_str())
            .collect::<Vec<_>>(),
        vec![a1.booking_id.as_str()]
    );
    expect_code(
        alpha
            .bookings
            .list_bookings(pb::ListBookingsRequest {
                company_id: "bravo".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "alpha lists bravo's bookings (a company it may not see)",
    );

    // alpha cannot book for bravo.
    let mut for_bravo = create_req("for-bravo", &plate(3), vec![cargo_stop("act", w)]);
    for_bravo.company_id = "bravo".into();
    expect_code(
        alpha.bookings.create_booking(for_bravo.clone()).await,
        Code::NotFound,
        "alpha books for bravo (a company it may not see)",
    );

    // Gates and operators read but do not book or change bookings.
    for (who, c) in [("gate", &mut gate), ("operator", &mut operator)] {
        expect_code(
            c.bookings
                .create_booking(create_req(
                    &format!("{who}-1"),
                    &plate(4),
                    vec![cargo_stop("act", w)],
                ))
                .await,
            Code::PermissionDenied,
            &format!("{who} books"),
        );
        expect_code(
            c.bookings.create_booking(for_bravo.clone()).await,
            Code::PermissionDenied,
            &format!("{who} books for bravo"),
        );
        expect_code(
            c.bookings
                .move_booking(pb::MoveBookingRequest {
                    booking_id: b1.booking_id.clone(),
                    stop_index: 0,
                    new_window_start: to,
                })
                .await,
            Code::PermissionDenied,
            &format!("{who} moves a booking"),
        );
        expect_code(
            c.bookings
                .cancel_booking(pb::CancelBookingRequest {
                    booking_id: b1.booking_id.clone(),
                    reason: String::new(),
                })
                .await,
            Code::PermissionDenied,
            &format!("{who} cancels a booking"),
        );
        let b = c
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: b1.booking_id.clone(),
            })
            .await;
        assert!(b.is_ok(), "{who} reads any booking of its zone: {b:?}");
    }

    // Only the authority administers.
    let closure = pb::AddClosureRequest {
        zone_id: "act".into(),
        from: Some(ts(w + TimeDelta::hours(10))),
        to: Some(ts(w + TimeDelta::hours(11))),
        reason: "test".into(),
        ..Default::default()
    };
    for (who, c) in [
        ("company", &mut alpha),
        ("gate", &mut gate),
        ("operator", &mut operator),
    ] {
        let a = &mut c.admin;
        let what = |rpc: &str| format!("{who} calls {rpc}");
        expect_code(
            a.upsert_zone(pb::UpsertZoneRequest {
                zone_id: "new".into(),
                name: "New".into(),
                slot_minutes: 60,
                rules: None,
                default_capacity: 5,
            })
            .await,
            Code::PermissionDenied,
            &what("UpsertZone"),
        );
        expect_code(
            a.set_capacity_template(pb::SetCapacityTemplateRequest {
                zone_id: "act".into(),
                default_capacity: 99,
                hours: vec![],
                confirm: false,
            })
            .await,
            Code::PermissionDenied,
            &what("SetCapacityTemplate"),
        );
        expect_code(
            a.add_closure(closure.clone()).await,
            Code::PermissionDenied,
            &what("AddClosure"),
        );
        expect_code(
            a.remove_closure(pb::RemoveClosureRequest {
                zone_id: "act".into(),
                closure_id: 1,
            })
            .await,
            Code::PermissionDenied,
            &what("RemoveClosure"),
        );
        expect_code(
            a.set_company_cap(pb::SetCompanyCapRequest {
                zone_id: "act".into(),
                company_id: "alpha".into(),
                percent: 100,
            })
            .await,
            Code::PermissionDenied,
            &what("SetCompanyCap"),
        );
        expect_code(
            a.upsert_gate(pb::Gate {
                gate_id: "g".into(),
                zone_id: "act".into(),
                name: "G".into(),
                lanes: vec![],
                name_ar: String::new(),
            })
            .await,
            Code::PermissionDenied,
            &what("UpsertGate"),
        );
        expect_code(
            a.run_no_show_sweep(pb::RunNoShowSweepRequest {}).await,
            Code::PermissionDenied,
            &what("RunNoShowSweep"),
        );
        expect_code(
            a.list_no_shows(pb::ListNoShowsRequest {}).await,
            Code::PermissionDenied,
            &what("ListNoShows"),
        );
    }
    let zones = authority
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .expect("zones")
        .into_inner()
        .zones;
    assert_eq!(zones.len(), 2, "no refused UpsertZone created a zone");
    assert!(
        zones
            .iter()
            .all(|z| z.closures.is_empty() && z.company_caps.is_empty()),
        "no refused admin call changed a zone"
    );
    let act = zones.iter().find(|z| z.zone_id == "act").expect("act");
    assert!(
        act.template.iter().all(|h| h.capacity == ACT_CAPACITY),
        "no refused SetCapacityTemplate changed act"
    );

    // Any valid token reads zones, gates and windows, and finds slots.
    for (who, c) in [
        ("company", &mut alpha),
        ("gate", &mut gate),
        ("operator", &mut operator),
        ("authority", &mut authority),
    ] {
        let zones = c
            .admin
            .list_zones(pb::ListZonesRequest {})
            .await
            .unwrap_or_else(|s| panic!("{who} ListZones: {s:?}"));
        // The gate token is limited to act: it lists only its own zone.
        let listed = if who == "gate" { 1 } else { 2 };
        assert_eq!(zones.into_inner().zones.len(), listed, "{who} ListZones");
        let ws = windows(c, "act", w, w + TimeDelta::hours(3)).await;
        assert_eq!(ws.len(), 3, "{who} ListWindows");
        assert_eq!(ws[0].booked, 2);
        c.admin
            .list_gates(pb::ListGatesRequest {})
            .await
            .unwrap_or_else(|s| panic!("{who} ListGates: {s:?}"));
        c.slots
            .find_slots(pb::FindSlotsRequest {
                zone_id: "act".into(),
                transaction_type: pb::TransactionType::GeneralCargo as i32,
                preferred: Some(ts(w)),
                count: 3,
            })
            .await
            .unwrap_or_else(|s| panic!("{who} FindSlots: {s:?}"));
    }

    // The authority books for a company and sees everything.
    let mut for_charlie = create_req("auth-1", &plate(5), vec![cargo_stop("act", w)]);
    for_charlie.company_id = "charlie".into();
    let c1 = authority
        .bookings
        .create_booking(for_charlie)
        .await
        .expect("authority books for charlie")
        .into_inner()
        .booking
        .expect("booking");
    assert_eq!(c1.company_id, "charlie");
    expect_invalid(
        authority
            .bookings
            .create_booking(create_req("auth-2", &plate(6), vec![cargo_stop("act", w)]))
            .await,
        "company_id",
        "the authority books without naming the company",
    );
    let all = all_bookings(&mut authority, pb::ListBookingsRequest::default()).await;
    let mut companies: Vec<_> = all.iter().map(|b| b.company_id.as_str()).collect();
    companies.sort_unstable();
    assert_eq!(companies, ["alpha", "bravo", "charlie"]);
    let charlie_only = all_bookings(
        &mut authority,
        pb::ListBookingsRequest {
            company_id: "charlie".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(charlie_only.len(), 1);
    authority
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: b1.booking_id.clone(),
        })
        .await
        .expect("authority reads bravo's booking");
    // bravo sees the booking the authority made for charlie as not its own.
    expect_code(
        bravo
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: c1.booking_id.clone(),
            })
            .await,
        Code::NotFound,
        "bravo gets charlie's booking",
    );
    authority
        .bookings
        .move_booking(pb::MoveBookingRequest {
            booking_id: b1.booking_id.clone(),
            stop_index: 0,
            new_window_start: to,
        })
        .await
        .expect("the authority moves any booking");

    // A token made while the scheduler runs works at once.
    let delta_t = company_token(dir.data(), "delta");
    let mut delta = sched.clients(&delta_t).await;
    delta
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .expect("a fresh token lists zones");
    let d1 = delta
        .bookings
        .create_booking(create_req("d1", &plate(7), vec![cargo_stop("act", w)]))
        .await
        .expect("a fresh token books")
        .into_inner()
        .booking
        .expect("booking");
    assert_eq!(d1.company_id, "delta");
    let fresh_authority = clients(sched.addr(), &authority_token(dir.data())).await;
    fresh_authority
        .admin
        .clone()
        .list_no_shows(pb::ListNoShowsRequest {})
        .await
        .expect("a fresh authority token administers");
}

/// `bawaba token list` and `token revoke` while a scheduler runs on the same folder: the
/// revoked token is refused within moments (polled, bounded), another company's token keeps
/// working, the list marks it, a second revoke is refused, and a restart keeps it refused.
#[tokio::test]
async fn a_revoked_token_is_refused_by_the_running_scheduler() {
    let dir = TestDir::new();
    let mut sched = start_test_scheduler(&dir);
    let leaked = company_token(dir.data(), "alpha");
    let kept = company_token(dir.data(), "bravo");
    let list_bookings = || pb::ListBookingsRequest::default();
    let mut alpha = sched.clients(&leaked).await;
    let mut bravo = sched.clients(&kept).await;
    alpha.bookings.list_bookings(list_bookings()).await.unwrap();

    let data = dir.data().to_str().unwrap().to_owned();
    let tokens = || {
        let out = run_bawaba(["token", "list", "--data-dir", &data]);
        assert!(out.status.success(), "{}", output_text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = tokens();
    let row = |listed: &str, company: &str| -> Vec<String> {
        listed
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f.get(2).map(String::as_str) == Some(company))
            .unwrap_or_else(|| panic!("no token of {company} in:\n{listed}"))
    };
    assert!(!listed.contains(&leaked[4..]), "never the token itself");
    let id = row(&listed, "alpha")[0].clone();
    assert_eq!(row(&listed, "alpha").last().unwrap(), "-", "{listed}");

    let out = run_bawaba(["token", "revoke", "--data-dir", &data, &id]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("token {id} (company")),
        "{}",
        output_text(&out)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match alpha.bookings.list_bookings(list_bookings()).await {
            Err(s) if s.code() == Code::Unauthenticated => break,
            Ok(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => panic!("the revoked token should be refused within 10 s: {other:?}"),
        }
    }
    bravo.bookings.list_bookings(list_bookings()).await.unwrap();
    let listed = tokens();
    assert_ne!(row(&listed, "alpha").last().unwrap(), "-", "{listed}");
    assert_eq!(row(&listed, "bravo").last().unwrap(), "-", "{listed}");
    let again = run_bawaba(["token", "revoke", "--data-dir", &data, &id]);
    assert_eq!(again.status.code(), Some(1), "{}", output_text(&again));
    assert!(
        output_text(&again).contains("already revoked"),
        "{}",
        output_text(&again)
    );

    sched.stop().await;
    let sched = start_test_scheduler(&dir);
    expect_code(
        sched
            .clients(&leaked)
            .await
            .bookings
            .list_bookings(list_bookings())
            .await,
        Code::Unauthenticated,
        "the revoked token after a restart",
    );
    sched
        .clients(&kept)
        .await
        .bookings
        .list_bookings(list_bookings())
        .await
        .unwrap();
}

/// A revoked token ends the streams it opened: a gate PC's SyncBookings feed and its
/// GateCommands stream answer UNAUTHENTICATED within moments of `bawaba token revoke`
/// (given the token itself, as whoever found it leaked would).
#[tokio::test]
async fn a_revoked_token_ends_the_streams_it_opened() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let gate_t = token(dir.data(), "gate", None, Some("act"));
    let channel = bawaba_grpc::client::channel(&sched.url(), None)
        .await
        .expect("connect");
    let mut gate = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel,
        bawaba_grpc::client::BearerToken::new(Some(&gate_t)).expect("token"),
    );
    let mut sync = gate
        .sync_bookings(pb::SyncBookingsRequest {
            zone_id: "act".into(),
            after_seq: 0,
        })
        .await
        .expect("SyncBookings")
        .into_inner();
    let first = sync.message().await.expect("the zone's first message");
    assert!(first.is_some(), "the stream serves");
    let mut commands = gate
        .gate_commands(pb::GateCommandsRequest {
            gate_id: "act-north".into(),
        })
        .await
        .expect("GateCommands")
        .into_inner();

    let data = dir.data().to_str().unwrap().to_owned();
    let out = run_bawaba(["token", "revoke", "--data-dir", &data, &gate_t]);
    assert!(out.status.success(), "{}", output_text(&out));
    let within = std::time::Duration::from_secs(10);
    let ended = tokio::time::timeout(within, sync.message())
        .await
        .expect("SyncBookings should end within 10 s of the revocation");
    expect_code(
        ended,
        Code::Unauthenticated,
        "SyncBookings after the revocation",
    );
    let ended = tokio::time::timeout(within, commands.message())
        .await
        .expect("GateCommands should end within 10 s of the revocation");
    expect_code(
        ended,
        Code::Unauthenticated,
        "GateCommands after the revocation",
    );
    // And the token opens nothing new.
    expect_code(
        gate.sync_bookings(pb::SyncBookingsRequest {
            zone_id: "act".into(),
            after_seq: 0,
        })
        .await,
        Code::Unauthenticated,
        "SyncBookings with the revoked token",
    );
}
