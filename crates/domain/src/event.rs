//! The company event log: every change to a company's bookings — created, moved, cancelled,
//! hit by a closure, rebooked, entered, exited, marked a no-show, the no-show taken back, and
//! the reminder that its first window starts soon — as one event, numbered per company (1, 2,
//! ...) in commit order and stored in the same commit as the change. A company
//! follows its log from a cursor (the last number it has) and misses nothing; `company:number`
//! is an event's stable id, so a receiver can drop a repeat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Closure;
use crate::ids::{CompanyId, ZoneId};
use crate::ledger::{Booking, BookingState};

/// What happened to the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    Created,
    /// A stop's window (or the stops) changed.
    Moved,
    Cancelled,
    /// The truck entered a stop's zone.
    Entered,
    /// The truck left a stop's zone (the visit is over when it left the last).
    Exited,
    /// The entry period passed without the truck: it counts against the company.
    NoShow,
    /// A gate's passage proved the truck came after all: the no-show no longer counts.
    NoShowTakenBack,
    /// Any other change (none of the above).
    Changed,
    /// A closure of the zone covers one of its windows; the booking stays (the closure's
    /// policy is to notify) and cannot be a no-show.
    HitByClosure,
    /// A closure of the zone moved its stops there to the nearest free windows after it.
    Rebooked,
    /// The booking's first window starts soon (see [`crate::ledger::Ledger::remind`]).
    Reminder,
}

impl EventKind {
    /// The event's type as webhooks name it (`booking.created`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "booking.created",
            EventKind::Moved => "booking.moved",
            EventKind::Cancelled => "booking.cancelled",
            EventKind::Entered => "booking.entered",
            EventKind::Exited => "booking.exited",
            EventKind::NoShow => "booking.no_show",
            EventKind::NoShowTakenBack => "booking.no_show_taken_back",
            EventKind::Changed => "booking.changed",
            EventKind::HitByClosure => "booking.hit_by_closure",
            EventKind::Rebooked => "booking.rebooked",
            EventKind::Reminder => "booking.reminder",
        }
    }

    /// Whether the driver is sent an SMS about it: the booking confirmed, moved, hit by a
    /// closure, rebooked or cancelled by one (see [`CompanyEvent::texted`]), the reminder,
    /// the no-show.
    pub fn texted(self) -> bool {
        matches!(
            self,
            EventKind::Created
                | EventKind::Moved
                | EventKind::HitByClosure
                | EventKind::Rebooked
                | EventKind::Cancelled
                | EventKind::Reminder
                | EventKind::NoShow
        )
    }

    /// What turned `before` (none: it is new) into `after`, and the zone of the stop it
    /// concerns when it concerns one.
    pub fn of(before: Option<&Booking>, after: &Booking) -> (EventKind, Option<ZoneId>) {
        let Some(before) = before else {
            return (EventKind::Created, None);
        };
        let stop = |changed: fn(&crate::ledger::Stop, &crate::ledger::Stop) -> bool| {
            let pairs = before.stops.iter().zip(&after.stops);
            pairs
                .filter(|(b, a)| changed(b, a))
                .map(|(_, a)| a.zone.clone())
                .next()
        };
        let entered = stop(|b, a| b.entered_at.is_none() && a.entered_at.is_some());
        let exited = stop(|b, a| b.exited_at.is_none() && a.exited_at.is_some());
        match (before.state, after.state) {
            (BookingState::NoShow, BookingState::Entered) => (EventKind::NoShowTakenBack, entered),
            (b, BookingState::Cancelled) if b != BookingState::Cancelled => {
                (EventKind::Cancelled, None)
            }
            (b, BookingState::NoShow) if b != BookingState::NoShow => (EventKind::NoShow, None),
            (b, a) if entered.is_some() || (a == BookingState::Entered && b != a) => {
                (EventKind::Entered, entered)
            }
            (b, a) if exited.is_some() || (a == BookingState::Exited && b != a) => {
                (EventKind::Exited, exited)
            }
            _ => {
                let moved = before.stops.len() != after.stops.len();
                match stop(|b, a| b.window_start != a.window_start || b.zone != a.zone) {
                    Some(zone) => (EventKind::Moved, Some(zone)),
                    None if moved => (EventKind::Moved, None),
                    None => (EventKind::Changed, None),
                }
            }
        }
    }
}

/// One event of a company's log: the booking as the change left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyEvent {
    pub company: CompanyId,
    /// Its number in the company's log: 1, 2, ... in commit order, no gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// The zone of the stop it concerns (entered, exited, moved, closed), when it concerns one.
    pub zone: Option<ZoneId>,
    /// The closure that hit or cancelled the booking.
    pub closure: Option<Closure>,
    pub booking: Booking,
}

