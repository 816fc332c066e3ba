//! Classifiers behind the tower layer: named classifier types and `fn`
//! pointers keep a guarded service nameable (a struct field, an axum
//! state), and the HTTP and gRPC classifiers drive the breaker as their
//! docs say. The breaker's time is a `MockClock`.
#![cfg(all(feature = "tower", feature = "grpc"))]

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceExt};
use tripline_core::{CallError, Config, CountWindow, MockClock, Outcome, State};
use tripline_std::{
    CircuitBreaker, CircuitBreakerLayer, CircuitBreakerService, DefaultWindow, GrpcClassifier,
    HttpClassifier, StdClock,
};

type Answer = Result<Response<Body>, Infallible>;
type Backend = tower::util::ServiceFn<fn(StatusCode) -> Ready<Answer>>;

fn answer(status: StatusCode) -> Ready<Answer> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    ready(Ok(response))
}

fn backend() -> Backend {
    service_fn(answer as fn(StatusCode) -> Ready<Answer>)
}

fn server_errors_fail(result: &Answer) -> Outcome {
    match result {
        Ok(response) if response.status().is_server_error() => Outcome::Failure,
        _ => Outcome::Success,
    }
}

/// A guarded service spelled out in full: possible because the classifier
/// is a `fn` pointer, not a closure.
type ByFnPointer = CircuitBreakerService<Backend, DefaultWindow, StdClock, fn(&Answer) -> Outcome>;

#[derive(Clone)]
struct App {
    backend: ByFnPointer,
}

async fn proxy(AxumState(app): AxumState<App>, request: Request<Body>) -> StatusCode {
    let wanted = request
        .uri()
        .path()
        .trim_start_matches('/')
        .parse()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    match app.backend.oneshot(wanted).await {
        Ok(response) => response.status(),
        Err(CallError::Rejected(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Err(CallError::Inner(never)) => match never {},
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .body(Body::empty())
        .expect("a valid request")
}

#[tokio::test]
async fn a_fn_pointer_classifier_works_in_an_axum_handler_state() {
    let breaker = CircuitBreaker::new(
        "backend",
        Config::builder()
            .consecutive_failures(1)
            .build()
            .expect("valid configuration"),
    );
    let classify: fn(&Answer) -> Outcome = server_errors_fail;
    let app = App {
        backend: CircuitBreakerLayer::new(breaker.clone())
            .classify(classify)
            .layer(backend()),
    };
    let router = axum::Router::new()
        .route("/{status}", axum::routing::get(proxy))
        .with_state(app);

    let ok = router
        .clone()
        .oneshot(get("/204"))
        .await
        .expect("infallible");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(breaker.state(), State::Closed);
    let failed = router
        .clone()
        .oneshot(get("/500"))
        .await
        .expect("infallible");
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(breaker.state(), State::Open);
    let rejected = router.oneshot(get("/204")).await.expect("infallible");
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Named classifier types are nameable as well.
struct Clients {
    http: CircuitBreakerService<Backend, CountWindow<8>, &'static MockClock, HttpClassifier>,
    grpc: CircuitBreakerService<Backend, CountWindow<8>, &'static MockClock, GrpcClassifier>,
}

fn clients(clock: &'static MockClock) -> Clients {
    let breaker = |name: &'static str| {
        CircuitBreaker::builder(name)
            .config(
                Config::builder()
                    .consecutive_failures(2)
                    .open_duration(Duration::from_secs(5))
                    .build()
                    .expect("valid configuration"),
            )
            .window(CountWindow::<8>::new())
            .clock(clock)
            .build()
    };
    Clients {
        http: CircuitBreakerLayer::new(breaker("http"))
            .classify(HttpClassifier::new())
            .layer(backend()),
        grpc: CircuitBreakerLayer::new(breaker("grpc"))
            .classify(GrpcClassifier::new())
            .layer(backend()),
    }
}

fn leaked_clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new()))
}

#[tokio::test]
async fn the_http_classifier_opens_on_5xx_and_ignores_4xx() {
    let clients = clients(leaked_clock());
    let svc = clients.http;
    for status in [
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
        StatusCode::OK,
    ] {
        svc.clone().oneshot(status).await.expect("admitted");
    }
    assert_eq!(svc.breaker().state(), State::Closed);
    svc.clone()
        .oneshot(StatusCode::BAD_GATEWAY)
        .await
        .expect("admitted");
    svc.clone()
        .oneshot(StatusCode::INTERNAL_SERVER_ERROR)
        .await
        .expect("admitted");
    assert_eq!(svc.breaker().state(), State::Open);
    assert_eq!(svc.breaker().retry_after(), Some(Duration::from_secs(5)));
    let m = svc.breaker().metrics();
    assert_eq!((m.successes, m.failures), (3, 2));
}

