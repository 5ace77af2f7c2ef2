//! Statements, stored values, the zone cache, and failures sorted into "run it again" and
//! "answer with this".

use std::collections::BTreeMap;
use std::sync::RwLock;

use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{Booking, WindowUsage};
use bawaba_store::Error;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};

/// Version of the stored JSON bodies (the `format` columns). Bump it (and read the old one)
/// when a stored type changes shape.
pub const FORMAT: i16 = 1;

/// Why a transaction did not go through.
#[derive(Debug)]
pub enum Fail {
    /// Worth running again: a serialization failure or deadlock, a lost race on a unique key,
    /// or a zone whose configuration changed under the transaction.
    Retry(String),
    /// The answer.
    Store(Error),
}

pub type R<T> = Result<T, Fail>;

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        let retry = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::UNIQUE_VIOLATION,
        ];
        match e.code() {
            Some(code) if retry.contains(code) => Fail::Retry(describe(&e)),
            _ => Fail::Store(Error::Storage(describe(&e))),
        }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Store(e)
    }
}

impl From<bawaba_domain::Error> for Fail {
    fn from(e: bawaba_domain::Error) -> Self {
        Fail::Store(Error::Domain(e))
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail::Store(Error::Storage(format!("no database connection: {e}")))
    }
}

/// The store's error for a failure that is not retried (any more).
pub fn error(f: impl Into<Fail>) -> Error {
    match f.into() {
        Fail::Store(e) => e,
        Fail::Retry(why) => Error::Storage(why),
    }
}

/// The server's message and SQLSTATE when there is one (tokio-postgres only says "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    }
}

