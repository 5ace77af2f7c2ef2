use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use crate::audit::{AuditKind, Who};
use crate::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use crate::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use crate::ledger::{AdminChange, BookingState, Direction, Gate, Lane, Ledger, NewBooking, Stop};
use crate::passage::{Passage, Resolution, Verdict};
use crate::plate::Plate;

fn hours(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + TimeDelta::hours(h)
}

fn minutes(m: i64) -> DateTime<Utc> {
    hours(0) + TimeDelta::minutes(m)
}

fn zid(s: &str) -> ZoneId {
    ZoneId::parse(s).unwrap()
}

fn gid(s: &str) -> GateId {
    GateId::parse(s).unwrap()
}

/// Zones `act` (gates `g1`, `g2`) and `siz` (gate `s1`), 60-minute windows of 50 places.
fn ledger() -> Ledger {
    let mut l = Ledger::new();
    for z in ["act", "siz"] {
        let mut cfg = ZoneConfig::new(
            zid(z),
            z,
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(50),
        );
        cfg.rules.horizon_minutes = 24 * 60;
        cfg.rules.company_cap_percent = 100;
        l.upsert_zone(cfg).unwrap();
    }
    for (g, z) in GATES {
        let gate = Gate {
            id: gid(g),
            zone: zid(z),
            name: g.into(),
            lanes: vec![Lane {
                id: LaneId::parse("in-1").unwrap(),
                direction: Direction::In,
            }],
            name_ar: String::new(),
        };
        l.administer(AdminChange::UpsertGate(gate), &Who::system(), hours(0))
            .unwrap();
    }
    l
}

/// A booking of plate `n` in `zone` for the window starting at hour `h`.
fn book(l: &mut Ledger, n: u32, zone: &str, h: i64) -> BookingId {
    let b = NewBooking {
        by: None,
        company: CompanyId::parse("fleet").unwrap(),
        idempotency_key: format!("k{n}"),
        plate: Plate::parse(&format!("60{n:05}")).unwrap(),
        epc: None,
        stops: vec![Stop::new(
            zid(zone),
            hours(h),
            TransactionType::GeneralCargo,
            vec![],
        )],
    };
    l.create(b, hours(0), u128::from(n)).unwrap().id
}

/// The gates of [`ledger`] and their zones.
const GATES: [(&str, &str); 3] = [("g1", "act"), ("g2", "act"), ("s1", "siz")];

fn entry(n: u128, gate: &str, booking: BookingId, at: DateTime<Utc>, verdict: Verdict) -> Passage {
    let zone = GATES
        .iter()
        .find(|(g, _)| *g == gate)
        .map_or("act", |(_, z)| *z);
    Passage {
        id: PassageId::new(at, n),
        zone: zid(zone),
        gate: gid(gate),
        lane: LaneId::parse("in-1").unwrap(),
        direction: Direction::In,
        first_read_at: at,
        last_read_at: at,
        decided_at: at,
        plate: None,
        confidence: None,
        epc: None,
        verdict,
        reasons: vec![],
        booking: Some(booking),
        offline: true,
    }
}

fn state(l: &Ledger, id: BookingId) -> BookingState {
    l.booking(id).unwrap().state
}

#[test]
fn a_gate_that_has_not_reported_far_enough_holds_its_zones_sweep() {
    let mut l = ledger();
    // Window 05:00-06:00, entry until 06:30.
    let id = book(&mut l, 1, "act", 5);
    // A gate that never reported holds nothing back.
    l.note_reported(&gid("g1"), hours(6));
    assert!(l.sweep_no_shows(hours(8)).is_empty(), "g1 is at 06:00");
    l.note_reported(&gid("g1"), minutes(6 * 60 + 31));
    l.note_reported(&gid("g2"), hours(6));
    assert!(l.sweep_no_shows(hours(8)).is_empty(), "g2 is at 06:00");
    // Another zone's gate behind changes nothing.
    l.note_reported(&gid("s1"), hours(1));
    assert_eq!(l.sweep_holds().get(&zid("act")), Some(&hours(6)));
    l.note_reported(&gid("g2"), hours(7));
    assert!(l.sweep_no_shows(hours(8)).bookings.contains(&id));
    assert_eq!(state(&l, id), BookingState::NoShow);
}

