//! The security services' watchlist: plates and RFID tags the gates must not simply let
//! through. Entries are kept with each zone's configuration, so they reach the zone's gate
//! agents with it (the sync stream, the agents' replicas) and hold offline too.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::epc::Epc;
use crate::plate::Plate;
use crate::{Error, Result};

/// What is watched: a plate (matched also through its confusable-character skeleton, so a
/// read `6O-12345` matches a watched `60-12345`) or an RFID tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatchTarget {
    Plate(Plate),
    Tag(Epc),
}

impl WatchTarget {
    /// A plate or a tag (hex), exactly one given: errors name the field `plate` or `tag`.
    pub fn parse(plate: &str, tag: &str) -> Result<Self> {
        match (plate.trim().is_empty(), tag.trim().is_empty()) {
            (false, true) => Plate::parse(plate)
                .map(WatchTarget::Plate)
                .map_err(|e| e.in_field("plate")),
            (true, false) => Epc::parse_hex(tag.trim())
                .map(WatchTarget::Tag)
                .map_err(|e| e.in_field("tag")),
            _ => Err(Error::invalid("plate", "give exactly one of plate and tag")),
        }
    }

    /// Whether a truck read with `plate` and `epc` is this one.
    pub fn matches(&self, plate: Option<&Plate>, epc: Option<&Epc>) -> bool {
        match self {
            WatchTarget::Plate(w) => plate.is_some_and(|p| p.skeleton() == w.skeleton()),
            WatchTarget::Tag(w) => epc == Some(w),
        }
    }
}

impl fmt::Display for WatchTarget {
    /// `plate:60-12345` or `tag:E2000017...`, as the audit trail and the CLI name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchTarget::Plate(p) => write!(f, "plate:{}", p.as_str()),
            WatchTarget::Tag(e) => write!(f, "tag:{e}"),
        }
    }
}

/// What the gate does with a watched truck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatchAction {
    /// Hold it for an operator (and the security services).
    Refer,
    /// Turn it away at an IN lane (an OUT lane still refers: nobody is shut in without an
    /// operator).
    Deny,
}

impl WatchAction {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchAction::Refer => "REFER",
            WatchAction::Deny => "DENY",
        }
    }
}

/// One entry of the watchlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEntry {
    pub target: WatchTarget,
    pub reason: String,
    pub action: WatchAction,
    /// When the entry lapses (none: until removed).
    pub until: Option<DateTime<Utc>>,
    pub added: DateTime<Utc>,
}

impl WatchEntry {
    /// Whether the entry is in force at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|u| now < u)
    }

    /// Checks what a caller gave: a reason of 1 to 500 bytes, an expiry after `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<()> {
        if self.reason.trim().is_empty() || self.reason.len() > 500 {
            return Err(Error::invalid(
                "reason",
                "a watch entry needs a reason of 1 to 500 bytes",
            ));
        }
        if self.until.is_some_and(|u| u <= now) {
            return Err(Error::invalid("until", "is not in the future"));
        }
        Ok(())
    }
}

/// The entries of `list` in force at `now` that a truck read (or booked) with `plate` and
/// `epc` matches, Deny first.
pub fn hits<'a>(
    list: &'a [WatchEntry],
    plate: Option<&Plate>,
    epc: Option<&Epc>,
    now: DateTime<Utc>,
) -> Option<&'a WatchEntry> {
    let mut found = list
        .iter()
        .filter(|w| w.in_force(now) && w.target.matches(plate, epc));
    let first = found.next()?;
    Some(if first.action == WatchAction::Deny {
        first
    } else {
        found
            .find(|w| w.action == WatchAction::Deny)
            .unwrap_or(first)
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry(target: WatchTarget, action: WatchAction) -> WatchEntry {
        WatchEntry {
            target,
            reason: "wanted".into(),
            action,
            until: Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()),
            added: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_plate_matches_through_its_skeleton_and_a_tag_exactly() {
        let plate = |s| Plate::parse(s).unwrap();
        let tag = Epc::parse_hex("E2000017221101441890ABCD").unwrap();
        let list = vec![
            entry(WatchTarget::Plate(plate("60-12345")), WatchAction::Refer),
            entry(WatchTarget::Tag(tag.clone()), WatchAction::Deny),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let hit = |p: Option<&Plate>, e: Option<&Epc>| hits(&list, p, e, now).map(|w| w.action);
        assert_eq!(
            hit(Some(&plate("6O-12345")), None),
            Some(WatchAction::Refer)
        );
        assert_eq!(hit(Some(&plate("60-12346")), None), None);
        assert_eq!(hit(None, Some(&tag)), Some(WatchAction::Deny));
        // Both: the stricter action.
        assert_eq!(
            hit(Some(&plate("6012345")), Some(&tag)),
            Some(WatchAction::Deny)
        );
        let later = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        assert!(
            hits(&list, Some(&plate("60-12345")), None, later).is_none(),
            "lapsed"
        );
        assert_eq!(list[0].target.to_string(), "plate:6012345");
    }

    #[test]
    fn entries_need_a_reason_and_a_future_expiry() {
        let mut e = entry(
            WatchTarget::Plate(Plate::parse("60-12345").unwrap()),
            WatchAction::Refer,
        );
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        assert!(e.validate(now).is_ok());
        e.reason = " ".into();
        assert!(e.validate(now).unwrap_err().to_string().contains("reason"));
        e.reason = "wanted".into();
        assert!(e.validate(e.until.unwrap()).is_err());
    }
}
