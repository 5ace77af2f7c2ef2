//! `SecurityService`: the watchlist over the application layer, and its wire conversions.

use bawaba_app::{WatchListing, scope};
use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
use bawaba_domain::{Error, Result};
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::convert::{self as cv, optional_time, timestamp};
use crate::error::status;
use crate::pb;
use crate::service::Api;

type Reply<T> = Result<Response<T>, Status>;

/// The target a request names: exactly one of a plate and a tag.
pub fn watch_target(plate: &str, tag: &str, at: &str) -> Result<WatchTarget> {
    WatchTarget::parse(plate, tag).map_err(|e| match e {
        Error::Invalid { field, reason } if !at.is_empty() => {
            Error::invalid(format!("{at}.{field}"), reason)
        }
        other => other,
    })
}

/// An entry from the wire (`added` is the receiver's to set; a gate takes it as sent).
pub fn watch_entry(e: &pb::WatchEntry, at: &str) -> Result<WatchEntry> {
    let f = |name: &str| format!("{at}.{name}");
    let action = match pb::WatchAction::try_from(e.action) {
        Ok(pb::WatchAction::Refer) => WatchAction::Refer,
        Ok(pb::WatchAction::Deny) => WatchAction::Deny,
        _ => return Err(Error::invalid(f("action"), "must be REFER or DENY")),
    };
    Ok(WatchEntry {
        target: watch_target(&e.plate, &e.tag, at)?,
        reason: e.reason.clone(),
        action,
        until: optional_time(e.until.as_ref(), &f("until"))?,
        added: optional_time(e.added.as_ref(), &f("added"))?.unwrap_or_default(),
    })
}

pub fn pb_watch(w: &WatchEntry) -> pb::WatchEntry {
    let (plate, tag) = match &w.target {
        WatchTarget::Plate(p) => (p.as_str().to_owned(), String::new()),
        WatchTarget::Tag(e) => (String::new(), e.to_string()),
    };
    pb::WatchEntry {
        plate,
        tag,
        reason: w.reason.clone(),
        action: match w.action {
            WatchAction::Refer => pb::WatchAction::Refer,
            WatchAction::Deny => pb::WatchAction::Deny,
        } as i32,
        until: w.until.map(timestamp),
        added: Some(timestamp(w.added)),
    }
}

fn zone_ids(zones: &[bawaba_domain::ids::ZoneId]) -> Vec<String> {
    zones.iter().map(ToString::to_string).collect()
}

fn zone(raw: &str) -> Result<Option<bawaba_domain::ids::ZoneId>> {
    (!raw.is_empty())
        .then(|| cv::zone_id(raw, "zone_id"))
        .transpose()
}

#[tonic::async_trait]
impl<S: Store> pb::security_service_server::SecurityService for Api<S> {
    async fn add_watch(&self, req: Request<pb::AddWatchRequest>) -> Reply<pb::WatchResponse> {
        let p = self.who(&req)?;
        // The role first: a caller who may not keep the list learns nothing of its input.
        scope::role(&p, scope::SECURITY).map_err(status)?;
        let r = req.into_inner();
        let zone = zone(&r.zone_id).map_err(status)?;
        let entry = r
            .entry
            .as_ref()
            .ok_or_else(|| Error::invalid("entry", "missing"))
            .and_then(|e| watch_entry(e, "entry"))
            .map_err(status)?;
        let WatchListing { entry, zones } =
            self.app.add_watch(&p, zone, entry).await.map_err(status)?;
        Ok(Response::new(pb::WatchResponse {
            zone_ids: zone_ids(&zones),
            entry: Some(pb_watch(&entry)),
        }))
    }

    async fn remove_watch(&self, req: Request<pb::RemoveWatchRequest>) -> Reply<pb::WatchResponse> {
        let p = self.who(&req)?;
        scope::role(&p, scope::SECURITY).map_err(status)?;
        let r = req.into_inner();
        let zone = zone(&r.zone_id).map_err(status)?;
        let target = watch_target(&r.plate, &r.tag, "").map_err(status)?;
        let zones = self
            .app
            .remove_watch(&p, zone, target)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::WatchResponse {
            zone_ids: zone_ids(&zones),
            entry: None,
        }))
    }

    async fn list_watch(&self, req: Request<pb::ListWatchRequest>) -> Reply<pb::ListWatchResponse> {
        let p = self.who(&req)?;
        scope::role(&p, scope::SECURITY).map_err(status)?;
        let zone = zone(&req.get_ref().zone_id).map_err(status)?;
        let listed = self.app.list_watch(&p, zone).await.map_err(status)?;
        Ok(Response::new(pb::ListWatchResponse {
            entries: listed
                .iter()
                .map(|l| pb::WatchListing {
                    entry: Some(pb_watch(&l.entry)),
                    zone_ids: zone_ids(&l.zones),
                })
                .collect(),
        }))
    }
}
