//! Bawaba's PostgreSQL store: [`PgStore`] implements [`bawaba_store::Store`] on a
//! PostgreSQL-wire database (PostgreSQL; the SQL also suits CockroachDB and YugabyteDB), so
//! that any number of scheduler replicas share one booking state.
//!
//! Each mutation is one READ COMMITTED transaction that
//!
//! 1. loads, and locks, the records the request can touch (the booking's row, the truck's row
//!    in `trucks`, a zone's row for a configuration change);
//! 2. applies the request to a throwaway [`Ledger`] holding just those records, so the domain
//!    decides every rule (validation, time rules, overlapping visits, states, access,
//!    idempotency, passages) exactly as in the embedded store;
//! 3. writes what the ledger touched (`persist`), where the database enforces what the
//!    scratch ledger could not see: capacity, per-type limits and company caps by guarded
//!    updates, unique keys, and the order of each zone's change log.
//!
//! A new booking, the hot path, is one round trip instead (`create`): the ledger decides it on
//! what the scheduler knows and one server-side function writes it, or answers what the
//! decision did not know.
//!
//! Serialization failures, deadlocks, lost unique-key races and configuration changes under
//! the transaction run it again, with jittered backoff. Reads go straight to SQL.

mod accounts;
mod create;
mod db;
mod migrate;
mod persist;
pub mod scratch;
mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bawaba_domain::Error as DomainError;
use bawaba_domain::account::{Account, AccountUpdate, Login, Session};
use bawaba_domain::audit::{AuditEntry, AuditFilter, Who};
use bawaba_domain::calendar::{ClosurePolicy, TransactionType, ZoneConfig};
use bawaba_domain::epc::Epc;
use bawaba_domain::event::EventPage;
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ids::{BookingId, CompanyId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Actor, AdminChange, Administered, Booking, BookingFilter, ChangeEntry, Gate, IdempotencyRecord,
    Ledger, NewBooking, Records, Stop, Touched, WindowUsage, WindowView, referenced_closure,
};
use bawaba_domain::notify::{Delivery, Progress, Texted, Webhook};
use bawaba_domain::passage::{Passage, Referral, Resolution};
use bawaba_domain::plate::Plate;
use bawaba_store::{
    Changes, CreatedBooking, Error, Recorded, Reported, Result, SNAPSHOT_AFTER, Store,
};
use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::watch;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::db::{
    Fail, R, ZoneCache, Zones, bookings, decode, describe, error, execute, get, lock_zone, query,
    usage, values,
};
use crate::persist::{Change, persist};
use bawaba_domain::rules::{ALTERNATIVES, bookable_range, find_slots, refused_window, window_view};

pub use migrate::MIGRATIONS;

/// Numbers what the logs hold unnumbered (in a transaction of its own).
const SEQUENCE: &str = "SELECT bawaba_sequence()";
/// Most times one request's transaction runs before the request fails.
const MAX_ATTEMPTS: u32 = 30;
/// The no-show sweep's row in `leases`.
const SWEEP_LEASE: &str = "no-show-sweep";
/// The webhook dispatcher's row in `leases`.
const WEBHOOK_LEASE: &str = "webhooks";
/// The SMS dispatcher's row in `leases`.
const SMS_LEASE: &str = "sms";

/// Runs `$attempt` (an async block of type `R<T>`) until it succeeds, fails for good, or has
/// been retried [`MAX_ATTEMPTS`] times.
macro_rules! retrying {
    ($attempt:expr) => {{
        let mut n = 1;
        loop {
            if let Some(done) = attempt($attempt, &mut n).await {
                break done;
            }
        }
    }};
}

/// Runs `$body` (of type `R<T>`; it may `.await`, `?` and `return`) in a transaction on
/// `$tx`, committing when it succeeds, and again after a retryable failure.
macro_rules! transaction {
    ($store:expr, $isolation:expr, $read_only:expr, |$tx:ident| $body:expr) => {
        retrying!(async {
            let mut client = $store.pool.get().await?;
            let transaction = client
                .build_transaction()
                .isolation_level($isolation)
                .read_only($read_only)
                .start()
                .await?;
            let value = {
                let $tx = &transaction;
                outcome(async { $body }).await?
            };
            transaction.commit().await?;
            Ok(value)
        })
    };
}

/// A mutation: a READ COMMITTED transaction; [`Store::commits`] ticks after it commits.
macro_rules! write {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let done = transaction!($store, IsolationLevel::ReadCommitted, false, |$tx| $body);
        if done.is_ok() {
            $store.commits.send_modify(|n| *n += 1);
        }
        done
    }};
}

/// A consistent read: a read-only REPEATABLE READ transaction (everything of one moment).
macro_rules! snapshot {
    ($store:expr, |$tx:ident| $body:expr) => {
        transaction!($store, IsolationLevel::RepeatableRead, true, |$tx| $body)
    };
}

/// A read on a pooled connection `$c`.
macro_rules! read {
    ($store:expr, |$c:ident| $body:expr) => {
        retrying!(async {
            let $c = &$store.pool.get().await?;
            outcome(async { $body }).await
        })
    };
}

/// How a [`PgStore`] runs.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections the pool opens.
    pub pool_size: usize,
    /// How often the heads of the change logs are read, so that other replicas' commits wake
    /// this replica's followers (see [`Store::commits`]).
    pub poll_every: Duration,
    /// How long the no-show sweep lease lasts; its holder renews it at every sweep, so make it
    /// longer than the sweep interval. Another replica takes over when it runs out.
    pub sweep_lease: Duration,
    /// How long the webhook delivery lease lasts; its holder renews it at every look for due
    /// events (at least every second). Another replica takes over when it runs out.
    pub webhook_lease: Duration,
    /// This replica's name in leases (by default the process id and a random suffix).
    pub replica: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            poll_every: Duration::from_millis(200),
            sweep_lease: Duration::from_secs(150),
            webhook_lease: Duration::from_secs(15),
            replica: format!("{}-{:08x}", std::process::id(), random_u128() as u32),
        }
    }
}

/// The PostgreSQL store. Replicas are simply several `PgStore`s (in one process or many) on
/// the same database.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    zones: ZoneCache,
    commits: watch::Sender<u64>,
    heads: tokio::task::JoinHandle<()>,
    options: PgOptions,
}

fn pg_config(url: &str) -> Result<tokio_postgres::Config> {
    url.parse()
        .map_err(|e| Error::Storage(format!("bad PostgreSQL connection string: {e}")))
}

/// Brings the schema of the database at `url` up to date; returns the migrations it applied.
/// [`PgStore::connect`] does the same; this is for `bawaba migrate`.
pub async fn migrate(url: &str) -> Result<Vec<i64>> {
    let (mut client, connection) = pg_config(url)?
        .connect(NoTls)
        .await
        .map_err(|e| Error::Storage(format!("connecting: {}", describe(&e))))?;
    let driver = tokio::spawn(connection);
    let applied = migrate::run(&mut client).await;
    drop(client);
    let _ = driver.await;
    applied
}

