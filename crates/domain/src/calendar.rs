//! The slot calendar of a zone: slot length, capacity templates, closures, in Asia/Amman time.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a truck comes to do at a stop. Capacity may be split per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TransactionType {
    ImportPickup,
    ExportDropoff,
    EmptyReturn,
    EmptyPickup,
    GeneralCargo,
}

impl TransactionType {
    pub const ALL: [TransactionType; 5] = [
        TransactionType::ImportPickup,
        TransactionType::ExportDropoff,
        TransactionType::EmptyReturn,
        TransactionType::EmptyPickup,
        TransactionType::GeneralCargo,
    ];

    /// The name used in configs, the API and messages (`IMPORT_PICKUP`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::ImportPickup => "IMPORT_PICKUP",
            TransactionType::ExportDropoff => "EXPORT_DROPOFF",
            TransactionType::EmptyReturn => "EMPTY_RETURN",
            TransactionType::EmptyPickup => "EMPTY_PICKUP",
            TransactionType::GeneralCargo => "GENERAL_CARGO",
        }
    }

    /// Position in [`TransactionType::ALL`], for per-type counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Import pickups and export drop-offs must name the containers they move.
    pub fn requires_containers(self) -> bool {
        matches!(
            self,
            TransactionType::ImportPickup | TransactionType::ExportDropoff
        )
    }
}

impl std::str::FromStr for TransactionType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        TransactionType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::invalid(
                    "transaction_type",
                    format!("unknown transaction type {s:?}; expected one of IMPORT_PICKUP, EXPORT_DROPOFF, EMPTY_RETURN, EMPTY_PICKUP, GENERAL_CARGO"),
                )
            })
    }
}

/// The days of the week, Monday first (as a capacity template orders them).
pub const WEEKDAYS: [chrono::Weekday; 7] = [
    chrono::Weekday::Mon,
    chrono::Weekday::Tue,
    chrono::Weekday::Wed,
    chrono::Weekday::Thu,
    chrono::Weekday::Fri,
    chrono::Weekday::Sat,
    chrono::Weekday::Sun,
];

/// The port's local time zone. Everything is stored in UTC and shown in this zone.
pub const LOCAL_TZ: Tz = chrono_tz::Asia::Amman;

/// A time as people at the port read it: `2026-12-08 10:00 (+03:00)`, in Amman time.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ)
        .format("%Y-%m-%d %H:%M (%:z)")
        .to_string()
}

/// A length of time as people say it: `7 days`, `36 hours`, `1 hour 30 minutes`, `45 minutes`.
pub fn duration_text(minutes: u32) -> String {
    let unit = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let parts: Vec<String> = [
        (d, "day", "days"),
        (h, "hour", "hours"),
        (m, "minute", "minutes"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| unit(n, one, many))
    .collect();
    if parts.is_empty() {
        "0 minutes".into()
    } else {
        parts.join(" ")
    }
}

/// A time as people type it into `field`: RFC 3339 with an offset, or a time without one,
/// which is Amman time (`2026-12-08T10:00`, `2026-12-08 10:00:00`, or a date for its
/// midnight).
pub fn parse_time(s: &str, field: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let formats = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ];
    formats
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .and_then(|t| t.and_local_timezone(LOCAL_TZ).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{s:?} is not a time: give 2026-12-08T10:00 (Amman time), or with an offset 2026-12-08T10:00:00+03:00"),
            )
        })
}

/// Length of one booking window of a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SlotLength(u32);

impl SlotLength {
    pub const ALLOWED: [u32; 4] = [15, 20, 30, 60];

    /// A slot of 15, 20, 30 or 60 minutes.
    pub fn from_minutes(minutes: u32) -> Result<Self> {
        if Self::ALLOWED.contains(&minutes) {
            Ok(SlotLength(minutes))
        } else {
            Err(Error::invalid(
                "slot_minutes",
                format!("is {minutes}; must be 15, 20, 30 or 60"),
            ))
        }
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }
}

impl TryFrom<u32> for SlotLength {
    type Error = Error;
    fn try_from(m: u32) -> Result<Self> {
        SlotLength::from_minutes(m)
    }
}

impl From<SlotLength> for u32 {
    fn from(s: SlotLength) -> u32 {
        s.0
    }
}

/// Capacity of one window: the total, and optionally a limit per transaction type
/// (indexed by [`TransactionType::index`]). A booking needs room in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowCapacity {
    pub total: u32,
    pub per_type: Option<[u32; 5]>,
}

