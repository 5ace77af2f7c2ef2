use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use crate::epc::Epc;
use crate::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use crate::ledger::{Booking, BookingState, ChangeEntry, Direction, Stop};
use crate::passage::{Passage, Reason, Verdict};
use crate::plate::Plate;

// ---- fixture -----------------------------------------------------------------------------

/// Thursday 2026-11-26 08:00 UTC, 11:00 in Amman: a window start of the 30-minute zones.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
}

fn mins(m: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(m)
}

fn ms(m: i64) -> DateTime<Utc> {
    t0() + TimeDelta::milliseconds(m)
}

fn zid(s: &str) -> ZoneId {
    ZoneId::parse(s).unwrap()
}

fn plate(s: &str) -> Plate {
    Plate::parse(s).unwrap()
}

fn epc(s: &str) -> Epc {
    Epc::parse_hex(s).unwrap()
}

/// The booking made with `n` as its random part.
fn bid(n: u128) -> BookingId {
    BookingId::new(t0() - TimeDelta::days(1), n)
}

/// A zone of 30-minute windows; trucks may enter 30 minutes early and 30 minutes late, so
/// a truck of the window at `t0` may enter in `[t0 - 30 min, t0 + 60 min)`.
fn zone(id: &str) -> ZoneConfig {
    ZoneConfig::new(
        zid(id),
        id,
        SlotLength::from_minutes(30).unwrap(),
        WindowCapacity::uniform(10),
    )
}

fn stop(zone: &str, window_start: DateTime<Utc>) -> Stop {
    Stop::new(
        zid(zone),
        window_start,
        TransactionType::EmptyReturn,
        vec![],
    )
}

fn booking(
    n: u128,
    plate_: &str,
    epc_: Option<&str>,
    state: BookingState,
    stops: Vec<Stop>,
) -> Booking {
    Booking {
        id: bid(n),
        company: CompanyId::parse("acme").unwrap(),
        plate: plate(plate_),
        epc: epc_.map(epc),
        stops,
        state,
        idempotency_key: format!("key-{n}"),
        created_at: t0() - TimeDelta::days(1),
        updated_at: t0() - TimeDelta::days(1),
        entered_at: None,
        exited_at: None,
        cancel_reason: None,
        revision: 1,
    }
}

fn visited(mut s: Stop, entered: i64, exited: Option<i64>) -> Stop {
    s.entered_at = Some(mins(entered));
    s.exited_at = exited.map(mins);
    s
}

const E1: &str = "E2000001";
const E3: &str = "E2000003";
const E7: &str = "E2000007";
/// A tag no booking registered.
const E9: &str = "E2000009";

/// The bookings of the decision tables, numbered as in [`bid`]. The gate is in zone `act`.
fn fixture() -> Vec<Booking> {
    use BookingState::*;
    vec![
        booking(1, "6012345", Some(E1), Booked, vec![stop("act", t0())]),
        booking(2, "7011111", None, Booked, vec![stop("act", t0())]),
        booking(3, "AB1234", Some(E3), Booked, vec![stop("act", t0())]),
        booking(4, "6022222", None, Cancelled, vec![stop("act", t0())]),
        booking(5, "6033333", None, NoShow, vec![stop("act", t0())]),
        booking(
            6,
            "6044444",
            None,
            Exited,
            vec![visited(stop("act", t0()), -20, Some(-5))],
        ),
        booking(
            7,
            "6055555",
            Some(E7),
            Entered,
            vec![visited(stop("act", t0()), -10, None)],
        ),
        booking(8, "6066666", None, Booked, vec![stop("ayla", t0())]),
        booking(
            9,
            "6077777",
            None,
            Entered,
            vec![
                visited(stop("ayla", mins(-120)), -125, Some(-40)),
                stop("act", t0()),
            ],
        ),
        booking(10, "6088888", None, Booked, vec![stop("act", mins(180))]),
        booking(11, "6099999", None, Booked, vec![stop("act", mins(-180))]),
    ]
}

fn replica_of(bookings: Vec<Booking>) -> Replica {
    let mut r = Replica::new();
    r.set_zone(zone("act"));
    r.set_zone(zone("ayla"));
    let (act, ayla): (Vec<Booking>, Vec<Booking>) = bookings
        .into_iter()
        .partition(|b| b.stops.iter().any(|s| s.zone == zid("act")));
    r.reset_zone(&zid("act"), 100, act);
    r.reset_zone(&zid("ayla"), 50, ayla);
    r
}

fn replica() -> Replica {
    replica_of(fixture())
}

fn lane(direction: Direction) -> LaneConfig {
    let name = match direction {
        Direction::In => "in-1",
        Direction::Out => "out-1",
    };
    LaneConfig::new(
        zid("act"),
        GateId::parse("gate-1").unwrap(),
        LaneId::parse(name).unwrap(),
        direction,
    )
}

fn read(p: &str) -> PlateRead {
    read_c(p, 95)
}

fn read_c(p: &str, confidence: u8) -> PlateRead {
    PlateRead::Read {
        plate: plate(p),
        confidence: Some(confidence),
    }
}

fn evidence(plate: PlateRead, tag: Option<&str>) -> Evidence {
    Evidence {
        plate,
        epc: tag.map(epc),
    }
}

// ---- decision tables ---------------------------------------------------------------------

use Reason::*;
use Verdict::{Allow, Deny, Refer};

struct Case {
    name: &'static str,
    plate: PlateRead,
    tag: Option<&'static str>,
    verdict: Verdict,
    reasons: &'static [Reason],
    booking: Option<u128>,
    stop: Option<usize>,
}

fn case(
    name: &'static str,
    plate: PlateRead,
    tag: Option<&'static str>,
    verdict: Verdict,
    reasons: &'static [Reason],
    booking: Option<u128>,
) -> Case {
    Case {
        name,
        plate,
        tag,
        verdict,
        reasons,
        booking,
        stop: booking.map(|_| 0),
    }
}

