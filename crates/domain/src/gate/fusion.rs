//! Fusion of a lane's reads into passages, and the lane's state machine.
//!
//! Cameras and readers repeat their reads many times a second. The reads of one truck that
//! arrive within the lane's window of the first form one passage, decided as soon as the
//! evidence is complete:
//! - a plate read and a tag; or
//! - a plate read at or above the lane's confidence, when the lane has no reader or the
//!   plate's booking registered no tag.
//!
//! A tag alone or a failed plate read alone waits for the rest until the window closes
//! ([`LaneLogic::deadline`]). A read of another truck (another plate, another tag) decides the
//! pending passage at once with what it has. After a decision, repeats of that truck (its
//! plate or a look-alike, its tag, failed plate reads) are ignored for the lane's hold-off.

use chrono::{DateTime, Utc};

use super::LaneConfig;
use super::decide::{Evidence, PlateRead, decide, pick};
use super::replica::Replica;
use crate::epc::Epc;
use crate::ids::PassageId;
use crate::ledger::Booking;
use crate::passage::Passage;
use crate::plate::Plate;

/// One read of a lane's camera or reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// When it arrived.
    pub at: DateTime<Utc>,
    pub kind: ReadKind,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadKind {
    /// A camera read: the plate (`None` when the camera saw a truck but could not read it)
    /// and the camera's confidence (0-100) when it gives one.
    Plate {
        plate: Option<Plate>,
        confidence: Option<u8>,
    },
    /// An RFID reader read this tag.
    Tag(Epc),
}

/// The reads of one truck gathered so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    first_read_at: DateTime<Utc>,
    last_read_at: DateTime<Utc>,
    evidence: Evidence,
}

impl Pending {
    fn new(read: &Read) -> Self {
        let mut p = Pending {
            first_read_at: read.at,
            last_read_at: read.at,
            evidence: Evidence::default(),
        };
        p.absorb(read);
        p
    }

    /// Whether `read` can be of this truck: not another plate, not another tag.
    fn belongs(&self, read: &Read) -> bool {
        match (&read.kind, &self.evidence) {
            (
                ReadKind::Plate { plate: Some(p), .. },
                Evidence {
                    plate: PlateRead::Read { plate: q, .. },
                    ..
                },
            ) => p.skeleton() == q.skeleton(),
            (ReadKind::Tag(e), Evidence { epc: Some(f), .. }) => e == f,
            _ => true,
        }
    }

    /// Adds a read of this truck. The plate read with the highest confidence is kept.
    fn absorb(&mut self, read: &Read) {
        self.first_read_at = self.first_read_at.min(read.at);
        self.last_read_at = self.last_read_at.max(read.at);
        let plate = &mut self.evidence.plate;
        match &read.kind {
            ReadKind::Tag(e) => self.evidence.epc = Some(e.clone()),
            ReadKind::Plate { plate: None, .. } => {
                if *plate == PlateRead::NotRead {
                    *plate = PlateRead::Failed;
                }
            }
            ReadKind::Plate {
                plate: Some(p),
                confidence,
            } => {
                let better = match plate {
                    PlateRead::Read { confidence: c, .. } => confidence > c,
                    PlateRead::NotRead | PlateRead::Failed => true,
                };
                if better {
                    *plate = PlateRead::Read {
                        plate: p.clone(),
                        confidence: *confidence,
                    };
                }
            }
        }
    }
}

/// A truck decided lately: its repeats are ignored until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recent {
    until: DateTime<Utc>,
    /// Skeletons of the plate read and of the matched booking's plate.
    skeletons: Vec<String>,
    /// The tag read and the matched booking's tag.
    epcs: Vec<Epc>,
}

/// The fusion state of one lane: the passage being gathered and the trucks in hold-off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LaneFusion {
    pending: Option<Pending>,
    recent: Vec<Recent>,
}

