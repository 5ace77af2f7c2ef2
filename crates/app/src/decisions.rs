//! The decisions on referrals: the operator's own, or everyone's in the caller's zones,
//! the latest first, a page at a time.

use bawaba_domain::access::Principal;
use bawaba_domain::ids::PassageId;
use bawaba_domain::passage::{Referral, ReferralState};
use bawaba_store::Store;

use crate::{App, Error, Page, Result, scope};

/// Decisions one page holds at most.
pub const MAX_DECISIONS_PAGE: usize = 200;

impl<S: Store> App<S> {
    /// The referrals resolved in the caller's zones (every zone for the authority), the
    /// latest decision first: with `mine`, only the caller's own. A page of `limit` (1 to
    /// [`MAX_DECISIONS_PAGE`]) after the decision on `after` (the last of the page before).
    pub async fn decisions(
        &self,
        p: &Principal,
        mine: bool,
        after: Option<PassageId>,
        limit: usize,
    ) -> Result<Page<Referral>> {
        scope::role(p, scope::OPERATORS)?;
        if !(1..=MAX_DECISIONS_PAGE).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("is {limit}; expected 1 to {MAX_DECISIONS_PAGE}"),
            ));
        }
        let zone = scope::listed_zone(p, None)?;
        let mut done: Vec<Referral> = self
            .store
            .referrals(zone, true)
            .await?
            .into_iter()
            .filter(|r| r.state != ReferralState::Open)
            .filter(|r| !mine || r.resolved_by.as_deref() == Some(p.label.as_str()))
            .collect();
        done.sort_by_key(|r| std::cmp::Reverse((r.resolved_at, r.passage.id)));
        let start = match after {
            None => 0,
            Some(id) => match done.iter().position(|r| r.passage.id == id) {
                Some(at) => at + 1,
                None => return Err(Error::not_found("decision", id)),
            },
        };
        let mut items: Vec<Referral> = done.into_iter().skip(start).take(limit + 1).collect();
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page { items, more })
    }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::access::Role;
    use bawaba_domain::ledger::Direction;
    use bawaba_domain::passage::Resolution;
    use chrono::TimeDelta;

    use super::*;
    use crate::Kind;
    use crate::tests::{bed, passage, principal};

    /// Each operator pages through their own decisions, the latest first; everyone's in
    /// the zone shows both; another zone's operator sees none of them; a company is refused.
    #[tokio::test]
    async fn an_operator_pages_through_their_own_decisions() {
        let b = bed().await;
        let gate = principal(Role::Gate, None, Some("act"));
        let referred: Vec<_> = (1..=7)
            .map(|n| passage(n, "act", "act-gate", "in-1", Direction::In))
            .collect();
        b.app
            .report_passages(&gate, referred.clone())
            .await
            .unwrap();
        let mut layla = principal(Role::Operator, None, Some("act"));
        layla.label = "layla".into();
        let mut omar = principal(Role::Operator, None, Some("act"));
        omar.label = "omar".into();
        for (i, r) in referred.iter().enumerate() {
            let who = if i % 2 == 0 { &layla } else { &omar };
            b.clock.set(b.clock.now() + TimeDelta::minutes(1));
            let res = Resolution::reject(format!("n{i}"));
            b.app.resolve_referral(who, r.id, res).await.unwrap();
        }
        let first = b.app.decisions(&layla, true, None, 3).await.unwrap();
        let ids = |p: &Page<Referral>| p.items.iter().map(|r| r.passage.id).collect::<Vec<_>>();
        assert_eq!(
            ids(&first),
            [referred[6].id, referred[4].id, referred[2].id]
        );
        assert!(first.more);
        let last = first.items.last().map(|r| r.passage.id);
        let second = b.app.decisions(&layla, true, last, 3).await.unwrap();
        assert_eq!(ids(&second), [referred[0].id]);
        assert!(!second.more);
        let everyone = b.app.decisions(&omar, false, None, 10).await.unwrap();
        assert_eq!(everyone.items.len(), 7);
        let siz = principal(Role::Operator, None, Some("siz"));
        assert!(
            b.app
                .decisions(&siz, false, None, 10)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        let acme = principal(Role::Company, Some("acme"), None);
        let refused = b.app.decisions(&acme, false, None, 10).await.unwrap_err();
        assert_eq!(refused.kind(), Kind::Forbidden);
        let bad = b.app.decisions(&layla, true, None, 0).await.unwrap_err();
        assert_eq!(bad.kind(), Kind::Invalid);
    }
}