#[rustfmt::skip]
fn in_cases() -> Vec<Case> {
    let no_conf = PlateRead::Read {
        plate: plate("6012345"),
        confidence: None,
    };
    vec![
        case("plate and its tag", read("6012345"), Some(E1), Allow, &[BookingValid], Some(1)),
        case("plate alone", read("6012345"), None, Allow, &[BookingValid], Some(1)),
        case("camera gives no confidence", no_conf, None, Allow, &[BookingValid], Some(1)),
        case("confidence at the threshold", read_c("6012345", 70), None, Allow, &[BookingValid], Some(1)),
        case("unregistered truck, unknown tag ignored", read("7011111"), Some(E9), Allow, &[BookingValid], Some(2)),
        case("failed plate, tag decides", PlateRead::Failed, Some(E1), Allow, &[BookingValid], Some(1)),
        case("no plate read, tag decides", PlateRead::NotRead, Some(E1), Allow, &[BookingValid], Some(1)),
        case("tag confirms a look-alike plate", read("A81234"), Some(E3), Allow, &[BookingValid], Some(3)),
        case("tag confirms a weak read", read_c("6012345", 40), Some(E1), Allow, &[BookingValid], Some(1)),
        Case {
            stop: Some(1),
            ..case("multi-stop: entered at an earlier stop", read("6077777"), None, Allow, &[BookingValid], Some(9))
        },
        case("unknown plate", read("1234567"), None, Deny, &[NoBooking], None),
        case("unknown plate and unknown tag", read("1234567"), Some(E9), Deny, &[NoBooking], None),
        Case {
            stop: None,
            ..case("booked for another zone", read("6066666"), None, Deny, &[WrongZone], Some(8))
        },
        case("too early", read("6088888"), None, Deny, &[TooEarly], Some(10)),
        case("too late", read("6099999"), None, Deny, &[TooLate], Some(11)),
        case("cancelled", read("6022222"), None, Deny, &[Cancelled], Some(4)),
        case("no-show", read("6033333"), None, Deny, &[NoShow], Some(5)),
        case("visit over", read("6044444"), None, Refer, &[AlreadyInside], Some(6)),
        case("already inside", read("6055555"), Some(E7), Refer, &[AlreadyInside], Some(7)),
        case("already inside, by tag", PlateRead::Failed, Some(E7), Refer, &[AlreadyInside], Some(7)),
        case("tag of another booking", read("6012345"), Some(E3), Refer, &[PlateTagMismatch], Some(1)),
        case("tag unknown, truck registered one", read("6012345"), Some(E9), Refer, &[PlateTagMismatch], Some(1)),
        case("unregistered truck, another truck's tag", read("7011111"), Some(E1), Refer, &[PlateTagMismatch], Some(2)),
        case("unknown plate, another truck's tag", read("1234567"), Some(E1), Refer, &[PlateTagMismatch], Some(1)),
        case("look-alike plate, another truck's tag", read("A81234"), Some(E1), Refer, &[PlateTagMismatch], Some(1)),
        case("look-alike plate", read("A81234"), None, Refer, &[ConfusablePlate], Some(3)),
        case("look-alike plate, unknown tag", read("A81234"), Some(E9), Refer, &[ConfusablePlate], Some(3)),
        case("failed plate, no tag", PlateRead::Failed, None, Refer, &[UnreadPlate], None),
        case("nothing read but an unknown tag", PlateRead::NotRead, Some(E9), Refer, &[UnreadPlate], None),
        case("weak read", read_c("6012345", 40), None, Refer, &[LowConfidence], Some(1)),
        case("weak read of nothing", read_c("1234567", 40), None, Refer, &[LowConfidence], None),
        case("weak look-alike", read_c("A81234", 40), None, Refer, &[ConfusablePlate, LowConfidence], Some(3)),
        case("weak read, wrong tag", read_c("6012345", 40), Some(E3), Refer, &[PlateTagMismatch, LowConfidence], Some(1)),
    ]
}

#[rustfmt::skip]
fn out_cases() -> Vec<Case> {
    vec![
        case("inside: plate", read("6055555"), None, Allow, &[ExitRecorded], Some(7)),
        case("inside: plate and tag", read("6055555"), Some(E7), Allow, &[ExitRecorded], Some(7)),
        case("inside: tag only", PlateRead::Failed, Some(E7), Allow, &[ExitRecorded], Some(7)),
        case("never entered", read("6012345"), None, Refer, &[NotInside], Some(1)),
        case("already left", read("6044444"), None, Refer, &[NotInside], Some(6)),
        case("cancelled", read("6022222"), None, Refer, &[NotInside], Some(4)),
        Case {
            stop: Some(1),
            ..case("multi-stop: not entered here", read("6077777"), None, Refer, &[NotInside], Some(9))
        },
        case("unknown plate", read("1234567"), None, Refer, &[NoBooking], None),
        Case {
            stop: None,
            ..case("booked for another zone", read("6066666"), None, Refer, &[WrongZone], Some(8))
        },
        case("tag of another truck", read("6055555"), Some(E1), Refer, &[PlateTagMismatch], Some(7)),
        case("look-alike", read("6O55555"), None, Refer, &[ConfusablePlate], Some(7)),
        case("look-alike confirmed by tag", read("6O55555"), Some(E7), Allow, &[ExitRecorded], Some(7)),
        case("unread", PlateRead::Failed, None, Refer, &[UnreadPlate], None),
        case("weak read", read_c("6055555", 10), None, Refer, &[LowConfidence], Some(7)),
    ]
}

fn check(r: &Replica, direction: Direction, cases: &[Case], seen: &mut BTreeSet<Reason>) {
    let l = lane(direction);
    for c in cases {
        let d = decide(r, &l, &evidence(c.plate.clone(), c.tag), mins(5), false);
        let want = Decision {
            verdict: c.verdict,
            reasons: c.reasons.to_vec(),
            booking: c.booking.map(bid),
            stop: c.stop,
        };
        assert_eq!(d, want, "{direction:?}: {}", c.name);
        seen.extend(d.reasons);
    }
}

#[test]
fn in_lane_table() {
    check(&replica(), Direction::In, &in_cases(), &mut BTreeSet::new());
}

#[test]
fn out_lane_table() {
    check(
        &replica(),
        Direction::Out,
        &out_cases(),
        &mut BTreeSet::new(),
    );
}

#[test]
fn offline_policies() {
    let r = replica();
    let doubtful = evidence(PlateRead::Failed, None);
    let mut l = lane(Direction::In);
    let with = |l: &LaneConfig, e: &Evidence, offline| {
        let d = decide(&r, l, e, mins(5), offline);
        (d.verdict, d.reasons)
    };
    assert_eq!(with(&l, &doubtful, false), (Refer, vec![UnreadPlate]));
    assert_eq!(
        with(&l, &doubtful, true),
        (Refer, vec![UnreadPlate, OfflineDoubtful])
    );
    l.offline_policy = OfflinePolicy::Deny;
    assert_eq!(
        with(&l, &doubtful, true),
        (Deny, vec![UnreadPlate, OfflineDoubtful])
    );
    // Clear cases are not touched.
    let valid = evidence(read("6012345"), Some(E1));
    assert_eq!(with(&l, &valid, true), (Allow, vec![BookingValid]));
    let unknown = evidence(read("1234567"), None);
    assert_eq!(with(&l, &unknown, true), (Deny, vec![NoBooking]));
    // OUT lanes refer their doubts; offline under DENY they stay shut.
    let mut out = lane(Direction::Out);
    out.offline_policy = OfflinePolicy::Deny;
    let never_in = evidence(read("6012345"), None);
    assert_eq!(
        with(&out, &never_in, true),
        (Deny, vec![NotInside, OfflineDoubtful])
    );
    assert_eq!(OfflinePolicy::default(), OfflinePolicy::Refer);
}

#[test]
fn every_reason_is_tabled() {
    let r = replica();
    let mut seen = BTreeSet::new();
    check(&r, Direction::In, &in_cases(), &mut seen);
    check(&r, Direction::Out, &out_cases(), &mut seen);
    seen.insert(OfflineDoubtful); // offline_policies
    let all = [
        BookingValid,
        ExitRecorded,
        NoBooking,
        WrongZone,
        TooEarly,
        TooLate,
        Cancelled,
        NoShow,
        AlreadyInside,
        NotInside,
        PlateTagMismatch,
        ConfusablePlate,
        UnreadPlate,
        LowConfidence,
        OfflineDoubtful,
    ];
    assert_eq!(seen, all.into_iter().collect());
}

