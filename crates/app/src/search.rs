//! The operator's search: a truck's bookings and its recent passages, by booking id (the
//! driver's slip), plate (any spelling; a look-alike plate as read counts) or RFID tag, within
//! the zones the caller sees.

use bawaba_domain::access::Principal;
use bawaba_domain::epc::Epc;
use bawaba_domain::ids::{BookingId, PassageId};
use bawaba_domain::ledger::{Booking, BookingFilter};
use bawaba_domain::passage::Passage;
use bawaba_domain::plate::Plate;
use bawaba_store::Store;
use chrono::TimeDelta;

use crate::{App, Error, Result, scope};

/// How far back passages are searched.
pub const SEARCH_PASSAGES_DAYS: i64 = 3;
/// How far back bookings (by the time they were made) are searched by plate.
pub const SEARCH_BOOKINGS_DAYS: i64 = 60;
/// Most bookings and most passages a search answers (the newest).
pub const MAX_FOUND: usize = 50;
/// Passages read per page while searching.
const PAGE: usize = 1000;

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Booking(BookingId),
    Tag(Epc),
    Plate(Plate),
}

impl Query {
    /// A booking id (26 characters), an RFID tag (24 hex digits) or a plate.
    pub fn parse(q: &str) -> Result<Query> {
        let q = q.trim();
        if q.is_empty() {
            return Err(Error::invalid(
                "q",
                "is empty: give a booking id, a plate or an RFID tag",
            ));
        }
        if let Ok(id) = BookingId::parse(q) {
            return Ok(Query::Booking(id));
        }
        if q.len() == 24 && q.chars().all(|c| c.is_ascii_hexdigit()) {
            return Epc::parse_hex(q).map(Query::Tag).map_err(Error::from);
        }
        Plate::parse(q).map(Query::Plate).map_err(|_| {
            Error::invalid(
                "q",
                format!("{q:?} is not a booking id (26 characters), a plate or an RFID tag (24 hex digits)"),
            )
        })
    }

    fn finds_passage(&self, p: &Passage) -> bool {
        match self {
            Query::Booking(id) => p.booking == Some(*id),
            Query::Tag(epc) => p.epc.as_ref() == Some(epc),
            Query::Plate(plate) => p
                .plate
                .as_ref()
                .is_some_and(|read| read == plate || read.confusable_with(plate)),
        }
    }
}

/// What a search found, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub query: Query,
    pub bookings: Vec<Booking>,
    pub passages: Vec<Passage>,
}

impl<S: Store> App<S> {
    /// Bookings and the last [`SEARCH_PASSAGES_DAYS`] days' passages matching `q`, in the
    /// caller's zones (a zone-limited operator finds nothing of another zone, as if it did
    /// not exist).
    pub async fn search(&self, p: &Principal, q: &str) -> Result<Found> {
        scope::role(p, scope::OPERATORS)?;
        let query = Query::parse(q)?;
        let passages = self.search_passages(p, &query).await?;
        let mut bookings = match &query {
            Query::Booking(id) => match self.get_booking(p, *id).await {
                Ok(b) => vec![b],
                Err(e) if e.kind() == crate::Kind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            Query::Plate(plate) => self.bookings_of(p, plate.clone()).await?,
            Query::Tag(_) => Vec::new(),
        };
        // And the bookings the passages found matched (a tag's; a look-alike plate's).
        let mut matched: Vec<BookingId> = passages.iter().filter_map(|x| x.booking).collect();
        matched.sort();
        matched.dedup();
        for id in matched.into_iter().rev().take(MAX_FOUND) {
            if bookings.iter().any(|b| b.id == id) {
                continue;
            }
            if let Ok(b) = self.get_booking(p, id).await {
                bookings.push(b);
            }
        }
        bookings.sort_by_key(|b| std::cmp::Reverse(b.id));
        Ok(Found {
            query,
            bookings,
            passages,
        })
    }

    /// The truck's bookings made in the last [`SEARCH_BOOKINGS_DAYS`] days, in the caller's
    /// zones, newest first.
    async fn bookings_of(&self, p: &Principal, plate: Plate) -> Result<Vec<Booking>> {
        let since = self.clock.now() - TimeDelta::days(SEARCH_BOOKINGS_DAYS);
        let filter = BookingFilter {
            zone: scope::listed_zone(p, None)?,
            plate: Some(plate),
            ..BookingFilter::default()
        };
        let mut after = Some(BookingId::new(since, 0));
        let mut all = Vec::new();
        loop {
            let page = self
                .store
                .list_bookings(filter.clone(), after, PAGE)
                .await?;
            after = page.last().map(|b| b.id);
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                break;
            }
        }
        all.reverse();
        all.truncate(MAX_FOUND);
        Ok(all)
    }

