//! The booking benchmark (`bawaba bench booking`).
//!
//! It starts a scheduler in this process, on a fresh sled store in a temporary folder, with
//! one zone `bench` (60-minute windows, 100 000 places each, no company cap, a 30-day
//! horizon, no containers required), and serves it on 127.0.0.1 over plain gRPC. Then:
//!
//! 1. optionally preloads N bookings straight through the store (many in flight, so the
//!    writer's group commit takes large batches);
//! 2. **baseline**: `clients` closed-loop clients, each on its own connection, call the
//!    standard health check (a no-op RPC on the same server) for `duration`;
//! 3. **bookings**: the same clients, on the same connections and with a company token,
//!    create GENERAL_CARGO bookings for `duration`, each with a unique idempotency key and a
//!    unique plate (so the one-truck-one-visit rule never trips), spread over the windows of
//!    the horizon. A booking counts only when the scheduler acknowledged it, which it does
//!    once the booking is durable; anything else counts as an error.
//!
//! The report compares the two: the bar is durable bookings at no less than 60 % of the no-op
//! rate, with a p99 no more than twice the no-op p99. The bar is reported, never enforced.
//! This is a measurement, not a test: nothing here asserts timings.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{
    BookingRules, SlotLength, TransactionType, WindowCapacity, ZoneConfig,
};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{NewBooking, Stop};
use bawaba_domain::plate::Plate;
use bawaba_grpc::client::Clients;
use bawaba_grpc::{Scheduler, SystemClock, pb};
use bawaba_store::{SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The zone the benchmark books in.
pub const ZONE: &str = "bench";
/// The company the benchmark books for.
pub const COMPANY: &str = "bench-co";
/// Places per window: far more than a run can fill, so no booking is refused for room.
pub const WINDOW_CAPACITY: u32 = 100_000;
/// Booking horizon of the zone, in days.
pub const HORIZON_DAYS: i64 = 30;
/// Durable bookings must reach this share of the no-op call rate.
pub const RATE_BAR: f64 = 0.60;
/// The booking p99 may be at most this multiple of the no-op p99.
pub const P99_BAR: f64 = 2.0;

/// Preload requests in flight at once: enough for the store writer to commit large batches.
const PRELOAD_IN_FLIGHT: usize = 512;
/// Preload progress is logged every this many bookings.
const PRELOAD_LOG_EVERY: usize = 100_000;
/// How long a stopping server may take to drain its connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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

/// The outcome of one measured phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStats {
    /// Successful calls (for bookings: acknowledged, hence durable, new bookings).
    pub calls: u64,
    /// Calls that failed (any status), or bookings answered as replays.
    pub errors: u64,
    /// From the start of the phase until its last call returned.
    pub elapsed: Duration,
    /// Latency of the successful calls, as seen by the client.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// The first error met, if any (`<code>: <message>`).
    pub first_error: Option<String>,
}

impl PhaseStats {
    /// Successful calls per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.calls as f64 / secs
        } else {
            0.0
        }
    }

    fn from_clients(results: Vec<ClientTally>, elapsed: Duration) -> Self {
        let mut micros: Vec<u32> = Vec::with_capacity(results.iter().map(|r| r.micros.len()).sum());
        let mut errors = 0;
        let mut first_error = None;
        for r in results {
            micros.extend_from_slice(&r.micros);
            errors += r.errors;
            if first_error.is_none() {
                first_error = r.first_error;
            }
        }
        micros.sort_unstable();
        let at = |q: f64| Duration::from_micros(u64::from(percentile(&micros, q)));
        PhaseStats {
            calls: micros.len() as u64,
            errors,
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
            first_error,
        }
    }
}

