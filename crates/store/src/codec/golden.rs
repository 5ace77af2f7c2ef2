//! The bytes of every stored value, pinned: a stored type that changes shape fails here, so
//! the change comes with a new format version that still reads the old bytes (as zones do).
//! `codec/formats-v1.hex` holds one `name hex` line per value; after an intended change of
//! format, `BAWABA_BLESS=1 cargo test -p bawaba-store golden` writes the new file.

use bawaba_domain::account::{Account, Login, Session};
use bawaba_domain::audit::{AuditEntry, AuditKind, AuditRecord, Door, FieldChange, Who};
use bawaba_domain::calendar::{Closure, TransactionType};
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::epc::Epc;
use bawaba_domain::event::{CompanyEvent, EventKind};
use bawaba_domain::fleet::{FleetTruck, Phone};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Booking, BookingState, ChangeEntry, Direction, Gate, IdempotencyRecord, Lane, Stop,
};
use bawaba_domain::notify::{Delivery, Failing, Outcome, Progress, Texted, Webhook};
use bawaba_domain::passage::{Passage, Reason, Referral, ReferralState, Verdict};
use bawaba_domain::plate::Plate;
use chrono::{DateTime, TimeZone, Utc};

use super::decode;

/// The stored bytes of a value that must encode.
fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    super::encode(value).unwrap()
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap()
}

fn booking() -> Booking {
    let mut stop = Stop::new(
        ZoneId::parse("act").unwrap(),
        at(9),
        TransactionType::ImportPickup,
        vec![ContainerNumber::parse("CSQU3054383").unwrap()],
    );
    stop.entered_at = Some(at(9));
    Booking {
        id: BookingId::new(at(1), 7),
        company: CompanyId::parse("acme").unwrap(),
        plate: Plate::parse("60-12345").unwrap(),
        epc: Some(Epc::parse_hex("E2801160600002084A2B5C1D").unwrap()),
        stops: vec![stop],
        state: BookingState::Entered,
        idempotency_key: "k-1".into(),
        created_at: at(1),
        updated_at: at(9),
        entered_at: Some(at(9)),
        exited_at: None,
        cancel_reason: None,
        revision: 2,
    }
}

fn passage() -> Passage {
    Passage {
        id: PassageId::new(at(9), 3),
        zone: ZoneId::parse("act").unwrap(),
        gate: GateId::parse("act-north").unwrap(),
        lane: LaneId::parse("in-1").unwrap(),
        direction: Direction::In,
        first_read_at: at(9),
        last_read_at: at(9),
        decided_at: at(9),
        plate: Some(Plate::parse("60-12345").unwrap()),
        confidence: Some(91),
        epc: None,
        verdict: Verdict::Refer,
        reasons: vec![Reason::LowConfidence],
        booking: Some(booking().id),
        offline: false,
    }
}