impl WindowCapacity {
    pub const CLOSED: WindowCapacity = WindowCapacity {
        total: 0,
        per_type: None,
    };

    pub fn uniform(total: u32) -> Self {
        WindowCapacity {
            total,
            per_type: None,
        }
    }

    /// The limit for one transaction type: its own share when split, else the total.
    pub fn for_type(&self, t: TransactionType) -> u32 {
        self.per_type
            .map_or(self.total, |p| p[t.index()].min(self.total))
    }
}

/// Capacity per window, by local weekday (Monday = 0) and local hour of the window's start.
/// Fridays and Ramadan shifts differ at Aqaba, hence a full week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityTemplate {
    hours: Vec<WindowCapacity>,
}

impl CapacityTemplate {
    /// The same capacity at every hour of every day.
    pub fn uniform(capacity: WindowCapacity) -> Self {
        CapacityTemplate {
            hours: vec![capacity; 7 * 24],
        }
    }

    /// Sets the capacity of windows starting in `hour` (0..24) on `weekday`.
    pub fn set(
        &mut self,
        weekday: chrono::Weekday,
        hour: u32,
        capacity: WindowCapacity,
    ) -> Result<()> {
        if hour >= 24 {
            return Err(Error::invalid("hour", format!("is {hour}; must be 0..=23")));
        }
        self.hours[weekday.num_days_from_monday() as usize * 24 + hour as usize] = capacity;
        Ok(())
    }

    pub fn get(&self, weekday: chrono::Weekday, hour: u32) -> WindowCapacity {
        self.hours
            .get(weekday.num_days_from_monday() as usize * 24 + hour as usize)
            .copied()
            .unwrap_or(WindowCapacity::CLOSED)
    }

    /// Checks the shape after deserialising (exactly 7 × 24 entries).
    pub fn validate(&self) -> Result<()> {
        if self.hours.len() == 7 * 24 {
            Ok(())
        } else {
            Err(Error::invalid(
                "template",
                format!("has {} hours; expected 168", self.hours.len()),
            ))
        }
    }
}

/// What a closure does to the bookings it hits (BOOKED, with a window in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ClosurePolicy {
    /// They stay as they are; each company is told its bookings are hit (an event), and a
    /// hit booking never becomes a no-show (the sweep cancels it, naming the closure).
    #[default]
    Notify,
    /// They are cancelled, naming the closure, in the closure's commit.
    Cancel,
    /// Each moves, all its stops or none, to the nearest windows after the closure with room
    /// for it (its type, its company's cap, its stops' order, its truck's other visits), in
    /// the closure's commit; one that cannot move stays, as under `Notify`.
    Rebook,
}

impl ClosurePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosurePolicy::Notify => "notify",
            ClosurePolicy::Cancel => "cancel",
            ClosurePolicy::Rebook => "rebook",
        }
    }
}

impl std::str::FromStr for ClosurePolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "notify" => Ok(ClosurePolicy::Notify),
            "cancel" => Ok(ClosurePolicy::Cancel),
            "rebook" => Ok(ClosurePolicy::Rebook),
            other => Err(Error::invalid(
                "policy",
                format!("{other:?}; expected notify, rebook or cancel"),
            )),
        }
    }
}

/// A zone closed over `[from, to)`: every window overlapping it has capacity 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub id: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

impl Closure {
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.from < end && start < self.to
    }
}

/// Checks what an interval of a zone's calendar (a closure, a one-off capacity) is given: `to`
/// after `from`, and a reason of 1 to 500 bytes.
pub fn check_interval(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reason: &str,
    what: &str,
) -> Result<()> {
    if from >= to {
        return Err(Error::invalid(
            "to",
            format!("{} is not after from ({})", local(to), local(from)),
        ));
    }
    if reason.trim().is_empty() || reason.len() > 500 {
        return Err(Error::invalid(
            "reason",
            format!("{what} needs a reason of 1 to 500 bytes"),
        ));
    }
    Ok(())
}

/// A one-off capacity of a zone for the windows starting in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityOverride {
    pub id: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub capacity: WindowCapacity,
    pub reason: String,
}

