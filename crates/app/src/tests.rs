//! The application's authorization, against a real sled store: every object a request names
//! is checked against the caller's scope, and one out of scope is answered exactly like one
//! that does not exist.

use std::sync::Arc;

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{
    ClosurePolicy, SlotLength, TransactionType, WhenClosed, WindowCapacity, ZoneConfig,
};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Booking, BookingFilter, BookingState, Direction, Gate, Lane, NewBooking, Stop,
};
use bawaba_domain::passage::{Passage, Reason, Resolution, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use crate::{App, BookingQuery, Error, GateCommand, Kind, SimClock};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 5, 0, 0).unwrap()
}

fn zid(z: &str) -> ZoneId {
    ZoneId::parse(z).unwrap()
}

fn cid(c: &str) -> CompanyId {
    CompanyId::parse(c).unwrap()
}

/// The zones, their gates (`<zone>-gate`, lanes `in-1` IN and `out-1` OUT) and the callers.
const ZONES: [&str; 2] = ["act", "siz"];
const COMPANIES: [&str; 2] = ["acme", "zeta"];

pub(crate) struct Bed {
    pub(crate) app: App<SledStore>,
    pub(crate) store: Arc<SledStore>,
    pub(crate) clock: Arc<SimClock>,
    _dir: tempfile::TempDir,
}

pub(crate) fn principal(role: Role, company: Option<&str>, zone: Option<&str>) -> Principal {
    Principal::new(role, company.map(cid), zone.map(zid)).unwrap()
}

/// Every kind of caller: both companies, gates and operators of each zone (and of all), the
/// authority.
fn callers() -> Vec<Principal> {
    let mut all = vec![principal(Role::Authority, None, None)];
    for c in COMPANIES {
        all.push(principal(Role::Company, Some(c), None));
    }
    for z in ZONES {
        all.push(principal(Role::Gate, None, Some(z)));
        all.push(principal(Role::Operator, None, Some(z)));
    }
    all.push(principal(Role::Operator, None, None));
    all
}

pub(crate) async fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    for z in ZONES {
        let mut cfg = ZoneConfig::new(
            zid(z),
            z,
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(10),
        );
        cfg.rules.booking_cutoff_minutes = 0;
        cfg.rules.company_cap_percent = 100;
        cfg.rules.require_containers = false;
        store.upsert_zone(cfg).await.unwrap();
        let lane = |id: &str, direction| Lane {
            id: LaneId::parse(id).unwrap(),
            direction,
        };
        store
            .upsert_gate(Gate {
                id: GateId::parse(&format!("{z}-gate")).unwrap(),
                zone: zid(z),
                name: format!("{z} gate"),
                lanes: vec![lane("in-1", Direction::In), lane("out-1", Direction::Out)],
                name_ar: String::new(),
            })
            .await
            .unwrap();
    }
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let clock = Arc::new(SimClock::new(t0()));
    let app = App::new(Arc::clone(&store), tokens, clock.clone());
    Bed {
        app,
        store,
        clock,
        _dir: dir,
    }
}

impl Bed {
    /// A booking of `company` at `zone`, `n` hours after t0 (plate unique per `n`).
    pub(crate) async fn book(&self, company: &str, zone: &str, n: u32) -> Booking {
        let p = principal(Role::Company, Some(company), None);
        let plate = Plate::parse(&format!("60-{:05}", 10_000 + n)).unwrap();
        let start = t0() + TimeDelta::hours(i64::from(n % 24) + 1);
        self.app
            .create_booking(&p, None, |company| {
                Ok(NewBooking {
                    by: None,
                    company,
                    idempotency_key: format!("k{n}"),
                    plate,
                    epc: None,
                    stops: vec![Stop::new(
                        zid(zone),
                        start,
                        TransactionType::GeneralCargo,
                        vec![],
                    )],
                })
            })
            .await
            .unwrap()
            .booking
    }

    async fn bookings(&self) -> Vec<Booking> {
        self.store
            .list_bookings(BookingFilter::default(), None, 1000)
            .await
            .unwrap()
    }

