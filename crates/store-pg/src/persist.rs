//! Writes what a mutation touched, inside its transaction.
//!
//! The domain's [`Ledger`] applied the mutation to the records the transaction loaded (and
//! locked); this writes the result. What the ledger could not check, because it saw only those
//! records, the database enforces here: capacity, per-type limits and company caps by guarded
//! updates, unique keys, and the order of each zone's change log.

use std::collections::BTreeMap;

use bawaba_domain::audit::AuditRecord;
use bawaba_domain::calendar::TransactionType;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::ids::{BookingId, CompanyId, PassageId, ZoneId};
use bawaba_domain::ledger::{Booking, ChangeEntry, Ledger, Touched};
use bawaba_domain::notify::Delivery;
use bawaba_domain::passage::ReferralState;
use bawaba_store::Error;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};

use crate::db::{FORMAT, Fail, R, Zones, body, execute, get, query, type_column, usage};
use bawaba_domain::rules::room_error;

/// One mutation's result, to be written.
#[derive(Debug)]
pub struct Change<'a> {
    /// The scratch ledger after the mutation.
    pub ledger: &'a Ledger,
    pub touched: &'a Touched,
    /// The bookings as loaded, before the mutation (new bookings are absent).
    pub before: &'a BTreeMap<BookingId, Booking>,
    /// The zones the mutation was decided with, at the versions read.
    pub zones: &'a Zones,
}

/// A place in a window: what capacity counts.
pub type Place = (ZoneId, DateTime<Utc>, TransactionType, CompanyId);

pub fn places(b: Option<&Booking>) -> impl Iterator<Item = Place> + '_ {
    b.filter(|b| b.state.holds_capacity())
        .into_iter()
        .flat_map(|b| {
            b.stops.iter().map(|s| {
                (
                    s.zone.clone(),
                    s.window_start,
                    s.transaction_type,
                    b.company.clone(),
                )
            })
        })
}

/// Writes everything `change` touched. Rows are locked in one global order: the loader's
/// booking and truck rows, new unique keys, windows and their company rows by zone and start,
/// zone rows by id; so writers do not deadlock. Contended rows are held from their statement
/// to the commit: they come last.
pub async fn persist(c: &impl GenericClient, change: &Change<'_>) -> R<()> {
    let Change {
        ledger, touched, ..
    } = change;
    write_bookings(c, change).await?;
    write_gates(c, ledger, touched).await?;
    write_zones(c, ledger, touched).await?;
    // The contended rows last, so they are held as briefly as possible: places taken and
    // released, then the zones' change-log heads.
    take_places(c, change).await?;
    write_logs(c, change).await
}

/// Writes every record `touched` names into an empty database, in an order its foreign keys
/// accept (zones first); the window and company counters are counted from the bookings.
pub async fn import(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    write_zones(c, ledger, touched).await?;
    // As if read before they were written: version 0, which writing moved on by one.
    let zones = Zones {
        configs: ledger.zones().map(|z| (z.id.clone(), z.clone())).collect(),
        versions: ledger.zones().map(|z| (z.id.clone(), 0)).collect(),
    };
    let change = Change {
        ledger,
        touched,
        before: &BTreeMap::new(),
        zones: &zones,
    };
    write_gates(c, ledger, touched).await?;
    write_bookings(c, &change).await?;
    execute(c, crate::REFILL_WINDOWS, &[]).await?;
    execute(c, crate::REFILL_COMPANIES, &[]).await?;
    write_logs(c, &change).await?;
    // Numbered in the order written: the export's numbers.
    query(c, crate::SEQUENCE, &[]).await?;
    Ok(())
}

