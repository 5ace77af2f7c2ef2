//! Load mode (`bawaba sim --load`, and the engine of `bawaba bench booking` and
//! `bawaba bench stores`): bookings and gate passages driven through the real gRPC API of a
//! scheduler, measured per operation.
//!
//! - **Target**: by default a scheduler started in this process on a fresh store (sled in a
//!   temporary folder, or PostgreSQL with one or more replicas: several `Scheduler::serve` on
//!   their own ports over the same database, clients split across them); or a running
//!   scheduler (`addr` and tokens).
//! - **Operations**, each its own measured phase, in the order given: `noop` (the standard
//!   health check, a baseline that touches no store), `bookings` (`CreateBooking` with company
//!   tokens, unique plates and idempotency keys, spread over the windows of several zones or
//!   all on one hot window), `passages` (`GateService.ReportPassages` with a gate token: the
//!   trucks booked earlier in the run enter, then leave, as a gate agent reports them).
//! - **Pace**: closed loop (every client sends its next call as soon as the last one is
//!   answered: the highest rate the machine allows), or open loop at a fixed rate. In the open
//!   loop call `i` is due at `start + i / rate` and its latency runs from that due time, not
//!   from when a client got round to sending it, so a stall shows in the percentiles instead
//!   of quietly lowering the rate (no coordinated omission).
//!
//! A call counts as acknowledged only when the scheduler answered it, which it does once the
//! booking or passage is durable; a full window or a cut-off counts as refused; anything else
//! as an error. With an in-process scheduler the run ends by checking the store: every
//! acknowledged booking is there and nothing else, no window is over capacity, every
//! acknowledged passage is recorded. Nothing here asserts timings.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bawaba_app::{App, SystemClock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{
    BookingRules, SlotLength, TransactionType, WindowCapacity, ZoneConfig,
};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{BookingFilter, Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::plate::Plate;
use bawaba_grpc::client::{Authed, BearerToken};
use bawaba_grpc::pb::booking_service_client::BookingServiceClient;
use bawaba_grpc::pb::gate_service_client::GateServiceClient;
use bawaba_grpc::{Scheduler, pb};
use bawaba_store::{CommitStats, Setup, SledStore, Store, TokenBook};
use bawaba_store_pg::PgStore;
use bawaba_store_pg::scratch::ScratchDatabase;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Booking horizon of the zones an in-process run creates, in days.
pub const HORIZON_DAYS: i64 = 30;
/// Places per window of the zones an in-process run creates, by default: far more than a run
/// can fill, so no booking is refused for room unless asked ([`LoadOptions::capacity`]).
pub const DEFAULT_CAPACITY: u32 = 1_000_000;
/// An open-loop call sent this long after its due time counts as late.
const LATE: Duration = Duration::from_millis(1);
/// Preload requests in flight at once: enough for the store to commit large batches.
const PRELOAD_IN_FLIGHT: usize = 512;
/// Preload progress is logged every this many bookings.
const PRELOAD_LOG_EVERY: usize = 100_000;
/// How long a stopping server may take to drain its connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The lanes of the gate each load zone gets (in-process runs).
const LANE_IN: &str = "in-1";
const LANE_OUT: &str = "out-1";

/// One kind of call the load drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `grpc.health.v1.Health/Check`: a no-op on the same server, the baseline.
    Noop,
    /// `BookingService/CreateBooking` with a company token.
    Bookings,
    /// `GateService/ReportPassages` with a gate token: entries and exits of booked trucks.
    Passages,
}

impl Operation {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Noop => "noop",
            Operation::Bookings => "bookings",
            Operation::Passages => "passages",
        }
    }

    /// The label in reports.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Noop => "no-op (health)",
            Operation::Bookings => "bookings (durable)",
            Operation::Passages => "passages (durable)",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Operation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "noop" | "no-op" | "health" => Ok(Operation::Noop),
            "bookings" | "booking" => Ok(Operation::Bookings),
            "passages" | "passage" => Ok(Operation::Passages),
            other => Err(format!(
                "unknown operation {other:?}; expected noop, bookings or passages"
            )),
        }
    }
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Each client sends its next call as soon as the last one is answered.
    Closed,
    /// Calls are due at a fixed rate (calls per second, across all clients); latency runs
    /// from each call's due time.
    Open { per_second: f64 },
}

impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pace::Closed => f.write_str("closed loop"),
            Pace::Open { per_second } => write!(f, "open loop at {per_second} calls/s"),
        }
    }
}

/// Where bookings go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Round-robin over the zones and every bookable window of each.
    Spread,
    /// Every booking on the same window of the first zone (contention on one counter).
    Hot,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Spread => "many windows",
            Layout::Hot => "one hot window",
        })
    }
}

/// The store of an in-process scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// sled in a fresh temporary folder.
    Sled,
    /// PostgreSQL: a database at this URL (the run creates its own zones in it), or, with
    /// `None`, a fresh database created on the test server (`BAWABA_TEST_PG`, by default
    /// 127.0.0.1:5432 as `postgres`) and dropped afterwards.
    Postgres(Option<String>),
}

/// A scheduler that is already running.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteTarget {
    /// gRPC addresses (`http://host:port`, or `https://` with `ca`); clients are split
    /// across them.
    pub addrs: Vec<String>,
    /// PEM of the CA that signed the scheduler's certificate, for `https://`.
    pub ca: Option<PathBuf>,
    /// Company tokens; client `c` books with token `c % len`. Needed for bookings.
    pub company_tokens: Vec<String>,
    /// A gate token (of no zone, or of the only zone booked in). Needed for passages.
    pub gate_token: Option<String>,
    /// Zones to book in; empty: every zone the scheduler lists.
    pub zones: Vec<String>,
}

/// What the load runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A scheduler started in this process on a fresh store, with `replicas` servers on
    /// their own ports (more than one only on PostgreSQL).
    InProcess { store: StoreChoice, replicas: usize },
    /// A running scheduler.
    Remote(RemoteTarget),
}

/// What to run (`bawaba sim --load`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    pub target: Target,
    /// Measured one after the other, in this order. Passages need booked trucks: a bookings
    /// phase before them, or (in process) a preload.
    pub operations: Vec<Operation>,
    /// Concurrent clients, one connection each (in the open loop: at most this many calls
    /// in flight).
    pub clients: usize,
    pub pace: Pace,
    /// Longest length of each phase.
    pub duration: Duration,
    /// Calls per phase; the phase ends at whichever of `count` and `duration` comes first.
    pub count: Option<u64>,
    pub layout: Layout,
    /// Zones an in-process run creates (`load-1`, `load-2`, ...: 60-minute windows, a
    /// 30-day horizon, no company cap, no containers required).
    pub zones: usize,
    /// Companies an in-process run issues tokens for; client `c` books for company
    /// `c % companies`.
    pub companies: usize,
    /// Places per window in the zones an in-process run creates.
    pub capacity: u32,
    /// Bookings written straight through the store before measuring (in process only).
    pub preload: usize,
    /// Passages per `ReportPassages` call (a gate agent sends what gathered in a burst).
    pub passages_per_report: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            target: Target::InProcess {
                store: StoreChoice::Sled,
                replicas: 1,
            },
            operations: vec![Operation::Bookings, Operation::Passages],
            clients: 64,
            pace: Pace::Closed,
            duration: Duration::from_secs(10),
            count: None,
            layout: Layout::Spread,
            zones: 4,
            companies: 8,
            capacity: DEFAULT_CAPACITY,
            preload: 0,
            passages_per_report: 1,
        }
    }
}

