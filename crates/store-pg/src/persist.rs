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
use tokio_postgres::types::ToSql;

use crate::db::{FORMAT, Fail, R, Zones, body, execute, type_column, usage};
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
type Place = (ZoneId, DateTime<Utc>, TransactionType, CompanyId);

fn places(b: Option<&Booking>) -> impl Iterator<Item = Place> + '_ {
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
    write_logs(c, &change).await
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
    for ((zone, start, t, company), n) in &delta {
        for _ in 0..n.abs() {
            if *n > 0 {
                take(c, zones, zone, *start, *t, company).await?;
            } else {
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

/// Appends audit records, numbered from `audit_head`'s one row in the same statement (its
/// lock is held until commit, so the numbers follow commit order).
async fn record_audit(c: &impl GenericClient, records: &[AuditRecord]) -> R<()> {
    if records.is_empty() {
        return Ok(());
    }
    let at: Vec<DateTime<Utc>> = records.iter().map(|r| r.at).collect();
    let zone: Vec<Option<&str>> = records
        .iter()
        .map(|r| r.zone.as_ref().map(ZoneId::as_str))
        .collect();
    let kind: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    let actor: Vec<&str> = records.iter().map(|r| r.who.name.as_str()).collect();
    let token: Vec<Option<&str>> = records.iter().map(|r| r.who.token.as_deref()).collect();
    let bodies: Vec<_> = records.iter().map(body).collect();
    let n = records.len() as i64;
    execute(
        c,
        "WITH h AS (UPDATE audit_head SET head = head + $1 RETURNING head) \
         INSERT INTO audit (seq, at, zone, kind, actor, token, format, body) \
         SELECT h.head - $1 + e.n, e.at, e.zone, e.kind, e.actor, e.token, $2, e.body \
         FROM h, unnest($3::TIMESTAMPTZ[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], \
             $8::JSONB[]) WITH ORDINALITY AS e(at, zone, kind, actor, token, body, n)",
        &[&n, &FORMAT, &at, &zone, &kind, &actor, &token, &bodies],
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

/// Takes one place, or refuses: a guarded increment of the window (total and type) and of the
/// company's places; nothing is raised past its limit, whatever runs at the same time.
async fn take(
    c: &impl GenericClient,
    zones: &Zones,
    zone: &ZoneId,
    start: DateTime<Utc>,
    t: TransactionType,
    company: &CompanyId,
) -> R<()> {
    let z = zones.get(zone)?;
    let capacity = z.capacity(start);
    let (total, of_type) = (i64::from(capacity.total), i64::from(capacity.for_type(t)));
    let cap = i64::from(z.company_cap(company, capacity.total));
    let col = type_column(t);
    // The window's total and type guard, then the company's; both or neither.
    let sql = format!(
        "WITH w AS (\
             INSERT INTO window_usage (zone, window_start, booked, {col}) \
             SELECT $1::TEXT, $2::TIMESTAMPTZ, 1, 1 WHERE $3::BIGINT > 0 AND $4::BIGINT > 0 \
             ON CONFLICT (zone, window_start) DO UPDATE \
             SET booked = window_usage.booked + 1, {col} = window_usage.{col} + 1 \
             WHERE window_usage.booked < $3 AND window_usage.{col} < $4 RETURNING 1) \
         INSERT INTO company_usage (zone, window_start, company, held) \
         SELECT $1, $2, $5::TEXT, 1 FROM w WHERE $6::BIGINT > 0 \
         ON CONFLICT (zone, window_start, company) DO UPDATE \
         SET held = company_usage.held + 1 WHERE company_usage.held < $6"
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &zone.as_str(),
        &start,
        &total,
        &of_type,
        &company.as_str(),
        &cap,
    ];
    let took = execute(c, &sql, &params).await? == 1;
    if took {
        return Ok(());
    }
    // Why, as the domain words it (alternatives are the caller's to add).
    let used = usage(c, zone, start, start, Some(company)).await?;
    match room_error(z, start, t, company, used.get(&start)) {
        Some(e) => Err(e.into()),
        // Room was freed since the guarded update looked.
        None => Err(Fail::Retry(format!("window {start} of {zone} changed"))),
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

/// Inserts a new booking, or updates one that was loaded (and locked) at `old`'s revision.
async fn write_booking(c: &impl GenericClient, b: &Booking, old: Option<&Booking>) -> R<()> {
    let id = b.id.to_bytes();
    let first = b.stops.first().map_or(b.created_at, |s| s.window_start);
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
    for s in &b.stops {
        for container in &s.containers {
            let kind = s.transaction_type.index() as i16;
            execute(c, sql, &[&container.as_str(), &kind, &&id[..]]).await?;
        }
    }
    Ok(())
}

/// Appends company events. Each company's numbers come from its `company_heads` row,
/// created or moved on in the same statement and held until commit: a company's events commit
/// in number order, so a follower never sees event N+1 before N.
async fn log_events(c: &impl GenericClient, events: &[CompanyEvent]) -> R<()> {
    let mut by_company: BTreeMap<&CompanyId, Vec<&CompanyEvent>> = BTreeMap::new();
    for e in events {
        by_company.entry(&e.company).or_default().push(e);
    }
    for (company, events) in by_company {
        let n = events.len() as i64;
        let at: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
        let bodies: Vec<_> = events.iter().map(|e| body(*e)).collect();
        execute(
            c,
            "WITH head AS (\
                 INSERT INTO company_heads (company, seq) VALUES ($1, $2) \
                 ON CONFLICT (company) DO UPDATE SET seq = company_heads.seq + EXCLUDED.seq \
                 RETURNING seq) \
             INSERT INTO company_events (company, seq, at, format, body) \
             SELECT $1, head.seq - $2 + e.n, e.at, $3, \
                 jsonb_set(e.body, '{seq}', to_jsonb(head.seq - $2 + e.n)) \
             FROM head, unnest($4::TIMESTAMPTZ[], $5::JSONB[]) WITH ORDINALITY AS e(at, body, n)",
            &[&company.as_str(), &n, &FORMAT, &at, &bodies],
        )
        .await?;
    }
    Ok(())
}

/// Appends change-log entries. Each zone's sequence numbers come from its row, updated in
/// the same statement and held until commit: the zone's changes commit in sequence order, so
/// a follower never sees change N+1 before N. A zone whose configuration changed since it was
/// read (its version moved; by one when this transaction wrote it, as a closure that cancels
/// bookings does) sends the transaction round again.
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
        let n = entries.len() as i64;
        let ids: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| e.booking.id.to_bytes().to_vec())
            .collect();
        let bodies: Vec<_> = entries.iter().map(|e| body(*e)).collect();
        let logged = execute(
            c,
            "WITH head AS (\
                 UPDATE zones SET seq = seq + $2 WHERE id = $1 AND version = $3 RETURNING seq) \
             INSERT INTO change_log (zone, seq, booking, format, body) \
             SELECT $1, head.seq - $2 + e.n, e.booking, $4, \
                 jsonb_set(e.body, '{seq}', to_jsonb(head.seq - $2 + e.n)) \
             FROM head, unnest($5::BYTEA[], $6::JSONB[]) WITH ORDINALITY AS e(booking, body, n)",
            &[&zone.as_str(), &n, &version, &FORMAT, &ids, &bodies],
        )
        .await?;
        if logged != entries.len() as u64 {
            return Err(Fail::Retry(format!("zone {zone} was reconfigured")));
        }
    }
    Ok(())
}