impl PgStore {
    /// Connects with the default options (see [`PgStore::connect_with`]).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects to the database at `url` (`host=... user=... dbname=...` or
    /// `postgres://...`), applies any due migrations and starts following the change-log
    /// heads.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self> {
        let manager = Manager::from_config(
            pg_config(url)?,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| Error::Storage(format!("connection pool: {e}")))?;
        {
            let mut client = pool.get().await.map_err(error)?;
            migrate::run(&mut client).await?;
        }
        let commits = watch::Sender::new(0);
        let heads = tokio::spawn(follow_heads(
            pool.clone(),
            commits.clone(),
            options.poll_every,
        ));
        tracing::info!(replica = %options.replica, "PostgreSQL store connected");
        Ok(PgStore {
            pool,
            zones: ZoneCache::default(),
            commits,
            heads,
            options,
        })
    }

    /// Numbers the change-log entries and company events committed since the last run
    /// (`bawaba_sequence`, migration 15), so that a read that follows finds them.
    async fn sequence(&self) -> Result<()> {
        read!(self, |c| {
            query(c, SEQUENCE, &[]).await?;
            Ok(())
        })
    }

    /// The database's size on disk (`pg_database_size`).
    pub async fn database_size(&self) -> Result<u64> {
        read!(self, |c| {
            let rows = query(
                c,
                "SELECT pg_database_size(current_database()) AS size",
                &[],
            )
            .await?;
            let size: i64 = match rows.first() {
                Some(r) => get(r, "pg_database_size", "size")?,
                None => 0,
            };
            Ok(u64::try_from(size).unwrap_or(0))
        })
    }

    /// Takes lease `name` for `length`, or renews it, in transaction `tx`: whether this
    /// replica holds it (another holds one that has not run out).
    async fn hold(&self, tx: &impl GenericClient, name: &str, length: Duration) -> R<bool> {
        let ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX);
        let held = execute(
            tx,
            "UPDATE leases SET holder = $2, until = now() + $3::BIGINT * INTERVAL '1 millisecond' \
             WHERE name = $1 AND (holder = $2 OR until < now())",
            &[&name, &self.options.replica, &ms],
        )
        .await?;
        Ok(held == 1)
    }

    /// Closes the store: gives its leases back (so another replica, or this one restarted,
    /// sweeps and delivers at once) and closes the connections.
    pub async fn close(self) -> Result<()> {
        let released = read!(self, |c| {
            execute(
                c,
                "UPDATE leases SET until = '1970-01-01T00:00:00Z' WHERE holder = $1",
                &[&self.options.replica],
            )
            .await
        });
        self.pool.close();
        released.map(drop)
    }

    /// The stored window and company counters compared with a recount from the bookings:
    /// one line per counter that differs. Empty on a healthy store.
    pub async fn usage_mismatches(&self) -> Result<Vec<String>> {
        read!(self, |c| {
            let rows = query(c, RECOUNT, &[]).await?;
            rows.iter()
                .map(|r| {
                    let (zone, start, company): (String, DateTime<Utc>, Option<String>) =
                        (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                    let (stored, recounted): (Vec<i64>, Vec<i64>) = (r.try_get(3)?, r.try_get(4)?);
                    Ok(format!(
                        "{zone} {start} {}: stored {stored:?}, recounted {recounted:?}",
                        company.as_deref().unwrap_or("(window)")
                    ))
                })
                .collect()
        })
    }

    /// Loads the zones and runs `edit` on a ledger holding the zone `zone` (locked) and one
    /// booking holding a place in it, if any (the ledger refuses to change the slot length of
    /// a zone with bookings).
    async fn edit_zone<T: Send>(
        &self,
        zone: &ZoneId,
        edit: impl Fn(&mut Ledger) -> bawaba_domain::Result<(Touched, T)> + Send + Sync,
    ) -> Result<T> {
        write!(self, |tx| {
            let mut zones = self.zones.load(tx).await?;
            lock_zone(tx, &mut zones, zone).await?;
            let holder = bookings(
                tx,
                "SELECT b.format, b.body FROM bookings b JOIN booking_stops s ON s.booking = b.id \
                 WHERE s.zone = $1 AND b.state <> 'CANCELLED' LIMIT 1",
                &[&zone.as_str()],
            )
            .await?;
            apply(tx, &zones, holder, Records::default(), &edit).await
        })
    }

    /// Runs `edit` (a closure of `zone` over the span `span` finds in its configuration, if it
    /// finds one) on a ledger holding the zone (locked) and the bookings still to come in the
    /// closed windows (locked), which it picks the hit ones from; to rebook them, also their
    /// trucks' other visits (locked) and the zone's window counters after the closure. A place
    /// the rebooking counted on that another transaction took meanwhile runs it again.
    async fn close_zone<T: Send>(
        &self,
        zone: &ZoneId,
        span: impl Fn(&ZoneConfig) -> Option<Span> + Send + Sync,
        now: DateTime<Utc>,
        edit: impl Fn(&mut Ledger) -> bawaba_domain::Result<(Touched, T)> + Send + Sync,
    ) -> Result<T> {
        write!(self, |tx| {
            let mut zones = self.zones.load(tx).await?;
            lock_zone(tx, &mut zones, zone).await?;
            let Some((z, (from, to, policy))) =
                zones.get(zone).ok().and_then(|z| Some((z, span(z)?)))
            else {
                return apply(tx, &zones, Vec::new(), Records::default(), &edit).await;
            };
            let mut hit = bookings(
                tx,
                "SELECT b.format, b.body FROM bookings b WHERE b.state = 'BOOKED' AND EXISTS \
                 (SELECT 1 FROM booking_stops s WHERE s.booking = b.id AND s.zone = $1 \
                  AND s.window_start >= $2 AND s.window_start < $3) \
                 ORDER BY b.id FOR UPDATE OF b",
                &[&zone.as_str(), &z.window_containing(from), &to],
            )
            .await?;
            let mut records = Records::default();
            if policy == ClosurePolicy::Rebook {
                records.usage = rebook_reads(tx, z, from, now, &mut hit).await?;
            }
            match apply(tx, &zones, hit, records, &edit).await {
                Err(Fail::Store(Error::Domain(
                    DomainError::WindowFull { .. } | DomainError::CompanyCap { .. },
                ))) => Err(Fail::Retry(format!("a window of {zone} filled meanwhile"))),
                done => done,
            }
        })
    }

    /// Runs `edit` (a change of `gate`) on a ledger holding the zones and the gate as stored
    /// (locked), if it is.
    async fn edit_gate<T: Send>(
        &self,
        gate: &Gate,
        edit: impl Fn(&mut Ledger) -> bawaba_domain::Result<(Touched, T)> + Send + Sync,
    ) -> Result<T> {
        write!(self, |tx| {
            let zones = self.zones.load(tx).await?;
            let gates = values(
                tx,
                "gates",
                "SELECT format, body FROM gates WHERE id = $1 FOR UPDATE",
                &[&gate.id.as_str()],
            )
            .await?;
            let records = Records {
                gates,
                ..Records::default()
            };
            apply(tx, &zones, Vec::new(), records, &edit).await
        })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.heads.abort();
    }
}

