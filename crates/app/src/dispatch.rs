//! The dispatcher shared by the ways a company's events leave Bawaba ([`Channel`]: webhooks,
//! SMS): each company's events after its cursor, in order, at least once; a failed event is
//! tried again when due ([`RetryPolicy`]) and holds back the events after it; every attempt
//! and the progress it leaves are stored together.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bawaba_domain::event::CompanyEvent;
use bawaba_domain::ids::CompanyId;
use bawaba_domain::notify::{Delivery, Outcome, Progress, RetryPolicy};
use bawaba_store::Store;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::App;

/// How many events a company's delivery reads at a time.
const BATCH: usize = 50;
/// How often the dispatcher looks for due retries when no commit wakes it.
const TICK: Duration = Duration::from_secs(1);
/// The least time between two looks (a busy store commits far more often).
const SETTLE: Duration = Duration::from_millis(20);

/// The receiver's answer to one attempt: its status, or why there was none.
pub type Answer = std::result::Result<u16, String>;

/// One way events leave: what is due, how one is sent, how an attempt is kept.
pub(crate) trait Channel<S: Store>: Send + Sync + 'static {
    /// Where a company's events go (its webhook; the company itself for SMS).
    type Target: Send + Sync + 'static;
    /// What an attempt keeps besides the delivery (the number an SMS went to).
    type Note: Send + 'static;
    fn company(target: &Self::Target) -> &CompanyId;
    /// The companies whose events this process is to deliver, with their progress.
    fn due(
        &self,
        store: &S,
    ) -> impl Future<Output = bawaba_store::Result<Vec<(Self::Target, Progress)>>> + Send;
    /// Sends `event`: `None` when there is nothing to send for it (it is passed over); an
    /// error when what to send could not be read (the run stops, to try again later).
    fn send(
        &self,
        app: &App<S>,
        target: &Self::Target,
        event: &CompanyEvent,
    ) -> impl Future<Output = bawaba_store::Result<Option<(Self::Note, Answer)>>> + Send;
    /// Stores `progress` with the attempt that made it (none: events were passed over).
    fn record(
        &self,
        store: &S,
        company: &CompanyId,
        attempt: Option<(Self::Note, Delivery)>,
        progress: Progress,
    ) -> impl Future<Output = bawaba_store::Result<()>> + Send;
}

impl<S: Store> App<S> {
    /// Delivers every company's events through `channel` until aborted: one task per
    /// company with events due (a slow receiver holds up only its own company), woken by
    /// every commit and every [`TICK`].
    pub(crate) fn spawn_channel<C: Channel<S>>(
        &self,
        channel: Arc<C>,
        policy: RetryPolicy,
    ) -> JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut commits = app.store.commits();
            let mut running: HashMap<CompanyId, JoinHandle<()>> = HashMap::new();
            loop {
                running.retain(|_, task| !task.is_finished());
                match channel.due(&app.store).await {
                    Ok(due) => {
                        let now = app.clock.now();
                        for (target, progress) in due {
                            let company = C::company(&target).clone();
                            if running.contains_key(&company) || !progress.due(now) {
                                continue;
                            }
                            let job = app.deliver(Arc::clone(&channel), target, progress, policy);
                            running.insert(company, tokio::spawn(job));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "reading what to deliver failed"),
                }
                tokio::select! {
                    _ = commits.changed() => {}
                    () = tokio::time::sleep(TICK) => {}
                }
                tokio::time::sleep(SETTLE).await;
            }
        })
    }

    /// Delivers a company's events after its cursor, in order, until none is left or one
    /// fails (it is retried when due).
    fn deliver<C: Channel<S>>(
        &self,
        channel: Arc<C>,
        target: C::Target,
        mut progress: Progress,
        policy: RetryPolicy,
    ) -> impl Future<Output = ()> + Send + 'static {
        let app = self.clone();
        async move {
            let company = C::company(&target).clone();
            loop {
                let page = match app
                    .store
                    .company_events(company.clone(), progress.cursor, BATCH)
                    .await
                {
                    Ok(page) if !page.events.is_empty() => page,
                    Ok(_) => return,
                    Err(e) => return tracing::error!(error = %e, "reading events to deliver"),
                };
                let mut passed_over = false;
                for event in &page.events {
                    let (note, answer) = match channel.send(&app, &target, event).await {
                        Ok(Some(sent)) => sent,
                        Ok(None) => {
                            progress = Progress {
                                cursor: event.seq,
                                failing: None,
                            };
                            passed_over = true;
                            continue;
                        }
                        Err(e) => return tracing::error!(error = %e, "reading what to send"),
                    };
                    let now = app.clock.now();
                    let d = attempt(&company, &progress, event.seq, answer, &policy, now);
                    let failed = matches!(d.outcome, Outcome::Failed { .. });
                    progress = progress.after(&d, &policy);
                    let kept =
                        channel.record(&app.store, &company, Some((note, d)), progress.clone());
                    if let Err(e) = kept.await {
                        return tracing::error!(error = %e, "recording a delivery failed");
                    }
                    passed_over = false;
                    if failed {
                        return;
                    }
                }
                if passed_over {
                    let kept = channel.record(&app.store, &company, None, progress.clone());
                    if let Err(e) = kept.await {
                        return tracing::error!(error = %e, "recording a delivery failed");
                    }
                }
            }
        }
    }
}

/// The attempt `answer` makes at `company`'s event `seq` at `now`.
fn attempt(
    company: &CompanyId,
    progress: &Progress,
    seq: u64,
    answer: Answer,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Delivery {
    let outcome = match answer {
        Ok(status) if (200..300).contains(&status) => Outcome::Delivered { status },
        failed => {
            let (status, error) = match failed {
                Ok(s) => (Some(s), format!("the receiver answered HTTP {s}")),
                Err(e) => (None, e),
            };
            if progress.gives_up(seq, now, policy) {
                Outcome::GaveUp { status, error }
            } else {
                Outcome::Failed { status, error }
            }
        }
    };
    Delivery {
        company: company.clone(),
        seq,
        attempt: progress.attempt(seq),
        at: now,
        outcome,
    }
}
