//! The layer's errors compose with tower: under a `Buffer`, over or under a
//! `Timeout`, behind axum's `HandleErrorLayer` in a `Router`, and through
//! `?` into `tower::BoxError`. Time is tokio's paused clock, which the
//! breaker reads through `TokioClock`.
#![cfg(all(feature = "tower", feature = "tokio"))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::http::{header, Request, Response, StatusCode};
use axum::response::IntoResponse;
use tower::buffer::BufferLayer;
use tower::timeout::error::Elapsed;
use tower::timeout::TimeoutLayer;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};
use tripline_core::{CallError, Config, CountWindow, RejectReason, State};
use tripline_std::{CircuitBreaker, CircuitBreakerLayer, TokioClock};

type Breaker = CircuitBreaker<CountWindow<8>, TokioClock>;

fn breaker(consecutive_failures: u32) -> Breaker {
    CircuitBreaker::builder("backend")
        .config(
            Config::builder()
                .consecutive_failures(consecutive_failures)
                .open_duration(Duration::from_secs(5))
                .build()
                .expect("valid configuration"),
        )
        .window(CountWindow::<8>::new())
        .clock(TokioClock::new())
        .build()
}

/// A backend that counts its calls and answers after `delay` of (paused)
/// tokio time; a request of `false` fails with an I/O error.
fn backend(
    hits: &Arc<AtomicU32>,
    delay: Duration,
) -> impl Service<bool, Response = &'static str, Error = std::io::Error, Future: Send>
       + Clone
       + Send
       + 'static {
    let hits = Arc::clone(hits);
    service_fn(move |ok: bool| {
        hits.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(delay).await;
            if ok {
                Ok("pong")
            } else {
                Err(std::io::Error::other("backend down"))
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn under_a_buffer_rejections_and_inner_errors_arrive_as_box_errors() {
    let hits = Arc::new(AtomicU32::new(0));
    let breaker = breaker(1);
    let svc = ServiceBuilder::new()
        .layer(BufferLayer::new(4))
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service(backend(&hits, Duration::ZERO));

    assert_eq!(svc.clone().oneshot(true).await.expect("admitted"), "pong");
    let failed: BoxError = svc.clone().oneshot(false).await.expect_err("fails");
    match failed.downcast_ref::<CallError<std::io::Error>>() {
        Some(CallError::Inner(e)) => assert_eq!(e.to_string(), "backend down"),
        other => panic!("expected the inner error, got {other:?}"),
    }
    assert_eq!(breaker.state(), State::Open);

    let rejected = svc.clone().oneshot(true).await.expect_err("rejected");
    match rejected.downcast_ref::<CallError<std::io::Error>>() {
        Some(CallError::Rejected(r)) => {
            assert_eq!(r.reason(), RejectReason::Open);
            assert_eq!(r.retry_after(), Some(Duration::from_secs(5)));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "the rejection sent nothing");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_the_breaker_is_a_failure_it_counts() {
    let hits = Arc::new(AtomicU32::new(0));
    let breaker = breaker(2);
    let svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .layer(TimeoutLayer::new(Duration::from_secs(1)))
        .service(backend(&hits, Duration::from_secs(10)));

    let started = tokio::time::Instant::now();
    for _ in 0..2 {
        let e: CallError<BoxError> = svc.clone().oneshot(true).await.expect_err("times out");
        let inner = e.into_inner().expect("not a rejection");
        assert!(inner.is::<Elapsed>(), "{inner}");
    }
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(breaker.state(), State::Open);
    assert!(matches!(
        svc.clone().oneshot(true).await,
        Err(CallError::Rejected(_))
    ));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let m = breaker.metrics();
    assert_eq!((m.failures, m.rejected, m.cancelled), (2, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_outside_the_breaker_cancels_the_call_without_counting_it() {
    let hits = Arc::new(AtomicU32::new(0));
    let breaker = breaker(1);
    let svc = ServiceBuilder::new()
        .layer(TimeoutLayer::new(Duration::from_secs(1)))
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service(backend(&hits, Duration::from_secs(10)));

    let e: BoxError = svc.clone().oneshot(true).await.expect_err("times out");
    assert!(e.is::<Elapsed>(), "{e}");
    assert_eq!(breaker.state(), State::Closed);
    let m = breaker.metrics();
    assert_eq!((m.failures, m.cancelled), (0, 1));

    breaker.force_open().expect("forced open");
    let e: BoxError = svc.oneshot(true).await.expect_err("rejected");
    assert!(
        matches!(
            e.downcast_ref::<CallError<std::io::Error>>(),
            Some(CallError::Rejected(r)) if r.reason() == RejectReason::ForcedOpen
        ),
        "{e}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// What a `Router` answers for an error of the stack below it: 503 with
/// `Retry-After` when the breaker rejected, 504 for a timeout.
async fn handle_error(e: BoxError) -> Response<Body> {
    if let Some(CallError::Rejected(r)) = e.downcast_ref::<CallError<BoxError>>() {
        let secs = r.retry_after().map_or(0, |d| d.as_secs());
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, secs.to_string())],
            r.to_string(),
        )
            .into_response();
    }
    match e.downcast_ref::<CallError<BoxError>>() {
        Some(CallError::Inner(inner)) if inner.is::<Elapsed>() => {
            (StatusCode::GATEWAY_TIMEOUT, inner.to_string()).into_response()
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[tokio::test(start_paused = true)]
async fn an_axum_router_turns_the_stack_errors_into_responses() {
    let hits = Arc::new(AtomicU32::new(0));
    let breaker = breaker(2);
    let counted = Arc::clone(&hits);
    let handler = service_fn(move |request: Request<Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        let slow = request.uri().path() == "/slow";
        async move {
            if slow {
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            Ok::<_, std::io::Error>("pong")
        }
    });
    let stack = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(handle_error))
        .layer(BufferLayer::new(8))
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .layer(TimeoutLayer::new(Duration::from_secs(1)))
        .service(handler);
    let router = axum::Router::new()
        .route_service("/fast", stack.clone())
        .route_service("/slow", stack);
    let get = |path: &str| {
        Request::get(path)
            .body(Body::empty())
            .expect("a valid request")
    };
    let status = |r: &Response<Body>| r.status();

    let r = router
        .clone()
        .oneshot(get("/fast"))
        .await
        .expect("infallible");
    assert_eq!(status(&r), StatusCode::OK);
    for _ in 0..2 {
        let r = router
            .clone()
            .oneshot(get("/slow"))
            .await
            .expect("infallible");
        assert_eq!(status(&r), StatusCode::GATEWAY_TIMEOUT);
    }
    assert_eq!(breaker.state(), State::Open);

    let r = router
        .clone()
        .oneshot(get("/fast"))
        .await
        .expect("infallible");
    assert_eq!(status(&r), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()[header::RETRY_AFTER], "5");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "the rejection sent nothing");

    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    let r = router.oneshot(get("/fast")).await.expect("infallible");
    assert_eq!(status(&r), StatusCode::OK);
    assert_eq!(breaker.state(), State::Closed);
}

/// A client function over the guarded stack, `?` taking every error into
/// `BoxError`.
async fn ping<S>(svc: S, ok: bool) -> Result<&'static str, BoxError>
where
    S: Service<bool, Response = &'static str>,
    S::Error: Into<BoxError>,
{
    let pong = svc.oneshot(ok).await.map_err(Into::into)?;
    Ok(pong)
}

#[tokio::test(start_paused = true)]
async fn question_mark_takes_call_errors_into_box_error() {
    async fn through_layer(
        svc: impl Service<bool, Response = &'static str, Error = CallError<std::io::Error>>,
    ) -> Result<&'static str, BoxError> {
        Ok(svc.oneshot(false).await?)
    }
    async fn through_timeout(
        svc: impl Service<bool, Response = &'static str, Error = CallError<BoxError>>,
    ) -> Result<&'static str, BoxError> {
        Ok(svc.oneshot(true).await?)
    }
    let hits = Arc::new(AtomicU32::new(0));
    let typed = CircuitBreakerLayer::new(breaker(3));
    let plain = ServiceBuilder::new()
        .layer(typed.clone())
        .service(backend(&hits, Duration::ZERO));
    let e = through_layer(plain.clone()).await.expect_err("fails");
    assert!(e.downcast_ref::<CallError<std::io::Error>>().is_some());
    assert_eq!(e.to_string(), "backend down");
    assert_eq!(ping(plain, true).await.expect("admitted"), "pong");

    let timed = ServiceBuilder::new()
        .layer(typed)
        .layer(TimeoutLayer::new(Duration::from_secs(1)))
        .service(backend(&hits, Duration::from_secs(10)));
    let e = through_timeout(timed).await.expect_err("times out");
    let call = e
        .downcast_ref::<CallError<BoxError>>()
        .expect("a CallError<BoxError>");
    assert!(matches!(call, CallError::Inner(inner) if inner.is::<Elapsed>()));
    assert_eq!(
        std::error::Error::source(call).map(ToString::to_string),
        None,
        "Elapsed has no source: the chain ends at the inner error"
    );
}