    /// The passages of the last [`SEARCH_PASSAGES_DAYS`] days in the caller's zones that
    /// `query` finds, newest first.
    async fn search_passages(&self, p: &Principal, query: &Query) -> Result<Vec<Passage>> {
        let zone = scope::listed_zone(p, None)?;
        let since = self.clock.now() - TimeDelta::days(SEARCH_PASSAGES_DAYS);
        let mut after = Some(PassageId::new(since, 0));
        let mut found = Vec::new();
        loop {
            let page = self.store.passages(zone.clone(), after, PAGE).await?;
            after = page.last().map(|x| x.id);
            let done = page.len() < PAGE;
            found.extend(page.into_iter().filter(|x| query.finds_passage(x)));
            if done {
                break;
            }
        }
        found.reverse();
        found.truncate(MAX_FOUND);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::access::Role;
    use bawaba_domain::ledger::Direction;

    use super::*;
    use crate::Kind;
    use crate::tests::{bed, passage, principal};

    const TAG: &str = "E2801160600002084A2B5C1D";

    #[tokio::test]
    async fn operators_find_a_truck_by_slip_plate_or_tag_in_their_zones() {
        let b = bed().await;
        let act_booking = b.book("acme", "act", 1).await;
        let siz_booking = b.book("zeta", "siz", 2).await;
        let mut seen = passage(1, "act", "act-gate", "in-1", Direction::In);
        seen.plate = Some(act_booking.plate.clone());
        seen.epc = Some(Epc::parse_hex(TAG).unwrap());
        seen.booking = Some(act_booking.id);
        let gate = principal(Role::Gate, None, Some("act"));
        b.app
            .report_passages(&gate, vec![seen.clone()])
            .await
            .unwrap();
        let authority = principal(Role::Authority, None, None);
        let id = act_booking.id.to_string();
        for q in [id.as_str(), "60-10001", "٦٠١٠٠٠١", TAG, " 6O10001 "] {
            let found = b.app.search(&authority, q).await.unwrap();
            assert_eq!(found.bookings, std::slice::from_ref(&act_booking), "{q}");
            assert_eq!(found.passages, std::slice::from_ref(&seen), "{q}");
        }
        let siz = principal(Role::Operator, None, Some("siz"));
        let theirs = b.app.search(&siz, &id).await.unwrap();
        assert!(
            theirs.bookings.is_empty() && theirs.passages.is_empty(),
            "another zone's"
        );
        let own = b.app.search(&siz, "60-10002").await.unwrap();
        assert_eq!(own.bookings, [siz_booking]);
        for bad in ["", "  ", "no such thing!"] {
            let e = b.app.search(&authority, bad).await.unwrap_err();
            assert_eq!(e.kind(), Kind::Invalid, "{bad:?}");
            assert!(e.to_string().contains('q'), "{e}");
        }
        let company = principal(Role::Company, Some("acme"), None);
        let refused = b.app.search(&company, "60-10001").await.unwrap_err();
        assert_eq!(refused.kind(), Kind::Forbidden);
    }
}
