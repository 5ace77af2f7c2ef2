//! How client commands print what they got: `--output text` (one `key=value` line per
//! object, the default), `table` (aligned columns with a header) or `json` (one JSON document:
//! an object, or an array for a listing; stable for scripts, documented in README "Command
//! line"). Every time is Amman time with its offset.

use bawaba_grpc::pb;
use clap::ValueEnum;
use serde_json::{Value, json};

use crate::client::{local, out, type_name};

/// The command's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// `key=value` lines, one object per line (its stops indented below it).
    #[default]
    Text,
    /// Aligned columns with a header line.
    Table,
    /// One JSON document (format 1): an object, or an array for a listing.
    Json,
}

/// Nothing matched (a listing or search that found nothing): the command says so on stderr
/// and exits with status [`NothingFound::EXIT`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingFound(pub String);

impl NothingFound {
    /// The exit status of a search that found nothing (1 is an error, 2 a usage error).
    pub const EXIT: u8 = 3;
}

pub fn time(t: Option<&prost_types::Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(local(Some(t))))
}

pub fn text_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

pub fn state_name(v: i32) -> &'static str {
    pb::BookingState::try_from(v)
        .map_or("?", |s| s.as_str_name())
        .trim_start_matches("BOOKING_STATE_")
}

pub fn booking_json(b: &pb::Booking) -> Value {
    let stops: Vec<Value> = b
        .stops
        .iter()
        .map(|s| {
            json!({
                "zone": s.zone_id,
                "window_start": time(s.window_start.as_ref()),
                "window_end": time(s.window_end.as_ref()),
                "transaction_type": type_name(s.transaction_type),
                "containers": s.container_numbers,
                "entry_from": time(s.entry_from.as_ref()),
                "entry_until": time(s.entry_until.as_ref()),
                "entered_at": time(s.entered_at.as_ref()),
                "exited_at": time(s.exited_at.as_ref()),
                "closures": s.closures.iter().map(|c| json!({
                    "id": c.id,
                    "from": time(c.from.as_ref()),
                    "to": time(c.to.as_ref()),
                    "reason": c.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "id": b.booking_id,
        "company": b.company_id,
        "plate": b.truck_plate,
        "tag": text_or_null(&b.rfid_epc),
        "state": state_name(b.state),
        "revision": b.revision,
        "idempotency_key": b.idempotency_key,
        "created_at": time(b.created_at.as_ref()),
        "updated_at": time(b.updated_at.as_ref()),
        "cancel_reason": text_or_null(&b.cancel_reason),
        "stops": stops,
    })
}

pub fn window_json(w: &pb::Window) -> Value {
    let per_type: serde_json::Map<String, Value> = w
        .per_type
        .iter()
        .map(|t| {
            let usage = json!({ "booked": t.booked, "capacity": t.capacity });
            (type_name(t.transaction_type).to_owned(), usage)
        })
        .collect();
    json!({
        "zone": w.zone_id,
        "start": time(w.start.as_ref()),
        "end": time(w.end.as_ref()),
        "capacity": w.capacity,
        "booked": w.booked,
        "free": w.free,
        "per_type": per_type,
        "closed": text_or_null(&w.closure_reason),
    })
}

/// Prints `rows` under `headers`, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out(format_args!("{}", padded.join("  ").trim_end()));
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

/// One row per stop: the booking's columns on its first.
fn booking_rows(b: &pb::Booking) -> Vec<Vec<String>> {
    b.stops
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let first = |v: String| if i == 0 { v } else { String::new() };
            let containers = match s.container_numbers.is_empty() {
                true => "-".to_owned(),
                false => s.container_numbers.join(","),
            };
            vec![
                first(b.booking_id.clone()),
                first(b.truck_plate.clone()),
                first(state_name(b.state).to_owned()),
                s.zone_id.clone(),
                local(s.window_start.as_ref()),
                type_name(s.transaction_type).to_owned(),
                containers,
            ]
        })
        .collect()
}

/// How one kind of object is printed in each format.
pub struct Shape<T: 'static> {
    pub text: fn(&T),
    pub json: fn(&T) -> Value,
    pub headers: &'static [&'static str],
    /// Its table rows (a booking has one per stop).
    pub rows: fn(&T) -> Vec<Vec<String>>,
}

/// A listing in `format`: text lines, one table, or one JSON array.
pub fn listing<T>(format: Format, items: &[T], shape: &Shape<T>) {
    match format {
        Format::Text => items.iter().for_each(shape.text),
        Format::Json => {
            let all: Vec<Value> = items.iter().map(shape.json).collect();
            out(format_args!("{}", Value::Array(all)));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = items.iter().flat_map(shape.rows).collect();
            table(shape.headers, &rows);
        }
    }
}

/// One object in `format` (JSON: an object, not an array).
pub fn one<T>(format: Format, item: &T, shape: &Shape<T>) {
    match format {
        Format::Json => out(format_args!("{}", (shape.json)(item))),
        other => listing(other, std::slice::from_ref(item), shape),
    }
}

/// Bookings: `text` prints one as text.
pub fn booking_shape(text: fn(&pb::Booking)) -> Shape<pb::Booking> {
    Shape {
        text,
        json: booking_json,
        headers: &[
            "BOOKING",
            "PLATE",
            "STATE",
            "ZONE",
            "WINDOW",
            "TYPE",
            "CONTAINERS",
        ],
        rows: booking_rows,
    }
}

/// Windows: `text` prints one as text.
pub fn window_shape(text: fn(&pb::Window)) -> Shape<pb::Window> {
    Shape {
        text,
        json: window_json,
        headers: &["ZONE", "START", "CAPACITY", "BOOKED", "FREE", "CLOSED"],
        rows: |w| {
            vec![vec![
                w.zone_id.clone(),
                local(w.start.as_ref()),
                w.capacity.to_string(),
                w.booked.to_string(),
                w.free.to_string(),
                w.closure_reason.clone(),
            ]]
        },
    }
}

/// Trucks of a fleet: `text` prints one as text.
pub fn truck_shape(text: fn(&pb::FleetTruck)) -> Shape<pb::FleetTruck> {
    Shape {
        text,
        json: |t| {
            json!({
                "company": t.company_id,
                "plate": t.truck_plate,
                "tag": text_or_null(&t.rfid_epc),
                "driver": t.driver_name,
                "phone": text_or_null(&t.driver_phone),
                "updated_at": time(t.updated_at.as_ref()),
            })
        },
        headers: &["PLATE", "TAG", "DRIVER", "PHONE", "UPDATED"],
        rows: |t| {
            vec![vec![
                t.truck_plate.clone(),
                t.rfid_epc.clone(),
                t.driver_name.clone(),
                t.driver_phone.clone(),
                local(t.updated_at.as_ref()),
            ]]
        },
    }
}

/// A webhook's delivery attempts: `text` prints one as text.
pub fn delivery_shape(text: fn(&pb::WebhookDelivery)) -> Shape<pb::WebhookDelivery> {
    Shape {
        text,
        json: delivery_json,
        headers: &["EVENT", "ATTEMPT", "AT", "OUTCOME", "STATUS", "ERROR"],
        rows: |d| vec![delivery_row(d)],
    }
}

/// SMS attempts: `text` prints one as text.
pub fn text_shape(text: fn(&pb::Text)) -> Shape<pb::Text> {
    Shape {
        text,
        json: |t| {
            let mut v = t.delivery.as_ref().map_or(json!({}), delivery_json);
            v["to"] = json!(t.to);
            v
        },
        headers: &["TO", "EVENT", "ATTEMPT", "AT", "OUTCOME", "STATUS", "ERROR"],
        rows: |t| {
            let mut row = vec![t.to.clone()];
            row.extend(t.delivery.as_ref().map(delivery_row).unwrap_or_default());
            vec![row]
        },
    }
}

fn delivery_json(d: &pb::WebhookDelivery) -> serde_json::Value {
    json!({
        "event_id": d.event_id,
        "attempt": d.attempt,
        "at": time(d.at.as_ref()),
        "outcome": outcome_name(d.outcome),
        "status": (d.status > 0).then_some(d.status),
        "error": text_or_null(&d.error),
    })
}

fn delivery_row(d: &pb::WebhookDelivery) -> Vec<String> {
    vec![
        d.event_id.clone(),
        d.attempt.to_string(),
        local(d.at.as_ref()),
        outcome_name(d.outcome).to_owned(),
        if d.status > 0 {
            d.status.to_string()
        } else {
            "-".into()
        },
        d.error.clone(),
    ]
}

pub fn outcome_name(v: i32) -> &'static str {
    match pb::DeliveryOutcome::try_from(v) {
        Ok(pb::DeliveryOutcome::Delivered) => "delivered",
        Ok(pb::DeliveryOutcome::Failed) => "failed",
        Ok(pb::DeliveryOutcome::GaveUp) => "gave_up",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_in_json_is_in_amman_time_with_null_for_what_is_not_set() {
        let t = prost_types::Timestamp {
            seconds: 1_796_626_800, // 2026-12-07 07:00 UTC
            nanos: 0,
        };
        let b = pb::Booking {
            booking_id: "01KB".into(),
            company_id: "acme".into(),
            truck_plate: "6012345".into(),
            state: pb::BookingState::Booked as i32,
            stops: vec![pb::Stop {
                zone_id: "act".into(),
                window_start: Some(t),
                transaction_type: pb::TransactionType::ImportPickup as i32,
                container_numbers: vec!["CSQU3054383".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let j = booking_json(&b);
        assert_eq!(j["state"], "BOOKED");
        assert_eq!(j["tag"], Value::Null);
        let s = &j["stops"][0];
        assert_eq!(s["window_start"], "2026-12-07T10:00:00+03:00");
        assert_eq!(s["transaction_type"], "IMPORT_PICKUP");
        assert_eq!(s["containers"][0], "CSQU3054383");
        assert_eq!(s["entered_at"], Value::Null);
    }
}
