//! Several scheduler replicas on one PostgreSQL database (`bawaba scheduler --store URL`), as
//! real processes: racing clients never oversell; when a replica is killed under load its
//! clients fail over to the other without losing or doubling anything acknowledged; and a
//! gate agent configured with both addresses moves to the survivor, missing and doubling no
//! booking change and no passage.
//! Needs the PostgreSQL at 127.0.0.1:5432 (or `BAWABA_TEST_PG`); each test makes its own
//! database.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba_codec::anpr::AnprFormat;
use bawaba_codec::modbus::BarrierCommand;
use bawaba_e2e::{
    GATE_TEST_CONFIG, Process, Scheduler, TEST_CONFIG, TestDir, authority_token, clients,
    company_token, hours_ahead, token, ts,
};
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator};
use bawaba_gate::testbed::{Bed, plate_read};
use bawaba_grpc::client::Clients;
use bawaba_grpc::pb;
use bawaba_store::AgentStore;
use bawaba_store_pg::scratch::ScratchDatabase;
use tokio::sync::broadcast;
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
fn replicas(db: &ScratchDatabase, dir: &TestDir) -> (Scheduler, Scheduler) {
    let a = Scheduler::start(dir.data(), Some(TEST_CONFIG), &["--store", &db.url]);
    let b = Scheduler::start(dir.data(), Some(TEST_CONFIG), &["--store", &db.url]);
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_clients_on_two_replicas_never_oversell() {
    let db = ScratchDatabase::create().await.unwrap();
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
    let db = ScratchDatabase::create().await.unwrap();
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

// ---- a gate agent following two replicas ----------------------------------------------------

/// A lane's emulated camera and barrier, with the barrier's commands.
struct Lane {
    camera: CameraEmulator,
    _barrier: BarrierEmulator,
    pulses: broadcast::Receiver<(Instant, BarrierCommand)>,
}

impl Lane {
    /// Sends a plate read and says whether the barrier got a pulse within `wait`.
    async fn drive(&mut self, plate: &str, wait: Duration) -> bool {
        while self.pulses.try_recv().is_ok() {}
        self.camera.send(&plate_read(plate)).await.unwrap();
        tokio::time::timeout(wait, self.pulses.recv())
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

async fn book(via: &Scheduler, company: &str, plate: &str) -> String {
    let req = bawaba_e2e::act_booking(plate, Bed::next_window());
    via.clients(company)
        .await
        .bookings
        .create_booking(req)
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap()
        .booking_id
}

async fn passages(via: &Scheduler, operator: &str) -> Vec<pb::Passage> {
    let mut c = pb::operator_service_client::OperatorServiceClient::with_interceptor(
        bawaba_grpc::client::channel(&via.url(), None)
            .await
            .unwrap(),
        bawaba_grpc::client::BearerToken::new(Some(operator)).unwrap(),
    );
    let req = pb::ListPassagesRequest {
        page_size: 1000,
        ..Default::default()
    };
    c.list_passages(req).await.unwrap().into_inner().passages
}

/// Lines of a process's log that contain `what`.
fn log_lines(p: &Process, what: &str) -> Vec<String> {
    p.logs()
        .lines()
        .filter(|l| l.contains(what))
        .map(str::to_owned)
        .collect()
}

/// The `after_seq=N` of a "connected to the scheduler" log line.
fn after_seq(line: &str) -> u64 {
    let rest = &line[line.find("after_seq=").expect("after_seq in the line") + 10..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number after after_seq=")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_agent_fails_over_to_the_other_replica_and_misses_or_doubles_nothing() {
    let db = ScratchDatabase::create().await.unwrap();
    let dir = TestDir::new();
    let mut a = Scheduler::start(dir.data(), Some(GATE_TEST_CONFIG), &["--store", &db.url]);
    let b = Scheduler::start(dir.data(), Some(GATE_TEST_CONFIG), &["--store", &db.url]);
    let company = company_token(dir.data(), "acme");
    let operator = token(dir.data(), "operator", None, Some("act"));
    let gate_token = token(dir.data(), "gate", None, Some("act"));

    let dev = |n: &str| dir.path().join(n);
    let ptys = bawaba_e2e::spawn_lock();
    let camera_in = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx).unwrap();
    let barrier_in = BarrierEmulator::spawn(dev("relay-in"), 1).unwrap();
    let camera_out = CameraEmulator::spawn(dev("cam-out"), AnprFormat::StxEtx).unwrap();
    let barrier_out = BarrierEmulator::spawn(dev("relay-out"), 1).unwrap();
    drop(ptys);
    let (pulses_in, pulses_out) = (barrier_in.subscribe(), barrier_out.subscribe());
    let mut lane_in = Lane {
        camera: camera_in,
        _barrier: barrier_in,
        pulses: pulses_in,
    };
    let mut lane_out = Lane {
        camera: camera_out,
        _barrier: barrier_out,
        pulses: pulses_out,
    };
    let agent_dir = dev("agent");
    let config = format!(
        "gate_id = \"act-north\"\nzone_id = \"act\"\ndata_dir = \"{data}\"\n\
         [scheduler]\naddrs = [\"{a}\", \"{b}\"]\ntoken = \"{gate_token}\"\n\
         [decisions]\nfusion_window_ms = 300\nhold_off_ms = 2000\n\
         [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{ci}\" }}\nbarrier = {{ path = \"{bi}\" }}\n\
         [[lanes]]\nid = \"out-1\"\ndirection = \"out\"\ncamera = {{ path = \"{co}\" }}\nbarrier = {{ path = \"{bo}\", relay = 1 }}\n",
        data = agent_dir.display(),
        a = a.url(),
        b = b.url(),
        ci = dev("cam-in").display(),
        bi = dev("relay-in").display(),
        co = dev("cam-out").display(),
        bo = dev("relay-out").display(),
    );
    std::fs::write(dev("gate.toml"), config).unwrap();
    let mut agent = Process::start(
        &["gate", "--config", dev("gate.toml").to_str().unwrap()],
        "connected to the scheduler",
    );
    let wait = Duration::from_secs(3);

    // Before: bookings through both replicas; the agent follows A (the first address).
    let t1 = book(&a, &company, "6010001").await;
    let t2 = book(&b, &company, "6010002").await;
    let t3 = book(&a, &company, "6010003").await;
    let t4 = book(&b, &company, "6010004").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(lane_in.drive("6010001", wait).await, "T1 in");
    assert!(lane_in.drive("6010002", wait).await, "T2 in");
    assert!(lane_out.drive("6010001", wait).await, "T1 out");
    let mut decided = 3;

    // SIGKILL the replica the agent is on.
    a.kill();
    // More bookings, through the survivor: one booked and cancelled (the gate must see the
    // cancellation), two that can only reach the agent through B.
    let t5 = book(&b, &company, "6010005").await;
    let t6 = book(&b, &company, "6010006").await;
    let t7 = book(&b, &company, "6010007").await;
    b.clients(&company)
        .await
        .bookings
        .cancel_booking(pb::CancelBookingRequest {
            booking_id: t7.clone(),
            reason: "plans changed".into(),
        })
        .await
        .unwrap();
    // The agent moves to B and resumes from its cursor there (no snapshot from zero).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let moved = log_lines(&agent, "scheduler link moved to another replica");
        let connected = log_lines(&agent, "connected to the scheduler");
        if !moved.is_empty() && connected.len() >= 2 {
            assert!(
                moved[0].contains(&b.addr().to_string()),
                "moved to B: {moved:?}"
            );
            assert!(
                after_seq(&connected[1]) > 0,
                "on B the agent resumes after its cursor: {connected:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent never moved to replica B; its log:\n{}",
            agent.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (plate, what) in [
        ("6010003", "T3 (booked through A before the kill) in"),
        ("6010004", "T4 (booked through B before the kill) in"),
        ("6010005", "T5 (booked through B after the kill) in"),
        ("6010006", "T6 (booked through B after the kill) in"),
    ] {
        assert!(lane_in.drive(plate, wait).await, "{what}");
    }
    assert!(lane_out.drive("6010002", wait).await, "T2 out");
    assert!(
        !lane_in.drive("6010007", Duration::from_secs(1)).await,
        "T7's cancellation reached the agent: kept out"
    );
    assert!(
        !lane_in.drive("6019999", Duration::from_secs(1)).await,
        "an unbooked truck is kept out"
    );
    decided += 7;

    // Every passage reported once: through B's API and in the database.
    let deadline = Instant::now() + Duration::from_secs(30);
    let reported = loop {
        let p = passages(&b, &operator).await;
        assert!(p.len() <= decided, "more passages than decisions: {p:#?}");
        if p.len() == decided {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "B never got {decided} passages (has {}); agent log:\n{}",
            p.len(),
            agent.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ids: BTreeSet<_> = reported.iter().map(|p| p.event_id.clone()).collect();
    assert_eq!(ids.len(), decided);
    let states = [
        (&t1, pb::BookingState::Exited),
        (&t2, pb::BookingState::Exited),
        (&t3, pb::BookingState::Entered),
        (&t4, pb::BookingState::Entered),
        (&t5, pb::BookingState::Entered),
        (&t6, pb::BookingState::Entered),
        (&t7, pb::BookingState::Cancelled),
    ];
    let mut c = b.clients(&company).await;
    for (id, want) in states {
        let got = c
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .state;
        assert_eq!(
            pb::BookingState::try_from(got).unwrap(),
            want,
            "booking {id}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        passages(&b, &operator).await.len(),
        decided,
        "nothing doubled later"
    );

    // The agent's replica against the database: same cursor, same bookings at the same
    // revisions, and an empty outbox.
    agent.stop().await;
    let pg = Pg::connect(&db.url).await;
    let passages_in_db: i64 = pg.one("SELECT count(*) FROM passages").await;
    assert_eq!(passages_in_db, decided as i64);
    let head: i64 = pg.one("SELECT seq FROM zones WHERE id = 'act'").await;
    let in_db: BTreeMap<Vec<u8>, i64> = pg
        .client
        .query("SELECT id, revision FROM bookings", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let state = AgentStore::open(&agent_dir).unwrap().load().unwrap();
    let zone = state.seqs.iter().find(|(z, _)| z.as_str() == "act");
    assert_eq!(
        zone.map(|(_, s)| *s),
        Some(head as u64),
        "the agent's cursor is the zone's change-log head"
    );
    let in_agent: BTreeMap<Vec<u8>, i64> = state
        .bookings
        .iter()
        .map(|b| (b.id.to_bytes().to_vec(), b.revision as i64))
        .collect();
    assert_eq!(in_agent.len(), 7);
    assert_eq!(
        in_agent, in_db,
        "the agent's replica holds every booking at its last revision"
    );
    assert!(
        state.outbox.is_empty(),
        "everything delivered: {:?}",
        state.outbox
    );
}

/// A plain connection to the test database.
struct Pg {
    client: tokio_postgres::Client,
    _driver: tokio::task::JoinHandle<()>,
}

impl Pg {
    async fn connect(url: &str) -> Pg {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Pg {
            client,
            _driver: driver,
        }
    }

    async fn one(&self, sql: &str) -> i64 {
        self.client.query_one(sql, &[]).await.unwrap().get(0)
    }
}
