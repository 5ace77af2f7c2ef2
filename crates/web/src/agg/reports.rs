//! Each gate's report mark (it has delivered every passage it decided before it) and which
//! gates hold their zone's no-show sweep back: the sweep marks a booking NO_SHOW only once
//! every gate of its zone has reported past its entry period, so a silent agent (link down,
//! PC off) keeps its zone's no-shows waiting. The authority sees which one.

use std::collections::BTreeMap;

use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ids::GateId;
use bawaba_domain::ledger::{Gate, sweep_holds};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::local_datetime;

/// How far behind a gate's mark may be before it counts as holding the sweep: an idle agent
/// reports every 30 s, so this is ten heartbeats missed.
pub const HOLDING_AFTER: TimeDelta = TimeDelta::minutes(5);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GateReport {
    pub zone: String,
    pub zone_name: String,
    pub zone_name_ar: String,
    pub gate: String,
    pub gate_name: String,
    pub gate_name_ar: String,
    /// Its mark, `None` for a gate that never reported (it holds nothing: no agent of it ran).
    pub reported_through: Option<DateTime<Utc>>,
    pub reported_local: Option<String>,
    /// How far the mark is behind now, in seconds.
    pub behind_s: Option<i64>,
    /// It is the zone's earliest mark and more than [`HOLDING_AFTER`] behind: the zone's
    /// no-shows wait for it.
    pub holds_sweep: bool,
}

/// Every gate's report, zone by zone in the configuration's order, gates by id.
pub fn gate_reports(
    now: DateTime<Utc>,
    zones: &[ZoneConfig],
    gates: &[Gate],
    reported: &BTreeMap<GateId, DateTime<Utc>>,
) -> Vec<GateReport> {
    let holds = sweep_holds(gates, reported);
    let mut rows = Vec::new();
    for z in zones {
        let mut of_zone: Vec<&Gate> = gates.iter().filter(|g| g.zone == z.id).collect();
        of_zone.sort_by(|a, b| a.id.cmp(&b.id));
        for g in of_zone {
            let mark = reported.get(&g.id).copied();
            let behind = mark.map(|m| (now - m).max(TimeDelta::zero()));
            rows.push(GateReport {
                zone: z.id.to_string(),
                zone_name: z.name.clone(),
                zone_name_ar: z.name_ar.clone(),
                gate: g.id.to_string(),
                gate_name: g.name.clone(),
                gate_name_ar: g.name_ar.clone(),
                reported_through: mark,
                reported_local: mark.map(local_datetime),
                behind_s: behind.map(|b| b.num_seconds()),
                holds_sweep: mark.is_some()
                    && mark == holds.get(&z.id).copied()
                    && behind.is_some_and(|b| b > HOLDING_AFTER),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use bawaba_domain::calendar::{SlotLength, WindowCapacity};
    use bawaba_domain::ids::ZoneId;
    use chrono::TimeZone;

    use super::*;

    fn zone(id: &str) -> ZoneConfig {
        ZoneConfig::new(
            ZoneId::parse(id).unwrap(),
            id.to_uppercase(),
            SlotLength::from_minutes(30).unwrap(),
            WindowCapacity::uniform(5),
        )
    }

    fn gate(zone: &str, id: &str) -> Gate {
        Gate {
            id: GateId::parse(id).unwrap(),
            zone: ZoneId::parse(zone).unwrap(),
            name: format!("{id} gate"),
            lanes: vec![],
            name_ar: String::new(),
        }
    }

    #[test]
    fn the_silent_gate_of_a_zone_holds_its_sweep() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        let zones = [zone("act"), zone("siz")];
        let gates = [
            gate("act", "act-b"),
            gate("act", "act-a"),
            gate("act", "act-new"),
            gate("siz", "siz-a"),
        ];
        let reported: BTreeMap<GateId, DateTime<Utc>> = [
            ("act-a", now - TimeDelta::minutes(42)),
            ("act-b", now - TimeDelta::seconds(20)),
            // Late but alone, and within the heartbeats' slack: holds nothing.
            ("siz-a", now - TimeDelta::minutes(4)),
        ]
        .into_iter()
        .map(|(g, t)| (GateId::parse(g).unwrap(), t))
        .collect();
        let rows = gate_reports(now, &zones, &gates, &reported);
        let got: Vec<(&str, Option<i64>, bool)> = rows
            .iter()
            .map(|r| (r.gate.as_str(), r.behind_s, r.holds_sweep))
            .collect();
        assert_eq!(
            got,
            vec![
                ("act-a", Some(42 * 60), true),
                ("act-b", Some(20), false),
                ("act-new", None, false),
                ("siz-a", Some(240), false),
            ]
        );
        assert_eq!(rows[0].reported_local.as_deref(), Some("2026-12-07 10:18"));
    }
}
