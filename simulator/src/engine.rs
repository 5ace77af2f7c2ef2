//! The simulation engine: a discrete-event simulation that drives the real system in process.
//!
//! A real scheduler (`Scheduler::serve` on a `SledStore` in the run's folder, 127.0.0.1,
//! tokens from the `TokenBook`), a real gate agent per gate with its cameras, RFID readers and
//! barrier relays emulated on pseudo-terminals, and companies that book only through the
//! gRPC API with their own tokens. The engine owns the [`SimClock`] everybody runs on and
//! steps it event by event (a priority queue by time and sequence), pacing it against real
//! time with the scenario's speed. Each lane serves one truck at a time; decisions come from
//! the agents themselves (their passage broadcast), the barrier pulse is the physical effect.
//!
//! Determinism: the world and every random choice come from the seed; before a truck is
//! presented to a lane the engine waits until the agent's replica has caught up with the
//! scheduler's change log for the zone, so the same seed makes the same bookings and
//! decisions.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bawaba_app::{App, SimClock};
use bawaba_codec::anpr::{AnprFormat, PlateRead, Template};
use bawaba_codec::modbus::BarrierCommand;
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{CapacityTemplate, WindowCapacity, ZoneConfig};
use bawaba_domain::gate::ReadKind;
use bawaba_domain::ids::{CompanyId, LaneId, PassageId};
use bawaba_domain::ledger::{Booking, BookingFilter, BookingState, Direction};
use bawaba_domain::passage::{Passage, Verdict};
use bawaba_gate::agent::{AgentHandle, LaneRead};
use bawaba_gate::config::AgentConfig;
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator, ReaderEmulator, ReaderMode};
use bawaba_grpc::client::{BearerToken, Clients, channel};
use bawaba_grpc::{Scheduler, pb, timestamp};
use bawaba_store::{Changes, SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{broadcast, watch};

use crate::alert::{AlertFeed, Warning};
use crate::proxy::Relay;
use crate::record::{
    BookingTally, CompanyInfo, GateInfo, LaneInfo, LaneService, RunEvent, RunRecord, TruckInfo,
    ZoneInfo,
};
use crate::scenario::Scenario;
use crate::world::{self, Behaviour, CameraView, Site, World};
use crate::{SimError, proofs};

/// Fusion window and hold-off of the simulated lanes (simulated time).
const FUSION_MS: i64 = 2000;
/// The hold-off covers a truck's whole stay at the barrier (its tag is read until it
/// leaves), so its repeated reads never make a second passage.
const HOLD_OFF_MS: i64 = 120_000;
/// How many times a truck's reads may be ignored before it gives up and leaves.
const MAX_IGNORED: u8 = 3;
/// How long the engine waits (real time) for an agent to do something it must do.
const REAL_WAIT: Duration = Duration::from_secs(5);

/// A progress callback: the share of the simulated span played (0..=1) and a note.
pub type Progress = Arc<dyn Fn(f64, &str) + Send + Sync>;

/// What a run is asked to do beyond its scenario.
#[derive(Clone)]
pub struct RunOptions {
    /// The run's files go to `data_dir/<scenario name>/` (emptied first).
    pub data_dir: PathBuf,
    pub seed: Option<u64>,
    pub speed: Option<f64>,
    pub trucks: Option<usize>,
    pub hours: Option<f64>,
    /// Called now and then with the share of the simulated span played (0..=1).
    pub progress: Option<Progress>,
    /// Serve the web dashboard (authority and operator views, `/metrics`) of the run's
    /// scheduler here, on the simulated clock, while the run plays and as long as it lives.
    pub http: Option<SocketAddr>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("data_dir", &self.data_dir)
            .field("seed", &self.seed)
            .field("speed", &self.speed)
            .field("trucks", &self.trucks)
            .field("hours", &self.hours)
            .field("http", &self.http)
            .finish()
    }
}

impl RunOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            data_dir: data_dir.into(),
            seed: None,
            speed: None,
            trucks: None,
            hours: None,
            progress: None,
            http: None,
        }
    }

    /// The scenario with the overrides applied.
    pub fn apply(&self, scenario: &Scenario) -> Scenario {
        let mut s = scenario.clone();
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        if let Some(speed) = self.speed {
            s.speed = speed;
        }
        if let Some(h) = self.hours {
            // Fewer hours, proportionally fewer trucks (unless set explicitly).
            s.trucks = ((s.trucks as f64) * (h / s.hours)).round().max(1.0) as usize;
            s.hours = h;
        }
        if let Some(t) = self.trucks {
            s.trucks = t;
        }
        s.companies = s.companies.min(s.trucks).max(1);
        s
    }
}

/// The system a run leaves behind: the scheduler and agents keep running until this is
/// dropped or [`Live::stop`] is called (`bawaba demo --serve`).
#[derive(Debug)]
pub struct Live {
    /// The scheduler's gRPC address.
    pub addr: SocketAddr,
    /// A file listing the run's API tokens (company, gate, operator, authority).
    pub tokens_file: PathBuf,
    /// Where the web dashboard listens, when asked for ([`RunOptions::http`]).
    pub http: Option<SocketAddr>,
    /// The run's folder.
    pub dir: PathBuf,
    pub store: Arc<SledStore>,
    pub clock: SimClock,
    stop: watch::Sender<bool>,
    agents: Vec<AgentHandle>,
    _relay: Relay,
    _lanes: Vec<LaneDevices>,
}

impl Live {
    /// Stops the agents and the scheduler.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for a in self.agents {
            let _ = tokio::time::timeout(Duration::from_secs(5), a.join()).await;
        }
    }

    /// The agents' handles (for metrics and tests).
    pub fn agents(&self) -> &[AgentHandle] {
        &self.agents
    }
}

#[derive(Debug)]
struct LaneDevices {
    camera: CameraEmulator,
    reader: ReaderEmulator,
    _board: BarrierEmulator,
}

/// A lane at run time.
struct LaneRt {
    gate: usize,
    id: LaneId,
    direction: Direction,
    dev: usize,
    barrier: broadcast::Receiver<(Instant, BarrierCommand)>,
    queue: VecDeque<Waiting>,
    busy: bool,
    decided: VecDeque<Passage>,
    current: Option<Current>,
    camera_unplugged: bool,
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    truck: usize,
    stop: usize,
    arrived: DateTime<Utc>,
    /// Times the lane ignored all its reads (as repeats of the truck before it).
    ignored: u8,
}

#[derive(Debug, Clone)]
struct Current {
    w: Waiting,
    served: DateTime<Utc>,
    read_ok: bool,
    /// When this truck's first read was written: the barrier pulse for it comes after.
    first_write: Instant,
    /// When the last of its camera reads was written.
    camera_write: Option<Instant>,
    /// When its tag was last pushed, once the lane had taken it in (a later push may come
    /// after the barrier pulse).
    tag_write: Option<Instant>,
    /// What the lane made of its reads (none: it did not take them all in time).
    took: Option<Took>,
}

struct GateRt {
    zone: usize,
    agent: usize,
    passages: broadcast::Receiver<Passage>,
    /// The reads the agent's lanes have taken in.
    reads: broadcast::Receiver<LaneRead>,
    lanes: Vec<usize>,
}

/// A truck at run time.
#[derive(Debug, Clone, Default)]
struct TruckRt {
    booking: Option<String>,
    /// Booked window start per stop.
    windows: Vec<Option<DateTime<Utc>>>,
    cancelled: bool,
    /// Bumped when its plans change; older arrival events are ignored.
    generation: u32,
    inside: Option<usize>,
    done: bool,
    /// `REFER` or `DENY` when the security services watch it.
    watched: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum Ev {
    Arrive {
        truck: usize,
        stop: usize,
        out: bool,
        generation: u32,
    },
    Start(usize),
    Decide(usize),
    Free(usize),
    Resolve {
        truck: usize,
        stop: usize,
        lane: usize,
        service: usize,
        passage: PassageId,
        out: bool,
    },
    Change(usize),
    Sweep,
    ClosureAnnounce,
    OutageStart,
    OutageEnd,
    Unplug(usize),
    Replug(usize),
}

/// Runs `scenario` (with the options' overrides) on `site`; returns what it recorded and the
/// system, still running.
pub async fn run(
    site: &Site,
    scenario: &Scenario,
    opts: &RunOptions,
) -> Result<(RunRecord, Live), SimError> {
    let scenario = opts.apply(scenario);
    let wall = Instant::now();
    let mut e = Engine::setup(site, &scenario, opts).await?;
    e.book_all().await?;
    e.watch_trucks().await?;
    e.play().await?;
    let record = e.finish(wall).await?;
    Ok((record, e.live))
}

/// Runs and stops everything afterwards.
pub async fn run_and_stop(
    site: &Site,
    scenario: &Scenario,
    opts: &RunOptions,
) -> Result<RunRecord, SimError> {
    let (record, live) = run(site, scenario, opts).await?;
    live.stop().await;
    Ok(record)
}

/// The zones as a run uses them: as configured with appointments; for the no-appointments
/// baseline every window holds everyone and the grace covers the whole day, so only the gate
/// queue limits the trucks.
pub fn run_zones(site: &Site, appointments: bool) -> Vec<ZoneConfig> {
    site.zones
        .iter()
        .map(|z| {
            let mut z = z.clone();
            if !appointments {
                z.template = CapacityTemplate::uniform(WindowCapacity::uniform(100_000));
                z.rules.company_cap_percent = 100;
                z.rules.early_grace_minutes = 24 * 60;
                z.rules.late_grace_minutes = 24 * 60;
                z.rules.booking_cutoff_minutes = 0;
                z.rules.change_cutoff_minutes = 0;
            }
            z
        })
        .collect()
}

struct Engine {
    scenario: Scenario,
    seed: u64,
    site: Site,
    zones: Vec<ZoneConfig>,
    world: World,
    store: Arc<SledStore>,
    /// The scheduler's application: its no-show sweep runs on the simulated clock.
    app: App<SledStore>,
    clock: SimClock,
    companies: Vec<Clients>,
    operator: pb::operator_service_client::OperatorServiceClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, BearerToken>,
    >,
    authority: Clients,
    /// The early warning system: posts the flash-flood scenario's CAP alert.
    alert_feed: AlertFeed,
    /// The security services: put the watchlist scenario's trucks on the watchlist.
    security: pb::security_service_client::SecurityServiceClient<bawaba_grpc::client::Authed>,
    lanes: Vec<LaneRt>,
    gates: Vec<GateRt>,
    trucks: Vec<TruckRt>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, usize)>>,
    events: Vec<Option<Ev>>,
    seq: u64,
    record: RunRecord,
    decided: Vec<Passage>,
    scheduler_up: bool,
    live: Live,
    opts: RunOptions,
    pace: (Instant, DateTime<Utc>),
    last_progress: Instant,
    noise_rng: ChaCha8Rng,
    unplug_turn: usize,
    waited: Waited,
}

