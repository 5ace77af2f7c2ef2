//! The booking benchmarks, on the load engine of [`crate::load`]:
//!
//! - `bawaba bench booking`: an in-process scheduler on a fresh sled store; `clients`
//!   closed-loop clients, one connection each, first call the standard health check (a
//!   no-op on the same server) for `duration`, then create durable bookings for `duration`
//!   on the same connections, spread over the windows of the horizon. Optionally the store
//!   is preloaded first; `--growth SMALL,LARGE` runs twice on fresh stores and compares.
//!   The bar: durable bookings at no less than 60 % of the no-op rate, with a p99 no more
//!   than twice the no-op p99. The bar is reported, never enforced.
//! - `bawaba bench stores`: durable bookings on sled against PostgreSQL with one and two
//!   scheduler replicas, spread over many windows and on one hot window, each on a fresh
//!   store, in the same run; ratios against sled.
//!
//! These are measurements, not tests: nothing here asserts timings.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, ensure};

use crate::load::{
    self, Check, Layout, LoadOptions, LoadReport, Operation, Pace, PhaseStats, StoreChoice, Target,
    load_average_text, run_load, write_header, write_row,
};

/// Durable bookings must reach this share of the no-op call rate.
pub const RATE_BAR: f64 = 0.60;
/// The booking p99 may be at most this multiple of the no-op p99.
pub const P99_BAR: f64 = 2.0;

/// What to run: `bawaba bench booking [--clients 64] [--seconds 10] [--preload N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingBenchOptions {
    /// Concurrent closed-loop clients, one connection each.
    pub clients: usize,
    /// Length of each measured phase (the no-op baseline, then the bookings).
    pub duration: Duration,
    /// Bookings written straight through the store before measuring.
    pub preload: usize,
}

impl Default for BookingBenchOptions {
    fn default() -> Self {
        BookingBenchOptions {
            clients: 64,
            duration: Duration::from_secs(10),
            preload: 0,
        }
    }
}

/// What `bawaba bench booking` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingBenchReport {
    pub clients: usize,
    /// The length asked for each phase.
    pub duration: Duration,
    /// Bookings preloaded through the store, and how long that took.
    pub preload: usize,
    pub preload_elapsed: Duration,
    /// The baseline: health checks.
    pub noop: PhaseStats,
    /// Durable bookings.
    pub booking: PhaseStats,
    /// The store after the run: every acknowledged booking there, no window over capacity.
    pub check: Option<Check>,
    /// At the end of the run.
    pub load_average: Option<[f64; 3]>,
}

impl BookingBenchReport {
    /// Durable bookings per second ÷ no-op calls per second.
    pub fn rate_ratio(&self) -> f64 {
        ratio(self.booking.rate(), self.noop.rate())
    }

    /// Booking p99 ÷ no-op p99.
    pub fn p99_ratio(&self) -> f64 {
        ratio(self.booking.p99.as_secs_f64(), self.noop.p99.as_secs_f64())
    }

    /// CPU time per booking ÷ per no-op call (this process: clients and scheduler).
    pub fn cpu_ratio(&self) -> Option<f64> {
        let (b, n) = (self.booking.cpu_per_call()?, self.noop.cpu_per_call()?);
        Some(ratio(b.as_secs_f64(), n.as_secs_f64()))
    }

    /// Bookings at no less than [`RATE_BAR`] of the no-op rate.
    pub fn meets_rate_bar(&self) -> bool {
        self.rate_ratio() >= RATE_BAR
    }

    /// Booking p99 at most [`P99_BAR`] times the no-op p99.
    pub fn meets_p99_bar(&self) -> bool {
        self.p99_ratio() <= P99_BAR
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The phase of `op` in a load report.
fn phase(report: &LoadReport, op: Operation) -> anyhow::Result<PhaseStats> {
    report
        .phase(op)
        .cloned()
        .with_context(|| format!("the load run has no {op} phase"))
}

impl fmt::Display for BookingBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "booking bench: {} clients (one connection each), {:.1} s per phase, preload {} bookings ({:.1} s)",
            self.clients,
            self.duration.as_secs_f64(),
            self.preload,
            self.preload_elapsed.as_secs_f64(),
        )?;
        write_header(f, "phase")?;
        write_row(f, "no-op (health)", &self.noop)?;
        write_row(f, "booking (durable)", &self.booking)?;
        writeln!(
            f,
            "  bookings/s ÷ no-op calls/s: {:.1} % (bar ≥ {:.0} %: {})",
            self.rate_ratio() * 100.0,
            RATE_BAR * 100.0,
            met(self.meets_rate_bar()),
        )?;
        writeln!(
            f,
            "  booking p99 ÷ no-op p99:    {:.2}× (bar ≤ {P99_BAR}×: {})",
            self.p99_ratio(),
            met(self.meets_p99_bar()),
        )?;
        if let Some(r) = self.cpu_ratio() {
            writeln!(
                f,
                "  CPU per booking ÷ per no-op: {r:.2}× (clients and scheduler, this process)"
            )?;
        }
        if let Some(c) = &self.check {
            writeln!(f, "  {c}")?;
        }
        write!(f, "  {}", load_average_text(self.load_average))
    }
}

