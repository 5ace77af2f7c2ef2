//! Stored values: a format version byte, then postcard. Keys: one tree, one-byte prefixes.

use bawaba_domain::account::Login;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ids::{BookingId, CompanyId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::Gate;
use bawaba_domain::plate::Plate;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Version of every stored value's encoding. Bump it (and read the old one) when a stored
/// type changes shape.
pub const FORMAT_VERSION: u8 = 1;

/// A value as stored: the format version, then postcard. A value postcard cannot write is
/// an error naming its type, never an empty or partial value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    with_version(FORMAT_VERSION, value)
}

fn with_version<T: Serialize>(version: u8, value: &T) -> Result<Vec<u8>> {
    let mut out = vec![version];
    let body = postcard::to_stdvec(value).map_err(|e| Error::Corrupt {
        key: std::any::type_name::<T>().to_owned(),
        reason: format!("cannot be encoded: {e}"),
    })?;
    out.extend(body);
    Ok(out)
}

fn corrupt(key: &[u8], reason: String) -> Error {
    Error::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    }
}

pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    let corrupt = |reason: String| corrupt(key, reason);
    match bytes.split_first() {
        Some((&FORMAT_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))
        }
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".into())),
    }
}

/// A zone's configuration is stored in format 3. Format 2 lacked its last two fields,
/// `name_ar` and `when_closed`; format 1 also `alerts`, `watch` and `overrides`.
pub const ZONE_FORMAT: u8 = 3;
/// What format 2 lacks, as postcard writes it when empty or first: the Arabic name's length,
/// zero, and `WhenClosed::Deny`, variant 0.
const ZONE_FORMAT_2_MISSING: [u8; 2] = [0, 0];
/// What format 1 lacks besides: each list's length, zero.
const ZONE_FORMAT_1_MISSING: [u8; 5] = [0, 0, 0, 0, 0];

/// A gate is stored in format 2. Format 1 lacked its last field, `name_ar`.
pub const GATE_FORMAT: u8 = 2;

pub fn encode_gate(g: &Gate) -> Result<Vec<u8>> {
    with_version(GATE_FORMAT, g)
}

/// Reads a gate stored in format 2 or 1 (one without its Arabic name reads as one with it
/// empty: postcard writes an empty string as its length, zero).
pub fn decode_gate(key: &[u8], bytes: &[u8]) -> Result<Gate> {
    let read =
        |body: &[u8]| postcard::from_bytes::<Gate>(body).map_err(|e| corrupt(key, e.to_string()));
    match bytes.split_first() {
        Some((&GATE_FORMAT, rest)) => read(rest),
        Some((1, rest)) => read(&[rest, &[0]].concat()),
        Some((v, _)) => Err(corrupt(key, format!("unknown gate format version {v}"))),
        None => Err(corrupt(key, "empty value".into())),
    }
}

pub fn encode_zone(z: &ZoneConfig) -> Result<Vec<u8>> {
    with_version(ZONE_FORMAT, z)
}

/// Reads a zone stored in format 3, 2 or 1: postcard writes a struct's fields in order, a
/// `String` or `Vec` as its length then its items and an enum as its variant's number, so an
/// older zone is a newer one without its last fields: it reads as one with them empty (and
/// DENY when closed) added.
pub fn decode_zone(key: &[u8], bytes: &[u8]) -> Result<ZoneConfig> {
    let read = |body: &[u8]| {
        postcard::from_bytes::<ZoneConfig>(body).map_err(|e| corrupt(key, e.to_string()))
    };
    match bytes.split_first() {
        Some((&ZONE_FORMAT, rest)) => read(rest),
        Some((2, rest)) => read(&[rest, &ZONE_FORMAT_2_MISSING].concat()),
        Some((1, rest)) => read(&[rest, &ZONE_FORMAT_1_MISSING].concat()),
        Some((v, _)) => Err(corrupt(key, format!("unknown zone format version {v}"))),
        None => Err(corrupt(key, "empty value".into())),
    }
}

