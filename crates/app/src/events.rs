//! A company's event log (see `bawaba_domain::event`), read by the company itself and by the
//! authority; the doors follow it from a cursor (gRPC `WatchEvents`).

use bawaba_domain::access::Principal;
use bawaba_domain::event::EventPage;
use bawaba_domain::ids::CompanyId;
use bawaba_store::Store;

use crate::{App, Result, scope};

/// Most events one read answers.
pub const MAX_EVENT_PAGE: usize = 500;

impl<S: Store> App<S> {
    /// `company`'s events numbered after `after`, oldest first (at most `limit`, 1 to
    /// [`MAX_EVENT_PAGE`]), and the number of its newest. A company reads its own (naming
    /// another is answered as for a company that does not exist); the authority names one.
    pub async fn company_events(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        after: u64,
        limit: usize,
    ) -> Result<EventPage> {
        let company = self.events_of(p, company)?;
        let limit = limit.clamp(1, MAX_EVENT_PAGE);
        Ok(self.store.company_events(company, after, limit).await?)
    }

    /// The company whose log `p` asks for: its own for a company, the one the authority
    /// names; checked before anything is read (a stream is refused before it opens).
    pub fn events_of(&self, p: &Principal, company: Option<CompanyId>) -> Result<CompanyId> {
        scope::role(p, scope::BOOKERS)?;
        scope::company(p, company, "company_id")
    }
}
