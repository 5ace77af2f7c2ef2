//! The dashboard's figures, computed from what the store answers. Pure: no I/O, no clock;
//! every function takes the data and the day (a local day in Asia/Amman) it reports on.

use std::collections::{BTreeMap, HashMap};

use bawaba_domain::calendar::{Closure, LOCAL_TZ, ZoneConfig};
use bawaba_domain::ids::{CompanyId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::{Booking, BookingState, Direction, Gate, WindowView};
use bawaba_domain::passage::{Passage, Referral, ReferralState, Verdict};
use bawaba_domain::stats::percentile;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::Error;

mod reports;
pub use reports::{GateReport, HOLDING_AFTER, gate_reports};

/// One local day (Asia/Amman) as a UTC interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The UTC instant of a local midnight (the first instant of the day when midnight does not
/// exist locally, as on a historical daylight-saving switch at midnight).
fn local_start(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..3)
        .find_map(|h| {
            LOCAL_TZ
                .from_local_datetime(&(midnight + TimeDelta::hours(h)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

impl Day {
    pub fn new(date: NaiveDate) -> Day {
        let next = date.succ_opt().unwrap_or(date);
        Day {
            date,
            start: local_start(date),
            end: local_start(next),
        }
    }

    /// The local day containing `now`.
    pub fn containing(now: DateTime<Utc>) -> Day {
        Day::new(now.with_timezone(&LOCAL_TZ).date_naive())
    }

    /// `?day=YYYY-MM-DD`, or the local day containing `now` when absent or empty.
    pub fn parse(raw: Option<&str>, now: DateTime<Utc>) -> Result<Day, Error> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Day::containing(now)),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Day::new)
                .map_err(|_| Error::invalid("day", format!("{s:?} is not a date YYYY-MM-DD"))),
        }
    }

    /// Hours in the day (24, or 23/25 across a daylight-saving change).
    pub fn hours(&self) -> usize {
        usize::try_from(((self.end - self.start).num_minutes() + 59) / 60).unwrap_or(24)
    }

    /// Which hour of the day `t` falls in.
    pub fn hour_of(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.start || t >= self.end {
            return None;
        }
        usize::try_from((t - self.start).num_minutes() / 60).ok()
    }

    /// Local labels of the hours, `00:00` … `23:00`.
    pub fn hour_labels(&self) -> Vec<String> {
        (0..self.hours())
            .map(|h| local_hm(self.start + TimeDelta::hours(h as i64)))
            .collect()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// `HH:MM` in Asia/Amman.
pub fn local_hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ).format("%H:%M").to_string()
}

/// `YYYY-MM-DD HH:MM` in Asia/Amman.
pub fn local_datetime(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `HH:MM:SS` in Asia/Amman.
pub fn local_hms(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ).format("%H:%M:%S").to_string()
}

/// The passages that let a truck through, and when: an ALLOW when it was decided, an
/// approved referral when the operator approved it (the barrier opens then).
pub fn passed_at(
    p: &Passage,
    approved: &HashMap<PassageId, DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match p.verdict {
        Verdict::Allow => Some(p.decided_at),
        Verdict::Refer => approved.get(&p.id).copied(),
        Verdict::Deny => None,
    }
}

/// When each approved referral was approved.
pub fn approvals(referrals: &[Referral]) -> HashMap<PassageId, DateTime<Utc>> {
    referrals
        .iter()
        .filter(|r| r.state == ReferralState::Approved)
        .map(|r| (r.passage.id, r.resolved_at.unwrap_or(r.passage.decided_at)))
        .collect()
}

// ---- throughput ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Throughput {
    pub day: String,
    /// Local hour labels; every series below has one value per hour.
    pub hours: Vec<String>,
    pub zones: Vec<ZoneThroughput>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ZoneThroughput {
    pub zone: String,
    pub name: String,
    /// The name in Arabic (empty: not given).
    pub name_ar: String,
    /// Trucks let in per hour (ALLOW on an IN lane, or an approved referral).
    pub entries: Vec<u32>,
    /// Trucks let out per hour.
    pub exits: Vec<u32>,
    /// Booking capacity of the windows starting in that hour (0 when closed).
    pub capacity: Vec<u32>,
    /// Bookings held in the windows starting in that hour.
    pub booked: Vec<u32>,
    pub gates: Vec<GateThroughput>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GateThroughput {
    pub gate: String,
    pub name: String,
    pub name_ar: String,
    pub entries: Vec<u32>,
    pub exits: Vec<u32>,
}

/// Trucks through each zone and gate per local hour, against the zone's capacity.
pub fn throughput(
    day: &Day,
    zones: &[ZoneConfig],
    gates: &[Gate],
    windows: &BTreeMap<ZoneId, Vec<WindowView>>,
    passages: &[Passage],
    approved: &HashMap<PassageId, DateTime<Utc>>,
) -> Throughput {
    let hours = day.hours();
    let mut out: Vec<ZoneThroughput> = zones
        .iter()
        .map(|z| {
            let mut capacity = vec![0; hours];
            let mut booked = vec![0; hours];
            for w in windows.get(&z.id).into_iter().flatten() {
                if let Some(h) = day.hour_of(w.start) {
                    if w.closure.is_none() {
                        capacity[h] += w.capacity.total;
                    }
                    booked[h] += w.booked;
                }
            }
            ZoneThroughput {
                zone: z.id.to_string(),
                name: z.name.clone(),
                name_ar: z.name_ar.clone(),
                entries: vec![0; hours],
                exits: vec![0; hours],
                capacity,
                booked,
                gates: gates
                    .iter()
                    .filter(|g| g.zone == z.id)
                    .map(|g| GateThroughput {
                        gate: g.id.to_string(),
                        name: g.name.clone(),
                        name_ar: g.name_ar.clone(),
                        entries: vec![0; hours],
                        exits: vec![0; hours],
                    })
                    .collect(),
            }
        })
        .collect();
    for p in passages {
        let Some(h) = passed_at(p, approved).and_then(|t| day.hour_of(t)) else {
            continue;
        };
        let Some(z) = out.iter_mut().find(|z| z.zone == p.zone.as_str()) else {
            continue;
        };
        let gate = match z.gates.iter().position(|g| g.gate == p.gate.as_str()) {
            Some(i) => i,
            None => {
                z.gates.push(GateThroughput {
                    gate: p.gate.to_string(),
                    name: p.gate.to_string(),
                    name_ar: String::new(),
                    entries: vec![0; hours],
                    exits: vec![0; hours],
                });
                z.gates.len() - 1
            }
        };
        match p.direction {
            Direction::In => {
                z.entries[h] += 1;
                z.gates[gate].entries[h] += 1;
            }
            Direction::Out => {
                z.exits[h] += 1;
                z.gates[gate].exits[h] += 1;
            }
        }
    }
    Throughput {
        day: day.date.to_string(),
        hours: day.hour_labels(),
        zones: out,
    }
}

// ---- slot use --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ZoneSlots {
    pub zone: String,
    pub name: String,
    /// The name in Arabic (empty: not given).
    pub name_ar: String,
    pub slot_minutes: u32,
    pub windows: Vec<SlotCell>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlotCell {
    pub start: DateTime<Utc>,
    /// Local start, `HH:MM`.
    pub local: String,
    pub booked: u32,
    pub capacity: u32,
    /// booked / capacity (0 when the capacity is 0).
    pub fill: f64,
    /// The closure's reason, when the window is closed.
    pub closed: Option<String>,
}

/// The heat map: each zone's windows of the day with their fill.
pub fn slots(
    day: &Day,
    zones: &[ZoneConfig],
    windows: &BTreeMap<ZoneId, Vec<WindowView>>,
) -> Vec<ZoneSlots> {
    zones
        .iter()
        .map(|z| ZoneSlots {
            zone: z.id.to_string(),
            name: z.name.clone(),
            name_ar: z.name_ar.clone(),
            slot_minutes: z.slot.minutes(),
            windows: windows
                .get(&z.id)
                .into_iter()
                .flatten()
                .filter(|w| day.contains(w.start))
                .map(|w| SlotCell {
                    start: w.start,
                    local: local_hm(w.start),
                    booked: w.booked,
                    capacity: w.capacity.total,
                    fill: if w.capacity.total == 0 {
                        0.0
                    } else {
                        f64::from(w.booked) / f64::from(w.capacity.total)
                    },
                    closed: w.closure.clone(),
                })
                .collect(),
        })
        .collect()
}

// ---- turn times ------------------------------------------------------------------------

/// Turn-time percentiles, in seconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct TurnStats {
    pub count: usize,
    pub p50_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub p99_s: Option<i64>,
}

impl TurnStats {
    pub fn of(mut secs: Vec<i64>) -> TurnStats {
        secs.sort_unstable();
        TurnStats {
            count: secs.len(),
            p50_s: percentile(&secs, 50),
            p90_s: percentile(&secs, 90),
            p99_s: percentile(&secs, 99),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ZoneTurnTimes {
    pub zone: String,
    pub name: String,
    /// The name in Arabic (empty: not given).
    pub name_ar: String,
    /// Every visit of the zone that entered this day.
    pub all: TurnStats,
    /// By local hour of entry (one per hour of the day).
    pub hours: Vec<TurnStats>,
}

/// Turn times (entry to exit of one booking's stop in a zone), from the passages: each
/// entry is paired with the next exit of the same booking in the same zone. Visits that
/// entered this day count, in the hour they entered.
pub fn turn_times(
    day: &Day,
    zones: &[ZoneConfig],
    passages: &[Passage],
    approved: &HashMap<PassageId, DateTime<Utc>>,
) -> Vec<ZoneTurnTimes> {
    let mut events: Vec<(DateTime<Utc>, &Passage)> = passages
        .iter()
        .filter(|p| p.booking.is_some())
        .filter_map(|p| passed_at(p, approved).map(|t| (t, p)))
        .collect();
    events.sort_by_key(|(t, p)| (*t, p.id));
    let mut inside: HashMap<(ZoneId, bawaba_domain::ids::BookingId), DateTime<Utc>> =
        HashMap::new();
    let mut by_zone: HashMap<&ZoneId, Vec<(usize, i64)>> = HashMap::new();
    for (t, p) in events {
        let Some(booking) = p.booking else { continue };
        let key = (p.zone.clone(), booking);
        match p.direction {
            Direction::In => {
                inside.entry(key).or_insert(t);
            }
            Direction::Out => {
                if let Some(entered) = inside.remove(&key)
                    && let Some(h) = day.hour_of(entered)
                {
                    by_zone
                        .entry(&p.zone)
                        .or_default()
                        .push((h, (t - entered).num_seconds()));
                }
            }
        }
    }
    zones
        .iter()
        .map(|z| {
            let visits = by_zone.get(&z.id).cloned().unwrap_or_default();
            let hours = (0..day.hours())
                .map(|h| {
                    TurnStats::of(
                        visits
                            .iter()
                            .filter(|(vh, _)| *vh == h)
                            .map(|(_, s)| *s)
                            .collect(),
                    )
                })
                .collect();
            ZoneTurnTimes {
                zone: z.id.to_string(),
                name: z.name.clone(),
                name_ar: z.name_ar.clone(),
                all: TurnStats::of(visits.iter().map(|(_, s)| *s).collect()),
                hours,
            }
        })
        .collect()
}

// ---- companies -------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct CompanyRow {
    pub company: String,
    /// Bookings with a stop in a window of this day.
    pub bookings: u32,
    /// Of them, trucks that arrived (entered at least one stop).
    pub arrived: u32,
    /// Of them, marked NO_SHOW.
    pub no_shows: u32,
    /// Of them, trucks that entered a stop after its window had ended (within the late
    /// grace, or let in by an operator).
    pub late: u32,
    pub cancelled: u32,
    /// NO_SHOW bookings of the company on every day.
    pub no_shows_all_time: u64,
}

/// No-shows and late arrivals per company for the day's bookings.
pub fn companies(
    day: &Day,
    zones: &[ZoneConfig],
    bookings: &[Booking],
    no_shows_total: &BTreeMap<CompanyId, u64>,
) -> Vec<CompanyRow> {
    let mut rows: BTreeMap<&str, CompanyRow> = BTreeMap::new();
    for b in bookings {
        let stops: Vec<_> = b
            .stops
            .iter()
            .filter(|s| day.contains(s.window_start))
            .collect();
        if stops.is_empty() {
            continue;
        }
        let row = rows.entry(b.company.as_str()).or_default();
        row.bookings += 1;
        match b.state {
            BookingState::NoShow => row.no_shows += 1,
            BookingState::Cancelled => row.cancelled += 1,
            _ => {}
        }
        if stops.iter().any(|s| s.entered_at.is_some()) {
            row.arrived += 1;
        }
        let late = stops.iter().any(|s| {
            let Some(entered) = s.entered_at else {
                return false;
            };
            zones
                .iter()
                .find(|z| z.id == s.zone)
                .is_some_and(|z| entered >= z.window_end(s.window_start))
        });
        if late {
            row.late += 1;
        }
    }
    for (c, n) in no_shows_total {
        rows.entry(c.as_str()).or_default().no_shows_all_time = *n;
    }
    rows.into_iter()
        .map(|(c, row)| CompanyRow {
            company: c.to_owned(),
            ..row
        })
        .collect()
}

// ---- closures --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClosureRow {
    pub zone: String,
    pub zone_name: String,
    pub zone_name_ar: String,
    pub id: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub from_local: String,
    pub to_local: String,
    pub reason: String,
    /// In force now (else: to come).
    pub in_force: bool,
    /// Bookings still to be served (BOOKED or ENTERED) with a stop in a closed window.
    pub bookings_hit: Vec<HitBooking>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HitBooking {
    pub booking: String,
    pub company: String,
    pub plate: String,
    pub window_local: String,
    pub state: String,
}

/// Closures not over yet (in force or to come).
pub fn open_closures(zones: &[ZoneConfig], now: DateTime<Utc>) -> Vec<(&ZoneConfig, &Closure)> {
    let mut out: Vec<_> = zones
        .iter()
        .flat_map(|z| z.closures.iter().map(move |c| (z, c)))
        .filter(|(_, c)| c.to > now)
        .collect();
    out.sort_by_key(|(z, c)| (c.from, z.id.clone(), c.id));
    out
}

/// A closure with the bookings it hits, among `bookings` (of its zone, around its time).
pub fn closure_row(
    zone: &ZoneConfig,
    c: &Closure,
    now: DateTime<Utc>,
    bookings: &[Booking],
) -> ClosureRow {
    let bookings_hit = bookings
        .iter()
        .filter(|b| matches!(b.state, BookingState::Booked | BookingState::Entered))
        .filter_map(|b| {
            let stop = b.stops.iter().find(|s| {
                s.zone == zone.id
                    && s.exited_at.is_none()
                    && c.overlaps(s.window_start, zone.window_end(s.window_start))
            })?;
            Some(HitBooking {
                booking: b.id.to_string(),
                company: b.company.to_string(),
                plate: b.plate.to_string(),
                window_local: local_datetime(stop.window_start),
                state: format!("{:?}", b.state).to_uppercase(),
            })
        })
        .collect();
    ClosureRow {
        zone: zone.id.to_string(),
        zone_name: zone.name.clone(),
        zone_name_ar: zone.name_ar.clone(),
        id: c.id,
        from: c.from,
        to: c.to,
        from_local: local_datetime(c.from),
        to_local: local_datetime(c.to),
        reason: c.reason.clone(),
        in_force: c.from <= now && now < c.to,
        bookings_hit,
    }
}

// ---- queue and referrals ---------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Queue {
    /// Trucks held at a barrier waiting for an operator (open referrals).
    pub open_referrals: usize,
    /// How long the oldest open referral has waited, in seconds.
    pub oldest_open_s: Option<i64>,
    /// Referrals raised this day, and how they were resolved.
    pub referred_today: usize,
    pub approved_today: usize,
    pub rejected_today: usize,
    /// Trucks inside (entered a stop and not left it).
    pub inside: usize,
    pub zones: Vec<ZoneQueue>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ZoneQueue {
    pub zone: String,
    pub name: String,
    /// The name in Arabic (empty: not given).
    pub name_ar: String,
    pub open_referrals: usize,
    pub inside: usize,
    /// Passages refused (DENY) this day.
    pub denied_today: usize,
}

/// Queue and referral counts. `entered` are the bookings in state ENTERED.
pub fn queue(
    day: &Day,
    now: DateTime<Utc>,
    zones: &[ZoneConfig],
    referrals: &[Referral],
    entered: &[Booking],
    passages: &[Passage],
) -> Queue {
    let open: Vec<_> = referrals
        .iter()
        .filter(|r| r.state == ReferralState::Open)
        .collect();
    let inside_in = |z: &ZoneId| {
        entered
            .iter()
            .filter(|b| {
                b.stops
                    .iter()
                    .any(|s| &s.zone == z && s.entered_at.is_some() && s.exited_at.is_none())
            })
            .count()
    };
    let today: Vec<_> = referrals
        .iter()
        .filter(|r| day.contains(r.passage.decided_at))
        .collect();
    Queue {
        open_referrals: open.len(),
        oldest_open_s: open
            .iter()
            .map(|r| (now - r.passage.decided_at).num_seconds())
            .max(),
        referred_today: today.len(),
        approved_today: today
            .iter()
            .filter(|r| r.state == ReferralState::Approved)
            .count(),
        rejected_today: today
            .iter()
            .filter(|r| r.state == ReferralState::Rejected)
            .count(),
        inside: entered.len(),
        zones: zones
            .iter()
            .map(|z| ZoneQueue {
                zone: z.id.to_string(),
                name: z.name.clone(),
                name_ar: z.name_ar.clone(),
                open_referrals: open.iter().filter(|r| r.passage.zone == z.id).count(),
                inside: inside_in(&z.id),
                denied_today: passages
                    .iter()
                    .filter(|p| {
                        p.zone == z.id && p.verdict == Verdict::Deny && day.contains(p.decided_at)
                    })
                    .count(),
            })
            .collect(),
    }
}

// ---- passages for the feed -------------------------------------------------------------

/// One passage as the feed shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PassageRow {
    pub id: String,
    pub zone: String,
    pub gate: String,
    pub lane: String,
    pub direction: &'static str,
    pub plate: Option<String>,
    pub confidence: Option<u8>,
    pub epc: Option<String>,
    pub verdict: &'static str,
    pub reasons: Vec<&'static str>,
    pub booking: Option<String>,
    pub decided_at: DateTime<Utc>,
    /// `HH:MM:SS` in Asia/Amman.
    pub local_time: String,
    /// From the last read of the truck to the decision, in milliseconds (whole) and in
    /// microseconds; `latency` as shown: µs below a millisecond, else ms.
    pub latency_ms: Option<i64>,
    pub latency_us: Option<i64>,
    pub latency: String,
    pub offline: bool,
}

/// A decision latency as people read it: `720 µs`, `3.8 ms`, `42 ms`.
pub fn latency_text(us: i64) -> String {
    match us {
        ..1_000 => format!("{us} µs"),
        1_000..10_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{} ms", us / 1_000),
    }
}

impl PassageRow {
    pub fn of(p: &Passage) -> PassageRow {
        let latency = (p.decided_at >= p.last_read_at).then(|| p.decided_at - p.last_read_at);
        PassageRow {
            id: p.id.to_string(),
            zone: p.zone.to_string(),
            gate: p.gate.to_string(),
            lane: p.lane.to_string(),
            direction: match p.direction {
                Direction::In => "IN",
                Direction::Out => "OUT",
            },
            plate: p.plate.as_ref().map(ToString::to_string),
            confidence: p.confidence,
            epc: p.epc.as_ref().map(ToString::to_string),
            verdict: p.verdict.as_str(),
            reasons: p.reasons.iter().map(|r| r.as_str()).collect(),
            booking: p.booking.map(|b| b.to_string()),
            decided_at: p.decided_at,
            local_time: local_hms(p.decided_at),
            latency_ms: latency.map(|d| d.num_milliseconds()),
            latency_us: latency.and_then(|d| d.num_microseconds()),
            latency: latency
                .and_then(|d| d.num_microseconds())
                .map_or_else(|| "–".to_owned(), latency_text),
            offline: p.offline,
        }
    }
}

/// A gate's names in English and Arabic, for labels (its id when it is unknown).
pub fn gate_names(gates: &[Gate], id: &GateId) -> (String, String) {
    gates
        .iter()
        .find(|g| &g.id == id)
        .map_or((id.to_string(), String::new()), |g| {
            (g.name.clone(), g.name_ar.clone())
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bawaba_domain::calendar::{SlotLength, WindowCapacity};
    use bawaba_domain::ids::{BookingId, LaneId};
    use bawaba_domain::passage::Reason;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn latency_reads_in_microseconds_below_a_millisecond() {
        assert_eq!(latency_text(0), "0 µs");
        assert_eq!(latency_text(720), "720 µs");
        assert_eq!(latency_text(999), "999 µs");
        assert_eq!(latency_text(1_000), "1.0 ms");
        assert_eq!(latency_text(3_840), "3.8 ms");
        assert_eq!(latency_text(42_700), "42 ms");
    }

    fn zone(id: &str) -> ZoneConfig {
        ZoneConfig::new(
            ZoneId::parse(id).unwrap(),
            id.to_uppercase(),
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(10),
        )
    }

    fn passage(
        n: u128,
        dir: Direction,
        at: &str,
        verdict: Verdict,
        booking: Option<BookingId>,
    ) -> Passage {
        let at = t(at);
        Passage {
            id: PassageId::new(at, n),
            zone: ZoneId::parse("act").unwrap(),
            gate: GateId::parse("act-north").unwrap(),
            lane: LaneId::parse(if dir == Direction::In {
                "in-1"
            } else {
                "out-1"
            })
            .unwrap(),
            direction: dir,
            first_read_at: at - TimeDelta::milliseconds(200),
            last_read_at: at - TimeDelta::milliseconds(3),
            decided_at: at,
            plate: None,
            confidence: None,
            epc: None,
            verdict,
            reasons: vec![Reason::BookingValid],
            booking,
            offline: false,
        }
    }

    #[test]
    fn turn_stats_are_nearest_rank_percentiles_of_the_sorted_times() {
        let s = TurnStats::of(vec![300, 60, 120]);
        assert_eq!((s.count, s.p50_s, s.p99_s), (3, Some(120), Some(300)));
    }

    #[test]
    fn days_and_hours_are_local_to_amman() {
        let d = Day::parse(Some("2026-11-26"), Utc::now()).unwrap();
        assert_eq!(d.start, t("2026-11-25T21:00:00Z"));
        assert_eq!(d.end, t("2026-11-26T21:00:00Z"));
        assert_eq!(d.hours(), 24);
        assert_eq!(d.hour_of(t("2026-11-25T21:30:00Z")), Some(0));
        assert_eq!(d.hour_of(t("2026-11-26T05:10:00Z")), Some(8));
        assert_eq!(d.hour_of(t("2026-11-26T20:59:59Z")), Some(23));
        assert_eq!(d.hour_of(t("2026-11-26T21:00:00Z")), None);
        assert_eq!(d.hour_labels()[8], "08:00");
        // 23:30 UTC is already the next local day.
        assert_eq!(
            Day::containing(t("2026-11-26T23:30:00Z")).date.to_string(),
            "2026-11-27"
        );
        let e = Day::parse(Some("26/11/2026"), Utc::now()).unwrap_err();
        assert!(
            matches!(e, Error::Invalid { ref field, .. } if field == "day"),
            "{e}"
        );
    }

    #[test]
    fn throughput_buckets_by_local_hour_and_counts_approvals() {
        let d = Day::new(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        let zones = [zone("act")];
        let gates = [Gate {
            id: GateId::parse("act-north").unwrap(),
            zone: ZoneId::parse("act").unwrap(),
            name: "North".into(),
            lanes: vec![],
            name_ar: String::new(),
        }];
        let refer = passage(
            3,
            Direction::In,
            "2026-11-26T05:50:00Z",
            Verdict::Refer,
            None,
        );
        let passages = vec![
            passage(
                1,
                Direction::In,
                "2026-11-26T05:10:00Z",
                Verdict::Allow,
                None,
            ),
            passage(
                2,
                Direction::In,
                "2026-11-26T05:20:00Z",
                Verdict::Deny,
                None,
            ),
            refer.clone(),
            passage(
                4,
                Direction::Out,
                "2026-11-26T06:01:00Z",
                Verdict::Allow,
                None,
            ),
            // The day before, locally.
            passage(
                5,
                Direction::In,
                "2026-11-25T20:59:00Z",
                Verdict::Allow,
                None,
            ),
        ];
        // The referral was approved at 09:05 local: it counts then.
        let approved = HashMap::from([(refer.id, t("2026-11-26T06:05:00Z"))]);
        let windows = BTreeMap::from([(
            ZoneId::parse("act").unwrap(),
            vec![WindowView {
                start: t("2026-11-26T05:00:00Z"),
                end: t("2026-11-26T06:00:00Z"),
                capacity: WindowCapacity::uniform(10),
                booked: 4,
                booked_per_type: [0; 5],
                closure: None,
            }],
        )]);
        let th = throughput(&d, &zones, &gates, &windows, &passages, &approved);
        let z = &th.zones[0];
        assert_eq!(z.entries[8], 1);
        assert_eq!(z.entries[9], 1, "the approved referral, when approved");
        assert_eq!(z.exits[9], 1);
        assert_eq!(z.entries.iter().sum::<u32>(), 2);
        assert_eq!((z.capacity[8], z.booked[8], z.capacity[9]), (10, 4, 0));
        assert_eq!(z.gates[0].entries[8], 1);
        assert_eq!(th.hours.len(), 24);
    }

    #[test]
    fn turn_times_pair_entry_and_exit_per_booking() {
        let d = Day::new(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        let zones = [zone("act")];
        let b = |n: u128| Some(BookingId::new(t("2026-11-20T00:00:00Z"), n));
        let passages = vec![
            passage(
                1,
                Direction::In,
                "2026-11-26T05:00:00Z",
                Verdict::Allow,
                b(1),
            ),
            passage(
                2,
                Direction::In,
                "2026-11-26T05:10:00Z",
                Verdict::Allow,
                b(2),
            ),
            passage(
                3,
                Direction::Out,
                "2026-11-26T05:30:00Z",
                Verdict::Allow,
                b(1),
            ),
            passage(
                4,
                Direction::Out,
                "2026-11-26T06:10:00Z",
                Verdict::Allow,
                b(2),
            ),
            // Refused exits do not end a visit; a visit still inside has no turn time.
            passage(
                5,
                Direction::In,
                "2026-11-26T07:00:00Z",
                Verdict::Allow,
                b(3),
            ),
            passage(
                6,
                Direction::Out,
                "2026-11-26T07:10:00Z",
                Verdict::Deny,
                b(3),
            ),
        ];
        let tt = turn_times(&d, &zones, &passages, &HashMap::new());
        let z = &tt[0];
        assert_eq!(z.all.count, 2);
        assert_eq!(z.all.p50_s, Some(30 * 60));
        assert_eq!(z.all.p99_s, Some(60 * 60));
        assert_eq!(z.hours[8].count, 2, "both entered in the 08:00 local hour");
        assert_eq!(z.hours[10].count, 0);
    }

    #[test]
    fn late_arrivals_and_no_shows_per_company() {
        use bawaba_domain::calendar::TransactionType;
        use bawaba_domain::ledger::Stop;
        let d = Day::new(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        let zones = [zone("act")];
        let w = t("2026-11-26T05:00:00Z");
        let booking = |n: u128, company: &str, entered: Option<&str>, state: BookingState| {
            let mut stop = Stop::new(
                ZoneId::parse("act").unwrap(),
                w,
                TransactionType::GeneralCargo,
                vec![],
            );
            stop.entered_at = entered.map(t);
            Booking {
                id: BookingId::new(w, n),
                company: CompanyId::parse(company).unwrap(),
                plate: bawaba_domain::plate::Plate::parse("60-12345").unwrap(),
                epc: None,
                stops: vec![stop],
                state,
                idempotency_key: format!("k{n}"),
                created_at: w,
                updated_at: w,
                entered_at: None,
                exited_at: None,
                cancel_reason: None,
                revision: 1,
            }
        };
        let bookings = vec![
            booking(
                1,
                "acme",
                Some("2026-11-26T05:20:00Z"),
                BookingState::Entered,
            ),
            booking(
                2,
                "acme",
                Some("2026-11-26T06:20:00Z"),
                BookingState::Entered,
            ),
            booking(3, "acme", None, BookingState::NoShow),
            booking(4, "zed", None, BookingState::Cancelled),
        ];
        let totals = BTreeMap::from([(CompanyId::parse("acme").unwrap(), 5)]);
        let rows = companies(&d, &zones, &bookings, &totals);
        assert_eq!(rows.len(), 2);
        let acme = &rows[0];
        assert_eq!(
            (
                acme.bookings,
                acme.arrived,
                acme.late,
                acme.no_shows,
                acme.no_shows_all_time
            ),
            (3, 2, 1, 1, 5)
        );
        assert_eq!((rows[1].company.as_str(), rows[1].cancelled), ("zed", 1));
    }
}