#[test]
fn entry_period_bounds() {
    let r = replica();
    let l = lane(Direction::In);
    let at = |t| decide(&r, &l, &evidence(read("6012345"), None), t, false).reasons;
    assert_eq!(at(mins(-31)), vec![TooEarly]);
    assert_eq!(at(mins(-30)), vec![BookingValid]);
    assert_eq!(at(mins(59)), vec![BookingValid]);
    assert_eq!(at(mins(60)), vec![TooLate]);
}

#[test]
fn picks_the_booking_that_fits() {
    use BookingState::*;
    let l = lane(Direction::In);
    let decide_at = |r: &Replica, t| decide(r, &l, &evidence(read("6012345"), None), t, false);
    // Cancelled, then booked again for the same window: the live booking wins.
    let r = replica_of(vec![
        booking(1, "6012345", None, Cancelled, vec![stop("act", t0())]),
        booking(2, "6012345", None, Booked, vec![stop("act", t0())]),
    ]);
    assert_eq!(decide_at(&r, mins(0)).booking, Some(bid(2)));
    // Today and tomorrow: the one whose period contains now, else the nearest.
    let r = replica_of(vec![
        booking(1, "6012345", None, Booked, vec![stop("act", mins(24 * 60))]),
        booking(2, "6012345", None, Booked, vec![stop("act", t0())]),
    ]);
    assert_eq!(decide_at(&r, mins(0)).booking, Some(bid(2)));
    let d = decide_at(&r, mins(20 * 60));
    assert_eq!((d.booking, d.reasons), (Some(bid(1)), vec![TooEarly]));
    // A visit already made is skipped for the next one.
    let r = replica_of(vec![
        booking(
            1,
            "6012345",
            None,
            Exited,
            vec![visited(stop("act", t0()), 0, Some(20))],
        ),
        booking(2, "6012345", None, Booked, vec![stop("act", mins(180))]),
    ]);
    let d = decide_at(&r, mins(30));
    assert_eq!((d.booking, d.reasons), (Some(bid(2)), vec![TooEarly]));
    // A booking here beats one elsewhere.
    let r = replica_of(vec![
        booking(1, "6012345", None, Booked, vec![stop("ayla", t0())]),
        booking(2, "6012345", None, Booked, vec![stop("act", mins(120))]),
    ]);
    assert_eq!(decide_at(&r, mins(0)).reasons, vec![TooEarly]);
}

#[test]
fn visit_returning_to_a_zone_uses_the_next_stop() {
    let b = booking(
        1,
        "6012345",
        None,
        BookingState::Entered,
        vec![
            visited(stop("act", t0()), 0, Some(20)),
            stop("ayla", mins(60)),
            stop("act", mins(180)),
        ],
    );
    let r = replica_of(vec![b]);
    let d = decide(
        &r,
        &lane(Direction::In),
        &evidence(read("6012345"), None),
        mins(170),
        false,
    );
    assert_eq!((d.verdict, d.stop), (Allow, Some(2)));
}

#[test]
fn unknown_zone_config_falls_back_to_default_grace() {
    let mut r = Replica::new();
    r.reset_zone(
        &zid("act"),
        1,
        [booking(
            1,
            "6012345",
            None,
            BookingState::Booked,
            vec![stop("act", t0())],
        )],
    );
    let l = lane(Direction::In);
    let at = |t| decide(&r, &l, &evidence(read("6012345"), None), t, false).verdict;
    assert_eq!(at(mins(-30)), Allow);
    assert_eq!(at(mins(-31)), Deny);
    assert_eq!(at(mins(90)), Deny);
}

// ---- replica -----------------------------------------------------------------------------

fn entry(zone: &str, seq: u64, b: &Booking) -> ChangeEntry {
    ChangeEntry {
        zone: zid(zone),
        seq,
        at: t0(),
        booking: b.clone(),
    }
}

fn revised(b: &Booking, change: impl FnOnce(&mut Booking)) -> Booking {
    let mut b = b.clone();
    change(&mut b);
    b.revision += 1;
    b
}

#[test]
fn apply_follows_the_log_once() {
    let mut r = Replica::new();
    let b1 = booking(
        1,
        "6012345",
        Some(E1),
        BookingState::Booked,
        vec![stop("act", t0())],
    );
    assert_eq!(r.seq(&zid("act")), 0);
    assert!(r.apply(&entry("act", 1, &b1)));
    assert_eq!((r.len(), r.seq(&zid("act"))), (1, 1));
    // Replays and older entries change nothing.
    assert!(!r.apply(&entry("act", 1, &b1)));
    let b2 = revised(&b1, |b| b.epc = Some(epc(E3)));
    assert!(!r.apply(&entry("act", 0, &b2)));
    assert_eq!(r.booking(bid(1)), Some(&b1));
    // A newer entry carrying an older revision moves the sequence, not the booking.
    assert!(r.apply(&entry("act", 3, &b2)));
    assert!(!r.apply(&entry("act", 4, &b1)));
    assert_eq!(r.seq(&zid("act")), 4);
    assert_eq!(r.booking(bid(1)), Some(&b2));
    // The indexes follow the change of tag.
    assert_eq!(r.by_epc(&epc(E1)).count(), 0);
    assert_eq!(
        r.by_epc(&epc(E3)).map(|b| b.id).collect::<Vec<_>>(),
        vec![bid(1)]
    );
    assert_eq!(r.by_plate(&plate("6012345")).count(), 1);
    assert_eq!(r.by_skeleton("6012345").count(), 1);
    // Sequences are per zone.
    assert!(!r.apply(&entry("ayla", 2, &b2)), "same revision");
    assert_eq!(r.seqs().values().copied().collect::<Vec<_>>(), vec![4, 2]);
    assert_eq!(r.len(), 1);
}

#[test]
fn snapshots_replace_a_zones_bookings() {
    use BookingState::*;
    let both = booking(
        1,
        "6012345",
        None,
        Booked,
        vec![stop("ayla", mins(-60)), stop("act", t0())],
    );
    let act_only = booking(2, "7011111", None, Booked, vec![stop("act", t0())]);
    let mut r = Replica::new();
    r.reset_zone(&zid("act"), 10, [both.clone(), act_only.clone()]);
    let newer = revised(&both, |b| b.state = Entered);
    r.reset_zone(&zid("ayla"), 7, [newer.clone()]);
    assert_eq!(r.len(), 2);
    assert_eq!(r.booking(bid(1)), Some(&newer));
    // An older copy in a later snapshot does not win.
    r.reset_zone(&zid("act"), 12, [both.clone()]);
    assert_eq!(r.booking(bid(1)), Some(&newer));
    // `act_only` left the act snapshot: gone, indexes too. `both` stays through ayla...
    assert_eq!(r.booking(bid(2)), None);
    assert_eq!(r.by_plate(&plate("7011111")).count(), 0);
    assert_eq!(r.seq(&zid("act")), 12);
    // ...until neither zone brings it.
    r.reset_zone(&zid("act"), 13, []);
    assert_eq!(r.len(), 1);
    assert_eq!(r.zone_bookings(&zid("act")).count(), 0);
    assert_eq!(r.zone_bookings(&zid("ayla")).count(), 1);
    r.reset_zone(&zid("ayla"), 8, []);
    assert!(r.is_empty());
    assert_eq!(r.by_skeleton("6012345").count(), 0);
}