    async fn passages(&self) -> Vec<Passage> {
        self.store.passages(None, None, 1000).await.unwrap()
    }
}

pub(crate) fn passage(
    n: u128,
    zone: &str,
    gate: &str,
    lane: &str,
    direction: Direction,
) -> Passage {
    Passage {
        id: PassageId::new(t0(), n),
        zone: zid(zone),
        gate: GateId::parse(gate).unwrap(),
        lane: LaneId::parse(lane).unwrap(),
        direction,
        first_read_at: t0(),
        last_read_at: t0(),
        decided_at: t0(),
        plate: Some(Plate::parse("60-12345").unwrap()),
        confidence: Some(40),
        epc: None,
        verdict: Verdict::Refer,
        reasons: vec![Reason::LowConfidence],
        booking: None,
        offline: false,
    }
}

/// `e` with `id` written as ID: two answers about two ids compare by their shape.
fn shape(e: &Error, id: &str) -> (Kind, String) {
    (e.kind(), e.to_string().replace(id, "ID"))
}

#[tokio::test]
async fn a_gate_reports_only_its_own_gates_lanes_and_directions() {
    let b = bed().await;
    let gate_act = principal(Role::Gate, None, Some("act"));
    let refused = [
        // Another zone's gate, in that zone or claimed for its own.
        (
            passage(1, "siz", "siz-gate", "in-1", Direction::In),
            Kind::NotFound,
        ),
        (
            passage(2, "act", "siz-gate", "in-1", Direction::In),
            Kind::NotFound,
        ),
        // A gate or lane that does not exist.
        (
            passage(3, "act", "nowhere", "in-1", Direction::In),
            Kind::NotFound,
        ),
        (
            passage(4, "act", "act-gate", "in-9", Direction::In),
            Kind::NotFound,
        ),
        // An OUT lane reported as IN.
        (
            passage(5, "act", "act-gate", "out-1", Direction::In),
            Kind::Invalid,
        ),
    ];
    for (x, kind) in refused {
        let ok = passage(9, "act", "act-gate", "in-1", Direction::In);
        let e = b
            .app
            .report_passages(&gate_act, vec![ok, x.clone()])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{x:?}: {e}");
    }
    assert!(
        b.passages().await.is_empty(),
        "a refused batch stores nothing"
    );
    // Another zone's gate is answered exactly like one that does not exist.
    let theirs = b
        .app
        .report_passages(
            &gate_act,
            vec![passage(2, "act", "siz-gate", "in-1", Direction::In)],
        )
        .await
        .unwrap_err();
    let none = b
        .app
        .report_passages(
            &gate_act,
            vec![passage(2, "act", "nowhere", "in-1", Direction::In)],
        )
        .await
        .unwrap_err();
    assert_eq!(shape(&theirs, "siz-gate"), shape(&none, "nowhere"));
    let good = passage(9, "act", "act-gate", "in-1", Direction::In);
    let r = b.app.report_passages(&gate_act, vec![good]).await.unwrap();
    assert_eq!(r.new.len(), 1);
}

/// A report's mark names one gate of the caller's zone (another zone's answers as one that
/// does not exist) and covers only its passages; a mark ahead of the clock counts as now.
#[tokio::test]
async fn a_gate_marks_what_it_has_reported_for_its_own_gates_only() {
    let b = bed().await;
    let gate_act = principal(Role::Gate, None, Some("act"));
    let now = b.app.clock().now();
    let (act_gate, siz_gate) = (
        GateId::parse("act-gate").unwrap(),
        GateId::parse("siz-gate").unwrap(),
    );
    let mark = |g: &GateId, t| Some((g.clone(), t));
    let theirs = b
        .app
        .report_passages_through(&gate_act, vec![], mark(&siz_gate, now))
        .await
        .unwrap_err();
    let none = b
        .app
        .report_passages_through(
            &gate_act,
            vec![],
            mark(&GateId::parse("nowhere").unwrap(), now),
        )
        .await
        .unwrap_err();
    assert_eq!(theirs.kind(), Kind::NotFound);
    assert_eq!(shape(&theirs, "siz-gate"), shape(&none, "nowhere"));
    // Every passage of a marked report is the marked gate's.
    let authority = principal(Role::Authority, None, None);
    let other = passage(1, "siz", "siz-gate", "in-1", Direction::In);
    let e = b
        .app
        .report_passages_through(&authority, vec![other], mark(&act_gate, now))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Invalid);
    assert!(e.to_string().contains("passages[0].gate_id"), "{e}");
    assert!(
        b.app.store().reported().await.unwrap().is_empty(),
        "nothing stored"
    );
    let x = passage(2, "act", "act-gate", "in-1", Direction::In);
    b.app
        .report_passages_through(
            &gate_act,
            vec![x],
            mark(&act_gate, now + TimeDelta::hours(5)),
        )
        .await
        .unwrap();
    assert_eq!(
        b.app.store().reported().await.unwrap().get(&act_gate),
        Some(&now),
        "a mark ahead of the scheduler's clock counts as now"
    );
}

