//! Bearer-token authentication: `authorization: Bearer <token>` metadata, checked against
//! the token book (hashes only). Missing or unknown token: UNAUTHENTICATED.

use std::future::Future;
use std::sync::Arc;

use bawaba_domain::access::Principal;
use bawaba_store::TokenBook;
use tonic::{Request, Status};

/// Finds who calls.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<TokenBook>,
}

impl Authenticator {
    pub fn new(tokens: Arc<TokenBook>) -> Self {
        Authenticator { tokens }
    }

    pub fn principal<T>(&self, req: &Request<T>) -> Result<Principal, Status> {
        self.tokens
            .authenticate(bearer(req)?)
            .ok_or_else(|| Status::unauthenticated("unknown or revoked token"))
    }

    /// Resolves once the token `req` carries no longer authenticates (it was revoked),
    /// checked every [`TokenBook::RECHECK`]: what ends the streams it opened.
    pub fn revoked<T>(&self, req: &Request<T>) -> impl Future<Output = ()> + Send + 'static {
        let tokens = Arc::clone(&self.tokens);
        let token = bearer(req).map(str::to_owned);
        async move {
            let Ok(token) = token else { return };
            let mut every = tokio::time::interval(TokenBook::RECHECK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if tokens.authenticate(&token).is_none() {
                    return;
                }
            }
        }
    }
}

/// The token of `authorization: Bearer <token>` metadata.
fn bearer<T>(req: &Request<T>) -> Result<&str, Status> {
    let header = req.metadata().get("authorization").ok_or_else(|| {
        Status::unauthenticated("missing `authorization: Bearer <token>` metadata")
    })?;
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| Status::unauthenticated("authorization metadata must be `Bearer <token>`"))
}
