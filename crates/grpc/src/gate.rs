//! GateService (the agents' link: change-log sync, passage reports, commands) and
//! OperatorService (referrals): decode, call the application layer, map the answer.

use std::pin::Pin;

use bawaba_app::{App, GateCommand, scope};
use bawaba_domain::access::Principal;
use bawaba_domain::ids::{GateId, PassageId, ZoneId};
use bawaba_domain::ledger::Booking;
use bawaba_domain::passage::Resolution;
use bawaba_store::{Changes, Store};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::convert as cv;
use crate::error::status;
use crate::pb;
use crate::service::Api;

/// Bookings per snapshot message (a booking is a few hundred bytes on the wire).
const SNAPSHOT_CHUNK: usize = 2000;
/// Changes read from the log at a time while catching up.
const SYNC_BATCH: usize = 500;

pub(crate) type Stream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// A zone given in a listing request: empty is none.
fn zone_filter(zone_id: &str) -> Result<Option<ZoneId>, Status> {
    (!zone_id.is_empty())
        .then(|| cv::zone_id(zone_id, "zone_id"))
        .transpose()
        .map_err(status)
}

/// A gate command for the wire.
fn pb_command(c: GateCommand) -> pb::GateCommand {
    match c {
        GateCommand::PulseBarrier { lane, event_id } => pb::GateCommand {
            command: Some(pb::gate_command::Command::PulseBarrier(pb::PulseBarrier {
                lane_id: lane.to_string(),
                event_id: event_id.to_string(),
            })),
        },
    }
}

/// Follows a zone's change log into `tx` until the receiver goes away.
async fn follow<S: Store>(
    app: App<S>,
    who: Principal,
    zone: ZoneId,
    mut cursor: u64,
    tx: mpsc::Sender<Result<pb::SyncBookingsResponse, Status>>,
) {
    let mut commits = app.commits();
    let mut sent_zone = None;
    loop {
        // Mark the current commit seen before reading, so a commit racing the read wakes us.
        commits.borrow_and_update();
        let (cfg, changes) = match app.zone_changes(&who, &zone, cursor, SYNC_BATCH).await {
            Ok(read) => read,
            Err(e) => return drop(tx.send(Err(status(e))).await),
        };
        let zones = [cfg.clone()];
        let booking = |b: &Booking| cv::pb_booking(b, &zones);
        let mut zone_msg = (sent_zone.as_ref() != Some(&cfg)).then(|| cv::pb_zone(&cfg));
        sent_zone = Some(cfg.clone());
        let (events, head) = match changes {
            Changes::Snapshot { seq, bookings } => {
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
            Changes::Entries { entries, head } => {
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

#[tonic::async_trait]
impl<S: Store> pb::gate_service_server::GateService for Api<S> {
    type SyncBookingsStream = Stream<pb::SyncBookingsResponse>;
    type GateCommandsStream = Stream<pb::GateCommand>;

    async fn sync_bookings(
        &self,
        req: Request<pb::SyncBookingsRequest>,
    ) -> Result<Response<Self::SyncBookingsStream>, Status> {
        let p = self.who(&req)?;
        let zone = cv::zone_id(&req.get_ref().zone_id, "zone_id").map_err(status)?;
        // Fail now, not inside the stream, for a zone that does not exist or is not the
        // caller's.
        self.app.follow_zone(&p, &zone).await.map_err(status)?;
        let (tx, rx) = mpsc::channel(256);
        let after = req.get_ref().after_seq;
        tokio::spawn(follow(self.app.clone(), p, zone, after, tx));
        Ok(Response::new(until_revoked(
            Box::pin(ReceiverStream::new(rx)),
            self.revoked(&req),
        )))
    }

    async fn report_passages(
        &self,
        req: Request<pb::ReportPassagesRequest>,
    ) -> Result<Response<pb::ReportPassagesResponse>, Status> {
        let p = self.who(&req)?;
        // The role first: a caller who may not report learns nothing of its input.
        scope::role(&p, scope::GATES).map_err(status)?;
        let parsed = req
            .get_ref()
            .passages
            .iter()
            .enumerate()
            .map(|(i, x)| cv::passage(x, &format!("passages[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(status)?;
        let through = cv::report_mark(req.get_ref()).map_err(status)?;
        let reported = self
            .app
            .report_passages_through(&p, parsed, through)
            .await
            .map_err(status)?;
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
        let p = self.who(&req)?;
        let gate_id =
            GateId::parse(&req.get_ref().gate_id).map_err(|e| status(e.in_field("gate_id")))?;
        let mut rx = self.app.gate_commands(&p, &gate_id).await.map_err(status)?;
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
                            if tx.send(Ok(pb_command(c))).await.is_err() {
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
        Ok(Response::new(until_revoked(stream, self.revoked(&req))))
    }
}

/// `inner`, ended with UNAUTHENTICATED once `revoked` resolves: a stream lives no longer than
/// the token that opened it (`bawaba token revoke` cuts off a stolen gate PC's feed too).
pub(crate) fn until_revoked<T: Send + 'static>(
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
        let p = self.who(&req)?;
        let r = req.into_inner();
        let zone = zone_filter(&r.zone_id)?;
        let referrals = self
            .app
            .list_referrals(&p, zone, r.include_resolved)
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
        let p = self.who(&req)?;
        let r = req.into_inner();
        let zone = zone_filter(&r.zone_id)?;
        let after = (!r.page_token.is_empty())
            .then(|| PassageId::parse(&r.page_token).map_err(|e| status(e.in_field("page_token"))))
            .transpose()?;
        let page = self
            .app
            .list_passages(&p, zone, after, r.page_size as usize)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListPassagesResponse {
            next_page_token: match (page.more, page.items.last()) {
                (true, Some(x)) => x.id.to_string(),
                _ => String::new(),
            },
            passages: page.items.iter().map(cv::pb_passage).collect(),
        }))
    }

    async fn resolve_referral(
        &self,
        req: Request<pb::ResolveReferralRequest>,
    ) -> Result<Response<pb::Referral>, Status> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let id = PassageId::parse(&r.event_id).map_err(|e| status(e.in_field("event_id")))?;
        let booking = (!r.booking_id.is_empty())
            .then(|| cv::booking_id(&r.booking_id, "booking_id"))
            .transpose()
            .map_err(status)?;
        let res = Resolution {
            approve: r.approve,
            reason: r.reason,
            booking,
        };
        let (resolved, delivered) = self
            .app
            .resolve_referral(&p, id, res)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_referral(&resolved, delivered)))
    }
}