pub const ZONE: u8 = b'z';
pub const GATE: u8 = b'g';
pub const BOOKING: u8 = b'b';
pub const IDEMPOTENCY: u8 = b'i';
/// Window counters, stored by versions before 0.1 (now recounted at load; removed if found).
pub const LEGACY_WINDOW: u8 = b'w';
pub const CHANGE: u8 = b'c';
pub const PASSAGE: u8 = b'p';
pub const REFERRAL: u8 = b'r';
/// Recording number (big-endian) → passage id: the order passages were recorded in.
pub const PASSAGE_LOG: u8 = b'l';
/// The audit trail: time (µs since 1970, big-endian) and number → record, in time order.
pub const AUDIT: u8 = b'a';
/// The number of the last audit record written (one key).
pub const AUDIT_HEAD: u8 = b'A';
/// Per gate, its report mark: `(gate, instant)` (see `Ledger::note_reported`).
pub const REPORTED: u8 = b'm';
/// Company events by company and number.
pub const EVENT: u8 = b'e';
/// The number of each company's newest event.
pub const EVENT_HEAD: u8 = b'E';
/// Companies' webhooks, by company.
pub const WEBHOOK: u8 = b'k';
/// Each company's delivery progress, by company.
pub const WEBHOOK_PROGRESS: u8 = b'K';
/// Delivery attempts by company, event number and attempt.
pub const DELIVERY: u8 = b'd';
/// Companies' trucks by company and plate.
pub const FLEET: u8 = b'f';
/// Each company's SMS progress: `(company, progress)`, by company.
pub const SMS_PROGRESS: u8 = b'S';
/// SMS attempts by company, event number and attempt.
pub const TEXT: u8 = b't';
/// The reminders' mark (one key).
pub const REMINDED: u8 = b'R';
/// Portal accounts by login name.
pub const ACCOUNT: u8 = b'u';
/// Portal sessions by id (the hash of their secret).
pub const SESSION: u8 = b'x';

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![prefix];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0); // ids never contain NUL
        }
        k.extend_from_slice(p);
    }
    k
}

pub fn zone_key(z: &ZoneId) -> Vec<u8> {
    key(ZONE, &[z.as_str().as_bytes()])
}

pub fn gate_key(g: &GateId) -> Vec<u8> {
    key(GATE, &[g.as_str().as_bytes()])
}

pub fn reported_key(g: &GateId) -> Vec<u8> {
    key(REPORTED, &[g.as_str().as_bytes()])
}

/// A company event's key: a company's events follow in number order.
pub fn event_key(c: &CompanyId, seq: u64) -> Vec<u8> {
    key(EVENT, &[c.as_str().as_bytes(), &seq.to_be_bytes()])
}

pub fn webhook_key(c: &CompanyId) -> Vec<u8> {
    key(WEBHOOK, &[c.as_str().as_bytes()])
}

pub fn webhook_progress_key(c: &CompanyId) -> Vec<u8> {
    key(WEBHOOK_PROGRESS, &[c.as_str().as_bytes()])
}

/// A delivery attempt's key: a company's attempts follow in event and attempt order.
pub fn delivery_key(c: &CompanyId, seq: u64, attempt: u32) -> Vec<u8> {
    attempt_key(DELIVERY, c, seq, attempt)
}

fn attempt_key(prefix: u8, c: &CompanyId, seq: u64, attempt: u32) -> Vec<u8> {
    key(
        prefix,
        &[
            c.as_str().as_bytes(),
            &seq.to_be_bytes(),
            &attempt.to_be_bytes(),
        ],
    )
}

/// An SMS attempt's key: a company's attempts follow in event and attempt order.
pub fn text_key(c: &CompanyId, seq: u64, attempt: u32) -> Vec<u8> {
    attempt_key(TEXT, c, seq, attempt)
}

pub fn sms_progress_key(c: &CompanyId) -> Vec<u8> {
    key(SMS_PROGRESS, &[c.as_str().as_bytes()])
}

pub fn account_key(login: &Login) -> Vec<u8> {
    key(ACCOUNT, &[login.as_str().as_bytes()])
}

pub fn session_key(id: &str) -> Vec<u8> {
    key(SESSION, &[id.as_bytes()])
}

pub fn fleet_key(c: &CompanyId, plate: &Plate) -> Vec<u8> {
    key(FLEET, &[c.as_str().as_bytes(), plate.as_str().as_bytes()])
}