/// One attempt of a request's work: its answer, or `None` when it is to run again (after a
/// jittered backoff: full jitter, 1 ms growing to at most 256 ms).
async fn attempt<T>(run: impl Future<Output = R<T>>, n: &mut u32) -> Option<Result<T>> {
    match run.await {
        Ok(value) => Some(Ok(value)),
        Err(Fail::Store(e)) => Some(Err(e)),
        Err(Fail::Retry(why)) if *n >= MAX_ATTEMPTS => Some(Err(Error::Storage(format!(
            "gave up after {n} attempts: {why}"
        )))),
        Err(Fail::Retry(why)) => {
            tracing::debug!(attempt = *n, %why, "transaction runs again");
            let cap_us = 1000u64 << (*n).min(8);
            tokio::time::sleep(Duration::from_micros((random_u128() as u64) % cap_us)).await;
            *n += 1;
            None
        }
    }
}

/// Gives an async block its type (`R<T>`), so that `?` inside it converts into [`Fail`].
async fn outcome<T>(body: impl Future<Output = R<T>>) -> R<T> {
    body.await
}

/// Runs `mutate` on a scratch ledger holding `zones`, `loaded` bookings and `records`, then
/// writes what it touched. Loaded bookings it changes must have been locked by the caller.
async fn apply<T>(
    c: &impl GenericClient,
    zones: &Zones,
    loaded: Vec<Booking>,
    records: Records,
    mutate: impl FnOnce(&mut Ledger) -> bawaba_domain::Result<(Touched, T)>,
) -> R<T> {
    let before = loaded.iter().map(|b| (b.id, b.clone())).collect();
    let mut ledger = Ledger::restore(Records {
        zones: zones.configs.values().cloned().collect(),
        bookings: loaded,
        ..records
    });
    let (touched, value) = mutate(&mut ledger)?;
    let change = Change {
        ledger: &ledger,
        touched: &touched,
        before: &before,
        zones,
    };
    persist(c, &change).await?;
    Ok(value)
}

/// What changing one of `company`'s trucks needs: the truck (its row locked), the company's
/// SMS progress (locked) and the number of its newest event (where texting starts).
async fn truck_records(c: &impl GenericClient, company: &CompanyId, plate: &Plate) -> R<Records> {
    let fleet = values(
        c,
        "fleet",
        "SELECT format, body FROM fleet WHERE company = $1 AND plate = $2 FOR UPDATE",
        &[&company.as_str(), &plate.as_str()],
    )
    .await?;
    let sms = values(
        c,
        "sms_progress",
        "SELECT format, body FROM sms_progress WHERE company = $1 FOR UPDATE",
        &[&company.as_str()],
    )
    .await?;
    Ok(Records {
        fleet,
        sms,
        event_seq: company_head(c, company).await?,
        ..Records::default()
    })
}

/// What changing `company`'s webhook needs: the webhook (its row locked) and the number of
/// the company's newest event (where a new webhook starts).
async fn webhook_records(c: &impl GenericClient, company: &CompanyId) -> R<Records> {
    let webhooks = values(
        c,
        "webhooks",
        "SELECT format, body FROM webhooks WHERE company = $1 FOR UPDATE",
        &[&company.as_str()],
    )
    .await?;
    Ok(Records {
        webhooks,
        event_seq: company_head(c, company).await?,
        ..Records::default()
    })
}

/// The number of `company`'s newest event, as the ledger's `event_seq` (empty: none yet).
async fn company_head(c: &impl GenericClient, company: &CompanyId) -> R<BTreeMap<CompanyId, u64>> {
    let rows = query(
        c,
        "SELECT seq FROM company_heads WHERE company = $1",
        &[&company.as_str()],
    )
    .await?;
    let mut event_seq = BTreeMap::new();
    if let Some(r) = rows.first() {
        let seq: i64 = get(r, "company_heads", "seq")?;
        event_seq.insert(company.clone(), u64::try_from(seq).unwrap_or(0));
    }
    Ok(event_seq)
}

/// Every company's SMS progress.
const SMS_PROGRESS: &str = "SELECT format, body FROM sms_progress ORDER BY company";

/// `company`'s attempts kept in `table` (webhook deliveries or SMS), newest first, at most
/// `limit`, before `(event number, attempt)` when given.
async fn attempts<T: serde::de::DeserializeOwned>(
    c: &impl GenericClient,
    table: &str,
    company: &CompanyId,
    before: Option<(u64, u32)>,
    limit: usize,
) -> R<Vec<T>> {
    let (seq, attempt) = before.unwrap_or((u64::MAX, u32::MAX));
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let attempt = i64::from(attempt);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT format, body FROM {table} WHERE company = $1 \
         AND (seq, attempt) < ($2::BIGINT, $3::BIGINT) ORDER BY seq DESC, attempt DESC LIMIT $4"
    );
    values(c, table, &sql, &[&company.as_str(), &seq, &attempt, &limit]).await
}

/// Every gate's report mark.
async fn reported(c: &impl GenericClient) -> R<BTreeMap<GateId, DateTime<Utc>>> {
    let rows = query(c, "SELECT gate_id, through FROM reported", &[]).await?;
    rows.iter()
        .map(|r| {
            let gate: String = get(r, "reported", "gate_id")?;
            let gate = GateId::parse(&gate).map_err(|e| Error::Corrupt {
                key: "reported.gate_id".into(),
                reason: e.to_string(),
            })?;
            Ok((gate, get(r, "reported", "through")?))
        })
        .collect()
}

/// Fills in the alternatives of a refusal for room (`stops` holds the refused stop).
async fn with_alternatives<T>(
    c: &impl GenericClient,
    zones: &Zones,
    result: R<T>,
    stops: &[Stop],
    company: &CompanyId,
    now: DateTime<Utc>,
) -> R<T> {
    let Err(Fail::Store(Error::Domain(mut e))) = result else {
        return result;
    };
    if let Some(refused) = refused_window(&mut e)
        && let Some(stop) = stops
            .iter()
            .find(|s| s.zone == refused.zone && s.window_start == refused.start)
        && let Ok(z) = zones.get(&refused.zone)
    {
        let (lo, hi) = bookable_range(z, now);
        let used = usage(c, &refused.zone, lo, hi, Some(company)).await?;
        *refused.alternatives = find_slots(
            z,
            stop.transaction_type,
            Some(company),
            refused.start,
            ALTERNATIVES,
            now,
            |s| used.get(&s),
        );
    }
    Err(e.into())
}

const BOOKING_BY_ID: &str = "SELECT format, body FROM bookings WHERE id = $1";
const LOCK_BOOKING: &str = "SELECT format, body FROM bookings WHERE id = $1 FOR UPDATE";
const LOCK_BOOKINGS: &str =
    "SELECT format, body FROM bookings WHERE id = ANY($1) ORDER BY id FOR UPDATE";
const ACTIVE_OF_PLATE: &str =
    "SELECT format, body FROM bookings WHERE plate = $1 AND state IN ('BOOKED', 'ENTERED')";

/// Locks a truck's row: whoever changes the truck's visits holds it until commit, so the
/// overlap check sees every other visit of the truck.
async fn lock_truck(c: &impl GenericClient, plate: &Plate) -> R<()> {
    execute(
        c,
        "INSERT INTO trucks (plate) VALUES ($1) ON CONFLICT (plate) DO NOTHING",
        &[&plate.as_str()],
    )
    .await?;
    query(
        c,
        "SELECT plate FROM trucks WHERE plate = $1 FOR UPDATE",
        &[&plate.as_str()],
    )
    .await?;
    Ok(())
}

