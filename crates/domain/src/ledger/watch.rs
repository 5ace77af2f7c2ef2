//! The zone's watchlist, kept with its configuration: an entry per plate or tag, replaced
//! when the same target is watched again; lapsed entries are dropped at each change.

use chrono::{DateTime, Utc};

use super::{Ledger, Touched};
use crate::ids::ZoneId;
use crate::watch::{WatchEntry, WatchTarget};
use crate::{Error, Result};

impl Ledger {
    pub(super) fn watch(
        &mut self,
        zone: &ZoneId,
        entry: WatchEntry,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        entry.validate(now)?;
        self.edit_zone(zone, |z| {
            z.watch
                .retain(|w| w.in_force(now) && w.target != entry.target);
            z.watch.push(entry);
            z.watch.sort_by(|a, b| a.target.cmp(&b.target));
            Ok(())
        })
    }

    pub(super) fn unwatch(
        &mut self,
        zone: &ZoneId,
        target: &WatchTarget,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        self.edit_zone(zone, |z| {
            let before = z.watch.len();
            z.watch.retain(|w| w.target != *target);
            if z.watch.len() == before {
                return Err(Error::NotFound {
                    what: "watch entry",
                    id: target.to_string(),
                });
            }
            z.watch.retain(|w| w.in_force(now));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use crate::audit::{AuditKind, Who};
    use crate::calendar::{SlotLength, WindowCapacity, ZoneConfig};
    use crate::ledger::{AdminChange, Ledger};
    use crate::plate::Plate;
    use crate::watch::{WatchAction, WatchEntry, WatchTarget};

    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + TimeDelta::hours(h)
    }

    #[test]
    fn watching_replaces_lapses_and_is_audited() {
        let act = ZoneId::parse("act").unwrap();
        let mut l = Ledger::new();
        let z = ZoneConfig::new(
            act.clone(),
            "ACT",
            SlotLength::from_minutes(60).unwrap(),
            WindowCapacity::uniform(3),
        );
        l.upsert_zone(z).unwrap();
        let target = WatchTarget::Plate(Plate::parse("60-12345").unwrap());
        let entry = |action, until: Option<i64>| WatchEntry {
            target: target.clone(),
            reason: "wanted".into(),
            action,
            until: until.map(at),
            added: at(0),
        };
        let security = Who::named("security-desk");
        let watch = |l: &mut Ledger, e: WatchEntry, now| {
            l.administer(
                AdminChange::Watch {
                    zone: act.clone(),
                    entry: e,
                },
                &security,
                now,
            )
        };
        let (t, _) = watch(&mut l, entry(WatchAction::Refer, None), at(0)).unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::WatchAdded);
        assert_eq!(t.audit[0].objects[0], "plate:6012345");
        assert_eq!(t.audit[0].changes[0].field, "watch.plate:6012345");
        watch(&mut l, entry(WatchAction::Deny, Some(5)), at(1)).unwrap();
        let list = &l.zone(&act).unwrap().watch;
        assert_eq!(list.len(), 1, "the same plate again replaces its entry");
        assert_eq!(list[0].action, WatchAction::Deny);
        assert!(
            watch(&mut l, entry(WatchAction::Deny, Some(1)), at(2)).is_err(),
            "past expiry"
        );
        let other = WatchEntry {
            target: WatchTarget::Plate(Plate::parse("70-11111").unwrap()),
            ..entry(WatchAction::Refer, None)
        };
        watch(&mut l, other, at(6)).unwrap();
        assert_eq!(
            l.zone(&act).unwrap().watch.len(),
            1,
            "the lapsed entry is dropped"
        );
        let unwatch = AdminChange::Unwatch {
            zone: act.clone(),
            target: target.clone(),
        };
        assert!(
            l.administer(unwatch, &security, at(7)).is_err(),
            "no longer on the list"
        );
    }
}
