//! Connecting to a scheduler as a client, with a bearer token and optional TLS.

use std::path::Path;

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::pb;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl BearerToken {
    pub fn new(token: Option<&str>) -> Result<Self, Status> {
        token
            .map(|t| {
                format!("Bearer {t}").parse().map_err(|_| {
                    Status::invalid_argument("the token has characters not allowed in metadata")
                })
            })
            .transpose()
            .map(BearerToken)
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub type Authed = InterceptedService<Channel, BearerToken>;

/// The clients of one connection.
#[derive(Debug, Clone)]
pub struct Clients {
    pub bookings: pb::booking_service_client::BookingServiceClient<Authed>,
    pub slots: pb::slot_service_client::SlotServiceClient<Authed>,
    pub admin: pb::admin_service_client::AdminServiceClient<Authed>,
}

/// Errors connecting.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad address {addr}: {source}")]
    Address {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("reading CA certificate {path}: {source}")]
    Ca {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Token(Status),
}

/// A channel to `addr` (`http://host:port`, or `https://` with `ca` the PEM of the CA that
/// signed the server's certificate).
pub async fn channel(addr: &str, ca: Option<&Path>) -> Result<Channel, ConnectError> {
    let mut ep = Endpoint::from_shared(addr.to_owned())
        .map_err(|source| ConnectError::Address {
            addr: addr.to_owned(),
            source,
        })?
        .tcp_nodelay(true);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|source| ConnectError::Ca {
            path: ca.display().to_string(),
            source,
        })?;
        ep = ep
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .map_err(|source| ConnectError::Address {
                addr: addr.to_owned(),
                source,
            })?;
    }
    ep.connect().await.map_err(|source| ConnectError::Connect {
        addr: addr.to_owned(),
        source,
    })
}

impl Clients {
    pub fn new(channel: Channel, token: Option<&str>) -> Result<Self, ConnectError> {
        let auth = BearerToken::new(token).map_err(ConnectError::Token)?;
        Ok(Clients {
            bookings: pb::booking_service_client::BookingServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            slots: pb::slot_service_client::SlotServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(channel, auth),
        })
    }

    pub async fn connect(
        addr: &str,
        token: Option<&str>,
        ca: Option<&Path>,
    ) -> Result<Self, ConnectError> {
        Self::new(channel(addr, ca).await?, token)
    }
}