/// Where the engine's real time goes, logged at the end of a run (to see what bounds a run's
/// speed): keeping pace with `speed`, waiting for an agent's replica to catch up, for a lane to
/// take a truck's reads in, for its decision, for its barrier pulse.
#[derive(Debug, Default)]
struct Waited {
    pace: Duration,
    catch_up: Duration,
    reads: Duration,
    decisions: Duration,
    barrier: Duration,
}

fn zone_weights(site: &Site, s: &Scenario) -> Vec<f64> {
    site.zones
        .iter()
        .map(|z| {
            let mut t = z.window_containing(s.start_utc());
            let mut total = 0.0;
            while t < s.end_utc() {
                total += f64::from(z.capacity(t).total);
                t = z.window_end(t);
            }
            total.max(1.0)
        })
        .collect()
}

impl Engine {
    async fn setup(site: &Site, s: &Scenario, opts: &RunOptions) -> Result<Engine, SimError> {
        let dir = opts.data_dir.join(&s.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| SimError::io(&dir, e))?;
        }
        std::fs::create_dir_all(dir.join("dev")).map_err(|e| SimError::io(&dir, e))?;
        let sched_dir = dir.join("scheduler");
        let store = Arc::new(SledStore::open(&sched_dir)?);
        let zones = run_zones(site, s.appointments);
        let world = world::draw(s, s.seed, site, &zone_weights(site, s));

        // Tokens: one per company, per gate, an operator and the authority.
        let tokens = Arc::new(TokenBook::new(&sched_dir));
        let now = Utc::now();
        let mut listing = String::from("# API tokens of this simulation run (demo data).\n");
        let mut company_tokens = Vec::new();
        for c in &world.companies {
            let p = Principal::new(Role::Company, Some(CompanyId::parse(&c.id)?), None)?;
            let t = tokens.issue(&p, Some(&c.id), now)?;
            listing.push_str(&format!("company.{} = \"{t}\"\n", c.id));
            company_tokens.push(t);
        }
        let mut gate_tokens = Vec::new();
        for g in &site.gates {
            let p = Principal::new(Role::Gate, None, Some(g.zone.clone()))?;
            let t = tokens.issue(&p, Some(g.id.as_str()), now)?;
            listing.push_str(&format!("gate.{} = \"{t}\"\n", g.id));
            gate_tokens.push(t);
        }
        let op = tokens.issue(
            &Principal::new(Role::Operator, None, None)?,
            Some("operator"),
            now,
        )?;
        let auth = tokens.issue(
            &Principal::new(Role::Authority, None, None)?,
            Some("authority"),
            now,
        )?;
        let alerts = tokens.issue(
            &Principal::new(Role::Alerts, None, None)?,
            Some("early-warning"),
            now,
        )?;
        let security = tokens.issue(
            &Principal::new(Role::Security, None, None)?,
            Some("security-desk"),
            now,
        )?;
        listing.push_str(&format!(
            "operator = \"{op}\"\nauthority = \"{auth}\"\nalerts = \"{alerts}\"\nsecurity = \"{security}\"\n"
        ));
        let tokens_file = dir.join("tokens.toml");
        std::fs::write(&tokens_file, listing).map_err(|e| SimError::io(&tokens_file, e))?;

