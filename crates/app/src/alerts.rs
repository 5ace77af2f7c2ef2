//! Alerts of the zone's other systems: a CAP 1.2 flash-flood warning becomes a closure of
//! each zone whose outline it meets (or a pending one, where the zone wants the authority to
//! confirm), an update changes it, a cancellation lifts it; the authority confirms or
//! dismisses pending ones.

use bawaba_cap::{Alert, AlertZone, MsgType, Status};
use bawaba_domain::access::Principal;
use bawaba_domain::alert::{AlertClosure, AlertEffect, AlertOrder, ZoneAlert};
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{Closure, ClosurePolicy};
use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::{AdminChange, Administered, AlertDone};
use bawaba_store::Store;
use chrono::{DateTime, Utc};

use crate::{App, Error, Result, scope};

/// What a zone does with alerts: the alerts it takes (its outline, thresholds, whether the
/// authority confirms), and what the closures they make do to the bookings they hit.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSetting {
    pub takes: AlertZone,
    pub policy: ClosurePolicy,
}

/// What one alert did: to each zone it concerned, and why it did nothing where it did not.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertReport {
    /// The alert's key, `sender,identifier`.
    pub key: String,
    pub msg_type: MsgType,
    pub zones: Vec<ZoneEffect>,
    /// Why the alert changed nothing, when it did not (a test, an area that meets no zone...).
    pub note: Option<&'static str>,
}

/// What an alert did to one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneEffect {
    pub zone: ZoneId,
    pub effect: AlertEffect,
    pub closure: Option<Closure>,
    /// Bookings in the closure made or changed (the zone's policy: they stay booked and
    /// their companies are told, they are cancelled, or they are rebooked).
    pub hit: usize,
    /// Those of them moved to windows after the closure.
    pub rebooked: usize,
    /// Bookings an update that shortened the closure, or a cancellation that lifted it, freed:
    /// they can come as booked.
    pub can_return: usize,
    /// The zone had taken this very alert before: nothing changed.
    pub repeated: bool,
}

/// A closure an alert left waiting for the authority's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAlert {
    pub zone: ZoneId,
    pub key: String,
    pub received: DateTime<Utc>,
    pub close: AlertClosure,
    /// Bookings the closure would hit.
    pub hit: usize,
}

impl<S: Store> App<S> {
    /// Takes one CAP 1.2 alert (the document as received). Bad documents are refused naming
    /// what is wrong, before anything changes.
    pub async fn receive_alert(&self, p: &Principal, xml: &str) -> Result<AlertReport> {
        scope::role(p, scope::ALERTS)?;
        let alert = bawaba_cap::parse(xml).map_err(|e| Error::invalid(e.field, e.message))?;
        let mut report = AlertReport {
            key: alert.key(),
            msg_type: alert.msg_type,
            zones: Vec::new(),
            note: None,
        };
        if alert.status != Status::Actual {
            report.note = Some("not an Actual alert (a test, exercise, draft or system message)");
            return Ok(report);
        }
        if matches!(alert.msg_type, MsgType::Ack | MsgType::Error) {
            report.note = Some("an acknowledgement or error message closes nothing");
            return Ok(report);
        }
        let now = self.clock.now();
        let orders = self.alert_orders(p, &alert, now).await?;
        for (zone, order) in orders {
            let done = self
                .store
                .administer(
                    AdminChange::ApplyAlert {
                        zone: zone.clone(),
                        order,
                    },
                    Who::from(p),
                    now,
                )
                .await?;
            report.zones.push(zone_effect(zone, alert_done(done)?));
        }
        if report.zones.is_empty() {
            report.note = Some(if alert.infos.iter().all(|i| i.expires <= now) {
                "the alert has expired"
            } else {
                "the alert meets no zone at or above its severity and urgency thresholds"
            });
        }
        log_report(&report, p);
        Ok(report)
    }