#[test]
fn zones_are_kept() {
    let mut r = Replica::new();
    assert!(r.zone(&zid("act")).is_none());
    r.set_zone(zone("act"));
    assert_eq!(r.zone(&zid("act")).map(|z| z.slot.minutes()), Some(30));
    assert_eq!(r.zones().count(), 1);
}

/// A passage as the lane would make it.
fn passage(
    n: u128,
    direction: Direction,
    verdict: Verdict,
    booking: Option<u128>,
    at: DateTime<Utc>,
) -> Passage {
    Passage {
        id: PassageId::new(at, n),
        zone: zid("act"),
        gate: GateId::parse("gate-1").unwrap(),
        lane: LaneId::parse("lane-1").unwrap(),
        direction,
        first_read_at: at,
        last_read_at: at,
        decided_at: at,
        plate: None,
        confidence: None,
        epc: None,
        verdict,
        reasons: vec![],
        booking: booking.map(bid),
        offline: true,
    }
}

#[test]
fn overlay_moves_trucks_until_the_scheduler_does() {
    let mut r = replica();
    let b1 = r.booking(bid(1)).unwrap().clone();
    let reasons = |r: &Replica, d| {
        decide(
            r,
            &lane(d),
            &evidence(read("6012345"), None),
            mins(10),
            false,
        )
        .reasons
    };
    // Only ALLOWs with a booking count.
    assert!(!r.record_local(&passage(1, Direction::In, Refer, Some(1), mins(1))));
    assert!(!r.record_local(&passage(2, Direction::In, Allow, None, mins(1))));
    assert!(!r.record_local(&passage(3, Direction::In, Allow, Some(99), mins(1))));
    assert!(
        !r.record_local(&passage(4, Direction::Out, Allow, Some(1), mins(1))),
        "not inside"
    );
    let id = |n| PassageId::new(mins(1), n);
    assert_eq!(
        r.take_settled(),
        vec![id(1), id(2), id(3), id(4)],
        "never taken in"
    );
    // In.
    let p_in = passage(5, Direction::In, Allow, Some(1), mins(2));
    assert!(r.record_local(&p_in));
    assert!(!r.record_local(&p_in), "idempotent");
    assert_eq!(r.progress(&b1, 0).entered_at, Some(mins(2)));
    assert_eq!(reasons(&r, Direction::In), vec![AlreadyInside]);
    assert_eq!(reasons(&r, Direction::Out), vec![ExitRecorded]);
    // Out.
    let p_out = passage(6, Direction::Out, Allow, Some(1), mins(8));
    assert!(r.record_local(&p_out));
    assert!(
        !r.record_local(&passage(7, Direction::In, Allow, Some(1), mins(9))),
        "a stop is entered once"
    );
    assert_eq!(reasons(&r, Direction::In), vec![AlreadyInside]);
    assert_eq!(reasons(&r, Direction::Out), vec![NotInside]);
    assert_eq!(r.take_settled(), vec![PassageId::new(mins(9), 7)]);
    let mut overlay: Vec<Passage> = r.overlay().cloned().collect();
    overlay.sort_by_key(|p| p.id);
    assert_eq!(overlay, vec![p_in.clone(), p_out.clone()]);

    // Restored elsewhere, in any order, it is the same.
    let mut again = replica();
    again.restore_overlay([p_out.clone(), p_in.clone()]);
    assert_eq!(again.overlay().count(), 2);
    assert_eq!(again.progress(&b1, 0), r.progress(&b1, 0));

    // The scheduler shows the entry: the IN mark goes, the OUT mark stays.
    let entered = revised(&b1, |b| {
        b.state = BookingState::Entered;
        b.stops[0].entered_at = Some(mins(3));
    });
    assert!(r.apply(&entry("act", 101, &entered)));
    assert_eq!(r.take_settled(), vec![p_in.id]);
    assert_eq!(
        r.overlay().cloned().collect::<Vec<_>>(),
        vec![p_out.clone()]
    );
    assert_eq!(
        r.progress(&entered, 0),
        StopProgress {
            entered_at: Some(mins(3)),
            exited_at: Some(mins(8)),
        }
    );
    // Then the exit: the overlay is empty, the truck still out.
    let exited = revised(&entered, |b| {
        b.state = BookingState::Exited;
        b.stops[0].exited_at = Some(mins(9));
    });
    assert!(r.apply(&entry("act", 102, &exited)));
    assert_eq!(r.overlay().count(), 0);
    assert_eq!(r.take_settled(), vec![p_out.id]);
    assert_eq!(reasons(&r, Direction::Out), vec![NotInside]);
    // Restoring passages the scheduler has shown records nothing.
    r.restore_overlay([p_out.clone(), p_in.clone()]);
    assert_eq!(r.overlay().count(), 0);
    assert_eq!(r.take_settled(), vec![p_in.id, p_out.id]);
    assert!(r.take_settled().is_empty());
    // Dropping the booking drops its overlay.
    let mut s = replica();
    assert!(s.record_local(&passage(8, Direction::In, Allow, Some(1), mins(2))));
    s.reset_zone(&zid("act"), 200, []);
    assert_eq!(s.overlay().count(), 0);
    assert_eq!(s.take_settled(), vec![PassageId::new(mins(2), 8)]);
}

#[test]
fn restores_what_the_agent_stored() {
    let live = {
        let mut r = replica();
        assert!(r.record_local(&passage(1, Direction::In, Allow, Some(1), mins(2))));
        r
    };
    let bookings: Vec<Booking> = live.bookings().cloned().collect();
    let overlay: Vec<Passage> = live.overlay().cloned().collect();
    let mut r = Replica::restore(
        live.zones().cloned(),
        live.seqs().clone(),
        bookings,
        overlay.clone(),
    );
    assert_eq!((r.len(), r.seqs()), (live.len(), live.seqs()));
    assert_eq!(r.overlay().cloned().collect::<Vec<_>>(), overlay);
    assert!(r.take_settled().is_empty());
    let ids_of = |r: &Replica, z| {
        r.zone_bookings(&zid(z))
            .map(|b| b.id)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ids_of(&r, "act"), ids_of(&live, "act"));
    // Membership comes from the stops: the multi-zone visit counts for ayla too.
    assert_eq!(ids_of(&r, "ayla"), [bid(8), bid(9)].into_iter().collect());
    let ev = evidence(read("6012345"), None);
    let l = lane(Direction::In);
    assert_eq!(
        decide(&r, &l, &ev, mins(5), false),
        decide(&live, &l, &ev, mins(5), false)
    );
    // A snapshot of act drops act's bookings, not the multi-zone visit that ayla brings too.
    r.reset_zone(&zid("act"), 101, []);
    assert_eq!(
        r.bookings().map(|b| b.id).collect::<BTreeSet<_>>(),
        [bid(8), bid(9)].into_iter().collect()
    );
    assert_eq!(r.take_settled(), vec![PassageId::new(mins(2), 1)]);
}