impl LoadOptions {
    /// Checks the options make sense together; the error names the option.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.clients > 0, "clients: at least one client is needed");
        ensure!(!self.operations.is_empty(), "operations: none chosen");
        if let Pace::Open { per_second } = self.pace {
            ensure!(
                per_second.is_finite() && per_second > 0.0,
                "rate: must be a positive number of calls per second, not {per_second}"
            );
        }
        ensure!(
            !self.duration.is_zero(),
            "duration: must be longer than zero"
        );
        ensure!(self.count != Some(0), "count: must be at least 1");
        ensure!(
            (1..=1000).contains(&self.passages_per_report),
            "passages per report: must be 1..=1000, not {}",
            self.passages_per_report
        );
        let booked_before_passages = |preload: bool| {
            self.operations
                .iter()
                .position(|o| *o == Operation::Passages)
                .is_none_or(|p| preload || self.operations[..p].contains(&Operation::Bookings))
        };
        match &self.target {
            Target::InProcess { store, replicas } => {
                ensure!(*replicas > 0, "replicas: at least one is needed");
                ensure!(
                    *replicas == 1 || matches!(store, StoreChoice::Postgres(_)),
                    "replicas: sled is embedded in one process; several replicas need PostgreSQL"
                );
                ensure!(
                    (1..=100).contains(&self.zones),
                    "zones: must be 1..=100, not {}",
                    self.zones
                );
                ensure!(self.companies > 0, "companies: at least one is needed");
                ensure!(self.capacity > 0, "capacity: must be at least 1");
                ensure!(
                    booked_before_passages(self.preload > 0),
                    "operations: passages need booked trucks; put bookings before passages, or preload"
                );
            }
            Target::Remote(r) => {
                ensure!(!r.addrs.is_empty(), "addr: a scheduler address is needed");
                ensure!(
                    self.preload == 0,
                    "preload: only for an in-process scheduler"
                );
                ensure!(
                    booked_before_passages(false),
                    "operations: passages need booked trucks; put bookings before passages"
                );
                if self.operations.contains(&Operation::Bookings) {
                    ensure!(
                        !r.company_tokens.is_empty(),
                        "company token: bookings need at least one"
                    );
                }
                if self.operations.contains(&Operation::Passages) {
                    ensure!(r.gate_token.is_some(), "gate token: passages need one");
                }
            }
        }
        Ok(())
    }
}

/// Reads tokens from a file: one per line; blank lines and `#` comments skipped.
pub fn read_tokens(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading tokens from {}", path.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    ensure!(!tokens.is_empty(), "{} holds no token", path.display());
    Ok(tokens)
}

/// The outcome of one measured phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStats {
    pub operation: Operation,
    /// Acknowledged calls (bookings: new bookings, durable; passages: reports, durable).
    pub calls: u64,
    /// What the acknowledged calls carried: bookings, or passages (several per report).
    pub items: u64,
    /// Calls refused by a rule: a full window (RESOURCE_EXHAUSTED) or a cut-off or state
    /// (FAILED_PRECONDITION).
    pub refused: u64,
    /// Calls that failed otherwise, and bookings answered as replays.
    pub errors: u64,
    /// Open loop: calls sent more than 1 ms after they were due (the clients or the server
    /// fell behind the rate; their latency includes the wait).
    pub late: u64,
    /// From the start of the phase until its last call returned.
    pub elapsed: Duration,
    /// Latency of the acknowledged calls (open loop: from each call's due time).
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// The first error and refusal met (`<code>: <message>`).
    pub first_error: Option<String>,
    pub first_refusal: Option<String>,
    /// Passages: every booked truck had entered and left before the phase's end.
    pub ran_out: bool,
    /// CPU time this process spent during the phase (its clients, and the scheduler when it
    /// runs in-process), where the platform tells (Linux).
    pub cpu: Option<Duration>,
    /// The store writer's commits during the phase (an in-process scheduler on sled).
    pub store: Option<CommitStats>,
}

impl PhaseStats {
    /// Acknowledged calls per second.
    pub fn rate(&self) -> f64 {
        per_second(self.calls, self.elapsed)
    }

    /// Acknowledged bookings or passages per second.
    pub fn item_rate(&self) -> f64 {
        per_second(self.items, self.elapsed)
    }

    /// CPU time per acknowledged call.
    pub fn cpu_per_call(&self) -> Option<Duration> {
        let calls = u32::try_from(self.calls).ok().filter(|c| *c > 0)?;
        Some(self.cpu? / calls)
    }

    fn from_tallies(
        operation: Operation,
        tallies: Vec<Tally>,
        elapsed: Duration,
        cpu: Option<Duration>,
        store: Option<CommitStats>,
    ) -> Self {
        let mut micros = Vec::with_capacity(tallies.iter().map(|t| t.micros.len()).sum());
        let mut s = PhaseStats {
            operation,
            calls: 0,
            items: 0,
            refused: 0,
            errors: 0,
            late: 0,
            elapsed,
            p50: Duration::ZERO,
            p90: Duration::ZERO,
            p99: Duration::ZERO,
            max: Duration::ZERO,
            first_error: None,
            first_refusal: None,
            ran_out: false,
            cpu,
            store,
        };
        for t in tallies {
            micros.extend_from_slice(&t.micros);
            s.items += t.items;
            s.refused += t.refused;
            s.errors += t.errors;
            s.late += t.late;
            s.ran_out |= t.ran_out;
            s.first_error = s.first_error.or(t.first_error);
            s.first_refusal = s.first_refusal.or(t.first_refusal);
        }
        micros.sort_unstable();
        let at = |p: u32| {
            Duration::from_micros(u64::from(
                bawaba_domain::stats::percentile(&micros, p).unwrap_or(0),
            ))
        };
        s.calls = micros.len() as u64;
        (s.p50, s.p90, s.p99, s.max) = (at(50), at(90), at(99), at(100));
        s
    }
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// What the store held after an in-process run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Bookings acknowledged (preload and bookings phases).
    pub acknowledged_bookings: u64,
    /// Bookings in the store.
    pub stored_bookings: u64,
    /// Acknowledged bookings not found in the store.
    pub missing_bookings: u64,
    /// Windows holding more bookings than their capacity (`zone@start: booked/capacity`).
    pub over_capacity: Vec<String>,
    pub acknowledged_passages: u64,
    pub stored_passages: u64,
}

