//! The BookingService, SlotService and AdminService implementations over any [`Store`].

use std::sync::Arc;

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{BookingRules, SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ledger::{Actor, BookingFilter};
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::auth::Authenticator;
use crate::convert::{self as cv, optional_time, required_time};
use crate::error::{domain_status, status};
use crate::pb;
use crate::server::Clock;

/// Most windows one ListWindows answers.
const MAX_WINDOWS: usize = 1000;
/// Largest ListBookings page.
const MAX_PAGE: usize = 500;

/// The API over a store. Cheap to clone.
#[derive(Debug)]
pub struct Api<S> {
    pub(crate) store: Arc<S>,
    pub(crate) auth: Authenticator,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) commands: Arc<crate::gate::Commands>,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

impl<S> Clone for Api<S> {
    fn clone(&self) -> Self {
        Api {
            store: Arc::clone(&self.store),
            auth: self.auth.clone(),
            clock: Arc::clone(&self.clock),
            commands: Arc::clone(&self.commands),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn bad(e: bawaba_domain::Error) -> Status {
    domain_status(e)
}

impl<S: Store> Api<S> {
    pub fn new(
        store: Arc<S>,
        auth: Authenticator,
        clock: Arc<dyn Clock>,
        commands: Arc<crate::gate::Commands>,
    ) -> Self {
        Api {
            store,
            auth,
            clock,
            commands,
            metrics: Arc::default(),
        }
    }

    /// Counts bookings and passages into `metrics` instead of a registry of its own.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub(crate) fn who<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Principal, Status> {
        let p = self.auth.principal(req)?;
        p.require(roles).map_err(bad)?;
        Ok(p)
    }

    async fn booking_reply(
        &self,
        b: &bawaba_domain::ledger::Booking,
    ) -> Result<pb::Booking, Status> {
        // Only the zones of its stops (usually one), not every zone.
        let mut zones = Vec::new();
        for z in b.zones() {
            zones.push(self.store.zone(z.clone()).await.map_err(status)?);
        }
        Ok(cv::pb_booking(b, &zones))
    }

    fn authority<T>(&self, req: &Request<T>) -> Result<(), Status> {
        self.who(req, &[Role::Authority]).map(drop)
    }
}

const ANY: &[Role] = &[Role::Company, Role::Gate, Role::Operator, Role::Authority];

#[tonic::async_trait]
impl<S: Store> pb::booking_service_server::BookingService for Api<S> {
    async fn create_booking(
        &self,
        req: Request<pb::CreateBookingRequest>,
    ) -> Reply<pb::CreateBookingResponse> {
        let reply: Reply<pb::CreateBookingResponse> = async {
            let p = self.who(&req, &[Role::Company, Role::Authority])?;
            let req = req.into_inner();
            let company = match (&p.company, req.company_id.is_empty()) {
                (Some(own), true) => own.clone(),
                (Some(own), false) if req.company_id == own.as_str() => own.clone(),
                (Some(_), false) => {
                    return Err(Status::permission_denied(
                        "company_id: a company token books only for its own company",
                    ));
                }
                (None, false) => cv::company_id(&req.company_id, "company_id").map_err(bad)?,
                (None, true) => {
                    return Err(crate::error::invalid(
                        "company_id",
                        "is required when the authority books",
                    ));
                }
            };
            let new = cv::new_booking(req, company).map_err(bad)?;
            let created = self
                .store
                .create_booking(new, self.clock.now())
                .await
                .map_err(status)?;
            if !created.replayed {
                tracing::info!(booking = %created.booking.id, company = %created.booking.company, plate = %created.booking.plate, "booked");
            }
            Ok(Response::new(pb::CreateBookingResponse {
                booking: Some(self.booking_reply(&created.booking).await?),
                replayed: created.replayed,
            }))
        }
        .await;
        self.metrics.booking_reply("create", &reply, |r| {
            if r.get_ref().replayed {
                "replayed"
            } else {
                "created"
            }
        });
        reply
    }

    async fn get_booking(&self, req: Request<pb::GetBookingRequest>) -> Reply<pb::Booking> {
        let p = self.who(&req, ANY)?;
        let id = cv::booking_id(&req.get_ref().booking_id, "booking_id").map_err(bad)?;
        let b = self
            .store
            .get_booking(p.reader(), id)
            .await
            .map_err(status)?;
        Ok(Response::new(self.booking_reply(&b).await?))
    }

    async fn list_bookings(
        &self,
        req: Request<pb::ListBookingsRequest>,
    ) -> Reply<pb::ListBookingsResponse> {
        let p = self.who(&req, ANY)?;
        let r = req.into_inner();
        let company = match (p.reader(), r.company_id.is_empty()) {
            (Actor::Company(own), _)
                if !r.company_id.is_empty() && r.company_id != own.as_str() =>
            {
                return Err(Status::permission_denied(
                    "company_id: a company token lists only its own bookings",
                ));
            }
            (Actor::Company(own), _) => Some(own),
            (Actor::Authority, true) => None,
            (Actor::Authority, false) => {
                Some(cv::company_id(&r.company_id, "company_id").map_err(bad)?)
            }
        };
        let zone = match (r.zone_id.is_empty(), &p.zone) {
            (false, _) => Some(cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?),
            (true, limited) => limited.clone(),
        };
        if let (Some(limit), Some(z)) = (&p.zone, &zone)
            && limit != z
        {
            return Err(Status::permission_denied(format!(
                "zone_id: this token is limited to zone {limit}"
            )));
        }
        let page = match r.page_size {
            0 => 50,
            n if n as usize > MAX_PAGE => {
                return Err(crate::error::invalid(
                    "page_size",
                    &format!("is {n}; at most {MAX_PAGE}"),
                ));
            }
            n => n as usize,
        };
        let after = (!r.page_token.is_empty())
            .then(|| cv::booking_id(&r.page_token, "page_token"))
            .transpose()
            .map_err(bad)?;
        let filter = BookingFilter {
            company,
            zone,
            state: cv::state_filter(r.state).map_err(bad)?,
            window_from: optional_time(r.window_from.as_ref(), "window_from").map_err(bad)?,
            window_to: optional_time(r.window_to.as_ref(), "window_to").map_err(bad)?,
        };
        // One more than the page tells whether another page follows.
        let mut found = self
            .store
            .list_bookings(filter, after, page + 1)
            .await
            .map_err(status)?;
        let more = found.len() > page;
        found.truncate(page);
        let zones = self.store.zones().await.map_err(status)?;
        Ok(Response::new(pb::ListBookingsResponse {
            next_page_token: if more {
                found.last().map(|b| b.id.to_string()).unwrap_or_default()
            } else {
                String::new()
            },
            bookings: found.iter().map(|b| cv::pb_booking(b, &zones)).collect(),
        }))
    }

    async fn move_booking(&self, req: Request<pb::MoveBookingRequest>) -> Reply<pb::Booking> {
        let reply: Reply<pb::Booking> = async {
            let p = self.who(&req, &[Role::Company, Role::Authority])?;
            let r = req.into_inner();
            let id = cv::booking_id(&r.booking_id, "booking_id").map_err(bad)?;
            let new_start =
                required_time(r.new_window_start.as_ref(), "new_window_start").map_err(bad)?;
            let actor = p.booking_actor().map_err(bad)?;
            let b = self
                .store
                .move_booking(
                    actor,
                    id,
                    r.stop_index as usize,
                    new_start,
                    self.clock.now(),
                )
                .await
                .map_err(status)?;
            Ok(Response::new(self.booking_reply(&b).await?))
        }
        .await;
        self.metrics.booking_reply("move", &reply, |_| "moved");
        reply
    }

    async fn cancel_booking(&self, req: Request<pb::CancelBookingRequest>) -> Reply<pb::Booking> {
        let reply: Reply<pb::Booking> = async {
            let p = self.who(&req, &[Role::Company, Role::Authority])?;
            let r = req.into_inner();
            let id = cv::booking_id(&r.booking_id, "booking_id").map_err(bad)?;
            let actor = p.booking_actor().map_err(bad)?;
            let b = self
                .store
                .cancel_booking(actor, id, r.reason, self.clock.now())
                .await
                .map_err(status)?;
            Ok(Response::new(self.booking_reply(&b).await?))
        }
        .await;
        self.metrics
            .booking_reply("cancel", &reply, |_| "cancelled");
        reply
    }
}

#[tonic::async_trait]
impl<S: Store> pb::slot_service_server::SlotService for Api<S> {
    async fn list_windows(
        &self,
        req: Request<pb::ListWindowsRequest>,
    ) -> Reply<pb::ListWindowsResponse> {
        self.who(&req, ANY)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let from = required_time(r.from.as_ref(), "from").map_err(bad)?;
        let to = required_time(r.to.as_ref(), "to").map_err(bad)?;
        if to <= from {
            return Err(crate::error::invalid("to", "must be after from"));
        }
        let windows = self
            .store
            .list_windows(zone.clone(), from, to, MAX_WINDOWS)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListWindowsResponse {
            windows: windows.iter().map(|w| cv::pb_window(&zone, w)).collect(),
        }))
    }

    async fn find_slots(&self, req: Request<pb::FindSlotsRequest>) -> Reply<pb::FindSlotsResponse> {
        let p = self.who(&req, ANY)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let t = cv::transaction_type(r.transaction_type, "transaction_type").map_err(bad)?;
        let now = self.clock.now();
        let preferred = optional_time(r.preferred.as_ref(), "preferred")
            .map_err(bad)?
            .unwrap_or(now);
        let count = match r.count {
            0 => 5,
            n if n as usize > bawaba_domain::ledger::MAX_FIND_SLOTS => {
                return Err(crate::error::invalid(
                    "count",
                    &format!("is {n}; at most {}", bawaba_domain::ledger::MAX_FIND_SLOTS),
                ));
            }
            n => n as usize,
        };
        let windows = self
            .store
            .find_slots(zone.clone(), t, p.company.clone(), preferred, count, now)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::FindSlotsResponse {
            windows: windows.iter().map(|w| cv::pb_window(&zone, w)).collect(),
        }))
    }
}