#[test]
fn a_report_mark_never_goes_back() {
    let mut l = ledger();
    assert!(
        l.note_reported(&gid("g1"), hours(7))
            .reports
            .contains(&gid("g1"))
    );
    assert!(l.note_reported(&gid("g1"), hours(6)).is_empty());
    assert_eq!(l.reported().get(&gid("g1")), Some(&hours(7)));
    assert_eq!(l.sweep_holds().get(&zid("act")), Some(&hours(7)));
}

#[test]
fn a_passage_that_proves_the_truck_came_takes_the_no_show_back() {
    let mut l = ledger();
    let id = book(&mut l, 1, "act", 5);
    l.sweep_no_shows(hours(8));
    assert_eq!(
        l.no_shows().get(&CompanyId::parse("fleet").unwrap()),
        Some(&1)
    );
    let p = entry(1, "g1", id, minutes(5 * 60 + 10), Verdict::Allow);
    let (new, t) = l.record_passage(p.clone()).unwrap();
    assert!(new);
    let b = l.booking(id).unwrap();
    assert_eq!(b.state, BookingState::Entered);
    assert_eq!(b.entered_at, Some(p.decided_at));
    assert_eq!(
        l.no_shows().get(&CompanyId::parse("fleet").unwrap()),
        Some(&0)
    );
    let [record] = &t.audit[..] else {
        panic!("one audit record: {:?}", t.audit);
    };
    assert_eq!(record.kind, AuditKind::NoShowTakenBack);
    assert_eq!(record.who.name, "gate g1");
    assert!(record.objects.contains(&format!("booking:{id}")));
    assert!(record.objects.contains(&format!("passage:{}", p.id)));
    assert!(
        record
            .changes
            .iter()
            .any(|c| c.field == "state" && c.before == "NO_SHOW" && c.after == "ENTERED"),
        "{:?}",
        record.changes
    );
    // A DENY proves nothing.
    let other = book(&mut l, 2, "act", 5);
    l.sweep_no_shows(hours(9));
    l.record_passage(entry(2, "g1", other, minutes(5 * 60 + 20), Verdict::Deny))
        .unwrap();
    assert_eq!(state(&l, other), BookingState::NoShow);
}

#[test]
fn an_approved_referral_takes_the_no_show_back() {
    let mut l = ledger();
    let id = book(&mut l, 1, "act", 5);
    let p = entry(1, "g1", id, minutes(5 * 60 + 10), Verdict::Refer);
    l.sweep_no_shows(hours(8));
    l.record_passage(p.clone()).unwrap();
    let t = l
        .resolve_referral(
            p.id,
            &Resolution::approve("papers checked"),
            &Who::named("op"),
            hours(8),
        )
        .unwrap();
    assert_eq!(state(&l, id), BookingState::Entered);
    assert!(
        t.audit
            .iter()
            .any(|r| r.kind == AuditKind::NoShowTakenBack && r.who.name == "op")
    );
}

// ---- property: gates cut off at random never leave a truck that came a no-show ------------

#[derive(Debug, Clone)]
enum Op {
    /// The truck of booking `booking` comes to gate `gate` now.
    Arrive {
        booking: u8,
        gate: u8,
    },
    /// Gate `gate` delivers up to `n` passages of its outbox, if its link is up.
    Deliver {
        gate: u8,
        n: u8,
    },
    /// Gate `gate`'s link goes down or comes back.
    Toggle {
        gate: u8,
    },
    Advance {
        minutes: u16,
    },
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>()).prop_map(|(booking, gate)| Op::Arrive { booking, gate }),
        3 => (any::<u8>(), 0u8..5).prop_map(|(gate, n)| Op::Deliver { gate, n }),
        1 => any::<u8>().prop_map(|gate| Op::Toggle { gate }),
        3 => (1u16..90).prop_map(|minutes| Op::Advance { minutes }),
        2 => Just(Op::Sweep),
    ]
}

