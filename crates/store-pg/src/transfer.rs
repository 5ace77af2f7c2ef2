//! Export and import of a PostgreSQL store (see [`bawaba_store::dump`]): the same lines, in
//! the same order, as the sled store's, so a store moves between the two and back unchanged.

use bawaba_domain::audit::AuditEntry;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ids::{CompanyId, GateId};
use bawaba_domain::notify::{Progress, Webhook};
use bawaba_store::dump::{Imported, Line, Sink};
use bawaba_store::{Error, Result};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::de::DeserializeOwned;
use tokio_postgres::IsolationLevel;
use tokio_postgres::Row;

use crate::db::{R, decode, error, get, query};
use crate::{PgStore, idempotency_record};

/// Each kind's rows in the sled store's key order (bytes, so text sorts in the C collation).
const BOOKINGS: &str = "SELECT format, body FROM bookings ORDER BY id";
const IDEMPOTENCY: &str = "SELECT company, key, booking, fingerprint FROM idempotency \
                           ORDER BY company COLLATE \"C\", key COLLATE \"C\"";
/// The change log and the company events with the entries committed but not numbered yet
/// numbered as `bawaba_sequence` will number them (after the head, in the order appended):
/// the export is the store at one moment, logs included.
const CHANGES: &str = "SELECT l.format, \
         CASE WHEN l.seq IS NULL THEN jsonb_set(l.body, '{seq}', to_jsonb(z.seq + l.n)) \
         ELSE l.body END AS body \
     FROM (SELECT zone, seq, format, body, \
             row_number() OVER (PARTITION BY zone, seq IS NULL ORDER BY id) AS n \
           FROM change_log) l JOIN zones z ON z.id = l.zone \
     ORDER BY l.zone COLLATE \"C\", COALESCE(l.seq, z.seq + l.n)";
const PASSAGES: &str = "SELECT recorded, format, body FROM passages ORDER BY id";
const REFERRALS: &str = "SELECT format, body FROM referrals ORDER BY id";
const REPORTED: &str = "SELECT gate_id, through FROM reported ORDER BY gate_id COLLATE \"C\"";
const EVENTS: &str = "SELECT e.format, \
         CASE WHEN e.seq IS NULL THEN jsonb_set(e.body, '{seq}', to_jsonb(COALESCE(h.seq, 0) + e.n)) \
         ELSE e.body END AS body \
     FROM (SELECT company, seq, format, body, \
             row_number() OVER (PARTITION BY company, seq IS NULL ORDER BY id) AS n \
           FROM company_events) e LEFT JOIN company_heads h ON h.company = e.company \
     ORDER BY e.company COLLATE \"C\", COALESCE(e.seq, COALESCE(h.seq, 0) + e.n)";
const WEBHOOKS: &str = "SELECT format, body FROM webhooks ORDER BY company COLLATE \"C\"";
const DELIVERIES: &str = "SELECT format, body FROM webhook_deliveries \
                          ORDER BY company COLLATE \"C\", seq, attempt";
const FLEET: &str =
    "SELECT format, body FROM fleet ORDER BY company COLLATE \"C\", plate COLLATE \"C\"";
const SMS: &str = "SELECT format, body FROM sms_progress ORDER BY company COLLATE \"C\"";
const TEXTS: &str =
    "SELECT format, body FROM sms_texts ORDER BY company COLLATE \"C\", seq, attempt";
const REMINDED: &str = "SELECT at FROM marks WHERE name = 'reminders'";
const ACCOUNTS: &str = "SELECT format, body FROM accounts ORDER BY login COLLATE \"C\"";
const SESSIONS: &str = "SELECT format, body FROM sessions ORDER BY id COLLATE \"C\"";
const AUDIT: &str = "SELECT seq, format, body FROM audit ORDER BY at, seq";

/// Tables an import requires empty.
const RECORDS: &[&str] = &[
    "zones",
    "bookings",
    "passages",
    "company_events",
    "fleet",
    "accounts",
    "audit",
];

/// Each row of `sql` as a line.
async fn each<T: DeserializeOwned>(
    c: &impl GenericClient,
    table: &str,
    sql: &str,
    out: Sink<'_>,
    mut line: impl FnMut(&Row, T) -> Result<Line>,
) -> R<()> {
    for row in query(c, sql, &[]).await? {
        let value = decode(&row, table)?;
        out(line(&row, value)?)?;
    }
    Ok(())
}

