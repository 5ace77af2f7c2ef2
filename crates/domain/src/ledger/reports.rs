//! What each gate has reported: the instant before which it has delivered every passage it
//! decided (its *report mark*). The no-show sweep marks a booking NO_SHOW only once every gate
//! of its zone has reported past the end of its entry period — a gate that is offline may hold
//! a passage that proves the truck came — so an agent cut off from the scheduler holds its
//! zone's sweep back until it has delivered its outbox.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Gate, Ledger, Touched};
use crate::ids::{GateId, ZoneId};

impl Ledger {
    /// Gate `gate` has delivered every passage it decided before `through`: its mark moves up
    /// to it (never back; an older mark changes nothing and touches nothing). The caller
    /// checks the gate is one of the reporter's.
    pub fn note_reported(&mut self, gate: &GateId, through: DateTime<Utc>) -> Touched {
        let mut touched = Touched::default();
        let mark = self.reported.entry(gate.clone()).or_insert(through);
        if through > *mark {
            *mark = through;
        }
        if *mark == through {
            touched.reports.insert(gate.clone());
        }
        touched
    }

    /// Every gate's report mark (gates that never reported have none).
    pub fn reported(&self) -> &BTreeMap<GateId, DateTime<Utc>> {
        &self.reported
    }

    /// Per zone, the instant up to which every gate of the zone has reported (see
    /// [`sweep_holds`]).
    pub fn sweep_holds(&self) -> BTreeMap<ZoneId, DateTime<Utc>> {
        sweep_holds(self.gates.values(), &self.reported)
    }
}

/// Per zone, the instant up to which every gate of the zone that ever reported has reported:
/// no-shows due after it wait. A zone without such a gate holds nothing back (no agent of it
/// has run, so none can hold a passage).
pub fn sweep_holds<'a>(
    gates: impl IntoIterator<Item = &'a Gate>,
    reported: &BTreeMap<GateId, DateTime<Utc>>,
) -> BTreeMap<ZoneId, DateTime<Utc>> {
    let mut holds: BTreeMap<ZoneId, DateTime<Utc>> = BTreeMap::new();
    for gate in gates {
        let Some(mark) = reported.get(&gate.id) else {
            continue;
        };
        holds
            .entry(gate.zone.clone())
            .and_modify(|h| *h = (*h).min(*mark))
            .or_insert(*mark);
    }
    holds
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;
