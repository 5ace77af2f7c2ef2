//! Closures of a zone and what they do to the bookings they hit: cancel them, move them to
//! the nearest free windows after the closure, or leave them and tell their companies.

use chrono::{DateTime, Utc};

use super::{Booking, BookingState, Ledger, Touched};
use crate::calendar::{Closure, ClosurePolicy};
use crate::event::EventKind;
use crate::ids::{BookingId, ZoneId};
use crate::rules;
use crate::{Error, Result};

/// What [`Ledger::add_closure`] did.
#[derive(Debug)]
pub(super) struct Closed {
    pub closure: Closure,
    /// The bookings the closure hit.
    pub hit: Vec<BookingId>,
    /// Those of them it moved to windows after it (policy rebook).
    pub rebooked: Vec<BookingId>,
    pub touched: Touched,
}

impl Ledger {
    /// Closes `zone` over `[from, to)` for `reason` and does `policy` to the bookings it hits.
    pub(super) fn add_closure(
        &mut self,
        zone: &ZoneId,
        (from, to, reason): (DateTime<Utc>, DateTime<Utc>, &str),
        policy: ClosurePolicy,
        now: DateTime<Utc>,
    ) -> Result<Closed> {
        crate::calendar::check_interval(from, to, reason, "a closure")?;
        let mut closure = None;
        let mut touched = self.edit_zone(zone, |z| {
            let c = Closure {
                id: z.next_closure_id,
                from,
                to,
                reason: reason.to_owned(),
            };
            z.next_closure_id += 1;
            z.closures.push(c.clone());
            closure = Some(c);
            Ok(())
        })?;
        let closure = closure.ok_or_else(|| Error::Precondition("closure was not added".into()))?;
        let hit = self.bookings_hit_by(zone, from, to)?;
        let rebooked = self.act_on_hits(zone, &closure, &hit, policy, now, &mut touched);
        Ok(Closed {
            closure,
            hit,
            rebooked,
            touched,
        })
    }

    /// Does `policy` to the bookings `hit` by `closure` of `zone`; answers those it moved.
    pub(super) fn act_on_hits(
        &mut self,
        zone: &ZoneId,
        closure: &Closure,
        hit: &[BookingId],
        policy: ClosurePolicy,
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) -> Vec<BookingId> {
        match policy {
            ClosurePolicy::Notify => Vec::new(),
            ClosurePolicy::Cancel => {
                let why = format!(
                    "zone {zone} closed (closure {}: {})",
                    closure.id, closure.reason
                );
                for id in hit {
                    self.cancel_for_closure(*id, &why, (zone, closure), now, touched);
                }
                Vec::new()
            }
            ClosurePolicy::Rebook => hit
                .iter()
                .copied()
                .filter(|id| self.rebook(*id, (zone, closure), now, touched))
                .collect(),
        }
    }

    /// A closure of `zone` cancels booking `id`: its places are released, its company told
    /// why.
    fn cancel_for_closure(
        &mut self,
        id: BookingId,
        why: &str,
        (zone, closure): (&ZoneId, &Closure),
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) {
        if let Some(b) = self.bookings.get(&id) {
            let windows = b.stops.iter().map(|s| (s.zone.clone(), s.window_start));
            touched.windows.extend(windows);
        }
        self.update(id, now, touched, |b| {
            b.state = BookingState::Cancelled;
            b.cancel_reason = Some(why.to_owned());
        });
        if let Some(e) = touched.events.last_mut() {
            e.zone = Some(zone.clone());
            e.closure = Some(closure.clone());
        }
    }

    /// Moves booking `id`'s stops that `closure` shuts to the nearest free windows after it
    /// (see [`rules::rebook_plan`]), all of them or none; its company gets a REBOOKED event.
    /// Answers whether it moved.
    fn rebook(
        &mut self,
        id: BookingId,
        (zone, closure): (&ZoneId, &Closure),
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) -> bool {
        let (Some(b), Ok(z)) = (self.bookings.get(&id), self.zone(zone)) else {
            return false;
        };
        let span = (closure.from, closure.to);
        let Some(stops) = rules::rebook_plan(z, span, b, now, |s| self.usage(zone, s)) else {
            return false;
        };
        if self
            .check_overlap(&b.company, &b.plate, &stops, Some(id))
            .is_err()
        {
            return false;
        }
        let old = b.stops.iter().map(|s| (s.zone.clone(), s.window_start));
        let new = stops.iter().map(|s| (s.zone.clone(), s.window_start));
        touched.windows.extend(old.chain(new).collect::<Vec<_>>());
        self.update(id, now, touched, |b| b.stops = stops);
        if let Some(e) = touched.events.last_mut() {
            e.kind = EventKind::Rebooked;
            e.zone = Some(zone.clone());
            e.closure = Some(closure.clone());
        }
        true
    }

    /// Each company whose booking a closure hits and left BOOKED in it is told so (an event).
    pub(super) fn note_hits(
        &mut self,
        zone: &ZoneId,
        closure: &Closure,
        hit: &[Booking],
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) {
        let still: Vec<&Booking> = hit
            .iter()
            .filter(|b| self.still_hit(b, zone, closure))
            .collect();
        for b in still {
            let hit = (EventKind::HitByClosure, Some(zone.clone()));
            self.push_event(b.clone(), hit, now, touched).closure = Some(closure.clone());
        }
    }

    /// Whether `b` is BOOKED with a window of `zone` that `closure` shuts.
    fn still_hit(&self, b: &Booking, zone: &ZoneId, closure: &Closure) -> bool {
        let Ok(z) = self.zone(zone) else {
            return false;
        };
        b.state == BookingState::Booked
            && b.stops.iter().any(|s| {
                s.zone == *zone && closure.overlaps(s.window_start, z.window_end(s.window_start))
            })
    }

    pub(super) fn remove_closure(&mut self, zone: &ZoneId, id: u64) -> Result<Touched> {
        self.edit_zone(zone, |z| {
            let before = z.closures.len();
            z.closures.retain(|c| c.id != id);
            if z.closures.len() == before {
                return Err(Error::NotFound {
                    what: "closure",
                    id: id.to_string(),
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
#[path = "closures_tests.rs"]
mod tests;