/// Booking rules of a zone. Durations are whole minutes so the stored form is plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    /// How far ahead a window may be booked.
    pub horizon_minutes: u32,
    /// A window can no longer be booked this long before it starts.
    pub booking_cutoff_minutes: u32,
    /// A booking can no longer be moved or cancelled this long before its window starts.
    pub change_cutoff_minutes: u32,
    /// A truck may enter this long before its window starts...
    pub early_grace_minutes: u32,
    /// ...and this long after it ends.
    pub late_grace_minutes: u32,
    /// Share of one window's capacity a single company may hold (1..=100), against hoarding.
    pub company_cap_percent: u8,
    /// Import pickups and export drop-offs must name their containers.
    pub require_containers: bool,
}

impl Default for BookingRules {
    fn default() -> Self {
        BookingRules {
            horizon_minutes: 7 * 24 * 60,
            booking_cutoff_minutes: 60,
            change_cutoff_minutes: 60,
            early_grace_minutes: 30,
            late_grace_minutes: 30,
            company_cap_percent: 30,
            require_containers: true,
        }
    }
}

impl BookingRules {
    pub fn validate(&self) -> Result<()> {
        if !(1..=100).contains(&self.company_cap_percent) {
            return Err(Error::invalid(
                "rules.company_cap_percent",
                format!("is {}; must be 1..=100", self.company_cap_percent),
            ));
        }
        if self.horizon_minutes == 0 || self.horizon_minutes > 366 * 24 * 60 {
            return Err(Error::invalid(
                "rules.horizon_minutes",
                "must be 1 minute to 366 days",
            ));
        }
        Ok(())
    }
}

fn minutes(m: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(m))
}

/// A zone's calendar and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneConfig {
    pub id: crate::ids::ZoneId,
    pub name: String,
    pub slot: SlotLength,
    pub template: CapacityTemplate,
    pub rules: BookingRules,
    /// Closures in force or to come, by id.
    pub closures: Vec<Closure>,
    /// Per-company caps that override `rules.company_cap_percent` (percent of a window).
    pub company_caps: std::collections::BTreeMap<crate::ids::CompanyId, u8>,
    /// Next closure id (ids are never reused).
    pub next_closure_id: u64,
    /// The alerts the zone has taken (flash-flood warnings), newest last; spent ones are
    /// forgotten (see [`crate::alert::ZoneAlert::is_spent`]).
    #[serde(default)]
    pub alerts: Vec<crate::alert::ZoneAlert>,
    /// The security services' watchlist as it applies to this zone (entries lapse at their
    /// `until` and are dropped at the zone's next watchlist change).
    #[serde(default)]
    pub watch: Vec<crate::watch::WatchEntry>,
    /// One-off capacities for dates or hours (Eid, an inspection campaign), over the template.
    #[serde(default)]
    pub overrides: Vec<CapacityOverride>,
    /// The zone's name in Arabic (empty: not given, `name` is shown).
    #[serde(default)]
    pub name_ar: String,
    /// What an IN lane does with a truck while the zone is closed.
    #[serde(default)]
    pub when_closed: WhenClosed,
}

/// What an IN lane of a closed zone does with a truck, whatever its booking says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum WhenClosed {
    /// DENY with reason ZONE_CLOSED: nobody enters.
    #[default]
    Deny,
    /// REFER with reason ZONE_CLOSED: an operator decides (emergency services, the flood
    /// works' own trucks) and may approve the entry.
    Refer,
}

impl WhenClosed {
    pub fn as_str(self) -> &'static str {
        match self {
            WhenClosed::Deny => "deny",
            WhenClosed::Refer => "refer",
        }
    }
}

impl std::str::FromStr for WhenClosed {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "deny" => Ok(WhenClosed::Deny),
            "refer" => Ok(WhenClosed::Refer),
            other => Err(Error::invalid(
                "when_closed",
                format!("{other:?}; expected deny or refer"),
            )),
        }
    }
}

impl ZoneConfig {
    pub fn new(
        id: crate::ids::ZoneId,
        name: impl Into<String>,
        slot: SlotLength,
        capacity: WindowCapacity,
    ) -> Self {
        ZoneConfig {
            id,
            name: name.into(),
            slot,
            template: CapacityTemplate::uniform(capacity),
            rules: BookingRules::default(),
            closures: Vec::new(),
            company_caps: Default::default(),
            next_closure_id: 1,
            alerts: Vec::new(),
            watch: Vec::new(),
            overrides: Vec::new(),
            name_ar: String::new(),
            when_closed: WhenClosed::Deny,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(Error::invalid("zone.name", "must be 1 to 200 bytes"));
        }
        if self.name_ar.chars().count() > 200 {
            return Err(Error::invalid(
                "zone.name_ar",
                "must be at most 200 characters",
            ));
        }
        self.template.validate()?;
        self.rules.validate()?;
        for (company, pct) in &self.company_caps {
            if !(1..=100).contains(pct) {
                return Err(Error::invalid(
                    "company_cap_percent",
                    format!("{pct} for company {company}; must be 1..=100"),
                ));
            }
        }
        Ok(())
    }

