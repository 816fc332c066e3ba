//! std, tokio and tower glue for the tripline circuit breaker.
//!
//! Every decision is made by [`tripline_core`]; this crate brings a clock
//! ([`StdClock`], [`TokioClock`]), a per-breaker lock ([`StdLock`]), a
//! cheap-to-clone `Send + Sync` handle ([`CircuitBreaker`]), a named
//! [`Registry`], and with features: `tokio` (timeouts, a `watch` of the
//! state, a `broadcast` of events), `tower` ([`CircuitBreakerLayer`]; with
//! `tokio` also [`RetryLayer`] and [`BulkheadLayer`]), `http` and `grpc`
//! (the [`HttpClassifier`] and [`GrpcClassifier`] of results), `serde`,
//! `tracing`, `metrics` ([`BreakerMetrics`]), `dashboard`
//! ([`dashboard::router`]).
//!
//! ```
//! # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
//! use std::time::Duration;
//! use tripline::{CallError, Config};
//! use tripline::Registry;
//!
//! let breakers = Registry::new();
//! let config = Config::builder().consecutive_failures(2).build()?;
//! let payments = breakers.get_or_create("payments", config);
//!
//! let charge = payments.call(|| Err::<(), _>("503"));
//! assert!(matches!(charge, Err(CallError::Inner("503"))));
//! assert_eq!(breakers.health().closed, 1);
//! # Ok::<(), tripline::ConfigError>(())
//! ```
//!
//! ## Composing with retries and bulkheads (`tokio`, `tower`)
//!
//! Outermost first: retry, then the breaker, then the bulkhead, then the
//! timeout.
//!
//! - Retry outside the breaker: each attempt is one breaker call, and the
//!   retry sees the breaker's rejections, so it waits for their
//!   `retry_after` or gives up ([`OnRejected`](tripline_core::OnRejected))
//!   instead of hammering an open breaker.
//! - The bulkhead inside the breaker: a call the breaker rejects takes no
//!   slot. A full bulkhead means "overloaded here", not "the backend is
//!   failing": classify it as `Outcome::Ignored` so it does not trip the
//!   breaker.
//! - The timeout innermost: it times the backend's work only (not the wait
//!   for a slot, which `max_wait` bounds), and a timeout is a failure the
//!   breaker counts.
//!
//! As tower layers ([`RetryLayer`], [`CircuitBreakerLayer`],
//! [`BulkheadLayer`], tower's `timeout`), in one `ServiceBuilder`:
//!
//! ```
//! # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
//! use std::time::Duration;
//! use tower::{service_fn, BoxError, ServiceBuilder, ServiceExt};
//! use tripline::{Backoff, OnRejected, Outcome, RetryPolicy};
//! use tripline::{AsyncBulkhead, BulkheadLayer, BulkheadServiceError, CircuitBreaker};
//! use tripline::{CircuitBreakerLayer, RetryLayer, TokioClock};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), BoxError> {
//! let breaker = CircuitBreaker::builder("quotes").clock(TokioClock::new()).build();
//! let policy = RetryPolicy::new(3, Backoff::exponential(Duration::from_millis(50), 2_000).build()?)?
//!     .on_rejected(OnRejected::WaitRetryAfter { max_wait: Duration::from_secs(1) });
//! let not_the_backends_fault = |r: &Result<u32, BulkheadServiceError<BoxError>>| match r {
//!     Err(BulkheadServiceError::Full(_)) => Outcome::Ignored,
//!     other => Outcome::of(other),
//! };
//! let quotes = ServiceBuilder::new()
//!     .layer(RetryLayer::new(policy))
//!     .layer(CircuitBreakerLayer::new(breaker).classify(not_the_backends_fault))
//!     .layer(BulkheadLayer::new(AsyncBulkhead::new(16)?.max_wait(Duration::from_millis(20))))
//!     .timeout(Duration::from_secs(2))
//!     .service(service_fn(|symbol: &'static str| async move { Ok::<u32, BoxError>(symbol.len() as u32) }));
//!
//! assert_eq!(quotes.oneshot("ACME").await?, 4);
//! # Ok(()) }
//! ```
//!
//! The same order with async calls, without tower:
//!
//! ```
//! # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
//! use std::time::Duration;
//! use tripline::{Backoff, OnRejected, RetryPolicy, TimeoutError};
//! use tripline::{retry_async, AsyncBulkhead, CircuitBreaker, TokioClock};
//!
//! async fn fetch() -> Result<u32, std::io::Error> { Ok(42) }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let breaker = CircuitBreaker::builder("quotes").clock(TokioClock::new()).build();
//! let pool = AsyncBulkhead::new(16).unwrap();
//! let policy = RetryPolicy::new(3, Backoff::exponential(Duration::from_millis(50), 2_000).build().unwrap())
//!     .unwrap()
//!     .on_rejected(OnRejected::WaitRetryAfter { max_wait: Duration::from_secs(1) });
//!
//! let quote = retry_async(&policy, || async {
//!     let Ok(r) = pool.call(breaker.call_async_with_timeout(fetch(), Duration::from_secs(2))).await else {
//!         return Err(tripline::CallError::Inner(TimeoutError::Inner(std::io::ErrorKind::WouldBlock.into())));
//!     };
//!     r.map_err(TimeoutError::into_call_error)
//! })
//! .await;
//! assert_eq!(quote.ok(), Some(42));
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "tokio")]
mod bulkhead;
#[cfg(all(feature = "tower", feature = "tokio"))]
mod bulkhead_layer;
mod classify;
mod clock;
#[cfg(feature = "dashboard")]
pub mod dashboard;
#[cfg(feature = "redis")]
mod fleet;
mod handle;
#[cfg(feature = "tower")]
mod layer;
mod lock;
mod observe;
#[cfg(feature = "metrics")]
pub mod prometheus;
#[cfg(any(feature = "metrics", feature = "dashboard"))]
mod reading;
mod registry;
#[cfg(feature = "tokio")]
mod retry;
#[cfg(all(feature = "tower", feature = "tokio"))]
mod retry_layer;
mod tally;

