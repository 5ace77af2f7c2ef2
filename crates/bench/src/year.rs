//! `bawaba bench year`: a store filled with a year (or any number of days) of Aqaba's traffic
//! through the store's own interface on a simulated clock — bookings, moves, cancellations,
//! passages in and out, referrals and their decisions, no-shows — then the scheduler started
//! on it as a separate process, its start-up time and resident memory measured against the
//! same on an empty store, in the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{Actor, Booking, Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::passage::{Passage, Reason, Resolution, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_store::{Setup, SledStore, Store};
use bawaba_store_pg::PgStore;
use bawaba_store_pg::scratch::ScratchDatabase;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tokio::task::JoinSet;

/// What to generate: `bawaba bench year [--days 365] [--trucks 2500] [--data-dir DIR]`.
#[derive(Debug, Clone)]
pub struct YearOptions {
    pub days: u32,
    /// Truck visits booked a day (Aqaba: about 2,500).
    pub trucks: u32,
    /// Where the store is written (it must hold none); a temporary folder when not given.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database to write into instead (postgres://...; it must hold no zones).
    pub store: Option<String>,
}

/// The zones the traffic is spread over, with their gates.
const ZONES: [&str; 3] = ["act", "siz", "main-port"];
/// Bookings in flight at once while a day is booked.
const IN_FLIGHT: usize = 64;

/// What was generated and measured.
#[derive(Debug, Clone)]
pub struct YearReport {
    pub days: u32,
    pub bookings: u64,
    pub moved: u64,
    pub cancelled: u64,
    pub passages: u64,
    pub referrals: u64,
    pub no_shows: u64,
    pub generated_in: Duration,
    /// The store's size on disk.
    pub bytes: u64,
    pub empty: Started,
    pub full: Started,
    pub backup: Backup,
}

/// A backup taken of the store while it is open (`Store::export`), with bookings made
/// meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Backup {
    /// Until the last record arrived.
    pub whole: Duration,
    pub records: u64,
    /// Bookings made and cancelled one after another while the backup ran (each a write),
    /// and the slowest write.
    pub writes: u64,
    pub slowest_write: Duration,
}

/// A scheduler started on a store: how long until it served, and its resident memory then.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub start: Duration,
    pub rss_bytes: u64,
}

impl std::fmt::Display for YearReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / 1e6;
        writeln!(
            f,
            "year bench: {} days generated in {:.1} s: {} bookings ({} moved, {} cancelled, {} no-shows), {} passages, {} referrals; store {:.0} MB on disk",
            self.days,
            self.generated_in.as_secs_f64(),
            self.bookings,
            self.moved,
            self.cancelled,
            self.no_shows,
            self.passages,
            self.referrals,
            mb(self.bytes)
        )?;
        for (what, s) in [("empty store", self.empty), ("this store", self.full)] {
            writeln!(
                f,
                "  scheduler on {what}: serving after {:.2} s, resident {:.0} MB",
                s.start.as_secs_f64(),
                mb(s.rss_bytes)
            )?;
        }
        writeln!(
            f,
            "  backup of this store while open: {} records in {:.1} s; meanwhile {} writes (bookings and cancellations), the slowest {:.1} ms",
            self.backup.records,
            self.backup.whole.as_secs_f64(),
            self.backup.writes,
            self.backup.slowest_write.as_secs_f64() * 1e3
        )?;
        write!(
            f,
            "  ratios (this ÷ empty): start {:.1}×, memory {:.1}×",
            self.full.start.as_secs_f64() / self.empty.start.as_secs_f64().max(1e-9),
            self.full.rss_bytes as f64 / self.empty.rss_bytes.max(1) as f64
        )
    }
}

/// Counts of what a day made.
#[derive(Debug, Default, Clone, Copy)]
struct Day {
    bookings: u64,
    moved: u64,
    cancelled: u64,
    passages: u64,
    referrals: u64,
    no_shows: u64,
}

impl std::ops::AddAssign for Day {
    fn add_assign(&mut self, d: Day) {
        self.bookings += d.bookings;
        self.moved += d.moved;
        self.cancelled += d.cancelled;
        self.passages += d.passages;
        self.referrals += d.referrals;
        self.no_shows += d.no_shows;
    }
}

/// Generates the days on a sled store (or in a PostgreSQL database), then measures the
/// scheduler started on it against one started on an empty store of the same kind.
pub async fn run_year_bench(opts: YearOptions, bawaba: &Path) -> Result<YearReport> {
    let tmp = tempfile::tempdir()?;
    match opts.store.clone() {
        Some(url) => on_postgres(&opts, bawaba, &url, tmp.path()).await,
        None => on_sled(&opts, bawaba, tmp.path()).await,
    }
}

