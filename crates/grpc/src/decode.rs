//! Answers for requests tonic could not decode, as the API documents them: an undecodable body
//! or a string field with invalid UTF-8 is INVALID_ARGUMENT (tonic says INTERNAL, which
//! clients read as "the scheduler failed, retry"), naming the field where prost names it; a
//! request over the size limit is RESOURCE_EXHAUSTED naming the limit (tonic says
//! OUT_OF_RANGE).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::{Code, Status};

/// What tonic's codec says of a body prost could not decode.
const UNDECODABLE: &str = "failed to decode Protobuf message: ";
/// What tonic's codec says of a message over the decoding limit.
const TOO_LARGE: &str = "Error, decoded message length too large: ";

/// The answer a client gets instead of tonic's, if `s` is a decoding failure.
pub fn rewrite(s: &Status) -> Option<Status> {
    let message = s.message();
    match s.code() {
        Code::Internal => message.strip_prefix(UNDECODABLE).map(|what| {
            // prost names the message and field: "Passage.plate: invalid string value: ...".
            let field = what
                .split_once(": ")
                .map(|(path, _)| path)
                .filter(|path| path.contains('.'))
                .and_then(|path| path.split_once('.'))
                .map_or("request", |(_, field)| field);
            crate::error::invalid(field, &format!("cannot be decoded ({what})"))
        }),
        Code::OutOfRange => message
            .strip_prefix(TOO_LARGE)
            .map(|sizes| Status::resource_exhausted(format!("request too large: {sizes}"))),
        _ => None,
    }
}

/// The layer rewriting decoding failures (see [`rewrite`]); install it on the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeErrorsLayer;

impl<S> tower_layer::Layer<S> for DecodeErrorsLayer {
    type Service = DecodeErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DecodeErrors { inner }
    }
}

/// The service of [`DecodeErrorsLayer`].
#[derive(Debug, Clone)]
pub struct DecodeErrors<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for DecodeErrors<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(req);
        Box::pin(async move {
            let res = response.await?;
            // A decoding failure is answered before the handler runs, trailers-only: the
            // status is in the headers and the body is empty.
            let better = Status::from_header_map(res.headers())
                .as_ref()
                .and_then(rewrite);
            Ok(match better {
                Some(status) => status.into_http(),
                None => res,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_bodies_are_invalid_arguments_naming_the_field() {
        let s = Status::internal(
            "failed to decode Protobuf message: CreateBookingRequest.truck_plate: invalid string value: data is not UTF-8 encoded",
        );
        let r = rewrite(&s).unwrap();
        assert_eq!(r.code(), Code::InvalidArgument);
        assert!(r.message().starts_with("truck_plate: "), "{}", r.message());
        let s = Status::internal("failed to decode Protobuf message: invalid wire type value: 7");
        let r = rewrite(&s).unwrap();
        assert_eq!(r.code(), Code::InvalidArgument);
        assert!(r.message().starts_with("request: "), "{}", r.message());
    }

    #[test]
    fn oversized_requests_are_resource_exhausted_naming_the_limit() {
        let s = Status::out_of_range(
            "Error, decoded message length too large: found 300000 bytes, the limit is: 262144 bytes",
        );
        let r = rewrite(&s).unwrap();
        assert_eq!(r.code(), Code::ResourceExhausted);
        assert!(r.message().contains("262144"), "{}", r.message());
    }

    #[test]
    fn other_statuses_are_kept() {
        assert!(rewrite(&Status::internal(crate::error::STORAGE_FAILED)).is_none());
        assert!(rewrite(&Status::out_of_range("window")).is_none());
        assert!(rewrite(&Status::not_found("zone x not found")).is_none());
    }
}