/// Nearest-rank percentile of sorted samples; 0 when there are none.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn phase_row(f: &mut fmt::Formatter<'_>, name: &str, s: &PhaseStats) -> fmt::Result {
    writeln!(
        f,
        "  {name:<18} {calls:>9} {rate:>10.0} {p50:>10} {p99:>10} {max:>10} {errors:>7}",
        calls = s.calls,
        rate = s.rate(),
        p50 = ms(s.p50),
        p99 = ms(s.p99),
        max = ms(s.max),
        errors = s.errors,
    )?;
    if let Some(e) = &s.first_error {
        writeln!(f, "  {:<18} first error: {e}", "")?;
    }
    Ok(())
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
        writeln!(
            f,
            "  {:<18} {:>9} {:>10} {:>10} {:>10} {:>10} {:>7}",
            "phase", "calls", "per s", "p50", "p99", "max", "errors"
        )?;
        phase_row(f, "no-op (health)", &self.noop)?;
        phase_row(f, "booking (durable)", &self.booking)?;
        writeln!(
            f,
            "  bookings/s ÷ no-op calls/s: {:.1} % (bar ≥ {:.0} %: {})",
            self.rate_ratio() * 100.0,
            RATE_BAR * 100.0,
            met(self.meets_rate_bar()),
        )?;
        write!(
            f,
            "  booking p99 ÷ no-op p99:    {:.2}× (bar ≤ {P99_BAR}×: {})",
            self.p99_ratio(),
            met(self.meets_p99_bar()),
        )
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

/// Runs the benchmark on a fresh store: preload, no-op baseline, bookings.
pub async fn run_booking_bench(opts: &BookingBenchOptions) -> anyhow::Result<BookingBenchReport> {
    if opts.clients == 0 {
        bail!("the benchmark needs at least one client");
    }
    let bench = Bench::start().await?;
    let report = bench.run(opts).await;
    bench.stop().await?;
    report
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

/// A running in-process scheduler on a fresh store.
struct Bench {
    dir: tempfile::TempDir,
    store: Arc<SledStore>,
    token: String,
    addr: String,
    zone: ZoneConfig,
    company: CompanyId,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), bawaba_grpc::server::Error>>,
}

impl fmt::Debug for Bench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bench")
            .field("dir", &self.dir.path())
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Outcome of one client's closed loop.
#[derive(Debug, Default)]
struct ClientTally {
    micros: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl ClientTally {
    fn ok(&mut self, started: Instant) {
        self.micros
            .push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    }

    fn error(&mut self, what: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what());
        }
    }
}

