//! Messages to domain values and back. Every parse names the request field it reads, so a
//! bad value becomes INVALID_ARGUMENT with that field.

use bawaba_app::AuditItem;
use bawaba_domain::calendar::{
    BookingRules, CapacityTemplate, Closure, ClosurePolicy, LOCAL_TZ, SlotLength, TransactionType,
    WhenClosed, WindowCapacity, ZoneConfig,
};
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::epc::Epc;
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{
    Booking, BookingState, Direction, Gate, Lane, NewBooking, Stop, WindowView,
};
use bawaba_domain::passage::{Passage, Reason, Referral, ReferralState, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_domain::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc, Weekday};

use crate::pb;

/// A domain time as a protobuf timestamp.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The report mark of a ReportPassages request: both `gate_id` and `reported_through`, or
/// neither.
pub fn report_mark(r: &pb::ReportPassagesRequest) -> Result<Option<(GateId, DateTime<Utc>)>> {
    match (r.gate_id.is_empty(), r.reported_through.as_ref()) {
        (true, None) => Ok(None),
        (false, t) => Ok(Some((
            GateId::parse(&r.gate_id).map_err(|e| e.in_field("gate_id"))?,
            required_time(t, "reported_through")?,
        ))),
        (true, Some(_)) => Err(Error::invalid(
            "gate_id",
            "is required with reported_through",
        )),
    }
}

/// A protobuf timestamp as a domain time, `None` when out of range.
pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
}

pub fn required_time(t: Option<&prost_types::Timestamp>, field: &str) -> Result<DateTime<Utc>> {
    let t = t.ok_or_else(|| Error::invalid(field, "is required"))?;
    from_timestamp(t).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{}s {}ns is not a valid time", t.seconds, t.nanos),
        )
    })
}

pub fn optional_time(
    t: Option<&prost_types::Timestamp>,
    field: &str,
) -> Result<Option<DateTime<Utc>>> {
    t.map(|t| required_time(Some(t), field)).transpose()
}

fn ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(timestamp)
}

pub fn zone_id(s: &str, field: &str) -> Result<ZoneId> {
    if s.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    ZoneId::parse(s).map_err(|e| e.in_field(field))
}

pub fn company_id(s: &str, field: &str) -> Result<CompanyId> {
    CompanyId::parse(s).map_err(|e| e.in_field(field))
}

pub fn booking_id(s: &str, field: &str) -> Result<BookingId> {
    if s.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    BookingId::parse(s).map_err(|e| e.in_field(field))
}

/// `policy` of an AddClosureRequest: unspecified is notify.
pub fn closure_policy(v: i32) -> Result<ClosurePolicy> {
    use pb::ClosurePolicy as P;
    match P::try_from(v) {
        Ok(P::Unspecified | P::Notify) => Ok(ClosurePolicy::Notify),
        Ok(P::Cancel) => Ok(ClosurePolicy::Cancel),
        Ok(P::Rebook) => Ok(ClosurePolicy::Rebook),
        Err(_) => Err(Error::invalid(
            "policy",
            format!("{v} is not a closure policy"),
        )),
    }
}

pub fn transaction_type(v: i32, field: &str) -> Result<TransactionType> {
    use pb::TransactionType as P;
    match P::try_from(v) {
        Ok(P::ImportPickup) => Ok(TransactionType::ImportPickup),
        Ok(P::ExportDropoff) => Ok(TransactionType::ExportDropoff),
        Ok(P::EmptyReturn) => Ok(TransactionType::EmptyReturn),
        Ok(P::EmptyPickup) => Ok(TransactionType::EmptyPickup),
        Ok(P::GeneralCargo) => Ok(TransactionType::GeneralCargo),
        Ok(P::Unspecified) => Err(Error::invalid(field, "is required")),
        Err(_) => Err(Error::invalid(
            field,
            format!("{v} is not a transaction type"),
        )),
    }
}

