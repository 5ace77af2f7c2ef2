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
mod codes;
mod csrf;
mod i18n;
mod pages;
mod report;
mod routes;
mod slip;

use std::future::Future;

use bawaba_app::App;
use bawaba_store::Store;
use tokio::net::TcpListener;

pub use auth::csrf_for;
/// The codes' words in both languages (the simulator's Arabic report uses them too).
pub use codes::Codes;
pub use i18n::Lang;
pub use routes::router;

/// Everything the dashboard refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed parameter; `field` names it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// What the application layer refused or failed at.
    #[error(transparent)]
    App(#[from] bawaba_app::Error),
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<bawaba_store::Error> for Error {
    fn from(e: bawaba_store::Error) -> Self {
        Error::App(e.into())
    }
}

impl From<bawaba_domain::Error> for Error {
    fn from(e: bawaba_domain::Error) -> Self {
        Error::App(e.into())
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The dashboard of an application: every request authenticates and acts through it (the
/// same use cases, scope checks and gate command channels as the gRPC door, so an approval
/// here reaches the gate's agent); the authority's figures read its store. Its metrics are
/// served at `GET /metrics` (no login, as Prometheus expects).
#[derive(Debug)]
pub struct Dashboard<S> {
    pub app: App<S>,
    /// Reverse proxies in front of the dashboard: a request from one of them is counted
    /// against the address its `X-Forwarded-For` names (the login limit is per address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
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
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
        tracing::info!("dashboard stopped");
        Ok(())
    }
}
