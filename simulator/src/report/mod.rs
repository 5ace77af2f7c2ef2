//! The simulation report: KPIs computed from a [`RunRecord`] (and, for the comparison, the
//! record of the `no-appointments` baseline run on the same demand and seed), written as
//! `report.json` and a self-contained `report.html` (inline CSS and SVG charts drawn with
//! `plotters`, no scripts, no external resources) in English or Arabic ([`Lang`]; its words
//! in `words`), and shown in the terminal (English) through [`std::fmt::Display`].
//!
//! Definitions used throughout (also in README.md, "The simulation report"):
//! - **entry**: an IN lane service that passed (ALLOW, or REFER approved by an operator),
//!   counted in the simulated hour of its `left` instant (when it went through the barrier);
//! - **arrival**: an IN lane service, counted in the hour of its `arrived` instant (when the
//!   truck joined the queue);
//! - **waiting time**: `served − arrived` of IN lane services (every one, passed or not);
//! - **turn time**: for the same truck in the same zone, from the `left` instant of an IN
//!   service that passed to the `served` instant (exit recorded) of the next OUT service that
//!   passed; an entry without such an exit counts as *inside at the end*;
//! - **percentiles**: nearest rank on the sorted samples ([`percentile`]), the same helper
//!   everywhere; an empty set gives `None`, shown as "–". Durations are whole milliseconds,
//!   decision latencies whole microseconds, so the JSON holds no NaN and round-trips exactly.
//! - **reduction**: `(baseline − run) / baseline × 100`, to one decimal; `None` when the
//!   baseline figure is missing or zero.
//! - **NOTHING_READ** (a decision key): the lane got no read of the truck at all — its camera
//!   unplugged or every frame lost to line noise, and no tag — so it had nothing to decide.

mod charts;
mod html;
mod text;
mod words;

pub use words::{Lang, Words};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bawaba_domain::passage::Verdict;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::record::{BookingTally, LaneService, RunRecord};

/// How many companies the no-show table lists.
pub const TOP_NO_SHOWS: usize = 10;
/// How many turned-away IN passages the report lists (the first ones of the run).
pub const MAX_TURNED_AWAY: usize = 50;
/// The hourly series cover at most this many hours (a leap year).
pub const MAX_HOURS: usize = 24 * 366;

const HOUR_MS: i64 = 3_600_000;

/// Upper bounds (exclusive, microseconds) of the decision-latency histogram's buckets; a last
/// bucket takes everything above.
pub const LATENCY_BUCKETS_US: [u64; 10] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

/// What can go wrong writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot draw the chart \"{chart}\": {detail}")]
    Chart { chart: String, detail: String },
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub appointments: bool,
    /// The simulated span [start, end), UTC.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Real time the run took, milliseconds (0 if the record held no finite, positive number
    /// of seconds).
    pub wall_ms: u64,
    /// The whole port.
    pub totals: Totals,
    pub zones: Vec<ZoneReport>,
    pub gates: Vec<GateReport>,
    pub no_shows: NoShows,
    /// Gate decision latency, read on the line → barrier command on the line, all gates.
    pub latency: LatencyStats,
    /// The first IN passages that did not go through (denied, referred and not approved, or
    /// undecided), at most [`MAX_TURNED_AWAY`].
    pub turned_away: Vec<TurnedAway>,
    /// The comparison with the baseline run, when one was given.
    pub comparison: Option<Comparison>,
    pub proofs: Vec<ProofRow>,
    pub proofs_passed: bool,
    /// The run's events, in time order.
    pub events: Vec<EventRow>,
    /// What line noise did to camera frames (all zero on a quiet line).
    #[serde(default)]
    pub noise: crate::record::NoiseTally,
    /// Times a lane ignored every read of a truck at its barrier (taken as repeats of the
    /// truck before it, within the hold-off); the truck waited for the hold-off to end.
    #[serde(default)]
    pub ignored_reads: u64,
}

/// Order statistics of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub mean_ms: Option<i64>,
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    pub max_ms: Option<i64>,
}

/// Decision latency, microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyStats {
    pub count: u64,
    pub mean_us: Option<u64>,
    pub p50_us: Option<u64>,
    pub p90_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
    /// One bucket per bound of [`LATENCY_BUCKETS_US`] plus one for everything above.
    pub histogram: Vec<LatencyBucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyBucket {
    /// Exclusive upper bound in microseconds; `None` for the last, open bucket.
    pub below_us: Option<u64>,
    pub count: u64,
}

/// Passages (lane services) by decision and by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PassageCounts {
    pub total: u64,
    /// Decided while the agent was offline.
    pub offline: u64,
    /// `offline / total` in percent, one decimal.
    pub offline_share_pct: Option<f64>,
    /// REFERs an operator approved.
    pub approved_by_operator: u64,
    /// Keys `ALLOW`, `DENY`, `REFER`, `NONE` (no decision), most frequent first.
    pub by_verdict: Vec<CountRow>,
    /// Keys are the reasons' wire names (`BOOKING_VALID`...); a passage with several reasons
    /// counts once under each. Most frequent first.
    pub by_reason: Vec<CountRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    pub key: String,
    pub count: u64,
    /// How many of them were decided offline.
    pub offline: u64,
}