pub fn pb_transaction_type(t: TransactionType) -> pb::TransactionType {
    match t {
        TransactionType::ImportPickup => pb::TransactionType::ImportPickup,
        TransactionType::ExportDropoff => pb::TransactionType::ExportDropoff,
        TransactionType::EmptyReturn => pb::TransactionType::EmptyReturn,
        TransactionType::EmptyPickup => pb::TransactionType::EmptyPickup,
        TransactionType::GeneralCargo => pb::TransactionType::GeneralCargo,
    }
}

/// A state filter: UNSPECIFIED means any.
pub fn state_filter(v: i32) -> Result<Option<BookingState>> {
    use pb::BookingState as P;
    Ok(match P::try_from(v) {
        Ok(P::Unspecified) => None,
        Ok(P::Booked) => Some(BookingState::Booked),
        Ok(P::Entered) => Some(BookingState::Entered),
        Ok(P::Exited) => Some(BookingState::Exited),
        Ok(P::Cancelled) => Some(BookingState::Cancelled),
        Ok(P::NoShow) => Some(BookingState::NoShow),
        Err(_) => {
            return Err(Error::invalid(
                "state",
                format!("{v} is not a booking state"),
            ));
        }
    })
}

fn pb_state(s: BookingState) -> pb::BookingState {
    match s {
        BookingState::Booked => pb::BookingState::Booked,
        BookingState::Entered => pb::BookingState::Entered,
        BookingState::Exited => pb::BookingState::Exited,
        BookingState::Cancelled => pb::BookingState::Cancelled,
        BookingState::NoShow => pb::BookingState::NoShow,
    }
}

