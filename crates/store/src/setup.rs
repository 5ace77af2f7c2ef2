//! The system's own administrative changes (configuration at start-up, the set-up of
//! tests, simulations and benchmarks): each is [`Store::administer`] by [`Who::system`], so
//! it is audited like any other. A person's change goes through the application layer,
//! which names the person.

use std::future::Future;

use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{BookingRules, CapacityTemplate, Closure, ClosurePolicy, ZoneConfig};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{AdminChange, Administered, Booking, Gate};
use chrono::{DateTime, Utc};

use crate::{Error, Result, Store};

fn unexpected(what: &str) -> Error {
    Error::Storage(format!("the store answered {what} something else"))
}

async fn zone<S: Store + ?Sized>(store: &S, change: AdminChange) -> Result<ZoneConfig> {
    match store.administer(change, Who::system(), Utc::now()).await? {
        Administered::Zone(cfg) => Ok(cfg),
        _ => Err(unexpected("a zone change with")),
    }
}

/// Administrative changes made by the system itself.
pub trait Setup: Store {
    fn upsert_zone(&self, cfg: ZoneConfig) -> impl Future<Output = Result<ZoneConfig>> + Send {
        zone(self, AdminChange::UpsertZone(cfg))
    }

    fn set_template(
        &self,
        zone_id: ZoneId,
        template: CapacityTemplate,
    ) -> impl Future<Output = Result<ZoneConfig>> + Send {
        zone(
            self,
            AdminChange::SetTemplate {
                zone: zone_id,
                template,
            },
        )
    }

    fn set_rules(
        &self,
        zone_id: ZoneId,
        rules: BookingRules,
    ) -> impl Future<Output = Result<ZoneConfig>> + Send {
        zone(
            self,
            AdminChange::SetRules {
                zone: zone_id,
                rules,
            },
        )
    }

    fn remove_closure(
        &self,
        zone_id: ZoneId,
        id: u64,
    ) -> impl Future<Output = Result<ZoneConfig>> + Send {
        zone(self, AdminChange::RemoveClosure { zone: zone_id, id })
    }

    fn set_company_cap(
        &self,
        zone_id: ZoneId,
        company: CompanyId,
        percent: Option<u8>,
    ) -> impl Future<Output = Result<ZoneConfig>> + Send {
        zone(
            self,
            AdminChange::SetCompanyCap {
                zone: zone_id,
                company,
                percent,
            },
        )
    }

    /// Closes a zone over `[from, to)`; the closure and the bookings it hits.
    fn add_closure(
        &self,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
    ) -> impl Future<Output = Result<(Closure, Vec<Booking>)>> + Send {
        async move {
            let change = AdminChange::AddClosure {
                zone,
                from,
                to,
                reason,
                policy: ClosurePolicy::Notify,
            };
            match self.administer(change, Who::system(), Utc::now()).await? {
                Administered::Closure { closure, hit, .. } => Ok((closure, hit)),
                _ => Err(unexpected("a closure with")),
            }
        }
    }

    fn upsert_gate(&self, gate: Gate) -> impl Future<Output = Result<Gate>> + Send {
        async move {
            match self
                .administer(AdminChange::UpsertGate(gate), Who::system(), Utc::now())
                .await?
            {
                Administered::Gate(g) => Ok(g),
                _ => Err(unexpected("a gate with")),
            }
        }
    }
}

impl<S: Store + ?Sized> Setup for S {}
