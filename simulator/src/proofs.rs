//! The proofs checked at the end of a run, against the simulator's ground truth and the
//! scheduler's state.

use std::collections::{BTreeMap, HashMap, HashSet};

use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ledger::{Booking, BookingState};
use bawaba_domain::passage::{Passage, Reason, Verdict};
use bawaba_store::{SledStore, Store};
use chrono::{DateTime, TimeDelta, Utc};

use crate::engine::holds_capacity;
use crate::record::{LaneService, Proof, RunRecord};

/// What the proofs look at.
#[derive(Debug)]
pub struct Evidence<'a> {
    /// The zones as the run configured them.
    pub zones: &'a [ZoneConfig],
    pub record: &'a RunRecord,
    /// Every booking at the scheduler at the end, by id.
    pub bookings: &'a BTreeMap<String, Booking>,
    /// Every passage the agents decided (their broadcasts).
    pub decided: &'a [Passage],
    /// Every passage the scheduler recorded.
    pub delivered: &'a [Passage],
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub store: &'a SledStore,
}

/// Declares [`ProofName`] from one list, so that [`ProofName::ALL`] holds every proof.
macro_rules! proof_names {
    ($($proof:ident: $name:literal,)+) => {
        /// Every proof, by its fixed English name (as `report.json`, the terminal and the
        /// English page show it). The HTML report's catalogue (`report::words`) gives each an
        /// Arabic name; its test fails for a proof of [`ProofName::ALL`] without one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProofName {
            $($proof),+
        }

        impl ProofName {
            pub const ALL: &[ProofName] = &[$(ProofName::$proof),+];

            pub fn name(self) -> &'static str {
                match self {
                    $(ProofName::$proof => $name),+
                }
            }
        }
    };
}

proof_names! {
    Capacity: "no window over capacity",
    CompanyCaps: "no company over its cap",
    ExactlyOnce: "every decided passage reached the scheduler exactly once",
    Security: "no truck without a valid booking was let in",
    ClosedZones: "no truck was let into a closed zone",
    Liveness: "every truck with a valid booking, on time and read correctly, was let in",
    Inside: "every truck that entered has exited or is recorded inside",
    Watchlist: "every watched truck was referred or denied",
}