/// The bookings (with their stops and containers), idempotency keys and referrals touched.
async fn write_bookings(c: &impl GenericClient, change: &Change<'_>) -> R<()> {
    let Change {
        ledger,
        touched,
        before,
        ..
    } = change;
    for id in &touched.bookings {
        let b = ledger.booking(*id).ok_or_else(|| missing("booking", id))?;
        write_booking(c, b, before.get(id)).await?;
    }
    for r in &touched.idempotency {
        execute(
            c,
            "INSERT INTO idempotency (company, key, booking, fingerprint) VALUES ($1, $2, $3, $4)",
            &[
                &r.company.as_str(),
                &r.key,
                &&r.booking.to_bytes()[..],
                // The fingerprint's 64 bits, stored as BIGINT.
                &(r.fingerprint as i64),
            ],
        )
        .await?;
    }
    for id in &touched.referrals {
        let r = ledger
            .referral(*id)
            .ok_or_else(|| missing("referral", id))?;
        execute(
            c,
            "INSERT INTO referrals (id, zone, state, format, body) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, format = EXCLUDED.format, \
             body = EXCLUDED.body",
            &[
                &&id.to_bytes()[..],
                &r.passage.zone.as_str(),
                &referral_state(r.state),
                &FORMAT,
                &body(r),
            ],
        )
        .await?;
    }
    Ok(())
}

/// The gates and the gates' report marks touched.
async fn write_gates(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    for id in &touched.gates {
        let g = ledger.gate(id)?;
        execute(
            c,
            "INSERT INTO gates (id, zone, format, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET zone = EXCLUDED.zone, format = EXCLUDED.format, \
             body = EXCLUDED.body",
            &[&id.as_str(), &g.zone.as_str(), &FORMAT, &body(g)],
        )
        .await?;
    }
    for id in &touched.reports {
        let Some(through) = ledger.reported().get(id) else {
            continue;
        };
        execute(
            c,
            "INSERT INTO reported (gate_id, through) VALUES ($1, $2) ON CONFLICT (gate_id) \
             DO UPDATE SET through = GREATEST(reported.through, EXCLUDED.through)",
            &[&id.as_str(), through],
        )
        .await?;
    }
    Ok(())
}

/// The zone configurations touched.
async fn write_zones(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    for id in &touched.zones {
        let cfg = ledger.zone(id)?;
        execute(
            c,
            "INSERT INTO zones (id, format, config) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET format = EXCLUDED.format, config = EXCLUDED.config, \
             version = zones.version + 1",
            &[&id.as_str(), &FORMAT, &body(cfg)],
        )
        .await?;
    }
    Ok(())
}

/// The places the touched bookings took (+) and released (-), in lock order.
async fn take_places(c: &impl GenericClient, change: &Change<'_>) -> R<()> {
    let Change {
        ledger,
        touched,
        before,
        zones,
    } = change;
    let mut delta: BTreeMap<Place, i64> = BTreeMap::new();
    for id in &touched.bookings {
        for p in places(before.get(id)) {
            *delta.entry(p).or_default() -= 1;
        }
        for p in places(ledger.booking(*id)) {
            *delta.entry(p).or_default() += 1;
        }
    }
    for (place, n) in &delta {
        for _ in 0..n.abs() {
            if *n > 0 {
                take(c, zones, place).await?;
            } else {
                let (zone, start, t, company) = place;
                release(c, zone, *start, *t, company).await?;
            }
        }
    }
    Ok(())
}

/// The logs: zones' changes, company events, webhooks and deliveries, texts, accounts,
/// passages and the audit trail.
async fn write_logs(c: &impl GenericClient, change: &Change<'_>) -> R<()> {
    let Change {
        ledger,
        touched,
        zones,
        ..
    } = change;
    log_changes(c, touched, zones).await?;
    log_events(c, &touched.events).await?;
    write_webhooks(c, ledger, touched).await?;
    write_texts(c, ledger, touched).await?;
    write_accounts(c, ledger, touched).await?;
    record_passages(c, ledger, &touched.passages).await?;
    record_audit(c, &touched.audit).await
}