/// One simulated hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRow {
    pub start: DateTime<Utc>,
    /// Capacity of the hour (sum over zones for the port).
    pub capacity: u64,
    /// Bookings held at the end of the run for the hour.
    pub booked: u64,
    pub arrivals: u64,
    pub entries: u64,
    /// Waiting time of the trucks that arrived in the hour.
    pub waiting_p50_ms: Option<i64>,
    pub waiting_p90_ms: Option<i64>,
}

/// The whole port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub bookings: BookingTally,
    pub passages: PassageCounts,
    pub arrivals: u64,
    pub entries: u64,
    /// OUT services that passed.
    pub exits: u64,
    pub capacity: u64,
    /// `entries / capacity` over the run, percent, one decimal.
    pub utilisation_pct: Option<f64>,
    pub waiting: Stats,
    pub turn_time: Stats,
    /// Entries with no exit afterwards: trucks recorded inside at the end.
    pub inside_at_end: u64,
    /// Exits with no entry before them in the same zone.
    pub unmatched_exits: u64,
    /// IN/OUT services outside [start, end) (not in the hourly series).
    pub outside_span: u64,
    pub hourly: Vec<HourRow>,
    pub peak_entries: Option<PeakHour>,
}

/// The busiest hour of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakHour {
    pub start: DateTime<Utc>,
    pub count: u64,
    pub capacity: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneReport {
    pub id: String,
    pub name: String,
    /// The zone's name in Arabic (empty: not given; the Arabic page shows `name`).
    #[serde(default)]
    pub name_ar: String,
    pub bookings: BookingTally,
    pub passages: PassageCounts,
    pub arrivals: u64,
    pub entries: u64,
    pub exits: u64,
    pub capacity: u64,
    pub booked: u64,
    pub utilisation_pct: Option<f64>,
    pub waiting: Stats,
    pub turn_time: Stats,
    pub inside_at_end: u64,
    pub hourly: Vec<HourRow>,
    pub peak_entries: Option<PeakHour>,
}

