//! Bawaba's application layer: what people and systems do, once, under every front door.
//!
//! [`App`] holds the store, the token book, the [`Clock`], the gate [`Commands`] and the
//! [`Metrics`]. Its methods are the use cases — book, move, cancel, read and list bookings,
//! find windows, every admin change, report passages, follow a zone, resolve referrals, the
//! no-show sweep — each taking the caller's [`Principal`] and domain values and answering
//! domain values or the one [`Error`]. **Authorization lives here**: before anything is read
//! or changed, every object a request names (zone, gate, lane, booking, referral, company) is
//! checked against the caller's scope ([`scope`]), and one out of scope is answered exactly
//! like one that does not exist. The gRPC service and the web dashboard are adapters: decode,
//! call the app, map the error.

mod accounts;
mod admin;
mod alerts;
mod audit;
mod backup;
mod bookings;
mod capacity;
pub mod clock;
mod commands;
mod decisions;
mod dispatch;
mod error;
mod events;
mod fleet;
mod gates;
pub mod metrics;
pub mod scope;
mod search;
mod sms;
#[cfg(test)]
mod tests;
pub mod watch;
mod webhooks;

use std::future::Future;
use std::sync::Arc;

use bawaba_domain::access::Principal;
use bawaba_domain::audit::Door;
use bawaba_store::{Store, TokenBook};

pub use accounts::{AccountChange, LOGIN_REFUSED, NewAccount, SESSION_PREFIX};
pub use admin::Closed;
pub use alerts::{AlertReport, AlertSetting, PendingAlert, ZoneEffect};
pub use audit::{AuditItem, AuditPage, AuditQuery, MAX_AUDIT_PAGE};
pub use backup::Backup;
pub use bookings::{BookingQuery, MAX_PAGE, MAX_WINDOWS, Page};
pub use capacity::{CapacityChange, Overbooked};
pub use clock::{Clock, SimClock, SystemClock};
pub use commands::{Commands, GateCommand};
pub use error::{Error, Kind, Result};
pub use events::MAX_EVENT_PAGE;
pub use fleet::TruckDetails;
pub use gates::MAX_PASSAGES;
pub use metrics::Metrics;
pub use search::{Found, MAX_FOUND, Query, SEARCH_PASSAGES_DAYS};
pub use sms::Texter;
pub use watch::WatchListing;
pub use webhooks::{MAX_DELIVERIES, Poster, WebhookView};

/// `bytes` random bytes from the operating system, in hex.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| {
        Error::Store(bawaba_store::Error::Storage(format!(
            "reading the OS random source: {e}"
        )))
    })?;
    Ok(hex::encode(buf))
}

/// The size of a listing's page: `asked`, or `default` when 0; more than `max` is refused.
pub(crate) fn page_size(asked: usize, default: usize, max: usize) -> Result<usize> {
    match asked {
        0 => Ok(default),
        n if n > max => Err(Error::invalid(
            "page_size",
            format!("is {n}; at most {max}"),
        )),
        n => Ok(n),
    }
}

/// The use cases over a store. Cheap to clone: every front door holds one.
#[derive(Debug)]
pub struct App<S> {
    store: Arc<S>,
    tokens: Arc<TokenBook>,
    clock: Arc<dyn Clock>,
    commands: Arc<Commands>,
    metrics: Arc<Metrics>,
    /// The zones' outlines, thresholds and policies for alerts (from the configuration).
    alert_zones: Arc<Vec<AlertSetting>>,
    /// Failed logins per network address.
    throttle: Arc<std::sync::Mutex<bawaba_domain::account::Throttle>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App {
            store: Arc::clone(&self.store),
            tokens: Arc::clone(&self.tokens),
            clock: Arc::clone(&self.clock),
            commands: Arc::clone(&self.commands),
            metrics: Arc::clone(&self.metrics),
            alert_zones: Arc::clone(&self.alert_zones),
            throttle: Arc::clone(&self.throttle),
        }
    }
}

