//! The audit trail: who changed what, when, through which door.
//!
//! Every change a person or another system makes (zones, capacity, closures, caps, gates,
//! an operator's decision on a referral, a booking the authority changed on a company's
//! behalf, tokens issued and revoked) becomes an [`AuditRecord`], written in the same commit
//! as the change. Records are append-only: nothing edits or deletes one. Their before and
//! after are readable field by field ([`FieldChange`]), times in Amman time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Principal, Role};
use crate::calendar::local;
use crate::calendar::{CapacityTemplate, TransactionType, WEEKDAYS, WindowCapacity, ZoneConfig};
use crate::ids::{CompanyId, ZoneId};
use crate::ledger::{Booking, Gate};
use crate::passage::{Referral, ReferralState};

/// Through which front door a change came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Door {
    Grpc,
    Web,
    Cli,
    /// The system itself: configuration at start-up, set-up of tests and simulations.
    #[default]
    System,
}

impl Door {
    pub const ALL: [Door; 4] = [Door::Grpc, Door::Web, Door::Cli, Door::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Door::Grpc => "grpc",
            Door::Web => "web",
            Door::Cli => "cli",
            Door::System => "system",
        }
    }
}

/// What kind of change a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuditKind {
    ZoneSaved,
    TemplateSet,
    RulesSet,
    ClosureAdded,
    ClosureRemoved,
    CompanyCapSet,
    GateSaved,
    ReferralResolved,
    BookingCreated,
    BookingMoved,
    BookingCancelled,
    TokenIssued,
    TokenRevoked,
    ClosureChanged,
    AlertReceived,
    AlertDismissed,
    WatchAdded,
    WatchRemoved,
    OverrideAdded,
    OverrideRemoved,
    NoShowTakenBack,
    WebhookSet,
    WebhookRemoved,
    TruckSaved,
    TruckRemoved,
    AccountCreated,
    AccountChanged,
    AccountLocked,
}

impl AuditKind {
    pub const ALL: [AuditKind; 28] = [
        AuditKind::ZoneSaved,
        AuditKind::TemplateSet,
        AuditKind::RulesSet,
        AuditKind::ClosureAdded,
        AuditKind::ClosureRemoved,
        AuditKind::CompanyCapSet,
        AuditKind::GateSaved,
        AuditKind::ReferralResolved,
        AuditKind::BookingCreated,
        AuditKind::BookingMoved,
        AuditKind::BookingCancelled,
        AuditKind::TokenIssued,
        AuditKind::TokenRevoked,
        AuditKind::ClosureChanged,
        AuditKind::AlertReceived,
        AuditKind::AlertDismissed,
        AuditKind::WatchAdded,
        AuditKind::WatchRemoved,
        AuditKind::OverrideAdded,
        AuditKind::OverrideRemoved,
        AuditKind::NoShowTakenBack,
        AuditKind::WebhookSet,
        AuditKind::WebhookRemoved,
        AuditKind::TruckSaved,
        AuditKind::TruckRemoved,
        AuditKind::AccountCreated,
        AuditKind::AccountChanged,
        AuditKind::AccountLocked,
    ];

    /// The kind's code, as the API, the CLI and the pages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ZoneSaved => "zone.saved",
            AuditKind::TemplateSet => "zone.template_set",
            AuditKind::RulesSet => "zone.rules_set",
            AuditKind::ClosureAdded => "closure.added",
            AuditKind::ClosureRemoved => "closure.removed",
            AuditKind::CompanyCapSet => "company_cap.set",
            AuditKind::GateSaved => "gate.saved",
            AuditKind::ReferralResolved => "referral.resolved",
            AuditKind::BookingCreated => "booking.created",
            AuditKind::BookingMoved => "booking.moved",
            AuditKind::BookingCancelled => "booking.cancelled",
            AuditKind::TokenIssued => "token.issued",
            AuditKind::TokenRevoked => "token.revoked",
            AuditKind::ClosureChanged => "closure.changed",
            AuditKind::AlertReceived => "alert.received",
            AuditKind::AlertDismissed => "alert.dismissed",
            AuditKind::WatchAdded => "watch.added",
            AuditKind::WatchRemoved => "watch.removed",
            AuditKind::OverrideAdded => "capacity.override_added",
            AuditKind::OverrideRemoved => "capacity.override_removed",
            AuditKind::NoShowTakenBack => "booking.no_show_taken_back",
            AuditKind::WebhookSet => "webhook.set",
            AuditKind::WebhookRemoved => "webhook.removed",
            AuditKind::TruckSaved => "fleet.truck_saved",
            AuditKind::TruckRemoved => "fleet.truck_removed",
            AuditKind::AccountCreated => "account.created",
            AuditKind::AccountChanged => "account.changed",
            AuditKind::AccountLocked => "account.locked",
        }
    }
}

