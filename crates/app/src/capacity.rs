//! Capacity changes of the authority: the whole weekly template, some hours of some weekdays
//! (the rest kept), or a one-off capacity for dates or hours. A change that would leave
//! booked windows over their new capacity says which and by how much, and is made only when
//! confirmed (the bookings are kept either way).

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::{
    CapacityTemplate, TransactionType, WindowCapacity, ZoneConfig, local,
};
use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::AdminChange;
use bawaba_store::Store;
use chrono::{DateTime, TimeDelta, Utc, Weekday};

use crate::{App, Error, Result, scope};

/// What a capacity change sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacityChange {
    /// The whole weekly template.
    Template(CapacityTemplate),
    /// Local `[from, to)` hours of `days`; every other hour as it was.
    Hours {
        days: Vec<Weekday>,
        hours: (u32, u32),
        capacity: WindowCapacity,
    },
    /// A one-off capacity for the windows starting in `[from, to)`.
    Dates {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        capacity: WindowCapacity,
        reason: String,
    },
}

/// A booked window a change would leave over its new capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overbooked {
    pub start: DateTime<Utc>,
    /// The transaction type whose share is over, or none for the window's total.
    pub transaction_type: Option<TransactionType>,
    pub booked: u32,
    pub capacity: u32,
}

impl CapacityChange {
    /// The zone as it would be after the change (the preview the check runs on; the ledger
    /// makes the change with the same functions).
    fn applied_to(&self, cfg: &ZoneConfig, now: DateTime<Utc>) -> Result<ZoneConfig> {
        Ok(match self {
            CapacityChange::Template(t) => {
                t.validate()?;
                ZoneConfig {
                    template: t.clone(),
                    ..cfg.clone()
                }
            }
            CapacityChange::Hours {
                days,
                hours,
                capacity,
            } => cfg.with_hours(days, *hours, *capacity)?,
            CapacityChange::Dates {
                from,
                to,
                capacity,
                reason,
            } => cfg.with_override((*from, *to), *capacity, reason, now)?,
        })
    }

    fn into_admin(self, zone: ZoneId) -> AdminChange {
        match self {
            CapacityChange::Template(template) => AdminChange::SetTemplate { zone, template },
            CapacityChange::Hours {
                days,
                hours,
                capacity,
            } => AdminChange::SetHours {
                zone,
                days,
                hours,
                capacity,
            },
            CapacityChange::Dates {
                from,
                to,
                capacity,
                reason,
            } => AdminChange::AddOverride {
                zone,
                from,
                to,
                capacity,
                reason,
            },
        }
    }
}

impl<S: Store> App<S> {
    /// Changes a zone's capacity. Refused (FAILED_PRECONDITION, naming the windows) when it
    /// would leave booked windows of the horizon over their new capacity, unless `confirm`.
    pub async fn set_capacity(
        &self,
        p: &Principal,
        zone: ZoneId,
        change: CapacityChange,
        confirm: bool,
    ) -> Result<ZoneConfig> {
        scope::role(p, scope::AUTHORITY)?;
        scope::zone(p, &zone)?;
        let cfg = self.store.zone(zone.clone()).await?;
        let now = self.clock.now();
        let over = self.overbooked(&change.applied_to(&cfg, now)?, now).await?;
        if !over.is_empty() && !confirm {
            return Err(Error::Refused(bawaba_domain::Error::Precondition(
                over_message(&over),
            )));
        }
        let change = change.into_admin(zone);
        self.edit_zone(p, change).await
    }

    /// Removes a one-off capacity (its windows go back to the template).
    pub async fn remove_override(
        &self,
        p: &Principal,
        zone: ZoneId,
        id: u64,
    ) -> Result<ZoneConfig> {
        scope::zone(p, &zone)?;
        self.edit_zone(p, AdminChange::RemoveOverride { zone, id })
            .await
    }

    /// The booked windows of the horizon (from now) that `after` would leave over capacity:
    /// the total, or a transaction type's share.
    async fn overbooked(&self, after: &ZoneConfig, now: DateTime<Utc>) -> Result<Vec<Overbooked>> {
        let horizon = TimeDelta::minutes(i64::from(after.rules.horizon_minutes));
        let from = after.window_containing(now);
        let windows = self
            .store
            .list_windows(after.id.clone(), from, now + horizon, 10_000)
            .await?;
        let mut over = Vec::new();
        for w in windows.iter().filter(|w| w.booked > 0) {
            let cap = after.capacity(w.start);
            if w.booked > cap.total {
                over.push(Overbooked {
                    start: w.start,
                    transaction_type: None,
                    booked: w.booked,
                    capacity: cap.total,
                });
                continue;
            }
            for t in TransactionType::ALL {
                let (booked, limit) = (w.booked_per_type[t.index()], cap.for_type(t));
                if cap.per_type.is_some() && booked > limit {
                    over.push(Overbooked {
                        start: w.start,
                        transaction_type: Some(t),
                        booked,
                        capacity: limit,
                    });
                }
            }
        }
        Ok(over)
    }
}

/// "3 booked windows would be over their new capacity: 2026-12-08 10:00 (+03:00) 6 booked of
/// 4 (2 over); ...".
fn over_message(over: &[Overbooked]) -> String {
    const SHOWN: usize = 10;
    let mut parts: Vec<String> = over
        .iter()
        .take(SHOWN)
        .map(|o| {
            let what = o
                .transaction_type
                .map_or_else(String::new, |t| format!(" {}", t.as_str()));
            format!(
                "{}{what} {} booked of {} ({} over)",
                local(o.start),
                o.booked,
                o.capacity,
                o.booked - o.capacity
            )
        })
        .collect();
    if over.len() > SHOWN {
        parts.push(format!("and {} more", over.len() - SHOWN));
    }
    format!(
        "{} booked window(s) would be over their new capacity: {}; nothing changed: confirm to apply (the bookings are kept)",
        over.len(),
        parts.join("; ")
    )
}