    /// Whether `t` starts a window: aligned to the slot length in local time, whole minutes.
    pub fn is_window_start(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&LOCAL_TZ);
        local.second() == 0
            && local.nanosecond() == 0
            && (local.hour() * 60 + local.minute()).is_multiple_of(self.slot.minutes())
    }

    /// The start of the window containing `t`.
    pub fn window_containing(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let local = t.with_timezone(&LOCAL_TZ);
        let minute_of_day = local.hour() * 60 + local.minute();
        let into = TimeDelta::minutes(i64::from(minute_of_day % self.slot.minutes()))
            + TimeDelta::seconds(i64::from(local.second()))
            + TimeDelta::nanoseconds(i64::from(local.nanosecond()));
        t - into
    }

    pub fn window_end(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.slot.duration()
    }

    /// The closure in force at the instant `t` (`from <= t < to`), if any.
    pub fn closed_at(&self, t: DateTime<Utc>) -> Option<&Closure> {
        self.closures.iter().find(|c| c.from <= t && t < c.to)
    }

    /// The closure that shuts the window starting at `start`, if any.
    pub fn closure_at(&self, start: DateTime<Utc>) -> Option<&Closure> {
        let end = self.window_end(start);
        self.closures.iter().find(|c| c.overlaps(start, end))
    }

    /// Capacity of the window starting at `start`: 0 when a closure overlaps it; else the
    /// newest one-off capacity whose interval holds the start; else the template for its
    /// local weekday and hour.
    pub fn capacity(&self, start: DateTime<Utc>) -> WindowCapacity {
        if self.closure_at(start).is_some() {
            return WindowCapacity::CLOSED;
        }
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.from <= start && start < o.to)
        {
            return o.capacity;
        }
        let local = start.with_timezone(&LOCAL_TZ);
        self.template.get(local.weekday(), local.hour())
    }

    /// The zone with `capacity` for local `[from_hour, to_hour)` of each of `days`; every
    /// other hour (and its per-type split) as it was.
    pub fn with_hours(
        &self,
        days: &[chrono::Weekday],
        (from_hour, to_hour): (u32, u32),
        capacity: WindowCapacity,
    ) -> Result<ZoneConfig> {
        if from_hour >= to_hour || to_hour > 24 {
            return Err(Error::invalid(
                "hours",
                format!("[{from_hour}, {to_hour}) is not a range of local hours within 0..24"),
            ));
        }
        if days.is_empty() {
            return Err(Error::invalid("days", "name at least one weekday"));
        }
        let mut z = self.clone();
        for &d in days {
            for h in from_hour..to_hour {
                z.template.set(d, h, capacity)?;
            }
        }
        Ok(z)
    }

    /// The zone with a one-off `capacity` for the windows starting in `[from, to)`, over the
    /// template (a newer one-off wins where two meet); spent ones are dropped.
    pub fn with_override(
        &self,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        capacity: WindowCapacity,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<ZoneConfig> {
        check_interval(from, to, reason, "a one-off capacity")?;
        let mut z = self.clone();
        z.overrides.retain(|o| o.to > now);
        let id = z.overrides.iter().map(|o| o.id).max().unwrap_or(0) + 1;
        z.overrides.push(CapacityOverride {
            id,
            from,
            to,
            capacity,
            reason: reason.to_owned(),
        });
        Ok(z)
    }

    /// How many places of a window of `total` capacity one company may hold.
    /// At least one place whenever the window has any.
    pub fn company_cap(&self, company: &crate::ids::CompanyId, total: u32) -> u32 {
        let pct = self
            .company_caps
            .get(company)
            .copied()
            .unwrap_or(self.rules.company_cap_percent);
        if total == 0 {
            0
        } else {
            ((u64::from(total) * u64::from(pct)) / 100).max(1) as u32
        }
    }

    /// When a truck booked for the window starting at `start` may enter: `[from, to)`.
    pub fn entry_period(&self, start: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            start - minutes(self.rules.early_grace_minutes),
            self.window_end(start) + minutes(self.rules.late_grace_minutes),
        )
    }

    /// The last moment a window starting at `start` may still be booked.
    pub fn booking_deadline(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start - minutes(self.rules.booking_cutoff_minutes)
    }

    /// The last moment a booking of the window starting at `start` may be moved or cancelled.
    pub fn change_deadline(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start - minutes(self.rules.change_cutoff_minutes)
    }

    /// The latest window start that may be booked at `now`.
    pub fn horizon_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + minutes(self.rules.horizon_minutes)
    }

    /// Whether a window starting at `start` is bookable at `now` as far as time goes
    /// (aligned, not past the cut-off, within the horizon).
    pub fn bookable_at(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.is_window_start(start)
            && now <= self.booking_deadline(start)
            && start <= self.horizon_end(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CompanyId, ZoneId};
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// A partial change keeps every other hour and split; a one-off capacity wins over the
    /// template for its windows only (the newest where two meet); a closure wins over both.
    #[test]
    fn partial_changes_and_one_offs_keep_the_rest() {
        let mut z = ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "ACT",
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(10),
        );
        let split = WindowCapacity {
            total: 12,
            per_type: Some([5, 5, 2, 0, 0]),
        };
        z = z
            .with_hours(&[chrono::Weekday::Tue], (6, 22), split)
            .unwrap();
        // Tuesday 2026-12-08 10:00 in Amman is 07:00 UTC.
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        assert_eq!(z.capacity(at(8, 7)), split);
        assert_eq!(z.capacity(at(8, 2)).total, 10, "05:00 local: untouched");
        let z2 = z
            .with_hours(
                &[chrono::Weekday::Tue],
                (20, 22),
                WindowCapacity::uniform(4),
            )
            .unwrap();
        assert_eq!(
            z2.capacity(at(8, 7)),
            split,
            "the split of other hours is kept"
        );
        assert_eq!(z2.capacity(at(8, 17)).total, 4, "20:00 local");
        assert!(z.with_hours(&[], (6, 7), split).is_err());
        assert!(
            z.with_hours(&[chrono::Weekday::Tue], (7, 6), split)
                .is_err()
        );

        let eid = z
            .with_override(
                (at(8, 6), at(8, 9)),
                WindowCapacity::uniform(3),
                "Eid",
                at(1, 0),
            )
            .unwrap();
        assert_eq!(eid.capacity(at(8, 7)).total, 3);
        assert_eq!(
            eid.capacity(at(8, 9)),
            split,
            "after the one-off: the template"
        );
        let newer = eid
            .with_override(
                (at(8, 7), at(8, 8)),
                WindowCapacity::uniform(1),
                "drill",
                at(1, 0),
            )
            .unwrap();
        assert_eq!(newer.capacity(at(8, 7)).total, 1, "the newest wins");
        assert_eq!(
            newer.overrides.iter().map(|o| o.id).collect::<Vec<_>>(),
            [1, 2]
        );
        let mut closed = newer.clone();
        closed.closures.push(Closure {
            id: 1,
            from: at(8, 7),
            to: at(8, 8),
            reason: "flood".into(),
        });
        assert_eq!(closed.capacity(at(8, 7)), WindowCapacity::CLOSED);
        let later = newer
            .with_override(
                (at(9, 6), at(9, 7)),
                WindowCapacity::uniform(2),
                "x",
                at(8, 10),
            )
            .unwrap();
        assert_eq!(later.overrides.len(), 1, "spent one-offs are dropped");
        assert!(
            z.with_override((at(8, 9), at(8, 6)), split, "Eid", at(1, 0))
                .is_err()
        );
        assert!(
            z.with_override((at(8, 6), at(8, 9)), split, " ", at(1, 0))
                .is_err()
        );
    }

    #[test]
    fn durations_read_in_days_hours_and_minutes() {
        assert_eq!(duration_text(7 * 24 * 60), "7 days");
        assert_eq!(duration_text(36 * 60), "1 day 12 hours");
        assert_eq!(duration_text(90), "1 hour 30 minutes");
        assert_eq!(duration_text(1), "1 minute");
        assert_eq!(duration_text(0), "0 minutes");
    }

    #[test]
    fn times_without_an_offset_are_amman_time() {
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        for local in [
            "2026-12-08T10:00",
            "2026-12-08T10:00:00",
            "2026-12-08 10:00",
            " 2026-12-08 10:00:00 ",
        ] {
            assert_eq!(
                parse_time(local, "from").unwrap(),
                utc("2026-12-08T07:00:00Z")
            );
        }
        assert_eq!(
            parse_time("2026-12-08", "from").unwrap(),
            utc("2026-12-07T21:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-08T10:00:00Z", "from").unwrap(),
            utc("2026-12-08T10:00:00Z")
        );
        let e = parse_time("tomorrow", "window_start")
            .unwrap_err()
            .to_string();
        assert!(e.contains("window_start") && e.contains("Amman"), "{e}");
    }

    fn zone(slot: u32) -> ZoneConfig {
        ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "Aqaba Container Terminal",
            SlotLength::from_minutes(slot).unwrap(),
            WindowCapacity::uniform(10),
        )
    }

    #[test]
    fn slot_lengths() {
        for m in [15, 20, 30, 60] {
            assert_eq!(SlotLength::from_minutes(m).unwrap().minutes(), m);
        }
        let err = SlotLength::from_minutes(25).unwrap_err();
        assert!(err.to_string().contains("slot_minutes"), "{err}");
    }

    #[test]
    fn windows_align_in_amman_time() {
        let z = zone(30);
        // 08:30 in Amman (UTC+3) is 05:30 UTC.
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 5, 30, 0).unwrap();
        assert!(z.is_window_start(t));
        assert!(!z.is_window_start(t + TimeDelta::minutes(10)));
        assert!(!z.is_window_start(t + TimeDelta::seconds(1)));
        assert_eq!(z.window_containing(t + TimeDelta::minutes(29)), t);
        assert_eq!(z.window_end(t), t + TimeDelta::minutes(30));
    }

    #[test]
    fn template_uses_local_weekday_and_hour() {
        let mut z = zone(60);
        // Friday 10:00 local = Friday 07:00 UTC.
        z.template
            .set(chrono::Weekday::Fri, 10, WindowCapacity::uniform(3))
            .unwrap();
        let fri_10_local = Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap();
        assert_eq!(z.capacity(fri_10_local).total, 3);
        assert_eq!(z.capacity(fri_10_local + TimeDelta::hours(1)).total, 10);
        assert!(
            z.template
                .set(chrono::Weekday::Fri, 24, WindowCapacity::CLOSED)
                .is_err()
        );
    }

    #[test]
    fn closures_zero_overlapping_windows_only() {
        let mut z = zone(30);
        let from = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap();
        z.closures.push(Closure {
            id: 1,
            from,
            to: from + TimeDelta::hours(2),
            reason: "flash flood".into(),
        });
        assert_eq!(z.capacity(from).total, 0);
        assert_eq!(z.capacity(from + TimeDelta::minutes(90)).total, 0);
        assert_eq!(z.capacity(from + TimeDelta::hours(2)).total, 10);
        assert_eq!(z.capacity(from - TimeDelta::minutes(30)).total, 10);
    }

    #[test]
    fn per_type_split_is_bounded_by_total() {
        let c = WindowCapacity {
            total: 5,
            per_type: Some([2, 3, 9, 0, 1]),
        };
        assert_eq!(c.for_type(TransactionType::ImportPickup), 2);
        assert_eq!(c.for_type(TransactionType::EmptyReturn), 5);
        assert_eq!(c.for_type(TransactionType::EmptyPickup), 0);
        assert_eq!(
            WindowCapacity::uniform(4).for_type(TransactionType::GeneralCargo),
            4
        );
    }

    #[test]
    fn company_cap_is_a_share_with_at_least_one_place() {
        let mut z = zone(30);
        let c = CompanyId::parse("acme").unwrap();
        assert_eq!(z.company_cap(&c, 10), 3);
        assert_eq!(z.company_cap(&c, 2), 1);
        assert_eq!(z.company_cap(&c, 0), 0);
        z.company_caps.insert(c.clone(), 50);
        assert_eq!(z.company_cap(&c, 10), 5);
    }

    #[test]
    fn transaction_type_names_round_trip() {
        for t in TransactionType::ALL {
            assert_eq!(t.as_str().parse::<TransactionType>().unwrap(), t);
        }
        assert!(
            "BULK"
                .parse::<TransactionType>()
                .unwrap_err()
                .to_string()
                .contains("transaction_type")
        );
    }

    proptest! {
        #[test]
        fn window_containing_is_an_aligned_start_at_or_before(secs in 0i64..4_000_000_000, slot in prop::sample::select(SlotLength::ALLOWED.to_vec())) {
            let z = zone(slot);
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            let w = z.window_containing(t);
            prop_assert!(z.is_window_start(w));
            prop_assert!(w <= t && t < z.window_end(w));
        }
    }
}
