//! GateService (the agents' link: change-log sync, passage reports, commands) and
//! OperatorService (referrals).

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::ids::{BookingId, GateId, PassageId, ZoneId};
use bawaba_domain::ledger::{Actor, Booking, Direction};
use bawaba_domain::passage::{Passage, Referral, ReferralState, Verdict};
use bawaba_store::{Changes, Store};
use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::convert as cv;
use crate::error::{domain_status, status};
use crate::metrics::Metrics;
use crate::pb;
use crate::service::Api;

/// Most passages one ReportPassages takes.
pub const MAX_PASSAGES: usize = 1000;
/// Bookings per snapshot message (a booking is a few hundred bytes on the wire).
const SNAPSHOT_CHUNK: usize = 2000;
/// Changes read from the log at a time while catching up.
const SYNC_BATCH: usize = 500;

type Stream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// The command channels of the connected gate agents.
#[derive(Debug, Default)]
pub struct Commands {
    gates: Mutex<HashMap<GateId, broadcast::Sender<pb::GateCommand>>>,
}

impl Commands {
    fn sender(&self, gate: &GateId) -> broadcast::Sender<pb::GateCommand> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(gate.clone())
            .or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }

    /// Sends a command to a gate; whether an agent of that gate was listening.
    pub fn send(&self, gate: &GateId, command: pb::GateCommand) -> bool {
        self.sender(gate).send(command).is_ok()
    }

    fn subscribe(&self, gate: &GateId) -> broadcast::Receiver<pb::GateCommand> {
        self.sender(gate).subscribe()
    }
}

fn bad(e: bawaba_domain::Error) -> Status {
    domain_status(e)
}

/// The zone a listing covers: the one asked for (if the token may see it), else the token's
/// own zone, else every zone.
fn scope(p: &Principal, zone_id: &str) -> Result<Option<ZoneId>, Status> {
    let zone = match (zone_id.is_empty(), &p.zone) {
        (false, _) => Some(cv::zone_id(zone_id, "zone_id").map_err(bad)?),
        (true, limited) => limited.clone(),
    };
    if let Some(z) = &zone {
        p.require_zone(z).map_err(bad)?;
    }
    Ok(zone)
}

impl<S: Store> Api<S> {
    fn gate_principal<T>(&self, req: &Request<T>, zone: &ZoneId) -> Result<Principal, Status> {
        let p = self.who(req, &[Role::Gate, Role::Authority])?;
        p.require_zone(zone).map_err(bad)?;
        Ok(p)
    }
}

