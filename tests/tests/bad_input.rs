//! Bad requests get the right status code, name the offending field, and store nothing.

use bawaba_e2e::*;
use chrono::{DateTime, TimeDelta, Utc};
use tonic::Code;

/// Everything observable about the store: every booking (with its revision) and the use of
/// every window of both zones from `from` over the whole horizon.
async fn snapshot(
    admin: &mut Clients,
    from: DateTime<Utc>,
) -> (
    Vec<(String, u64, i32)>,
    Vec<(String, DateTime<Utc>, u32, u32)>,
) {
    let bookings = all_bookings(admin, pb::ListBookingsRequest::default())
        .await
        .into_iter()
        .map(|b| (b.booking_id, b.revision, b.state))
        .collect();
    let to = from + TimeDelta::days(8);
    let mut ws = Vec::new();
    for zone in ["act", "siz"] {
        for w in windows(admin, zone, from, to).await {
            ws.push((
                w.zone_id.clone(),
                time(w.start.as_ref()),
                w.capacity,
                w.booked,
            ));
        }
    }
    (bookings, ws)
}

/// The next start of a siz window (30 minutes) that is inside the 60-minute booking cut-off
/// but has not started yet, with some margin so it does not start while the request travels.
fn inside_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    let half_hour = TimeDelta::minutes(30);
    let mut t = hour_start(now, 0);
    while t <= now + TimeDelta::seconds(30) {
        t += half_hour;
    }
    assert!(t < now + TimeDelta::minutes(60));
    t
}

