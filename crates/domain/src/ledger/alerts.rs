//! Alerts acting on a zone: a closure made, changed or lifted by an alert of the flash-flood
//! early warning, or held for the authority's confirmation; the zone remembers each alert
//! it took, so the same alert twice changes nothing.

use chrono::{DateTime, Utc};

use super::{Booking, Ledger, Touched};
use crate::alert::{AlertClosure, AlertEffect, AlertOrder, ZoneAlert};
use crate::calendar::{Closure, ClosurePolicy, ZoneConfig};
use crate::ids::{BookingId, ZoneId};
use crate::{Error, Result};

/// What an alert (or the authority's decision on a pending one) did to a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDone {
    pub key: String,
    pub effect: AlertEffect,
    /// The closure made, changed or lifted (as it was before being lifted).
    pub closure: Option<Closure>,
    /// The bookings in the closure made or changed, as it left them (see `rebooked`).
    pub hit: Vec<Booking>,
    /// Those of them the closure moved to windows after it (the zone's policy: rebook).
    pub rebooked: Vec<BookingId>,
    /// The bookings an update that shortened the closure, or a cancellation that lifted it,
    /// freed: still BOOKED in windows it closed and no longer closed: they can come as booked.
    pub can_return: Vec<Booking>,
    /// The zone had already taken this alert: nothing changed.
    pub repeated: bool,
}

/// The closure (still in force) or pending alert that an alert's references name.
enum Earlier {
    Closure(u64),
    Pending(String),
    None,
}

impl Ledger {
    /// Applies one alert to one zone at `now`.
    pub(super) fn apply_alert(
        &mut self,
        zone: &ZoneId,
        order: AlertOrder,
        now: DateTime<Utc>,
    ) -> Result<(Touched, AlertDone)> {
        let cfg = self.zone(zone)?;
        if cfg.alerts.iter().any(|a| a.key == order.key) {
            let done = AlertDone::new(&order.key, AlertEffect::Nothing, None);
            return Ok((
                Touched::default(),
                AlertDone {
                    repeated: true,
                    ..done
                },
            ));
        }
        if let Some(c) = &order.close {
            check_closure(c)?;
        }
        let earlier = earlier(cfg, &order.references);
        let before = referenced_closure(cfg, &order.references).cloned();
        let mut out = (AlertEffect::Nothing, None);
        let mut touched = self.edit_zone(zone, |z| {
            out = alert_edit(z, &order, earlier);
            z.alerts.retain(|a| !a.is_spent(now));
            z.alerts.push(ZoneAlert {
                key: order.key.clone(),
                received: now,
                close: order.close.clone(),
                closure: out.1.as_ref().map(|c: &Closure| c.id),
                effect: out.0,
            });
            Ok(())
        })?;
        let (effect, closure) = out;
        let done = AlertDone::new(&order.key, effect, closure);
        let mut done = self.act(zone, done, order.policy, now, &mut touched)?;
        if let Some(old) = before.filter(|_| done.effect != AlertEffect::Nothing) {
            done.can_return = self.freed(zone, &old)?;
        }
        Ok((touched, done))
    }

    /// The bookings still BOOKED in windows of `zone` that closure `old` closed and that no
    /// closure of the zone closes now.
    fn freed(&self, zone: &ZoneId, old: &Closure) -> Result<Vec<Booking>> {
        let z = self.zone(zone)?;
        let open = |b: &&Booking| {
            b.stops
                .iter()
                .filter(|s| s.zone == *zone)
                .all(|s| z.closure_at(s.window_start).is_none())
        };
        Ok(self
            .bookings_hit_by(zone, old.from, old.to)?
            .into_iter()
            .filter_map(|id| self.booking(id))
            .filter(open)
            .cloned()
            .collect())
    }

    /// The authority confirms (`true`) or dismisses a closure an alert left pending.
    pub(super) fn decide_alert(
        &mut self,
        zone: &ZoneId,
        key: &str,
        (confirm, policy): (bool, ClosurePolicy),
        now: DateTime<Utc>,
    ) -> Result<(Touched, AlertDone)> {
        let pending = self
            .zone(zone)?
            .alerts
            .iter()
            .find(|a| a.key == key && a.effect == AlertEffect::Pending)
            .and_then(|a| a.close.clone())
            .ok_or_else(|| Error::NotFound {
                what: "pending alert",
                id: key.to_owned(),
            })?;
        let mut closure = None;
        let effect = if confirm {
            AlertEffect::Confirmed
        } else {
            AlertEffect::Dismissed
        };
        let mut touched = self.edit_zone(zone, |z| {
            if confirm {
                closure = Some(add(z, &pending));
            }
            settle(z, key, effect);
            if let Some(a) = z.alerts.iter_mut().find(|a| a.key == key) {
                a.closure = closure.as_ref().map(|c| c.id);
            }
            Ok(())
        })?;
        let done = AlertDone::new(key, effect, closure);
        let done = self.act(zone, done, policy, now, &mut touched)?;
        Ok((touched, done))
    }

