//! The gate agent's pure core: its local copy of the bookings, the decision, and the fusion of
//! camera and RFID reads into passages.
//!
//! - [`Replica`] holds the bookings of the zones the agent follows (fed by snapshots and the
//!   scheduler's change log) and an overlay of the agent's own ALLOW decisions that the
//!   scheduler has not confirmed yet.
//! - [`decide()`] turns the evidence of one truck at one lane into ALLOW / DENY / REFER with
//!   reasons, from the replica alone (microseconds; no I/O).
//! - [`LaneLogic`] gathers the repeated reads of a lane into one passage per truck, decides as
//!   soon as the evidence is complete (or its window runs out) and ignores repeats after.
//!
//! Time is always an argument: nothing here reads a clock.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::ids::{GateId, LaneId, ZoneId};
use crate::ledger::Direction;

pub mod decide;
pub mod fusion;
pub mod replica;

#[cfg(test)]
mod tests;

pub use decide::{Decision, Evidence, PlateRead, decide};
pub use fusion::{LaneLogic, Read, ReadKind};
pub use replica::{Replica, StopProgress};

/// What a doubtful case (a REFER) becomes while the scheduler is unreachable. Either way the
/// decision carries [`Reason::OfflineDoubtful`](crate::passage::Reason::OfflineDoubtful).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OfflinePolicy {
    /// It stays a REFER: an operator decides.
    #[default]
    Refer,
    /// It becomes a DENY: the barrier stays closed without asking.
    Deny,
}

/// One lane as the agent runs it: where it is, which way it goes, what it can read, and how
/// its reads are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneConfig {
    /// The zone the gate leads into (or out of).
    pub zone: ZoneId,
    pub gate: GateId,
    pub lane: LaneId,
    pub direction: Direction,
    /// Whether the lane has an RFID reader (if not, a plate read alone is complete evidence).
    pub has_reader: bool,
    /// Plate reads with a confidence below this (0-100) need a tag to confirm them.
    pub min_confidence: u8,
    pub offline_policy: OfflinePolicy,
    /// Reads within this time of a passage's first read belong to that passage.
    pub window: TimeDelta,
    /// After a decision, repeats of the same truck at this lane are ignored for this long.
    pub hold_off: TimeDelta,
}

impl LaneConfig {
    /// A lane with a reader, a confidence threshold of 70, the REFER offline policy, a 2 s
    /// window and a 10 s hold-off.
    pub fn new(zone: ZoneId, gate: GateId, lane: LaneId, direction: Direction) -> Self {
        LaneConfig {
            zone,
            gate,
            lane,
            direction,
            has_reader: true,
            min_confidence: 70,
            offline_policy: OfflinePolicy::Refer,
            window: TimeDelta::seconds(2),
            hold_off: TimeDelta::seconds(10),
        }
    }
}