impl Check {
    /// Everything acknowledged is stored, nothing else is, no window is over capacity.
    pub fn ok(&self) -> bool {
        self.missing_bookings == 0
            && self.stored_bookings == self.acknowledged_bookings
            && self.over_capacity.is_empty()
            && self.stored_passages == self.acknowledged_passages
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "check {}: bookings acknowledged {}, stored {}, missing {}; windows over capacity {}; passages acknowledged {}, stored {}",
            if self.ok() { "passed" } else { "FAILED" },
            self.acknowledged_bookings,
            self.stored_bookings,
            self.missing_bookings,
            self.over_capacity.len(),
            self.acknowledged_passages,
            self.stored_passages,
        )?;
        if let Some(w) = self.over_capacity.first() {
            write!(f, " (first: {w})")?;
        }
        Ok(())
    }
}

/// What [`run_load`] prints.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// What ran against what, in words.
    pub target: String,
    pub pace: Pace,
    pub clients: usize,
    pub layout: Layout,
    /// Zones booked in, and bookable windows across them.
    pub zones: usize,
    pub windows: usize,
    pub preload: usize,
    pub preload_elapsed: Duration,
    /// One per operation, in the order run.
    pub phases: Vec<PhaseStats>,
    /// In-process runs only.
    pub check: Option<Check>,
    /// `/proc/loadavg` (1, 5 and 15 minutes) at the end of the run, where there is one.
    pub load_average: Option<[f64; 3]>,
}

impl LoadReport {
    /// The (first) phase of `op`.
    pub fn phase(&self, op: Operation) -> Option<&PhaseStats> {
        self.phases.iter().find(|p| p.operation == op)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The header of a table of phases (see [`write_row`]).
pub(crate) fn write_header(f: &mut fmt::Formatter<'_>, first: &str) -> fmt::Result {
    writeln!(
        f,
        "  {first:<22} {:>8} {:>9} {:>10} {:>10} {:>10} {:>10} {:>8} {:>7} {:>10}",
        "calls", "per s", "p50", "p90", "p99", "max", "refused", "errors", "cpu/call"
    )
}

/// One phase as a table row, with its first error and refusal under it.
pub(crate) fn write_row(f: &mut fmt::Formatter<'_>, name: &str, s: &PhaseStats) -> fmt::Result {
    writeln!(
        f,
        "  {name:<22} {:>8} {:>9.0} {:>10} {:>10} {:>10} {:>10} {:>8} {:>7} {:>10}",
        s.calls,
        s.rate(),
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.max),
        s.refused,
        s.errors,
        s.cpu_per_call().map_or("?".to_owned(), |c| format!(
            "{:.0} µs",
            c.as_secs_f64() * 1e6
        )),
    )?;
    if s.items != s.calls {
        writeln!(f, "  {:<22} {} items, {:.0}/s", "", s.items, s.item_rate())?;
    }
    if s.late > 0 {
        writeln!(
            f,
            "  {:<22} {} calls sent late (behind the rate)",
            "", s.late
        )?;
    }
    if s.ran_out {
        writeln!(f, "  {:<22} ran out of booked trucks before the end", "")?;
    }
    if let Some(c) = s.store.filter(|c| c.commits > 0) {
        // One thread commits: near 100 % busy, it (not the CPU) bounds the phase's rate.
        let busy = (c.apply + c.write + c.sync).as_secs_f64() / s.elapsed.as_secs_f64();
        writeln!(
            f,
            "  {:<22} store writer: {c}; busy {:.0} % of the phase",
            "",
            busy * 100.0
        )?;
    }
    if let Some(e) = &s.first_refusal {
        writeln!(f, "  {:<22} first refusal: {e}", "")?;
    }
    if let Some(e) = &s.first_error {
        writeln!(f, "  {:<22} first error: {e}", "")?;
    }
    Ok(())
}

/// The load average as printed under a figure.
pub(crate) fn load_average_text(l: Option<[f64; 3]>) -> String {
    match l {
        Some([a, b, c]) => format!("load average {a:.2} {b:.2} {c:.2}"),
        None => "load average unknown".to_owned(),
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "load: {}, {} clients (one connection each), on {}",
            self.pace, self.clients, self.target
        )?;
        writeln!(
            f,
            "  bookings on {} ({} zones, {} windows); preload {} bookings ({:.1} s)",
            self.layout,
            self.zones,
            self.windows,
            self.preload,
            self.preload_elapsed.as_secs_f64()
        )?;
        write_header(f, "operation")?;
        for p in &self.phases {
            write_row(f, p.operation.label(), p)?;
        }
        if let Some(c) = &self.check {
            writeln!(f, "  {c}")?;
        }
        write!(f, "  {}", load_average_text(self.load_average))
    }
}