fn proof(name: ProofName, failures: Vec<String>, ok_detail: String) -> Proof {
    Proof {
        name: name.name().into(),
        passed: failures.is_empty(),
        detail: if failures.is_empty() {
            ok_detail
        } else {
            format!(
                "{} counter-example(s): {}",
                failures.len(),
                failures
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
    }
}

/// Checks every proof.
pub async fn check(ev: &Evidence<'_>) -> Vec<Proof> {
    let held = held_zones(ev).await;
    vec![
        capacity(ev).await,
        company_caps(ev),
        exactly_once(ev),
        security(ev),
        closed_zones(ev, &held),
        liveness(ev, &held),
        inside(ev),
        watchlist(ev),
    ]
}

/// Whether the security services watch truck `truck`.
fn watched(ev: &Evidence<'_>, truck: usize) -> bool {
    ev.record
        .trucks
        .get(truck)
        .is_some_and(|t| t.watched.is_some())
}

/// Every watched truck was held at every lane it reached: referred or denied, naming the
/// watchlist (an operator may let it through afterwards; the gate never simply does).
fn watchlist(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in ev.record.services.iter().filter(|s| watched(ev, s.truck)) {
        checked += 1;
        let held = matches!(s.verdict, Some(Verdict::Refer | Verdict::Deny))
            && s.reasons.contains(&Reason::Watchlist);
        if !held {
            failures.push(format!(
                "watched truck {} at {} {} {}: {:?} {:?}",
                s.truck,
                s.gate,
                s.lane,
                s.direction,
                s.verdict.map(|v| v.as_str()),
                s.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>()
            ));
        }
    }
    proof(
        ProofName::Watchlist,
        failures,
        format!("{checked} arrivals of watched trucks checked"),
    )
}

/// The zones as the scheduler holds them at the end, closures included (the authority adds
/// them during the day), by id.
async fn held_zones(ev: &Evidence<'_>) -> BTreeMap<String, ZoneConfig> {
    let mut held = BTreeMap::new();
    for z in ev.zones {
        if let Ok(cfg) = ev.store.zone(z.id.clone()).await {
            held.insert(z.id.to_string(), cfg);
        }
    }
    held
}

/// Whether `s`'s zone was closed when the truck reached the barrier.
fn closed_when_served(held: &BTreeMap<String, ZoneConfig>, s: &LaneService) -> bool {
    held.get(&s.zone)
        .is_some_and(|z| z.closed_at(s.served).is_some())
}

/// No truck was let into a zone while it was closed.
fn closed_zones(ev: &Evidence<'_>, held: &BTreeMap<String, ZoneConfig>) -> Proof {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in ev.record.services.iter().filter(|s| s.direction == "IN") {
        if !closed_when_served(held, s) {
            continue;
        }
        checked += 1;
        if s.passed() {
            failures.push(format!(
                "truck {} let into closed {} at {} {}",
                s.truck, s.zone, s.gate, s.lane
            ));
        }
    }
    proof(
        ProofName::ClosedZones,
        failures,
        format!("{checked} arrivals at a closed zone checked"),
    )
}

/// No window over its capacity (total and per transaction type).
async fn capacity(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let mut windows = 0;
    for z in ev.zones {
        // The zone as the scheduler holds it now, closures included: a window the authority
        // closed after it was booked holds bookings that could no longer be moved or
        // cancelled (past the change cut-off); that is not an oversold window.
        let held_config = ev.store.zone(z.id.clone()).await.ok();
        let closed = |t: DateTime<Utc>| {
            held_config
                .as_ref()
                .is_some_and(|c| c.closure_at(t).is_some())
        };
        match ev
            .store
            .list_windows(
                z.id.clone(),
                ev.start - TimeDelta::days(1),
                ev.end + TimeDelta::days(8),
                100_000,
            )
            .await
        {
            Ok(ws) => {
                for w in ws {
                    windows += 1;
                    if w.booked > w.capacity.total && !closed(w.start) {
                        failures.push(format!(
                            "{} {}: {} booked, capacity {}",
                            z.id, w.start, w.booked, w.capacity.total
                        ));
                    }
                    if let Some(per) = w.capacity.per_type {
                        for (i, (&b, &c)) in w.booked_per_type.iter().zip(per.iter()).enumerate() {
                            if b > c && !closed(w.start) {
                                failures.push(format!(
                                    "{} {} type {i}: {b} booked, capacity {c}",
                                    z.id, w.start
                                ));
                            }
                        }
                    }
                }
            }
            Err(e) => failures.push(format!("{}: cannot list windows: {e}", z.id)),
        }
        // Recount from the bookings themselves, not only the scheduler's counters.
        let mut held: HashMap<DateTime<Utc>, u32> = HashMap::new();
        for b in ev.bookings.values().filter(|b| holds_capacity(b.state)) {
            for s in b.stops.iter().filter(|s| s.zone == z.id) {
                *held.entry(s.window_start).or_default() += 1;
            }
        }
        for (start, n) in held {
            let cap = z.capacity(start).total;
            if n > cap && !closed(start) {
                failures.push(format!(
                    "{} {start}: {n} bookings held, capacity {cap}",
                    z.id
                ));
            }
        }
    }
    proof(
        ProofName::Capacity,
        failures,
        format!("{windows} windows checked (counters and a recount of the bookings)"),
    )
}

/// No company over its cap in any window.
fn company_caps(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let mut held: HashMap<(usize, DateTime<Utc>, String), u32> = HashMap::new();
    for b in ev.bookings.values().filter(|b| holds_capacity(b.state)) {
        for s in &b.stops {
            if let Some(zi) = ev.zones.iter().position(|z| z.id == s.zone) {
                *held
                    .entry((zi, s.window_start, b.company.to_string()))
                    .or_default() += 1;
            }
        }
    }
    let n = held.len();
    for ((zi, start, company), count) in held {
        let z = &ev.zones[zi];
        let total = z.capacity(start).total;
        let Ok(cid) = bawaba_domain::ids::CompanyId::parse(&company) else {
            continue;
        };
        let cap = z.company_cap(&cid, total);
        if count > cap {
            failures.push(format!(
                "{company} holds {count} of {} {start} (cap {cap})",
                z.id
            ));
        }
    }
    proof(
        ProofName::CompanyCaps,
        failures,
        format!("{n} (zone, window, company) holdings checked"),
    )
}

/// Every passage an agent decided reached the scheduler exactly once.
fn exactly_once(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let decided: HashSet<String> = ev.decided.iter().map(|p| p.id.to_string()).collect();
    if decided.len() != ev.decided.len() {
        failures.push(format!(
            "the agents announced {} passages with only {} distinct ids",
            ev.decided.len(),
            decided.len()
        ));
    }
    let mut delivered = HashSet::new();
    for p in ev.delivered {
        if !delivered.insert(p.id.to_string()) {
            failures.push(format!("passage {} recorded twice", p.id));
        }
    }
    for id in decided.difference(&delivered) {
        failures.push(format!("passage {id} decided but never recorded (lost)"));
    }
    for id in delivered.difference(&decided) {
        failures.push(format!("passage {id} recorded but never decided"));
    }
    let offline = ev.decided.iter().filter(|p| p.offline).count();
    proof(
        ProofName::ExactlyOnce,
        failures,
        format!(
            "{} passages decided ({offline} offline), {} recorded, none lost, none doubled",
            ev.decided.len(),
            ev.delivered.len()
        ),
    )
}

/// No truck without a valid booking went through an IN barrier.
fn security(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in ev.record.services.iter().filter(|s| s.direction == "IN") {
        checked += 1;
        if s.passed() && !s.legit {
            let t = &ev.record.trucks.get(s.truck);
            failures.push(format!(
                "truck {} ({}) let in at {} {} ({:?}{})",
                s.truck,
                t.map_or("?", |t| t.plate.as_str()),
                s.gate,
                s.lane,
                s.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                if s.approved_by_operator {
                    ", operator"
                } else {
                    ""
                }
            ));
        }
    }
    proof(
        ProofName::Security,
        failures,
        format!("{checked} entries checked against the ground truth"),
    )
}

/// Every truck with a valid booking, within grace and read correctly, was let in — unless
/// its zone was closed when it reached the barrier (the gate then lets nobody in) or the
/// security services watch it (the gate then holds it).
fn liveness(ev: &Evidence<'_>, held: &BTreeMap<String, ZoneConfig>) -> Proof {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in ev.record.services.iter().filter(|s| {
        s.direction == "IN"
            && s.clear_case
            && !s.offline
            && !closed_when_served(held, s)
            && !watched(ev, s.truck)
    }) {
        checked += 1;
        if s.verdict != Some(Verdict::Allow) && !s.approved_by_operator {
            failures.push(format!(
                "truck {} refused at {} {} ({:?}: {:?})",
                s.truck,
                s.gate,
                s.lane,
                s.verdict.map(|v| v.as_str()),
                s.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>()
            ));
        }
    }
    proof(
        ProofName::Liveness,
        failures,
        format!("{checked} clear cases checked"),
    )
}