        // The scheduler, on the simulated clock. Bookings are made before the day starts.
        let clock = SimClock::new(s.start_utc() - TimeDelta::hours(2));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SimError::io(Path::new("127.0.0.1:0"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::io(Path::new("127.0.0.1:0"), e))?;
        let (stop, stopped) = watch::channel(false);
        // One application under both doors: gRPC and the dashboard share its gate command
        // channels (operators' approvals) and its metrics.
        let app = App::new(Arc::clone(&store), tokens, Arc::new(clock.clone()))
            .with_alert_zones(site.alert_zones.clone());
        app.bootstrap(zones.clone(), site.gates.clone())
            .await
            .map_err(|e| SimError::Setup(format!("creating the zones and gates: {e}")))?;
        portal_account(&app, &world, &tokens_file).await?;
        let started = Instant::now();
        fleets(&app, &world).await?;
        tracing::info!(
            trucks = world.trucks.len(),
            took_ms = started.elapsed().as_millis(),
            "fleets saved"
        );
        // The web door: the dashboard when asked for (`--http`), and always `/api/cap`, where
        // the early warning posts its alerts.
        let at = opts
            .http
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let web = tokio::net::TcpListener::bind(at)
            .await
            .map_err(|e| SimError::Setup(format!("web door on {at} (--http): {e}")))?;
        let web_addr = web
            .local_addr()
            .map_err(|e| SimError::Setup(format!("web door on {at} (--http): {e}")))?;
        let dashboard = bawaba_web::Dashboard {
            app: app.clone(),
            trusted_proxies: Vec::new(),
        };
        let mut until = stopped.clone();
        tokio::spawn(async move {
            let r = dashboard
                .serve(web, async move {
                    let _ = until.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "the simulation's web door stopped");
            }
        });
        let http = opts.http.map(|_| web_addr);
        let alert_feed = AlertFeed::new(web_addr, alerts);
        let server = Scheduler {
            app: app.clone(),
            tls: None,
        };
        let mut until = stopped.clone();
        tokio::spawn(async move {
            let r = server
                .serve(listener, async move {
                    let _ = until.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "simulated scheduler stopped");
            }
        });
        let relay = Relay::start(addr)
            .await
            .map_err(|e| SimError::io(Path::new("relay"), e))?;

        // Gate agents and their devices.
        let mut lanes = Vec::new();
        let mut gates = Vec::new();
        let mut devices = Vec::new();
        let mut agents = Vec::new();
        let template = Template::parse("%PLATE%,%CONF%")?;
        for (gi, g) in site.gates.iter().enumerate() {
            let zone = site
                .zones
                .iter()
                .position(|z| z.id == g.zone)
                .ok_or_else(|| {
                    SimError::Setup(format!("gate {} of unknown zone {}", g.id, g.zone))
                })?;
            let mut lane_toml = String::new();
            let mut lane_idx = Vec::new();
            for l in &g.lanes {
                let base = dir.join("dev").join(format!("{}-{}", g.id, l.id));
                let cam = base.with_extension("camera");
                let rfid = base.with_extension("rfid");
                let relay_path = base.with_extension("relay");
                let camera = CameraEmulator::spawn(&cam, AnprFormat::Template(template.clone()))
                    .map_err(|e| SimError::io(&cam, e))?;
                let reader = ReaderEmulator::spawn(
                    &rfid,
                    ReaderMode::Push {
                        every: Duration::from_millis(20),
                    },
                    0,
                )
                .map_err(|e| SimError::io(&rfid, e))?;
                let board = BarrierEmulator::spawn(&relay_path, 1)
                    .map_err(|e| SimError::io(&relay_path, e))?;
                let dir_s = match l.direction {
                    Direction::In => "in",
                    Direction::Out => "out",
                };
                lane_toml.push_str(&format!(
                    "[[lanes]]\nid = \"{}\"\ndirection = \"{dir_s}\"\n\
                     camera = {{ path = \"{}\", format = \"%PLATE%,%CONF%\" }}\n\
                     reader = {{ path = \"{}\", mode = \"push\" }}\n\
                     barrier = {{ path = \"{}\" }}\n",
                    l.id,
                    cam.display(),
                    rfid.display(),
                    relay_path.display()
                ));
                lane_idx.push(lanes.len());
                lanes.push(LaneRt {
                    gate: gi,
                    id: l.id.clone(),
                    direction: l.direction,
                    dev: devices.len(),
                    barrier: board.subscribe(),
                    queue: VecDeque::new(),
                    busy: false,
                    decided: VecDeque::new(),
                    current: None,
                    camera_unplugged: false,
                });
                devices.push(LaneDevices {
                    camera,
                    reader,
                    _board: board,
                });
            }
            let config = format!(
                "gate_id = \"{}\"\nzone_id = \"{}\"\ndata_dir = \"{}\"\n\
                 [scheduler]\naddr = \"http://{}\"\ntoken = \"{}\"\nretry_max_ms = 100\n\
                 [decisions]\nfusion_window_ms = {FUSION_MS}\nhold_off_ms = {HOLD_OFF_MS}\n{lane_toml}",
                g.id,
                g.zone,
                dir.join("agents").join(g.id.as_str()).display(),
                relay.addr,
                gate_tokens[gi],
            );
            let cfg = AgentConfig::parse(&config)
                .map_err(|e| SimError::Setup(format!("agent configuration: {e}")))?;
            let agent = bawaba_gate::agent::start(cfg, Arc::new(clock.clone()), stopped.clone())
                .map_err(|e| SimError::Setup(format!("gate agent {}: {e}", g.id)))?;
            gates.push(GateRt {
                zone,
                agent: agents.len(),
                passages: agent.passages.subscribe(),
                reads: agent.reads.subscribe(),
                lanes: lane_idx,
            });
            agents.push(agent);
        }

        let url = format!("http://{addr}");
        let ch = channel(&url, None).await?;
        let companies = company_tokens
            .iter()
            .map(|t| Clients::new(ch.clone(), Some(t)))
            .collect::<Result<Vec<_>, _>>()?;
        let authority = Clients::new(ch.clone(), Some(&auth))?;
        let security = Clients::new(ch.clone(), Some(&security))?.security;
        let operator = pb::operator_service_client::OperatorServiceClient::with_interceptor(
            ch.clone(),
            BearerToken::new(Some(&op)).map_err(|e| SimError::Setup(e.message().into()))?,
        );

        let mut record = RunRecord {
            scenario: s.name.clone(),
            seed: s.seed,
            appointments: s.appointments,
            start: s.start_utc(),
            end: s.end_utc(),
            ..RunRecord::default()
        };
        for z in &site.zones {
            record
                .bookings
                .insert(z.id.to_string(), BookingTally::default());
        }
        record.gates = site
            .gates
            .iter()
            .map(|g| GateInfo {
                id: g.id.to_string(),
                zone: g.zone.to_string(),
                lanes: g
                    .lanes
                    .iter()
                    .map(|l| LaneInfo {
                        id: l.id.to_string(),
                        direction: dir_str(l.direction).into(),
                    })
                    .collect(),
            })
            .collect();
        record.companies = world
            .companies
            .iter()
            .map(|c| CompanyInfo {
                id: c.id.clone(),
                fleet: c.fleet,
            })
            .collect();
        let trucks = vec![TruckRt::default(); world.trucks.len()];
        let live = Live {
            addr,
            tokens_file,
            http,
            dir: dir.clone(),
            store: Arc::clone(&store),
            clock: clock.clone(),
            stop,
            agents,
            _relay: relay,
            _lanes: devices,
        };
        Ok(Engine {
            seed: s.seed,
            scenario: s.clone(),
            site: site.clone(),
            zones,
            world,
            store,
            app,
            clock,
            companies,
            operator,
            authority,
            security,
            alert_feed,
            lanes,
            gates,
            trucks,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            seq: 0,
            record,
            decided: Vec::new(),
            scheduler_up: true,
            live,
            opts: opts.clone(),
            pace: (Instant::now(), s.start_utc()),
            last_progress: Instant::now(),
            noise_rng: world::rng(s.seed, 7),
            unplug_turn: 0,
            waited: Waited::default(),
        })
    }

    fn at(&mut self, t: DateTime<Utc>, ev: Ev) {
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue
            .push(Reverse((t, self.seq, self.events.len() - 1)));
    }

    fn tally(&mut self, zone: usize) -> &mut BookingTally {
        let id = self.site.zones[zone].id.to_string();
        self.record.bookings.entry(id).or_default()
    }

    fn stop_requests(&self, truck: usize, starts: &[DateTime<Utc>]) -> Vec<pb::StopRequest> {
        self.world.trucks[truck]
            .stops
            .iter()
            .zip(starts)
            .map(|(w, start)| pb::StopRequest {
                zone_id: self.site.zones[w.zone].id.to_string(),
                window_start: Some(timestamp(*start)),
                transaction_type: bawaba_grpc::convert::pb_transaction_type(w.transaction_type)
                    as i32,
                container_numbers: w.containers.iter().map(|c| c.as_str().to_owned()).collect(),
            })
            .collect()
    }

    /// The windows a truck asks for when its first stop starts at `first`.
    fn plan(&self, truck: usize, first: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let t = &self.world.trucks[truck];
        let mut out = Vec::new();
        let mut at = first;
        for (i, w) in t.stops.iter().enumerate() {
            let z = &self.zones[w.zone];
            let start = z.window_containing(at);
            out.push(start);
            if i == 0 {
                at = first + TimeDelta::hours(3);
            }
        }
        out
    }

    async fn create(
        &mut self,
        truck: usize,
        key: &str,
        starts: &[DateTime<Utc>],
    ) -> Result<String, tonic::Status> {
        let t = &self.world.trucks[truck];
        let req = pb::CreateBookingRequest {
            idempotency_key: key.into(),
            truck_plate: t.plate.clone(),
            rfid_epc: t.epc.as_deref().map(hex).unwrap_or_default(),
            stops: self.stop_requests(truck, starts),
            company_id: String::new(),
        };
        let c = t.company;
        let r = self.companies[c].bookings.create_booking(req).await?;
        Ok(r.into_inner()
            .booking
            .map(|b| b.booking_id)
            .unwrap_or_default())
    }

    /// Companies book their trucks (in a drawn order), taking FindSlots alternatives when
    /// refused.
    /// The watchlist scenario: before the day the security services put trucks on the
    /// watchlist through `SecurityService` — the first to come among those holding a booking
    /// (every second one that has a tag by its tag, the others by plate), a `deny_share` of
    /// them spread evenly DENY, the rest REFER.
    async fn watch_trucks(&mut self) -> Result<(), SimError> {
        let Some(plan) = self.scenario.watch.clone() else {
            return Ok(());
        };
        let start = self.scenario.start_utc();
        let mut coming: Vec<(DateTime<Utc>, usize)> = (0..self.world.trucks.len())
            .filter(|&i| {
                let b = self.world.trucks[i].behaviour;
                self.trucks[i].booking.is_some() && b.books() && b != Behaviour::NoShow
            })
            .filter_map(|i| Some((self.arrival(i, 0, start)?, i)))
            .collect();
        coming.sort();
        let mut denied = 0;
        for (n, (_, i)) in coming.into_iter().take(plan.trucks).enumerate() {
            let share = |k: usize| (k as f64 * plan.deny_share).floor();
            let deny = share(n + 1) > share(n);
            let t = &self.world.trucks[i];
            let (plate, tag) = match (&t.epc, n % 2) {
                (Some(e), 1) => (String::new(), hex(e)),
                _ => (t.plate.clone(), String::new()),
            };
            let action = if deny {
                pb::WatchAction::Deny
            } else {
                pb::WatchAction::Refer
            };
            let entry = pb::WatchEntry {
                plate,
                tag,
                reason: "wanted by the security services (simulated)".into(),
                action: action as i32,
                ..Default::default()
            };
            let req = pb::AddWatchRequest {
                zone_id: String::new(),
                entry: Some(entry),
            };
            self.security
                .add_watch(req)
                .await
                .map_err(|s| SimError::Setup(format!("the watchlist: {}", s.message())))?;
            self.trucks[i].watched = Some(if deny { "DENY" } else { "REFER" });
            denied += usize::from(deny);
        }
        let watched = self.trucks.iter().filter(|t| t.watched.is_some()).count();
        self.event(
            self.clock.now(),
            &format!(
                "security services: {watched} trucks on the watchlist ({denied} to turn away)"
            ),
        );
        Ok(())
    }

