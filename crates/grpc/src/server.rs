//! The scheduler's gRPC server: bawaba.v1 services, grpc.health.v1, and server reflection
//! (v1 and v1alpha), on one listener with TCP_NODELAY (without it, delayed ACKs put the p99
//! of small calls at tens of milliseconds) and optional TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bawaba_store::{Store, TokenBook};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::auth::Authenticator;
use crate::pb;
use crate::service::Api;

/// Largest request accepted, in bytes. A booking is well under 4 KiB.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Where the scheduler takes the time from. The scheduler never reads the system clock
/// directly, so a simulation can run it on an accelerated clock.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Certificate and key files (PEM) for a TLS listener.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    ReadTls {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A scheduler ready to serve: the store, the tokens and the clock.
#[derive(Debug)]
pub struct Scheduler<S> {
    pub store: Arc<S>,
    pub tokens: Arc<TokenBook>,
    pub clock: Arc<dyn Clock>,
    pub tls: Option<Tls>,
}

impl<S: Store> Scheduler<S> {
    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let addr: SocketAddr = listener.local_addr()?;
        let api = Api::new(self.store, Authenticator::new(self.tokens), self.clock);

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<pb::booking_service_server::BookingServiceServer<Api<S>>>()
            .await;
        health
            .set_serving::<pb::slot_service_server::SlotServiceServer<Api<S>>>()
            .await;
        health
            .set_serving::<pb::admin_service_server::AdminServiceServer<Api<S>>>()
            .await;

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };

        let mut builder = Server::builder().tcp_nodelay(true);
        if let Some(tls) = &self.tls {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|source| Error::ReadTls {
                    path: path.clone(),
                    source,
                })
            };
            builder = builder.tls_config(
                ServerTlsConfig::new()
                    .identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?)),
            )?;
        }
        let router = builder
            .add_service(health_service)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .add_service(
                pb::booking_service_server::BookingServiceServer::new(api.clone())
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::slot_service_server::SlotServiceServer::new(api.clone())
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::admin_service_server::AdminServiceServer::new(api.clone())
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            // A full batch of passages is larger than any other request.
            .add_service(
                pb::gate_service_server::GateServiceServer::new(api.clone())
                    .max_decoding_message_size(4 << 20),
            )
            .add_service(
                pb::operator_service_server::OperatorServiceServer::new(api)
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            );
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!("scheduler listening on {scheme}://{addr} (gRPC)");
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