async fn on_sled(opts: &YearOptions, bawaba: &Path, tmp: &Path) -> Result<YearReport> {
    let dir = opts.data_dir.clone().unwrap_or_else(|| tmp.join("year"));
    anyhow::ensure!(
        !dir.join("sled").exists(),
        "{} already holds a store: give a new folder",
        dir.display()
    );
    let store = Arc::new(SledStore::open(&dir)?);
    let (total, generated_in, backup) = fill(&store, opts).await?;
    drop(store);
    let empty = start(bawaba, Where::Sled(tmp.join("empty"))).await?;
    let full = start(bawaba, Where::Sled(dir.clone())).await?;
    Ok(YearReport::new(
        opts,
        total,
        generated_in,
        size(&dir),
        [empty, full],
        backup,
    ))
}

async fn on_postgres(
    opts: &YearOptions,
    bawaba: &Path,
    url: &str,
    tmp: &Path,
) -> Result<YearReport> {
    let store = Arc::new(PgStore::connect(url).await?);
    anyhow::ensure!(
        store.zones().await?.is_empty(),
        "the database already holds a store: give an empty one"
    );
    let (total, generated_in, backup) = fill(&store, opts).await?;
    let bytes = store.database_size().await?;
    drop(store);
    let scratch = ScratchDatabase::create().await?;
    let on = |url: &str, dir: &str| Where::Postgres(url.to_string(), tmp.join(dir));
    let empty = start(bawaba, on(&scratch.url, "empty")).await?;
    let full = start(bawaba, on(url, "full")).await?;
    Ok(YearReport::new(
        opts,
        total,
        generated_in,
        bytes,
        [empty, full],
        backup,
    ))
}

/// Writes the days into `store` and takes a backup of it while it is open: what was made,
/// in how long, and the backup.
async fn fill<S: Store>(store: &Arc<S>, opts: &YearOptions) -> Result<(Day, Duration, Backup)> {
    let started = Instant::now();
    let total = generate(store, opts).await?;
    let generated_in = started.elapsed();
    Ok((total, generated_in, back_up(store, opts.days).await?))
}

impl YearReport {
    fn new(
        opts: &YearOptions,
        total: Day,
        generated_in: Duration,
        bytes: u64,
        [empty, full]: [Started; 2],
        backup: Backup,
    ) -> Self {
        YearReport {
            days: opts.days,
            bookings: total.bookings,
            moved: total.moved,
            cancelled: total.cancelled,
            passages: total.passages,
            referrals: total.referrals,
            no_shows: total.no_shows,
            generated_in,
            bytes,
            empty,
            full,
            backup,
        }
    }
}

/// Takes a backup of the open store, reading (and dropping) its records, while bookings go
/// on one after another on the day after the generated ones.
async fn back_up<S: Store>(store: &Arc<S>, days: u32) -> Result<Backup> {
    let began = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let exporting = {
        let store = Arc::clone(store);
        tokio::spawn(async move { store.export(tx).await })
    };
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = {
        let (store, done) = (Arc::clone(store), Arc::clone(&done));
        tokio::spawn(async move {
            let start = first_day() + TimeDelta::days(i64::from(days));
            let (mut writes, mut slowest) = (0u64, Duration::ZERO);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let i = u32::try_from(writes).unwrap_or(u32::MAX);
                let now = start - TimeDelta::hours(12);
                let b = book(&*store, start, now, days, i).await?;
                slowest = slowest.max(t.elapsed());
                // Cancelled again, so the windows never fill however long the backup runs.
                let t = Instant::now();
                let actor = Actor::Company(b.company.clone());
                store
                    .cancel_booking(actor, b.id, "bench".into(), now)
                    .await?;
                slowest = slowest.max(t.elapsed());
                writes += 2;
            }
            anyhow::Ok((writes, slowest))
        })
    };
    let mut records = 0u64;
    while rx.recv().await.is_some() {
        records += 1;
    }
    let whole = began.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    exporting.await??;
    let (writes, slowest_write) = writing.await??;
    Ok(Backup {
        whole,
        records,
        writes,
        slowest_write,
    })
}

/// The first day: a Monday, so every run makes the same traffic.
fn first_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

async fn generate<S: Store>(store: &Arc<S>, opts: &YearOptions) -> Result<Day> {
    for z in ZONES {
        let mut cfg = ZoneConfig::new(
            ZoneId::parse(z)?,
            format!("zone {z}"),
            SlotLength::from_minutes(60)?,
            WindowCapacity::uniform(opts.trucks.div_ceil(24).max(1)),
        );
        cfg.rules.company_cap_percent = 100;
        store.upsert_zone(cfg).await?;
        store.upsert_gate(gate(z)?).await?;
    }
    let mut total = Day::default();
    for d in 0..opts.days {
        total += day(store, opts, d).await?;
        if d % 30 == 29 {
            tracing::warn!(
                days = d + 1,
                bookings = total.bookings,
                "year bench generating"
            );
        }
    }
    Ok(total)
}

