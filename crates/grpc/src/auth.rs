//! Bearer-token authentication: `authorization: Bearer <token>` metadata, checked against
//! the token book by the application layer (`App::authenticate`). Missing, malformed or
//! unknown token: UNAUTHENTICATED.

use bawaba_store::Store;
use tonic::{Request, Status};

use crate::service::Api;

/// The token of `authorization: Bearer <token>` metadata; none when there is no such
/// metadata.
pub(crate) fn bearer<T>(req: &Request<T>) -> Result<Option<&str>, Status> {
    let Some(header) = req.metadata().get("authorization") else {
        return Ok(None);
    };
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(Some)
        .ok_or_else(|| Status::unauthenticated("authorization metadata must be `Bearer <token>`"))
}

impl<S: Store> Api<S> {
    /// Resolves once the token `req` carries no longer authenticates (it was revoked): what
    /// ends the streams it opened.
    pub(crate) fn revoked<T>(
        &self,
        req: &Request<T>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let token = bearer(req).ok().flatten().map(str::to_owned);
        self.app.revoked(token)
    }
}
