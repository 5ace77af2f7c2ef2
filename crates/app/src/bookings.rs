//! Booking use cases: create, read, list, move, cancel; windows and free slots.

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::audit::Who;
use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::ids::{BookingId, CompanyId, ZoneId};
use bawaba_domain::ledger::{
    Actor, Booking, BookingFilter, BookingState, MAX_FIND_SLOTS, NewBooking, WindowView,
};
use bawaba_store::{CreatedBooking, Store};
use chrono::{DateTime, Utc};

use crate::{App, Error, Result, scope};

/// Most windows one window listing answers.
pub const MAX_WINDOWS: usize = 1000;
/// Largest page of a booking listing.
pub const MAX_PAGE: usize = 500;
/// The page of a listing that does not say.
const DEFAULT_PAGE: usize = 50;

/// What a booking listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingQuery {
    pub company: Option<CompanyId>,
    pub zone: Option<ZoneId>,
    pub state: Option<BookingState>,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// The last booking of the previous page.
    pub after: Option<BookingId>,
    /// 0: the default page.
    pub page_size: usize,
}

/// One page of a listing, and whether another follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

impl<S: Store> App<S> {
    /// Books a visit for `company` (a company token: its own, named or not; the authority:
    /// the one it names). `new` makes the request once the company is known (parsing names
    /// the request's fields).
    pub async fn create_booking(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        new: impl FnOnce(CompanyId) -> bawaba_domain::Result<NewBooking>,
    ) -> Result<CreatedBooking> {
        let created = async {
            scope::role(p, scope::BOOKERS)?;
            let company = scope::company(p, company, "company_id")?;
            let mut new = new(company)?;
            // The authority booking for a company: audited under the official's name.
            if p.role == Role::Authority {
                new.by = Some(Box::new(Who::from(p)));
            }
            Ok::<_, Error>(self.store.create_booking(new, self.clock.now()).await?)
        }
        .await;
        match &created {
            Ok(c) if c.replayed => self.metrics.booking_done("create", "replayed"),
            Ok(c) => {
                let b = &c.booking;
                tracing::info!(booking = %b.id, company = %b.company, plate = %b.plate, "booked");
                self.metrics.booking_done("create", "created");
            }
            Err(e) => self.metrics.booking_refused("create", e.reason()),
        }
        created
    }

    /// A booking the caller may see; any other, existing or not, is NOT_FOUND.
    pub async fn get_booking(&self, p: &Principal, id: BookingId) -> Result<Booking> {
        scope::role(p, scope::ANY)?;
        let found = match self.store.get_booking(Actor::Authority, id).await {
            Err(bawaba_store::Error::Domain(bawaba_domain::Error::NotFound { .. })) => None,
            other => Some(other?),
        };
        found
            .filter(|b| scope::sees_booking(p, b))
            .ok_or_else(|| Error::not_found("booking", id))
    }

    /// The bookings the caller may see that match `q`, oldest first.
    pub async fn list_bookings(&self, p: &Principal, q: BookingQuery) -> Result<Page<Booking>> {
        scope::role(p, scope::ANY)?;
        let company = scope::listed_company(p, q.company)?;
        let zone = match &p.company {
            // A company sees its bookings in every zone.
            Some(_) => q.zone,
            None => scope::listed_zone(p, q.zone)?,
        };
        let page = crate::page_size(q.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let filter = BookingFilter {
            company,
            zone,
            state: q.state,
            window_from: q.window_from,
            window_to: q.window_to,
            plate: None,
        };
        // One more than the page tells whether another page follows.
        let mut items = self.store.list_bookings(filter, q.after, page + 1).await?;
        let more = items.len() > page;
        items.truncate(page);
        Ok(Page { items, more })
    }

    /// Moves stop `stop` of a booking to the window starting at `new_start`.
    pub async fn move_booking(
        &self,
        p: &Principal,
        id: BookingId,
        stop: usize,
        new_start: DateTime<Utc>,
    ) -> Result<Booking> {
        let moved = async {
            let actor = self.booking_actor(p, id).await?;
            let now = self.clock.now();
            Ok(self
                .store
                .move_booking(actor, id, stop, new_start, now)
                .await?)
        }
        .await;
        self.count("move", "moved", &moved);
        moved
    }

    /// Cancels a booking, keeping the reason.
    pub async fn cancel_booking(
        &self,
        p: &Principal,
        id: BookingId,
        reason: String,
    ) -> Result<Booking> {
        let cancelled = async {
            let actor = self.booking_actor(p, id).await?;
            let now = self.clock.now();
            Ok(self.store.cancel_booking(actor, id, reason, now).await?)
        }
        .await;
        self.count("cancel", "cancelled", &cancelled);
        cancelled
    }

    /// Whose bookings `p` may change; a booking it may not see is NOT_FOUND.
    async fn booking_actor(&self, p: &Principal, id: BookingId) -> Result<Actor> {
        scope::role(p, scope::BOOKERS)?;
        let actor = scope::booking_actor(p)?;
        self.get_booking(p, id).await?;
        Ok(actor)
    }

    fn count(&self, operation: &'static str, done: &'static str, r: &Result<Booking>) {
        match r {
            Ok(_) => self.metrics.booking_done(operation, done),
            Err(e) => self.metrics.booking_refused(operation, e.reason()),
        }
    }

    /// The configuration of the zones `bookings` stop in, to present them (window ends): read
    /// after the bookings themselves were checked against the caller's scope.
    pub async fn zones_of<'a>(
        &self,
        bookings: impl IntoIterator<Item = &'a Booking>,
    ) -> Result<Vec<ZoneConfig>> {
        let mut ids: Vec<&ZoneId> = bookings.into_iter().flat_map(Booking::zones).collect();
        ids.sort();
        ids.dedup();
        let mut zones = Vec::with_capacity(ids.len());
        for z in ids {
            zones.push(self.store.zone(z.clone()).await?);
        }
        Ok(zones)
    }

    /// The windows of `zone` starting in `[from, to)`, with their capacity and use.
    pub async fn list_windows(
        &self,
        p: &Principal,
        zone: ZoneId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<WindowView>> {
        scope::role(p, scope::ANY)?;
        scope::zone(p, &zone)?;
        if to <= from {
            return Err(Error::invalid("to", "must be after from"));
        }
        Ok(self.store.list_windows(zone, from, to, MAX_WINDOWS).await?)
    }

    /// The nearest windows to `preferred` (now when not given) with room for a booking of
    /// type `t` by the caller (a company's cap counts).
    pub async fn find_slots(
        &self,
        p: &Principal,
        zone: ZoneId,
        t: TransactionType,
        preferred: Option<DateTime<Utc>>,
        count: usize,
    ) -> Result<Vec<WindowView>> {
        scope::role(p, scope::ANY)?;
        scope::zone(p, &zone)?;
        let count = match count {
            0 => 5,
            n if n > MAX_FIND_SLOTS => {
                return Err(Error::invalid(
                    "count",
                    format!("is {n}; at most {MAX_FIND_SLOTS}"),
                ));
            }
            n => n,
        };
        let now = self.clock.now();
        let preferred = preferred.unwrap_or(now);
        Ok(self
            .store
            .find_slots(zone, t, p.company.clone(), preferred, count, now)
            .await?)
    }
}