impl std::str::FromStr for AuditKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        AuditKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
                crate::Error::invalid(
                    "kind",
                    format!("unknown kind {s:?}; expected one of {}", known.join(", ")),
                )
            })
    }
}

/// Who made a change: the token (its id, never the token), its name or label, its role and
/// scope, and the door it came through. The system's own changes have no token and no role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Who {
    pub token: Option<String>,
    pub name: String,
    pub role: Option<Role>,
    pub company: Option<CompanyId>,
    pub zone: Option<ZoneId>,
    pub door: Door,
}

impl Who {
    /// The system itself (configuration, set-up): no token, no role.
    pub fn system() -> Self {
        Who::named("system")
    }

    /// Someone known only by name (through the system's own door).
    pub fn named(name: impl Into<String>) -> Self {
        Who {
            name: name.into(),
            ..Who::default()
        }
    }

    /// Whether `actor` names this one: its token id or its name.
    pub fn is(&self, actor: &str) -> bool {
        self.name == actor || self.token.as_deref() == Some(actor)
    }
}

impl From<&Principal> for Who {
    fn from(p: &Principal) -> Self {
        Who {
            token: p.token.clone(),
            name: p.label.clone(),
            role: Some(p.role),
            company: p.company.clone(),
            zone: p.zone.clone(),
            door: p.door,
        }
    }
}

/// One field of a changed object, before and after (empty: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub who: Who,
    pub kind: AuditKind,
    /// The zone the change concerns, when it concerns one.
    pub zone: Option<ZoneId>,
    /// The objects it names, as `kind:id` (e.g. `zone:act`, `booking:01J…`, `closure:act/3`).
    pub objects: Vec<String>,
    /// The fields that changed.
    pub changes: Vec<FieldChange>,
}

/// A stored record with its number in the store's trail (1, 2, ... in commit order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub record: AuditRecord,
}

/// What an audit listing asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub zone: Option<ZoneId>,
    /// A token id or a name.
    pub actor: Option<String>,
    pub kind: Option<AuditKind>,
    /// Records at or after `from` and before `to`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.zone
            .as_ref()
            .is_none_or(|z| r.zone.as_ref() == Some(z))
            && self.actor.as_deref().is_none_or(|a| r.who.is(a))
            && self.kind.is_none_or(|k| r.kind == k)
            && self.from.is_none_or(|f| r.at >= f)
            && self.to.is_none_or(|t| r.at < t)
    }
}

/// An object's fields, in a fixed order, as text.
pub type Fields = Vec<(String, String)>;

/// The fields that differ between `before` and `after` (a field only on one side is
/// absent, `""`, on the other), in the order they first appear.
pub fn diff(before: &Fields, after: &Fields) -> Vec<FieldChange> {
    let find = |fields: &Fields, k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut keys: Vec<&String> = before.iter().chain(after).map(|(k, _)| k).collect();
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|k| seen.insert(*k));
    keys.into_iter()
        .map(|k| FieldChange {
            field: k.clone(),
            before: find(before, k),
            after: find(after, k),
        })
        .filter(|c| c.before != c.after)
        .collect()
}

