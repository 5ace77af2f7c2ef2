//! A new booking in one round trip.
//!
//! The scheduler decides the booking with the domain on what it knows: the zones as cached,
//! and the truck's active bookings, its containers' holders and its idempotency key as the
//! database last told it (at first: none). `bawaba_create_booking` (migration 14) writes it
//! in one call if that is still so, or writes nothing and answers what the scheduler did not
//! know, to decide again with. Inside the call the database guards what no scheduler can see:
//! capacity, type limits and company caps (a window without room raises, and nothing is
//! written), unique keys, and the zones' configuration versions the booking was decided at.

use std::mem::take;

use bawaba_domain::audit::AuditRecord;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::{
    Booking, ChangeEntry, IdempotencyRecord, Ledger, NewBooking, Records, Touched,
};
use bawaba_store::{CreatedBooking, Error, Result};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};

use crate::db::{FORMAT, Fail, R, Zones, body, decode, describe, get};
use crate::persist::{AuditColumns, Place, first_start, jobs, limits, places, refusal};
use crate::{
    MAX_ATTEMPTS, PgStore, attempt, booking_id, not_found, outcome, random_u128, with_alternatives,
};

const CREATE: &str = "SELECT kind, booking, fingerprint, format, body FROM bawaba_create_booking(\
     $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
     $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)";
/// The function's name in the columns it answers (for errors).
const CALL: &str = "bawaba_create_booking";

/// What the database told the scheduler it did not know.
#[derive(Debug, Default)]
struct Known {
    /// The truck's active bookings and the holders of the request's containers.
    bookings: Vec<Booking>,
    /// The company's row of the request's idempotency key, with its booking.
    key: Option<(IdempotencyRecord, Option<Booking>)>,
}

/// A new booking, or the booking an earlier request with its idempotency key made.
pub async fn create(
    store: &PgStore,
    req: &NewBooking,
    now: DateTime<Utc>,
) -> Result<CreatedBooking> {
    let mut known = Known::default();
    let mut n = 1;
    loop {
        let run = outcome(once(store, req, now, &mut known));
        if let Some(done) = attempt(run, &mut n).await {
            if done.as_ref().is_ok_and(|c| !c.replayed) {
                store.commits.send_modify(|n| *n += 1);
            }
            return done;
        }
    }
}