    async fn book_all(&mut self) -> Result<(), SimError> {
        let mut order: Vec<usize> = (0..self.world.trucks.len())
            .filter(|&i| self.world.trucks[i].behaviour.books())
            .collect();
        let mut r = world::rng(self.seed, 2);
        for i in (1..order.len()).rev() {
            let j = r.random_range(0..=i);
            order.swap(i, j);
        }
        let total = order.len().max(1);
        for (n, truck) in order.into_iter().enumerate() {
            if n % 50 == 0 {
                self.progress_note(0.0, &format!("booking {n}/{total}"));
            }
            self.trucks[truck].windows = vec![None; self.world.trucks[truck].stops.len()];
            let preferred = self.world.trucks[truck].preferred;
            let zone0 = self.world.trucks[truck].stops[0].zone;
            let starts = self.plan(truck, preferred);
            match self.create(truck, &format!("t{truck}"), &starts).await {
                Ok(id) => {
                    self.tally(zone0).made += 1;
                    self.booked(truck, id, &starts);
                    continue;
                }
                Err(_) => self.tally(zone0).refused += 1,
            }
            // Alternatives on the day the truck has to come: a window before the run (the
            // evening before, still open to bookings) or after it is another day's traffic.
            let (day_start, day_end) = (self.scenario.start_utc(), self.scenario.end_utc());
            let alts = self
                .free_windows(truck, preferred, |w| w >= day_start && w < day_end)
                .await;
            for (k, a) in alts.into_iter().enumerate() {
                let starts = self.plan(truck, a);
                if let Ok(id) = self
                    .create(truck, &format!("t{truck}-alt{k}"), &starts)
                    .await
                {
                    let tally = self.tally(zone0);
                    tally.made += 1;
                    tally.rebooked += 1;
                    self.booked(truck, id, &starts);
                    break;
                }
            }
        }
        // Every agent holds every booking before the day starts.
        for g in 0..self.gates.len() {
            self.caught_up(g).await;
        }
        self.clock.set(self.scenario.start_utc());
        self.schedule_day();
        Ok(())
    }

    /// The free windows of a truck's first stop that `ok` accepts (FindSlots, as its company),
    /// nearest `preferred` first (what a driver wants), ties: the earlier.
    async fn free_windows(
        &mut self,
        truck: usize,
        preferred: DateTime<Utc>,
        ok: impl Fn(DateTime<Utc>) -> bool,
    ) -> Vec<DateTime<Utc>> {
        let t = &self.world.trucks[truck];
        let req = pb::FindSlotsRequest {
            zone_id: self.site.zones[t.stops[0].zone].id.to_string(),
            transaction_type: bawaba_grpc::convert::pb_transaction_type(t.stops[0].transaction_type)
                as i32,
            preferred: Some(timestamp(preferred)),
            count: 12,
        };
        let windows = self.companies[t.company]
            .slots
            .find_slots(req)
            .await
            .map(|r| r.into_inner().windows)
            .unwrap_or_default();
        let mut alts: Vec<DateTime<Utc>> = windows
            .iter()
            .filter_map(|w| w.start.as_ref().and_then(bawaba_grpc::from_timestamp))
            .filter(|w| ok(*w))
            .collect();
        alts.sort_by_key(|a| ((*a - preferred).num_seconds().abs(), *a));
        alts
    }

    fn booked(&mut self, truck: usize, id: String, starts: &[DateTime<Utc>]) {
        let t = &mut self.trucks[truck];
        t.booking = Some(id);
        t.windows = starts.iter().copied().map(Some).collect();
    }

    /// When a truck turns up for stop `stop` (None: it does not).
    fn arrival(
        &self,
        truck: usize,
        stop: usize,
        not_before: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let t = &self.world.trucks[truck];
        let rt = &self.trucks[truck];
        let u = if stop == 0 {
            t.arrival_u
        } else {
            (t.arrival_u * 7.3).fract()
        };
        if !self.scenario.appointments || !t.behaviour.books() {
            // No appointments: it comes when it likes (its preferred time).
            let at = if stop == 0 { t.preferred } else { not_before };
            return (t.behaviour != Behaviour::NoShow).then_some(at.max(not_before));
        }
        let start = rt.windows.get(stop).copied().flatten()?;
        if rt.cancelled {
            return None;
        }
        let z = &self.zones[t.stops[stop].zone];
        let (from, until) = z.entry_period(start);
        let end = z.window_end(start);
        let span = |(a, b): (DateTime<Utc>, DateTime<Utc>)| {
            a + TimeDelta::seconds(((b - a).num_seconds().max(0) as f64 * u) as i64)
        };
        let behaviour = if stop > 0 && t.behaviour != Behaviour::NoShow {
            Behaviour::OnTime
        } else {
            t.behaviour
        };
        let on_time = (
            start.max(from + TimeDelta::minutes(1)) - TimeDelta::minutes(10).min(start - from),
            end - TimeDelta::minutes(2),
        );
        let within = match behaviour {
            Behaviour::NoShow => return None,
            Behaviour::Early => (from, start),
            Behaviour::LateInGrace => (end, until - TimeDelta::minutes(5)),
            Behaviour::LateBeyondGrace => (
                until + TimeDelta::minutes(5),
                until + TimeDelta::minutes(60),
            ),
            _ => on_time,
        };
        if stop > 0 {
            // Coming from its previous stop: as soon as it gets there, if that is later.
            return Some(span(within).max(not_before));
        }
        // A first stop's arrival falls in what is left of its interval after `not_before`
        // (the run's start, or a move), or of the on-time one: trucks of the first windows
        // do not all pile up at the run's first instant.
        let clamp = |(a, b): (DateTime<Utc>, DateTime<Utc>)| (a.max(not_before), b.max(not_before));
        let left = match clamp(within) {
            (a, b) if b > a => (a, b),
            _ => clamp(on_time),
        };
        Some(span(left))
    }

    fn schedule_day(&mut self) {
        let (start, end) = (self.scenario.start_utc(), self.scenario.end_utc());
        for i in 0..self.world.trucks.len() {
            let t = self.world.trucks[i].clone();
            if t.behaviour.books() && self.trucks[i].booking.is_none() {
                continue; // could not book: it stays away
            }
            if let Some(at) = self.arrival(i, 0, start)
                && at < end
            {
                self.at(
                    at,
                    Ev::Arrive {
                        truck: i,
                        stop: 0,
                        out: false,
                        generation: 0,
                    },
                );
            }
            if self.scenario.appointments
                && (t.move_booking || t.cancel_booking)
                && let Some(Some(w)) = self.trucks[i].windows.first()
            {
                let when = *w - TimeDelta::hours(3);
                if when > start {
                    self.at(when, Ev::Change(i));
                }
            }
        }
        let mut h = start + TimeDelta::hours(1);
        while h <= end {
            self.at(h, Ev::Sweep);
            h += TimeDelta::hours(1);
        }
        if let Some(c) = self.scenario.closure.clone() {
            let t = self.scenario.at_hour(c.announce_hour);
            self.at(t, Ev::ClosureAnnounce);
        }
        if let Some(o) = self.scenario.outage.clone() {
            let (a, b) = (
                self.scenario.at_hour(o.from_hour),
                self.scenario.at_hour(o.from_hour + o.hours),
            );
            self.at(a, Ev::OutageStart);
            self.at(b, Ev::OutageEnd);
        }
        if let Some(n) = self.scenario.noise.clone() {
            let mut t = start + TimeDelta::seconds((n.unplug_every_hours * 1800.0) as i64);
            while t < end {
                let lane = self.unplug_turn % self.lanes.len().max(1);
                self.unplug_turn += 1;
                self.at(t, Ev::Unplug(lane));
                self.at(
                    t + TimeDelta::seconds((n.unplug_minutes * 60.0) as i64),
                    Ev::Replug(lane),
                );
                t += TimeDelta::seconds((n.unplug_every_hours * 3600.0) as i64);
            }
        }
    }

    fn progress_note(&mut self, fraction: f64, msg: &str) {
        if let Some(p) = &self.opts.progress {
            p(fraction, msg);
        }
    }

    async fn play(&mut self) -> Result<(), SimError> {
        let end = self.scenario.end_utc();
        let start = self.scenario.start_utc();
        self.pace = (Instant::now(), start);
        while let Some(Reverse((t, _, idx))) = self.queue.pop() {
            if t >= end {
                break;
            }
            // Pace against real time.
            if self.scenario.speed > 0.0 {
                let sim = (t - self.pace.1).num_milliseconds() as f64 / 1000.0;
                let target =
                    self.pace.0 + Duration::from_secs_f64((sim / self.scenario.speed).max(0.0));
                let now = Instant::now();
                if target > now {
                    tokio::time::sleep(target - now).await;
                    self.waited.pace += target - now;
                }
            }
            self.clock.set(t);
            if self.last_progress.elapsed() > Duration::from_millis(200) {
                self.last_progress = Instant::now();
                let f =
                    (t - start).num_seconds() as f64 / (end - start).num_seconds().max(1) as f64;
                let served = self.record.services.len();
                self.progress_note(f, &format!("{served} passages"));
            }
            let Some(ev) = self.events.get_mut(idx).and_then(Option::take) else {
                continue;
            };
            self.handle(t, ev).await?;
        }
        self.clock.set(end);
        self.progress_note(1.0, "checking the proofs");
        Ok(())
    }