#[tokio::test]
async fn an_operator_never_opens_another_zone_s_barrier() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let x = passage(1, "siz", "siz-gate", "in-1", Direction::In);
    b.app
        .report_passages(&authority, vec![x.clone()])
        .await
        .unwrap();
    let gate_siz = principal(Role::Gate, None, Some("siz"));
    let gate_act = principal(Role::Gate, None, Some("act"));
    let siz_gate = GateId::parse("siz-gate").unwrap();
    // The act gate cannot listen to the siz gate's commands either.
    let e = b.app.gate_commands(&gate_act, &siz_gate).await.unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound);
    let mut commands = b.app.gate_commands(&gate_siz, &siz_gate).await.unwrap();
    let decision = Resolution::approve("checked by phone");
    let op_act = principal(Role::Operator, None, Some("act"));
    let e = b
        .app
        .resolve_referral(&op_act, x.id, decision.clone())
        .await
        .unwrap_err();
    let missing = PassageId::new(t0(), 77);
    let none = b
        .app
        .resolve_referral(&op_act, missing, decision.clone())
        .await
        .unwrap_err();
    assert_eq!(
        shape(&e, &x.id.to_string()),
        shape(&none, &missing.to_string())
    );
    assert!(commands.try_recv().is_err(), "no pulse for another zone");
    // Its own operator can.
    let op_siz = principal(Role::Operator, None, Some("siz"));
    let (_, delivered) = b
        .app
        .resolve_referral(&op_siz, x.id, decision)
        .await
        .unwrap();
    assert!(delivered);
    assert_eq!(
        commands.try_recv().unwrap(),
        GateCommand::PulseBarrier {
            lane: LaneId::parse("in-1").unwrap(),
            event_id: x.id
        }
    );
}

#[tokio::test]
async fn no_operator_approves_an_entry_into_a_closed_zone() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let x = passage(1, "act", "act-gate", "in-1", Direction::In);
    b.app
        .report_passages(&authority, vec![x.clone()])
        .await
        .unwrap();
    let closure = b
        .app
        .add_closure(
            &authority,
            zid("act"),
            (t0() - TimeDelta::hours(1), t0() + TimeDelta::hours(1)),
            "flash-flood warning".into(),
            ClosurePolicy::Notify,
        )
        .await
        .unwrap()
        .closure;
    let op = principal(Role::Operator, None, Some("act"));
    let approve = |_| Resolution::approve("checked");
    let mut commands = b
        .app
        .gate_commands(
            &principal(Role::Gate, None, Some("act")),
            &GateId::parse("act-gate").unwrap(),
        )
        .await
        .unwrap();
    let e = b
        .app
        .resolve_referral(&op, x.id, approve(true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Precondition, "{e}");
    assert!(e.to_string().contains("flash-flood warning"), "{e}");
    assert!(
        e.to_string().contains("09:00"),
        "local time (Asia/Amman): {e}"
    );
    assert!(commands.try_recv().is_err(), "no pulse");
    // A zone that refers the trucks at its closed gates leaves the entry to the operator.
    let zones = b.app.list_zones(&authority).await.unwrap();
    let mut cfg = zones.into_iter().find(|z| z.id == zid("act")).unwrap();
    assert_eq!(cfg.closures[0].id, closure.id);
    cfg.when_closed = WhenClosed::Refer;
    b.app.upsert_zone(&authority, cfg).await.unwrap();
    let (r, _) = b
        .app
        .resolve_referral(&op, x.id, approve(true))
        .await
        .unwrap();
    assert_eq!(r.state, bawaba_domain::passage::ReferralState::Approved);
}