/// A zone's configuration, field by field: name, slot, rules, capacity per weekday, caps
/// and closures.
pub fn zone_fields(z: &ZoneConfig) -> Fields {
    let r = &z.rules;
    let mut f: Fields = vec![
        ("name".into(), z.name.clone()),
        ("slot_minutes".into(), z.slot.minutes().to_string()),
        (
            "rules.horizon_minutes".into(),
            r.horizon_minutes.to_string(),
        ),
        (
            "rules.booking_cutoff_minutes".into(),
            r.booking_cutoff_minutes.to_string(),
        ),
        (
            "rules.change_cutoff_minutes".into(),
            r.change_cutoff_minutes.to_string(),
        ),
        (
            "rules.early_grace_minutes".into(),
            r.early_grace_minutes.to_string(),
        ),
        (
            "rules.late_grace_minutes".into(),
            r.late_grace_minutes.to_string(),
        ),
        (
            "rules.company_cap_percent".into(),
            r.company_cap_percent.to_string(),
        ),
        (
            "rules.require_containers".into(),
            r.require_containers.to_string(),
        ),
    ];
    f.extend(template_fields(&z.template));
    for (c, p) in &z.company_caps {
        f.push((format!("company_cap.{c}"), format!("{p}%")));
    }
    for c in &z.closures {
        f.push((
            format!("closure.{}", c.id),
            format!("{} – {}: {}", local(c.from), local(c.to), c.reason),
        ));
    }
    let pending = z
        .alerts
        .iter()
        .filter(|a| a.effect == crate::alert::AlertEffect::Pending);
    for (a, c) in pending.filter_map(|a| Some((a, a.close.as_ref()?))) {
        f.push((
            format!("pending_alert.{}", a.key),
            format!("{} – {}: {}", local(c.from), local(c.to), c.reason),
        ));
    }
    for o in &z.overrides {
        f.push((
            format!("override.{}", o.id),
            format!(
                "{} – {}: {}: {}",
                local(o.from),
                local(o.to),
                capacity(&o.capacity),
                o.reason
            ),
        ));
    }
    for w in &z.watch {
        let until = w
            .until
            .map_or_else(|| "until removed".into(), |u| format!("until {}", local(u)));
        f.push((
            format!("watch.{}", w.target),
            format!("{} {until}: {}", w.action.as_str(), w.reason),
        ));
    }
    f
}

/// A capacity template, one field per local weekday: runs of hours with the same capacity,
/// e.g. `00-06 10; 06-22 20 (GENERAL_CARGO 5); 22-24 10`.
fn template_fields(t: &CapacityTemplate) -> Fields {
    WEEKDAYS
        .into_iter()
        .map(|d| {
            let mut runs: Vec<(u32, u32, WindowCapacity)> = Vec::new();
            for h in 0..24 {
                let c = t.get(d, h);
                match runs.last_mut() {
                    Some((_, end, last)) if *last == c => *end = h + 1,
                    _ => runs.push((h, h + 1, c)),
                }
            }
            let text: Vec<String> = runs
                .iter()
                .map(|(from, to, c)| format!("{from:02}-{to:02} {}", capacity(c)))
                .collect();
            (format!("capacity.{d}"), text.join("; "))
        })
        .collect()
}

fn capacity(c: &WindowCapacity) -> String {
    match c.per_type {
        None => c.total.to_string(),
        Some(_) => {
            let split: Vec<String> = TransactionType::ALL
                .iter()
                .map(|t| format!("{} {}", t.as_str(), c.for_type(*t)))
                .collect();
            format!("{} ({})", c.total, split.join(", "))
        }
    }
}

/// A gate: its zone, name and lanes.
pub fn gate_fields(g: &Gate) -> Fields {
    let mut f: Fields = vec![
        ("zone".into(), g.zone.to_string()),
        ("name".into(), g.name.clone()),
    ];
    for l in &g.lanes {
        f.push((format!("lane.{}", l.id), l.direction.as_str().into()));
    }
    f
}

/// A booking: its state, truck, and each stop's zone, window and type.
pub fn booking_fields(b: &Booking) -> Fields {
    let mut f: Fields = vec![
        ("company".into(), b.company.to_string()),
        ("plate".into(), b.plate.to_string()),
        ("state".into(), b.state.as_str().into()),
    ];
    for (i, s) in b.stops.iter().enumerate() {
        f.push((
            format!("stop.{i}"),
            format!(
                "{} {} {}",
                s.zone,
                local(s.window_start),
                s.transaction_type.as_str()
            ),
        ));
    }
    if let Some(r) = &b.cancel_reason {
        f.push(("cancel_reason".into(), r.clone()));
    }
    f
}

