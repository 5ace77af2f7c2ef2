//! Alerts from the zone's other systems (the flash-flood early warning), as they act on one
//! zone: what the application layer asks of the ledger for a zone an alert concerns, and the
//! zone's record of the alerts it has taken (so the same alert twice changes nothing, and an
//! update or a cancellation finds the closure its first alert made).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What one alert asks of one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOrder {
    /// The alert's key: `sender/identifier`, unique per alert message.
    pub key: String,
    /// Keys of the earlier alerts this one updates or cancels.
    pub references: Vec<String>,
    /// The closure the alert calls for, or `None` to lift what the referenced alerts made.
    pub close: Option<AlertClosure>,
    /// The zone wants the authority to confirm a closure an alert calls for.
    pub confirm: bool,
    /// What the closure it makes or changes does to the bookings it hits (the zone's choice).
    pub policy: crate::calendar::ClosurePolicy,
}

/// The closure an alert calls for: `[from, to)`, with the alert's headline as the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertClosure {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

/// What an alert did to a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertEffect {
    /// A closure was added.
    Closed,
    /// The closure an earlier alert made was changed (an update).
    Changed,
    /// The closure (or pending closure) an earlier alert made was lifted.
    Lifted,
    /// A closure waits for the authority's confirmation.
    Pending,
    /// The authority confirmed the pending closure.
    Confirmed,
    /// The authority dismissed the pending closure, or a later alert replaced it.
    Dismissed,
    /// Nothing to do (a cancellation of something the zone never had); recorded all the same.
    Nothing,
}

impl AlertEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEffect::Closed => "closed",
            AlertEffect::Changed => "changed",
            AlertEffect::Lifted => "lifted",
            AlertEffect::Pending => "pending",
            AlertEffect::Confirmed => "confirmed",
            AlertEffect::Dismissed => "dismissed",
            AlertEffect::Nothing => "nothing",
        }
    }
}

/// An alert a zone has taken, as the zone keeps it (`ZoneConfig::alerts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneAlert {
    pub key: String,
    pub received: DateTime<Utc>,
    /// What the alert called for (none for a cancellation).
    pub close: Option<AlertClosure>,
    /// The closure it made or changed.
    pub closure: Option<u64>,
    pub effect: AlertEffect,
}

impl ZoneAlert {
    /// Whether the record may be forgotten at `now`: it does not wait for anyone, what it
    /// called for is over and it is a week old. (An expired alert is refused before it
    /// reaches a zone, so a forgotten one cannot come back to life.)
    pub fn is_spent(&self, now: DateTime<Utc>) -> bool {
        let over = self.close.as_ref().map_or(self.received, |c| c.to);
        self.effect != AlertEffect::Pending
            && over.max(self.received + chrono::TimeDelta::days(7)) <= now
    }
}
