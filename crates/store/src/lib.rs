//! Bawaba's storage.
//!
//! [`Store`] is the interface the scheduler uses; [`SledStore`] is the embedded default (the
//! only code that knows sled). A later PostgreSQL backend is a second implementation of the
//! same trait. [`TokenBook`] keeps API tokens (hashes only) in a plain file beside the store,
//! so `bawaba token create` works whether or not a scheduler is running.

mod agent_store;
mod codec;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod dump;
mod log_file;
mod outbox;
mod setup;
mod sled_store;
mod tokens;

use std::collections::BTreeMap;
use std::future::Future;

use bawaba_domain::account::{Account, AccountUpdate, Login, Session};
use bawaba_domain::audit::{AuditEntry, AuditFilter, Who};
use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::epc::Epc;
use bawaba_domain::event::EventPage;
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ids::{BookingId, CompanyId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Actor, AdminChange, Administered, Booking, BookingFilter, ChangeEntry, Gate, Ledger,
    NewBooking, Touched, WindowView,
};
use bawaba_domain::notify::{Delivery, Progress, Texted, Webhook};
use bawaba_domain::passage::{Passage, Referral, Resolution};
use bawaba_domain::plate::Plate;
use chrono::{DateTime, TimeDelta, Utc};

pub use agent_store::{AgentState, AgentStore, SyncUpdate};
pub use setup::Setup;
pub use sled_store::SledStore;

pub use tokens::{TokenBook, TokenInfo};

/// Everything the store refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The domain refused the request; nothing was stored.
    #[error(transparent)]
    Domain(#[from] bawaba_domain::Error),
    /// The database failed; the request was not acknowledged and nothing of it is visible.
    #[error("storage failure: {0}")]
    Storage(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// An export could not be imported (not an export, cut short, a record missing, or the
    /// store is not empty); nothing was stored.
    #[error("cannot import: {0}")]
    Import(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A booking as created: `replayed` when the idempotency key had made it before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBooking {
    pub booking: Booking,
    pub replayed: bool,
}

/// What a gate agent following a zone receives next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// The changes after the agent's cursor, oldest first (empty: it is up to date), and the
    /// zone's latest change when they were read (the agent is `head` − its cursor behind).
    Entries {
        entries: Vec<ChangeEntry>,
        head: u64,
    },
    /// The agent is too far behind (or new): every booking the zone's gates need, as of
    /// change `seq`; changes after `seq` follow.
    Snapshot { seq: u64, bookings: Vec<Booking> },
}

/// What a store answers for a batch of reported passages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reported {
    /// Every passage of the batch, in the order given: all are durably recorded.
    pub acknowledged: Vec<PassageId>,
    /// Those this call recorded, in the order given; the others were recorded before (a
    /// resend after a lost acknowledgement, possibly to another replica). Whoever counts
    /// passages counts these, and so counts each passage once.
    pub new: Vec<PassageId>,
}

/// Records a batch of passages in `ledger`, whole or not at all (every zone is checked
/// first), and the reporting gate's mark when given: what every store runs, in its own
/// transaction, for [`Store::report_passages_through`].
pub fn record_passages(
    ledger: &mut Ledger,
    passages: &[Passage],
    through: Option<&(GateId, DateTime<Utc>)>,
) -> bawaba_domain::Result<(Touched, Reported)> {
    for p in passages {
        ledger.zone(&p.zone)?;
    }
    let mut touched = Touched::default();
    let mut reported = Reported::default();
    for p in passages {
        let (new, t) = ledger.record_passage(p.clone())?;
        touched.merge(t);
        reported.acknowledged.push(p.id);
        if new {
            reported.new.push(p.id);
        }
    }
    if let Some((gate, at)) = through {
        touched.merge(ledger.note_reported(gate, *at));
    }
    Ok((touched, reported))
}

/// Passages in the order a store recorded them (see [`Store::recorded_passages`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// (recording number, passage), in recording order.
    pub passages: Vec<(u64, Passage)>,
    /// The recording number of the last passage recorded, of any zone (0: none yet).
    pub head: u64,
}