/// A closure over `[from, to)` and what it does to the bookings it hits.
type Span = (DateTime<Utc>, DateTime<Utc>, ClosurePolicy);

/// What rebooking the bookings `hit` by a closure of `z` from `from` is decided with: the
/// other active visits of their trucks (locked, added to `hit`), and the counters of `z`'s
/// windows from the closure's start to the horizon (an update that shortens a closure rebooks
/// into windows the closure held before), with the places each hit company holds.
async fn rebook_reads(
    c: &impl GenericClient,
    z: &ZoneConfig,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    hit: &mut Vec<Booking>,
) -> R<Vec<((ZoneId, DateTime<Utc>), WindowUsage)>> {
    let plates: BTreeSet<Plate> = hit.iter().map(|b| b.plate.clone()).collect();
    let ids: BTreeSet<BookingId> = hit.iter().map(|b| b.id).collect();
    for plate in &plates {
        lock_truck(c, plate).await?;
        let others = bookings(c, ACTIVE_OF_PLATE, &[&plate.as_str()]).await?;
        hit.extend(others.into_iter().filter(|b| !ids.contains(&b.id)));
    }
    let (from, until) = (z.window_containing(from), z.horizon_end(now));
    let mut counters = usage(c, &z.id, from, until, None).await?;
    let companies: BTreeSet<CompanyId> = hit.iter().map(|b| b.company.clone()).collect();
    for company in &companies {
        for (start, u) in usage(c, &z.id, from, until, Some(company)).await? {
            if let Some(held) = u.per_company.get(company) {
                let w = counters.entry(start).or_default();
                w.per_company.insert(company.clone(), *held);
            }
        }
    }
    Ok(counters
        .into_iter()
        .map(|(start, u)| ((z.id.clone(), start), u))
        .collect())
}

/// A booking's other active visits, with the booking itself locked first: what a change of
/// its windows is checked against.
async fn lock_booking_and_truck(c: &impl GenericClient, id: BookingId) -> R<Vec<Booking>> {
    let mut loaded = bookings(c, LOCK_BOOKING, &[&&id.to_bytes()[..]]).await?;
    if let Some(plate) = loaded.first().map(|b| b.plate.clone()) {
        lock_truck(c, &plate).await?;
        let others = bookings(c, ACTIVE_OF_PLATE, &[&plate.as_str()]).await?;
        loaded.extend(others.into_iter().filter(|b| b.id != id));
    }
    Ok(loaded)
}

/// An `idempotency` row (`company, key, booking, fingerprint`) as the record it stores.
fn idempotency_record(row: &tokio_postgres::Row) -> Result<IdempotencyRecord> {
    let company: String = get(row, "idempotency", "company")?;
    Ok(IdempotencyRecord {
        company: CompanyId::parse(&company).map_err(|e| Error::Corrupt {
            key: "idempotency.company".into(),
            reason: e.to_string(),
        })?,
        key: get(row, "idempotency", "key")?,
        booking: booking_id(get(row, "idempotency", "booking")?)?,
        // The fingerprint's 64 bits, stored as BIGINT.
        fingerprint: get::<i64>(row, "idempotency", "fingerprint")? as u64,
    })
}

fn booking_id(bytes: &[u8]) -> Result<BookingId> {
    <[u8; 16]>::try_from(bytes)
        .map(BookingId::from_bytes)
        .map_err(|_| Error::Corrupt {
            key: "booking id".into(),
            reason: format!("{} bytes, not 16", bytes.len()),
        })
}

fn not_found(id: BookingId) -> bawaba_domain::Error {
    bawaba_domain::Error::NotFound {
        what: "booking",
        id: id.to_string(),
    }
}

fn random_u128() -> u128 {
    let mut b = [0u8; 16];
    // The OS random source does not fail on supported platforms; a zero suffix would still
    // give a valid (time-ordered) id, and a colliding one is refused by the primary key.
    let _ = getrandom::fill(&mut b);
    u128::from_be_bytes(b)
}