#[tonic::async_trait]
impl<S: Store> pb::admin_service_server::AdminService for Api<S> {
    async fn list_zones(&self, req: Request<pb::ListZonesRequest>) -> Reply<pb::ListZonesResponse> {
        self.who(&req, ANY)?;
        let zones = self.store.zones().await.map_err(status)?;
        Ok(Response::new(pb::ListZonesResponse {
            zones: zones.iter().map(cv::pb_zone).collect(),
        }))
    }

    async fn upsert_zone(&self, req: Request<pb::UpsertZoneRequest>) -> Reply<pb::Zone> {
        self.authority(&req)?;
        let r = req.into_inner();
        let id = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let slot = SlotLength::from_minutes(r.slot_minutes).map_err(bad)?;
        let mut cfg = ZoneConfig::new(
            id,
            r.name,
            slot,
            WindowCapacity::uniform(r.default_capacity),
        );
        cfg.rules = match &r.rules {
            Some(rules) => cv::rules(rules).map_err(bad)?,
            None => BookingRules::default(),
        };
        let z = self.store.upsert_zone(cfg).await.map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn set_capacity_template(
        &self,
        req: Request<pb::SetCapacityTemplateRequest>,
    ) -> Reply<pb::Zone> {
        self.authority(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let template = cv::template(r.default_capacity, &r.hours).map_err(bad)?;
        let z = self
            .store
            .set_template(zone, template)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn add_closure(
        &self,
        req: Request<pb::AddClosureRequest>,
    ) -> Reply<pb::AddClosureResponse> {
        self.authority(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let from = required_time(r.from.as_ref(), "from").map_err(bad)?;
        let to = required_time(r.to.as_ref(), "to").map_err(bad)?;
        let (closure, hit) = self
            .store
            .add_closure(zone.clone(), from, to, r.reason)
            .await
            .map_err(status)?;
        tracing::warn!(zone = %zone, from = %from, to = %to, reason = %closure.reason, affected = hit.len(), "zone closed");
        let zones = self.store.zones().await.map_err(status)?;
        Ok(Response::new(pb::AddClosureResponse {
            closure: Some(cv::pb_closure(&closure)),
            affected_bookings: hit.iter().map(|b| cv::pb_booking(b, &zones)).collect(),
        }))
    }

    async fn remove_closure(&self, req: Request<pb::RemoveClosureRequest>) -> Reply<pb::Zone> {
        self.authority(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let z = self
            .store
            .remove_closure(zone, r.closure_id)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn set_company_cap(&self, req: Request<pb::SetCompanyCapRequest>) -> Reply<pb::Zone> {
        self.authority(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(bad)?;
        let company = cv::company_id(&r.company_id, "company_id").map_err(bad)?;
        let percent = match r.percent {
            0 => None,
            p @ 1..=100 => Some(p as u8),
            p => {
                return Err(crate::error::invalid(
                    "percent",
                    &format!("is {p}; must be 1..=100, or 0 to clear"),
                ));
            }
        };
        let z = self
            .store
            .set_company_cap(zone, company, percent)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn list_gates(&self, req: Request<pb::ListGatesRequest>) -> Reply<pb::ListGatesResponse> {
        self.who(&req, ANY)?;
        let gates = self.store.gates().await.map_err(status)?;
        Ok(Response::new(pb::ListGatesResponse {
            gates: gates.iter().map(cv::pb_gate).collect(),
        }))
    }

    async fn upsert_gate(&self, req: Request<pb::Gate>) -> Reply<pb::Gate> {
        self.authority(&req)?;
        let gate = cv::gate(req.into_inner()).map_err(bad)?;
        let g = self.store.upsert_gate(gate).await.map_err(status)?;
        Ok(Response::new(cv::pb_gate(&g)))
    }

    async fn list_no_shows(
        &self,
        req: Request<pb::ListNoShowsRequest>,
    ) -> Reply<pb::ListNoShowsResponse> {
        self.authority(&req)?;
        let counts = self.store.no_shows().await.map_err(status)?;
        Ok(Response::new(pb::ListNoShowsResponse {
            companies: counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| pb::NoShowCount {
                    company_id: c.to_string(),
                    no_shows: n,
                })
                .collect(),
        }))
    }

    async fn run_no_show_sweep(
        &self,
        req: Request<pb::RunNoShowSweepRequest>,
    ) -> Reply<pb::RunNoShowSweepResponse> {
        self.authority(&req)?;
        let ids = self
            .store
            .sweep_no_shows(self.clock.now())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RunNoShowSweepResponse {
            marked_booking_ids: ids.iter().map(ToString::to_string).collect(),
        }))
    }
}
