//! A gRPC client stack behind `CircuitBreakerLayer` with `GrpcClassifier`.
//! Run with `cargo run --example grpc_client --features grpc,tower,tokio`.
//!
//! The layer sits where it would over a tonic `Channel`: on
//! `http::Request` → `http::Response`, below the generated client. The
//! "server" here is an in-process tower service that answers the way a gRPC
//! server answers an error before any message: HTTP 200 with `grpc-status`
//! in the headers ("trailers-only"). It is UNAVAILABLE for a while; the
//! breaker opens, stops sending, probes after its open time, recovers.
//! NOT_FOUND answers pass through without counting against the backend.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tripline::{
    CallError, CircuitBreaker, CircuitBreakerLayer, Config, GrpcClassifier, TokioClock,
};

/// gRPC status codes the mock server answers with.
const OK: &str = "0";
const NOT_FOUND: &str = "5";
const UNAVAILABLE: &str = "14";

/// The 3rd to 5th requests that reach the server find it UNAVAILABLE; a request for
/// `/inventory.Stock/Missing` is NOT_FOUND.
fn mock_server(
    hits: Arc<AtomicU32>,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(move |request: Request<Body>| {
        let n = hits.fetch_add(1, Ordering::SeqCst);
        let code = if request.uri().path().ends_with("/Missing") {
            NOT_FOUND
        } else if (2..=4).contains(&n) {
            UNAVAILABLE
        } else {
            OK
        };
        let response = Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", code)
            .body(Body::empty())
            .expect("a valid response");
        std::future::ready(Ok(response))
    })
}

fn grpc_request(method: &str) -> Request<Body> {
    Request::post(format!("http://inventory.local/inventory.Stock/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::empty())
        .expect("a valid request")
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
        .service(mock_server(Arc::clone(&hits)));

    let missing = channel.clone().oneshot(grpc_request("Missing")).await;
    let code = missing
        .as_ref()
        .ok()
        .and_then(|r| r.headers().get("grpc-status"));
    println!("Missing: grpc-status {code:?} (the caller's business, not counted)");

    for call in 1..=8 {
        match channel.clone().oneshot(grpc_request("Get")).await {
            Ok(response) => {
                let code = response.headers().get("grpc-status");
                println!(
                    "call {call}: grpc-status {code:?}, breaker {:?}",
                    breaker.state()
                );
            }
            Err(CallError::Rejected(r)) => {
                println!("call {call}: rejected without a request ({r})");
            }
            Err(CallError::Inner(never)) => match never {},
        }
    }
    println!("waiting out the open time");
    tokio::time::sleep(Duration::from_millis(250)).await;
    for call in 9..=10 {
        let response = channel
            .clone()
            .oneshot(grpc_request("Get"))
            .await
            .expect("admitted: the backend is back");
        let code = response.headers().get("grpc-status");
        println!(
            "call {call}: grpc-status {code:?}, breaker {:?}",
            breaker.state()
        );
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