/// Two runs on fresh stores, one preloaded with few bookings and one with many: does booking
/// slow down as the store grows? (`bawaba bench booking --growth SMALL,LARGE`.)
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthBenchReport {
    pub small: BookingBenchReport,
    pub large: BookingBenchReport,
}

impl GrowthBenchReport {
    /// Booking p50 with the large preload ÷ with the small one.
    pub fn p50_ratio(&self) -> f64 {
        ratio(
            self.large.booking.p50.as_secs_f64(),
            self.small.booking.p50.as_secs_f64(),
        )
    }

    /// Booking p99 with the large preload ÷ with the small one.
    pub fn p99_ratio(&self) -> f64 {
        ratio(
            self.large.booking.p99.as_secs_f64(),
            self.small.booking.p99.as_secs_f64(),
        )
    }

    /// Bookings per second with the large preload ÷ with the small one.
    pub fn rate_ratio(&self) -> f64 {
        ratio(self.large.booking.rate(), self.small.booking.rate())
    }

    /// No-op calls per second in the large run ÷ in the small one: the noise check. The
    /// no-op path does not touch the store, so far from 1× means the machine was busier
    /// during one of the runs, not that the store slowed down.
    pub fn noop_rate_ratio(&self) -> f64 {
        ratio(self.large.noop.rate(), self.small.noop.rate())
    }
}

impl fmt::Display for GrowthBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.small)?;
        writeln!(f, "{}", self.large)?;
        writeln!(
            f,
            "growth {} → {} preloaded bookings (large ÷ small):",
            self.small.preload, self.large.preload
        )?;
        writeln!(f, "  booking p50: {:.2}×", self.p50_ratio())?;
        writeln!(f, "  booking p99: {:.2}×", self.p99_ratio())?;
        writeln!(f, "  bookings/s:  {:.2}×", self.rate_ratio())?;
        write!(
            f,
            "  no-op calls/s (noise check, ≈ 1× when the machine was equally idle): {:.2}×",
            self.noop_rate_ratio()
        )
    }
}

/// The load behind every booking benchmark: closed loop, bookings of one company in one zone.
fn bench_load(clients: usize, duration: Duration, operations: Vec<Operation>) -> LoadOptions {
    LoadOptions {
        operations,
        clients,
        pace: Pace::Closed,
        duration,
        zones: 1,
        companies: 1,
        ..LoadOptions::default()
    }
}

/// Runs the benchmark on a fresh store: preload, no-op baseline, bookings.
pub async fn run_booking_bench(opts: &BookingBenchOptions) -> anyhow::Result<BookingBenchReport> {
    ensure!(opts.clients > 0, "the benchmark needs at least one client");
    let load = LoadOptions {
        preload: opts.preload,
        ..bench_load(
            opts.clients,
            opts.duration,
            vec![Operation::Noop, Operation::Bookings],
        )
    };
    let report = run_load(&load).await?;
    Ok(BookingBenchReport {
        clients: opts.clients,
        duration: opts.duration,
        preload: opts.preload,
        preload_elapsed: report.preload_elapsed,
        noop: phase(&report, Operation::Noop)?,
        booking: phase(&report, Operation::Bookings)?,
        check: report.check,
        load_average: report.load_average,
    })
}

/// Runs the benchmark twice, each time on a fresh store: preloaded with `small` bookings, then
/// with `large`, and compares the booking latencies.
pub async fn run_growth_bench(
    clients: usize,
    duration: Duration,
    small: usize,
    large: usize,
) -> anyhow::Result<GrowthBenchReport> {
    let opts = |preload| BookingBenchOptions {
        clients,
        duration,
        preload,
    };
    let small = run_booking_bench(&opts(small)).await?;
    let large = run_booking_bench(&opts(large)).await?;
    Ok(GrowthBenchReport { small, large })
}

/// What to run: `bawaba bench stores [--clients 64] [--seconds 10] [--postgres URL]
/// [--replicas 1,2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoresBenchOptions {
    pub clients: usize,
    /// Length of each case.
    pub duration: Duration,
    /// A PostgreSQL database to use (each case creates its own zones in it); `None`: a fresh
    /// database per case on the local server (`BAWABA_TEST_PG`, by default 127.0.0.1:5432).
    pub postgres: Option<String>,
    /// Scheduler replica counts to run on PostgreSQL.
    pub replicas: Vec<usize>,
}

impl Default for StoresBenchOptions {
    fn default() -> Self {
        StoresBenchOptions {
            clients: 64,
            duration: Duration::from_secs(10),
            postgres: None,
            replicas: vec![1, 2],
        }
    }
}

