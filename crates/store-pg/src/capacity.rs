//! Window views, room and the nearest-window search as pure functions of a zone and a usage
//! lookup, so that a store whose usage lives in rows answers exactly like the ledger.
//!
//! These are the ledger's private `window_view`, `windows`, `room_error`, `find_slots` and
//! `with_alternatives` with the usage passed in. They belong in `bawaba_domain::rules`, with
//! the `Ledger` methods reduced to calls like `rules::find_slots(z, .., |s| self.usage(&z.id, s))`;
//! until then this is the one copy outside the domain.

use bawaba_domain::Error;
use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{MAX_FIND_SLOTS, WindowUsage, WindowView};
use chrono::{DateTime, TimeDelta, Utc};

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
    match e {
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
        } => Some(Refused {
            zone: zone.clone(),
            start: *window_start,
            alternatives,
        }),
        _ => None,
    }
}
