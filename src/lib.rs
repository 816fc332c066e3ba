//! tripline: a circuit breaker for a Cortex-M0 and a tokio service alike.
//!
//! Without features this crate is the `no_std`, allocation-free core: a
//! [`Breaker`] built from a [`Config`] over a [`Window`], the
//! [`SharedBreaker`] for statics, [`Backoff`], [`RetryPolicy`], [`Bulkhead`]
//! and the [`Preset`]s. Behind features come the adapters:
//!
//! | feature | adds |
//! |---|---|
//! | `std` | [`CircuitBreaker`] (a `Send + Sync` handle), [`Registry`], [`StdClock`] |
//! | `tokio` | [`TokioClock`], [`CircuitBreaker::call_async_with_timeout`], a state `watch`, an event `broadcast` |
//! | `tower` | [`CircuitBreakerLayer`] for any tower service |
//! | `metrics` | [`BreakerMetrics`]: breakers through the `metrics` facade, Prometheus names |
//! | `dashboard` | [`dashboard::router`]: a live HTML page of a [`Registry`] over server-sent events |
//! | `redis` | fleet mode: [`Fleet`], breakers' openings shared through Redis |
//! | `embassy` | [`EmbassyBreaker`] (const, for statics shared by tasks and interrupts), [`EmbassyClock`] |
//! | `serde`, `tracing`, `defmt` | serialization, tracing records, firmware logging |
//!
//! ```
//! use tripline::{Breaker, Config, CountWindow, MockClock, State};
//!
//! let clock = MockClock::new();
//! let mut breaker = Breaker::new(Config::default(), CountWindow::<16>::new(), &clock);
//! assert_eq!(breaker.call(|| Ok::<_, ()>(7)), Ok(7));
//! assert_eq!(breaker.state(), State::Closed);
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use tripline_core::*;
#[cfg(feature = "embassy")]
pub use tripline_embassy::*;
#[cfg(feature = "std")]
pub use tripline_std::*;

/// The README's examples, compiled and run as doc tests (they use every
/// adapter, so only with all of them).
#[cfg(all(
    doctest,
    feature = "tokio",
    feature = "tower",
    feature = "embassy",
    feature = "redis",
    feature = "http",
    feature = "grpc"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