impl LaneFusion {
    /// Whether `read` repeats a truck decided within the hold-off, and is to be ignored.
    fn held_off(&mut self, read: &Read, replica: &Replica) -> bool {
        self.recent.retain(|r| r.until > read.at);
        match &read.kind {
            // Which truck it was, no one can tell: most likely the one just decided.
            ReadKind::Plate { plate: None, .. } => !self.recent.is_empty(),
            ReadKind::Plate { plate: Some(p), .. } => {
                let skeleton = p.skeleton();
                self.recent.iter().any(|r| r.skeletons.contains(&skeleton))
            }
            ReadKind::Tag(e) => {
                if self.recent.iter().any(|r| r.epcs.contains(e)) {
                    return true;
                }
                // A tag no booking knows, read just after a truck was decided without one, is
                // most likely that truck's unregistered tag, unless a pending truck lacks one.
                let pending_takes = self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.evidence.epc.is_none());
                if pending_takes || replica.by_epc(e).next().is_some() {
                    return false;
                }
                match self.recent.iter_mut().rev().find(|r| r.epcs.is_empty()) {
                    Some(r) => {
                        r.epcs.push(e.clone());
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// Puts a decided truck in hold-off until `until`.
    fn remember(&mut self, evidence: &Evidence, booking: Option<&Booking>, until: DateTime<Utc>) {
        let read_plate = match &evidence.plate {
            PlateRead::Read { plate, .. } => Some(plate),
            PlateRead::NotRead | PlateRead::Failed => None,
        };
        let mut skeletons: Vec<String> = read_plate
            .into_iter()
            .chain(booking.map(|b| &b.plate))
            .map(Plate::skeleton)
            .collect();
        skeletons.dedup();
        let mut epcs: Vec<Epc> = evidence
            .epc
            .iter()
            .chain(booking.and_then(|b| b.epc.as_ref()))
            .cloned()
            .collect();
        epcs.dedup();
        self.recent.push(Recent {
            until,
            skeletons,
            epcs,
        });
    }
}

/// One lane's logic: its settings and fusion state. The agent feeds it reads and ticks and
/// gets passages back; it writes each durably, then records ALLOWs in the replica
/// ([`Replica::record_local`]) — the lane does not.
#[derive(Debug, Clone)]
pub struct LaneLogic {
    config: LaneConfig,
    fusion: LaneFusion,
}

impl LaneLogic {
    pub fn new(config: LaneConfig) -> Self {
        LaneLogic {
            config,
            fusion: LaneFusion::default(),
        }
    }

    pub fn config(&self) -> &LaneConfig {
        &self.config
    }

    /// When [`LaneLogic::on_tick`] must be called next: the end of the pending passage's
    /// window, if a passage is pending.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.fusion
            .pending
            .as_ref()
            .map(|p| p.first_read_at + self.config.window)
    }

    /// Takes one read; returns the passages it decides (none, or one or two when it shows
    /// another truck has come).
    pub fn on_read(
        &mut self,
        read: Read,
        replica: &Replica,
        now: DateTime<Utc>,
        offline: bool,
        new_id: &mut dyn FnMut() -> PassageId,
    ) -> Vec<Passage> {
        let mut out = Vec::new();
        // A window that closed before this read came is decided without it.
        if self.deadline().is_some_and(|d| d <= read.at) {
            out.extend(self.conclude(replica, now, offline, new_id));
        }
        if self.fusion.held_off(&read, replica) {
            return out;
        }
        // Another truck: the pending one is decided with what it has.
        if self
            .fusion
            .pending
            .as_ref()
            .is_some_and(|p| !p.belongs(&read))
        {
            out.extend(self.conclude(replica, now, offline, new_id));
        }
        match self.fusion.pending.as_mut() {
            Some(p) => p.absorb(&read),
            None => self.fusion.pending = Some(Pending::new(&read)),
        }
        if self.complete(replica, now) || self.deadline().is_some_and(|d| d <= now) {
            out.extend(self.conclude(replica, now, offline, new_id));
        }
        out
    }

    /// Decides the pending passage if its window has closed by `now`.
    pub fn on_tick(
        &mut self,
        now: DateTime<Utc>,
        replica: &Replica,
        offline: bool,
        new_id: &mut dyn FnMut() -> PassageId,
    ) -> Vec<Passage> {
        if self.deadline().is_some_and(|d| d <= now) {
            self.conclude(replica, now, offline, new_id)
                .into_iter()
                .collect()
        } else {
            Vec::new()
        }
    }

    /// Whether the pending passage has all the evidence it will get: a plate read and a tag,
    /// or a confident plate read when no tag is to be expected (the lane has no reader, or
    /// the plate's booking registered none). A weak read waits for a better one or a tag.
    fn complete(&self, replica: &Replica, now: DateTime<Utc>) -> bool {
        let Some(Pending {
            evidence:
                Evidence {
                    plate: PlateRead::Read { plate, confidence },
                    epc,
                },
            ..
        }) = &self.fusion.pending
        else {
            return false;
        };
        if epc.is_some() {
            return true;
        }
        let confident = confidence.is_none_or(|c| c >= self.config.min_confidence);
        confident
            && (!self.config.has_reader
                || pick(
                    replica,
                    &self.config.zone,
                    self.config.direction,
                    now,
                    replica.by_plate(plate),
                )
                .is_some_and(|m| m.booking.epc.is_none()))
    }

    /// Decides the pending passage, if any, puts its truck in hold-off, and makes its passage.
    fn conclude(
        &mut self,
        replica: &Replica,
        now: DateTime<Utc>,
        offline: bool,
        new_id: &mut dyn FnMut() -> PassageId,
    ) -> Option<Passage> {
        let pending = self.fusion.pending.take()?;
        let c = &self.config;
        let d = decide(replica, c, &pending.evidence, now, offline);
        let booking = d.booking.and_then(|id| replica.booking(id));
        self.fusion
            .remember(&pending.evidence, booking, now + c.hold_off);
        let (plate, confidence) = match pending.evidence.plate {
            PlateRead::Read { plate, confidence } => (Some(plate), confidence),
            PlateRead::NotRead | PlateRead::Failed => (None, None),
        };
        Some(Passage {
            id: new_id(),
            zone: c.zone.clone(),
            gate: c.gate.clone(),
            lane: c.lane.clone(),
            direction: c.direction,
            first_read_at: pending.first_read_at,
            last_read_at: pending.last_read_at,
            decided_at: now,
            plate,
            confidence,
            epc: pending.evidence.epc,
            verdict: d.verdict,
            reasons: d.reasons,
            booking: d.booking,
            offline,
        })
    }
}