/// Runs a statement (prepared once per connection) and returns its rows.
pub async fn query(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// Runs a statement (prepared once per connection) and returns how many rows it changed.
pub async fn execute(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> R<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

/// A column, or `Corrupt` naming the table and column.
pub fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    table: &str,
    column: &str,
) -> Result<T, Error> {
    row.try_get(column).map_err(|e| Error::Corrupt {
        key: format!("{table}.{column}"),
        reason: e.to_string(),
    })
}

/// The value stored in a row's `format` and `body` columns.
pub fn decode<T: DeserializeOwned>(row: &Row, table: &str) -> Result<T, Error> {
    match get::<i16>(row, table, "format")? {
        FORMAT => Ok(get::<Json<T>>(row, table, "body")?.0),
        v => Err(Error::Corrupt {
            key: format!("{table}.body"),
            reason: format!("unknown format version {v}"),
        }),
    }
}

/// Every value a row selected by `sql` holds in `format` and `body`.
pub async fn values<T: DeserializeOwned>(
    c: &impl GenericClient,
    table: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R<Vec<T>> {
    let rows = query(c, sql, params).await?;
    Ok(rows
        .iter()
        .map(|r| decode(r, table))
        .collect::<Result<_, _>>()?)
}

/// Bookings selected by `sql` (which selects `format, body FROM bookings`).
pub async fn bookings(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R<Vec<Booking>> {
    values(c, "bookings", sql, params).await
}

/// A value as a JSON body parameter.
pub fn body<T: Serialize>(value: &T) -> Json<&T> {
    Json(value)
}

/// The `window_usage` column of each transaction type, in [`TransactionType::ALL`] order.
pub const TYPE_COLUMNS: [&str; 5] = [
    "import_pickup",
    "export_dropoff",
    "empty_return",
    "empty_pickup",
    "general_cargo",
];

pub fn type_column(t: TransactionType) -> &'static str {
    TYPE_COLUMNS[t.index()]
}

/// The usage of `zone`'s windows starting in `[from, to]`, with the places `company` holds.
pub async fn usage(
    c: &impl GenericClient,
    zone: &ZoneId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    company: Option<&CompanyId>,
) -> R<BTreeMap<DateTime<Utc>, WindowUsage>> {
    let sql = format!(
        "SELECT window_start, booked, {} FROM window_usage \
         WHERE zone = $1 AND window_start >= $2 AND window_start <= $3",
        TYPE_COLUMNS.join(", ")
    );
    let mut out = BTreeMap::new();
    for row in query(c, &sql, &[&zone.as_str(), &from, &to]).await? {
        let count = |i: usize| -> Result<u32, Error> {
            let n: i64 = row.try_get(i).map_err(|e| Error::Corrupt {
                key: "window_usage".into(),
                reason: e.to_string(),
            })?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        let mut u = WindowUsage {
            booked: count(1)?,
            ..WindowUsage::default()
        };
        for (t, n) in u.per_type.iter_mut().enumerate() {
            *n = count(2 + t)?;
        }
        out.insert(get(&row, "window_usage", "window_start")?, u);
    }
    if let Some(company) = company {
        let rows = query(
            c,
            "SELECT window_start, held FROM company_usage \
             WHERE zone = $1 AND company = $2 AND window_start >= $3 AND window_start <= $4",
            &[&zone.as_str(), &company.as_str(), &from, &to],
        )
        .await?;
        for row in rows {
            let held: i64 = get(&row, "company_usage", "held")?;
            out.entry(get(&row, "company_usage", "window_start")?)
                .or_default()
                .per_company
                .insert(company.clone(), u32::try_from(held).unwrap_or(u32::MAX));
        }
    }
    Ok(out)
}

/// The zones as read: configurations and the version each was read at.
#[derive(Debug, Clone, Default)]
pub struct Zones {
    pub configs: BTreeMap<ZoneId, ZoneConfig>,
    pub versions: BTreeMap<ZoneId, i64>,
}

impl Zones {
    pub fn get(&self, id: &ZoneId) -> Result<&ZoneConfig, Error> {
        self.configs.get(id).ok_or_else(|| {
            Error::Domain(bawaba_domain::Error::NotFound {
                what: "zone",
                id: id.to_string(),
            })
        })
    }
}

/// Zone configurations by version, so that a transaction reads only the versions (a few
/// bytes a zone) unless a configuration changed.
#[derive(Debug, Default)]
pub struct ZoneCache(RwLock<BTreeMap<ZoneId, (i64, ZoneConfig)>>);

impl ZoneCache {
    /// The zones as last read, without asking the database, when they include every one of
    /// `ids`. A write decided with them must check the versions it was decided at (the
    /// change-log heads do).
    pub fn cached<'a>(&self, mut ids: impl Iterator<Item = &'a ZoneId>) -> Option<Zones> {
        let cached = self.0.read().unwrap_or_else(|e| e.into_inner());
        if !ids.all(|id| cached.contains_key(id)) {
            return None;
        }
        let mut zones = Zones::default();
        for (id, (version, cfg)) in cached.iter() {
            zones.versions.insert(id.clone(), *version);
            zones.configs.insert(id.clone(), cfg.clone());
        }
        Some(zones)
    }

    /// Forgets `id`'s configuration (it changed): the next [`ZoneCache::cached`] naming it
    /// answers `None`.
    pub fn forget(&self, id: &ZoneId) {
        let mut cached = self.0.write().unwrap_or_else(|e| e.into_inner());
        cached.remove(id);
    }

    /// The zones as they are now.
    pub async fn load(&self, c: &impl GenericClient) -> R<Zones> {
        let heads = query(c, "SELECT id, version FROM zones", &[]).await?;
        let mut stale = Vec::new();
        let mut ids = Vec::with_capacity(heads.len());
        {
            let cached = self.0.read().unwrap_or_else(|e| e.into_inner());
            for row in &heads {
                let id: String = get(row, "zones", "id")?;
                let version: i64 = get(row, "zones", "version")?;
                let id = zone_id(&id)?;
                if cached.get(&id).is_none_or(|(v, _)| *v != version) {
                    stale.push(id.to_string());
                }
                ids.push(id);
            }
        }
        if !stale.is_empty() {
            let rows = query(
                c,
                "SELECT id, version, format, config AS body FROM zones WHERE id = ANY($1)",
                &[&stale],
            )
            .await?;
            let mut cached = self.0.write().unwrap_or_else(|e| e.into_inner());
            for row in &rows {
                let cfg: ZoneConfig = decode(row, "zones")?;
                cached.insert(cfg.id.clone(), (get(row, "zones", "version")?, cfg));
            }
        }
        let cached = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut zones = Zones::default();
        for id in ids {
            if let Some((version, cfg)) = cached.get(&id) {
                zones.versions.insert(id.clone(), *version);
                zones.configs.insert(id, cfg.clone());
            }
        }
        Ok(zones)
    }
}

fn zone_id(raw: &str) -> Result<ZoneId, Error> {
    ZoneId::parse(raw).map_err(|e| Error::Corrupt {
        key: "zones.id".into(),
        reason: e.to_string(),
    })
}

/// Locks a zone's row for a configuration change and puts its current configuration into
/// `zones` (a zone not stored yet is left out).
pub async fn lock_zone(c: &impl GenericClient, zones: &mut Zones, id: &ZoneId) -> R<()> {
    let rows = query(
        c,
        "SELECT version, format, config AS body FROM zones WHERE id = $1 FOR UPDATE",
        &[&id.as_str()],
    )
    .await?;
    if let Some(row) = rows.first() {
        zones.configs.insert(id.clone(), decode(row, "zones")?);
        zones
            .versions
            .insert(id.clone(), get(row, "zones", "version")?);
    }
    Ok(())
}