    /// What the alert asks of each zone in the caller's scope that has an outline: a closure
    /// where it calls for one (and has not expired), a lift where it names an earlier alert
    /// the zone took.
    async fn alert_orders(
        &self,
        p: &Principal,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Vec<(ZoneId, AlertOrder)>> {
        let stored = self.store.zones().await?;
        let mut orders = Vec::new();
        for setting in self.alert_zones.iter() {
            let az = &setting.takes;
            let Ok(zone) = ZoneId::parse(&az.zone) else {
                continue;
            };
            let Some(cfg) = stored.iter().find(|z| z.id == zone) else {
                continue;
            };
            if !scope::sees_zone(p, &zone) {
                continue;
            }
            let close = az.assess(alert).filter(|c| c.to > now);
            tracing::debug!(zone = %zone, ?close, "alert assessed");
            let took_earlier = cfg.alerts.iter().any(|a| alert.references.contains(&a.key));
            if close.is_none() && !took_earlier {
                continue;
            }
            let order = AlertOrder {
                key: alert.key(),
                references: alert.references.clone(),
                close: close.map(|c| AlertClosure {
                    from: c.from,
                    to: c.to,
                    reason: c.reason,
                }),
                confirm: az.confirm,
                policy: setting.policy,
            };
            orders.push((zone, order));
        }
        Ok(orders)
    }

    /// The closures alerts left waiting for confirmation, in the caller's zones.
    pub async fn pending_alerts(&self, p: &Principal) -> Result<Vec<PendingAlert>> {
        scope::role(p, scope::AUTHORITY)?;
        let mut out = Vec::new();
        for z in self.store.zones().await? {
            if !scope::sees_zone(p, &z.id) {
                continue;
            }
            for a in z.alerts.iter().filter(|a| a.effect == AlertEffect::Pending) {
                let Some(close) = a.close.clone() else {
                    continue;
                };
                let hit = self.booked_in(&z, close.from, close.to).await?;
                out.push(pending(&z.id, a, close, hit));
            }
        }
        Ok(out)
    }

    /// Places booked in the zone's windows that overlap `[from, to)`.
    async fn booked_in(
        &self,
        z: &bawaba_domain::calendar::ZoneConfig,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<usize> {
        let slot = chrono::TimeDelta::minutes(i64::from(z.slot.minutes()));
        let windows = self
            .store
            .list_windows(z.id.clone(), from - slot, to, 10_000)
            .await?;
        let booked = windows.iter().filter(|w| w.end > from).map(|w| w.booked);
        Ok(booked.map(|b| b as usize).sum())
    }

    /// The authority confirms (`true`: the zone closes) or dismisses a pending closure.
    pub async fn decide_alert(
        &self,
        p: &Principal,
        zone: &ZoneId,
        key: &str,
        confirm: bool,
    ) -> Result<ZoneEffect> {
        scope::role(p, scope::AUTHORITY)?;
        scope::zone(p, zone)?;
        let policy = self
            .alert_zones
            .iter()
            .find(|s| s.takes.zone == zone.as_str())
            .map_or(ClosurePolicy::Notify, |s| s.policy);
        let change = AdminChange::DecideAlert {
            zone: zone.clone(),
            key: key.to_owned(),
            confirm,
            policy,
        };
        let done = self
            .store
            .administer(change, Who::from(p), self.clock.now())
            .await?;
        Ok(zone_effect(zone.clone(), alert_done(done)?))
    }
}

fn pending(zone: &ZoneId, a: &ZoneAlert, close: AlertClosure, hit: usize) -> PendingAlert {
    PendingAlert {
        zone: zone.clone(),
        key: a.key.clone(),
        received: a.received,
        close,
        hit,
    }
}

fn alert_done(done: Administered) -> Result<AlertDone> {
    match done {
        Administered::Alert(a) => Ok(a),
        other => Err(Error::Store(bawaba_store::Error::Storage(format!(
            "the store answered an alert with {other:?}"
        )))),
    }
}

fn zone_effect(zone: ZoneId, a: AlertDone) -> ZoneEffect {
    ZoneEffect {
        zone,
        effect: a.effect,
        closure: a.closure,
        hit: a.hit.len(),
        rebooked: a.rebooked.len(),
        can_return: a.can_return.len(),
        repeated: a.repeated,
    }
}

fn log_report(report: &AlertReport, p: &Principal) {
    for z in report.zones.iter().filter(|z| !z.repeated) {
        let (from, to) = z
            .closure
            .as_ref()
            .map_or((None, None), |c| (Some(c.from), Some(c.to)));
        tracing::warn!(alert = %report.key, zone = %z.zone, effect = z.effect.as_str(), ?from, ?to, hit = z.hit, rebooked = z.rebooked, can_return = z.can_return, by = %p.label, "alert taken");
    }
}