fn gate(zone: &str) -> Result<Gate> {
    let lane = |id: &str, direction| -> Result<Lane> {
        Ok(Lane {
            id: LaneId::parse(id)?,
            direction,
        })
    };
    Ok(Gate {
        id: GateId::parse(&format!("{zone}-gate"))?,
        zone: ZoneId::parse(zone)?,
        name: format!("{zone} gate"),
        lanes: vec![lane("in-1", Direction::In)?, lane("out-1", Direction::Out)?],
        name_ar: String::new(),
    })
}

/// Truck `i` of a day: its zone and window (spread over the day's hours and the zones).
fn visit(start: DateTime<Utc>, i: u32) -> (&'static str, DateTime<Utc>) {
    let zone = ZONES[(i as usize) % ZONES.len()];
    (zone, start + TimeDelta::hours(i64::from(i / 3 % 24)))
}

/// One day: its bookings made the evening before; 5 % moved an hour later, 3 % cancelled;
/// every other visit passes in and out except 4 % no-shows; 1 % of entries referred and
/// approved; the gates report hour by hour; the no-show sweep after the day.
async fn day<S: Store>(store: &Arc<S>, opts: &YearOptions, d: u32) -> Result<Day> {
    let start = first_day() + TimeDelta::days(i64::from(d));
    let booked_at = start - TimeDelta::hours(12);
    let mut tasks = JoinSet::new();
    for w in 0..IN_FLIGHT as u32 {
        let (store, trucks) = (Arc::clone(store), opts.trucks);
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for i in (w..trucks).step_by(IN_FLIGHT) {
                let b = book(&*store, start, booked_at, d, i).await?;
                let b = change(&*store, b, booked_at, i).await?;
                mine.push((i, b));
            }
            anyhow::Ok(mine)
        });
    }
    let mut booked = Vec::new();
    while let Some(done) = tasks.join_next().await {
        booked.extend(done??);
    }
    let mut day = Day {
        bookings: booked.len() as u64,
        moved: booked.iter().filter(|(i, _)| i % 20 == 7).count() as u64,
        cancelled: booked.iter().filter(|(i, _)| i % 33 == 5).count() as u64,
        ..Day::default()
    };
    pass(store, &booked, start, d, &mut day).await?;
    day.no_shows = store
        .sweep_no_shows(start + TimeDelta::hours(26))
        .await?
        .len() as u64;
    Ok(day)
}

async fn book<S: Store>(
    store: &S,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    d: u32,
    i: u32,
) -> Result<Booking> {
    let (zone, window) = visit(start, i);
    let req = NewBooking {
        by: None,
        company: CompanyId::parse(&format!("co{:02}", i % 40))?,
        idempotency_key: format!("y{d}-{i}"),
        plate: Plate::parse(&format!("{}-{:05}", 10 + i / 10_000, i % 10_000))?,
        epc: None,
        stops: vec![Stop::new(
            ZoneId::parse(zone)?,
            window,
            TransactionType::GeneralCargo,
            Vec::new(),
        )],
    };
    let created = store.create_booking(req, now).await.context("booking")?;
    Ok(created.booking)
}

/// Moves or cancels the visits whose number says so.
async fn change<S: Store>(store: &S, b: Booking, now: DateTime<Utc>, i: u32) -> Result<Booking> {
    let actor = Actor::Company(b.company.clone());
    if i % 33 == 5 {
        return Ok(store
            .cancel_booking(actor, b.id, "cargo not ready".into(), now)
            .await?);
    }
    if i % 20 == 7 {
        let later = b.stops[0].window_start + TimeDelta::hours(1);
        // The last hour's visits have no later window that day: they stay.
        if let Ok(moved) = store.move_booking(actor, b.id, 0, later, now).await {
            return Ok(moved);
        }
    }
    Ok(b)
}

