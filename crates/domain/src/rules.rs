//! The booking rules as pure functions of the zones and a request, shared by every store:
//! the in-memory [`Ledger`](crate::ledger::Ledger) and database-backed stores call these, and
//! add only what depends on the stored state (capacity, overlapping visits, idempotency).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};

use crate::calendar::{TransactionType, ZoneConfig, duration_text, local};
use crate::error::ClosedWindow;
use crate::ids::{CompanyId, ZoneId};
use crate::ledger::{
    Actor, Booking, BookingState, MAX_CONTAINERS_PER_STOP, MAX_FIND_SLOTS, MAX_IDEMPOTENCY_KEY,
    MAX_STOPS, NewBooking, Stop, WindowUsage, WindowView,
};
use crate::{Error, Result};

/// A visit's span: from the first window's start to the last window's end.
pub fn visit_span(
    stops: &[Stop],
    zones: &BTreeMap<ZoneId, ZoneConfig>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = stops
        .first()
        .map_or(DateTime::<Utc>::MIN_UTC, |s| s.window_start);
    let end = stops
        .iter()
        .map(|s| {
            zones
                .get(&s.zone)
                .map_or(s.window_start, |z| z.window_end(s.window_start))
        })
        .max()
        .unwrap_or(start);
    (start, end)
}

