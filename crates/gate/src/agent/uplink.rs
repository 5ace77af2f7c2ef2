//! The uplink: the outbox delivered to the scheduler, oldest first, a passage leaving it only
//! once acknowledged — and with every report the gate's *report mark*: the instant before
//! which every passage the gate decided has been delivered. The scheduler's no-show sweep waits
//! for every gate of a zone to report past a booking's entry period, so a truck let in while
//! the link was down is never marked a no-show meanwhile.
//!
//! The mark is the earliest of: the clock now, the decisions under way in the lanes (a
//! decision reads the clock before its passage reaches the outbox), and the passages left in
//! the outbox after this report. A lane reads the clock and registers its decision under one
//! lock, and the uplink reads the clock and the registrations under the same lock, so a
//! decision either counts as under way or reads a later time than the mark.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bawaba_domain::ids::{LaneId, PassageId};
use bawaba_domain::passage::Passage;
use bawaba_grpc::{convert as cv, pb};
use chrono::{DateTime, TimeDelta, Utc};

use super::{BACKOFF_START, Shared, backoff, connect};

/// Passages sent per ReportPassages call.
const UPLINK_BATCH: usize = 200;
/// How long the uplink lets passages gather before reporting them.
const UPLINK_GATHER: Duration = Duration::from_millis(20);
/// Longest time (of the agent's clock) between two reports while the outbox is empty: the
/// report mark of an idle gate moves on at least this often.
const HEARTBEAT: TimeDelta = TimeDelta::seconds(30);

/// The lanes' decisions under way, each with the instant it read from the clock.
#[derive(Debug, Default)]
pub(super) struct Deciding(Mutex<BTreeMap<LaneId, DateTime<Utc>>>);

impl Deciding {
    /// Reads the clock for a decision of `lane` and registers it as under way.
    pub(super) fn begin(&self, lane: &LaneId, clock: &dyn bawaba_app::Clock) -> DateTime<Utc> {
        let mut d = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = clock.now();
        d.insert(lane.clone(), now);
        now
    }

    /// The decision of `lane` is over: its passages, if any, are in the outbox.
    pub(super) fn done(&self, lane: &LaneId) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(lane);
    }

    /// The clock now, and the earliest decision under way.
    fn now(&self, clock: &dyn bawaba_app::Clock) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        let d = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (clock.now(), d.values().min().copied())
    }
}

/// The next report: up to [`UPLINK_BATCH`] passages of the outbox, oldest first, and the mark
/// it carries.
fn next_report(shared: &Shared) -> (Vec<Passage>, DateTime<Utc>) {
    let (now, deciding) = shared.deciding.now(shared.clock.as_ref());
    let Ok(outbox) = shared.outbox.lock() else {
        return (Vec::new(), deciding.unwrap_or(now).min(now));
    };
    let batch: Vec<Passage> = outbox.iter().take(UPLINK_BATCH).cloned().collect();
    let left = outbox.iter().skip(UPLINK_BATCH).map(|p| p.decided_at).min();
    let mark = [Some(now), deciding, left].into_iter().flatten().min();
    (batch, mark.unwrap_or(now))
}

/// Delivers the outbox, oldest first, with the report mark; reports the mark alone when the
/// outbox has been empty for [`HEARTBEAT`], when asked to, and as the agent starts.
pub(super) async fn uplink_loop(shared: std::sync::Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut delay = BACKOFF_START;
    let mut client = None;
    // When the last report was acknowledged (agent clock); none yet: report at once.
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        let (batch, mark) = next_report(&shared);
        if batch.is_empty()
            && let Some(at) = last
        {
            tokio::select! {
                () = shared.outbox_ready.notified() => {
                    // Let a burst gather: one report (and one commit at the scheduler) for
                    // several passages, instead of one each.
                    tokio::time::sleep(UPLINK_GATHER).await;
                    continue;
                }
                () = shared.clock.sleep_until(at + HEARTBEAT) => {}
                () = shared.report_now.notified() => {}
                _ = shutdown.changed() => return,
            }
            last = None;
            continue;
        }
        match report(&shared, &mut client, &batch, mark).await {
            Ok(ids) => {
                delay = BACKOFF_START;
                last = Some(mark);
                acknowledged(&shared, &ids);
            }
            Err(e) => {
                client = None;
                tracing::warn!(error = %e, pending = batch.len(), "cannot deliver passages yet");
                if !backoff(&shared, &mut shutdown, &mut delay).await {
                    return;
                }
            }
        }
    }
}

type Client = pb::gate_service_client::GateServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        bawaba_grpc::client::BearerToken,
    >,
>;

/// One ReportPassages call: the acknowledged ids.
async fn report(
    shared: &Shared,
    client: &mut Option<Client>,
    batch: &[Passage],
    mark: DateTime<Utc>,
) -> Result<Vec<PassageId>, String> {
    if client.is_none() {
        let (ch, token) = connect(shared).await?;
        *client = Some(pb::gate_service_client::GateServiceClient::with_interceptor(ch, token));
    }
    let c = client.as_mut().ok_or("no client")?;
    let req = pb::ReportPassagesRequest {
        passages: batch.iter().map(cv::pb_passage).collect(),
        gate_id: shared.cfg.gate.to_string(),
        reported_through: Some(cv::timestamp(mark)),
    };
    let acks = c
        .report_passages(req)
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?;
    acks.into_inner()
        .acknowledged_event_ids
        .iter()
        .map(|id| PassageId::parse(id).map_err(|e| e.to_string()))
        .collect()
}

/// Forgets delivered passages: from the agent store, then from the outbox.
fn acknowledged(shared: &Shared, ids: &[PassageId]) {
    if let Err(e) = shared.store.acknowledged(ids) {
        tracing::error!(error = %e, "cannot mark passages delivered; they will be sent again");
    }
    if let Ok(mut o) = shared.outbox.lock() {
        o.retain(|p| !ids.contains(&p.id));
    }
    shared
        .counters
        .reported
        .fetch_add(ids.len() as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bawaba_app::SimClock;
    use chrono::TimeZone;

    /// The mark never passes a decision under way: a lane registers the instant it read under
    /// the lock the uplink reads the clock under.
    #[test]
    fn the_mark_stays_below_decisions_under_way() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        let clock = SimClock::new(t0);
        let d = Deciding::default();
        let (a, b) = (
            LaneId::parse("in-1").unwrap(),
            LaneId::parse("in-2").unwrap(),
        );
        assert_eq!(d.now(&clock), (t0, None));
        assert_eq!(d.begin(&a, &clock), t0);
        clock.advance(TimeDelta::seconds(5));
        assert_eq!(d.begin(&b, &clock), t0 + TimeDelta::seconds(5));
        clock.advance(TimeDelta::seconds(5));
        assert_eq!(d.now(&clock), (t0 + TimeDelta::seconds(10), Some(t0)));
        d.done(&a);
        assert_eq!(d.now(&clock).1, Some(t0 + TimeDelta::seconds(5)));
        d.done(&b);
        assert_eq!(d.now(&clock).1, None);
    }
}
