//! The gate agent as a real process (`bawaba gate --config`), against a real scheduler
//! process, with its camera, reader and barrier emulated on real pseudo-terminals: faults
//! included (the scheduler killed mid-run, the agent SIGKILLed, a device unplugged).

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::time::{Duration, Instant};

use bawaba_codec::anpr::AnprFormat;
use bawaba_codec::modbus::BarrierCommand;
use bawaba_e2e::{GATE_TEST_CONFIG, Process, Scheduler, TestDir, free_addr, token};
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator};
use bawaba_gate::testbed::{Bed, plate_read};
use bawaba_grpc::client::Clients;
use bawaba_grpc::pb;
use tokio::sync::broadcast;

struct Gate {
    dir: TestDir,
    addr: std::net::SocketAddr,
    scheduler: Scheduler,
    company: String,
    operator: String,
    gate_token: String,
    agent: Option<Process>,
    /// The scheduler's web door (`/api/cap`).
    http: std::net::SocketAddr,
    camera_in: CameraEmulator,
    _barrier_in: BarrierEmulator,
    pulses_in: broadcast::Receiver<(Instant, BarrierCommand)>,
    _camera_out: CameraEmulator,
    _barrier_out: BarrierEmulator,
}

impl Gate {
    async fn start() -> Gate {
        let dir = TestDir::new();
        let addr = free_addr();
        let http = free_addr();
        let http_arg = http.to_string();
        let scheduler = Scheduler::start_at(
            dir.data(),
            addr,
            Some(GATE_TEST_CONFIG),
            &["--http", &http_arg],
        );
        let company = token(dir.data(), "company", Some("acme"), None);
        let operator = token(dir.data(), "operator", None, Some("act"));
        let gate_token = token(dir.data(), "gate", None, Some("act"));
        let dev = |n: &str| dir.path().join(n);
        let ptys = bawaba_e2e::spawn_lock();
        let camera_in = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx).unwrap();
        let barrier_in = BarrierEmulator::spawn(dev("relay-in"), 1).unwrap();
        let camera_out = CameraEmulator::spawn(dev("cam-out"), AnprFormat::StxEtx).unwrap();
        let barrier_out = BarrierEmulator::spawn(dev("relay-out"), 1).unwrap();
        drop(ptys);
        let config = format!(
            "gate_id = \"act-north\"\nzone_id = \"act\"\ndata_dir = \"{data}\"\n\
             [scheduler]\naddr = \"http://{addr}\"\ntoken = \"{gate_token}\"\n\
             [decisions]\nfusion_window_ms = 300\nhold_off_ms = 2000\n\
             [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{ci}\" }}\nbarrier = {{ path = \"{bi}\" }}\n\
             [[lanes]]\nid = \"out-1\"\ndirection = \"out\"\ncamera = {{ path = \"{co}\" }}\nbarrier = {{ path = \"{bo}\", relay = 1 }}\n",
            data = dev("agent").display(),
            ci = dev("cam-in").display(),
            bi = dev("relay-in").display(),
            co = dev("cam-out").display(),
            bo = dev("relay-out").display(),
        );
        std::fs::write(dev("gate.toml"), config).unwrap();
        let pulses_in = barrier_in.subscribe();
        let mut g = Gate {
            dir,
            addr,
            http,
            scheduler,
            company,
            operator,
            gate_token,
            agent: None,
            camera_in,
            _barrier_in: barrier_in,
            pulses_in,
            _camera_out: camera_out,
            _barrier_out: barrier_out,
        };
        g.start_agent("connected to the scheduler");
        g
    }

    fn start_agent(&mut self, wait_for: &'static str) {
        let config = self.dir.path().join("gate.toml");
        let agent = Process::start(&["gate", "--config", config.to_str().unwrap()], wait_for);
        self.agent = Some(agent);
    }

    async fn clients(&self, token: &str) -> Clients {
        bawaba_e2e::clients(self.addr, token).await
    }

    async fn book(&self, plate: &str) -> String {
        let req = bawaba_e2e::act_booking(plate, Bed::next_window());
        let mut c = self.clients(&self.company).await;
        c.bookings
            .create_booking(req)
            .await
            .unwrap()
            .into_inner()
            .booking
            .unwrap()
            .booking_id
    }

    /// Sends a plate read and says whether the IN barrier got a pulse within `wait`.
    async fn drive_in(&mut self, plate: &str, wait: Duration) -> bool {
        while self.pulses_in.try_recv().is_ok() {}
        self.camera_in.send(&plate_read(plate)).await.unwrap();
        tokio::time::timeout(wait, self.pulses_in.recv())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    async fn passages(&self) -> Vec<pb::Passage> {
        let mut c = pb::operator_service_client::OperatorServiceClient::with_interceptor(
            bawaba_grpc::client::channel(&format!("http://{}", self.addr), None)
                .await
                .unwrap(),
            bawaba_grpc::client::BearerToken::new(Some(&self.operator)).unwrap(),
        );
        let req = pb::ListPassagesRequest {
            page_size: 1000,
            ..Default::default()
        };
        c.list_passages(req).await.unwrap().into_inner().passages
    }

    async fn state(&self, booking: &str) -> pb::BookingState {
        let mut c = self.clients(&self.company).await;
        let b = c
            .bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: booking.into(),
            })
            .await
            .unwrap()
            .into_inner();
        pb::BookingState::try_from(b.state).unwrap()
    }

    /// The first passage the scheduler holds with `verdict`, waited for (at most 30 s).
    async fn first_passage(&self, verdict: pb::Verdict) -> pb::Passage {
        for _ in 0..300 {
            let found = self.passages().await;
            if let Some(x) = found.into_iter().find(|p| p.verdict == verdict as i32) {
                return x;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the scheduler never got a {verdict:?} passage; agent log:\n{}",
            self.agent.as_ref().unwrap().logs()
        );
    }

    /// Waits until the scheduler holds `n` passages; fails if it ever holds more.
    async fn passages_reach(&self, n: usize) -> Vec<pb::Passage> {
        for _ in 0..300 {
            let p = self.passages().await;
            assert!(p.len() <= n, "more passages than decisions: {p:#?}");
            if p.len() == n {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the scheduler never got {n} passages; agent log:\n{}",
            self.agent.as_ref().unwrap().logs()
        );
    }
}

fn unique_ids(passages: &[pb::Passage]) -> usize {
    passages
        .iter()
        .map(|p| p.event_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_decides_through_a_scheduler_outage_and_delivers_each_event_once() {
    let mut g = Gate::start().await;
    let (a, b) = (g.book("6011111").await, g.book("6022222").await);
    // Give the sync stream a moment to bring both bookings.
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert!(
        g.drive_in("60-11111", Duration::from_secs(3)).await,
        "booked truck A opens the barrier"
    );
    g.passages_reach(1).await;
    assert_eq!(g.state(&a).await, pb::BookingState::Entered);

    // The scheduler dies (SIGKILL). The gate keeps deciding from its replica, and marks
    // what it decides offline once it has noticed (a decision concluded before is online).
    g.scheduler.kill();
    let agent = g.agent.as_ref().unwrap();
    assert!(
        agent
            .logged("lost the scheduler", Duration::from_secs(10))
            .await,
        "the agent notices the scheduler is gone; its log:\n{}",
        agent.logs()
    );
    assert!(
        g.drive_in("6022222", Duration::from_secs(3)).await,
        "booked truck B still gets in while the scheduler is down"
    );
    assert!(
        !g.drive_in("7133333", Duration::from_secs(1)).await,
        "an unbooked truck is still kept out"
    );

    // The scheduler comes back on the same address: every event arrives, once.
    g.scheduler = Scheduler::start_at(g.dir.data(), g.addr, Some(GATE_TEST_CONFIG), &[]);
    let passages = g.passages_reach(3).await;
    assert_eq!(unique_ids(&passages), 3);
    assert!(
        passages.iter().filter(|p| p.offline).count() >= 2,
        "the outage decisions are marked offline"
    );
    assert_eq!(g.state(&b).await, pb::BookingState::Entered);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(g.passages().await.len(), 3, "nothing doubled later");
}

/// The gate's token revoked (`bawaba token revoke`): the agent says that the scheduler refuses
/// its token, not that the scheduler is down, and keeps deciding from its replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_gate_token_is_named_and_the_gate_keeps_deciding() {
    let mut g = Gate::start().await;
    g.book("6044444").await;
    // Give the sync stream a moment to bring the booking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let data = g.dir.data().to_str().unwrap().to_owned();
    let out = bawaba_e2e::run_bawaba(["token", "revoke", "--data-dir", &data, &g.gate_token]);
    assert!(out.status.success(), "{}", bawaba_e2e::output_text(&out));
    let agent = g.agent.as_ref().unwrap();
    assert!(
        agent
            .logged(
                "the scheduler refuses this gate's token",
                Duration::from_secs(15)
            )
            .await,
        "the agent names the refusal; its log:\n{}",
        agent.logs()
    );
    assert!(
        !agent.logs().contains("lost the scheduler"),
        "a refusal is not an outage; the log:\n{}",
        agent.logs()
    );
    assert!(
        g.drive_in("60-44444", Duration::from_secs(3)).await,
        "the booked truck still gets in, decided from the replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_agent_loses_and_doubles_nothing() {
    let mut g = Gate::start().await;
    let (a, b) = (g.book("6044444").await, g.book("6055555").await);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Keep the passages in the outbox: the scheduler is down when they are decided.
    g.scheduler.kill();
    assert!(g.drive_in("6044444", Duration::from_secs(3)).await);
    assert!(!g.drive_in("7166666", Duration::from_secs(1)).await);
    // SIGKILL the agent right after its decisions, and start it again, still offline.
    g.agent.as_mut().unwrap().kill();
    g.start_agent("gate agent starting");
    // Its replica came back from disk: it still decides without the scheduler...
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        g.drive_in("6055555", Duration::from_secs(3)).await,
        "the restored replica lets B in"
    );
    // ...and remembers that A is inside (the overlay of its own decisions survived).
    assert!(
        !g.drive_in("6044444", Duration::from_secs(1)).await,
        "A is already inside"
    );

    g.scheduler = Scheduler::start_at(g.dir.data(), g.addr, Some(GATE_TEST_CONFIG), &[]);
    let passages = g.passages_reach(4).await;
    assert_eq!(unique_ids(&passages), 4);
    assert_eq!(g.state(&a).await, pb::BookingState::Entered);
    assert_eq!(g.state(&b).await, pb::BookingState::Entered);
    let refer = passages
        .iter()
        .find(|p| p.verdict == pb::Verdict::Refer as i32)
        .expect("A's second read is referred");
    assert!(refer.reasons.contains(&(pb::Reason::AlreadyInside as i32)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_camera_is_reopened_and_an_approved_referral_opens_the_barrier() {
    let mut g = Gate::start().await;
    g.book("6077777").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    g.camera_in.unplug().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    g.camera_in.replug().await.unwrap();
    // The agent backs off (1 s) and reopens the camera by its path.
    let mut opened = false;
    for _ in 0..40 {
        if g.camera_in.peer_connected() {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        opened,
        "the agent reopened the camera; log:\n{}",
        g.agent.as_ref().unwrap().logs()
    );
    assert!(
        g.drive_in("6077777", Duration::from_secs(3)).await,
        "reads flow again after the replug"
    );

    // A truck the gate cannot clear alone: a second entry is referred; the operator approves.
    assert!(!g.drive_in("6077777", Duration::from_secs(1)).await);
    tokio::time::sleep(Duration::from_secs(3)).await; // past the hold-off
    assert!(
        !g.drive_in("6077777", Duration::from_secs(1)).await,
        "already inside: referred"
    );
    let refer = g.first_passage(pb::Verdict::Refer).await;
    let mut ops = pb::operator_service_client::OperatorServiceClient::with_interceptor(
        bawaba_grpc::client::channel(&format!("http://{}", g.addr), None)
            .await
            .unwrap(),
        bawaba_grpc::client::BearerToken::new(Some(&g.operator)).unwrap(),
    );
    let resolved = ops
        .resolve_referral(pb::ResolveReferralRequest {
            event_id: refer.event_id.clone(),
            approve: true,
            reason: "escort vehicle".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        resolved.command_delivered,
        "the agent was listening for commands"
    );
    let pulse = tokio::time::timeout(Duration::from_secs(3), g.pulses_in.recv()).await;
    assert!(pulse.is_ok(), "the approval pulsed the IN barrier");
    assert!(
        resolved.resolved_by.starts_with("token:"),
        "the operator is named: {}",
        resolved.resolved_by
    );
    assert_eq!(resolved.resolution, "escort vehicle");
}

/// Zone `act` (with [`GATE_TEST_CONFIG`]'s gate) and zone `siz` with its own gate.
fn two_zone_config() -> String {
    format!(
        "{GATE_TEST_CONFIG}\n\
         [[zones]]\nid = \"siz\"\nname = \"Southern Industrial Zone\"\nslot_minutes = 60\ncapacity = 10\n\n\
         [[gates]]\nid = \"siz-east\"\nzone = \"siz\"\nname = \"SIZ East Gate\"\n\
         lanes = [{{ id = \"in-1\", direction = \"in\" }}]\n"
    )
}

/// A REFER passage at `gate`/`lane` of `zone`, decided now.
fn referred(n: u128, zone: &str, gate: &str, lane: &str) -> pb::Passage {
    let now = chrono::Utc::now();
    bawaba_grpc::convert::pb_passage(&bawaba_domain::passage::Passage {
        id: bawaba_domain::ids::PassageId::new(now, n),
        zone: bawaba_domain::ids::ZoneId::parse(zone).unwrap(),
        gate: bawaba_domain::ids::GateId::parse(gate).unwrap(),
        lane: bawaba_domain::ids::LaneId::parse(lane).unwrap(),
        direction: bawaba_domain::ledger::Direction::In,
        first_read_at: now,
        last_read_at: now,
        decided_at: now,
        plate: Some(bawaba_domain::plate::Plate::parse("60-31337").unwrap()),
        confidence: Some(30),
        epc: None,
        verdict: bawaba_domain::passage::Verdict::Refer,
        reasons: vec![bawaba_domain::passage::Reason::LowConfidence],
        booking: None,
        offline: false,
    })
}

/// The cross-zone case as an attacker would try it with tokens of zone `act`: report a
/// referral at the `siz` gate (in either zone), resolve the `siz` gate's real referral. The
/// `siz` gate's agent, on real ptys, must never pulse its barrier for them; its own operator's
/// approval does (so a pulse would have been seen).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_one_zone_never_open_another_zone_s_barrier() {
    let dir = TestDir::new();
    let addr = free_addr();
    let _scheduler = Scheduler::start_at(dir.data(), addr, Some(&two_zone_config()), &[]);
    let act_gate = token(dir.data(), "gate", None, Some("act"));
    let act_operator = token(dir.data(), "operator", None, Some("act"));
    let siz_gate = token(dir.data(), "gate", None, Some("siz"));
    let siz_operator = token(dir.data(), "operator", None, Some("siz"));
    let authority = token(dir.data(), "authority", None, None);
    let dev = |n: &str| dir.path().join(n);
    let ptys = bawaba_e2e::spawn_lock();
    let _camera = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx).unwrap();
    let barrier = BarrierEmulator::spawn(dev("relay-in"), 1).unwrap();
    drop(ptys);
    let mut pulses = barrier.subscribe();
    std::fs::write(
        dev("gate.toml"),
        format!(
            "gate_id = \"siz-east\"\nzone_id = \"siz\"\ndata_dir = \"{data}\"\n\
             [scheduler]\naddr = \"http://{addr}\"\ntoken = \"{siz_gate}\"\n\
             [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{ci}\" }}\nbarrier = {{ path = \"{bi}\" }}\n",
            data = dev("agent").display(),
            ci = dev("cam-in").display(),
            bi = dev("relay-in").display(),
        ),
    )
    .unwrap();
    let config = dev("gate.toml");
    let agent = Process::start(
        &["gate", "--config", config.to_str().unwrap()],
        "connected to the scheduler",
    );
    let channel = bawaba_grpc::client::channel(&format!("http://{addr}"), None)
        .await
        .unwrap();
    let gate_client = |t: &str| {
        pb::gate_service_client::GateServiceClient::with_interceptor(
            channel.clone(),
            bawaba_grpc::client::BearerToken::new(Some(t)).unwrap(),
        )
    };
    let operator_client = |t: &str| {
        pb::operator_service_client::OperatorServiceClient::with_interceptor(
            channel.clone(),
            bawaba_grpc::client::BearerToken::new(Some(t)).unwrap(),
        )
    };
    // The act gate token reports referrals at the siz gate: refused, nothing stored.
    let mut attacker = gate_client(&act_gate);
    for (n, zone) in [(1, "siz"), (2, "act")] {
        let req = pb::ReportPassagesRequest {
            passages: vec![referred(n, zone, "siz-east", "in-1")],
            ..Default::default()
        };
        let refused = attacker.report_passages(req).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    }
    // Nor may it move the siz gate's report mark (which holds siz's no-shows back).
    let mark = pb::ReportPassagesRequest {
        gate_id: "siz-east".into(),
        reported_through: Some(bawaba_grpc::convert::timestamp(chrono::Utc::now())),
        ..Default::default()
    };
    let refused = attacker.report_passages(mark).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    let half = pb::ReportPassagesRequest {
        gate_id: "act-north".into(),
        ..Default::default()
    };
    let refused = attacker.report_passages(half).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("reported_through"),
        "{refused:?}"
    );
    // A real referral of the siz gate (reported with the authority's token).
    let real = referred(3, "siz", "siz-east", "in-1");
    gate_client(&authority)
        .report_passages(pb::ReportPassagesRequest {
            passages: vec![real.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    let resolve = |id: &str| pb::ResolveReferralRequest {
        event_id: id.into(),
        approve: true,
        reason: "let it through".into(),
        ..Default::default()
    };
    for id in [
        referred(1, "siz", "siz-east", "in-1").event_id,
        real.event_id.clone(),
    ] {
        let refused = operator_client(&act_operator)
            .resolve_referral(resolve(&id))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    }
    let pulse = tokio::time::timeout(Duration::from_secs(2), pulses.recv()).await;
    assert!(pulse.is_err(), "the siz barrier was pulsed: {pulse:?}");
    // Its own operator's approval opens it: the barrier and its agent were listening.
    let resolved = operator_client(&siz_operator)
        .resolve_referral(resolve(&real.event_id))
        .await
        .unwrap()
        .into_inner();
    assert!(resolved.command_delivered);
    let pulse = tokio::time::timeout(Duration::from_secs(3), pulses.recv()).await;
    assert!(
        pulse.is_ok(),
        "the siz operator's approval pulsed the barrier; agent log:\n{}",
        agent.logs()
    );
}

/// A flash-flood closure reaches the gate: a booked truck is turned away (DENY ZONE_CLOSED)
/// while the zone is closed, by a real agent on ptys that learnt the closure through its sync
/// stream; once the closure is lifted the same booking lets it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_zone_turns_booked_trucks_away_at_the_barrier() {
    let mut g = Gate::start().await;
    g.book("6055555").await;
    let authority = token(g.dir.data(), "authority", None, None);
    let mut admin = g.clients(&authority).await;
    let now = chrono::Utc::now();
    let closure = admin
        .admin
        .add_closure(pb::AddClosureRequest {
            zone_id: "act".into(),
            from: Some(bawaba_grpc::timestamp(now - chrono::TimeDelta::minutes(5))),
            to: Some(bawaba_grpc::timestamp(now + chrono::TimeDelta::hours(1))),
            reason: "flash-flood warning".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .closure
        .unwrap();
    // The closure reaches the agent through its sync stream within moments.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !g.drive_in("6055555", Duration::from_secs(2)).await,
        "the barrier stayed shut in a closed zone"
    );
    let denied = g.first_passage(pb::Verdict::Deny).await;
    assert_eq!(
        denied.reasons,
        vec![pb::Reason::ZoneClosed as i32],
        "{denied:?}"
    );
    assert!(
        !denied.booking_id.is_empty(),
        "the passage names the booking"
    );
    admin
        .admin
        .remove_closure(pb::RemoveClosureRequest {
            zone_id: "act".into(),
            closure_id: closure.id,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // the change arrives; past the hold-off
    assert!(
        g.drive_in("6055555", Duration::from_secs(3)).await,
        "lifted: the booking lets the truck in; agent log:\n{}",
        g.agent.as_ref().unwrap().logs()
    );
}

/// The early warning's CAP alert reaches the barrier: posted to the real scheduler's
/// `/api/cap` with an alerts token, it closes the terminal (its area meets the zone's
/// outline), the agent learns the closure through its sync stream and turns a booked truck
/// away (DENY ZONE_CLOSED); the alert's cancellation reopens the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_flood_alert_closes_the_barrier_and_its_cancel_opens_it() {
    let mut g = Gate::start().await;
    g.book("6055556").await;
    let feed = token(g.dir.data(), "alerts", None, None);
    let now = chrono::Utc::now();
    let amman = |t: chrono::DateTime<chrono::Utc>| {
        let amman = chrono::FixedOffset::east_opt(3 * 3600).unwrap(); // UTC+3 all year
        t.with_timezone(&amman)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    let example = include_str!("../../deploy/cap/flash-flood.example.xml")
        .replace("2026-03-10T09:00:00+03:00", &amman(now))
        .replace(
            "2026-03-10T12:00:00+03:00",
            &amman(now - chrono::TimeDelta::minutes(5)),
        )
        .replace(
            "2026-03-10T14:00:00+03:00",
            &amman(now + chrono::TimeDelta::hours(1)),
        );
    let http = g.http;
    let post = |xml: &str| {
        let auth = format!("Bearer {feed}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/cap+xml"),
        ];
        bawaba_e2e::http_request(http, "POST", "/api/cap", &headers, xml)
    };
    let (status, _, body) = post(&example);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""effect":"closed""#), "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !g.drive_in("6055556", Duration::from_secs(2)).await,
        "the barrier stayed shut under the flood warning"
    );
    let denied = g.first_passage(pb::Verdict::Deny).await;
    assert_eq!(
        denied.reasons,
        vec![pb::Reason::ZoneClosed as i32],
        "{denied:?}"
    );
    let cancel = example
        .replace("0310-01</identifier>", "0310-02</identifier>")
        .replace(
            "<msgType>Alert</msgType>",
            "<msgType>Cancel</msgType><references>warnings@jmd.gov.jo,JMD-FF-2026-0310-01,2026-03-10T09:00:00+03:00</references>",
        );
    let (status, _, body) = post(&cancel);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""effect":"lifted""#), "{body}");
    tokio::time::sleep(Duration::from_secs(3)).await; // the change arrives; past the hold-off
    assert!(
        g.drive_in("6055556", Duration::from_secs(3)).await,
        "the warning cancelled: the booking lets the truck in; agent log:\n{}",
        g.agent.as_ref().unwrap().logs()
    );
}

/// The security services' watchlist reaches the barrier: a plate put on it through
/// `SecurityService` reaches the agent with its zone's configuration, and a truck with a
/// valid booking read as a look-alike of it is held (REFER WATCHLIST, barrier shut) and
/// shows up at the operator's desk; taken off the list, the booking lets it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_plate_is_held_at_the_barrier_for_an_operator() {
    let mut g = Gate::start().await;
    g.book("6055557").await;
    let desk = token(g.dir.data(), "security", None, None);
    let mut c = g.clients(&desk).await;
    let entry = pb::WatchEntry {
        plate: "60-55557".into(),
        reason: "reported stolen".into(),
        action: pb::WatchAction::Refer as i32,
        ..Default::default()
    };
    let added = c
        .security
        .add_watch(pb::AddWatchRequest {
            zone_id: String::new(),
            entry: Some(entry),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.zone_ids, vec!["act".to_owned()]);
    tokio::time::sleep(Duration::from_secs(1)).await; // the zone change reaches the agent
    assert!(
        !g.drive_in("6O55557", Duration::from_secs(2)).await,
        "the barrier stayed shut for a watched truck"
    );
    let held = g.first_passage(pb::Verdict::Refer).await;
    assert_eq!(held.reasons[0], pb::Reason::Watchlist as i32, "{held:?}");
    c.security
        .remove_watch(pb::RemoveWatchRequest {
            zone_id: String::new(),
            plate: "60-55557".into(),
            tag: String::new(),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // the change arrives; past the hold-off
    assert!(
        g.drive_in("6055557", Duration::from_secs(3)).await,
        "off the list: the booking lets the truck in; agent log:\n{}",
        g.agent.as_ref().unwrap().logs()
    );
}