/// Writes the webhooks and fleet trucks `touched` names as the ledger now has them
/// (removed: deleted), and the delivery attempts it made.
async fn write_webhooks(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    for company in &touched.webhooks {
        match ledger.webhook(company) {
            Some(pair) => {
                execute(
                    c,
                    "INSERT INTO webhooks (company, format, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (company) DO UPDATE SET format = EXCLUDED.format, \
                     body = EXCLUDED.body",
                    &[&company.as_str(), &FORMAT, &body(pair)],
                )
                .await?
            }
            None => {
                execute(
                    c,
                    "DELETE FROM webhooks WHERE company = $1",
                    &[&company.as_str()],
                )
                .await?
            }
        };
    }
    for (company, plate) in &touched.fleet {
        match ledger.fleet_truck(company, plate) {
            Some(t) => {
                execute(
                    c,
                    "INSERT INTO fleet (company, plate, format, body) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (company, plate) DO UPDATE SET format = EXCLUDED.format, \
                     body = EXCLUDED.body",
                    &[&company.as_str(), &plate.as_str(), &FORMAT, &body(t)],
                )
                .await?
            }
            None => {
                execute(
                    c,
                    "DELETE FROM fleet WHERE company = $1 AND plate = $2",
                    &[&company.as_str(), &plate.as_str()],
                )
                .await?
            }
        };
    }
    for d in &touched.deliveries {
        record_attempt(c, "webhook_deliveries", d, &body(d)).await?;
    }
    Ok(())
}

/// Writes the accounts and sessions `touched` names as the ledger now has them (ended
/// sessions: deleted).
async fn write_accounts(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    for login in &touched.accounts {
        if let Some(a) = ledger.account(login) {
            execute(
                c,
                "INSERT INTO accounts (login, company, format, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (login) DO UPDATE SET format = EXCLUDED.format, \
                 body = EXCLUDED.body",
                &[&login.as_str(), &a.company.as_str(), &FORMAT, &body(a)],
            )
            .await?;
        }
    }
    for id in &touched.sessions {
        match ledger.session(id) {
            Some(s) => {
                execute(
                    c,
                    "INSERT INTO sessions (id, login, format, body) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO NOTHING",
                    &[id, &s.login.as_str(), &FORMAT, &body(s)],
                )
                .await?
            }
            None => execute(c, "DELETE FROM sessions WHERE id = $1", &[id]).await?,
        };
    }
    Ok(())
}

/// Inserts an attempt (`d`, stored as `value`) into `table` (a repeat changes nothing).
async fn record_attempt(
    c: &impl GenericClient,
    table: &str,
    d: &Delivery,
    value: &(dyn ToSql + Sync),
) -> R<()> {
    let sql = format!(
        "INSERT INTO {table} (company, seq, attempt, at, format, body) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
    );
    execute(
        c,
        &sql,
        &[
            &d.company.as_str(),
            &i64::try_from(d.seq).unwrap_or(i64::MAX),
            &i32::try_from(d.attempt).unwrap_or(i32::MAX),
            &d.at,
            &FORMAT,
            value,
        ],
    )
    .await?;
    Ok(())
}

/// Writes the SMS progress `touched` names, the SMS attempts it made and the reminders'
/// mark when it moved.
async fn write_texts(c: &impl GenericClient, ledger: &Ledger, touched: &Touched) -> R<()> {
    for company in &touched.sms {
        if let Some(progress) = ledger.sms_progress_of(company) {
            execute(
                c,
                "INSERT INTO sms_progress (company, format, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (company) DO UPDATE SET format = EXCLUDED.format, \
                 body = EXCLUDED.body",
                &[&company.as_str(), &FORMAT, &body(&(company, progress))],
            )
            .await?;
        }
    }
    for t in &touched.texts {
        record_attempt(c, "sms_texts", &t.delivery, &body(t)).await?;
    }
    if let Some(mark) = ledger.reminded_through().filter(|_| touched.reminded) {
        execute(
            c,
            "INSERT INTO marks (name, at) VALUES ('reminders', $1) \
             ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at",
            &[&mark],
        )
        .await?;
    }
    Ok(())
}

/// Audit records as the columns `bawaba_record_audit` takes.
pub struct AuditColumns<'a> {
    pub at: Vec<DateTime<Utc>>,
    pub zone: Vec<Option<&'a str>>,
    pub kind: Vec<&'a str>,
    pub actor: Vec<&'a str>,
    pub token: Vec<Option<&'a str>>,
    pub body: Vec<Json<&'a AuditRecord>>,
}

