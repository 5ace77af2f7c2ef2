//! Durable bookings per second through the `Store` trait, sled and PostgreSQL in the same
//! run, and the capacity update alone on PostgreSQL: guarded update against
//! `SELECT ... FOR UPDATE` then update. A measurement, not a test: nothing is asserted.
//!
//! ```text
//! cargo run --release -p bawaba-store-pg --example pg_bench [-- --tasks 64 --seconds 5 --pool 16]
//! ```
//!
//! Every scenario runs on a fresh store (a temporary folder for sled, a fresh database on
//! `BAWABA_TEST_PG` for PostgreSQL) with `--tasks` closed-loop clients for `--seconds`. Each
//! booking has its own key and truck, so only capacity and ordering contend. Zones have
//! 60-minute windows of 1 000 000 places and no company cap.

// An example: its report goes to stdout, and a failed setup is a failed run.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{NewBooking, Stop};
use bawaba_domain::plate::Plate;
use bawaba_store::{Setup, SledStore, Store};
use bawaba_store_pg::scratch::ScratchDatabase;
use bawaba_store_pg::{PgOptions, PgStore};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use deadpool_postgres::{Manager, Pool};
use tokio_postgres::NoTls;

/// Whether a failed booking was reported (the first one is).
static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Windows the spread scenarios use per zone (hours 2 to 141 from the bench clock).
const WINDOWS: u64 = 140;

#[derive(Debug, Clone, Copy)]
struct Args {
    tasks: usize,
    seconds: u64,
    pool: usize,
}

fn args() -> Args {
    let mut a = Args {
        tasks: 64,
        seconds: 5,
        pool: 16,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--tasks", Some(v)) => a.tasks = v,
            ("--seconds", Some(v)) => a.seconds = v as u64,
            ("--pool", Some(v)) => a.pool = v,
            (other, _) => panic!("unknown argument {other}; use --tasks N --seconds S --pool P"),
        }
    }
    a
}

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
}

fn zone(i: usize) -> ZoneConfig {
    let mut z = ZoneConfig::new(
        ZoneId::parse(&format!("bench{i}")).unwrap(),
        "bench",
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(1_000_000),
    );
    z.rules.company_cap_percent = 100;
    z
}

/// Where the bookings go.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Over `WINDOWS` windows of each of `n` zones.
    Spread(usize),
    /// All in one window.
    Hot,
}

fn request(shape: Shape, task: usize, i: u64) -> NewBooking {
    let (zone, hour) = match shape {
        Shape::Spread(zones) => {
            let n = (task as u64).wrapping_mul(7919).wrapping_add(i);
            ((n as usize / WINDOWS as usize) % zones, 2 + n % WINDOWS)
        }
        Shape::Hot => (0, 5),
    };
    NewBooking {
        by: None,
        company: CompanyId::parse(&format!("co{}", task % 8)).unwrap(),
        idempotency_key: format!("t{task}-{i}"),
        plate: Plate::parse(&format!("P{task:03}{i:08}")).unwrap(),
        epc: None,
        stops: vec![Stop::new(
            zone_id(zone),
            clock() + TimeDelta::hours(hour as i64),
            TransactionType::GeneralCargo,
            vec![],
        )],
    }
}

fn zone_id(i: usize) -> ZoneId {
    ZoneId::parse(&format!("bench{i}")).unwrap()
}

/// What one scenario measured.
#[derive(Debug, Default)]
struct Figures {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: u32) -> f64 {
        bawaba_domain::stats::percentile(&self.latencies, p)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Runs `op(task, i)` in `tasks` closed loops for `seconds`.
async fn closed_loop<F, Fut>(args: Args, op: F) -> Figures
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let handles: Vec<_> = (0..args.tasks)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut f = Figures::default();
                let mut i = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = op(task, i).await;
                    f.latencies.push(t.elapsed());
                    if ok {
                        f.ok += 1
                    } else {
                        f.errors += 1
                    }
                    i += 1;
                }
                f
            })
        })
        .collect();
    let mut all = Figures::default();
    for h in handles {
        let f = h.await.unwrap();
        all.ok += f.ok;
        all.errors += f.errors;
        all.latencies.extend(f.latencies);
    }
    all.elapsed = started.elapsed();
    all.latencies.sort();
    all
}

