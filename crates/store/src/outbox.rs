//! A gate agent's outbox as an append-only file (`outbox.log` in its data folder): what the
//! gate decided, durable with one `fdatasync` before the barrier moves.
//!
//! sled's `flush()` wrote its log in pieces (about four `pwrite` + `sync_file_range` pairs a
//! passage on this kind of machine), and its tail was the gate's decision-latency tail. Here
//! a passage is one `write` and one `fdatasync`.
//!
//! - Records are [`Entry`] values in a [`LogFile`] (framing, checksums and cutting a torn
//!   tail are its part). A passage is synced before [`Outbox::record`] returns;
//!   acknowledgements and confirmations are appended unsynced (lost, they only make the agent
//!   send a passage again or keep it in its overlay a little longer: both harmless).
//! - Once every passage is both acknowledged and confirmed, the file is emptied.

use std::collections::HashSet;
use std::path::Path;

use bawaba_domain::ids::PassageId;
use bawaba_domain::passage::Passage;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::log_file::LogFile;

/// The file's name in the agent's data folder.
pub const FILE: &str = "outbox.log";

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A passage this agent decided: in the outbox and in the local overlay.
    Passage(Box<Passage>),
    /// The scheduler acknowledged these: out of the outbox.
    Acknowledged(Vec<PassageId>),
    /// The replica has seen these confirmed: out of the overlay.
    Confirmed(Vec<PassageId>),
}

/// The passages in the log, in the order they were recorded, and what became of them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct State {
    pub passages: Vec<Passage>,
    recorded: HashSet<PassageId>,
    pub acknowledged: HashSet<PassageId>,
    pub confirmed: HashSet<PassageId>,
}

impl State {
    fn apply(&mut self, e: Entry) {
        match e {
            Entry::Passage(p) => {
                if self.recorded.insert(p.id) {
                    self.passages.push(*p);
                }
            }
            Entry::Acknowledged(ids) => self.acknowledged.extend(ids),
            Entry::Confirmed(ids) => self.confirmed.extend(ids),
        }
    }

    /// Passages not acknowledged yet, oldest first.
    pub fn outbox(&self) -> Vec<Passage> {
        self.passages
            .iter()
            .filter(|p| !self.acknowledged.contains(&p.id))
            .cloned()
            .collect()
    }

    /// Passages the replica has not seen confirmed yet, oldest first.
    pub fn local(&self) -> Vec<Passage> {
        self.passages
            .iter()
            .filter(|p| !self.confirmed.contains(&p.id))
            .cloned()
            .collect()
    }

    /// Whether nothing in the log is still needed.
    fn done(&self) -> bool {
        self.passages
            .iter()
            .all(|p| self.acknowledged.contains(&p.id) && self.confirmed.contains(&p.id))
    }
}

/// The open log.
#[derive(Debug)]
pub struct Outbox {
    log: LogFile,
    state: State,
}