#[tokio::test]
async fn an_operator_names_only_a_booking_of_its_own_zone() {
    let b = bed().await;
    let act = b.book("acme", "act", 1).await;
    let siz = b.book("acme", "siz", 2).await;
    let x = passage(1, "siz", "siz-gate", "in-1", Direction::In);
    let authority = principal(Role::Authority, None, None);
    b.app
        .report_passages(&authority, vec![x.clone()])
        .await
        .unwrap();
    let op = principal(Role::Operator, None, Some("siz"));
    let naming = |id| Resolution::approve("slip shown").with_booking(id);
    let elsewhere = b
        .app
        .resolve_referral(&op, x.id, naming(act.id))
        .await
        .unwrap_err();
    let missing = BookingId::new(t0(), 4242);
    let none = b
        .app
        .resolve_referral(&op, x.id, naming(missing))
        .await
        .unwrap_err();
    assert_eq!(none.kind(), Kind::NotFound, "{none}");
    assert_eq!(
        shape(&elsewhere, &act.id.to_string()),
        shape(&none, &missing.to_string())
    );
    let rejected = Resolution::reject("no papers").with_booking(siz.id);
    let e = b
        .app
        .resolve_referral(&op, x.id, rejected)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Invalid, "{e}");
    assert!(e.to_string().contains("booking_id"), "{e}");
    let (r, _) = b
        .app
        .resolve_referral(&op, x.id, naming(siz.id))
        .await
        .unwrap();
    assert_eq!(r.passage.booking, Some(siz.id));
    let now = b.app.get_booking(&authority, siz.id).await.unwrap();
    assert_eq!(now.state, BookingState::Entered);
    assert_eq!(
        b.app.get_booking(&authority, act.id).await.unwrap().state,
        BookingState::Booked
    );
}

#[tokio::test]
async fn bookings_out_of_scope_are_answered_as_missing() {
    let b = bed().await;
    let siz = b.book("acme", "siz", 1).await;
    let missing = BookingId::new(t0(), 12345);
    for p in callers() {
        let seen = b.app.get_booking(&p, siz.id).await;
        let none = b.app.get_booking(&p, missing).await.unwrap_err();
        assert_eq!(none.kind(), Kind::NotFound, "{p:?}");
        let visible = p.company.as_ref().map_or_else(
            || p.zone.as_ref().is_none_or(|z| *z == zid("siz")),
            |c| *c == cid("acme"),
        );
        match seen {
            Ok(found) => assert!(visible && found.id == siz.id, "{p:?} read {found:?}"),
            Err(e) => {
                assert!(!visible, "{p:?}: {e}");
                assert_eq!(
                    shape(&e, &siz.id.to_string()),
                    shape(&none, &missing.to_string())
                );
            }
        }
    }
}