async fn bookings<S: Store>(store: S, args: Args, shape: Shape) -> Figures {
    let zones = match shape {
        Shape::Spread(n) => n,
        Shape::Hot => 1,
    };
    for i in 0..zones {
        store.upsert_zone(zone(i)).await.unwrap();
    }
    let store = Arc::new(store);
    closed_loop(args, move |task, i| {
        let store = Arc::clone(&store);
        async move {
            let created = store.create_booking(request(shape, task, i), clock()).await;
            if let Err(e) = &created
                && !REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                eprintln!("first failed booking: {e}");
            }
            created.is_ok()
        }
    })
    .await
}

async fn sled(args: Args, shape: Shape) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    bookings(SledStore::open(dir.path()).unwrap(), args, shape).await
}

async fn pg(args: Args, shape: Shape) -> Figures {
    let db = ScratchDatabase::create().await.unwrap();
    let options = PgOptions {
        pool_size: args.pool,
        ..PgOptions::default()
    };
    let store = PgStore::connect_with(&db.url, options).await.unwrap();
    bookings(store, args, shape).await
}

/// The capacity update alone on one hot window row, in raw SQL: READ COMMITTED transactions
/// of either a guarded update, or `SELECT ... FOR UPDATE` then an update.
async fn raw_hot_window(args: Args, for_update: bool) -> Figures {
    let db = ScratchDatabase::create().await.unwrap();
    drop(PgStore::connect(&db.url).await.unwrap()); // the schema
    let manager = Manager::new(db.url.parse().unwrap(), NoTls);
    let pool = Pool::builder(manager).max_size(args.pool).build().unwrap();
    let start = clock() + TimeDelta::hours(5);
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO window_usage (zone, window_start, booked) VALUES ('raw', $1, 0)",
            &[&start],
        )
        .await
        .unwrap();
    let capacity: i64 = 1_000_000_000;
    closed_loop(args, move |_, _| {
        let pool = pool.clone();
        async move {
            let mut c = pool.get().await.unwrap();
            let tx = c.transaction().await.unwrap();
            let took = if for_update {
                let locked = tx
                    .prepare_cached(
                        "SELECT booked FROM window_usage \
                         WHERE zone = 'raw' AND window_start = $1 FOR UPDATE",
                    )
                    .await
                    .unwrap();
                let booked: i64 = tx.query_one(&locked, &[&start]).await.unwrap().get(0);
                let update = tx
                    .prepare_cached(
                        "UPDATE window_usage SET booked = booked + 1 \
                         WHERE zone = 'raw' AND window_start = $1",
                    )
                    .await
                    .unwrap();
                booked < capacity && tx.execute(&update, &[&start]).await.unwrap() == 1
            } else {
                let guarded = tx
                    .prepare_cached(
                        "UPDATE window_usage SET booked = booked + 1 \
                         WHERE zone = 'raw' AND window_start = $1 AND booked < $2",
                    )
                    .await
                    .unwrap();
                tx.execute(&guarded, &[&start, &capacity]).await.unwrap() == 1
            };
            tx.commit().await.unwrap();
            took
        }
    })
    .await
}

fn row(name: &str, f: &Figures, baseline: Option<&Figures>) {
    let ratio = baseline.map_or(String::new(), |b| format!("{:.2}x", f.rate() / b.rate()));
    println!(
        "{name:<44} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>9}",
        f.rate(),
        f.percentile(50),
        f.percentile(99),
        f.errors,
        ratio
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    println!(
        "{} tasks, {} s per scenario, PostgreSQL pool of {} connections, {} cores",
        a.tasks,
        a.seconds,
        a.pool,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>9} {:>8} {:>8} {:>7} {:>9}",
        "scenario", "ops/s", "p50 ms", "p99 ms", "errors", "vs sled"
    );
    for (label, shape) in [
        ("spread over 140 windows of 1 zone", Shape::Spread(1)),
        ("spread over 140 windows of 4 zones", Shape::Spread(4)),
        ("one hot window", Shape::Hot),
    ] {
        let s = sled(a, shape).await;
        row(&format!("sled        bookings, {label}"), &s, None);
        let p = pg(a, shape).await;
        row(&format!("PostgreSQL  bookings, {label}"), &p, Some(&s));
        if matches!(shape, Shape::Hot) {
            let guarded = raw_hot_window(a, false).await;
            row(
                "PostgreSQL  raw hot window: guarded update",
                &guarded,
                Some(&s),
            );
            let locked = raw_hot_window(a, true).await;
            row(
                "PostgreSQL  raw hot window: FOR UPDATE + update",
                &locked,
                Some(&s),
            );
            println!(
                "guarded update / FOR UPDATE then update: {:.2}x",
                guarded.rate() / locked.rate()
            );
        }
    }
}
