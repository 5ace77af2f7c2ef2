//! The authority's changes, each audited in the same commit: one entry point
//! ([`Ledger::administer`]) for every change of a zone's configuration or a gate, and the
//! audit of a booking an official changed on a company's behalf.

use chrono::{DateTime, Utc};

use super::alerts::AlertDone;
use super::{Actor, Booking, Gate, Ledger, Touched};
use crate::Result;
use crate::alert::{AlertEffect, AlertOrder};
use crate::audit::{self, AuditKind, AuditRecord, Fields, Who};
use crate::calendar::{
    BookingRules, CapacityTemplate, Closure, ClosurePolicy, WindowCapacity, ZoneConfig,
};
use crate::ids::{BookingId, CompanyId, ZoneId};
use crate::watch::{WatchEntry, WatchTarget};

/// A change of the authority's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminChange {
    /// Adds a zone, or replaces its name, slot, template and rules.
    UpsertZone(ZoneConfig),
    SetTemplate {
        zone: ZoneId,
        template: CapacityTemplate,
    },
    SetRules {
        zone: ZoneId,
        rules: BookingRules,
    },
    /// Closes a zone over `[from, to)`, doing `policy` to the bookings it hits.
    AddClosure {
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
        policy: ClosurePolicy,
    },
    RemoveClosure {
        zone: ZoneId,
        id: u64,
    },
    /// Sets (`None`: clears) a company's own cap in a zone, in percent of a window.
    SetCompanyCap {
        zone: ZoneId,
        company: CompanyId,
        percent: Option<u8>,
    },
    UpsertGate(Gate),
    /// An alert of the zone's other systems (a flash-flood warning) acting on the zone.
    ApplyAlert {
        zone: ZoneId,
        order: AlertOrder,
    },
    /// The authority confirms (`true`) or dismisses a closure an alert left pending.
    DecideAlert {
        zone: ZoneId,
        key: String,
        confirm: bool,
        /// What the confirmed closure does to the bookings it hits.
        policy: ClosurePolicy,
    },
    /// Puts a plate or tag on the zone's watchlist (replacing its entry if it has one).
    Watch {
        zone: ZoneId,
        entry: WatchEntry,
    },
    /// Takes a plate or tag off the zone's watchlist.
    Unwatch {
        zone: ZoneId,
        target: WatchTarget,
    },
    /// Sets the capacity of local `[from, to)` hours of some weekdays in the template; every
    /// other hour stays as it was.
    SetHours {
        zone: ZoneId,
        days: Vec<chrono::Weekday>,
        hours: (u32, u32),
        capacity: WindowCapacity,
    },
    /// A one-off capacity for the windows starting in `[from, to)`.
    AddOverride {
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        capacity: WindowCapacity,
        reason: String,
    },
    RemoveOverride {
        zone: ZoneId,
        id: u64,
    },
}

impl AdminChange {
    /// The zone the change concerns (a gate's: its zone).
    pub fn zone(&self) -> &ZoneId {
        match self {
            AdminChange::UpsertZone(cfg) => &cfg.id,
            AdminChange::UpsertGate(g) => &g.zone,
            AdminChange::SetTemplate { zone, .. }
            | AdminChange::SetRules { zone, .. }
            | AdminChange::AddClosure { zone, .. }
            | AdminChange::RemoveClosure { zone, .. }
            | AdminChange::SetCompanyCap { zone, .. }
            | AdminChange::ApplyAlert { zone, .. }
            | AdminChange::DecideAlert { zone, .. }
            | AdminChange::Watch { zone, .. }
            | AdminChange::Unwatch { zone, .. }
            | AdminChange::SetHours { zone, .. }
            | AdminChange::AddOverride { zone, .. }
            | AdminChange::RemoveOverride { zone, .. } => zone,
        }
    }

    fn kind(&self) -> AuditKind {
        match self {
            AdminChange::UpsertZone(_) => AuditKind::ZoneSaved,
            AdminChange::SetTemplate { .. } => AuditKind::TemplateSet,
            AdminChange::SetRules { .. } => AuditKind::RulesSet,
            AdminChange::AddClosure { .. } => AuditKind::ClosureAdded,
            AdminChange::RemoveClosure { .. } => AuditKind::ClosureRemoved,
            AdminChange::SetCompanyCap { .. } => AuditKind::CompanyCapSet,
            AdminChange::UpsertGate(_) => AuditKind::GateSaved,
            AdminChange::ApplyAlert { .. } | AdminChange::DecideAlert { .. } => {
                AuditKind::AlertReceived
            }
            AdminChange::Watch { .. } => AuditKind::WatchAdded,
            AdminChange::Unwatch { .. } => AuditKind::WatchRemoved,
            AdminChange::SetHours { .. } => AuditKind::TemplateSet,
            AdminChange::AddOverride { .. } => AuditKind::OverrideAdded,
            AdminChange::RemoveOverride { .. } => AuditKind::OverrideRemoved,
        }
    }

