//! Bawaba's web dashboard, served by the scheduler on its own HTTP port (`--http ADDR`).
//!
//! - The port authority's view (`/authority`): throughput per hour per zone and gate against
//!   capacity, slot use (zone × window heat map), turn-time percentiles, queue and referral
//!   counts, no-shows and late arrivals per company, closures and the bookings they hit, and a
//!   live feed of passages (server-sent events woken by the store's commits).
//! - The gate operators' view (`/operator`): the open referrals of the operator's zone with
//!   their evidence; approve or reject with a reason, through the same code path as the gRPC
//!   OperatorService (the approval pulses the barrier through the gate's command stream).
//! - JSON endpoints under `/api/` (the data behind the charts), `/metrics` when the binary
//!   gives a Prometheus encoder.
//!
//! Login is a Bawaba token (authority or operator) kept in an HttpOnly, SameSite=Strict
//! cookie; English and Arabic (right to left); times in Asia/Amman. Every asset is embedded:
//! the page works on a port network with no Internet. Served with axum.

pub mod agg;
mod auth;
mod i18n;
mod pages;
mod report;
mod routes;

use std::future::Future;
use std::sync::Arc;

use bawaba_grpc::metrics::Metrics;
use bawaba_grpc::{Clock, Commands};
use bawaba_store::{Store, TokenBook};
use tokio::net::TcpListener;

pub use i18n::Lang;
pub use routes::router;

/// Everything the dashboard refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed parameter; `field` names it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error(transparent)]
    Store(#[from] bawaba_store::Error),
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// What the dashboard reads and acts through: the scheduler's store, token book, clock, and
/// the gate command channels the gRPC GateService uses (so an approval here reaches the
/// gate's agent).
pub struct Dashboard<S> {
    pub store: Arc<S>,
    pub tokens: Arc<TokenBook>,
    pub clock: Arc<dyn Clock>,
    pub commands: Arc<Commands>,
    /// The scheduler's metrics: served at `GET /metrics` (no login, as Prometheus expects)
    /// and fed by what is done here (the turn time of an exit an operator approves); none: no
    /// `/metrics` route.
    pub metrics: Option<Arc<Metrics>>,
}

impl<S> std::fmt::Debug for Dashboard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Dashboard<S> {
    /// Serves on `listener` until `shutdown` resolves; open live feeds end then, so the stop
    /// does not wait for browsers to go away.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let app = router(self, stop_rx);
        tracing::info!("dashboard listening on http://{addr}/");
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await?;
        tracing::info!("dashboard stopped");
        Ok(())
    }
}