/// Parses a create request. `company` is the company it books for (already resolved from
/// the token, or from `company_id` for the authority).
pub fn new_booking(req: pb::CreateBookingRequest, company: CompanyId) -> Result<NewBooking> {
    if req.truck_plate.is_empty() {
        return Err(Error::invalid("truck_plate", "is required"));
    }
    let plate = Plate::parse(&req.truck_plate).map_err(|e| e.in_field("truck_plate"))?;
    let epc = (!req.rfid_epc.is_empty())
        .then(|| Epc::parse_hex(&req.rfid_epc).map_err(|e| e.in_field("rfid_epc")))
        .transpose()?;
    if req.stops.is_empty() {
        return Err(Error::invalid("stops", "a visit needs at least one stop"));
    }
    if req.stops.len() > bawaba_domain::ledger::MAX_STOPS {
        return Err(Error::invalid(
            "stops",
            format!(
                "has {} stops; a visit has at most {}",
                req.stops.len(),
                bawaba_domain::ledger::MAX_STOPS
            ),
        ));
    }
    let stops = req
        .stops
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let containers = s
                .container_numbers
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    ContainerNumber::parse(c)
                        .map_err(|e| e.in_field(format!("stops[{i}].container_numbers[{j}]")))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Stop::new(
                zone_id(&s.zone_id, &format!("stops[{i}].zone_id"))?,
                required_time(s.window_start.as_ref(), &format!("stops[{i}].window_start"))?,
                transaction_type(s.transaction_type, &format!("stops[{i}].transaction_type"))?,
                containers,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(NewBooking {
        by: None,
        company,
        idempotency_key: req.idempotency_key,
        plate,
        epc,
        stops,
    })
}

/// A booking for the wire. `zones` gives each stop's window end and entry period.
pub fn pb_booking(b: &Booking, zones: &[ZoneConfig]) -> pb::Booking {
    let stops = b
        .stops
        .iter()
        .map(|s| {
            let zone = zones.iter().find(|z| z.id == s.zone);
            let entry = zone.map(|z| z.entry_period(s.window_start));
            pb::Stop {
                zone_id: s.zone.to_string(),
                window_start: Some(timestamp(s.window_start)),
                window_end: zone.map(|z| timestamp(z.window_end(s.window_start))),
                transaction_type: pb_transaction_type(s.transaction_type) as i32,
                container_numbers: s.containers.iter().map(ToString::to_string).collect(),
                entry_from: entry.map(|e| timestamp(e.0)),
                entry_until: entry.map(|e| timestamp(e.1)),
                entered_at: ts(s.entered_at),
                exited_at: ts(s.exited_at),
                closures: zone
                    .map(|z| {
                        let end = z.window_end(s.window_start);
                        let over = z
                            .closures
                            .iter()
                            .filter(|c| c.overlaps(s.window_start, end));
                        over.map(pb_closure).collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    pb::Booking {
        booking_id: b.id.to_string(),
        company_id: b.company.to_string(),
        truck_plate: b.plate.to_string(),
        rfid_epc: b.epc.as_ref().map(Epc::to_hex).unwrap_or_default(),
        stops,
        state: pb_state(b.state) as i32,
        idempotency_key: b.idempotency_key.clone(),
        created_at: Some(timestamp(b.created_at)),
        updated_at: Some(timestamp(b.updated_at)),
        entered_at: ts(b.entered_at),
        exited_at: ts(b.exited_at),
        cancel_reason: b.cancel_reason.clone().unwrap_or_default(),
        revision: b.revision,
    }
}

pub fn pb_window(zone: &ZoneId, w: &WindowView) -> pb::Window {
    let per_type = match w.capacity.per_type {
        None => Vec::new(),
        Some(_) => TransactionType::ALL
            .into_iter()
            .map(|t| pb::TypeUsage {
                transaction_type: pb_transaction_type(t) as i32,
                capacity: w.capacity.for_type(t),
                booked: w.booked_per_type[t.index()],
                free: w.free_for(t),
            })
            .collect(),
    };
    pb::Window {
        zone_id: zone.to_string(),
        start: Some(timestamp(w.start)),
        end: Some(timestamp(w.end)),
        local_start: w
            .start
            .with_timezone(&LOCAL_TZ)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        capacity: w.capacity.total,
        booked: w.booked,
        free: w.free(),
        per_type,
        closure_reason: w.closure.clone().unwrap_or_default(),
    }
}

pub fn rules(r: &pb::Rules) -> Result<BookingRules> {
    let rules = BookingRules {
        horizon_minutes: r.horizon_minutes,
        booking_cutoff_minutes: r.booking_cutoff_minutes,
        change_cutoff_minutes: r.change_cutoff_minutes,
        early_grace_minutes: r.early_grace_minutes,
        late_grace_minutes: r.late_grace_minutes,
        company_cap_percent: u8::try_from(r.company_cap_percent)
            .map_err(|_| Error::invalid("rules.company_cap_percent", "must be 1..=100"))?,
        require_containers: r.require_containers,
    };
    rules.validate()?;
    Ok(rules)
}

fn pb_rules(r: &BookingRules) -> pb::Rules {
    pb::Rules {
        horizon_minutes: r.horizon_minutes,
        booking_cutoff_minutes: r.booking_cutoff_minutes,
        change_cutoff_minutes: r.change_cutoff_minutes,
        early_grace_minutes: r.early_grace_minutes,
        late_grace_minutes: r.late_grace_minutes,
        company_cap_percent: u32::from(r.company_cap_percent),
        require_containers: r.require_containers,
    }
}

pub(crate) fn weekday(n: u32, field: &str) -> Result<Weekday> {
    match n {
        1..=7 => Ok(Weekday::try_from(n as u8 - 1).unwrap_or(Weekday::Mon)),
        _ => Err(Error::invalid(
            field,
            format!("is {n}; ISO weekdays are 1 (Monday) to 7 (Sunday)"),
        )),
    }
}

pub(crate) fn window_capacity(
    capacity: u32,
    per_type: &[pb::TypeCapacity],
    field: &str,
) -> Result<WindowCapacity> {
    if per_type.is_empty() {
        return Ok(WindowCapacity::uniform(capacity));
    }
    // Types not listed in a split get no share.
    let mut split = [0u32; 5];
    for (i, tc) in per_type.iter().enumerate() {
        let t = transaction_type(
            tc.transaction_type,
            &format!("{field}.per_type[{i}].transaction_type"),
        )?;
        split[t.index()] = tc.capacity;
    }
    Ok(WindowCapacity {
        total: capacity,
        per_type: Some(split),
    })
}

pub fn template(default_capacity: u32, hours: &[pb::HourCapacity]) -> Result<CapacityTemplate> {
    let mut t = CapacityTemplate::uniform(WindowCapacity::uniform(default_capacity));
    for (i, h) in hours.iter().enumerate() {
        let field = format!("hours[{i}]");
        let day = weekday(h.weekday, &format!("{field}.weekday"))?;
        let cap = window_capacity(h.capacity, &h.per_type, &field)?;
        t.set(day, h.hour, cap)
            .map_err(|e| e.in_field(format!("{field}.hour")))?;
    }
    Ok(t)
}

/// A window capacity's split per transaction type, as the wire lists it (empty: none).
pub(crate) fn pb_split(c: &WindowCapacity) -> Vec<pb::TypeCapacity> {
    c.per_type
        .map(|p| {
            TransactionType::ALL
                .into_iter()
                .map(|t| pb::TypeCapacity {
                    transaction_type: pb_transaction_type(t) as i32,
                    capacity: p[t.index()],
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn pb_zone(z: &ZoneConfig) -> pb::Zone {
    let mut template = Vec::with_capacity(168);
    for day in 0..7u8 {
        let wd = Weekday::try_from(day).unwrap_or(Weekday::Mon);
        for hour in 0..24 {
            let c = z.template.get(wd, hour);
            template.push(pb::HourCapacity {
                weekday: wd.number_from_monday(),
                hour,
                capacity: c.total,
                per_type: pb_split(&c),
            });
        }
    }
    let when_closed = match z.when_closed {
        WhenClosed::Deny => pb::WhenClosed::Deny,
        WhenClosed::Refer => pb::WhenClosed::Refer,
    };
    pb::Zone {
        zone_id: z.id.to_string(),
        name: z.name.clone(),
        name_ar: z.name_ar.clone(),
        when_closed: when_closed.into(),
        slot_minutes: z.slot.minutes(),
        rules: Some(pb_rules(&z.rules)),
        template,
        closures: z.closures.iter().map(pb_closure).collect(),
        watchlist: z.watch.iter().map(crate::security::pb_watch).collect(),
        overrides: z
            .overrides
            .iter()
            .map(crate::capacity::pb_override)
            .collect(),
        company_caps: z
            .company_caps
            .iter()
            .map(|(c, p)| pb::CompanyCap {
                company_id: c.to_string(),
                percent: u32::from(*p),
            })
            .collect(),
    }
}

pub fn pb_closure(c: &Closure) -> pb::Closure {
    pb::Closure {
        id: c.id,
        from: Some(timestamp(c.from)),
        to: Some(timestamp(c.to)),
        reason: c.reason.clone(),
    }
}

pub fn gate(g: pb::Gate) -> Result<Gate> {
    let lanes = g
        .lanes
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let direction = direction(l.direction, &format!("lanes[{i}].direction"))?;
            Ok(Lane {
                id: LaneId::parse(&l.lane_id)
                    .map_err(|e| e.in_field(format!("lanes[{i}].lane_id")))?,
                direction,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Gate {
        id: GateId::parse(&g.gate_id).map_err(|e| e.in_field("gate_id"))?,
        zone: zone_id(&g.zone_id, "zone_id")?,
        name: g.name,
        lanes,
        name_ar: g.name_ar,
    })
}

pub fn pb_gate(g: &Gate) -> pb::Gate {
    pb::Gate {
        gate_id: g.id.to_string(),
        zone_id: g.zone.to_string(),
        name: g.name.clone(),
        lanes: g
            .lanes
            .iter()
            .map(|l| pb::Lane {
                lane_id: l.id.to_string(),
                direction: pb_direction(l.direction) as i32,
            })
            .collect(),
        name_ar: g.name_ar.clone(),
    }
}

fn direction(v: i32, field: &str) -> Result<Direction> {
    match pb::LaneDirection::try_from(v) {
        Ok(pb::LaneDirection::In) => Ok(Direction::In),
        Ok(pb::LaneDirection::Out) => Ok(Direction::Out),
        _ => Err(Error::invalid(field, "must be IN or OUT")),
    }
}

fn pb_direction(d: Direction) -> pb::LaneDirection {
    match d {
        Direction::In => pb::LaneDirection::In,
        Direction::Out => pb::LaneDirection::Out,
    }
}

const REASONS: [(Reason, pb::Reason); 17] = [
    (Reason::BookingValid, pb::Reason::BookingValid),
    (Reason::ExitRecorded, pb::Reason::ExitRecorded),
    (Reason::NoBooking, pb::Reason::NoBooking),
    (Reason::WrongZone, pb::Reason::WrongZone),
    (Reason::TooEarly, pb::Reason::TooEarly),
    (Reason::TooLate, pb::Reason::TooLate),
    (Reason::Cancelled, pb::Reason::Cancelled),
    (Reason::NoShow, pb::Reason::NoShow),
    (Reason::AlreadyInside, pb::Reason::AlreadyInside),
    (Reason::NotInside, pb::Reason::NotInside),
    (Reason::PlateTagMismatch, pb::Reason::PlateTagMismatch),
    (Reason::ConfusablePlate, pb::Reason::ConfusablePlate),
    (Reason::UnreadPlate, pb::Reason::UnreadPlate),
    (Reason::LowConfidence, pb::Reason::LowConfidence),
    (Reason::OfflineDoubtful, pb::Reason::OfflineDoubtful),
    (Reason::ZoneClosed, pb::Reason::ZoneClosed),
    (Reason::Watchlist, pb::Reason::Watchlist),
];

const VERDICTS: [(Verdict, pb::Verdict); 3] = [
    (Verdict::Allow, pb::Verdict::Allow),
    (Verdict::Deny, pb::Verdict::Deny),
    (Verdict::Refer, pb::Verdict::Refer),
];

/// A reported passage. Every field is checked; nothing of a bad batch is stored.
pub fn passage(p: &pb::Passage, at: &str) -> Result<Passage> {
    let f = |name: &str| format!("{at}.{name}");
    let verdict = VERDICTS
        .iter()
        .find(|(_, v)| *v as i32 == p.verdict)
        .map(|(d, _)| *d)
        .ok_or_else(|| Error::invalid(f("verdict"), "must be ALLOW, DENY or REFER"))?;
    let reasons = p
        .reasons
        .iter()
        .enumerate()
        .map(|(i, r)| {
            REASONS
                .iter()
                .find(|(_, x)| *x as i32 == *r)
                .map(|(d, _)| *d)
                .ok_or_else(|| {
                    Error::invalid(f(&format!("reasons[{i}]")), format!("{r} is not a reason"))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let confidence = p
        .confidence
        .map(|c| {
            u8::try_from(c)
                .ok()
                .filter(|c| *c <= 100)
                .ok_or_else(|| Error::invalid(f("confidence"), "must be 0..=100"))
        })
        .transpose()?;
    Ok(Passage {
        id: PassageId::parse(&p.event_id).map_err(|e| e.in_field(f("event_id")))?,
        zone: zone_id(&p.zone_id, &f("zone_id"))?,
        gate: GateId::parse(&p.gate_id).map_err(|e| e.in_field(f("gate_id")))?,
        lane: LaneId::parse(&p.lane_id).map_err(|e| e.in_field(f("lane_id")))?,
        direction: direction(p.direction, &f("direction"))?,
        first_read_at: required_time(p.first_read_at.as_ref(), &f("first_read_at"))?,
        last_read_at: required_time(p.last_read_at.as_ref(), &f("last_read_at"))?,
        decided_at: required_time(p.decided_at.as_ref(), &f("decided_at"))?,
        plate: (!p.plate.is_empty())
            .then(|| Plate::parse(&p.plate).map_err(|e| e.in_field(f("plate"))))
            .transpose()?,
        confidence,
        epc: (!p.rfid_epc.is_empty())
            .then(|| Epc::parse_hex(&p.rfid_epc).map_err(|e| e.in_field(f("rfid_epc"))))
            .transpose()?,
        verdict,
        reasons,
        booking: (!p.booking_id.is_empty())
            .then(|| booking_id(&p.booking_id, &f("booking_id")))
            .transpose()?,
        offline: p.offline,
    })
}

pub fn pb_passage(p: &Passage) -> pb::Passage {
    pb::Passage {
        event_id: p.id.to_string(),
        zone_id: p.zone.to_string(),
        gate_id: p.gate.to_string(),
        lane_id: p.lane.to_string(),
        direction: pb_direction(p.direction) as i32,
        first_read_at: Some(timestamp(p.first_read_at)),
        last_read_at: Some(timestamp(p.last_read_at)),
        decided_at: Some(timestamp(p.decided_at)),
        plate: p
            .plate
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        confidence: p.confidence.map(u32::from),
        rfid_epc: p.epc.as_ref().map(Epc::to_hex).unwrap_or_default(),
        verdict: VERDICTS
            .iter()
            .find(|(d, _)| *d == p.verdict)
            .map_or(0, |(_, v)| *v as i32),
        reasons: p
            .reasons
            .iter()
            .filter_map(|r| REASONS.iter().find(|(d, _)| d == r).map(|(_, x)| *x as i32))
            .collect(),
        booking_id: p.booking.map(|b| b.to_string()).unwrap_or_default(),
        offline: p.offline,
    }
}

pub fn pb_referral(r: &Referral, command_delivered: bool) -> pb::Referral {
    pb::Referral {
        passage: Some(pb_passage(&r.passage)),
        state: match r.state {
            ReferralState::Open => pb::ReferralState::Open,
            ReferralState::Approved => pb::ReferralState::Approved,
            ReferralState::Rejected => pb::ReferralState::Rejected,
        } as i32,
        resolved_by: r.resolved_by.clone().unwrap_or_default(),
        resolution: r.resolution.clone().unwrap_or_default(),
        resolved_at: ts(r.resolved_at),
        command_delivered,
    }
}

fn booking_state(v: i32, field: &str) -> Result<BookingState> {
    state_filter(v)?.ok_or_else(|| Error::invalid(field, "is required"))
}

/// A booking from the wire (as a gate agent receives it in its sync stream).
pub fn booking(b: &pb::Booking) -> Result<Booking> {
    let stops = b
        .stops
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = |n: &str| format!("stops[{i}].{n}");
            let containers = s
                .container_numbers
                .iter()
                .map(|c| ContainerNumber::parse(c).map_err(|e| e.in_field(f("container_numbers"))))
                .collect::<Result<Vec<_>>>()?;
            let mut stop = Stop::new(
                zone_id(&s.zone_id, &f("zone_id"))?,
                required_time(s.window_start.as_ref(), &f("window_start"))?,
                transaction_type(s.transaction_type, &f("transaction_type"))?,
                containers,
            );
            stop.entered_at = optional_time(s.entered_at.as_ref(), &f("entered_at"))?;
            stop.exited_at = optional_time(s.exited_at.as_ref(), &f("exited_at"))?;
            Ok(stop)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Booking {
        id: booking_id(&b.booking_id, "booking_id")?,
        company: company_id(&b.company_id, "company_id")?,
        plate: Plate::parse(&b.truck_plate).map_err(|e| e.in_field("truck_plate"))?,
        epc: (!b.rfid_epc.is_empty())
            .then(|| Epc::parse_hex(&b.rfid_epc).map_err(|e| e.in_field("rfid_epc")))
            .transpose()?,
        stops,
        state: booking_state(b.state, "state")?,
        idempotency_key: b.idempotency_key.clone(),
        created_at: required_time(b.created_at.as_ref(), "created_at")?,
        updated_at: required_time(b.updated_at.as_ref(), "updated_at")?,
        entered_at: optional_time(b.entered_at.as_ref(), "entered_at")?,
        exited_at: optional_time(b.exited_at.as_ref(), "exited_at")?,
        cancel_reason: (!b.cancel_reason.is_empty()).then(|| b.cancel_reason.clone()),
        revision: b.revision,
    })
}

/// A zone's configuration from the wire (as a gate agent receives it).
pub fn zone_config(z: &pb::Zone) -> Result<ZoneConfig> {
    let slot = SlotLength::from_minutes(z.slot_minutes)?;
    let mut cfg = ZoneConfig::new(
        zone_id(&z.zone_id, "zone_id")?,
        z.name.clone(),
        slot,
        WindowCapacity::CLOSED,
    );
    cfg.template = template(0, &z.template)?;
    cfg.rules = rules(&z.rules.unwrap_or_default())?;
    cfg.name_ar = z.name_ar.clone();
    cfg.when_closed = match pb::WhenClosed::try_from(z.when_closed) {
        Ok(pb::WhenClosed::Unspecified | pb::WhenClosed::Deny) => WhenClosed::Deny,
        Ok(pb::WhenClosed::Refer) => WhenClosed::Refer,
        Err(_) => {
            let v = z.when_closed;
            return Err(Error::invalid(
                "when_closed",
                format!("{v} is not a choice"),
            ));
        }
    };
    cfg.closures = z
        .closures
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(Closure {
                id: c.id,
                from: required_time(c.from.as_ref(), &format!("closures[{i}].from"))?,
                to: required_time(c.to.as_ref(), &format!("closures[{i}].to"))?,
                reason: c.reason.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    cfg.next_closure_id = cfg.closures.iter().map(|c| c.id + 1).max().unwrap_or(1);
    cfg.overrides = z
        .overrides
        .iter()
        .enumerate()
        .map(|(i, o)| crate::capacity::capacity_override(o, &format!("overrides[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    cfg.watch = z
        .watchlist
        .iter()
        .enumerate()
        .map(|(i, w)| crate::security::watch_entry(w, &format!("watchlist[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    for c in &z.company_caps {
        let pct = u8::try_from(c.percent)
            .map_err(|_| Error::invalid("company_caps", "percent must be 1..=100"))?;
        cfg.company_caps
            .insert(company_id(&c.company_id, "company_caps")?, pct);
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn pb_audit(item: &AuditItem) -> pb::AuditEntry {
    let r = &item.record;
    let who = &r.who;
    pb::AuditEntry {
        id: item.id.clone(),
        at: Some(timestamp(r.at)),
        actor: Some(pb::AuditActor {
            token_id: who.token.clone().unwrap_or_default(),
            name: who.name.clone(),
            role: who.role.map(|x| x.as_str().to_owned()).unwrap_or_default(),
            company_id: who
                .company
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            zone_id: who
                .zone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }),
        door: who.door.as_str().to_owned(),
        kind: r.kind.as_str().to_owned(),
        zone_id: r.zone.as_ref().map(ToString::to_string).unwrap_or_default(),
        objects: r.objects.clone(),
        changes: r
            .changes
            .iter()
            .map(|c| pb::FieldChange {
                field: c.field.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(zone: &str) -> pb::StopRequest {
        pb::StopRequest {
            zone_id: zone.into(),
            window_start: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
            transaction_type: pb::TransactionType::ImportPickup as i32,
            container_numbers: vec!["CSQU3054383".into()],
        }
    }

    fn create(plate: &str, stops: Vec<pb::StopRequest>) -> pb::CreateBookingRequest {
        pb::CreateBookingRequest {
            idempotency_key: "k".into(),
            truck_plate: plate.into(),
            stops,
            ..Default::default()
        }
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn bad_values_name_their_field() {
        let acme = CompanyId::parse("acme").unwrap();
        assert_eq!(
            field_of(new_booking(create("", vec![stop("act")]), acme.clone()).unwrap_err()),
            "truck_plate"
        );
        assert_eq!(
            field_of(new_booking(create("60#1", vec![stop("act")]), acme.clone()).unwrap_err()),
            "truck_plate"
        );
        assert_eq!(
            field_of(new_booking(create("601", vec![]), acme.clone()).unwrap_err()),
            "stops"
        );
        let mut s = stop("act");
        s.container_numbers = vec!["CSQU3054383".into(), "CSQU3054384".into()];
        assert_eq!(
            field_of(new_booking(create("601", vec![s]), acme.clone()).unwrap_err()),
            "stops[0].container_numbers[1]"
        );
        let mut s = stop("act");
        s.window_start = None;
        assert_eq!(
            field_of(new_booking(create("601", vec![s]), acme.clone()).unwrap_err()),
            "stops[0].window_start"
        );
        let mut s = stop("act");
        s.transaction_type = 99;
        assert_eq!(
            field_of(new_booking(create("601", vec![s]), acme.clone()).unwrap_err()),
            "stops[0].transaction_type"
        );
        assert_eq!(
            field_of(new_booking(create("601", vec![stop("ACT ZONE")]), acme.clone()).unwrap_err()),
            "stops[0].zone_id"
        );
        let mut r = create("601", vec![stop("act")]);
        r.rfid_epc = "E2".into();
        assert_eq!(field_of(new_booking(r, acme).unwrap_err()), "rfid_epc");
    }

    #[test]
    fn timestamps_round_trip_and_reject_out_of_range() {
        let t = DateTime::from_timestamp(1_800_000_000, 5).unwrap();
        assert_eq!(from_timestamp(&timestamp(t)), Some(t));
        assert!(
            required_time(
                Some(&prost_types::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0
                }),
                "x"
            )
            .is_err()
        );
        assert!(
            required_time(
                Some(&prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1
                }),
                "x"
            )
            .is_err()
        );
    }

    #[test]
    fn bookings_and_zones_round_trip_through_the_wire() {
        use bawaba_domain::calendar::SlotLength;
        let mut z = ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "ACT",
            SlotLength::from_minutes(30).unwrap(),
            WindowCapacity::uniform(7),
        );
        z.template
            .set(
                Weekday::Fri,
                3,
                WindowCapacity {
                    total: 4,
                    per_type: Some([1, 1, 1, 1, 0]),
                },
            )
            .unwrap();
        z.company_caps.insert(CompanyId::parse("acme").unwrap(), 40);
        // A gate agent refers at the closed zone's lanes, as the zone says.
        z.name_ar = "محطة الحاويات".into();
        z.when_closed = WhenClosed::Refer;
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        z.closures.push(Closure {
            id: 3,
            from: t,
            to: t + chrono::TimeDelta::hours(1),
            reason: "storm".into(),
        });
        z.next_closure_id = 4;
        // A gate agent gets the one-off capacities and the watchlist too, as they are.
        z = z
            .with_override(
                (t, t + chrono::TimeDelta::hours(2)),
                WindowCapacity::uniform(2),
                "inspection",
                t,
            )
            .unwrap();
        z.watch.push(bawaba_domain::watch::WatchEntry {
            target: bawaba_domain::watch::WatchTarget::Tag(
                bawaba_domain::epc::Epc::parse_hex("E2000017").unwrap(),
            ),
            reason: "cloned".into(),
            action: bawaba_domain::watch::WatchAction::Deny,
            until: Some(t),
            added: t,
        });
        assert_eq!(zone_config(&pb_zone(&z)).unwrap(), z);
        let mut stop = Stop::new(
            z.id.clone(),
            t,
            TransactionType::ImportPickup,
            vec![ContainerNumber::parse("CSQU3054383").unwrap()],
        );
        stop.entered_at = Some(t);
        let b = Booking {
            id: BookingId::new(t, 7),
            company: CompanyId::parse("acme").unwrap(),
            plate: Plate::parse("6012345").unwrap(),
            epc: Some(Epc::parse_hex("E2000017221101441890ABCD").unwrap()),
            stops: vec![stop],
            state: BookingState::Entered,
            idempotency_key: "k".into(),
            created_at: t,
            updated_at: t,
            entered_at: Some(t),
            exited_at: None,
            cancel_reason: None,
            revision: 3,
        };
        assert_eq!(booking(&pb_booking(&b, &[z])).unwrap(), b);
    }

    #[test]
    fn templates_parse_iso_weekdays() {
        let t = template(
            5,
            &[pb::HourCapacity {
                weekday: 5,
                hour: 12,
                capacity: 1,
                per_type: vec![],
            }],
        )
        .unwrap();
        assert_eq!(t.get(Weekday::Fri, 12).total, 1);
        assert_eq!(t.get(Weekday::Thu, 12).total, 5);
        let bad = template(
            5,
            &[pb::HourCapacity {
                weekday: 8,
                hour: 0,
                capacity: 1,
                per_type: vec![],
            }],
        )
        .unwrap_err();
        assert_eq!(field_of(bad), "hours[0].weekday");
    }
}