    /// The objects the change names, as the audit trail lists them.
    fn objects(&self) -> Vec<String> {
        let zone = format!("zone:{}", self.zone());
        match self {
            AdminChange::UpsertGate(g) => vec![format!("gate:{}", g.id), zone],
            AdminChange::RemoveClosure { zone: z, id } => {
                vec![format!("closure:{z}/{id}"), zone]
            }
            AdminChange::SetCompanyCap { company, .. } => {
                vec![zone, format!("company:{company}")]
            }
            AdminChange::ApplyAlert { order, .. } => vec![format!("alert:{}", order.key), zone],
            AdminChange::DecideAlert { key, .. } => vec![format!("alert:{key}"), zone],
            AdminChange::Watch { entry, .. } => vec![entry.target.to_string(), zone],
            AdminChange::Unwatch { target, .. } => vec![target.to_string(), zone],
            AdminChange::RemoveOverride { zone: z, id } => vec![format!("override:{z}/{id}"), zone],
            _ => vec![zone],
        }
    }
}

/// What an administrative change answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Administered {
    /// The zone's configuration after the change.
    Zone(ZoneConfig),
    /// The closure added, and the bookings it hits as it left them (cancelled, moved or
    /// still in it, by its policy).
    Closure {
        closure: Closure,
        hit: Vec<Booking>,
        /// Those of them it moved to windows after it.
        rebooked: Vec<BookingId>,
    },
    Gate(Gate),
    Alert(AlertDone),
}

/// The kind of an alert's audit record, by what it did.
fn alert_kind(a: &AlertDone) -> AuditKind {
    match a.effect {
        AlertEffect::Closed | AlertEffect::Confirmed => AuditKind::ClosureAdded,
        AlertEffect::Changed => AuditKind::ClosureChanged,
        AlertEffect::Lifted if a.closure.is_some() => AuditKind::ClosureRemoved,
        AlertEffect::Dismissed | AlertEffect::Lifted => AuditKind::AlertDismissed,
        AlertEffect::Pending | AlertEffect::Nothing => AuditKind::AlertReceived,
    }
}

impl Ledger {
    /// Applies an administrative change by `who` at `now`, with its audit record: the
    /// change and the record are one, so a store writes both in one commit or neither.
    pub fn administer(
        &mut self,
        change: AdminChange,
        who: &Who,
        now: DateTime<Utc>,
    ) -> Result<(Touched, Administered)> {
        let (zone, mut objects) = (change.zone().clone(), change.objects());
        let kind = change.kind();
        let before = self.admin_fields(&change);
        let (mut touched, done) = self.apply_admin(change, now)?;
        if matches!(&done, Administered::Alert(a) if a.repeated) {
            return Ok((touched, done));
        }
        let after = match &done {
            Administered::Gate(g) => audit::gate_fields(g),
            _ => audit::zone_fields(self.zone(&zone)?),
        };
        let (closure, hit) = match &done {
            Administered::Closure { closure, hit, .. } => (Some(closure), &hit[..]),
            Administered::Alert(a) => (a.closure.as_ref(), &a.hit[..]),
            _ => (None, &[][..]),
        };
        if let Some(c) = closure {
            // After the alert, if the change names one.
            let at = usize::from(objects[0].starts_with("alert:"));
            objects.insert(at, format!("closure:{zone}/{}", c.id));
        }
        objects.extend(hit.iter().map(|b| format!("booking:{}", b.id)));
        if let Some(c) = closure {
            self.note_hits(&zone, c, hit, now, &mut touched);
        }
        let kind = match &done {
            Administered::Alert(a) => alert_kind(a),
            _ => kind,
        };
        touched.audit.push(AuditRecord {
            at: now,
            who: who.clone(),
            kind,
            zone: Some(zone),
            objects,
            changes: audit::diff(&before, &after),
        });
        Ok((touched, done))
    }

