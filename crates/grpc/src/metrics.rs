//! The gRPC door's request layer ([`GrpcMetricsLayer`], installed on tonic's
//! `Server::builder()`): counts and times every call by method and code into the scheduler's
//! [`Metrics`] (`bawaba_app::metrics`, where every metric is listed).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bawaba_app::metrics::{MethodLabels, Metrics};
use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tonic::Code;

/// Every gRPC method the scheduler serves, by path (`/package.Service/Method`): read from the
/// descriptor sets, so an unknown path cannot grow the label space.
fn known_methods() -> HashMap<String, MethodLabels> {
    let mut out = HashMap::new();
    for set in [
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
            continue;
        };
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let name = format!("{package}.{}", service.name.unwrap_or_default());
                let methods: Vec<String> =
                    service.method.into_iter().filter_map(|m| m.name).collect();
                for m in service_methods(&name, &methods) {
                    out.insert(m.0, m.1);
                }
            }
        }
    }
    for service in [
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        for m in service_methods(service, &["ServerReflectionInfo".to_owned()]) {
            out.insert(m.0, m.1);
        }
    }
    out
}

fn service_methods(service: &str, methods: &[String]) -> Vec<(String, MethodLabels)> {
    methods
        .iter()
        .map(|m| {
            (
                format!("/{service}/{m}"),
                MethodLabels {
                    service: service.to_owned(),
                    method: m.clone(),
                },
            )
        })
        .collect()
}

/// The canonical name of a gRPC status code, as in `grpc-status` documentation.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The code in a `grpc-status` header (trailers, or the headers of a trailers-only response).
fn grpc_code(headers: &http::HeaderMap) -> Option<Code> {
    let v = headers.get("grpc-status")?;
    Some(Code::from_bytes(v.as_bytes()))
}

/// One gRPC call being watched: counted once when its code is known (or when it is dropped
/// unfinished: CANCELLED), and open in the in-flight gauges until then.
#[derive(Debug)]
struct Call {
    metrics: Arc<Metrics>,
    labels: MethodLabels,
    started: Instant,
    done: bool,
}

impl Call {
    fn start(layer: &GrpcMetricsService<impl Sized>, path: &str) -> Call {
        let labels = layer
            .methods
            .get(path)
            .cloned()
            .unwrap_or_else(|| MethodLabels {
                service: "unknown".to_owned(),
                method: "unknown".to_owned(),
            });
        layer.metrics.call_opened(&labels);
        Call {
            metrics: Arc::clone(&layer.metrics),
            labels,
            started: Instant::now(),
            done: false,
        }
    }

    fn responded(&self) {
        self.metrics
            .call_responded(&self.labels, self.started.elapsed().as_secs_f64());
    }

    fn finish(&mut self, code: Code) {
        if self.done {
            return;
        }
        self.done = true;
        self.metrics.call_finished(&self.labels, code_name(code));
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // The client went away (or the server stopped) before the call finished.
        self.finish(Code::Cancelled);
    }
}

/// A tower layer counting gRPC calls by method and code and timing them.
#[derive(Debug, Clone)]
pub struct GrpcMetricsLayer {
    metrics: Arc<Metrics>,
    /// Every method the server has, by path, with its labels (other paths are `unknown`).
    methods: Arc<HashMap<String, MethodLabels>>,
}

impl GrpcMetricsLayer {
    /// The layer counting into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        GrpcMetricsLayer {
            metrics,
            methods: Arc::new(known_methods()),
        }
    }
}

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            metrics: Arc::clone(&self.metrics),
            methods: Arc::clone(&self.methods),
        }
    }
}

/// The service [`GrpcMetricsLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
    methods: Arc<HashMap<String, MethodLabels>>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for GrpcMetricsService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = http::Response<CountedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let mut call = Call::start(self, req.uri().path());
        let response = self.inner.call(req);
        Box::pin(async move {
            match response.await {
                Ok(res) => {
                    call.responded();
                    // A trailers-only response (an error, usually) carries its code here.
                    if let Some(code) = grpc_code(res.headers()) {
                        call.finish(code);
                    }
                    Ok(res.map(|inner| CountedBody {
                        inner,
                        call: Some(call),
                    }))
                }
                Err(e) => {
                    call.finish(Code::Internal);
                    Err(e)
                }
            }
        })
    }
}

/// A response body that finishes its [`Call`] with the code in its trailers.
#[derive(Debug)]
pub struct CountedBody<B> {
    inner: B,
    call: Option<Call>,
}

impl<B: Body + Unpin> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(call)) = (frame.trailers_ref(), this.call.as_mut()) {
                    call.finish(grpc_code(trailers).unwrap_or(Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = this.call.as_mut() {
                    call.finish(Code::Internal);
                }
            }
            Poll::Ready(None) => {
                // Ended without trailers: not a proper gRPC response.
                if let Some(call) = this.call.as_mut() {
                    call.finish(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
