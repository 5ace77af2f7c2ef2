//! The ledger: zones, gates, bookings and window usage, and every rule that changes them.
//!
//! Each mutation either applies completely and returns what it [`Touched`] (so a store can
//! persist exactly those records, atomically, with the change-log entries), or returns an
//! error and changes nothing. The store crate wraps one `Ledger` in its single writer; the
//! property tests below check it against a naive model.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::account::{Account, Login, Session};
use crate::audit::{self, AuditKind, AuditRecord, Fields, Who};
use crate::calendar::{
    BookingRules, CapacityTemplate, TransactionType, WindowCapacity, ZoneConfig, local,
};
use crate::container::ContainerNumber;
use crate::epc::Epc;
use crate::event::{CompanyEvent, EventKind};
use crate::fleet::FleetTruck;
use crate::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use crate::notify::{Delivery, Progress, Texted, Webhook};
use crate::passage::{MAX_REASON, Passage, Referral, ReferralState, Resolution, Verdict};
use crate::plate::Plate;
use crate::rules::{self, visit_span};
use crate::{Error, Result};

/// Most stops one visit may chain.
pub const MAX_STOPS: usize = 8;
/// Most containers one stop may name.
pub const MAX_CONTAINERS_PER_STOP: usize = 4;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// Most windows `find_slots` returns.
pub const MAX_FIND_SLOTS: usize = 50;

/// One stop of a visit: a zone, a window in it, what the truck does there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub zone: ZoneId,
    pub window_start: DateTime<Utc>,
    pub transaction_type: TransactionType,
    pub containers: Vec<ContainerNumber>,
    /// When the truck entered and left this stop's zone (set from gate passages).
    pub entered_at: Option<DateTime<Utc>>,
    pub exited_at: Option<DateTime<Utc>>,
}

impl Stop {
    /// A stop not yet visited.
    pub fn new(
        zone: ZoneId,
        window_start: DateTime<Utc>,
        transaction_type: TransactionType,
        containers: Vec<ContainerNumber>,
    ) -> Self {
        Stop {
            zone,
            window_start,
            transaction_type,
            containers,
            entered_at: None,
            exited_at: None,
        }
    }
}

/// Where a booking is in its life. States only move forward:
/// `Booked → Entered → Exited`, `Booked → Cancelled`, `Booked → NoShow` — and
/// `NoShow → Entered` when a gate's passage proves the truck came after all (see
/// [`Ledger::record_passage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BookingState {
    Booked,
    Entered,
    Exited,
    Cancelled,
    NoShow,
}

impl BookingState {
    pub const ALL: [BookingState; 5] = [
        BookingState::Booked,
        BookingState::Entered,
        BookingState::Exited,
        BookingState::Cancelled,
        BookingState::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingState::Booked => "BOOKED",
            BookingState::Entered => "ENTERED",
            BookingState::Exited => "EXITED",
            BookingState::Cancelled => "CANCELLED",
            BookingState::NoShow => "NO_SHOW",
        }
    }

    /// Whether the truck still holds (or uses) its visit: it blocks overlapping bookings.
    pub fn is_active(self) -> bool {
        matches!(self, BookingState::Booked | BookingState::Entered)
    }

    /// Whether the booking takes a place in its windows' capacity.
    pub fn holds_capacity(self) -> bool {
        self != BookingState::Cancelled
    }

    /// Whether `self → next` is a legal transition.
    pub fn can_become(self, next: BookingState) -> bool {
        use BookingState::*;
        matches!(
            (self, next),
            (Booked, Entered | Cancelled | NoShow) | (Entered, Exited)
        )
    }
}

/// A booked visit of one truck: 1..N stops, all taken together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub id: BookingId,
    pub company: CompanyId,
    pub plate: Plate,
    pub epc: Option<Epc>,
    pub stops: Vec<Stop>,
    pub state: BookingState,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub entered_at: Option<DateTime<Utc>>,
    pub exited_at: Option<DateTime<Utc>>,
    /// Why it was cancelled, when it was.
    pub cancel_reason: Option<String>,
    /// Bumped on every change; lets replicas apply changes once.
    pub revision: u64,
}

impl Booking {
    /// The visit's span: from the first window's start to the last window's end.
    fn span(&self, zones: &BTreeMap<ZoneId, ZoneConfig>) -> (DateTime<Utc>, DateTime<Utc>) {
        visit_span(&self.stops, zones)
    }

    /// The distinct zones the visit touches.
    pub fn zones(&self) -> BTreeSet<&ZoneId> {
        self.stops.iter().map(|s| &s.zone).collect()
    }
}

/// A request for a new booking, already parsed into domain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub company: CompanyId,
    pub idempotency_key: String,
    pub plate: Plate,
    pub epc: Option<Epc>,
    pub stops: Vec<Stop>,
    /// The official who books on the company's behalf (audited); none: the company itself.
    /// Not part of what an idempotency key stands for.
    pub by: Option<Box<Who>>,
}

impl NewBooking {
    /// A stable fingerprint of what was asked (not of the key or company), so a retry with
    /// the same key is recognised and a different request under the same key is refused.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a: stable across processes and versions, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes.iter().chain(std::iter::once(&0xff)) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(self.plate.as_str().as_bytes());
        eat(self.epc.as_ref().map_or(&[][..], |e| e.as_bytes()));
        for s in &self.stops {
            eat(s.zone.as_str().as_bytes());
            eat(&s.window_start.timestamp().to_be_bytes());
            eat(s.transaction_type.as_str().as_bytes());
            for c in &s.containers {
                eat(c.as_str().as_bytes());
            }
        }
        h
    }
}

/// Who asks for a change. Companies act on their own bookings within the cut-offs; the port
/// authority may act on any booking and past the change cut-off (e.g. after a closure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Company(CompanyId),
    /// The system itself, or a reader with the authority's view (gates, operators).
    Authority,
    /// A person of the authority, through a token: may do what [`Actor::Authority`] may, and
    /// every change it makes to a booking is audited.
    Official(Box<Who>),
}

/// Direction of a gate lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// `IN` or `OUT`, as the API and the operators name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "IN",
            Direction::Out => "OUT",
        }
    }
}

/// One lane of a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub id: LaneId,
    pub direction: Direction,
}

