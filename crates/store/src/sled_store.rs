//! The embedded store on sled 0.34.7, designed around that version's traps:
//!
//! - concurrent `flush_async` deadlocks (sled #1308/#1241): nothing here calls it; one thread
//!   calls the blocking `flush()`;
//! - any sled transaction takes a process-wide lock and serialises all operations: no
//!   transactions are used; atomicity comes from `apply_batch` on one tree;
//! - space amplification and growth with many trees: one tree, short prefixed keys.
//!
//! One writer thread owns every mutation. It takes the pending requests as a batch, applies
//! each to the in-memory [`Ledger`] (which validates and either changes nothing or returns
//! what it touched), writes everything touched as one `apply_batch`, calls `flush()` once for
//! the batch (group commit), and only then answers the requests. Reads use the ledger under a
//! read lock that the writer holds until the batch is durable, so nobody sees a change that
//! a crash could still take back.
//!
//! A commit that fails (sled's `apply_batch` or `flush`) stops the store for good: the ledger
//! may hold what the disk does not, sled keeps the error and refuses every later write, and a
//! failed sync cannot be retried into a known state. Every later request and read is refused
//! with [`Error::Storage`] naming the cause, and [`Store::failure`] says so (the scheduler's
//! health check turns NOT_SERVING), until a restart reloads what the disk holds.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, mpsc};

use std::thread::JoinHandle;
use tokio::sync::{RwLock, RwLockReadGuard};

use bawaba_domain::audit::{AuditEntry, AuditFilter, Who};
use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::event::{CompanyEvent, EventPage};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, ZoneId};
use bawaba_domain::ledger::{
    Actor, AdminChange, Administered, Booking, BookingFilter, ChangeEntry, Gate, Ledger,
    NewBooking, Records, Touched, WindowView,
};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::oneshot;

use crate::codec::{self, decode, encode};
use bawaba_domain::account::{Account, AccountUpdate, Login, Session};
use bawaba_domain::epc::Epc;
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ids::PassageId;
use bawaba_domain::notify::{Delivery, Progress, Texted, Webhook};
use bawaba_domain::passage::{Passage, Referral, Resolution};
use bawaba_domain::plate::Plate;

use crate::{
    Changes, CommitStats, CreatedBooking, Error, Recorded, Reported, Result, SNAPSHOT_AFTER, Store,
};

/// Most requests committed in one batch.
const MAX_BATCH: usize = 4096;

type Responder = Box<dyn FnOnce(Result<()>) + Send>;
/// A request for the writer: run against the ledger, or (the store has failed) only refused.
type Job =
    Box<dyn FnOnce(std::result::Result<&mut Ledger, Error>) -> (Option<Touched>, Responder) + Send>;

/// Why the store refuses everything after `cause` made a commit fail.
fn failed_message(cause: &str) -> String {
    format!(
        "a commit could not be made durable ({cause}); the store refuses every request until the scheduler is restarted"
    )
}

/// The sled-backed store. Cheap to share behind an `Arc`; dropping the last handle stops the
/// writer after it has committed what was queued.
#[derive(Debug)]
pub struct SledStore {
    jobs: Option<mpsc::Sender<Job>>,
    ledger: Arc<RwLock<Ledger>>,
    writer: Option<JoinHandle<()>>,
    db: sled::Db,
    /// The data directory (a backup's snapshot is written beside the store for a moment).
    dir: std::path::PathBuf,
    /// What the writer notes while a backup's snapshot is copied.
    tracker: Tracker,
    commits: tokio::sync::watch::Sender<u64>,
    /// Why the store stopped, once a commit failed (see the module docs).
    failure: Failure,
    zones: Published,
    stats: Arc<std::sync::Mutex<CommitStats>>,
}

type Failure = tokio::sync::watch::Sender<Option<String>>;

/// The zones as last committed, for readers that must not wait for the writer (every reply
/// about a booking needs its zones; they change rarely).
type Published = Arc<std::sync::RwLock<Arc<BTreeMap<ZoneId, ZoneConfig>>>>;

fn publish(zones: &Published, ledger: &Ledger) {
    let now: BTreeMap<_, _> = ledger.zones().map(|z| (z.id.clone(), z.clone())).collect();
    *zones.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(now);
}

