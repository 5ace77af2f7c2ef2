//! The capacity RPCs of `AdminService` (the whole template, part of it, one-off capacities)
//! and their wire conversions.

use bawaba_app::{CapacityChange, scope};
use bawaba_domain::calendar::CapacityOverride;
use bawaba_domain::{Error, Result};
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::convert::{self as cv, optional_time, required_time, timestamp};
use crate::error::status;
use crate::pb;
use crate::service::Api;

type Reply<T> = std::result::Result<Response<T>, Status>;

pub fn pb_override(o: &CapacityOverride) -> pb::CapacityOverride {
    pb::CapacityOverride {
        id: o.id,
        from: Some(timestamp(o.from)),
        to: Some(timestamp(o.to)),
        capacity: o.capacity.total,
        per_type: cv::pb_split(&o.capacity),
        reason: o.reason.clone(),
    }
}

pub fn capacity_override(o: &pb::CapacityOverride, at: &str) -> Result<CapacityOverride> {
    let f = |name: &str| format!("{at}.{name}");
    Ok(CapacityOverride {
        id: o.id,
        from: required_time(o.from.as_ref(), &f("from"))?,
        to: required_time(o.to.as_ref(), &f("to"))?,
        capacity: cv::window_capacity(o.capacity, &o.per_type, at)?,
        reason: o.reason.clone(),
    })
}

/// What a `SetCapacityRequest` changes: hours of weekdays, or a one-off for `[from, to)`.
pub fn capacity_change(r: &pb::SetCapacityRequest) -> Result<CapacityChange> {
    let capacity = cv::window_capacity(r.capacity, &r.per_type, "capacity")?;
    let from = optional_time(r.from.as_ref(), "from")?;
    let to = optional_time(r.to.as_ref(), "to")?;
    match (r.weekdays.is_empty(), from, to) {
        (false, None, None) => Ok(CapacityChange::Hours {
            days: r
                .weekdays
                .iter()
                .enumerate()
                .map(|(i, d)| cv::weekday(*d, &format!("weekdays[{i}]")))
                .collect::<Result<Vec<_>>>()?,
            hours: (r.from_hour, r.to_hour),
            capacity,
        }),
        (true, Some(from), Some(to)) => Ok(CapacityChange::Dates {
            from,
            to,
            capacity,
            reason: r.reason.clone(),
        }),
        (true, None, None) => Err(Error::invalid(
            "weekdays",
            "name weekdays and hours, or a from/to interval",
        )),
        (false, _, _) => Err(Error::invalid(
            "from",
            "give weekdays and hours, or from/to, not both",
        )),
        (true, _, _) => Err(Error::invalid("to", "give both from and to")),
    }
}

impl<S: Store> Api<S> {
    pub(crate) async fn set_template(
        &self,
        req: Request<pb::SetCapacityTemplateRequest>,
    ) -> Reply<pb::Zone> {
        self.change_capacity(req, |r| {
            let template = cv::template(r.default_capacity, &r.hours);
            (
                &r.zone_id,
                template.map(CapacityChange::Template),
                r.confirm,
            )
        })
        .await
    }

    pub(crate) async fn set_part(&self, req: Request<pb::SetCapacityRequest>) -> Reply<pb::Zone> {
        self.change_capacity(req, |r| (&r.zone_id, capacity_change(r), r.confirm))
            .await
    }

    /// A capacity change the request describes (its zone, the change, `confirm`), made once
    /// the caller's role is checked; the zone is checked before the change.
    async fn change_capacity<T>(
        &self,
        req: Request<T>,
        read: impl FnOnce(&T) -> (&String, Result<CapacityChange>, bool),
    ) -> Reply<pb::Zone> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let (zone, change, confirm) = read(&r);
        let zone = cv::zone_id(zone, "zone_id").map_err(status)?;
        let change = change.map_err(status)?;
        let z = self
            .app
            .set_capacity(&p, zone, change, confirm)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    pub(crate) async fn remove_one_off(
        &self,
        req: Request<pb::RemoveCapacityOverrideRequest>,
    ) -> Reply<pb::Zone> {
        let p = self.who(&req)?;
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let z = self
            .app
            .remove_override(&p, zone, r.override_id)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }
}
