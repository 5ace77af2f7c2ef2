//! Companies' webhooks and how far each has delivered (see [`crate::notify`]), kept with the
//! ledger so they commit with their audit records.

use chrono::{DateTime, Utc};

use super::{Ledger, Touched};
use crate::audit::{self, AuditKind, AuditRecord, Fields, Who};
use crate::ids::CompanyId;
use crate::notify::{Delivery, Progress, Webhook};
use crate::{Error, Result};

impl Ledger {
    /// Every company's webhook with its progress.
    pub fn webhooks(&self) -> impl Iterator<Item = &(Webhook, Progress)> {
        self.webhooks.values()
    }

    pub fn webhook(&self, company: &CompanyId) -> Option<&(Webhook, Progress)> {
        self.webhooks.get(company)
    }

    /// Sets `company`'s webhook, or removes it (`None`; one it does not have is not found).
    /// A new one delivers the events after the company's newest; a replaced one goes on.
    pub fn set_webhook(
        &mut self,
        company: &CompanyId,
        hook: Option<Webhook>,
        who: &Who,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let before = self.webhooks.get(company).map(|(h, _)| h.clone());
        let kind = match (&before, &hook) {
            (None, None) => {
                return Err(Error::NotFound {
                    what: "webhook",
                    id: company.to_string(),
                });
            }
            (_, Some(_)) => AuditKind::WebhookSet,
            (Some(_), None) => AuditKind::WebhookRemoved,
        };
        let record = AuditRecord {
            at: now,
            who: who.clone(),
            kind,
            zone: None,
            objects: vec![format!("company:{company}")],
            changes: audit::diff(&fields(before.as_ref()), &fields(hook.as_ref())),
        };
        match hook {
            Some(h) => {
                let progress = match self.webhooks.remove(company) {
                    Some((_, p)) => p,
                    None => Progress {
                        cursor: self.event_seq(company),
                        failing: None,
                    },
                };
                self.webhooks.insert(company.clone(), (h, progress));
            }
            None => {
                self.webhooks.remove(company);
            }
        }
        Ok(Touched {
            webhooks: [company.clone()].into(),
            audit: vec![record],
            ..Touched::default()
        })
    }

    /// Records an attempt at one of a company's events and the progress it leaves; nothing
    /// for a company whose webhook was removed meanwhile.
    pub fn record_delivery(&mut self, delivery: Delivery, progress: Progress) -> Touched {
        let Some((_, p)) = self.webhooks.get_mut(&delivery.company) else {
            return Touched::default();
        };
        *p = progress;
        Touched {
            webhooks: [delivery.company.clone()].into(),
            deliveries: vec![delivery],
            ..Touched::default()
        }
    }
}

/// A webhook's audited fields: its URL and a fingerprint of its secret (never the secret).
fn fields(hook: Option<&Webhook>) -> Fields {
    hook.map(|h| {
        vec![
            ("url".into(), h.url.clone()),
            ("secret".into(), format!("set at {}", h.set_at.to_rfc3339())),
        ]
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::notify::{Outcome, RetryPolicy};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap()
    }

    fn hook(url: &str, h: u32) -> Webhook {
        let acme = CompanyId::parse("acme").unwrap();
        Webhook::new(acme, url, "0123456789abcdef", at(h)).unwrap()
    }

    #[test]
    fn a_webhook_is_set_changed_and_removed_with_its_audit() {
        let acme = CompanyId::parse("acme").unwrap();
        let mut l = Ledger::new();
        l.event_seq.insert(acme.clone(), 7);
        let who = Who::named("acme-admin");
        let t = l
            .set_webhook(&acme, Some(hook("https://a/", 1)), &who, at(1))
            .unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::WebhookSet);
        assert!(!format!("{:?}", t.audit).contains("0123456789abcdef"));
        assert_eq!(
            l.webhook(&acme).unwrap().1.cursor,
            7,
            "starts after the newest"
        );
        let d = Delivery {
            company: acme.clone(),
            seq: 8,
            attempt: 1,
            at: at(2),
            outcome: Outcome::Delivered { status: 200 },
        };
        let p = Progress::default().after(&d, &RetryPolicy::default());
        let t = l.record_delivery(d, p);
        assert_eq!(t.deliveries.len(), 1);
        l.set_webhook(&acme, Some(hook("https://b/", 3)), &who, at(3))
            .unwrap();
        let (h, p) = l.webhook(&acme).unwrap();
        assert_eq!((h.url.as_str(), p.cursor), ("https://b/", 8), "goes on");
        let t = l.set_webhook(&acme, None, &who, at(4)).unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::WebhookRemoved);
        assert!(l.webhook(&acme).is_none());
        let again = l.set_webhook(&acme, None, &who, at(5)).unwrap_err();
        assert!(matches!(again, Error::NotFound { .. }));
        let late = Delivery {
            company: acme,
            seq: 9,
            attempt: 1,
            at: at(6),
            outcome: Outcome::Delivered { status: 200 },
        };
        assert!(l.record_delivery(late, Progress::default()).is_empty());
    }
}
