//! The gate agent's local copy of the bookings of the zones it follows.
//!
//! It is fed by zone snapshots ([`Replica::reset_zone`]) and the scheduler's change log
//! ([`Replica::apply`]); a booking with stops in several followed zones is held once, the
//! newest revision winning. Bookings are indexed by exact plate, plate skeleton and EPC, so a
//! read is matched with a few hash look-ups however many bookings are held.
//!
//! The agent's own ALLOW decisions form an overlay ([`Replica::record_local`]): until the
//! scheduler's copy shows a truck entered or left, the overlay does, so a truck is not let in
//! twice while the scheduler is slow or unreachable.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};

use super::decide::pick;
use crate::calendar::{BookingRules, ZoneConfig};
use crate::epc::Epc;
use crate::ids::{BookingId, PassageId, ZoneId};
use crate::ledger::{Booking, BookingState, ChangeEntry, Direction, Stop};
use crate::passage::{Passage, Verdict};
use crate::plate::Plate;

/// The longest slot a zone may have ([`crate::calendar::SlotLength::ALLOWED`]).
const LONGEST_SLOT_MINUTES: u32 = 60;

/// Where a truck is with one stop: the scheduler's record, completed by the local overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopProgress {
    pub entered_at: Option<DateTime<Utc>>,
    pub exited_at: Option<DateTime<Utc>>,
}

impl StopProgress {
    /// Entered and not yet left.
    pub fn inside(&self) -> bool {
        self.entered_at.is_some() && self.exited_at.is_none()
    }
}

/// A local ALLOW and the stop it moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalMark {
    passage: Passage,
    stop: usize,
}

/// Bookings of the followed zones, their indexes and the local overlay.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    zones: BTreeMap<ZoneId, ZoneConfig>,
    seqs: BTreeMap<ZoneId, u64>,
    bookings: HashMap<BookingId, Booking>,
    /// The bookings each zone's snapshot and log brought (a booking may come through several).
    members: BTreeMap<ZoneId, HashSet<BookingId>>,
    by_plate: HashMap<Plate, Vec<BookingId>>,
    by_skeleton: HashMap<String, Vec<BookingId>>,
    by_epc: HashMap<Epc, Vec<BookingId>>,
    /// Local ALLOWs not yet shown by the scheduler's copy, per booking.
    local: HashMap<BookingId, Vec<LocalMark>>,
    /// Passages given to the overlay that are no longer (or were never) in it.
    settled: Vec<PassageId>,
}

impl Replica {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a replica from what the agent stored: zone configs, the last change applied
    /// per zone, the bookings (each counted as brought by every zone it has a stop in) and
    /// the overlay's passages (see [`Replica::restore_overlay`]).
    pub fn restore(
        zones: impl IntoIterator<Item = ZoneConfig>,
        seqs: BTreeMap<ZoneId, u64>,
        bookings: impl IntoIterator<Item = Booking>,
        overlay: impl IntoIterator<Item = Passage>,
    ) -> Self {
        let mut r = Replica {
            seqs,
            ..Replica::default()
        };
        for z in zones {
            r.set_zone(z);
        }
        for b in bookings {
            for zone in b.zones() {
                r.members.entry(zone.clone()).or_default().insert(b.id);
            }
            r.upsert(b);
        }
        r.restore_overlay(overlay);
        r
    }

    // ---- zones and sequence numbers ------------------------------------------------------

    /// Adds or replaces the calendar and rules of a zone (for entry periods and grace).
    pub fn set_zone(&mut self, zone: ZoneConfig) {
        self.zones.insert(zone.id.clone(), zone);
    }

    pub fn zone(&self, id: &ZoneId) -> Option<&ZoneConfig> {
        self.zones.get(id)
    }

    pub fn zones(&self) -> impl Iterator<Item = &ZoneConfig> {
        self.zones.values()
    }

    /// The last change-log sequence number applied for `zone` (0 when none).
    pub fn seq(&self, zone: &ZoneId) -> u64 {
        self.seqs.get(zone).copied().unwrap_or(0)
    }

    pub fn seqs(&self) -> &BTreeMap<ZoneId, u64> {
        &self.seqs
    }