#[test]
fn overlay_follows_multi_stop_visits() {
    let mut r = replica();
    let b9 = r.booking(bid(9)).unwrap().clone();
    let p = passage(1, Direction::In, Allow, Some(9), mins(1));
    assert!(r.record_local(&p));
    assert_eq!(r.progress(&b9, 1).entered_at, Some(mins(1)));
    assert_eq!(r.progress(&b9, 0).entered_at, Some(mins(-125)));
    let d = decide(
        &r,
        &lane(Direction::Out),
        &evidence(read("6077777"), None),
        mins(30),
        false,
    );
    assert_eq!((d.verdict, d.stop), (Allow, Some(1)));
}

// ---- lanes -------------------------------------------------------------------------------

fn ids() -> impl FnMut() -> PassageId {
    let mut n = 0;
    move || {
        n += 1;
        PassageId::new(t0(), n)
    }
}

fn plate_read(at: DateTime<Utc>, p: &str, confidence: u8) -> Read {
    Read {
        at,
        kind: ReadKind::Plate {
            plate: Some(plate(p)),
            confidence: Some(confidence),
        },
    }
}

fn failed_read(at: DateTime<Utc>) -> Read {
    Read {
        at,
        kind: ReadKind::Plate {
            plate: None,
            confidence: Some(12),
        },
    }
}

fn tag_read(at: DateTime<Utc>, e: &str) -> Read {
    Read {
        at,
        kind: ReadKind::Tag(epc(e)),
    }
}

/// Feeds reads, each at its own time, and returns the passages.
fn feed(l: &mut LaneLogic, r: &Replica, reads: Vec<Read>) -> Vec<Passage> {
    let mut new_id = ids();
    reads
        .into_iter()
        .flat_map(|read| {
            let now = read.at;
            l.on_read(read, r, now, false, &mut new_id)
        })
        .collect()
}

/// A verdict and its reasons.
type Outcome = (Verdict, Vec<Reason>);

fn verdicts(ps: &[Passage]) -> Vec<Outcome> {
    ps.iter().map(|p| (p.verdict, p.reasons.clone())).collect()
}

#[test]
fn plate_and_tag_decide_at_once() {
    let r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    let mut new_id = ids();
    assert!(
        l.on_read(tag_read(ms(0), E1), &r, ms(0), false, &mut new_id)
            .is_empty()
    );
    assert_eq!(l.deadline(), Some(ms(2000)));
    let ps = l.on_read(
        plate_read(ms(300), "60-12345", 88),
        &r,
        ms(301),
        true,
        &mut new_id,
    );
    assert_eq!(
        ps,
        vec![Passage {
            id: PassageId::new(t0(), 1),
            zone: zid("act"),
            gate: GateId::parse("gate-1").unwrap(),
            lane: LaneId::parse("in-1").unwrap(),
            direction: Direction::In,
            first_read_at: ms(0),
            last_read_at: ms(300),
            decided_at: ms(301),
            plate: Some(plate("6012345")),
            confidence: Some(88),
            epc: Some(epc(E1)),
            verdict: Allow,
            reasons: vec![BookingValid],
            booking: Some(bid(1)),
            offline: true,
        }]
    );
    assert_eq!(l.deadline(), None);
}

#[test]
fn a_plate_decides_alone_when_no_tag_is_expected() {
    let r = replica();
    // The lane has no reader.
    let mut cfg = lane(Direction::In);
    cfg.has_reader = false;
    let ps = feed(
        &mut LaneLogic::new(cfg),
        &r,
        vec![plate_read(ms(0), "6012345", 90)],
    );
    assert_eq!(verdicts(&ps), vec![(Allow, vec![BookingValid])]);
    // The booking registered no tag.
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(&mut l, &r, vec![plate_read(ms(0), "7011111", 90)]);
    assert_eq!(verdicts(&ps), vec![(Allow, vec![BookingValid])]);
    // A weak read waits for a better one, which completes it.
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(
        &mut l,
        &r,
        vec![
            plate_read(ms(0), "7011111", 40),
            plate_read(ms(100), "7011111", 91),
        ],
    );
    assert_eq!(verdicts(&ps), vec![(Allow, vec![BookingValid])]);
    assert_eq!((ps[0].first_read_at, ps[0].confidence), (ms(0), Some(91)));
}

#[test]
fn incomplete_evidence_waits_for_the_window() {
    let r = replica();
    #[rustfmt::skip]
    let cases: Vec<(Vec<Read>, Outcome)> = vec![
        // The booking registered a tag: wait for it, then decide on the plate.
        (vec![plate_read(ms(0), "6012345", 90)], (Allow, vec![BookingValid])),
        // A tag alone; a failed read alone; both: no plate read to complete them.
        (vec![tag_read(ms(0), E1)], (Allow, vec![BookingValid])),
        (vec![failed_read(ms(0))], (Refer, vec![UnreadPlate])),
        (vec![failed_read(ms(0)), tag_read(ms(500), E1)], (Allow, vec![BookingValid])),
        // A look-alike waits for a tag to confirm it.
        (vec![plate_read(ms(0), "A81234", 90)], (Refer, vec![ConfusablePlate])),
        // A weak read waits for a better one.
        (vec![plate_read(ms(0), "7011111", 40)], (Refer, vec![LowConfidence])),
    ];
    for (reads, want) in cases {
        let mut l = LaneLogic::new(lane(Direction::In));
        let mut new_id = ids();
        assert!(feed(&mut l, &r, reads.clone()).is_empty(), "{reads:?}");
        assert_eq!(l.deadline(), Some(ms(2000)));
        assert!(l.on_tick(ms(1999), &r, false, &mut new_id).is_empty());
        let ps = l.on_tick(ms(2000), &r, false, &mut new_id);
        assert_eq!(verdicts(&ps), vec![want], "{reads:?}");
        assert_eq!(ps[0].decided_at, ms(2000));
        assert_eq!(l.deadline(), None);
        assert!(l.on_tick(ms(5000), &r, false, &mut new_id).is_empty());
    }
}

#[test]
fn a_late_read_closes_an_expired_window_first() {
    let r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(&mut l, &r, vec![failed_read(ms(0)), tag_read(ms(2500), E1)]);
    assert_eq!(verdicts(&ps), vec![(Refer, vec![UnreadPlate])]);
    assert_eq!(l.deadline(), Some(ms(4500)));
}

#[test]
fn another_truck_decides_the_pending_one() {
    let r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    // Truck 1 waits for its tag; truck 2's plate comes: truck 1 is decided on its plate, and
    // truck 2 (no tag registered) at once.
    let ps = feed(
        &mut l,
        &r,
        vec![
            plate_read(ms(0), "6012345", 90),
            plate_read(ms(400), "7011111", 90),
        ],
    );
    let got: Vec<_> = ps
        .iter()
        .map(|p| (p.booking, p.first_read_at, p.decided_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(bid(1)), ms(0), ms(400)),
            (Some(bid(2)), ms(400), ms(400))
        ]
    );
    // Another tag also means another truck.
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(&mut l, &r, vec![tag_read(ms(0), E1), tag_read(ms(100), E3)]);
    assert_eq!(
        ps.iter().map(|p| p.booking).collect::<Vec<_>>(),
        vec![Some(bid(1))]
    );
    assert_eq!(l.deadline(), Some(ms(2100)));
    // A tag that does not fit the plate is fused with it, and referred.
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(
        &mut l,
        &r,
        vec![plate_read(ms(0), "6012345", 90), tag_read(ms(100), E3)],
    );
    assert_eq!(verdicts(&ps), vec![(Refer, vec![PlateTagMismatch])]);
}

