//! The agent end to end inside one process: a real scheduler server (sled store, gRPC on
//! 127.0.0.1), a real agent, and the three devices emulated on real pseudo-terminals.
//! (Process-level tests with kills live in the workspace's `tests/` crate.)

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::sync::Arc;
use std::time::Duration;

use bawaba_codec::anpr::{AnprFormat, PlateRead};
use bawaba_codec::modbus::BarrierCommand;
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::epc::Epc;
use bawaba_domain::ids::{CompanyId, GateId, LaneId, ZoneId};
use bawaba_domain::ledger::{Actor, BookingState, Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::passage::{Reason, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_gate::agent::{AgentHandle, start};
use bawaba_gate::config::AgentConfig;
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator, ReaderEmulator, ReaderMode};
use bawaba_grpc::{Scheduler, SystemClock};
use bawaba_store::{SledStore, Store, TokenBook};
use chrono::{TimeDelta, Timelike, Utc};
use tokio::sync::{broadcast, watch};

const EPC: &str = "E2000017221101441890ABCD";

struct World {
    store: Arc<SledStore>,
    agent: AgentHandle,
    camera_in: CameraEmulator,
    reader_in: ReaderEmulator,
    barrier_in: broadcast::Receiver<(std::time::Instant, BarrierCommand)>,
    camera_out: CameraEmulator,
    barrier_out: broadcast::Receiver<(std::time::Instant, BarrierCommand)>,
    _devices: (BarrierEmulator, BarrierEmulator),
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn zone() -> ZoneId {
    ZoneId::parse("act").unwrap()
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sched = dir.path().join("scheduler");
    let store = Arc::new(SledStore::open(&sched).unwrap());
    let mut z = ZoneConfig::new(
        zone(),
        "ACT",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(10),
    );
    z.rules.booking_cutoff_minutes = 0;
    z.rules.early_grace_minutes = 120;
    z.rules.company_cap_percent = 100;
    z.rules.require_containers = false;
    store.upsert_zone(z).await.unwrap();
    let lane = |id: &str, direction| Lane {
        id: LaneId::parse(id).unwrap(),
        direction,
    };
    let gate = Gate {
        id: GateId::parse("act-north").unwrap(),
        zone: zone(),
        name: "ACT North".into(),
        lanes: vec![lane("in-1", Direction::In), lane("out-1", Direction::Out)],
    };
    store.upsert_gate(gate).await.unwrap();
    let tokens = Arc::new(TokenBook::new(&sched));
    let gate_token = tokens
        .issue(
            &Principal::new(Role::Gate, None, Some(zone())).unwrap(),
            None,
            Utc::now(),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let server = Scheduler {
        store: Arc::clone(&store),
        tokens,
        clock: Arc::new(SystemClock),
        tls: None,
    };
    let mut until = stopped.clone();
    tokio::spawn(server.serve(listener, async move {
        let _ = until.changed().await;
    }));

    let dev = |name: &str| dir.path().join(name);
    let camera_in = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx).unwrap();
    let reader_in = ReaderEmulator::spawn(dev("rfid-in"), ReaderMode::Answer, 0).unwrap();
    let barrier_in = BarrierEmulator::spawn(dev("relay-in"), 1).unwrap();
    let camera_out = CameraEmulator::spawn(dev("cam-out"), AnprFormat::StxEtx).unwrap();
    let barrier_out = BarrierEmulator::spawn(dev("relay-out"), 1).unwrap();
    let config = format!(
        r#"
gate_id = "act-north"
zone_id = "act"
data_dir = "{data}"
[scheduler]
addr = "http://{addr}"
token = "{gate_token}"
[decisions]
fusion_window_ms = 500
hold_off_ms = 3000
[[lanes]]
id = "in-1"
direction = "in"
camera = {{ path = "{cam_in}" }}
reader = {{ path = "{rfid_in}", mode = "answer", poll_ms = 20 }}
barrier = {{ path = "{relay_in}" }}
[[lanes]]
id = "out-1"
direction = "out"
camera = {{ path = "{cam_out}" }}
barrier = {{ path = "{relay_out}", relay = 1 }}
"#,
        data = dev("agent").display(),
        cam_in = dev("cam-in").display(),
        rfid_in = dev("rfid-in").display(),
        relay_in = dev("relay-in").display(),
        cam_out = dev("cam-out").display(),
        relay_out = dev("relay-out").display(),
    );
    let agent = start(
        AgentConfig::parse(&config).unwrap(),
        bawaba_gate::system_clock(),
        stopped,
    )
    .unwrap();
    World {
        store,
        agent,
        camera_in,
        reader_in,
        barrier_in: barrier_in.subscribe(),
        camera_out,
        barrier_out: barrier_out.subscribe(),
        _devices: (barrier_in, barrier_out),
        _stop: stop,
        _dir: dir,
    }
}

async fn book(store: &SledStore, plate: &str, epc: Option<&str>) -> bawaba_domain::ids::BookingId {
    let now = Utc::now();
    let next_hour = now
        .with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
        + TimeDelta::hours(1);
    let req = NewBooking {
        company: CompanyId::parse("acme").unwrap(),
        idempotency_key: format!("k-{plate}"),
        plate: Plate::parse(plate).unwrap(),
        epc: epc.map(|e| Epc::parse_hex(e).unwrap()),
        stops: vec![Stop::new(
            zone(),
            next_hour,
            TransactionType::GeneralCargo,
            vec![],
        )],
    };
    store.create_booking(req, now).await.unwrap().booking.id
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn plate(p: &str) -> PlateRead {
    PlateRead {
        camera_time: Some(Utc::now().naive_utc()),
        lane: Some(1),
        plate: Some(p.into()),
        confidence: None,
        country: None,
    }
}

async fn pulses_within(
    rx: &mut broadcast::Receiver<(std::time::Instant, BarrierCommand)>,
    wait: Duration,
) -> Option<BarrierCommand> {
    tokio::time::timeout(wait, rx.recv())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|(_, c)| c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_truck_enters_and_leaves_unbooked_truck_is_denied() {
    let mut w = world().await;
    let booked = book(&w.store, "60-12345", Some(EPC)).await;
    let zone = zone();
    eventually("the agent to sync", async || {
        w.agent.replica_state(&zone).1 == 1
    })
    .await;

    // A booked truck: plate and tag → one pulse on the IN barrier, the booking ENTERED.
    w.reader_in
        .set_tags(vec![Epc::parse_hex(EPC).unwrap().as_bytes().to_vec()]);
    for _ in 0..5 {
        w.camera_in.send(&plate("60-12345")).await.unwrap();
    }
    let cmd = pulses_within(&mut w.barrier_in, Duration::from_secs(3))
        .await
        .expect("the IN barrier opens");
    assert!(
        matches!(
            cmd,
            BarrierCommand::FlashOn {
                relay: 0,
                duration_100ms: 5,
                ..
            }
        ),
        "{cmd:?}"
    );
    let store = Arc::clone(&w.store);
    eventually("ENTERED at the scheduler", async || {
        store
            .get_booking(Actor::Authority, booked)
            .await
            .unwrap()
            .state
            == BookingState::Entered
    })
    .await;
    assert!(
        pulses_within(&mut w.barrier_in, Duration::from_millis(800))
            .await
            .is_none(),
        "repeats make one passage"
    );
    w.reader_in.set_tags(vec![]);

    // An unbooked truck: no pulse, a DENY recorded at the scheduler.
    w.camera_in.send(&plate("71-99999")).await.unwrap();
    assert!(
        pulses_within(&mut w.barrier_in, Duration::from_millis(1500))
            .await
            .is_none(),
        "no booking, no pulse"
    );
    eventually("the DENY at the scheduler", async || {
        store
            .passages(None, None, 100)
            .await
            .unwrap()
            .iter()
            .any(|p| {
                p.verdict == Verdict::Deny
                    && p.reasons.contains(&Reason::NoBooking)
                    && p.plate.as_ref().is_some_and(|x| x.as_str() == "7199999")
            })
    })
    .await;

    // Out: the booked truck leaves; the visit is EXITED.
    w.camera_out.send(&plate("6012345")).await.unwrap();
    let cmd = pulses_within(&mut w.barrier_out, Duration::from_secs(3))
        .await
        .expect("the OUT barrier opens");
    assert!(
        matches!(cmd, BarrierCommand::FlashOn { relay: 1, .. }),
        "{cmd:?}"
    );
    eventually("EXITED at the scheduler", async || {
        store
            .get_booking(Actor::Authority, booked)
            .await
            .unwrap()
            .state
            == BookingState::Exited
    })
    .await;
    eventually("an empty outbox", async || w.agent.outbox_len() == 0).await;
    let passages = store.passages(None, None, 100).await.unwrap();
    assert_eq!(
        passages
            .iter()
            .filter(|p| p.verdict == Verdict::Allow)
            .count(),
        2,
        "{passages:#?}"
    );
}