/// A terminal gate: the lanes through which trucks enter and leave one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub id: GateId,
    pub zone: ZoneId,
    pub name: String,
    pub lanes: Vec<Lane>,
    /// The gate's name in Arabic (empty: not given; the Arabic pages show `name`).
    #[serde(default)]
    pub name_ar: String,
}

/// How full one window is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowUsage {
    pub booked: u32,
    pub per_type: [u32; 5],
    pub per_company: BTreeMap<CompanyId, u32>,
}

impl WindowUsage {
    fn add(&mut self, company: &CompanyId, t: TransactionType) {
        self.booked += 1;
        self.per_type[t.index()] += 1;
        *self.per_company.entry(company.clone()).or_default() += 1;
    }

    fn remove(&mut self, company: &CompanyId, t: TransactionType) {
        self.booked = self.booked.saturating_sub(1);
        self.per_type[t.index()] = self.per_type[t.index()].saturating_sub(1);
        if let Some(n) = self.per_company.get_mut(company) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_company.remove(company);
            }
        }
    }
}

/// A window as listed for clients: its capacity, what is taken, and why it is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: WindowCapacity,
    pub booked: u32,
    pub booked_per_type: [u32; 5],
    pub closure: Option<String>,
}

impl WindowView {
    pub fn free(&self) -> u32 {
        self.capacity.total.saturating_sub(self.booked)
    }

    pub fn free_for(&self, t: TransactionType) -> u32 {
        self.capacity
            .for_type(t)
            .saturating_sub(self.booked_per_type[t.index()])
            .min(self.free())
    }
}

/// One entry of a zone's change log: the booking as it is after change number `seq`.
/// Gate agents follow the log of their zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub zone: ZoneId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub booking: Booking,
}

/// A used idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub company: CompanyId,
    pub key: String,
    pub booking: BookingId,
    pub fingerprint: u64,
}

/// What a mutation changed, for the store to persist in one atomic batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub bookings: BTreeSet<BookingId>,
    pub windows: BTreeSet<(ZoneId, DateTime<Utc>)>,
    pub changes: Vec<ChangeEntry>,
    pub idempotency: Vec<IdempotencyRecord>,
    pub zones: BTreeSet<ZoneId>,
    pub gates: BTreeSet<GateId>,
    /// Passages newly recorded, in recording order, with their recording numbers.
    pub passages: Vec<(u64, PassageId)>,
    pub referrals: BTreeSet<PassageId>,
    /// Audit records of the changes, to be stored in the same commit.
    pub audit: Vec<AuditRecord>,
    /// Gates whose report mark moved (see [`Ledger::note_reported`]).
    pub reports: BTreeSet<GateId>,
    /// The company events of the changes, numbered per company, to be stored in the same
    /// commit (see [`crate::event`]).
    pub events: Vec<CompanyEvent>,
    /// Companies whose webhook or delivery progress changed (see [`crate::notify`]).
    pub webhooks: BTreeSet<CompanyId>,
    /// Delivery attempts made.
    pub deliveries: Vec<Delivery>,
    /// Trucks of companies' fleets saved or removed.
    pub fleet: BTreeSet<(CompanyId, Plate)>,
    /// Companies whose SMS progress changed (see [`Ledger::record_text`]).
    pub sms: BTreeSet<CompanyId>,
    /// SMS attempts made.
    pub texts: Vec<Texted>,
    /// The reminders' mark moved (see [`Ledger::remind`]).
    pub reminded: bool,
    /// Portal accounts created or changed.
    pub accounts: BTreeSet<Login>,
    /// Sessions opened or ended, by id.
    pub sessions: BTreeSet<String>,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        *self == Touched::default()
    }

    /// Folds another mutation's effects into this one (for requests that make several).
    pub fn merge(&mut self, other: Touched) {
        self.bookings.extend(other.bookings);
        self.windows.extend(other.windows);
        self.changes.extend(other.changes);
        self.idempotency.extend(other.idempotency);
        self.zones.extend(other.zones);
        self.gates.extend(other.gates);
        self.passages.extend(other.passages);
        self.referrals.extend(other.referrals);
        self.audit.extend(other.audit);
        self.reports.extend(other.reports);
        self.events.extend(other.events);
        self.webhooks.extend(other.webhooks);
        self.deliveries.extend(other.deliveries);
        self.fleet.extend(other.fleet);
        self.accounts.extend(other.accounts);
        self.sessions.extend(other.sessions);
        self.sms.extend(other.sms);
        self.texts.extend(other.texts);
        self.reminded |= other.reminded;
    }
}

/// Everything a store keeps, to rebuild a ledger from.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub zones: Vec<ZoneConfig>,
    pub gates: Vec<Gate>,
    pub bookings: Vec<Booking>,
    pub idempotency: Vec<IdempotencyRecord>,
    /// The last change-log sequence number of each zone.
    pub change_seq: BTreeMap<ZoneId, u64>,
    pub passages: Vec<Passage>,
    /// The recording number of each passage (the order the store recorded them in).
    pub passage_log: Vec<(u64, PassageId)>,
    pub referrals: Vec<Referral>,
    /// Each gate's report mark (see [`Ledger::note_reported`]).
    pub reported: Vec<(GateId, DateTime<Utc>)>,
    /// The number of each company's newest event.
    pub event_seq: BTreeMap<CompanyId, u64>,
    /// Counters of windows as a store holds them, in place of those counted from `bookings`
    /// (a store that loads some bookings gives the counters of the windows a change may
    /// take places in).
    pub usage: Vec<((ZoneId, DateTime<Utc>), WindowUsage)>,
    /// Companies' webhooks with their delivery progress.
    pub webhooks: Vec<(Webhook, Progress)>,
    /// Companies' trucks.
    pub fleet: Vec<FleetTruck>,
    /// Each company's SMS progress.
    pub sms: Vec<(CompanyId, Progress)>,
    /// Reminders were made for the visits whose first window starts by then.
    pub reminded_through: Option<DateTime<Utc>>,
    pub accounts: Vec<Account>,
    pub sessions: Vec<Session>,
}

/// Result of [`Ledger::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: BookingId,
    /// True when the idempotency key had already made this booking: nothing changed.
    pub replayed: bool,
    pub touched: Touched,
}

/// Filters of [`Ledger::list_bookings`]; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingFilter {
    pub company: Option<CompanyId>,
    pub zone: Option<ZoneId>,
    pub state: Option<BookingState>,
    /// Only bookings with a stop whose window starts in `[from, to)`.
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Only bookings of this truck.
    pub plate: Option<Plate>,
}

