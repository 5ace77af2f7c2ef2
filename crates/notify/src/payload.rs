//! The JSON body of a webhook POST: one company event, times in Amman time with their offset.

use bawaba_domain::calendar::LOCAL_TZ;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::ledger::{Booking, Stop};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The payload's format: `"format": 1`. Fields are only ever added within a format.
pub const FORMAT: u32 = 1;

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn local_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(local(t)))
}

/// The event as its webhook receives it.
pub fn payload(e: &CompanyEvent) -> Value {
    json!({
        "format": FORMAT,
        "id": e.id(),
        "type": e.kind.as_str(),
        "company": e.company.as_str(),
        "seq": e.seq,
        "at": local(e.at),
        "zone": e.zone.as_ref().map(|z| z.as_str()),
        "closure": e.closure.as_ref().map(|c| json!({
            "id": c.id,
            "from": local(c.from),
            "to": local(c.to),
            "reason": c.reason,
        })),
        "booking": booking(&e.booking),
    })
}

fn booking(b: &Booking) -> Value {
    json!({
        "id": b.id.to_string(),
        "plate": b.plate.as_str(),
        "tag": b.epc.as_ref().map(ToString::to_string),
        "state": b.state.as_str(),
        "revision": b.revision,
        "created_at": local(b.created_at),
        "updated_at": local(b.updated_at),
        "cancel_reason": b.cancel_reason,
        "stops": b.stops.iter().map(stop).collect::<Vec<_>>(),
    })
}

fn stop(s: &Stop) -> Value {
    json!({
        "zone": s.zone.as_str(),
        "window_start": local(s.window_start),
        "transaction_type": s.transaction_type.as_str(),
        "containers": s.containers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "entered_at": local_opt(s.entered_at),
        "exited_at": local_opt(s.exited_at),
    })
}

#[cfg(test)]
mod tests {
    use bawaba_domain::calendar::Closure;
    use bawaba_domain::event::EventKind;
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn an_event_reads_in_amman_time_with_its_ids() {
        let closure = Closure {
            id: 3,
            from: Utc.with_ymd_and_hms(2026, 12, 8, 7, 0, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap(),
            reason: "flash flood".into(),
        };
        let e = crate::test_event(EventKind::HitByClosure, Some(closure));
        let booking = e.booking.clone();
        let p = payload(&e);
        assert_eq!(p["id"], "acme:17");
        assert_eq!(p["type"], "booking.hit_by_closure");
        assert_eq!(p["at"], "2026-12-08T10:00:00+03:00");
        assert_eq!(p["closure"]["to"], "2026-12-08T12:00:00+03:00");
        assert_eq!(p["booking"]["id"], booking.id.to_string());
        let stop = &p["booking"]["stops"][0];
        assert_eq!(stop["window_start"], "2026-12-08T10:00:00+03:00");
        assert_eq!(stop["transaction_type"], "IMPORT_PICKUP");
        assert_eq!(stop["containers"][0], "CSQU3054383");
        assert_eq!(stop["entered_at"], Value::Null);
        assert!(!p.to_string().contains("idempotency"), "{p}");
    }
}