impl Outbox {
    /// Opens (or creates) the log in `dir`, cutting a torn tail.
    pub fn open(dir: &Path) -> Result<Outbox> {
        let (log, entries) = LogFile::open(dir.join(FILE))?;
        let mut state = State::default();
        for e in entries {
            state.apply(e);
        }
        Ok(Outbox { log, state })
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    fn append(&mut self, e: Entry, durable: bool) -> Result<()> {
        self.log.append(&e, durable)?;
        self.state.apply(e);
        Ok(())
    }

    /// Takes in what an earlier version kept elsewhere: `outbox` (not acknowledged) and
    /// `local` (not confirmed), durably.
    pub fn import(&mut self, outbox: &[Passage], local: &[Passage]) -> Result<()> {
        let mut all: Vec<&Passage> = outbox.iter().chain(local).collect();
        all.sort_by_key(|p| p.id);
        all.dedup_by_key(|p| p.id);
        let unsent = |p: &&Passage| outbox.iter().any(|q| q.id == p.id);
        let unconfirmed = |p: &&Passage| local.iter().any(|q| q.id == p.id);
        let acked: Vec<PassageId> = all.iter().filter(|p| !unsent(p)).map(|p| p.id).collect();
        let confirmed: Vec<PassageId> = all
            .iter()
            .filter(|p| !unconfirmed(p))
            .map(|p| p.id)
            .collect();
        for p in &all {
            self.append(Entry::Passage(Box::new((*p).clone())), false)?;
        }
        self.append(Entry::Acknowledged(acked), false)?;
        self.append(Entry::Confirmed(confirmed), true)
    }

    /// Records a passage durably (outbox and overlay).
    pub fn record(&mut self, p: &Passage) -> Result<()> {
        self.append(Entry::Passage(Box::new(p.clone())), true)
    }

    /// The scheduler acknowledged these.
    pub fn acknowledged(&mut self, ids: &[PassageId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.append(Entry::Acknowledged(ids.to_vec()), false)?;
        self.compact()
    }

    /// The replica has seen these confirmed.
    pub fn confirmed(&mut self, ids: Vec<PassageId>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.append(Entry::Confirmed(ids), false)?;
        self.compact()
    }

    /// Empties the file once nothing in it is needed. Not synced: a crash brings back
    /// records whose effects are all harmless to replay (see the module notes).
    fn compact(&mut self) -> Result<()> {
        if !self.state.done() {
            return Ok(());
        }
        self.log.clear()?;
        self.state = State::default();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bawaba_domain::ids::{GateId, LaneId, ZoneId};
    use bawaba_domain::ledger::Direction;
    use bawaba_domain::passage::Verdict;
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    /// A passage of gate `g`, lane `in-1`, decided offline (also the agent store's tests').
    pub(crate) fn passage(n: u128) -> Passage {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        Passage {
            id: PassageId::new(at, n),
            zone: ZoneId::parse("act").unwrap(),
            gate: GateId::parse("g").unwrap(),
            lane: LaneId::parse("in-1").unwrap(),
            direction: Direction::In,
            first_read_at: at,
            last_read_at: at,
            decided_at: at,
            plate: None,
            confidence: None,
            epc: None,
            verdict: Verdict::Deny,
            reasons: vec![],
            booking: None,
            offline: true,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Record(u128),
        Ack(Vec<u128>),
        Confirm(Vec<u128>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u128..20).prop_map(Op::Record),
            prop::collection::vec(0u128..20, 0..4).prop_map(Op::Ack),
            prop::collection::vec(0u128..20, 0..4).prop_map(Op::Confirm),
        ]
    }

    fn play(o: &mut Outbox, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Record(n) => o.record(&passage(*n)).unwrap(),
                Op::Ack(ns) => {
                    let ids: Vec<_> = ns.iter().map(|n| passage(*n).id).collect();
                    o.acknowledged(&ids).unwrap();
                }
                Op::Confirm(ns) => o
                    .confirmed(ns.iter().map(|n| passage(*n).id).collect())
                    .unwrap(),
            }
        }
    }

    #[test]
    fn a_torn_tail_is_cut_and_what_came_before_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut o = Outbox::open(dir.path()).unwrap();
            o.record(&passage(1)).unwrap();
            o.record(&passage(2)).unwrap();
            o.acknowledged(&[passage(1).id]).unwrap();
        }
        let path = dir.path().join(FILE);
        let whole = std::fs::read(&path).unwrap();
        // A crash in the middle of the acknowledgement's record.
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(o.state().outbox(), vec![passage(1), passage(2)]);
        let cut = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(cut < whole.len() - 3, "the torn record is cut off");
        // And the log goes on after the cut.
        drop(o);
        let mut o = Outbox::open(dir.path()).unwrap();
        o.acknowledged(&[passage(2).id]).unwrap();
        drop(o);
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(o.state().outbox(), vec![passage(1)]);
    }

    #[test]
    fn the_file_empties_once_everything_is_acknowledged_and_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(dir.path()).unwrap();
        o.record(&passage(1)).unwrap();
        o.acknowledged(&[passage(1).id]).unwrap();
        assert!(std::fs::metadata(dir.path().join(FILE)).unwrap().len() > 0);
        o.confirmed(vec![passage(1).id]).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join(FILE)).unwrap().len(), 0);
        o.record(&passage(2)).unwrap();
        drop(o);
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(o.state().outbox(), vec![passage(2)]);
        assert_eq!(o.state().local(), vec![passage(2)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever was done, a reopened log holds exactly the passages not acknowledged
        /// (outbox) and not confirmed (overlay), in the order they were recorded; cut at
        /// any byte (a crash), exactly what its whole records before the cut say.
        #[test]
        fn reopening_gives_back_the_state(ops in prop::collection::vec(op(), 0..30), cut in any::<prop::sample::Index>()) {
            let dir = tempfile::tempdir().unwrap();
            let mut o = Outbox::open(dir.path()).unwrap();
            play(&mut o, &ops);
            let before = o.state().clone();
            drop(o);
            let o = Outbox::open(dir.path()).unwrap();
            prop_assert_eq!(o.state().outbox(), before.outbox());
            prop_assert_eq!(o.state().local(), before.local());
            drop(o);

            let path = dir.path().join(FILE);
            let bytes = std::fs::read(&path).unwrap();
            let keep = if bytes.is_empty() { 0 } else { cut.index(bytes.len() + 1) };
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let o = Outbox::open(dir.path()).unwrap();
            let (entries, _) = crate::log_file::parse::<Entry>(&bytes[..keep]);
            let mut model = State::default();
            for e in entries {
                model.apply(e);
            }
            prop_assert_eq!(o.state().outbox(), model.outbox());
            prop_assert_eq!(o.state().local(), model.local());
        }
    }
}