impl SledStore {
    fn published_zones(&self) -> Arc<BTreeMap<ZoneId, ZoneConfig>> {
        Arc::clone(&self.zones.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Writes every record of the store in `dir` (which no scheduler has open) to `out`.
    pub fn export_dir(dir: &Path, out: crate::dump::Sink<'_>) -> Result<()> {
        transfer::export_dir(dir, out)
    }

    /// Writes an export's records into `dir`, which must hold no store yet.
    pub fn import_dir(dir: &Path, imported: &crate::dump::Imported) -> Result<()> {
        transfer::import_dir(dir, imported)
    }

    /// Opens (or creates) the store in `dir` and rebuilds the in-memory state from it.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            context: format!("creating {}", dir.display()),
            source,
        })?;
        let db = open_db(dir)?;
        let ledger = load(&db)?;
        let audit_head: u64 = match db.get(codec::audit_head_key())? {
            Some(v) => decode(&codec::audit_head_key(), &v)?,
            None => 0,
        };
        tracing::info!(
            dir = %dir.display(),
            bookings = ledger.booking_count(),
            zones = ledger.zones().count(),
            "store opened"
        );
        let zones: Published = Arc::default();
        publish(&zones, &ledger);
        let ledger = Arc::new(RwLock::new(ledger));
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = tokio::sync::watch::Sender::new(0);
        let failure = Failure::new(None);
        let stats = Arc::default();
        let tracker = Tracker::default();
        let writer = std::thread::Builder::new()
            .name("bawaba-store-writer".into())
            .spawn({
                let writer = Writer {
                    db: db.clone(),
                    ledger: Arc::clone(&ledger),
                    commits: commits.clone(),
                    failure: failure.clone(),
                    zones: Arc::clone(&zones),
                    stats: Arc::clone(&stats),
                    audit_head: std::sync::Mutex::new(audit_head),
                    tracker: tracker.clone(),
                };
                move || writer.run(&rx)
            })
            .map_err(|source| Error::Io {
                context: "starting the store writer".into(),
                source,
            })?;
        Ok(SledStore {
            dir: dir.to_path_buf(),
            tracker,
            jobs: Some(tx),
            ledger,
            writer: Some(writer),
            db,
            commits,
            failure,
            zones,
            stats,
        })
    }

    /// Runs `f` in the writer against the ledger; its answer comes back once what it touched
    /// is durable. `f` either changes nothing and fails, or succeeds with what it touched.
    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ledger) -> bawaba_domain::Result<(Touched, R)> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ledger| match ledger.and_then(|l| Ok(f(l)?)) {
            Ok((touched, r)) => (
                Some(touched),
                Box::new(move |durable: Result<()>| {
                    let _ = tx.send(durable.map(|()| r));
                }),
            ),
            Err(e) => (
                None,
                Box::new(move |_| {
                    let _ = tx.send(Err(e));
                }),
            ),
        });
        self.jobs
            .as_ref()
            .ok_or(Error::Closed)?
            .send(job)
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// `company`'s attempts stored under `key` (deliveries or texts), newest first, at most
    /// `limit`, before `(event number, attempt)` when given.
    fn attempts<T: serde::de::DeserializeOwned>(
        &self,
        key: fn(&CompanyId, u64, u32) -> Vec<u8>,
        company: &CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<T>> {
        let (seq, attempt) = before.unwrap_or((u64::MAX, u32::MAX));
        self.db
            .range(key(company, 0, 0)..key(company, seq, attempt))
            .rev()
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect()
    }

    /// The ledger for reading. Waiting for it (while the writer commits a batch) yields the
    /// task instead of blocking a runtime thread. Refused once a commit failed.
    async fn read(&self) -> Result<RwLockReadGuard<'_, Ledger>> {
        let ledger = self.ledger.read().await;
        // After the lock: the writer records a failure while it holds the write lock.
        self.check()?;
        Ok(ledger)
    }

    /// Refuses everything once a commit failed.
    fn check(&self) -> Result<()> {
        match &*self.failure.borrow() {
            Some(why) => Err(Error::Storage(why.clone())),
            None => Ok(()),
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// How long to wait for sled's file lock: the previous owner (a process exiting, or a store
/// just dropped whose background threads are finishing) releases it within moments.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) fn open_db(dir: &Path) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(dir.join("sled")).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() > LOCK_WAIT {
                    return Err(Error::Io {
                        context: format!(
                            "{} is locked by another process (is a scheduler already running on it?)",
                            dir.display()
                        ),
                        source: e,
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

fn scan<T: serde::de::DeserializeOwned>(db: &sled::Db, prefix: u8) -> Result<Vec<T>> {
    scan_with(db, prefix, decode)
}

fn scan_with<T>(db: &sled::Db, prefix: u8, read: fn(&[u8], &[u8]) -> Result<T>) -> Result<Vec<T>> {
    db.scan_prefix([prefix])
        .map(|kv| {
            let (k, v) = kv?;
            read(&k, &v)
        })
        .collect()
}

/// Rebuilds the ledger from the stored records: zones, gates, bookings, keys, log heads.
fn load_ledger(db: &sled::Db) -> Result<Ledger> {
    let zones = scan_with(db, codec::ZONE, codec::decode_zone)?;
    let mut seqs = BTreeMap::new();
    for z in &zones {
        if let Some(kv) = db.scan_prefix(codec::change_prefix(&z.id)).next_back() {
            let (k, v) = kv?;
            let entry: ChangeEntry = decode(&k, &v)?;
            seqs.insert(z.id.clone(), entry.seq);
        }
    }
    Ok(Ledger::restore(Records {
        zones,
        gates: scan_with(db, codec::GATE, codec::decode_gate)?,
        bookings: scan(db, codec::BOOKING)?,
        idempotency: scan(db, codec::IDEMPOTENCY)?,
        change_seq: seqs,
        passages: scan(db, codec::PASSAGE)?,
        passage_log: scan(db, codec::PASSAGE_LOG)?,
        referrals: scan(db, codec::REFERRAL)?,
        reported: scan(db, codec::REPORTED)?,
        event_seq: scan::<(CompanyId, u64)>(db, codec::EVENT_HEAD)?
            .into_iter()
            .collect(),
        usage: Vec::new(),
        webhooks: transfer::webhooks(db)?,
        fleet: scan(db, codec::FLEET)?,
        sms: scan(db, codec::SMS_PROGRESS)?,
        accounts: scan(db, codec::ACCOUNT)?,
        sessions: scan(db, codec::SESSION)?,
        reminded_through: match db.get([codec::REMINDED])? {
            Some(v) => Some(decode(&[codec::REMINDED], &v)?),
            None => None,
        },
    }))
}

/// Loads the ledger. Window counters are not stored: the ledger recounts them from the
/// bookings. Counters an earlier version stored (prefix `w`) are removed.
fn load(db: &sled::Db) -> Result<Ledger> {
    let ledger = load_ledger(db)?;
    let mut legacy = sled::Batch::default();
    let mut any = false;
    for kv in db.scan_prefix([codec::LEGACY_WINDOW]) {
        let (k, _) = kv?;
        legacy.remove(k);
        any = true;
    }
    if any {
        tracing::info!("removing window counters stored by an earlier version");
        db.apply_batch(legacy)?;
        db.flush()?;
    }
    Ok(ledger)
}

/// Adds everything `touched` names, as it now is in the ledger, to the batch; its audit
/// records are numbered after `audit_head`, which is moved on.
fn stage(
    ledger: &Ledger,
    touched: &Touched,
    audit_head: &mut u64,
    batch: &mut Batch<'_>,
) -> Result<()> {
    for record in &touched.audit {
        *audit_head += 1;
        let entry = AuditEntry {
            seq: *audit_head,
            record: record.clone(),
        };
        batch.insert(codec::audit_key(record.at, entry.seq), encode(&entry)?);
    }
    if !touched.audit.is_empty() {
        batch.insert(codec::audit_head_key(), encode(audit_head)?);
    }
    for id in &touched.bookings {
        if let Some(b) = ledger.booking(*id) {
            batch.insert(codec::booking_key(*id), encode(b)?);
        }
    }
    // `touched.windows` is not stored: window counters are recounted from the bookings.
    for c in &touched.changes {
        batch.insert(codec::change_key(&c.zone, c.seq), encode(c)?);
    }
    for r in &touched.idempotency {
        batch.insert(codec::idempotency_key(&r.company, &r.key), encode(r)?);
    }
    for z in &touched.zones {
        if let Ok(cfg) = ledger.zone(z) {
            batch.insert(codec::zone_key(z), codec::encode_zone(cfg)?);
        }
    }
    for g in &touched.gates {
        if let Ok(gate) = ledger.gate(g) {
            batch.insert(codec::gate_key(g), codec::encode_gate(gate)?);
        }
    }
    for g in &touched.reports {
        if let Some(at) = ledger.reported().get(g) {
            batch.insert(codec::reported_key(g), encode(&(g, at))?);
        }
    }
    for e in &touched.events {
        batch.insert(codec::event_key(&e.company, e.seq), encode(e)?);
        batch.insert(
            codec::event_head_key(&e.company),
            encode(&(&e.company, e.seq))?,
        );
    }
    for (seq, id) in &touched.passages {
        if let Some(p) = ledger.passage(*id) {
            batch.insert(codec::passage_key(*id), encode(p)?);
            batch.insert(codec::passage_log_key(*seq), encode(&(*seq, *id))?);
        }
    }
    for id in &touched.referrals {
        if let Some(r) = ledger.referral(*id) {
            batch.insert(codec::referral_key(*id), encode(r)?);
        }
    }
    for c in &touched.webhooks {
        match ledger.webhook(c) {
            Some((hook, progress)) => {
                batch.insert(codec::webhook_key(c), encode(hook)?);
                batch.insert(codec::webhook_progress_key(c), encode(progress)?);
            }
            None => {
                batch.remove(codec::webhook_key(c));
                batch.remove(codec::webhook_progress_key(c));
            }
        }
    }
    for (c, plate) in &touched.fleet {
        match ledger.fleet_truck(c, plate) {
            Some(t) => batch.insert(codec::fleet_key(c, plate), encode(t)?),
            None => batch.remove(codec::fleet_key(c, plate)),
        }
    }
    for d in &touched.deliveries {
        batch.insert(
            codec::delivery_key(&d.company, d.seq, d.attempt),
            encode(d)?,
        );
    }
    stage_accounts(batch, ledger, touched)?;
    stage_texts(batch, ledger, touched)
}

/// The accounts and sessions a commit changed.
fn stage_accounts(batch: &mut Batch<'_>, ledger: &Ledger, touched: &Touched) -> Result<()> {
    for login in &touched.accounts {
        if let Some(a) = ledger.account(login) {
            batch.insert(codec::account_key(login), encode(a)?);
        }
    }
    for id in &touched.sessions {
        match ledger.session(id) {
            Some(s) => batch.insert(codec::session_key(id), encode(s)?),
            None => batch.remove(codec::session_key(id)),
        }
    }
    Ok(())
}

/// The SMS progress, attempts and reminders' mark a commit changed.
fn stage_texts(batch: &mut Batch<'_>, ledger: &Ledger, touched: &Touched) -> Result<()> {
    for c in &touched.sms {
        if let Some(progress) = ledger.sms_progress_of(c) {
            batch.insert(codec::sms_progress_key(c), encode(&(c, progress))?);
        }
    }
    for t in &touched.texts {
        let d = &t.delivery;
        batch.insert(codec::text_key(&d.company, d.seq, d.attempt), encode(t)?);
    }
    if let Some(mark) = ledger.reminded_through().filter(|_| touched.reminded) {
        batch.insert([codec::REMINDED], encode(&mark)?);
    }
    Ok(())
}

/// What the writer thread owns or shares.
struct Writer {
    db: sled::Db,
    ledger: Arc<RwLock<Ledger>>,
    commits: tokio::sync::watch::Sender<u64>,
    failure: Failure,
    zones: Published,
    stats: Arc<std::sync::Mutex<CommitStats>>,
    /// The number of the last audit record made durable.
    audit_head: std::sync::Mutex<u64>,
    tracker: Tracker,
}

impl Writer {
    fn run(&self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut pending = vec![first];
            while pending.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(j) => pending.push(j),
                    Err(_) => break,
                }
            }
            self.commit(pending);
        }
        let _ = self.db.flush();
    }

    /// Runs one batch of jobs, makes what they changed durable, then answers them all.
    fn commit(&self, pending: Vec<Job>) {
        let db = &self.db;
        let requests = pending.len() as u64;
        let started = std::time::Instant::now();
        // Blocking is right here: this is the writer's own thread, not a runtime worker.
        let mut state = self.ledger.blocking_write();
        let failed = self.failure.borrow().clone();
        // Tracked for a snapshot when one is being copied (see `snapshot`).
        let tracker = self.tracker.tracking().then_some(&self.tracker);
        let mut batch = Batch::new(tracker);
        let mut responders = Vec::with_capacity(pending.len());
        let (mut dirty, mut zones_changed) = (false, false);
        let mut audit_head = *self.audit_head.lock().unwrap_or_else(|e| e.into_inner());
        let mut staged: Result<()> = Ok(());
        for job in pending {
            let ledger = match &failed {
                None => Ok(&mut *state),
                Some(why) => Err(Error::Storage(why.clone())),
            };
            let (touched, respond) = job(ledger);
            if let Some(t) = touched.filter(|t| !t.is_empty()) {
                // A value that cannot be encoded fails the commit, as a failed write does.
                if let Err(e) = stage(&state, &t, &mut audit_head, &mut batch)
                    && staged.is_ok()
                {
                    staged = Err(e);
                }
                dirty = true;
                zones_changed |= !t.zones.is_empty();
            }
            responders.push(respond);
        }
        let applied = std::time::Instant::now();
        let mut written = applied;
        let outcome = match staged {
            Err(e) => Err(e.to_string()),
            Ok(()) if dirty => db
                .apply_batch(batch.inner)
                .and_then(|()| {
                    written = std::time::Instant::now();
                    db.flush().map(drop)
                })
                .map_err(|e| e.to_string()),
            Ok(()) => Ok(()),
        };
        let synced = std::time::Instant::now();
        let outcome = match outcome {
            Ok(()) => Ok(()),
            Err(e) => {
                // Not durable, and the ledger now holds what the disk may not: nobody is told
                // it is done, and nothing more is answered until a restart (module docs).
                let why = failed_message(&e);
                tracing::error!(error = %e, "commit failed; the store refuses every request until restarted");
                self.failure.send_replace(Some(why.clone()));
                Err(Error::Storage(why))
            }
        };
        if zones_changed && outcome.is_ok() {
            publish(&self.zones, &state);
        }
        if outcome.is_ok() {
            *self.audit_head.lock().unwrap_or_else(|e| e.into_inner()) = audit_head;
        }
        drop(state);
        if dirty && outcome.is_ok() {
            self.commits.send_modify(|n| *n += 1);
        }
        {
            let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            s.commits += 1;
            s.requests += requests;
            s.apply += applied - started;
            s.write += written - applied;
            s.sync += synced.saturating_duration_since(written);
        }
        for respond in responders {
            respond(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Storage(e.to_string())),
            });
        }
    }
}