#[tokio::test]
async fn listings_stay_in_scope() {
    let b = bed().await;
    b.book("acme", "act", 1).await;
    b.book("zeta", "siz", 2).await;
    let zeta = principal(Role::Company, Some("zeta"), None);
    let own = b
        .app
        .list_bookings(&zeta, BookingQuery::default())
        .await
        .unwrap();
    assert!(own.items.iter().all(|x| x.company == cid("zeta")));
    assert_eq!(own.items.len(), 1);
    let other = b
        .app
        .list_bookings(
            &zeta,
            BookingQuery {
                company: Some(cid("acme")),
                ..BookingQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(other.kind(), Kind::NotFound);
    let op_act = principal(Role::Operator, None, Some("act"));
    let elsewhere = BookingQuery {
        zone: Some(zid("siz")),
        ..BookingQuery::default()
    };
    let e = b.app.list_bookings(&op_act, elsewhere).await.unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound);
    let zones = b.app.list_zones(&op_act).await.unwrap();
    assert_eq!(zones.len(), 1);
    let gates = b.app.list_gates(&op_act).await.unwrap();
    assert!(gates.iter().all(|g| g.zone == zid("act")));
    assert_eq!(b.app.list_gates(&zeta).await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_overlap_refusal_never_names_another_company_s_booking() {
    let b = bed().await;
    let theirs = b.book("acme", "act", 1).await;
    let zeta = principal(Role::Company, Some("zeta"), None);
    let e = b
        .app
        .create_booking(&zeta, None, |company| {
            Ok(NewBooking {
                by: None,
                company,
                idempotency_key: "z".into(),
                plate: theirs.plate.clone(),
                epc: None,
                stops: theirs.stops.clone(),
            })
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Precondition);
    assert!(!e.to_string().contains(&theirs.id.to_string()), "{e}");
}

/// What a random caller tries.
#[derive(Debug, Clone)]
enum Op {
    Get(usize),
    Cancel(usize),
    Move(usize),
    Report {
        zone: usize,
        gate: usize,
        out_lane: bool,
        direction_out: bool,
    },
    Resolve(usize, bool),
    ListBookings(Option<usize>),
    ListReferrals(Option<usize>),
    ListPassages(Option<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    let zone = || proptest::option::of(0..ZONES.len());
    prop_oneof![
        (0..4usize).prop_map(Op::Get),
        (0..4usize).prop_map(Op::Cancel),
        (0..4usize).prop_map(Op::Move),
        (0..2usize, 0..2usize, any::<bool>(), any::<bool>()).prop_map(
            |(zone, gate, out_lane, direction_out)| Op::Report {
                zone,
                gate,
                out_lane,
                direction_out,
            }
        ),
        (0..4usize, any::<bool>()).prop_map(|(i, a)| Op::Resolve(i, a)),
        zone().prop_map(Op::ListBookings),
        zone().prop_map(Op::ListReferrals),
        zone().prop_map(Op::ListPassages),
    ]
}

/// Whether `p` may see (or act on) zone `z`'s gates, referrals and passages.
fn sees_zone(p: &Principal, z: &ZoneId) -> bool {
    p.company.is_none() && p.zone.as_ref().is_none_or(|own| own == z)
}

/// Runs `op` as `p`; checks that what it read is in `p`'s scope, and that a change it made
/// was to something in scope.
async fn check(b: &Bed, p: &Principal, op: &Op, bookings: &[Booking], n: u128) {
    let before = (b.bookings().await, b.passages().await);
    let booking = |i: usize| &bookings[i % bookings.len()];
    let changed_in_scope = match op {
        Op::Get(i) => {
            if let Ok(x) = b.app.get_booking(p, booking(*i).id).await {
                assert!(crate::scope::sees_booking(p, &x), "{p:?} read {x:?}");
            }
            None
        }
        Op::Cancel(i) | Op::Move(i) => {
            let x = booking(*i);
            let r = if matches!(op, Op::Cancel(_)) {
                b.app.cancel_booking(p, x.id, "random".into()).await
            } else {
                let to = x.stops[0].window_start + TimeDelta::hours(1);
                b.app.move_booking(p, x.id, 0, to).await
            };
            Some((
                r.is_ok(),
                p.role == Role::Authority || p.company == Some(x.company.clone()),
            ))
        }
        Op::Report {
            zone,
            gate,
            out_lane,
            direction_out,
        } => {
            let dir = |out| if out { Direction::Out } else { Direction::In };
            let gate_zone = ZONES[*gate];
            let x = passage(
                n,
                ZONES[*zone],
                &format!("{gate_zone}-gate"),
                if *out_lane { "out-1" } else { "in-1" },
                dir(*direction_out),
            );
            let ok = b.app.report_passages(p, vec![x]).await.is_ok();
            let legit = matches!(p.role, Role::Gate | Role::Authority)
                && sees_zone(p, &zid(gate_zone))
                && zone == gate
                && out_lane == direction_out;
            Some((ok, legit))
        }
        Op::Resolve(i, approve) => {
            let all = b.store.referrals(None, true).await.unwrap();
            let Some(r) = all.get(i % all.len().max(1)) else {
                return;
            };
            let d = if *approve {
                Resolution::approve("random")
            } else {
                Resolution::reject("random")
            };
            let ok = b.app.resolve_referral(p, r.passage.id, d).await.is_ok();
            let legit =
                matches!(p.role, Role::Operator | Role::Authority) && sees_zone(p, &r.passage.zone);
            Some((ok, legit))
        }
        Op::ListBookings(z) => {
            let q = BookingQuery {
                zone: z.map(|z| zid(ZONES[z])),
                ..BookingQuery::default()
            };
            if let Ok(page) = b.app.list_bookings(p, q).await {
                for x in page.items {
                    assert!(crate::scope::sees_booking(p, &x), "{p:?} listed {x:?}");
                }
            }
            None
        }
        Op::ListReferrals(z) => {
            if let Ok(found) = b
                .app
                .list_referrals(p, z.map(|z| zid(ZONES[z])), true)
                .await
            {
                for r in found {
                    assert!(sees_zone(p, &r.passage.zone), "{p:?} listed {r:?}");
                }
            }
            None
        }
        Op::ListPassages(z) => {
            let found = b
                .app
                .list_passages(p, z.map(|z| zid(ZONES[z])), None, 100)
                .await;
            if let Ok(page) = found {
                for x in page.items {
                    assert!(sees_zone(p, &x.zone), "{p:?} listed {x:?}");
                }
            }
            None
        }
    };
    if let Some((ok, legit)) = changed_in_scope {
        assert!(!ok || legit, "{p:?} did {op:?} out of its scope");
        if !ok {
            let after = (b.bookings().await, b.passages().await);
            assert_eq!(before, after, "{p:?}: a refused {op:?} changed the store");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random requests by random callers never read or change anything outside the caller's
    /// scope, and a refused change leaves the store as it was.
    #[test]
    fn random_callers_stay_in_their_scope(ops in proptest::collection::vec((0..9usize, op()), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let b = bed().await;
            let mut bookings = Vec::new();
            for (n, (c, z)) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
                let n = u32::try_from(n).unwrap();
                bookings.push(b.book(COMPANIES[c], ZONES[z], n).await);
            }
            let authority = principal(Role::Authority, None, None);
            for (n, z) in ZONES.iter().enumerate() {
                let x = passage(1000 + n as u128, z, &format!("{z}-gate"), "in-1", Direction::In);
                b.app.report_passages(&authority, vec![x]).await.unwrap();
            }
            let callers = callers();
            for (n, (who, op)) in ops.iter().enumerate() {
                check(&b, &callers[who % callers.len()], op, &bookings, n as u128).await;
            }
        });
    }
}

/// The authority's changes are audited under the person's token (id, name, role) and door,
/// at the app's clock; a company's own change is not; the listing merges the token book's
/// issues with the store's records, newest first, and pages through them without a gap or a
/// repeat. Only the authority reads it.
#[tokio::test]
async fn the_audit_trail_names_who_changed_what_through_which_door() {
    use bawaba_domain::audit::{AuditKind, Door};

    let b = bed().await;
    let official = principal(Role::Authority, None, None);
    let token = b
        .app
        .tokens
        .issue(&official, Some("ops-lead"), t0() - TimeDelta::hours(1))
        .unwrap();
    let p = b.app.authenticate(Some(&token), Door::Web).unwrap();
    b.app
        .set_company_cap(&p, zid("act"), cid("acme"), 40)
        .await
        .unwrap();
    let mine = b.book("acme", "act", 3).await;
    let theirs = b.book("zeta", "act", 4).await;
    let acme = principal(Role::Company, Some("acme"), None);
    b.app
        .cancel_booking(&acme, mine.id, "not needed".into())
        .await
        .unwrap();
    b.app
        .cancel_booking(&p, theirs.id, "inspection".into())
        .await
        .unwrap();
    let made = b
        .app
        .create_booking(&p, Some(cid("zeta")), |company| {
            Ok(NewBooking {
                by: None,
                company,
                idempotency_key: "for-zeta".into(),
                plate: Plate::parse("60-77777").unwrap(),
                epc: None,
                stops: vec![Stop::new(
                    zid("siz"),
                    t0() + TimeDelta::hours(6),
                    TransactionType::GeneralCargo,
                    vec![],
                )],
            })
        })
        .await
        .unwrap()
        .booking;

    let mut seen = Vec::new();
    let mut q = crate::AuditQuery {
        page_size: 1,
        ..Default::default()
    };
    loop {
        let page = b.app.list_audit(&official, q.clone()).await.unwrap();
        seen.extend(page.items);
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no record twice");
    // The set-up (two zones and two gates, by the system) is stamped with the wall clock, not
    // the app's: it sorts before or after the rest depending on the real time of day.
    let (setup, seen): (Vec<_>, Vec<_>) = seen
        .into_iter()
        .partition(|i| i.record.who == bawaba_domain::audit::Who::system());
    assert_eq!(setup.len(), 4, "{setup:?}");
    let kinds: Vec<_> = seen.iter().map(|i| i.record.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::BookingCreated,
            AuditKind::BookingCancelled,
            AuditKind::CompanyCapSet,
            AuditKind::TokenIssued
        ],
        "{kinds:?}"
    );
    let created = &seen[0].record;
    assert_eq!(
        (created.who.name.as_str(), created.zone.clone()),
        ("ops-lead", Some(zid("siz")))
    );
    assert!(created.objects.contains(&format!("booking:{}", made.id)));
    let cancel = &seen[1].record;
    assert_eq!(cancel.at, t0());
    assert_eq!(cancel.who.name, "ops-lead");
    assert_eq!(cancel.who.token, p.token);
    assert_eq!(
        (cancel.who.role, cancel.who.door),
        (Some(Role::Authority), Door::Web)
    );
    assert!(cancel.objects.contains(&format!("booking:{}", theirs.id)));
    assert!(cancel.objects.contains(&"company:zeta".to_owned()));
    assert_eq!(seen[3].id, "t1");
    assert_eq!(
        seen[3].record.objects,
        [format!("token:{}", p.token.clone().unwrap())]
    );

    for caller in callers().iter().filter(|c| c.role != Role::Authority) {
        let e = b
            .app
            .list_audit(caller, Default::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), Kind::Forbidden, "{caller:?}");
    }
}

/// The watchlist: kept by security and authority tokens (a zone-limited one keeps its zone
/// only, another zone is answered as missing); seen with the zones only by them and the
/// gates — a company listing zones never learns who is watched.
#[tokio::test]
async fn the_watchlist_is_kept_by_security_and_seen_by_no_company() {
    use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
    let b = bed().await;
    let entry = |plate: &str| WatchEntry {
        target: WatchTarget::Plate(Plate::parse(plate).unwrap()),
        reason: "stolen truck".into(),
        action: WatchAction::Deny,
        until: None,
        added: t0(),
    };
    let desk = principal(Role::Security, None, None);
    let all = b
        .app
        .add_watch(&desk, None, entry("60-12345"))
        .await
        .unwrap();
    assert_eq!(all.zones, vec![zid("act"), zid("siz")]);
    let act_desk = principal(Role::Security, None, Some("act"));
    b.app
        .add_watch(&act_desk, None, entry("70-11111"))
        .await
        .unwrap();
    let e = b
        .app
        .add_watch(&act_desk, Some(zid("siz")), entry("70-22222"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound, "{e}");
    let listed = b.app.list_watch(&desk, None).await.unwrap();
    let shown: Vec<_> = listed
        .iter()
        .map(|l| (l.entry.target.to_string(), l.zones.len()))
        .collect();
    assert_eq!(
        shown,
        vec![("plate:6012345".into(), 2), ("plate:7011111".into(), 1)]
    );
    for (p, sees) in [
        (principal(Role::Company, Some("acme"), None), false),
        (principal(Role::Operator, None, Some("act")), false),
        (principal(Role::Gate, None, Some("act")), true),
        (principal(Role::Authority, None, None), true),
    ] {
        let zones = b.app.list_zones(&p).await.unwrap();
        let watched = zones.iter().any(|z| !z.watch.is_empty());
        assert_eq!(watched, sees, "{:?}", p.role);
    }
    let company = principal(Role::Company, Some("acme"), None);
    let e = b.app.list_watch(&company, None).await.unwrap_err();
    assert_eq!(e.kind(), Kind::Forbidden);
    let target = WatchTarget::Plate(Plate::parse("60-12345").unwrap());
    let removed = b
        .app
        .remove_watch(&desk, None, target.clone())
        .await
        .unwrap();
    assert_eq!(removed.len(), 2);
    let e = b.app.remove_watch(&desk, None, target).await.unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound);
}

/// A capacity change that would leave booked windows over their new capacity names them and
/// is made only when confirmed; a partial change keeps the rest of the template.
#[tokio::test]
async fn a_capacity_cut_below_the_bookings_asks_for_confirmation() {
    use crate::CapacityChange;
    use bawaba_domain::calendar::WindowCapacity;
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let now = b.app.clock().now();
    let w = b
        .store
        .zone(zid("act"))
        .await
        .unwrap()
        .window_containing(now + TimeDelta::hours(3));
    for (i, plate) in ["60-10001", "60-10002", "60-10003"].into_iter().enumerate() {
        let req = NewBooking {
            by: None,
            company: cid("acme"),
            idempotency_key: format!("cap-{i}"),
            plate: Plate::parse(plate).unwrap(),
            epc: None,
            stops: vec![Stop::new(
                zid("act"),
                w,
                TransactionType::GeneralCargo,
                vec![],
            )],
        };
        b.store.create_booking(req, now).await.unwrap();
    }
    let cut = |confirm| {
        let change = CapacityChange::Dates {
            from: w,
            to: w + TimeDelta::hours(1),
            capacity: WindowCapacity::uniform(1),
            reason: "inspection campaign".into(),
        };
        b.app.set_capacity(&authority, zid("act"), change, confirm)
    };
    let e = cut(false).await.unwrap_err();
    assert_eq!(e.kind(), Kind::Precondition, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("1 booked window(s)")
            && text.contains(&bawaba_domain::calendar::local(w))
            && text.contains("3 booked of 1 (2 over)"),
        "{text}"
    );
    assert!(
        b.store.zone(zid("act")).await.unwrap().overrides.is_empty(),
        "nothing changed"
    );
    let z = cut(true).await.unwrap();
    assert_eq!(z.capacity(w).total, 1);
    assert_eq!(
        z.capacity(w + TimeDelta::hours(1)).total,
        10,
        "the rest as it was"
    );
    let operator = principal(Role::Operator, None, Some("act"));
    let change = CapacityChange::Hours {
        days: vec![chrono::Weekday::Mon],
        hours: (6, 7),
        capacity: WindowCapacity::uniform(20),
    };
    let e = b
        .app
        .set_capacity(&operator, zid("act"), change, false)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Forbidden);
}

/// Lifting a closure names the bookings it frees: not one another closure still shuts.
#[tokio::test]
async fn a_lift_names_only_the_bookings_no_other_closure_shuts() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let early = b.book("acme", "act", 1).await;
    let late = b.book("acme", "act", 3).await;
    let close = |(from, to): (i64, i64), why: &str| {
        let span = (t0() + TimeDelta::hours(from), t0() + TimeDelta::hours(to));
        b.app.add_closure(
            &authority,
            zid("act"),
            span,
            why.into(),
            ClosurePolicy::Notify,
        )
    };
    let wide = close((1, 5), "flash-flood warning").await.unwrap();
    close((4, 5), "crane repair").await.unwrap();
    let (_, back) = b
        .app
        .remove_closure(&authority, zid("act"), wide.closure.id)
        .await
        .unwrap();
    let ids: Vec<_> = back.iter().map(|x| x.id).collect();
    assert_eq!(
        ids,
        vec![early.id],
        "{late:?} is still shut by the crane repair"
    );
}