impl ZoneReport {
    /// The zone's name in `l` (its English name when it has no Arabic one).
    pub fn name_in(&self, l: Lang) -> &str {
        match l {
            Lang::Ar if !self.name_ar.trim().is_empty() => &self.name_ar,
            _ => &self.name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub id: String,
    pub zone: String,
    pub in_lanes: u32,
    pub out_lanes: u32,
    pub passages: PassageCounts,
    pub arrivals: u64,
    pub entries: u64,
    pub exits: u64,
    /// Entries per simulated hour.
    pub hourly_entries: Vec<u64>,
    pub peak_entries: Option<PeakHour>,
    pub waiting: Stats,
    /// Turn times of the trucks that entered through this gate.
    pub turn_time: Stats,
    pub latency: LatencyStats,
}

/// No-shows per company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShows {
    /// As the scheduler's sweep counted them.
    pub swept_total: u64,
    /// As the simulator's ground truth has them (trucks that never came).
    pub ground_truth_total: u64,
    pub companies_with_no_shows: u64,
    /// The [`TOP_NO_SHOWS`] companies with the most, most first.
    pub top: Vec<NoShowRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowRow {
    pub company: String,
    pub swept: u64,
    pub ground_truth: u64,
    /// Trucks of the day from this company.
    pub trucks: u64,
    pub fleet: Option<u32>,
}

/// An IN passage that did not go through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnedAway {
    pub at: DateTime<Utc>,
    pub zone: String,
    pub gate: String,
    pub lane: String,
    pub plate: String,
    pub behaviour: String,
    /// `DENY`, `REFER` or `NONE`.
    pub verdict: String,
    pub reasons: Vec<String>,
    pub offline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRow {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub what: String,
}

/// This run against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_scenario: String,
    pub baseline_seed: u64,
    /// Whether both runs used the same seed (the same demand).
    pub same_seed: bool,
    /// The whole port.
    pub port: SideBySide,
    pub zones: Vec<ZoneComparison>,
    /// The baseline's port-wide hourly series.
    pub baseline_hourly: Vec<HourRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneComparison {
    pub zone: String,
    pub figures: SideBySide,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideBySide {
    pub run: SideFigures,
    pub baseline: SideFigures,
    pub waiting_mean_reduction_pct: Option<f64>,
    pub waiting_p90_reduction_pct: Option<f64>,
    pub turn_mean_reduction_pct: Option<f64>,
    pub turn_p90_reduction_pct: Option<f64>,
}

/// One duration row of the comparison: its name's key in the catalogue (`words`), this run,
/// the baseline (ms), the reduction (%).
pub type DurationRow = (&'static str, Option<i64>, Option<i64>, Option<f64>);

impl SideBySide {
    /// The duration rows every rendering of the comparison shows, in order.
    pub fn duration_rows(&self) -> [DurationRow; 4] {
        let (r, b) = (&self.run, &self.baseline);
        [
            (
                "cmp.waiting_mean",
                r.waiting.mean_ms,
                b.waiting.mean_ms,
                self.waiting_mean_reduction_pct,
            ),
            (
                "cmp.waiting_p90",
                r.waiting.p90_ms,
                b.waiting.p90_ms,
                self.waiting_p90_reduction_pct,
            ),
            (
                "cmp.turn_mean",
                r.turn_time.mean_ms,
                b.turn_time.mean_ms,
                self.turn_mean_reduction_pct,
            ),
            (
                "cmp.turn_p90",
                r.turn_time.p90_ms,
                b.turn_time.p90_ms,
                self.turn_p90_reduction_pct,
            ),
        ]
    }
}

/// One run's side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideFigures {
    pub arrivals: u64,
    /// The hour with the most arrivals, with its capacity (the record's own calendar; for a
    /// baseline without one, the appointment run's).
    pub peak_arrivals: Option<PeakHour>,
    /// Peak-hour arrivals against the hour's capacity, percent, one decimal.
    pub peak_load_pct: Option<f64>,
    pub waiting: Stats,
    pub turn_time: Stats,
}

use bawaba_domain::stats::percentile;

/// `(baseline − run) / baseline × 100`, one decimal; `None` unless both are known and the
/// baseline is positive.
pub fn reduction_pct(run: Option<i64>, baseline: Option<i64>) -> Option<f64> {
    let (run, baseline) = (run?, baseline?);
    if baseline <= 0 {
        return None;
    }
    Some(round1((baseline - run) as f64 / baseline as f64 * 100.0))
}

fn round1(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    if r.is_finite() { r } else { 0.0 }
}

fn ratio_pct(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| round1(num as f64 / den as f64 * 100.0))
}

impl Stats {
    /// Statistics of `samples` (milliseconds), in any order.
    pub fn of(mut samples: Vec<i64>) -> Stats {
        samples.sort_unstable();
        let n = samples.len();
        let mean_ms = (n > 0).then(|| {
            let sum: i128 = samples.iter().map(|&s| i128::from(s)).sum();
            (sum as f64 / n as f64).round() as i64
        });
        Stats {
            count: n as u64,
            mean_ms,
            p50_ms: percentile(&samples, 50),
            p90_ms: percentile(&samples, 90),
            p99_ms: percentile(&samples, 99),
            max_ms: samples.last().copied(),
        }
    }
}

impl LatencyStats {
    /// Statistics of `samples` (microseconds), in any order.
    pub fn of(mut samples: Vec<u64>) -> LatencyStats {
        samples.sort_unstable();
        let n = samples.len();
        let mean_us = (n > 0).then(|| {
            let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
            (sum as f64 / n as f64).round() as u64
        });
        let mut histogram: Vec<LatencyBucket> = LATENCY_BUCKETS_US
            .iter()
            .map(|&b| LatencyBucket {
                below_us: Some(b),
                count: 0,
            })
            .chain(std::iter::once(LatencyBucket {
                below_us: None,
                count: 0,
            }))
            .collect();
        for &s in &samples {
            let i = LATENCY_BUCKETS_US
                .iter()
                .position(|&b| s < b)
                .unwrap_or(LATENCY_BUCKETS_US.len());
            if let Some(bucket) = histogram.get_mut(i) {
                bucket.count += 1;
            }
        }
        LatencyStats {
            count: n as u64,
            mean_us,
            p50_us: percentile(&samples, 50),
            p90_us: percentile(&samples, 90),
            p99_us: percentile(&samples, 99),
            max_us: samples.last().copied(),
            histogram,
        }
    }
}

fn ms_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds()
}

fn is_in(s: &LaneService) -> bool {
    s.direction.trim().eq_ignore_ascii_case("IN")
}

fn is_out(s: &LaneService) -> bool {
    s.direction.trim().eq_ignore_ascii_case("OUT")
}

/// The decision key of a service whose lane read nothing of the truck.
pub const NOTHING_READ: &str = "NOTHING_READ";

fn verdict_key(v: Option<Verdict>) -> &'static str {
    v.map_or(NOTHING_READ, Verdict::as_str)
}

/// The hour grid of a record: its start and number of hours.
#[derive(Debug, Clone, Copy)]
struct Grid {
    start: DateTime<Utc>,
    hours: usize,
}

