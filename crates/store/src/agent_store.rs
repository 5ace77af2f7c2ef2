//! A gate agent's own store (sled, in the agent's data folder): its replica of the zone's
//! bookings with the change-log cursor, and its outbox of passages not yet acknowledged by
//! the scheduler.
//!
//! - A passage is written to the outbox and to the local overlay, one record of the
//!   [`Outbox`] log synced *before* the barrier is pulsed: what the gate did is never lost,
//!   even on a kill -9. (Earlier versions kept both in sled, under `o` and `l`; they are
//!   moved into the log at open.)
//! - It leaves the outbox only once the scheduler acknowledged it; a resend after a crash is
//!   harmless (the scheduler records each event id once).
//! - Replica changes and the cursor are written to sled in one batch, so the cursor never
//!   runs ahead of the data; they are not flushed one by one (sled's background flush makes
//!   them durable; a lost tail is simply synced again).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ids::{BookingId, PassageId, ZoneId};
use bawaba_domain::ledger::Booking;
use bawaba_domain::passage::Passage;

use crate::codec::{decode, decode_zone, encode, encode_zone};
use crate::outbox::Outbox;
use crate::{Error, Result};

const ZONE: u8 = b'z';
const SEQ: u8 = b's';
const BOOKING: u8 = b'b';
const OUTBOX: u8 = b'o';
const LOCAL: u8 = b'l';

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

/// What a restarted agent starts from.
#[derive(Debug, Clone, Default)]
pub struct AgentState {
    pub zones: Vec<ZoneConfig>,
    pub seqs: BTreeMap<ZoneId, u64>,
    pub bookings: Vec<Booking>,
    /// Passages not yet acknowledged, oldest first.
    pub outbox: Vec<Passage>,
    /// Passages decided here that the replica has not seen confirmed yet.
    pub local: Vec<Passage>,
}

/// One step of the sync stream, stored atomically.
#[derive(Debug, Clone, Default)]
pub struct SyncUpdate {
    pub zone: Option<ZoneConfig>,
    /// Replace every booking with these (a snapshot), then set the cursor.
    pub snapshot: Option<(ZoneId, u64, Vec<Booking>)>,
    /// Changes after the cursor: the booking as it now is, and the new cursor.
    pub changes: Vec<(ZoneId, u64, Booking)>,
}

/// The agent's store.
#[derive(Debug)]
pub struct AgentStore {
    db: sled::Db,
    outbox: Mutex<Outbox>,
}