/// Every stored type, by name, as encoded now.
fn values() -> Vec<(&'static str, Vec<u8>)> {
    let closure = Closure {
        id: 2,
        from: at(10),
        to: at(12),
        reason: "flash flood".into(),
    };
    vec![
        ("booking", encode(&booking())),
        ("passage", encode(&passage())),
        (
            "referral",
            encode(&Referral {
                passage: passage(),
                state: ReferralState::Approved,
                resolved_by: Some("ahmad".into()),
                resolution: Some("papers checked".into()),
                resolved_at: Some(at(10)),
            }),
        ),
        (
            "change",
            encode(&ChangeEntry {
                zone: ZoneId::parse("act").unwrap(),
                seq: 4,
                at: at(9),
                booking: booking(),
            }),
        ),
        (
            "idempotency",
            encode(&IdempotencyRecord {
                company: CompanyId::parse("acme").unwrap(),
                key: "k-1".into(),
                booking: booking().id,
                fingerprint: 0x0123_4567_89ab_cdef,
            }),
        ),
        (
            "gate-v2",
            super::encode_gate(&Gate {
                id: GateId::parse("act-north").unwrap(),
                zone: ZoneId::parse("act").unwrap(),
                name: "North gate".into(),
                lanes: vec![Lane {
                    id: LaneId::parse("in-1").unwrap(),
                    direction: Direction::In,
                }],
                name_ar: "البوابة الشمالية".into(),
            })
            .unwrap(),
        ),
        (
            "report-mark",
            encode(&(GateId::parse("act-north").unwrap(), at(11))),
        ),
        (
            "audit",
            encode(&AuditEntry {
                seq: 5,
                record: AuditRecord {
                    at: at(10),
                    who: Who {
                        token: Some("0123456789ab".into()),
                        name: "ops-lead".into(),
                        role: Some(bawaba_domain::access::Role::Authority),
                        company: None,
                        zone: None,
                        door: Door::Web,
                    },
                    kind: AuditKind::ClosureAdded,
                    zone: Some(ZoneId::parse("act").unwrap()),
                    objects: vec!["closure:act/2".into()],
                    changes: vec![FieldChange {
                        field: "closures".into(),
                        before: String::new(),
                        after: "2".into(),
                    }],
                },
            }),
        ),
        (
            "company-event",
            encode(&CompanyEvent {
                company: CompanyId::parse("acme").unwrap(),
                seq: 3,
                at: at(10),
                kind: EventKind::HitByClosure,
                zone: Some(ZoneId::parse("act").unwrap()),
                closure: Some(closure),
                booking: booking(),
            }),
        ),
        (
            "webhook",
            encode(&Webhook {
                company: CompanyId::parse("acme").unwrap(),
                url: "https://tms.acme.jo/bawaba".into(),
                secret: "whsec_0123456789abcdef".into(),
                set_at: at(8),
            }),
        ),
        (
            "webhook-progress",
            encode(&Progress {
                cursor: 41,
                failing: Some(Failing {
                    seq: 42,
                    first_at: at(10),
                    attempts: 3,
                    next_at: at(11),
                }),
            }),
        ),
        (
            "fleet-truck",
            encode(&FleetTruck {
                company: CompanyId::parse("acme").unwrap(),
                plate: Plate::parse("60-12345").unwrap(),
                epc: Some(Epc::parse_hex("E2801160600002084A2B5C1D").unwrap()),
                driver: "علي حسن".into(),
                phone: Some(Phone::parse("0791234567").unwrap()),
                updated_at: at(8),
            }),
        ),
        (
            "account",
            encode(&Account {
                login: Login::parse("ahmad.acme").unwrap(),
                company: CompanyId::parse("acme").unwrap(),
                name: "أحمد حداد".into(),
                admin: true,
                hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
                disabled: false,
                failures: 2,
                locked_until: Some(at(9)),
                created_at: at(1),
            }),
        ),
        (
            "session",
            encode(&Session {
                id: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                login: Login::parse("ahmad.acme").unwrap(),
                started_at: at(2),
                expires_at: at(14),
            }),
        ),
        (
            "delivery",
            encode(&Delivery {
                company: CompanyId::parse("acme").unwrap(),
                seq: 42,
                attempt: 3,
                at: at(10),
                outcome: Outcome::Failed {
                    status: Some(503),
                    error: "the receiver answered HTTP 503".into(),
                },
            }),
        ),
        (
            "text",
            encode(&Texted {
                to: Phone::parse("0791234567").unwrap(),
                delivery: Delivery {
                    company: CompanyId::parse("acme").unwrap(),
                    seq: 43,
                    attempt: 1,
                    at: at(12),
                    outcome: Outcome::Delivered { status: 202 },
                },
            }),
        ),
        (
            "sms-progress",
            encode(&(
                CompanyId::parse("acme").unwrap(),
                Progress {
                    cursor: 43,
                    failing: None,
                },
            )),
        ),
        ("reminded-mark", encode(&at(13))),
    ]
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn golden_stored_bytes_are_what_earlier_versions_wrote() {
    let now: Vec<(&str, Vec<u8>)> = values();
    let text: String = now
        .iter()
        .map(|(name, bytes)| format!("{name} {}\n", hex(bytes)))
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/codec/formats-v1.hex");
    if std::env::var_os("BAWABA_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let pinned = include_str!("formats-v1.hex");
    for line in pinned.lines() {
        let (name, h) = line.split_once(' ').unwrap();
        let (_, bytes) = now.iter().find(|(n, _)| *n == name).unwrap();
        assert_eq!(
            hex(bytes),
            h,
            "the stored form of {name} changed: give it a new format version that reads the old"
        );
    }
    assert_eq!(
        pinned.lines().count(),
        now.len(),
        "a stored type without pinned bytes"
    );
    // And what was written reads back.
    let b: Booking = decode(
        b"b",
        &unhex(pinned.lines().next().unwrap().split_once(' ').unwrap().1),
    )
    .unwrap();
    assert_eq!(b, booking());
}