impl Grid {
    fn of(run: &RunRecord) -> Grid {
        let span = ms_between(run.start, run.end);
        let span_hours = if span > 0 {
            usize::try_from(span / HOUR_MS + i64::from(span % HOUR_MS != 0)).unwrap_or(MAX_HOURS)
        } else {
            0
        };
        let cal_hours = run
            .zones
            .iter()
            .map(|z| z.hourly_capacity.len().max(z.hourly_booked.len()))
            .max()
            .unwrap_or(0);
        Grid {
            start: run.start,
            hours: span_hours.max(cal_hours).min(MAX_HOURS),
        }
    }

    fn index(&self, t: DateTime<Utc>) -> Option<usize> {
        let ms = ms_between(self.start, t);
        if ms < 0 {
            return None;
        }
        let i = usize::try_from(ms / HOUR_MS).ok()?;
        (i < self.hours).then_some(i)
    }

    fn hour_start(&self, i: usize) -> DateTime<Utc> {
        let delta = TimeDelta::try_hours(i as i64).unwrap_or_default();
        self.start.checked_add_signed(delta).unwrap_or(self.start)
    }
}

/// Counts per hour over a grid.
fn hourly_counts<'a>(grid: Grid, times: impl Iterator<Item = DateTime<Utc>> + 'a) -> Vec<u64> {
    let mut v = vec![0u64; grid.hours];
    for t in times {
        if let Some(i) = grid.index(t) {
            v[i] += 1;
        }
    }
    v
}

fn passed_in(s: &LaneService) -> bool {
    is_in(s) && s.passed()
}

fn passed_out(s: &LaneService) -> bool {
    is_out(s) && s.passed()
}

fn passage_counts<'a>(services: impl Iterator<Item = &'a LaneService>) -> PassageCounts {
    let mut c = PassageCounts::default();
    let mut verdicts: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    let mut reasons: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for s in services {
        c.total += 1;
        let off = u64::from(s.offline);
        c.offline += off;
        c.approved_by_operator += u64::from(s.approved_by_operator);
        let e = verdicts.entry(verdict_key(s.verdict)).or_default();
        e.0 += 1;
        e.1 += off;
        for r in &s.reasons {
            let e = reasons.entry(r.as_str()).or_default();
            e.0 += 1;
            e.1 += off;
        }
    }
    c.offline_share_pct = ratio_pct(c.offline, c.total);
    let rows = |m: BTreeMap<&'static str, (u64, u64)>| {
        let mut v: Vec<CountRow> = m
            .into_iter()
            .map(|(k, (count, offline))| CountRow {
                key: k.to_owned(),
                count,
                offline,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        v
    };
    c.by_verdict = rows(verdicts);
    c.by_reason = rows(reasons);
    c
}

/// One turn time, or one truck still inside.
#[derive(Debug, Clone)]
struct Turn<'a> {
    zone: &'a str,
    /// The gate it entered through.
    gate: &'a str,
    /// `None`: still inside at the end.
    ms: Option<i64>,
}

/// Pairs entries and exits of the same truck in the same zone (see the module docs).
/// Returns the turns (and open entries) and the number of unmatched exits per zone.
fn turns(services: &[LaneService]) -> (Vec<Turn<'_>>, BTreeMap<&str, u64>) {
    // (truck, zone) → [(instant, is_entry, service)]
    type Visits<'a> = Vec<(DateTime<Utc>, bool, &'a LaneService)>;
    let mut by_truck: BTreeMap<(usize, &str), Visits<'_>> = BTreeMap::new();
    for s in services {
        if passed_in(s) {
            by_truck
                .entry((s.truck, s.zone.as_str()))
                .or_default()
                .push((s.left, true, s));
        } else if passed_out(s) {
            by_truck
                .entry((s.truck, s.zone.as_str()))
                .or_default()
                .push((s.served, false, s));
        }
    }
    let mut out = Vec::new();
    let mut unmatched: BTreeMap<&str, u64> = BTreeMap::new();
    for ((_, zone), mut evs) in by_truck {
        // Exits sort after entries at the same instant.
        evs.sort_by_key(|&(t, entry, _)| (t, !entry));
        let mut open: Option<(DateTime<Utc>, &LaneService)> = None;
        for (t, entry, s) in evs {
            match (entry, open) {
                (true, None) => open = Some((t, s)),
                // A second entry without an exit: the first stays open.
                (true, Some(_)) => {}
                (false, Some((t_in, s_in))) => {
                    out.push(Turn {
                        zone,
                        gate: &s_in.gate,
                        ms: Some(ms_between(t_in, t)),
                    });
                    open = None;
                }
                (false, None) => *unmatched.entry(zone).or_default() += 1,
            }
        }
        if let Some((_, s_in)) = open {
            out.push(Turn {
                zone,
                gate: &s_in.gate,
                ms: None,
            });
        }
    }
    (out, unmatched)
}