#[cfg(feature = "tokio")]
pub use bulkhead::{AsyncBulkhead, AsyncBulkheadPermit};
#[cfg(all(feature = "tower", feature = "tokio"))]
pub use bulkhead_layer::{BulkheadFuture, BulkheadLayer, BulkheadService, BulkheadServiceError};
#[cfg(feature = "grpc")]
pub use classify::GrpcClassifier;
#[cfg(feature = "http")]
pub use classify::HttpClassifier;
pub use classify::{Classify, ErrorsAreFailures};
pub use clock::StdClock;
#[cfg(feature = "tokio")]
pub use clock::TokioClock;
#[cfg(feature = "redis")]
pub use fleet::{
    fleet_status, Fleet, FleetConfig, FleetConfigBuilder, FleetConfigError, FleetDrops, FleetEntry,
    FleetEvent, FleetKey, FleetMessage, FleetStats, FleetTasks,
};
pub use handle::{
    CircuitBreaker, CircuitBreakerBuilder, DefaultWindow, OwnedPermit, StdSharedBreaker,
};
#[cfg(feature = "tower")]
pub use layer::{CircuitBreakerLayer, CircuitBreakerService, ResponseFuture};
pub use lock::{StdLock, StdMutex};
pub use observe::{EventFn, Hub};
#[cfg(feature = "metrics")]
pub use prometheus::BreakerMetrics;
pub use registry::{ConfigMismatch, Registry, Snapshot};
#[cfg(feature = "tokio")]
pub use retry::retry_async;
#[cfg(all(feature = "tower", feature = "tokio"))]
pub use retry_layer::{RetryFuture, RetryLayer, RetryService};
pub use tally::PerThreadTally;