/// Follows a zone's change log into `tx` until the receiver goes away.
async fn follow<S: Store>(
    store: Arc<S>,
    zone: ZoneId,
    mut cursor: u64,
    clock: Arc<dyn crate::Clock>,
    tx: mpsc::Sender<Result<pb::SyncBookingsResponse, Status>>,
) {
    let mut commits = store.commits();
    let mut sent_zone = None;
    loop {
        // Mark the current commit seen before reading, so a commit racing the read wakes us.
        commits.borrow_and_update();
        let cfg = match store.zone(zone.clone()).await {
            Ok(cfg) => cfg,
            Err(e) => return drop(tx.send(Err(status(e))).await),
        };
        let zones = [cfg.clone()];
        let booking = |b: &Booking| cv::pb_booking(b, &zones);
        let mut zone_msg = (sent_zone.as_ref() != Some(&cfg)).then(|| cv::pb_zone(&cfg));
        sent_zone = Some(cfg.clone());
        let (events, head) = match store
            .changes(zone.clone(), cursor, SYNC_BATCH, clock.now())
            .await
        {
            Err(e) => return drop(tx.send(Err(status(e))).await),
            Ok(Changes::Snapshot { seq, bookings }) => {
                cursor = seq;
                let chunks: Vec<_> = bookings.chunks(SNAPSHOT_CHUNK).collect();
                let last = chunks.len().saturating_sub(1);
                let events = if chunks.is_empty() {
                    vec![pb::ZoneSnapshot {
                        seq,
                        bookings: vec![],
                        more: false,
                    }]
                } else {
                    chunks
                        .iter()
                        .enumerate()
                        .map(|(i, c)| pb::ZoneSnapshot {
                            seq,
                            bookings: c.iter().map(booking).collect(),
                            more: i < last,
                        })
                        .collect()
                };
                (
                    events
                        .into_iter()
                        .map(pb::sync_bookings_response::Event::Snapshot)
                        .collect::<Vec<_>>(),
                    seq,
                )
            }
            Ok(Changes::Entries { entries, head }) => {
                if let Some(last) = entries.last() {
                    cursor = last.seq;
                }
                let events: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        pb::sync_bookings_response::Event::Change(pb::BookingChange {
                            seq: e.seq,
                            booking: Some(booking(&e.booking)),
                        })
                    })
                    .collect();
                (events, head)
            }
        };
        let caught_up = cursor >= head || events.is_empty();
        if events.is_empty()
            && let Some(z) = zone_msg.take()
        {
            // A configuration change alone.
            if tx
                .send(Ok(pb::SyncBookingsResponse {
                    zone: Some(z),
                    event: None,
                    head_seq: head,
                }))
                .await
                .is_err()
            {
                return;
            }
        }
        for event in events {
            let msg = pb::SyncBookingsResponse {
                zone: zone_msg.take(),
                event: Some(event),
                head_seq: head,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return;
            }
        }
        if caught_up {
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
        }
    }
}

/// Observes the turn time of a truck that left `zone` at `exited`: through an exit passage
/// let through, or one an operator approved. Only when that exit is the one that closed the
/// booking's stop there (the store recorded it at that time), so a stray or repeated exit
/// observes nothing.
async fn observe_exit<S: Store>(
    store: &S,
    metrics: &Metrics,
    booking: Option<BookingId>,
    zone: &ZoneId,
    exited: DateTime<Utc>,
) {
    let Some(id) = booking else { return };
    let Ok(b) = store.get_booking(Actor::Authority, id).await else {
        return;
    };
    let entered = b
        .stops
        .iter()
        .find(|s| s.zone == *zone && s.exited_at == Some(exited))
        .and_then(|s| s.entered_at);
    if let Some(entered) = entered {
        metrics.turn_time(zone, exited - entered);
    }
}

#[tonic::async_trait]
impl<S: Store> pb::gate_service_server::GateService for Api<S> {
    type SyncBookingsStream = Stream<pb::SyncBookingsResponse>;
    type GateCommandsStream = Stream<pb::GateCommand>;

    async fn sync_bookings(
        &self,
        req: Request<pb::SyncBookingsRequest>,
    ) -> Result<Response<Self::SyncBookingsStream>, Status> {
        let zone = cv::zone_id(&req.get_ref().zone_id, "zone_id").map_err(bad)?;
        self.gate_principal(&req, &zone)?;
        // Fail now, not inside the stream, for an unknown zone.
        self.store.zone(zone.clone()).await.map_err(status)?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(follow(
            Arc::clone(&self.store),
            zone,
            req.get_ref().after_seq,
            Arc::clone(&self.clock),
            tx,
        ));
        Ok(Response::new(until_revoked(
            Box::pin(ReceiverStream::new(rx)),
            self.auth.revoked(&req),
        )))
    }

