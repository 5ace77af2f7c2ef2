//! SMS notices to drivers (see [`crate::notify`]): how far each company's events have been
//! texted, and the reminders before a visit's first window, kept with the ledger so they
//! commit with the events they make.

use chrono::{DateTime, TimeDelta, Utc};

use super::{BookingState, Ledger, Touched};
use crate::event::EventKind;
use crate::ids::{BookingId, CompanyId};
use crate::notify::{Progress, Texted};

impl Ledger {
    /// Every company's SMS progress.
    pub fn sms_progress(&self) -> impl Iterator<Item = (&CompanyId, &Progress)> {
        self.sms.iter()
    }

    pub fn sms_progress_of(&self, company: &CompanyId) -> Option<&Progress> {
        self.sms.get(company)
    }

    /// Starts texting `company`'s events from its newest on, unless it already is: when its
    /// fleet first has a driver's number.
    pub(super) fn start_texting(&mut self, company: &CompanyId, touched: &mut Touched) {
        if !self.sms.contains_key(company) {
            let cursor = self.event_seq(company);
            self.sms.insert(
                company.clone(),
                Progress {
                    cursor,
                    failing: None,
                },
            );
            touched.sms.insert(company.clone());
        }
    }

    /// Records the progress of `company`'s texting, with the attempt that made it (none when
    /// events were passed over: nobody to text, or nothing to say).
    pub fn record_text(
        &mut self,
        company: &CompanyId,
        text: Option<Texted>,
        progress: Progress,
    ) -> Touched {
        self.sms.insert(company.clone(), progress);
        Touched {
            sms: [company.clone()].into(),
            texts: text.into_iter().collect(),
            ..Touched::default()
        }
    }

    /// Up to when reminders have been made.
    pub fn reminded_through(&self) -> Option<DateTime<Utc>> {
        self.reminded_through
    }

    /// Adds a [`EventKind::Reminder`] to the log of each booked visit whose first window
    /// starts within `lead` of `now` and was not reminded of yet (its start is after the
    /// reminders' mark, which then moves to `now + lead`). A visit whose zone is closed over
    /// one of its windows gets none (its company was told of the closure); a visit moved
    /// into a window already past the mark gets none (its company was told of the move).
    pub fn remind(&mut self, now: DateTime<Utc>, lead: TimeDelta) -> Touched {
        let from = self.reminded_through.map_or(now, |m| m.max(now));
        let through = now + lead;
        let mut touched = Touched::default();
        if through <= from {
            return touched;
        }
        for id in self.to_remind(from, through) {
            let Some(b) = self.bookings.get(&id).cloned() else {
                continue;
            };
            let zone = b.stops.first().map(|s| s.zone.clone());
            self.push_event(b, (EventKind::Reminder, zone), now, &mut touched);
        }
        self.reminded_through = Some(through);
        touched.reminded = true;
        touched
    }

    /// The booked visits whose first window starts in `(from, through]`, not closed over.
    fn to_remind(&self, from: DateTime<Utc>, through: DateTime<Utc>) -> Vec<BookingId> {
        self.by_deadline
            .iter()
            .filter_map(|(_, id)| self.bookings.get(id))
            .filter(|b| b.state == BookingState::Booked && self.closed_stop(b).is_none())
            .filter(|b| {
                b.stops
                    .first()
                    .is_some_and(|s| s.window_start > from && s.window_start <= through)
            })
            .map(|b| b.id)
            .collect()
    }
}