/// One store, replica count and layout.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreCase {
    /// `sled` or `postgres`.
    pub store: &'static str,
    pub replicas: usize,
    pub layout: Layout,
    pub booking: PhaseStats,
    pub check: Option<Check>,
    pub load_average: Option<[f64; 3]>,
}

/// What `bawaba bench stores` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct StoresBenchReport {
    pub clients: usize,
    pub duration: Duration,
    /// The no-op baseline on the sled case's server.
    pub noop: PhaseStats,
    /// sled first for each layout (the baseline of its rows), then PostgreSQL.
    pub cases: Vec<StoreCase>,
}

impl StoresBenchReport {
    /// The sled case of `layout`.
    pub fn sled(&self, layout: Layout) -> Option<&StoreCase> {
        self.cases
            .iter()
            .find(|c| c.store == "sled" && c.layout == layout)
    }

    /// A case's bookings/s ÷ sled's on the same layout.
    pub fn rate_vs_sled(&self, case: &StoreCase) -> f64 {
        self.sled(case.layout)
            .map_or(f64::NAN, |s| ratio(case.booking.rate(), s.booking.rate()))
    }

    /// A case's booking p99 ÷ sled's on the same layout.
    pub fn p99_vs_sled(&self, case: &StoreCase) -> f64 {
        self.sled(case.layout).map_or(f64::NAN, |s| {
            ratio(case.booking.p99.as_secs_f64(), s.booking.p99.as_secs_f64())
        })
    }

    /// Every case's store check passed.
    pub fn checks_passed(&self) -> bool {
        self.cases
            .iter()
            .all(|c| c.check.as_ref().is_some_and(Check::ok))
    }
}

impl fmt::Display for StoresBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stores bench: {} closed-loop clients (split across replicas), {:.1} s per case, a fresh store per case",
            self.clients,
            self.duration.as_secs_f64()
        )?;
        write_header(f, "case")?;
        write_row(f, "no-op (health, sled)", &self.noop)?;
        for c in &self.cases {
            write_row(f, &case_name(c), &c.booking)?;
        }
        writeln!(
            f,
            "  {:<22} {:>12} {:>12} {:>12}  store check, load",
            "durable bookings", "/s ÷ sled", "p99 ÷ sled", "/s ÷ no-op"
        )?;
        for c in &self.cases {
            writeln!(
                f,
                "  {:<22} {:>11.2}× {:>11.2}× {:>11.1}%  {}, {}",
                case_name(c),
                self.rate_vs_sled(c),
                self.p99_vs_sled(c),
                ratio(c.booking.rate(), self.noop.rate()) * 100.0,
                match &c.check {
                    Some(k) if k.ok() => "passed".to_owned(),
                    Some(k) => k.to_string(),
                    None => "not run".to_owned(),
                },
                load_average_text(c.load_average),
            )?;
        }
        write!(
            f,
            "  many windows: round-robin over every window of a 30-day horizon; hot window: every booking on one window ({} places)",
            load::DEFAULT_CAPACITY
        )
    }
}

fn case_name(c: &StoreCase) -> String {
    let layout = match c.layout {
        Layout::Spread => "spread",
        Layout::Hot => "hot",
    };
    format!("{} ×{} {layout}", c.store, c.replicas)
}

/// Runs every case of the stores benchmark, each on a fresh store: for each layout, sled, then
/// PostgreSQL with each replica count. The sled run of the many-windows layout also measures
/// the no-op baseline.
pub async fn run_stores_bench(opts: &StoresBenchOptions) -> anyhow::Result<StoresBenchReport> {
    ensure!(opts.clients > 0, "the benchmark needs at least one client");
    ensure!(
        !opts.replicas.is_empty() && !opts.replicas.contains(&0),
        "replicas: give one or more counts, each at least 1"
    );
    let mut noop = None;
    let mut cases = Vec::new();
    for layout in [Layout::Spread, Layout::Hot] {
        let mut runs = vec![("sled", StoreChoice::Sled, 1)];
        for &r in &opts.replicas {
            runs.push(("postgres", StoreChoice::Postgres(opts.postgres.clone()), r));
        }
        for (name, store, replicas) in runs {
            let baseline = noop.is_none() && name == "sled";
            let mut ops = vec![Operation::Bookings];
            if baseline {
                ops.insert(0, Operation::Noop);
            }
            let load = LoadOptions {
                target: Target::InProcess { store, replicas },
                layout,
                ..bench_load(opts.clients, opts.duration, ops)
            };
            tracing::info!(store = name, replicas, %layout, "stores bench case");
            let report = run_load(&load).await?;
            if baseline {
                noop = Some(phase(&report, Operation::Noop)?);
            }
            cases.push(StoreCase {
                store: name,
                replicas,
                layout,
                booking: phase(&report, Operation::Bookings)?,
                check: report.check,
                load_average: report.load_average,
            });
        }
    }
    Ok(StoresBenchReport {
        clients: opts.clients,
        duration: opts.duration,
        noop: noop.context("no sled baseline was run")?,
        cases,
    })
}