#[tokio::test]
async fn a_429_with_retry_after_opens_the_breaker_for_as_long_as_the_server_asked() {
    let clock = leaked_clock();
    let breaker = CircuitBreaker::builder("throttled")
        .config(
            Config::builder()
                .consecutive_failures(1)
                .open_duration(Duration::from_secs(5))
                .build()
                .expect("valid configuration"),
        )
        .window(CountWindow::<8>::new())
        .clock(clock)
        .build();
    let throttled = service_fn(|_: ()| async {
        let response = Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("retry-after", "20")
            .body(Body::empty())
            .expect("a valid response");
        Ok::<_, Infallible>(response)
    });
    let svc = CircuitBreakerLayer::new(breaker.clone())
        .classify(HttpClassifier::new())
        .layer(throttled);

    let response = svc.clone().oneshot(()).await.expect("admitted");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.retry_after(), Some(Duration::from_secs(20)));
    match svc.clone().oneshot(()).await {
        Err(CallError::Rejected(r)) => assert_eq!(r.retry_after(), Some(Duration::from_secs(20))),
        other => panic!("expected a rejection, got {other:?}"),
    }
    clock.advance(Duration::from_secs(19));
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[tokio::test]
async fn the_grpc_classifier_reads_trailers_only_errors_and_proxies_http_statuses() {
    let clock = leaked_clock();
    let grpc_error = |code: &'static str| {
        service_fn(move |_: ()| async move {
            let response = Response::builder()
                .header("content-type", "application/grpc")
                .header("grpc-status", code)
                .body(Body::empty())
                .expect("a valid response");
            Ok::<_, Infallible>(response)
        })
    };
    let breaker = clients(clock).grpc.breaker().clone();
    let not_found = CircuitBreakerLayer::new(breaker.clone())
        .classify(GrpcClassifier::new())
        .layer(grpc_error("5"));
    for _ in 0..3 {
        let response = not_found.clone().oneshot(()).await.expect("admitted");
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(breaker.state(), State::Closed);

    let unavailable = CircuitBreakerLayer::new(breaker.clone())
        .classify(GrpcClassifier::new())
        .layer(grpc_error("14"));
    unavailable.clone().oneshot(()).await.expect("admitted");
    assert_eq!(breaker.state(), State::Closed);
    let proxy = CircuitBreakerLayer::new(breaker.clone())
        .classify(GrpcClassifier::new())
        .layer(backend());
    proxy
        .oneshot(StatusCode::BAD_GATEWAY)
        .await
        .expect("admitted");
    assert_eq!(breaker.state(), State::Open);
    let m = breaker.metrics();
    assert_eq!((m.successes, m.failures), (3, 2));
}

#[cfg(feature = "tonic")]
#[tokio::test]
async fn the_grpc_classifier_counts_a_tonic_status_by_its_code() {
    use tonic::Status;
    let breaker = clients(leaked_clock()).grpc.breaker().clone();
    let stub = service_fn(|code: tonic::Code| async move {
        match code {
            tonic::Code::Ok => Ok(tonic::Response::new("42 in stock")),
            code => Err(Status::new(code, "from the stub")),
        }
    });
    let svc = CircuitBreakerLayer::new(breaker.clone())
        .classify(GrpcClassifier::new())
        .layer(stub);
    for code in [
        tonic::Code::NotFound,
        tonic::Code::InvalidArgument,
        tonic::Code::Ok,
    ] {
        let _ = svc.clone().oneshot(code).await;
    }
    assert_eq!(breaker.state(), State::Closed);
    for code in [tonic::Code::Unavailable, tonic::Code::DeadlineExceeded] {
        let e = svc.clone().oneshot(code).await.expect_err("a status");
        assert_eq!(e.into_inner().map(|s| s.code()), Some(code));
    }
    assert_eq!(breaker.state(), State::Open);
    let m = breaker.metrics();
    assert_eq!((m.successes, m.failures), (3, 2));
}
