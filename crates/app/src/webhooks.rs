//! Webhooks (see `bawaba_domain::notify`): a company sets where its events go, reads how
//! their delivery went; the dispatcher ([`App::spawn_webhooks`]) delivers each event at least
//! once, in order, through a [`Poster`] (the HTTP adapter), and keeps every attempt (see
//! [`crate::dispatch`]).

use std::future::Future;
use std::sync::Arc;

use bawaba_domain::access::Principal;
use bawaba_domain::audit::Who;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::ids::CompanyId;
use bawaba_domain::notify::{Delivery, Progress, RetryPolicy, Webhook};
use bawaba_store::Store;
use tokio::task::JoinHandle;

use crate::dispatch::{Answer, Channel};
use crate::{App, Error, Result, page_size, scope};

/// Most delivery attempts one read answers.
pub const MAX_DELIVERIES: usize = 500;

/// A company's webhook as its owner sees it: never the secret (shown once, when set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookView {
    pub company: CompanyId,
    pub url: String,
    pub set_at: chrono::DateTime<chrono::Utc>,
    pub progress: Progress,
    /// The number of the company's newest event: `head − cursor` are still to deliver.
    pub head: u64,
}

/// Delivers one event to a webhook: the receiver's HTTP status, or why there was none.
pub trait Poster: Send + Sync + 'static {
    fn post(
        &self,
        hook: &Webhook,
        event: &CompanyEvent,
    ) -> impl Future<Output = std::result::Result<u16, String>> + Send;
}

impl<S: Store> App<S> {
    /// Sets the webhook of `company` (a company its own; the authority names one). An empty
    /// `secret` has one made: the answer carries the secret, the only time it is shown.
    pub async fn set_webhook(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        url: &str,
        secret: &str,
    ) -> Result<Webhook> {
        scope::role(p, scope::BOOKERS)?;
        crate::accounts::company_setting(p)?;
        let company = scope::company(p, company, "company_id")?;
        let secret = match secret {
            "" => new_secret()?,
            given => given.to_owned(),
        };
        let hook = Webhook::new(company.clone(), url, &secret, self.clock.now())?;
        self.store
            .set_webhook(company, Some(hook.clone()), Who::from(p), self.clock.now())
            .await?;
        Ok(hook)
    }

    /// Removes `company`'s webhook: its events are no longer delivered.
    pub async fn remove_webhook(&self, p: &Principal, company: Option<CompanyId>) -> Result<()> {
        scope::role(p, scope::BOOKERS)?;
        crate::accounts::company_setting(p)?;
        let company = scope::company(p, company, "company_id")?;
        let who = Who::from(p);
        Ok(self
            .store
            .set_webhook(company, None, who, self.clock.now())
            .await?)
    }

    /// `company`'s webhook and how far its delivery has come (none set: not found).
    pub async fn webhook(&self, p: &Principal, company: Option<CompanyId>) -> Result<WebhookView> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        let hooks = self.store.webhooks().await?;
        let (hook, progress) = hooks
            .into_iter()
            .find(|(h, _)| h.company == company)
            .ok_or_else(|| Error::not_found("webhook", &company))?;
        let head = self.store.company_events(company, 0, 0).await?.head;
        Ok(WebhookView {
            company: hook.company,
            url: hook.url,
            set_at: hook.set_at,
            progress,
            head,
        })
    }

    /// `company`'s delivery attempts, newest first; `before` (event number, attempt)
    /// continues a listing.
    pub async fn webhook_deliveries(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        let limit = page_size(limit, 50, MAX_DELIVERIES)?;
        Ok(self.store.deliveries(company, before, limit).await?)
    }

    /// Delivers every company's events to its webhook through `poster`, until aborted (see
    /// [`crate::dispatch`]).
    pub fn spawn_webhooks<P: Poster>(&self, poster: Arc<P>, policy: RetryPolicy) -> JoinHandle<()> {
        self.spawn_channel(Arc::new(Webhooks(poster)), policy)
    }
}

/// Webhooks as a [`Channel`].
struct Webhooks<P>(Arc<P>);

impl<S: Store, P: Poster> Channel<S> for Webhooks<P> {
    type Target = Webhook;
    type Note = ();

    fn company(target: &Webhook) -> &CompanyId {
        &target.company
    }

    async fn due(&self, store: &S) -> bawaba_store::Result<Vec<(Webhook, Progress)>> {
        store.webhooks_to_deliver().await
    }

    async fn send(
        &self,
        _: &App<S>,
        hook: &Webhook,
        event: &CompanyEvent,
    ) -> bawaba_store::Result<Option<((), Answer)>> {
        Ok(Some(((), self.0.post(hook, event).await)))
    }

    async fn record(
        &self,
        store: &S,
        _: &CompanyId,
        attempt: Option<((), Delivery)>,
        progress: Progress,
    ) -> bawaba_store::Result<()> {
        match attempt {
            Some(((), d)) => store.record_delivery(d, progress).await,
            // Every event goes to a webhook: none is passed over.
            None => Ok(()),
        }
    }
}