/// A referral: its state, and who resolved it and why.
pub fn referral_fields(r: &Referral) -> Fields {
    let state = match r.state {
        ReferralState::Open => "OPEN",
        ReferralState::Approved => "APPROVED",
        ReferralState::Rejected => "REJECTED",
    };
    let mut f: Fields = vec![("state".into(), state.into())];
    if let Some(b) = r.passage.booking {
        f.push(("booking".into(), b.to_string()));
    }
    if let Some(why) = &r.resolution {
        f.push(("resolution".into(), why.clone()));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::SlotLength;

    fn zone() -> ZoneConfig {
        ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "ACT",
            SlotLength::from_minutes(30).unwrap(),
            WindowCapacity::uniform(20),
        )
    }

    #[test]
    fn a_diff_names_only_what_changed() {
        let before = zone();
        let mut after = before.clone();
        after.rules.company_cap_percent = 50;
        after
            .template
            .set(chrono::Weekday::Fri, 8, WindowCapacity::uniform(4))
            .unwrap();
        after
            .company_caps
            .insert(CompanyId::parse("acme").unwrap(), 10);
        let d = diff(&zone_fields(&before), &zone_fields(&after));
        let fields: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rules.company_cap_percent",
                "capacity.Fri",
                "company_cap.acme"
            ]
        );
        assert_eq!((d[0].before.as_str(), d[0].after.as_str()), ("30", "50"));
        assert_eq!(d[1].before, "00-24 20");
        assert_eq!(d[1].after, "00-08 20; 08-09 4; 09-24 20");
        assert_eq!((d[2].before.as_str(), d[2].after.as_str()), ("", "10%"));
        assert!(diff(&zone_fields(&before), &zone_fields(&before)).is_empty());
    }

    #[test]
    fn times_read_in_amman() {
        let t = "2026-12-08T07:00:00Z".parse().unwrap();
        assert_eq!(local(t), "2026-12-08 10:00 (+03:00)");
    }

    #[test]
    fn kinds_and_doors_have_codes() {
        for k in AuditKind::ALL {
            assert_eq!(k.as_str().parse::<AuditKind>().unwrap(), k);
        }
        let e = "nope".parse::<AuditKind>().unwrap_err().to_string();
        assert!(e.contains("kind") && e.contains("zone.saved"), "{e}");
        let codes: std::collections::BTreeSet<_> = Door::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(codes.len(), Door::ALL.len());
    }

    #[test]
    fn a_filter_picks_by_zone_actor_kind_and_time() {
        let at: DateTime<Utc> = "2026-12-08T07:00:00Z".parse().unwrap();
        let r = AuditRecord {
            at,
            who: Who {
                token: Some("abc123".into()),
                name: "ops-lead".into(),
                ..Who::system()
            },
            kind: AuditKind::ClosureAdded,
            zone: Some(ZoneId::parse("act").unwrap()),
            objects: vec!["closure:act/1".into()],
            changes: Vec::new(),
        };
        assert!(AuditFilter::default().matches(&r));
        let by = |a: &str| AuditFilter {
            actor: Some(a.into()),
            ..AuditFilter::default()
        };
        assert!(by("abc123").matches(&r) && by("ops-lead").matches(&r));
        assert!(!by("someone").matches(&r));
        let z = AuditFilter {
            zone: Some(ZoneId::parse("aiie").unwrap()),
            ..AuditFilter::default()
        };
        assert!(!z.matches(&r));
        let window = AuditFilter {
            from: Some(at),
            to: Some(at + chrono::TimeDelta::seconds(1)),
            kind: Some(AuditKind::ClosureAdded),
            ..AuditFilter::default()
        };
        assert!(window.matches(&r));
        let after = AuditFilter {
            from: Some(at + chrono::TimeDelta::seconds(1)),
            ..AuditFilter::default()
        };
        assert!(!after.matches(&r));
    }
}