#[test]
fn repeats_are_held_off() {
    let mut r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    let mut new_id = ids();
    let mut ps = Vec::new();
    let mut at = |l: &mut LaneLogic, r: &Replica, read: Read| {
        let now = read.at;
        l.on_read(read, r, now, false, &mut new_id)
    };
    ps.extend(at(&mut l, &r, plate_read(ms(0), "6012345", 90)));
    ps.extend(at(&mut l, &r, tag_read(ms(50), E1)));
    assert_eq!(verdicts(&ps), vec![(Allow, vec![BookingValid])]);
    assert!(r.record_local(&ps[0]));
    for read in [
        plate_read(ms(100), "6012345", 99),
        plate_read(ms(200), "6O12345", 80),
        tag_read(ms(300), E1),
        failed_read(ms(400)),
        plate_read(ms(10_049), "6012345", 99),
    ] {
        assert!(at(&mut l, &r, read.clone()).is_empty(), "{read:?}");
        assert_eq!(l.deadline(), None);
    }
    // After the hold-off, the truck is decided again: it is inside now.
    let again = at(&mut l, &r, tag_read(ms(10_050), E1));
    assert!(again.is_empty());
    let again = at(&mut l, &r, plate_read(ms(10_100), "6012345", 99));
    assert_eq!(verdicts(&again), vec![(Refer, vec![AlreadyInside])]);
}

#[test]
fn an_unregistered_tag_after_its_plate_is_held_off() {
    let r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    let ps = feed(
        &mut l,
        &r,
        vec![
            plate_read(ms(0), "7011111", 90),
            tag_read(ms(200), E9),
            tag_read(ms(300), E9),
        ],
    );
    assert_eq!(verdicts(&ps), vec![(Allow, vec![BookingValid])]);
    assert_eq!(l.deadline(), None);
    // A known tag of another truck is not swallowed.
    let ps = feed(&mut l, &r, vec![tag_read(ms(400), E3)]);
    assert!(ps.is_empty());
    assert_eq!(l.deadline(), Some(ms(2400)));
}

#[test]
fn the_best_plate_read_is_kept() {
    let r = replica();
    let mut l = LaneLogic::new(lane(Direction::In));
    let mut new_id = ids();
    let reads = vec![
        plate_read(ms(0), "6O12345", 60),
        failed_read(ms(100)),
        plate_read(ms(200), "6012345", 80),
        plate_read(ms(300), "6O12345", 70),
    ];
    assert!(feed(&mut l, &r, reads).is_empty());
    let ps = l.on_tick(ms(2000), &r, false, &mut new_id);
    assert_eq!(
        (ps[0].plate.clone(), ps[0].confidence),
        (Some(plate("6012345")), Some(80))
    );
    assert_eq!((ps[0].first_read_at, ps[0].last_read_at), (ms(0), ms(300)));
    assert_eq!(ps[0].verdict, Allow);
}

#[test]
fn a_closed_zone_lets_nobody_in_whatever_the_booking_says() {
    let mut r = replica();
    let booked = evidence(
        PlateRead::Read {
            plate: plate("6012345"),
            confidence: Some(95),
        },
        Some(E1),
    );
    let before = decide(&r, &lane(Direction::In), &booked, t0(), false);
    assert_eq!(before.verdict, Allow, "{before:?}");
    let mut act = r.zone(&zid("act")).unwrap().clone();
    act.closures.push(crate::calendar::Closure {
        id: 1,
        from: mins(-10),
        to: mins(10),
        reason: "flash-flood warning".into(),
    });
    r.set_zone(act);
    for offline in [false, true] {
        let d = decide(&r, &lane(Direction::In), &booked, t0(), offline);
        assert_eq!(
            (d.verdict, d.reasons.clone()),
            (Deny, vec![ZoneClosed]),
            "{d:?}"
        );
        assert!(
            d.booking.is_some(),
            "the passage still names the booking: {d:?}"
        );
    }
    // Trucks inside may still leave; after the closure the booking lets the truck in again.
    let out = decide(&r, &lane(Direction::Out), &booked, t0(), false);
    assert_ne!(out.reasons, vec![ZoneClosed]);
    let after = decide(&r, &lane(Direction::In), &booked, mins(10), false);
    assert_eq!(after.verdict, Allow, "{after:?}");
    // A zone that wants an operator to decide refers instead (offline too, unless the lane
    // denies what it would refer offline).
    let mut act = r.zone(&zid("act")).unwrap().clone();
    act.when_closed = crate::calendar::WhenClosed::Refer;
    r.set_zone(act);
    let d = decide(&r, &lane(Direction::In), &booked, t0(), false);
    assert_eq!((d.verdict, d.reasons), (Refer, vec![ZoneClosed]));
    let d = decide(&r, &lane(Direction::In), &booked, t0(), true);
    assert_eq!(d.reasons, vec![ZoneClosed, OfflineDoubtful]);
}

fn watch_entry(target: &str, action: crate::watch::WatchAction) -> crate::watch::WatchEntry {
    use crate::watch::WatchTarget;
    let target = match target.strip_prefix("tag:") {
        Some(hex) => WatchTarget::Tag(crate::epc::Epc::parse_hex(hex).unwrap()),
        None => WatchTarget::Plate(plate(target)),
    };
    crate::watch::WatchEntry {
        target,
        reason: "wanted by the security services".into(),
        action,
        until: Some(mins(60)),
        added: mins(-60),
    }
}

#[test]
fn a_watched_truck_is_held_whatever_its_booking_says() {
    use crate::watch::WatchAction;
    let mut r = replica();
    let booked = evidence(
        PlateRead::Read {
            plate: plate("6012345"),
            confidence: Some(95),
        },
        Some(E1),
    );
    assert_eq!(
        decide(&r, &lane(Direction::In), &booked, t0(), false).verdict,
        Allow
    );
    let mut act = r.zone(&zid("act")).unwrap().clone();
    act.watch.push(watch_entry("60-12345", WatchAction::Refer));
    r.set_zone(act.clone());
    let d = decide(&r, &lane(Direction::In), &booked, t0(), false);
    assert_eq!((d.verdict, d.reasons[0]), (Refer, Watchlist), "{d:?}");
    assert!(d.booking.is_some(), "the operator sees the booking: {d:?}");
    // A look-alike read of the watched plate is held too, and so is a truck whose booking is
    // for the watched plate though the camera misread it (the tag identified it).
    let look_alike = evidence(
        PlateRead::Read {
            plate: plate("6O12345"),
            confidence: Some(95),
        },
        None,
    );
    assert!(
        decide(&r, &lane(Direction::In), &look_alike, t0(), false)
            .reasons
            .contains(&Watchlist)
    );
    let by_tag = evidence(PlateRead::Failed, Some(E1));
    assert!(
        decide(&r, &lane(Direction::In), &by_tag, t0(), false)
            .reasons
            .contains(&Watchlist)
    );
    // DENY where the entry says so, at an IN lane; an OUT lane refers.
    act.watch = vec![watch_entry("tag:E2000001", WatchAction::Deny)];
    r.set_zone(act.clone());
    let d = decide(&r, &lane(Direction::In), &booked, t0(), false);
    assert_eq!((d.verdict, d.reasons[0]), (Deny, Watchlist), "{d:?}");
    let out = decide(&r, &lane(Direction::Out), &booked, t0(), false);
    assert_eq!((out.verdict, out.reasons[0]), (Refer, Watchlist), "{out:?}");
    // Lapsed: the booking lets the truck in again.
    act.watch[0].until = Some(mins(5));
    r.set_zone(act);
    let later = decide(&r, &lane(Direction::In), &booked, mins(6), false);
    assert_eq!(later.verdict, Allow, "{later:?}");
}