/// Everything about a new booking that does not depend on other bookings: the key, the
/// stops (known zones, aligned windows, time rules, containers, time order).
pub fn validate_request(
    zones: &BTreeMap<ZoneId, ZoneConfig>,
    req: &NewBooking,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = &req.idempotency_key;
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::invalid(
            "idempotency_key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"),
        ));
    }
    if req.stops.is_empty() || req.stops.len() > MAX_STOPS {
        return Err(Error::invalid(
            "stops",
            format!(
                "has {} stops; a visit has 1 to {MAX_STOPS}",
                req.stops.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, s) in req.stops.iter().enumerate() {
        validate_stop(zones, i, s, now)?;
        if i > 0 && s.window_start <= req.stops[i - 1].window_start {
            return Err(Error::invalid(
                format!("stops[{i}].window_start"),
                "stops must be in time order, each in a later window than the one before",
            ));
        }
        for (j, c) in s.containers.iter().enumerate() {
            if !seen.insert(c) {
                return Err(Error::invalid(
                    format!("stops[{i}].container_numbers[{j}]"),
                    format!("container {c} is named twice in this visit"),
                ));
            }
        }
    }
    Ok(())
}

fn validate_stop(
    zones: &BTreeMap<ZoneId, ZoneConfig>,
    i: usize,
    s: &Stop,
    now: DateTime<Utc>,
) -> Result<()> {
    let z = zones.get(&s.zone).ok_or_else(|| {
        Error::invalid(
            format!("stops[{i}].zone_id"),
            format!("unknown zone {}", s.zone),
        )
    })?;
    check_window(z, &format!("stops[{i}].window_start"), s.window_start, now)?;
    if s.containers.len() > MAX_CONTAINERS_PER_STOP {
        return Err(Error::invalid(
            format!("stops[{i}].container_numbers"),
            format!(
                "names {} containers; at most {MAX_CONTAINERS_PER_STOP} per stop",
                s.containers.len()
            ),
        ));
    }
    if z.rules.require_containers
        && s.transaction_type.requires_containers()
        && s.containers.is_empty()
    {
        return Err(Error::invalid(
            format!("stops[{i}].container_numbers"),
            format!(
                "{} in zone {} must name its containers",
                s.transaction_type.as_str(),
                z.id
            ),
        ));
    }
    Ok(())
}

/// Time rules for booking a window: aligned, not started, within the horizon, before the
/// booking cut-off.
pub fn check_window(
    z: &ZoneConfig,
    field: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    if !z.is_window_start(start) {
        return Err(Error::invalid(
            field,
            format!(
                "{} is not the start of a window of zone {} (windows are {} minutes, aligned in Asia/Amman time)",
                local(start),
                z.id,
                z.slot.minutes()
            ),
        ));
    }
    if start <= now {
        return Err(Error::invalid(
            field,
            format!("window {} has already started", local(start)),
        ));
    }
    if start > z.horizon_end(now) {
        return Err(Error::invalid(
            field,
            format!(
                "window {} is beyond the booking horizon of zone {} ({} ahead: the last bookable window starts {})",
                local(start),
                z.id,
                duration_text(z.rules.horizon_minutes),
                local(z.window_containing(z.horizon_end(now)))
            ),
        ));
    }
    if now > z.booking_deadline(start) {
        return Err(Error::Precondition(format!(
            "window {} of zone {} closed for booking at {} (cut-off {} before)",
            local(start),
            z.id,
            local(z.booking_deadline(start)),
            duration_text(z.rules.booking_cutoff_minutes)
        )));
    }
    Ok(())
}

/// Whether `b` may become `next` (states only move forward).
pub fn check_transition(b: &Booking, next: BookingState, verb: &str) -> Result<()> {
    if b.state.can_become(next) {
        Ok(())
    } else {
        Err(Error::Precondition(format!(
            "booking {} is {} and cannot be {verb}",
            b.id,
            b.state.as_str()
        )))
    }
}

/// The stops of `b` after moving stop `stop` to `new_start`, if the rules allow it (state,
/// change cut-off for companies, the new window's time rules, time order). Capacity and
/// overlapping visits are the caller's to check.
pub fn plan_move(
    zones: &BTreeMap<ZoneId, ZoneConfig>,
    actor: &Actor,
    b: &Booking,
    stop: usize,
    new_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Stop>> {
    let Some(old) = b.stops.get(stop) else {
        return Err(Error::invalid(
            "stop_index",
            format!("booking {} has {} stops", b.id, b.stops.len()),
        ));
    };
    if b.state != BookingState::Booked {
        return Err(Error::Precondition(format!(
            "booking {} is {} and cannot be moved",
            b.id,
            b.state.as_str()
        )));
    }
    let z = zones.get(&old.zone).ok_or_else(|| Error::NotFound {
        what: "zone",
        id: old.zone.to_string(),
    })?;
    if matches!(actor, Actor::Company(_)) && now > z.change_deadline(old.window_start) {
        return Err(Error::Precondition(format!(
            "booking {} can no longer be moved: the change cut-off was {}",
            b.id,
            local(z.change_deadline(old.window_start))
        )));
    }
    if new_start == old.window_start {
        return Err(Error::invalid(
            "new_window_start",
            "is the window the stop already holds",
        ));
    }
    check_window(z, "new_window_start", new_start, now)?;
    let mut stops = b.stops.clone();
    stops[stop].window_start = new_start;
    if stops
        .windows(2)
        .any(|w| w[1].window_start <= w[0].window_start)
    {
        return Err(Error::invalid(
            "new_window_start",
            "would put the visit's stops out of time order",
        ));
    }
    Ok(stops)
}

/// Whether `actor` may cancel `b` at `now` (state; change cut-off for companies).
pub fn check_cancel(
    zones: &BTreeMap<ZoneId, ZoneConfig>,
    actor: &Actor,
    b: &Booking,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    check_transition(b, BookingState::Cancelled, "cancelled")?;
    if reason.len() > 500 {
        return Err(Error::invalid("reason", "is longer than 500 bytes"));
    }
    if let (Actor::Company(_), Some(first)) = (actor, b.stops.first()) {
        let z = zones.get(&first.zone).ok_or_else(|| Error::NotFound {
            what: "zone",
            id: first.zone.to_string(),
        })?;
        let deadline = z.change_deadline(first.window_start);
        if now > deadline {
            return Err(Error::Precondition(format!(
                "booking {} can no longer be cancelled: the change cut-off was {}",
                b.id,
                local(deadline)
            )));
        }
    }
    Ok(())
}

// ---- room in windows: pure functions of a zone and a usage lookup, so that a store whose
// usage lives in rows answers exactly like the in-memory ledger.

/// How many alternatives a refusal for room carries.
pub const ALTERNATIVES: usize = 5;

/// The window of `z` starting at `start`, given what is booked in it.
pub fn window_view(z: &ZoneConfig, start: DateTime<Utc>, used: Option<&WindowUsage>) -> WindowView {
    WindowView {
        start,
        end: z.window_end(start),
        capacity: z.capacity(start),
        booked: used.map_or(0, |u| u.booked),
        booked_per_type: used.map_or([0; 5], |u| u.per_type),
        closure: z.closure_at(start).map(|c| c.reason.clone()),
    }
}

/// The windows of `z` starting in `[from, to)`, at most `limit` of them.
pub fn windows<'a>(
    z: &ZoneConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
    usage: impl Fn(DateTime<Utc>) -> Option<&'a WindowUsage>,
) -> Vec<WindowView> {
    let mut start = z.window_containing(from);
    if start < from {
        start += z.slot.duration();
    }
    let mut out = Vec::new();
    while start < to && out.len() < limit {
        out.push(window_view(z, start, usage(start)));
        start += z.slot.duration();
    }
    out
}

/// Places `company` holds in a window.
fn held(used: Option<&WindowUsage>, company: &CompanyId) -> u32 {
    used.and_then(|u| u.per_company.get(company))
        .copied()
        .unwrap_or(0)
}

/// Why one more truck of `company` doing `t` does not fit the window, if it does not (the
/// error's alternatives are left empty).
pub fn room_error(
    z: &ZoneConfig,
    start: DateTime<Utc>,
    t: TransactionType,
    company: &CompanyId,
    used: Option<&WindowUsage>,
) -> Option<Error> {
    if let Some(c) = z.closure_at(start) {
        return Some(Error::ZoneClosed(Box::new(ClosedWindow {
            zone: z.id.clone(),
            window_start: start,
            closure: c.id,
            reason: c.reason.clone(),
            until: c.to,
            alternatives: Vec::new(),
        })));
    }
    let view = window_view(z, start, used);
    if view.free_for(t) == 0 {
        let split = view.capacity.per_type.is_some() && view.free() > 0;
        return Some(Error::WindowFull {
            zone: z.id.clone(),
            window_start: start,
            transaction_type: split.then_some(t),
            alternatives: Vec::new(),
        });
    }
    let cap = z.company_cap(company, view.capacity.total);
    let held = held(used, company);
    (held >= cap).then(|| Error::CompanyCap {
        zone: z.id.clone(),
        window_start: start,
        held,
        cap,
        alternatives: Vec::new(),
    })
}

/// The windows of `z` nearest to `preferred` that are bookable at `now` and have room for one
/// more truck doing `t` (and, when given, within `company`'s cap), nearest first.
pub fn find_slots<'a>(
    z: &ZoneConfig,
    t: TransactionType,
    company: Option<&CompanyId>,
    preferred: DateTime<Utc>,
    count: usize,
    now: DateTime<Utc>,
    usage: impl Fn(DateTime<Utc>) -> Option<&'a WindowUsage>,
) -> Vec<DateTime<Utc>> {
    let (lo, hi) = bookable_range(z, now);
    if lo > hi {
        return Vec::new();
    }
    let step = z.slot.duration();
    let centre = z.window_containing(preferred).clamp(lo, hi);
    let fits = |s: DateTime<Utc>| {
        let used = usage(s);
        let view = window_view(z, s, used);
        view.free_for(t) > 0
            && company.is_none_or(|c| held(used, c) < z.company_cap(c, view.capacity.total))
    };
    let count = count.clamp(1, MAX_FIND_SLOTS);
    let mut out = Vec::new();
    let (mut before, mut after) = (Some(centre), Some(centre + step));
    while out.len() < count && (before.is_some() || after.is_some()) {
        // Nearest first: take whichever side is closer to `preferred`.
        let take_before = match (before, after) {
            (Some(b), Some(a)) => (preferred - b).abs() <= (a - preferred).abs(),
            (b, _) => b.is_some(),
        };
        let s = if take_before {
            let s = before.unwrap_or(lo);
            before = (s - step >= lo).then(|| s - step);
            s
        } else {
            let s = after.unwrap_or(hi);
            after = (s + step <= hi).then(|| s + step);
            s
        };
        if s >= lo && s <= hi && fits(s) {
            out.push(s);
        }
    }
    out
}

/// Where a closure of zone `z` over `[from, to)` moves booking `b`'s visit: each of its stops
/// in `z` whose window the closure shuts goes to the nearest window after the closure (and
/// after the stop before it) that is bookable at `now` and has room for the stop's type within
/// the company's cap; the other stops stay. `None` when a stop finds no such window or the
/// visit would leave time order: the booking cannot move as a whole, so it does not move.
pub fn rebook_plan<'a>(
    z: &ZoneConfig,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    b: &Booking,
    now: DateTime<Utc>,
    usage: impl Fn(DateTime<Utc>) -> Option<&'a WindowUsage>,
) -> Option<Vec<Stop>> {
    let (lo, hi) = bookable_range(z, now);
    let step = z.slot.duration();
    let mut stops = b.stops.clone();
    let mut after: Option<DateTime<Utc>> = None;
    for s in &mut stops {
        let shut = s.zone == z.id && from < z.window_end(s.window_start) && s.window_start < to;
        if shut {
            let mut start = z.window_containing(to);
            if start < to {
                start += step;
            }
            start = start.max(lo);
            while after.is_some_and(|a| start <= a)
                || room_error(z, start, s.transaction_type, &b.company, usage(start)).is_some()
            {
                start += step;
                if start > hi {
                    return None;
                }
            }
            if start > hi {
                return None;
            }
            s.window_start = start;
        } else if after.is_some_and(|a| s.window_start <= a) {
            return None;
        }
        after = Some(s.window_start);
    }
    Some(stops)
}