/// Decides and calls until the booking is written, refused, or replayed; learns what the
/// database answers. Fails for a retry (with backoff) when the database says so.
async fn once(
    store: &PgStore,
    req: &NewBooking,
    now: DateTime<Utc>,
    known: &mut Known,
) -> R<CreatedBooking> {
    let c = &store.pool.get().await?;
    let (mut zones, mut fresh) = match store.zones.cached(req.stops.iter().map(|s| &s.zone)) {
        Some(zones) => (zones, false),
        None => (store.zones.load(c).await?, true),
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut ledger = Ledger::restore(Records {
            zones: zones.configs.values().cloned().collect(),
            bookings: known.bookings.clone(),
            idempotency: known.key.iter().map(|(r, _)| r.clone()).collect(),
            ..Records::default()
        });
        let created = match ledger.create(req.clone(), now, random_u128()) {
            Ok(created) => created,
            // A refusal stands on the zones as they are now, not as cached.
            Err(_) if !fresh => {
                (zones, fresh) = (store.zones.load(c).await?, true);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if created.replayed {
            let booking = known.key.as_ref().and_then(|(_, b)| b.clone());
            return Ok(CreatedBooking {
                booking: booking.ok_or_else(|| not_found(created.id))?,
                replayed: true,
            });
        }
        let booking = ledger
            .booking(created.id)
            .ok_or_else(|| not_found(created.id))?;
        let parts = Parts::of(created.touched)?;
        let args = Args::new(&zones, known, booking, &parts)?;
        let stmt = c.prepare_cached(CREATE).await?;
        match c.query(&stmt, &args.params()).await {
            Ok(rows) if rows.is_empty() => {
                return Ok(CreatedBooking {
                    booking: booking.clone(),
                    replayed: false,
                });
            }
            Ok(rows) => *known = learn(&rows, req)?,
            Err(e) => {
                let fail = failure(store, c, &zones, &args.takes, e).await;
                return with_alternatives(c, &zones, Err(fail), &req.stops, &req.company, now)
                    .await;
            }
        }
    }
    Err(Fail::Retry(format!(
        "the bookings of truck {} kept changing",
        req.plate
    )))
}

/// What the database answered instead of writing.
fn learn(rows: &[Row], req: &NewBooking) -> Result<Known> {
    let mut known = Known::default();
    for r in rows {
        let booking = match get::<Option<i16>>(r, CALL, "format")? {
            Some(_) => Some(decode::<Booking>(r, CALL)?),
            None => None,
        };
        match get::<&str>(r, CALL, "kind")? {
            "key" => {
                let record = IdempotencyRecord {
                    company: req.company.clone(),
                    key: req.idempotency_key.clone(),
                    booking: booking_id(get(r, CALL, "booking")?)?,
                    // The fingerprint's 64 bits, stored as BIGINT.
                    fingerprint: get::<i64>(r, CALL, "fingerprint")? as u64,
                };
                known.key = Some((record, booking));
            }
            _ => known.bookings.extend(booking),
        }
    }
    Ok(known)
}

/// A failed call as the request's answer: a window without room as the domain's refusal, a
/// zone reconfigured meanwhile as a retry with its configuration read again.
async fn failure(
    store: &PgStore,
    c: &impl GenericClient,
    zones: &Zones,
    takes: &[Place],
    e: tokio_postgres::Error,
) -> Fail {
    let detail = e.as_db_error().and_then(|d| d.detail()).unwrap_or_default();
    match e.code().map(|code| code.code()) {
        Some("BW001") => match detail
            .parse::<usize>()
            .ok()
            .and_then(|i| takes.get(i.checked_sub(1)?))
        {
            // Refused by the zone's limits as they are now, not as cached.
            Some(place) => match store.zones.load(c).await {
                Ok(now) if now.versions.get(&place.0) == zones.versions.get(&place.0) => {
                    refusal(c, &now, place).await
                }
                Ok(_) => Fail::Retry(format!("zone {} was reconfigured", place.0)),
                Err(f) => f,
            },
            None => Fail::Store(Error::Storage(describe(&e))),
        },
        Some("BW002") => match ZoneId::parse(detail) {
            Ok(zone) => {
                store.zones.forget(&zone);
                Fail::Retry(format!("zone {zone} was reconfigured"))
            }
            Err(_) => Fail::Store(Error::Storage(describe(&e))),
        },
        _ => e.into(),
    }
}

/// What a new booking's write holds besides the booking: its idempotency key, its
/// change-log entries (in zone order, as every writer takes the zones' heads), its company's
/// events and its audit records.
struct Parts {
    key: IdempotencyRecord,
    changes: Vec<ChangeEntry>,
    events: Vec<CompanyEvent>,
    audit: Vec<AuditRecord>,
}

impl Parts {
    /// Anything else the ledger touched is not a new booking's to write: an error.
    fn of(mut t: Touched) -> R<Self> {
        let mut changes = take(&mut t.changes);
        changes.sort_by(|a, b| a.zone.cmp(&b.zone));
        let key = take(&mut t.idempotency).pop();
        let (events, audit) = (take(&mut t.events), take(&mut t.audit));
        t.bookings.clear();
        t.windows.clear();
        match key {
            Some(key) if t.is_empty() => Ok(Parts {
                key,
                changes,
                events,
                audit,
            }),
            _ => Err(storage(&format!(
                "a new booking touched more than a booking and its key: {t:?}"
            ))),
        }
    }
}

/// The arguments of `bawaba_create_booking`.
struct Args<'a> {
    company: &'a str,
    key: &'a str,
    plate: &'a str,
    state: &'static str,
    fingerprint: i64,
    known: (Vec<Vec<u8>>, Vec<i64>),
    id: Vec<u8>,
    first_start: DateTime<Utc>,
    revision: i64,
    body: Json<&'a Booking>,
    stops: (Vec<&'a str>, Vec<DateTime<Utc>>, Vec<i16>),
    jobs: (Vec<&'a str>, Vec<i16>),
    takes: Vec<Place>,
    take_columns: TakeColumns,
    log: (Vec<&'a str>, Vec<i64>, Vec<Json<&'a ChangeEntry>>),
    events: (Vec<DateTime<Utc>>, Vec<Json<&'a CompanyEvent>>),
    audit: AuditColumns<'a>,
}

/// The places to take, as columns: zone, window, type, and the window's, type's and
/// company's limits.
type TakeColumns = (
    Vec<String>,
    Vec<DateTime<Utc>>,
    Vec<i16>,
    Vec<i64>,
    Vec<i64>,
    Vec<i64>,
);

impl<'a> Args<'a> {
    /// The call writing `booking` (made by the ledger with `parts`), decided on `known`.
    fn new(zones: &Zones, known: &Known, booking: &'a Booking, parts: &'a Parts) -> R<Self> {
        let versions = parts
            .changes
            .iter()
            .map(|e| zones.versions.get(&e.zone).copied())
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| storage("a change names a zone that was not read"))?;
        if parts.events.iter().any(|e| e.company != booking.company) {
            return Err(storage("a new booking's events name another company"));
        }
        let mut takes: Vec<Place> = places(Some(booking)).collect();
        takes.sort();
        let mut columns = TakeColumns::default();
        for place in &takes {
            let (total, of_type, cap) = limits(zones, place)?;
            columns.0.push(place.0.to_string());
            columns.1.push(place.1);
            columns.2.push(place.2.index() as i16);
            columns.3.push(total);
            columns.4.push(of_type);
            columns.5.push(cap);
        }
        let mut stops = (Vec::new(), Vec::new(), Vec::new());
        for s in &booking.stops {
            stops.0.push(s.zone.as_str());
            stops.1.push(s.window_start);
            stops.2.push(s.transaction_type.index() as i16);
        }
        Ok(Args {
            company: booking.company.as_str(),
            key: &booking.idempotency_key,
            plate: booking.plate.as_str(),
            state: booking.state.as_str(),
            // The fingerprint's 64 bits, stored as BIGINT.
            fingerprint: parts.key.fingerprint as i64,
            known: known
                .bookings
                .iter()
                .map(|b| (b.id.to_bytes().to_vec(), revision(b)))
                .unzip(),
            id: booking.id.to_bytes().to_vec(),
            first_start: first_start(booking),
            revision: revision(booking),
            body: body(booking),
            stops,
            jobs: jobs(booking),
            takes,
            take_columns: columns,
            log: (
                parts.changes.iter().map(|e| e.zone.as_str()).collect(),
                versions,
                parts.changes.iter().map(body).collect(),
            ),
            events: (
                parts.events.iter().map(|e| e.at).collect(),
                parts.events.iter().map(body).collect(),
            ),
            audit: AuditColumns::of(&parts.audit),
        })
    }

    /// The parameters, in the function's order.
    fn params(&self) -> [&(dyn ToSql + Sync); 34] {
        let t = &self.take_columns;
        let a = &self.audit;
        [
            &self.company,
            &self.key,
            &self.fingerprint,
            &self.plate,
            &self.known.0,
            &self.known.1,
            &self.id,
            &self.state,
            &self.first_start,
            &self.revision,
            &FORMAT,
            &self.body,
            &self.stops.0,
            &self.stops.1,
            &self.stops.2,
            &self.jobs.0,
            &self.jobs.1,
            &t.0,
            &t.1,
            &t.2,
            &t.3,
            &t.4,
            &t.5,
            &self.log.0,
            &self.log.1,
            &self.log.2,
            &self.events.0,
            &self.events.1,
            &a.at,
            &a.zone,
            &a.kind,
            &a.actor,
            &a.token,
            &a.body,
        ]
    }
}

fn revision(b: &Booking) -> i64 {
    i64::try_from(b.revision).unwrap_or(i64::MAX)
}

fn storage(why: &str) -> Fail {
    Fail::Store(Error::Storage(why.to_string()))
}
