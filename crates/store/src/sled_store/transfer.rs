//! Export and import of a sled data directory (see [`crate::dump`]).

use std::collections::HashMap;
use std::path::Path;

use bawaba_domain::ids::{CompanyId, GateId, PassageId};
use bawaba_domain::notify::Progress;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{load_webhooks, open_db, stage};
use crate::codec::{self, decode};
use crate::dump::{self, Imported, Line, Sink};
use crate::{Error, Result};

/// Writes every record of the store in `dir` to `out`, kind by kind in key order. The store
/// must exist and no scheduler may have it open (sled's lock refuses, naming the directory).
pub fn export_dir(dir: &Path, out: Sink<'_>) -> Result<()> {
    if !dir.join("sled").is_dir() {
        return Err(Error::Import(format!(
            "{} holds no store to export",
            dir.display()
        )));
    }
    export_db(&open_db(dir)?, out)
}

/// Every value under `prefix`, decoded and turned into a line, one at a time.
fn each<T: DeserializeOwned>(
    db: &sled::Db,
    prefix: u8,
    out: Sink<'_>,
    mut line: impl FnMut(T) -> Line,
) -> Result<()> {
    for kv in db.scan_prefix([prefix]) {
        let (k, v) = kv?;
        out(line(decode(&k, &v)?))?;
    }
    Ok(())
}

pub(super) fn export_db(db: &sled::Db, out: Sink<'_>) -> Result<()> {
    for kv in db.scan_prefix([codec::ZONE]) {
        let (k, v) = kv?;
        out(Line::Zone(codec::decode_zone(&k, &v)?))?;
    }
    for kv in db.scan_prefix([codec::GATE]) {
        let (k, v) = kv?;
        out(Line::Gate(codec::decode_gate(&k, &v)?))?;
    }
    each(db, codec::BOOKING, out, Line::Booking)?;
    each(db, codec::IDEMPOTENCY, out, Line::Idempotency)?;
    each(db, codec::CHANGE, out, Line::Change)?;
    export_passages(db, out)?;
    each(db, codec::REFERRAL, out, Line::Referral)?;
    each(
        db,
        codec::REPORTED,
        out,
        |(gate, through): (GateId, DateTime<Utc>)| Line::Reported {
            gate,
            through: dump::mark(through),
        },
    )?;
    each(db, codec::EVENT, out, Line::Event)?;
    for (webhook, progress) in load_webhooks(db)? {
        out(Line::Webhook { webhook, progress })?;
    }
    each(db, codec::DELIVERY, out, Line::Delivery)?;
    each(db, codec::FLEET, out, Line::Truck)?;
    each(
        db,
        codec::SMS_PROGRESS,
        out,
        |(company, progress): (CompanyId, Progress)| Line::Sms { company, progress },
    )?;
    each(db, codec::TEXT, out, Line::Text)?;
    if let Some(v) = db.get([codec::REMINDED])? {
        out(Line::Reminded {
            through: dump::mark(decode(&[codec::REMINDED], &v)?),
        })?;
    }
    each(db, codec::ACCOUNT, out, Line::Account)?;
    each(db, codec::SESSION, out, Line::Session)?;
    each(db, codec::AUDIT, out, Line::Audit)
}

/// The passages with their recording numbers; one stored before there were numbers follows
/// the numbered ones in id order, as the store numbers it on loading.
fn export_passages(db: &sled::Db, out: Sink<'_>) -> Result<()> {
    let mut recorded: HashMap<PassageId, u64> = HashMap::new();
    let mut head = 0;
    for kv in db.scan_prefix([codec::PASSAGE_LOG]) {
        let (k, v) = kv?;
        let (seq, id): (u64, PassageId) = decode(&k, &v)?;
        recorded.insert(id, seq);
        head = head.max(seq);
    }
    each(
        db,
        codec::PASSAGE,
        out,
        |passage: bawaba_domain::passage::Passage| {
            let recorded = recorded.get(&passage.id).copied().unwrap_or_else(|| {
                head += 1;
                head
            });
            Line::Passage { recorded, passage }
        },
    )
}

/// Most values copied in one batch.
const COPY_BATCH: usize = 10_000;

/// A copy of `db` in a temporary store in `dir` (removed when the copy is dropped).
pub(super) fn copy(db: &sled::Db, dir: &Path) -> Result<sled::Db> {
    let name = format!("export-{:016x}", super::random_u128() as u64);
    let copy = sled::Config::new()
        .path(dir.join(name))
        .temporary(true)
        .open()?;
    let mut batch = sled::Batch::default();
    let mut n = 0;
    for kv in db.iter() {
        let (k, v) = kv?;
        batch.insert(k, v);
        n += 1;
        if n % COPY_BATCH == 0 {
            copy.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    copy.apply_batch(batch)?;
    Ok(copy)
}

/// Writes an export's records into `dir`, which must hold no store yet, in one durable batch.
pub fn import_dir(dir: &Path, imported: &Imported) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    let db = open_db(dir)?;
    if let Some(kv) = db.iter().next() {
        kv?;
        return Err(Error::Import(format!(
            "{} already holds a store: import into an empty data directory",
            dir.display()
        )));
    }
    let mut batch = sled::Batch::default();
    let mut audit_head = 0;
    stage(
        &imported.ledger,
        &imported.touched,
        &mut audit_head,
        &mut batch,
    )?;
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}