// ---- properties --------------------------------------------------------------------------

/// Trucks of the property tests: plate, look-alike read of it, tag, and whether it is booked.
const TRUCKS: [(&str, &str, Option<&str>); 5] = [
    ("6012345", "6O12345", Some(E1)),
    ("7011111", "7O11111", None),
    ("AB1234", "A81234", Some(E3)),
    ("9999990", "999999O", Some(E9)),
    ("6022222", "6O22222", Some("E2000004")),
];

fn property_replica() -> Replica {
    use BookingState::*;
    replica_of(vec![
        booking(1, "6012345", Some(E1), Booked, vec![stop("act", t0())]),
        booking(
            2,
            "7011111",
            None,
            Booked,
            vec![stop("ayla", mins(-90)), stop("act", t0())],
        ),
        booking(3, "AB1234", Some(E3), Booked, vec![stop("act", t0())]),
        booking(
            5,
            "6022222",
            Some("E2000004"),
            Cancelled,
            vec![stop("act", t0())],
        ),
    ])
}

/// A read of one of [`TRUCKS`]: 0 exact plate, 1 look-alike plate, 2 failed, 3 tag.
fn truck_read(at: DateTime<Utc>, truck: usize, kind: u8, confidence: u8) -> Read {
    let (p, look_alike, tag) = TRUCKS[truck % TRUCKS.len()];
    match (kind % 4, tag) {
        (1, _) => plate_read(at, look_alike, confidence),
        (2, _) => failed_read(at),
        (3, Some(e)) => tag_read(at, e),
        _ => plate_read(at, p, confidence),
    }
}

fn check_passage(p: &Passage) -> Result<(), TestCaseError> {
    prop_assert!(!p.reasons.is_empty());
    let distinct: BTreeSet<_> = p.reasons.iter().collect();
    prop_assert_eq!(distinct.len(), p.reasons.len());
    if p.verdict == Allow {
        prop_assert!(p.booking.is_some());
    }
    prop_assert!(p.first_read_at <= p.last_read_at);
    Ok(())
}