/// Reads `/proc/loadavg`.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// CPU time (user and system) this process has used so far, from `/proc/self/stat` (Linux;
/// `None` elsewhere).
pub fn process_cpu() -> Option<Duration> {
    parse_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// utime and stime of a `/proc/<pid>/stat` line, in clock ticks of 1/100 s (Linux's fixed
/// `USER_HZ`). The command name before them is in parentheses and may hold spaces.
fn parse_cpu(stat: &str) -> Option<Duration> {
    const USER_HZ: u64 = 100;
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    // After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
    // majflt, cmajflt, then utime and stime.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

/// Runs the load: sets up the target, runs each operation's phase, checks the store.
pub async fn run_load(opts: &LoadOptions) -> anyhow::Result<LoadReport> {
    opts.validate()?;
    let trucks = Arc::new(Trucks::new(opts.operations.contains(&Operation::Passages)));
    let (rig, fleet) = match &opts.target {
        Target::InProcess { store, replicas } => {
            let fleet = Fleet::start(store, *replicas, opts, &trucks).await?;
            (fleet.rig.clone(), Some(fleet))
        }
        Target::Remote(remote) => (Rig::remote(remote, opts.layout).await?, None),
    };
    let result = drive(&rig, opts, &trucks).await;
    let check = match (&fleet, &result) {
        (Some(fleet), Ok(phases)) => Some(fleet.check(&trucks, phases).await?),
        _ => None,
    };
    if let Some(fleet) = fleet {
        fleet.stop().await?;
    }
    Ok(LoadReport {
        target: rig.description.clone(),
        pace: opts.pace,
        clients: opts.clients,
        layout: opts.layout,
        zones: rig.plan.zones.len(),
        windows: rig.plan.zones.iter().map(|z| z.windows.len()).sum(),
        preload: opts.preload,
        preload_elapsed: rig.preload_elapsed,
        phases: result?,
        check,
        load_average: load_average(),
    })
}

/// Connections, then one phase per operation.
async fn drive(
    rig: &Rig,
    opts: &LoadOptions,
    trucks: &Arc<Trucks>,
) -> anyhow::Result<Vec<PhaseStats>> {
    // One connection per client, made and warmed up before anything is measured.
    let mut channels = Vec::with_capacity(opts.clients);
    for c in 0..opts.clients {
        let addr = &rig.addrs[c % rig.addrs.len()];
        let ch = bawaba_grpc::client::channel(addr, rig.ca.as_deref()).await?;
        HealthClient::new(ch.clone())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .with_context(|| format!("warm-up health check on {addr}"))?;
        channels.push(ch);
    }
    let mut phases = Vec::with_capacity(opts.operations.len());
    for &op in &opts.operations {
        let callers = channels
            .iter()
            .enumerate()
            .map(|(c, ch)| rig.caller(op, c, ch.clone(), opts, trucks))
            .collect::<anyhow::Result<Vec<_>>>()?;
        tracing::info!(
            operation = op.name(),
            clients = opts.clients,
            pace = %opts.pace,
            seconds = opts.duration.as_secs_f64(),
            count = ?opts.count,
            "phase"
        );
        let sled = rig.sled.as_deref();
        phases.push(run_phase(op, callers, opts.pace, opts.duration, opts.count, sled).await?);
    }
    Ok(phases)
}

/// The one client loop of every phase, closed or open.
async fn run_phase(
    op: Operation,
    callers: Vec<Caller>,
    pace: Pace,
    duration: Duration,
    count: Option<u64>,
    sled: Option<&SledStore>,
) -> anyhow::Result<PhaseStats> {
    let next = Arc::new(AtomicU64::new(0));
    let cpu_start = process_cpu();
    let store_start = sled.and_then(Store::commit_stats);
    let start = Instant::now();
    let deadline = start + duration;
    let mut clients = JoinSet::new();
    for mut caller in callers {
        let next = Arc::clone(&next);
        clients.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| i >= c) {
                    break;
                }
                let due = match pace {
                    Pace::Closed => Instant::now(),
                    Pace::Open { per_second } => {
                        start + Duration::from_secs_f64(i as f64 / per_second)
                    }
                };
                if due >= deadline {
                    break;
                }
                if matches!(pace, Pace::Open { .. }) {
                    // A timer wait costs up to a millisecond even when due: only when early.
                    if due > Instant::now() {
                        tokio::time::sleep_until(due.into()).await;
                    } else if due.elapsed() > LATE {
                        tally.late += 1;
                    }
                }
                if !tally.record(caller.call().await, due) {
                    break;
                }
            }
            tally
        });
    }
    let mut tallies = Vec::with_capacity(clients.len());
    while let Some(t) = clients.join_next().await {
        tallies.push(t.context("a load client panicked")?);
    }
    let elapsed = start.elapsed();
    let cpu = process_cpu()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    let store = sled
        .and_then(Store::commit_stats)
        .zip(store_start)
        .map(|(end, start)| end.since(&start));
    Ok(PhaseStats::from_tallies(op, tallies, elapsed, cpu, store))
}

/// What one call came to.
enum Outcome {
    /// Acknowledged, carrying this many bookings or passages.
    Ok(u64),
    Refused(String),
    Error(String),
    /// No booked truck left to pass.
    RanOut,
}

fn failed(s: &tonic::Status) -> Outcome {
    let text = format!("{:?}: {}", s.code(), s.message());
    match s.code() {
        tonic::Code::ResourceExhausted | tonic::Code::FailedPrecondition => Outcome::Refused(text),
        _ => Outcome::Error(text),
    }
}

/// One client's counts in one phase.
#[derive(Debug, Default)]
struct Tally {
    micros: Vec<u32>,
    items: u64,
    refused: u64,
    errors: u64,
    late: u64,
    first_error: Option<String>,
    first_refusal: Option<String>,
    ran_out: bool,
}

impl Tally {
    /// Counts one call due at `due`; false when the client should stop.
    fn record(&mut self, outcome: Outcome, due: Instant) -> bool {
        match outcome {
            Outcome::Ok(items) => {
                self.micros
                    .push(u32::try_from(due.elapsed().as_micros()).unwrap_or(u32::MAX));
                self.items += items;
            }
            Outcome::Refused(e) => {
                self.refused += 1;
                self.first_refusal.get_or_insert(e);
            }
            Outcome::Error(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
            Outcome::RanOut => {
                self.ran_out = true;
                return false;
            }
        }
        true
    }
}

/// A booked truck, for the passages phase.
#[derive(Debug, Clone)]
struct Truck {
    booking: BookingId,
    zone: String,
    plate: String,
}

/// Booked trucks waiting to enter, trucks inside waiting to leave.
#[derive(Debug, Default)]
struct Queues {
    booked: VecDeque<Truck>,
    inside: VecDeque<Truck>,
    /// Entries sent and not yet answered.
    entering: usize,
}

enum Take {
    Batch(Vec<(Truck, pb::LaneDirection)>),
    /// Nothing to pass now, but entries in flight will bring trucks to take out.
    Wait,
    Done,
}

/// The run's acknowledged bookings, and the trucks the passages phase moves.
#[derive(Debug)]
struct Trucks {
    /// Whether a passages phase will want the trucks.
    keep: bool,
    queues: Mutex<Queues>,
    acknowledged: Mutex<Vec<BookingId>>,
    next_event: AtomicU64,
    nonce: u64,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Trucks {
    fn new(keep: bool) -> Self {
        Trucks {
            keep,
            queues: Mutex::default(),
            acknowledged: Mutex::default(),
            next_event: AtomicU64::new(0),
            nonce: nonce(),
        }
    }

    fn booked(&self, truck: Truck) {
        locked(&self.acknowledged).push(truck.booking);
        if self.keep {
            locked(&self.queues).booked.push_back(truck);
        }
    }

    /// Up to `n` passages: a truck inside leaves once more than `lag` are inside (or no
    /// booked truck is left); otherwise a booked truck enters.
    fn take(&self, n: usize, lag: usize) -> Take {
        let mut q = locked(&self.queues);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let next = if q.inside.len() > lag || q.booked.is_empty() {
                q.inside.pop_front().map(|t| (t, pb::LaneDirection::Out))
            } else {
                q.booked.pop_front().map(|t| (t, pb::LaneDirection::In))
            };
            match next {
                Some(p) => out.push(p),
                None => break,
            }
        }
        if out.is_empty() {
            return if q.entering > 0 {
                Take::Wait
            } else {
                Take::Done
            };
        }
        q.entering += out
            .iter()
            .filter(|(_, d)| *d == pb::LaneDirection::In)
            .count();
        Take::Batch(out)
    }

    /// Entries answered: the trucks are inside if they were acknowledged.
    fn entered(&self, trucks: Vec<Truck>, acknowledged: bool) {
        let mut q = locked(&self.queues);
        q.entering = q.entering.saturating_sub(trucks.len());
        if acknowledged {
            q.inside.extend(trucks);
        }
    }

