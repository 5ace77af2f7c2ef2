//! Reading the audit trail: the store's records (every change made through the app, in the
//! commit that made it) and the token book's (issues and revocations, written by the CLI),
//! as one list, newest first.

use bawaba_domain::access::Principal;
use bawaba_domain::audit::{AuditFilter, AuditRecord};
use bawaba_store::Store;
use chrono::{DateTime, Utc};

use crate::{App, Error, Result, scope};

/// Largest page of an audit listing.
pub const MAX_AUDIT_PAGE: usize = 500;
const DEFAULT_PAGE: usize = 50;

/// What an audit listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    /// Where the previous page ended (its `next_page_token`).
    pub page_token: Option<String>,
    /// 0: the default page.
    pub page_size: usize,
}

/// One record as listed: `id` is its number in the store's trail, or `t` and its number in
/// the token book's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditItem {
    pub id: String,
    pub record: AuditRecord,
}

/// One page of the trail, newest first; `next_page_token` when older records follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub items: Vec<AuditItem>,
    pub next_page_token: Option<String>,
}

/// Where a record stands in the list: its time, then its source (store 0, tokens 1), then
/// its number there. The list runs from the greatest down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    at: DateTime<Utc>,
    source: u8,
    n: u64,
}

impl Position {
    fn token(self) -> String {
        format!("{}.{}.{}", self.at.timestamp_micros(), self.source, self.n)
    }

    fn parse(token: &str) -> Result<Self> {
        let bad = || Error::invalid("page_token", "is not a token this listing gave");
        let mut parts = token.split('.');
        let (Some(at), Some(source), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let at = at.parse().ok().and_then(DateTime::from_timestamp_micros);
        match (at, source.parse::<u8>(), n.parse::<u64>()) {
            (Some(at), Ok(source @ 0..=1), Ok(n)) => Ok(Position { at, source, n }),
            _ => Err(bad()),
        }
    }
}

impl<S: Store> App<S> {
    /// The audit trail for the authority, newest first, filtered and paginated.
    pub async fn list_audit(&self, p: &Principal, q: AuditQuery) -> Result<AuditPage> {
        scope::role(p, scope::AUTHORITY)?;
        let size = crate::page_size(q.page_size, DEFAULT_PAGE, MAX_AUDIT_PAGE)?;
        if let (Some(from), Some(to)) = (q.filter.from, q.filter.to)
            && to <= from
        {
            return Err(Error::invalid("to", "must be after from"));
        }
        let cursor = q.page_token.as_deref().map(Position::parse).transpose()?;
        // From the store: those before the cursor (a token record's cursor: every store
        // record of its time comes after it).
        let before = cursor.map(|c| match c.source {
            0 => (c.at, c.n),
            _ => (c.at, u64::MAX),
        });
        let stored = self.store.audit(q.filter.clone(), before, size + 1).await?;
        let mut items: Vec<(Position, AuditItem)> = stored
            .into_iter()
            .map(|e| {
                let at = e.record.at;
                let item = AuditItem {
                    id: e.seq.to_string(),
                    record: e.record,
                };
                (
                    Position {
                        at,
                        source: 0,
                        n: e.seq,
                    },
                    item,
                )
            })
            .collect();
        let tokens = self.tokens.audit()?;
        items.extend(
            (1..)
                .zip(tokens)
                .filter(|(_, r)| q.filter.matches(r))
                .map(|(n, record)| {
                    let at = record.at;
                    let item = AuditItem {
                        id: format!("t{n}"),
                        record,
                    };
                    (Position { at, source: 1, n }, item)
                })
                .filter(|(pos, _)| cursor.is_none_or(|c| *pos < c)),
        );
        items.sort_by_key(|(pos, _)| std::cmp::Reverse(*pos));
        let next_page_token = (items.len() > size).then(|| items[size - 1].0.token());
        items.truncate(size);
        Ok(AuditPage {
            items: items.into_iter().map(|(_, i)| i).collect(),
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_bad_ones_are_named() {
        let at: DateTime<Utc> = "2026-12-08T07:00:00.123456Z".parse().unwrap();
        let pos = Position {
            at,
            source: 1,
            n: 42,
        };
        assert_eq!(Position::parse(&pos.token()).unwrap(), pos);
        for bad in ["", "1.2", "x.0.1", "1.7.1", "1.0.1.1", "1.0.-1"] {
            let e = Position::parse(bad).unwrap_err().to_string();
            assert!(e.contains("page_token"), "{bad}: {e}");
        }
    }
}