/// The first and last window starts of `z` bookable at `now` (empty when `lo > hi`).
pub fn bookable_range(z: &ZoneConfig, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let earliest = now + TimeDelta::minutes(i64::from(z.rules.booking_cutoff_minutes));
    let mut lo = z.window_containing(earliest);
    if lo < earliest {
        lo += z.slot.duration();
    }
    (lo, z.window_containing(z.horizon_end(now)))
}

/// A refusal for room: the window it is about, and its alternatives to fill in.
#[derive(Debug)]
pub struct Refused<'a> {
    pub zone: ZoneId,
    pub start: DateTime<Utc>,
    pub alternatives: &'a mut Vec<DateTime<Utc>>,
}

/// `e` as a refusal for room, if it is one.
pub fn refused_window(e: &mut Error) -> Option<Refused<'_>> {
    let (zone, start, alternatives) = match e {
        Error::WindowFull {
            zone,
            window_start,
            alternatives,
            ..
        }
        | Error::CompanyCap {
            zone,
            window_start,
            alternatives,
            ..
        } => (zone, window_start, alternatives),
        Error::ZoneClosed(c) => (&mut c.zone, &mut c.window_start, &mut c.alternatives),
        _ => return None,
    };
    Some(Refused {
        zone: zone.clone(),
        start: *start,
        alternatives,
    })
}