    /// A passage event id unique to this run.
    fn event_id(&self, at: DateTime<Utc>) -> String {
        let seq = self.next_event.fetch_add(1, Ordering::Relaxed);
        let random = (u128::from(self.nonce & 0xFFFF_FFFF) << 48) | u128::from(seq);
        PassageId::new(at, random).to_string()
    }
}

/// A number that differs from run to run: keys, plates and event ids stay unique against a
/// scheduler that already served earlier runs.
fn nonce() -> u64 {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    nanos ^ (u64::from(std::process::id()) << 40)
}

/// The zones and windows bookings go to.
#[derive(Debug)]
struct Plan {
    zones: Vec<ZonePlan>,
    layout: Layout,
    nonce: u64,
    /// The next booking number (preload and phases share it): unique keys and plates.
    next: AtomicU64,
}

#[derive(Debug, Clone)]
struct ZonePlan {
    id: String,
    windows: Vec<DateTime<Utc>>,
    /// The gate passages of the zone are reported at, if it has one with an IN and an OUT
    /// lane.
    gate: Option<GatePlan>,
}

/// A gate of a zone and one lane of each direction.
#[derive(Debug, Clone)]
struct GatePlan {
    id: String,
    lane_in: String,
    lane_out: String,
}

impl GatePlan {
    /// The first gate of `zone` among `gates` with an IN and an OUT lane.
    fn of(zone: &str, gates: &[pb::Gate]) -> Option<GatePlan> {
        gates.iter().filter(|g| g.zone_id == zone).find_map(|g| {
            let lane = |d: pb::LaneDirection| {
                g.lanes
                    .iter()
                    .find(|l| l.direction == d as i32)
                    .map(|l| l.lane_id.clone())
            };
            Some(GatePlan {
                id: g.gate_id.clone(),
                lane_in: lane(pb::LaneDirection::In)?,
                lane_out: lane(pb::LaneDirection::Out)?,
            })
        })
    }
}

impl Plan {
    fn new(zones: Vec<ZonePlan>, layout: Layout) -> anyhow::Result<Self> {
        ensure!(
            zones.iter().any(|z| !z.windows.is_empty()),
            "no bookable window in the zones chosen"
        );
        Ok(Plan {
            zones: zones
                .into_iter()
                .filter(|z| !z.windows.is_empty())
                .collect(),
            layout,
            nonce: nonce(),
            next: AtomicU64::new(0),
        })
    }

    /// The next booking: its number, zone, window and plate.
    fn next(&self) -> (u64, &ZonePlan, DateTime<Utc>, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (zone, window) = match self.layout {
            Layout::Hot => (&self.zones[0], self.zones[0].windows[0]),
            Layout::Spread => {
                let z = &self.zones[(n % self.zones.len() as u64) as usize];
                let w = (n / self.zones.len() as u64) % z.windows.len() as u64;
                (z, z.windows[w as usize])
            }
        };
        // 5 hex digits of the run, 10 of the number: 15 characters, within a plate's 16.
        let plate = format!("{:05X}{n:010}", self.nonce & 0xF_FFFF);
        (n, zone, window, plate)
    }

    fn key(&self, n: u64) -> String {
        format!("load-{:x}-{n}", self.nonce)
    }
}

/// One client's end of one phase.
enum Caller {
    Noop(HealthClient<Channel>),
    Book {
        api: BookingServiceClient<Authed>,
        plan: Arc<Plan>,
        trucks: Arc<Trucks>,
    },
    Pass {
        api: GateServiceClient<Authed>,
        plan: Arc<Plan>,
        trucks: Arc<Trucks>,
        batch: usize,
        lag: usize,
    },
}

impl Caller {
    async fn call(&mut self) -> Outcome {
        match self {
            Caller::Noop(health) => {
                let req = HealthCheckRequest {
                    service: String::new(),
                };
                match health.check(req).await {
                    Ok(_) => Outcome::Ok(1),
                    Err(s) => failed(&s),
                }
            }
            Caller::Book { api, plan, trucks } => {
                let (n, zone, window, plate) = plan.next();
                let req = pb::CreateBookingRequest {
                    idempotency_key: plan.key(n),
                    truck_plate: plate.clone(),
                    stops: vec![pb::StopRequest {
                        zone_id: zone.id.clone(),
                        window_start: Some(bawaba_grpc::timestamp(window)),
                        transaction_type: pb::TransactionType::GeneralCargo as i32,
                        container_numbers: Vec::new(),
                    }],
                    ..Default::default()
                };
                let zone = zone.id.clone();
                match api.create_booking(req).await {
                    Ok(r) if r.get_ref().replayed => {
                        Outcome::Error("booking answered as a replay of an earlier one".into())
                    }
                    Ok(r) => {
                        let id = r.into_inner().booking.map(|b| b.booking_id);
                        match id.as_deref().map(BookingId::parse) {
                            Some(Ok(booking)) => {
                                trucks.booked(Truck {
                                    booking,
                                    zone,
                                    plate,
                                });
                                Outcome::Ok(1)
                            }
                            _ => Outcome::Error(format!(
                                "booking answered without a valid id: {id:?}"
                            )),
                        }
                    }
                    Err(s) => failed(&s),
                }
            }
            Caller::Pass {
                api,
                plan,
                trucks,
                batch,
                lag,
            } => {
                let batch = loop {
                    match trucks.take(*batch, *lag) {
                        Take::Batch(b) => break b,
                        Take::Wait => tokio::time::sleep(Duration::from_millis(1)).await,
                        Take::Done => return Outcome::RanOut,
                    }
                };
                let now = Utc::now();
                let at = Some(bawaba_grpc::timestamp(now));
                let gate = |zone: &str| {
                    plan.zones
                        .iter()
                        .find(|z| z.id == zone)
                        .and_then(|z| z.gate.clone())
                };
                let gates: Vec<Option<GatePlan>> =
                    batch.iter().map(|(t, _)| gate(&t.zone)).collect();
                if let Some(i) = gates.iter().position(Option::is_none) {
                    let zone = batch[i].0.zone.clone();
                    trucks.entered(
                        batch
                            .into_iter()
                            .filter(|(_, d)| *d == pb::LaneDirection::In)
                            .map(|(t, _)| t)
                            .collect(),
                        false,
                    );
                    return Outcome::Error(format!(
                        "zone {zone} has no gate with an IN and an OUT lane to report passages at"
                    ));
                }
                // Every truck's zone has a gate (checked above).
                let passages = batch
                    .iter()
                    .zip(gates.into_iter().flatten())
                    .map(|((t, dir), g)| {
                        let entering = *dir == pb::LaneDirection::In;
                        pb::Passage {
                            event_id: trucks.event_id(now),
                            zone_id: t.zone.clone(),
                            gate_id: g.id,
                            lane_id: if entering { g.lane_in } else { g.lane_out },
                            direction: *dir as i32,
                            first_read_at: at,
                            last_read_at: at,
                            decided_at: at,
                            plate: t.plate.clone(),
                            confidence: Some(95),
                            verdict: pb::Verdict::Allow as i32,
                            reasons: vec![if entering {
                                pb::Reason::BookingValid
                            } else {
                                pb::Reason::ExitRecorded
                            } as i32],
                            booking_id: t.booking.to_string(),
                            ..Default::default()
                        }
                    })
                    .collect::<Vec<_>>();
                let sent = passages.len();
                let answer = api
                    .report_passages(pb::ReportPassagesRequest {
                        passages,
                        ..Default::default()
                    })
                    .await;
                let entering: Vec<Truck> = batch
                    .into_iter()
                    .filter(|(_, d)| *d == pb::LaneDirection::In)
                    .map(|(t, _)| t)
                    .collect();
                match answer {
                    Ok(r) if r.get_ref().acknowledged_event_ids.len() == sent => {
                        trucks.entered(entering, true);
                        Outcome::Ok(sent as u64)
                    }
                    Ok(r) => {
                        trucks.entered(entering, false);
                        Outcome::Error(format!(
                            "{} of {sent} passages acknowledged",
                            r.get_ref().acknowledged_event_ids.len()
                        ))
                    }
                    Err(s) => {
                        trucks.entered(entering, false);
                        failed(&s)
                    }
                }
            }
        }
    }
}

/// Where and as whom the clients call.
#[derive(Debug, Clone)]
struct Rig {
    description: String,
    addrs: Vec<String>,
    ca: Option<PathBuf>,
    company_tokens: Vec<String>,
    gate_token: Option<String>,
    plan: Arc<Plan>,
    preload_elapsed: Duration,
    /// The in-process sled store, whose writer each phase reports on.
    sled: Option<Arc<SledStore>>,
}

impl Rig {
    fn caller(
        &self,
        op: Operation,
        c: usize,
        ch: Channel,
        opts: &LoadOptions,
        trucks: &Arc<Trucks>,
    ) -> anyhow::Result<Caller> {
        let auth = |token: Option<&str>| {
            BearerToken::new(token).map_err(|s| anyhow::anyhow!("token: {}", s.message()))
        };
        Ok(match op {
            Operation::Noop => Caller::Noop(HealthClient::new(ch)),
            Operation::Bookings => {
                let token = self
                    .company_tokens
                    .get(c % self.company_tokens.len().max(1))
                    .context("bookings need a company token")?;
                Caller::Book {
                    api: BookingServiceClient::with_interceptor(ch, auth(Some(token))?),
                    plan: Arc::clone(&self.plan),
                    trucks: Arc::clone(trucks),
                }
            }
            Operation::Passages => {
                let token = self
                    .gate_token
                    .as_deref()
                    .context("passages need a gate token")?;
                Caller::Pass {
                    api: GateServiceClient::with_interceptor(ch, auth(Some(token))?),
                    plan: Arc::clone(&self.plan),
                    trucks: Arc::clone(trucks),
                    batch: opts.passages_per_report,
                    lag: opts.clients,
                }
            }
        })
    }