fn new_secret() -> Result<String> {
    Ok(format!("whsec_{}", crate::random_hex(24)?))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bawaba_domain::access::Role;
    use bawaba_domain::notify::Outcome;
    use bawaba_store::TokenBook;
    use chrono::TimeDelta;

    use super::*;
    use crate::tests::{Bed, bed, principal};
    use crate::{Kind, SimClock};

    /// A receiver answering from a script (then 200), and the events it was sent.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Mutex<Vec<std::result::Result<u16, String>>>,
        seen: Mutex<Vec<String>>,
    }

    impl Poster for Scripted {
        async fn post(&self, _: &Webhook, e: &CompanyEvent) -> std::result::Result<u16, String> {
            self.seen.lock().unwrap().push(e.id());
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                Ok(200)
            } else {
                answers.remove(0)
            }
        }
    }

    fn acme() -> Principal {
        principal(Role::Company, Some("acme"), None)
    }

    const URL: &str = "https://hooks.acme.example/bawaba";

    #[tokio::test]
    async fn a_company_keeps_its_own_webhook_only() {
        let b = bed().await;
        let hook = b.app.set_webhook(&acme(), None, URL, "").await.unwrap();
        assert!(hook.secret.starts_with("whsec_") && hook.secret.len() == 54);
        let zeta = principal(Role::Company, Some("zeta"), None);
        let theirs = b
            .app
            .webhook(&zeta, Some(CompanyId::parse("acme").unwrap()));
        let nobody = b
            .app
            .webhook(&zeta, Some(CompanyId::parse("nobody").unwrap()));
        let (theirs, nobody) = (theirs.await.unwrap_err(), nobody.await.unwrap_err());
        assert_eq!(theirs.kind(), Kind::NotFound);
        assert_eq!(
            theirs.to_string().replace("acme", "X"),
            nobody.to_string().replace("nobody", "X"),
            "another company's webhook answers as a company that does not exist"
        );
        let op = principal(Role::Operator, None, None);
        let refused = b.app.remove_webhook(&op, Some(hook.company.clone()));
        assert_eq!(refused.await.unwrap_err().kind(), Kind::Forbidden);
        let bad = b.app.set_webhook(&acme(), None, "ftp://x/", "").await;
        let bad = bad.unwrap_err();
        assert_eq!(bad.kind(), Kind::Invalid);
        assert!(bad.to_string().contains("url"), "{bad}");
        let view = b.app.webhook(&acme(), None).await.unwrap();
        assert_eq!(view.url, URL, "nothing of the refused change is stored");
        let authority = principal(Role::Authority, None, None);
        let none = b.app.webhook(&authority, None).await.unwrap_err();
        assert_eq!(none.kind(), Kind::Invalid, "the authority names a company");
    }

    /// Waits (at most 10 s) until `company`'s delivery has reached `seq`.
    async fn delivered(b: &Bed, seq: u64) -> Vec<Delivery> {
        for _ in 0..1000 {
            let hooks = b.store.webhooks().await.unwrap();
            if hooks[0].1.cursor >= seq {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let p = acme();
        let mut all = b.app.webhook_deliveries(&p, None, None, 100).await.unwrap();
        all.reverse();
        all
    }

    #[tokio::test]
    async fn failures_are_retried_in_order_and_kept() {
        let b = bed().await;
        b.app.set_webhook(&acme(), None, URL, "").await.unwrap();
        let poster = Arc::new(Scripted::default());
        *poster.answers.lock().unwrap() = vec![Err("refused".into()), Ok(500)];
        let policy = RetryPolicy {
            first: TimeDelta::zero(),
            ..RetryPolicy::default()
        };
        let task = b.app.spawn_webhooks(Arc::clone(&poster), policy);
        b.book("acme", "act", 1).await;
        b.book("acme", "act", 2).await;
        b.book("zeta", "act", 3).await;
        let all = delivered(&b, 2).await;
        task.abort();
        let tried: Vec<_> = all.iter().map(|d| (d.seq, d.attempt, &d.outcome)).collect();
        let failed = |status, error: &str| Outcome::Failed {
            status,
            error: error.into(),
        };
        assert_eq!(
            tried,
            [
                (1, 1, &failed(None, "refused")),
                (1, 2, &failed(Some(500), "the receiver answered HTTP 500")),
                (1, 3, &Outcome::Delivered { status: 200 }),
                (2, 1, &Outcome::Delivered { status: 200 }),
            ]
        );
        let seen = poster.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            ["acme:1", "acme:1", "acme:1", "acme:2"],
            "never zeta's"
        );
    }

    #[tokio::test]
    async fn an_event_failing_a_day_is_given_up_and_the_next_goes() {
        let b = bed().await;
        let clock = Arc::new(SimClock::new(b.app.clock().now()));
        let tokens = Arc::new(TokenBook::new(tempfile::tempdir().unwrap().path()));
        let app = App::new(Arc::clone(&b.store), tokens, clock.clone());
        app.set_webhook(&acme(), None, URL, "").await.unwrap();
        let poster = Arc::new(Scripted::default());
        *poster.answers.lock().unwrap() = vec![Ok(404), Ok(404)];
        let policy = RetryPolicy {
            first: TimeDelta::hours(2),
            ..RetryPolicy::default()
        };
        let task = app.spawn_webhooks(Arc::clone(&poster), policy);
        b.book("acme", "act", 1).await;
        b.book("acme", "act", 2).await;
        while poster.seen.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        clock.advance(TimeDelta::hours(25));
        let all = delivered(&b, 2).await;
        task.abort();
        let outcomes: Vec<_> = all.iter().map(|d| (d.seq, &d.outcome)).collect();
        let gave_up = Outcome::GaveUp {
            status: Some(404),
            error: "the receiver answered HTTP 404".into(),
        };
        assert_eq!(outcomes[1], (1, &gave_up));
        assert_eq!(outcomes[2], (2, &Outcome::Delivered { status: 200 }));
    }
}