/// Port-wide or per-zone hourly rows.
fn hour_rows(
    grid: Grid,
    run: &RunRecord,
    zone: Option<&str>,
    capacity_fallback: Option<&RunRecord>,
) -> Vec<HourRow> {
    let in_zone = |z: &str| zone.is_none_or(|want| want == z);
    let ins: Vec<&LaneService> = run
        .services
        .iter()
        .filter(|s| is_in(s) && in_zone(&s.zone))
        .collect();
    let arrivals = hourly_counts(grid, ins.iter().map(|s| s.arrived));
    let entries = hourly_counts(grid, ins.iter().filter(|s| s.passed()).map(|s| s.left));
    let mut waits: Vec<Vec<i64>> = vec![Vec::new(); grid.hours];
    for s in &ins {
        if let Some(i) = grid.index(s.arrived) {
            waits[i].push(ms_between(s.arrived, s.served));
        }
    }
    let calendar_zones = |r: &RunRecord| -> Vec<(Vec<u32>, Vec<u32>)> {
        r.zones
            .iter()
            .filter(|z| in_zone(&z.id))
            .map(|z| (z.hourly_capacity.clone(), z.hourly_booked.clone()))
            .collect()
    };
    let mut cal = calendar_zones(run);
    if cal.iter().all(|(c, _)| c.is_empty())
        && let Some(fb) = capacity_fallback
    {
        cal = calendar_zones(fb)
            .into_iter()
            .map(|(c, _)| (c, Vec::new()))
            .collect();
    }
    (0..grid.hours)
        .map(|i| {
            let mut w = std::mem::take(&mut waits[i]);
            w.sort_unstable();
            HourRow {
                start: grid.hour_start(i),
                capacity: cal
                    .iter()
                    .map(|(c, _)| u64::from(c.get(i).copied().unwrap_or(0)))
                    .sum(),
                booked: cal
                    .iter()
                    .map(|(_, b)| u64::from(b.get(i).copied().unwrap_or(0)))
                    .sum(),
                arrivals: arrivals[i],
                entries: entries[i],
                waiting_p50_ms: percentile(&w, 50),
                waiting_p90_ms: percentile(&w, 90),
            }
        })
        .collect()
}

fn peak(rows: &[HourRow], count: impl Fn(&HourRow) -> u64) -> Option<PeakHour> {
    // The first hour with the highest count; none if every hour is empty.
    let mut best: Option<&HourRow> = None;
    for r in rows {
        if count(r) > 0 && best.is_none_or(|b| count(r) > count(b)) {
            best = Some(r);
        }
    }
    best.map(|r| PeakHour {
        start: r.start,
        count: count(r),
        capacity: r.capacity,
    })
}

fn side_figures(
    run: &RunRecord,
    zone: Option<&str>,
    capacity_fallback: Option<&RunRecord>,
) -> SideFigures {
    let grid = Grid::of(run);
    let rows = hour_rows(grid, run, zone, capacity_fallback);
    let in_zone = |z: &str| zone.is_none_or(|want| want == z);
    let ins = run.services.iter().filter(|s| is_in(s) && in_zone(&s.zone));
    let waiting = Stats::of(
        ins.clone()
            .map(|s| ms_between(s.arrived, s.served))
            .collect(),
    );
    let (turns, _) = turns(&run.services);
    let turn_time = Stats::of(
        turns
            .iter()
            .filter(|t| in_zone(t.zone))
            .filter_map(|t| t.ms)
            .collect(),
    );
    let peak_arrivals = peak(&rows, |r| r.arrivals);
    let peak_load_pct = peak_arrivals
        .as_ref()
        .and_then(|p| ratio_pct(p.count, p.capacity));
    SideFigures {
        arrivals: ins.count() as u64,
        peak_arrivals,
        peak_load_pct,
        waiting,
        turn_time,
    }
}

fn side_by_side(run: SideFigures, baseline: SideFigures) -> SideBySide {
    SideBySide {
        waiting_mean_reduction_pct: reduction_pct(run.waiting.mean_ms, baseline.waiting.mean_ms),
        waiting_p90_reduction_pct: reduction_pct(run.waiting.p90_ms, baseline.waiting.p90_ms),
        turn_mean_reduction_pct: reduction_pct(run.turn_time.mean_ms, baseline.turn_time.mean_ms),
        turn_p90_reduction_pct: reduction_pct(run.turn_time.p90_ms, baseline.turn_time.p90_ms),
        run,
        baseline,
    }
}