/// Stops the tracking when a backup ends early (a failed copy, a caller gone); disarmed once
/// the writer stopped it (a later backup may be tracking by then).
struct StopTracking(Option<Tracker>);

impl Drop for StopTracking {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.stop();
        }
    }
}

fn random_u128() -> u128 {
    let mut b = [0u8; 16];
    // The OS random source does not fail on supported platforms; a zero suffix would still
    // give a valid (time-ordered) id, and collisions are refused by the ledger.
    let _ = getrandom::fill(&mut b);
    u128::from_be_bytes(b)
}

impl Store for SledStore {
    fn kind(&self) -> &'static str {
        "sled"
    }

    /// A snapshot as of one moment, taken while commits go on (see `snapshot`): the writer
    /// starts tracking changed keys, the tree is copied, the writer stops tracking between two
    /// commits and hands over what changed; then the snapshot is exported off the writer.
    async fn export(&self, out: tokio::sync::mpsc::Sender<crate::dump::Line>) -> Result<()> {
        let tracker = self.tracker.clone();
        self.write(move |_| Ok((Touched::default(), tracker.start())))
            .await??;
        let mut stop = StopTracking(Some(self.tracker.clone()));
        let (db, dir) = (self.db.clone(), self.dir.clone());
        let copied = tokio::task::spawn_blocking(move || Snapshot::take(&db, &dir)).await;
        let tracker = self.tracker.clone();
        let overlay = self
            .write(move |_| Ok((Touched::default(), tracker.stop())))
            .await?;
        stop.0 = None;
        let mut snapshot =
            copied.map_err(|e| Error::Storage(format!("the backup stopped: {e}")))??;
        snapshot.overlay = overlay;
        tokio::task::spawn_blocking(move || {
            transfer::export_from(&snapshot, &mut |line| {
                out.blocking_send(line).map_err(|_| Error::Closed)
            })
        })
        .await
        .map_err(|e| Error::Storage(format!("the export stopped: {e}")))?
    }

    async fn create_booking(&self, req: NewBooking, now: DateTime<Utc>) -> Result<CreatedBooking> {
        let random = random_u128();
        self.write(move |l| {
            let c = l.create(req, now, random)?;
            let booking = l.booking(c.id).cloned().ok_or_else(|| not_found(c.id))?;
            Ok((
                c.touched,
                CreatedBooking {
                    booking,
                    replayed: c.replayed,
                },
            ))
        })
        .await
    }

    async fn move_booking(
        &self,
        actor: Actor,
        id: BookingId,
        stop: usize,
        new_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        self.write(move |l| {
            let t = l.move_stop(&actor, id, stop, new_start, now)?;
            Ok((t, l.booking(id).cloned().ok_or_else(|| not_found(id))?))
        })
        .await
    }

    async fn cancel_booking(
        &self,
        actor: Actor,
        id: BookingId,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        self.write(move |l| {
            let t = l.cancel(&actor, id, &reason, now)?;
            Ok((t, l.booking(id).cloned().ok_or_else(|| not_found(id))?))
        })
        .await
    }

    async fn sweep_no_shows(&self, now: DateTime<Utc>) -> Result<Vec<BookingId>> {
        self.write(move |l| {
            let t = l.sweep_no_shows(now);
            let ids = t.bookings.iter().copied().collect();
            Ok((t, ids))
        })
        .await
    }

    async fn administer(
        &self,
        change: AdminChange,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<Administered> {
        self.write(move |l| l.administer(change, &who, now)).await
    }

    async fn audit(
        &self,
        filter: AuditFilter,
        before: Option<(DateTime<Utc>, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        // The read lock: the writer holds the write lock until its batch is durable.
        let _durable = self.read().await?;
        let end = match before {
            Some((at, seq)) => codec::audit_key(at, seq),
            None => vec![codec::AUDIT + 1],
        };
        let mut found = Vec::new();
        for kv in self.db.range(vec![codec::AUDIT]..end).rev() {
            if found.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            let entry: AuditEntry = decode(&k, &v)?;
            if filter.matches(&entry.record) {
                found.push(entry);
            }
        }
        Ok(found)
    }

    async fn company_events(
        &self,
        company: CompanyId,
        after: u64,
        limit: usize,
    ) -> Result<EventPage> {
        // The read lock: the writer holds the write lock until its batch is durable.
        let ledger = self.read().await?;
        let from = codec::event_key(&company, after.saturating_add(1));
        let end = codec::event_key(&company, u64::MAX);
        let events = self
            .db
            .range(from..=end)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect::<Result<Vec<CompanyEvent>>>()?;
        Ok(EventPage {
            events,
            head: ledger.event_seq(&company),
        })
    }

    async fn set_webhook(
        &self,
        company: CompanyId,
        hook: Option<Webhook>,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move |l| Ok((l.set_webhook(&company, hook, &who, now)?, ())))
            .await
    }

    async fn webhooks(&self) -> Result<Vec<(Webhook, Progress)>> {
        Ok(self.read().await?.webhooks().cloned().collect())
    }

    async fn record_delivery(&self, delivery: Delivery, progress: Progress) -> Result<()> {
        self.write(move |l| Ok((l.record_delivery(delivery, progress), ())))
            .await
    }

    async fn deliveries(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let _durable = self.read().await?;
        self.attempts(codec::delivery_key, &company, before, limit)
    }

    async fn sms_progress(&self) -> Result<Vec<(CompanyId, Progress)>> {
        let l = self.read().await?;
        Ok(l.sms_progress()
            .map(|(c, p)| (c.clone(), p.clone()))
            .collect())
    }

    async fn record_text(
        &self,
        company: CompanyId,
        text: Option<Texted>,
        progress: Progress,
    ) -> Result<()> {
        self.write(move |l| Ok((l.record_text(&company, text, progress), ())))
            .await
    }

    async fn texts(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Texted>> {
        let _durable = self.read().await?;
        self.attempts(codec::text_key, &company, before, limit)
    }

    async fn remind(&self, now: DateTime<Utc>, lead: TimeDelta) -> Result<usize> {
        self.write(move |l| {
            let t = l.remind(now, lead);
            let n = t.events.len();
            Ok((t, n))
        })
        .await
    }

    async fn save_truck(&self, truck: FleetTruck, who: Who, now: DateTime<Utc>) -> Result<()> {
        self.write(move |l| Ok((l.save_truck(truck, &who, now)?, ())))
            .await
    }

    async fn remove_truck(
        &self,
        company: CompanyId,
        plate: Plate,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move |l| Ok((l.remove_truck(&company, &plate, &who, now)?, ())))
            .await
    }

    async fn fleet(&self, company: CompanyId) -> Result<Vec<FleetTruck>> {
        Ok(self.read().await?.fleet(&company).cloned().collect())
    }

    async fn trucks_by_tag(&self, epc: Epc) -> Result<Vec<FleetTruck>> {
        Ok(self.read().await?.trucks_by_tag(&epc).cloned().collect())
    }

    async fn create_account(&self, account: Account, who: Who, now: DateTime<Utc>) -> Result<()> {
        self.write(move |l| Ok((l.create_account(account, &who, now)?, ())))
            .await
    }

    async fn update_account(
        &self,
        login: Login,
        company: Option<CompanyId>,
        update: AccountUpdate,
        who: Who,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move |l| {
            let t = l.update_account(&login, company.as_ref(), update, &who, now)?;
            Ok((t, ()))
        })
        .await
    }

    async fn account(&self, login: Login) -> Result<Option<Account>> {
        Ok(self.read().await?.account(&login).cloned())
    }

    async fn accounts(&self, company: CompanyId) -> Result<Vec<Account>> {
        Ok(self.read().await?.accounts(&company).cloned().collect())
    }

    async fn record_login(
        &self,
        login: Login,
        session: Option<Session>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move |l| Ok((l.record_login(&login, session, now)?, ())))
            .await
    }

    async fn session(&self, id: String, now: DateTime<Utc>) -> Result<Option<(Session, Account)>> {
        let l = self.read().await?;
        Ok(l.session(&id).filter(|s| s.live(now)).and_then(|s| {
            let a = l.account(&s.login)?;
            Some((s.clone(), a.clone()))
        }))
    }

    async fn end_session(&self, id: String) -> Result<()> {
        self.write(move |l| Ok((l.end_session(&id), ()))).await
    }

    async fn get_booking(&self, actor: Actor, id: BookingId) -> Result<Booking> {
        Ok(self.read().await?.booking_for(&actor, id)?.clone())
    }

    async fn list_bookings(
        &self,
        filter: BookingFilter,
        after: Option<BookingId>,
        limit: usize,
    ) -> Result<Vec<Booking>> {
        Ok(self
            .read()
            .await?
            .list_bookings(&filter, after, limit)
            .into_iter()
            .cloned()
            .collect())
    }

    async fn list_windows(
        &self,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WindowView>> {
        Ok(self.read().await?.windows(&zone, from, to, limit)?)
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
        let l = self.read().await?;
        let starts = l.find_slots(
            &zone,
            transaction_type,
            company.as_ref(),
            preferred,
            count,
            now,
        )?;
        let mut views = Vec::with_capacity(starts.len());
        for s in starts {
            // One window each: the view of exactly that start.
            views.extend(l.windows(&zone, s, s + chrono::TimeDelta::seconds(1), 1)?);
        }
        Ok(views)
    }

    async fn zones(&self) -> Result<Vec<ZoneConfig>> {
        self.check()?;
        Ok(self.published_zones().values().cloned().collect())
    }

    async fn gates(&self) -> Result<Vec<Gate>> {
        Ok(self.read().await?.gates().cloned().collect())
    }

    async fn no_shows(&self) -> Result<BTreeMap<CompanyId, u64>> {
        Ok(self.read().await?.no_shows().clone())
    }

    async fn changes(
        &self,
        zone: ZoneId,
        after: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Changes> {
        // The read lock: the writer holds the write lock until its batch is durable.
        let l = self.read().await?;
        l.zone(&zone)?;
        let head = l.change_seq(&zone);
        if after > head {
            return Err(Error::Domain(bawaba_domain::Error::invalid(
                "after_seq",
                format!(
                    "{after} is ahead of zone {zone}'s change log ({head}); the agent's replica belongs to another scheduler store"
                ),
            )));
        }
        if after == 0 && head > 0 || head - after > SNAPSHOT_AFTER {
            // One day back: older windows are of no use at a gate.
            let bookings = l
                .zone_bookings(&zone, now - chrono::TimeDelta::days(1))
                .into_iter()
                .cloned()
                .collect();
            return Ok(Changes::Snapshot {
                seq: head,
                bookings,
            });
        }
        let from = codec::change_key(&zone, after + 1);
        let entries = self
            .db
            .range(from..)
            .take_while(|kv| {
                kv.as_ref()
                    .map_or(true, |(k, _)| k.starts_with(&codec::change_prefix(&zone)))
            })
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                decode::<ChangeEntry>(&k, &v)
            })
            .filter(|e| e.as_ref().map_or(true, |e| e.seq <= head))
            .collect::<Result<Vec<_>>>()?;
        Ok(Changes::Entries { entries, head })
    }

    fn commit_stats(&self) -> Option<CommitStats> {
        Some(*self.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    fn failure(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.failure.subscribe()
    }

    async fn zone(&self, zone: ZoneId) -> Result<ZoneConfig> {
        self.check()?;
        self.published_zones().get(&zone).cloned().ok_or_else(|| {
            bawaba_domain::Error::NotFound {
                what: "zone",
                id: zone.to_string(),
            }
            .into()
        })
    }

    async fn report_passages_through(
        &self,
        passages: Vec<Passage>,
        through: Option<(GateId, DateTime<Utc>)>,
    ) -> Result<Reported> {
        self.write(move |l| crate::record_passages(l, &passages, through.as_ref()))
            .await
    }

    async fn reported(&self) -> Result<BTreeMap<GateId, DateTime<Utc>>> {
        Ok(self.read().await?.reported().clone())
    }

    async fn passages(
        &self,
        zone: Option<ZoneId>,
        after: Option<PassageId>,
        limit: usize,
    ) -> Result<Vec<Passage>> {
        Ok(self
            .read()
            .await?
            .list_passages(zone.as_ref(), after, limit)
            .into_iter()
            .cloned()
            .collect())
    }

    async fn recorded_passages(
        &self,
        zone: Option<ZoneId>,
        after: u64,
        limit: usize,
    ) -> Result<Recorded> {
        let l = self.read().await?;
        Ok(Recorded {
            passages: l
                .recorded_passages(zone.as_ref(), after, limit)
                .into_iter()
                .map(|(seq, p)| (seq, p.clone()))
                .collect(),
            head: l.passage_head(),
        })
    }

    async fn referrals(&self, zone: Option<ZoneId>, all: bool) -> Result<Vec<Referral>> {
        Ok(self
            .read()
            .await?
            .referrals(zone.as_ref(), all)
            .cloned()
            .collect())
    }

    async fn resolve_referral(
        &self,
        id: PassageId,
        res: Resolution,
        by: Who,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        self.write(move |l| {
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
    }
}

fn not_found(id: BookingId) -> bawaba_domain::Error {
    bawaba_domain::Error::NotFound {
        what: "booking",
        id: id.to_string(),
    }
}

mod snapshot;
mod transfer;

use snapshot::{Batch, Snapshot, Tracker};

#[cfg(test)]
mod tests;