impl BookingFilter {
    fn matches(&self, b: &Booking) -> bool {
        self.company.as_ref().is_none_or(|c| *c == b.company)
            && self.plate.as_ref().is_none_or(|p| *p == b.plate)
            && self.state.is_none_or(|s| s == b.state)
            && b.stops.iter().any(|s| {
                self.zone.as_ref().is_none_or(|z| *z == s.zone)
                    && self.window_from.is_none_or(|f| s.window_start >= f)
                    && self.window_to.is_none_or(|t| s.window_start < t)
            })
    }
}

/// The whole booking state of a scheduler, in memory.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    zones: BTreeMap<ZoneId, ZoneConfig>,
    gates: BTreeMap<GateId, Gate>,
    bookings: BTreeMap<BookingId, Booking>,
    usage: BTreeMap<(ZoneId, DateTime<Utc>), WindowUsage>,
    idempotency: HashMap<(CompanyId, String), IdempotencyRecord>,
    /// Active bookings of each plate (for the overlap rule).
    by_plate: HashMap<Plate, BTreeSet<BookingId>>,
    /// Active bookings naming each container, per transaction type (one container, one
    /// active job of a type; a set, as stores written before the rule may hold more).
    by_container: HashMap<(ContainerNumber, TransactionType), BTreeSet<BookingId>>,
    by_company: BTreeSet<(CompanyId, BookingId)>,
    /// Bookings holding capacity, per window.
    by_window: BTreeSet<(ZoneId, DateTime<Utc>, BookingId)>,
    /// Booked bookings by the last moment their truck may enter (for the no-show sweep).
    by_deadline: BTreeSet<(DateTime<Utc>, BookingId)>,
    change_seq: BTreeMap<ZoneId, u64>,
    /// The number of each company's newest event.
    event_seq: BTreeMap<CompanyId, u64>,
    no_shows: BTreeMap<CompanyId, u64>,
    /// Every passage reported by the gates, by event id (delivery is idempotent).
    passages: BTreeMap<PassageId, Passage>,
    /// The passages in the order they were recorded, by recording number (1, 2, ...). A
    /// passage decided offline is recorded late, with an older id: followers of what is new
    /// (the live feed) follow this order, not the ids.
    passage_log: BTreeMap<u64, PassageId>,
    referrals: BTreeMap<PassageId, Referral>,
    /// Per gate, the instant before which it has delivered every passage it decided.
    reported: BTreeMap<GateId, DateTime<Utc>>,
    webhooks: BTreeMap<CompanyId, (Webhook, Progress)>,
    fleet: BTreeMap<CompanyId, BTreeMap<Plate, FleetTruck>>,
    /// How far each company's events have been texted to its drivers.
    sms: BTreeMap<CompanyId, Progress>,
    reminded_through: Option<DateTime<Utc>>,
    accounts: BTreeMap<Login, Account>,
    sessions: BTreeMap<String, Session>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a ledger from stored records; every counter and index is recounted.
    pub fn restore(records: Records) -> Self {
        let mut l = Ledger {
            change_seq: records.change_seq,
            event_seq: records.event_seq,
            sms: records.sms.into_iter().collect(),
            reminded_through: records.reminded_through,
            ..Ledger::default()
        };
        l.zones = records
            .zones
            .into_iter()
            .map(|z| (z.id.clone(), z))
            .collect();
        l.gates = records
            .gates
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        l.idempotency = records
            .idempotency
            .into_iter()
            .map(|r| ((r.company.clone(), r.key.clone()), r))
            .collect();
        for b in records.bookings {
            l.index(&b);
            l.bookings.insert(b.id, b);
        }
        l.usage.extend(records.usage);
        l.passages = records.passages.into_iter().map(|p| (p.id, p)).collect();
        l.passage_log = records.passage_log.into_iter().collect();
        // Passages a store kept without a recording number (stored before there were any)
        // follow the numbered ones, in id order.
        let numbered: BTreeSet<PassageId> = l.passage_log.values().copied().collect();
        let unnumbered: Vec<PassageId> = l
            .passages
            .keys()
            .filter(|id| !numbered.contains(id))
            .copied()
            .collect();
        for id in unnumbered {
            let seq = l.passage_head() + 1;
            l.passage_log.insert(seq, id);
        }
        l.referrals = records
            .referrals
            .into_iter()
            .map(|r| (r.passage.id, r))
            .collect();
        l.reported = records.reported.into_iter().collect();
        l.webhooks = records
            .webhooks
            .into_iter()
            .map(|(h, p)| (h.company.clone(), (h, p)))
            .collect();
        for t in records.fleet {
            let trucks = l.fleet.entry(t.company.clone()).or_default();
            trucks.insert(t.plate.clone(), t);
        }
        l.accounts = records
            .accounts
            .into_iter()
            .map(|a| (a.login.clone(), a))
            .collect();
        l.sessions = records
            .sessions
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        l
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn zone(&self, id: &ZoneId) -> Result<&ZoneConfig> {
        self.zones.get(id).ok_or_else(|| Error::NotFound {
            what: "zone",
            id: id.to_string(),
        })
    }

    pub fn zones(&self) -> impl Iterator<Item = &ZoneConfig> {
        self.zones.values()
    }

    pub fn gate(&self, id: &GateId) -> Result<&Gate> {
        self.gates.get(id).ok_or_else(|| Error::NotFound {
            what: "gate",
            id: id.to_string(),
        })
    }

    pub fn gates(&self) -> impl Iterator<Item = &Gate> {
        self.gates.values()
    }

    pub fn booking(&self, id: BookingId) -> Option<&Booking> {
        self.bookings.get(&id)
    }

    /// A booking as `actor` may see it. A company asking for a booking that is not its own
    /// gets exactly the answer for one that does not exist.
    pub fn booking_for(&self, actor: &Actor, id: BookingId) -> Result<&Booking> {
        match (actor, self.bookings.get(&id)) {
            (Actor::Authority | Actor::Official(_), Some(b)) => Ok(b),
            (Actor::Company(c), Some(b)) if b.company == *c => Ok(b),
            _ => Err(Error::NotFound {
                what: "booking",
                id: id.to_string(),
            }),
        }
    }

    pub fn bookings(&self) -> impl Iterator<Item = &Booking> {
        self.bookings.values()
    }

    pub fn booking_count(&self) -> usize {
        self.bookings.len()
    }

    /// Up to `limit` bookings matching `filter`, in id (creation) order, after `after`.
    pub fn list_bookings(
        &self,
        filter: &BookingFilter,
        after: Option<BookingId>,
        limit: usize,
    ) -> Vec<&Booking> {
        let matching = |b: &&Booking| filter.matches(b);
        match &filter.company {
            Some(c) => {
                let from = (c.clone(), after.unwrap_or(BookingId::MIN));
                self.by_company
                    .range(from..)
                    .take_while(|(bc, _)| bc == c)
                    .filter(|(_, id)| Some(*id) != after)
                    .filter_map(|(_, id)| self.bookings.get(id))
                    .filter(matching)
                    .take(limit)
                    .collect()
            }
            None => {
                let range = match after {
                    Some(a) => self
                        .bookings
                        .range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
                    None => self.bookings.range(..),
                };
                range.map(|(_, b)| b).filter(matching).take(limit).collect()
            }
        }
    }

    pub fn usage(&self, zone: &ZoneId, start: DateTime<Utc>) -> Option<&WindowUsage> {
        self.usage.get(&(zone.clone(), start))
    }

    /// Every window with usage recorded, for stores and checks.
    pub fn usages(&self) -> impl Iterator<Item = (&(ZoneId, DateTime<Utc>), &WindowUsage)> {
        self.usage.iter()
    }

    /// The windows of `zone` starting in `[from, to)`, at most `limit` of them.
    pub fn windows(
        &self,
        zone: &ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WindowView>> {
        let z = self.zone(zone)?;
        Ok(rules::windows(z, from, to, limit, |s| self.usage(zone, s)))
    }

    /// The windows of `zone` nearest to `preferred` that are bookable at `now` and have room
    /// for one more truck doing `t` (and, when given, within `company`'s cap), nearest first.
    pub fn find_slots(
        &self,
        zone: &ZoneId,
        t: TransactionType,
        company: Option<&CompanyId>,
        preferred: DateTime<Utc>,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let z = self.zone(zone)?;
        Ok(rules::find_slots(
            z,
            t,
            company,
            preferred,
            count,
            now,
            |s| self.usage(zone, s),
        ))
    }

    /// Why one more truck of `company` doing `t` does not fit the window, with the nearest
    /// windows that would, if it does not fit.
    fn refusal(
        &self,
        z: &ZoneConfig,
        start: DateTime<Utc>,
        t: TransactionType,
        company: &CompanyId,
        now: DateTime<Utc>,
    ) -> Option<Error> {
        let mut e = rules::room_error(z, start, t, company, self.usage(&z.id, start))?;
        if let Some(r) = rules::refused_window(&mut e) {
            *r.alternatives = rules::find_slots(
                z,
                t,
                Some(company),
                r.start,
                rules::ALTERNATIVES,
                now,
                |s| self.usage(&z.id, s),
            );
        }
        Some(e)
    }

    /// Bookings still to come (BOOKED) with a stop in `zone` whose window overlaps `[from, to)`.
    pub fn bookings_hit_by(
        &self,
        zone: &ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookingId>> {
        let z = self.zone(zone)?;
        let first = z.window_containing(from);
        let ids = self
            .by_window
            .range((zone.clone(), first, BookingId::MIN)..)
            .take_while(|(zz, s, _)| zz == zone && *s < to)
            .filter(|(_, s, _)| z.window_end(*s) > from)
            .map(|(_, _, id)| *id)
            .filter(|id| {
                self.bookings
                    .get(id)
                    .is_some_and(|b| b.state == BookingState::Booked)
            });
        let mut ids: Vec<BookingId> = ids.collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    pub fn no_shows(&self) -> &BTreeMap<CompanyId, u64> {
        &self.no_shows
    }

    /// The last change-log sequence number of a zone (0 when none).
    pub fn change_seq(&self, zone: &ZoneId) -> u64 {
        self.change_seq.get(zone).copied().unwrap_or(0)
    }

    pub fn change_seqs(&self) -> &BTreeMap<ZoneId, u64> {
        &self.change_seq
    }

    /// The number of `company`'s newest event (0: none yet).
    pub fn event_seq(&self, company: &CompanyId) -> u64 {
        self.event_seq.get(company).copied().unwrap_or(0)
    }

    pub fn idempotency_records(&self) -> impl Iterator<Item = &IdempotencyRecord> {
        self.idempotency.values()
    }

    // ---- bookings ------------------------------------------------------------------------

    /// Books a visit. All stops take their places, or none does.
    pub fn create(&mut self, req: NewBooking, now: DateTime<Utc>, random: u128) -> Result<Created> {
        let key = (req.company.clone(), req.idempotency_key.clone());
        let fingerprint = req.fingerprint();
        if let Some(rec) = self.idempotency.get(&key) {
            return if rec.fingerprint == fingerprint {
                Ok(Created {
                    id: rec.booking,
                    replayed: true,
                    touched: Touched::default(),
                })
            } else {
                Err(Error::IdempotencyConflict {
                    key: req.idempotency_key,
                    existing: rec.booking,
                })
            };
        }
        rules::validate_request(&self.zones, &req, now)?;
        self.check_overlap(&req.company, &req.plate, &req.stops, None)?;
        self.check_containers(&req.company, &req.stops)?;
        for s in &req.stops {
            let z = self.zone(&s.zone)?;
            if let Some(e) = self.refusal(z, s.window_start, s.transaction_type, &req.company, now)
            {
                return Err(e);
            }
        }
        let mut id = BookingId::new(now, random);
        // Ids sort by creation (lists are oldest first): one drawn in the millisecond of the
        // newest booking but below it follows it instead, as monotonic ULIDs do.
        if let Some(&newest) = self.bookings.keys().next_back()
            && id < newest
            && id.timestamp() == newest.timestamp()
            && let Some(next) = newest.next_in_ms()
        {
            id = next;
        }
        if self.bookings.contains_key(&id) {
            return Err(Error::Precondition(format!(
                "booking id {id} collided; retry"
            )));
        }
        let booking = Booking {
            id,
            company: req.company.clone(),
            plate: req.plate,
            epc: req.epc,
            stops: req.stops,
            state: BookingState::Booked,
            idempotency_key: req.idempotency_key.clone(),
            created_at: now,
            updated_at: now,
            entered_at: None,
            exited_at: None,
            cancel_reason: None,
            revision: 1,
        };
        let by = req.by;
        let record = IdempotencyRecord {
            company: req.company,
            key: req.idempotency_key,
            booking: id,
            fingerprint,
        };
        let mut touched = Touched::default();
        touched.windows.extend(
            booking
                .stops
                .iter()
                .map(|s| (s.zone.clone(), s.window_start)),
        );
        touched.idempotency.push(record.clone());
        self.idempotency.insert(key, record);
        self.index(&booking);
        self.bookings.insert(id, booking);
        self.log_change(id, None, now, &mut touched);
        if let Some(who) = by {
            let created = (*who, Fields::new());
            self.audit_booking(
                Some(created),
                id,
                AuditKind::BookingCreated,
                now,
                &mut touched,
            );
        }
        Ok(Created {
            id,
            replayed: false,
            touched,
        })
    }

    /// One truck never holds two overlapping visits. The refusal names the other booking
    /// only to its own company: a truck may have served another company.
    fn check_overlap(
        &self,
        company: &CompanyId,
        plate: &Plate,
        stops: &[Stop],
        except: Option<BookingId>,
    ) -> Result<()> {
        let (start, end) = visit_span(stops, &self.zones);
        let clash = self
            .by_plate
            .get(plate)
            .into_iter()
            .flatten()
            .filter(|id| Some(**id) != except)
            .find(|id| {
                self.bookings.get(id).is_some_and(|b| {
                    let (s, e) = b.span(&self.zones);
                    s < end && start < e
                })
            });
        match clash.and_then(|id| self.bookings.get(id)) {
            Some(other) if other.company == *company => Err(Error::Precondition(format!(
                "truck {plate} already holds booking {}, which overlaps {} – {}",
                other.id,
                local(start),
                local(end)
            ))),
            Some(_) => Err(Error::Precondition(format!(
                "truck {plate} already holds an overlapping booking ({} – {})",
                local(start),
                local(end)
            ))),
            None => Ok(()),
        }
    }

    /// One container, one active job of each type: a container an active booking already
    /// imports (or exports, ...) cannot be booked for that again. The refusal names the
    /// other booking only to its own company.
    fn check_containers(&self, company: &CompanyId, stops: &[Stop]) -> Result<()> {
        for (i, s) in stops.iter().enumerate() {
            for (j, c) in s.containers.iter().enumerate() {
                let key = (c.clone(), s.transaction_type);
                let Some(other) = self.by_container.get(&key).and_then(|ids| ids.first()) else {
                    continue;
                };
                let kind = s.transaction_type.as_str();
                let whose = match self.bookings.get(other) {
                    Some(b) if b.company == *company => format!(" (your booking {other})"),
                    _ => String::new(),
                };
                return Err(Error::Precondition(format!(
                    "stops[{i}].container_numbers[{j}]: container {c} is already in an active {kind} booking{whose}; cancel that one first"
                )));
            }
        }
        Ok(())
    }

    /// Moves stop `stop` of a booking to the window starting at `new_start`: the new place is
    /// taken and the old released together, or nothing changes.
    pub fn move_stop(
        &mut self,
        actor: &Actor,
        id: BookingId,
        stop: usize,
        new_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let b = self.booking_for(actor, id)?;
        let stops = rules::plan_move(&self.zones, actor, b, stop, new_start, now)?;
        let old = b.stops[stop].clone();
        let z = self.zone(&old.zone)?;
        self.check_overlap(&b.company, &b.plate, &stops, Some(id))?;
        let company = b.company.clone();
        if let Some(e) = self.refusal(z, new_start, old.transaction_type, &company, now) {
            return Err(e);
        }
        let mut touched = Touched::default();
        touched.windows.insert((old.zone.clone(), old.window_start));
        touched.windows.insert((old.zone.clone(), new_start));
        let before = self.audit_before(actor, id);
        self.update(id, now, &mut touched, |b| b.stops = stops);
        self.audit_booking(before, id, AuditKind::BookingMoved, now, &mut touched);
        Ok(touched)
    }

    /// Cancels a booking and releases all its places.
    pub fn cancel(
        &mut self,
        actor: &Actor,
        id: BookingId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let b = self.booking_for(actor, id)?;
        rules::check_cancel(&self.zones, actor, b, reason, now)?;
        let mut touched = Touched::default();
        touched
            .windows
            .extend(b.stops.iter().map(|s| (s.zone.clone(), s.window_start)));
        let reason = (!reason.is_empty()).then(|| reason.to_owned());
        let before = self.audit_before(actor, id);
        self.update(id, now, &mut touched, |b| {
            b.state = BookingState::Cancelled;
            b.cancel_reason = reason;
        });
        self.audit_booking(before, id, AuditKind::BookingCancelled, now, &mut touched);
        Ok(touched)
    }

    /// Marks NO_SHOW every booked visit whose truck can no longer enter at `now` and that
    /// every gate of its zone has reported past (see [`Ledger::sweep_holds`]: until then a
    /// passage that proves the truck came may still be on its way) — except a visit with a
    /// window its zone was closed over: nobody could come, so it is CANCELLED, naming the
    /// closure, and its company's no-show count is untouched.
    pub fn sweep_no_shows(&mut self, now: DateTime<Utc>) -> Touched {
        let due = self.due_no_shows(now);
        let mut touched = Touched::default();
        for id in due {
            let closed = self.bookings.get(&id).and_then(|b| self.closed_stop(b));
            self.update(id, now, &mut touched, |b| match closed {
                // The zone was closed for its window: nobody could come, so no no-show.
                Some(why) => {
                    b.state = BookingState::Cancelled;
                    b.cancel_reason = Some(why);
                }
                None => b.state = BookingState::NoShow,
            });
        }
        touched
    }

    /// The booked visits past their entry period at `now` that every gate of their zone has
    /// reported past.
    fn due_no_shows(&self, now: DateTime<Utc>) -> Vec<BookingId> {
        let holds = self.sweep_holds();
        self.by_deadline
            .iter()
            .take_while(|(d, _)| *d < now)
            .filter(|(d, id)| {
                let first = self.bookings.get(id).and_then(|b| b.stops.first());
                first.and_then(|s| holds.get(&s.zone)).is_none_or(|h| d < h)
            })
            .map(|(_, id)| *id)
            .collect()
    }

    /// Why a booking could not be kept: the closure of a zone over one of its windows (the
    /// first such stop), as its cancellation reason.
    fn closed_stop(&self, b: &Booking) -> Option<String> {
        b.stops.iter().find_map(|s| {
            let c = self.zones.get(&s.zone)?.closure_at(s.window_start)?;
            Some(format!(
                "zone {} closed over its window (closure {}: {})",
                s.zone, c.id, c.reason
            ))
        })
    }

    /// A gate saw the truck enter.
    pub fn record_entry(&mut self, id: BookingId, at: DateTime<Utc>) -> Result<Touched> {
        self.transition(id, BookingState::Entered, "entered", at)
    }

    /// A gate saw the truck leave.
    pub fn record_exit(&mut self, id: BookingId, at: DateTime<Utc>) -> Result<Touched> {
        self.transition(id, BookingState::Exited, "exited", at)
    }

    fn transition(
        &mut self,
        id: BookingId,
        next: BookingState,
        verb: &str,
        at: DateTime<Utc>,
    ) -> Result<Touched> {
        let b = self.booking_for(&Actor::Authority, id)?;
        rules::check_transition(b, next, verb)?;
        let mut touched = Touched::default();
        self.update(id, at, &mut touched, |b| {
            b.state = next;
            match next {
                BookingState::Entered => b.entered_at = Some(at),
                BookingState::Exited => b.exited_at = Some(at),
                _ => {}
            }
        });
        Ok(touched)
    }

    /// Applies `change` to a booking, keeping every index and counter in step, and logs it.
    fn update(
        &mut self,
        id: BookingId,
        now: DateTime<Utc>,
        touched: &mut Touched,
        change: impl FnOnce(&mut Booking),
    ) {
        let Some(mut b) = self.bookings.remove(&id) else {
            return;
        };
        self.unindex(&b);
        let before = b.clone();
        change(&mut b);
        b.updated_at = now;
        b.revision += 1;
        self.index(&b);
        self.bookings.insert(id, b);
        self.log_change(id, Some(&before), now, touched);
    }

    /// A booking changed (from `before`; none: it is new): one change-log entry per zone it
    /// touches, and one event in its company's log.
    fn log_change(
        &mut self,
        id: BookingId,
        before: Option<&Booking>,
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) {
        let Some(b) = self.bookings.get(&id).cloned() else {
            return;
        };
        touched.bookings.insert(id);
        for zone in b.zones() {
            let seq = self.change_seq.entry(zone.clone()).or_default();
            *seq += 1;
            touched.changes.push(ChangeEntry {
                zone: zone.clone(),
                seq: *seq,
                at: now,
                booking: b.clone(),
            });
        }
        // Last: a caller may add to the event (the closure that cancelled the booking).
        let what = EventKind::of(before, &b);
        self.push_event(b, what, now, touched);
    }

    /// The next event of the booking's company's log (for the caller to add to).
    fn push_event<'t>(
        &mut self,
        booking: Booking,
        (kind, zone): (EventKind, Option<ZoneId>),
        now: DateTime<Utc>,
        touched: &'t mut Touched,
    ) -> &'t mut CompanyEvent {
        let seq = self.event_seq.entry(booking.company.clone()).or_default();
        *seq += 1;
        touched.events.push(CompanyEvent {
            company: booking.company.clone(),
            seq: *seq,
            at: now,
            kind,
            zone,
            closure: None,
            booking,
        });
        let last = touched.events.len() - 1;
        &mut touched.events[last]
    }

    fn last_entry(&self, b: &Booking) -> Option<DateTime<Utc>> {
        let first = b.stops.first()?;
        Some(
            self.zones
                .get(&first.zone)?
                .entry_period(first.window_start)
                .1,
        )
    }

    fn index(&mut self, b: &Booking) {
        self.by_company.insert((b.company.clone(), b.id));
        if b.state.is_active() {
            self.by_plate
                .entry(b.plate.clone())
                .or_default()
                .insert(b.id);
            for s in &b.stops {
                for c in &s.containers {
                    let key = (c.clone(), s.transaction_type);
                    self.by_container.entry(key).or_default().insert(b.id);
                }
            }
        }
        if b.state.holds_capacity() {
            for s in &b.stops {
                self.usage
                    .entry((s.zone.clone(), s.window_start))
                    .or_default()
                    .add(&b.company, s.transaction_type);
                self.by_window
                    .insert((s.zone.clone(), s.window_start, b.id));
            }
        }
        if b.state == BookingState::Booked
            && let Some(d) = self.last_entry(b)
        {
            self.by_deadline.insert((d, b.id));
        }
        if b.state == BookingState::NoShow {
            *self.no_shows.entry(b.company.clone()).or_default() += 1;
        }
    }

    fn unindex(&mut self, b: &Booking) {
        self.by_company.remove(&(b.company.clone(), b.id));
        if let Some(set) = self.by_plate.get_mut(&b.plate) {
            set.remove(&b.id);
            if set.is_empty() {
                self.by_plate.remove(&b.plate);
            }
        }
        for s in &b.stops {
            for c in &s.containers {
                let key = (c.clone(), s.transaction_type);
                if let Some(set) = self.by_container.get_mut(&key) {
                    set.remove(&b.id);
                    if set.is_empty() {
                        self.by_container.remove(&key);
                    }
                }
            }
        }
        if b.state.holds_capacity() {
            for s in &b.stops {
                let key = (s.zone.clone(), s.window_start);
                if let Some(u) = self.usage.get_mut(&key) {
                    u.remove(&b.company, s.transaction_type);
                    if u.booked == 0 {
                        self.usage.remove(&key);
                    }
                }
                self.by_window
                    .remove(&(s.zone.clone(), s.window_start, b.id));
            }
        }
        if let Some(d) = self.last_entry(b) {
            self.by_deadline.remove(&(d, b.id));
        }
        if b.state == BookingState::NoShow
            && let Some(n) = self.no_shows.get_mut(&b.company)
        {
            *n = n.saturating_sub(1);
        }
    }

    // ---- gates -----------------------------------------------------------------------------

    /// Records what a gate saw and decided, once per event id: a resend changes nothing and
    /// answers `false`. An ALLOW moves the booking on (the stop in the passage's zone is
    /// entered or exited; the visit becomes ENTERED at its first entry and EXITED when its
    /// last stop is left); a REFER opens a referral. A passage is a fact: it is recorded even
    /// when it no longer fits the booking (e.g. decided offline against an older replica);
    /// then only the stop's progress is kept and the conflict is logged by the caller.
    pub fn record_passage(&mut self, p: Passage) -> Result<(bool, Touched)> {
        if self.passages.contains_key(&p.id) {
            return Ok((false, Touched::default()));
        }
        self.zone(&p.zone)?;
        let mut touched = Touched::default();
        if p.verdict == Verdict::Allow
            && let Some(id) = p.booking
        {
            let by = Who::named(format!("gate {}", p.gate));
            let place = (&p.zone, p.direction);
            self.progress(id, place, p.decided_at, (p.id, &by), &mut touched);
        }
        if p.verdict == Verdict::Refer {
            let r = Referral {
                passage: p.clone(),
                state: ReferralState::Open,
                resolved_by: None,
                resolution: None,
                resolved_at: None,
            };
            self.referrals.insert(p.id, r);
            touched.referrals.insert(p.id);
        }
        let seq = self.passage_head() + 1;
        touched.passages.push((seq, p.id));
        self.passage_log.insert(seq, p.id);
        self.passages.insert(p.id, p);
        Ok((true, touched))
    }

    /// Marks the booking's stop in `zone` entered or exited at `at`, and the visit's state. A
    /// NO_SHOW visit whose truck is proven to have entered (by `proof`, a passage ALLOWed or
    /// approved by `by`) was marked too early: it becomes ENTERED, its company's no-show count
    /// drops back, and the take-back is audited.
    fn progress(
        &mut self,
        id: BookingId,
        (zone, direction): (&ZoneId, Direction),
        at: DateTime<Utc>,
        (proof, by): (PassageId, &Who),
        touched: &mut Touched,
    ) {
        let Some(b) = self.bookings.get(&id) else {
            return;
        };
        let stop = match direction {
            Direction::In => b
                .stops
                .iter()
                .position(|s| s.zone == *zone && s.entered_at.is_none()),
            Direction::Out => b
                .stops
                .iter()
                .position(|s| s.zone == *zone && s.entered_at.is_some() && s.exited_at.is_none()),
        };
        let Some(i) = stop else { return };
        let last = i + 1 == b.stops.len();
        let taken_back = (direction == Direction::In && b.state == BookingState::NoShow)
            .then(|| audit::booking_fields(b));
        self.update(id, at, touched, |b| match direction {
            Direction::In => {
                b.stops[i].entered_at = Some(at);
                if b.state.can_become(BookingState::Entered) || taken_back.is_some() {
                    b.state = BookingState::Entered;
                    b.entered_at = Some(at);
                }
            }
            Direction::Out => {
                b.stops[i].exited_at = Some(at);
                if last && b.state.can_become(BookingState::Exited) {
                    b.state = BookingState::Exited;
                    b.exited_at = Some(at);
                }
            }
        });
        if let Some(before) = taken_back {
            self.audit_booking(
                Some((by.clone(), before)),
                id,
                AuditKind::NoShowTakenBack,
                at,
                touched,
            );
            if let Some(r) = touched.audit.last_mut() {
                r.objects.push(format!("passage:{proof}"));
            }
        }
    }

    pub fn passage(&self, id: PassageId) -> Option<&Passage> {
        self.passages.get(&id)
    }

    pub fn passages(&self) -> impl Iterator<Item = &Passage> {
        self.passages.values()
    }

    /// Up to `limit` passages after `after` (oldest first), of `zone` when given.
    pub fn list_passages(
        &self,
        zone: Option<&ZoneId>,
        after: Option<PassageId>,
        limit: usize,
    ) -> Vec<&Passage> {
        let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        self.passages
            .range((from, std::ops::Bound::Unbounded))
            .map(|(_, p)| p)
            .filter(|p| zone.is_none_or(|z| *z == p.zone))
            .take(limit)
            .collect()
    }

    /// The recording number of the last passage recorded (0 before the first).
    pub fn passage_head(&self) -> u64 {
        self.passage_log.last_key_value().map_or(0, |(seq, _)| *seq)
    }

    /// Up to `limit` passages recorded after recording number `after`, in recording order,
    /// with their numbers; of `zone` when given.
    pub fn recorded_passages(
        &self,
        zone: Option<&ZoneId>,
        after: u64,
        limit: usize,
    ) -> Vec<(u64, &Passage)> {
        self.passage_log
            .range(after.saturating_add(1)..)
            .filter_map(|(seq, id)| Some((*seq, self.passages.get(id)?)))
            .filter(|(_, p)| zone.is_none_or(|z| *z == p.zone))
            .take(limit)
            .collect()
    }

    pub fn referral(&self, id: PassageId) -> Option<&Referral> {
        self.referrals.get(&id)
    }

    /// Referrals, oldest first; only open ones unless `all`; only of `zone` when given.
    pub fn referrals<'a>(
        &'a self,
        zone: Option<&'a ZoneId>,
        all: bool,
    ) -> impl Iterator<Item = &'a Referral> + 'a {
        self.referrals.values().filter(move |r| {
            (all || r.state == ReferralState::Open) && zone.is_none_or(|z| *z == r.passage.zone)
        })
    }

    /// An operator approves or rejects an open referral. Approving lets the truck through:
    /// the booking moves on as for an ALLOW — the one the operator names, else the one the
    /// gate matched, if any. A booking the operator names becomes the referral's.
    pub fn resolve_referral(
        &mut self,
        id: PassageId,
        res: &Resolution,
        by: &Who,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let r = self.referrals.get(&id).ok_or_else(|| Error::NotFound {
            what: "referral",
            id: id.to_string(),
        })?;
        if r.state != ReferralState::Open {
            return Err(Error::Precondition(format!(
                "referral {id} is already resolved"
            )));
        }
        if res.reason.trim().is_empty() || res.reason.chars().count() > MAX_REASON {
            return Err(Error::invalid(
                "reason",
                format!("an operator's decision needs a reason of 1 to {MAX_REASON} characters"),
            ));
        }
        let (zone, direction) = (r.passage.zone.clone(), r.passage.direction);
        if let Some(b) = res.booking {
            if !res.approve {
                return Err(Error::invalid(
                    "booking_id",
                    "only an approval names the booking the truck holds",
                ));
            }
            self.awaits(b, &zone, direction)?;
        }
        let before = audit::referral_fields(r);
        let booking = res.booking.or(r.passage.booking);
        let mut touched = Touched::default();
        if res.approve
            && let Some(b) = booking
        {
            self.progress(b, (&zone, direction), now, (id, by), &mut touched);
        }
        if let Some(r) = self.referrals.get_mut(&id) {
            r.state = if res.approve {
                ReferralState::Approved
            } else {
                ReferralState::Rejected
            };
            r.passage.booking = booking;
            r.resolved_by = Some(by.name.clone());
            r.resolution = Some(res.reason.clone());
            r.resolved_at = Some(now);
            let mut objects = vec![format!("referral:{id}"), format!("gate:{}", r.passage.gate)];
            objects.extend(booking.map(|b| format!("booking:{b}")));
            touched.audit.push(AuditRecord {
                at: now,
                who: by.clone(),
                kind: AuditKind::ReferralResolved,
                zone: Some(zone),
                objects,
                changes: audit::diff(&before, &audit::referral_fields(r)),
            });
        }
        touched.referrals.insert(id);
        Ok(touched)
    }

    /// Booking `id` has a stop in `zone` that a truck could now enter (or, going out, leave).
    fn awaits(&self, id: BookingId, zone: &ZoneId, direction: Direction) -> Result<()> {
        let b = self.booking(id).ok_or_else(|| Error::NotFound {
            what: "booking",
            id: id.to_string(),
        })?;
        if matches!(b.state, BookingState::Cancelled | BookingState::Exited) {
            return Err(Error::Precondition(format!(
                "booking {id} is {}: no truck can pass on it",
                b.state.as_str()
            )));
        }
        let waiting = b.stops.iter().any(|s| {
            s.zone == *zone
                && match direction {
                    Direction::In => s.entered_at.is_none(),
                    Direction::Out => s.entered_at.is_some() && s.exited_at.is_none(),
                }
        });
        if waiting {
            return Ok(());
        }
        let what = match direction {
            Direction::In => "an entry",
            Direction::Out => "an exit",
        };
        Err(Error::Precondition(format!(
            "booking {id} has no stop in zone {zone} waiting for {what}"
        )))
    }

    /// The bookings a gate of `zone` needs: every booking with a stop in the zone whose
    /// window ends after `since` (older ones cannot be used at a gate any more).
    pub fn zone_bookings(&self, zone: &ZoneId, since: DateTime<Utc>) -> Vec<&Booking> {
        self.bookings
            .values()
            .filter(|b| {
                b.stops
                    .iter()
                    .any(|s| s.zone == *zone && s.window_start + TimeDelta::days(1) > since)
            })
            .collect()
    }

    // ---- administration ------------------------------------------------------------------

    /// Adds a zone, or replaces its name, slot, template and rules (closures and caps kept).
    /// Changing the slot length of a zone that has bookings is refused.
    fn upsert_zone(&mut self, mut cfg: ZoneConfig) -> Result<Touched> {
        cfg.validate()?;
        if let Some(old) = self.zones.get(&cfg.id) {
            if old.slot != cfg.slot && self.usage.keys().any(|(z, _)| *z == cfg.id) {
                return Err(Error::Precondition(format!(
                    "zone {} has bookings; its slot length cannot change from {} to {} minutes",
                    cfg.id,
                    old.slot.minutes(),
                    cfg.slot.minutes()
                )));
            }
            cfg.closures = old.closures.clone();
            cfg.company_caps = old.company_caps.clone();
            cfg.next_closure_id = old.next_closure_id;
        }
        let mut touched = Touched::default();
        touched.zones.insert(cfg.id.clone());
        self.zones.insert(cfg.id.clone(), cfg);
        Ok(touched)
    }

    fn edit_zone(
        &mut self,
        zone: &ZoneId,
        edit: impl FnOnce(&mut ZoneConfig) -> Result<()>,
    ) -> Result<Touched> {
        let mut cfg = self.zone(zone)?.clone();
        edit(&mut cfg)?;
        cfg.validate()?;
        self.zones.insert(zone.clone(), cfg);
        let mut touched = Touched::default();
        touched.zones.insert(zone.clone());
        Ok(touched)
    }

    fn set_template(&mut self, zone: &ZoneId, template: CapacityTemplate) -> Result<Touched> {
        template.validate()?;
        self.edit_zone(zone, |z| {
            z.template = template;
            Ok(())
        })
    }

    fn set_rules(&mut self, zone: &ZoneId, rules: BookingRules) -> Result<Touched> {
        self.edit_zone(zone, |z| {
            z.rules = rules;
            Ok(())
        })
    }

    /// Sets (or with `None` clears) a company's own cap in a zone, in percent of a window.
    fn set_company_cap(
        &mut self,
        zone: &ZoneId,
        company: &CompanyId,
        percent: Option<u8>,
    ) -> Result<Touched> {
        self.edit_zone(zone, |z| {
            match percent {
                Some(p) => z.company_caps.insert(company.clone(), p),
                None => z.company_caps.remove(company),
            };
            Ok(())
        })
    }

    /// Adds or replaces a gate. Its zone must exist; lane ids must be unique.
    fn upsert_gate(&mut self, gate: Gate) -> Result<Touched> {
        self.zone(&gate.zone)?;
        if gate.name.trim().is_empty() || gate.name.len() > 200 {
            return Err(Error::invalid("gate.name", "must be 1 to 200 bytes"));
        }
        if gate.name_ar.chars().count() > 200 {
            return Err(Error::invalid(
                "gate.name_ar",
                "must be at most 200 characters",
            ));
        }
        if gate.lanes.is_empty() {
            return Err(Error::invalid(
                "gate.lanes",
                "a gate needs at least one lane",
            ));
        }
        let ids: BTreeSet<_> = gate.lanes.iter().map(|l| &l.id).collect();
        if ids.len() != gate.lanes.len() {
            return Err(Error::invalid(
                "gate.lanes",
                "lane ids must be unique within the gate",
            ));
        }
        let mut touched = Touched::default();
        touched.gates.insert(gate.id.clone());
        self.gates.insert(gate.id.clone(), gate);
        Ok(touched)
    }
}

mod accounts;
mod admin;
mod alerts;
mod closures;
mod fleet;
mod reports;
pub use reports::sweep_holds;
#[cfg(test)]
mod tests;
mod texts;
mod watch;
mod webhooks;

pub use admin::{AdminChange, Administered};
pub use alerts::{AlertDone, referenced_closure};