    async fn handle(&mut self, now: DateTime<Utc>, ev: Ev) -> Result<(), SimError> {
        match ev {
            Ev::Arrive {
                truck,
                stop,
                out,
                generation,
            } => {
                if generation != self.trucks[truck].generation || self.trucks[truck].done {
                    return Ok(());
                }
                let zone = self.world.trucks[truck].stops[stop].zone;
                let dir = if out { Direction::Out } else { Direction::In };
                let Some(lane) = self.pick_lane(zone, dir) else {
                    return Ok(());
                };
                self.lanes[lane].queue.push_back(Waiting {
                    truck,
                    stop,
                    arrived: now,
                    ignored: 0,
                });
                if !self.lanes[lane].busy {
                    self.at(now, Ev::Start(lane));
                }
            }
            Ev::Start(lane) => self.start_service(now, lane).await,
            Ev::Decide(lane) => self.decide(now, lane).await,
            Ev::Free(lane) => {
                // The truck has left the reader's field.
                let dev = self.lanes[lane].dev;
                self.live._lanes[dev].reader.set_tags(vec![]);
                self.lanes[lane].busy = false;
                if !self.lanes[lane].queue.is_empty() {
                    self.at(now, Ev::Start(lane));
                }
            }
            Ev::Resolve {
                truck,
                stop,
                lane,
                service,
                passage,
                out,
            } => {
                if !self.scheduler_up {
                    // The operator's console is down too: retry after the outage.
                    self.at(
                        now + TimeDelta::minutes(5),
                        Ev::Resolve {
                            truck,
                            stop,
                            lane,
                            service,
                            passage,
                            out,
                        },
                    );
                    return Ok(());
                }
                self.resolve(now, truck, stop, lane, service, passage, out)
                    .await;
            }
            Ev::Change(truck) => self.change(now, truck).await,
            Ev::Sweep => {
                self.reported(now).await;
                if let Ok(marked) = self.app.sweep_no_shows_due_by(now).await
                    && !marked.is_empty()
                {
                    tracing::debug!(count = marked.len(), "simulated sweep marked no-shows");
                }
            }
            Ev::ClosureAnnounce => self.closure(now).await,
            Ev::OutageStart => {
                self.scheduler_up = false;
                self.live._relay.set_up(false);
                self.event(now, "scheduler unreachable: gate agents decide offline");
            }
            Ev::OutageEnd => {
                self.scheduler_up = true;
                self.live._relay.set_up(true);
                self.event(now, "scheduler back: agents deliver their outboxes");
                // Give the agents' backoff a chance to reconnect before trucks are presented.
                for g in 0..self.gates.len() {
                    self.caught_up(g).await;
                }
            }
            Ev::Unplug(lane) => {
                let dev = self.lanes[lane].dev;
                if self.live._lanes[dev].camera.unplug().await.is_ok() {
                    self.lanes[lane].camera_unplugged = true;
                    let what = format!(
                        "camera of {} {} unplugged",
                        self.site.gates[self.lanes[lane].gate].id, self.lanes[lane].id
                    );
                    self.event(now, &what);
                }
            }
            Ev::Replug(lane) => {
                let dev = self.lanes[lane].dev;
                if self.live._lanes[dev].camera.replug().await.is_ok() {
                    self.lanes[lane].camera_unplugged = false;
                    let what = format!(
                        "camera of {} {} replugged",
                        self.site.gates[self.lanes[lane].gate].id, self.lanes[lane].id
                    );
                    self.event(now, &what);
                }
            }
        }
        Ok(())
    }

    fn event(&mut self, at: DateTime<Utc>, what: &str) {
        self.record.events.push(RunEvent {
            at,
            what: what.into(),
        });
    }

    fn pick_lane(&self, zone: usize, dir: Direction) -> Option<usize> {
        self.gates
            .iter()
            .filter(|g| g.zone == zone)
            .flat_map(|g| g.lanes.iter().copied())
            .filter(|&l| self.lanes[l].direction == dir)
            .min_by_key(|&l| {
                (
                    self.lanes[l].queue.len() + usize::from(self.lanes[l].busy),
                    l,
                )
            })
    }

