//! The authority's changes and the listings of zones, gates and no-shows.

use std::collections::BTreeMap;

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::{CapacityTemplate, Closure, ZoneConfig};
use bawaba_domain::ids::{BookingId, CompanyId, ZoneId};
use bawaba_domain::ledger::{Booking, Gate};
use bawaba_store::Store;
use chrono::{DateTime, Utc};

use crate::{App, Error, Result, scope};

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
        scope::role(p, scope::ANY)?;
        let mut zones = self.store.zones().await?;
        zones.retain(|z| scope::sees_zone(p, &z.id));
        Ok(zones)
    }

    /// The gates the caller may see: those of its zone, or all.
    pub async fn list_gates(&self, p: &Principal) -> Result<Vec<Gate>> {
        scope::role(p, scope::ANY)?;
        let mut gates = self.store.gates().await?;
        gates.retain(|g| scope::sees_gate(p, g));
        Ok(gates)
    }

    pub async fn upsert_zone(&self, p: &Principal, cfg: ZoneConfig) -> Result<ZoneConfig> {
        scope::role(p, scope::AUTHORITY)?;
        Ok(self.store.upsert_zone(cfg).await?)
    }

    pub async fn set_capacity_template(
        &self,
        p: &Principal,
        zone: ZoneId,
        template: CapacityTemplate,
    ) -> Result<ZoneConfig> {
        scope::role(p, scope::AUTHORITY)?;
        Ok(self.store.set_template(zone, template).await?)
    }

    /// Closes `zone` over `[from, to)`: the closure and the bookings it hits.
    pub async fn add_closure(
        &self,
        p: &Principal,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
    ) -> Result<(Closure, Vec<Booking>)> {
        scope::role(p, scope::AUTHORITY)?;
        let (closure, hit) = self
            .store
            .add_closure(zone.clone(), from, to, reason)
            .await?;
        tracing::warn!(zone = %zone, from = %from, to = %to, reason = %closure.reason, affected = hit.len(), "zone closed");
        Ok((closure, hit))
    }

    pub async fn remove_closure(&self, p: &Principal, zone: ZoneId, id: u64) -> Result<ZoneConfig> {
        scope::role(p, scope::AUTHORITY)?;
        Ok(self.store.remove_closure(zone, id).await?)
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
        Ok(self.store.set_company_cap(zone, company, percent).await?)
    }

    pub async fn upsert_gate(&self, p: &Principal, gate: Gate) -> Result<Gate> {
        scope::role(p, scope::AUTHORITY)?;
        Ok(self.store.upsert_gate(gate).await?)
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
