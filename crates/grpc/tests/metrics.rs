//! The scheduler's metrics move for the right events: a real server (sled store, gRPC on
//! 127.0.0.1) with a shared [`Metrics`], driven by real clients.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::sync::Arc;

use bawaba_app::metrics::{CONTENT_TYPE, Metrics};
use bawaba_app::{App, SystemClock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{Direction, Gate, Lane};
use bawaba_domain::passage::{Passage, Reason, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_grpc::client::{BearerToken, Clients};
use bawaba_grpc::{Scheduler, pb, timestamp};
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use tokio::sync::watch;
use tonic::Code;

/// The value of the sample `name{labels...}` (labels given must all match; others may
/// follow), or None when there is no such sample.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        if metric != name {
            return None;
        }
        let rest = rest.strip_suffix('}')?;
        let all = labels
            .iter()
            .all(|(k, v)| rest.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

fn zone() -> ZoneId {
    ZoneId::parse("act").unwrap()
}

/// The next whole hour: bookable now.
fn next_window() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap()
        + TimeDelta::hours(1)
}

struct Server {
    addr: String,
    company: String,
    gate: String,
    operator: String,
    store: Arc<SledStore>,
    metrics: Arc<Metrics>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

/// A scheduler with one zone of 2 trucks per window and one gate.
async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let mut z = ZoneConfig::new(
        zone(),
        "Test terminal",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(2),
    );
    z.rules.booking_cutoff_minutes = 0;
    z.rules.company_cap_percent = 100;
    z.rules.require_containers = false;
    store.upsert_zone(z).await.unwrap();
    store
        .upsert_gate(Gate {
            id: GateId::parse("act-north").unwrap(),
            zone: zone(),
            name: "North gate".into(),
            lanes: vec![
                Lane {
                    id: LaneId::parse("in-1").unwrap(),
                    direction: Direction::In,
                },
                Lane {
                    id: LaneId::parse("out-1").unwrap(),
                    direction: Direction::Out,
                },
            ],
            name_ar: String::new(),
        })
        .await
        .unwrap();
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let company = tokens
        .issue(
            &Principal::new(
                Role::Company,
                Some(bawaba_domain::ids::CompanyId::parse("acme").unwrap()),
                None,
            )
            .unwrap(),
            Some("acme"),
            Utc::now(),
        )
        .unwrap();
    let gate = tokens
        .issue(
            &Principal::new(Role::Gate, None, Some(zone())).unwrap(),
            Some("gate"),
            Utc::now(),
        )
        .unwrap();
    let operator = tokens
        .issue(
            &Principal::new(Role::Operator, None, Some(zone())).unwrap(),
            Some("operator"),
            Utc::now(),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(Arc::clone(&store), tokens, Arc::new(SystemClock));
    let metrics = Arc::clone(app.metrics());
    let (stop, mut stopped) = watch::channel(false);
    let server = Scheduler { app, tls: None };
    tokio::spawn(server.serve(listener, async move {
        let _ = stopped.changed().await;
    }));
    Server {
        addr,
        company,
        gate,
        operator,
        store,
        metrics,
        _stop: stop,
        _dir: dir,
    }
}

fn booking(key: &str, plate: &str) -> pb::CreateBookingRequest {
    pb::CreateBookingRequest {
        idempotency_key: key.into(),
        truck_plate: plate.into(),
        stops: vec![pb::StopRequest {
            zone_id: "act".into(),
            window_start: Some(timestamp(next_window())),
            transaction_type: pb::TransactionType::GeneralCargo as i32,
            container_numbers: vec![],
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_are_counted_by_outcome_and_refusal_reason() {
    let s = start().await;
    let mut c = Clients::connect(&s.addr, Some(&s.company), None)
        .await
        .unwrap();
    c.bookings
        .create_booking(booking("k1", "60-11111"))
        .await
        .unwrap();
    let replay = c
        .bookings
        .create_booking(booking("k1", "60-11111"))
        .await
        .unwrap();
    assert!(replay.get_ref().replayed);
    c.bookings
        .create_booking(booking("k2", "60-22222"))
        .await
        .unwrap();
    // The window holds 2: the third truck is refused with WINDOW_FULL.
    let full = c
        .bookings
        .create_booking(booking("k3", "60-33333"))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted);
    let bad = c
        .bookings
        .create_booking(booking("k4", "not a plate!"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    let text = s.metrics.encode();
    let bookings = |outcome: &str, reason: &str| {
        sample(
            &text,
            "bawaba_bookings_total",
            &[
                ("operation", "create"),
                ("outcome", outcome),
                ("reason", reason),
            ],
        )
    };
    assert_eq!(bookings("created", "none"), Some(2.0), "{text}");
    assert_eq!(bookings("replayed", "none"), Some(1.0), "{text}");
    assert_eq!(bookings("refused", "WINDOW_FULL"), Some(1.0), "{text}");
    assert_eq!(bookings("refused", "INVALID_ARGUMENT"), Some(1.0), "{text}");
    assert_eq!(bookings("refused", "COMPANY_CAP"), None, "{text}");

    // The request layer saw the same calls, by code, and timed them.
    let calls = |code: &str| {
        sample(
            &text,
            "bawaba_grpc_requests_total",
            &[
                ("service", "bawaba.v1.BookingService"),
                ("method", "CreateBooking"),
                ("code", code),
            ],
        )
    };
    assert_eq!(calls("OK"), Some(3.0), "{text}");
    assert_eq!(calls("RESOURCE_EXHAUSTED"), Some(1.0), "{text}");
    assert_eq!(calls("INVALID_ARGUMENT"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "bawaba_grpc_request_duration_seconds_count",
            &[("method", "CreateBooking")]
        ),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "bawaba_grpc_in_flight",
            &[("method", "CreateBooking")]
        ),
        Some(0.0),
        "{text}"
    );
    assert!(CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
    assert!(
        text.contains("# TYPE bawaba_bookings_total counter\n"),
        "text format 0.0.4: {text}"
    );
    let om = s.metrics.encode_openmetrics();
    assert!(om.ends_with("# EOF\n"), "OpenMetrics text: {om}");
    assert!(om.contains("# TYPE bawaba_bookings counter\n"), "{om}");

    // The store gauges: the next window is full.
    s.metrics
        .refresh(s.store.as_ref(), Utc::now())
        .await
        .unwrap();
    let text = s.metrics.encode();
    let next = [("zone", "act"), ("window", "next")];
    assert_eq!(sample(&text, "bawaba_window_booked", &next), Some(2.0));
    assert_eq!(sample(&text, "bawaba_window_capacity", &next), Some(2.0));
    assert_eq!(sample(&text, "bawaba_window_fill_ratio", &next), Some(1.0));
    assert_eq!(
        sample(&text, "bawaba_referrals_open", &[("zone", "act")]),
        Some(0.0)
    );
}

fn passage(id: PassageId, verdict: Verdict, reasons: Vec<Reason>) -> pb::Passage {
    let now = Utc::now();
    bawaba_grpc::convert::pb_passage(&Passage {
        id,
        zone: zone(),
        gate: GateId::parse("act-north").unwrap(),
        lane: LaneId::parse("in-1").unwrap(),
        direction: Direction::In,
        first_read_at: now,
        last_read_at: now,
        decided_at: now,
        plate: Some(Plate::parse("60-77777").unwrap()),
        confidence: Some(60),
        epc: None,
        verdict,
        reasons,
        booking: None,
        offline: false,
    })
}

/// Passage `n` of the truck of booking `b` (plate 60-44444) at the north gate.
fn truck_passage(
    b: &pb::Booking,
    n: u128,
    direction: Direction,
    t: DateTime<Utc>,
    verdict: Verdict,
) -> pb::Passage {
    let reasons = match (verdict, direction) {
        (Verdict::Refer, _) => vec![Reason::LowConfidence],
        (_, Direction::In) => vec![Reason::BookingValid],
        (_, Direction::Out) => vec![Reason::ExitRecorded],
    };
    bawaba_grpc::convert::pb_passage(&Passage {
        id: PassageId::new(t, n),
        zone: zone(),
        gate: GateId::parse("act-north").unwrap(),
        lane: LaneId::parse(match direction {
            Direction::In => "in-1",
            Direction::Out => "out-1",
        })
        .unwrap(),
        direction,
        first_read_at: t,
        last_read_at: t,
        decided_at: t,
        plate: Some(Plate::parse("60-44444").unwrap()),
        confidence: Some(95),
        epc: None,
        verdict,
        reasons,
        booking: Some(b.booking_id.parse().unwrap()),
        offline: false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truck_s_turn_time_is_observed_once_when_it_exits() {
    let s = start().await;
    let mut c = Clients::connect(&s.addr, Some(&s.company), None)
        .await
        .unwrap();
    let b = c
        .bookings
        .create_booking(booking("turn", "60-44444"))
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap();
    let channel = bawaba_grpc::client::channel(&s.addr, None).await.unwrap();
    let mut gate = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel,
        BearerToken::new(Some(&s.gate)).unwrap(),
    );
    let entered = next_window() - TimeDelta::minutes(10);
    let left = entered + TimeDelta::minutes(45);
    let at = |id: u128, direction: Direction, t: DateTime<Utc>| {
        truck_passage(&b, id, direction, t, Verdict::Allow)
    };
    let report = |passages: Vec<pb::Passage>| pb::ReportPassagesRequest {
        passages,
        ..Default::default()
    };
    gate.report_passages(report(vec![at(1, Direction::In, entered)]))
        .await
        .unwrap();
    let turn = |text: &str, name: &str| sample(text, name, &[("zone", "act")]);
    assert_eq!(
        turn(&s.metrics.encode(), "bawaba_turn_time_seconds_count").unwrap_or(0.0),
        0.0,
        "no turn time before the exit"
    );
    // The exit, reported twice (an acknowledgement lost): one turn time of 45 minutes.
    for _ in 0..2 {
        gate.report_passages(report(vec![at(2, Direction::Out, left)]))
            .await
            .unwrap();
    }
    let text = s.metrics.encode();
    assert_eq!(
        turn(&text, "bawaba_turn_time_seconds_count"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        turn(&text, "bawaba_turn_time_seconds_sum"),
        Some(2700.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "bawaba_turn_time_seconds_bucket",
            &[("zone", "act"), ("le", "1800.0")]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "bawaba_turn_time_seconds_bucket",
            &[("zone", "act"), ("le", "2700.0")]
        ),
        Some(1.0),
        "{text}"
    );
}

/// A truck referred on its way out leaves when an operator approves: that is its exit, and
/// its turn time runs to it. A rejected exit referral and an approved entry observe none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_an_operator_approves_gives_the_turn_time() {
    let s = start().await;
    let mut c = Clients::connect(&s.addr, Some(&s.company), None)
        .await
        .unwrap();
    let mut book = async |key: &str, plate: &str| {
        c.bookings
            .create_booking(booking(key, plate))
            .await
            .unwrap()
            .into_inner()
            .booking
            .unwrap()
    };
    let b = book("approved-exit", "60-44444").await;
    let other = book("rejected-exit", "60-55555").await;
    let channel = bawaba_grpc::client::channel(&s.addr, None).await.unwrap();
    let mut gate = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel.clone(),
        BearerToken::new(Some(&s.gate)).unwrap(),
    );
    let mut operator = pb::operator_service_client::OperatorServiceClient::with_interceptor(
        channel,
        BearerToken::new(Some(&s.operator)).unwrap(),
    );
    let entered = Utc::now() - TimeDelta::minutes(30);
    let left = entered + TimeDelta::minutes(25);
    let passages = vec![
        truck_passage(&b, 1, Direction::In, entered, Verdict::Allow),
        truck_passage(&b, 2, Direction::Out, left, Verdict::Refer),
        truck_passage(&other, 3, Direction::In, entered, Verdict::Refer),
        truck_passage(&other, 4, Direction::Out, left, Verdict::Refer),
    ];
    let ids: Vec<String> = passages.iter().map(|p| p.event_id.clone()).collect();
    gate.report_passages(pb::ReportPassagesRequest {
        passages,
        ..Default::default()
    })
    .await
    .unwrap();
    let resolve = |i: usize, approve: bool| pb::ResolveReferralRequest {
        event_id: ids[i].clone(),
        approve,
        reason: "checked at the booth".into(),
        ..Default::default()
    };
    // The other truck: its entry approved, its exit rejected (it stays inside).
    operator.resolve_referral(resolve(2, true)).await.unwrap();
    operator.resolve_referral(resolve(3, false)).await.unwrap();
    let count = |text: &str| {
        sample(text, "bawaba_turn_time_seconds_count", &[("zone", "act")]).unwrap_or(0.0)
    };
    let text = s.metrics.encode();
    assert_eq!(count(&text), 0.0, "{text}");

    let before = Utc::now();
    let resolved = operator.resolve_referral(resolve(1, true)).await.unwrap();
    assert_eq!(resolved.get_ref().state, pb::ReferralState::Approved as i32);
    let after = Utc::now();
    let stored = s
        .store
        .get_booking(
            bawaba_domain::ledger::Actor::Authority,
            b.booking_id.parse().unwrap(),
        )
        .await
        .unwrap();
    let (entered, exited) = (
        stored.stops[0].entered_at.unwrap(),
        stored.stops[0].exited_at.unwrap(),
    );
    assert!(before <= exited && exited <= after, "exit at the approval");
    let text = s.metrics.encode();
    assert_eq!(count(&text), 1.0, "{text}");
    let sum = sample(&text, "bawaba_turn_time_seconds_sum", &[("zone", "act")]).unwrap();
    assert_eq!(sum, (exited - entered).as_seconds_f64(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passage_is_counted_once_and_a_replay_is_not() {
    let s = start().await;
    let channel = bawaba_grpc::client::channel(&s.addr, None).await.unwrap();
    let mut gate = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel,
        BearerToken::new(Some(&s.gate)).unwrap(),
    );
    let now = Utc::now();
    let refer = PassageId::new(now, 1);
    let deny = PassageId::new(now, 2);
    let report = |passages: Vec<pb::Passage>| pb::ReportPassagesRequest {
        passages,
        ..Default::default()
    };
    gate.report_passages(report(vec![passage(
        refer,
        Verdict::Refer,
        vec![Reason::NoBooking, Reason::LowConfidence],
    )]))
    .await
    .unwrap();
    // The same event again (an acknowledgement lost), with a new one.
    let acked = gate
        .report_passages(report(vec![
            passage(
                refer,
                Verdict::Refer,
                vec![Reason::NoBooking, Reason::LowConfidence],
            ),
            passage(deny, Verdict::Deny, vec![Reason::NoBooking]),
        ]))
        .await
        .unwrap();
    assert_eq!(acked.get_ref().acknowledged_event_ids.len(), 2);

    let text = s.metrics.encode();
    let passages = |decision: &str| {
        sample(
            &text,
            "bawaba_passages_total",
            &[
                ("zone", "act"),
                ("gate", "act-north"),
                ("direction", "in"),
                ("decision", decision),
            ],
        )
    };
    assert_eq!(passages("REFER"), Some(1.0), "{text}");
    assert_eq!(passages("DENY"), Some(1.0), "{text}");
    assert_eq!(passages("ALLOW"), None, "{text}");
    let reason = |decision: &str, reason: &str| {
        sample(
            &text,
            "bawaba_passage_reasons_total",
            &[("decision", decision), ("reason", reason)],
        )
    };
    assert_eq!(reason("REFER", "NO_BOOKING"), Some(1.0), "{text}");
    assert_eq!(reason("REFER", "LOW_CONFIDENCE"), Some(1.0), "{text}");
    assert_eq!(reason("DENY", "NO_BOOKING"), Some(1.0), "{text}");

    // The REFER opened a referral.
    s.metrics
        .refresh(s.store.as_ref(), Utc::now())
        .await
        .unwrap();
    let text = s.metrics.encode();
    assert_eq!(
        sample(&text, "bawaba_referrals_open", &[("zone", "act")]),
        Some(1.0),
        "{text}"
    );

    // A SyncBookings stream is open while an agent follows the zone, and counted once closed.
    let mut sync = gate
        .sync_bookings(pb::SyncBookingsRequest {
            zone_id: "act".into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    sync.message().await.unwrap().unwrap();
    let text = s.metrics.encode();
    assert_eq!(
        sample(&text, "bawaba_sync_streams_connected", &[]),
        Some(1.0),
        "{text}"
    );
    drop(sync);
    // The server sees the stream go when its connection task notices; one scrape may also
    // fall between the call being counted and the gauge going down, so wait for both.
    let closed = |text: &str| {
        (
            sample(text, "bawaba_sync_streams_connected", &[]),
            sample(
                text,
                "bawaba_grpc_requests_total",
                &[("method", "SyncBookings"), ("code", "CANCELLED")],
            ),
        )
    };
    let mut seen = closed(&s.metrics.encode());
    for _ in 0..250 {
        if seen == (Some(0.0), Some(1.0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        seen = closed(&s.metrics.encode());
    }
    assert_eq!(seen, (Some(0.0), Some(1.0)), "{}", s.metrics.encode());
}
