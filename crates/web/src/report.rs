//! Reading what the figures need from the store (only its existing methods), then handing it
//! to the pure aggregations in [`crate::agg`].

use std::collections::BTreeMap;

use bawaba_app::App;
use bawaba_domain::access::Principal;
use bawaba_domain::calendar::{Closure, ZoneConfig};
use bawaba_domain::ids::{BookingId, PassageId, ZoneId};
use bawaba_domain::ledger::{Booking, BookingFilter, BookingState, Gate, WindowView};
use bawaba_domain::passage::{Passage, Referral};
use bawaba_store::Store;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::Error;
use crate::agg::{self, Day};

/// Page size of the store reads.
const PAGE: usize = 1000;
/// At most this many passages or bookings are read for one report (a busy week at Aqaba is
/// well under it); a report past it is marked truncated.
const MAX_ROWS: usize = 500_000;
/// Passage ids are ULIDs made by the gate agents when the truck was decided: a range of ids
/// covers a range of times, with this much slack for agents' clocks.
const ID_SLACK: TimeDelta = TimeDelta::hours(2);
/// Exits are looked for this long after the day, so a visit that entered late in the day
/// still gets its turn time.
const EXIT_LOOKAHEAD: TimeDelta = TimeDelta::hours(12);

/// Passages decided in `[from, to)`, oldest first, of `zone` when given.
pub async fn passages_between<S: Store>(
    store: &S,
    zone: Option<&ZoneId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Passage>, bool), Error> {
    let mut after = Some(PassageId::new(from - ID_SLACK, 0));
    let last = PassageId::new(to + ID_SLACK, u128::MAX);
    let mut out = Vec::new();
    loop {
        let page = store.passages(zone.cloned(), after, PAGE).await?;
        let full = page.len() == PAGE;
        after = page.last().map(|p| p.id);
        let past_end = page.last().is_some_and(|p| p.id > last);
        out.extend(
            page.into_iter()
                .filter(|p| p.id <= last && from <= p.decided_at && p.decided_at < to),
        );
        if !full || past_end {
            return Ok((out, false));
        }
        if out.len() >= MAX_ROWS {
            return Ok((out, true));
        }
    }
}

