//! The gates' and operators' use cases: follow a zone, report passages, receive commands,
//! list passages and referrals, resolve a referral.

use std::collections::HashSet;

use bawaba_domain::access::Principal;
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{WhenClosed, ZoneConfig, local};
use bawaba_domain::ids::{BookingId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::{Actor, Direction, Gate};
use bawaba_domain::passage::{Passage, Referral, ReferralState, Resolution, Verdict};
use bawaba_store::{Changes, Reported, Store};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::{App, Error, GateCommand, Result, scope};

/// Most passages one report takes.
pub const MAX_PASSAGES: usize = 1000;
/// Largest page of a passage listing.
const MAX_PASSAGE_PAGE: usize = 1000;

impl<S: Store> App<S> {
    /// A zone a gate agent may follow: its configuration (NOT_FOUND when it does not exist
    /// or is another zone's).
    pub async fn follow_zone(&self, p: &Principal, zone: &ZoneId) -> Result<ZoneConfig> {
        scope::role(p, scope::GATES)?;
        scope::zone(p, zone)?;
        Ok(self.store.zone(zone.clone()).await?)
    }

    /// The zone's configuration and its changes after `after` (or a snapshot), for a caller
    /// that may follow it.
    pub async fn zone_changes(
        &self,
        p: &Principal,
        zone: &ZoneId,
        after: u64,
        limit: usize,
    ) -> Result<(ZoneConfig, Changes)> {
        let cfg = self.follow_zone(p, zone).await?;
        let changes = self
            .store
            .changes(zone.clone(), after, limit, self.clock.now())
            .await?;
        Ok((cfg, changes))
    }

    /// Ticks after every durable commit: followers wake on it and read again.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.commits()
    }

    /// Records passages a gate reports, each once. Every passage must name a gate of the
    /// caller's zone, a lane of that gate and the lane's direction; the batch is refused
    /// whole otherwise, naming the passage.
    pub async fn report_passages(&self, p: &Principal, passages: Vec<Passage>) -> Result<Reported> {
        self.report_passages_through(p, passages, None).await
    }

    /// [`App::report_passages`], and with `through` = `(gate, t)` that `gate` (of the
    /// caller's scope, NOT_FOUND otherwise; every passage of the batch must be its) has
    /// delivered every passage it decided before `t` — in the same commit. The no-show sweep
    /// waits for every gate of a zone to report past a booking's entry period. A mark ahead of
    /// the scheduler's clock counts as now.
    pub async fn report_passages_through(
        &self,
        p: &Principal,
        passages: Vec<Passage>,
        through: Option<(GateId, DateTime<Utc>)>,
    ) -> Result<Reported> {
        scope::role(p, scope::GATES)?;
        if passages.len() > MAX_PASSAGES {
            return Err(Error::invalid(
                "passages",
                format!("has {}; at most {MAX_PASSAGES} per call", passages.len()),
            ));
        }
        let gates = self.store.gates().await?;
        for (i, x) in passages.iter().enumerate() {
            check_passage(p, &gates, x, &format!("passages[{i}]"))?;
        }
        let through = match through {
            Some((gate, t)) => Some(self.reporter(p, &gates, &passages, gate, t)?),
            None => None,
        };
        let reported = self
            .store
            .report_passages_through(passages.clone(), through)
            .await?;
        let new: HashSet<PassageId> = reported.new.iter().copied().collect();
        let new: Vec<&Passage> = passages.iter().filter(|x| new.contains(&x.id)).collect();
        self.metrics.passages_recorded(&new);
        for x in new {
            if x.direction == Direction::Out && x.verdict == Verdict::Allow {
                self.observe_exit(x.booking, &x.zone, x.decided_at).await;
            }
        }
        Ok(reported)
    }

    /// The report mark of a batch: a gate of the caller's scope whose every passage of the
    /// batch is, at the latest now.
    fn reporter(
        &self,
        p: &Principal,
        gates: &[Gate],
        passages: &[Passage],
        gate: GateId,
        t: DateTime<Utc>,
    ) -> Result<(GateId, DateTime<Utc>)> {
        if !gates.iter().any(|g| g.id == gate && scope::sees_gate(p, g)) {
            return Err(Error::not_found("gate", &gate));
        }
        if let Some(i) = passages.iter().position(|x| x.gate != gate) {
            return Err(Error::invalid(
                format!("passages[{i}].gate_id"),
                format!("is not {gate}, the gate whose report this is"),
            ));
        }
        Ok((gate, t.min(self.clock.now())))
    }

    /// The commands for `gate` from now on, for its agent (a gate token of its zone).
    pub async fn gate_commands(
        &self,
        p: &Principal,
        gate: &GateId,
    ) -> Result<broadcast::Receiver<GateCommand>> {
        scope::role(p, scope::GATES)?;
        let found = self
            .store
            .gates()
            .await?
            .into_iter()
            .find(|g| g.id == *gate);
        let gate = found
            .filter(|g| scope::sees_gate(p, g))
            .ok_or_else(|| Error::not_found("gate", gate))?;
        tracing::info!(gate = %gate.id, "gate agent listening for commands");
        Ok(self.commands.subscribe(&gate.id))
    }

    /// Referrals of the caller's scope (of `zone` when given), open ones only unless `all`.
    pub async fn list_referrals(
        &self,
        p: &Principal,
        zone: Option<ZoneId>,
        all: bool,
    ) -> Result<Vec<Referral>> {
        scope::role(p, scope::OPERATORS)?;
        let zone = scope::listed_zone(p, zone)?;
        Ok(self.store.referrals(zone, all).await?)
    }

    /// Passages of the caller's scope after `after`, oldest first.
    pub async fn list_passages(
        &self,
        p: &Principal,
        zone: Option<ZoneId>,
        after: Option<PassageId>,
        page: usize,
    ) -> Result<crate::Page<Passage>> {
        scope::role(p, scope::OPERATORS)?;
        let zone = scope::listed_zone(p, zone)?;
        let page = match page {
            0 => 100,
            n @ 1..=MAX_PASSAGE_PAGE => n,
            n => {
                return Err(Error::invalid(
                    "page_size",
                    format!("is {n}; at most {MAX_PASSAGE_PAGE}"),
                ));
            }
        };
        let mut items = self.store.passages(zone, after, page + 1).await?;
        let more = items.len() > page;
        items.truncate(page);
        Ok(crate::Page { items, more })
    }

    /// Passages of the caller's scope in the order they were recorded, after recording
    /// number `after` (the live feed).
    pub async fn recorded_passages(
        &self,
        p: &Principal,
        after: u64,
        limit: usize,
    ) -> Result<bawaba_store::Recorded> {
        scope::role(p, scope::OPERATORS)?;
        Ok(self
            .store
            .recorded_passages(p.zone.clone(), after, limit)
            .await?)
    }

    /// Resolves a referral of the caller's scope and, on approval, sends the referred gate's
    /// agent a barrier pulse for the referred lane and, for an exit, observes the truck's
    /// turn time. A booking the operator names must be one the caller may see (any other is
    /// NOT_FOUND, as for one that does not exist). Answers the resolved referral and whether
    /// an agent of the gate was listening.
    pub async fn resolve_referral(
        &self,
        p: &Principal,
        id: PassageId,
        res: Resolution,
    ) -> Result<(Referral, bool)> {
        scope::role(p, scope::OPERATORS)?;
        // Only referrals in scope are found; any other is answered as one that does not exist.
        let known = self.store.referrals(p.zone.clone(), true).await?;
        let Some(referral) = known.iter().find(|x| x.passage.id == id) else {
            return Err(Error::not_found("referral", id));
        };
        if res.approve
            && let Some(b) = res.booking
        {
            self.get_booking(p, b).await?;
        }
        let res = Resolution {
            reason: res.reason.trim().to_owned(),
            ..res
        };
        let now = self.clock.now();
        if res.approve && referral.passage.direction == Direction::In {
            self.refuse_entry_into_closed_zone(&referral.passage.zone, now)
                .await?;
        }
        let approve = res.approve;
        let resolved = self
            .store
            .resolve_referral(id, res, Who::from(p), now)
            .await?;
        let approved = resolved.state == ReferralState::Approved;
        let x = &resolved.passage;
        let delivered = approved
            && self.commands.send(
                &x.gate,
                GateCommand::PulseBarrier {
                    lane: x.lane.clone(),
                    event_id: id,
                },
            );
        tracing::info!(referral = %id, approve, by = %p.label, delivered, "referral resolved");
        if approved
            && x.direction == Direction::Out
            && let Some(at) = resolved.resolved_at
        {
            self.observe_exit(x.booking, &x.zone, at).await;
        }
        Ok((resolved, delivered))
    }

    /// An operator cannot let a truck into a closed zone either: approving a referred entry
    /// while the zone is closed is refused, naming the closure — unless the zone refers the
    /// trucks at its closed gates for an operator to decide.
    async fn refuse_entry_into_closed_zone(&self, zone: &ZoneId, now: DateTime<Utc>) -> Result<()> {
        let cfg = self.store.zone(zone.clone()).await?;
        match cfg.closed_at(now) {
            Some(c) if cfg.when_closed == WhenClosed::Deny => {
                Err(Error::Refused(bawaba_domain::Error::Precondition(format!(
                    "zone {zone} is closed until {} ({}): an entry cannot be approved",
                    local(c.to),
                    c.reason
                ))))
            }
            _ => Ok(()),
        }
    }

    /// Observes the turn time of a truck that left `zone` at `exited`: only when that exit is
    /// the one that closed the booking's stop there (the store recorded it at that time), so
    /// a stray or repeated exit observes nothing.
    async fn observe_exit(&self, booking: Option<BookingId>, zone: &ZoneId, exited: DateTime<Utc>) {
        let Some(id) = booking else { return };
        let Ok(b) = self.store.get_booking(Actor::Authority, id).await else {
            return;
        };
        let entered = b
            .stops
            .iter()
            .find(|s| s.zone == *zone && s.exited_at == Some(exited))
            .and_then(|s| s.entered_at);
        if let Some(entered) = entered {
            self.metrics.turn_time(zone, exited - entered);
        }
    }
}

/// A reported passage names a zone and gate of the caller's scope, a lane of that gate, and
/// the lane's direction.
fn check_passage(p: &Principal, gates: &[Gate], x: &Passage, at: &str) -> Result<()> {
    scope::zone(p, &x.zone)?;
    let gate = gates
        .iter()
        .find(|g| g.id == x.gate && scope::sees_gate(p, g))
        .ok_or_else(|| Error::not_found("gate", &x.gate))?;
    if gate.zone != x.zone {
        return Err(Error::invalid(
            format!("{at}.zone_id"),
            format!(
                "is {}; gate {} is a gate of zone {}",
                x.zone, gate.id, gate.zone
            ),
        ));
    }
    let lane = gate
        .lanes
        .iter()
        .find(|l| l.id == x.lane)
        .ok_or_else(|| Error::not_found("lane", format!("{}/{}", gate.id, x.lane)))?;
    if lane.direction != x.direction {
        return Err(Error::invalid(
            format!("{at}.direction"),
            format!(
                "is {}; lane {} of gate {} is an {} lane",
                x.direction.as_str(),
                lane.id,
                gate.id,
                lane.direction.as_str()
            ),
        ));
    }
    Ok(())
}