/// The day's passages, reported hour by hour per gate with the gate's mark.
async fn pass<S: Store>(
    store: &Arc<S>,
    booked: &[(u32, Booking)],
    start: DateTime<Utc>,
    d: u32,
    day: &mut Day,
) -> Result<()> {
    for hour in 0..24 {
        let from = start + TimeDelta::hours(hour);
        for zone in ZONES {
            let mut batch = Vec::new();
            for (i, b) in booked {
                let s = &b.stops[0];
                let shows = i % 33 != 5 && i % 25 != 3;
                if shows && s.window_start == from && s.zone.as_str() == zone {
                    let n = u128::from(d) << 64 | u128::from(*i) << 1;
                    batch.push(passage(
                        b,
                        n,
                        Direction::In,
                        from + TimeDelta::minutes(10),
                        *i,
                    )?);
                    batch.push(passage(
                        b,
                        n | 1,
                        Direction::Out,
                        from + TimeDelta::minutes(50),
                        *i,
                    )?);
                }
            }
            let referred: Vec<PassageId> = batch
                .iter()
                .filter(|p| p.verdict == Verdict::Refer)
                .map(|p| p.id)
                .collect();
            day.passages += batch.len() as u64;
            let mark = (gate(zone)?.id, from + TimeDelta::hours(1));
            store.report_passages_through(batch, Some(mark)).await?;
            for id in referred {
                let ok = Resolution::approve("papers checked");
                store
                    .resolve_referral(id, ok, Who::named("op"), from + TimeDelta::minutes(15))
                    .await?;
                day.referrals += 1;
            }
        }
    }
    Ok(())
}

fn passage(
    b: &Booking,
    n: u128,
    direction: Direction,
    t: DateTime<Utc>,
    i: u32,
) -> Result<Passage> {
    let referred = direction == Direction::In && i % 100 == 11;
    let zone = b.stops[0].zone.as_str();
    let lane = if direction == Direction::In {
        "in-1"
    } else {
        "out-1"
    };
    Ok(Passage {
        id: PassageId::new(t, n),
        zone: b.stops[0].zone.clone(),
        gate: GateId::parse(&format!("{zone}-gate"))?,
        lane: LaneId::parse(lane)?,
        direction,
        first_read_at: t,
        last_read_at: t,
        decided_at: t,
        plate: Some(b.plate.clone()),
        confidence: Some(if referred { 61 } else { 93 }),
        epc: None,
        verdict: if referred {
            Verdict::Refer
        } else {
            Verdict::Allow
        },
        reasons: if referred {
            vec![Reason::LowConfidence]
        } else {
            Vec::new()
        },
        booking: Some(b.id),
        offline: false,
    })
}

/// Where a scheduler is started: a sled store's folder, or a PostgreSQL database (with a
/// folder for the token file).
enum Where {
    Sled(PathBuf),
    Postgres(String, PathBuf),
}

/// Starts `bawaba scheduler` on a store and waits until it serves: how long that took and
/// its resident memory then; stopped after.
async fn start(bawaba: &Path, on: Where) -> Result<Started> {
    let bawaba = bawaba.to_path_buf();
    tokio::task::spawn_blocking(move || start_blocking(&bawaba, &on)).await?
}

fn start_blocking(bawaba: &Path, on: &Where) -> Result<Started> {
    use std::io::BufRead;
    let began = Instant::now();
    let mut command = std::process::Command::new(bawaba);
    command.args(["scheduler", "--grpc-addr", "127.0.0.1:0", "--data-dir"]);
    let (Where::Sled(dir) | Where::Postgres(_, dir)) = on;
    command.arg(dir);
    if let Where::Postgres(url, _) = on {
        command.args(["--store", url]);
    }
    let mut child = command
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting the scheduler")?;
    let err = child.stderr.take().context("the scheduler's stderr")?;
    let (mut served, mut last) = (None, String::new());
    for line in std::io::BufReader::new(err).lines() {
        last = line?;
        if last.contains("scheduler listening on") {
            served = Some(Started {
                start: began.elapsed(),
                rss_bytes: rss(child.id())?,
            });
            break;
        }
    }
    child.kill()?;
    child.wait()?;
    served.with_context(|| {
        format!(
            "the scheduler on {} stopped before serving: {last}",
            dir.display()
        )
    })
}

/// A process's resident memory (`VmRSS` of /proc/PID/status).
fn rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .context("VmRSS in /proc/PID/status")?;
    Ok(kb * 1024)
}

/// Bytes of the files under `dir`.
fn size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two days of a small port: every kind of traffic is made, and what the store holds
    /// matches what the generator says it made.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_few_days_make_every_kind_of_traffic() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(tmp.path()).unwrap());
        let opts = YearOptions {
            days: 2,
            trucks: 300,
            data_dir: None,
            store: None,
        };
        let made = generate(&store, &opts).await.unwrap();
        assert_eq!(made.bookings, 600);
        assert!(
            made.moved > 0 && made.cancelled > 0 && made.referrals > 0,
            "{made:?}"
        );
        assert!(made.no_shows > 0, "{made:?}");
        let filter = bawaba_domain::ledger::BookingFilter::default();
        let all = store.list_bookings(filter, None, 10_000).await.unwrap();
        assert_eq!(all.len(), 600);
        let after: Option<PassageId> = None;
        let passages = store.passages(None, after, 100_000).await.unwrap();
        assert_eq!(passages.len() as u64, made.passages);
    }
}
