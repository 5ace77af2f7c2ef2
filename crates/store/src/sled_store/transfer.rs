//! Export and import of a sled data directory (see [`crate::dump`]).

use std::collections::HashMap;
use std::path::Path;

use std::collections::BTreeMap;

use bawaba_domain::ids::{CompanyId, GateId, PassageId};
use bawaba_domain::notify::{Progress, Webhook};
use bawaba_domain::passage::Passage;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::snapshot::{Batch, Source};
use super::{open_db, stage};
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
    export_from(&open_db(dir)?, out)
}

/// Every value under `prefix`, decoded and turned into a line, one at a time.
fn each<T: DeserializeOwned>(
    src: &dyn Source,
    prefix: u8,
    out: Sink<'_>,
    mut line: impl FnMut(T) -> Line,
) -> Result<()> {
    for kv in src.scan(prefix) {
        let (k, v) = kv?;
        out(line(decode(&k, &v)?))?;
    }
    Ok(())
}

/// Every record of `src`, kind by kind in key order.
pub(super) fn export_from(src: &dyn Source, out: Sink<'_>) -> Result<()> {
    for kv in src.scan(codec::ZONE) {
        let (k, v) = kv?;
        out(Line::Zone(codec::decode_zone(&k, &v)?))?;
    }
    for kv in src.scan(codec::GATE) {
        let (k, v) = kv?;
        out(Line::Gate(codec::decode_gate(&k, &v)?))?;
    }
    each(src, codec::BOOKING, out, Line::Booking)?;
    each(src, codec::IDEMPOTENCY, out, Line::Idempotency)?;
    each(src, codec::CHANGE, out, Line::Change)?;
    export_passages(src, out)?;
    each(src, codec::REFERRAL, out, Line::Referral)?;
    let reported = |(gate, through): (GateId, DateTime<Utc>)| Line::Reported {
        gate,
        through: dump::mark(through),
    };
    each(src, codec::REPORTED, out, reported)?;
    each(src, codec::EVENT, out, Line::Event)?;
    for (webhook, progress) in webhooks(src)? {
        out(Line::Webhook { webhook, progress })?;
    }
    each(src, codec::DELIVERY, out, Line::Delivery)?;
    each(src, codec::FLEET, out, Line::Truck)?;
    let sms = |(company, progress): (CompanyId, Progress)| Line::Sms { company, progress };
    each(src, codec::SMS_PROGRESS, out, sms)?;
    each(src, codec::TEXT, out, Line::Text)?;
    let reminded = |at: DateTime<Utc>| Line::Reminded {
        through: dump::mark(at),
    };
    each(src, codec::REMINDED, out, reminded)?;
    each(src, codec::ACCOUNT, out, Line::Account)?;
    each(src, codec::SESSION, out, Line::Session)?;
    each(src, codec::AUDIT, out, Line::Audit)
}

/// Each stored webhook with its progress (a webhook without a stored progress starts at 0).
pub(super) fn webhooks(src: &dyn Source) -> Result<Vec<(Webhook, Progress)>> {
    let mut progress: BTreeMap<CompanyId, Progress> = BTreeMap::new();
    for kv in src.scan(codec::WEBHOOK_PROGRESS) {
        let (k, v) = kv?;
        let company =
            CompanyId::parse(&String::from_utf8_lossy(&k[1..])).map_err(|e| Error::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?;
        progress.insert(company, decode(&k, &v)?);
    }
    let mut hooks = Vec::new();
    for kv in src.scan(codec::WEBHOOK) {
        let (k, v) = kv?;
        hooks.push(decode::<Webhook>(&k, &v)?);
    }
    Ok(hooks
        .into_iter()
        .map(|h| {
            let p = progress.remove(&h.company).unwrap_or_default();
            (h, p)
        })
        .collect())
}

/// The passages with their recording numbers; one stored before there were numbers follows
/// the numbered ones in id order, as the store numbers it on loading.
fn export_passages(src: &dyn Source, out: Sink<'_>) -> Result<()> {
    let mut recorded: HashMap<PassageId, u64> = HashMap::new();
    let mut head = 0;
    for kv in src.scan(codec::PASSAGE_LOG) {
        let (k, v) = kv?;
        let (seq, id): (u64, PassageId) = decode(&k, &v)?;
        recorded.insert(id, seq);
        head = head.max(seq);
    }
    each(src, codec::PASSAGE, out, |passage: Passage| {
        let recorded = recorded.get(&passage.id).copied().unwrap_or_else(|| {
            head += 1;
            head
        });
        Line::Passage { recorded, passage }
    })
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
    let mut batch = Batch::new(None);
    let mut audit_head = 0;
    stage(
        &imported.ledger,
        &imported.touched,
        &mut audit_head,
        &mut batch,
    )?;
    db.apply_batch(batch.inner)?;
    db.flush()?;
    Ok(())
}
