//! The tower layer over a real HTTP round trip: an axum server on
//! 127.0.0.1:0 that answers 503 on demand, a hyper client behind the layer.
//! The breaker's time is a `MockClock`; only the network is real.
#![cfg(all(feature = "tower", feature = "tokio"))]

use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, StatusCode};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};
use tripline_core::{CallError, Config, CountWindow, MockClock, Outcome, RejectReason, State};
use tripline_std::{CircuitBreaker, CircuitBreakerLayer};

struct Backend {
    status: AtomicU16,
    hits: AtomicU32,
}

async fn serve(backend: Arc<Backend>) -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let backend = Arc::clone(&backend);
            async move {
                backend.hits.fetch_add(1, Ordering::SeqCst);
                StatusCode::from_u16(backend.status.load(Ordering::SeqCst))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn the_layer_opens_on_503s_rejects_without_a_request_and_recovers() {
    let backend = Arc::new(Backend {
        status: AtomicU16::new(503),
        hits: AtomicU32::new(0),
    });
    let addr = serve(Arc::clone(&backend)).await;
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new()));
    let breaker = CircuitBreaker::builder("backend")
        .config(
            Config::builder()
                .consecutive_failures(3)
                .open_duration(Duration::from_secs(5))
                .build()
                .expect("valid configuration"),
        )
        .window(CountWindow::<16>::new())
        .clock(clock)
        .build();

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(
            |r: &Result<axum::http::Response<hyper::body::Incoming>, _>| match r {
                Ok(resp) if resp.status().is_server_error() => Outcome::Failure,
                Ok(_) => Outcome::Success,
                Err(_) => Outcome::Failure,
            },
        ))
        .service(client);
    let get = || {
        Request::get(format!("http://{addr}/"))
            .body(Empty::<Bytes>::new())
            .expect("a valid request")
    };

    for _ in 0..3 {
        let resp = svc.clone().oneshot(get()).await.expect("a response");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(backend.hits.load(Ordering::SeqCst), 3);

    match svc.clone().oneshot(get()).await {
        Err(CallError::Rejected(r)) => {
            assert_eq!(r.reason(), RejectReason::Open);
            assert_eq!(r.retry_after(), Some(Duration::from_secs(5)));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(
        backend.hits.load(Ordering::SeqCst),
        3,
        "no request went out"
    );

    backend.status.store(200, Ordering::SeqCst);
    clock.advance(Duration::from_secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    let resp = svc.clone().oneshot(get()).await.expect("a response");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(backend.hits.load(Ordering::SeqCst), 4);

    let m = breaker.metrics();
    assert_eq!(
        (m.permitted, m.rejected, m.failures, m.successes),
        (4, 1, 3, 1)
    );
}

#[tokio::test]
async fn a_404_need_not_count_and_a_dropped_response_future_cancels() {
    let breaker = CircuitBreaker::new(
        "lookup",
        Config::builder()
            .consecutive_failures(1)
            .build()
            .expect("valid configuration"),
    );
    let svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(
            |r: &Result<u16, std::convert::Infallible>| match r {
                Ok(404) => Outcome::Ignored,
                Ok(500..) => Outcome::Failure,
                _ => Outcome::Success,
            },
        ))
        .service(tower::service_fn(|status: u16| async move {
            if status == 0 {
                std::future::pending::<()>().await;
            }
            Ok(status)
        }));
    assert_eq!(svc.clone().oneshot(404).await, Ok(404));
    assert_eq!(breaker.state(), State::Closed);

    let mut stalled = svc.clone();
    let fut = tower::Service::call(&mut stalled, 0);
    assert_eq!(breaker.metrics().in_flight(), 1);
    drop(fut);
    let m = breaker.metrics();
    assert_eq!((m.ignored, m.cancelled, m.in_flight()), (1, 1, 0));
}
