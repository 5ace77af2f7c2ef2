//! BookingService, SlotService and AdminService: decode, call the application layer, map
//! the answer. No rule and no authorization lives here (see `bawaba_app`).

use bawaba_app::{App, AuditQuery, BookingQuery, scope};
use bawaba_domain::access::Principal;
use bawaba_domain::audit::{AuditFilter, Door};
use bawaba_domain::calendar::{BookingRules, SlotLength, WindowCapacity, ZoneConfig};
use bawaba_domain::ledger::Booking;
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::convert::{self as cv, optional_time, required_time};
use crate::error::status;
use crate::pb;

/// The API over the application layer. Cheap to clone.
#[derive(Debug)]
pub struct Api<S> {
    pub(crate) app: App<S>,
}

impl<S> Clone for Api<S> {
    fn clone(&self) -> Self {
        Api {
            app: self.app.clone(),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

impl<S: Store> Api<S> {
    pub fn new(app: App<S>) -> Self {
        Api { app }
    }

    /// Who calls: the principal of the request's bearer token.
    pub(crate) fn who<T>(&self, req: &Request<T>) -> Result<Principal, Status> {
        let token = crate::auth::bearer(req)?;
        let door = match req.metadata().get(crate::DOOR_HEADER).map(|v| v.as_bytes()) {
            Some(b"cli") => Door::Cli,
            _ => Door::Grpc,
        };
        self.app.authenticate(token, door).map_err(status)
    }

    async fn bookings_reply(&self, bookings: &[Booking]) -> Result<Vec<pb::Booking>, Status> {
        let zones = self.app.zones_of(bookings).await.map_err(status)?;
        Ok(bookings.iter().map(|b| cv::pb_booking(b, &zones)).collect())
    }

    async fn booking_reply(&self, b: Booking) -> Reply<pb::Booking> {
        let mut one = self.bookings_reply(std::slice::from_ref(&b)).await?;
        Ok(Response::new(one.remove(0)))
    }
}

/// An optional id field: empty is none.
pub(crate) fn optional<T>(
    s: &str,
    parse: impl FnOnce(&str) -> bawaba_domain::Result<T>,
) -> Result<Option<T>, Status> {
    (!s.is_empty())
        .then(|| parse(s))
        .transpose()
        .map_err(status)
}

#[tonic::async_trait]
impl<S: Store> pb::booking_service_server::BookingService for Api<S> {
    async fn create_booking(
        &self,
        req: Request<pb::CreateBookingRequest>,
    ) -> Reply<pb::CreateBookingResponse> {
        let p = self.who(&req)?;
        let req = req.into_inner();
        let company = optional(&req.company_id, |s| cv::company_id(s, "company_id"))?;
        let created = self
            .app
            .create_booking(&p, company, |c| cv::new_booking(req, c))
            .await
            .map_err(status)?;
        let booking = self.booking_reply(created.booking).await?.into_inner();
        Ok(Response::new(pb::CreateBookingResponse {
            booking: Some(booking),
            replayed: created.replayed,
        }))
    }

    type WatchEventsStream = crate::gate::Stream<pb::CompanyEvent>;

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> Reply<Self::WatchEventsStream> {
        let p = self.who(&req)?;
        let r = req.get_ref();
        let company = optional(&r.company_id, |s| cv::company_id(s, "company_id"))?;
        // Refused now (role, another company, none named by the authority), not in the stream.
        let company = self.app.events_of(&p, company).map_err(status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let follow = crate::events::follow(self.app.clone(), p, company, r.after_seq, tx);
        tokio::spawn(follow);
        let stream = Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx));
        Ok(Response::new(crate::gate::until_revoked(
            stream,
            self.revoked(&req),
        )))
    }

    async fn get_booking(&self, req: Request<pb::GetBookingRequest>) -> Reply<pb::Booking> {
        let p = self.who(&req)?;
        let id = cv::booking_id(&req.get_ref().booking_id, "booking_id").map_err(status)?;
        let b = self.app.get_booking(&p, id).await.map_err(status)?;
        self.booking_reply(b).await
    }

    async fn list_bookings(
        &self,
        req: Request<pb::ListBookingsRequest>,
    ) -> Reply<pb::ListBookingsResponse> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let q = BookingQuery {
            company: optional(&r.company_id, |s| cv::company_id(s, "company_id"))?,
            zone: optional(&r.zone_id, |s| cv::zone_id(s, "zone_id"))?,
            state: cv::state_filter(r.state).map_err(status)?,
            window_from: optional_time(r.window_from.as_ref(), "window_from").map_err(status)?,
            window_to: optional_time(r.window_to.as_ref(), "window_to").map_err(status)?,
            after: optional(&r.page_token, |s| cv::booking_id(s, "page_token"))?,
            page_size: r.page_size as usize,
        };
        let page = self.app.list_bookings(&p, q).await.map_err(status)?;
        let next_page_token = match (page.more, page.items.last()) {
            (true, Some(b)) => b.id.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListBookingsResponse {
            bookings: self.bookings_reply(&page.items).await?,
            next_page_token,
        }))
    }