impl CompanyEvent {
    /// Whether the driver is sent an SMS about it at `now`: a kind texted, not a cancellation
    /// the company made itself (only one a closure made), not a reminder of a window that has
    /// started, and not older than a day (a late notice is noise).
    pub fn texted(&self, now: DateTime<Utc>) -> bool {
        let started = || {
            let first = self.booking.stops.first();
            first.is_none_or(|s| s.window_start <= now)
        };
        self.kind.texted()
            && (self.kind != EventKind::Cancelled || self.closure.is_some())
            && !(self.kind == EventKind::Reminder && started())
            && now - self.at <= chrono::TimeDelta::days(1)
    }

    /// Its stable id: `company:number`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.company, self.seq)
    }
}

/// A page of a company's log: the events after a cursor, oldest first, and the number of the
/// company's newest event (0: none yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventPage {
    pub events: Vec<CompanyEvent>,
    pub head: u64,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::calendar::TransactionType;
    use crate::ids::BookingId;
    use crate::ledger::Stop;
    use crate::plate::Plate;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap()
    }

    fn booking() -> Booking {
        let stop = |z: &str, h| {
            Stop::new(
                ZoneId::parse(z).unwrap(),
                at(h),
                TransactionType::GeneralCargo,
                vec![],
            )
        };
        Booking {
            id: BookingId::new(at(0), 1),
            company: CompanyId::parse("acme").unwrap(),
            plate: Plate::parse("60-12345").unwrap(),
            epc: None,
            stops: vec![stop("act", 5), stop("siz", 7)],
            state: BookingState::Booked,
            idempotency_key: "k".into(),
            created_at: at(0),
            updated_at: at(0),
            entered_at: None,
            exited_at: None,
            cancel_reason: None,
            revision: 1,
        }
    }

    #[test]
    fn drivers_are_texted_what_concerns_them_while_it_is_news() {
        let event = |kind, closure: Option<Closure>| CompanyEvent {
            company: CompanyId::parse("acme").unwrap(),
            seq: 1,
            at: at(1),
            kind,
            zone: None,
            closure,
            booking: booking(),
        };
        let flood = Closure {
            id: 1,
            from: at(5),
            to: at(6),
            reason: "flash flood".into(),
        };
        assert!(event(EventKind::Created, None).texted(at(1)));
        assert!(!event(EventKind::Created, None).texted(at(1) + chrono::TimeDelta::hours(25)));
        assert!(!event(EventKind::Entered, None).texted(at(1)));
        assert!(!event(EventKind::Cancelled, None).texted(at(1)), "its own");
        assert!(event(EventKind::Cancelled, Some(flood)).texted(at(1)));
        assert!(event(EventKind::Reminder, None).texted(at(4)));
        assert!(!event(EventKind::Reminder, None).texted(at(5)), "started");
        assert!(event(EventKind::NoShow, None).texted(at(7)));
    }

    #[test]
    fn each_change_is_named_with_its_stop() {
        let b = booking();
        let zone = |z: &str| Some(ZoneId::parse(z).unwrap());
        let with = |f: &dyn Fn(&mut Booking)| {
            let mut a = b.clone();
            f(&mut a);
            EventKind::of(Some(&b), &a)
        };
        assert_eq!(EventKind::of(None, &b), (EventKind::Created, None));
        assert_eq!(
            with(&|a| a.stops[1].window_start = at(8)),
            (EventKind::Moved, zone("siz"))
        );
        assert_eq!(with(&|a| a.stops.truncate(1)), (EventKind::Moved, None));
        assert_eq!(
            with(&|a| a.state = BookingState::Cancelled),
            (EventKind::Cancelled, None)
        );
        assert_eq!(
            with(&|a| {
                a.state = BookingState::Entered;
                a.stops[0].entered_at = Some(at(5));
            }),
            (EventKind::Entered, zone("act"))
        );
        assert_eq!(
            with(&|a| a.state = BookingState::NoShow),
            (EventKind::NoShow, None)
        );
        assert_eq!(
            with(&|a| a.epc = None),
            (EventKind::Changed, None),
            "nothing the kinds name changed"
        );
        // Out of the first zone, on to the second: exited there, the visit goes on.
        let mut inside = b.clone();
        inside.state = BookingState::Entered;
        inside.stops[0].entered_at = Some(at(5));
        let mut left = inside.clone();
        left.stops[0].exited_at = Some(at(6));
        assert_eq!(
            EventKind::of(Some(&inside), &left),
            (EventKind::Exited, zone("act"))
        );
        let mut no_show = b.clone();
        no_show.state = BookingState::NoShow;
        assert_eq!(
            EventKind::of(Some(&no_show), &inside),
            (EventKind::NoShowTakenBack, zone("act"))
        );
    }
}
