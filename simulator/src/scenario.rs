//! Scenarios: what a run plays, as TOML files in `simulator/scenarios/` (built in by name,
//! or read from a path).

use std::path::Path;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::Deserialize;

/// The scenarios shipped with the simulator, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("normal-day", include_str!("../scenarios/normal-day.toml")),
    (
        "no-appointments",
        include_str!("../scenarios/no-appointments.toml"),
    ),
    (
        "flash-flood-closure",
        include_str!("../scenarios/flash-flood-closure.toml"),
    ),
    (
        "scheduler-outage",
        include_str!("../scenarios/scheduler-outage.toml"),
    ),
    (
        "noisy-devices",
        include_str!("../scenarios/noisy-devices.toml"),
    ),
    ("watchlist", include_str!("../scenarios/watchlist.toml")),
];

/// A scenario that cannot be used, naming what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "no scenario named {0:?} (built in: normal-day, no-appointments, flash-flood-closure, scheduler-outage, noisy-devices, watchlist) and no such file"
    )]
    Unknown(String),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {name}: {message}")]
    Invalid { name: String, message: String },
}

/// One scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Whether trucks book (false: the no-appointments baseline).
    pub appointments: bool,
    pub trucks: usize,
    pub companies: usize,
    /// Simulated hours.
    pub hours: f64,
    /// Start of the run (RFC 3339; usually local midnight in Asia/Amman).
    pub start: DateTime<FixedOffset>,
    /// Simulated seconds per real second (0 or less: as fast as possible).
    pub speed: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub demand: Demand,
    #[serde(default)]
    pub arrivals: Arrivals,
    #[serde(default)]
    pub reads: Reads,
    #[serde(default)]
    pub gate: GateModel,
    pub closure: Option<ClosurePlan>,
    pub outage: Option<OutagePlan>,
    pub noise: Option<NoisePlan>,
    pub watch: Option<WatchPlan>,
}

fn default_seed() -> u64 {
    42
}

/// When trucks want to come and how they book.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Demand {
    /// Local hour of the demand peak.
    pub peak_hour: f64,
    /// Standard deviation of the peak, in hours.
    pub peak_spread_hours: f64,
    /// Share of trucks whose preferred time follows the peak (the rest: uniform).
    pub peak_share: f64,
    pub rfid_share: f64,
    pub foreign_share: f64,
    pub multi_stop_share: f64,
    pub move_rate: f64,
    pub cancel_rate: f64,
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            peak_hour: 10.0,
            peak_spread_hours: 2.0,
            peak_share: 0.75,
            rfid_share: 0.85,
            foreign_share: 0.15,
            multi_stop_share: 0.08,
            move_rate: 0.04,
            cancel_rate: 0.03,
        }
    }
}

/// How trucks turn up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Arrivals {
    pub no_show_rate: f64,
    pub walk_in_rate: f64,
    pub cloned_tag_rate: f64,
    pub early_rate: f64,
    pub late_in_grace_rate: f64,
    pub late_beyond_grace_rate: f64,
}

impl Default for Arrivals {
    fn default() -> Self {
        Arrivals {
            no_show_rate: 0.10,
            walk_in_rate: 0.02,
            cloned_tag_rate: 0.004,
            early_rate: 0.15,
            late_in_grace_rate: 0.10,
            late_beyond_grace_rate: 0.02,
        }
    }
}

/// What the cameras make of the plates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reads {
    /// A confusable character swapped (O/0, I/1, B/8, S/5, Z/2).
    pub misread_rate: f64,
    /// Digits sent as Arabic-Indic digits (normalised by the agent: a correct read).
    pub arabic_digits_rate: f64,
    /// `Not defined`: the camera saw a truck and read nothing.
    pub failed_read_rate: f64,
    /// A correct plate with a confidence under the lane's threshold.
    pub low_confidence_rate: f64,
    /// How many times the camera sends each read (repeats are fused).
    pub repeat_reads: u32,
}

impl Default for Reads {
    fn default() -> Self {
        Reads {
            misread_rate: 0.03,
            arabic_digits_rate: 0.05,
            failed_read_rate: 0.02,
            low_confidence_rate: 0.02,
            repeat_reads: 3,
        }
    }
}

/// The physical gate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateModel {
    /// Physical passage at the barrier, seconds [min, max].
    pub service_secs: [u32; 2],
    /// Time a refused truck holds the lane before it pulls away.
    pub turn_away_secs: u32,
    /// Time the operator takes to resolve a referral, seconds [min, max].
    pub operator_delay_secs: [u32; 2],
    /// Time spent inside a zone, minutes [min, max].
    pub stay_minutes: [u32; 2],
    /// Driving from one stop's zone to the next, minutes [min, max].
    pub travel_minutes: [u32; 2],
}

impl Default for GateModel {
    fn default() -> Self {
        GateModel {
            service_secs: [30, 60],
            turn_away_secs: 20,
            operator_delay_secs: [60, 240],
            stay_minutes: [40, 120],
            travel_minutes: [20, 45],
        }
    }
}

/// The authority closes a zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosurePlan {
    pub zone: String,
    pub announce_hour: f64,
    pub from_hour: f64,
    pub hours: f64,
    #[serde(default = "closure_reason")]
    pub reason: String,
}

fn closure_reason() -> String {
    "closure".into()
}

