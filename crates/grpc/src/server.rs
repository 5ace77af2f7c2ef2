//! The scheduler's gRPC server: bawaba.v1 services, grpc.health.v1, and server reflection
//! (v1 and v1alpha), on one listener with TCP_NODELAY (without it, delayed ACKs put the p99
//! of small calls at tens of milliseconds) and optional TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bawaba_app::App;
use bawaba_store::Store;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::metrics::GrpcMetricsLayer;
use crate::pb;
use crate::service::Api;

/// Largest request accepted, in bytes. A booking is well under 4 KiB.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Certificate and key files (PEM) for a TLS listener, and optionally the CA (PEM) whose
/// client certificates it requires (mutual TLS: a client without a certificate signed by it
/// fails the handshake; the bearer token still decides the client's role).
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
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

/// The gRPC door of a scheduler: the application it serves, and optional TLS.
#[derive(Debug)]
pub struct Scheduler<S> {
    pub app: App<S>,
    pub tls: Option<Tls>,
}

impl<S: Store> Scheduler<S> {
    /// Serves on `listener` until `shutdown` resolves, counting every call into the app's
    /// metrics and refreshing the gauges read from the store while serving.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let addr: SocketAddr = listener.local_addr()?;
        let refresher = self.app.spawn_metrics_refresher();
        let mut failure = self.app.store().failure();
        let metrics = Arc::clone(self.app.metrics());
        let api = Api::new(self.app);

        let (health, health_service) = tonic_health::server::health_reporter();
        // The services the health check reports on, by their gRPC names.
        let services = {
            use tonic::server::NamedService;
            [
                pb::booking_service_server::BookingServiceServer::<Api<S>>::NAME,
                pb::slot_service_server::SlotServiceServer::<Api<S>>::NAME,
                pb::admin_service_server::AdminServiceServer::<Api<S>>::NAME,
                pb::security_service_server::SecurityServiceServer::<Api<S>>::NAME,
                pb::company_service_server::CompanyServiceServer::<Api<S>>::NAME,
            ]
        };
        for name in services {
            health
                .set_service_status(name, tonic_health::ServingStatus::Serving)
                .await;
        }
        // A store that stops serving (the sled store after a failed commit) takes the health
        // check down with it, the whole server's ("") too, so load balancers and operators see
        // it; it does not come back without a restart.
        tokio::spawn(async move {
            let why = match failure.wait_for(Option::is_some).await {
                Ok(why) => why.clone().unwrap_or_default(),
                Err(_) => return, // a store that never stops
            };
            tracing::error!(reason = %why, "the store stopped serving; health checks answer NOT_SERVING");
            for name in services.into_iter().chain([""]) {
                health
                    .set_service_status(name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
        });

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
            let mut cfg = ServerTlsConfig::new()
                .identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
            if let Some(ca) = &tls.client_ca {
                cfg = cfg
                    .client_ca_root(Certificate::from_pem(read(ca)?))
                    .client_auth_optional(false);
            }
            builder = builder.tls_config(cfg)?;
        }
        let router = builder
            .layer(GrpcMetricsLayer::new(metrics))
            .layer(crate::decode::DecodeErrorsLayer)
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
            .add_service(
                pb::security_service_server::SecurityServiceServer::new(api.clone())
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::company_service_server::CompanyServiceServer::new(api.clone())
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
        let served = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        refresher.abort();
        served?;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