pub fn event_head_key(c: &CompanyId) -> Vec<u8> {
    key(EVENT_HEAD, &[c.as_str().as_bytes()])
}

pub fn booking_key(id: BookingId) -> Vec<u8> {
    key(BOOKING, &[&id.to_bytes()])
}

pub fn idempotency_key(c: &CompanyId, k: &str) -> Vec<u8> {
    key(IDEMPOTENCY, &[c.as_str().as_bytes(), k.as_bytes()])
}

pub fn passage_key(id: PassageId) -> Vec<u8> {
    key(PASSAGE, &[&id.to_bytes()])
}

pub fn referral_key(id: PassageId) -> Vec<u8> {
    key(REFERRAL, &[&id.to_bytes()])
}

pub fn passage_log_key(seq: u64) -> Vec<u8> {
    key(PASSAGE_LOG, &[&seq.to_be_bytes()])
}

/// An audit record's key: records sort by time, then number.
pub fn audit_key(at: chrono::DateTime<chrono::Utc>, seq: u64) -> Vec<u8> {
    let micros = u64::try_from(at.timestamp_micros()).unwrap_or(0);
    key(AUDIT, &[&micros.to_be_bytes(), &seq.to_be_bytes()])
}

pub fn audit_head_key() -> Vec<u8> {
    vec![AUDIT_HEAD]
}

/// The prefix of one zone's change log; entries follow in sequence order.
pub fn change_prefix(z: &ZoneId) -> Vec<u8> {
    let mut k = key(CHANGE, &[z.as_str().as_bytes()]);
    k.push(0);
    k
}