/// Where a store's writer spends its time, counted since the store opened: how many
/// commits (one durable batch each), how many requests they answered, and the time spent on
/// each step of a commit. Operators read it to tell a slow disk (`sync`) from a busy writer
/// (`apply`, `write`); the booking bench shows it per phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches committed (those that changed something, and those that only answered).
    pub commits: u64,
    /// Requests the commits answered, whether they changed something or were refused.
    pub requests: u64,
    /// Running the requests against the in-memory state (validation, capacity, indexes).
    pub apply: std::time::Duration,
    /// Encoding what changed and handing it to the database (sled: `apply_batch`).
    pub write: std::time::Duration,
    /// Waiting until it is durable (sled: `flush`, which writes and syncs the log).
    pub sync: std::time::Duration,
}

impl CommitStats {
    /// What happened between `earlier` and `self` (two readings of the same store).
    pub fn since(&self, earlier: &CommitStats) -> CommitStats {
        CommitStats {
            commits: self.commits.saturating_sub(earlier.commits),
            requests: self.requests.saturating_sub(earlier.requests),
            apply: self.apply.saturating_sub(earlier.apply),
            write: self.write.saturating_sub(earlier.write),
            sync: self.sync.saturating_sub(earlier.sync),
        }
    }

    /// Requests per commit (0 before the first commit).
    pub fn batch_size(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.requests as f64 / self.commits as f64
        }
    }

    /// The mean time per commit of a step (zero before the first commit).
    pub fn per_commit(&self, step: std::time::Duration) -> std::time::Duration {
        u32::try_from(self.commits)
            .ok()
            .filter(|c| *c > 0)
            .map_or(std::time::Duration::ZERO, |c| step / c)
    }
}

impl std::fmt::Display for CommitStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: std::time::Duration| self.per_commit(d).as_secs_f64() * 1e3;
        write!(
            f,
            "{} commits, {:.1} requests each; per commit: apply {:.3} ms, write {:.3} ms, sync {:.3} ms",
            self.commits,
            self.batch_size(),
            ms(self.apply),
            ms(self.write),
            ms(self.sync),
        )
    }
}

/// An agent further behind than this many changes gets a snapshot instead.
pub const SNAPSHOT_AFTER: u64 = 10_000;