/// Ticks `commits` whenever the zones' change-log heads or configurations, or the passage
/// log, move (whichever replica moved them).
async fn follow_heads(pool: Pool, commits: watch::Sender<u64>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut failing) = (None, false);
    loop {
        tick.tick().await;
        let head = async {
            let c = pool.get().await?;
            // Numbers what this and the other replicas committed, so their followers find it.
            query(&c, SEQUENCE, &[]).await?;
            let rows = query(
                &c,
                "SELECT (SELECT COALESCE(SUM(seq + version), 0) FROM zones)::BIGINT \
                 + (SELECT COALESCE(MAX(head), 0) FROM passage_log)::BIGINT",
                &[],
            )
            .await?;
            let row = rows.first().ok_or_else(|| Fail::Retry("no row".into()))?;
            Ok::<i64, Fail>(row.try_get(0)?)
        }
        .await;
        match head {
            Ok(head) => {
                if seen.is_some_and(|s| s != head) {
                    commits.send_modify(|n| *n += 1);
                }
                seen = Some(head);
                failing = false;
            }
            Err(e) if !failing => {
                tracing::warn!(error = %error(e), "cannot read the change-log heads");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// `bookings` as they were at the zone's numbered head: a booking with a change committed but
/// not yet numbered (after the head) as its latest numbered change in the zone has it, or
/// left out when it has none (it came to the zone after the head). In the transaction that
/// read the head.
async fn as_at_head(
    tx: &impl GenericClient,
    zone: &ZoneId,
    bookings: Vec<Booking>,
) -> R<Vec<Booking>> {
    let rows = query(
        tx,
        "SELECT p.booking, l.format, l.body \
         FROM (SELECT DISTINCT booking FROM change_log WHERE zone = $1 AND seq IS NULL) p \
         LEFT JOIN LATERAL (SELECT c.format, c.body FROM change_log c \
             WHERE c.zone = $1 AND c.booking = p.booking AND c.seq IS NOT NULL \
             ORDER BY c.seq DESC LIMIT 1) l ON TRUE",
        &[&zone.as_str()],
    )
    .await?;
    let mut by_id: BTreeMap<BookingId, Booking> = bookings.into_iter().map(|b| (b.id, b)).collect();
    for row in &rows {
        by_id.remove(&booking_id(get(row, "change_log", "booking")?)?);
        if get::<Option<i16>>(row, "change_log", "format")?.is_some() {
            let entry: ChangeEntry = decode(row, "change_log")?;
            by_id.insert(entry.booking.id, entry.booking);
        }
    }
    Ok(by_id.into_values().collect())
}

/// Differences between the stored counters and a recount from the bookings that hold places:
/// zone, window start, company (none for a window's row), stored and recounted values.
/// The window and company counters as the bookings hold them: the CTEs `windows` and
/// `companies`, with the columns of `window_usage` and `company_usage`.
macro_rules! counted {
    () => {
        "
WITH held AS (
    SELECT s.zone, s.window_start, s.kind, b.company
    FROM booking_stops s JOIN bookings b ON b.id = s.booking
    WHERE b.state <> 'CANCELLED'
), windows AS (
    SELECT zone, window_start, COUNT(*) AS booked,
        SUM(CASE WHEN kind = 0 THEN 1 ELSE 0 END)::BIGINT AS import_pickup,
        SUM(CASE WHEN kind = 1 THEN 1 ELSE 0 END)::BIGINT AS export_dropoff,
        SUM(CASE WHEN kind = 2 THEN 1 ELSE 0 END)::BIGINT AS empty_return,
        SUM(CASE WHEN kind = 3 THEN 1 ELSE 0 END)::BIGINT AS empty_pickup,
        SUM(CASE WHEN kind = 4 THEN 1 ELSE 0 END)::BIGINT AS general_cargo
    FROM held GROUP BY zone, window_start
), companies AS (
    SELECT zone, window_start, company, COUNT(*) AS held
    FROM held GROUP BY zone, window_start, company
)"
    };
}

const RECOUNT: &str = concat!(
    counted!(),
    ", compared AS (
    SELECT COALESCE(w.zone, r.zone) AS zone, COALESCE(w.window_start, r.window_start) AS start,
        NULL::TEXT AS company,
        ARRAY[COALESCE(w.booked, 0), COALESCE(w.import_pickup, 0), COALESCE(w.export_dropoff, 0),
              COALESCE(w.empty_return, 0), COALESCE(w.empty_pickup, 0),
              COALESCE(w.general_cargo, 0)] AS stored,
        ARRAY[COALESCE(r.booked, 0), COALESCE(r.import_pickup, 0), COALESCE(r.export_dropoff, 0),
              COALESCE(r.empty_return, 0), COALESCE(r.empty_pickup, 0),
              COALESCE(r.general_cargo, 0)] AS recounted
    FROM window_usage w
    FULL JOIN windows r ON r.zone = w.zone AND r.window_start = w.window_start
    UNION ALL
    SELECT COALESCE(u.zone, r.zone), COALESCE(u.window_start, r.window_start),
        COALESCE(u.company, r.company), ARRAY[COALESCE(u.held, 0)], ARRAY[COALESCE(r.held, 0)]
    FROM company_usage u
    FULL JOIN companies r
        ON r.zone = u.zone AND r.window_start = u.window_start AND r.company = u.company
)
SELECT zone, start, company, stored, recounted FROM compared
WHERE stored <> recounted
ORDER BY zone, start, company"
);

/// Fills the window counters of an empty `window_usage` from the bookings.
const REFILL_WINDOWS: &str = concat!(
    counted!(),
    " INSERT INTO window_usage (zone, window_start, booked, import_pickup, export_dropoff, \
     empty_return, empty_pickup, general_cargo) SELECT * FROM windows"
);

/// Fills the company counters of an empty `company_usage` from the bookings.
const REFILL_COMPANIES: &str = concat!(
    counted!(),
    " INSERT INTO company_usage (zone, window_start, company, held) SELECT * FROM companies"
);

impl Store for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<bawaba_store::dump::Line>) -> Result<()> {
        self.send_export(out).await
    }

    async fn create_booking(&self, req: NewBooking, now: DateTime<Utc>) -> Result<CreatedBooking> {
        create::create(self, &req, now).await
    }

    async fn move_booking(
        &self,
        actor: Actor,
        id: BookingId,
        stop: usize,
        new_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        write!(self, |tx| {
            let zones = self.zones.load(tx).await?;
            let loaded = lock_booking_and_truck(tx, id).await?;
            let original = loaded.first().filter(|b| b.id == id).cloned();
            let moved = apply(tx, &zones, loaded, Records::default(), |l| {
                let t = l.move_stop(&actor, id, stop, new_start, now)?;
                Ok((t, l.booking(id).cloned().ok_or_else(|| not_found(id))?))
            })
            .await;
            match original {
                Some(b) => {
                    let target: Vec<Stop> = b
                        .stops
                        .get(stop)
                        .iter()
                        .map(|s| Stop {
                            window_start: new_start,
                            ..(*s).clone()
                        })
                        .collect();
                    with_alternatives(tx, &zones, moved, &target, &b.company, now).await
                }
                None => moved,
            }
        })
    }

    async fn cancel_booking(
        &self,
        actor: Actor,
        id: BookingId,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        write!(self, |tx| {
            let zones = self.zones.load(tx).await?;
            let loaded = bookings(tx, LOCK_BOOKING, &[&&id.to_bytes()[..]]).await?;
            apply(tx, &zones, loaded, Records::default(), |l| {
                let t = l.cancel(&actor, id, &reason, now)?;
                Ok((t, l.booking(id).cloned().ok_or_else(|| not_found(id))?))
            })
            .await
        })
    }

    /// Marks no-shows, on the replica that holds the sweep lease (taken, or renewed, in the
    /// same transaction); on any other replica it does nothing and returns nothing.
    async fn sweep_no_shows(&self, now: DateTime<Utc>) -> Result<Vec<BookingId>> {
        write!(self, |tx| {
            if !self.hold(tx, SWEEP_LEASE, self.options.sweep_lease).await? {
                return Ok(Vec::new());
            }
            let zones = self.zones.load(tx).await?;
            // Every booking whose first window has started: a superset of those past their
            // entry period, which the ledger picks.
            let due = bookings(
                tx,
                "SELECT format, body FROM bookings WHERE state = 'BOOKED' AND first_start < $1 \
                 ORDER BY id FOR UPDATE",
                &[&now],
            )
            .await?;
            // Every gate and its report mark: a gate behind holds its zone's no-shows back.
            let records = Records {
                gates: values(tx, "gates", "SELECT format, body FROM gates", &[]).await?,
                reported: reported(tx).await?.into_iter().collect(),
                ..Records::default()
            };
            apply(tx, &zones, due, records, |l| {
                let t = l.sweep_no_shows(now);
                let ids = t.bookings.iter().copied().collect();
                Ok((t, ids))
            })
            .await
        })
    }

    async fn administer(
        &self,
        change: AdminChange,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<Administered> {
        let edit = |l: &mut Ledger| l.administer(change.clone(), &who, now);
        match &change {
            AdminChange::AddClosure {
                zone,
                from,
                to,
                policy,
                ..
            } => {
                let span = |_: &ZoneConfig| Some((*from, *to, *policy));
                self.close_zone(zone, span, now, edit).await
            }
            AdminChange::ApplyAlert { zone, order } => {
                // The closure it calls for, and the one it changes or lifts (the bookings that
                // one frees are named too).
                let span = |z: &ZoneConfig| {
                    let new = order.close.as_ref().map(|c| (c.from, c.to));
                    let old = referenced_closure(z, &order.references).map(|c| (c.from, c.to));
                    let (from, to) = match (new, old) {
                        (Some(n), Some(o)) => (n.0.min(o.0), n.1.max(o.1)),
                        (Some(one), None) | (None, Some(one)) => one,
                        (None, None) => return None,
                    };
                    Some((from, to, order.policy))
                };
                self.close_zone(zone, span, now, edit).await
            }
            AdminChange::DecideAlert {
                zone, key, policy, ..
            } => {
                let span = |z: &ZoneConfig| {
                    let a = z.alerts.iter().find(|a| a.key == *key)?;
                    let c = a.close.as_ref()?;
                    Some((c.from, c.to, *policy))
                };
                self.close_zone(zone, span, now, edit).await
            }
            AdminChange::UpsertGate(gate) => self.edit_gate(gate, edit).await,
            other => self.edit_zone(other.zone(), edit).await,
        }
    }

    async fn audit(
        &self,
        filter: AuditFilter,
        before: Option<(DateTime<Utc>, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let (before_at, before_seq) = before.map_or((None, 0), |(at, seq)| {
            (Some(at), i64::try_from(seq).unwrap_or(i64::MAX))
        });
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        read!(self, |c| {
            let rows = query(
                c,
                "SELECT seq, format, body FROM audit \
                 WHERE ($1::TIMESTAMPTZ IS NULL OR (at, seq) < ($1, $2)) \
                   AND ($3::TEXT IS NULL OR zone = $3) AND ($4::TEXT IS NULL OR kind = $4) \
                   AND ($5::TEXT IS NULL OR actor = $5 OR token = $5) \
                   AND ($6::TIMESTAMPTZ IS NULL OR at >= $6) \
                   AND ($7::TIMESTAMPTZ IS NULL OR at < $7) \
                 ORDER BY at DESC, seq DESC LIMIT $8",
                &[
                    &before_at,
                    &before_seq,
                    &filter.zone.as_ref().map(ZoneId::as_str),
                    &filter.kind.map(|k| k.as_str()),
                    &filter.actor,
                    &filter.from,
                    &filter.to,
                    &limit,
                ],
            )
            .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    Ok(AuditEntry {
                        seq: get::<i64>(r, "audit", "seq")?.unsigned_abs(),
                        record: decode(r, "audit")?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, Error>>()?)
        })
    }

    async fn get_booking(&self, actor: Actor, id: BookingId) -> Result<Booking> {
        read!(self, |c| {
            let found = bookings(c, BOOKING_BY_ID, &[&&id.to_bytes()[..]]).await?;
            let ledger = Ledger::restore(Records {
                bookings: found,
                ..Records::default()
            });
            Ok(ledger.booking_for(&actor, id)?.clone())
        })
    }

    async fn list_bookings(
        &self,
        filter: BookingFilter,
        after: Option<BookingId>,
        limit: usize,
    ) -> Result<Vec<Booking>> {
        let after = after.map(|a| a.to_bytes().to_vec());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        read!(self, |c| {
            bookings(
                c,
                "SELECT b.format, b.body FROM bookings b \
                 WHERE ($1::TEXT IS NULL OR b.company = $1) AND ($2::TEXT IS NULL OR b.state = $2) \
                 AND ($3::BYTEA IS NULL OR b.id > $3) \
                 AND EXISTS (SELECT 1 FROM booking_stops s WHERE s.booking = b.id \
                     AND ($4::TEXT IS NULL OR s.zone = $4) \
                     AND ($5::TIMESTAMPTZ IS NULL OR s.window_start >= $5) \
                     AND ($6::TIMESTAMPTZ IS NULL OR s.window_start < $6)) \
                 AND ($8::TEXT IS NULL OR b.plate = $8) \
                 ORDER BY b.id LIMIT $7",
                &[
                    &filter.company.as_ref().map(CompanyId::as_str),
                    &filter.state.map(|s| s.as_str()),
                    &after,
                    &filter.zone.as_ref().map(ZoneId::as_str),
                    &filter.window_from,
                    &filter.window_to,
                    &limit,
                    &filter.plate.as_ref().map(Plate::as_str),
                ],
            )
            .await
        })
    }

    async fn list_windows(
        &self,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WindowView>> {
        read!(self, |c| {
            let zones = self.zones.load(c).await?;
            let z = zones.get(&zone)?;
            let used = usage(c, &zone, from, to, None).await?;
            Ok(bawaba_domain::rules::windows(z, from, to, limit, |s| {
                used.get(&s)
            }))
        })
    }

    async fn find_slots(
        &self,
        zone: ZoneId,
        transaction_type: TransactionType,
        company: Option<CompanyId>,
        preferred: DateTime<Utc>,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<WindowView>> {
        read!(self, |c| {
            let zones = self.zones.load(c).await?;
            let z = zones.get(&zone)?;
            let (lo, hi) = bookable_range(z, now);
            let used = usage(c, &zone, lo, hi, company.as_ref()).await?;
            let lookup = |s| used.get(&s);
            let starts = find_slots(
                z,
                transaction_type,
                company.as_ref(),
                preferred,
                count,
                now,
                lookup,
            );
            Ok(starts
                .into_iter()
                .map(|s| window_view(z, s, lookup(s)))
                .collect())
        })
    }

    async fn zones(&self) -> Result<Vec<ZoneConfig>> {
        read!(self, |c| Ok(self
            .zones
            .load(c)
            .await?
            .configs
            .into_values()
            .collect()))
    }

    async fn gates(&self) -> Result<Vec<Gate>> {
        let mut gates: Vec<Gate> = read!(self, |c| values(
            c,
            "gates",
            "SELECT format, body FROM gates",
            &[]
        )
        .await)?;
        gates.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(gates)
    }

    async fn no_shows(&self) -> Result<BTreeMap<CompanyId, u64>> {
        read!(self, |c| {
            let rows = query(
                c,
                "SELECT company, COUNT(*) AS n FROM bookings WHERE state = 'NO_SHOW' GROUP BY company",
                &[],
            )
            .await?;
            rows.iter()
                .map(|r| {
                    let company: String = get(r, "bookings", "company")?;
                    let company = CompanyId::parse(&company).map_err(|e| Error::Corrupt {
                        key: "bookings.company".into(),
                        reason: e.to_string(),
                    })?;
                    Ok((company, get::<i64>(r, "bookings", "n")?.unsigned_abs()))
                })
                .collect()
        })
    }

    async fn changes(
        &self,
        zone: ZoneId,
        after: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Changes> {
        self.sequence().await?;
        snapshot!(self, |tx| {
            let rows = query(tx, "SELECT seq FROM zones WHERE id = $1", &[&zone.as_str()]).await?;
            let Some(row) = rows.first() else {
                return Err(bawaba_domain::Error::NotFound {
                    what: "zone",
                    id: zone.to_string(),
                }
                .into());
            };
            let head = get::<i64>(row, "zones", "seq")?.unsigned_abs();
            if after > head {
                return Err(bawaba_domain::Error::invalid(
                    "after_seq",
                    format!(
                        "{after} is ahead of zone {zone}'s change log ({head}); the agent's replica belongs to another scheduler store"
                    ),
                )
                .into());
            }
            if after == 0 && head > 0 || head - after > SNAPSHOT_AFTER {
                // One day back: older windows are of no use at a gate; the ledger picks them
                // from the candidates.
                let since = now - TimeDelta::days(1);
                let candidates = bookings(
                    tx,
                    "SELECT b.format, b.body FROM bookings b WHERE EXISTS (SELECT 1 FROM booking_stops s \
                     WHERE s.booking = b.id AND s.zone = $1 AND s.window_start > $2) ORDER BY b.id",
                    &[&zone.as_str(), &(since - TimeDelta::days(1))],
                )
                .await?;
                let candidates = as_at_head(tx, &zone, candidates).await?;
                let ledger = Ledger::restore(Records {
                    bookings: candidates,
                    ..Records::default()
                });
                let bookings = ledger
                    .zone_bookings(&zone, since)
                    .into_iter()
                    .cloned()
                    .collect();
                return Ok(Changes::Snapshot {
                    seq: head,
                    bookings,
                });
            }
            let entries: Vec<ChangeEntry> = values(
                tx,
                "change_log",
                "SELECT format, body FROM change_log WHERE zone = $1 AND seq > $2 AND seq <= $3 \
                 ORDER BY seq LIMIT $4",
                &[
                    &zone.as_str(),
                    &i64::try_from(after).unwrap_or(i64::MAX),
                    &i64::try_from(head).unwrap_or(i64::MAX),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
            Ok(Changes::Entries { entries, head })
        })
    }

    fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    async fn zone(&self, zone: ZoneId) -> Result<ZoneConfig> {
        read!(self, |c| Ok(self.zones.load(c).await?.get(&zone)?.clone()))
    }

    async fn report_passages_through(
        &self,
        passages: Vec<Passage>,
        through: Option<(GateId, DateTime<Utc>)>,
    ) -> Result<Reported> {
        let mut booking_ids: Vec<Vec<u8>> = passages
            .iter()
            .filter_map(|p| p.booking.map(|b| b.to_bytes().to_vec()))
            .collect();
        booking_ids.sort();
        booking_ids.dedup();
        let passage_ids: Vec<Vec<u8>> = passages.iter().map(|p| p.id.to_bytes().to_vec()).collect();
        write!(self, |tx| {
            let zones = self.zones.load(tx).await?;
            // Bookings first (locked), then what was recorded before: a concurrent report of
            // the same passage has committed by the time the booking is ours.
            let loaded = bookings(tx, LOCK_BOOKINGS, &[&booking_ids]).await?;
            let recorded = values(
                tx,
                "passages",
                "SELECT format, body FROM passages WHERE id = ANY($1)",
                &[&passage_ids],
            )
            .await?;
            let records = Records {
                passages: recorded,
                ..Records::default()
            };
            // The mark is written with GREATEST: it never goes back.
            apply(tx, &zones, loaded, records, |l| {
                bawaba_store::record_passages(l, &passages, through.as_ref())
            })
            .await
        })
    }

    async fn reported(&self) -> Result<BTreeMap<GateId, DateTime<Utc>>> {
        read!(self, |c| reported(c).await)
    }

    async fn company_events(
        &self,
        company: CompanyId,
        after: u64,
        limit: usize,
    ) -> Result<EventPage> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.sequence().await?;
        read!(self, |c| {
            let events = values(
                c,
                "company_events",
                "SELECT format, body FROM company_events WHERE company = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
                &[&company.as_str(), &after, &limit],
            )
            .await?;
            let rows = query(
                c,
                "SELECT seq FROM company_heads WHERE company = $1",
                &[&company.as_str()],
            )
            .await?;
            let head = match rows.first() {
                Some(r) => u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0),
                None => 0,
            };
            Ok(EventPage { events, head })
        })
    }

    async fn set_webhook(
        &self,
        company: CompanyId,
        hook: Option<Webhook>,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // Starts after every event committed before it.
        self.sequence().await?;
        write!(self, |tx| {
            let records = webhook_records(tx, &company).await?;
            let zones = Zones::default();
            apply(tx, &zones, Vec::new(), records, |l| {
                Ok((l.set_webhook(&company, hook.clone(), &who, now)?, ()))
            })
            .await
        })
    }

    async fn webhooks(&self) -> Result<Vec<(Webhook, Progress)>> {
        read!(self, |c| {
            values(
                c,
                "webhooks",
                "SELECT format, body FROM webhooks ORDER BY company",
                &[],
            )
            .await
        })
    }

    /// Every webhook, on the replica that holds the delivery lease (taken, or renewed, by
    /// this read; the dispatcher reads at least every second, the lease lasts
    /// [`PgOptions::webhook_lease`]); nothing on the others.
    async fn webhooks_to_deliver(&self) -> Result<Vec<(Webhook, Progress)>> {
        write!(self, |tx| {
            if !self
                .hold(tx, WEBHOOK_LEASE, self.options.webhook_lease)
                .await?
            {
                return Ok(Vec::new());
            }
            values(
                tx,
                "webhooks",
                "SELECT format, body FROM webhooks ORDER BY company",
                &[],
            )
            .await
        })
    }

    async fn record_delivery(&self, delivery: Delivery, progress: Progress) -> Result<()> {
        write!(self, |tx| {
            let records = webhook_records(tx, &delivery.company).await?;
            let zones = Zones::default();
            apply(tx, &zones, Vec::new(), records, |l| {
                Ok((l.record_delivery(delivery.clone(), progress.clone()), ()))
            })
            .await
        })
    }

    async fn deliveries(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        read!(self, |c| {
            attempts(c, "webhook_deliveries", &company, before, limit).await
        })
    }

    async fn sms_progress(&self) -> Result<Vec<(CompanyId, Progress)>> {
        read!(self, |c| {
            values(c, "sms_progress", SMS_PROGRESS, &[]).await
        })
    }

    /// Every company's SMS progress, on the replica that holds the SMS lease (taken, or
    /// renewed, by this read; the dispatcher reads at least every second, the lease lasts
    /// [`PgOptions::webhook_lease`] as the webhooks' does); nothing on the others.
    async fn sms_to_deliver(&self) -> Result<Vec<(CompanyId, Progress)>> {
        write!(self, |tx| {
            if !self.hold(tx, SMS_LEASE, self.options.webhook_lease).await? {
                return Ok(Vec::new());
            }
            values(tx, "sms_progress", SMS_PROGRESS, &[]).await
        })
    }

    async fn record_text(
        &self,
        company: CompanyId,
        text: Option<Texted>,
        progress: Progress,
    ) -> Result<()> {
        write!(self, |tx| {
            apply(tx, &Zones::default(), Vec::new(), Records::default(), |l| {
                Ok((l.record_text(&company, text.clone(), progress.clone()), ()))
            })
            .await
        })
    }

    async fn texts(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Texted>> {
        read!(self, |c| attempts(c, "sms_texts", &company, before, limit)
            .await)
    }

    /// Reminds on the replica that holds the no-show sweep's lease (taken, or renewed, in
    /// the same transaction); on any other replica it does nothing.
    async fn remind(&self, now: DateTime<Utc>, lead: TimeDelta) -> Result<usize> {
        write!(self, |tx| {
            if !self.hold(tx, SWEEP_LEASE, self.options.sweep_lease).await? {
                return Ok(0);
            }
            let zones = self.zones.load(tx).await?;
            let rows = query(tx, "SELECT at FROM marks WHERE name = 'reminders'", &[]).await?;
            let mark: Option<DateTime<Utc>> = match rows.first() {
                Some(r) => Some(get(r, "marks", "at")?),
                None => None,
            };
            let from = mark.map_or(now, |m| m.max(now));
            let due = bookings(
                tx,
                "SELECT format, body FROM bookings WHERE state = 'BOOKED' AND first_start > $1 \
                 AND first_start <= $2 ORDER BY id",
                &[&from, &(now + lead)],
            )
            .await?;
            let records = Records {
                reminded_through: mark,
                ..Records::default()
            };
            apply(tx, &zones, due, records, |l| {
                let t = l.remind(now, lead);
                let n = t.events.len();
                Ok((t, n))
            })
            .await
        })
    }

    async fn save_truck(&self, truck: FleetTruck, who: Who, now: DateTime<Utc>) -> Result<()> {
        // Starts after every event committed before it.
        self.sequence().await?;
        write!(self, |tx| {
            let records = truck_records(tx, &truck.company, &truck.plate).await?;
            apply(tx, &Zones::default(), Vec::new(), records, |l| {
                Ok((l.save_truck(truck.clone(), &who, now)?, ()))
            })
            .await
        })
    }

    async fn remove_truck(
        &self,
        company: CompanyId,
        plate: Plate,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // Starts after every event committed before it.
        self.sequence().await?;
        write!(self, |tx| {
            let records = truck_records(tx, &company, &plate).await?;
            apply(tx, &Zones::default(), Vec::new(), records, |l| {
                Ok((l.remove_truck(&company, &plate, &who, now)?, ()))
            })
            .await
        })
    }

    async fn fleet(&self, company: CompanyId) -> Result<Vec<FleetTruck>> {
        read!(self, |c| {
            values(
                c,
                "fleet",
                "SELECT format, body FROM fleet WHERE company = $1 ORDER BY plate",
                &[&company.as_str()],
            )
            .await
        })
    }

    async fn trucks_by_tag(&self, epc: Epc) -> Result<Vec<FleetTruck>> {
        let epc = epc.to_string();
        read!(self, |c| {
            values(
                c,
                "fleet",
                "SELECT format, body FROM fleet WHERE body->>'epc' = $1 ORDER BY company, plate",
                &[&epc],
            )
            .await
        })
    }

    async fn create_account(&self, account: Account, who: Who, now: DateTime<Utc>) -> Result<()> {
        write!(self, |tx| {
            let records = accounts::account_records(tx, &account.login).await?;
            apply(tx, &Zones::default(), Vec::new(), records, |l| {
                Ok((l.create_account(account.clone(), &who, now)?, ()))
            })
            .await
        })
    }

    async fn update_account(
        &self,
        login: Login,
        company: Option<CompanyId>,
        update: AccountUpdate,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        write!(self, |tx| {
            let records = accounts::account_records(tx, &login).await?;
            apply(tx, &Zones::default(), Vec::new(), records, |l| {
                let t = l.update_account(&login, company.as_ref(), update.clone(), &who, now)?;
                Ok((t, ()))
            })
            .await
        })
    }

    async fn account(&self, login: Login) -> Result<Option<Account>> {
        read!(self, |c| accounts::account(c, &login).await)
    }

    async fn accounts(&self, company: CompanyId) -> Result<Vec<Account>> {
        read!(self, |c| {
            values(
                c,
                "accounts",
                "SELECT format, body FROM accounts WHERE company = $1 ORDER BY login",
                &[&company.as_str()],
            )
            .await
        })
    }

    async fn record_login(
        &self,
        login: Login,
        session: Option<Session>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        write!(self, |tx| {
            let records = accounts::account_records(tx, &login).await?;
            apply(tx, &Zones::default(), Vec::new(), records, |l| {
                Ok((l.record_login(&login, session.clone(), now)?, ()))
            })
            .await
        })
    }

    async fn session(&self, id: String, now: DateTime<Utc>) -> Result<Option<(Session, Account)>> {
        read!(self, |c| {
            let Some(s) = accounts::session(c, &id).await?.filter(|s| s.live(now)) else {
                return Ok(None);
            };
            Ok(accounts::account(c, &s.login).await?.map(|a| (s, a)))
        })
    }

    async fn end_session(&self, id: String) -> Result<()> {
        write!(self, |tx| {
            execute(tx, "DELETE FROM sessions WHERE id = $1", &[&id]).await?;
            Ok(())
        })
    }

    async fn passages(
        &self,
        zone: Option<ZoneId>,
        after: Option<PassageId>,
        limit: usize,
    ) -> Result<Vec<Passage>> {
        let after = after.map(|a| a.to_bytes().to_vec());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        read!(self, |c| {
            values(
                c,
                "passages",
                "SELECT format, body FROM passages \
                 WHERE ($1::TEXT IS NULL OR zone = $1) AND ($2::BYTEA IS NULL OR id > $2) \
                 ORDER BY id LIMIT $3",
                &[&zone.as_ref().map(ZoneId::as_str), &after, &limit],
            )
            .await
        })
    }

    async fn recorded_passages(
        &self,
        zone: Option<ZoneId>,
        after: u64,
        limit: usize,
    ) -> Result<Recorded> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        read!(self, |c| {
            // The head first: a passage committed between the two reads is then after it,
            // and the follower gets it next time.
            let head = query(c, "SELECT head FROM passage_log", &[]).await?;
            let head = match head.first() {
                Some(row) => get::<i64>(row, "passage_log", "head")?.unsigned_abs(),
                None => 0,
            };
            let rows = query(
                c,
                "SELECT recorded, format, body FROM passages \
                 WHERE ($1::TEXT IS NULL OR zone = $1) AND recorded > $2 AND recorded <= $3 \
                 ORDER BY recorded LIMIT $4",
                &[
                    &zone.as_ref().map(ZoneId::as_str),
                    &after,
                    &(head as i64),
                    &limit,
                ],
            )
            .await?;
            let passages = rows
                .iter()
                .map(|r| {
                    Ok((
                        get::<i64>(r, "passages", "recorded")?.unsigned_abs(),
                        decode::<Passage>(r, "passages")?,
                    ))
                })
                .collect::<std::result::Result<Vec<_>, Error>>()?;
            Ok(Recorded { passages, head })
        })
    }

    async fn referrals(&self, zone: Option<ZoneId>, all: bool) -> Result<Vec<Referral>> {
        read!(self, |c| {
            values(
                c,
                "referrals",
                "SELECT format, body FROM referrals \
                 WHERE ($1::TEXT IS NULL OR zone = $1) AND ($2 OR state = 'OPEN') ORDER BY id",
                &[&zone.as_ref().map(ZoneId::as_str), &all],
            )
            .await
        })
    }

    async fn resolve_referral(
        &self,
        id: PassageId,
        res: Resolution,
        by: Who,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        write!(self, |tx| {
            let zones = self.zones.load(tx).await?;
            let referrals: Vec<Referral> = values(
                tx,
                "referrals",
                "SELECT format, body FROM referrals WHERE id = $1 FOR UPDATE",
                &[&&id.to_bytes()[..]],
            )
            .await?;
            // The booking the operator names, else the gate's: the one an approval moves on.
            let mut loaded = Vec::new();
            if let Some(b) = res
                .booking
                .or_else(|| referrals.first().and_then(|r| r.passage.booking))
                .filter(|_| res.approve)
            {
                loaded = bookings(tx, LOCK_BOOKING, &[&&b.to_bytes()[..]]).await?;
            }
            let records = Records {
                referrals,
                ..Records::default()
            };
            apply(tx, &zones, loaded, records, |l| {
                let t = l.resolve_referral(id, &res, &by, now)?;
                let r = l
                    .referral(id)
                    .cloned()
                    .ok_or_else(|| bawaba_domain::Error::NotFound {
                        what: "referral",
                        id: id.to_string(),
                    })?;
                Ok((t, r))
            })
            .await
        })
    }
}
