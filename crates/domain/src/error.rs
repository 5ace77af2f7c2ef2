//! The domain's one error type. Every variant names what is wrong so that the gRPC layer can
//! map it to a status code (in one place, `bawaba-grpc`'s `error` module) without guessing.

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, ZoneId};

/// Everything the domain refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A value is malformed. `field` names it (a value parser names its kind, e.g. `plate`;
    /// callers rename it to the request field with [`Error::in_field`]).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A zone, booking, gate or lane that does not exist (or that the caller may not see).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The window (or its share for the transaction type) has no room left.
    #[error("window {} of zone {zone} is full{}", crate::calendar::local(*.window_start), type_suffix(.transaction_type))]
    WindowFull {
        zone: ZoneId,
        window_start: DateTime<Utc>,
        transaction_type: Option<crate::calendar::TransactionType>,
        /// The nearest windows that still have room, nearest first.
        alternatives: Vec<DateTime<Utc>>,
    },
    /// The window is in a closure of its zone: named, with its reason and end, and the
    /// nearest windows that can be booked.
    #[error("{0}")]
    ZoneClosed(Box<ClosedWindow>),
    /// The company already holds its cap of this window.
    #[error("company cap reached: {held} of {cap} places in window {} of zone {zone}", crate::calendar::local(*.window_start))]
    CompanyCap {
        zone: ZoneId,
        window_start: DateTime<Utc>,
        held: u32,
        cap: u32,
        alternatives: Vec<DateTime<Utc>>,
    },
    /// A rule of time or state forbids the change (cut-offs, horizon, state machine, overlap).
    #[error("{0}")]
    Precondition(String),
    /// The caller may not do this, or may not see this booking. Says the same whether or not
    /// the booking exists, so a company never learns of another company's bookings.
    #[error("{0}")]
    Forbidden(String),
    /// The idempotency key was used before with a different request.
    #[error(
        "idempotency key {key:?} was already used for a different request (booking {existing})"
    )]
    IdempotencyConflict { key: String, existing: BookingId },
}

/// A window refused because its zone is closed over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedWindow {
    pub zone: ZoneId,
    pub window_start: DateTime<Utc>,
    /// The closure's id and reason, and when it ends.
    pub closure: u64,
    pub reason: String,
    pub until: DateTime<Utc>,
    /// The nearest windows that can be booked, nearest first.
    pub alternatives: Vec<DateTime<Utc>>,
}

impl std::fmt::Display for ClosedWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "zone {} is closed until {} ({}, closure {}): window {} cannot be booked",
            self.zone,
            crate::calendar::local(self.until),
            self.reason,
            self.closure,
            crate::calendar::local(self.window_start)
        )
    }
}

fn type_suffix(t: &Option<crate::calendar::TransactionType>) -> String {
    t.map(|t| format!(" for {}", t.as_str()))
        .unwrap_or_default()
}

impl Error {
    /// A malformed value.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Renames the field of an [`Error::Invalid`] to the request field it came from
    /// (e.g. `plate` → `truck_plate`); other errors pass through.
    #[must_use]
    pub fn in_field(self, field: impl Into<String>) -> Self {
        match self {
            Error::Invalid { reason, .. } => Error::Invalid {
                field: field.into(),
                reason,
            },
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
