//! A tower stack with a breaker in front of a real HTTP backend on loopback.
//! Run with `cargo run --example tower_service --features tower,tokio`.
//!
//! An axum server answers 503 for a while; the hyper client behind
//! `CircuitBreakerLayer` counts 5xx responses and timeouts as failures (a
//! 404 is not the backend's fault), opens, stops sending, probes, recovers.
//! Stack order, outermost first: breaker, then timeout, then the client.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tripline::{
    CallError, CircuitBreaker, CircuitBreakerLayer, Config, DefaultWindow, Event, Outcome,
    TokioClock,
};

/// The 6th to 9th requests that reach the server get a 503.
async fn flaky_server(hits: Arc<AtomicU32>) -> std::io::Result<std::net::SocketAddr> {
    let app = axum::Router::new().route(
        "/stock",
        axum::routing::get(move || {
            let n = hits.fetch_add(1, Ordering::SeqCst);
            async move {
                if (5..=8).contains(&n) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// 5xx and transport errors (timeouts included) are the backend's failures.
fn by_status<B>(result: &Result<Response<B>, BoxError>) -> Outcome {
    match result {
        Ok(resp) if resp.status().is_server_error() => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = flaky_server(Arc::clone(&hits)).await?;

    let breaker: CircuitBreaker<DefaultWindow, TokioClock> = CircuitBreaker::builder("stock")
        .config(
            Config::builder()
                .consecutive_failures(3)
                .open_duration(Duration::from_millis(100))
                .exponential_backoff(2_000, Duration::from_millis(800))
                .build()?,
        )
        .clock(TokioClock::new())
        .on_event(|e| {
            if let Event::StateChanged { from, to, .. } = e {
                println!("  stock: {from} -> {to}");
            }
        })
        .build();

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let stack = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(by_status))
        .timeout(Duration::from_secs(2))
        .service(client);

    for i in 0..40 {
        let request = Request::get(format!("http://{addr}/stock")).body(Empty::new())?;
        match stack.clone().oneshot(request).await {
            Ok(resp) => println!("#{i:>2} {}", resp.status()),
            Err(CallError::Rejected(r)) => println!(
                "#{i:>2} rejected, retry in {:?}",
                r.retry_after().unwrap_or_default()
            ),
            Err(CallError::Inner(e)) => println!("#{i:>2} transport error: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }

    let m = breaker.metrics();
    println!(
        "\n{} requests reached the server; the breaker admitted {}, rejected {}; \
         {} failures, {} successes; now {}",
        hits.load(Ordering::SeqCst),
        m.permitted,
        m.rejected,
        m.failures,
        m.successes,
        m.state
    );
    Ok(())
}
