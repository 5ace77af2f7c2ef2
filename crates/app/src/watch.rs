//! The security services' watchlist: entries kept with each zone's configuration (so they
//! reach the zone's gates), put on and taken off by a security or authority token for one
//! zone or every zone it keeps. Only those roles and the gates see the list.

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::AdminChange;
use bawaba_domain::watch::{WatchEntry, WatchTarget};
use bawaba_store::Store;

use crate::{App, Error, Result, scope};

/// An entry of the watchlist with the zones that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchListing {
    pub entry: WatchEntry,
    pub zones: Vec<ZoneId>,
}

/// Whether `p` may see the watchlist a zone's configuration carries.
pub fn sees_watchlist(p: &Principal) -> bool {
    matches!(p.role, Role::Authority | Role::Security | Role::Gate)
}

/// A zone's configuration as `p` may see it: without the watchlist for anyone but the
/// authority, the security services and the gates.
pub fn redacted(p: &Principal, mut z: ZoneConfig) -> ZoneConfig {
    if !sees_watchlist(p) {
        z.watch.clear();
    }
    z
}

impl<S: Store> App<S> {
    /// The zones a watchlist request covers: `zone` (in scope), or every zone the caller keeps.
    async fn watch_zones(&self, p: &Principal, zone: Option<ZoneId>) -> Result<Vec<ZoneConfig>> {
        scope::role(p, scope::SECURITY)?;
        let zone = scope::listed_zone(p, zone)?;
        let mut zones = self.store.zones().await?;
        zones.retain(|z| zone.as_ref().is_none_or(|only| *only == z.id));
        if let (Some(z), true) = (&zone, zones.is_empty()) {
            return Err(Error::not_found("zone", z));
        }
        Ok(zones)
    }

    /// Puts `entry` on the watchlist of `zone`, or of every zone the caller keeps (the same
    /// target again replaces its entry). Each zone's change is its own commit, audited.
    pub async fn add_watch(
        &self,
        p: &Principal,
        zone: Option<ZoneId>,
        mut entry: WatchEntry,
    ) -> Result<WatchListing> {
        let zones = self.watch_zones(p, zone).await?;
        let now = self.clock.now();
        entry.added = now;
        entry.validate(now)?;
        let mut done = Vec::new();
        for z in zones {
            let change = AdminChange::Watch {
                zone: z.id.clone(),
                entry: entry.clone(),
            };
            self.store.administer(change, Who::from(p), now).await?;
            done.push(z.id);
        }
        tracing::warn!(target = %entry.target, action = entry.action.as_str(), zones = done.len(), by = %p.label, "watchlist entry added");
        Ok(WatchListing { entry, zones: done })
    }

    /// Takes `target` off the watchlist of `zone`, or of every zone the caller keeps that
    /// has it; NOT_FOUND when none has it.
    pub async fn remove_watch(
        &self,
        p: &Principal,
        zone: Option<ZoneId>,
        target: WatchTarget,
    ) -> Result<Vec<ZoneId>> {
        let zones = self.watch_zones(p, zone).await?;
        let now = self.clock.now();
        let mut done = Vec::new();
        for z in zones
            .into_iter()
            .filter(|z| z.watch.iter().any(|w| w.target == target))
        {
            let change = AdminChange::Unwatch {
                zone: z.id.clone(),
                target: target.clone(),
            };
            self.store.administer(change, Who::from(p), now).await?;
            done.push(z.id);
        }
        if done.is_empty() {
            return Err(Error::not_found("watch entry", target));
        }
        Ok(done)
    }

    /// The entries in force of `zone` (or of every zone the caller keeps), each once with
    /// the zones that hold it.
    pub async fn list_watch(
        &self,
        p: &Principal,
        zone: Option<ZoneId>,
    ) -> Result<Vec<WatchListing>> {
        let zones = self.watch_zones(p, zone).await?;
        let now = self.clock.now();
        let mut out: Vec<WatchListing> = Vec::new();
        for z in zones {
            for w in z.watch.into_iter().filter(|w| w.in_force(now)) {
                match out.iter_mut().find(|l| l.entry == w) {
                    Some(l) => l.zones.push(z.id.clone()),
                    None => out.push(WatchListing {
                        entry: w,
                        zones: vec![z.id.clone()],
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.entry.target.cmp(&b.entry.target));
        Ok(out)
    }
}
