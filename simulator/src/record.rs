//! What one simulation run recorded: the ground truth the report's KPIs and the proofs are
//! computed from. The engine ([`crate::engine`]) fills a [`RunRecord`]; the report
//! ([`crate::report`]) only reads it (and a baseline run's record for the comparison).
//!
//! Times are UTC instants of the simulated clock; the report shows them in Asia/Amman.

use std::collections::BTreeMap;

use bawaba_domain::passage::{Reason, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything one run produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    /// Scenario name (file stem, e.g. `normal-day`).
    pub scenario: String,
    pub seed: u64,
    /// Whether the run used appointments (false for the `no-appointments` baseline).
    pub appointments: bool,
    /// The simulated span [start, end).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Real time the run took, in seconds.
    pub wall_seconds: f64,
    pub zones: Vec<ZoneInfo>,
    pub gates: Vec<GateInfo>,
    pub companies: Vec<CompanyInfo>,
    /// Booking activity per zone (key: zone id).
    pub bookings: BTreeMap<String, BookingTally>,
    /// Trucks of the day (index = truck number used by [`LaneService::truck`]).
    pub trucks: Vec<TruckInfo>,
    /// One entry per truck served at a lane (in the order they were served).
    pub services: Vec<LaneService>,
    /// No-shows per company as the scheduler's sweep counted them (key: company id).
    pub no_shows: BTreeMap<String, u64>,
    /// The proofs checked at the end of the run.
    pub proofs: Vec<Proof>,
    /// Notable events of the run (closure, outage, device unplugged...), for the timeline.
    pub events: Vec<RunEvent>,
    /// What line noise did to camera frames.
    #[serde(default)]
    pub noise: NoiseTally,
    /// Times a lane ignored every read of a truck at its barrier (as repeats of the truck
    /// before it, within the hold-off): the truck waited for the hold-off to end.
    #[serde(default)]
    pub ignored_reads: u64,
}

/// Camera frames sent right after line noise, and what the lane's decoder made of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseTally {
    /// Frames sent after noise.
    pub frames: u64,
    /// Of those, frames the noise destroyed (the lane got no read from them).
    pub lost: u64,
    /// Of those, frames the lane read as another plate.
    pub garbled: u64,
    /// Trucks left with no camera read at all (their only frame destroyed): the lane decided
    /// on the tag alone, or referred them as UNREAD_PLATE.
    pub unread_trucks: u64,
}

impl NoiseTally {
    /// Counts one frame `sent` after noise, of which the lane's decoder `took` these reads.
    pub fn tally(&mut self, sent: &bawaba_codec::PlateRead, took: &[bawaba_codec::PlateRead]) {
        self.frames += 1;
        if took.is_empty() {
            self.lost += 1;
        } else if took.iter().any(|r| r.plate != sent.plate) {
            self.garbled += 1;
        }
    }
}

/// A zone and its capacity over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ZoneInfo {
    pub id: String,
    pub name: String,
    /// The zone's name in Arabic (empty: not given; the Arabic report shows `name`).
    #[serde(default)]
    pub name_ar: String,
    /// Capacity (trucks) per hour over the run, from the scheduler's windows: one entry per
    /// simulated hour starting at [`RunRecord::start`].
    pub hourly_capacity: Vec<u32>,
    /// Bookings held per hour at the end of the run (same indexing).
    pub hourly_booked: Vec<u32>,
}

/// A gate and its lanes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GateInfo {
    pub id: String,
    pub zone: String,
    pub lanes: Vec<LaneInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LaneInfo {
    pub id: String,
    /// `IN` or `OUT`.
    pub direction: String,
}

/// A simulated company.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CompanyInfo {
    pub id: String,
    /// Trucks in its fleet.
    pub fleet: u32,
}

/// Booking activity of a zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingTally {
    /// Bookings created (including those made after a refusal).
    pub made: u64,
    /// CreateBooking calls refused (full window, company cap, cut-off...).
    pub refused: u64,
    /// Refused requests that then booked one of FindSlots' alternatives.
    pub rebooked: u64,
    pub moved: u64,
    pub cancelled: u64,
    /// Bookings a closure of the zone hit (of those, `closure_moved` moved after it and
    /// `closure_cancelled` cancelled; counted in `moved` and `cancelled` too).
    #[serde(default)]
    pub closure_hit: u64,
    #[serde(default)]
    pub closure_moved: u64,
    #[serde(default)]
    pub closure_cancelled: u64,
    /// The extra waiting the moves after a closure put on the trucks: the sum, over the moved
    /// bookings, of new window start minus old, in minutes.
    #[serde(default)]
    pub closure_delay_minutes: u64,
}