    /// The fields of what `change` is about to change (none when it does not exist yet).
    fn admin_fields(&self, change: &AdminChange) -> Fields {
        match change {
            AdminChange::UpsertGate(g) => self.gate(&g.id).map(audit::gate_fields),
            other => self.zone(other.zone()).map(audit::zone_fields),
        }
        .unwrap_or_default()
    }

    fn apply_admin(
        &mut self,
        change: AdminChange,
        now: DateTime<Utc>,
    ) -> Result<(Touched, Administered)> {
        let zone = change.zone().clone();
        let touched = match change {
            AdminChange::UpsertZone(cfg) => self.upsert_zone(cfg)?,
            AdminChange::SetTemplate { zone, template } => self.set_template(&zone, template)?,
            AdminChange::SetRules { zone, rules } => self.set_rules(&zone, rules)?,
            AdminChange::AddClosure {
                zone,
                from,
                to,
                reason,
                policy,
            } => {
                let c = self.add_closure(&zone, (from, to, &reason), policy, now)?;
                let hit = c
                    .hit
                    .into_iter()
                    .filter_map(|id| self.booking(id).cloned())
                    .collect();
                let (closure, rebooked) = (c.closure, c.rebooked);
                let done = Administered::Closure {
                    closure,
                    hit,
                    rebooked,
                };
                return Ok((c.touched, done));
            }
            AdminChange::RemoveClosure { zone, id } => self.remove_closure(&zone, id)?,
            AdminChange::SetCompanyCap {
                zone,
                company,
                percent,
            } => self.set_company_cap(&zone, &company, percent)?,
            AdminChange::ApplyAlert { zone, order } => {
                let (t, done) = self.apply_alert(&zone, order, now)?;
                return Ok((t, Administered::Alert(done)));
            }
            AdminChange::DecideAlert {
                zone,
                key,
                confirm,
                policy,
            } => {
                let (t, done) = self.decide_alert(&zone, &key, (confirm, policy), now)?;
                return Ok((t, Administered::Alert(done)));
            }
            AdminChange::Watch { zone, entry } => self.watch(&zone, entry, now)?,
            AdminChange::Unwatch { zone, target } => self.unwatch(&zone, &target, now)?,
            AdminChange::SetHours {
                zone,
                days,
                hours,
                capacity,
            } => self.edit_zone(&zone, |z| {
                *z = z.with_hours(&days, hours, capacity)?;
                Ok(())
            })?,
            AdminChange::AddOverride {
                zone,
                from,
                to,
                capacity,
                reason,
            } => self.edit_zone(&zone, |z| {
                *z = z.with_override((from, to), capacity, &reason, now)?;
                Ok(())
            })?,
            AdminChange::RemoveOverride { zone, id } => self.edit_zone(&zone, |z| {
                let before = z.overrides.len();
                z.overrides.retain(|o| o.id != id);
                if z.overrides.len() == before {
                    return Err(crate::Error::NotFound {
                        what: "one-off capacity",
                        id: id.to_string(),
                    });
                }
                Ok(())
            })?,
            AdminChange::UpsertGate(gate) => {
                let id = gate.id.clone();
                let t = self.upsert_gate(gate)?;
                return Ok((t, Administered::Gate(self.gate(&id)?.clone())));
            }
        };
        Ok((touched, Administered::Zone(self.zone(&zone)?.clone())))
    }

    /// A booking's fields before an official changed it (nothing for anyone else).
    pub(super) fn audit_before(&self, actor: &Actor, id: BookingId) -> Option<(Who, Fields)> {
        match actor {
            Actor::Official(who) => self
                .booking(id)
                .map(|b| ((**who).clone(), audit::booking_fields(b))),
            _ => None,
        }
    }

    /// Records the change an official made to booking `id`, from its fields `before` (see
    /// [`Ledger::audit_before`]; empty for a booking the official created).
    pub(super) fn audit_booking(
        &self,
        before: Option<(Who, Fields)>,
        id: BookingId,
        kind: AuditKind,
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) {
        let (Some((who, before)), Some(b)) = (before, self.booking(id)) else {
            return;
        };
        touched.audit.push(AuditRecord {
            at: now,
            who,
            kind,
            zone: b.stops.first().map(|s| s.zone.clone()),
            objects: vec![format!("booking:{id}"), format!("company:{}", b.company)],
            changes: audit::diff(&before, &audit::booking_fields(b)),
        });
    }
}
