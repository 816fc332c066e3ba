//! A tonic client with a breaker below it, at the HTTP level where it
//! would sit over a tonic `Channel`: `CircuitBreakerLayer` with
//! `GrpcClassifier`. Run with
//! `cargo run --example tonic_client --features tonic,tower,tokio`.
//!
//! The server is an in-process tower service speaking gRPC's wire format:
//! a length-prefixed message and `grpc-status: 0` in the trailers, or, for
//! an error, HTTP 200 with `grpc-status` in the headers ("trailers-only").
//! It is UNAVAILABLE for a while: the breaker opens, the client gets its
//! rejection as a `Status` (whose source is the `CallError`) without a
//! request being sent, and after the open time a probe closes it again.
//! NOT_FOUND answers pass through without counting against the backend.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Request, Response};
use bytes::{Buf, BufMut, Bytes};
use http_body_util::combinators::WithTrailers;
use http_body_util::{BodyExt, Full};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;
use tower::{service_fn, ServiceBuilder};
use tripline::{
    CallError, CircuitBreaker, CircuitBreakerLayer, Config, GrpcClassifier, RejectReason,
    TokioClock,
};

/// Messages are plain UTF-8 strings, so the example needs no protobuf.
#[derive(Clone, Copy, Default)]
struct Utf8;

impl Codec for Utf8 {
    type Encode = String;
    type Decode = String;
    type Encoder = Utf8;
    type Decoder = Utf8;
    fn encoder(&mut self) -> Utf8 {
        Utf8
    }
    fn decoder(&mut self) -> Utf8 {
        Utf8
    }
}

impl Encoder for Utf8 {
    type Item = String;
    type Error = Status;
    fn encode(&mut self, item: String, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(item.as_bytes());
        Ok(())
    }
}

impl Decoder for Utf8 {
    type Item = String;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<String>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

type ReplyBody = WithTrailers<Full<Bytes>, Ready<Option<Result<HeaderMap, Infallible>>>>;

/// A gRPC reply: one message then `grpc-status: 0`, or a trailers-only error.
fn reply(result: Result<&str, &'static str>) -> Response<ReplyBody> {
    let builder = Response::builder().header("content-type", "application/grpc");
    let response = match result {
        Ok(message) => {
            let mut frame = Vec::with_capacity(5 + message.len());
            frame.push(0); // not compressed
            let len = u32::try_from(message.len()).expect("a small message");
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(message.as_bytes());
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static("0"));
            builder.body(Full::new(Bytes::from(frame)).with_trailers(ready(Some(Ok(trailers)))))
        }
        Err(code) => builder
            .header("grpc-status", code)
            .body(Full::new(Bytes::new()).with_trailers(ready(None))),
    };
    response.expect("a valid response")
}

/// The 3rd to 5th requests find the server UNAVAILABLE (14); `Missing` is NOT_FOUND (5).
fn server(
    hits: Arc<AtomicU32>,
) -> impl tower::Service<
    Request<tonic::body::Body>,
    Response = Response<ReplyBody>,
    Error = Infallible,
    Future = Ready<Result<Response<ReplyBody>, Infallible>>,
> + Clone {
    service_fn(move |request: Request<tonic::body::Body>| {
        let n = hits.fetch_add(1, Ordering::SeqCst);
        let answer = if request.uri().path().ends_with("/Missing") {
            Err("5")
        } else if (2..=4).contains(&n) {
            Err("14")
        } else {
            Ok("42 in stock")
        };
        ready(Ok(reply(answer)))
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let breaker = CircuitBreaker::builder("inventory")
        .config(
            Config::builder()
                .consecutive_failures(3)
                .open_duration(Duration::from_millis(200))
                .build()
                .expect("valid configuration"),
        )
        .clock(TokioClock::new())
        .build();
    let hits = Arc::new(AtomicU32::new(0));
    let channel = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(GrpcClassifier::new()))
        .service(server(Arc::clone(&hits)));
    let mut client = tonic::client::Grpc::new(channel);

    let mut call = async |method: &'static str| {
        client
            .ready()
            .await
            .expect("the mock server is always ready");
        let path = PathAndQuery::from_static(method);
        client
            .unary(tonic::Request::new("widget".to_owned()), path, Utf8)
            .await
    };

    match call("/inventory.Stock/Missing").await {
        Err(status) => println!(
            "Missing: {:?} (the caller's business, not counted)",
            status.code()
        ),
        Ok(reply) => println!("Missing: {}", reply.into_inner()),
    }
    for n in 1..=10 {
        if n == 9 {
            println!("waiting out the open time");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        match call("/inventory.Stock/Get").await {
            Ok(reply) => println!(
                "call {n}: {:?}, breaker {:?}",
                reply.into_inner(),
                breaker.state()
            ),
            Err(status) => {
                let rejected = std::error::Error::source(&status)
                    .and_then(|e| e.downcast_ref::<CallError<Infallible>>())
                    .and_then(|e| e.rejected().copied());
                match rejected {
                    Some(r) if r.reason() == RejectReason::Open => {
                        println!("call {n}: rejected without a request ({r})");
                    }
                    _ => println!(
                        "call {n}: {:?}, breaker {:?}",
                        status.code(),
                        breaker.state()
                    ),
                }
            }
        }
    }
    let m = breaker.metrics();
    println!(
        "server saw {} requests; breaker: {} successes, {} failures, {} rejected",
        hits.load(Ordering::SeqCst),
        m.successes,
        m.failures,
        m.rejected
    );
}