/// Every truck that entered has exited or is recorded inside by the scheduler.
fn inside(ev: &Evidence<'_>) -> Proof {
    let mut failures = Vec::new();
    let mut balance: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    for s in ev.record.services.iter().filter(|s| s.passed()) {
        let d = if s.direction == "IN" { 1 } else { -1 };
        *balance.entry((s.truck, s.zone.as_str())).or_default() += d;
    }
    let mut still = 0;
    for ((truck, zone), n) in balance {
        if n == 0 {
            continue;
        }
        if n < 0 {
            failures.push(format!("truck {truck} left {zone} without entering"));
            continue;
        }
        still += 1;
        let recorded = ev
            .record
            .trucks
            .get(truck)
            .and_then(|t| t.booking.as_ref())
            .and_then(|id| ev.bookings.get(id))
            .is_some_and(|b| {
                b.state == BookingState::Entered
                    || b.stops.iter().any(|s| {
                        s.zone.as_str() == zone && s.entered_at.is_some() && s.exited_at.is_none()
                    })
            });
        if !recorded {
            failures.push(format!(
                "truck {truck} is inside {zone} but not recorded inside"
            ));
        }
    }
    proof(
        ProofName::Inside,
        failures,
        format!("{still} trucks recorded inside at the end, every other one exited"),
    )
}

#[allow(dead_code)]
fn _uses(_: Verdict, _: Passage) {}