impl<'a> AuditColumns<'a> {
    pub fn of(records: &'a [AuditRecord]) -> Self {
        AuditColumns {
            at: records.iter().map(|r| r.at).collect(),
            zone: records
                .iter()
                .map(|r| r.zone.as_ref().map(ZoneId::as_str))
                .collect(),
            kind: records.iter().map(|r| r.kind.as_str()).collect(),
            actor: records.iter().map(|r| r.who.name.as_str()).collect(),
            token: records.iter().map(|r| r.who.token.as_deref()).collect(),
            body: records.iter().map(body).collect(),
        }
    }
}

/// Appends audit records, numbered from `audit_head`'s one row in the same statement (its
/// lock is held until commit, so the numbers follow commit order).
async fn record_audit(c: &impl GenericClient, records: &[AuditRecord]) -> R<()> {
    if records.is_empty() {
        return Ok(());
    }
    let a = AuditColumns::of(records);
    query(
        c,
        "SELECT bawaba_record_audit($1, $2, $3, $4, $5, $6, $7)",
        &[
            &FORMAT, &a.at, &a.zone, &a.kind, &a.actor, &a.token, &a.body,
        ],
    )
    .await?;
    Ok(())
}

/// Inserts new passages with their recording numbers, taken from `passage_log`'s one row in
/// the same statement. Its lock is held until commit (it comes last): the numbers commit in
/// order, so a follower that has seen number N never finds one below N later. The numbers
/// the ledger gave are only an order here.
async fn record_passages(
    c: &impl GenericClient,
    ledger: &Ledger,
    new: &[(u64, PassageId)],
) -> R<()> {
    if new.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(new.len());
    let mut zones = Vec::with_capacity(new.len());
    let mut bookings = Vec::with_capacity(new.len());
    let mut bodies = Vec::with_capacity(new.len());
    for (_, id) in new {
        let p = ledger.passage(*id).ok_or_else(|| missing("passage", id))?;
        ids.push(id.to_bytes().to_vec());
        zones.push(p.zone.as_str());
        bookings.push(p.booking.map(|b| b.to_bytes().to_vec()));
        bodies.push(body(p));
    }
    let n = new.len() as i64;
    execute(
        c,
        "WITH log AS (UPDATE passage_log SET head = head + $1 RETURNING head) \
         INSERT INTO passages (id, zone, booking, format, body, recorded) \
         SELECT e.id, e.zone, e.booking, $2, e.body, log.head - $1 + e.n \
         FROM log, unnest($3::BYTEA[], $4::TEXT[], $5::BYTEA[], $6::JSONB[]) \
             WITH ORDINALITY AS e(id, zone, booking, body, n)",
        &[&n, &FORMAT, &ids, &zones, &bookings, &bodies],
    )
    .await?;
    Ok(())
}

/// The state as stored in `referrals.state`.
pub fn referral_state(s: ReferralState) -> &'static str {
    match s {
        ReferralState::Open => "OPEN",
        ReferralState::Approved => "APPROVED",
        ReferralState::Rejected => "REJECTED",
    }
}

fn missing(what: &str, id: &impl std::fmt::Display) -> Fail {
    Fail::Store(Error::Storage(format!(
        "the ledger touched {what} {id} but does not hold it"
    )))
}

/// The limits a place is taken under: the window's total and the type's places, and the
/// company's cap (`bawaba_take`'s guards).
pub fn limits(zones: &Zones, place: &Place) -> Result<(i64, i64, i64), Error> {
    let (zone, start, t, company) = place;
    let z = zones.get(zone)?;
    let capacity = z.capacity(*start);
    Ok((
        i64::from(capacity.total),
        i64::from(capacity.for_type(*t)),
        i64::from(z.company_cap(company, capacity.total)),
    ))
}

/// Takes one place, or refuses: `bawaba_take`'s guarded increments of the window (total and
/// type) and of the company's places; nothing is raised past its limit, whatever runs at
/// the same time.
async fn take(c: &impl GenericClient, zones: &Zones, place: &Place) -> R<()> {
    let (total, of_type, cap) = limits(zones, place)?;
    let (zone, start, t, company) = place;
    let rows = query(
        c,
        "SELECT bawaba_take($1, $2, $3, $4, $5, $6, $7)",
        &[
            &zone.as_str(),
            start,
            &(t.index() as i16),
            &total,
            &of_type,
            &company.as_str(),
            &cap,
        ],
    )
    .await?;
    match rows.first().map(|r| r.try_get::<_, bool>(0)) {
        Some(Ok(true)) => Ok(()),
        _ => Err(refusal(c, zones, place).await),
    }
}

