//! The one mapping of errors to gRPC status codes.
//!
//! | error | code |
//! |---|---|
//! | malformed value (names the field) | INVALID_ARGUMENT, with google.rpc.BadRequest |
//! | unknown booking, zone, gate, closure | NOT_FOUND |
//! | window full, company cap | RESOURCE_EXHAUSTED, with google.rpc.ErrorInfo carrying the nearest free windows |
//! | a window in a closure of its zone | FAILED_PRECONDITION, ErrorInfo `ZONE_CLOSED` naming the closure, its reason and end, with the nearest free windows |
//! | cut-offs, states, overlapping visits | FAILED_PRECONDITION |
//! | wrong role, another company's booking | PERMISSION_DENIED |
//! | idempotency key reused for another request | ALREADY_EXISTS |
//! | missing or unknown token | UNAUTHENTICATED (see [`crate::auth`]) |
//! | storage failure | INTERNAL (logged); store closing: UNAVAILABLE |
//! | undecodable request body, invalid UTF-8 | INVALID_ARGUMENT (see [`decode_status`]) |
//! | request over the size limit | RESOURCE_EXHAUSTED naming the limit |
//!
//! A zone, gate, lane, booking, referral or company outside the caller's scope is NOT_FOUND,
//! exactly like one that does not exist (the application layer answers so).

use std::collections::HashMap;

use bawaba_app::Error as App;
use bawaba_domain::Error as Domain;
use bawaba_domain::calendar::local;
use bawaba_store::Error as Store;
use chrono::{DateTime, SecondsFormat, Utc};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Error domain in google.rpc.ErrorInfo.
pub const ERROR_DOMAIN: &str = "bawaba.jo";