    async fn report_passages(
        &self,
        req: Request<pb::ReportPassagesRequest>,
    ) -> Result<Response<pb::ReportPassagesResponse>, Status> {
        let p = self.who(&req, &[Role::Gate, Role::Authority])?;
        let passages = &req.get_ref().passages;
        if passages.len() > MAX_PASSAGES {
            return Err(crate::error::invalid(
                "passages",
                &format!("has {}; at most {MAX_PASSAGES} per call", passages.len()),
            ));
        }
        let parsed = passages
            .iter()
            .enumerate()
            .map(|(i, x)| cv::passage(x, &format!("passages[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        for x in &parsed {
            p.require_zone(&x.zone).map_err(bad)?;
        }
        let reported = self
            .store
            .report_passages(parsed.clone())
            .await
            .map_err(status)?;
        let new: HashSet<PassageId> = reported.new.into_iter().collect();
        let new: Vec<&Passage> = parsed.iter().filter(|p| new.contains(&p.id)).collect();
        self.metrics.passages_recorded(&new);
        for p in new {
            if p.direction == Direction::Out && p.verdict == Verdict::Allow {
                observe_exit(
                    &*self.store,
                    &self.metrics,
                    p.booking,
                    &p.zone,
                    p.decided_at,
                )
                .await;
            }
        }
        Ok(Response::new(pb::ReportPassagesResponse {
            acknowledged_event_ids: reported
                .acknowledged
                .iter()
                .map(ToString::to_string)
                .collect(),
        }))
    }

    async fn gate_commands(
        &self,
        req: Request<pb::GateCommandsRequest>,
    ) -> Result<Response<Self::GateCommandsStream>, Status> {
        let gate_id =
            GateId::parse(&req.get_ref().gate_id).map_err(|e| bad(e.in_field("gate_id")))?;
        let gate = self
            .store
            .gates()
            .await
            .map_err(status)?
            .into_iter()
            .find(|g| g.id == gate_id);
        let gate = gate.ok_or_else(|| Status::not_found(format!("gate {gate_id} not found")))?;
        self.gate_principal(&req, &gate.zone)?;
        let mut rx = self.commands.subscribe(&gate.id);
        tracing::info!(gate = %gate.id, "gate agent listening for commands");
        let stream = async_stream(
            move |tx: mpsc::Sender<Result<pb::GateCommand, Status>>| async move {
                loop {
                    // A client gone (or a revoked token) ends this at once, not at the next
                    // command for the gate.
                    let next = tokio::select! {
                        next = rx.recv() => next,
                        () = tx.closed() => return,
                    };
                    match next {
                        Ok(c) => {
                            if tx.send(Ok(c)).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(lost = n, "gate command stream lagged")
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            },
        );
        Ok(Response::new(until_revoked(
            stream,
            self.auth.revoked(&req),
        )))
    }
}

/// An operator's decision on the referral of passage `id`, with the reason that is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: PassageId,
    pub approve: bool,
    pub reason: String,
}

/// Resolves a referral for `who` (an operator of its zone, or the authority) and, on approval,
/// sends the gate's agent a barrier pulse for the referred lane and, for an exit, observes the
/// truck's turn time in `metrics`. The one code path of OperatorService.ResolveReferral and
/// the web dashboard. Answers the resolved referral and whether an agent of the gate was
/// listening.
pub async fn resolve_referral<S: Store>(
    store: &S,
    commands: &Commands,
    metrics: Option<&Metrics>,
    who: &Principal,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<(Referral, bool), bawaba_store::Error> {
    let Decision {
        id,
        approve,
        reason,
    } = decision;
    // The zone check needs the referral; an operator of another zone learns nothing more.
    let known = store.referrals(who.zone.clone(), true).await?;
    let Some(existing) = known.iter().find(|x| x.passage.id == id) else {
        return Err(bawaba_domain::Error::NotFound {
            what: "referral",
            id: id.to_string(),
        }
        .into());
    };
    who.require_zone(&existing.passage.zone)?;
    let resolved = store
        .resolve_referral(id, approve, who.label.clone(), reason, now)
        .await?;
    let delivered = resolved.state == ReferralState::Approved
        && commands.send(
            &resolved.passage.gate,
            pb::GateCommand {
                command: Some(pb::gate_command::Command::PulseBarrier(pb::PulseBarrier {
                    lane_id: resolved.passage.lane.to_string(),
                    event_id: id.to_string(),
                })),
            },
        );
    tracing::info!(referral = %id, approve, by = %who.label, delivered, "referral resolved");
    let exit = &resolved.passage;
    if resolved.state == ReferralState::Approved
        && exit.direction == Direction::Out
        && let (Some(metrics), Some(at)) = (metrics, resolved.resolved_at)
    {
        observe_exit(store, metrics, exit.booking, &exit.zone, at).await;
    }
    Ok((resolved, delivered))
}

/// `inner`, ended with UNAUTHENTICATED once `revoked` resolves: a stream lives no longer than
/// the token that opened it (`bawaba token revoke` cuts off a stolen gate PC's feed too).
fn until_revoked<T: Send + 'static>(
    mut inner: Stream<T>,
    revoked: impl std::future::Future<Output = ()> + Send + 'static,
) -> Stream<T> {
    async_stream(move |tx| async move {
        tokio::pin!(revoked);
        loop {
            tokio::select! {
                () = &mut revoked => {
                    let end = Status::unauthenticated("the token that opened this stream was revoked");
                    let _ = tx.send(Err(end)).await;
                    return;
                }
                item = inner.next() => match item {
                    Some(item) => if tx.send(item).await.is_err() { return },
                    None => return,
                },
                // The client went away: dropping `inner` tells its producer.
                () = tx.closed() => return,
            }
        }
    })
}

/// A stream fed by a spawned task.
fn async_stream<T: Send + 'static, F, Fut>(f: F) -> Stream<T>
where
    F: FnOnce(mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(f(tx));
    Box::pin(ReceiverStream::new(rx))
}

#[tonic::async_trait]
impl<S: Store> pb::operator_service_server::OperatorService for Api<S> {
    async fn list_referrals(
        &self,
        req: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let p = self.who(&req, &[Role::Operator, Role::Authority])?;
        let r = req.into_inner();
        let zone = scope(&p, &r.zone_id)?;
        let referrals = self
            .store
            .referrals(zone, r.include_resolved)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListReferralsResponse {
            referrals: referrals
                .iter()
                .map(|r| cv::pb_referral(r, false))
                .collect(),
        }))
    }

    async fn list_passages(
        &self,
        req: Request<pb::ListPassagesRequest>,
    ) -> Result<Response<pb::ListPassagesResponse>, Status> {
        let p = self.who(&req, &[Role::Operator, Role::Authority])?;
        let r = req.into_inner();
        let zone = scope(&p, &r.zone_id)?;
        let page = match r.page_size {
            0 => 100,
            n @ 1..=1000 => n as usize,
            n => {
                return Err(crate::error::invalid(
                    "page_size",
                    &format!("is {n}; at most 1000"),
                ));
            }
        };
        let after = (!r.page_token.is_empty())
            .then(|| PassageId::parse(&r.page_token).map_err(|e| bad(e.in_field("page_token"))))
            .transpose()?;
        let mut found = self
            .store
            .passages(zone, after, page + 1)
            .await
            .map_err(status)?;
        let more = found.len() > page;
        found.truncate(page);
        Ok(Response::new(pb::ListPassagesResponse {
            next_page_token: if more {
                found.last().map(|p| p.id.to_string()).unwrap_or_default()
            } else {
                String::new()
            },
            passages: found.iter().map(cv::pb_passage).collect(),
        }))
    }

    async fn resolve_referral(
        &self,
        req: Request<pb::ResolveReferralRequest>,
    ) -> Result<Response<pb::Referral>, Status> {
        let p = self.who(&req, &[Role::Operator, Role::Authority])?;
        let r = req.into_inner();
        let id = PassageId::parse(&r.event_id).map_err(|e| bad(e.in_field("event_id")))?;
        let (resolved, delivered) = resolve_referral(
            &*self.store,
            &self.commands,
            Some(&self.metrics),
            &p,
            Decision {
                id,
                approve: r.approve,
                reason: r.reason,
            },
            self.clock.now(),
        )
        .await
        .map_err(status)?;
        Ok(Response::new(cv::pb_referral(&resolved, delivered)))
    }
}