/// The scheduler's storage. Every mutation is acknowledged only once durable, and either
/// applies completely (booking, capacity counters, indexes and change log together) or not
/// at all.
pub trait Store: Send + Sync + 'static {
    fn create_booking(
        &self,
        req: NewBooking,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<CreatedBooking>> + Send;
    fn move_booking(
        &self,
        actor: Actor,
        id: BookingId,
        stop: usize,
        new_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Booking>> + Send;
    fn cancel_booking(
        &self,
        actor: Actor,
        id: BookingId,
        reason: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Booking>> + Send;
    /// Marks no-shows — only those every gate of their zone has reported past (see
    /// [`Ledger::note_reported`]); returns the bookings it marked.
    fn sweep_no_shows(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<BookingId>>> + Send;

    /// Applies an administrative change by `who` at `now`, and its audit record in the same
    /// commit.
    fn administer(
        &self,
        change: AdminChange,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Administered>> + Send;
    /// The audit trail, newest first: records matching `filter` that come before `before`
    /// (a record's `(at, seq)`; none: from the newest), at most `limit`.
    fn audit(
        &self,
        filter: AuditFilter,
        before: Option<(DateTime<Utc>, u64)>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;

    fn get_booking(
        &self,
        actor: Actor,
        id: BookingId,
    ) -> impl Future<Output = Result<Booking>> + Send;
    fn list_bookings(
        &self,
        filter: BookingFilter,
        after: Option<BookingId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Booking>>> + Send;
    fn list_windows(
        &self,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<WindowView>>> + Send;
    fn find_slots(
        &self,
        zone: ZoneId,
        transaction_type: TransactionType,
        company: Option<CompanyId>,
        preferred: DateTime<Utc>,
        count: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<WindowView>>> + Send;
    fn zones(&self) -> impl Future<Output = Result<Vec<ZoneConfig>>> + Send;
    fn gates(&self) -> impl Future<Output = Result<Vec<Gate>>> + Send;
    fn no_shows(&self) -> impl Future<Output = Result<BTreeMap<CompanyId, u64>>> + Send;

    /// A zone's changes after `after` (at most `limit`), or a snapshot when the caller is new
    /// or too far behind. Only durable changes are returned.
    fn changes(
        &self,
        zone: ZoneId,
        after: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Changes>> + Send;
    /// Ticks after every durable commit, so followers of the change log wake up.
    fn commits(&self) -> tokio::sync::watch::Receiver<u64>;
    /// Why the store has stopped serving, once it has (a store that cannot trust its own
    /// state any more, e.g. the sled store after a failed commit, refuses every request until
    /// restarted); `None` while it serves. The scheduler's health check follows it. A store
    /// without such a state never changes it.
    fn failure(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        tokio::sync::watch::channel(None).1
    }
    /// Where the store's writer has spent its time since the store opened, for stores with
    /// one writer ([`SledStore`]); others answer `None`.
    fn commit_stats(&self) -> Option<CommitStats> {
        None
    }
    fn zone(&self, zone: ZoneId) -> impl Future<Output = Result<ZoneConfig>> + Send;
    /// Records passages, each once (by event id); answers the ids now durably recorded (all
    /// of them) and which of them this call recorded.
    fn report_passages(
        &self,
        passages: Vec<Passage>,
    ) -> impl Future<Output = Result<Reported>> + Send {
        self.report_passages_through(passages, None)
    }
    /// [`Store::report_passages`], and with `through` = `(gate, t)` that `gate` has
    /// delivered every passage it decided before `t` (its report mark moves up to `t`, never
    /// back), in the same commit.
    fn report_passages_through(
        &self,
        passages: Vec<Passage>,
        through: Option<(GateId, DateTime<Utc>)>,
    ) -> impl Future<Output = Result<Reported>> + Send;
    /// `company`'s events numbered after `after`, oldest first, at most `limit`, and the
    /// number of its newest event. Each event was stored in the commit of its change.
    fn company_events(
        &self,
        company: CompanyId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<EventPage>> + Send;
    /// Sets `company`'s webhook (`None`: removes it; one it does not have is not found),
    /// durably, with its audit record. A new webhook delivers the
    /// events after the company's newest one at this moment; a changed one goes on from
    /// where the old one was.
    fn set_webhook(
        &self,
        company: CompanyId,
        hook: Option<Webhook>,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Every company's webhook with its delivery progress.
    fn webhooks(&self) -> impl Future<Output = Result<Vec<(Webhook, Progress)>>> + Send;
    /// The webhooks this process is to deliver: every one ([`Store::webhooks`]) for a store
    /// of one process; on a store shared by replicas, all of them on the one replica that
    /// holds the delivery lease (taken or renewed by this call) and none on the others.
    fn webhooks_to_deliver(&self) -> impl Future<Output = Result<Vec<(Webhook, Progress)>>> + Send {
        self.webhooks()
    }
    /// Records an attempt at delivering one of `company`'s events and the progress it
    /// leaves, durably and together (the progress of a company without a webhook any more
    /// is not kept).
    fn record_delivery(
        &self,
        delivery: Delivery,
        progress: Progress,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `company`'s delivery attempts, newest first, at most `limit`; `before` (event number,
    /// attempt) continues a listing.
    fn deliveries(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Delivery>>> + Send;
    /// Every company's SMS progress: how far its events have been texted to its drivers
    /// (a company has one from its fleet's first driver's number on).
    fn sms_progress(&self) -> impl Future<Output = Result<Vec<(CompanyId, Progress)>>> + Send;
    /// The SMS progress this process is to carry on: every one for a store of one process;
    /// on a store shared by replicas, all on the replica that holds the SMS lease (taken or
    /// renewed by this call) and none on the others.
    fn sms_to_deliver(&self) -> impl Future<Output = Result<Vec<(CompanyId, Progress)>>> + Send {
        self.sms_progress()
    }
    /// Records `company`'s SMS progress with the attempt that made it (none: events passed
    /// over), durably and together.
    fn record_text(
        &self,
        company: CompanyId,
        text: Option<Texted>,
        progress: Progress,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `company`'s SMS attempts, newest first, at most `limit`; `before` (event number,
    /// attempt) continues a listing.
    fn texts(
        &self,
        company: CompanyId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Texted>>> + Send;
    /// Adds the reminders due at `now` (`lead` before first windows; see
    /// [`bawaba_domain::ledger::Ledger::remind`]) to the companies' logs, durably with the
    /// reminders' mark: how many were added. On a store shared by replicas, only the replica
    /// holding the no-show sweep's lease reminds.
    fn remind(
        &self,
        now: DateTime<Utc>,
        lead: TimeDelta,
    ) -> impl Future<Output = Result<usize>> + Send;
    /// Adds a truck to its company's fleet or replaces the one with its plate, durably, with
    /// its audit record.
    fn save_truck(
        &self,
        truck: FleetTruck,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes a truck out of its company's fleet (one it does not have is not found).
    fn remove_truck(
        &self,
        company: CompanyId,
        plate: Plate,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `company`'s trucks, by plate.
    fn fleet(&self, company: CompanyId) -> impl Future<Output = Result<Vec<FleetTruck>>> + Send;
    /// The trucks of every company whose RFID tag is `epc` (for the operator: whose tag a
    /// gate read), by company and plate.
    fn trucks_by_tag(&self, epc: Epc) -> impl Future<Output = Result<Vec<FleetTruck>>> + Send;
    /// Adds a portal account, durably, with its audit record (a login name taken is refused).
    fn create_account(
        &self,
        account: Account,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Changes an account of `company` (of any company for `None`), ending its sessions
    /// when it is disabled or its password changes.
    fn update_account(
        &self,
        login: Login,
        company: Option<CompanyId>,
        update: AccountUpdate,
        who: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn account(&self, login: Login) -> impl Future<Output = Result<Option<Account>>> + Send;
    /// `company`'s accounts, by login name.
    fn accounts(&self, company: CompanyId) -> impl Future<Output = Result<Vec<Account>>> + Send;
    /// Records a login attempt (see `Ledger::record_login`): the session it opens, or `None`
    /// for a wrong password.
    fn record_login(
        &self,
        login: Login,
        session: Option<Session>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A session by id, with its account; `None` once it ended or expired.
    fn session(
        &self,
        id: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<(Session, Account)>>> + Send;
    /// Ends a session (logging out).
    fn end_session(&self, id: String) -> impl Future<Output = Result<()>> + Send;
    /// Every gate's report mark.
    fn reported(&self) -> impl Future<Output = Result<BTreeMap<GateId, DateTime<Utc>>>> + Send;
    /// Recorded passages after `after`, oldest first, at most `limit`, of `zone` when given.
    fn passages(
        &self,
        zone: Option<ZoneId>,
        after: Option<PassageId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Passage>>> + Send;
    /// Passages in the order they were recorded, which is not their ids' order: a gate that
    /// was offline reports its passages late, with older ids. Those recorded after recording
    /// number `after` (at most `limit`, of `zone` when given), and the last number given out.
    /// Numbers follow commit order, so a follower that saw number N never gets a passage
    /// numbered below N later.
    fn recorded_passages(
        &self,
        zone: Option<ZoneId>,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Recorded>> + Send;
    fn referrals(
        &self,
        zone: Option<ZoneId>,
        all: bool,
    ) -> impl Future<Output = Result<Vec<Referral>>> + Send;
    /// Resolves referral `id` as the ledger's `resolve_referral` does, with the booking it
    /// moves on (the one the operator names, or the gate's) in the same commit.
    fn resolve_referral(
        &self,
        id: PassageId,
        res: Resolution,
        by: Who,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Referral>> + Send;

    /// What kind of store this is, as an export's header names it (`sled`, `postgres`).
    fn kind(&self) -> &'static str;
    /// Sends every record, as of one moment after which nothing acknowledged is missing, to
    /// `out` (see [`dump`]) while the store goes on serving: a backup.
    fn export(
        &self,
        out: tokio::sync::mpsc::Sender<dump::Line>,
    ) -> impl Future<Output = Result<()>> + Send;
}

#[cfg(test)]
mod tests {
    use super::CommitStats;
    use std::time::Duration;

    #[test]
    fn commit_stats_subtract_and_average() {
        let ms = Duration::from_millis;
        let earlier = CommitStats {
            commits: 2,
            requests: 10,
            apply: ms(2),
            write: ms(2),
            sync: ms(4),
        };
        let later = CommitStats {
            commits: 6,
            requests: 50,
            apply: ms(6),
            write: ms(10),
            sync: ms(16),
        };
        let d = later.since(&earlier);
        assert_eq!((d.commits, d.requests), (4, 40));
        assert_eq!(d.batch_size(), 10.0);
        assert_eq!(d.per_commit(d.sync), ms(3));
        assert_eq!(
            d.to_string(),
            "4 commits, 10.0 requests each; per commit: apply 1.000 ms, write 2.000 ms, sync 3.000 ms"
        );
        // A reading taken before another (or of another store) never underflows.
        assert_eq!(earlier.since(&later), CommitStats::default());
        assert_eq!(CommitStats::default().batch_size(), 0.0);
        assert_eq!(CommitStats::default().per_commit(ms(5)), Duration::ZERO);
    }
}
