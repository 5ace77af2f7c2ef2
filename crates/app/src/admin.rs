//! The authority's changes and the listings of zones, gates and no-shows.

use std::collections::BTreeMap;

use bawaba_domain::access::Principal;
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{Closure, ClosurePolicy, ZoneConfig};
use bawaba_domain::ids::{BookingId, CompanyId, ZoneId};
use bawaba_domain::ledger::{
    AdminChange, Administered, Booking, BookingFilter, BookingState, Gate,
};
use bawaba_store::{Setup, Store};
use chrono::{DateTime, Utc};

use crate::{App, Error, Result, scope};

/// What a closure did: see [`App::add_closure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub closure: Closure,
    /// The bookings it hits, as it left them (cancelled, moved, or still in it).
    pub hit: Vec<Booking>,
    /// Those of them it moved to windows after it.
    pub rebooked: Vec<BookingId>,
}

impl<S: Store> App<S> {
    /// Creates the configured zones and gates the store does not have yet; those it has keep
    /// their stored settings (changed since through the API). The system's own start-up, not
    /// a caller's request.
    pub async fn bootstrap(&self, zones: Vec<ZoneConfig>, gates: Vec<Gate>) -> Result<()> {
        let have = self.store.zones().await?;
        for z in zones {
            if have.iter().any(|h| h.id == z.id) {
                tracing::debug!(zone = %z.id, "zone already stored; keeping its stored settings");
            } else {
                tracing::info!(zone = %z.id, name = %z.name, "creating zone from configuration");
                self.store.upsert_zone(z).await?;
            }
        }
        let have = self.store.gates().await?;
        for g in gates {
            if !have.iter().any(|h| h.id == g.id) {
                tracing::info!(gate = %g.id, zone = %g.zone, "creating gate from configuration");
                self.store.upsert_gate(g).await?;
            }
        }
        Ok(())
    }

    /// The zones the caller may see (a zone-limited token: its own).
    pub async fn list_zones(&self, p: &Principal) -> Result<Vec<ZoneConfig>> {
        scope::role(p, scope::ZONE_READERS)?;
        let mut zones = self.store.zones().await?;
        zones.retain(|z| scope::sees_zone(p, &z.id));
        Ok(zones
            .into_iter()
            .map(|z| crate::watch::redacted(p, z))
            .collect())
    }

    /// The gates the caller may see: those of its zone, or all.
    pub async fn list_gates(&self, p: &Principal) -> Result<Vec<Gate>> {
        scope::role(p, scope::ANY)?;
        let mut gates = self.store.gates().await?;
        gates.retain(|g| scope::sees_gate(p, g));
        Ok(gates)
    }

    /// Applies an administrative change of the authority's, audited under the caller's name.
    async fn administer(&self, p: &Principal, change: AdminChange) -> Result<Administered> {
        scope::role(p, scope::AUTHORITY)?;
        let zone = change.zone().clone();
        let done = self
            .store
            .administer(change, Who::from(p), self.clock.now())
            .await?;
        if let Administered::Closure {
            closure,
            hit,
            rebooked,
        } = &done
        {
            tracing::warn!(zone = %zone, from = %closure.from, to = %closure.to, reason = %closure.reason, affected = hit.len(), rebooked = rebooked.len(), by = %p.label, "zone closed");
        }
        Ok(done)
    }

    /// An administrative change that answers the zone's configuration after it.
    pub(crate) async fn edit_zone(&self, p: &Principal, change: AdminChange) -> Result<ZoneConfig> {
        match self.administer(p, change).await? {
            Administered::Zone(cfg) => Ok(cfg),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn upsert_zone(&self, p: &Principal, cfg: ZoneConfig) -> Result<ZoneConfig> {
        self.edit_zone(p, AdminChange::UpsertZone(cfg)).await
    }

    /// Closes `zone` over `[from, to)`, doing `policy` to the bookings it hits: the closure,
    /// those bookings (as the closure left them) and which of them it moved.
    pub async fn add_closure(
        &self,
        p: &Principal,
        zone: ZoneId,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        reason: String,
        policy: ClosurePolicy,
    ) -> Result<Closed> {
        let change = AdminChange::AddClosure {
            zone,
            from,
            to,
            reason,
            policy,
        };
        match self.administer(p, change).await? {
            Administered::Closure {
                closure,
                hit,
                rebooked,
            } => Ok(Closed {
                closure,
                hit,
                rebooked,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Lifts closure `id` of `zone`: the zone after, and the bookings still BOOKED in the
    /// windows it closed that no other closure shuts — they can come as booked again.
    pub async fn remove_closure(
        &self,
        p: &Principal,
        zone: ZoneId,
        id: u64,
    ) -> Result<(ZoneConfig, Vec<Booking>)> {
        scope::role(p, scope::AUTHORITY)?;
        let lifted = self
            .store
            .zone(zone.clone())
            .await?
            .closures
            .into_iter()
            .find(|c| c.id == id);
        let z = self
            .edit_zone(p, AdminChange::RemoveClosure { zone, id })
            .await?;
        let Some(c) = lifted else {
            return Ok((z, Vec::new()));
        };
        let filter = BookingFilter {
            zone: Some(z.id.clone()),
            state: Some(BookingState::Booked),
            window_from: Some(z.window_containing(c.from)),
            window_to: Some(c.to),
            ..BookingFilter::default()
        };
        let mut back = Vec::new();
        loop {
            let page = self
                .store
                .list_bookings(filter.clone(), back.last().map(|b: &Booking| b.id), 500)
                .await?;
            let full = page.len() == 500;
            back.extend(page);
            if !full {
                let open = |b: &Booking| {
                    let mut stops = b.stops.iter().filter(|s| s.zone == z.id);
                    stops.all(|s| z.closure_at(s.window_start).is_none())
                };
                back.retain(open);
                return Ok((z, back));
            }
        }
    }

    /// Caps `company` at `percent` of each window of `zone` (none: no cap).
    pub async fn set_company_cap(
        &self,
        p: &Principal,
        zone: ZoneId,
        company: CompanyId,
        percent: u32,
    ) -> Result<ZoneConfig> {
        scope::role(p, scope::AUTHORITY)?;
        let percent = match percent {
            0 => None,
            p @ 1..=100 => u8::try_from(p).ok(),
            p => {
                return Err(Error::invalid(
                    "percent",
                    format!("is {p}; must be 1..=100, or 0 to clear"),
                ));
            }
        };
        let change = AdminChange::SetCompanyCap {
            zone,
            company,
            percent,
        };
        self.edit_zone(p, change).await
    }

    pub async fn upsert_gate(&self, p: &Principal, gate: Gate) -> Result<Gate> {
        match self.administer(p, AdminChange::UpsertGate(gate)).await? {
            Administered::Gate(g) => Ok(g),
            other => Err(unexpected(&other)),
        }
    }

    /// No-shows per company (those with at least one).
    pub async fn list_no_shows(&self, p: &Principal) -> Result<BTreeMap<CompanyId, u64>> {
        scope::role(p, scope::AUTHORITY)?;
        let mut counts = self.store.no_shows().await?;
        counts.retain(|_, n| *n > 0);
        Ok(counts)
    }

    /// The sweep, run now at the authority's request.
    pub async fn run_no_show_sweep(&self, p: &Principal) -> Result<Vec<BookingId>> {
        scope::role(p, scope::AUTHORITY)?;
        self.sweep_no_shows().await
    }
}

/// A store that answered a change with the wrong kind of result.
fn unexpected(got: &Administered) -> Error {
    Error::Store(bawaba_store::Error::Storage(format!(
        "the store answered an administrative change with {got:?}"
    )))
}
