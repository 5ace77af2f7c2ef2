//! A gate on a test bed: a real scheduler server (sled store, gRPC on 127.0.0.1), a real
//! agent, and its devices emulated on pseudo-terminals, in one process. Used by the agent's
//! tests, the end-to-end tests and the gate latency benchmark (`bawaba_bench::gate`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba_app::{App, SystemClock};
use bawaba_codec::anpr::{AnprFormat, PlateRead};
use bawaba_codec::modbus::BarrierCommand;
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, ZoneId};
use bawaba_domain::ledger::{Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::plate::Plate;
use bawaba_grpc::Scheduler;
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use tokio::sync::{broadcast, watch};

use crate::agent::{AgentHandle, start};
use crate::config::AgentConfig;
use crate::emulator::{BarrierEmulator, CameraEmulator, ReaderEmulator, ReaderMode};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The bench's zone: 60-minute windows, room for everyone, trucks welcome two hours early.
pub fn zone() -> ZoneId {
    ZoneId::parse("act").unwrap_or_else(|_| unreachable!("a valid literal id"))
}

/// A scheduler, an agent with one IN lane (camera, RFID reader, barrier) and one OUT lane
/// (camera, barrier), and the emulated devices.
#[derive(Debug)]
pub struct Bed {
    pub store: Arc<SledStore>,
    pub agent: AgentHandle,
    pub camera_in: CameraEmulator,
    pub reader_in: ReaderEmulator,
    pub barrier_in: broadcast::Receiver<(Instant, BarrierCommand)>,
    pub camera_out: CameraEmulator,
    pub barrier_out: broadcast::Receiver<(Instant, BarrierCommand)>,
    boards: (BarrierEmulator, BarrierEmulator),
    stop: watch::Sender<bool>,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Bed {
    /// Starts everything in a fresh temporary folder. `reader` says whether the IN lane has
    /// an RFID reader (without one, a plate read alone decides).
    pub async fn start(reader: bool) -> Result<Bed, BoxError> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().to_owned();
        let sched = dir.join("scheduler");
        let store = Arc::new(SledStore::open(&sched)?);
        let mut z = ZoneConfig::new(
            zone(),
            "Bench terminal",
            SlotLength::from_minutes(60)?,
            WindowCapacity::uniform(1_000_000),
        );
        z.rules.booking_cutoff_minutes = 0;
        z.rules.early_grace_minutes = 120;
        z.rules.company_cap_percent = 100;
        z.rules.require_containers = false;
        store.upsert_zone(z).await?;
        let lane = |id: &str, direction| {
            Ok::<_, BoxError>(Lane {
                id: LaneId::parse(id)?,
                direction,
            })
        };
        store
            .upsert_gate(Gate {
                id: GateId::parse("act-north")?,
                zone: zone(),
                name: "Bench gate".into(),
                lanes: vec![lane("in-1", Direction::In)?, lane("out-1", Direction::Out)?],
                name_ar: String::new(),
            })
            .await?;
        let tokens = Arc::new(TokenBook::new(&sched));
        let gate_token = tokens.issue(
            &Principal::new(Role::Gate, None, Some(zone()))?,
            Some("bench-gate"),
            Utc::now(),
        )?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let server = Scheduler {
            app: App::new(Arc::clone(&store), tokens, Arc::new(SystemClock)),
            tls: None,
        };
        let mut until = stopped.clone();
        tokio::spawn(server.serve(listener, async move {
            let _ = until.changed().await;
        }));

        let dev = |name: &str| dir.join(name);
        let camera_in = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx)?;
        let reader_in = ReaderEmulator::spawn(dev("rfid-in"), ReaderMode::Answer, 0)?;
        let board_in = BarrierEmulator::spawn(dev("relay-in"), 1)?;
        let camera_out = CameraEmulator::spawn(dev("cam-out"), AnprFormat::StxEtx)?;
        let board_out = BarrierEmulator::spawn(dev("relay-out"), 1)?;
        let reader_line = if reader {
            format!(
                "reader = {{ path = \"{}\", mode = \"answer\", poll_ms = 20 }}",
                dev("rfid-in").display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "gate_id = \"act-north\"\nzone_id = \"act\"\ndata_dir = \"{data}\"\n\
             [scheduler]\naddr = \"http://{addr}\"\ntoken = \"{gate_token}\"\n\
             [decisions]\nfusion_window_ms = 500\nhold_off_ms = 3000\n\
             [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{cam_in}\" }}\n{reader_line}\n\
             barrier = {{ path = \"{relay_in}\" }}\n\
             [[lanes]]\nid = \"out-1\"\ndirection = \"out\"\ncamera = {{ path = \"{cam_out}\" }}\n\
             barrier = {{ path = \"{relay_out}\", relay = 1 }}\n",
            data = dev("agent").display(),
            cam_in = dev("cam-in").display(),
            relay_in = dev("relay-in").display(),
            cam_out = dev("cam-out").display(),
            relay_out = dev("relay-out").display(),
        );
        let agent = start(AgentConfig::parse(&config)?, crate::system_clock(), stopped)?;
        Ok(Bed {
            store,
            agent,
            camera_in,
            reader_in,
            barrier_in: board_in.subscribe(),
            camera_out,
            barrier_out: board_out.subscribe(),
            boards: (board_in, board_out),
            stop,
            dir,
            _tmp: Some(tmp),
        })
    }

    /// The emulated IN barrier board (to make it stop echoing, for instance).
    pub fn barrier_board_in(&self) -> &BarrierEmulator {
        &self.boards.0
    }

    /// The folder everything lives in.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The next window start: bookable now, and now is within its early grace.
    pub fn next_window() -> DateTime<Utc> {
        let now = Utc::now();
        now.with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now)
            + TimeDelta::hours(1)
    }

    /// Books a truck for the next window.
    pub async fn book(
        &self,
        plate: &str,
        epc: Option<bawaba_domain::epc::Epc>,
    ) -> Result<BookingId, BoxError> {
        let req = NewBooking {
            by: None,
            company: CompanyId::parse("acme")?,
            idempotency_key: format!("k-{plate}"),
            plate: Plate::parse(plate)?,
            epc,
            stops: vec![Stop::new(
                zone(),
                Self::next_window(),
                TransactionType::GeneralCargo,
                vec![],
            )],
        };
        Ok(self.store.create_booking(req, Utc::now()).await?.booking.id)
    }

    /// Books `n` trucks (plates `B0000001`...), 256 requests in flight.
    pub async fn book_many(&self, n: usize) -> Result<(), BoxError> {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            if set.len() >= 256
                && let Some(r) = set.join_next().await
            {
                r??;
            }
            let store = Arc::clone(&self.store);
            let req = NewBooking {
                by: None,
                company: CompanyId::parse("acme")?,
                idempotency_key: format!("bench-{i}"),
                plate: Plate::parse(&bench_plate(i))?,
                epc: None,
                stops: vec![Stop::new(
                    zone(),
                    Self::next_window(),
                    TransactionType::GeneralCargo,
                    vec![],
                )],
            };
            set.spawn(async move {
                store
                    .create_booking(req, Utc::now())
                    .await
                    .map(drop)
                    .map_err(BoxError::from)
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    /// Waits until the agent's replica holds `n` bookings and the agent is online.
    pub async fn synced(&self, n: usize, limit: Duration) -> Result<(), BoxError> {
        let started = Instant::now();
        while self.agent.replica_state(&zone()).1 < n
            || !self.agent.online.load(std::sync::atomic::Ordering::Relaxed)
        {
            if started.elapsed() > limit {
                return Err(format!(
                    "the agent synced {} of {n} bookings in {limit:?}",
                    self.agent.replica_state(&zone()).1
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The plate of the `i`-th bench truck.
pub fn bench_plate(i: usize) -> String {
    format!("B{i:07}")
}

/// A plate read as the camera sends it.
pub fn plate_read(plate: &str) -> PlateRead {
    PlateRead {
        camera_time: Some(Utc::now().naive_utc()),
        lane: Some(1),
        plate: Some(plate.into()),
        confidence: None,
        country: None,
    }
}