/// Why a place could not be taken, as the domain words it (alternatives are the caller's to
/// add); to run again when the window has room after all (freed since the guard looked).
pub async fn refusal(c: &impl GenericClient, zones: &Zones, place: &Place) -> Fail {
    let (zone, start, t, company) = place;
    let z = match zones.get(zone) {
        Ok(z) => z,
        Err(e) => return e.into(),
    };
    let used = match usage(c, zone, *start, *start, Some(company)).await {
        Ok(used) => used,
        Err(f) => return f,
    };
    match room_error(z, *start, *t, company, used.get(start)) {
        Some(e) => e.into(),
        None => Fail::Retry(format!("window {start} of {zone} changed")),
    }
}

/// Gives one place back.
async fn release(
    c: &impl GenericClient,
    zone: &ZoneId,
    start: DateTime<Utc>,
    t: TransactionType,
    company: &CompanyId,
) -> R<()> {
    let col = type_column(t);
    let sql = format!(
        "WITH w AS (\
             UPDATE window_usage SET booked = booked - 1, {col} = {col} - 1 \
             WHERE zone = $1 AND window_start = $2 RETURNING 1) \
         UPDATE company_usage SET held = held - 1 \
         WHERE zone = $1 AND window_start = $2 AND company = $3 AND EXISTS (SELECT 1 FROM w)"
    );
    let released = execute(c, &sql, &[&zone.as_str(), &start, &company.as_str()]).await? == 1;
    if released {
        Ok(())
    } else {
        Err(Fail::Store(Error::Corrupt {
            key: format!("window_usage {zone} {start} {company}"),
            reason: "a booking holds a place its window's counters do not count".into(),
        }))
    }
}

/// What `bookings.first_start` holds: the first stop's window (the creation time of a booking
/// without stops).
pub fn first_start(b: &Booking) -> DateTime<Utc> {
    b.stops.first().map_or(b.created_at, |s| s.window_start)
}

/// A booking's jobs as `booking_containers` columns: each container with its transaction
/// type's index.
pub fn jobs(b: &Booking) -> (Vec<&str>, Vec<i16>) {
    b.stops
        .iter()
        .flat_map(|s| {
            let kind = s.transaction_type.index() as i16;
            s.containers.iter().map(move |c| (c.as_str(), kind))
        })
        .unzip()
}

/// Inserts a new booking, or updates one that was loaded (and locked) at `old`'s revision.
async fn write_booking(c: &impl GenericClient, b: &Booking, old: Option<&Booking>) -> R<()> {
    let id = b.id.to_bytes();
    let first = first_start(b);
    let revision = i64::try_from(b.revision).unwrap_or(i64::MAX);
    let Some(old) = old else {
        execute(
            c,
            "INSERT INTO bookings (id, company, plate, state, first_start, revision, format, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &&id[..],
                &b.company.as_str(),
                &b.plate.as_str(),
                &b.state.as_str(),
                &first,
                &revision,
                &FORMAT,
                &body(b),
            ],
        )
        .await?;
        for (i, s) in b.stops.iter().enumerate() {
            execute(
                c,
                "INSERT INTO booking_stops (booking, idx, zone, window_start, kind) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &&id[..],
                    &(i as i16),
                    &s.zone.as_str(),
                    &s.window_start,
                    &(s.transaction_type.index() as i16),
                ],
            )
            .await?;
        }
        return hold_containers(c, b, false).await;
    };
    let updated = execute(
        c,
        "UPDATE bookings SET state = $2, first_start = $3, revision = $4, format = $5, body = $6 \
         WHERE id = $1 AND revision = $7",
        &[
            &&id[..],
            &b.state.as_str(),
            &first,
            &revision,
            &FORMAT,
            &body(b),
            &i64::try_from(old.revision).unwrap_or(i64::MAX),
        ],
    )
    .await?;
    if updated != 1 {
        return Err(Fail::Retry(format!("booking {} changed", b.id)));
    }
    match (old.state.is_active(), b.state.is_active()) {
        (true, false) => {
            execute(
                c,
                "DELETE FROM booking_containers WHERE booking = $1",
                &[&&id[..]],
            )
            .await?;
        }
        // A no-show taken back: its jobs again, unless another booking took them meanwhile.
        (false, true) => hold_containers(c, b, true).await?,
        _ => {}
    }
    for (i, (s, o)) in b.stops.iter().zip(&old.stops).enumerate() {
        if (&s.zone, s.window_start) != (&o.zone, o.window_start) {
            execute(
                c,
                "UPDATE booking_stops SET zone = $3, window_start = $4 \
                 WHERE booking = $1 AND idx = $2",
                &[&&id[..], &(i as i16), &s.zone.as_str(), &s.window_start],
            )
            .await?;
        }
    }
    Ok(())
}