/// The newest `n` passages (of `zone` when given), oldest first.
pub async fn recent_passages<S: Store>(
    store: &S,
    zone: Option<&ZoneId>,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Passage>, Error> {
    for back in [TimeDelta::hours(1), TimeDelta::days(1), TimeDelta::days(30)] {
        let (mut found, _) =
            passages_between(store, zone, now - back, now + TimeDelta::days(1)).await?;
        if found.len() >= n || back == TimeDelta::days(30) {
            let skip = found.len().saturating_sub(n);
            found.drain(..skip);
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

/// The recording number of the last passage recorded (where a live feed starts).
pub async fn passage_head<S: Store>(store: &S) -> Result<u64, Error> {
    Ok(store.recorded_passages(None, u64::MAX, 0).await?.head)
}

/// Passages of `who`'s scope after `since` (oldest first, at most `limit`).
pub async fn passages_since<S: Store>(
    app: &App<S>,
    who: &Principal,
    since: PassageId,
    limit: usize,
) -> Result<Vec<Passage>, Error> {
    Ok(app
        .list_passages(who, None, Some(since), limit)
        .await?
        .items)
}

/// Every booking matching `filter` (in pages).
pub async fn bookings<S: Store>(store: &S, filter: BookingFilter) -> Result<Vec<Booking>, Error> {
    let mut after: Option<BookingId> = None;
    let mut out = Vec::new();
    loop {
        let page = store.list_bookings(filter.clone(), after, PAGE).await?;
        let full = page.len() == PAGE;
        after = page.last().map(|b| b.id);
        out.extend(page);
        if !full || out.len() >= MAX_ROWS {
            return Ok(out);
        }
    }
}

/// Each zone's windows of the day.
pub async fn windows<S: Store>(
    store: &S,
    zones: &[ZoneConfig],
    day: &Day,
) -> Result<BTreeMap<ZoneId, Vec<WindowView>>, Error> {
    let mut out = BTreeMap::new();
    for z in zones {
        // 15-minute slots make 96 windows (100 across a daylight-saving change).
        let w = store
            .list_windows(z.id.clone(), day.start, day.end, 200)
            .await?;
        out.insert(z.id.clone(), w);
    }
    Ok(out)
}

/// The authority's whole view of one day.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub day: String,
    pub generated_at: DateTime<Utc>,
    pub throughput: agg::Throughput,
    pub slots: Vec<agg::ZoneSlots>,
    pub turn_times: Vec<agg::ZoneTurnTimes>,
    pub queue: agg::Queue,
    pub companies: Vec<agg::CompanyRow>,
    pub closures: Vec<agg::ClosureRow>,
    /// Each gate's report mark, and which gates hold their zone's no-show sweep back.
    pub gate_reports: Vec<agg::GateReport>,
    /// More passages than one report reads; the figures cover the first ones.
    pub truncated: bool,
}

/// The day's passages (with the exits after it, for turn times) and the referrals.
pub struct Traffic {
    pub passages: Vec<Passage>,
    pub referrals: Vec<Referral>,
    pub truncated: bool,
}

pub async fn traffic<S: Store>(store: &S, day: &Day) -> Result<Traffic, Error> {
    let (passages, truncated) =
        passages_between(store, None, day.start, day.end + EXIT_LOOKAHEAD).await?;
    let referrals = store.referrals(None, true).await?;
    Ok(Traffic {
        passages,
        referrals,
        truncated,
    })
}

pub async fn throughput<S: Store>(store: &S, day: &Day) -> Result<agg::Throughput, Error> {
    let zones = store.zones().await?;
    let gates: Vec<Gate> = store.gates().await?;
    let windows = windows(store, &zones, day).await?;
    let t = traffic(store, day).await?;
    Ok(agg::throughput(
        day,
        &zones,
        &gates,
        &windows,
        &t.passages,
        &agg::approvals(&t.referrals),
    ))
}

pub async fn slots<S: Store>(store: &S, day: &Day) -> Result<Vec<agg::ZoneSlots>, Error> {
    let zones = store.zones().await?;
    let windows = windows(store, &zones, day).await?;
    Ok(agg::slots(day, &zones, &windows))
}

pub async fn turn_times<S: Store>(store: &S, day: &Day) -> Result<Vec<agg::ZoneTurnTimes>, Error> {
    let zones = store.zones().await?;
    let t = traffic(store, day).await?;
    Ok(agg::turn_times(
        day,
        &zones,
        &t.passages,
        &agg::approvals(&t.referrals),
    ))
}

pub async fn companies<S: Store>(store: &S, day: &Day) -> Result<Vec<agg::CompanyRow>, Error> {
    let zones = store.zones().await?;
    let day_bookings = bookings(store, day_filter(day)).await?;
    let no_shows = store.no_shows().await?;
    Ok(agg::companies(day, &zones, &day_bookings, &no_shows))
}

fn day_filter(day: &Day) -> BookingFilter {
    BookingFilter {
        window_from: Some(day.start),
        window_to: Some(day.end),
        ..BookingFilter::default()
    }
}

pub async fn closures<S: Store>(
    store: &S,
    now: DateTime<Utc>,
) -> Result<Vec<agg::ClosureRow>, Error> {
    let zones = store.zones().await?;
    let mut out = Vec::new();
    for (zone, c) in agg::open_closures(&zones, now) {
        out.push(closure_impact(store, zone, c, now).await?);
    }
    Ok(out)
}

/// A closure (made, or only proposed) with the bookings it hits.
pub async fn closure_impact<S: Store>(
    store: &S,
    zone: &ZoneConfig,
    c: &Closure,
    now: DateTime<Utc>,
) -> Result<agg::ClosureRow, Error> {
    // A window starting up to one slot before the closure overlaps it.
    let slot = TimeDelta::minutes(i64::from(zone.slot.minutes()));
    let hit = bookings(
        store,
        BookingFilter {
            zone: Some(zone.id.clone()),
            window_from: Some(c.from - slot),
            window_to: Some(c.to),
            ..BookingFilter::default()
        },
    )
    .await?;
    Ok(agg::closure_row(zone, c, now, &hit))
}

pub async fn queue<S: Store>(
    store: &S,
    day: &Day,
    now: DateTime<Utc>,
) -> Result<agg::Queue, Error> {
    let zones = store.zones().await?;
    let t = traffic(store, day).await?;
    let entered = entered(store).await?;
    Ok(agg::queue(
        day,
        now,
        &zones,
        &t.referrals,
        &entered,
        &t.passages,
    ))
}

async fn entered<S: Store>(store: &S) -> Result<Vec<Booking>, Error> {
    bookings(
        store,
        BookingFilter {
            state: Some(BookingState::Entered),
            ..BookingFilter::default()
        },
    )
    .await
}

/// Everything at once, reading each thing from the store once.
pub async fn overview<S: Store>(
    store: &S,
    day: &Day,
    now: DateTime<Utc>,
) -> Result<Overview, Error> {
    let zones = store.zones().await?;
    let gates = store.gates().await?;
    let windows = windows(store, &zones, day).await?;
    let t = traffic(store, day).await?;
    let approved = agg::approvals(&t.referrals);
    let day_bookings = bookings(store, day_filter(day)).await?;
    let no_shows = store.no_shows().await?;
    let entered = entered(store).await?;
    Ok(Overview {
        day: day.date.to_string(),
        generated_at: now,
        throughput: agg::throughput(day, &zones, &gates, &windows, &t.passages, &approved),
        slots: agg::slots(day, &zones, &windows),
        turn_times: agg::turn_times(day, &zones, &t.passages, &approved),
        queue: agg::queue(day, now, &zones, &t.referrals, &entered, &t.passages),
        companies: agg::companies(day, &zones, &day_bookings, &no_shows),
        closures: closures(store, now).await?,
        gate_reports: agg::gate_reports(now, &zones, &gates, &store.reported().await?),
        truncated: t.truncated,
    })
}

/// A referral with what the operator needs to decide.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    pub event_id: String,
    pub state: &'static str,
    pub passage: agg::PassageRow,
    pub gate_name: String,
    pub gate_name_ar: String,
    /// The booking the gate matched, when it found one.
    pub booking: Option<BookingView>,
    /// The fleet trucks (`plate`, `company`) whose RFID tag the gate read, for an open
    /// referral: none when the tag is in no fleet (or none was read).
    pub tag_trucks: Vec<(String, String)>,
    pub waiting_s: i64,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    pub id: String,
    pub company: String,
    pub plate: String,
    pub epc: Option<String>,
    pub state: String,
    /// The local window of its stop in the referral's zone.
    pub window_local: Option<String>,
    /// The containers of that stop.
    pub containers: Vec<String>,
}

/// The referrals `who` may see (the operator's zone; every zone for the authority): the open
/// ones, and the last `resolved` resolved ones, newest first.
pub async fn referrals<S: Store>(
    app: &App<S>,
    who: &Principal,
    resolved: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<ReferralView>, Vec<ReferralView>), Error> {
    let all = app.list_referrals(who, None, true).await?;
    let gates = app.list_gates(who).await?;
    let mut open = Vec::new();
    let mut done = Vec::new();
    for r in all.iter().rev() {
        let is_open = r.state == bawaba_domain::passage::ReferralState::Open;
        if !is_open && done.len() >= resolved {
            continue;
        }
        let booking = match r.passage.booking {
            Some(id) => app.get_booking(who, id).await.ok().map(|b| BookingView {
                id: b.id.to_string(),
                company: b.company.to_string(),
                plate: b.plate.to_string(),
                epc: b.epc.as_ref().map(ToString::to_string),
                state: format!("{:?}", b.state).to_uppercase(),
                window_local: b
                    .stops
                    .iter()
                    .find(|s| s.zone == r.passage.zone)
                    .map(|s| agg::local_datetime(s.window_start)),
                containers: b
                    .stops
                    .iter()
                    .filter(|s| s.zone == r.passage.zone)
                    .flat_map(|s| s.containers.iter().map(ToString::to_string))
                    .collect(),
            }),
            None => None,
        };
        let names = agg::gate_names(&gates, &r.passage.gate);
        // Only an open referral's card shows the evidence.
        let tag_trucks = match &r.passage.epc {
            Some(epc) if is_open => app.trucks_by_tag(who, epc).await?,
            _ => Vec::new(),
        };
        let view = ReferralView {
            event_id: r.passage.id.to_string(),
            state: match r.state {
                bawaba_domain::passage::ReferralState::Open => "OPEN",
                bawaba_domain::passage::ReferralState::Approved => "APPROVED",
                bawaba_domain::passage::ReferralState::Rejected => "REJECTED",
            },
            passage: agg::PassageRow::of(&r.passage),
            gate_name: names.0,
            gate_name_ar: names.1,
            booking,
            tag_trucks: tag_trucks
                .into_iter()
                .map(|t| (t.plate.to_string(), t.company.to_string()))
                .collect(),
            waiting_s: (now - r.passage.decided_at).num_seconds().max(0),
            resolved_by: r.resolved_by.clone(),
            resolution: r.resolution.clone(),
            resolved_at: r.resolved_at,
        };
        if is_open {
            open.push(view);
        } else {
            done.push(view);
        }
    }
    // Oldest waiting first.
    open.reverse();
    Ok((open, done))
}