async fn export(c: &impl GenericClient, out: Sink<'_>) -> R<()> {
    let zones = "SELECT format, config AS body FROM zones ORDER BY id COLLATE \"C\"";
    each(c, "zones", zones, out, |_, z: ZoneConfig| Ok(Line::Zone(z))).await?;
    let gates = "SELECT format, body FROM gates ORDER BY id COLLATE \"C\"";
    each(c, "gates", gates, out, |_, g| Ok(Line::Gate(g))).await?;
    each(c, "bookings", BOOKINGS, out, |_, b| Ok(Line::Booking(b))).await?;
    for row in query(c, IDEMPOTENCY, &[]).await? {
        out(Line::Idempotency(idempotency_record(&row)?))?;
    }
    each(c, "change_log", CHANGES, out, |_, e| Ok(Line::Change(e))).await?;
    each(c, "passages", PASSAGES, out, |row, passage| {
        let recorded: i64 = get(row, "passages", "recorded")?;
        Ok(Line::Passage {
            recorded: recorded.unsigned_abs(),
            passage,
        })
    })
    .await?;
    each(c, "referrals", REFERRALS, out, |_, r| Ok(Line::Referral(r))).await?;
    for row in query(c, REPORTED, &[]).await? {
        let gate: String = get(&row, "reported", "gate_id")?;
        out(Line::Reported {
            gate: GateId::parse(&gate).map_err(|e| corrupt("reported.gate_id", e))?,
            through: get(&row, "reported", "through")?,
        })?;
    }
    export_companies(c, out).await?;
    each(c, "audit", AUDIT, out, |row, record| {
        let seq: i64 = get(row, "audit", "seq")?;
        Ok(Line::Audit(AuditEntry {
            seq: seq.unsigned_abs(),
            record,
        }))
    })
    .await
}

/// What the store keeps of companies: events, webhooks and their deliveries, fleets, SMS,
/// the reminders' mark, accounts and sessions.
async fn export_companies(c: &impl GenericClient, out: Sink<'_>) -> R<()> {
    each(c, "company_events", EVENTS, out, |_, e| Ok(Line::Event(e))).await?;
    each(
        c,
        "webhooks",
        WEBHOOKS,
        out,
        |_, (webhook, progress): (Webhook, Progress)| Ok(Line::Webhook { webhook, progress }),
    )
    .await?;
    each(c, "webhook_deliveries", DELIVERIES, out, |_, d| {
        Ok(Line::Delivery(d))
    })
    .await?;
    each(c, "fleet", FLEET, out, |_, t| Ok(Line::Truck(t))).await?;
    each(
        c,
        "sms_progress",
        SMS,
        out,
        |_, (company, progress): (CompanyId, Progress)| Ok(Line::Sms { company, progress }),
    )
    .await?;
    each(c, "sms_texts", TEXTS, out, |_, t| Ok(Line::Text(t))).await?;
    if let Some(row) = query(c, REMINDED, &[]).await?.first() {
        out(Line::Reminded {
            through: get::<DateTime<Utc>>(row, "marks", "at")?,
        })?;
    }
    each(c, "accounts", ACCOUNTS, out, |_, a| Ok(Line::Account(a))).await?;
    each(c, "sessions", SESSIONS, out, |_, s| Ok(Line::Session(s))).await
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

impl PgStore {
    /// Writes every record to `out`, as of one moment (a read-only REPEATABLE READ
    /// transaction: replicas go on serving meanwhile).
    pub async fn export_to(&self, out: Sink<'_>) -> Result<()> {
        let mut client = self.pool.get().await.map_err(error)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(error)?;
        export(&tx, out).await.map_err(error)?;
        tx.commit().await.map_err(error)
    }

    /// [`Store::export`](bawaba_store::Store::export): the records read as of one moment,
    /// then sent (held in memory meanwhile, so the transaction does not wait on a reader).
    pub(crate) async fn send_export(&self, out: tokio::sync::mpsc::Sender<Line>) -> Result<()> {
        let mut lines = Vec::new();
        self.export_to(&mut |line| {
            lines.push(line);
            Ok(())
        })
        .await?;
        for line in lines {
            out.send(line).await.map_err(|_| Error::Closed)?;
        }
        Ok(())
    }

    /// Writes an export's records into this store, which must hold none yet, in one
    /// transaction: all of them or nothing.
    pub async fn import(&self, imported: &Imported) -> Result<()> {
        let mut client = self.pool.get().await.map_err(error)?;
        let tx = client.transaction().await.map_err(error)?;
        for table in RECORDS {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {table}) AS held");
            let rows = query(&tx, &sql, &[]).await.map_err(error)?;
            if rows.first().is_some_and(|r| r.get::<_, bool>("held")) {
                return Err(Error::Import(format!(
                    "the database already holds records ({table}): import into an empty one"
                )));
            }
        }
        crate::persist::import(&tx, &imported.ledger, &imported.touched)
            .await
            .map_err(error)?;
        tx.commit().await.map_err(error)?;
        self.commits.send_modify(|n| *n += 1);
        Ok(())
    }
}