    async fn move_booking(&self, req: Request<pb::MoveBookingRequest>) -> Reply<pb::Booking> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let id = cv::booking_id(&r.booking_id, "booking_id").map_err(status)?;
        let new_start =
            required_time(r.new_window_start.as_ref(), "new_window_start").map_err(status)?;
        let b = self
            .app
            .move_booking(&p, id, r.stop_index as usize, new_start)
            .await
            .map_err(status)?;
        self.booking_reply(b).await
    }

    async fn cancel_booking(&self, req: Request<pb::CancelBookingRequest>) -> Reply<pb::Booking> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let id = cv::booking_id(&r.booking_id, "booking_id").map_err(status)?;
        let b = self
            .app
            .cancel_booking(&p, id, r.reason)
            .await
            .map_err(status)?;
        self.booking_reply(b).await
    }
}

#[tonic::async_trait]
impl<S: Store> pb::slot_service_server::SlotService for Api<S> {
    async fn list_windows(
        &self,
        req: Request<pb::ListWindowsRequest>,
    ) -> Reply<pb::ListWindowsResponse> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let from = required_time(r.from.as_ref(), "from").map_err(status)?;
        let to = required_time(r.to.as_ref(), "to").map_err(status)?;
        let windows = self
            .app
            .list_windows(&p, zone.clone(), from, to)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListWindowsResponse {
            windows: windows.iter().map(|w| cv::pb_window(&zone, w)).collect(),
        }))
    }

    async fn find_slots(&self, req: Request<pb::FindSlotsRequest>) -> Reply<pb::FindSlotsResponse> {
        let p = self.who(&req)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let t = cv::transaction_type(r.transaction_type, "transaction_type").map_err(status)?;
        let preferred = optional_time(r.preferred.as_ref(), "preferred").map_err(status)?;
        let windows = self
            .app
            .find_slots(&p, zone.clone(), t, preferred, r.count as usize)
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
        let p = self.who(&req)?;
        let zones = self.app.list_zones(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListZonesResponse {
            zones: zones.iter().map(cv::pb_zone).collect(),
        }))
    }

    async fn upsert_zone(&self, req: Request<pb::UpsertZoneRequest>) -> Reply<pb::Zone> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let id = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let slot = SlotLength::from_minutes(r.slot_minutes).map_err(status)?;
        let mut cfg = ZoneConfig::new(
            id,
            r.name,
            slot,
            WindowCapacity::uniform(r.default_capacity),
        );
        cfg.rules = match &r.rules {
            Some(rules) => cv::rules(rules).map_err(status)?,
            None => BookingRules::default(),
        };
        let z = self.app.upsert_zone(&p, cfg).await.map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn set_capacity_template(
        &self,
        req: Request<pb::SetCapacityTemplateRequest>,
    ) -> Reply<pb::Zone> {
        self.set_template(req).await
    }

    async fn set_capacity(&self, req: Request<pb::SetCapacityRequest>) -> Reply<pb::Zone> {
        self.set_part(req).await
    }

    async fn remove_capacity_override(
        &self,
        req: Request<pb::RemoveCapacityOverrideRequest>,
    ) -> Reply<pb::Zone> {
        self.remove_one_off(req).await
    }

    async fn add_closure(
        &self,
        req: Request<pb::AddClosureRequest>,
    ) -> Reply<pb::AddClosureResponse> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let from = required_time(r.from.as_ref(), "from").map_err(status)?;
        let to = required_time(r.to.as_ref(), "to").map_err(status)?;
        let policy = cv::closure_policy(r.policy).map_err(status)?;
        let c = self
            .app
            .add_closure(&p, zone, (from, to), r.reason, policy)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AddClosureResponse {
            closure: Some(cv::pb_closure(&c.closure)),
            affected_bookings: self.bookings_reply(&c.hit).await?,
            rebooked_booking_ids: c.rebooked.iter().map(ToString::to_string).collect(),
        }))
    }

    async fn remove_closure(
        &self,
        req: Request<pb::RemoveClosureRequest>,
    ) -> Reply<pb::RemoveClosureResponse> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let (z, back) = self
            .app
            .remove_closure(&p, zone, r.closure_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RemoveClosureResponse {
            zone: Some(cv::pb_zone(&z)),
            can_return: self.bookings_reply(&back).await?,
        }))
    }

    async fn set_company_cap(&self, req: Request<pb::SetCompanyCapRequest>) -> Reply<pb::Zone> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let zone = cv::zone_id(&r.zone_id, "zone_id").map_err(status)?;
        let company = cv::company_id(&r.company_id, "company_id").map_err(status)?;
        let z = self
            .app
            .set_company_cap(&p, zone, company, r.percent)
            .await
            .map_err(status)?;
        Ok(Response::new(cv::pb_zone(&z)))
    }

    async fn list_gates(&self, req: Request<pb::ListGatesRequest>) -> Reply<pb::ListGatesResponse> {
        let p = self.who(&req)?;
        let gates = self.app.list_gates(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListGatesResponse {
            gates: gates.iter().map(cv::pb_gate).collect(),
        }))
    }

    async fn upsert_gate(&self, req: Request<pb::Gate>) -> Reply<pb::Gate> {
        let p = self.who(&req)?;
        // The role first: a caller who may not administer learns nothing of its input.
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let gate = cv::gate(req.into_inner()).map_err(status)?;
        let g = self.app.upsert_gate(&p, gate).await.map_err(status)?;
        Ok(Response::new(cv::pb_gate(&g)))
    }

    async fn list_no_shows(
        &self,
        req: Request<pb::ListNoShowsRequest>,
    ) -> Reply<pb::ListNoShowsResponse> {
        let p = self.who(&req)?;
        let counts = self.app.list_no_shows(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListNoShowsResponse {
            companies: counts
                .into_iter()
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
        let p = self.who(&req)?;
        let ids = self.app.run_no_show_sweep(&p).await.map_err(status)?;
        Ok(Response::new(pb::RunNoShowSweepResponse {
            marked_booking_ids: ids.iter().map(ToString::to_string).collect(),
        }))
    }

    async fn list_audit(&self, req: Request<pb::ListAuditRequest>) -> Reply<pb::ListAuditResponse> {
        let p = self.who(&req)?;
        scope::role(&p, scope::AUTHORITY).map_err(status)?;
        let r = req.into_inner();
        let q = AuditQuery {
            filter: AuditFilter {
                zone: optional(&r.zone_id, |s| cv::zone_id(s, "zone_id"))?,
                actor: (!r.actor.is_empty()).then_some(r.actor),
                kind: optional(&r.kind, str::parse)?,
                from: optional_time(r.from.as_ref(), "from").map_err(status)?,
                to: optional_time(r.to.as_ref(), "to").map_err(status)?,
            },
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
            page_size: r.page_size as usize,
        };
        let page = self.app.list_audit(&p, q).await.map_err(status)?;
        Ok(Response::new(pb::ListAuditResponse {
            entries: page.items.iter().map(cv::pb_audit).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    type BackupStream = crate::gate::Stream<pb::BackupChunk>;

    async fn backup(&self, req: Request<pb::BackupRequest>) -> Reply<Self::BackupStream> {
        let p = self.who(&req)?;
        let backup = self.app.backup(&p).map_err(status)?;
        Ok(Response::new(crate::backup::chunks(backup)))
    }
}