/// A gate agent as the scheduler sees it: an outbox delivered in order, a link up or down,
/// and the report mark it sends with every delivery.
#[derive(Debug, Default)]
struct Agent {
    outbox: Vec<Passage>,
    down: bool,
}

impl Agent {
    /// Everything decided before this is delivered.
    fn mark(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.outbox
            .iter()
            .map(|p| p.decided_at)
            .fold(now, DateTime::min)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Trucks come through gates whose links go down and up at random, the sweep runs at
    /// random: at no step is a booking whose truck a gate let in a no-show, and once every
    /// outbox is delivered every one of them is ENTERED and the company's count is the number
    /// of NO_SHOW bookings.
    #[test]
    fn a_truck_that_entered_is_never_left_a_no_show(ops in proptest::collection::vec(op(), 1..120)) {
        let mut l = ledger();
        let ids: Vec<BookingId> = (0..12u32)
            .map(|n| book(&mut l, n + 1, if n % 3 == 0 { "siz" } else { "act" }, 1 + i64::from(n % 6)))
            .collect();
        let mut agents: Vec<Agent> = GATES.iter().map(|_| Agent::default()).collect();
        // Every agent reports as it starts.
        for (g, _) in GATES {
            l.note_reported(&gid(g), hours(0));
        }
        let mut came: BTreeSet<BookingId> = BTreeSet::new();
        let mut now = hours(0);
        let mut n = 0u128;
        for op in ops {
            match op {
                Op::Arrive { booking, gate } => {
                    let id = ids[usize::from(booking) % ids.len()];
                    let g = usize::from(gate) % GATES.len();
                    let b = l.booking(id).unwrap().clone();
                    let z = l.zone(&b.stops[0].zone).unwrap();
                    let (from, until) = z.entry_period(b.stops[0].window_start);
                    // The gate lets in a truck of its zone, in its entry period, once.
                    if z.id.as_str() == GATES[g].1
                        && (from..until).contains(&now)
                        && came.insert(id)
                    {
                        n += 1;
                        agents[g].outbox.push(entry(n, GATES[g].0, id, now, Verdict::Allow));
                    }
                }
                Op::Deliver { gate, n } => {
                    let g = usize::from(gate) % GATES.len();
                    if !agents[g].down {
                        let k = usize::from(n).min(agents[g].outbox.len());
                        for p in agents[g].outbox.drain(..k).collect::<Vec<_>>() {
                            l.record_passage(p).unwrap();
                        }
                        l.note_reported(&gid(GATES[g].0), agents[g].mark(now));
                    }
                }
                Op::Toggle { gate } => {
                    let g = usize::from(gate) % GATES.len();
                    agents[g].down = !agents[g].down;
                }
                Op::Advance { minutes } => now += TimeDelta::minutes(i64::from(minutes)),
                Op::Sweep => { l.sweep_no_shows(now); }
            }
            for id in &came {
                prop_assert_ne!(state(&l, *id), BookingState::NoShow, "{} came", id);
            }
        }
        for (g, a) in agents.iter_mut().enumerate() {
            for p in a.outbox.drain(..).collect::<Vec<_>>() {
                l.record_passage(p).unwrap();
            }
            l.note_reported(&gid(GATES[g].0), now + TimeDelta::days(1));
        }
        l.sweep_no_shows(now + TimeDelta::days(1));
        let mut no_shows = 0;
        for id in &ids {
            let s = state(&l, *id);
            prop_assert_eq!(s == BookingState::Entered, came.contains(id), "{} is {:?}", id, s);
            no_shows += u64::from(s == BookingState::NoShow);
        }
        let counted: BTreeMap<_, _> = l.no_shows().clone().into_iter().collect();
        prop_assert_eq!(counted.values().sum::<u64>(), no_shows);
    }
}