    /// The closure an alert just made or changed does `policy` to the bookings it hits;
    /// `done` with those bookings as it left them.
    fn act(
        &mut self,
        zone: &ZoneId,
        done: AlertDone,
        policy: ClosurePolicy,
        now: DateTime<Utc>,
        touched: &mut Touched,
    ) -> Result<AlertDone> {
        let acts = matches!(
            done.effect,
            AlertEffect::Closed | AlertEffect::Changed | AlertEffect::Confirmed
        );
        let Some(c) = done.closure.as_ref().filter(|_| acts) else {
            return Ok(done);
        };
        let ids = self.bookings_hit_by(zone, c.from, c.to)?;
        let rebooked = self.act_on_hits(zone, c, &ids, policy, now, touched);
        let hit = ids
            .into_iter()
            .filter_map(|id| self.booking(id).cloned())
            .collect();
        Ok(AlertDone {
            hit,
            rebooked,
            ..done
        })
    }
}

impl AlertDone {
    fn new(key: &str, effect: AlertEffect, closure: Option<Closure>) -> Self {
        AlertDone {
            key: key.to_owned(),
            effect,
            closure,
            hit: Vec::new(),
            rebooked: Vec::new(),
            can_return: Vec::new(),
            repeated: false,
        }
    }
}

/// Makes the closure change an alert calls for; returns its effect and the closure.
fn alert_edit(
    z: &mut ZoneConfig,
    order: &AlertOrder,
    earlier: Earlier,
) -> (AlertEffect, Option<Closure>) {
    if let Earlier::Pending(key) = &earlier {
        // A later alert replaces (or cancels) one still waiting for confirmation.
        settle(z, key, AlertEffect::Dismissed);
    }
    match (&order.close, earlier) {
        (Some(c), Earlier::Closure(id)) => (AlertEffect::Changed, change(z, id, c)),
        (Some(_), _) if order.confirm => (AlertEffect::Pending, None),
        (Some(c), _) => (AlertEffect::Closed, Some(add(z, c))),
        (None, Earlier::Closure(id)) => (AlertEffect::Lifted, lift(z, id)),
        (None, Earlier::Pending(_)) => (AlertEffect::Lifted, None),
        (None, Earlier::None) => (AlertEffect::Nothing, None),
    }
}

fn check_closure(c: &AlertClosure) -> Result<()> {
    if c.from >= c.to {
        return Err(Error::invalid(
            "expires",
            "the alert expires before it takes effect",
        ));
    }
    if c.reason.trim().is_empty() {
        return Err(Error::invalid("headline", "the alert has no headline"));
    }
    Ok(())
}

/// The closure still in force that the newest of the referenced alerts made, if any: what an
/// update changes or a cancellation lifts.
pub fn referenced_closure<'z>(z: &'z ZoneConfig, references: &[String]) -> Option<&'z Closure> {
    match earlier(z, references) {
        Earlier::Closure(id) => z.closures.iter().find(|c| c.id == id),
        _ => None,
    }
}

/// What the newest of the referenced alerts left in the zone: a closure still in force, or a
/// closure waiting for confirmation.
fn earlier(z: &ZoneConfig, references: &[String]) -> Earlier {
    let found = z
        .alerts
        .iter()
        .rev()
        .filter(|a| references.contains(&a.key))
        .find_map(|a| match (a.effect, a.closure) {
            (AlertEffect::Pending, _) => Some(Earlier::Pending(a.key.clone())),
            (_, Some(id)) if z.closures.iter().any(|c| c.id == id) => Some(Earlier::Closure(id)),
            _ => None,
        });
    found.unwrap_or(Earlier::None)
}

fn add(z: &mut ZoneConfig, c: &AlertClosure) -> Closure {
    let closure = Closure {
        id: z.next_closure_id,
        from: c.from,
        to: c.to,
        reason: clip(&c.reason),
    };
    z.next_closure_id += 1;
    z.closures.push(closure.clone());
    closure
}

fn change(z: &mut ZoneConfig, id: u64, c: &AlertClosure) -> Option<Closure> {
    let closure = z.closures.iter_mut().find(|x| x.id == id)?;
    closure.from = c.from;
    closure.to = c.to;
    closure.reason = clip(&c.reason);
    Some(closure.clone())
}

fn lift(z: &mut ZoneConfig, id: u64) -> Option<Closure> {
    let at = z.closures.iter().position(|c| c.id == id)?;
    Some(z.closures.remove(at))
}

/// Marks a pending alert as settled (confirmed or dismissed).
fn settle(z: &mut ZoneConfig, key: &str, effect: AlertEffect) {
    if let Some(a) = z
        .alerts
        .iter_mut()
        .find(|a| a.key == key && a.effect == AlertEffect::Pending)
    {
        a.effect = effect;
    }
}

/// A closure's reason is at most 500 bytes: a longer headline is cut at a character boundary.
fn clip(reason: &str) -> String {
    let mut end = reason.len().min(500);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].trim().to_owned()
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