#[tokio::test]
async fn bad_requests_are_refused_and_store_nothing() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let authority = authority_token(dir.data());
    let mut c = sched.clients(&acme).await;
    let mut admin = sched.clients(&authority).await;
    let w = hours_ahead(4);
    let full = w + TimeDelta::hours(2);

    // Setup: a booking to move, a full window, a cancelled booking, a used idempotency key.
    let create = |key: &str, n: u32, at| create_req(key, &plate(n), vec![cargo_stop("act", at)]);
    let to_move = c
        .bookings
        .create_booking(create("to-move", 1, w))
        .await
        .expect("book")
        .into_inner()
        .booking
        .expect("booking");
    for i in 0..ACT_CAPACITY {
        c.bookings
            .create_booking(create(&format!("filler-{i}"), 100 + i, full))
            .await
            .expect("fill");
    }
    let cancelled = c
        .bookings
        .create_booking(create("to-cancel", 2, w))
        .await
        .expect("book")
        .into_inner()
        .booking
        .expect("booking");
    c.bookings
        .cancel_booking(pb::CancelBookingRequest {
            booking_id: cancelled.booking_id.clone(),
            reason: String::new(),
        })
        .await
        .expect("first cancel");
    let since = hours_ahead(-2);
    let before = snapshot(&mut admin, since).await;
    assert_eq!(before.0.len(), 12);

    let booker = c.clone();
    let book = move |req: pb::CreateBookingRequest| {
        let mut c = booker.clone();
        async move { c.bookings.create_booking(req).await }
    };

    // Plates.
    let s = expect_invalid(
        book(create_req("p1", "60#12", vec![cargo_stop("act", w)])).await,
        "truck_plate",
        "plate 60#12",
    );
    assert!(s.message().starts_with("truck_plate:"));
    expect_invalid(
        book(create_req("p2", "", vec![cargo_stop("act", w)])).await,
        "truck_plate",
        "empty plate",
    );
    expect_invalid(
        book(create_req("p3", "   ", vec![cargo_stop("act", w)])).await,
        "truck_plate",
        "blank plate",
    );

    // Containers.
    let import = |containers: &[&str]| {
        vec![stop(
            "act",
            w,
            pb::TransactionType::ImportPickup,
            containers,
        )]
    };
    let s = expect_invalid(
        book(create_req("c1", &plate(4), import(&["CSQU3054384"]))).await,
        "stops[0].container_numbers[0]",
        "container with a wrong check digit",
    );
    assert!(
        s.message().contains("check digit"),
        "the message explains the check digit: {}",
        s.message()
    );
    let s = expect_code(
        book(create_req("c2", &plate(4), import(&[]))).await,
        Code::InvalidArgument,
        "import pickup without containers",
    );
    assert_invalid(
        &s,
        "stops[0].container_numbers",
        "import pickup without containers",
    );

    // Windows.
    let s1 = |at| vec![cargo_stop("act", at)];
    expect_invalid(
        book(create_req("w1", &plate(5), s1(w + TimeDelta::minutes(7)))).await,
        "stops[0].window_start",
        "misaligned window",
    );
    expect_invalid(
        book(create_req("w2", &plate(5), s1(hours_ahead(-2)))).await,
        "stops[0].window_start",
        "window in the past",
    );
    expect_invalid(
        book(create_req("w3", &plate(5), s1(hours_ahead(24 * 8)))).await,
        "stops[0].window_start",
        "beyond the horizon",
    );
    let soon = inside_cutoff(Utc::now());
    expect_code(
        book(create_req("w4", &plate(5), vec![cargo_stop("siz", soon)])).await,
        Code::FailedPrecondition,
        "window inside the booking cut-off",
    );
    let mut no_start = cargo_stop("act", w);
    no_start.window_start = None;
    expect_invalid(
        book(create_req("w5", &plate(5), vec![no_start])).await,
        "stops[0].window_start",
        "missing window_start",
    );
    let s = expect_invalid(
        book(create_req("w6", &plate(5), vec![cargo_stop("nowhere", w)])).await,
        "stops[0].zone_id",
        "unknown zone",
    );
    assert!(s.message().contains("nowhere"), "{}", s.message());
    expect_invalid(
        book(create_req("w7", &plate(5), vec![cargo_stop("", w)])).await,
        "stops[0].zone_id",
        "empty zone",
    );
    let mut untyped = cargo_stop("act", w);
    untyped.transaction_type = pb::TransactionType::Unspecified as i32;
    expect_invalid(
        book(create_req("t1", &plate(5), vec![untyped])).await,
        "stops[0].transaction_type",
        "transaction type unspecified",
    );
    let mut unknown_type = cargo_stop("act", w);
    unknown_type.transaction_type = 99;
    expect_invalid(
        book(create_req("t2", &plate(5), vec![unknown_type])).await,
        "stops[0].transaction_type",
        "unknown transaction type",
    );
    expect_invalid(
        book(create_req("s0", &plate(5), vec![])).await,
        "stops",
        "no stops",
    );
    // Second stop before the first.
    expect_invalid(
        book(create_req(
            "s1",
            &plate(5),
            vec![
                cargo_stop("act", w + TimeDelta::hours(1)),
                cargo_stop("siz", w),
            ],
        ))
        .await,
        "stops[1].window_start",
        "stops out of time order",
    );

    // Keys.
    expect_invalid(
        book(create_req("", &plate(5), s1(w))).await,
        "idempotency_key",
        "empty idempotency key",
    );
    expect_invalid(
        book(create_req(&"k".repeat(129), &plate(5), s1(w))).await,
        "idempotency_key",
        "129-character key",
    );
    let s = expect_code(
        book(create_req(
            "to-move",
            &plate(77),
            s1(w + TimeDelta::hours(1)),
        ))
        .await,
        Code::AlreadyExists,
        "same idempotency key, another request",
    );
    assert!(s.message().contains("idempotency_key"), "{}", s.message());

    // Oversize.
    let many: Vec<_> = (0..1000)
        .map(|i| cargo_stop("act", w + TimeDelta::hours(i)))
        .collect();
    expect_invalid(
        book(create_req("big1", &plate(5), many)).await,
        "stops",
        "1000 stops",
    );
    let huge = "6".repeat(1024 * 1024);
    let s = book(create_req("big2", &huge, s1(w)))
        .await
        .expect_err("a 1 MiB plate is refused");
    assert_eq!(s.code(), Code::ResourceExhausted, "{}", s.message());
    assert!(
        s.message().contains("too large") && s.message().contains("262144"),
        "the limit is named: {}",
        s.message()
    );
    expect_invalid(
        book(create_req("big3", &"6".repeat(17), s1(w))).await,
        "truck_plate",
        "17-character plate",
    );

    // Ids.
    for bad_id in [
        "not-a-booking",
        "",
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "01ARZ3NDEKTSV4RRFFQ69G5FA",
    ] {
        expect_invalid(
            c.bookings
                .get_booking(pb::GetBookingRequest {
                    booking_id: bad_id.into(),
                })
                .await,
            "booking_id",
            &format!("GetBooking {bad_id:?}"),
        );
    }
    expect_invalid(
        c.bookings
            .cancel_booking(pb::CancelBookingRequest {
                booking_id: "nope".into(),
                reason: String::new(),
            })
            .await,
        "booking_id",
        "CancelBooking with a malformed id",
    );
    expect_code(
        admin
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: random_booking_id(),
            })
            .await,
        Code::NotFound,
        "the authority asking for a booking that does not exist",
    );

    // Moves.
    let mv = |id: &str, at: Option<DateTime<Utc>>, stop_index| pb::MoveBookingRequest {
        booking_id: id.to_owned(),
        stop_index,
        new_window_start: at.map(ts),
    };
    let s = expect_code(
        c.bookings
            .move_booking(mv(&to_move.booking_id, Some(full), 0))
            .await,
        Code::ResourceExhausted,
        "move to a full window",
    );
    let (reason, alternatives) = exhausted_info(&s, "move to a full window");
    assert_eq!(reason, "WINDOW_FULL");
    assert!(!alternatives.is_empty());
    expect_invalid(
        c.bookings
            .move_booking(mv(&to_move.booking_id, None, 0))
            .await,
        "new_window_start",
        "move without a window",
    );
    expect_invalid(
        c.bookings
            .move_booking(mv(&to_move.booking_id, Some(w + TimeDelta::minutes(7)), 0))
            .await,
        "new_window_start",
        "move to a misaligned window",
    );
    expect_invalid(
        c.bookings
            .move_booking(mv(&to_move.booking_id, Some(w + TimeDelta::hours(1)), 1))
            .await,
        "stop_index",
        "move of a stop the booking does not have",
    );
    expect_code(
        c.bookings
            .move_booking(mv(&cancelled.booking_id, Some(w + TimeDelta::hours(1)), 0))
            .await,
        Code::FailedPrecondition,
        "move of a cancelled booking",
    );

    // Cancel twice.
    expect_code(
        c.bookings
            .cancel_booking(pb::CancelBookingRequest {
                booking_id: cancelled.booking_id.clone(),
                reason: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "second cancel",
    );

    // Listing and slots.
    expect_invalid(
        c.bookings
            .list_bookings(pb::ListBookingsRequest {
                page_size: 501,
                ..Default::default()
            })
            .await,
        "page_size",
        "page_size 501",
    );
    expect_invalid(
        c.bookings
            .list_bookings(pb::ListBookingsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
        "page_token",
        "malformed page token",
    );
    expect_invalid(
        c.slots
            .list_windows(pb::ListWindowsRequest {
                zone_id: "act".into(),
                from: Some(ts(w)),
                to: Some(ts(w)),
            })
            .await,
        "to",
        "empty window range",
    );
    expect_code(
        c.slots
            .list_windows(pb::ListWindowsRequest {
                zone_id: "nowhere".into(),
                from: Some(ts(w)),
                to: Some(ts(full)),
            })
            .await,
        Code::NotFound,
        "windows of an unknown zone",
    );
    expect_invalid(
        c.slots
            .find_slots(pb::FindSlotsRequest {
                zone_id: "act".into(),
                transaction_type: 0,
                preferred: Some(ts(w)),
                count: 1,
            })
            .await,
        "transaction_type",
        "FindSlots without a type",
    );
    expect_invalid(
        c.slots
            .find_slots(pb::FindSlotsRequest {
                zone_id: "act".into(),
                transaction_type: pb::TransactionType::GeneralCargo as i32,
                preferred: Some(ts(w)),
                count: 51,
            })
            .await,
        "count",
        "FindSlots count 51",
    );

    // Nothing changed.
    let after = snapshot(&mut admin, since).await;
    assert_eq!(after.0, before.0, "bookings changed");
    assert_eq!(after.1, before.1, "window use changed");
    let still = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: to_move.booking_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        time(still.stops[0].window_start.as_ref()),
        w,
        "the refused move left the booking where it was"
    );
    assert_eq!(still.revision, to_move.revision);
    assert_eq!(window(&mut admin, "act", w).await.booked, 1);
    assert_eq!(window(&mut admin, "act", full).await.booked, ACT_CAPACITY);
}

/// Sends bytes as they are, as the body of a unary call.
#[derive(Debug, Clone, Default)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// What the scheduler answers `body` sent to `path` with `token`.
async fn raw_call(addr: &str, token: &str, path: &'static str, body: Vec<u8>) -> tonic::Status {
    let channel = bawaba_grpc::client::channel(addr, None)
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let mut req = tonic::Request::new(body);
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    grpc.unary(req, http::uri::PathAndQuery::from_static(path), Raw)
        .await
        .expect_err("refused")
}

/// A body that is not a valid message, or a string field that is not UTF-8, is the client's
/// error (INVALID_ARGUMENT, naming the field when it can be known), never INTERNAL (which says
/// the scheduler failed).
#[tokio::test]
async fn undecodable_requests_are_invalid_arguments() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let company = company_token(dir.data(), "acme");
    let url = sched.url();
    let create = "/bawaba.v1.BookingService/CreateBooking";
    // Field 2 (truck_plate), length-delimited, with bytes that are not UTF-8.
    let bad_utf8 = vec![0x12, 0x02, 0xC3, 0x28];
    let s = raw_call(&url, &company, create, bad_utf8).await;
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().starts_with("truck_plate:"), "{}", s.message());
    // A wire type that does not exist.
    let garbage = vec![0x0F, 0xFF, 0xFF];
    let s = raw_call(&url, &company, create, garbage).await;
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().starts_with("request:"), "{}", s.message());
    // Nothing was stored.
    let mut c = sched.clients(&company).await;
    assert!(
        all_bookings(&mut c, pb::ListBookingsRequest::default())
            .await
            .is_empty()
    );
}