/// The scheduler goes down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutagePlan {
    pub from_hour: f64,
    pub hours: f64,
}

/// Devices misbehave.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoisePlan {
    pub garbage_rate: f64,
    pub unplug_every_hours: f64,
    pub unplug_minutes: f64,
}

/// The security services put some of the day's trucks on the watchlist before the day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchPlan {
    /// How many trucks (the first to come, among those that hold a booking).
    pub trucks: usize,
    /// The share of them turned away (DENY); the others are referred.
    pub deny_share: f64,
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Invalid {
            name: "?".into(),
            message: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// A built-in scenario by name, or a file.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(text);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            return Err(ScenarioError::Unknown(name_or_path.into()));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |message: &str| {
            Err(ScenarioError::Invalid {
                name: self.name.clone(),
                message: message.into(),
            })
        };
        let rate = |r: f64| (0.0..=1.0).contains(&r);
        if self.trucks == 0 || self.trucks > 200_000 {
            return bad("trucks must be 1..200000");
        }
        if self.companies == 0 || self.companies > self.trucks.max(1) {
            return bad("companies must be 1..=trucks");
        }
        if !(self.hours > 0.0 && self.hours <= 24.0 * 14.0) {
            return bad("hours must be in (0, 336]");
        }
        let a = &self.arrivals;
        let d = &self.demand;
        let r = &self.reads;
        for (name, v) in [
            ("arrivals.no_show_rate", a.no_show_rate),
            ("arrivals.walk_in_rate", a.walk_in_rate),
            ("arrivals.cloned_tag_rate", a.cloned_tag_rate),
            ("arrivals.early_rate", a.early_rate),
            ("arrivals.late_in_grace_rate", a.late_in_grace_rate),
            ("arrivals.late_beyond_grace_rate", a.late_beyond_grace_rate),
            ("demand.peak_share", d.peak_share),
            ("demand.rfid_share", d.rfid_share),
            ("demand.foreign_share", d.foreign_share),
            ("demand.multi_stop_share", d.multi_stop_share),
            ("demand.move_rate", d.move_rate),
            ("demand.cancel_rate", d.cancel_rate),
            ("reads.misread_rate", r.misread_rate),
            ("reads.arabic_digits_rate", r.arabic_digits_rate),
            ("reads.failed_read_rate", r.failed_read_rate),
            ("reads.low_confidence_rate", r.low_confidence_rate),
        ] {
            if !rate(v) {
                return bad(&format!("{name} must be within 0..=1"));
            }
        }
        if a.no_show_rate + a.early_rate + a.late_in_grace_rate + a.late_beyond_grace_rate > 1.0 {
            return bad("arrivals: no-show, early and late rates add up to more than 1");
        }
        let g = &self.gate;
        for (name, [lo, hi]) in [
            ("gate.service_secs", g.service_secs),
            ("gate.operator_delay_secs", g.operator_delay_secs),
            ("gate.stay_minutes", g.stay_minutes),
            ("gate.travel_minutes", g.travel_minutes),
        ] {
            if lo == 0 || lo > hi {
                return bad(&format!("{name} must be [min, max] with 0 < min <= max"));
            }
        }
        if !(0.0..24.0).contains(&d.peak_hour) || d.peak_spread_hours <= 0.0 {
            return bad("demand.peak_hour must be 0..24 and peak_spread_hours positive");
        }
        if let Some(c) = &self.closure
            && !(c.hours > 0.0 && c.announce_hour < c.from_hour)
        {
            return bad("closure: hours must be positive and announce_hour before from_hour");
        }
        if let Some(o) = &self.outage
            && o.hours <= 0.0
        {
            return bad("outage.hours must be positive");
        }
        if let Some(n) = &self.noise
            && (!rate(n.garbage_rate) || n.unplug_every_hours <= 0.0 || n.unplug_minutes <= 0.0)
        {
            return bad("noise: garbage_rate within 0..=1, unplug periods positive");
        }
        if let Some(w) = &self.watch
            && (w.trucks == 0 || !rate(w.deny_share))
        {
            return bad("watch: trucks must be positive and deny_share within 0..=1");
        }
        Ok(())
    }

    /// Start of the run (UTC).
    pub fn start_utc(&self) -> DateTime<Utc> {
        self.start.with_timezone(&Utc)
    }

    /// End of the run (UTC).
    pub fn end_utc(&self) -> DateTime<Utc> {
        self.start_utc() + TimeDelta::seconds((self.hours * 3600.0) as i64)
    }

    /// The instant `hour` hours after the start.
    pub fn at_hour(&self, hour: f64) -> DateTime<Utc> {
        self.start_utc() + TimeDelta::seconds((hour * 3600.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_parses() {
        for (name, _) in BUILT_IN {
            let s = Scenario::load(name).expect(name);
            assert_eq!(s.name, *name);
        }
    }

    #[test]
    fn bad_scenarios_are_refused_naming_the_field() {
        let text = BUILT_IN[0]
            .1
            .replace("no_show_rate = 0.10", "no_show_rate = 1.5");
        let e = Scenario::parse(&text).expect_err("refused").to_string();
        assert!(e.contains("arrivals.no_show_rate"), "{e}");
        assert!(matches!(
            Scenario::load("no-such-scenario"),
            Err(ScenarioError::Unknown(_))
        ));
    }
}