    /// When a truck booked for `stop` may enter: its zone's [`ZoneConfig::entry_period`].
    /// For a zone whose config the replica lacks (a misconfigured agent), the default grace
    /// around the longest slot, so that trucks are not all turned away.
    pub fn entry_period(&self, stop: &Stop) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.zones.get(&stop.zone) {
            Some(z) => z.entry_period(stop.window_start),
            None => {
                let rules = BookingRules::default();
                let minutes = |m: u32| TimeDelta::minutes(i64::from(m));
                (
                    stop.window_start - minutes(rules.early_grace_minutes),
                    stop.window_start + minutes(LONGEST_SLOT_MINUTES + rules.late_grace_minutes),
                )
            }
        }
    }

    // ---- bookings ------------------------------------------------------------------------

    /// Replaces the bookings `zone` brought with a snapshot of it taken at change `seq`.
    /// Bookings of the zone missing from the snapshot are dropped unless another followed
    /// zone brought them too; for a booking held already, the newest revision is kept.
    pub fn reset_zone(
        &mut self,
        zone: &ZoneId,
        seq: u64,
        bookings: impl IntoIterator<Item = Booking>,
    ) {
        let old = self.members.remove(zone).unwrap_or_default();
        let mut new = HashSet::with_capacity(old.len());
        for b in bookings {
            new.insert(b.id);
            self.upsert(b);
        }
        for id in old.difference(&new) {
            if !self.members.values().any(|m| m.contains(id)) {
                self.remove(*id);
            }
        }
        self.members.insert(zone.clone(), new);
        self.seqs.insert(zone.clone(), seq);
    }

    /// Applies one entry of a zone's change log, if it is newer than the last applied for that
    /// zone. The zone's sequence number then moves to the entry's even when the booking it
    /// carries is older than the copy held (the newest revision wins). Returns whether the
    /// booking copy changed.
    pub fn apply(&mut self, entry: &ChangeEntry) -> bool {
        if entry.seq <= self.seq(&entry.zone) {
            return false;
        }
        self.seqs.insert(entry.zone.clone(), entry.seq);
        self.members
            .entry(entry.zone.clone())
            .or_default()
            .insert(entry.booking.id);
        self.upsert(entry.booking.clone())
    }

    pub fn booking(&self, id: BookingId) -> Option<&Booking> {
        self.bookings.get(&id)
    }

    pub fn len(&self) -> usize {
        self.bookings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bookings.is_empty()
    }

    /// Every booking held, in no particular order.
    pub fn bookings(&self) -> impl Iterator<Item = &Booking> {
        self.bookings.values()
    }

    /// The bookings `zone`'s snapshot and log brought: what to persist per zone, and to give
    /// back to [`Replica::reset_zone`] on restart.
    pub fn zone_bookings(&self, zone: &ZoneId) -> impl Iterator<Item = &Booking> {
        self.members
            .get(zone)
            .into_iter()
            .flatten()
            .filter_map(|id| self.bookings.get(id))
    }

    /// Bookings of exactly this plate.
    pub fn by_plate(&self, plate: &Plate) -> impl Iterator<Item = &Booking> {
        self.lookup(self.by_plate.get(plate))
    }

    /// Bookings whose plate has this [skeleton](Plate::skeleton): the plate and look-alikes.
    pub fn by_skeleton(&self, skeleton: &str) -> impl Iterator<Item = &Booking> {
        self.lookup(self.by_skeleton.get(skeleton))
    }

    /// Bookings that registered this tag.
    pub fn by_epc(&self, epc: &Epc) -> impl Iterator<Item = &Booking> {
        self.lookup(self.by_epc.get(epc))
    }

    fn lookup<'a>(&'a self, ids: Option<&'a Vec<BookingId>>) -> impl Iterator<Item = &'a Booking> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.bookings.get(id))
    }

    /// Stores `b` unless a copy of the same or a newer revision is held. Returns whether it
    /// was stored.
    fn upsert(&mut self, b: Booking) -> bool {
        if self
            .bookings
            .get(&b.id)
            .is_some_and(|old| old.revision >= b.revision)
        {
            return false;
        }
        let id = b.id;
        if let Some(old) = self.bookings.remove(&id) {
            self.unindex(&old);
        }
        index(&mut self.by_plate, b.plate.clone(), id);
        index(&mut self.by_skeleton, b.plate.skeleton(), id);
        if let Some(e) = &b.epc {
            index(&mut self.by_epc, e.clone(), id);
        }
        self.bookings.insert(id, b);
        self.settle(id);
        true
    }

    fn remove(&mut self, id: BookingId) {
        if let Some(old) = self.bookings.remove(&id) {
            self.unindex(&old);
        }
        let dropped = self.local.remove(&id).unwrap_or_default();
        self.settled
            .extend(dropped.into_iter().map(|m| m.passage.id));
    }

    fn unindex(&mut self, b: &Booking) {
        unindex(&mut self.by_plate, &b.plate, b.id);
        unindex(&mut self.by_skeleton, &b.plate.skeleton(), b.id);
        if let Some(e) = &b.epc {
            unindex(&mut self.by_epc, e, b.id);
        }
    }

    // ---- progress and the local overlay --------------------------------------------------

    /// Where the truck of `booking` is with its stop number `stop`: the scheduler's
    /// `entered_at`/`exited_at` when set, else the overlay's.
    pub fn progress(&self, booking: &Booking, stop: usize) -> StopProgress {
        let scheduler = booking.stops.get(stop);
        let local = |direction: Direction| {
            self.local
                .get(&booking.id)
                .into_iter()
                .flatten()
                .find(|m| m.stop == stop && m.passage.direction == direction)
                .map(|m| m.passage.decided_at)
        };
        StopProgress {
            entered_at: scheduler
                .and_then(|s| s.entered_at)
                .or_else(|| local(Direction::In)),
            exited_at: scheduler
                .and_then(|s| s.exited_at)
                .or_else(|| local(Direction::Out)),
        }
    }

    /// The visit's state as the gate should judge it: the scheduler's, except that a NO_SHOW
    /// whose truck this replica knows entered one of its stops (the scheduler's record or the
    /// agent's own overlay) is ENTERED — the scheduler takes such a no-show back once the
    /// passage reaches it, so the truck is not turned away meanwhile.
    pub fn state(&self, booking: &Booking) -> BookingState {
        let came =
            || (0..booking.stops.len()).any(|i| self.progress(booking, i).entered_at.is_some());
        match booking.state {
            BookingState::NoShow if came() => BookingState::Entered,
            state => state,
        }
    }

    /// Records one of the agent's own decisions before the scheduler confirms it: an ALLOW on
    /// an IN lane marks the booking's stop in the passage's zone entered at `decided_at`, on an
    /// OUT lane left. A passage already in the overlay is ignored; any other that would change
    /// nothing (not an ALLOW, an unknown booking, progress already shown) is not kept, and is
    /// reported by [`Replica::take_settled`]. Returns whether the overlay changed.
    pub fn record_local(&mut self, passage: &Passage) -> bool {
        let held = passage
            .booking
            .and_then(|id| self.local.get(&id))
            .is_some_and(|marks| marks.iter().any(|m| m.passage.id == passage.id));
        if held {
            return false;
        }
        let recorded = self.mark(passage);
        if !recorded {
            self.settled.push(passage.id);
        }
        recorded
    }

    /// Puts `passage` in the overlay if it moves a truck on.
    fn mark(&mut self, passage: &Passage) -> bool {
        let (Verdict::Allow, Some(id)) = (passage.verdict, passage.booking) else {
            return false;
        };
        let Some(b) = self.bookings.get(&id) else {
            return false;
        };
        // The stop the decision was about: chosen exactly as `decide` chose it.
        let chosen = pick(
            self,
            &passage.zone,
            passage.direction,
            passage.decided_at,
            [b],
        );
        let Some((stop, _)) = chosen.and_then(|m| m.stop) else {
            return false;
        };
        let progress = self.progress(b, stop);
        let moves = match passage.direction {
            Direction::In => progress.entered_at.is_none(),
            Direction::Out => progress.inside(),
        };
        if moves {
            self.local.entry(id).or_default().push(LocalMark {
                passage: passage.clone(),
                stop,
            });
        }
        moves
    }

    /// The passages of the overlay, for the agent to persist (in no particular order).
    pub fn overlay(&self) -> impl Iterator<Item = &Passage> {
        self.local.values().flatten().map(|m| &m.passage)
    }

    /// Passages that have left the overlay (the scheduler's copy shows what they did, or their
    /// booking is gone) or were never taken in, since the last call: the agent may forget
    /// them. Every passage given to the overlay is reported once it is not in it.
    pub fn take_settled(&mut self) -> Vec<PassageId> {
        std::mem::take(&mut self.settled)
    }

    /// Replaces the overlay with persisted passages, recorded again in decision order. Restore
    /// the bookings first: passages of bookings not held are not kept.
    pub fn restore_overlay(&mut self, passages: impl IntoIterator<Item = Passage>) {
        self.local.clear();
        let mut passages: Vec<Passage> = passages.into_iter().collect();
        passages.sort_by_key(|p| (p.decided_at, p.id));
        for p in &passages {
            self.record_local(p);
        }
    }

    /// Drops the overlay entries of `id` that the scheduler's copy now shows.
    fn settle(&mut self, id: BookingId) {
        let (Some(b), Some(marks)) = (self.bookings.get(&id), self.local.get_mut(&id)) else {
            return;
        };
        let settled = &mut self.settled;
        marks.retain(|m| {
            let shown = b
                .stops
                .get(m.stop)
                .is_none_or(|s| match m.passage.direction {
                    Direction::In => s.entered_at.is_some(),
                    Direction::Out => s.exited_at.is_some(),
                });
            if shown {
                settled.push(m.passage.id);
            }
            !shown
        });
        if marks.is_empty() {
            self.local.remove(&id);
        }
    }
}

fn index<K: Hash + Eq>(map: &mut HashMap<K, Vec<BookingId>>, key: K, id: BookingId) {
    let ids = map.entry(key).or_default();
    if !ids.contains(&id) {
        ids.push(id);
    }
}

fn unindex<K, Q>(map: &mut HashMap<K, Vec<BookingId>>, key: &Q, id: BookingId)
where
    K: Hash + Eq + std::borrow::Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|x| *x != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}