impl<S: Store> App<S> {
    /// The application over `store`, authenticating with `tokens`, on `clock`; with its own
    /// gate command channels and metrics registry, which every door built on it shares.
    pub fn new(store: Arc<S>, tokens: Arc<TokenBook>, clock: Arc<dyn Clock>) -> Self {
        App {
            store,
            tokens,
            clock,
            commands: Arc::default(),
            metrics: Arc::default(),
            alert_zones: Arc::default(),
            throttle: Arc::default(),
        }
    }

    /// The same application, taking alerts for `zones` (their outlines, thresholds and
    /// policies).
    pub fn with_alert_zones(mut self, zones: Vec<AlertSetting>) -> Self {
        for s in &zones {
            let z = &s.takes;
            tracing::info!(zone = %z.zone, min_severity = ?z.min_severity, min_urgency = ?z.min_urgency, confirm = z.confirm, policy = s.policy.as_str(), "zone takes alerts");
        }
        self.alert_zones = Arc::new(zones);
        self
    }

    /// The store, for what is not a use case of a caller: the dashboard's authority-wide
    /// figures (after [`App::authenticate`] and an authority check), health and metrics.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Who holds `token`, calling through `door`: UNAUTHENTICATED when there is none, or it
    /// is unknown or revoked.
    pub fn authenticate(&self, token: Option<&str>, door: Door) -> Result<Principal> {
        let token = token.ok_or(Error::Unauthenticated(
            "missing token (`authorization: Bearer <token>`)",
        ))?;
        self.tokens
            .authenticate(token)
            .map(|p| p.via(door))
            .ok_or(Error::Unauthenticated("unknown or revoked token"))
    }

    /// Resolves once `token` (or a portal session's secret) no longer authenticates (it was
    /// revoked, or the session ended), checked every [`TokenBook::RECHECK`]: what ends the
    /// streams it opened.
    pub fn revoked(&self, token: Option<String>) -> impl Future<Output = ()> + Send + 'static {
        let app = self.clone();
        async move {
            let Some(token) = token else { return };
            let mut every = tokio::time::interval(TokenBook::RECHECK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if app
                    .authenticate_any(Some(&token), Door::System)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }

    /// Refreshes the metrics read from the store every [`metrics::REFRESH_EVERY`] until the
    /// task is aborted.
    pub fn spawn_metrics_refresher(&self) -> tokio::task::JoinHandle<()> {
        self.metrics
            .spawn_refresher(Arc::clone(&self.store), Arc::clone(&self.clock))
    }

    /// Runs the no-show sweep, and makes the reminders due `remind_before` the visits' first
    /// windows (zero: none), every `every` on the app's clock (real or simulated) until the
    /// task is aborted.
    pub fn spawn_sweeper(
        &self,
        every: std::time::Duration,
        remind_before: chrono::TimeDelta,
    ) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        let every = chrono::TimeDelta::from_std(every).unwrap_or(chrono::TimeDelta::minutes(1));
        tokio::spawn(async move {
            let mut next = app.clock.now();
            loop {
                app.clock.sleep_until(next).await;
                next = app.clock.now() + every;
                match app.sweep_no_shows().await {
                    Ok(marked) if !marked.is_empty() => {
                        tracing::info!(count = marked.len(), "marked no-shows")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "no-show sweep failed"),
                }
                if remind_before > chrono::TimeDelta::zero() {
                    match app.remind(remind_before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(count = n, "reminders made"),
                        Err(e) => tracing::error!(error = %e, "making reminders failed"),
                    }
                }
            }
        })
    }

    /// Marks the no-shows due now: the system's own sweep (no caller to authorize).
    pub async fn sweep_no_shows(&self) -> Result<Vec<bawaba_domain::ids::BookingId>> {
        self.sweep_no_shows_due_by(self.clock.now()).await
    }

    /// Marks the no-shows due by `t` (not after the app's clock): the sweep that closes a
    /// simulated day at its end, whatever the clock did after it.
    pub async fn sweep_no_shows_due_by(
        &self,
        t: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<bawaba_domain::ids::BookingId>> {
        Ok(self.store.sweep_no_shows(t.min(self.clock.now())).await?)
    }
}
