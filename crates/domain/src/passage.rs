//! Passages: what a gate saw of one truck at one lane, and what it decided. The gate agent
//! makes them (see [`crate::gate`]); the scheduler records them once each (by event id),
//! moves bookings on (ENTERED, EXITED) and keeps referrals for the operators.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::epc::Epc;
use crate::ids::{BookingId, GateId, LaneId, PassageId, ZoneId};
use crate::ledger::Direction;
use crate::plate::Plate;

/// What the gate does with a truck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// Open the barrier.
    Allow,
    /// Keep it closed.
    Deny,
    /// Keep it closed and ask an operator.
    Refer,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "ALLOW",
            Verdict::Deny => "DENY",
            Verdict::Refer => "REFER",
        }
    }
}

/// Why. Every decision carries at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reason {
    /// IN: a booked visit of this zone matches and the time is within its window ± grace.
    BookingValid,
    /// OUT: the truck is inside; its turn time is recorded.
    ExitRecorded,
    /// No booking matches the plate or tag.
    NoBooking,
    /// The truck's booking is for another zone.
    WrongZone,
    /// Before the window's early grace.
    TooEarly,
    /// After the window's late grace.
    TooLate,
    /// The booking was cancelled.
    Cancelled,
    /// The booking was marked NO_SHOW.
    NoShow,
    /// The booking has been used: the truck is inside (IN lane) or already left.
    AlreadyInside,
    /// OUT lane: the truck is not recorded inside.
    NotInside,
    /// Plate and RFID tag point to different trucks (a cloned tag?).
    PlateTagMismatch,
    /// The plate matches a booking only up to confusable characters (O/0, I/1, B/8, S/5,
    /// Z/2) and no tag confirms it.
    ConfusablePlate,
    /// The camera could not read the plate and no tag was read.
    UnreadPlate,
    /// The camera's confidence was below the lane's threshold and no tag confirms it.
    LowConfidence,
    /// The agent is offline and its policy refers doubtful cases.
    OfflineDoubtful,
    /// IN: the zone is closed (a storm, a flash-flood warning, an inspection campaign) at the
    /// moment of the read, whatever the booking says.
    ZoneClosed,
    /// The plate or tag is on the security services' watchlist: REFER (or DENY) whatever
    /// the booking says.
    Watchlist,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BookingValid => "BOOKING_VALID",
            Reason::ExitRecorded => "EXIT_RECORDED",
            Reason::NoBooking => "NO_BOOKING",
            Reason::WrongZone => "WRONG_ZONE",
            Reason::TooEarly => "TOO_EARLY",
            Reason::TooLate => "TOO_LATE",
            Reason::Cancelled => "CANCELLED",
            Reason::NoShow => "NO_SHOW",
            Reason::AlreadyInside => "ALREADY_INSIDE",
            Reason::NotInside => "NOT_INSIDE",
            Reason::PlateTagMismatch => "PLATE_TAG_MISMATCH",
            Reason::ConfusablePlate => "CONFUSABLE_PLATE",
            Reason::UnreadPlate => "UNREAD_PLATE",
            Reason::LowConfidence => "LOW_CONFIDENCE",
            Reason::OfflineDoubtful => "OFFLINE_DOUBTFUL",
            Reason::ZoneClosed => "ZONE_CLOSED",
            Reason::Watchlist => "WATCHLIST",
        }
    }
}

/// One truck at one lane, as the gate agent saw and decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    pub id: PassageId,
    pub zone: ZoneId,
    pub gate: GateId,
    pub lane: LaneId,
    pub direction: Direction,
    /// When the first and the last read of this truck arrived.
    pub first_read_at: DateTime<Utc>,
    pub last_read_at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
    /// The plate as read (normalised), if the camera read one.
    pub plate: Option<Plate>,
    /// The camera's confidence, 0-100, when it gives one.
    pub confidence: Option<u8>,
    pub epc: Option<Epc>,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// The booking the decision is about, when one matched.
    pub booking: Option<BookingId>,
    /// Decided while the scheduler could not be reached.
    pub offline: bool,
}

/// Where a referral is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReferralState {
    Open,
    Approved,
    Rejected,
}

/// Longest reason an operator may give, in characters (Arabic takes two bytes a letter).
pub const MAX_REASON: usize = 500;

/// An operator's answer to a referral: approve or reject, why, and — when the gate could not
/// tell (no plate read, a cloned tag) — the booking the operator found the truck holds (its
/// slip, its papers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub approve: bool,
    pub reason: String,
    pub booking: Option<BookingId>,
}

impl Resolution {
    pub fn approve(reason: impl Into<String>) -> Self {
        Self {
            approve: true,
            reason: reason.into(),
            booking: None,
        }
    }

    pub fn reject(reason: impl Into<String>) -> Self {
        Self {
            approve: false,
            ..Self::approve(reason)
        }
    }

    /// The truck holds `booking` (an approval only).
    pub fn with_booking(self, booking: BookingId) -> Self {
        Self {
            booking: Some(booking),
            ..self
        }
    }
}

/// A referred passage waiting for (or resolved by) an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub passage: Passage,
    pub state: ReferralState,
    /// Who resolved it (the operator's token identity) and why.
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}