    /// A running scheduler: its zones and their bookable windows from the API.
    async fn remote(r: &RemoteTarget, layout: Layout) -> anyhow::Result<Rig> {
        let token = r.company_tokens.first().or(r.gate_token.as_ref());
        let mut api = bawaba_grpc::client::Clients::connect(
            &r.addrs[0],
            token.map(String::as_str),
            r.ca.as_deref(),
        )
        .await?;
        let listed = api
            .admin
            .list_zones(pb::ListZonesRequest {})
            .await
            .context("listing the scheduler's zones")?
            .into_inner()
            .zones;
        for z in &r.zones {
            ensure!(
                listed.iter().any(|l| l.zone_id == *z),
                "zone {z:?} is not one of the scheduler's ({})",
                listed
                    .iter()
                    .map(|l| l.zone_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let gates = api
            .admin
            .list_gates(pb::ListGatesRequest {})
            .await
            .context("listing the scheduler's gates")?
            .into_inner()
            .gates;
        let now = Utc::now();
        let mut zones = Vec::new();
        for z in listed
            .iter()
            .filter(|z| r.zones.is_empty() || r.zones.contains(&z.zone_id))
        {
            let rules = z.rules.unwrap_or_default();
            let from = now + TimeDelta::minutes(i64::from(rules.booking_cutoff_minutes) + 60);
            let to = now + TimeDelta::minutes(i64::from(rules.horizon_minutes) - 60);
            if to <= from {
                continue;
            }
            let windows = api
                .slots
                .list_windows(pb::ListWindowsRequest {
                    zone_id: z.zone_id.clone(),
                    from: Some(bawaba_grpc::timestamp(from)),
                    to: Some(bawaba_grpc::timestamp(to)),
                })
                .await
                .with_context(|| format!("listing the windows of zone {}", z.zone_id))?
                .into_inner()
                .windows;
            let windows = windows
                .iter()
                .filter(|w| w.free > 0 && w.closure_reason.is_empty())
                .filter_map(|w| w.start.as_ref().and_then(bawaba_grpc::from_timestamp))
                .collect();
            zones.push(ZonePlan {
                id: z.zone_id.clone(),
                windows,
                gate: GatePlan::of(&z.zone_id, &gates),
            });
        }
        Ok(Rig {
            description: format!("the scheduler at {}", r.addrs.join(", ")),
            addrs: r.addrs.clone(),
            ca: r.ca.clone(),
            company_tokens: r.company_tokens.clone(),
            gate_token: r.gate_token.clone(),
            plan: Arc::new(Plan::new(zones, layout)?),
            preload_elapsed: Duration::ZERO,
            sled: None,
        })
    }
}

/// A scheduler started in this process: its servers and its store.
struct Fleet {
    rig: Rig,
    dir: tempfile::TempDir,
    servers: Vec<Server>,
    stores: Stores,
    /// Dropped (the database with it) after the stores are closed.
    database: Option<ScratchDatabase>,
}

enum Stores {
    Sled(Arc<SledStore>),
    Pg(Vec<Arc<PgStore>>),
}

struct Server {
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), bawaba_grpc::server::Error>>,
}

/// Serves `store` on a fresh port of 127.0.0.1; answers the address.
async fn serve<S: Store>(
    store: Arc<S>,
    tokens: Arc<TokenBook>,
) -> anyhow::Result<(String, Server)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let addr = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = Scheduler {
        app: App::new(store, tokens, Arc::new(SystemClock)),
        tls: None,
    };
    let handle = tokio::spawn(scheduler.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok((addr, Server { stop, handle }))
}

/// Creates the run's zones; answers them with their bookable windows.
async fn create_zones<S: Store>(store: &S, opts: &LoadOptions) -> anyhow::Result<Vec<ZonePlan>> {
    let run = nonce() & 0xFFFF;
    let now = Utc::now();
    let mut zones = Vec::with_capacity(opts.zones);
    for k in 1..=opts.zones {
        let mut zone = ZoneConfig::new(
            ZoneId::parse(&format!("load-{run:04x}-{k}"))?,
            format!("Load zone {k}"),
            SlotLength::from_minutes(60)?,
            WindowCapacity::uniform(opts.capacity),
        );
        zone.rules = BookingRules {
            horizon_minutes: u32::try_from(HORIZON_DAYS * 24 * 60)?,
            company_cap_percent: 100,
            require_containers: false,
            ..BookingRules::default()
        };
        let zone = store
            .upsert_zone(zone)
            .await
            .with_context(|| format!("creating load zone {k}"))?;
        // Every window from three hours ahead (well clear of the booking cut-off, even after
        // a long preload) to an hour short of the horizon.
        let mut windows = Vec::new();
        let mut w = zone.window_containing(now) + TimeDelta::hours(3);
        let last = now + TimeDelta::days(HORIZON_DAYS) - TimeDelta::hours(1);
        while w <= last {
            windows.push(w);
            w += zone.slot.duration();
        }
        // Its gate: passages are reported at its lanes, in their directions.
        let gate = Gate {
            id: GateId::parse(&format!("{}-gate", zone.id))?,
            zone: zone.id.clone(),
            name: format!("Load gate {k}"),
            lanes: vec![
                Lane {
                    id: LaneId::parse(LANE_IN)?,
                    direction: Direction::In,
                },
                Lane {
                    id: LaneId::parse(LANE_OUT)?,
                    direction: Direction::Out,
                },
            ],
            name_ar: String::new(),
        };
        store
            .upsert_gate(gate.clone())
            .await
            .with_context(|| format!("creating the gate of load zone {k}"))?;
        zones.push(ZonePlan {
            id: zone.id.to_string(),
            windows,
            gate: Some(GatePlan {
                id: gate.id.to_string(),
                lane_in: LANE_IN.to_owned(),
                lane_out: LANE_OUT.to_owned(),
            }),
        });
    }
    Ok(zones)
}

/// Writes `n` bookings straight through the store, many in flight.
async fn preload<S: Store>(
    store: &Arc<S>,
    n: usize,
    plan: &Arc<Plan>,
    company: &CompanyId,
    trucks: &Arc<Trucks>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    if n == 0 {
        return Ok(Duration::ZERO);
    }
    tracing::info!(bookings = n, "preloading the store");
    let left = Arc::new(AtomicU64::new(n as u64));
    let mut workers = JoinSet::new();
    for _ in 0..PRELOAD_IN_FLIGHT.min(n) {
        let (store, plan, trucks, left) = (
            Arc::clone(store),
            Arc::clone(plan),
            Arc::clone(trucks),
            Arc::clone(&left),
        );
        let company = company.clone();
        workers.spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                .is_ok()
            {
                let (i, zone, window, plate) = plan.next();
                let req = NewBooking {
                    by: None,
                    company: company.clone(),
                    idempotency_key: plan.key(i),
                    plate: Plate::parse(&plate)?,
                    epc: None,
                    stops: vec![Stop::new(
                        ZoneId::parse(&zone.id)?,
                        window,
                        TransactionType::GeneralCargo,
                        Vec::new(),
                    )],
                };
                let created = store
                    .create_booking(req, Utc::now())
                    .await
                    .with_context(|| format!("preloading booking {i}"))?;
                if created.replayed {
                    bail!("preload booking {i} was answered as a replay");
                }
                trucks.booked(Truck {
                    booking: created.booking.id,
                    zone: zone.id.clone(),
                    plate,
                });
                if (i + 1) % PRELOAD_LOG_EVERY as u64 == 0 {
                    tracing::info!(done = i + 1, of = n, "preloading");
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = workers.join_next().await {
        r.context("a preload worker panicked")??;
    }
    let elapsed = started.elapsed();
    tracing::info!(
        bookings = n,
        seconds = elapsed.as_secs_f64(),
        "preload done"
    );
    Ok(elapsed)
}

/// Zones and preload through `store`; the plan of the run.
async fn prepare<S: Store>(
    store: &Arc<S>,
    opts: &LoadOptions,
    company: &CompanyId,
    trucks: &Arc<Trucks>,
) -> anyhow::Result<(Arc<Plan>, Duration)> {
    let plan = Arc::new(Plan::new(create_zones(&**store, opts).await?, opts.layout)?);
    let elapsed = preload(store, opts.preload, &plan, company, trucks).await?;
    Ok((plan, elapsed))
}

impl Fleet {
    async fn start(
        choice: &StoreChoice,
        replicas: usize,
        opts: &LoadOptions,
        trucks: &Arc<Trucks>,
    ) -> anyhow::Result<Fleet> {
        let dir = tempfile::Builder::new()
            .prefix("bawaba-load-")
            .tempdir()
            .context("creating the load run's temporary folder")?;
        let tokens = Arc::new(TokenBook::new(dir.path()));
        let now = Utc::now();
        let mut companies = Vec::with_capacity(opts.companies);
        let mut company_tokens = Vec::with_capacity(opts.companies);
        for k in 1..=opts.companies {
            let company = CompanyId::parse(&format!("load-co-{k}"))?;
            let principal = Principal::new(Role::Company, Some(company.clone()), None)?;
            company_tokens.push(tokens.issue(&principal, Some("load"), now)?);
            companies.push(company);
        }
        let gate = Principal::new(Role::Gate, None, None)?;
        let gate_token = Some(tokens.issue(&gate, Some("load"), now)?);

        let mut addrs = Vec::with_capacity(replicas);
        let mut servers = Vec::with_capacity(replicas);
        let (stores, database, plan, preload_elapsed, description) = match choice {
            StoreChoice::Sled => {
                let store =
                    Arc::new(SledStore::open(dir.path()).context("opening the sled store")?);
                let (plan, took) = prepare(&store, opts, &companies[0], trucks).await?;
                let (addr, server) = serve(Arc::clone(&store), Arc::clone(&tokens)).await?;
                addrs.push(addr);
                servers.push(server);
                let what = "an in-process scheduler on sled (fresh store)".to_owned();
                (Stores::Sled(store), None, plan, took, what)
            }
            StoreChoice::Postgres(url) => {
                let database = match url {
                    Some(_) => None,
                    None => Some(
                        ScratchDatabase::create()
                            .await
                            .context("creating a fresh PostgreSQL database")?,
                    ),
                };
                let url = url
                    .clone()
                    .or_else(|| database.as_ref().map(|d| d.url.clone()))
                    .context("no PostgreSQL URL")?;
                let first = Arc::new(
                    PgStore::connect(&url)
                        .await
                        .context("connecting to PostgreSQL")?,
                );
                // Zones first, so every replica connected after sees them.
                let (plan, took) = prepare(&first, opts, &companies[0], trucks).await?;
                let mut stores = vec![first];
                for _ in 1..replicas {
                    stores.push(Arc::new(
                        PgStore::connect(&url)
                            .await
                            .context("connecting a replica to PostgreSQL")?,
                    ));
                }
                for store in &stores {
                    let (addr, server) = serve(Arc::clone(store), Arc::clone(&tokens)).await?;
                    addrs.push(addr);
                    servers.push(server);
                }
                let what = format!(
                    "{replicas} in-process scheduler replica{} on PostgreSQL ({})",
                    if replicas == 1 { "" } else { "s" },
                    if database.is_some() {
                        "fresh database"
                    } else {
                        "given database"
                    }
                );
                (Stores::Pg(stores), database, plan, took, what)
            }
        };
        tracing::info!(dir = %dir.path().display(), ?addrs, "load scheduler started");
        Ok(Fleet {
            rig: Rig {
                description,
                addrs,
                ca: None,
                company_tokens,
                gate_token,
                plan,
                preload_elapsed,
                sled: match &stores {
                    Stores::Sled(s) => Some(Arc::clone(s)),
                    Stores::Pg(_) => None,
                },
            },
            dir,
            servers,
            stores,
            database,
        })
    }

    async fn check(&self, trucks: &Trucks, phases: &[PhaseStats]) -> anyhow::Result<Check> {
        let passages = phases
            .iter()
            .filter(|p| p.operation == Operation::Passages)
            .map(|p| p.items)
            .sum();
        let acknowledged = locked(&trucks.acknowledged).clone();
        match &self.stores {
            Stores::Sled(s) => check(&**s, &self.rig.plan, &acknowledged, passages).await,
            Stores::Pg(s) => {
                let first = s.first().context("no replica")?;
                check(&**first, &self.rig.plan, &acknowledged, passages).await
            }
        }
    }

    /// Stops the servers, then closes the stores and removes the folder (and database).
    async fn stop(self) -> anyhow::Result<()> {
        let Fleet {
            dir,
            servers,
            stores,
            database,
            ..
        } = self;
        for s in servers {
            let _ = s.stop.send(());
            let mut handle = s.handle;
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut handle).await {
                Ok(joined) => joined.context("a load server panicked")??,
                Err(_) => {
                    tracing::warn!("a load server did not stop in time; aborting it");
                    handle.abort();
                }
            }
        }
        match stores {
            Stores::Sled(store) => {
                // Closing flushes and joins the writer: off the async threads.
                tokio::task::spawn_blocking(move || drop(store)).await?;
            }
            Stores::Pg(stores) => {
                for store in stores {
                    match Arc::try_unwrap(store) {
                        Ok(store) => store.close().await?,
                        Err(_) => tracing::debug!("a replica's store is still shared"),
                    }
                }
            }
        }
        tokio::task::spawn_blocking(move || {
            drop(database);
            dir.close()
        })
        .await?
        .context("removing the load run's temporary folder")?;
        Ok(())
    }
}

/// Compares the store with what the run acknowledged.
async fn check<S: Store>(
    store: &S,
    plan: &Plan,
    acknowledged: &[BookingId],
    passages: u64,
) -> anyhow::Result<Check> {
    let mut stored = HashSet::new();
    let mut after = None;
    loop {
        let page = store
            .list_bookings(BookingFilter::default(), after, 1000)
            .await
            .context("listing stored bookings")?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        stored.extend(page.iter().map(|b| b.id));
    }
    let missing = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .count();

    let mut over_capacity = Vec::new();
    for z in &plan.zones {
        let (Some(first), Some(last)) = (z.windows.first(), z.windows.last()) else {
            continue;
        };
        let windows = store
            .list_windows(
                ZoneId::parse(&z.id)?,
                *first - TimeDelta::hours(1),
                *last + TimeDelta::hours(2),
                z.windows.len() + 10,
            )
            .await
            .with_context(|| format!("listing the windows of {}", z.id))?;
        over_capacity.extend(
            windows
                .iter()
                .filter(|w| w.booked > w.capacity.total)
                .map(|w| format!("{}@{}: {}/{}", z.id, w.start, w.booked, w.capacity.total)),
        );
    }

    let mut stored_passages = 0;
    let mut after = None;
    loop {
        let page = store
            .passages(None, after, 1000)
            .await
            .context("listing stored passages")?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        stored_passages += page.len() as u64;
    }
    Ok(Check {
        acknowledged_bookings: acknowledged.len() as u64,
        stored_bookings: stored.len() as u64,
        missing_bookings: missing as u64,
        over_capacity,
        acknowledged_passages: passages,
        stored_passages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        let stat = "4242 (bawaba sim) S 1 4242 4242 0 -1 4194560 2000 0 3 0 250 125 0 0 20 0 9 0";
        assert_eq!(parse_cpu(stat), Some(Duration::from_millis(3750)));
        assert_eq!(parse_cpu("4242 (cut"), None);
        assert!(process_cpu().is_some(), "this test runs on Linux");
    }

    #[test]
    fn operations_parse_by_name() {
        for op in [Operation::Noop, Operation::Bookings, Operation::Passages] {
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
        }
        let err = "gates".parse::<Operation>().unwrap_err();
        assert!(err.contains("noop, bookings or passages"), "{err}");
    }

    #[test]
    fn options_name_what_is_wrong() {
        let bad = |o: LoadOptions| o.validate().unwrap_err().to_string();
        let base = LoadOptions::default();
        assert!(
            bad(LoadOptions {
                clients: 0,
                ..base.clone()
            })
            .starts_with("clients")
        );
        assert!(
            bad(LoadOptions {
                pace: Pace::Open { per_second: 0.0 },
                ..base.clone()
            })
            .starts_with("rate")
        );
        assert!(
            bad(LoadOptions {
                target: Target::InProcess {
                    store: StoreChoice::Sled,
                    replicas: 2
                },
                ..base.clone()
            })
            .starts_with("replicas")
        );
        assert!(
            bad(LoadOptions {
                operations: vec![Operation::Passages, Operation::Bookings],
                ..base.clone()
            })
            .starts_with("operations")
        );
        assert!(
            bad(LoadOptions {
                target: Target::Remote(RemoteTarget {
                    addrs: vec!["http://127.0.0.1:1".into()],
                    company_tokens: vec!["t".into()],
                    ..RemoteTarget::default()
                }),
                ..base.clone()
            })
            .starts_with("gate token")
        );
        base.validate().unwrap();
    }

    #[test]
    fn passages_take_trucks_in_then_out() {
        let trucks = Trucks::new(true);
        for _ in 0..3 {
            trucks.booked(Truck {
                booking: BookingId::new(Utc::now(), 1),
                zone: "z".into(),
                plate: "P1".into(),
            });
        }
        // Two enter; while they are in flight nothing can leave yet.
        let Take::Batch(first) = trucks.take(2, 0) else {
            panic!("expected a batch")
        };
        assert!(first.iter().all(|(_, d)| *d == pb::LaneDirection::In));
        let Take::Batch(third) = trucks.take(5, 0) else {
            panic!("expected a batch")
        };
        assert_eq!(third.len(), 1);
        assert!(matches!(trucks.take(1, 0), Take::Wait));
        trucks.entered(first.into_iter().map(|(t, _)| t).collect(), true);
        trucks.entered(third.into_iter().map(|(t, _)| t).collect(), false);
        let Take::Batch(out) = trucks.take(5, 0) else {
            panic!("expected a batch")
        };
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, d)| *d == pb::LaneDirection::Out));
        assert!(matches!(trucks.take(1, 0), Take::Done));
    }
}