/// Metadata key of ErrorInfo listing the nearest free windows (RFC 3339, comma-separated).
pub const ALTERNATIVES: &str = "alternatives";

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A refusal for room (or for a closure): `code` with google.rpc.ErrorInfo (`reason`, the
/// zone, the window, `extra` and the nearest free windows, RFC 3339 in UTC for programs);
/// the message lists the alternatives in Amman time, for people.
fn no_room(
    code: Code,
    reason: &str,
    message: String,
    (zone, window): (&str, &DateTime<Utc>),
    alternatives: &[DateTime<Utc>],
    extra: &[(&str, String)],
) -> Status {
    let mut metadata = HashMap::from([
        ("zone_id".to_owned(), zone.to_owned()),
        ("window_start".to_owned(), rfc3339(window)),
        (
            ALTERNATIVES.to_owned(),
            alternatives
                .iter()
                .map(rfc3339)
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    metadata.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let message = if alternatives.is_empty() {
        format!("{message}; no free window nearby")
    } else {
        let local: Vec<String> = alternatives.iter().map(|t| local(*t)).collect();
        format!("{message}; nearest free windows: {}", local.join(", "))
    };
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// A domain refusal as a status.
pub fn domain_status(e: Domain) -> Status {
    let message = e.to_string();
    match e {
        Domain::Invalid { field, reason } => invalid(&field, &reason),
        Domain::NotFound { .. } => Status::not_found(message),
        Domain::WindowFull {
            zone,
            window_start,
            alternatives,
            ..
        } => no_room(
            Code::ResourceExhausted,
            "WINDOW_FULL",
            message,
            (zone.as_str(), &window_start),
            &alternatives,
            &[],
        ),
        Domain::CompanyCap {
            zone,
            window_start,
            alternatives,
            ..
        } => no_room(
            Code::ResourceExhausted,
            "COMPANY_CAP",
            message,
            (zone.as_str(), &window_start),
            &alternatives,
            &[],
        ),
        Domain::ZoneClosed(c) => no_room(
            Code::FailedPrecondition,
            "ZONE_CLOSED",
            message,
            (c.zone.as_str(), &c.window_start),
            &c.alternatives,
            &[
                ("closure_id", c.closure.to_string()),
                ("closure_reason", c.reason.clone()),
                ("closed_until", rfc3339(&c.until)),
            ],
        ),
        Domain::Precondition(_) => Status::failed_precondition(message),
        Domain::Forbidden(_) => Status::permission_denied(message),
        Domain::IdempotencyConflict { .. } => {
            Status::already_exists(format!("idempotency_key: {message}"))
        }
    }
}

/// INVALID_ARGUMENT naming the field, with a google.rpc.BadRequest detail.
pub fn invalid(field: &str, reason: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {reason}"),
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

/// What a client is told of a storage failure (its cause goes to the scheduler's log, not to
/// clients). A commit that failed may or may not have reached the disk, so nothing is promised
/// either way; the idempotency key makes the retry safe.
pub const STORAGE_FAILED: &str = "the scheduler's storage failed (see its log): nothing in this answer is confirmed; retry a change with the same idempotency key once the scheduler serves again";

/// An application error (or a domain refusal, or a store failure) as a status.
pub fn status(e: impl Into<App>) -> Status {
    match e.into() {
        App::Refused(d) => domain_status(d),
        App::Unauthenticated(why) => Status::unauthenticated(why),
        e @ App::Throttled(_) => Status::resource_exhausted(e.to_string()),
        App::Store(Store::Domain(d)) => domain_status(d),
        App::Store(Store::Closed) => Status::unavailable("the scheduler is shutting down"),
        App::Store(other) => {
            tracing::error!(error = %other, "storage failure");
            Status::internal(STORAGE_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bawaba_domain::ids::ZoneId;

    #[test]
    fn invalid_names_the_field_in_message_and_details() {
        let s = domain_status(Domain::invalid("truck_plate", "is empty"));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(s.message().starts_with("truck_plate:"));
        let v = &s.get_details_bad_request().unwrap().field_violations[0];
        assert_eq!(v.field, "truck_plate");
    }

    #[test]
    fn full_window_carries_alternatives() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = domain_status(Domain::WindowFull {
            zone: ZoneId::parse("act").unwrap(),
            window_start: t,
            transaction_type: None,
            alternatives: vec![t, t],
        });
        assert_eq!(s.code(), Code::ResourceExhausted);
        let info = s.get_details_error_info().unwrap();
        assert_eq!(info.reason, "WINDOW_FULL");
        assert_eq!(info.metadata[ALTERNATIVES].split(',').count(), 2);
    }

    #[test]
    fn a_closed_window_names_its_closure_and_the_free_windows_in_amman_time() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let s = domain_status(Domain::ZoneClosed(Box::new(
            bawaba_domain::error::ClosedWindow {
                zone: ZoneId::parse("act").unwrap(),
                window_start: t("2026-12-08T07:00:00Z"),
                closure: 3,
                reason: "flash flood warning".into(),
                until: t("2026-12-08T12:00:00Z"),
                alternatives: vec![t("2026-12-08T12:00:00Z")],
            },
        )));
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(
            s.message(),
            "zone act is closed until 2026-12-08 15:00 (+03:00) (flash flood warning, closure 3): \
             window 2026-12-08 10:00 (+03:00) cannot be booked; \
             nearest free windows: 2026-12-08 15:00 (+03:00)"
        );
        let info = s.get_details_error_info().unwrap();
        assert_eq!(info.reason, "ZONE_CLOSED");
        assert_eq!(info.metadata["closure_id"], "3");
        assert_eq!(info.metadata["closure_reason"], "flash flood warning");
        assert_eq!(info.metadata["closed_until"], "2026-12-08T12:00:00Z");
        assert_eq!(info.metadata[ALTERNATIVES], "2026-12-08T12:00:00Z");
    }

    #[test]
    fn each_refusal_has_its_code() {
        assert_eq!(
            domain_status(Domain::Precondition("x".into())).code(),
            Code::FailedPrecondition
        );
        assert_eq!(
            domain_status(Domain::Forbidden("x".into())).code(),
            Code::PermissionDenied
        );
        assert_eq!(
            domain_status(Domain::NotFound {
                what: "zone",
                id: "x".into()
            })
            .code(),
            Code::NotFound
        );
        assert_eq!(status(Store::Closed).code(), Code::Unavailable);
        let failed = status(Store::Storage("disk".into()));
        assert_eq!(failed.code(), Code::Internal);
        assert_eq!(
            failed.message(),
            STORAGE_FAILED,
            "the cause is not shown to clients"
        );
    }
}
