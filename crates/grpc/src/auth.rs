//! Bearer-token authentication: `authorization: Bearer <token>` metadata, checked against
//! the token book (hashes only). Missing or unknown token: UNAUTHENTICATED.

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
        let header = req.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("missing `authorization: Bearer <token>` metadata")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                Status::unauthenticated("authorization metadata must be `Bearer <token>`")
            })?;
        self.tokens
            .authenticate(token.trim())
            .ok_or_else(|| Status::unauthenticated("unknown or revoked token"))
    }
}
