//! The gate agent at run time: one task per lane (reads → decision → durable outbox →
//! barrier), and three link tasks to the scheduler: the sync stream (replica and cursor), the
//! uplink (outbox → ReportPassages, removed only once acknowledged) and the command stream
//! (operators' approvals pulse a barrier). The lanes never wait on the network: offline, they
//! decide from the replica, and the outbox delivers everything when the link returns.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bawaba_domain::epc::Epc;
use bawaba_domain::gate::{LaneLogic, Read, ReadKind, Replica};
use bawaba_domain::ids::{LaneId, PassageId};
use bawaba_domain::ledger::{Booking, ChangeEntry};
use bawaba_domain::passage::{Passage, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_grpc::client::{BearerToken, channel_tls};
use bawaba_grpc::{convert as cv, pb};
use bawaba_store::{AgentStore, SyncUpdate};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::{AgentConfig, LaneSetup};
use crate::devices::{
    Barrier, BarrierFault, CameraRead, Clock, TagRead, spawn_barrier, spawn_camera, spawn_rfid,
};
use crate::serial::StatsHandle;

mod uplink;
use uplink::{Deciding, uplink_loop};

const BACKOFF_START: Duration = Duration::from_millis(500);

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("agent store: {0}")]
    Store(#[from] bawaba_store::Error),
    #[error("stored replica: {0}")]
    Replica(#[from] bawaba_domain::Error),
    #[error("{0}")]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// Counters of one agent, cheap to read (for metrics and tests).
#[derive(Debug, Default)]
pub struct AgentCounters {
    pub allowed: AtomicU64,
    pub denied: AtomicU64,
    pub referred: AtomicU64,
    /// Passages that could not be written to the outbox (the barrier stayed closed).
    pub unrecorded: AtomicU64,
    pub barrier_faults: AtomicU64,
    pub reported: AtomicU64,
    pub unreadable_plates: AtomicU64,
    /// When the last sync message was applied (Unix milliseconds, agent clock; 0: never).
    pub last_sync_ms: AtomicU64,
    /// The zone's latest change as of the last sync message (the replica lags it by this
    /// minus its cursor).
    pub head_seq: AtomicU64,
}

/// What the rest of the process (metrics, tests) can see of a running agent.
#[derive(Debug)]
pub struct AgentHandle {
    pub online: Arc<AtomicBool>,
    pub counters: Arc<AgentCounters>,
    outbox: Arc<Mutex<VecDeque<Passage>>>,
    replica: Arc<RwLock<Replica>>,
    /// Per lane: camera, reader, barrier counters.
    pub devices: Vec<(LaneId, Vec<(&'static str, StatsHandle)>)>,
    /// Every passage the lanes decided, once recorded in the outbox (for the simulator and
    /// live views; nobody needs to listen).
    pub passages: tokio::sync::broadcast::Sender<Passage>,
    /// Every read a lane has taken into its decision logic, once taken (for the simulator,
    /// which must know a truck's reads are in before it moves the clock on; nobody needs to
    /// listen, and nothing is cloned while nobody does).
    pub reads: tokio::sync::broadcast::Sender<LaneRead>,
    /// The agent's Prometheus metrics (served at `[metrics] listen`).
    pub metrics: Arc<crate::metrics::AgentMetrics>,
    report_now: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AgentHandle {
    /// Has the uplink report the gate's mark now (it does at least every 30 s of the agent's
    /// clock by itself), for whoever needs the scheduler to know it promptly (the simulator
    /// before its no-show sweep).
    pub fn report_now(&self) {
        self.report_now.notify_one();
    }

    /// Passages not yet acknowledged by the scheduler.
    pub fn outbox_len(&self) -> usize {
        self.outbox.lock().map_or(0, |o| o.len())
    }

    /// The replica's cursor in the agent's zone and its size.
    pub fn replica_state(&self, zone: &bawaba_domain::ids::ZoneId) -> (u64, usize) {
        self.replica
            .read()
            .map_or((0, 0), |r| (r.seq(zone), r.len()))
    }

    /// Waits for every task to end (after shutdown).
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// A read as a lane took it: which lane, what was read, and where the lane stands after it.
#[derive(Debug, Clone)]
pub struct LaneRead {
    pub lane: LaneId,
    pub kind: ReadKind,
    /// Passages the read decided (a truck's evidence complete, or another truck come).
    pub decided: usize,
    /// Whether a passage is being gathered after it (decided when its window closes). A read
    /// that decided nothing and left nothing pending was ignored (a repeat within the
    /// hold-off).
    pub pending: bool,
}

/// Shared by the lane and link tasks.
struct Shared {
    cfg: AgentConfig,
    store: AgentStore,
    replica: Arc<RwLock<Replica>>,
    outbox: Arc<Mutex<VecDeque<Passage>>>,
    outbox_ready: Notify,
    /// Wakes the uplink to report the gate's mark now (see [`AgentHandle::report_now`]).
    report_now: Arc<Notify>,
    /// The lanes' decisions under way: the report mark stays below them.
    deciding: Deciding,
    online: Arc<AtomicBool>,
    counters: Arc<AgentCounters>,
    clock: Clock,
    shutdown: watch::Receiver<bool>,
    decided: tokio::sync::broadcast::Sender<Passage>,
    reads: tokio::sync::broadcast::Sender<LaneRead>,
    metrics: Arc<crate::metrics::AgentMetrics>,
}

fn random_u128() -> u128 {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    u128::from_be_bytes(b)
}

/// Starts the agent: opens its store, restores the replica and the outbox, starts the
/// devices, the lanes and the link. Runs until `shutdown` becomes true.
pub fn start(
    cfg: AgentConfig,
    clock: Clock,
    shutdown: watch::Receiver<bool>,
) -> Result<AgentHandle, AgentError> {
    let store = AgentStore::open(&cfg.data_dir)?;
    let state = store.load()?;
    let replica = Replica::restore(state.zones, state.seqs, state.bookings, state.local);
    tracing::info!(
        gate = %cfg.gate,
        zone = %cfg.zone,
        bookings = replica.len(),
        cursor = replica.seq(&cfg.zone),
        outbox = state.outbox.len(),
        "gate agent starting"
    );
    let shared = Arc::new(Shared {
        store,
        replica: Arc::new(RwLock::new(replica)),
        outbox: Arc::new(Mutex::new(state.outbox.into())),
        outbox_ready: Notify::new(),
        report_now: Arc::default(),
        deciding: Deciding::default(),
        online: Arc::new(AtomicBool::new(false)),
        counters: Arc::default(),
        clock,
        shutdown,
        cfg,
        decided: tokio::sync::broadcast::channel(4096).0,
        reads: tokio::sync::broadcast::channel(4096).0,
        metrics: Arc::default(),
    });
    let mut tasks = Vec::new();
    let mut devices = Vec::new();
    let mut commands = BTreeMap::new();
    for lane in shared.cfg.lanes.clone() {
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        commands.insert(lane.logic.lane.clone(), cmd_tx);
        let (stats, task) = start_lane(&shared, lane.clone(), cmd_rx);
        devices.push((lane.logic.lane.clone(), stats));
        tasks.push(task);
    }
    tasks.push(tokio::spawn(sync_loop(Arc::clone(&shared))));
    tasks.push(tokio::spawn(uplink_loop(Arc::clone(&shared))));
    tasks.push(tokio::spawn(command_loop(Arc::clone(&shared), commands)));
    shared.metrics.attach(crate::metrics::AgentView {
        zone: shared.cfg.zone.clone(),
        online: Arc::clone(&shared.online),
        counters: Arc::clone(&shared.counters),
        outbox: Arc::clone(&shared.outbox),
        replica: Arc::clone(&shared.replica),
        devices: devices.clone(),
    });
    if let Some(addr) = shared.cfg.metrics_listen {
        let metrics = Arc::clone(&shared.metrics);
        tasks.push(crate::metrics::serve(
            addr,
            metrics,
            shared.shutdown.clone(),
        )?);
    }
    Ok(AgentHandle {
        metrics: Arc::clone(&shared.metrics),
        online: Arc::clone(&shared.online),
        counters: Arc::clone(&shared.counters),
        outbox: Arc::clone(&shared.outbox),
        replica: Arc::clone(&shared.replica),
        devices,
        passages: shared.decided.clone(),
        reads: shared.reads.clone(),
        report_now: Arc::clone(&shared.report_now),
        tasks,
    })
}

type LaneStats = Vec<(&'static str, StatsHandle)>;

fn start_lane(
    shared: &Arc<Shared>,
    lane: LaneSetup,
    commands: mpsc::Receiver<()>,
) -> (LaneStats, tokio::task::JoinHandle<()>) {
    let (cam_tx, cam_rx) = mpsc::channel(256);
    let (tag_tx, tag_rx) = mpsc::channel(1024);
    let camera = spawn_camera(
        lane.camera.clone(),
        Arc::clone(&shared.clock),
        cam_tx,
        shared.shutdown.clone(),
    );
    let mut stats = vec![("camera", camera.stats.clone())];
    if let Some(r) = lane.reader.clone() {
        let reader = spawn_rfid(
            r,
            Arc::clone(&shared.clock),
            tag_tx,
            shared.shutdown.clone(),
        );
        stats.push(("reader", reader.stats.clone()));
    }
    let (barrier, barrier_task) = spawn_barrier(lane.barrier.clone(), shared.shutdown.clone());
    stats.push(("barrier", barrier_task.stats.clone()));
    let task = tokio::spawn(lane_loop(
        Arc::clone(shared),
        lane,
        barrier,
        cam_rx,
        tag_rx,
        commands,
    ));
    (stats, task)
}

fn camera_read(shared: &Shared, r: CameraRead) -> Read {
    let plate = r.read.plate.as_deref().and_then(|p| match Plate::parse(p) {
        Ok(p) => Some(p),
        Err(e) => {
            shared.counters.unreadable_plates.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "camera sent a plate that is not one; taken as a failed read");
            None
        }
    });
    Read {
        at: r.at,
        kind: ReadKind::Plate {
            plate,
            confidence: r.read.confidence,
        },
    }
}

fn tag_read(t: TagRead) -> Option<Read> {
    match Epc::from_bytes(&t.epc) {
        Ok(epc) => Some(Read {
            at: t.at,
            kind: ReadKind::Tag(epc),
        }),
        Err(e) => {
            tracing::debug!(error = %e, "reader sent a tag id that is not an EPC");
            None
        }
    }
}

async fn lane_loop(
    shared: Arc<Shared>,
    lane: LaneSetup,
    barrier: Barrier,
    mut cameras: mpsc::Receiver<CameraRead>,
    mut tags: mpsc::Receiver<TagRead>,
    mut commands: mpsc::Receiver<()>,
) {
    let mut logic = LaneLogic::new(lane.logic.clone());
    // When the lane's latest read arrived: where a decision's latency starts.
    let mut last_read = std::time::Instant::now();
    let mut shutdown = shared.shutdown.clone();
    let mut new_id = || PassageId::new(shared.clock.now(), random_u128());
    loop {
        // The fusion deadline is an instant of the agent's clock (real or simulated).
        let deadline = match logic.deadline() {
            Some(d) => shared.clock.sleep_until(d),
            None => Box::pin(std::future::pending()),
        };
        // Reads already received go before the fusion deadline: a read stamped before the
        // window closed belongs to it (and on_read closes a window a later read finds past).
        let read = tokio::select! {
            biased;
            Some(r) = cameras.recv() => {
                last_read = r.received_at;
                Some(camera_read(&shared, r))
            }
            Some(t) = tags.recv() => {
                last_read = t.received_at;
                tag_read(t)
            }
            () = deadline => None,
            Some(()) = commands.recv() => {
                // An operator approved a referral of this lane.
                pulse(&shared, &barrier, &lane).await;
                continue;
            }
            _ = shutdown.changed() => return,
        };
        let now = shared
            .deciding
            .begin(&lane.logic.lane, shared.clock.as_ref());
        let offline = !shared.online.load(Ordering::Relaxed);
        let taken = read
            .as_ref()
            .filter(|_| shared.reads.receiver_count() > 0)
            .map(|r| r.kind.clone());
        let passages = {
            let Ok(replica) = shared.replica.read() else {
                shared.deciding.done(&lane.logic.lane);
                return;
            };
            match read {
                Some(r) => logic.on_read(r, &replica, now, offline, &mut new_id),
                None => logic.on_tick(now, &replica, offline, &mut new_id),
            }
        };
        if let Some(kind) = taken {
            let _ = shared.reads.send(LaneRead {
                lane: lane.logic.lane.clone(),
                kind,
                decided: passages.len(),
                pending: logic.deadline().is_some(),
            });
        }
        for p in passages {
            act(&shared, &barrier, &lane, p, last_read).await;
        }
        shared.deciding.done(&lane.logic.lane);
    }
}

/// Records the passage durably, then acts on it. If it cannot be recorded the barrier stays
/// closed: the gate never does what it could not remember.
async fn act(
    shared: &Shared,
    barrier: &Barrier,
    lane: &LaneSetup,
    p: Passage,
    last_read: std::time::Instant,
) {
    if let Err(e) = shared.store.record(&p) {
        shared.counters.unrecorded.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %e, passage = %p.id, "cannot record the passage; barrier stays closed");
        return;
    }
    let counter = match p.verdict {
        Verdict::Allow => &shared.counters.allowed,
        Verdict::Deny => &shared.counters.denied,
        Verdict::Refer => &shared.counters.referred,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    // Latency ends here: at the barrier command for an ALLOW, at the durable record otherwise.
    shared.metrics.passage(&p, last_read);
    if p.verdict == Verdict::Allow {
        pulse(shared, barrier, lane).await;
    }
    tracing::info!(
        lane = %p.lane,
        plate = p.plate.as_ref().map_or("-", |x| x.as_str()),
        verdict = p.verdict.as_str(),
        reasons = ?p.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        booking = ?p.booking.map(|b| b.to_string()),
        offline = p.offline,
        "passage"
    );
    if let Ok(mut r) = shared.replica.write() {
        r.record_local(&p);
    }
    let _ = shared.decided.send(p.clone());
    if let Ok(mut o) = shared.outbox.lock() {
        o.push_back(p);
    }
    shared.outbox_ready.notify_one();
}

async fn pulse(shared: &Shared, barrier: &Barrier, lane: &LaneSetup) {
    match barrier.pulse(lane.relay, lane.pulse_100ms).await {
        Ok(_) => {}
        // The driver ends only when the agent shuts down: not a fault of the barrier.
        Err(BarrierFault::Stopped) => tracing::info!(
            lane = %lane.logic.lane,
            "agent shutting down: barrier not pulsed for the last ALLOW"
        ),
        Err(fault) => {
            shared
                .counters
                .barrier_faults
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(lane = %lane.logic.lane, %fault, "barrier did not confirm the pulse");
        }
    }
}

/// Sleeps for the backoff (doubling up to `[scheduler] retry_max_ms`); false when shutting
/// down.
async fn backoff(
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
    delay: &mut Duration,
) -> bool {
    let max = shared.cfg.scheduler.retry_max;
    tokio::select! {
        () = tokio::time::sleep((*delay).min(max)) => {}
        _ = shutdown.changed() => return false,
    }
    *delay = (*delay * 2).min(max);
    !*shutdown.borrow()
}

/// Connects to the scheduler replica in use, or, when it cannot be reached, to the next of
/// the configured addresses in turn; the one reached becomes the one in use for every link
/// task. Any replica will do: they share one database, and the sync cursor, passage event
/// ids and the token mean the same on each.
async fn connect(shared: &Shared) -> Result<(tonic::transport::Channel, BearerToken), String> {
    let link = &shared.cfg.scheduler;
    let token = BearerToken::new(Some(&link.token)).map_err(|e| e.to_string())?;
    let n = link.addrs.len();
    let first = link.current.load(Ordering::Relaxed) % n.max(1);
    let mut errors = Vec::new();
    for i in 0..n {
        let at = (first + i) % n;
        let addr = &link.addrs[at];
        match channel_tls(addr, &link.tls).await {
            Ok(ch) => {
                if at != first
                    && link
                        .current
                        .compare_exchange(first, at, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(%addr, unreachable = %link.addrs[first], "scheduler link moved to another replica");
                }
                return Ok((ch, token));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(errors.join("; "))
}

/// Why the sync link failed.
#[derive(Debug)]
enum LinkError {
    /// The scheduler answered, and refused this gate's token (unknown or revoked) or its
    /// zone: no retry helps until the configuration has a valid token.
    Refused(String),
    /// Anything else: the scheduler unreachable or gone, a stream ended, a bad message.
    Down(String),
}

impl From<String> for LinkError {
    fn from(e: String) -> Self {
        LinkError::Down(e)
    }
}

impl From<&str> for LinkError {
    fn from(e: &str) -> Self {
        LinkError::Down(e.to_owned())
    }
}

impl From<tonic::Status> for LinkError {
    fn from(s: tonic::Status) -> Self {
        let text = format!("{:?}: {}", s.code(), s.message());
        match s.code() {
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                LinkError::Refused(text)
            }
            _ => LinkError::Down(text),
        }
    }
}

/// Follows the zone's change log into the replica and the agent store.
async fn sync_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut delay = BACKOFF_START;
    loop {
        match sync_once(&shared, &mut shutdown).await {
            Ok(()) => return,
            // Said at every retry (at most every `retry_max_ms`): an outage ends by itself, this
            // does not.
            Err(LinkError::Refused(why)) => {
                shared.online.store(false, Ordering::Relaxed);
                tracing::error!(
                    error = %why,
                    "the scheduler refuses this gate's token (revoked, unknown or not for this zone): put a valid gate token in gate.toml and restart the agent; deciding from the replica meanwhile"
                );
            }
            Err(LinkError::Down(e)) => {
                if shared.online.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "lost the scheduler; deciding from the replica");
                } else {
                    tracing::debug!(error = %e, "scheduler still unreachable");
                }
            }
        }
        if !backoff(&shared, &mut shutdown, &mut delay).await {
            return;
        }
    }
}

async fn sync_once(shared: &Shared, shutdown: &mut watch::Receiver<bool>) -> Result<(), LinkError> {
    let (ch, token) = connect(shared).await?;
    let mut client = pb::gate_service_client::GateServiceClient::with_interceptor(ch, token);
    let zone = shared.cfg.zone.clone();
    let after_seq = shared.replica.read().map_err(|e| e.to_string())?.seq(&zone);
    let mut stream = client
        .sync_bookings(pb::SyncBookingsRequest {
            zone_id: zone.to_string(),
            after_seq,
        })
        .await?
        .into_inner();
    if !shared.online.swap(true, Ordering::Relaxed) {
        tracing::info!(zone = %zone, after_seq, "connected to the scheduler");
    }
    let mut snapshot = Vec::new();
    loop {
        let msg = tokio::select! {
            m = stream.message() => m?,
            _ = shutdown.changed() => return Ok(()),
        };
        let Some(msg) = msg else {
            return Err("the scheduler closed the sync stream".into());
        };
        apply_sync(shared, msg, &mut snapshot).map_err(|e| format!("bad sync message: {e}"))?;
    }
}

/// Applies one message of the sync stream; `snapshot` collects the chunks of a snapshot until
/// its last one, which is applied whole.
fn apply_sync(
    shared: &Shared,
    msg: pb::SyncBookingsResponse,
    snapshot: &mut Vec<Booking>,
) -> Result<(), String> {
    let zone_cfg = msg
        .zone
        .as_ref()
        .map(cv::zone_config)
        .transpose()
        .map_err(|e| e.to_string())?;
    let zone = shared.cfg.zone.clone();
    let head = msg.head_seq;
    let mut update = SyncUpdate {
        zone: zone_cfg.clone(),
        ..SyncUpdate::default()
    };
    match msg.event {
        Some(pb::sync_bookings_response::Event::Snapshot(s)) => {
            for b in &s.bookings {
                snapshot.push(cv::booking(b).map_err(|e| e.to_string())?);
            }
            if !s.more {
                update.snapshot = Some((zone.clone(), s.seq, std::mem::take(snapshot)));
            } else if update.zone.is_none() {
                return Ok(());
            }
        }
        Some(pb::sync_bookings_response::Event::Change(c)) => {
            let b = c.booking.as_ref().ok_or("a change without its booking")?;
            update.changes.push((
                zone.clone(),
                c.seq,
                cv::booking(b).map_err(|e| e.to_string())?,
            ));
        }
        None => {}
    }
    // Disk first (bookings and cursor in one batch), then memory.
    shared
        .store
        .apply_sync(update.clone())
        .map_err(|e| e.to_string())?;
    let settled = {
        let mut r = shared.replica.write().map_err(|e| e.to_string())?;
        if let Some(z) = zone_cfg {
            r.set_zone(z);
        }
        if let Some((z, seq, bookings)) = update.snapshot {
            r.reset_zone(&z, seq, bookings);
        }
        for (z, seq, booking) in update.changes {
            r.apply(&ChangeEntry {
                zone: z,
                seq,
                at: booking.updated_at,
                booking,
            });
        }
        r.take_settled()
    };
    let at = u64::try_from(shared.clock.now().timestamp_millis()).unwrap_or(0);
    shared.counters.last_sync_ms.store(at, Ordering::Relaxed);
    shared.counters.head_seq.store(head, Ordering::Relaxed);
    if !settled.is_empty() {
        shared
            .store
            .forget_local(settled)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Listens for operators' approvals and pulses the lane's barrier.
async fn command_loop(shared: Arc<Shared>, lanes: BTreeMap<LaneId, mpsc::Sender<()>>) {
    let mut shutdown = shared.shutdown.clone();
    let mut delay = BACKOFF_START;
    loop {
        let run = async {
            let (ch, token) = connect(&shared).await?;
            let mut client =
                pb::gate_service_client::GateServiceClient::with_interceptor(ch, token);
            let mut stream = client
                .gate_commands(pb::GateCommandsRequest {
                    gate_id: shared.cfg.gate.to_string(),
                })
                .await
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                .into_inner();
            while let Some(cmd) = stream.message().await.map_err(|s| s.message().to_owned())? {
                if let Some(pb::gate_command::Command::PulseBarrier(p)) = cmd.command {
                    match LaneId::parse(&p.lane_id).ok().and_then(|l| lanes.get(&l)) {
                        Some(lane) => {
                            tracing::info!(lane = %p.lane_id, referral = %p.event_id, "operator approved: opening");
                            let _ = lane.send(()).await;
                        }
                        None => {
                            tracing::warn!(lane = %p.lane_id, "command for a lane this gate does not have")
                        }
                    }
                }
            }
            Err::<(), String>("the command stream ended".into())
        };
        tokio::select! {
            r = run => if let Err(e) = r { tracing::debug!(error = %e, "command stream down") },
            _ = shutdown.changed() => return,
        }
        if !backoff(&shared, &mut shutdown, &mut delay).await {
            return;
        }
    }
}
