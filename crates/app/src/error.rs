//! The application layer's one error enum. Every front door maps it in one place: gRPC in
//! `bawaba_grpc::error`, HTTP in the web crate, both by [`Error::kind`].

use bawaba_domain::Error as Domain;

/// Everything a use case refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Too many failed logins from one address: it may try again in this many minutes.
    #[error("too many failed logins from this address: try again in {0} minutes")]
    Throttled(i64),
    /// The domain refused the request (a malformed field, something that does not exist or
    /// is out of the caller's scope, a full window, a rule); nothing was changed.
    #[error(transparent)]
    Refused(Domain),
    /// The store failed or is closing; see [`bawaba_store::Error`].
    #[error(transparent)]
    Store(bawaba_store::Error),
}

impl From<bawaba_store::Error> for Error {
    fn from(e: bawaba_store::Error) -> Self {
        match e {
            bawaba_store::Error::Domain(d) => Error::Refused(d),
            other => Error::Store(other),
        }
    }
}

impl From<Domain> for Error {
    fn from(e: Domain) -> Self {
        Error::Refused(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of answer an error is: what each front door maps to its own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Unauthenticated,
    NotFound,
    Forbidden,
    /// A window or a company's share of it is full.
    Exhausted,
    Precondition,
    /// An idempotency key reused for another request.
    Conflict,
    /// The store is closing.
    Unavailable,
    /// The store failed.
    Internal,
}

impl Kind {
    /// The canonical gRPC code name of the kind (also the metrics' refusal reason).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invalid => "INVALID_ARGUMENT",
            Kind::Unauthenticated => "UNAUTHENTICATED",
            Kind::NotFound => "NOT_FOUND",
            Kind::Forbidden => "PERMISSION_DENIED",
            Kind::Exhausted => "RESOURCE_EXHAUSTED",
            Kind::Precondition => "FAILED_PRECONDITION",
            Kind::Conflict => "ALREADY_EXISTS",
            Kind::Unavailable => "UNAVAILABLE",
            Kind::Internal => "INTERNAL",
        }
    }
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Unauthenticated(_) => Kind::Unauthenticated,
            Error::Throttled(_) => Kind::Exhausted,
            Error::Refused(d) => match d {
                Domain::Invalid { .. } => Kind::Invalid,
                Domain::NotFound { .. } => Kind::NotFound,
                Domain::WindowFull { .. } | Domain::CompanyCap { .. } => Kind::Exhausted,
                Domain::Precondition(_) | Domain::ZoneClosed(_) => Kind::Precondition,
                Domain::Forbidden(_) => Kind::Forbidden,
                Domain::IdempotencyConflict { .. } => Kind::Conflict,
            },
            Error::Store(bawaba_store::Error::Closed) => Kind::Unavailable,
            Error::Store(_) => Kind::Internal,
        }
    }

    /// Why a booking operation was refused, for the metrics: WINDOW_FULL, COMPANY_CAP or
    /// ZONE_CLOSED, else the kind.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Refused(Domain::WindowFull { .. }) => "WINDOW_FULL",
            Error::Refused(Domain::CompanyCap { .. }) => "COMPANY_CAP",
            Error::Refused(Domain::ZoneClosed(_)) => "ZONE_CLOSED",
            other => other.kind().as_str(),
        }
    }

    /// A malformed value in `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Refused(Domain::invalid(field, reason))
    }

    /// `what` `id` does not exist, or is out of the caller's scope: the same answer.
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Error::Refused(Domain::NotFound {
            what,
            id: id.to_string(),
        })
    }
}