impl AgentStore {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            context: format!("creating {}", dir.display()),
            source,
        })?;
        let store = AgentStore {
            db: crate::sled_store::open_db(dir)?,
            outbox: Mutex::new(Outbox::open(dir)?),
        };
        store.move_legacy_outbox()?;
        Ok(store)
    }

    /// Moves an earlier version's outbox and overlay out of sled into the log (synced
    /// before they leave sled).
    fn move_legacy_outbox(&self) -> Result<()> {
        let (outbox, local): (Vec<Passage>, Vec<Passage>) = (self.scan(OUTBOX)?, self.scan(LOCAL)?);
        if outbox.is_empty() && local.is_empty() {
            return Ok(());
        }
        tracing::info!(
            outbox = outbox.len(),
            local = local.len(),
            "moving the outbox an earlier version kept in sled into outbox.log"
        );
        self.log().import(&outbox, &local)?;
        let mut batch = sled::Batch::default();
        for p in outbox.iter().chain(&local) {
            batch.remove(key(OUTBOX, &p.id.to_bytes()));
            batch.remove(key(LOCAL, &p.id.to_bytes()));
        }
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn scan<T: serde::de::DeserializeOwned>(&self, prefix: u8) -> Result<Vec<T>> {
        self.scan_with(prefix, decode)
    }

    fn scan_with<T>(&self, prefix: u8, read: fn(&[u8], &[u8]) -> Result<T>) -> Result<Vec<T>> {
        self.db
            .scan_prefix([prefix])
            .map(|kv| {
                let (k, v) = kv?;
                read(&k, &v)
            })
            .collect()
    }

    pub fn load(&self) -> Result<AgentState> {
        let seqs = self
            .db
            .scan_prefix([SEQ])
            .map(|kv| {
                let (k, v) = kv?;
                let zone = ZoneId::parse(&String::from_utf8_lossy(&k[1..]))?;
                Ok((zone, decode::<u64>(&k, &v)?))
            })
            .collect::<Result<_>>()?;
        let log = self.log();
        Ok(AgentState {
            zones: self.scan_with(ZONE, decode_zone)?,
            seqs,
            bookings: self.scan(BOOKING)?,
            outbox: log.state().outbox(),
            local: log.state().local(),
        })
    }

    /// Records a passage this agent decided: outbox and overlay, durably. Call before acting.
    pub fn record(&self, p: &Passage) -> Result<()> {
        self.log().record(p)
    }

    /// The scheduler acknowledged these: they leave the outbox.
    pub fn acknowledged(&self, ids: &[PassageId]) -> Result<()> {
        self.log().acknowledged(ids)
    }

    /// The replica has seen these confirmed: they leave the overlay.
    pub fn forget_local(&self, ids: impl IntoIterator<Item = PassageId>) -> Result<()> {
        self.log().confirmed(ids.into_iter().collect())
    }

    /// Stores one step of the sync stream atomically (bookings with their cursor).
    pub fn apply_sync(&self, update: SyncUpdate) -> Result<()> {
        let mut batch = sled::Batch::default();
        if let Some(z) = &update.zone {
            batch.insert(key(ZONE, z.id.as_str().as_bytes()), encode_zone(z)?);
        }
        if let Some((zone, seq, bookings)) = &update.snapshot {
            let keep: std::collections::BTreeSet<BookingId> =
                bookings.iter().map(|b| b.id).collect();
            for kv in self.db.scan_prefix([BOOKING]) {
                let (k, v) = kv?;
                let b: Booking = decode(&k, &v)?;
                if b.stops.iter().any(|s| s.zone == *zone) && !keep.contains(&b.id) {
                    batch.remove(k);
                }
            }
            for b in bookings {
                batch.insert(key(BOOKING, &b.id.to_bytes()), encode(b)?);
            }
            batch.insert(key(SEQ, zone.as_str().as_bytes()), encode(seq)?);
        }
        for (zone, seq, b) in &update.changes {
            batch.insert(key(BOOKING, &b.id.to_bytes()), encode(b)?);
            batch.insert(key(SEQ, zone.as_str().as_bytes()), encode(seq)?);
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::tests::passage;
    use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity};
    use bawaba_domain::ids::CompanyId;
    use bawaba_domain::ledger::{BookingState, Stop};
    use bawaba_domain::plate::Plate;
    use chrono::{TimeZone, Utc};

    fn zone() -> ZoneId {
        ZoneId::parse("act").unwrap()
    }

    fn booking(n: u128) -> Booking {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        Booking {
            id: BookingId::new(at, n),
            company: CompanyId::parse("acme").unwrap(),
            plate: Plate::parse(&format!("60{n}")).unwrap(),
            epc: None,
            stops: vec![Stop::new(zone(), at, TransactionType::GeneralCargo, vec![])],
            state: BookingState::Booked,
            idempotency_key: format!("k{n}"),
            created_at: at,
            updated_at: at,
            entered_at: None,
            exited_at: None,
            cancel_reason: None,
            revision: 1,
        }
    }

    #[test]
    fn an_outbox_an_earlier_version_kept_in_sled_moves_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = AgentStore::open(dir.path()).unwrap();
            let mut batch = sled::Batch::default();
            // 1: sent, not confirmed; 2: neither; 3: confirmed, not sent.
            batch.insert(
                key(LOCAL, &passage(1).id.to_bytes()),
                encode(&passage(1)).unwrap(),
            );
            batch.insert(
                key(OUTBOX, &passage(2).id.to_bytes()),
                encode(&passage(2)).unwrap(),
            );
            batch.insert(
                key(LOCAL, &passage(2).id.to_bytes()),
                encode(&passage(2)).unwrap(),
            );
            batch.insert(
                key(OUTBOX, &passage(3).id.to_bytes()),
                encode(&passage(3)).unwrap(),
            );
            s.db.apply_batch(batch).unwrap();
            s.db.flush().unwrap();
        }
        for _ in 0..2 {
            let s = AgentStore::open(dir.path()).unwrap();
            let st = s.load().unwrap();
            assert_eq!(st.outbox, vec![passage(2), passage(3)]);
            assert_eq!(st.local, vec![passage(1), passage(2)]);
            assert!(s.db.scan_prefix([OUTBOX]).next().is_none());
            assert!(s.db.scan_prefix([LOCAL]).next().is_none());
        }
    }

    #[test]
    fn outbox_and_replica_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = AgentStore::open(dir.path()).unwrap();
            let z = ZoneConfig::new(
                zone(),
                "ACT",
                SlotLength::from_minutes(30).unwrap(),
                WindowCapacity::uniform(5),
            );
            s.apply_sync(SyncUpdate {
                zone: Some(z),
                snapshot: Some((zone(), 7, vec![booking(1), booking(2)])),
                changes: vec![],
            })
            .unwrap();
            s.apply_sync(SyncUpdate {
                changes: vec![(zone(), 8, booking(3))],
                ..Default::default()
            })
            .unwrap();
            // A snapshot replaces the zone's bookings.
            s.apply_sync(SyncUpdate {
                snapshot: Some((zone(), 9, vec![booking(2), booking(3)])),
                ..Default::default()
            })
            .unwrap();
            s.record(&passage(1)).unwrap();
            s.record(&passage(2)).unwrap();
            s.acknowledged(&[passage(1).id]).unwrap();
            s.forget_local([passage(2).id]).unwrap();
        }
        let s = AgentStore::open(dir.path()).unwrap();
        let st = s.load().unwrap();
        assert_eq!(st.seqs.get(&zone()), Some(&9));
        assert_eq!(
            st.bookings.iter().map(|b| b.id).collect::<Vec<_>>(),
            vec![booking(2).id, booking(3).id]
        );
        assert_eq!(st.outbox, vec![passage(2)]);
        assert_eq!(st.local, vec![passage(1)]);
        assert_eq!(st.zones.len(), 1);
    }
}