impl BookingTally {
    /// What closures did to the bookings they hit, in words (none when they hit none).
    pub fn closure_effect(&self) -> Option<String> {
        if self.closure_hit == 0 {
            return None;
        }
        let mean = self
            .closure_minutes_per_moved()
            .map_or_else(String::new, |m| format!(", {m} min per moved truck"));
        Some(format!(
            "closures hit {} bookings: {} moved after the closure, {} cancelled, {} kept; \
             extra waiting {:.1} h in all{mean}",
            self.closure_hit,
            self.closure_moved,
            self.closure_cancelled,
            self.closure_kept(),
            self.closure_delay_hours(),
        ))
    }

    /// Bookings a closure hit that were neither moved nor cancelled.
    pub fn closure_kept(&self) -> u64 {
        self.closure_hit
            .saturating_sub(self.closure_moved + self.closure_cancelled)
    }

    /// The extra waiting closures put on the trucks, hours.
    pub fn closure_delay_hours(&self) -> f64 {
        self.closure_delay_minutes as f64 / 60.0
    }

    /// The extra waiting per truck moved after a closure, minutes (none if none was moved).
    pub fn closure_minutes_per_moved(&self) -> Option<u64> {
        self.closure_delay_minutes.checked_div(self.closure_moved)
    }
}

/// One truck of the day: the simulator's ground truth about it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TruckInfo {
    pub company: String,
    /// The plate as registered (normalised).
    pub plate: String,
    /// Its RFID tag, if it has one.
    pub epc: Option<String>,
    /// Booking id, if it holds one at the end of the run.
    pub booking: Option<String>,
    /// What the truck does: `on-time`, `early`, `late-in-grace`, `late-beyond-grace`,
    /// `no-show`, `walk-in`, `cloned-tag`...
    pub behaviour: String,
    /// Whether it never came.
    pub no_show: bool,
    /// `REFER` or `DENY` when the security services watch it.
    #[serde(default)]
    pub watched: Option<String>,
}

/// One truck served at one lane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaneService {
    /// Index into [`RunRecord::trucks`].
    pub truck: usize,
    pub zone: String,
    pub gate: String,
    pub lane: String,
    /// `IN` or `OUT`.
    pub direction: String,
    /// When it joined the lane's queue.
    pub arrived: DateTime<Utc>,
    /// When it reached the barrier (its reads were sent).
    pub served: DateTime<Utc>,
    /// When it left the lane (through the barrier, or turned away).
    pub left: DateTime<Utc>,
    /// The agent's decision (`None` if the agent decided nothing, a fault).
    pub verdict: Option<Verdict>,
    pub reasons: Vec<Reason>,
    /// Decided while the agent was offline.
    pub offline: bool,
    /// Real time from the last byte of the read on the serial line to the barrier command on
    /// its line, in microseconds (ALLOWs only).
    pub latency_us: Option<u64>,
    /// Whether an operator approved it after a REFER (the truck then went through).
    pub approved_by_operator: bool,
    /// Ground truth: the camera read the plate correctly and the truck carried no foreign tag.
    #[serde(default)]
    pub read_ok: bool,
    /// Ground truth: IN — the truck held a valid booking for this zone and was within its
    /// entry period when served; OUT — the truck was inside.
    #[serde(default)]
    pub legit: bool,
    /// Ground truth: IN, legitimate with a margin from the period's edges, read correctly —
    /// a case the gate must let through.
    #[serde(default)]
    pub clear_case: bool,
}

impl LaneService {
    /// Seconds spent waiting in the queue.
    pub fn waited(&self) -> f64 {
        (self.served - self.arrived).num_milliseconds() as f64 / 1000.0
    }

    /// Whether the truck went through the barrier.
    pub fn passed(&self) -> bool {
        self.verdict == Some(Verdict::Allow) || self.approved_by_operator
    }
}

/// One proof and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proof {
    pub name: String,
    pub passed: bool,
    /// What was checked, or the first counter-examples when it failed.
    pub detail: String,
}

/// Something that happened to the system during the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEvent {
    pub at: DateTime<Utc>,
    pub what: String,
}

impl RunRecord {
    /// Whether every proof held.
    pub fn proofs_passed(&self) -> bool {
        self.proofs.iter().all(|p| p.passed)
    }
}