pub fn change_key(z: &ZoneId, seq: u64) -> Vec<u8> {
    let mut k = change_prefix(z);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

#[cfg(test)]
#[path = "codec/golden.rs"]
mod golden;

#[cfg(test)]
mod tests {
    use super::*;
    use bawaba_domain::calendar::WhenClosed;

    /// A value whose serialisation fails.
    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not today"))
        }
    }

    #[test]
    fn a_value_that_cannot_be_encoded_is_an_error_never_an_empty_value() {
        let e = encode(&Refuses).unwrap_err();
        assert!(
            matches!(&e, Error::Corrupt { key, reason } if key.ends_with("Refuses") && reason.contains("cannot be encoded")),
            "{e}"
        );
    }

    #[test]
    fn values_carry_their_version() {
        let bytes = encode(&42u32).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<u32>(b"k", &bytes).unwrap(), 42);
        let mut future = bytes.clone();
        future[0] = 99;
        assert!(
            decode::<u32>(b"k", &future)
                .unwrap_err()
                .to_string()
                .contains("unknown format version 99")
        );
        assert!(decode::<u32>(b"k", &[]).is_err());
    }

    /// A zone as version 0.1 stored it (format 1, before zones kept alerts): these bytes are
    /// pinned, so a change of the zone's shape that would lose old stores fails here.
    #[test]
    fn a_zone_stored_in_format_1_still_reads() {
        use bawaba_domain::calendar::{Closure, SlotLength, WindowCapacity};
        use chrono::TimeZone;
        let stored = [&[1u8][..], &unhex(include_str!("codec/zone-v1.hex"))].concat();
        let mut want = ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "Aqaba Container Terminal",
            SlotLength::from_minutes(30).unwrap(),
            WindowCapacity::uniform(30),
        );
        want.rules.company_cap_percent = 20;
        let at = |h| chrono::Utc.with_ymd_and_hms(2026, 3, 10, h, 0, 0).unwrap();
        want.closures.push(Closure {
            id: 1,
            from: at(9),
            to: at(11),
            reason: "flash flood".into(),
        });
        want.next_closure_id = 2;
        want.company_caps
            .insert(bawaba_domain::ids::CompanyId::parse("acme").unwrap(), 50);
        assert_eq!(decode_zone(b"z", &stored).unwrap(), want);
        // Written again, it is the newest format and reads back the same.
        let again = encode_zone(&want).unwrap();
        assert_eq!(again[0], ZONE_FORMAT);
        assert_eq!(decode_zone(b"z", &again).unwrap(), want);
        assert!(decode_zone(b"z", &[ZONE_FORMAT + 1, 0]).is_err());
    }

    fn unhex(hex: &str) -> Vec<u8> {
        let hex = hex.trim();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A zone as format 2 stored it (an alert taken, a watch entry, a one-off capacity).
    fn zone_in_format_2() -> ZoneConfig {
        use bawaba_domain::alert::{AlertClosure, AlertEffect, ZoneAlert};
        use bawaba_domain::calendar::{CapacityOverride, SlotLength, WindowCapacity};
        use bawaba_domain::plate::Plate;
        use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
        use chrono::TimeZone;
        let at = |h| chrono::Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        let mut z = ZoneConfig::new(
            ZoneId::parse("main-port").unwrap(),
            "Main Port",
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(12),
        );
        z.alerts.push(ZoneAlert {
            key: "jmd,ff-1".into(),
            received: at(5),
            close: Some(AlertClosure {
                from: at(6),
                to: at(9),
                reason: "Flash flood warning".into(),
            }),
            closure: Some(1),
            effect: AlertEffect::Closed,
        });
        z.watch.push(WatchEntry {
            target: WatchTarget::Plate(Plate::parse("60-12345").unwrap()),
            reason: "stolen".into(),
            action: WatchAction::Deny,
            until: Some(at(23)),
            added: at(4),
        });
        z.overrides.push(CapacityOverride {
            id: 1,
            from: at(10),
            to: at(14),
            capacity: WindowCapacity::uniform(4),
            reason: "Eid".into(),
        });
        z
    }

    /// A gate as format 1 stored it (before gates had an Arabic name): these bytes are
    /// pinned; they read with the Arabic name empty.
    #[test]
    fn a_gate_stored_in_format_1_still_reads() {
        let stored = unhex(include_str!("codec/gate-v1.hex").trim());
        assert_eq!(stored[0], 1);
        let mut g = decode_gate(b"g", &stored).unwrap();
        assert_eq!(
            (g.id.as_str(), g.name.as_str(), g.name_ar.as_str()),
            ("act-north", "North gate", "")
        );
        assert_eq!(g.lanes.len(), 1);
        g.name_ar = "البوابة الشمالية".into();
        let again = encode_gate(&g).unwrap();
        assert_eq!(again[0], GATE_FORMAT);
        assert_eq!(decode_gate(b"g", &again).unwrap(), g);
        assert!(decode_gate(b"g", &[GATE_FORMAT + 1, 0]).is_err());
    }

    /// A zone as format 2 stored it (before zones had an Arabic name and a choice for closed
    /// entries): these bytes are pinned; they read with the new fields empty and DENY.
    #[test]
    fn a_zone_stored_in_format_2_still_reads() {
        let stored = unhex(include_str!("codec/zone-v2.hex"));
        assert_eq!(stored[0], 2);
        let z = decode_zone(b"z", &stored).unwrap();
        assert_eq!(z, zone_in_format_2());
        assert_eq!((z.name_ar.as_str(), z.when_closed), ("", WhenClosed::Deny));
        let mut named = z;
        named.name_ar = "الميناء الرئيسي".into();
        named.when_closed = WhenClosed::Refer;
        let again = encode_zone(&named).unwrap();
        assert_eq!(again[0], ZONE_FORMAT);
        assert_eq!(decode_zone(b"z", &again).unwrap(), named);
    }

    #[test]
    fn keys_sort_like_their_values() {
        let z = ZoneId::parse("act").unwrap();
        assert!(change_key(&z, 255) < change_key(&z, 256));
        assert!(change_key(&z, 1).starts_with(&change_prefix(&z)));
        // A zone whose id extends another's does not fall inside its change log.
        let z2 = ZoneId::parse("act2").unwrap();
        assert!(!change_key(&z2, 1).starts_with(&change_prefix(&z)));
        let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let (early, late) = (t("2026-12-08T07:00:00Z"), t("2026-12-08T07:00:01Z"));
        assert!(audit_key(early, 9) < audit_key(early, 10));
        assert!(audit_key(early, 300) < audit_key(late, 1));
        assert!(!audit_key(early, 1).starts_with(&audit_head_key()));
    }
}