    /// Waits (real time, bounded) until gate `g`'s replica holds every change of its zone the
    /// scheduler committed — when the link is up.
    async fn caught_up(&mut self, g: usize) {
        if !self.scheduler_up {
            return;
        }
        let zone = self.site.zones[self.gates[g].zone].id.clone();
        let agent = &self.live.agents[self.gates[g].agent];
        let started = Instant::now();
        loop {
            let (seq, _) = agent.replica_state(&zone);
            let online = agent.online.load(Ordering::Relaxed);
            let behind = match self
                .store
                .changes(zone.clone(), seq, 1, self.clock.now())
                .await
            {
                Ok(Changes::Entries { entries, .. }) => !entries.is_empty(),
                _ => true,
            };
            if online && !behind {
                self.waited.catch_up += started.elapsed();
                return;
            }
            if started.elapsed() > Duration::from_secs(20) {
                self.waited.catch_up += started.elapsed();
                tracing::warn!(zone = %zone, seq, online, "agent replica did not catch up in time");
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Has every agent report its mark and waits (real time, bounded) until the scheduler
    /// knows each gate has delivered everything it decided before `t` — when the link is up
    /// (while it is down the marks stay behind and hold the zones' no-shows back, as they
    /// would at a real port). The sweep that follows then marks exactly the no-shows due.
    async fn reported(&mut self, t: DateTime<Utc>) {
        if !self.scheduler_up {
            return;
        }
        for a in &self.live.agents {
            a.report_now();
        }
        let started = Instant::now();
        loop {
            let marks = self.store.reported().await.unwrap_or_default();
            let behind = self
                .site
                .gates
                .iter()
                .find(|g| marks.get(&g.id).is_none_or(|m| *m < t));
            let Some(gate) = behind else {
                break;
            };
            if started.elapsed() > REAL_WAIT {
                tracing::warn!(gate = %gate.id, "the gate did not report up to the sweep in time");
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.waited.catch_up += started.elapsed();
    }

    fn service_rng(&self, truck: usize, stop: usize, out: bool) -> ChaCha8Rng {
        world::rng(
            self.seed,
            1000 + (truck as u64) * 8 + (stop as u64) * 2 + u64::from(out),
        )
    }

    fn camera_view(&self, truck: usize, r: &mut ChaCha8Rng) -> CameraView {
        let reads = &self.scenario.reads;
        let plate = &self.world.trucks[truck].plate;
        let u: f64 = r.random_range(0.0..1.0);
        let mut acc = reads.failed_read_rate;
        if u < acc {
            return CameraView::Failed;
        }
        acc += reads.misread_rate;
        if u < acc
            && let Some(text) = world::confuse(plate, r)
        {
            return CameraView::Confused { text };
        }
        acc += reads.low_confidence_rate;
        if u < acc {
            return CameraView::LowConfidence {
                text: plate.clone(),
            };
        }
        let text = if r.random_bool(reads.arabic_digits_rate) {
            world::arabic_indic(plate)
        } else {
            plate.clone()
        };
        CameraView::Correct {
            text,
            confidence: r.random_range(80..100),
        }
    }

    async fn start_service(&mut self, now: DateTime<Utc>, lane: usize) {
        if self.lanes[lane].busy {
            return;
        }
        let Some(w) = self.lanes[lane].queue.pop_front() else {
            return;
        };
        self.lanes[lane].busy = true;
        let g = self.lanes[lane].gate;
        self.caught_up(g).await;
        let out = self.lanes[lane].direction == Direction::Out;
        let mut r = self.service_rng(w.truck, w.stop, out);
        let mut view = self.camera_view(w.truck, &mut r);
        let dev = self.lanes[lane].dev;
        let garbage = self
            .scenario
            .noise
            .as_ref()
            .is_some_and(|n| self.noise_rng.random_bool(n.garbage_rate));
        let devs = &self.live._lanes[dev];
        // Reads taken before this truck's (repeats of the last tag) do not count for it.
        while !matches!(
            self.gates[g].reads.try_recv(),
            Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
        ) {}
        let mut junk = Vec::new();
        if garbage {
            let len = self.noise_rng.random_range(3..40);
            junk = (0..len).map(|_| self.noise_rng.random()).collect();
            // The reader repeats its tag frames: the noise can only delay one.
            let _ = devs.reader.send_raw(&junk).await;
        }
        let read = match &view {
            CameraView::Correct { text, confidence } => plate_read(Some(text), Some(*confidence)),
            CameraView::Confused { text } => plate_read(Some(text), Some(r.random_range(75..95))),
            CameraView::LowConfidence { text } => {
                plate_read(Some(text), Some(r.random_range(30..60)))
            }
            // The camera read no plate: it says so ("Not defined", confidence 0).
            CameraView::Failed => plate_read(None, Some(0)),
        };
        let first_write = Instant::now();
        let mut last_write = None;
        let mut camera_reads = 0usize;
        let mut garbled = false;
        for i in 0..self.scenario.reads.repeat_reads.max(1) {
            // Line noise goes out with the first frame: the lane gets what its decoder makes
            // of them — the read, nothing, or a garbled read — and the engine waits for that.
            let sent = if i == 0 && !junk.is_empty() {
                devs.camera
                    .send_after_noise(&junk, &read)
                    .await
                    .map(|(at, taken)| {
                        self.record.noise.tally(&read, &taken);
                        garbled |= taken.iter().any(|x| x.plate != read.plate);
                        (at, taken.len())
                    })
            } else {
                devs.camera.send(&read).await.map(|at| (at, 1usize))
            };
            match sent {
                Ok((at, taken)) => {
                    last_write = Some(at);
                    camera_reads += taken;
                }
                Err(_) => break,
            }
        }
        if camera_reads == 0 {
            view = CameraView::Failed;
            if !junk.is_empty() {
                self.record.noise.unread_trucks += 1;
            }
        }
        let t = &self.world.trucks[w.truck];
        let tag = t.carried_epc.clone().or_else(|| t.epc.clone());
        if let Some(tag) = &tag {
            devs.reader.set_tags(vec![tag.clone()]);
        }
        // Wait until the lane has taken in every camera read sent and this truck's tag: they
        // carry this instant of the clock, and the clock moves on only once they are in (so the
        // same seed gives the same decisions).
        let reading = Instant::now();
        let took = lane_took(
            &mut self.gates[g].reads,
            &self.lanes[lane].id,
            camera_reads,
            tag.as_deref(),
        )
        .await;
        self.waited.reads += reading.elapsed();
        let tag_write = devs
            .reader
            .last_write()
            .filter(|_| tag.is_some() && took.is_some());
        let read_ok = view.correct() && t.carried_epc.is_none() && !garbled;
        self.lanes[lane].current = Some(Current {
            w,
            served: now,
            read_ok,
            first_write,
            camera_write: last_write,
            tag_write,
            took,
        });
        self.at(
            now + TimeDelta::milliseconds(FUSION_MS + 1000),
            Ev::Decide(lane),
        );
    }

    /// The lane ignored every read of the truck at its barrier (taken as repeats of the truck
    /// before it): it stays there while the camera goes on reading, and once the hold-off is
    /// over its reads make a passage of their own.
    fn ignored(&mut self, now: DateTime<Utc>, lane: usize, mut w: Waiting) {
        w.ignored += 1;
        self.record.ignored_reads += 1;
        self.lanes[lane].queue.push_front(w);
        self.at(now + TimeDelta::milliseconds(HOLD_OFF_MS), Ev::Free(lane));
    }

    fn drain_passages(&mut self, g: usize) {
        loop {
            match self.gates[g].passages.try_recv() {
                Ok(p) => {
                    self.decided.push(p.clone());
                    if let Some(l) = self.gates[g]
                        .lanes
                        .iter()
                        .copied()
                        .find(|&l| self.lanes[l].id == p.lane)
                    {
                        self.lanes[l].decided.push_back(p);
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    tracing::error!(n, "missed passages of the agent's broadcast");
                }
                Err(_) => return,
            }
        }
    }

    /// Whether the truck may enter stop `stop` at `t`, by the simulator's ground truth.
    fn legit_in(&self, truck: usize, stop: usize, t: DateTime<Utc>, margin: TimeDelta) -> bool {
        let tr = &self.world.trucks[truck];
        let rt = &self.trucks[truck];
        if !tr.behaviour.books() || rt.cancelled || rt.booking.is_none() {
            return false;
        }
        let Some(Some(start)) = rt.windows.get(stop) else {
            return false;
        };
        let z = &self.zones[tr.stops[stop].zone];
        let (from, until) = z.entry_period(*start);
        t >= from + margin && t < until - margin
    }

    async fn decide(&mut self, now: DateTime<Utc>, lane: usize) {
        let Some(cur) = self.lanes[lane].current.take() else {
            return;
        };
        let g = self.lanes[lane].gate;
        if cur.took == Some(Took::Ignored) && cur.w.ignored < MAX_IGNORED {
            self.ignored(now, lane, cur.w);
            return;
        }
        let started = Instant::now();
        let passage = loop {
            if matches!(cur.took, Some(Took::Ignored | Took::Nothing)) {
                break None;
            }
            self.drain_passages(g);
            let truck = &self.world.trucks[cur.w.truck];
            let tag = truck.carried_epc.as_ref().or(truck.epc.as_ref());
            let skeleton = bawaba_domain::plate::Plate::parse(&truck.plate)
                .map(|p| p.skeleton())
                .unwrap_or_default();
            // This truck's passage: its plate (up to confusable characters), its tag, or
            // nothing read at all. Others are late reads of the previous truck.
            let mine = |p: &Passage| {
                p.plate.as_ref().is_some_and(|x| x.skeleton() == skeleton)
                    || (tag.is_some()
                        && p.epc.as_ref().map(|e| e.as_bytes()) == tag.map(|t| &t[..]))
                    || (p.plate.is_none() && p.epc.is_none())
            };
            if let Some(i) = self.lanes[lane].decided.iter().position(mine) {
                break self.lanes[lane].decided.remove(i);
            }
            if started.elapsed() > REAL_WAIT {
                break None;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        // Other passages of this lane (late reads of an earlier truck) count for the proofs only.
        self.lanes[lane].decided.clear();
        let out = self.lanes[lane].direction == Direction::Out;
        let mut r = self.service_rng(cur.w.truck, cur.w.stop, out);
        let _ = r.random::<u64>();
        let g_model = self.scenario.gate.clone();
        let service = TimeDelta::seconds(i64::from(
            r.random_range(g_model.service_secs[0]..=g_model.service_secs[1]),
        ));
        let turn_away = TimeDelta::seconds(i64::from(g_model.turn_away_secs));
        let verdict = passage.as_ref().map(|p| p.verdict);
        let mut latency_us = None;
        self.waited.decisions += started.elapsed();
        let started = Instant::now();
        if verdict == Some(Verdict::Allow) {
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                match tokio::time::timeout_at(deadline.into(), self.lanes[lane].barrier.recv())
                    .await
                {
                    Ok(Ok((at, _))) if at >= cur.first_write => {
                        // From the last read written before the pulse.
                        let read = [cur.camera_write, cur.tag_write]
                            .into_iter()
                            .flatten()
                            .filter(|w| *w <= at)
                            .max();
                        latency_us = read.map(|w| at.duration_since(w).as_micros() as u64);
                        break;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                    _ => break,
                }
            }
        }
        self.waited.barrier += started.elapsed();
        let left = match verdict {
            Some(Verdict::Allow) => (cur.served + service).max(now),
            _ => now + turn_away,
        };
        let gate = &self.site.gates[g];
        let zone = self.world.trucks[cur.w.truck].stops[cur.w.stop].zone;
        let service_idx = self.record.services.len();
        self.record.services.push(LaneService {
            truck: cur.w.truck,
            zone: self.site.zones[zone].id.to_string(),
            gate: gate.id.to_string(),
            lane: self.lanes[lane].id.to_string(),
            direction: dir_str(self.lanes[lane].direction).into(),
            arrived: cur.w.arrived,
            served: cur.served,
            left,
            verdict,
            reasons: passage
                .as_ref()
                .map(|p| p.reasons.clone())
                .unwrap_or_default(),
            offline: passage.as_ref().is_some_and(|p| p.offline),
            latency_us,
            approved_by_operator: false,
            read_ok: cur.read_ok,
            legit: if out {
                self.trucks[cur.w.truck].inside == Some(cur.w.stop)
            } else {
                self.legit_in(cur.w.truck, cur.w.stop, cur.served, TimeDelta::zero())
            },
            clear_case: !out
                && cur.read_ok
                && self.legit_in(cur.w.truck, cur.w.stop, cur.served, TimeDelta::seconds(30)),
        });
        self.at(left, Ev::Free(lane));
        match (verdict, passage) {
            (Some(Verdict::Allow), _) => self.passed(left, cur.w.truck, cur.w.stop, out),
            (Some(Verdict::Refer), Some(p)) => {
                let d = &g_model.operator_delay_secs;
                let delay = TimeDelta::seconds(i64::from(r.random_range(d[0]..=d[1])));
                self.at(
                    now + delay,
                    Ev::Resolve {
                        truck: cur.w.truck,
                        stop: cur.w.stop,
                        lane,
                        service: service_idx,
                        passage: p.id,
                        out,
                    },
                );
            }
            _ => {
                if out {
                    // Denied at the exit: it stays inside (recorded).
                }
            }
        }
    }

    /// The truck went through a barrier at `t`.
    fn passed(&mut self, t: DateTime<Utc>, truck: usize, stop: usize, out: bool) {
        let gm = self.scenario.gate.clone();
        let mut r = world::rng(
            self.seed,
            500_000 + (truck as u64) * 8 + (stop as u64) * 2 + u64::from(out),
        );
        let generation = self.trucks[truck].generation;
        if !out {
            self.trucks[truck].inside = Some(stop);
            let stay = TimeDelta::minutes(i64::from(
                r.random_range(gm.stay_minutes[0]..=gm.stay_minutes[1]),
            ));
            self.at(
                t + stay,
                Ev::Arrive {
                    truck,
                    stop,
                    out: true,
                    generation,
                },
            );
        } else {
            self.trucks[truck].inside = None;
            let next = stop + 1;
            if next < self.world.trucks[truck].stops.len() {
                let travel = TimeDelta::minutes(i64::from(
                    r.random_range(gm.travel_minutes[0]..=gm.travel_minutes[1]),
                ));
                if let Some(at) = self.arrival(truck, next, t + travel)
                    && at < self.scenario.end_utc()
                {
                    self.at(
                        at,
                        Ev::Arrive {
                            truck,
                            stop: next,
                            out: false,
                            generation,
                        },
                    );
                }
            } else {
                self.trucks[truck].done = true;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn resolve(
        &mut self,
        now: DateTime<Utc>,
        truck: usize,
        stop: usize,
        lane: usize,
        service: usize,
        passage: PassageId,
        out: bool,
    ) {
        let approve = self.record.services[service].legit;
        // Approving, the operator names the booking on the driver's slip: the gate may have
        // matched none (no plate read) or another truck's (a cloned tag).
        let req = pb::ResolveReferralRequest {
            event_id: passage.to_string(),
            approve,
            reason: if approve {
                "operator checked the papers".into()
            } else {
                "no valid booking for this truck".into()
            },
            booking_id: if approve {
                self.trucks[truck].booking.clone().unwrap_or_default()
            } else {
                String::new()
            },
        };
        let started = Instant::now();
        let mut done = false;
        while started.elapsed() < REAL_WAIT {
            match self.operator.resolve_referral(req.clone()).await {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(s) if s.code() == tonic::Code::NotFound => {
                    // Not delivered by the agent yet.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(s) => {
                    tracing::warn!(code = ?s.code(), message = s.message(), "operator could not resolve a referral");
                    break;
                }
            }
        }
        if !(done && approve) {
            return;
        }
        // The scheduler tells the gate to open: wait for the pulse on the lane's barrier (as
        // long as for any other thing an agent must do: on a loaded machine — two whole days
        // played at once on two cores — three seconds were once not enough).
        let deadline = Instant::now() + REAL_WAIT;
        let mut pulsed = false;
        while let Ok(r) =
            tokio::time::timeout_at(deadline.into(), self.lanes[lane].barrier.recv()).await
        {
            if r.is_ok() {
                pulsed = true;
                break;
            }
        }
        if pulsed {
            self.record.services[service].approved_by_operator = true;
            self.passed(now, truck, stop, out);
        } else {
            tracing::warn!(lane, "approved referral did not open the barrier");
        }
    }

    async fn change(&mut self, now: DateTime<Utc>, truck: usize) {
        if !self.scheduler_up || self.trucks[truck].cancelled {
            return;
        }
        let Some(id) = self.trucks[truck].booking.clone() else {
            return;
        };
        let t = self.world.trucks[truck].clone();
        let zone0 = t.stops[0].zone;
        let c = t.company;
        if t.cancel_booking {
            if self.companies[c]
                .bookings
                .cancel_booking(pb::CancelBookingRequest {
                    booking_id: id,
                    reason: "plans changed".into(),
                })
                .await
                .is_ok()
            {
                self.tally(zone0).cancelled += 1;
                self.trucks[truck].cancelled = true;
                self.trucks[truck].generation += 1;
            }
            return;
        }
        if t.stops.len() > 1 {
            return;
        }
        let Some(Some(old)) = self.trucks[truck].windows.first().copied() else {
            return;
        };
        let preferred = old + TimeDelta::hours(2);
        if self.move_to(now, truck, preferred, |w| w != old).await {
            self.tally(zone0).moved += 1;
        }
    }

    /// Moves a truck's first stop to the free window nearest `preferred` that `ok` accepts;
    /// schedules its new arrival.
    async fn move_to(
        &mut self,
        now: DateTime<Utc>,
        truck: usize,
        preferred: DateTime<Utc>,
        ok: impl Fn(DateTime<Utc>) -> bool,
    ) -> bool {
        let Some(id) = self.trucks[truck].booking.clone() else {
            return false;
        };
        let company = self.world.trucks[truck].company;
        for a in self.free_windows(truck, preferred, ok).await {
            let r = self.companies[company]
                .bookings
                .move_booking(pb::MoveBookingRequest {
                    booking_id: id.clone(),
                    stop_index: 0,
                    new_window_start: Some(timestamp(a)),
                })
                .await;
            if r.is_ok() {
                let rt = &mut self.trucks[truck];
                if let Some(w) = rt.windows.first_mut() {
                    *w = Some(a);
                }
                rt.generation += 1;
                let generation = rt.generation;
                if let Some(at) = self.arrival(truck, 0, now)
                    && at < self.scenario.end_utc()
                {
                    self.at(
                        at,
                        Ev::Arrive {
                            truck,
                            stop: 0,
                            out: false,
                            generation,
                        },
                    );
                }
                return true;
            }
        }
        false
    }

    /// The bookings of zone `zi` still booked in a window that overlaps `[from, to)`, as the
    /// authority lists them.
    async fn hit_bookings(
        &mut self,
        zi: usize,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<pb::Booking>, tonic::Status> {
        let zone = &self.site.zones[zi];
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .authority
                .bookings
                .list_bookings(pb::ListBookingsRequest {
                    page_size: 500,
                    page_token,
                    zone_id: zone.id.to_string(),
                    state: pb::BookingState::Booked as i32,
                    window_from: Some(timestamp(zone.window_containing(from))),
                    window_to: Some(timestamp(to)),
                    company_id: String::new(),
                })
                .await?
                .into_inner();
            out.extend(page.bookings);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    async fn closure(&mut self, now: DateTime<Utc>) {
        let Some(c) = self.scenario.closure.clone() else {
            return;
        };
        let Some(zi) = self.site.zones.iter().position(|z| z.id.as_str() == c.zone) else {
            tracing::warn!(zone = %c.zone, "closure of a zone the site does not have");
            return;
        };
        let (from, to) = (
            self.scenario.at_hour(c.from_hour),
            self.scenario.at_hour(c.from_hour + c.hours),
        );
        let setting = self
            .site
            .alert_zones
            .iter()
            .find(|a| a.takes.zone == c.zone);
        let Some(alert_zone) = setting.map(|a| &a.takes) else {
            tracing::error!(zone = %c.zone, "the closed zone takes no alerts (no [zones.alerts] outline)");
            return;
        };
        let warning = Warning {
            identifier: &format!("sim-{}-{}", self.seed, c.zone),
            zone: alert_zone,
            sent: now,
            onset: from,
            expires: to,
            headline: &c.reason,
        };
        let answer = match self.alert_feed.post(warning.xml()).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "the early warning's alert was not taken");
                return;
            }
        };
        let effect = answer["zones"]
            .as_array()
            .and_then(|zs| zs.iter().find(|z| z["zone"] == c.zone.as_str()))
            .and_then(|z| z["effect"].as_str())
            .unwrap_or("nothing");
        if effect != "closed" {
            tracing::error!(%answer, "the early warning's alert did not close the zone");
            return;
        }
        let affected = match self.hit_bookings(zi, from, to).await {
            Ok(b) => b,
            Err(s) => {
                tracing::error!(
                    message = s.message(),
                    "the authority could not list the bookings the closure hit"
                );
                return;
            }
        };
        self.event(
            now,
            &format!(
                "early warning (CAP alert to /api/cap): {} closed {}–{} ({}): {} bookings affected",
                c.zone,
                from.with_timezone(&chrono_tz::Asia::Amman).format("%H:%M"),
                to.with_timezone(&chrono_tz::Asia::Amman).format("%H:%M"),
                c.reason,
                affected.len()
            ),
        );
        let by_booking: HashMap<String, usize> = self
            .trucks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.booking.clone().map(|b| (b, i)))
            .collect();
        let mut moved = 0;
        let mut cancelled = 0;
        self.tally(zi).closure_hit += affected.len() as u64;
        for b in affected {
            let Some(&truck) = by_booking.get(&b.booking_id) else {
                tracing::warn!(booking = %b.booking_id, "closure affects a booking no simulated truck holds");
                continue;
            };
            if self.trucks[truck].cancelled {
                continue;
            }
            let single = self.world.trucks[truck].stops.len() == 1
                && self.world.trucks[truck].stops[0].zone == zi;
            let before = self.trucks[truck].windows.first().copied().flatten();
            if single && self.move_to(now, truck, to, |w| w >= to).await {
                moved += 1;
                let after = self.trucks[truck].windows.first().copied().flatten();
                let delay = match (before, after) {
                    (Some(b), Some(a)) => (a - b).num_minutes().max(0).unsigned_abs(),
                    _ => 0,
                };
                let t = self.tally(zi);
                t.moved += 1;
                t.closure_moved += 1;
                t.closure_delay_minutes += delay;
                continue;
            }
            let c = self.world.trucks[truck].company;
            let r = self.companies[c]
                .bookings
                .cancel_booking(pb::CancelBookingRequest {
                    booking_id: b.booking_id.clone(),
                    reason: "zone closed".into(),
                })
                .await;
            if let Err(s) = &r {
                tracing::warn!(booking = %b.booking_id, code = ?s.code(), message = s.message(), "a company could not cancel a booking the closure hit");
            }
            if r.is_ok() {
                cancelled += 1;
                let t = self.tally(zi);
                t.cancelled += 1;
                t.closure_cancelled += 1;
                self.trucks[truck].cancelled = true;
                self.trucks[truck].generation += 1;
            }
        }
        self.event(
            now,
            &format!("companies moved {moved} and cancelled {cancelled} bookings"),
        );
    }

    async fn finish(&mut self, wall: Instant) -> Result<RunRecord, SimError> {
        // Trucks still at a lane: decide them (their reads were sent).
        for l in 0..self.lanes.len() {
            if self.lanes[l].current.is_some() {
                let t = self.clock.now();
                self.clock
                    .set(t + TimeDelta::milliseconds(FUSION_MS + 1000));
                self.decide(self.clock.now(), l).await;
            }
        }
        // Every outbox delivered (bounded).
        let started = Instant::now();
        while self.live.agents.iter().any(|a| a.outbox_len() > 0)
            && started.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for g in 0..self.gates.len() {
            self.drain_passages(g);
        }
        let end = self.scenario.end_utc();
        self.reported(end).await;
        let _ = self.app.sweep_no_shows_due_by(end).await;

        let mut bookings: BTreeMap<String, Booking> = BTreeMap::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_bookings(BookingFilter::default(), after, 1000)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for b in page {
                bookings.insert(b.id.to_string(), b);
            }
        }
        let mut passages = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.passages(None, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            passages.extend(page);
        }

        // Zones: capacity per hour (as configured) and bookings held.
        let start = self.scenario.start_utc();
        let hours = ((end - start).num_minutes() as f64 / 60.0).ceil() as usize;
        for (zi, z) in self.site.zones.iter().enumerate() {
            let mut cap = vec![0u32; hours];
            let mut booked = vec![0u32; hours];
            let mut t = z.window_containing(start);
            while t < end {
                if t >= start {
                    let h = ((t - start).num_minutes() / 60) as usize;
                    if let Some(c) = cap.get_mut(h) {
                        *c += z.capacity(t).total;
                    }
                }
                t = z.window_end(t);
            }
            if let Ok(windows) = self
                .store
                .list_windows(self.zones[zi].id.clone(), start, end, 10_000)
                .await
            {
                for w in windows {
                    if w.start >= start {
                        let h = ((w.start - start).num_minutes() / 60) as usize;
                        if let Some(b) = booked.get_mut(h) {
                            *b += w.booked;
                        }
                    }
                }
            }
            self.record.zones.push(ZoneInfo {
                id: z.id.to_string(),
                name: z.name.clone(),
                name_ar: z.name_ar.clone(),
                hourly_capacity: cap,
                hourly_booked: booked,
            });
        }
        self.record.trucks = self
            .world
            .trucks
            .iter()
            .zip(&self.trucks)
            .map(|(t, rt)| TruckInfo {
                company: self.world.companies[t.company].id.clone(),
                plate: t.plate.clone(),
                epc: t.epc.as_deref().map(hex),
                booking: rt.booking.clone(),
                behaviour: if rt.cancelled {
                    "cancelled".into()
                } else if t.behaviour.books() && rt.booking.is_none() {
                    "unbooked".into()
                } else {
                    t.behaviour.as_str().into()
                },
                no_show: t.behaviour == Behaviour::NoShow,
                watched: rt.watched.map(Into::into),
            })
            .collect();
        self.record.no_shows = self
            .store
            .no_shows()
            .await?
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect();

        self.record.proofs = proofs::check(&proofs::Evidence {
            zones: &self.zones,
            record: &self.record,
            bookings: &bookings,
            decided: &self.decided,
            delivered: &passages,
            start,
            end,
            store: &self.store,
        })
        .await;
        self.record.wall_seconds = wall.elapsed().as_secs_f64();
        let w = &self.waited;
        tracing::info!(
            wall_s = self.record.wall_seconds,
            pace_s = w.pace.as_secs_f64(),
            catch_up_s = w.catch_up.as_secs_f64(),
            reads_s = w.reads.as_secs_f64(),
            decisions_s = w.decisions.as_secs_f64(),
            barrier_s = w.barrier.as_secs_f64(),
            services = self.record.services.len(),
            "where the run's real time went"
        );
        Ok(self.record.clone())
    }
}

/// What a lane made of a truck's reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Took {
    /// A passage is coming: decided, or gathered until its window closes.
    Passage,
    /// Every read was ignored (a repeat of the truck before, within the hold-off) and nothing
    /// is pending: no passage is coming.
    Ignored,
    /// No read reached the lane (the camera read nothing and the truck has no tag): no passage
    /// is coming, now or later.
    Nothing,
}

/// Waits (real time, at most [`REAL_WAIT`]) until lane `lane` has taken in `camera_reads`
/// camera reads and, if given, a read of tag `epc` (as its agent's `reads` tell); says what it
/// made of them (none: it did not take them all in time).
async fn lane_took(
    reads: &mut broadcast::Receiver<LaneRead>,
    lane: &LaneId,
    mut camera_reads: usize,
    mut epc: Option<&[u8]>,
) -> Option<Took> {
    if camera_reads == 0 && epc.is_none() {
        return Some(Took::Nothing);
    }
    let deadline = tokio::time::Instant::now() + REAL_WAIT;
    let (mut decided, mut pending) = (0, false);
    while camera_reads > 0 || epc.is_some() {
        match tokio::time::timeout_at(deadline, reads.recv()).await {
            Ok(Ok(r)) if r.lane == *lane => {
                match r.kind {
                    ReadKind::Plate { .. } => camera_reads = camera_reads.saturating_sub(1),
                    ReadKind::Tag(e) if Some(e.as_bytes()) == epc => epc = None,
                    ReadKind::Tag(_) => continue,
                }
                decided += r.decided;
                pending = r.pending;
            }
            Ok(Ok(_)) => {}
            Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                tracing::warn!(n, "missed reads of the agent's broadcast");
            }
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                tracing::warn!(%lane, camera_reads, tag = epc.is_some(), "the lane did not take in the truck's reads in time");
                return None;
            }
        }
    }
    Some(if decided == 0 && !pending {
        Took::Ignored
    } else {
        Took::Passage
    })
}

fn plate_read(plate: Option<&str>, confidence: Option<u8>) -> PlateRead {
    PlateRead {
        camera_time: None,
        lane: None,
        plate: plate.map(str::to_owned),
        confidence,
        country: None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn dir_str(d: Direction) -> &'static str {
    match d {
        Direction::In => "IN",
        Direction::Out => "OUT",
    }
}

/// Whether a booking state counts against capacity.
pub(crate) fn holds_capacity(s: BookingState) -> bool {
    !matches!(s, BookingState::Cancelled)
}

/// Each company's trucks in its fleet (the plate and the truck's own tag), as companies keep
/// them: the operator's referral card names whose truck a tag read is (a cloned tag's owner).
async fn fleets(app: &App<SledStore>, world: &world::World) -> Result<(), SimError> {
    let authority = Principal::new(Role::Authority, None, None)?;
    let failed = |e: String| SimError::Setup(format!("the fleets: {e}"));
    for chunk in world.trucks.chunks(64) {
        let mut saving = tokio::task::JoinSet::new();
        for t in chunk {
            let company = CompanyId::parse(&world.companies[t.company].id)?;
            let details = bawaba_app::TruckDetails {
                plate: bawaba_domain::plate::Plate::parse(&t.plate)?,
                epc: t
                    .epc
                    .as_deref()
                    .map(bawaba_domain::epc::Epc::from_bytes)
                    .transpose()?,
                driver: String::new(),
                phone: None,
            };
            let (app, p) = (app.clone(), authority.clone());
            saving.spawn(async move { app.save_truck(&p, Some(company), details).await });
        }
        while let Some(done) = saving.join_next().await {
            done.map_err(|e| failed(e.to_string()))?
                .map_err(|e| failed(e.to_string()))?;
        }
    }
    Ok(())
}

/// A portal account for the run's first company (its admin), with a fresh password, added to
/// the tokens file: the demo's company side can be tried in a browser.
async fn portal_account(
    app: &App<SledStore>,
    world: &world::World,
    tokens_file: &Path,
) -> Result<(), SimError> {
    let Some(c) = world.companies.first() else {
        return Ok(());
    };
    let mut secret = [0u8; 9];
    getrandom::fill(&mut secret).map_err(|e| SimError::Setup(format!("random source: {e}")))?;
    let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let login = format!("{}.admin", c.id);
    let authority = Principal::new(Role::Authority, None, None)?;
    let new = bawaba_app::NewAccount {
        login: bawaba_domain::account::Login::parse(&login)?,
        name: format!("{} admin", c.id),
        admin: true,
        password: password.clone(),
    };
    app.create_account(&authority, Some(CompanyId::parse(&c.id)?), new)
        .await
        .map_err(|e| SimError::Setup(format!("the portal account: {e}")))?;
    let mut listing =
        std::fs::read_to_string(tokens_file).map_err(|e| SimError::io(tokens_file, e))?;
    listing.push_str(&format!(
        "# The portal (log in at /login with a login name and password):\nportal_login = \"{login}\"\nportal_password = \"{password}\"\n"
    ));
    std::fs::write(tokens_file, listing).map_err(|e| SimError::io(tokens_file, e))
}