proptest! {
    /// (a) For every booking, the ALLOWs alternate IN, OUT, IN...: a truck is never let in
    /// twice without leaving in between, whatever the reads, when the agent records each
    /// passage in the overlay.
    #[test]
    fn allows_alternate_in_and_out(
        events in prop::collection::vec(
            (0i64..4_000, any::<bool>(), 0usize..5, 0u8..4, 30u8..=100, any::<bool>(), any::<bool>()),
            1..150,
        ),
        has_reader in any::<bool>(),
    ) {
        let mut r = property_replica();
        let mut lanes: Vec<LaneLogic> = [Direction::In, Direction::Out]
            .into_iter()
            .map(|d| LaneLogic::new(LaneConfig { has_reader, ..lane(d) }))
            .collect();
        let mut new_id = ids();
        let mut now = mins(-20);
        let mut allows: BTreeMap<BookingId, Vec<Direction>> = BTreeMap::new();
        for (dt, on_in, truck, kind, confidence, tick, offline) in events {
            now += TimeDelta::milliseconds(dt);
            let mut passages = Vec::new();
            if tick {
                for l in &mut lanes {
                    passages.extend(l.on_tick(now, &r, offline, &mut new_id));
                }
            }
            let l = &mut lanes[usize::from(!on_in)];
            passages.extend(l.on_read(truck_read(now, truck, kind, confidence), &r, now, offline, &mut new_id));
            for p in passages {
                check_passage(&p)?;
                r.record_local(&p);
                if let (Allow, Some(b)) = (p.verdict, p.booking) {
                    allows.entry(b).or_default().push(p.direction);
                }
            }
        }
        for (b, dirs) in allows {
            for (i, d) in dirs.iter().enumerate() {
                let want = if i % 2 == 0 { Direction::In } else { Direction::Out };
                prop_assert_eq!(*d, want, "booking {}: {:?}", b, dirs);
            }
            prop_assert!(dirs.len() <= 2, "one stop per booking in act: {:?}", dirs);
        }
    }

    /// (b) Repeated reads of one truck within the window make exactly one passage, however
    /// they interleave and whenever the agent ticks.
    #[test]
    fn one_truck_one_passage(
        truck in 0usize..5,
        reads in prop::collection::vec((0i64..2_000, 0u8..4, 0u8..=100), 1..40),
        ticks in prop::collection::vec(0i64..2_000, 0..10),
        inbound in any::<bool>(),
        has_reader in any::<bool>(),
    ) {
        let r = property_replica();
        let direction = if inbound { Direction::In } else { Direction::Out };
        let mut l = LaneLogic::new(LaneConfig { has_reader, ..lane(direction) });
        let mut new_id = ids();
        let mut events: Vec<(i64, Option<(u8, u8)>)> = reads
            .into_iter()
            .map(|(t, kind, c)| (t, Some((kind, c))))
            .chain(ticks.into_iter().map(|t| (t, None)))
            .collect();
        events.sort_by_key(|(t, _)| *t);
        let first = events.iter().find(|(_, e)| e.is_some()).map_or(0, |(t, _)| *t);
        let mut passages = Vec::new();
        for (t, event) in events {
            passages.extend(match event {
                Some((kind, c)) => l.on_read(truck_read(ms(t), truck, kind, c), &r, ms(t), false, &mut new_id),
                None => l.on_tick(ms(t), &r, false, &mut new_id),
            });
        }
        passages.extend(l.on_tick(ms(first + 2_000), &r, false, &mut new_id));
        prop_assert_eq!(passages.len(), 1, "{:?}", passages);
        check_passage(&passages[0])?;
        prop_assert_eq!(l.deadline(), None);
    }

    /// (d) No ALLOW at an IN lane inside any closed interval the replica knows, whatever the
    /// evidence, the time, the lane's settings, the link or the zone's choice (DENY, or REFER
    /// to an operator).
    #[test]
    fn no_allow_into_a_closed_zone(
        closures in prop::collection::vec((-600i64..600, 1i64..240), 0..4),
        reads in prop::collection::vec((0usize..5, 0u8..4, 30u8..=100, -600i64..600), 1..20),
        offline in any::<bool>(),
        has_reader in any::<bool>(),
        refer in any::<bool>(),
    ) {
        let mut r = property_replica();
        let mut act = r.zone(&zid("act")).unwrap().clone();
        if refer {
            act.when_closed = crate::calendar::WhenClosed::Refer;
        }
        for (i, (from, len)) in closures.iter().enumerate() {
            act.closures.push(crate::calendar::Closure {
                id: i as u64 + 1,
                from: mins(*from),
                to: mins(from + len),
                reason: "closed".into(),
            });
        }
        r.set_zone(act.clone());
        let l = LaneConfig { has_reader, ..lane(Direction::In) };
        for (truck, kind, confidence, at) in reads {
            let now = mins(at);
            let (exact, look_alike, tag) = TRUCKS[truck];
            let read = |p: &str| PlateRead::Read { plate: plate(p), confidence: Some(confidence) };
            let ev = match kind {
                0 => evidence(read(exact), tag),
                1 => evidence(read(look_alike), None),
                2 => evidence(PlateRead::Failed, tag),
                _ => evidence(PlateRead::NotRead, tag),
            };
            let d = decide(&r, &l, &ev, now, offline);
            let closed = act.closures.iter().any(|c| c.from <= now && now < c.to);
            if closed {
                prop_assert_ne!(d.verdict, Allow);
                prop_assert_eq!(d.reasons[0], ZoneClosed);
                if !refer {
                    prop_assert_eq!(d.verdict, Deny);
                    prop_assert_eq!(d.reasons, vec![ZoneClosed]);
                }
            } else {
                prop_assert!(!d.reasons.contains(&ZoneClosed));
            }
        }
    }

    /// (e) No ALLOW for a watched plate (read exactly or as a look-alike, or booked) or tag
    /// while its entry is in force, at any lane, whatever the evidence or the link; and
    /// WATCHLIST is named whenever the truck is watched.
    #[test]
    fn no_allow_for_a_watched_truck(
        watched in prop::collection::vec((0usize..5, any::<bool>(), any::<bool>()), 1..3),
        reads in prop::collection::vec((0usize..5, 0u8..4, 30u8..=100, -120i64..120, any::<bool>()), 1..20),
        offline in any::<bool>(),
    ) {
        use crate::watch::WatchAction;
        let mut r = property_replica();
        let mut act = r.zone(&zid("act")).unwrap().clone();
        for (truck, by_tag, deny) in &watched {
            let (exact, _, tag) = TRUCKS[*truck];
            let target = match (by_tag, tag) {
                (true, Some(t)) => format!("tag:{t}"),
                _ => exact.to_owned(),
            };
            let action = if *deny { WatchAction::Deny } else { WatchAction::Refer };
            act.watch.push(watch_entry(&target, action));
        }
        r.set_zone(act.clone());
        for (truck, kind, confidence, at, out) in reads {
            let now = mins(at);
            let (exact, look_alike, tag) = TRUCKS[truck];
            let read = |p: &str| PlateRead::Read { plate: plate(p), confidence: Some(confidence) };
            let ev = match kind {
                0 => evidence(read(exact), tag),
                1 => evidence(read(look_alike), None),
                2 => evidence(PlateRead::Failed, tag),
                _ => evidence(PlateRead::NotRead, tag),
            };
            let l = lane(if out { Direction::Out } else { Direction::In });
            let d = decide(&r, &l, &ev, now, offline);
            let plate_read = match &ev.plate { PlateRead::Read { plate, .. } => Some(plate), _ => None };
            let booked = d.booking.and_then(|id| r.booking(id));
            let is_watched = act.watch.iter().any(|w| {
                w.in_force(now)
                    && (w.target.matches(plate_read, ev.epc.as_ref())
                        || booked.is_some_and(|b| w.target.matches(Some(&b.plate), b.epc.as_ref())))
            });
            if is_watched {
                prop_assert_ne!(d.verdict, Allow, "{:?}", d);
                prop_assert!(d.reasons.contains(&Watchlist), "{:?}", d);
            } else {
                prop_assert!(!d.reasons.contains(&Watchlist), "{:?}", d);
            }
        }
    }

    /// (c) `decide` is total: any evidence, any time, any lane gives a well-formed decision.
    #[test]
    fn decide_is_total(
        p in prop_oneof![
            Just(PlateRead::NotRead),
            Just(PlateRead::Failed),
            ("[0-9A-Z]{1,8}", prop::option::of(0u8..=100)).prop_map(|(s, confidence)| PlateRead::Read { plate: plate(&s), confidence }),
            (0usize..5, 0usize..2, prop::option::of(0u8..=100)).prop_map(|(t, alike, confidence)| {
                let (exact, look_alike, _) = TRUCKS[t];
                PlateRead::Read { plate: plate(if alike == 0 { exact } else { look_alike }), confidence }
            }),
        ],
        tag in prop::option::of(prop::sample::select(vec![E1, E3, E7, E9, "E2000004", "ABCD"])),
        minutes in -600i64..600,
        inbound in any::<bool>(),
        offline in any::<bool>(),
        deny in any::<bool>(),
        min_confidence in 0u8..=100,
        fixture_replica in any::<bool>(),
    ) {
        let r = if fixture_replica { replica() } else { property_replica() };
        let mut l = lane(if inbound { Direction::In } else { Direction::Out });
        l.min_confidence = min_confidence;
        l.offline_policy = if deny { OfflinePolicy::Deny } else { OfflinePolicy::Refer };
        let d = decide(&r, &l, &evidence(p, tag), mins(minutes), offline);
        prop_assert!(!d.reasons.is_empty());
        let distinct: BTreeSet<_> = d.reasons.iter().collect();
        prop_assert_eq!(distinct.len(), d.reasons.len());
        prop_assert_eq!(d.reasons.contains(&OfflineDoubtful), offline && (d.verdict == Refer || (deny && d.verdict == Deny && d.reasons.len() > 1)));
        if d.verdict == Allow {
            prop_assert!(d.booking.is_some() && d.stop.is_some());
            prop_assert!(d.reasons == [BookingValid] || d.reasons == [ExitRecorded]);
        }
        if offline && deny {
            prop_assert_ne!(d.verdict, Refer);
        }
    }
}

/// A NO_SHOW the agent's own overlay contradicts (the truck came while the scheduler could not
/// hear of it) is judged as ENTERED: the scheduler takes it back once the passage reaches it,
/// so the truck is not turned away meanwhile. A NO_SHOW nobody saw come stays one.
#[test]
fn a_no_show_the_overlay_contradicts_is_judged_entered() {
    let mut r = replica();
    let b2 = r.booking(bid(2)).unwrap().clone();
    assert!(r.record_local(&passage(1, Direction::In, Allow, Some(2), mins(2))));
    let swept = revised(&b2, |b| b.state = BookingState::NoShow);
    assert!(r.apply(&entry("act", 101, &swept)));
    let b2 = r.booking(bid(2)).unwrap().clone();
    assert_eq!(b2.state, BookingState::NoShow);
    assert_eq!(r.state(&b2), BookingState::Entered);
    let out = decide(
        &r,
        &lane(Direction::Out),
        &evidence(read("7011111"), None),
        mins(20),
        false,
    );
    assert_eq!((out.verdict, out.reasons), (Allow, vec![ExitRecorded]));
    let again = decide(
        &r,
        &lane(Direction::In),
        &evidence(read("7011111"), None),
        mins(20),
        false,
    );
    assert_eq!(again.reasons, vec![AlreadyInside]);
    let b5 = r.booking(bid(5)).unwrap().clone();
    assert_eq!(r.state(&b5), BookingState::NoShow);
}