fn status_text(s: &tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

impl Bench {
    async fn start() -> anyhow::Result<Bench> {
        let dir = tempfile::Builder::new()
            .prefix("bawaba-bench-")
            .tempdir()
            .context("creating the benchmark's temporary folder")?;
        let store = Arc::new(SledStore::open(dir.path()).context("opening the store")?);
        let tokens = Arc::new(TokenBook::new(dir.path()));
        let company = CompanyId::parse(COMPANY)?;
        let token = tokens.issue(
            &Principal::new(Role::Company, Some(company.clone()), None)?,
            Some("bench"),
            Utc::now(),
        )?;

        let mut zone = ZoneConfig::new(
            ZoneId::parse(ZONE)?,
            "Benchmark zone",
            SlotLength::from_minutes(60)?,
            WindowCapacity::uniform(WINDOW_CAPACITY),
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
            .context("creating the bench zone")?;

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let scheduler = Scheduler {
            store: Arc::clone(&store),
            tokens,
            clock: Arc::new(SystemClock),
            tls: None,
        };
        let server = tokio::spawn(scheduler.serve(listener, async move {
            let _ = stopped.await;
        }));
        tracing::info!(dir = %dir.path().display(), %addr, "benchmark scheduler started");
        Ok(Bench {
            dir,
            store,
            token,
            addr,
            zone,
            company,
            stop: Some(stop),
            server,
        })
    }

    /// The windows bookings are spread over: every window from at least two hours after
    /// `now` (well clear of the booking cut-off, even after a long preload) to an hour short
    /// of the horizon.
    fn windows(&self, now: DateTime<Utc>) -> Arc<Vec<DateTime<Utc>>> {
        let slot = self.zone.slot.duration();
        let first = self.zone.window_containing(now) + TimeDelta::hours(3);
        let last = now + TimeDelta::days(HORIZON_DAYS) - TimeDelta::hours(1);
        let mut out = Vec::new();
        let mut w = first;
        while w <= last {
            out.push(w);
            w += slot;
        }
        Arc::new(out)
    }

    async fn run(&self, opts: &BookingBenchOptions) -> anyhow::Result<BookingBenchReport> {
        let preload_elapsed = self.preload(opts.preload).await?;

        // One connection per client, made and warmed up before anything is measured.
        let mut channels = Vec::with_capacity(opts.clients);
        for _ in 0..opts.clients {
            let ch = bawaba_grpc::client::channel(&self.addr, None).await?;
            HealthClient::new(ch.clone())
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .context("warm-up health check")?;
            channels.push(ch);
        }

        tracing::info!(
            clients = opts.clients,
            seconds = opts.duration.as_secs_f64(),
            "no-op phase (health checks)"
        );
        let noop = self.noop_phase(&channels, opts.duration).await?;
        tracing::info!(
            clients = opts.clients,
            seconds = opts.duration.as_secs_f64(),
            "booking phase"
        );
        let booking = self.booking_phase(&channels, opts.duration).await?;

        Ok(BookingBenchReport {
            clients: opts.clients,
            duration: opts.duration,
            preload: opts.preload,
            preload_elapsed,
            noop,
            booking,
        })
    }

    /// Writes `n` bookings straight through the store, [`PRELOAD_IN_FLIGHT`] at a time.
    async fn preload(&self, n: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if n == 0 {
            return Ok(Duration::ZERO);
        }
        tracing::info!(bookings = n, "preloading the store");
        let windows = self.windows(Utc::now());
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut workers = JoinSet::new();
        for _ in 0..PRELOAD_IN_FLIGHT.min(n) {
            let (store, windows, next, done) = (
                Arc::clone(&self.store),
                Arc::clone(&windows),
                Arc::clone(&next),
                Arc::clone(&done),
            );
            let (zone, company) = (self.zone.id.clone(), self.company.clone());
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return anyhow::Ok(());
                    }
                    let req = NewBooking {
                        company: company.clone(),
                        idempotency_key: format!("preload-{i}"),
                        plate: Plate::parse(&format!("P{i:010}"))?,
                        epc: None,
                        stops: vec![Stop::new(
                            zone.clone(),
                            windows[i % windows.len()],
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
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d % PRELOAD_LOG_EVERY == 0 {
                        let secs = started.elapsed().as_secs_f64();
                        tracing::info!(
                            done = d,
                            of = n,
                            per_second = (d as f64 / secs).round(),
                            "preloading"
                        );
                    }
                }
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

    async fn noop_phase(
        &self,
        channels: &[Channel],
        duration: Duration,
    ) -> anyhow::Result<PhaseStats> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut clients = JoinSet::new();
        for ch in channels {
            let mut health = HealthClient::new(ch.clone());
            clients.spawn(async move {
                let mut tally = ClientTally::default();
                while Instant::now() < deadline {
                    let req = HealthCheckRequest {
                        service: String::new(),
                    };
                    let t0 = Instant::now();
                    match health.check(req).await {
                        Ok(_) => tally.ok(t0),
                        Err(s) => tally.error(|| status_text(&s)),
                    }
                }
                tally
            });
        }
        let tallies = join_all(clients).await?;
        Ok(PhaseStats::from_clients(tallies, started.elapsed()))
    }

    async fn booking_phase(
        &self,
        channels: &[Channel],
        duration: Duration,
    ) -> anyhow::Result<PhaseStats> {
        let windows = self.windows(Utc::now());
        let n_clients = channels.len() as u64;
        let started = Instant::now();
        let deadline = started + duration;
        let mut clients = JoinSet::new();
        for (c, ch) in channels.iter().enumerate() {
            let mut api = Clients::new(ch.clone(), Some(&self.token))?;
            let windows = Arc::clone(&windows);
            let zone = self.zone.id.to_string();
            clients.spawn(async move {
                let mut tally = ClientTally::default();
                // Booking number n = c + seq × clients: unique across clients, and the key to
                // its idempotency key, plate and window.
                let mut n = c as u64;
                while Instant::now() < deadline {
                    let req = pb::CreateBookingRequest {
                        idempotency_key: format!("bench-{n}"),
                        truck_plate: format!("B{n:015}"),
                        stops: vec![pb::StopRequest {
                            zone_id: zone.clone(),
                            window_start: Some(bawaba_grpc::timestamp(
                                windows[(n % windows.len() as u64) as usize],
                            )),
                            transaction_type: pb::TransactionType::GeneralCargo as i32,
                            container_numbers: Vec::new(),
                        }],
                        ..Default::default()
                    };
                    n += n_clients;
                    let t0 = Instant::now();
                    match api.bookings.create_booking(req).await {
                        Ok(r) if !r.get_ref().replayed => tally.ok(t0),
                        Ok(_) => tally
                            .error(|| "booking answered as a replay of an earlier one".to_owned()),
                        Err(s) => tally.error(|| status_text(&s)),
                    }
                }
                tally
            });
        }
        let tallies = join_all(clients).await?;
        Ok(PhaseStats::from_clients(tallies, started.elapsed()))
    }

    /// Stops the server, then closes the store and removes the folder off the async threads
    /// (closing flushes and joins the writer).
    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server).await {
            Ok(joined) => joined.context("the benchmark server panicked")??,
            Err(_) => {
                tracing::warn!("the benchmark server did not stop in time; aborting it");
                self.server.abort();
            }
        }
        let Bench { dir, store, .. } = self;
        tokio::task::spawn_blocking(move || {
            drop(store);
            dir.close()
        })
        .await?
        .context("removing the benchmark's temporary folder")?;
        Ok(())
    }
}

async fn join_all(mut set: JoinSet<ClientTally>) -> anyhow::Result<Vec<ClientTally>> {
    let mut out = Vec::with_capacity(set.len());
    while let Some(r) = set.join_next().await {
        out.push(r.context("a benchmark client panicked")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use bawaba_domain::ledger::BookingFilter;

    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[], 0.99), 0);
    }

    async fn stored_bookings(store: &SledStore) -> usize {
        let mut count = 0;
        let mut after = None;
        loop {
            let page = store
                .list_bookings(BookingFilter::default(), after, 1000)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            count += page.len();
        }
        count
    }

    /// Structural facts only (never timings): the bench books, meets no error, and every
    /// booking it counts is in the store, with the preload and nothing else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_counted_booking_is_stored() {
        let opts = BookingBenchOptions {
            clients: 4,
            duration: Duration::from_millis(300),
            preload: 100,
        };
        let bench = Bench::start().await.unwrap();
        let report = bench.run(&opts).await.unwrap();

        assert!(report.noop.calls > 0, "{report}");
        assert_eq!(report.noop.errors, 0, "{report}");
        assert!(report.booking.calls > 0, "{report}");
        assert_eq!(report.booking.errors, 0, "{report}");
        assert_eq!(report.preload, 100);

        let expected = opts.preload + report.booking.calls as usize;
        assert_eq!(stored_bookings(&bench.store).await, expected);
        let now = Utc::now();
        let windows = bench
            .store
            .list_windows(
                bench.zone.id.clone(),
                now,
                now + TimeDelta::days(HORIZON_DAYS + 1),
                10_000,
            )
            .await
            .unwrap();
        let booked: u64 = windows.iter().map(|w| u64::from(w.booked)).sum();
        assert_eq!(booked, expected as u64);

        // The report prints every figure and both bars.
        let text = report.to_string();
        for needle in [
            "no-op (health)",
            "booking (durable)",
            "bar ≥ 60 %",
            "bar ≤ 2×",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        bench.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn growth_runs_two_fresh_stores() {
        let report = run_growth_bench(2, Duration::from_millis(100), 10, 50)
            .await
            .unwrap();
        assert_eq!((report.small.preload, report.large.preload), (10, 50));
        assert!(
            report.small.booking.calls > 0 && report.large.booking.calls > 0,
            "{report}"
        );
        assert_eq!(
            report.small.booking.errors + report.large.booking.errors,
            0,
            "{report}"
        );
        assert!(report.to_string().contains("booking p99:"));
    }
}
