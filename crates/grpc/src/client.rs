//! Connecting to a scheduler as a client, with a bearer token and optional TLS (with a
//! client certificate when the scheduler asks for one: `--tls-client-ca`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use crate::pb;

/// Adds `authorization: Bearer <token>` to every call (and, for the CLI, the door header
/// the audit trail records: [`crate::DOOR_HEADER`]).
#[derive(Debug, Clone)]
pub struct BearerToken {
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    cli: bool,
}

impl BearerToken {
    pub fn new(token: Option<&str>) -> Result<Self, Status> {
        token
            .map(|t| {
                format!("Bearer {t}").parse().map_err(|_| {
                    Status::invalid_argument("the token has characters not allowed in metadata")
                })
            })
            .transpose()
            .map(|token| BearerToken { token, cli: false })
    }

    /// Says on every call that it comes from the command line.
    #[must_use]
    pub fn from_cli(self) -> Self {
        BearerToken { cli: true, ..self }
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.token {
            req.metadata_mut().insert("authorization", v.clone());
        }
        if self.cli {
            req.metadata_mut()
                .insert(crate::DOOR_HEADER, MetadataValue::from_static("cli"));
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
    pub security: pb::security_service_client::SecurityServiceClient<Authed>,
    pub company: pb::company_service_client::CompanyServiceClient<Authed>,
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
    #[error("reading client certificate or key {path}: {source}")]
    Identity {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Token(Status),
}

/// TLS files of a client: the CA that signed the scheduler's certificate, and the client's
/// own certificate and key (PEM) for a scheduler that requires client certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    pub ca: Option<PathBuf>,
    pub identity: Option<ClientIdentity>,
}

/// A client certificate (PEM, may carry intermediates after the leaf) and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How long connecting to one address may take (a host that is gone does not answer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on open connections, so a long-lived stream (a gate's sync stream) notices a
/// scheduler or network that vanished without closing the connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel to `addr` (`http://host:port`, or `https://` with `ca` the PEM of the CA that
/// signed the server's certificate).
pub async fn channel(addr: &str, ca: Option<&Path>) -> Result<Channel, ConnectError> {
    channel_tls(
        addr,
        &ClientTls {
            ca: ca.map(Path::to_path_buf),
            identity: None,
        },
    )
    .await
}

/// A channel to `addr` with the TLS files of `tls` (none of them for `http://`).
pub async fn channel_tls(addr: &str, tls: &ClientTls) -> Result<Channel, ConnectError> {
    let bad_addr = |source| ConnectError::Address {
        addr: addr.to_owned(),
        source,
    };
    let mut ep = Endpoint::from_shared(addr.to_owned())
        .map_err(bad_addr)?
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    if tls.ca.is_some() || tls.identity.is_some() {
        let mut cfg = ClientTlsConfig::new();
        if let Some(ca) = &tls.ca {
            let pem = std::fs::read(ca).map_err(|source| ConnectError::Ca {
                path: ca.display().to_string(),
                source,
            })?;
            cfg = cfg.ca_certificate(Certificate::from_pem(pem));
        }
        if let Some(id) = &tls.identity {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|source| ConnectError::Identity {
                    path: path.display().to_string(),
                    source,
                })
            };
            cfg = cfg.identity(Identity::from_pem(read(&id.cert)?, read(&id.key)?));
        }
        ep = ep.tls_config(cfg).map_err(bad_addr)?;
    }
    ep.connect().await.map_err(|source| ConnectError::Connect {
        addr: addr.to_owned(),
        source,
    })
}

impl Clients {
    pub fn new(channel: Channel, token: Option<&str>) -> Result<Self, ConnectError> {
        let auth = BearerToken::new(token).map_err(ConnectError::Token)?;
        Ok(Self::with_auth(channel, auth))
    }

    /// Clients whose every call carries `auth` (e.g. [`BearerToken::from_cli`]).
    pub fn with_auth(channel: Channel, auth: BearerToken) -> Self {
        Clients {
            bookings: pb::booking_service_client::BookingServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            slots: pb::slot_service_client::SlotServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            security: pb::security_service_client::SecurityServiceClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            company: pb::company_service_client::CompanyServiceClient::with_interceptor(
                channel, auth,
            ),
        }
    }

    pub async fn connect(
        addr: &str,
        token: Option<&str>,
        ca: Option<&Path>,
    ) -> Result<Self, ConnectError> {
        Self::new(channel(addr, ca).await?, token)
    }

    /// [`Clients::connect`] with a client certificate (or any [`ClientTls`]).
    pub async fn connect_tls(
        addr: &str,
        token: Option<&str>,
        tls: &ClientTls,
    ) -> Result<Self, ConnectError> {
        Self::new(channel_tls(addr, tls).await?, token)
    }
}