impl Report {
    /// Computes the report of `run`, compared with `baseline` when given.
    pub fn build(run: &RunRecord, baseline: Option<&RunRecord>) -> Report {
        let grid = Grid::of(run);
        let (turn_list, unmatched) = turns(&run.services);

        // Zones: the record's, then any other zone id the bookings or services name.
        let mut zone_ids: Vec<(String, String)> = run
            .zones
            .iter()
            .map(|z| (z.id.clone(), z.name.clone()))
            .collect();
        let known: BTreeSet<String> = zone_ids.iter().map(|(id, _)| id.clone()).collect();
        let extra: BTreeSet<&String> = run
            .bookings
            .keys()
            .chain(run.services.iter().map(|s| &s.zone))
            .chain(run.gates.iter().map(|g| &g.zone))
            .filter(|z| !known.contains(*z))
            .collect();
        zone_ids.extend(extra.into_iter().map(|z| (z.clone(), z.clone())));
        let mut seen = BTreeSet::new();
        zone_ids.retain(|(id, _)| seen.insert(id.clone()));

        let zones: Vec<ZoneReport> = zone_ids
            .iter()
            .map(|(id, name)| {
                let svc = run.services.iter().filter(|s| &s.zone == id);
                let hourly = hour_rows(grid, run, Some(id), None);
                let capacity: u64 = hourly.iter().map(|h| h.capacity).sum();
                let entries = svc.clone().filter(|s| passed_in(s)).count() as u64;
                let zone_turns = turn_list.iter().filter(|t| t.zone == id);
                ZoneReport {
                    id: id.clone(),
                    name: name.clone(),
                    name_ar: run
                        .zones
                        .iter()
                        .find(|z| &z.id == id)
                        .map(|z| z.name_ar.clone())
                        .unwrap_or_default(),
                    bookings: run.bookings.get(id).cloned().unwrap_or_default(),
                    passages: passage_counts(svc.clone()),
                    arrivals: svc.clone().filter(|s| is_in(s)).count() as u64,
                    entries,
                    exits: svc.clone().filter(|s| passed_out(s)).count() as u64,
                    capacity,
                    booked: hourly.iter().map(|h| h.booked).sum(),
                    utilisation_pct: ratio_pct(entries, capacity),
                    waiting: Stats::of(
                        svc.filter(|s| is_in(s))
                            .map(|s| ms_between(s.arrived, s.served))
                            .collect(),
                    ),
                    turn_time: Stats::of(zone_turns.clone().filter_map(|t| t.ms).collect()),
                    inside_at_end: zone_turns.filter(|t| t.ms.is_none()).count() as u64,
                    peak_entries: peak(&hourly, |h| h.entries),
                    hourly,
                }
            })
            .collect();

        // Gates: the record's, then any other gate the services name.
        let mut gate_ids: Vec<(String, String, u32, u32)> = run
            .gates
            .iter()
            .map(|g| {
                let ins = g
                    .lanes
                    .iter()
                    .filter(|l| l.direction.eq_ignore_ascii_case("IN"))
                    .count();
                let outs = g
                    .lanes
                    .iter()
                    .filter(|l| l.direction.eq_ignore_ascii_case("OUT"))
                    .count();
                (g.id.clone(), g.zone.clone(), ins as u32, outs as u32)
            })
            .collect();
        let mut seen_gates: BTreeSet<(String, String)> = gate_ids
            .iter()
            .map(|(g, z, ..)| (g.clone(), z.clone()))
            .collect();
        for s in &run.services {
            if seen_gates.insert((s.gate.clone(), s.zone.clone())) {
                gate_ids.push((s.gate.clone(), s.zone.clone(), 0, 0));
            }
        }
        let gates: Vec<GateReport> = gate_ids
            .into_iter()
            .map(|(id, zone, in_lanes, out_lanes)| {
                let svc = run
                    .services
                    .iter()
                    .filter(|s| s.gate == id && s.zone == zone);
                let hourly_entries =
                    hourly_counts(grid, svc.clone().filter(|s| passed_in(s)).map(|s| s.left));
                let peak_entries = hourly_entries
                    .iter()
                    .enumerate()
                    .filter(|&(_, &c)| c > 0)
                    .fold(None::<(usize, u64)>, |best, (i, &c)| match best {
                        Some((_, b)) if b >= c => best,
                        _ => Some((i, c)),
                    })
                    .map(|(i, c)| PeakHour {
                        start: grid.hour_start(i),
                        count: c,
                        capacity: zones
                            .iter()
                            .find(|z| z.id == zone)
                            .and_then(|z| z.hourly.get(i))
                            .map_or(0, |h| h.capacity),
                    });
                GateReport {
                    passages: passage_counts(svc.clone()),
                    arrivals: svc.clone().filter(|s| is_in(s)).count() as u64,
                    entries: svc.clone().filter(|s| passed_in(s)).count() as u64,
                    exits: svc.clone().filter(|s| passed_out(s)).count() as u64,
                    hourly_entries,
                    peak_entries,
                    waiting: Stats::of(
                        svc.clone()
                            .filter(|s| is_in(s))
                            .map(|s| ms_between(s.arrived, s.served))
                            .collect(),
                    ),
                    turn_time: Stats::of(
                        turn_list
                            .iter()
                            .filter(|t| t.gate == id && t.zone == zone)
                            .filter_map(|t| t.ms)
                            .collect(),
                    ),
                    latency: LatencyStats::of(svc.filter_map(|s| s.latency_us).collect()),
                    id,
                    zone,
                    in_lanes,
                    out_lanes,
                }
            })
            .collect();

        let hourly = hour_rows(grid, run, None, None);
        let mut bookings = BookingTally::default();
        for t in run.bookings.values() {
            bookings.made += t.made;
            bookings.refused += t.refused;
            bookings.rebooked += t.rebooked;
            bookings.moved += t.moved;
            bookings.cancelled += t.cancelled;
            bookings.closure_hit += t.closure_hit;
            bookings.closure_moved += t.closure_moved;
            bookings.closure_cancelled += t.closure_cancelled;
            bookings.closure_delay_minutes += t.closure_delay_minutes;
        }
        let entries = run.services.iter().filter(|s| passed_in(s)).count() as u64;
        let capacity: u64 = hourly.iter().map(|h| h.capacity).sum();
        let totals = Totals {
            bookings,
            passages: passage_counts(run.services.iter()),
            arrivals: run.services.iter().filter(|s| is_in(s)).count() as u64,
            entries,
            exits: run.services.iter().filter(|s| passed_out(s)).count() as u64,
            capacity,
            utilisation_pct: ratio_pct(entries, capacity),
            waiting: Stats::of(
                run.services
                    .iter()
                    .filter(|s| is_in(s))
                    .map(|s| ms_between(s.arrived, s.served))
                    .collect(),
            ),
            turn_time: Stats::of(turn_list.iter().filter_map(|t| t.ms).collect()),
            inside_at_end: turn_list.iter().filter(|t| t.ms.is_none()).count() as u64,
            unmatched_exits: unmatched.values().sum(),
            outside_span: run
                .services
                .iter()
                .filter(|s| (is_in(s) || is_out(s)) && grid.index(s.arrived).is_none())
                .count() as u64,
            peak_entries: peak(&hourly, |h| h.entries),
            hourly,
        };

        let comparison = baseline.map(|b| Comparison {
            baseline_scenario: b.scenario.clone(),
            baseline_seed: b.seed,
            same_seed: b.seed == run.seed,
            port: side_by_side(
                side_figures(run, None, None),
                side_figures(b, None, Some(run)),
            ),
            zones: zone_ids
                .iter()
                .map(|(id, _)| ZoneComparison {
                    zone: id.clone(),
                    figures: side_by_side(
                        side_figures(run, Some(id), None),
                        side_figures(b, Some(id), Some(run)),
                    ),
                })
                .collect(),
            baseline_hourly: hour_rows(Grid::of(b), b, None, Some(run)),
        });

        let mut events: Vec<EventRow> = run
            .events
            .iter()
            .map(|e| EventRow {
                at: e.at,
                what: e.what.clone(),
            })
            .collect();
        events.sort_by_key(|e| e.at);

        Report {
            scenario: run.scenario.clone(),
            seed: run.seed,
            appointments: run.appointments,
            start: run.start,
            end: run.end,
            // A saturating cast: NaN gives 0, negatives 0, huge values u64::MAX.
            wall_ms: (run.wall_seconds * 1000.0).round() as u64,
            totals,
            zones,
            gates,
            no_shows: no_shows(run),
            latency: LatencyStats::of(run.services.iter().filter_map(|s| s.latency_us).collect()),
            turned_away: turned_away(run),
            comparison,
            proofs: run
                .proofs
                .iter()
                .map(|p| ProofRow {
                    name: p.name.clone(),
                    passed: p.passed,
                    detail: p.detail.clone(),
                })
                .collect(),
            proofs_passed: run.proofs_passed(),
            events,
            noise: run.noise,
            ignored_reads: run.ignored_reads,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The report as one self-contained HTML page in `lang`.
    pub fn to_html(&self, lang: Lang) -> Result<String, ReportError> {
        html::page(self, lang)
    }

    /// Writes `report.json` and `report.html` (in `lang`) into `dir` (created if missing);
    /// returns their paths.
    pub fn write(&self, dir: &Path, lang: Lang) -> Result<(PathBuf, PathBuf), ReportError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let json_path = dir.join("report.json");
        let html_path = dir.join("report.html");
        let json = self.to_json()?;
        let html = self.to_html(lang)?;
        std::fs::write(&json_path, json).map_err(io(&json_path))?;
        std::fs::write(&html_path, html).map_err(io(&html_path))?;
        Ok((json_path, html_path))
    }

    /// The waiting-time reduction against the baseline (mean), if there is one.
    pub fn waiting_reduction_pct(&self) -> Option<f64> {
        self.comparison
            .as_ref()
            .and_then(|c| c.port.waiting_mean_reduction_pct)
    }
}

fn no_shows(run: &RunRecord) -> NoShows {
    let mut truth: HashMap<&str, u64> = HashMap::new();
    let mut trucks: HashMap<&str, u64> = HashMap::new();
    for t in &run.trucks {
        *trucks.entry(&t.company).or_default() += 1;
        if t.no_show {
            *truth.entry(&t.company).or_default() += 1;
        }
    }
    let fleets: HashMap<&str, u32> = run
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.fleet))
        .collect();
    let companies: BTreeSet<&str> = run
        .no_shows
        .iter()
        .filter(|&(_, &n)| n > 0)
        .map(|(c, _)| c.as_str())
        .chain(truth.keys().copied())
        .collect();
    let mut rows: Vec<NoShowRow> = companies
        .iter()
        .map(|&c| NoShowRow {
            company: c.to_owned(),
            swept: run.no_shows.get(c).copied().unwrap_or(0),
            ground_truth: truth.get(c).copied().unwrap_or(0),
            trucks: trucks.get(c).copied().unwrap_or(0),
            fleet: fleets.get(c).copied(),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.swept
            .cmp(&a.swept)
            .then_with(|| b.ground_truth.cmp(&a.ground_truth))
            .then_with(|| a.company.cmp(&b.company))
    });
    let companies_with_no_shows = rows.len() as u64;
    rows.truncate(TOP_NO_SHOWS);
    NoShows {
        swept_total: run.no_shows.values().sum(),
        ground_truth_total: truth.values().sum(),
        companies_with_no_shows,
        top: rows,
    }
}