/// Records the containers of `b`, active, as its jobs: a new booking's conflicting with
/// another's is a unique violation (the transaction runs again and the ledger, now holding
/// the other booking, refuses it); `yield_taken` leaves one another booking holds.
async fn hold_containers(c: &impl GenericClient, b: &Booking, yield_taken: bool) -> R<()> {
    if !b.state.is_active() {
        return Ok(());
    }
    let id = b.id.to_bytes();
    let sql = if yield_taken {
        "INSERT INTO booking_containers (container, kind, booking) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING"
    } else {
        "INSERT INTO booking_containers (container, kind, booking) VALUES ($1, $2, $3)"
    };
    let (containers, kinds) = jobs(b);
    for (container, kind) in containers.iter().zip(&kinds) {
        execute(c, sql, &[container, kind, &&id[..]]).await?;
    }
    Ok(())
}

/// Appends company events, numbered after commit by `bawaba_sequence` (from each company's
/// `company_heads` row, in the order appended).
async fn log_events(c: &impl GenericClient, events: &[CompanyEvent]) -> R<()> {
    let mut by_company: BTreeMap<&CompanyId, Vec<&CompanyEvent>> = BTreeMap::new();
    for e in events {
        by_company.entry(&e.company).or_default().push(e);
    }
    for (company, events) in by_company {
        let at: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
        let bodies: Vec<_> = events.iter().map(|e| body(*e)).collect();
        query(
            c,
            "SELECT bawaba_log_events($1, $2, $3, $4)",
            &[&company.as_str(), &FORMAT, &at, &bodies],
        )
        .await?;
    }
    Ok(())
}

/// Appends change-log entries, numbered after commit by `bawaba_sequence` (from each zone's
/// row, in the order appended: a follower never sees change N+1 before N). The zone's row is
/// held FOR KEY SHARE until commit, so a configuration change waits for this transaction; a
/// zone whose configuration changed since it was read (its version moved; by one when this
/// transaction wrote it, as a closure that cancels bookings does) sends the transaction round
/// again.
async fn log_changes(c: &impl GenericClient, touched: &Touched, zones: &Zones) -> R<()> {
    let mut by_zone: BTreeMap<&ZoneId, Vec<&ChangeEntry>> = BTreeMap::new();
    for e in &touched.changes {
        by_zone.entry(&e.zone).or_default().push(e);
    }
    for (zone, entries) in by_zone {
        let read = zones
            .versions
            .get(zone)
            .ok_or_else(|| missing("zone", zone))?;
        let version = read + i64::from(touched.zones.contains(zone));
        let ids: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| e.booking.id.to_bytes().to_vec())
            .collect();
        let bodies: Vec<_> = entries.iter().map(|e| body(*e)).collect();
        let rows = query(
            c,
            "SELECT bawaba_log_changes($1, $2, $3, $4, $5)",
            &[&zone.as_str(), &version, &FORMAT, &ids, &bodies],
        )
        .await?;
        let logged: i64 = match rows.first() {
            Some(r) => get(r, "change_log", "bawaba_log_changes")?,
            None => 0,
        };
        if logged != entries.len() as i64 {
            return Err(Fail::Retry(format!("zone {zone} was reconfigured")));
        }
    }
    Ok(())
}
