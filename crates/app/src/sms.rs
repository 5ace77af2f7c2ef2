//! SMS notices to drivers: each event of a company's log that concerns the driver
//! ([`CompanyEvent::texted`]) is texted, through a [`Texter`] (the SMS gateway's adapter), to
//! the mobile number its company's fleet gives for the booking's truck — at least once, in
//! order, with every attempt kept (see [`crate::dispatch`]). The reminders before a visit's
//! first window are events of the log too ([`App::remind`]).

use std::future::Future;
use std::sync::Arc;

use bawaba_domain::access::Principal;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::fleet::Phone;
use bawaba_domain::ids::CompanyId;
use bawaba_domain::notify::{Delivery, Progress, RetryPolicy, Texted};
use bawaba_store::Store;
use chrono::TimeDelta;
use tokio::task::JoinHandle;

use crate::dispatch::{Answer, Channel};
use crate::webhooks::MAX_DELIVERIES;
use crate::{App, Result, page_size, scope};

/// Texts an event to a driver: the gateway's HTTP status, or why there was none.
pub trait Texter: Send + Sync + 'static {
    /// `zones` names the zones in the text.
    fn text(
        &self,
        to: &Phone,
        event: &CompanyEvent,
        zones: &[ZoneConfig],
    ) -> impl Future<Output = Answer> + Send;
}

impl<S: Store> App<S> {
    /// Texts every company's events to its drivers through `texter`, until aborted.
    pub fn spawn_texts<T: Texter>(&self, texter: Arc<T>, policy: RetryPolicy) -> JoinHandle<()> {
        self.spawn_channel(Arc::new(Texts(texter)), policy)
    }

    /// Adds the reminders due now to the companies' logs (`lead` before each booked visit's
    /// first window): how many.
    pub async fn remind(&self, lead: TimeDelta) -> Result<usize> {
        Ok(self.store.remind(self.clock.now(), lead).await?)
    }

    /// `company`'s SMS attempts, newest first; `before` (event number, attempt) continues a
    /// listing.
    pub async fn texts(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Texted>> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        let limit = page_size(limit, 50, MAX_DELIVERIES)?;
        Ok(self.store.texts(company, before, limit).await?)
    }
}

/// SMS as a [`Channel`].
struct Texts<T>(Arc<T>);

impl<S: Store, T: Texter> Channel<S> for Texts<T> {
    type Target = CompanyId;
    type Note = Phone;

    fn company(target: &CompanyId) -> &CompanyId {
        target
    }

    async fn due(&self, store: &S) -> bawaba_store::Result<Vec<(CompanyId, Progress)>> {
        store.sms_to_deliver().await
    }

    /// Nothing to send for an event that does not concern the driver, or whose truck has
    /// no driver's number in the company's fleet.
    async fn send(
        &self,
        app: &App<S>,
        company: &CompanyId,
        event: &CompanyEvent,
    ) -> bawaba_store::Result<Option<(Phone, Answer)>> {
        if !event.texted(app.clock.now()) {
            return Ok(None);
        }
        let fleet = app.store.fleet(company.clone()).await?;
        let truck = fleet.into_iter().find(|t| t.plate == event.booking.plate);
        let Some(to) = truck.and_then(|t| t.phone) else {
            return Ok(None);
        };
        let zones = app.store.zones().await?;
        let answer = self.0.text(&to, event, &zones).await;
        Ok(Some((to, answer)))
    }

    async fn record(
        &self,
        store: &S,
        company: &CompanyId,
        attempt: Option<(Phone, Delivery)>,
        progress: Progress,
    ) -> bawaba_store::Result<()> {
        let text = attempt.map(|(to, delivery)| Texted { to, delivery });
        store.record_text(company.clone(), text, progress).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bawaba_domain::access::Role;
    use bawaba_domain::notify::Outcome;
    use bawaba_domain::plate::Plate;
    use chrono::TimeDelta;

    use super::*;
    use crate::tests::{bed, principal};
    use crate::{Kind, TruckDetails};

    /// A gateway answering from a script (then 202), and what it was asked to text.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Mutex<Vec<Answer>>,
        sent: Mutex<Vec<(String, String)>>,
    }

    impl Texter for Scripted {
        async fn text(&self, to: &Phone, e: &CompanyEvent, _: &[ZoneConfig]) -> Answer {
            self.sent.lock().unwrap().push((to.to_string(), e.id()));
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                Ok(202)
            } else {
                answers.remove(0)
            }
        }
    }

    fn acme() -> Principal {
        principal(Role::Company, Some("acme"), None)
    }

    #[tokio::test]
    async fn drivers_with_a_number_are_texted_once_each_with_retries() {
        let b = bed().await;
        for (n, phone) in [(1, Some("0791234567")), (2, None)] {
            let details = TruckDetails {
                plate: Plate::parse(&format!("60-{:05}", 10_000 + n)).unwrap(),
                epc: None,
                driver: "Ali".into(),
                phone: phone.map(|p| Phone::parse(p).unwrap()),
            };
            b.app.save_truck(&acme(), None, details).await.unwrap();
        }
        let texter = Arc::new(Scripted::default());
        *texter.answers.lock().unwrap() = vec![Err("connection refused".into())];
        let policy = RetryPolicy {
            first: TimeDelta::zero(),
            ..RetryPolicy::default()
        };
        let task = b.app.spawn_texts(Arc::clone(&texter), policy);
        b.book("acme", "act", 1).await;
        b.book("acme", "act", 2).await;
        b.book("zeta", "act", 3).await;
        for _ in 0..1000 {
            let progress = b.store.sms_progress().await.unwrap();
            if progress.iter().any(|(_, p)| p.cursor >= 2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        task.abort();
        let sent = texter.sent.lock().unwrap().clone();
        let to = "+962791234567".to_owned();
        assert_eq!(sent, [(to.clone(), "acme:1".into()), (to, "acme:1".into())]);
        let texts = b.app.texts(&acme(), None, None, 10).await.unwrap();
        let tried: Vec<_> = texts
            .iter()
            .map(|t| (t.delivery.seq, t.delivery.attempt, &t.delivery.outcome))
            .collect();
        let failed = Outcome::Failed {
            status: None,
            error: "connection refused".into(),
        };
        let delivered = Outcome::Delivered { status: 202 };
        assert_eq!(tried, [(1, 2, &delivered), (1, 1, &failed)], "newest first");
        let zeta = principal(Role::Company, Some("zeta"), None);
        let theirs = b
            .app
            .texts(&zeta, Some(CompanyId::parse("acme").unwrap()), None, 10);
        assert_eq!(theirs.await.unwrap_err().kind(), Kind::NotFound);
    }
}
