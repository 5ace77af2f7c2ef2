//! `BookingService.WatchEvents`: a company's event log from a cursor, then each event as it
//! is committed, woken by the store's commit notifications.

use bawaba_app::App;
use bawaba_domain::access::Principal;
use bawaba_domain::event::{CompanyEvent, EventKind};
use bawaba_domain::ids::CompanyId;
use bawaba_store::Store;
use tokio::sync::mpsc;
use tonic::Status;

use crate::convert as cv;
use crate::error::status;
use crate::pb;

/// Events read from the store at a time.
const BATCH: usize = 200;

/// Sends `company`'s events after `cursor`, oldest first, and then each new one, until the
/// client goes away.
pub(crate) async fn follow<S: Store>(
    app: App<S>,
    who: Principal,
    company: CompanyId,
    mut cursor: u64,
    tx: mpsc::Sender<Result<pb::CompanyEvent, Status>>,
) {
    let mut commits = app.commits();
    loop {
        // Mark the current commit seen before reading, so a commit racing the read wakes us.
        commits.borrow_and_update();
        let read = app
            .company_events(&who, Some(company.clone()), cursor, BATCH)
            .await;
        let page = match read {
            Ok(page) => page,
            Err(e) => return drop(tx.send(Err(status(e))).await),
        };
        let bookings: Vec<_> = page.events.iter().map(|e| e.booking.clone()).collect();
        let zones = match app.zones_of(&bookings).await {
            Ok(zones) => zones,
            Err(e) => return drop(tx.send(Err(status(e))).await),
        };
        let full = page.events.len() == BATCH;
        for e in &page.events {
            cursor = e.seq;
            if tx.send(Ok(pb_event(e, &zones))).await.is_err() {
                return;
            }
        }
        if !full {
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
        }
    }
}

fn pb_event(e: &CompanyEvent, zones: &[bawaba_domain::calendar::ZoneConfig]) -> pb::CompanyEvent {
    pb::CompanyEvent {
        event_id: e.id(),
        seq: e.seq,
        at: Some(cv::timestamp(e.at)),
        kind: pb_kind(e.kind).into(),
        zone_id: e.zone.as_ref().map(ToString::to_string).unwrap_or_default(),
        booking: Some(cv::pb_booking(&e.booking, zones)),
        closure: e.closure.as_ref().map(cv::pb_closure),
    }
}

fn pb_kind(k: EventKind) -> pb::EventKind {
    match k {
        EventKind::Created => pb::EventKind::Created,
        EventKind::Moved => pb::EventKind::Moved,
        EventKind::Cancelled => pb::EventKind::Cancelled,
        EventKind::Entered => pb::EventKind::Entered,
        EventKind::Exited => pb::EventKind::Exited,
        EventKind::NoShow => pb::EventKind::NoShow,
        EventKind::NoShowTakenBack => pb::EventKind::NoShowTakenBack,
        EventKind::Changed => pb::EventKind::Changed,
        EventKind::HitByClosure => pb::EventKind::HitByClosure,
        EventKind::Rebooked => pb::EventKind::Rebooked,
        EventKind::Reminder => pb::EventKind::Reminder,
    }
}
