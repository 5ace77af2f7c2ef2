//! CAP 1.2 alerts (OASIS Common Alerting Protocol, the format of national weather services
//! and WMO's alert hub) as Bawaba takes them from the flash-flood early warning system.
//!
//! [`parse`] reads one `<alert>` with a real XML parser (roxmltree) and checks what Bawaba
//! needs of it; [`Outline`] is a zone's area and [`AlertZone`] what a zone takes alerts for;
//! [`AlertZone::assess`] says whether (and over which interval) an alert calls for closing
//! the zone, meeting the alert's polygons and circles with the zone's outline through the
//! `geo` crate. Pure: no I/O, no clock.

mod area;
mod parse;

use chrono::{DateTime, Utc};

pub use area::{Area, Outline};
pub use parse::parse;

/// The CAP 1.2 namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// What is wrong with a document: the element (or attribute) at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CapError {
    pub field: String,
    pub message: String,
}

impl CapError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        CapError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `<status>`: only `Actual` alerts act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Actual,
    Exercise,
    System,
    Test,
    Draft,
}

/// `<msgType>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Alert,
    Update,
    Cancel,
    Ack,
    Error,
}

/// `<severity>`, least first (so `>=` means "at least as severe").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Unknown,
    Minor,
    Moderate,
    Severe,
    Extreme,
}

/// `<urgency>`, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Unknown,
    Past,
    Future,
    Expected,
    Immediate,
}

/// One alert message.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: DateTime<Utc>,
    pub status: Status,
    pub msg_type: MsgType,
    /// The earlier alerts this one updates or cancels, as keys (see [`Alert::key`]).
    pub references: Vec<String>,
    pub infos: Vec<Info>,
}

impl Alert {
    /// The alert's key: `sender,identifier` (CAP's own way of naming an alert in
    /// `<references>`; neither may contain a comma or a space).
    pub fn key(&self) -> String {
        key(&self.sender, &self.identifier)
    }
}

pub(crate) fn key(sender: &str, identifier: &str) -> String {
    format!("{sender},{identifier}")
}

/// One `<info>` block (an alert has one per language, usually).
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub language: String,
    pub event: String,
    pub headline: Option<String>,
    pub urgency: Urgency,
    pub severity: Severity,
    /// When it takes effect: `<onset>`, else `<effective>`, else the alert's `<sent>`.
    pub from: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub areas: Vec<Area>,
}

/// What a zone takes alerts for: its outline, and the least severity and urgency that close
/// it; `confirm` holds the closure for the authority's confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertZone {
    pub zone: String,
    pub outline: Outline,
    pub min_severity: Severity,
    pub min_urgency: Urgency,
    pub confirm: bool,
}

/// The closure an alert calls for in a zone: `[from, to)` and the reason (the headlines of the
/// alert's blocks that meet the zone, each language once, e.g. English / Arabic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

impl AlertZone {
    /// Whether `alert` calls for closing this zone: an `Actual` `Alert` or `Update` with an
    /// `<info>` at or above the zone's severity and urgency whose area meets the zone's
    /// outline. `None` for anything else (cancellations, tests, other places).
    pub fn assess(&self, alert: &Alert) -> Option<Call> {
        if alert.status != Status::Actual
            || !matches!(alert.msg_type, MsgType::Alert | MsgType::Update)
        {
            return None;
        }
        let hits: Vec<&Info> = alert
            .infos
            .iter()
            .filter(|i| i.severity >= self.min_severity && i.urgency >= self.min_urgency)
            .filter(|i| i.areas.iter().any(|a| a.meets(&self.outline)))
            .collect();
        let from = hits.iter().map(|i| i.from).min()?;
        let to = hits.iter().map(|i| i.expires).max()?;
        let mut reasons: Vec<&str> = Vec::new();
        for i in &hits {
            let r = i.headline.as_deref().unwrap_or(&i.event);
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
        Some(Call {
            from,
            to,
            reason: reasons.join(" / "),
        })
    }
}

impl std::str::FromStr for Severity {
    type Err = CapError;
    fn from_str(s: &str) -> Result<Self, CapError> {
        Ok(match s {
            "Extreme" => Severity::Extreme,
            "Severe" => Severity::Severe,
            "Moderate" => Severity::Moderate,
            "Minor" => Severity::Minor,
            "Unknown" => Severity::Unknown,
            _ => {
                return Err(one_of(
                    "severity",
                    s,
                    "Extreme, Severe, Moderate, Minor, Unknown",
                ));
            }
        })
    }
}

impl std::str::FromStr for Urgency {
    type Err = CapError;
    fn from_str(s: &str) -> Result<Self, CapError> {
        Ok(match s {
            "Immediate" => Urgency::Immediate,
            "Expected" => Urgency::Expected,
            "Future" => Urgency::Future,
            "Past" => Urgency::Past,
            "Unknown" => Urgency::Unknown,
            _ => {
                return Err(one_of(
                    "urgency",
                    s,
                    "Immediate, Expected, Future, Past, Unknown",
                ));
            }
        })
    }
}

pub(crate) fn one_of(field: &str, got: &str, expected: &str) -> CapError {
    CapError::new(field, format!("{got:?} is not one of {expected}"))
}