fn turned_away(run: &RunRecord) -> Vec<TurnedAway> {
    let mut v: Vec<TurnedAway> = run
        .services
        .iter()
        .filter(|s| is_in(s) && !s.passed())
        .map(|s| {
            let truck = run.trucks.get(s.truck);
            TurnedAway {
                at: s.served,
                zone: s.zone.clone(),
                gate: s.gate.clone(),
                lane: s.lane.clone(),
                plate: truck.map_or_else(|| format!("truck #{}", s.truck), |t| t.plate.clone()),
                behaviour: truck.map_or_else(String::new, |t| t.behaviour.clone()),
                verdict: verdict_key(s.verdict).to_owned(),
                reasons: s.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
                offline: s.offline,
            }
        })
        .collect();
    v.sort_by_key(|t| t.at);
    v.truncate(MAX_TURNED_AWAY);
    v
}

/// Formatting shared by the HTML page and the terminal summary (English).
mod fmt {
    use bawaba_domain::calendar::LOCAL_TZ;
    use chrono::{DateTime, Datelike, Utc};

    use super::words::{Lang, WEEKDAYS, Words};

    pub const NONE: &str = "–";

    /// A local (Asia/Amman) date and time.
    pub fn local(t: DateTime<Utc>) -> String {
        t.with_timezone(&LOCAL_TZ)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// A local time of day (or weekday and time for runs over a day).
    pub fn local_hour(l: Lang, t: DateTime<Utc>, long_run: bool) -> String {
        let t = t.with_timezone(&LOCAL_TZ);
        let time = t.format("%H:%M");
        match WEEKDAYS.get(t.weekday().num_days_from_monday() as usize) {
            Some(&day) if long_run => format!("{} {time}", l.word(day)),
            _ => time.to_string(),
        }
    }

    /// A duration in milliseconds, human-sized, with the language's units (milliseconds stay
    /// `ms`, as latencies do on the dashboard).
    pub fn dur(l: Lang, ms: Option<i64>) -> String {
        let Some(ms) = ms else { return NONE.to_owned() };
        let sign = if ms < 0 { "-" } else { "" };
        let a = ms.unsigned_abs();
        if a < 1_000 {
            format!("{sign}{a} ms")
        } else if a < 120_000 {
            format!("{sign}{:.1} {}", a as f64 / 1000.0, l.word("unit.s"))
        } else if a < 7_200_000 {
            format!("{sign}{:.1} {}", a as f64 / 60_000.0, l.word("unit.min"))
        } else {
            format!("{sign}{:.1} {}", a as f64 / 3_600_000.0, l.word("unit.h"))
        }
    }

    /// A latency in microseconds (`µs`, `ms` in both languages, as on the dashboard).
    pub fn us(v: Option<u64>) -> String {
        match v {
            None => NONE.to_owned(),
            Some(v) if v < 1_000 => format!("{v} µs"),
            Some(v) => format!("{:.2} ms", v as f64 / 1000.0),
        }
    }

    pub fn pct(v: Option<f64>) -> String {
        v.map_or_else(|| NONE.to_owned(), |v| format!("{v:.1}%"))
    }

    /// A latency bucket's label.
    pub fn bucket(l: Lang, prev: Option<u64>, below: Option<u64>) -> String {
        let ms = |v: u64| {
            if v.is_multiple_of(1000) {
                format!("{}", v / 1000)
            } else {
                format!("{}", v as f64 / 1000.0)
            }
        };
        match (prev, below) {
            (None, Some(b)) => format!("<{} ms", ms(b)),
            (Some(p), Some(b)) => format!("{}–{} ms", ms(p), ms(b)),
            (Some(p), None) => format!("≥{} ms", ms(p)),
            (None, None) => l.word("bucket.all").to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
